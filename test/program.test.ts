import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { capture, captureFailure, sentAsSecret, valueOf } from "./harness";
import { validateManifests } from "./kubernetesSchema";
import { testCa, testCertificate } from "./pems";
import { loadProgramConfig } from "../config";

const ROOT = path.join(__dirname, "..");
const PROGRAM = path.join(ROOT, "index.ts");

/** A stack file's `config:` as the engine hands it to the program: strings, JSON for anything else. */
function stackConfig(file: string): Record<string, string> {
    return asEngineConfig(stackConfigValues(file));
}

function stackConfigValues(file: string): Record<string, unknown> {
    return (yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> }).config;
}

function asEngineConfig(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** Runs the program (index.ts) with this configuration, as `pulumi up` would, and returns its stack outputs. */
async function runProgram(config: Record<string, string>) {
    pulumi.runtime.setAllConfig(config);
    delete require.cache[require.resolve(PROGRAM)];
    let outputs: any;
    const captured = await capture(() => {
        outputs = require(PROGRAM);
    });
    return { captured, outputs };
}

function containerNamed(captured: Awaited<ReturnType<typeof runProgram>>["captured"], suffix: string) {
    return captured.ofType("docker:index/container:Container").find((c) => c.name.endsWith(suffix))!;
}

describe("the program", () => {
    describe("Pulumi.yaml", () => {
        const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
            main?: string;
            config: Record<string, { type: string; default?: unknown }>;
        };

        it("runs index.ts, not the library that package.json exports", () => {
            const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            assert.equal(project.main, "index.ts");
            assert.notEqual(path.normalize(pkg.exports["."].default), path.normalize(project.main!));
        });

        it("declares only keys with a default, since the CLI refuses a stack that lacks one without", () => {
            const withoutDefault = Object.entries(project.config)
                .filter(([, declared]) => declared.default === undefined)
                .map(([key]) => key);
            assert.deepEqual(withoutDefault, []);
        });

        it("has defaults the program accepts, merged as the CLI merges them into a stack's config", () => {
            const defaults = Object.fromEntries(Object.entries(project.config).map(([key, declared]) => [`dind:${key}`, declared.default]));
            assert.doesNotThrow(() => loadProgramConfig(asEngineConfig({ ...defaults, "dind:transport": "tls" })));
            assert.doesNotThrow(() => loadProgramConfig(asEngineConfig({ ...stackConfigValues("Pulumi.cluster.yaml"), ...defaults, "dind:target": "kubernetes" })));
        });
    });

    describe("Pulumi.dev.yaml", () => {
        it("deploys a local daemon pulling through a local mirror whose CA it trusts", async () => {
            const { captured, outputs } = await runProgram(stackConfig("Pulumi.dev.yaml"));
            assert.equal(captured.ofType("dind:index:LocalDind").length, 1);
            assert.equal(captured.ofType("dind:index:LocalRegistry").length, 1);
            assert.equal(captured.ofType("dind:index:DindDeployment").length, 0);

            const registry = containerNamed(captured, "registry");
            const dind = captured.resources.find((r) => r.type === "docker:index/container:Container" && r.inputs.privileged)!;
            assert.ok(registry && dind, "a registry container and a privileged dind container");
            const mirrorFlag = dind.inputs.command.find((a: string) => a.startsWith("--registry-mirror="));
            const alias = registry.inputs.networksAdvanced[0].aliases[0];
            assert.equal(mirrorFlag, `--registry-mirror=https://${alias}:5000`);
            assert.equal(dind.inputs.networksAdvanced[0].name, registry.inputs.networksAdvanced[0].name, "same network, so the alias resolves");
            const caUpload = dind.inputs.uploads.find((u: any) => u.file === `/etc/docker/certs.d/${alias}:5000/ca.crt`);
            assert.ok(caUpload, "the mirror's CA at certs.d/<alias>:5000/ca.crt");
            assert.equal(caUpload.content, await valueOf(outputs.registryCaCertPem));
            assert.equal(await valueOf(outputs.dockerHost), "tcp://127.0.0.1:2376");
            assert.ok(await pulumi.isSecret(outputs.clientKeyPem), "the client key leaves the stack only as a secret");
        });
    });

    describe("target docker with a registry and an MTU", () => {
        it("creates the network the daemon and the registry share with the daemon's MTU", async () => {
            const { captured } = await runProgram(asEngineConfig({ ...stackConfigValues("Pulumi.dev.yaml"), "dind:mtu": 1400 }));
            const networks = captured.ofType("docker:index/network:Network");
            assert.equal(networks.length, 1, "one network, the registry's, which the daemon joins");
            assert.deepEqual(networks[0].inputs.options, { "com.docker.network.driver.mtu": "1400" });
        });
    });

    describe("Pulumi.cluster.yaml", () => {
        it("deploys dind pods wired to an in-cluster mirror and trusting a private registry's CA", async () => {
            const { captured, outputs } = await runProgram(stackConfig("Pulumi.cluster.yaml"));
            assert.equal(captured.ofType("dind:index:DindDeployment").length, 1);
            assert.equal(captured.ofType("dind:index:SelfHostedRegistry").length, 1);
            const deployment = captured.ofType("kubernetes:apps/v1:Deployment").find((d) => d.inputs.spec.template.spec.initContainers)!;
            const dockerd = deployment.inputs.spec.template.spec.initContainers[0];
            const registryHost = await valueOf<string>(outputs.registryHost);
            assert.equal(dockerd.args.filter((a: string) => a.startsWith("--registry-mirror="))[0], `--registry-mirror=https://${registryHost}`);
            assert.ok(dockerd.args.includes("--mtu=1400"));
            assert.equal(deployment.inputs.spec.replicas, 2);
            assert.equal(deployment.inputs.metadata.namespace, "ci-dind");
            const certsD = deployment.inputs.spec.template.spec.volumes.find((v: any) => v.name === "registry-cas");
            assert.deepEqual(
                certsD.configMap.items.map((i: any) => i.path).sort(),
                [`${registryHost}/ca.crt`, "registry.example.com:5000/ca.crt"].sort(),
            );
            assert.ok(validateManifests(captured) >= 6);
        });

        it("renders every object with a provider in render mode when dind:renderYamlToDirectory is set, for GitOps", async () => {
            const { captured } = await runProgram({ ...stackConfig("Pulumi.cluster.yaml"), "dind:renderYamlToDirectory": "rendered" });
            const render = captured.only("pulumi:providers:kubernetes");
            assert.equal(render.inputs.renderYamlToDirectory, "rendered");
            const objects = captured.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(objects.length >= 6);
            for (const object of objects) {
                assert.ok(object.provider.startsWith(`${render.urn}::`), `${object.type} ${object.name} is created by ${object.provider || "the default provider"}`);
            }
            assert.ok(captured.resources.filter((r) => r.type.startsWith("random:")).every((r) => r.provider === ""));
        });
    });

    describe("configuration errors", () => {
        const base = { "dind:target": "kubernetes" };
        const cases: [string, Record<string, unknown>, RegExp][] = [
            ["an unknown target", { "dind:target": "nomad" }, /^dind:target: expected one of "kubernetes", "docker", got "nomad"/],
            ["a mirror without https", { ...base, "dind:registryMirrors": ["http://mirror:5000"] }, /^dind:registryMirrors\[0\]: expected an https/],
            ["a mirror with a path", { ...base, "dind:registryMirrors": ["https://mirror/cache"] }, /^dind:registryMirrors\[0\]: .*no path/],
            ["a registry host with a scheme", { ...base, "dind:registries": [{ host: "https://r:5000" }] }, /^dind:registries\[0\].host: /],
            ["a CA that is not PEM", { ...base, "dind:registries": [{ host: "r", caCertPem: "MIIB" }] }, /^dind:registries\[0\].caCertPem: expected a PEM/],
            ["an unknown transport", { ...base, "dind:transport": "ssh" }, /^dind:transport: expected one of "unix", "tls", "tcp", got "ssh"/],
            ["an unknown workload", { ...base, "dind:workload": "DaemonSet" }, /^dind:workload: expected one of "Deployment", "Job", got "DaemonSet"/],
            ["negative replicas", { ...base, "dind:replicas": -1 }, /^dind:replicas: expected an integer from 0 to 1000, got -1/],
            ["a size that is no quantity", { ...base, "dind:dockerStorage": { size: "20 gigs" } }, /^dind:dockerStorage.size: expected a Kubernetes quantity/],
            ["an MTU out of range", { ...base, "dind:mtu": 9999999 }, /^dind:mtu: expected an integer from 68 to 65535, got 9999999/],
            ["an empty render directory", { ...base, "dind:renderYamlToDirectory": "" }, /^dind:renderYamlToDirectory: expected a non-empty string/],
            ["a render directory on a Docker host", { "dind:target": "docker", "dind:renderYamlToDirectory": "out" }, /^dind:renderYamlToDirectory: expected no value with target docker \(it is read with target kubernetes\)/],
            ["a misspelt key", { ...base, "dind:registryMirror": ["https://m"] }, /^dind:registryMirror: expected no such key: the keys are .*dind:registryMirrors/],
            ["a key of the other target", { ...base, "dind:socketDirectory": "/run/dind" }, /^dind:socketDirectory: expected no value with target kubernetes \(it is read with target docker\)/],
            ["a misspelt registry key", { ...base, "dind:selfHostedRegistry": { enabled: true, mdoe: "private" } }, /^dind:selfHostedRegistry.mdoe: expected no such key/],
            ["a registry key of the other target", { ...base, "dind:selfHostedRegistry": { enabled: true, alias: "r" } }, /^dind:selfHostedRegistry.alias: expected no such key/],
            ["a mirror registry with users", { ...base, "dind:selfHostedRegistry": { enabled: true, users: [{ username: "ci" }] } }, /^dind:selfHostedRegistry.users/],
            ["a cache TTL in days", { ...base, "dind:selfHostedRegistry": { enabled: true, cacheTtl: "7d" } }, /^dind:selfHostedRegistry\.cacheTtl: expected a Go duration/],
            ["an output directory without a script", { "dind:target": "docker", "dind:socketDirectory": "/run/dind", "dind:outputDirectory": "/srv" }, /^dind:outputDirectory: /],
            ["plaintext tcp on a Docker host", { "dind:target": "docker", "dind:transport": "tcp" }, /^dind:transport: /],
        ];
        for (const [what, config, message] of cases) {
            it(`reports ${what} by its key, before any resource is registered`, async () => {
                pulumi.runtime.setAllConfig(asEngineConfig(config));
                delete require.cache[require.resolve(PROGRAM)];
                const { error, registered } = await captureFailure(() => require(PROGRAM));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }
    });

    describe("secrets in configuration", () => {
        it("keeps registry passwords, upstream credentials and a brought CA key secret even when the stack file has them in plain text", async () => {
            const ca = testCa();
            const privateRegistry = loadProgramConfig(
                asEngineConfig({
                    "dind:target": "kubernetes",
                    "dind:selfHostedRegistry": {
                        enabled: true,
                        mode: "private",
                        users: [{ username: "ci", password: "hunter22" }],
                        caCertPem: ca.certPem,
                        caKeyPem: ca.keyPem,
                    },
                }),
            );
            const mirror = loadProgramConfig(
                asEngineConfig({
                    "dind:target": "docker",
                    "dind:socketDirectory": "/run/dind",
                    "dind:selfHostedRegistry": { enabled: true, upstreamUsername: "bot", upstreamPassword: "token" },
                }),
            );
            const secrets = {
                password: privateRegistry.registry?.users?.[0].password,
                caKeyPem: privateRegistry.registry?.caKeyPem,
                upstreamUsername: mirror.registry?.upstreamUsername,
                upstreamPassword: mirror.registry?.upstreamPassword,
            };
            for (const [field, value] of Object.entries(secrets)) {
                assert.ok(pulumi.Output.isInstance(value) && (await pulumi.isSecret(pulumi.output(value))), `${field} is a secret`);
            }
            assert.equal(await valueOf(pulumi.output(secrets.caKeyPem)), ca.keyPem, "the value itself is kept");
            assert.equal(privateRegistry.registry?.caCertPem, ca.certPem, "the CA certificate is public and stays plain");
        });

        it("sends a given registry password to the engine only as a secret", async () => {
            const { captured } = await runProgram(
                asEngineConfig({
                    "dind:target": "kubernetes",
                    "dind:selfHostedRegistry": { enabled: true, mode: "private", users: [{ username: "ci", password: "hunter22" }] },
                }),
            );
            const htpasswd = captured.ofType("kubernetes:core/v1:Secret").find((s) => JSON.stringify(s.inputs).includes("htpasswd"))!;
            assert.ok(htpasswd, "an htpasswd Secret");
            assert.ok(!JSON.stringify(htpasswd.inputs).includes("hunter22"), "only a hash is stored");
            assert.ok(htpasswd.secretPaths.length > 0 && sentAsSecret(htpasswd, htpasswd.secretPaths[0]));
        });

        it("refuses a secret script, which would end up readable in the pod spec", async () => {
            pulumi.runtime.setAllConfig(asEngineConfig({ "dind:target": "kubernetes", "dind:script": "docker login -p hunter22" }), ["dind:script"]);
            delete require.cache[require.resolve(PROGRAM)];
            const { error, registered } = await captureFailure(() => require(PROGRAM));
            assert.match(error.message, /^dind:script: expected a plain value/);
            assert.ok(!error.message.includes("hunter22"), "the error must not print the secret");
            assert.equal(registered, 0);
        });

        it("leaves a disabled registry section out", () => {
            const config = loadProgramConfig(asEngineConfig({ "dind:target": "kubernetes", "dind:selfHostedRegistry": { enabled: false, mode: "private" } }));
            assert.equal(config.registry, undefined);
        });

        it("passes a mirror's upstream CA and cache TTL from the stack file, the CA plain (it is public)", () => {
            for (const target of ["kubernetes", "docker"]) {
                const config = loadProgramConfig(
                    asEngineConfig({
                        "dind:target": target,
                        ...(target === "docker" ? { "dind:socketDirectory": "/run/dind" } : {}),
                        "dind:selfHostedRegistry": { enabled: true, upstream: "https://images.internal:5000", upstreamCaCertPem: testCertificate(), cacheTtl: "24h" },
                    }),
                );
                assert.equal(config.registry?.upstreamCaCertPem, testCertificate(), target);
                assert.equal(config.registry?.cacheTtl, "24h", target);
            }
        });

        it("accepts a registry CA given in the stack file", () => {
            const config = loadProgramConfig(
                asEngineConfig({ "dind:target": "kubernetes", "dind:registries": [{ host: "r:5000", caCertPem: testCertificate() }] }),
            );
            assert.equal(config.dind.registries?.[0].host, "r:5000");
        });
    });
});
