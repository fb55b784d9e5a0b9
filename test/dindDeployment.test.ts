import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Captured, capture, captureFailure, sentAsSecret, urnTypeChain, valueOf } from "./harness";
import { validateManifests } from "./kubernetesSchema";
import { testCertificate } from "./pems";
import { DindDeployment, DindDeploymentArgs } from "../components/dindDeployment";
import { clientCommand } from "../components/daemon";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const JOB = "kubernetes:batch/v1:Job";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const SECRET = "kubernetes:core/v1:Secret";
const PVC = "kubernetes:core/v1:PersistentVolumeClaimPatch";
const NAMESPACE = "kubernetes:core/v1:NamespacePatch";
const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const SERVICE = "kubernetes:core/v1:Service";

/** The README's example of daemon.json (DindDeployment, "daemon.json"). */
const DAEMON_JSON_EXAMPLE = {
    daemonConfig: {
        builder: { gc: { enabled: true, defaultKeepStorage: "20GB" } },
        "log-driver": "local",
        "log-opts": { "max-size": "10m", "max-file": "3" },
        "default-address-pools": [{ base: "10.200.0.0/16", size: 24 }],
    },
    containerdSnapshotter: false,
    iptablesLegacy: true,
} satisfies DindDeploymentArgs;

async function deploy(args: DindDeploymentArgs = {}, name = "dind") {
    let component!: DindDeployment;
    const captured = await capture(() => {
        component = new DindDeployment(name, args);
    });
    return { component, captured, ...podOf(captured) };
}

/** What a container runs once Kubernetes has expanded `$(NAME)` and `$$` in its command or args. */
function asKubernetesRuns(args: string[]): string[] {
    return args.map((arg) => arg.replace(/\$\$/g, "$"));
}

function podOf(captured: Captured) {
    const workload = captured.ofType(DEPLOYMENT)[0] ?? captured.ofType(JOB)[0] ?? captured.ofType(STATEFUL_SET)[0];
    const spec = workload.inputs.spec.template.spec;
    const all = [...(spec.initContainers ?? []), ...spec.containers];
    const container = (name: string) => {
        const found = all.find((c: any) => c.name === name);
        assert.ok(found, `no container ${name}`);
        return found;
    };
    const env = (name: string) => Object.fromEntries((container(name).env ?? []).map((e: any) => [e.name, e.value]));
    const mounts = (name: string) => Object.fromEntries((container(name).volumeMounts ?? []).map((m: any) => [m.mountPath, m.name]));
    const volume = (name: string) => spec.volumes.find((v: any) => v.name === name);
    return { workload, spec, container, env, mounts, volume, dockerd: container("dockerd"), client: container("client") };
}

describe("DindDeployment", () => {
    describe("resource graph", () => {
        it("parents every child to the component and confines dind to its own privileged namespace", async () => {
            const { captured } = await deploy();
            const children = captured.resources.filter((r) => r.type !== "pulumi-dind:index:DindDeployment");
            assert.ok(children.length >= 3);
            for (const child of children) {
                assert.deepEqual(urnTypeChain(child.urn).slice(0, 1), ["pulumi-dind:index:DindDeployment"], child.name);
            }
            const namespace = captured.only(NAMESPACE);
            assert.equal(namespace.inputs.metadata.name, "dind");
            assert.equal(namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
        });

        it("deploys into a given namespace without creating or relabelling it", async () => {
            const { captured, component } = await deploy({ namespace: "ci" });
            assert.equal(captured.ofType(NAMESPACE).length, 0);
            assert.equal(captured.only(DEPLOYMENT).inputs.metadata.namespace, "ci");
            assert.equal(await valueOf(component.namespace), "ci");
        });

        it("uses apps/v1 Deployments with a selector that matches the pod", async () => {
            const { captured } = await deploy({ replicas: 3 });
            const deployment = captured.only(DEPLOYMENT);
            assert.equal(deployment.inputs.apiVersion, "apps/v1");
            assert.equal(deployment.inputs.spec.replicas, 3);
            const labels = deployment.inputs.spec.template.metadata.labels;
            for (const [key, value] of Object.entries(deployment.inputs.spec.selector.matchLabels)) {
                assert.equal(labels[key], value);
            }
        });

        it("denies all ingress to the pods unless the user opts out", async () => {
            const denied = (await deploy()).captured.only("kubernetes:networking.k8s.io/v1:NetworkPolicy");
            assert.deepEqual(denied.inputs.spec.policyTypes, ["Ingress"]);
            assert.equal(denied.inputs.spec.ingress, undefined, "no ingress rule: nothing may connect");
            const podLabels = (await deploy()).captured.only(DEPLOYMENT).inputs.spec.template.metadata.labels;
            for (const [key, value] of Object.entries(denied.inputs.spec.podSelector.matchLabels)) {
                assert.equal(podLabels[key], value);
            }
            const open = await deploy({ networkPolicy: false });
            assert.equal(open.captured.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").length, 0);
        });
    });

    describe("Kubernetes schema", () => {
        const variants: [string, DindDeploymentArgs][] = [
            ["defaults", {}],
            ["tls with registries and an output claim", { transport: "tls", registries: [{ host: "r:5000", caCertPem: testCertificate() }], output: {} }],
            ["tcp Job", { transport: "tcp", workload: "Job", script: "docker info" }],
            ["persistent storage, no native sidecar", { nativeSidecar: false, dockerStorage: { persistent: true }, namespace: "ci" }],
            ["an existing CA ConfigMap, scheduling constraints", {
                namespace: "ci",
                registries: [{ host: "r" }],
                caConfigMapName: "registry-ca-cert",
                nodeSelector: { pool: "ci" },
                tolerations: [{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" }],
            }],
        ];
        for (const [what, args] of variants) {
            it(`declares only objects the schema accepts, field names included: ${what}`, async () => {
                const { captured } = await deploy(args);
                assert.ok(validateManifests(captured) >= 2);
            });
        }
    });

    describe("the dockerd container", () => {
        it("is the only privileged container, and runs a pinned current image", async () => {
            const { dockerd, client, spec } = await deploy();
            assert.equal(dockerd.securityContext.privileged, true);
            assert.notEqual(client.securityContext?.privileged, true);
            assert.equal(client.securityContext.allowPrivilegeEscalation, false);
            assert.deepEqual(client.securityContext.capabilities.drop, ["ALL"]);
            assert.match(dockerd.image, /^docker:(29|[3-9]\d)[-.]/);
            assert.doesNotMatch(dockerd.image, /stable/);
            assert.match(client.image, /^docker:(29|[3-9]\d)[-.].*cli/);
            assert.equal(spec.automountServiceAccountToken, false);
        });

        it("gets every flag explicitly, beginning with dockerd", async () => {
            const { dockerd } = await deploy({ registryMirrors: ["https://mirror.example.com"], mtu: 1400 });
            assert.equal(dockerd.command, undefined, "the image's entrypoint must run so its dind wrapper prepares the container");
            assert.equal(dockerd.args[0], "dockerd");
            assert.ok(dockerd.args.includes("--registry-mirror=https://mirror.example.com"));
            assert.ok(dockerd.args.includes("--mtu=1400"));
            assert.ok(dockerd.args.includes("--default-network-opt=bridge=com.docker.network.driver.mtu=1400"));
        });

        it("keeps /var/lib/docker on a size-limited emptyDir so overlay2 is used instead of vfs", async () => {
            const { mounts, volume } = await deploy({ dockerStorage: { size: "50Gi" } });
            const name = mounts("dockerd")["/var/lib/docker"];
            assert.deepEqual(volume(name).emptyDir, { sizeLimit: "50Gi" });
        });

        it("keeps /var/lib/docker on a claim with a fixed name that destroy keeps and the next up adopts", async () => {
            const { captured, mounts, volume } = await deploy({ dockerStorage: { persistent: true, size: "100Gi", storageClass: "fast" } });
            const claim = captured.get(PVC, "dind-docker-data");
            assert.equal(claim.inputs.metadata.name, "dind-docker-data");
            assert.equal(claim.inputs.metadata.annotations["pulumi.com/patchFieldManager"], "pulumi-dind");
            assert.equal(claim.inputs.spec.resources.requests.storage, "100Gi");
            assert.equal(claim.inputs.spec.storageClassName, "fast");
            assert.equal(claim.options.retainOnDelete, true);
            assert.equal(volume(mounts("dockerd")["/var/lib/docker"]).persistentVolumeClaim.claimName, "dind-docker-data");
            assert.equal(captured.only(DEPLOYMENT).inputs.spec.strategy.type, "Recreate");
        });

        it("mounts an existing claim as /var/lib/docker, e.g. a cache kept under another name", async () => {
            const { captured, mounts, volume, workload } = await deploy({ namespace: "ci", dockerStorage: { existingClaimName: "old-cache" } });
            assert.equal(captured.ofType(PVC).length, 0);
            assert.equal(volume(mounts("dockerd")["/var/lib/docker"]).persistentVolumeClaim.claimName, "old-cache");
            assert.equal(workload.inputs.spec.strategy.type, "Recreate");
        });
    });

    describe("start order", () => {
        it("runs dockerd as a native sidecar with a startup probe, so the client starts once the daemon answers", async () => {
            const { spec, dockerd, client } = await deploy({ startupTimeoutSeconds: 90 });
            assert.deepEqual(spec.initContainers.map((c: any) => c.name), ["dockerd"]);
            assert.equal(dockerd.restartPolicy, "Always");
            assert.deepEqual(dockerd.startupProbe.exec.command, ["docker", "info"]);
            assert.equal(dockerd.startupProbe.periodSeconds, 1);
            assert.equal(dockerd.startupProbe.failureThreshold, 90);
            assert.ok(!client.command[2].includes("docker info"), "the sidecar's probe already orders the start");
        });

        it("falls back to two containers and a bounded wait in the client for clusters without native sidecars", async () => {
            const { spec, dockerd, client } = await deploy({ nativeSidecar: false, startupTimeoutSeconds: 45, script: "docker ps" });
            assert.equal(spec.initContainers, undefined);
            assert.deepEqual(spec.containers.map((c: any) => c.name), ["dockerd", "client"]);
            assert.equal(dockerd.restartPolicy, undefined);
            assert.deepEqual(asKubernetesRuns(client.command), clientCommand({ script: "docker ps", waitTimeoutSeconds: 45 }));
        });
    });

    describe("workloads", () => {
        it("runs a one-shot script as a Job that never restarts the pod and ends with the script", async () => {
            const script = "docker pull busybox:latest\ndocker save -o busybox.tar busybox:latest";
            const { captured, spec, client } = await deploy({ workload: "Job", script });
            assert.equal(captured.ofType(DEPLOYMENT).length, 0);
            const job = captured.only(JOB);
            assert.equal(job.inputs.apiVersion, "batch/v1");
            assert.equal(spec.restartPolicy, "Never");
            assert.deepEqual(asKubernetesRuns(client.command), clientCommand({ script }));
        });

        it("bounds a Job in time, for Kubernetes and for pulumi up alike", async () => {
            const { captured } = await deploy({ workload: "Job", script: "true", jobTimeoutSeconds: 1800 });
            const job = captured.only(JOB);
            assert.equal(job.inputs.spec.activeDeadlineSeconds, 1800);
            assert.equal(job.inputs.metadata.annotations["pulumi.com/timeoutSeconds"], "1800");
        });

        it("retains a namespace it created when it holds retained claims, since deleting it would delete them", async () => {
            assert.equal((await deploy({ output: {} })).captured.only(NAMESPACE).options.retainOnDelete, true);
            assert.equal((await deploy({ dockerStorage: { persistent: true } })).captured.only(NAMESPACE).options.retainOnDelete, true);
            assert.equal((await deploy()).captured.only(NAMESPACE).options.retainOnDelete, false);
        });

        it("declares its namespace as a patch, so an up after destroy adopts the namespace destroy kept", async () => {
            const namespace = (await deploy({ output: {} })).captured.only(NAMESPACE);
            assert.equal(namespace.inputs.metadata.name, "dind");
            assert.equal(namespace.inputs.metadata.annotations["pulumi.com/patchFieldManager"], "pulumi-dind");
        });

        it("replaces the pod rather than rolling it while a claim is attached, and spells out the rolling update otherwise", async () => {
            const { captured } = await deploy({ output: {} });
            assert.deepEqual(captured.only(DEPLOYMENT).inputs.spec.strategy, { type: "Recreate" });
            // A server-defaulted rollingUpdate would make a later switch to Recreate invalid.
            assert.deepEqual((await deploy()).captured.only(DEPLOYMENT).inputs.spec.strategy, {
                type: "RollingUpdate",
                rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
            });
        });

        it("lets the next up run a failed Job again, and a new runId run a succeeded one again", async () => {
            const { workload } = await deploy({ workload: "Job", script: "true" });
            assert.equal(workload.inputs.metadata.annotations["pulumi.com/replaceUnready"], "true");
            assert.equal(workload.inputs.spec.template.metadata.annotations, undefined);
            const rerun = await deploy({ workload: "Job", script: "true", runId: "2026-12-02" });
            // The provider replaces a Job whose template changes: the new one runs.
            assert.deepEqual(rerun.workload.inputs.spec.template.metadata.annotations, { "pulumi-dind/run-id": "2026-12-02" });
        });

        it("doubles every $ so Kubernetes hands the script and flags to the shell as written", async () => {
            const script = 'echo "pid=$$ host=$(DOCKER_HOST) $HOME"';
            const { client, dockerd } = await deploy({ script, extraDockerdArgs: ["--label=cost=$(CENTER)"] });
            assert.equal(client.command[4], 'set -e\necho "pid=$$$$ host=$$(DOCKER_HOST) $$HOME"');
            assert.ok(!client.command.join("").match(/(^|[^$])\$(\$\$)*[^$]/), "no single $ left for Kubernetes to expand");
            assert.ok(dockerd.args.includes("--label=cost=$$(CENTER)"));
        });

        it("keeps what the script writes on a retained claim mounted as its working directory", async () => {
            const { captured, client, mounts, volume } = await deploy({ workload: "Job", script: "true", output: { size: "5Gi" } });
            const claim = captured.get(PVC, "dind-output");
            assert.equal(claim.inputs.metadata.name, "dind-output");
            assert.equal(claim.inputs.spec.resources.requests.storage, "5Gi");
            assert.equal(claim.options.retainOnDelete, true);
            assert.equal(client.workingDir, "/output");
            assert.equal(volume(mounts("client")["/output"]).persistentVolumeClaim.claimName, "dind-output");
            assert.equal(mounts("dockerd")["/output"], undefined);
        });

        it("mounts an existing claim for output without creating one", async () => {
            const { captured, mounts, volume } = await deploy({ namespace: "ci", output: { existingClaimName: "saved-images", mountPath: "/work" } });
            assert.equal(captured.ofType(PVC).length, 0);
            assert.equal(volume(mounts("client")["/work"]).persistentVolumeClaim.claimName, "saved-images");
        });
    });

    describe("transports", () => {
        it("unix: shares only the socket directory, opens no port", async () => {
            const { component, env, mounts, dockerd } = await deploy({ transport: "unix" });
            assert.equal(env("client").DOCKER_HOST, "unix:///var/run/dind/docker.sock");
            assert.equal(env("dockerd").DOCKER_HOST, "unix:///var/run/dind/docker.sock");
            assert.equal(mounts("client")["/var/run/dind"], mounts("dockerd")["/var/run/dind"]);
            assert.equal(dockerd.ports, undefined);
            assert.ok(!dockerd.args.some((a: string) => a.startsWith("--host=tcp")));
            assert.equal(await valueOf(component.dockerHost), "unix:///var/run/dind/docker.sock");
        });

        it("tcp: plaintext on the pod's loopback only", async () => {
            const { env, dockerd } = await deploy({ transport: "tcp" });
            assert.equal(env("client").DOCKER_HOST, "tcp://127.0.0.1:2375");
            assert.ok(dockerd.args.includes("--host=tcp://127.0.0.1:2375"));
            assert.equal(dockerd.ports, undefined);
        });

        it("tls: mutual TLS with keys only in secrets, server and client pairs from one CA", async () => {
            const { captured, env, mounts, volume, component } = await deploy({ transport: "tls" });
            assert.deepEqual(
                { host: env("client").DOCKER_HOST, verify: env("client").DOCKER_TLS_VERIFY, path: env("client").DOCKER_CERT_PATH },
                { host: "tcp://127.0.0.1:2376", verify: "1", path: "/certs/client" },
            );
            const server = captured.get(SECRET, "dind-server-tls");
            const client = captured.get(SECRET, "dind-client-tls");
            assert.ok(sentAsSecret(server, "stringData.key.pem"), "the server key must be sent as a secret");
            assert.ok(sentAsSecret(client, "stringData.key.pem"), "the client key must be sent as a secret");
            const ca = new crypto.X509Certificate(server.inputs.stringData["ca.pem"]);
            const serverCert = new crypto.X509Certificate(server.inputs.stringData["cert.pem"]);
            const clientCert = new crypto.X509Certificate(client.inputs.stringData["cert.pem"]);
            assert.ok(serverCert.checkIssued(ca) && clientCert.checkIssued(ca));
            assert.equal(serverCert.checkIP("127.0.0.1"), "127.0.0.1", "the client dials 127.0.0.1: it must be a SAN");
            assert.ok(serverCert.checkPrivateKey(crypto.createPrivateKey(server.inputs.stringData["key.pem"])));
            assert.equal(volume(mounts("client")["/certs/client"]).secret.secretName, client.state.metadata.name);
            assert.equal(volume(mounts("dockerd")["/certs/server"]).secret.secretName, server.state.metadata.name);
            assert.equal(mounts("client")["/certs/server"], undefined, "the client never sees the server key");
            assert.equal(await valueOf(component.clientTlsSecretName), client.state.metadata.name);
        });

        it("tls: mounts existing kubernetes.io/tls Secrets under the names docker reads, and makes no key of its own", async () => {
            const { captured, mounts, volume, component } = await deploy({ namespace: "ci", transport: "tls", tlsSecrets: { server: "dind-server", client: "dind-client" } });
            assert.equal(captured.ofType(SECRET).length, 0);
            assert.equal(captured.resources.filter((r) => r.type.startsWith("tls:")).length, 0, "no key enters Pulumi state");
            const items = [
                { key: "ca.crt", path: "ca.pem" },
                { key: "tls.crt", path: "cert.pem" },
                { key: "tls.key", path: "key.pem" },
            ];
            assert.deepEqual(volume(mounts("dockerd")["/certs/server"]).secret, { secretName: "dind-server", items, defaultMode: 0o400 });
            assert.deepEqual(volume(mounts("client")["/certs/client"]).secret, { secretName: "dind-client", items, defaultMode: 0o400 });
            assert.equal(await valueOf(component.clientTlsSecretName), "dind-client");
        });
    });

    describe("registries", () => {
        it("puts each CA at certs.d/<host[:port]>/ca.crt through one ConfigMap and items", async () => {
            const ca = testCertificate();
            const { captured, mounts, volume, dockerd, env } = await deploy({
                registries: [
                    { host: "registry.example.com:5000", caCertPem: ca },
                    { host: "myregistrydomain.com", caCertPem: ca },
                    { host: "legacy:5000", insecure: true },
                ],
            });
            const configMap = captured.only(CONFIG_MAP);
            assert.deepEqual(Object.keys(configMap.inputs.data).sort(), ["myregistrydomain.com.crt", "registry.example.com_5000.crt"]);
            const certsD = volume(mounts("dockerd")["/etc/docker/certs.d"]);
            assert.equal(certsD.configMap.name, configMap.state.metadata.name);
            assert.deepEqual(certsD.configMap.items, [
                { key: "registry.example.com_5000.crt", path: "registry.example.com:5000/ca.crt" },
                { key: "myregistrydomain.com.crt", path: "myregistrydomain.com/ca.crt" },
            ]);
            assert.ok(dockerd.args.includes("--insecure-registry=legacy:5000"));
            assert.ok(!dockerd.args.includes("--insecure-registry=myregistrydomain.com"));
            assert.equal(env("dockerd").SSL_CERT_DIR, "/etc/ssl/certs:/etc/pulumi-dind/ca");
        });

        it("lets the client trust the same CAs through SSL_CERT_DIR, or not when asked", async () => {
            const registries = [{ host: "r:5000", caCertPem: testCertificate() }];
            const trusting = await deploy({ registries });
            assert.equal(trusting.env("client").SSL_CERT_DIR, "/etc/ssl/certs:/etc/pulumi-dind/ca");
            assert.equal(trusting.mounts("client")["/etc/pulumi-dind/ca"], trusting.mounts("dockerd")["/etc/pulumi-dind/ca"]);
            const notTrusting = await deploy({ registries, clientTrustsRegistryCas: false });
            assert.equal(notTrusting.env("client").SSL_CERT_DIR, undefined);
            assert.equal(notTrusting.mounts("client")["/etc/pulumi-dind/ca"], undefined);
        });

        it("mounts an existing CA ConfigMap as a hand-written pod's registry-ca-cert, keyed by host", async () => {
            const { captured, mounts, volume, component } = await deploy({
                namespace: "ci",
                registries: [{ host: "myregistrydomain.com" }],
                caConfigMapName: "registry-ca-cert",
            });
            assert.equal(captured.ofType(CONFIG_MAP).length, 0);
            const certsD = volume(mounts("dockerd")["/etc/docker/certs.d"]);
            assert.deepEqual(certsD.configMap, {
                name: "registry-ca-cert",
                items: [{ key: "myregistrydomain.com.crt", path: "myregistrydomain.com/ca.crt" }],
            });
            assert.equal(await valueOf(component.caConfigMapName), "registry-ca-cert");
        });

        it("trusts a wired registry and uses it as the first mirror", async () => {
            const ca = testCertificate();
            const { dockerd, captured } = await deploy({
                registry: { registryHost: "mirror.registry.svc:5000", mode: "mirror", caCertPem: pulumi.output(ca) },
                registryMirrors: ["https://other.example.com"],
            });
            const mirrors = dockerd.args.filter((a: string) => a.startsWith("--registry-mirror="));
            assert.deepEqual(mirrors, ["--registry-mirror=https://mirror.registry.svc:5000", "--registry-mirror=https://other.example.com"]);
            assert.equal(captured.only(CONFIG_MAP).inputs.data["mirror.registry.svc_5000.crt"], ca);
        });
    });

    describe("daemon.json", () => {
        it("puts the file in a ConfigMap that only dockerd mounts, read-only, where dockerd reads it", async () => {
            const { captured, mounts, volume, dockerd, client } = await deploy(DAEMON_JSON_EXAMPLE);
            const configMap = captured.get(CONFIG_MAP, "dind-daemon-json");
            assert.deepEqual(JSON.parse(configMap.inputs.data["daemon.json"]), {
                ...DAEMON_JSON_EXAMPLE.daemonConfig,
                features: { "containerd-snapshotter": false },
            });
            const mounted = volume(mounts("dockerd")["/etc/docker/daemon.json"]);
            assert.deepEqual(mounted.configMap, { name: configMap.state.metadata.name, items: [{ key: "daemon.json", path: "daemon.json" }] });
            const mount = dockerd.volumeMounts.find((m: any) => m.mountPath === "/etc/docker/daemon.json");
            assert.deepEqual([mount.subPath, mount.readOnly], ["daemon.json", true], "the file alone, read-only: the rest of /etc/docker stays the image's");
            assert.ok(!client.volumeMounts.some((m: any) => m.name === mounted.name), "the client never sees the daemon's configuration");
            assert.equal(configMap.inputs.metadata.namespace, captured.only(DEPLOYMENT).inputs.metadata.namespace);
        });

        it("sets the image's iptables switch on dockerd only", async () => {
            const { env } = await deploy({ iptablesLegacy: true });
            assert.equal(env("dockerd").DOCKER_IPTABLES_LEGACY, "1");
            assert.equal(env("client").DOCKER_IPTABLES_LEGACY, undefined);
            assert.equal((await deploy({ iptablesLegacy: false })).env("dockerd").DOCKER_IPTABLES_LEGACY, "");
            assert.ok(!("DOCKER_IPTABLES_LEGACY" in (await deploy()).env("dockerd")), "unset: the image detects the node's iptables");
        });

        it("declares no ConfigMap and mounts nothing at /etc/docker without a file", async () => {
            const { captured, mounts } = await deploy({ iptablesLegacy: true });
            assert.equal(captured.ofType(CONFIG_MAP).length, 0);
            assert.equal(mounts("dockerd")["/etc/docker/daemon.json"], undefined);
        });

        it("keeps registry CAs in certs.d below it, and passes the API schema", async () => {
            const { captured, mounts } = await deploy({ ...DAEMON_JSON_EXAMPLE, registries: [{ host: "r:5000", caCertPem: testCertificate() }] });
            assert.equal(captured.ofType(CONFIG_MAP).length, 2);
            assert.notEqual(mounts("dockerd")["/etc/docker/certs.d"], mounts("dockerd")["/etc/docker/daemon.json"]);
            assert.equal(mounts("dockerd")["/etc/docker"], undefined, "nothing covers /etc/docker as a whole");
            assert.ok(validateManifests(captured) >= 3);
        });

        it("is the file the README shows for its example", async () => {
            const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
            const section = readme.slice(readme.indexOf("### daemon.json"));
            const file = (await deploy(DAEMON_JSON_EXAMPLE)).captured.get(CONFIG_MAP, "dind-daemon-json").inputs.data["daemon.json"];
            assert.ok(section.includes(`\`\`\`json\n${file}\`\`\``), "README's daemon.json example shows the file its arguments make");
        });
    });

    describe("isolation under Sysbox", () => {
        it("runs no container privileged, in a user namespace, under the Sysbox RuntimeClass", async () => {
            const { spec, dockerd, client, captured } = await deploy({ isolation: "sysbox" });
            assert.equal(spec.runtimeClassName, "sysbox-runc");
            assert.equal(spec.hostUsers, false);
            for (const container of [dockerd, client]) assert.notEqual(container.securityContext?.privileged, true, container.name);
            assert.equal(dockerd.securityContext, undefined, "root of the user namespace: Sysbox gives it the capabilities dind needs");
            assert.equal(client.securityContext.allowPrivilegeEscalation, false, "the client stays as hardened as ever");
            assert.ok(validateManifests(captured) >= 3);
        });

        it("labels the namespace it makes baseline instead of privileged", async () => {
            const level = async (args: DindDeploymentArgs) => (await deploy(args)).captured.only(NAMESPACE).inputs.metadata.labels;
            const sysbox = await level({ isolation: "sysbox" });
            for (const mode of ["enforce", "warn", "audit"]) assert.equal(sysbox[`pod-security.kubernetes.io/${mode}`], "baseline", mode);
            assert.equal((await level({}))["pod-security.kubernetes.io/enforce"], "privileged");
        });

        it("asks CRI-O for the user namespace by annotation, and takes the user's RuntimeClass", async () => {
            const { spec, workload } = await deploy({ isolation: "sysbox", sysbox: { runtimeClassName: "sysbox", containerRuntime: "cri-o" } });
            assert.equal(spec.runtimeClassName, "sysbox");
            assert.equal(spec.hostUsers, undefined, "CRI-O takes the annotation instead");
            assert.deepEqual(workload.inputs.spec.template.metadata.annotations, { "io.kubernetes.cri-o.userns-mode": "auto:size=65536" });
        });

        it("changes nothing for privileged, the default", async () => {
            const { spec, workload } = await deploy({ isolation: "privileged" });
            assert.equal(spec.runtimeClassName, undefined);
            assert.equal(spec.hostUsers, undefined);
            assert.equal(workload.inputs.spec.template.metadata.annotations, undefined);
        });
    });

    describe("warm caches per replica (StatefulSet)", () => {
        it("gives each replica /var/lib/docker on a claim of its own from a template, kept when scaled down or deleted", async () => {
            const { captured, workload, spec, mounts } = await deploy({ workload: "StatefulSet", replicas: 3, dockerStorage: { size: "100Gi", storageClass: "fast" } }, "builds");
            assert.equal(workload.inputs.metadata.name, "builds", "a fixed name: the claims are named after it");
            assert.equal(workload.inputs.spec.replicas, 3);
            const [template] = workload.inputs.spec.volumeClaimTemplates;
            assert.equal(template.metadata.name, mounts("dockerd")["/var/lib/docker"], "replica N mounts docker-data-builds-N");
            assert.deepEqual(template.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "100Gi" } }, storageClassName: "fast" });
            assert.ok(!spec.volumes.some((v: any) => v.name === template.metadata.name), "the template, not the pod, declares the volume");
            assert.deepEqual(workload.inputs.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
            assert.equal(workload.inputs.spec.podManagementPolicy, "Parallel");
            assert.equal(captured.ofType(PVC).length, 0, "no claim of the component's own");
            assert.equal(captured.only(NAMESPACE).options.retainOnDelete, true, "the namespace holds the replicas' claims");
            assert.ok(validateManifests(captured) >= 4);
        });

        it("names each replica through a headless Service, an output", async () => {
            const { captured, workload, component } = await deploy({ workload: "StatefulSet" }, "builds");
            const service = captured.only(SERVICE);
            assert.equal(service.inputs.metadata.name, "builds");
            assert.equal(service.inputs.spec.clusterIP, "None");
            assert.deepEqual(service.inputs.spec.selector, workload.inputs.spec.selector.matchLabels);
            assert.equal(service.inputs.spec.ports, undefined, "it routes nothing: the daemons are reached in their pods");
            assert.equal(workload.inputs.spec.serviceName, "builds");
            assert.equal(await valueOf(component.serviceName), "builds");
            assert.equal(await valueOf((await deploy()).component.serviceName), undefined);
        });

        it("refuses what would share or drop a replica's cache", async () => {
            const cases: [DindDeploymentArgs, RegExp][] = [
                [{ workload: "StatefulSet", namespace: "ci", dockerStorage: { existingClaimName: "cache" } }, /^args\.dockerStorage\.existingClaimName: expected nothing with a StatefulSet \(each replica gets a claim of its own/],
                [{ workload: "StatefulSet", dockerStorage: { persistent: false } }, /^args\.dockerStorage\.persistent: expected true or unset with a StatefulSet/],
                [{ workload: "StatefulSet", replicas: 2, output: {} }, /^args\.output: expected existingClaimName \(a ReadWriteMany claim\) when replicas > 1/],
                [{ workload: "StatefulSet", runId: "1" }, /^args\.runId: expected nothing unless the workload is a Job/],
            ];
            for (const [args, message] of cases) {
                const { error, registered } = await captureFailure(() => new DindDeployment("builds", args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            }
        });

        it("refuses a name that cannot be the Service's, or is too long for the pods' revision label", async () => {
            for (const [name, message] of [
                ["1builds", /^name \(it names the daemons' Service\): expected a Service name/],
                ["b".repeat(53), /^name: expected at most 52 characters for a StatefulSet/],
            ] as const) {
                const { error, registered } = await captureFailure(() => new DindDeployment(name, { workload: "StatefulSet", namespace: "ci" }));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            }
        });
    });

    describe("a daemon other pods can use (expose)", () => {
        const EXPOSED: DindDeploymentArgs = { transport: "tls", expose: { from: [{ namespace: "ci", podLabels: { app: "builder" } }, { namespace: "release" }] } };
        const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

        it("publishes dockerd's TLS port through a Service named after the component", async () => {
            const { captured, workload, component } = await deploy(EXPOSED, "builds");
            const service = captured.only(SERVICE);
            assert.equal(service.inputs.metadata.name, "builds");
            assert.equal(service.inputs.spec.clusterIP, undefined, "a ClusterIP Service for a Deployment");
            assert.deepEqual(service.inputs.spec.ports, [{ name: "docker-tls", port: 2376, targetPort: "docker-tls", protocol: "TCP" }]);
            assert.deepEqual(service.inputs.spec.selector, workload.inputs.spec.selector.matchLabels);
            assert.equal(await valueOf(component.exposedDockerHost), "tcp://builds.builds.svc:2376");
            assert.ok(validateManifests(captured) >= 6);
        });

        it("admits only the namespaces and pods named, and only on 2376", async () => {
            const policy = (await deploy(EXPOSED, "builds")).captured.only(NETWORK_POLICY).inputs.spec;
            assert.deepEqual(policy.ingress, [
                {
                    from: [
                        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ci" } }, podSelector: { matchLabels: { app: "builder" } } },
                        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "release" } } },
                    ],
                    ports: [{ protocol: "TCP", port: 2376 }],
                },
            ]);
            assert.equal((await deploy({ transport: "tls" })).captured.only(NETWORK_POLICY).inputs.spec.ingress, undefined, "without expose, nothing is admitted");
        });

        it("names every Service name in the server certificate, and each replica's with a StatefulSet", async () => {
            const dnsNames = async (args: DindDeploymentArgs) => (await deploy(args, "builds")).captured.get("tls:index/certRequest:CertRequest", "builds-tls-server-csr").inputs.dnsNames;
            assert.deepEqual(await dnsNames(EXPOSED), ["localhost", "builds", "builds.builds", "builds.builds.svc", "builds.builds.svc.cluster.local"]);
            assert.deepEqual((await dnsNames({ ...EXPOSED, namespace: "dind", workload: "StatefulSet", replicas: 2 })).slice(-2), ["*.builds.dind.svc", "*.builds.dind.svc.cluster.local"]);
            assert.deepEqual(await dnsNames({ transport: "tls" }), ["localhost"]);
        });

        it("puts the client's pair in a Secret of one name in each namespace it admits, and never the server's key", async () => {
            const { captured, component } = await deploy(EXPOSED, "builds");
            const copies = captured.ofType(SECRET).filter((secret) => secret.inputs.metadata.name === "builds-docker-client");
            assert.deepEqual(copies.map((secret) => secret.inputs.metadata.namespace).sort(), ["ci", "release"]);
            const original = captured.get(SECRET, "builds-client-tls");
            for (const copy of copies) {
                assert.deepEqual(Object.keys(copy.inputs.stringData).sort(), ["ca.pem", "cert.pem", "key.pem"]);
                assert.equal(copy.inputs.stringData["key.pem"], original.inputs.stringData["key.pem"]);
                assert.ok(sentAsSecret(copy, "stringData"), "the key travels as a secret");
            }
            assert.equal(await valueOf(component.exposedClientSecretName), "builds-docker-client");
        });

        it("refuses to publish anything but mutual TLS, or to anyone unnamed", async () => {
            const cases: [DindDeploymentArgs, RegExp][] = [
                [{ expose: { from: [{ namespace: "ci" }] } }, /^args\.transport: expected tls with args\.expose \(never plaintext/],
                [{ transport: "tcp", expose: { from: [{ namespace: "ci" }] } }, /^args\.transport: expected tls with args\.expose.*got "tcp"$/],
                [{ transport: "tls", expose: { from: [] } }, /^args\.expose\.from: expected at least one namespace/],
                [{ transport: "tls", networkPolicy: false, expose: { from: [{ namespace: "ci" }] } }, /^args\.networkPolicy: expected true with args\.expose/],
                [{ transport: "tls", workload: "Job", script: "true", expose: { from: [{ namespace: "ci" }] } }, /^args\.workload: expected Deployment or StatefulSet with args\.expose/],
                [{ transport: "tls", expose: { from: [{ namespace: "CI" }] } }, /^args\.expose\.from\[0\]\.namespace: expected/],
                [{ transport: "tls", expose: { from: [{ namespace: "ci", labels: {} } as any] } }, /^args\.expose\.from\[0\]\.labels: expected no such key: the keys are namespace, podLabels/],
                [{ transport: "tls", expose: { from: [{ namespace: "ci", podLabels: { app: "a b" } }] } }, /^args\.expose\.from\[0\]\.podLabels\.app: expected a label value/],
            ];
            for (const [args, message] of cases) {
                const { error, registered } = await captureFailure(() => new DindDeployment("builds", args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            }
        });
    });

    describe("a disk that never fills (prune)", () => {
        it("runs the pruner as a native sidecar after dockerd, with the client's way to the daemon and the store read-only", async () => {
            const { spec, env, mounts, container, captured } = await deploy({ prune: { thresholdPercent: 70, intervalSeconds: 30 }, dockerStorage: { size: "10Gi" } });
            assert.deepEqual(spec.initContainers.map((c: any) => c.name), ["dockerd", "prune"]);
            const prune = container("prune");
            assert.equal(prune.restartPolicy, "Always");
            assert.equal(prune.image, container("client").image);
            assert.deepEqual(
                env("prune"),
                { DOCKER_HOST: env("client").DOCKER_HOST, PRUNE_THRESHOLD_PERCENT: "70", PRUNE_INTERVAL_SECONDS: "30", PRUNE_LIMIT_BYTES: String(10 * 1024 ** 3) },
            );
            assert.equal(mounts("prune")["/var/lib/docker"], mounts("dockerd")["/var/lib/docker"]);
            assert.equal(prune.volumeMounts.find((m: any) => m.mountPath === "/var/lib/docker").readOnly, true);
            assert.equal(mounts("prune")["/var/run/dind"], mounts("client")["/var/run/dind"]);
            assert.equal(prune.securityContext.privileged, undefined);
            assert.deepEqual(prune.securityContext.capabilities, { drop: ["ALL"], add: ["DAC_OVERRIDE"] }, "reads every directory of the store, nothing more");
            assert.equal(prune.securityContext.allowPrivilegeEscalation, false);
            assert.ok(validateManifests(captured) >= 3);
        });

        it("prunes with docker's own commands, oldest first, and never touches volumes", async () => {
            const script = asKubernetesRuns((await deploy({ prune: {} })).container("prune").command).join(" ");
            for (const command of ["docker container prune", "docker image prune --all", "docker builder prune --all"]) assert.ok(script.includes(command), command);
            assert.doesNotMatch(script, /volume prune|system prune|--volumes/);
            assert.match(script, /for age in 720h 168h 72h 24h 6h 1h 0s/);
            assert.match(script, /du -sxk "\$data"/);
        });

        it("takes the defaults from {}, measures a claim with df, and stays out of the pod without prune", async () => {
            const defaults = (await deploy({ prune: {} })).env("prune");
            assert.deepEqual([defaults.PRUNE_THRESHOLD_PERCENT, defaults.PRUNE_INTERVAL_SECONDS, defaults.PRUNE_LIMIT_BYTES], ["80", "60", String(20 * 1024 ** 3)]);
            assert.equal((await deploy({ prune: {}, dockerStorage: { persistent: true } })).env("prune").PRUNE_LIMIT_BYTES, undefined, "a claim's filesystem is its own: df reports its size");
            const { spec } = await deploy();
            assert.ok(![...spec.initContainers, ...spec.containers].some((c: any) => c.name === "prune"));
        });

        it("gives the pruner the client's TLS pair, never the server's, and runs it as a plain container without native sidecars", async () => {
            const tls = await deploy({ prune: {}, transport: "tls" });
            assert.equal(tls.mounts("prune")["/certs/client"], tls.mounts("client")["/certs/client"]);
            assert.equal(tls.mounts("prune")["/certs/server"], undefined);
            assert.equal(tls.env("prune").DOCKER_TLS_VERIFY, "1");
            const plain = await deploy({ prune: {}, nativeSidecar: false });
            assert.deepEqual(plain.spec.containers.map((c: any) => c.name), ["dockerd", "client", "prune"]);
            assert.equal(plain.container("prune").restartPolicy, undefined);
        });
    });

    describe("bad input", () => {
        const cases: [string, DindDeploymentArgs, RegExp][] = [
            ["prune that is no object", { prune: true as any }, /^args\.prune: expected an object with thresholdPercent, intervalSeconds, got true$/],
            ["prune threshold of 100%", { prune: { thresholdPercent: 100 } }, /^args\.prune\.thresholdPercent: expected an integer from 1 to 99, got 100$/],
            ["prune threshold as a string", { prune: { thresholdPercent: "80" as any } }, /^args\.prune\.thresholdPercent: expected an integer from 1 to 99, got "80"$/],
            ["prune interval under 10 s", { prune: { intervalSeconds: 1 } }, /^args\.prune\.intervalSeconds: expected an integer from 10 to 86400, got 1$/],
            ["misspelt prune key", { prune: { threshold: 80 } as any }, /^args\.prune\.threshold: expected no such key: the keys are thresholdPercent, intervalSeconds/],
            ["unknown isolation", { isolation: "rootless" as any }, /^args\.isolation: expected one of "privileged", "sysbox", got "rootless"$/],
            ["Sysbox settings without Sysbox", { sysbox: { runtimeClassName: "sysbox-runc" } }, /^args\.sysbox: expected nothing unless isolation is sysbox/],
            ["misspelt Sysbox key", { isolation: "sysbox", sysbox: { runtimeClass: "sysbox-runc" } as any }, /^args\.sysbox\.runtimeClass: expected no such key: the keys are runtimeClassName, containerRuntime/],
            ["unknown container runtime", { isolation: "sysbox", sysbox: { containerRuntime: "docker" as any } }, /^args\.sysbox\.containerRuntime: expected one of "containerd", "cri-o", got "docker"$/],
            ["RuntimeClass that is no name", { isolation: "sysbox", sysbox: { runtimeClassName: "Sysbox_Runc" } }, /^args\.sysbox\.runtimeClassName: expected a lower-case DNS name/],
            ["user remapping flag under Sysbox", { isolation: "sysbox", extraDockerdArgs: ["--log-level=warn", "--userns-remap=default"] }, /^args\.extraDockerdArgs\[1\]: expected no --userns-remap with isolation sysbox/],
            ["user remapping in daemon.json under Sysbox", { isolation: "sysbox", daemonConfig: { "userns-remap": "default" } }, /^args\.daemonConfig\.userns-remap: expected nothing with isolation sysbox/],
            ["daemon.json key a flag sets", { registryMirrors: ["https://m"], daemonConfig: { "registry-mirrors": ["https://n"] } }, /^args\.daemonConfig\.registry-mirrors: expected a key that no flag sets: args\.registryMirrors sets --registry-mirror/],
            ["daemon.json listener", { daemonConfig: { hosts: ["tcp://0.0.0.0:2375"] } }, /^args\.daemonConfig\.hosts: expected a key that no flag sets: args\.transport sets --host/],
            ["daemon.json key an extra flag sets", { extraDockerdArgs: ["--log-level=warn"], daemonConfig: { "log-level": "debug" } }, /^args\.daemonConfig\.log-level: .*args\.extraDockerdArgs\[0\] sets --log-level/],
            ["daemon.json data root", { daemonConfig: { "data-root": "/tmp" } }, /^args\.daemonConfig\.data-root: expected a key other than data-root/],
            ["daemon.json value that is no JSON", { daemonConfig: { "shutdown-timeout": NaN } }, /^args\.daemonConfig\.shutdown-timeout: expected a JSON value/],
            ["daemon.json __proto__ key", { daemonConfig: { builder: JSON.parse('{"__proto__":{}}') } }, /^args\.daemonConfig\.builder\.__proto__: expected no key named/],
            ["snapshotter beside the same feature", { containerdSnapshotter: true, daemonConfig: { features: { "containerd-snapshotter": true } } }, /^args\.containerdSnapshotter: expected nothing beside args\.daemonConfig\.features\.containerd-snapshotter/],
            ["iptables switch that is a string", { iptablesLegacy: "1" as any }, /^args\.iptablesLegacy: expected true or false, got "1"$/],
            ["mirror without https", { registryMirrors: ["http://mirror"] }, /^args.registryMirrors\[0\]: expected an https:\/\/ URL.*got "http:\/\/mirror"/],
            ["mirror with a path", { registryMirrors: ["https://mirror/v2"] }, /^args.registryMirrors\[0\]: .*no path/],
            ["registry host with a scheme", { registries: [{ host: "https://r" }] }, /^args.registries\[0\].host: expected a registry host/],
            ["registry host with a bad port", { registries: [{ host: "r:70000" }] }, /^args.registries\[0\].host: expected a port/],
            ["CA that is no certificate", { registries: [{ host: "r", caCertPem: "hello" }] }, /^args.registries\[0\].caCertPem: expected (a|one or more) PEM-encoded X.509 certificate/],
            ["unknown transport", { transport: "ssh" as any }, /^args.transport: expected one of "unix", "tls", "tcp", got "ssh"/],
            ["unknown workload", { workload: "CronJob" as any }, /^args.workload: expected one of "Deployment", "Job"/],
            ["negative replicas", { replicas: -1 }, /^args.replicas: expected an integer from 0/],
            ["size that is no quantity", { dockerStorage: { size: "20 GB" } }, /^args.dockerStorage.size: expected a Kubernetes quantity/],
            ["MTU out of range", { mtu: 70000 }, /^args.mtu: expected an integer from 68 to 65535, got 70000/],
            ["Job without a script", { workload: "Job" }, /^args.script: expected a script/],
            ["Job without native sidecar", { workload: "Job", script: "true", nativeSidecar: false }, /^args.nativeSidecar/],
            ["shared persistent storage", { replicas: 2, dockerStorage: { persistent: true } }, /^args.dockerStorage.persistent/],
            ["CA ConfigMap and inline CAs", { namespace: "ci", caConfigMapName: "x", registries: [{ host: "r", caCertPem: testCertificate() }] }, /^args.caConfigMapName/],
            ["CA ConfigMap in a namespace not made yet", { caConfigMapName: "registry-ca-cert" }, /^args.namespace: expected the namespace of caConfigMapName/],
            ["existing output claim in a namespace not made yet", { output: { existingClaimName: "out" } }, /^args.namespace: expected the namespace of output.existingClaimName/],
            ["new output claim shared by replicas", { replicas: 2, output: {} }, /^args.output: expected existingClaimName \(a ReadWriteMany claim\) when replicas > 1/],
            ["misspelt storage key", { dockerStorage: { sise: "10Gi" } as any }, /^args.dockerStorage.sise: expected no such key: the keys are persistent, existingClaimName, size, storageClass/],
            ["misspelt registry key", { registries: [{ host: "r", caCert: "x" } as any] }, /^args.registries\[0\].caCert: expected no such key/],
            ["negative size", { dockerStorage: { size: "-1Gi" } }, /^args.dockerStorage.size: expected a Kubernetes quantity/],
            ["listener in extra flags", { extraDockerdArgs: ["--host=tcp://0.0.0.0:2375"] }, /^args.extraDockerdArgs\[0\]: expected a flag other than --host/],
            ["TLS switch in extra flags", { extraDockerdArgs: ["--tls=false"] }, /^args.extraDockerdArgs\[0\]/],
            ["short listener flag", { extraDockerdArgs: ["-Htcp://0.0.0.0:2375"] }, /^args.extraDockerdArgs\[0\]/],
            ["Job timeout under a minute", { workload: "Job", script: "true", jobTimeoutSeconds: 5 }, /^args.jobTimeoutSeconds: expected an integer from 60/],
            ["misspelt toleration key", { tolerations: [{ key: "ci", effekt: "NoSchedule" } as any] }, /^args.tolerations\[0\].effekt: expected no such key/],
            ["resource that is no quantity", { dindResources: { limits: { memory: "lots" } } }, /^args.dindResources.limits.memory/],
            ["existing cache claim in a namespace not made yet", { dockerStorage: { existingClaimName: "cache" } }, /^args.namespace: expected the namespace of dockerStorage.existingClaimName/],
            ["size with an existing cache claim", { namespace: "ci", dockerStorage: { existingClaimName: "cache", size: "1Gi" } }, /^args.dockerStorage.size: expected nothing with args.dockerStorage.existingClaimName: the claim exists already, got "1Gi"$/],
            ["storage class with an existing output claim", { namespace: "ci", output: { existingClaimName: "out", storageClass: "fast" } }, /^args.output.storageClass: expected nothing with args.output.existingClaimName/],
            ["existing cache claim that is not persistent", { namespace: "ci", dockerStorage: { existingClaimName: "cache", persistent: false } }, /^args.dockerStorage.persistent: expected true or unset with existingClaimName/],
            ["run id for a Deployment", { runId: "1" }, /^args.runId: expected nothing unless the workload is a Job/],
            ["TLS Secrets without the tls transport", { namespace: "ci", tlsSecrets: { server: "s", client: "c" } }, /^args.tlsSecrets: expected nothing unless transport is tls/],
            ["TLS Secrets in a namespace not made yet", { transport: "tls", tlsSecrets: { server: "s", client: "c" } }, /^args.namespace: expected the namespace of tlsSecrets/],
            ["a TLS Secret without a name", { namespace: "ci", transport: "tls", tlsSecrets: { server: "s" } as any }, /^args.tlsSecrets.client: expected a lower-case DNS name/],
            ["a misspelt TLS Secret key", { namespace: "ci", transport: "tls", tlsSecrets: { server: "s", client: "c", ca: "x" } as any }, /^args.tlsSecrets.ca: expected no such key/],
            ["empty run id", { workload: "Job", script: "true", runId: "" }, /^args.runId: expected a non-empty string/],
            // args themselves
            ["null in place of args", null as any, /^args: expected an object with namespace, workload/],
            ["list in place of args", [] as any, /^args: expected an object with/],
            ["string in place of args", "ci" as any, /^args: expected an object with/],
            ["misspelt argument", { replica: 2 } as any, /^args\.replica: expected no such key: the keys are namespace, workload, replicas/],
            ["__proto__ argument", JSON.parse('{"__proto__": {"replicas": 2}}'), /^args\.__proto__: expected no such key/],
            ["constructor argument", JSON.parse('{"constructor": {}}'), /^args\.constructor: expected no such key/],
            // arguments that would have no effect
            ["replica count for a Job", { workload: "Job", script: "true", replicas: 1 }, /^args\.replicas: expected nothing unless the workload is a Deployment or StatefulSet \(a Job runs one pod\), got 1$/],
            ["Job timeout for a Deployment", { jobTimeoutSeconds: 600 }, /^args\.jobTimeoutSeconds: expected nothing unless the workload is a Job .*got 600$/],
            ["storage class for an emptyDir", { dockerStorage: { storageClass: "fast" } }, /^args\.dockerStorage\.storageClass: expected nothing unless args\.dockerStorage\.persistent is true \(an emptyDir has no StorageClass\)/],
            ["storage class beside persistent: false", { dockerStorage: { persistent: false, storageClass: "fast" } }, /^args\.dockerStorage\.storageClass: expected nothing unless/],
            ["CA ConfigMap without registries", { namespace: "ci", caConfigMapName: "cas" }, /^args\.caConfigMapName: expected nothing without args\.registries to verify with it/],
            ["CA ConfigMap with only insecure registries", { namespace: "ci", caConfigMapName: "cas", registries: [{ host: "r", insecure: true }] }, /^args\.caConfigMapName: expected nothing without args\.registries/],
            ["client trust without a registry CA", { clientTrustsRegistryCas: true }, /^args\.clientTrustsRegistryCas: expected nothing without a registry CA to trust/],
            ["client distrust without a registry CA", { clientTrustsRegistryCas: false, registries: [{ host: "r" }] }, /^args\.clientTrustsRegistryCas: expected nothing without a registry CA/],
            ["toleration time without NoExecute", { tolerations: [{ key: "ci", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 60 }] }, /^args\.tolerations\[0\]\.tolerationSeconds: expected nothing unless effect is NoExecute/],
            ["toleration value with Exists", { tolerations: [{ key: "ci", operator: "Exists", value: "yes" }] }, /^args\.tolerations\[0\]\.value: expected nothing with operator Exists/],
            // values the API would refuse
            ["toleration of every key by Equal", { tolerations: [{ operator: "Equal", value: "x" }] }, /^args\.tolerations\[0\]\.operator: expected Exists when no key is given/],
            ["unknown taint effect", { tolerations: [{ key: "ci", effect: "NoRun" as any }] }, /^args\.tolerations\[0\]\.effect: expected one of "NoSchedule", "PreferNoSchedule", "NoExecute"/],
            ["toleration key that is no label key", { tolerations: [{ key: "a b", operator: "Exists" }] }, /^args\.tolerations\[0\]\.key: expected a label key/],
            ["node selector key that is no label key", { nodeSelector: { "Example.com/pool": "ci" } }, /^args\.nodeSelector: expected a label key.*got "Example\.com\/pool"$/],
            ["node selector value that is no label value", { nodeSelector: { pool: "ci pool" } }, /^args\.nodeSelector\.pool: expected a label value/],
            ["node selector value too long", { nodeSelector: { pool: "p".repeat(64) } }, /^args\.nodeSelector\.pool: expected a label value \(at most 63/],
            ["output over the client's socket", { output: { mountPath: "/var/run/dind" } }, /^args\.output\.mountPath: expected a path clear of \/var\/run\/dind/],
            ["output over the client's TLS pair", { transport: "tls", output: { mountPath: "/certs" } }, /^args\.output\.mountPath: expected a path clear of \/certs\/client/],
            ["output inside the trusted CAs", { output: { mountPath: "/etc/pulumi-dind/ca/out" } }, /^args\.output\.mountPath: expected a path clear of \/etc\/pulumi-dind\/ca/],
            ["output path that is not normalised", { output: { mountPath: "/work/../var/run/dind" } }, /^args\.output\.mountPath: expected a normalised absolute path/],
            ["output path with a trailing slash", { output: { mountPath: "/output/" } }, /^args\.output\.mountPath: expected a normalised absolute path/],
            ["wired registry that is null", { registry: null as any }, /^args\.registry: expected a SelfHostedRegistry/],
            ["wired registry without a host", { registry: { mode: "mirror", caCertPem: pulumi.output("x") } as any }, /^args\.registry\.registryHost: expected a registry host/],
            ["wired registry of an unknown mode", { registry: { registryHost: "r:5000", mode: "cache", caCertPem: pulumi.output("x") } as any }, /^args\.registry\.mode: expected one of "mirror", "private"/],
            ["wired registry on a Docker network", { registry: { registryHost: "mirror:5000", mode: "mirror", caCertPem: pulumi.output("x"), networkName: pulumi.output("net") } }, /^args\.registry: expected a registry in the cluster/],
            ["registry host too long for a ConfigMap key", { registries: [{ host: `${"r".repeat(60)}.${"e".repeat(60)}.${"g".repeat(60)}.${"i".repeat(60)}.example`, caCertPem: testCertificate() }] }, /^args\.registries\[0\]\.host \(its CA's ConfigMap key\): expected a ConfigMap key \(1 to 253/],
        ];
        for (const [what, args, message] of cases) {
            it(`rejects a ${what} before registering anything`, async () => {
                const { error, registered } = await captureFailure(() => new DindDeployment("dind", args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }

        it("rejects a component name too long for the claims it names, even in a given namespace", async () => {
            const name = "d".repeat(250);
            const { error, registered } = await captureFailure(() => new DindDeployment(name, { namespace: "ci", output: {} }));
            assert.match(error.message, /^name \(it names the claim d+-output\): expected a DNS name/);
            assert.equal(registered, 0);
        });

        const names: [string, string, DindDeploymentArgs, RegExp][] = [
            ["a Job name whose pods' job-name label would pass 63 characters", "j".repeat(51), { workload: "Job", script: "true" }, /^name: expected at most 50 characters for a Job/],
            ["a name with upper case, in a given namespace", "Dind_CI", { namespace: "ci" }, /^name \(it begins the names of the objects the provider names\): expected a lower-case DNS name/],
            ["a name longer than a label value, in a given namespace", "d".repeat(64), { namespace: "ci" }, /^name \(it is the pods' app\.kubernetes\.io\/instance label\): expected a label value/],
            ["a name ending in a dot, in a given namespace", "dind.", { namespace: "ci" }, /^name \(it is the pods' app\.kubernetes\.io\/instance label\)/],
        ];
        for (const [what, name, args, message] of names) {
            it(`rejects ${what} before registering anything`, async () => {
                const { error, registered } = await captureFailure(() => new DindDeployment(name, args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }

        it("takes the longest Job name whose label fits, and a dotted name in a given namespace", async () => {
            const { captured } = await deploy({ workload: "Job", script: "true" }, "j".repeat(50));
            assert.equal(captured.only(JOB).inputs.metadata.labels["app.kubernetes.io/instance"], "j".repeat(50));
            const dotted = await deploy({ namespace: "ci" }, "ci.builds");
            assert.equal(dotted.captured.only(DEPLOYMENT).inputs.metadata.labels["app.kubernetes.io/instance"], "ci.builds");
        });

        it("rejects a component name that cannot name its namespace", async () => {
            const { error, registered } = await captureFailure(() => new DindDeployment("Dind_CI", {}));
            assert.match(error.message, /^name .*: expected a lower-case RFC 1123 name/);
            assert.equal(registered, 0);
        });
    });
});
