/**
 * A bad stack configuration value stops a real `pulumi up` with the program's one-line
 * message, naming the key, and the engine creates nothing.
 */
import { strict as assert } from "assert";
import { PulumiProject } from "./support/pulumiCli";

const cases: { what: string; config: string; secret?: [string, string]; message: RegExp }[] = [
    {
        what: "a mirror that is no https URL of a registry's root",
        config: 'dind:registryMirrors: ["http://mirror.example.com/v2"]',
        message: /^ +error: dind:registryMirrors\[0\]: expected an https:\/\/ URL of a registry's root.*, got "http:\/\/mirror.example.com\/v2"$/m,
    },
    { what: "an MTU out of range", config: "dind:mtu: 99999", message: /^ +error: dind:mtu: expected an integer from 68 to 65535, got 99999$/m },
    { what: "a misspelt key", config: 'dind:registryMirror: ["https://mirror.example.com"]', message: /^ +error: dind:registryMirror: expected no such key: the keys are .*$/m },
    {
        what: "a secret where none belongs",
        config: "",
        secret: ["dind:script", "echo hidden-value"],
        message: /^ +error: dind:script: expected a plain value: .*, got "\[secret\]"$/m,
    },
];

describe("real engine: bad stack configuration", function () {
    for (const { what, config, secret, message } of cases) {
        it(`refuses ${what} before creating any resource`, async function () {
            const project = PulumiProject.copyOfThisProject("bad-config");
            try {
                project.writeFile("Pulumi.bad.yaml", `config:\n  dind:target: docker\n  dind:transport: tls\n${config ? `  ${config}\n` : ""}`);
                await project.initStack("bad");
                if (secret) {
                    await project.pulumi(["config", "set", "--secret", "-s", "bad", ...secret]);
                }
                const result = await project.up("bad", { allowFailure: true });
                const output = result.stdout + result.stderr;
                assert.notEqual(result.code, 0);
                assert.match(output, message);
                assert.doesNotMatch(output, /hidden-value|    at /, "no secret value and no stack trace");
                const created = (await project.resources("bad")).filter((r) => r.type !== "pulumi:pulumi:Stack");
                assert.deepEqual(created, [], "nothing in the stack's state but the stack itself");
            } finally {
                project.dispose();
            }
        });
    }
});
