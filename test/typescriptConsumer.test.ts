import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");

/** A TypeScript program that uses the components as it was written before they had a schema: string values, `*Args` interface names. */
const STRING_VALUES_CONSUMER = `
import { DindDeployment, DockerStorageArgs, LocalDind, LocalRegistry, RegistryUserArgs, SelfHostedRegistry, Transport } from "../components";

const transport: Transport = "tls";
const storage: DockerStorageArgs = { persistent: true, size: "50Gi" };
const ci: RegistryUserArgs = { username: "ci" };
const mirror = new LocalRegistry("mirror", { mode: "mirror" });
new LocalDind("local", { transport, registry: mirror, daemonConfig: { "log-driver": "local", builder: { gc: { enabled: true } } } });
const registry = new SelfHostedRegistry("registry", { mode: "private", serviceType: "ClusterIP", users: [ci] });
new DindDeployment("builds", {
    workload: "StatefulSet",
    transport: "tls",
    isolation: "sysbox",
    sysbox: { containerRuntime: "cri-o" },
    registry,
    dockerStorage: storage,
});
`;

/** Type errors of a consumer written beside the library, compiled with the project's own compiler options. */
function typeErrors(source: string): string[] {
    const dir = fs.mkdtempSync(path.join(ROOT, ".consumer-test-"));
    try {
        const file = path.join(dir, "consumer.ts");
        fs.writeFileSync(file, source.replace(/"\.\.\/components"/g, JSON.stringify(path.relative(dir, path.join(ROOT, "components")))));
        const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
        const program = ts.createProgram([file], { ...config.options, noEmit: true });
        return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("a TypeScript consumer of the components", function () {
    this.timeout(120_000);

    it("still compiles with string values where the schema has enums, the former interface names, and a registry wired in one line", () => {
        assert.deepEqual(typeErrors(STRING_VALUES_CONSUMER), []);
    });

    it("is told at compile time about a value no enum has", () => {
        const errors = typeErrors(STRING_VALUES_CONSUMER.replace('workload: "StatefulSet"', 'workload: "Statefulset"'));
        assert.equal(errors.length, 1);
        assert.match(errors[0], /"Statefulset"/);
    });

    it("can use the enums' members instead of strings", () => {
        const withMembers = STRING_VALUES_CONSUMER.replace('import { DindDeployment,', 'import { Isolation, Workload, DindDeployment,')
            .replace('workload: "StatefulSet"', "workload: Workload.StatefulSet")
            .replace('isolation: "sysbox"', "isolation: Isolation.Sysbox");
        assert.notEqual(withMembers, STRING_VALUES_CONSUMER);
        assert.deepEqual(typeErrors(withMembers), []);
    });
});
