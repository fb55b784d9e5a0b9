import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import "./harness";
import { Target, configKeys, loadProgramConfig, programNames } from "../config";
import { validateDindDeploymentArgs } from "../components/dindDeployment";
import { validateLocalDindArgs } from "../components/localDind";

const README = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const TARGETS: Target[] = ["kubernetes", "docker"];

interface Row {
    keys: string[];
    target: string;
    defaults: string;
}

/** The rows of README's table of `dind:*` keys: a row may document several keys. */
function configurationRows(): Row[] {
    return README.split("\n")
        .filter((line) => line.startsWith("| `dind:"))
        .map((line) => {
            // A cell may hold an escaped `\|`.
            const [keys, target, defaults] = line.split(/(?<!\\)\|/).slice(1, 4).map((cell) => cell.trim());
            return { keys: literals(keys).map((key) => key.replace(/^dind:/, "")), target, defaults };
        });
}

/** What a cell writes as code: the values and key names in backquotes. */
function literals(cell: string): string[] {
    return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

/** A default as the table writes it; nothing for a key without a value by default. */
function written(value: unknown): string[] {
    if (value === undefined) {
        return [];
    }
    return [typeof value === "string" ? value : JSON.stringify(value)];
}

/**
 * What each key is by default, from the components' and the program's own
 * validators run on an empty configuration: the values a table cell must show.
 */
function realDefaults(): Record<string, unknown[]> {
    const kubernetes = validateDindDeploymentArgs({}, "dind:");
    const docker = validateLocalDindArgs({}, "dind:");
    const dockerWithSocket = validateLocalDindArgs({ socketDirectory: "/run/dind" }, "dind:");
    const onKubernetes = loadProgramConfig({ "dind:target": "kubernetes" }, () => false);
    const onDocker = loadProgramConfig({}, () => false);
    if (onDocker.target !== "docker" || onKubernetes.target !== "kubernetes" || docker.access.transport !== "tls") {
        throw new Error("an empty configuration deploys to a Docker host, with transport tls");
    }
    const placeholder = "stack-placeholder";
    return {
        target: [onDocker.target],
        transport: [kubernetes.transport, docker.access.transport, dockerWithSocket.access.transport],
        registryMirrors: [kubernetes.daemon.registryMirrors, docker.daemon.registryMirrors],
        registries: [kubernetes.daemon.registries, docker.daemon.registries],
        mtu: [kubernetes.daemon.mtu, docker.daemon.mtu],
        extraDockerdArgs: [kubernetes.daemon.extraDockerdArgs, docker.daemon.extraDockerdArgs],
        script: [kubernetes.script, docker.client?.script],
        dindImage: [kubernetes.dindImage, docker.dindImage],
        cliImage: [kubernetes.cliImage, docker.cliImage],
        startupTimeoutSeconds: [kubernetes.startupTimeoutSeconds, docker.startupTimeoutSeconds],
        daemonConfig: [kubernetes.daemonConfig.file, docker.daemonConfig.file],
        iptablesLegacy: [kubernetes.daemonConfig.environment.DOCKER_IPTABLES_LEGACY, docker.daemonConfig.environment.DOCKER_IPTABLES_LEGACY],
        containerdSnapshotter: [kubernetes.daemonConfig.file, docker.daemonConfig.file],
        selfHostedRegistry: [onKubernetes.registry, onDocker.registry],
        // Without one, the daemon gets a namespace named after it, `<project>-<stack>`.
        namespace: [kubernetes.namespace ?? programNames(pulumi.getProject(), placeholder).daemon.replace(placeholder, "<stack>")],
        workload: [kubernetes.workload],
        replicas: [kubernetes.replicas],
        nativeSidecar: [kubernetes.nativeSidecar],
        jobTimeoutSeconds: [kubernetes.jobTimeoutSeconds],
        tlsSecrets: [kubernetes.tlsSecrets],
        runId: [kubernetes.runId],
        dockerStorage: [kubernetes.dockerStorage.persistent ? kubernetes.dockerStorage.existingClaimName : kubernetes.dockerStorage.size],
        output: [kubernetes.output],
        caConfigMapName: [kubernetes.caConfigMapName],
        clientTrustsRegistryCas: [kubernetes.clientTrustsRegistryCas],
        dindResources: resourceAmounts(kubernetes.dindResources),
        clientResources: resourceAmounts(kubernetes.clientResources),
        nodeSelector: [kubernetes.nodeSelector],
        tolerations: [kubernetes.tolerations],
        networkPolicy: [kubernetes.networkPolicy],
        isolation: [kubernetes.isolation],
        // Its defaults apply with isolation sysbox, the only one that reads it.
        sysbox: Object.values(validateDindDeploymentArgs({ isolation: "sysbox" }, "dind:").sysbox!),
        prune: [kubernetes.prune],
        expose: [kubernetes.expose],
        renderYamlToDirectory: [onKubernetes.renderYamlToDirectory],
        // No default: the transport that needs it is named instead.
        socketDirectory: [docker.access.transport === "tls" ? dockerWithSocket.access.transport : undefined],
        hostPort: [docker.access.hostPort],
        outputDirectory: [docker.client?.output],
        outputVolume: [docker.client?.output],
        keepImageLocally: [docker.keepImageLocally],
        retainDataVolume: [docker.retainDataVolume],
        // Without one, the Docker provider reads DOCKER_HOST.
        dockerHost: [onDocker.dockerHost ?? "DOCKER_HOST"],
    };
}

function resourceAmounts(resources: { requests?: Record<string, string>; limits?: Record<string, string> }): string[] {
    return [...Object.values(resources.requests ?? {}), ...Object.values(resources.limits ?? {})];
}

describe("README's table of stack configuration", () => {
    const rows = configurationRows();
    const keysOf = (target: Target) => new Set(configKeys(target));
    const allKeys = new Set(TARGETS.flatMap((target) => configKeys(target)));

    it("documents every key the program reads, once, and no other", () => {
        const documented = rows.flatMap((row) => row.keys);
        assert.deepEqual([...documented].sort(), [...allKeys].sort());
    });

    it("names the targets that read each key", () => {
        for (const row of rows) {
            for (const key of row.keys) {
                const readers = TARGETS.filter((target) => keysOf(target).has(key));
                assert.equal(row.target, readers.length === TARGETS.length ? "both" : readers[0], `dind:${key}`);
            }
        }
    });

    it("gives each key the default its validators apply to an empty configuration", () => {
        const defaults = realDefaults();
        assert.deepEqual(Object.keys(defaults).sort(), [...allKeys].sort(), "a default is looked up for every key");
        for (const row of rows) {
            const expected = new Set(row.keys.flatMap((key) => defaults[key].flatMap(written)));
            // Key names in a cell are references (`unless socketDirectory is set`), not defaults.
            const shown = new Set(literals(row.defaults).filter((literal) => !allKeys.has(literal.replace(/^dind:/, ""))));
            assert.deepEqual([...shown].sort(), [...expected].sort(), `the default of ${row.keys.map((key) => `dind:${key}`).join(", ")}: "${row.defaults}"`);
        }
    });
});
