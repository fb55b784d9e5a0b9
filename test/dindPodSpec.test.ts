import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { capture, urnTypeChain } from "./harness";
import { assertGolden } from "./support/golden";
import { testCertificate } from "./pems";
import { DindDeployment, DindDeploymentArgs, validateDindDeploymentArgs } from "../components/dindDeployment";
import {
    CONTAINER,
    VOLUME,
    dindJobArgs,
    dindPodSpec,
    dindPodTemplate,
    dindPodVolumes,
    kubernetesLiteral,
    mountedRegistryCas,
    registryCaData,
} from "../components/dindPod";
import { SelfHostedRegistry } from "../components/selfHostedRegistry";

const WORKLOAD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:StatefulSet"];

/** The README's Kubernetes examples of DindDeployment, and the variants its text describes. */
const EXAMPLES: { golden: string; about: string; build: () => void }[] = [
    {
        golden: "dind-unix-default",
        about: "DindDeployment with no arguments: the unix transport, a Deployment of one pod.",
        build: () => new DindDeployment("dind", {}),
    },
    {
        golden: "dind-daemon-json",
        about: "DindDeployment with the README's daemon.json example: the file from a ConfigMap at /etc/docker/daemon.json, the iptables switch on dockerd.",
        build: () =>
            new DindDeployment("dind", {
                daemonConfig: { builder: { gc: { enabled: true, defaultKeepStorage: "20GB" } }, "log-driver": "local", "log-opts": { "max-size": "10m", "max-file": "3" } },
                containerdSnapshotter: false,
                iptablesLegacy: true,
            }),
    },
    {
        golden: "dind-sysbox",
        about: 'DindDeployment with isolation "sysbox": no privileged container, a user namespace, the Sysbox RuntimeClass (README, Without privileged: Sysbox).',
        build: () => new DindDeployment("dind", { isolation: "sysbox" }),
    },
    {
        golden: "dind-statefulset-warm-caches",
        about: "DindDeployment with workload StatefulSet: three daemons, each with its cache on a claim of its own (README, Warm caches per replica).",
        build: () => new DindDeployment("builds", { workload: "StatefulSet", replicas: 3, dockerStorage: { size: "100Gi" } }),
    },
    {
        golden: "dind-prune",
        about: "DindDeployment with prune: a native sidecar keeping /var/lib/docker under 80% of its 50Gi (README, A disk that never fills).",
        build: () => new DindDeployment("dind", { dockerStorage: { size: "50Gi" }, prune: { thresholdPercent: 80 } }),
    },
    {
        golden: "dind-tls",
        about: 'DindDeployment with transport "tls": mutual TLS on 2376 from Secrets the component makes.',
        build: () => new DindDeployment("dind", { transport: "tls" }),
    },
    {
        golden: "dind-tls-own-secrets",
        about: "DindDeployment with tlsSecrets: existing kubernetes.io/tls Secrets mounted under the names docker reads.",
        build: () => new DindDeployment("dind", { namespace: "ci", transport: "tls", tlsSecrets: { server: "dind-server", client: "dind-client" } }),
    },
    {
        golden: "dind-tcp",
        about: 'DindDeployment with transport "tcp": plaintext on the pod\'s loopback only.',
        build: () => new DindDeployment("dind", { transport: "tcp" }),
    },
    {
        golden: "dind-no-native-sidecar",
        about: "DindDeployment with nativeSidecar false, for clusters older than 1.29: two containers, the client waits for dockerd.",
        build: () => new DindDeployment("dind", { nativeSidecar: false, startupTimeoutSeconds: 45 }),
    },
    {
        golden: "dind-persistent-cache",
        about: "DindDeployment with dockerStorage.persistent: /var/lib/docker on a kept claim, recreated rather than rolled.",
        build: () => new DindDeployment("dind", { dockerStorage: { persistent: true, size: "100Gi" } }),
    },
    {
        golden: "dind-existing-ca-config-map",
        about: "DindDeployment with caConfigMapName: an existing ConfigMap of registry CAs, keyed by host (README, Registries).",
        build: () => new DindDeployment("dind", { namespace: "ci", registries: [{ host: "myregistrydomain.com" }], caConfigMapName: "registry-ca-cert" }),
    },
    {
        golden: "dind-job-mirror-busybox",
        about: "README, DindDeployment (Kubernetes): the one-shot Job that pulls, saves and removes busybox, the tar kept on a claim.",
        build: () =>
            new DindDeployment("mirror-busybox", {
                workload: "Job",
                registryMirrors: ["https://mirror.example.com"],
                registries: [{ host: "mirror.example.com", caCertPem: testCertificate() }],
                output: { size: "5Gi" },
                script: `
        docker pull busybox:latest
        docker save -o busybox-latest.tar busybox:latest
        docker rmi busybox:latest`,
            }),
    },
    {
        golden: "dind-wired-mirror",
        about: "README, A mirror for a cluster's dind pods: DindDeployment \"ci\" wired to SelfHostedRegistry \"registry\".",
        build: () => {
            const mirror = new SelfHostedRegistry("registry", { storage: { persistent: true, size: "100Gi" } });
            new DindDeployment("ci", { namespace: "ci-dind", registry: mirror });
        },
    },
    {
        golden: "dind-wired-private-registry",
        about: 'README, A private registry with users: DindDeployment "builder" trusting SelfHostedRegistry "images".',
        build: () => {
            const images = new SelfHostedRegistry("images", {
                mode: "private",
                users: [{ username: "ci" }, { username: "alice", password: pulumi.secret("correct horse") }],
                storage: { size: "50Gi", storageClass: "standard" },
                serviceType: "LoadBalancer",
                hostnames: ["images.example.com"],
            });
            new DindDeployment("builder", { registry: images });
        },
    },
    {
        golden: "dind-wired-private-upstream-mirror",
        about: 'README, A mirror of a private upstream: DindDeployment "ci" wired to SelfHostedRegistry "cache".',
        build: () => {
            const cache = new SelfHostedRegistry("cache", {
                upstream: "https://images.internal.example.com:5000",
                upstreamCaCertPem: testCertificate(),
                cacheTtl: "72h",
                storage: { persistent: true, size: "100Gi" },
            });
            new DindDeployment("ci", { namespace: "ci-dind", registry: cache });
        },
    },
    {
        golden: "dind-tls-replicas-wired-mirror",
        about: 'README, Using the components in your own stack: DindDeployment "builds", tls, 2 replicas, wired to SelfHostedRegistry "mirror".',
        build: () => {
            const mirror = new SelfHostedRegistry("mirror", {});
            new DindDeployment("builds", { registry: mirror, transport: "tls", replicas: 2 });
        },
    },
];

/** The settings validateDindDeploymentArgs makes of `args`, for the pure functions. */
function settingsOf(args: DindDeploymentArgs) {
    return validateDindDeploymentArgs(args);
}

const mountsOf = (spec: any, container: string) => [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === container).volumeMounts;
const envOf = (spec: any, container: string) =>
    Object.fromEntries([...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === container).env.map((e: any) => [e.name, e.value]));

describe("DindDeployment's pod spec", () => {
    describe("golden files of the README's examples", () => {
        for (const example of EXAMPLES) {
            it(`renders test/golden/${example.golden}.yaml`, async () => {
                const captured = await capture(example.build);
                const dind = captured.resources.filter((r) => WORKLOAD_TYPES.includes(r.type) && urnTypeChain(r.urn)[0] === "pulumi-dind:index:DindDeployment");
                assert.equal(dind.length, 1, "one workload per DindDeployment");
                const { apiVersion, kind, metadata, spec } = dind[0].inputs;
                assertGolden(example.golden, { apiVersion, kind, metadata, spec }, `${example.about}\nRendered by test/dindPodSpec.test.ts; UPDATE_GOLDEN=1 rewrites it.`);
            });
        }
    });

    describe("volumes, each declared once with its mounts", () => {
        const objects = {
            dataClaimName: "cache",
            outputClaimName: "out",
            tlsSecrets: { server: "server", client: "client" },
            registryCaConfigMapName: "cas",
        };
        const everything = settingsOf({
            transport: "tls",
            registries: [{ host: "r:5000", caCertPem: testCertificate() }],
            output: { mountPath: "/work" },
            dockerStorage: { persistent: true },
        });

        it("names every volume once, and mounts only volumes the pod has", () => {
            const spec = dindPodSpec(everything, objects) as any;
            const names = spec.volumes.map((v: any) => v.name);
            assert.deepEqual([...new Set(names)], names);
            for (const container of [...spec.initContainers, ...spec.containers]) {
                for (const mount of container.volumeMounts) {
                    assert.ok(names.includes(mount.name), `${container.name} mounts ${mount.name}`);
                }
            }
        });

        it("gives the client its own TLS pair and never the server's", () => {
            const spec = dindPodSpec(everything, objects) as any;
            const clientVolumes = mountsOf(spec, CONTAINER.client).map((m: any) => m.name);
            assert.ok(clientVolumes.includes(VOLUME.clientTls));
            assert.ok(!clientVolumes.includes(VOLUME.serverTls));
            assert.deepEqual(
                mountsOf(spec, CONTAINER.dockerd).find((m: any) => m.name === VOLUME.serverTls),
                { name: VOLUME.serverTls, mountPath: "/certs/server", readOnly: true },
            );
        });

        it("sets SSL_CERT_DIR in exactly the containers that mount the trusted CAs", () => {
            for (const clientTrustsRegistryCas of [true, false]) {
                const settings = settingsOf({ registries: [{ host: "r:5000", caCertPem: testCertificate() }], clientTrustsRegistryCas });
                const spec = dindPodSpec(settings, { registryCaConfigMapName: "cas" });
                for (const container of [CONTAINER.dockerd, CONTAINER.client]) {
                    const mounts = mountsOf(spec, container).some((m: any) => m.name === VOLUME.trustedCas);
                    assert.equal(envOf(spec, container).SSL_CERT_DIR !== undefined, mounts, `${container}, clientTrustsRegistryCas ${clientTrustsRegistryCas}`);
                }
                assert.equal(mountsOf(spec, CONTAINER.client).some((m: any) => m.name === VOLUME.trustedCas), clientTrustsRegistryCas);
            }
        });

        it("keeps /var/lib/docker on an emptyDir without a claim, and mounts the output only with one", () => {
            const settings = settingsOf({ output: {} });
            const withoutClaims = dindPodVolumes(settings, {});
            assert.deepEqual(withoutClaims[0].volume, { name: VOLUME.data, emptyDir: { sizeLimit: "20Gi" } });
            assert.ok(!withoutClaims.some((v) => v.volume.name === VOLUME.output));
            const withClaims = dindPodVolumes(settings, { dataClaimName: "cache", outputClaimName: "out" });
            assert.deepEqual(withClaims[0].volume, { name: VOLUME.data, persistentVolumeClaim: { claimName: "cache" } });
            assert.deepEqual(withClaims.find((v) => v.volume.name === VOLUME.output)?.mounts, [{ container: CONTAINER.client, mountPath: "/output" }]);
        });

        it("shares the socket directory only for the unix transport", () => {
            for (const transport of ["unix", "tls", "tcp"] as const) {
                const socket = dindPodVolumes(settingsOf({ transport }), {}).find((v) => v.volume.name === VOLUME.socket);
                assert.equal(socket !== undefined, transport === "unix", transport);
            }
        });
    });

    describe("registry CAs", () => {
        const ca = testCertificate();
        it("mounts the CAs registries carry, or with caConfigMapName every registry that is verified", () => {
            const inline = settingsOf({ registries: [{ host: "a:5000", caCertPem: ca }, { host: "b" }, { host: "c", insecure: true }] });
            assert.deepEqual(mountedRegistryCas(inline).map((r) => r.host), ["a:5000"]);
            assert.deepEqual(registryCaData(inline), { "a_5000.crt": ca });
            const fromConfigMap = settingsOf({ namespace: "ci", caConfigMapName: "cas", registries: [{ host: "a:5000" }, { host: "b" }, { host: "c", insecure: true }] });
            assert.deepEqual(mountedRegistryCas(fromConfigMap).map((r) => r.host), ["a:5000", "b"]);
        });
    });

    describe("containers", () => {
        it("runs dockerd as a native sidecar, or beside the client that then waits for it", () => {
            const sidecar = dindPodSpec(settingsOf({}), {}) as any;
            assert.deepEqual(sidecar.initContainers.map((c: any) => c.name), [CONTAINER.dockerd]);
            assert.deepEqual(sidecar.containers.map((c: any) => c.name), [CONTAINER.client]);
            const beside = dindPodSpec(settingsOf({ nativeSidecar: false, startupTimeoutSeconds: 7 }), {}) as any;
            assert.equal(beside.initContainers, undefined);
            assert.deepEqual(beside.containers.map((c: any) => c.name), [CONTAINER.dockerd, CONTAINER.client]);
            assert.match(beside.containers[1].command[2], /\+ 7 \)\)/);
        });

        it("isolates the pod from the cluster's API and service links, and lets only dockerd be privileged", () => {
            const spec = dindPodSpec(settingsOf({}), {}) as any;
            assert.equal(spec.automountServiceAccountToken, false);
            assert.equal(spec.enableServiceLinks, false);
            assert.equal(spec.initContainers[0].securityContext.privileged, true);
            assert.deepEqual(spec.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
        });

        it("doubles every $ for Kubernetes", () => {
            assert.deepEqual(kubernetesLiteral(["$(A) $$ $b", "plain"]), ["$$(A) $$$$ $$b", "plain"]);
        });
    });

    describe("the workload", () => {
        it("marks a Job's template with its run id and bounds the Job by jobTimeoutSeconds", () => {
            const settings = settingsOf({ workload: "Job", script: "true", runId: "7", jobTimeoutSeconds: 600 });
            const template = dindPodTemplate(settings, { app: "x" }, {}) as any;
            assert.deepEqual(template.metadata.annotations, { "pulumi-dind/run-id": "7" });
            assert.equal(template.spec.restartPolicy, "Never");
            const job = dindJobArgs(settings, { namespace: "ci", labels: { app: "x" } }, template) as any;
            assert.equal(job.spec.activeDeadlineSeconds, 600);
            assert.equal(job.metadata.annotations["pulumi.com/timeoutSeconds"], "600");
            assert.equal(job.spec.template, template);
        });
    });
});
