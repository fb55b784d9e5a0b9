import { strict as assert } from "assert";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { capture, isSecret, valueOf } from "./harness";
import { testCa } from "./pems";
import { caCertificates, pemCertificates, serverCertificate } from "../components/validation";
import {
    DEFAULT_REGISTRY_IMAGE,
    certificateNames,
    createRegistryCredentials,
    htpasswdFile,
    htpasswdHash,
    registryEnvironment,
    registrySecretEnvironment,
    registrySecretValues,
    serviceDnsNames,
    validateRegistryArgs,
    validateStorage,
} from "../components/registrySettings";

const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

describe("registry settings", () => {
    describe("validateRegistryArgs", () => {
        it("defaults to an anonymous mirror of Docker Hub on a pinned registry:3", () => {
            const settings = validateRegistryArgs({}, "args.");
            assert.equal(settings.mode, "mirror");
            assert.equal(settings.upstream, "https://registry-1.docker.io");
            assert.equal(settings.upstreamCredentials, undefined);
            assert.deepEqual(settings.users, []);
            assert.deepEqual(settings.hostnames, []);
            assert.equal(settings.ca, undefined);
            assert.equal(settings.image, DEFAULT_REGISTRY_IMAGE);
            assert.match(DEFAULT_REGISTRY_IMAGE, /^registry:3\.\d+\.\d+$/);
        });

        it("has no upstream in private mode", () => {
            assert.equal(validateRegistryArgs({ mode: "private" }, "args.").upstream, undefined);
        });

        it("leaves secrets that are Outputs to the engine, and keeps them as given", () => {
            const password = pulumi.secret("from config");
            const settings = validateRegistryArgs(
                { mode: "private", users: [{ username: "ci", password }, { username: "bot" }] },
                "args.",
            );
            assert.equal(settings.users[0].password, password);
            assert.equal(settings.users[1].password, undefined);
            const mirror = validateRegistryArgs({ upstreamUsername: "bot", upstreamPassword: password }, "args.");
            assert.equal(mirror.upstreamCredentials?.password, password);
        });

        it("checks a brought CA's certificate only when it is known, and accepts one that matches its key", () => {
            const ca = testCa();
            assert.ok(validateRegistryArgs({ caCertPem: ca.certPem, caKeyPem: ca.keyPem }, "args.").ca);
            assert.ok(validateRegistryArgs({ caCertPem: pulumi.output("later"), caKeyPem: pulumi.secret("later") }, "args.").ca);
        });

        it("keeps a mirror's upstream CAs and cache expiry, checking a plain bundle now and leaving an Output to the engine", () => {
            const bundle = testCa("first upstream CA").certPem + testCa("second upstream CA").certPem;
            const settings = validateRegistryArgs({ upstream: "https://images.internal:5000", upstreamCaCertPem: bundle, cacheTtl: "1h30m" }, "args.");
            assert.equal(settings.upstreamCaCertPem, bundle);
            assert.equal(settings.cacheTtl, "1h30m");
            const later = pulumi.output("a CA from another registry");
            assert.equal(validateRegistryArgs({ upstreamCaCertPem: later }, "args.").upstreamCaCertPem, later);
            assert.equal(validateRegistryArgs({ cacheTtl: "0" }, "args.").cacheTtl, "0", "0 keeps the cache for ever");
            assert.equal(validateRegistryArgs({ upstreamCaCertPem: bundle }, "args.").upstream, "https://registry-1.docker.io", "a CA for Docker Hub, e.g. an intercepting proxy's");
        });

        it("never prints a private key pasted where a certificate belongs", () => {
            const ca = testCa();
            const body = ca.keyPem.split("\n")[1];
            for (const [argument, check] of [["args.upstreamCaCertPem", pemCertificates], ["args.caCertPem", caCertificates], ["args.tlsCertPem", serverCertificate]] as const) {
                for (const given of [ca.keyPem, ca.certPem + ca.keyPem]) {
                    assert.throws(
                        () => check(given, argument),
                        (error: Error) => error.message.startsWith(`${argument}: expected `) && error.message.includes("and no private key") && !error.message.includes(body.slice(0, 16)),
                    );
                }
            }
            assert.throws(() => validateRegistryArgs({ upstreamCaCertPem: ca.keyPem }, "args."), (error: Error) => !error.message.includes(body.slice(0, 16)));
        });

        it("names arguments with the caller's prefix", () => {
            assert.throws(() => validateRegistryArgs({ mode: "push" as any }, "dind:selfHostedRegistry."), /^InvalidArgumentError: dind:selfHostedRegistry\.mode:/);
        });
    });

    describe("validateStorage", () => {
        it("defaults to an emptyDir for a mirror and a claim for a private registry, both 20Gi", () => {
            assert.deepEqual(validateStorage(undefined, "mirror", "args.storage"), { kind: "emptyDir", size: "20Gi" });
            assert.deepEqual(validateStorage(undefined, "private", "args.storage"), { kind: "claim", size: "20Gi", storageClass: undefined });
        });

        it("puts a mirror on a claim when asked, and reuses an existing claim", () => {
            assert.deepEqual(validateStorage({ persistent: true, size: "100Gi", storageClass: "fast.ssd" }, "mirror", "args.storage"), {
                kind: "claim",
                size: "100Gi",
                storageClass: "fast.ssd",
            });
            assert.deepEqual(validateStorage({ existingClaim: "kept" }, "private", "args.storage"), { kind: "existingClaim", claimName: "kept" });
            assert.deepEqual(validateStorage({ existingClaim: "kept" }, "mirror", "args.storage"), { kind: "existingClaim", claimName: "kept" });
        });

        it("rejects settings that contradict each other", () => {
            assert.throws(() => validateStorage({ persistent: false, existingClaim: "kept" }, "private", "s"), /^InvalidArgumentError: s\.persistent: expected true \(or nothing\) with s\.existingClaim/);
            assert.throws(() => validateStorage({ existingClaim: "kept", storageClass: "fast" }, "private", "s"), /^InvalidArgumentError: s\.storageClass: expected nothing with s\.existingClaim/);
            assert.throws(() => validateStorage({ persistent: false, storageClass: "fast" }, "private", "s"), /^InvalidArgumentError: s\.storageClass: expected nothing for an emptyDir/);
            assert.throws(() => validateStorage({ persistent: "yes" as any }, "private", "s"), /^InvalidArgumentError: s\.persistent: expected true or false/);
            assert.throws(() => validateStorage({ persistent: true, storageClass: "Fast" }, "mirror", "s"), /^InvalidArgumentError: s\.storageClass: expected a lower-case DNS name/);
        });
    });

    describe("registryEnvironment", () => {
        const base = {
            REGISTRY_HTTP_ADDR: ":5000",
            REGISTRY_HTTP_TLS_CERTIFICATE: "/etc/distribution/tls/tls.crt",
            REGISTRY_HTTP_TLS_KEY: "/etc/distribution/tls/tls.key",
            REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/var/lib/registry",
            OTEL_TRACES_EXPORTER: "none",
        };

        it("makes a mirror a pull-through cache whose expiry frees space", () => {
            assert.deepEqual(registryEnvironment({ mode: "mirror", upstream: "https://ghcr.io", users: [] }), {
                ...base,
                REGISTRY_PROXY_REMOTEURL: "https://ghcr.io",
                REGISTRY_STORAGE_DELETE_ENABLED: "true",
            });
        });

        it("trusts a mirror's upstream CAs beside the system's roots, and passes the cache's expiry as proxy.ttl", () => {
            assert.deepEqual(registryEnvironment({ mode: "mirror", upstream: "https://images.internal", upstreamCaCertPem: "PEM", cacheTtl: "168h", users: [] }), {
                ...base,
                REGISTRY_PROXY_REMOTEURL: "https://images.internal",
                REGISTRY_STORAGE_DELETE_ENABLED: "true",
                REGISTRY_PROXY_TTL: "168h",
                SSL_CERT_DIR: "/etc/ssl/certs:/etc/distribution/upstream-ca",
            });
        });

        it("makes a private registry with users ask for htpasswd credentials, and one without ask for none", () => {
            assert.deepEqual(registryEnvironment({ mode: "private", users: [{ username: "ci" }] }), {
                ...base,
                REGISTRY_AUTH: "htpasswd",
                REGISTRY_AUTH_HTPASSWD_REALM: "pulumi-dind registry",
                REGISTRY_AUTH_HTPASSWD_PATH: "/etc/distribution/auth/htpasswd",
            });
            assert.deepEqual(registryEnvironment({ mode: "private", users: [] }), base);
        });

        it("keeps the HTTP secret and upstream credentials out of the plain environment", () => {
            const credentials = { username: "bot", password: "token" };
            assert.deepEqual(registrySecretEnvironment({}), { REGISTRY_HTTP_SECRET: "http-secret" });
            assert.deepEqual(registrySecretEnvironment({ upstreamCredentials: credentials }), {
                REGISTRY_HTTP_SECRET: "http-secret",
                REGISTRY_PROXY_USERNAME: "proxy-username",
                REGISTRY_PROXY_PASSWORD: "proxy-password",
            });
            assert.deepEqual(registrySecretValues({ upstreamCredentials: credentials }, "s3cret"), {
                "http-secret": "s3cret",
                "proxy-username": "bot",
                "proxy-password": "token",
            });
            for (const value of Object.values(registryEnvironment({ mode: "mirror", upstream: "https://ghcr.io", users: [] }))) {
                assert.ok(!["token", "s3cret"].includes(value));
            }
        });
    });

    describe("certificate names", () => {
        it("names a Service the four ways pods reach it", () => {
            assert.deepEqual(serviceDnsNames("registry", "ci"), ["registry", "registry.ci", "registry.ci.svc", "registry.ci.svc.cluster.local"]);
        });

        it("adds the user's names after the registry's own, each once", () => {
            const names = certificateNames(
                { dnsNames: ["registry", "localhost"], ipAddresses: ["127.0.0.1"] },
                { hostnames: ["Registry.Example.com", "localhost"], ipAddresses: ["127.0.0.1", "10.0.0.5"] },
            );
            assert.deepEqual(names, { dnsNames: ["registry", "localhost", "registry.example.com"], ipAddresses: ["127.0.0.1", "10.0.0.5"] });
        });
    });

    describe("htpasswd", () => {
        it("writes one user:hash line per user", () => {
            assert.equal(htpasswdFile([{ username: "a", hash: "$2a$x" }, { username: "b", hash: "$2a$y" }]), "a:$2a$x\nb:$2a$y\n");
            assert.equal(htpasswdFile([]), "");
        });

        it("hashes with bcrypt, the same way for the same seed and differently for another", () => {
            const hash = htpasswdHash("correct horse", "seed-1");
            assert.match(hash, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
            assert.ok(bcrypt.compareSync("correct horse", hash));
            assert.ok(!bcrypt.compareSync("wrong horse", hash));
            assert.equal(htpasswdHash("correct horse", "seed-1"), hash);
            assert.notEqual(htpasswdHash("correct horse", "seed-2"), hash);
            assert.ok(bcrypt.compareSync("pässwörd ✓", htpasswdHash("pässwörd ✓", "seed-1")));
        });

        it("generates missing passwords and salts given ones, one resource per user named after it, all secret", async () => {
            let credentials!: ReturnType<typeof createRegistryCredentials>;
            const captured = await capture(() => {
                credentials = createRegistryCredentials("r", [{ username: "ci" }, { username: "alice", password: "given" }], {});
            });
            assert.deepEqual(captured.ofType(RANDOM_PASSWORD).map((r) => r.name).sort(), ["r-password-ci", "r-salt-alice"]);
            const generated = captured.get(RANDOM_PASSWORD, "r-password-ci");
            assert.equal(generated.inputs.length, 32);
            assert.equal(generated.inputs.special, false, "pasted into `docker login`, so no shell-special characters");
            assert.ok(await isSecret(credentials.htpasswd));
            assert.ok(await isSecret(credentials.passwords));
            const file = await valueOf(credentials.htpasswd);
            assert.equal(file, `ci:${generated.state.bcryptHash}\nalice:${htpasswdHash("given", captured.get(RANDOM_PASSWORD, "r-salt-alice").state.result)}\n`);
            assert.deepEqual(await valueOf(credentials.passwords), { ci: generated.state.result, alice: "given" });
        });

        it("registers nothing without users", async () => {
            let credentials!: ReturnType<typeof createRegistryCredentials>;
            const captured = await capture(() => {
                credentials = createRegistryCredentials("r", [], {});
            });
            assert.equal(captured.resources.length, 0);
            assert.equal(await valueOf(credentials.htpasswd), "");
            assert.deepEqual(await valueOf(credentials.passwords), {});
        });
    });
});
