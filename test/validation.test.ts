/**
 * Hostile and careless input to the checks every component shares: what each
 * refuses, the message it gives, and what a message never contains.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DaemonArgs, RegistryWiring, dockerdArgs, validateDaemonArgs } from "../components/daemon";
import { validateRegistryArgs } from "../components/registrySettings";
import { ContainerResources, InvalidArgumentError, containerResources, describe as describeValue, imageReference, knownArgs, registryMirrorUrl, quantity, registryHost } from "../components/validation";
import { assertGolden } from "./support/golden";
import { testCa, testOddCa, testServerCertificate } from "./pems";

/** Runs `check` and returns its message; fails if it accepts the input. */
function refusal(check: () => unknown): string {
    try {
        check();
    } catch (error) {
        assert.ok(error instanceof InvalidArgumentError, `not an InvalidArgumentError: ${error}`);
        return error.message;
    }
    assert.fail("accepted");
}

const SECRET = "hunter2-do-not-print";

describe("shared input checks", () => {
    describe("certificate inputs hold usable certificates only", () => {
        const unusable = (): [string, string, RegExp][] => [
            ["an expired CA", testOddCa("old", { endDate: "20210101000000Z" }), /expected a certificate valid now, not an expired one, got "the block: CN=old, expired Jan  1 00:00:00 2021 GMT"$/],
            ["a CA not valid yet", testOddCa("early", { startDate: "20980101000000Z" }), /expected a certificate valid now, not one that is not yet valid, got "the block: CN=early, valid from Jan  1 00:00:00 2098 GMT"$/],
            ["a certificate that is no CA", testOddCa("leaf", { basicConstraints: "critical,CA:FALSE", keyUsage: "critical,digitalSignature" }), /expected a CA certificate whose key usage includes keyCertSign/],
            ["a CA:FALSE certificate that may sign", testOddCa("leafsign", { basicConstraints: "critical,CA:FALSE" }), /expected a CA certificate \(basicConstraints CA:TRUE\), got "the block: CN=leafsign"$/],
            ["a CA without keyCertSign", testOddCa("nosign", { keyUsage: "critical,digitalSignature,cRLSign" }), /expected a CA certificate whose key usage includes keyCertSign \(certificate signing\), got "the block: CN=nosign"$/],
            ["a good CA followed by an expired one", testCa().certPem + testOddCa("old2", { endDate: "20210101000000Z" }), /got "block 2 of 2: CN=old2, expired/],
            ["a CA with its key appended", testCa().certPem + testCa().keyPem, /and no private key, got "a secret of \d+ bytes"$/],
        ];
        const inputs: [string, (pem: string) => unknown][] = [
            ["args.registries[0].caCertPem", (pem) => validateDaemonArgs({ registries: [{ host: "r:5000", caCertPem: pem }] }, "args.")],
            ["args.upstreamCaCertPem", (pem) => validateRegistryArgs({ upstreamCaCertPem: pem }, "args.")],
            ["args.caCertPem", (pem) => validateRegistryArgs({ caCertPem: pem, caKeyPem: testCa().keyPem }, "args.")],
        ];
        for (const [argument, check] of inputs) {
            it(`${argument} refuses each unusable CA by name, printing no key`, () => {
                for (const [what, pem, message] of unusable()) {
                    const text = refusal(() => check(pem));
                    assert.ok(text.startsWith(`${argument}: `), `${what}: ${text}`);
                    assert.match(text, message, what);
                    assert.ok(!text.includes("PRIVATE KEY") && !text.includes(testCa().keyPem.split("\n")[1]), `${what} printed a key`);
                }
            });
        }

        it("takes a CA that states no key usage, as Go and RFC 5280 allow", () => {
            const bare = testOddCa("bare", { keyUsage: "" }).trim();
            assert.doesNotThrow(() => validateDaemonArgs({ registries: [{ host: "r:5000", caCertPem: bare }] }, "args."));
        });

        it("refuses an expired server certificate the registry would serve", () => {
            const server = testServerCertificate("registry.internal");
            const ca = testCa();
            // testServerCertificate is valid for 2 days: a check dated later sees it expired.
            const later = () => validateRegistryArgs({ caCertPem: ca.certPem, tlsCertPem: server.certPem, tlsKeyPem: server.keyPem }, "args.");
            assert.doesNotThrow(later);
            const { serverCertificate } = require("../components/validation");
            assert.match(refusal(() => serverCertificate(server.certPem, "args.tlsCertPem", new Date(Date.now() + 3 * 86400_000))), /^args\.tlsCertPem: expected a certificate valid now, not an expired one/);
        });

        it("refuses a CA key that does not belong to the CA, without printing it", () => {
            const text = refusal(() => validateRegistryArgs({ caCertPem: testCa().certPem, caKeyPem: testCa("another CA").keyPem }, "args."));
            assert.match(text, /^args\.caKeyPem: expected the private key of args\.caCertPem \(CN=test CA\), got "a secret of \d+ bytes"$/);
        });
    });

    describe("errors never print secrets", () => {
        const cases: [string, () => unknown][] = [
            ["credentials in a mirror URL", () => registryMirrorUrl(`https://ci:${SECRET}@mirror:5000`, "args.registryMirrors[0]")],
            ["credentials in an upstream URL", () => validateRegistryArgs({ upstream: `https://ci:${SECRET}@registry.example.com` }, "args.")],
            ["a password under a misspelt key", () => validateRegistryArgs({ mode: "private", users: [{ username: "ci", pasword: SECRET } as any] }, "args.")],
            ["a password under an unknown key of a component", () => knownArgs({ upstreamPasword: SECRET } as any, ["upstreamPassword"] as any, "args.")],
            ["a token among other fields", () => validateDaemonArgs({ registries: [{ host: "r", token: SECRET } as any] }, "args.")],
            ["a private key pasted as a CA", () => validateDaemonArgs({ registries: [{ host: "r", caCertPem: `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n` }] }, "args.")],
            ["a password that is too long for bcrypt", () => validateRegistryArgs({ mode: "private", users: [{ username: "ci", password: SECRET.repeat(10) }] }, "args.")],
        ];
        for (const [what, check] of cases) {
            it(`keeps ${what} out of the message`, () => {
                const text = refusal(check);
                assert.ok(!text.includes(SECRET), text);
                assert.ok(!text.includes("hunter2"), text);
            });
        }

        it("describes nested secrets by their key, not their value", () => {
            assert.equal(describeValue({ username: "ci", password: SECRET }), '{"username":"ci","password":"[secret]"}');
            assert.equal(describeValue(`see https://u:${SECRET}@host/x`), '"see https://[credentials]@host/x"');
        });
    });

    describe("values are shown as given", () => {
        const cases: [unknown, string][] = [
            [NaN, "NaN"],
            [Infinity, "Infinity"],
            [-Infinity, "-Infinity"],
            [BigInt(12), "12n"],
            [{ mtu: NaN }, '{"mtu":NaN}'],
            [[1n, null], "[1n,null]"],
            [() => 1, "a function"],
            [pulumi.output("x"), "an Output"],
        ];
        for (const [value, shown] of cases) {
            it(`shows ${shown} as ${shown}`, () => {
                assert.equal(describeValue(value), shown);
                assert.match(refusal(() => validateDaemonArgs({ mtu: value as number }, "args.")), new RegExp(`^args\\.mtu: expected an integer from 68 to 65535, got ${escape(shown)}$`));
            });
        }
    });

    describe("a component's own args", () => {
        const cases: [string, unknown, RegExp][] = [
            ["null", null, /^args: expected an object with a, b, got null$/],
            ["a list", ["a"], /^args: expected an object with a, b, got \["a"\]$/],
            ["a string", "a=1", /^args: expected an object with a, b, got "a=1"$/],
            ["an unknown key", { a: 1, c: SECRET }, /^args\.c: expected no such key: the keys are a, b, got "a value"$/],
            ["__proto__", JSON.parse('{"__proto__": {"a": 1}}'), /^args\.__proto__: expected no such key/],
            ["constructor", { constructor: 1 }, /^args\.constructor: expected no such key/],
        ];
        for (const [what, args, message] of cases) {
            it(`refuses ${what}`, () => {
                assert.match(refusal(() => knownArgs(args as { a?: number; b?: number }, ["a", "b"], "args.")), message);
            });
        }

        it("names a config namespace's keys as the stack file writes them", () => {
            assert.match(refusal(() => knownArgs({ c: 1 } as { a?: number }, ["a"], "dind:")), /^dind:c: /);
        });
    });

    describe("mirror URLs are taken as written or refused", () => {
        const cases: [string, string, RegExp][] = [
            ["a space", "https://mirror :5000", /printable ASCII without spaces/],
            ["a trailing newline", "https://mirror:5000\n", /printable ASCII/],
            ["a tab inside", "https://mir\tror", /printable ASCII/],
            ["a NUL", "https://mirror\u0000.example.com", /printable ASCII/],
            ["a trailing ?", "https://mirror:5000?", /no path, query, fragment or credentials/],
            ["a trailing #", "https://mirror:5000#", /no path, query, fragment or credentials/],
            ["a Unicode lookalike host", "https://mіrror.example.com", /xn-- form/],
            ["a backslash the parser would turn into a path", "https://mirror\\@evil", /'\\'/],
            ["a percent-encoded host", "https://mirror%2eexample.com", /'%'/],
            ["an empty user", "https://@mirror", /credentials/],
            ["a path", "https://mirror/v2/", /no path/],
            ["an upper-case scheme", "HTTPS://mirror", /an https:\/\/ URL/],
        ];
        for (const [what, url, message] of cases) {
            it(`refuses ${what}`, () => {
                const text = refusal(() => registryMirrorUrl(url, "args.registryMirrors[0]"));
                assert.ok(text.startsWith("args.registryMirrors[0]: expected an https:// URL"), text);
                assert.match(text, message);
            });
        }

        it("takes a punycode host and a default port as written", () => {
            assert.equal(registryMirrorUrl("https://xn--bcher-kva.example:443/", "m"), "https://xn--bcher-kva.example:443");
        });
    });

    describe("image references are what Docker and the kubelet can pull", () => {
        for (const image of ["docker:29 dind", "docker:29-dind\n", "Docker:29-dind", "docker:-29", "docker@sha256:abc", "https://docker.io/docker:29", "docker::29", "", "a/../b:1", "docker:29;rm -rf /"]) {
            it(`refuses ${JSON.stringify(image)}`, () => {
                assert.match(refusal(() => imageReference(image, "args.dindImage")), /^args\.dindImage: expected an image reference such as docker:29-dind/);
            });
        }
        for (const image of ["docker:29-dind", "pulumi-dind-e2e/dind:latest", "registry.internal:5000/team/dind:29", `docker@sha256:${"a".repeat(64)}`, `localhost:5000/dind:1.2_rc-1@sha256:${"0".repeat(64)}`, "[::1]:5000/dind"]) {
            it(`takes ${image}`, () => {
                assert.equal(imageReference(image, "args.dindImage"), image);
            });
        }
    });

    describe("registry hosts name directories, so they never climb out of certs.d", () => {
        for (const host of ["..", "../etc", "a/../b", "..:5000", "a..b", ".", "r.:5000", "-r", "r_1:5000", "[::1", "r:5000:1"]) {
            it(`refuses ${JSON.stringify(host)}`, () => {
                assert.match(refusal(() => registryHost(host, "args.registries[0].host")), /^args\.registries\[0\]\.host: expected a registry host/);
            });
        }
    });

    describe("quantities and container resources", () => {
        const defaults: ContainerResources = {};
        const cases: [string, unknown, RegExp][] = [
            ["a zero limit, which the kubelet reads as none", { limits: { memory: "0" } }, /^r\.limits\.memory: expected a quantity above 0 .*got "0"$/],
            ["a zero with a unit", { limits: { cpu: "0m" } }, /^r\.limits\.cpu: expected a quantity above 0/],
            ["a request above its limit", { requests: { memory: "8Gi" }, limits: { memory: "4Gi" } }, /^r\.requests\.memory: expected at most the limit, 4Gi .*got "8Gi"$/],
            ["a request above its limit in other units", { requests: { cpu: "1.5" }, limits: { cpu: "1200m" } }, /^r\.requests\.cpu: expected at most the limit, 1200m/],
            ["a misspelt resource", { requests: { mem: "1Gi" } }, /^r\.requests: expected resources named cpu, memory, .*got "mem"$/],
            ["an upper-case resource", { limits: { CPU: "1" } }, /^r\.limits: expected resources named/],
            ["an unknown section", { limit: { cpu: "1" } }, /^r\.limit: expected no such key: the keys are requests, limits/],
            ["a number amount", { limits: { cpu: 1 } }, /^r\.limits\.cpu: expected a string, got 1$/],
            ["null", null, /^r: expected an object with requests, limits, got null$/],
        ];
        for (const [what, value, message] of cases) {
            it(`refuses ${what}`, () => {
                assert.match(refusal(() => containerResources(value, "r", defaults)), message);
            });
        }

        it("takes extended resources, huge pages and equal requests and limits", () => {
            const given = { requests: { "example.com/gpu": "1", "hugepages-2Mi": "64Mi", memory: "1Gi" }, limits: { "example.com/gpu": "1", memory: "1024Mi" } };
            assert.deepEqual(containerResources(given, "r", defaults), given);
        });

        it("refuses a zero size, which leaves an emptyDir unbounded", () => {
            assert.match(refusal(() => quantity("0Gi", "args.dockerStorage.size")), /^args\.dockerStorage\.size: expected a quantity above 0/);
        });
    });

    describe("the daemon's registries and mirrors say one thing each", () => {
        const ca = () => testCa().certPem;
        const wired: RegistryWiring = { registryHost: "mirror.dind.svc:5000", mode: "mirror", caCertPem: pulumi.output("CA") };
        const cases: [string, () => [DaemonArgs, RegistryWiring?], RegExp][] = [
            ["a CA for an insecure registry", () => [{ registries: [{ host: "r:5000", caCertPem: ca(), insecure: true }] }], /^args\.registries\[0\]\.caCertPem: expected nothing with args\.registries\[0\]\.insecure true/],
            ["an https mirror whose host is marked insecure", () => [{ registryMirrors: ["https://m:5000"], registries: [{ host: "m:5000", insecure: true }] }], /^args\.registryMirrors\[0\]: expected a mirror verified over TLS: args\.registries\[0\] marks its host insecure/],
            ["a host twice, in other case", () => [{ registries: [{ host: "r:5000" }, { host: "R:5000" }] }], /^args\.registries\[1\]\.host: expected each host once/],
            ["the wired registry again among registries", () => [{ registries: [{ host: "mirror.dind.svc:5000" }] }, wired], /^args\.registries\[0\]\.host: expected a host other than args\.registry's/],
            ["the wired mirror again among mirrors", () => [{ registryMirrors: ["https://mirror.dind.svc:5000"] }, wired], /^args\.registryMirrors\[0\]: expected a mirror other than args\.registry, which is the first mirror already/],
        ];
        for (const [what, given, message] of cases) {
            it(`refuses ${what}`, () => {
                const [args, registry] = given();
                assert.match(refusal(() => validateDaemonArgs(args, "args.", registry)), message);
            });
        }
    });

    it("takes a wired private registry listed as a mirror, for images pushed to it under Docker Hub's names", () => {
        const wiredPrivate: RegistryWiring = { registryHost: "registry:5000", mode: "private", caCertPem: pulumi.output("CA") };
        const settings = validateDaemonArgs({ registryMirrors: ["https://registry:5000"] }, "args.", wiredPrivate);
        assert.deepEqual(settings.registryMirrors, ["https://registry:5000"]);
        assert.deepEqual(settings.registries.map((r) => r.host), ["registry:5000"]);
    });

    describe("dockerd's command line, as each README example renders it", () => {
        const examples: [string, Parameters<typeof validateDaemonArgs>, "unix" | "tls" | "tcp"][] = [
            ["unix", [{}, "args."], "unix"],
            ["tls", [{}, "args."], "tls"],
            ["tcp", [{}, "args."], "tcp"],
            ["unix-wired-mirror", [{ registryMirrors: ["https://mirror.gcr.io"], mtu: 1450 }, "args.", { registryHost: "dind-registry.dind-registry.svc:5000", mode: "mirror", caCertPem: pulumi.output("CA") }], "unix"],
            ["tls-wired-private-registry", [{ registries: [{ host: "legacy.internal:5000", insecure: true }] }, "args.", { registryHost: "dind-registry:5000", mode: "private", caCertPem: pulumi.output("CA") }], "tls"],
        ];
        for (const [name, args, transport] of examples) {
            it(`renders ${name} as test/golden/dockerd-${name}.yaml holds it`, () => {
                assertGolden(`dockerd-${name}`, dockerdArgs(transport, validateDaemonArgs(...args)), `dockerd's arguments for transport ${transport} (components/daemon.ts dockerdArgs)`);
            });
        }
    });
});

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
