import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { Captured, capture, captureFailure, isSecret, sentAsSecret, urnTypeChain, valueOf } from "./harness";
import { badUpstreamTrustCases, testCa, testServerCertificate } from "./pems";
import { LocalRegistry, LocalRegistryArgs, validateLocalRegistryArgs } from "../components/localRegistry";
import { LocalDind } from "../components/localDind";

const COMPONENT = "pulumi-dind:index:LocalRegistry";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

async function deploy(args: LocalRegistryArgs = {}, name = "local") {
    let component!: LocalRegistry;
    const captured = await capture(() => {
        component = new LocalRegistry(name, args);
    });
    return { component, captured, ...containerOf(captured, name) };
}

function containerOf(captured: Captured, name = "local") {
    const container = captured.get(CONTAINER, `${name}-registry`);
    const inputs = container.inputs;
    const env: Record<string, string> = Object.fromEntries(inputs.envs.map((e: string) => e.split(/=(.*)/s).slice(0, 2)));
    const uploadIndex = (file: string) => inputs.uploads.findIndex((u: any) => u.file === file);
    const upload = (file: string): string | undefined => inputs.uploads[uploadIndex(file)]?.content;
    return { container, inputs, env, upload, uploadIndex };
}

describe("LocalRegistry", () => {
    describe("resource graph", () => {
        it("parents every child to the component and knows its host before anything is deployed", async () => {
            const { component, captured } = await deploy();
            const children = captured.resources.filter((r) => r.type !== COMPONENT);
            assert.ok(children.length >= 8);
            for (const child of children) {
                assert.equal(urnTypeChain(child.urn)[0], COMPONENT, child.name);
                assert.match(child.name, /^local-/);
            }
            assert.equal(component.registryHost, "local:5000");
            assert.equal(component.mode, "mirror");
            assert.equal(await valueOf(component.host), "local:5000");
            assert.equal(await valueOf(component.mirrorUrl), "https://local:5000");
            assert.equal(await valueOf(component.publishedHost), undefined);
            assert.equal(await valueOf(component.containerName), captured.get(CONTAINER, "local-registry").state.name);
        });

        it("runs a pinned registry:3 image that stays in the host's store unless asked", async () => {
            const { captured, inputs } = await deploy();
            const image = captured.only(IMAGE);
            assert.match(image.inputs.name, /^registry:3\.\d+\.\d+$/);
            assert.equal(image.inputs.keepLocally, true);
            assert.equal(inputs.image, image.state.imageId);
            assert.equal((await deploy({ keepImageLocally: false })).captured.only(IMAGE).inputs.keepLocally, false);
        });

        it("creates a bridge network for itself, or joins the one given, under its alias", async () => {
            const own = await deploy();
            const network = own.captured.only(NETWORK);
            assert.equal(network.inputs.driver, "bridge");
            assert.deepEqual(own.inputs.networksAdvanced, [{ name: network.state.name, aliases: ["local"] }]);
            assert.equal(await valueOf(own.component.networkName), network.state.name);

            const joined = await deploy({ networkName: "ci-net", alias: "mirror" });
            assert.equal(joined.captured.ofType(NETWORK).length, 0);
            assert.deepEqual(joined.inputs.networksAdvanced, [{ name: "ci-net", aliases: ["mirror"] }]);
            assert.equal(joined.component.registryHost, "mirror:5000");
            assert.equal(await valueOf(joined.component.networkName), "ci-net");
        });

        it("creates its network with the MTU asked for, the one a LocalDind joining it needs", async () => {
            const { captured } = await deploy({ mtu: 1400 });
            assert.deepEqual(captured.only(NETWORK).inputs.options, { "com.docker.network.driver.mtu": "1400" });
            assert.equal((await deploy()).captured.only(NETWORK).inputs.options, undefined);
        });

        it("gets time to finish uploads in flight when it is stopped or replaced", async () => {
            const { container, inputs } = await deploy();
            assert.deepEqual(container.options.replaceOnChanges, ["healthcheck"], "a new healthcheck applies by replacement");
            assert.equal(inputs.destroyGraceSeconds, 30);
            assert.equal(inputs.stopTimeout, 30);
        });

        it("is wired into a LocalDind on its network: trusted, and its first mirror", async () => {
            const captured = await capture(() => {
                const registry = new LocalRegistry("local", { alias: "mirror" });
                new LocalDind("dind", { socketDirectory: "/tmp/dind", networkName: registry.networkName, registry });
            });
            const dind = captured.get(CONTAINER, "dind-dind").inputs;
            assert.equal(dind.networksAdvanced[0].name, captured.only(NETWORK).state.name);
            assert.ok(dind.command.includes("--registry-mirror=https://mirror:5000"));
            const ca = dind.uploads.find((u: any) => u.file === "/etc/docker/certs.d/mirror:5000/ca.crt");
            assert.ok(ca, "the daemon must trust the registry's CA for mirror:5000");
            const server = new crypto.X509Certificate(containerOf(captured).upload("/etc/distribution/tls/tls.crt")!);
            assert.ok(server.checkIssued(new crypto.X509Certificate(ca.content)));
        });

        it("has the daemon start after it without depending on its container's properties", async () => {
            const captured = await capture(() => {
                const registry = new LocalRegistry("local", { alias: "mirror" });
                new LocalDind("dind", { socketDirectory: "/tmp/dind", networkName: registry.networkName, registry });
            });
            const dind = captured.get(CONTAINER, "dind-dind");
            assert.ok(dind.options.dependsOn.includes(containerOf(captured).container.urn), "ordered after the registry's container");
        });
    });

    describe("TLS", () => {
        it("serves a certificate for its alias, signed by the CA it outputs, from files uploaded where the registry reads them", async () => {
            const { component, env, upload } = await deploy({ hostnames: ["registry.example.com"] });
            const ca = new crypto.X509Certificate(await valueOf(component.caCertPem));
            const server = new crypto.X509Certificate(upload(env.REGISTRY_HTTP_TLS_CERTIFICATE)!);
            assert.ok(ca.ca);
            assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
            assert.ok(server.checkPrivateKey(crypto.createPrivateKey(upload(env.REGISTRY_HTTP_TLS_KEY)!)));
            assert.equal(server.checkHost("local"), "local");
            assert.equal(server.checkHost("registry.example.com"), "registry.example.com");
            assert.equal(server.checkHost("localhost"), undefined, "not published, so not reached as localhost");
            assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
            assert.ok(!(await isSecret(component.caCertPem)));
        });

        it("adds localhost and 127.0.0.1 when published, on the host's loopback only", async () => {
            const { component, inputs, env, upload } = await deploy({ port: 5443 });
            assert.deepEqual(inputs.ports, [{ internal: 5000, external: 5443, ip: "127.0.0.1" }]);
            const server = new crypto.X509Certificate(upload(env.REGISTRY_HTTP_TLS_CERTIFICATE)!);
            assert.equal(server.checkHost("localhost"), "localhost");
            assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
            assert.equal(await valueOf(component.publishedHost), "localhost:5443");
            assert.equal((await deploy()).inputs.ports, undefined);
        });

        it("uploads the key as a secret", async () => {
            const { container, env, uploadIndex } = await deploy();
            assert.ok(sentAsSecret(container, `uploads.${uploadIndex(env.REGISTRY_HTTP_TLS_KEY)}.content`));
        });

        it("signs with a CA the user brings, creating none", async () => {
            const brought = testCa();
            const { captured, component, env, upload } = await deploy({ caCertPem: brought.certPem, caKeyPem: pulumi.secret(brought.keyPem) });
            assert.equal(captured.ofType(SELF_SIGNED).length, 0);
            const server = new crypto.X509Certificate(upload(env.REGISTRY_HTTP_TLS_CERTIFICATE)!);
            assert.ok(server.checkIssued(new crypto.X509Certificate(brought.certPem)));
            assert.equal(await valueOf(component.caCertPem), brought.certPem);
        });
    });

    describe("a certificate the user brings", () => {
        it("is served as it is, with the CA that issued it, and no certificate is made", async () => {
            const brought = testServerCertificate("mirror");
            const { captured, component, container, env, upload, uploadIndex } = await deploy({
                alias: "mirror",
                caCertPem: testCa().certPem,
                tlsCertPem: brought.certPem,
                tlsKeyPem: pulumi.secret(brought.keyPem),
            });
            assert.deepEqual(captured.resources.filter((r) => r.type.startsWith("tls:")), []);
            assert.equal(upload(env.REGISTRY_HTTP_TLS_CERTIFICATE), brought.certPem);
            assert.equal(upload(env.REGISTRY_HTTP_TLS_KEY), brought.keyPem);
            assert.ok(sentAsSecret(container, `uploads.${uploadIndex(env.REGISTRY_HTTP_TLS_KEY)}.content`));
            assert.equal(await valueOf(component.caCertPem), testCa().certPem);
        });

        it("is a secret even when given as a plain string", async () => {
            const brought = testServerCertificate("mirror");
            const { container, env, uploadIndex } = await deploy({ alias: "mirror", caCertPem: testCa().certPem, tlsCertPem: brought.certPem, tlsKeyPem: brought.keyPem });
            assert.ok(sentAsSecret(container, `uploads.${uploadIndex(env.REGISTRY_HTTP_TLS_KEY)}.content`));
        });
    });

    describe("modes", () => {
        it("mirrors Docker Hub unauthenticated, with deletes on, and a secret shared HTTP secret", async () => {
            const { env, captured, container } = await deploy();
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://registry-1.docker.io");
            assert.equal(env.REGISTRY_STORAGE_DELETE_ENABLED, "true");
            assert.equal(env.REGISTRY_HTTP_ADDR, ":5000");
            assert.equal(env.OTEL_TRACES_EXPORTER, "none");
            assert.equal(env.REGISTRY_AUTH, undefined);
            assert.equal(env.REGISTRY_HTTP_SECRET, captured.get(RANDOM_PASSWORD, "local-http-secret").state.result);
            const index = container.inputs.envs.findIndex((e: string) => e.startsWith("REGISTRY_HTTP_SECRET="));
            assert.ok(sentAsSecret(container, `envs.${index}`));
        });

        it("logs in to the upstream with secret credentials", async () => {
            const { env, container } = await deploy({ upstream: "https://ghcr.io", upstreamUsername: "bot", upstreamPassword: pulumi.secret("token") });
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://ghcr.io");
            assert.equal(env.REGISTRY_PROXY_USERNAME, "bot");
            assert.equal(env.REGISTRY_PROXY_PASSWORD, "token");
            const index = container.inputs.envs.findIndex((e: string) => e.startsWith("REGISTRY_PROXY_PASSWORD="));
            assert.ok(sentAsSecret(container, `envs.${index}`));
        });

        it("accepts pushes behind htpasswd in private mode, the file uploaded as a secret with hashes only", async () => {
            const { env, captured, component, container, upload, uploadIndex } = await deploy({
                mode: "private",
                users: [{ username: "ci" }, { username: "alice", password: pulumi.secret("correct horse") }],
            });
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, undefined);
            assert.equal(env.REGISTRY_AUTH, "htpasswd");
            const htpasswd = upload(env.REGISTRY_AUTH_HTPASSWD_PATH)!;
            const lines = Object.fromEntries(htpasswd.trim().split("\n").map((line) => line.split(/:(.*)/s).slice(0, 2)));
            assert.ok(bcrypt.compareSync(captured.get(RANDOM_PASSWORD, "local-password-ci").state.result, lines.ci));
            assert.ok(bcrypt.compareSync("correct horse", lines.alice));
            assert.ok(sentAsSecret(container, `uploads.${uploadIndex(env.REGISTRY_AUTH_HTPASSWD_PATH)}.content`));
            assert.ok(await isSecret(component.userPasswords));
            assert.equal((await valueOf(component.userPasswords)).alice, "correct horse");
            assert.equal(await valueOf(component.mirrorUrl), undefined);
        });
    });

    describe("a mirror of a private upstream", () => {
        it("trusts the upstream's CA: a public file in a directory of SSL_CERT_DIR, after the system's roots", async () => {
            let upstream!: LocalRegistry;
            const captured = await capture(() => {
                upstream = new LocalRegistry("images", { mode: "private", alias: "images" });
                const args = { networkName: upstream.networkName, upstream: `https://${upstream.registryHost}`, upstreamCaCertPem: upstream.caCertPem };
                new LocalRegistry("local", args, { dependsOn: [upstream] });
            });
            const { env, upload } = containerOf(captured);
            // The registry pings its upstream when it starts: with dependsOn, the mirror is registered only once the upstream's container is up.
            const mirrorComponent = captured.resources.find((r) => r.type === COMPONENT && r.name === "local")!;
            assert.ok(mirrorComponent.options.dependsOn.includes(containerOf(captured, "images").container.urn), "ordered after the upstream's container");
            assert.equal(env.REGISTRY_PROXY_REMOTEURL, "https://images:5000");
            assert.equal(env.SSL_CERT_DIR, "/etc/ssl/certs:/etc/distribution/upstream-ca");
            const trusted = upload("/etc/distribution/upstream-ca/ca.crt");
            assert.equal(trusted, await valueOf(upstream.caCertPem), "the upstream's own CA");
            assert.ok(!(await isSecret(upstream.caCertPem)), "a CA certificate is public: the uploads are secret only as a list holding the key");
            const served = new crypto.X509Certificate(containerOf(captured, "images").upload("/etc/distribution/tls/tls.crt")!);
            assert.ok(served.checkIssued(new crypto.X509Certificate(trusted!)), "the upstream's certificate chains to the trusted CA");
            assert.equal(served.checkHost("images"), "images", "and names the host of the upstream URL");
        });

        it("takes a bundle of several CAs as given, and sets the cache's expiry", async () => {
            const bundle = testCa("first upstream CA").certPem + testCa("second upstream CA").certPem;
            const { env, upload } = await deploy({ upstream: "https://images.example.com", upstreamCaCertPem: bundle, cacheTtl: "24h" });
            assert.equal(upload("/etc/distribution/upstream-ca/ca.crt"), bundle);
            assert.equal(env.REGISTRY_PROXY_TTL, "24h");
        });

        it("trusts only the system's roots and keeps the registry's expiry when not told otherwise", async () => {
            const { env, upload } = await deploy();
            assert.equal(env.SSL_CERT_DIR, undefined);
            assert.equal(env.REGISTRY_PROXY_TTL, undefined);
            assert.equal(upload("/etc/distribution/upstream-ca/ca.crt"), undefined);
        });
    });

    describe("the container", () => {
        it("keeps images on a named volume, retained for a private registry or when the user names it", async () => {
            const mirror = await deploy();
            const volume = mirror.captured.only(VOLUME);
            assert.equal(volume.inputs.name, "dind-test-local-registry");
            assert.deepEqual(mirror.inputs.mounts, [{ type: "volume", source: volume.state.name, target: "/var/lib/registry" }]);
            assert.equal(volume.options.retainOnDelete, false, "a mirror's cache goes with it");
            assert.equal(await valueOf(mirror.component.volumeName), volume.state.name);

            const kept = await deploy({ mode: "private", volumeName: "old-registry-data" });
            assert.equal(kept.captured.only(VOLUME).inputs.name, "old-registry-data");
            assert.equal(kept.captured.only(VOLUME).options.retainOnDelete, true, "pushed images outlive pulumi destroy");

            const named = await deploy({ volumeName: "shared-cache" });
            assert.equal(named.captured.only(VOLUME).options.retainOnDelete, true, "a volume the user named is theirs, and a mirror's destroy leaves it");
        });

        it("is healthy once / answers over HTTPS, and pulumi up waits for that", async () => {
            const { inputs } = await deploy();
            const [kind, command] = inputs.healthcheck.tests;
            assert.equal(kind, "CMD-SHELL");
            assert.match(command, /wget .*https:\/\/localhost:5000\/ \|\| curl .*https:\/\/localhost:5000\//);
            assert.equal(inputs.healthcheck.startInterval, undefined, "Docker < 25 refuses a start interval");
            assert.equal(inputs.wait, true);
            assert.ok(inputs.waitTimeout >= 30);
        });

        it("comes back with the host, without privileges or capabilities", async () => {
            const { inputs } = await deploy();
            assert.equal(inputs.restart, "unless-stopped");
            assert.notEqual(inputs.privileged, true);
            assert.deepEqual(inputs.capabilities, { drops: ["ALL"] });
            assert.deepEqual(inputs.securityOpts, ["no-new-privileges:true"]);
        });
    });

    describe("bad input", () => {
        const cases: [string, LocalRegistryArgs, RegExp][] = [
            ["an unknown mode", { mode: "cache" as any }, /^args\.mode: expected one of "mirror", "private"/],
            ["users on a mirror", { users: [{ username: "ci" }] }, /^args\.users: expected no users in mirror mode/],
            ["an http upstream", { upstream: "http://ghcr.io" }, /^args\.upstream: expected an https:\/\//],
            ["an empty network name", { networkName: "" }, /^args\.networkName: expected a Docker network name .*, got ""$/],
            ["args that are null", null as any, /^args: expected an object with mode, .*, got null$/],
            ["args that are a string", "mirror" as any, /^args: expected an object with mode, .*, got "mirror"$/],
            ["an unknown argument", { networkname: "ci-net" } as any, /^args\.networkname: expected no such key: the keys are mode, .*networkName.*, got "a value"$/],
            ["a misspelt argument holding a password", { upstreamPasword: "hunter2" } as any, /^args\.upstreamPasword: expected no such key: .*, got "a value"$/],
            ["the host network", { networkName: "host" }, /^args\.networkName: expected a user-defined network \(not "host", "bridge", "none", "default" or "container:\.\.\."\, .*\), got "host"$/],
            ["the default bridge", { networkName: "bridge" }, /^args\.networkName: expected a user-defined network .*, got "bridge"$/],
            ["no network", { networkName: "none" }, /^args\.networkName: expected a user-defined network .*, got "none"$/],
            ["another container's network", { networkName: "container:registry" }, /^args\.networkName: expected a user-defined network .*, got "container:registry"$/],
            ["a network name Docker refuses", { networkName: "ci/net" }, /^args\.networkName: expected a Docker network name .*, got "ci\/net"$/],
            ["localhost as alias, which each daemon is to itself", { alias: "localhost", port: 5443 }, /^args\.alias: expected a name other than "localhost", which is each daemon on the network itself .*, got "localhost"$/],
            ["an MTU for a network it does not create", { networkName: "ci-net", mtu: 1400 }, /^args\.mtu: expected to be left out with networkName/],
            ["an MTU out of range", { mtu: 20 }, /^args\.mtu: expected an integer from 68 to 65535, got 20/],
            ["an alias that is no DNS name", { alias: "my_registry" }, /^args\.alias: expected a DNS name/],
            ["an upper-case alias", { alias: "Registry" }, /^args\.alias: expected a lower-case DNS name/],
            ["port 0", { port: 0 }, /^args\.port: expected an integer from 1 to 65535, got 0$/],
            ["a port out of range", { port: 70000 }, /^args\.port: expected an integer from 1 to 65535/],
            ["a volume name Docker refuses", { volumeName: "-data" }, /^args\.volumeName: expected a Docker volume name/],
            ["keepImageLocally that is no boolean", { keepImageLocally: "yes" as any }, /^args\.keepImageLocally: expected true or false/],
            ["a hostname that is no DNS name", { hostnames: ["a b"] }, /^args\.hostnames\[0\]: expected a DNS name/],
            ["a CA certificate without its key", { caCertPem: "-----BEGIN CERTIFICATE-----" }, /^args\.caKeyPem: expected the private key/],
            ["a brought certificate without its key", { alias: "mirror", caCertPem: testCa().certPem, tlsCertPem: testServerCertificate("mirror").certPem }, /^args\.tlsKeyPem: expected tlsCertPem and tlsKeyPem together, or neither, got nothing/],
            ["a brought certificate without its CA", { alias: "mirror", tlsCertPem: testServerCertificate("mirror").certPem, tlsKeyPem: testServerCertificate("mirror").keyPem }, /^args\.caCertPem: expected the CA that issued args\.tlsCertPem/],
            ["a brought certificate with a CA key", { alias: "mirror", caCertPem: testCa().certPem, caKeyPem: testCa().keyPem, tlsCertPem: testServerCertificate("mirror").certPem, tlsKeyPem: testServerCertificate("mirror").keyPem }, /^args\.caKeyPem: expected to be left out with args\.tlsCertPem/],
            ["a CA as the server certificate", { alias: "mirror", caCertPem: testCa().certPem, tlsCertPem: testCa().certPem, tlsKeyPem: testCa().keyPem }, /^args\.tlsCertPem: expected a server certificate, not a CA/],
            ["a server certificate as the CA", { alias: "mirror", caCertPem: testServerCertificate("other").certPem, tlsCertPem: testServerCertificate("mirror").certPem, tlsKeyPem: testServerCertificate("mirror").keyPem }, /^args\.caCertPem: expected a CA certificate (\(basicConstraints CA:TRUE\)|whose key usage includes keyCertSign)/],
            ["a brought certificate not issued by the CA", { alias: "mirror", caCertPem: testCa("another CA").certPem, tlsCertPem: testServerCertificate("mirror").certPem, tlsKeyPem: testServerCertificate("mirror").keyPem }, /^args\.tlsCertPem: expected a certificate issued by args\.caCertPem/],
            ["a key that is not the brought certificate's", { alias: "mirror", caCertPem: testCa().certPem, tlsCertPem: testServerCertificate("mirror").certPem, tlsKeyPem: testCa().keyPem }, /^args\.tlsKeyPem: expected the private key of args\.tlsCertPem .*, got "a secret of \d+ bytes"$/],
            ["a brought certificate without the registry's name", { alias: "mirror", caCertPem: testCa().certPem, tlsCertPem: testServerCertificate("other").certPem, tlsKeyPem: testServerCertificate("other").keyPem }, /^args\.tlsCertPem: expected a certificate whose subjectAltName has mirror, got "DNS:other"/],
        ];
        for (const [what, args, message] of [...cases, ...(badUpstreamTrustCases() as [string, LocalRegistryArgs, RegExp][])]) {
            it(`rejects ${what}, registering nothing`, async () => {
                const { error, registered } = await captureFailure(() => new LocalRegistry("local", args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }

        it("rejects a component name that cannot be its alias, unless an alias is given", async () => {
            const { error, registered } = await captureFailure(() => new LocalRegistry("Registry", {}));
            assert.match(error.message, /^name \(it names the registry on its network when args\.alias is not given\): expected a lower-case DNS name/);
            assert.equal(registered, 0);
            let component!: LocalRegistry;
            await capture(() => (component = new LocalRegistry("Registry", { alias: "registry" })));
            assert.equal(component.registryHost, "registry:5000");
        });

        it("rejects a component name Docker refuses in container names, even with an alias", async () => {
            const { error, registered } = await captureFailure(() => new LocalRegistry("my registry", { alias: "registry" }));
            assert.match(error.message, /^name \(it begins the names of the registry's container and network\): expected a name Docker accepts for containers .*, got "my registry"$/);
            assert.equal(registered, 0);
        });

        it("checks the program's config without a network, which the program provides", () => {
            assert.equal(validateLocalRegistryArgs({ mode: "mirror" }, "dind:selfHostedRegistry.").networkName, undefined);
            assert.throws(() => validateLocalRegistryArgs({ port: -1 }, "dind:selfHostedRegistry."), /^InvalidArgumentError: dind:selfHostedRegistry\.port:/);
        });
    });
});
