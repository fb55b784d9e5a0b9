import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { Captured, RegisteredResource, capture, captureFailure, isSecret, sentAsSecret, urnTypeChain, valueOf } from "./harness";
import { validateManifests } from "./kubernetesSchema";
import { badUpstreamTrustCases, testCa, testServerCertificate } from "./pems";
import { SelfHostedRegistry, SelfHostedRegistryArgs, validateSelfHostedRegistryArgs } from "../components/selfHostedRegistry";
import { DindDeployment } from "../components/dindDeployment";
import { REGISTRY_VOLUME, registryPodSpec, registryPodVolumes, registryServiceArgs } from "../components/kubernetesRegistryPod";
import { assertGolden } from "./support/golden";

const COMPONENT = "pulumi-dind:index:SelfHostedRegistry";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const KEPT_PVC = "kubernetes:core/v1:PersistentVolumeClaimPatch";
const NAMESPACE = "kubernetes:core/v1:NamespacePatch";
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

async function deploy(args: SelfHostedRegistryArgs = {}, name = "registry") {
    let component!: SelfHostedRegistry;
    const captured = await capture(() => {
        component = new SelfHostedRegistry(name, args);
    });
    return { component, captured, ...podOf(captured) };
}

function podOf(captured: Captured) {
    const deployment = captured.only(DEPLOYMENT);
    const spec = deployment.inputs.spec.template.spec;
    const container = spec.containers[0];
    const env: Record<string, any> = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    const mountAt = (mountPath: string) => container.volumeMounts.find((m: any) => m.mountPath === mountPath);
    const volume = (name: string) => spec.volumes.find((v: any) => v.name === name);
    const secretNamed = (name: string) => captured.ofType(SECRET).find((s) => s.state.metadata.name === name)!;
    return { deployment, spec, container, env, mountAt, volume, secretNamed };
}

/** The Secret behind an env var's secretKeyRef, and the value it holds there. */
function secretEnv(captured: Captured, env: Record<string, any>, name: string): { secret: RegisteredResource; value: string } {
    const ref = env[name]?.secretKeyRef;
    assert.ok(ref, `${name} must come from a Secret`);
    const secret = captured.ofType(SECRET).find((s) => s.state.metadata.name === ref.name);
    assert.ok(secret, `no Secret ${ref.name}`);
    return { secret, value: secret.inputs.stringData[ref.key] };
}

/** The file a container reads at `file`, from the Secret volume mounted over its directory. */
function mountedSecretFile(pod: ReturnType<typeof podOf>, file: string): string {
    const mount = pod.mountAt(path.posix.dirname(file));
    assert.ok(mount, `nothing mounted at ${path.posix.dirname(file)}`);
    const source = pod.volume(mount.name).secret;
    const item = source.items?.find((i: any) => i.path === path.posix.basename(file));
    const key = item ? item.key : path.posix.basename(file);
    return pod.secretNamed(source.secretName).inputs.stringData[key];
}

function openssl(args: string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-test-"));
    try {
        execFileSync("openssl", args.map((a) => a.replace("$DIR", dir)), { stdio: "pipe" });
        return fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** A self-signed certificate that is not a CA. */
function leafCertificate(): string {
    return openssl([
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "$DIR/key.pem",
        "-out", "$DIR/cert.pem", "-days", "2", "-subj", "/CN=leaf", "-addext", "basicConstraints=critical,CA:FALSE",
    ]);
}

function otherKey(): string {
    return crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
}

describe("SelfHostedRegistry", () => {
    describe("resource graph", () => {
        it("parents every child to the component and names what daemons need before anything is deployed", async () => {
            const { component, captured } = await deploy();
            const children = captured.resources.filter((r) => r.type !== COMPONENT);
            assert.ok(children.length >= 8);
            for (const child of children) {
                assert.equal(urnTypeChain(child.urn)[0], COMPONENT, child.name);
                assert.match(child.name, /^registry-/);
            }
            assert.equal(component.registryHost, "registry.registry.svc:5000");
            assert.equal(component.mode, "mirror");
            assert.equal(await valueOf(component.host), "registry.registry.svc:5000");
            assert.equal(await valueOf(component.mirrorUrl), "https://registry.registry.svc:5000");
            assert.equal(await valueOf(component.serviceName), "registry");
            assert.equal(await valueOf(component.namespace), "registry");
        });

        it("creates its namespace under Pod Security restricted, or uses the one given without creating any", async () => {
            const created = (await deploy()).captured.only(NAMESPACE);
            assert.equal(created.inputs.metadata.name, "registry");
            assert.equal(created.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");

            const { captured, component } = await deploy({ namespace: "ci", serviceName: "mirror" });
            assert.equal(captured.ofType(NAMESPACE).length, 0);
            for (const manifest of captured.kubernetesManifests()) {
                assert.equal(manifest.metadata.namespace, "ci", manifest.kind);
            }
            assert.equal(component.registryHost, "mirror.ci.svc:5000");
        });

        it("produces only objects that pass the Kubernetes schema, in both modes and all storage kinds", async () => {
            const variants: SelfHostedRegistryArgs[] = [
                {},
                { upstream: "https://ghcr.io", upstreamUsername: "bot", upstreamPassword: "token", storage: { persistent: true } },
                { mode: "private", users: [{ username: "ci" }], serviceType: "LoadBalancer", hostnames: ["registry.example.com"] },
                { mode: "private", namespace: "images", storage: { existingClaim: "kept" }, resources: { requests: { cpu: "1" } } },
            ];
            for (const args of variants) {
                const { captured } = await deploy(args);
                assert.ok(validateManifests(captured) >= 5);
            }
        });

        it("is wired into a DindDeployment: trusted at certs.d/<host>/ca.crt, and its first mirror", async () => {
            const captured = await capture(() => {
                const registry = new SelfHostedRegistry("registry", {});
                new DindDeployment("dind", { registry });
            });
            const dockerd = captured.get(DEPLOYMENT, "dind-daemon").inputs.spec.template.spec.initContainers[0];
            assert.ok(dockerd.args.includes("--registry-mirror=https://registry.registry.svc:5000"));
            const cas = captured.get(CONFIG_MAP, "dind-registry-cas").inputs.data;
            assert.equal(cas["registry.registry.svc_5000.crt"], captured.get(CONFIG_MAP, "registry-ca").inputs.data["ca.crt"]);
        });

        it("does not make up wait for a load balancer's address unless asked, since daemons use the Service's name", async () => {
            const users = [{ username: "ci" }];
            const service = async (args: SelfHostedRegistryArgs) => (await deploy({ mode: "private", users, ...args })).captured.only(SERVICE).inputs.metadata;
            assert.deepEqual((await service({ serviceType: "LoadBalancer" })).annotations, { "pulumi.com/skipAwait": "true" });
            assert.equal((await service({ serviceType: "LoadBalancer", awaitLoadBalancer: true })).annotations, undefined);
            assert.equal((await service({ serviceType: "NodePort" })).annotations, undefined);
        });

        it("serves on a Service port 5000 that selects the registry pod, of the type asked for", async () => {
            const { captured, deployment } = await deploy({ serviceType: "NodePort" });
            const service = captured.only(SERVICE);
            assert.equal(service.inputs.metadata.name, "registry");
            assert.equal(service.inputs.spec.type, "NodePort");
            assert.deepEqual(service.inputs.spec.ports, [{ name: "https", port: 5000, targetPort: "https", protocol: "TCP" }]);
            const podLabels = deployment.inputs.spec.template.metadata.labels;
            for (const [key, value] of Object.entries(service.inputs.spec.selector)) {
                assert.equal(podLabels[key], value);
            }
            assert.equal((await deploy()).captured.only(SERVICE).inputs.spec.type, "ClusterIP");
        });
    });

    describe("TLS", () => {
        it("signs a server certificate for every name of the Service with the CA published in the ConfigMap", async () => {
            const { component, captured, mountAt, volume, env } = await deploy({ hostnames: ["registry.example.com"], ipAddresses: ["10.0.0.5"] });
            const configMap = captured.only(CONFIG_MAP);
            const ca = new crypto.X509Certificate(configMap.inputs.data["ca.crt"]);
            assert.ok(ca.ca);
            assert.equal(await valueOf(component.caCertPem), configMap.inputs.data["ca.crt"]);
            assert.equal(await valueOf(component.caConfigMapName), configMap.state.metadata.name);

            const tlsSecret = captured.get(SECRET, "registry-tls");
            assert.equal(tlsSecret.inputs.type, "kubernetes.io/tls");
            const server = new crypto.X509Certificate(tlsSecret.inputs.stringData["tls.crt"]);
            assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey), "the served certificate must chain to the published CA");
            assert.ok(!server.ca);
            assert.ok(server.checkPrivateKey(crypto.createPrivateKey(tlsSecret.inputs.stringData["tls.key"])));
            for (const name of ["registry", "registry.registry", "registry.registry.svc", "registry.registry.svc.cluster.local", "registry.example.com"]) {
                assert.equal(server.checkHost(name, { wildcards: false, partialWildcards: false }), name, `${name} must be a SAN`);
            }
            assert.equal(server.checkIP("10.0.0.5"), "10.0.0.5");
            assert.deepEqual(server.keyUsage, [SERVER_AUTH]);

            // The registry reads the pair where the Secret is mounted.
            assert.equal(volume(mountAt("/etc/distribution/tls").name).secret.secretName, tlsSecret.state.metadata.name);
            assert.equal(env.REGISTRY_HTTP_TLS_CERTIFICATE, "/etc/distribution/tls/tls.crt");
            assert.equal(env.REGISTRY_HTTP_TLS_KEY, "/etc/distribution/tls/tls.key");
        });

        it("keeps private keys secret on their way to the engine", async () => {
            const { captured, component } = await deploy();
            assert.ok(sentAsSecret(captured.get(SECRET, "registry-tls"), "stringData.tls.key"));
            assert.ok(!(await isSecret(component.caCertPem)), "the CA certificate is public");
            assert.ok(sentAsSecret(captured.get(SIGNED, "registry-server"), "caPrivateKeyPem"));
        });

        it("signs with a CA the user brings, creating none, and keeps its key secret", async () => {
            const brought = testCa();
            const { captured, component } = await deploy({ caCertPem: brought.certPem, caKeyPem: pulumi.secret(brought.keyPem) });
            assert.equal(captured.ofType(SELF_SIGNED).length, 0);
            const ca = new crypto.X509Certificate(brought.certPem);
            const server = new crypto.X509Certificate(captured.get(SECRET, "registry-tls").inputs.stringData["tls.crt"]);
            assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
            assert.equal(captured.only(CONFIG_MAP).inputs.data["ca.crt"], brought.certPem);
            assert.equal(await valueOf(component.caCertPem), brought.certPem);
            assert.ok(sentAsSecret(captured.get(SIGNED, "registry-server"), "caPrivateKeyPem"));
        });
    });

    describe("a certificate the user brings", () => {
        const names = ["registry", "registry.ci", "registry.ci.svc", "registry.ci.svc.cluster.local"];

        it("goes into the TLS Secret as it is, its key secret, with no certificate made", async () => {
            const brought = testServerCertificate(...names);
            const { captured, component } = await deploy({ namespace: "ci", caCertPem: testCa().certPem, tlsCertPem: brought.certPem, tlsKeyPem: brought.keyPem });
            assert.deepEqual(captured.resources.filter((r) => r.type.startsWith("tls:")), []);
            const secret = captured.get(SECRET, "registry-tls");
            assert.equal(secret.inputs.stringData["tls.crt"], brought.certPem);
            assert.ok(sentAsSecret(secret, "stringData.tls.key"));
            assert.equal(await valueOf(component.caCertPem), testCa().certPem);
        });

        it("must name every Service name pods dial, refused before anything is registered", async () => {
            const brought = testServerCertificate("registry", "registry.ci");
            const { error, registered } = await captureFailure(
                () => new SelfHostedRegistry("registry", { namespace: "ci", caCertPem: testCa().certPem, tlsCertPem: brought.certPem, tlsKeyPem: brought.keyPem }),
            );
            assert.match(error.message, /^args\.tlsCertPem: expected a certificate whose subjectAltName has registry\.ci\.svc, registry\.ci\.svc\.cluster\.local, got "DNS:registry, DNS:registry\.ci"$/);
            assert.equal(registered, 0);
        });
    });

    describe("mirror mode", () => {
        it("caches Docker Hub unauthenticated, with deletes on so cache expiry frees space", async () => {
            const { env, captured } = await deploy();
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://registry-1.docker.io");
            assert.equal(env.REGISTRY_STORAGE_DELETE_ENABLED, "true");
            assert.equal(env.REGISTRY_HTTP_ADDR, ":5000");
            assert.equal(env.REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY, "/var/lib/registry");
            assert.equal(env.OTEL_TRACES_EXPORTER, "none");
            assert.equal(env.REGISTRY_AUTH, undefined, "dockerd sends no credentials to a mirror");
            assert.equal(env.REGISTRY_PROXY_USERNAME, undefined);
            assert.equal(captured.ofType(RANDOM_PASSWORD).length, 1, "only the HTTP secret");
        });

        it("logs in to the upstream with credentials that stay in a Secret", async () => {
            const { env, captured } = await deploy({
                upstream: "https://ghcr.io",
                upstreamUsername: "bot",
                upstreamPassword: pulumi.secret("token"),
            });
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://ghcr.io");
            const username = secretEnv(captured, env, "REGISTRY_PROXY_USERNAME");
            const password = secretEnv(captured, env, "REGISTRY_PROXY_PASSWORD");
            assert.equal(username.value, "bot");
            assert.equal(password.value, "token");
            assert.ok(sentAsSecret(password.secret, "stringData"));
        });

        it("shares one HTTP secret across restarts, generated and kept secret", async () => {
            const { env, captured } = await deploy();
            const { secret, value } = secretEnv(captured, env, "REGISTRY_HTTP_SECRET");
            assert.equal(value, captured.get(RANDOM_PASSWORD, "registry-http-secret").state.result);
            assert.ok(sentAsSecret(secret, "stringData"));
            assert.ok(captured.get(RANDOM_PASSWORD, "registry-http-secret").options.additionalSecretOutputs.includes("result"));
        });
    });

    describe("a mirror of a private upstream", () => {
        it("trusts the upstream's CA from a ConfigMap (public, so no Secret) mounted in a directory of SSL_CERT_DIR", async () => {
            const upstreamCa = testCa("upstream CA");
            const pod = await deploy({ upstream: "https://images.images.svc:5000", upstreamCaCertPem: upstreamCa.certPem, cacheTtl: "72h" });
            const { captured, env, mountAt, volume } = pod;
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://images.images.svc:5000");
            assert.equal(env.SSL_CERT_DIR, "/etc/ssl/certs:/etc/distribution/upstream-ca");
            assert.equal(env.REGISTRY_PROXY_TTL, "72h");
            const mount = mountAt("/etc/distribution/upstream-ca");
            assert.equal(mount.readOnly, true);
            const configMap = captured.get(CONFIG_MAP, "registry-upstream-ca");
            assert.equal(volume(mount.name).configMap.name, configMap.state.metadata.name);
            assert.deepEqual(configMap.inputs.data, { "ca.crt": upstreamCa.certPem });
            assert.equal(configMap.inputs.metadata.namespace, "registry");
            assert.ok(!captured.ofType(SECRET).some((s) => JSON.stringify(s.inputs).includes("upstream CA")), "no Secret holds it");
            assert.ok(validateManifests(captured) >= 6);
        });

        it("takes another registry's CA output, and mounts nothing without one", async () => {
            const captured = await capture(() => {
                const images = new SelfHostedRegistry("images", { mode: "private" });
                new SelfHostedRegistry("registry", { upstream: `https://${images.registryHost}`, upstreamCaCertPem: images.caCertPem });
            });
            const mirror = captured.ofType(DEPLOYMENT).find((d) => d.name === "registry-deployment")!;
            const volumes = mirror.inputs.spec.template.spec.volumes;
            const upstream = captured.get(CONFIG_MAP, "registry-upstream-ca");
            assert.equal(volumes.find((v: any) => v.name === "upstream-ca").configMap.name, upstream.state.metadata.name);
            assert.equal(upstream.inputs.data["ca.crt"], captured.get(CONFIG_MAP, "images-ca").inputs.data["ca.crt"]);

            const plain = await deploy();
            assert.equal(plain.mountAt("/etc/distribution/upstream-ca"), undefined);
            assert.equal(plain.env.SSL_CERT_DIR, undefined);
            assert.equal(plain.captured.ofType(CONFIG_MAP).length, 1, "only the registry's own CA");
        });
    });

    describe("private mode", () => {
        it("accepts pushes behind htpasswd: generated and given passwords, stored only as bcrypt hashes", async () => {
            const pod = await deploy({ mode: "private", users: [{ username: "ci" }, { username: "alice", password: pulumi.secret("correct horse") }] });
            const { env, captured, component } = pod;
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, undefined);
            assert.equal(env.REGISTRY_AUTH, "htpasswd");
            assert.ok(env.REGISTRY_AUTH_HTPASSWD_REALM);
            assert.equal(await valueOf(component.mirrorUrl), undefined);
            assert.equal(component.mode, "private");

            const htpasswd = mountedSecretFile(pod, env.REGISTRY_AUTH_HTPASSWD_PATH);
            const lines = Object.fromEntries(htpasswd.trim().split("\n").map((line) => line.split(/:(.*)/s).slice(0, 2)));
            assert.deepEqual(Object.keys(lines).sort(), ["alice", "ci"]);
            const generated = captured.get(RANDOM_PASSWORD, "registry-password-ci");
            assert.ok(bcrypt.compareSync(generated.state.result, lines.ci));
            assert.ok(bcrypt.compareSync("correct horse", lines.alice));
            assert.ok(!htpasswd.includes("correct horse") && !htpasswd.includes(generated.state.result), "no password in clear");

            const passwords = component.userPasswords;
            assert.ok(await isSecret(passwords));
            assert.deepEqual(await valueOf(passwords), { ci: generated.state.result, alice: "correct horse" });
            const settings = captured.get(SECRET, "registry-settings");
            assert.ok(sentAsSecret(settings, "stringData.htpasswd"));
        });

        it("hashes a given password the same way on every run, with a salt of its own per user", async () => {
            const args = (): SelfHostedRegistryArgs => ({
                mode: "private",
                users: [{ username: "alice", password: "same" }, { username: "bob", password: "same" }],
            });
            const first = await deploy(args());
            const second = await deploy(args());
            const file = (pod: Awaited<ReturnType<typeof deploy>>) => mountedSecretFile(pod, pod.env.REGISTRY_AUTH_HTPASSWD_PATH);
            assert.equal(file(first), file(second), "a new hash would replace the Secret and restart the registry on every `pulumi up`");
            const [alice, bob] = file(first).trim().split("\n").map((line) => line.split(":")[1]);
            assert.notEqual(alice, bob);
            assert.ok(first.captured.get(RANDOM_PASSWORD, "registry-salt-alice"));
        });

        it("runs without accounts when none are given, mounting no htpasswd", async () => {
            const { env, mountAt } = await deploy({ mode: "private" });
            assert.equal(env.REGISTRY_AUTH, undefined);
            assert.equal(mountAt("/etc/distribution/auth"), undefined);
        });
    });

    describe("the registry pod", () => {
        it("probes / over HTTPS on 5000, which answers without credentials", async () => {
            const { container } = await deploy({ mode: "private", users: [{ username: "ci" }] });
            for (const probe of [container.readinessProbe, container.livenessProbe]) {
                assert.deepEqual(probe.httpGet, { path: "/", port: 5000, scheme: "HTTPS" });
            }
        });

        it("runs a pinned registry:3 as a non-root user with a read-only root and no privileges", async () => {
            const { spec, container } = await deploy();
            assert.match(container.image, /^registry:3\.\d+\.\d+$/);
            assert.deepEqual(spec.securityContext, {
                runAsUser: 1000,
                runAsGroup: 1000,
                fsGroup: 1000,
                runAsNonRoot: true,
                seccompProfile: { type: "RuntimeDefault" },
            });
            assert.deepEqual(container.securityContext, {
                runAsUser: 1000,
                runAsGroup: 1000,
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            });
            assert.equal(spec.automountServiceAccountToken, false);
            assert.equal(spec.enableServiceLinks, false, "service links inject REGISTRY_* variables the registry would read as config");
        });

        it("has default resources that can be overridden", async () => {
            const defaults = (await deploy()).container.resources;
            assert.deepEqual(defaults, { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } });
            const given = { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "2Gi" } };
            assert.deepEqual((await deploy({ resources: given })).container.resources, given);
        });
    });

    describe("storage", () => {
        it("retains the namespace it created when it holds a private registry's retained claim, since deleting it would delete the claim", async () => {
            assert.equal((await deploy({ mode: "private" })).captured.only(NAMESPACE).options.retainOnDelete, true);
            assert.equal((await deploy({ mode: "private", storage: { persistent: false } })).captured.only(NAMESPACE).options.retainOnDelete, false);
            assert.equal((await deploy()).captured.only(NAMESPACE).options.retainOnDelete, false);
        });

        it("keeps a mirror's cache in a size-limited emptyDir", async () => {
            const { captured, deployment, mountAt, volume, component } = await deploy({ storage: { size: "50Gi" } });
            assert.equal(captured.ofType(PVC).length + captured.ofType(KEPT_PVC).length, 0);
            assert.deepEqual(volume(mountAt("/var/lib/registry").name).emptyDir, { sizeLimit: "50Gi" });
            assert.equal(deployment.inputs.spec.strategy.type, "RollingUpdate");
            assert.equal(await valueOf(component.claimName), undefined);
        });

        it("keeps a private registry's images on a claim with a fixed name that destroy keeps and the next up adopts", async () => {
            const { captured, deployment, mountAt, volume, component } = await deploy({ mode: "private", storage: { storageClass: "fast" } });
            assert.equal(captured.ofType(PVC).length, 0);
            const claim = captured.only(KEPT_PVC);
            assert.equal(claim.inputs.metadata.name, "registry-data");
            assert.equal(claim.inputs.metadata.annotations["pulumi.com/patchFieldManager"], "pulumi-dind");
            assert.equal(claim.inputs.spec.resources.requests.storage, "20Gi");
            assert.equal(claim.inputs.spec.storageClassName, "fast");
            assert.deepEqual(claim.inputs.spec.accessModes, ["ReadWriteOnce"]);
            assert.equal(claim.options.retainOnDelete, true);
            assert.equal(claim.options.protect, false, "retained, not protected: destroy and replacements still work");
            assert.equal(volume(mountAt("/var/lib/registry").name).persistentVolumeClaim.claimName, "registry-data");
            assert.equal(deployment.inputs.spec.strategy.type, "Recreate");
            assert.equal(deployment.inputs.spec.replicas, 1);
            assert.equal(await valueOf(component.claimName), "registry-data");
        });

        it("lets a mirror's claim go with it: a cache is not worth keeping", async () => {
            const { captured } = await deploy({ storage: { persistent: true, size: "100Gi" } });
            assert.equal(captured.only(PVC).options.retainOnDelete, false);
        });

        it("reattaches a kept claim without creating one", async () => {
            const { captured, mountAt, volume, component } = await deploy({ mode: "private", namespace: "images", storage: { existingClaim: "registry-data-kept" } });
            assert.equal(captured.ofType(PVC).length + captured.ofType(KEPT_PVC).length, 0);
            assert.equal(volume(mountAt("/var/lib/registry").name).persistentVolumeClaim.claimName, "registry-data-kept");
            assert.equal(await valueOf(component.claimName), "registry-data-kept");
        });
    });

    describe("golden files of the README's examples", () => {
        const examples: { golden: string; about: string; name: string; args: () => SelfHostedRegistryArgs }[] = [
            {
                golden: "registry-mirror",
                about: "README, A mirror for a cluster's dind pods: SelfHostedRegistry \"registry\", its cache on a 100Gi claim.",
                name: "registry",
                args: () => ({ storage: { persistent: true, size: "100Gi" } }),
            },
            {
                golden: "registry-private-with-users",
                about: "README, A private registry with users: SelfHostedRegistry \"images\" behind a LoadBalancer.",
                name: "images",
                args: () => ({
                    mode: "private",
                    users: [{ username: "ci" }, { username: "alice", password: pulumi.secret("correct horse") }],
                    storage: { size: "50Gi", storageClass: "standard" },
                    serviceType: "LoadBalancer",
                    hostnames: ["images.example.com"],
                }),
            },
            {
                golden: "registry-private-upstream-mirror",
                about: "README, A mirror of a private upstream: SelfHostedRegistry \"cache\" trusting the upstream's CA.",
                name: "cache",
                args: () => ({
                    upstream: "https://images.internal.example.com:5000",
                    upstreamCaCertPem: testCa().certPem,
                    cacheTtl: "72h",
                    storage: { persistent: true, size: "100Gi" },
                }),
            },
        ];
        for (const example of examples) {
            it(`renders test/golden/${example.golden}.yaml`, async () => {
                const { captured } = await deploy(example.args(), example.name);
                const manifest = (r: RegisteredResource) => ({ apiVersion: r.inputs.apiVersion, kind: r.inputs.kind, metadata: r.inputs.metadata, spec: r.inputs.spec });
                assertGolden(
                    example.golden,
                    [manifest(captured.only(DEPLOYMENT)), manifest(captured.only(SERVICE))],
                    `${example.about}\nRendered by test/selfHostedRegistry.test.ts; UPDATE_GOLDEN=1 rewrites it.`,
                );
            });
        }
    });

    describe("the pod spec", () => {
        const objects = { tlsSecretName: "tls", settingsSecretName: "settings" };
        const volumeNames = (args: SelfHostedRegistryArgs, given: Parameters<typeof registryPodVolumes>[1] = objects) =>
            registryPodVolumes(validateSelfHostedRegistryArgs(args), given).map((v) => v.volume.name);

        it("mounts htpasswd only for a registry with users, and the upstream CA only when there is one", () => {
            assert.deepEqual(volumeNames({}), [REGISTRY_VOLUME.tls, REGISTRY_VOLUME.data]);
            assert.deepEqual(volumeNames({ mode: "private", users: [{ username: "ci" }] }, { ...objects, dataClaimName: "kept" }), [REGISTRY_VOLUME.tls, REGISTRY_VOLUME.data, REGISTRY_VOLUME.auth]);
            assert.deepEqual(volumeNames({ upstreamCaCertPem: testCa().certPem }, { ...objects, upstreamCaConfigMapName: "upstream" }), [REGISTRY_VOLUME.tls, REGISTRY_VOLUME.data, REGISTRY_VOLUME.upstreamCa]);
        });

        it("keeps the images in an emptyDir or on the claim it is given, and needs one for claim storage", () => {
            const [, emptyDir] = registryPodVolumes(validateSelfHostedRegistryArgs({ storage: { size: "5Gi" } }), objects);
            assert.deepEqual(emptyDir.volume, { name: REGISTRY_VOLUME.data, emptyDir: { sizeLimit: "5Gi" } });
            const claimed = validateSelfHostedRegistryArgs({ mode: "private" });
            assert.deepEqual(registryPodVolumes(claimed, { ...objects, dataClaimName: "kept" })[1].volume, { name: REGISTRY_VOLUME.data, persistentVolumeClaim: { claimName: "kept" } });
            assert.throws(() => registryPodVolumes(claimed, objects), /a registry on a new claim needs the claim's name/);
        });

        it("reads its secret settings from the settings Secret and mounts everything but its data read-only", () => {
            const spec = registryPodSpec(validateSelfHostedRegistryArgs({ upstreamUsername: "bot", upstreamPassword: "token" }), objects) as any;
            const container = spec.containers[0];
            const fromSecret = container.env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef.name]);
            assert.deepEqual(fromSecret, [["REGISTRY_HTTP_SECRET", "settings"], ["REGISTRY_PROXY_USERNAME", "settings"], ["REGISTRY_PROXY_PASSWORD", "settings"]]);
            assert.ok(!container.env.some((e: any) => e.value === "token"), "no secret as a plain value");
            for (const mount of container.volumeMounts) {
                assert.equal(mount.readOnly === true, mount.name !== REGISTRY_VOLUME.data, mount.name);
            }
        });

        it("names its Service as asked and lets up skip a load balancer's address unless asked to wait", () => {
            const placement = { namespace: "ci", labels: { app: "registry" } };
            const service = (args: SelfHostedRegistryArgs) => registryServiceArgs(validateSelfHostedRegistryArgs(args), placement, "mirror") as any;
            assert.equal(service({}).metadata.name, "mirror");
            assert.deepEqual(service({}).spec.selector, placement.labels);
            const users = [{ username: "ci" }];
            assert.deepEqual(service({ mode: "private", users, serviceType: "LoadBalancer" }).metadata.annotations, { "pulumi.com/skipAwait": "true" });
            assert.equal(service({ mode: "private", users, serviceType: "LoadBalancer", awaitLoadBalancer: true }).metadata.annotations, undefined);
        });
    });

    describe("the schema check", () => {
        it("fails on an object the Kubernetes schema rejects, and on a kind it does not know", () => {
            const bad = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "https" }] } };
            assert.throws(() => validateManifests([bad]), /^Error: v1 Service s fails the Kubernetes schema: .*port/);
            assert.throws(() => validateManifests([{ apiVersion: "example.com/v1", kind: "Widget" }]), /no Kubernetes schema for example\.com\/v1 Widget/);
            assert.equal(validateManifests([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } }]), 1);
        });
    });

    describe("bad input", () => {
        const ca = () => testCa();
        const cases: [string, () => SelfHostedRegistryArgs, RegExp][] = [
            ["an unknown mode", () => ({ mode: "pull" as any }), /^args\.mode: expected one of "mirror", "private", got "pull"$/],
            ["users on a mirror", () => ({ users: [{ username: "ci", password: "hunter2" }] }), /^args\.users: expected no users in mirror mode.*got \["ci"\]$/],
            ["an http upstream", () => ({ upstream: "http://registry.example.com" }), /^args\.upstream: expected an https:\/\/ URL/],
            ["an upstream with a path", () => ({ upstream: "https://registry.example.com/v2" }), /^args\.upstream: expected an https:\/\/ URL.*no path/],
            ["an upstream for a private registry", () => ({ mode: "private", upstream: "https://ghcr.io" }), /^args\.upstream: expected nothing in private mode/],
            ["an upstream user without password", () => ({ upstreamUsername: "bot" }), /^args\.upstreamPassword: expected upstreamUsername and upstreamPassword together/],
            ["an empty upstream password", () => ({ upstreamUsername: "bot", upstreamPassword: "" }), /^args\.upstreamPassword: expected a non-empty string/],
            ["a hostname that is no DNS name", () => ({ hostnames: ["registry_1.example.com"] }), /^args\.hostnames\[0\]: expected a DNS name/],
            ["a bad IP address", () => ({ ipAddresses: ["10.0.0.300"] }), /^args\.ipAddresses\[0\]: expected an IPv4 or IPv6 address/],
            ["a size that is no quantity", () => ({ storage: { size: "20 GB" } }), /^args\.storage\.size: expected a Kubernetes quantity/],
            ["a storage class for an emptyDir", () => ({ storage: { storageClass: "fast" } }), /^args\.storage\.storageClass: expected nothing for an emptyDir/],
            ["a size with an existing claim", () => ({ namespace: "images", storage: { existingClaim: "kept", size: "1Gi" } }), /^args\.storage\.size: expected nothing with args\.storage\.existingClaim/],
            ["a CA certificate without its key", () => ({ caCertPem: ca().certPem }), /^args\.caKeyPem: expected the private key of args\.caCertPem, which is given, got nothing$/],
            ["a CA key without its certificate", () => ({ caKeyPem: ca().keyPem }), /^args\.caCertPem: expected the CA certificate of args\.caKeyPem/],
            ["a CA that is no certificate", () => ({ caCertPem: "hello", caKeyPem: ca().keyPem }), /^args\.caCertPem: expected (a|one or more) PEM-encoded X\.509 certificate/],
            ["a certificate that is no CA", () => ({ caCertPem: leafCertificate(), caKeyPem: ca().keyPem }), /^args\.caCertPem: expected a CA certificate \(basicConstraints CA:TRUE\), got "(the block: )?CN=leaf"$/],
            ["a key that is not the CA's", () => ({ caCertPem: ca().certPem, caKeyPem: otherKey() }), /^args\.caKeyPem: expected the private key of args\.caCertPem \(CN=test CA\), got "a secret of \d+ bytes"$/],
            ["a CA key that is no key", () => ({ caCertPem: ca().certPem, caKeyPem: "not a key" }), /^args\.caKeyPem: expected a PEM private key, got "a secret of 9 bytes"$/],
            ["a user name with a colon", () => ({ mode: "private", users: [{ username: "a:b" }] }), /^args\.users\[0\]\.username: expected a user name/],
            ["a user twice", () => ({ mode: "private", users: [{ username: "ci" }, { username: "ci" }] }), /^args\.users\[1\]\.username: expected each user name once/],
            ["a password bcrypt would cut", () => ({ mode: "private", users: [{ username: "ci", password: "p".repeat(73) }] }), /^args\.users\[0\]\.password: expected 1 to 72 bytes.*got "a secret of 73 bytes"$/],
            ["an unknown service type", () => ({ serviceType: "Ingress" as any }), /^args\.serviceType: expected one of "ClusterIP", "NodePort", "LoadBalancer"/],
            ["a load balancer wait without a load balancer", () => ({ serviceType: "NodePort", awaitLoadBalancer: true }), /^args\.awaitLoadBalancer: expected false unless serviceType is LoadBalancer, got true$/],
            ["a limit that is no quantity", () => ({ resources: { limits: { memory: "lots" } } }), /^args\.resources\.limits\.memory: expected a Kubernetes quantity/],
            ["a namespace that is no name", () => ({ namespace: "CI" }), /^args\.namespace: expected a lower-case RFC 1123 name/],
            ["an empty image", () => ({ image: "" }), /^args\.image: expected an image reference/],
            ["an existing claim in a namespace not made yet", () => ({ mode: "private", storage: { existingClaim: "kept" } }), /^args\.namespace: expected the namespace of storage\.existingClaim/],
            ["an open private registry outside the cluster", () => ({ mode: "private", serviceType: "LoadBalancer" }), /^args\.serviceType: expected ClusterIP for a private registry without users/],
            ["a logged-in mirror outside the cluster", () => ({ serviceType: "NodePort", upstreamUsername: "bot", upstreamPassword: "token" }), /^args\.serviceType: expected ClusterIP for a mirror that logs in upstream/],
            ["null in place of args", () => null as any, /^args: expected an object with mode, .*namespace, serviceName/],
            ["a list in place of args", () => [{ mode: "private" }] as any, /^args: expected an object with/],
            ["a number in place of args", () => 5000 as any, /^args: expected an object with/],
            ["a misspelt argument", () => ({ servicetype: "NodePort" }) as any, /^args\.servicetype: expected no such key: the keys are .*namespace, serviceName, serviceType/],
            ["a misspelt secret argument, unprinted", () => ({ upstreamPasword: "hunter2" }) as any, /^args\.upstreamPasword: expected no such key.*got "a value"$/],
            ["a __proto__ argument", () => JSON.parse('{"__proto__": {"mode": "private"}}'), /^args\.__proto__: expected no such key/],
            ["a Service name starting with a digit", () => ({ serviceName: "1registry" }), /^args\.serviceName: expected a Service name \(RFC 1035: .*starting with a letter/],
            ["a Service name with a dot", () => ({ serviceName: "registry.ci" }), /^args\.serviceName: expected a Service name \(RFC 1035/],
        ];
        for (const [what, args, message] of [...cases, ...badUpstreamTrustCases().map(([w, a, m]): (typeof cases)[number] => [w, () => a as SelfHostedRegistryArgs, m])]) {
            it(`rejects ${what}, registering nothing`, async () => {
                const { error, registered } = await captureFailure(() => new SelfHostedRegistry("registry", args()));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }

        it("never prints a password it rejects", async () => {
            const { error } = await captureFailure(
                () => new SelfHostedRegistry("registry", { mode: "private", users: [{ username: "ci", password: `${"s3cr3t".repeat(13)}` }] }),
            );
            assert.doesNotMatch(error.message, /s3cr3t/);
        });

        const names: [string, string, SelfHostedRegistryArgs, RegExp][] = [
            ["that cannot name its Service", "Registry_1", {}, /^name \(it names the Service when args\.serviceName is not given\): expected a Service name \(RFC 1035/],
            ["that starts with a digit, naming its Service", "1registry", {}, /^name \(it names the Service when args\.serviceName is not given\): expected a Service name .*got "1registry"$/],
            ["that cannot name its namespace", "Registry_1", { serviceName: "registry" }, /^name \(it names the namespace created when args\.namespace is not given\)/],
            ["that cannot begin the names of its objects", "Registry_1", { serviceName: "registry", namespace: "ci" }, /^name \(it begins the names of the objects the provider names\): expected a lower-case DNS name/],
            ["too long to begin the names of its objects", `${"r".repeat(60)}.${"e".repeat(60)}.${"g".repeat(60)}.${"i".repeat(60)}`, { serviceName: "registry", namespace: "ci" }, /^name \(it begins the names of the objects the provider names\): expected at most 232 characters \(the provider names objects <name>-<suffix>-<8 characters>, at most 253\)/],
        ];
        for (const [what, name, args, message] of names) {
            it(`rejects a component name ${what}, registering nothing`, async () => {
                const { error, registered } = await captureFailure(() => new SelfHostedRegistry(name, args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }

        it("takes a dotted component name when the Service and namespace are named", async () => {
            const { component } = await deploy({ serviceName: "registry", namespace: "ci" }, "ci.registry");
            assert.equal(component.registryHost, "registry.ci.svc:5000");
        });

        it("names the configuration key when the program's config is checked", () => {
            assert.throws(
                () => validateSelfHostedRegistryArgs({ mode: "mirror", storage: { size: "big" } }, "dind:selfHostedRegistry."),
                /^InvalidArgumentError: dind:selfHostedRegistry\.storage\.size: expected a Kubernetes quantity/,
            );
        });
    });
});
