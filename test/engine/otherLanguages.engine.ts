/**
 * The package from other Pulumi languages, as far as these machines can take it: the
 * schema that `pulumi package add` infers from the sources, through Pulumi's own binder
 * and SDK generators (pkg/v3, at the CLI's version); the generated Go SDK compiled
 * against the Pulumi Go SDK; and the README's Python example run by the Pulumi Python
 * SDK from PyPI, against the generated Python SDK, under that SDK's own mocks. What the
 * example sends is then checked by the component's own validator.
 */
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { validateLocalDindArgs } from "../../components/localDind";
import { componentType } from "../../components/typeTokens";
import { packageSchema } from "../support/packageSchema";
import { ROOT } from "./support/pulumiCli";

const run = promisify(execFile);
const PYTHON_EXAMPLE = path.join(ROOT, "examples", "python");
/** The Pulumi SDK version the package is built and tested with, for Python and Go alike. */
const SDK_VERSION: string = require("../../package-lock.json").packages["node_modules/@pulumi/pulumi"].version;
const TEST_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

interface Registration {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

describe("real engine toolchain: the package's SDKs for Python, Go and Node.js", function () {
    let work: string;
    let sdks: string;
    let generated: string;

    before(async function () {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-sdks-"));
        sdks = path.join(work, "sdks");
        const schemaFile = path.join(work, "schema.json");
        fs.writeFileSync(schemaFile, await packageSchema());
        generated = (await run("pulumi-dind-sdk-codegen", [schemaFile, sdks, "python", "go", "nodejs"], { encoding: "utf8" })).stdout;
    });

    after(() => fs.rmSync(work, { recursive: true, force: true }));

    it("binds the schema without a diagnostic and generates each SDK", () => {
        assert.match(generated, /^python: \d+ files\ngo: \d+ files\nnodejs: \d+ files\n$/);
        for (const file of ["python/pulumi_pulumi_dind/local_dind.py", "python/pulumi_pulumi_dind/_enums.py", "go/pulumidind/localDind.go", "nodejs/localDind.ts"]) {
            assert.ok(fs.existsSync(path.join(sdks, file)), `${file} is generated`);
        }
    });

    it("compiles the generated Go SDK against the Pulumi Go SDK", async function () {
        const dir = path.join(sdks, "go", "pulumidind");
        // The generator names the package's internal import path from the package's name.
        const internal = fs.readFileSync(path.join(dir, "localDind.go"), "utf8").match(/"([^"]+)\/internal"/)![1];
        fs.writeFileSync(path.join(dir, "go.mod"), `module ${internal}\n\ngo 1.25\n\nrequire github.com/pulumi/pulumi/sdk/v3 v${SDK_VERSION}\n`);
        await run("go", ["mod", "tidy"], { cwd: dir });
        await run("go", ["vet", "./..."], { cwd: dir });
    });

    describe("the README's Python example", () => {
        let registered: Registration[];

        before(async function () {
            const venv = path.join(work, "venv");
            await run("python3", ["-m", "venv", venv]);
            await run(path.join(venv, "bin", "pip"), ["install", "--quiet", `pulumi==${SDK_VERSION}`, path.join(sdks, "python")]);
            const mockOutputs = { [componentType("LocalRegistry")]: { caCertPem: TEST_CA_PEM, networkName: "mirror-network" } };
            const { stdout } = await run(path.join(venv, "bin", "python"), [path.join(__dirname, "support", "python_mocks.py"), PYTHON_EXAMPLE, JSON.stringify(mockOutputs)], {
                encoding: "utf8",
            });
            registered = JSON.parse(stdout);
        });

        it("declares a LocalRegistry mirror and a LocalDind wired to it, by their package's tokens", () => {
            assert.deepEqual(
                registered.map((r) => `${r.type} ${r.name}`),
                [`${componentType("LocalRegistry")} mirror`, `${componentType("LocalDind")} builds`],
            );
        });

        it("sends enums as their values and the registry as host, mode, CA and network", () => {
            const daemon = registered.find((r) => r.type === componentType("LocalDind"))!;
            assert.equal(daemon.inputs.transport, "tls");
            assert.deepEqual(daemon.inputs.registry, { registryHost: "mirror:5000", mode: "mirror", caCertPem: TEST_CA_PEM, networkName: "mirror-network" });
            assert.equal(registered.find((r) => r.type === componentType("LocalRegistry"))!.inputs.mode, "mirror");
        });

        it("sends what LocalDind's own validator accepts, daemon.json keys unchanged", () => {
            const daemon = registered.find((r) => r.type === componentType("LocalDind"))!;
            const settings = validateLocalDindArgs(daemon.inputs);
            assert.equal(settings.registry?.registryHost, "mirror:5000");
            assert.equal(settings.access.transport, "tls");
            assert.deepEqual(JSON.parse(settings.daemonConfig.file!)["log-driver"], "local");
        });
    });
});
