"""Runs a Pulumi Python program under the Python SDK's own mocks and prints, as JSON,
every resource it registers: its type, name, inputs (camelCase, as the engine gets
them) and which of them were sent as secrets.

    python python_mocks.py PROGRAM_DIR OUTPUTS_JSON

OUTPUTS_JSON maps a resource type to the outputs its mock returns, so that a program
can wire one component's outputs into another's arguments.
"""
import json
import runpy
import sys

import pulumi

program_dir, outputs_json = sys.argv[1], sys.argv[2]
mock_outputs = json.loads(outputs_json)
registered = []


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        registered.append({"type": args.typ, "name": args.name, "inputs": args.inputs})
        return [f"{args.name}-id", {**args.inputs, **mock_outputs.get(args.typ, {})}]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


pulumi.runtime.set_mocks(Mocks(), project="python-program", stack="dev", preview=False)


@pulumi.runtime.test
def run_program():
    sys.path.insert(0, program_dir)
    runpy.run_path(f"{program_dir}/__main__.py", run_name="__main__")


run_program()
json.dump(registered, sys.stdout)
