/** Real PEMs made once per test run, for arguments that must be certificates. */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCa {
    certPem: string;
    keyPem: string;
}

const cas = new Map<string, TestCa>();

/** A self-signed CA certificate and its key; another `name` gives another CA. */
export function testCa(name = "test CA"): TestCa {
    let cached = cas.get(name);
    if (!cached) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-ca-"));
        try {
            execFileSync("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt"), "-days", "2",
                "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ], { stdio: "pipe" });
            cached = {
                certPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"),
                keyPem: fs.readFileSync(path.join(dir, "ca.key"), "utf8"),
            };
            cas.set(name, cached);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    return cached;
}

/** A CA certificate in PEM, as a registry's CA would be given. */
export function testCertificate(): string {
    return testCa().certPem;
}

const servers = new Map<string, TestCa>();

/** A server certificate for `dnsNames` (its subjectAltName), issued by testCa(), and its key. */
export function testServerCertificate(...dnsNames: string[]): TestCa {
    const key = dnsNames.join(",");
    if (!servers.has(key)) {
        const ca = testCa();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-server-"));
        try {
            fs.writeFileSync(path.join(dir, "ca.crt"), ca.certPem);
            fs.writeFileSync(path.join(dir, "ca.key"), ca.keyPem);
            fs.writeFileSync(
                path.join(dir, "ext"),
                `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(",")}\n`,
            );
            const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
            run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${dnsNames[0]}`);
            run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext");
            servers.set(key, { certPem: fs.readFileSync(path.join(dir, "server.crt"), "utf8"), keyPem: fs.readFileSync(path.join(dir, "server.key"), "utf8") });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    return servers.get(key)!;
}

/** A public key in PEM: a block that is not a certificate. */
export function testPublicKeyPem(): string {
    return crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "pem" }) as string;
}

/**
 * What both registries must refuse about a mirror's upstream trust and cache expiry, each
 * with the message it must give (named from `args.`); built lazily so no PEM is made at import.
 */
export function badUpstreamTrustCases(): [string, Record<string, unknown>, RegExp][] {
    const ca = testCa();
    const leaf = testServerCertificate("leaf").certPem;
    const certificates = /expected one or more PEM-encoded X\.509 certificates \(-----BEGIN CERTIFICATE-----\)/.source;
    return [
        ["an upstream CA for a private registry", { mode: "private", upstreamCaCertPem: ca.certPem }, /^args\.upstreamCaCertPem: expected nothing in private mode: a registry that accepts pushes proxies no upstream, got "a value"$/],
        ["a cache TTL for a private registry", { mode: "private", cacheTtl: "1h" }, /^args\.cacheTtl: expected nothing in private mode.*, got "1h"$/],
        ["an upstream CA for an http upstream", { upstream: "http://images.internal:5000", upstreamCaCertPem: ca.certPem }, /^args\.upstreamCaCertPem: expected nothing with an http:\/\/ args\.upstream \(a CA verifies a TLS upstream; args\.upstream must be https:\/\/\), got "a value"$/],
        ["an upstream CA with its private key in it", { upstreamCaCertPem: ca.certPem + ca.keyPem }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates}, and no private key, got "a secret of \\d+ bytes"$`)],
        ["a private key as the upstream CA", { upstreamCaCertPem: ca.keyPem }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates}, and no private key, got "a secret of \\d+ bytes"$`)],
        ["an upstream CA that is no PEM", { upstreamCaCertPem: "hello" }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates}, got "hello"$`)],
        ["an upstream CA bundle with a public key in it", { upstreamCaCertPem: ca.certPem + testPublicKeyPem() }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates} and nothing else, got "block 2 of 2: PUBLIC KEY"$`)],
        ["an upstream CA block that does not parse", { upstreamCaCertPem: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n" }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates}, got "the block: a CERTIFICATE that does not parse"$`)],
        ["a server certificate in the upstream CA bundle", { upstreamCaCertPem: ca.certPem + leaf }, /^args\.upstreamCaCertPem: expected a CA certificate .*, got "block 2 of 2: CN=leaf"$/],
        ["an upstream CA that is no string", { upstreamCaCertPem: 42 }, new RegExp(`^args\\.upstreamCaCertPem: ${certificates}, got 42$`)],
        ["a cache TTL without a unit", { cacheTtl: "168" }, /^args\.cacheTtl: expected a Go duration such as "168h" or "1h30m" \(units ns, us, ms, s, m, h\), or "0", got "168"$/],
        ["a cache TTL in days", { cacheTtl: "7d" }, /^args\.cacheTtl: expected a Go duration.*, got "7d"$/],
        ["a negative cache TTL", { cacheTtl: "-1h" }, /^args\.cacheTtl: expected a Go duration.*, got "-1h"$/],
        ["a cache TTL as a number", { cacheTtl: 3600 }, /^args\.cacheTtl: expected a Go duration.*, got 3600$/],
    ];
}

/** How an unusable CA differs from testCa(): its validity period or its extensions. */
export interface OddCaOptions {
    /** openssl's YYYYMMDDHHMMSSZ. */
    startDate: string;
    endDate: string;
    basicConstraints: string;
    keyUsage: string;
}

/** A self-signed certificate made by `openssl ca`, which, unlike `req -x509`, takes any validity period. */
export function testOddCa(name: string, options: Partial<OddCaOptions>): string {
    const { startDate, endDate, basicConstraints, keyUsage } = {
        startDate: "20200101000000Z",
        endDate: "20991231000000Z",
        basicConstraints: "critical,CA:TRUE",
        keyUsage: "critical,keyCertSign,cRLSign",
        ...options,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-odd-ca-"));
    try {
        fs.writeFileSync(path.join(dir, "index.txt"), "");
        fs.writeFileSync(path.join(dir, "serial"), "01\n");
        fs.writeFileSync(
            path.join(dir, "openssl.cnf"),
            [
                "[ca]", "default_ca = ca", "[ca]", "database = index.txt", "serial = serial", "new_certs_dir = .",
                "default_md = sha256", "policy = policy", "unique_subject = no", "[policy]", "commonName = supplied",
                "[extensions]", `basicConstraints = ${basicConstraints}`, keyUsage ? `keyUsage = ${keyUsage}` : "", "",
            ].join("\n"),
        );
        const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key");
        run("req", "-new", "-key", "ca.key", "-subj", `/CN=${name}`, "-out", "ca.csr");
        run("ca", "-batch", "-selfsign", "-keyfile", "ca.key", "-in", "ca.csr", "-out", "ca.crt", "-notext",
            "-startdate", startDate, "-enddate", endDate, "-config", "openssl.cnf", "-extensions", "extensions");
        return fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
