import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { capture, captureFailure, sentAsSecret, valueOf } from "./harness";
import { validateManifests } from "./kubernetesSchema";
import { testCa, testCertificate, testServerCertificate } from "./pems";
import { DockerProgram, KubernetesProgram, ProgramConfig, loadProgramConfig, programNames } from "../config";

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

function forTarget<T extends ProgramConfig["target"]>(target: T, config: ProgramConfig): Extract<ProgramConfig, { target: T }> {
    assert.equal(config.target, target);
    return config as Extract<ProgramConfig, { target: T }>;
}

/** A registry section bringing a server certificate for `dnsNames`, issued by testCa(). */
function broughtCertificate(...dnsNames: string[]): Record<string, string> {
    const server = testServerCertificate(...dnsNames);
    return { caCertPem: testCa().certPem, tlsCertPem: server.certPem, tlsKeyPem: server.keyPem };
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
            assert.equal(captured.ofType("pulumi-dind:index:LocalDind").length, 1);
            assert.equal(captured.ofType("pulumi-dind:index:LocalRegistry").length, 1);
            assert.equal(captured.ofType("pulumi-dind:index:DindDeployment").length, 0);

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
            assert.equal(captured.ofType("pulumi-dind:index:DindDeployment").length, 1);
            assert.equal(captured.ofType("pulumi-dind:index:SelfHostedRegistry").length, 1);
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
        const docker = { "dind:target": "docker" };
        const names = programNames();
        const registry = (section: Record<string, unknown>) => ({ "dind:selfHostedRegistry": { enabled: true, ...section } });
        const secretWord = "hunter22";
        /** What the config holds, the message naming its key, and the keys the stack holds as secrets (never printed). */
        const cases: [string, Record<string, unknown>, RegExp, string[]?][] = [
            ["an unknown target", { "dind:target": "nomad" }, /^dind:target: expected one of "kubernetes", "docker", got "nomad"/],
            ["a mirror without https", { ...base, "dind:registryMirrors": ["http://mirror:5000"] }, /^dind:registryMirrors\[0\]: expected an https/],
            ["a mirror with a path", { ...base, "dind:registryMirrors": ["https://mirror/cache"] }, /^dind:registryMirrors\[0\]: .*no path/],
            ["a registry host with a scheme", { ...base, "dind:registries": [{ host: "https://r:5000" }] }, /^dind:registries\[0\].host: /],
            ["a CA that is not PEM", { ...base, "dind:registries": [{ host: "r", caCertPem: "MIIB" }] }, /^dind:registries\[0\].caCertPem: expected one or more PEM-encoded X.509 certificates/],
            ["an unknown transport", { ...base, "dind:transport": "ssh" }, /^dind:transport: expected one of "unix", "tls", "tcp", got "ssh"/],
            ["an unknown workload", { ...base, "dind:workload": "DaemonSet" }, /^dind:workload: expected one of "Deployment", "Job", "StatefulSet", got "DaemonSet"/],
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
            ["a socket directory holding the socket of the engine deployed to", { ...docker, "dind:dockerHost": "unix:///srv/engine/docker.sock", "dind:socketDirectory": "/srv/engine" }, /^dind:socketDirectory: /],
            ["a bad output directory, named by its own key", { ...docker, "dind:socketDirectory": "/run/dind", "dind:script": "true", "dind:outputDirectory": "out" }, /^dind:outputDirectory: expected an absolute path/],
            ["a blank script on a Docker host", { ...docker, "dind:socketDirectory": "/run/dind", "dind:script": " " }, /^dind:script: expected a non-empty string/],
            ["an empty Docker host", { ...docker, "dind:dockerHost": "" }, /^dind:dockerHost: expected a non-empty string/],
            ["a daemon.json key a flag sets", { ...base, "dind:daemonConfig": { hosts: ["tcp://0.0.0.0:2375"] } }, /^dind:daemonConfig\.hosts: expected a key that no flag sets: dind:transport sets --host/],
            ["a daemon.json key an extra flag sets, on a Docker host", { ...docker, "dind:extraDockerdArgs": ["--log-level=warn"], "dind:daemonConfig": { "log-level": "info" } }, /^dind:daemonConfig\.log-level: expected a key that no flag sets: dind:extraDockerdArgs\[0\] sets --log-level/],
            ["a daemon.json that is no object", { ...docker, "dind:daemonConfig": "log-driver=local" }, /^dind:daemonConfig: expected an object of daemon\.json keys.*, got "log-driver=local"$/],
            ["the snapshotter beside the same feature", { ...base, "dind:containerdSnapshotter": true, "dind:daemonConfig": { features: { "containerd-snapshotter": true } } }, /^dind:containerdSnapshotter: expected nothing beside dind:daemonConfig\.features\.containerd-snapshotter/],
            ["an iptables switch that is no boolean", { ...docker, "dind:iptablesLegacy": "yes" }, /^dind:iptablesLegacy: expected true or false, got "yes"$/],

            // Keys that would reach an object's prototype, at any depth (JSON.parse makes __proto__ an own key).
            ["a __proto__ key", { ...base, "dind:__proto__": '{"replicas":2}' }, /^dind:__proto__: expected no key named __proto__, constructor or prototype/],
            ["a constructor key", { ...base, "dind:constructor": "x" }, /^dind:constructor: expected no key named __proto__/],
            ["a __proto__ key in an object", { ...base, "dind:dockerStorage": '{"__proto__":{"persistent":true}}' }, /^dind:dockerStorage\.__proto__: expected no key named/],
            ["a __proto__ key in daemon.json", { ...base, "dind:daemonConfig": '{"builder":{"__proto__":{"gc":{}}}}' }, /^dind:daemonConfig\.builder\.__proto__: expected no key named/],
            ["a constructor key in a list", { ...base, "dind:registries": '[{"host":"r","constructor":{"x":1}}]' }, /^dind:registries\[0\]\.constructor: expected no key named/],
            ["a prototype key deep in the registry section", { ...base, ...registry({ storage: { prototype: { size: "1Gi" } } }) }, /^dind:selfHostedRegistry\.storage\.prototype: expected no key named/],
            ["a __proto__ key in the registry section", { ...docker, "dind:selfHostedRegistry": '{"enabled":true,"__proto__":{"port":1}}' }, /^dind:selfHostedRegistry\.__proto__: expected no key named/],

            // A secret that would end up in plain text, whatever the key.
            ["secret dockerd flags", { ...base, "dind:extraDockerdArgs": [`--label=token=${secretWord}`] }, /^dind:extraDockerdArgs: expected a plain value: dockerd's flags are part of the pod spec/, ["dind:extraDockerdArgs"]],
            ["secret dockerd flags on a Docker host", { ...docker, "dind:extraDockerdArgs": [`--label=token=${secretWord}`] }, /^dind:extraDockerdArgs: expected a plain value/, ["dind:extraDockerdArgs"]],
            ["a secret script on a Docker host", { ...docker, "dind:socketDirectory": "/run/dind", "dind:script": `docker login -p ${secretWord}` }, /^dind:script: expected a plain value: read secrets in the script/, ["dind:script"]],
            ["a secret mirror", { ...base, "dind:registryMirrors": [`https://${secretWord}.example.com`] }, /^dind:registryMirrors: expected a plain value: it ends up in plain text/, ["dind:registryMirrors"]],
            ["a secret registry list", { ...base, "dind:registries": [{ host: `${secretWord}:5000` }] }, /^dind:registries: expected a plain value/, ["dind:registries"]],
            ["a secret namespace", { ...base, "dind:namespace": secretWord }, /^dind:namespace: expected a plain value/, ["dind:namespace"]],
            ["a secret target", { "dind:target": secretWord }, /^dind:target: expected a plain value/, ["dind:target"]],
            ["a secret node selector", { ...base, "dind:nodeSelector": { pool: secretWord } }, /^dind:nodeSelector: expected a plain value/, ["dind:nodeSelector"]],
            ["a secret image", { ...base, "dind:dindImage": `${secretWord}/docker:29-dind` }, /^dind:dindImage: expected a plain value/, ["dind:dindImage"]],
            ["a secret run id", { ...base, "dind:workload": "Job", "dind:script": "true", "dind:runId": secretWord }, /^dind:runId: expected a plain value/, ["dind:runId"]],
            ["a secret socket directory", { ...docker, "dind:socketDirectory": `/run/${secretWord}` }, /^dind:socketDirectory: expected a plain value/, ["dind:socketDirectory"]],
            ["a secret output volume", { ...docker, "dind:socketDirectory": "/run/dind", "dind:script": "true", "dind:outputVolume": secretWord }, /^dind:outputVolume: expected a plain value/, ["dind:outputVolume"]],
            ["a secret daemon.json", { ...base, "dind:daemonConfig": { "http-proxy": `http://ci:${secretWord}@proxy:3128` } }, /^dind:daemonConfig: expected a plain value: it ends up in plain text/, ["dind:daemonConfig"]],
            ["a secret render directory", { ...base, "dind:renderYamlToDirectory": `/srv/${secretWord}` }, /^dind:renderYamlToDirectory: expected a plain value/, ["dind:renderYamlToDirectory"]],

            // Errors never print a secret: a secret section's values, a misspelt key's value, credentials.
            ["a bad cache TTL in a secret registry section", { ...base, ...registry({ cacheTtl: secretWord, users: [] }) }, /^dind:selfHostedRegistry\.cacheTtl: expected a Go duration.*, got "a secret of 8 bytes"$/, ["dind:selfHostedRegistry"]],
            ["a bad host name in a secret registry section", { ...docker, ...registry({ hostnames: [`${secretWord}_`] }) }, /^dind:selfHostedRegistry\.hostnames\[0\]: expected a DNS name.*, got "a secret of 9 bytes"$/, ["dind:selfHostedRegistry"]],
            ["a bad mode in a secret registry section", { ...base, ...registry({ mode: secretWord }) }, /^dind:selfHostedRegistry\.mode: expected one of "mirror", "private", got "a secret of 8 bytes"$/, ["dind:selfHostedRegistry"]],
            ["a port of the wrong type in a secret registry section", { ...docker, ...registry({ port: [secretWord] }) }, /^dind:selfHostedRegistry\.port: expected an integer from 1 to 65535, got "a secret list"$/, ["dind:selfHostedRegistry"]],
            ["a secret Docker host that is empty", { ...docker, "dind:dockerHost": "" }, /^dind:dockerHost: expected a non-empty string, got "a secret of 0 bytes"$/, ["dind:dockerHost"]],
            ["a misspelt key holding a password", { ...base, "dind:registryPassword": secretWord }, /^dind:registryPassword: expected no such key: the keys are .*, got "a value"$/],
            ["a misspelt secret key", { ...base, "dind:selfHostedRegistri": { upstreamPassword: secretWord } }, /^dind:selfHostedRegistri: expected no such key/, ["dind:selfHostedRegistri"]],
            ["a key of the other target holding credentials", { ...base, "dind:dockerHost": `ssh://ci:${secretWord}@build-host` }, /^dind:dockerHost: expected no value with target kubernetes \(it is read with target docker\), got "a value"$/],
            ["credentials in a mirror URL", { ...base, "dind:registryMirrors": [`https://ci:${secretWord}@mirror.example.com`] }, /^dind:registryMirrors\[0\]: expected an https:\/\/ URL.*\(no path, query, fragment or credentials\)/],

            // Checks of the daemon against the registry wired to it, named by config key, before the registry is declared.
            ["a CA ConfigMap beside the self-hosted registry", { ...base, "dind:namespace": "ci", "dind:caConfigMapName": "cas", ...registry({}) }, /^dind:caConfigMapName: expected to be left out when registries carry caCertPem or a registry is wired in/],
            ["a registry in the namespace the daemon creates", { ...base, ...registry({ namespace: names.daemon }) }, new RegExp(`^dind:selfHostedRegistry\\.namespace: expected a namespace other than the one the daemon creates.*, got "${names.daemon}"$`)],
            ["a daemon in the namespace the registry creates", { ...base, "dind:namespace": names.registry, ...registry({}) }, new RegExp(`^dind:namespace: expected a namespace other than the one the registry creates.*, got "${names.registry}"$`)],
            ["a trusted registry that is the self-hosted one", { ...base, "dind:registries": [{ host: `${names.registry}.${names.registry}.svc:5000` }], ...registry({}) }, /^dind:registries\[0\]\.host: expected a host other than the self-hosted registry's/],
            ["a trusted registry that is the self-hosted one, with its own names", { ...base, "dind:namespace": "ci", "dind:registries": [{ host: "r.ci.svc:5000" }], ...registry({ serviceName: "r", namespace: "ci", mode: "private" }) }, /^dind:registries\[0\]\.host: /],
            ["a mirror that is the self-hosted one", { ...base, "dind:registryMirrors": [`https://${names.registry}.${names.registry}.svc:5000/`], ...registry({}) }, /^dind:registryMirrors\[0\]: expected a mirror other than the self-hosted registry/],
            ["a local registry on the daemon's host port", { ...docker, ...registry({ port: 2376 }) }, /^dind:selfHostedRegistry\.port: expected a port other than the daemon's dind:hostPort \(2376\).*, got 2376$/],
            ["a local registry on a host port given", { ...docker, "dind:hostPort": 5001, ...registry({ port: 5001 }) }, /^dind:selfHostedRegistry\.port: expected a port other than the daemon's dind:hostPort \(5001\)/],
            ["a local registry under the daemon's name", { ...docker, ...registry({ alias: names.daemon }) }, /^dind:selfHostedRegistry\.alias: expected a name other than .* by which the daemon would reach itself/],
            ["a local registry called localhost", { ...docker, ...registry({ alias: "localhost" }) }, /^dind:selfHostedRegistry\.alias: expected a name other than/],
            ["a trusted registry that is the local one", { ...docker, "dind:registries": [{ host: `${names.registry}:5000`, insecure: true }], ...registry({}) }, /^dind:registries\[0\]\.host: expected a host other than the self-hosted registry's/],
            ["a local registry in the script's output volume", { ...docker, "dind:socketDirectory": "/run/dind", "dind:script": "true", "dind:outputVolume": "out", ...registry({ volumeName: "out" }) }, /^dind:selfHostedRegistry\.volumeName: expected a volume other than the daemon's data volume and dind:outputVolume/],
            ["a mirror that is the local one", { ...docker, "dind:registryMirrors": [`https://${names.registry}:5000`], ...registry({}) }, /^dind:registryMirrors\[0\]: expected a mirror other than the self-hosted registry/],
            ["a brought certificate without the Service's names", { ...base, ...registry(broughtCertificate("elsewhere.example.com")) }, /^dind:selfHostedRegistry\.tlsCertPem: expected a certificate whose subjectAltName has /],
            ["a brought certificate without the local registry's alias", { ...docker, ...registry(broughtCertificate("elsewhere.example.com")) }, new RegExp(`^dind:selfHostedRegistry\\.tlsCertPem: expected a certificate whose subjectAltName has ${names.registry}`)],
        ];
        for (const [what, config, message, secretKeys = []] of cases) {
            it(`reports ${what} by its key, before any resource is registered`, async () => {
                pulumi.runtime.setAllConfig(asEngineConfig(config), secretKeys);
                delete require.cache[require.resolve(PROGRAM)];
                const { error, registered } = await captureFailure(() => require(PROGRAM));
                assert.match(error.message, message);
                assert.ok(!error.message.includes(secretWord), `the error must not print ${secretWord}: ${error.message}`);
                assert.equal(registered, 0);
            });
        }
    });

    describe("values as the engine hands them", () => {
        it("keeps a string key's value as written, though it reads as a number or a boolean", () => {
            const kubernetes: KubernetesProgram = forTarget("kubernetes", loadProgramConfig({ "dind:target": "kubernetes", "dind:namespace": "123", "dind:workload": "Job", "dind:script": "true", "dind:runId": "20261202" }));
            assert.equal(kubernetes.dind.namespace, "123");
            assert.equal(kubernetes.dind.script, "true");
            assert.equal(kubernetes.dind.runId, "20261202");
            const docker: DockerProgram = forTarget("docker", loadProgramConfig({ "dind:target": "docker", "dind:socketDirectory": "/run/dind", "dind:script": "false", "dind:outputVolume": "1e3", "dind:dockerHost": "null" }));
            assert.equal(docker.dind.client?.script, "false");
            assert.equal(docker.dind.client?.outputVolume, "1e3");
            assert.equal(docker.dockerHost, "null");
        });

        it("parses the other keys' JSON, and leaves what is not JSON for the check to show", () => {
            const config = forTarget("kubernetes", loadProgramConfig({ "dind:target": "kubernetes", "dind:replicas": "2", "dind:networkPolicy": "false", "dind:dockerStorage": '{"size":"5Gi"}' }));
            assert.equal(config.dind.replicas, 2);
            assert.equal(config.dind.networkPolicy, false);
            assert.deepEqual(config.dind.dockerStorage, { size: "5Gi" });
            assert.throws(() => loadProgramConfig({ "dind:target": "kubernetes", "dind:replicas": "two" }), { message: /^dind:replicas: expected an integer from 0 to 1000, got "two"$/ });
        });

        it("writes dind:daemonConfig as the daemon's daemon.json and sets the image's switch, on either target", async () => {
            const daemonConfig = { "log-driver": "local", "log-opts": { "max-size": "10m" } };
            const expected = { ...daemonConfig, features: { "containerd-snapshotter": false } };
            const switches = { "dind:daemonConfig": daemonConfig, "dind:containerdSnapshotter": false, "dind:iptablesLegacy": true };
            const onKubernetes = await runProgram(asEngineConfig({ "dind:target": "kubernetes", ...switches }));
            const configMap = onKubernetes.captured.ofType("kubernetes:core/v1:ConfigMap").find((c) => c.name.endsWith("-daemon-json"));
            assert.deepEqual(JSON.parse(configMap?.inputs.data["daemon.json"]), expected);
            const pod = onKubernetes.captured.only("kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
            const dockerd = pod.initContainers.find((c: any) => c.name === "dockerd");
            assert.ok(dockerd.env.some((e: any) => e.name === "DOCKER_IPTABLES_LEGACY" && e.value === "1"));
            const onDocker = await runProgram(asEngineConfig({ "dind:target": "docker", ...switches }));
            const dind = containerNamed(onDocker.captured, "-dind");
            assert.deepEqual(JSON.parse(dind.inputs.uploads.find((u: any) => u.file === "/etc/docker/daemon.json").content), expected);
            assert.ok(dind.inputs.envs.includes("DOCKER_IPTABLES_LEGACY=1"));
        });

        it("names the registry host the components derive, so a daemon's check against it holds", async () => {
            for (const file of ["Pulumi.cluster.yaml", "Pulumi.dev.yaml"]) {
                const { outputs } = await runProgram(stackConfig(file));
                const host = await valueOf<string>(outputs.registryHost);
                const values = stackConfigValues(file);
                assert.throws(
                    () => loadProgramConfig(asEngineConfig({ ...values, "dind:registries": [...((values["dind:registries"] as unknown[]) ?? []), { host }] })),
                    { message: /^dind:registries\[\d\]\.host: expected a host other than the self-hosted registry's/ },
                    file,
                );
            }
        });

        it("names the daemon's data volume as LocalDind does, so a registry cannot write into it", async () => {
            const { outputs } = await runProgram(stackConfig("Pulumi.dev.yaml"));
            const volumeName = await valueOf<string>(outputs.volumeName);
            const values = stackConfigValues("Pulumi.dev.yaml");
            const section = { ...(values["dind:selfHostedRegistry"] as object), volumeName };
            assert.throws(() => loadProgramConfig(asEngineConfig({ ...values, "dind:selfHostedRegistry": section })), {
                message: new RegExp(`^dind:selfHostedRegistry\\.volumeName: expected a volume other than the daemon's data volume.*, got "${volumeName}"$`),
            });
        });

        it("passes a Docker host the stack holds as a secret to the provider only as a secret", async () => {
            pulumi.runtime.setAllConfig({ "dind:target": "docker", "dind:dockerHost": "ssh://ci@build-host" }, ["dind:dockerHost"]);
            delete require.cache[require.resolve(PROGRAM)];
            const captured = await capture(() => require(PROGRAM));
            const provider = captured.only("pulumi:providers:docker");
            assert.equal(provider.inputs.host, "ssh://ci@build-host");
            assert.ok(sentAsSecret(provider, "host"));
        });

        it("accepts a registry section the stack holds as a secret, as `config set --secret --path` stores it", () => {
            const config = loadProgramConfig(
                { "dind:target": "kubernetes", "dind:selfHostedRegistry": JSON.stringify({ enabled: true, mode: "private", users: [{ username: "ci", password: "hunter22" }] }) },
                (key) => key === "dind:selfHostedRegistry",
            );
            assert.ok(pulumi.Output.isInstance(config.registry?.users?.[0].password));
        });
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
