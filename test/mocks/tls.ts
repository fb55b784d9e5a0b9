/**
 * Real PEMs for @pulumi/tls resources under mocks, made by openssl the way the
 * provider would make them, so tests can verify chains, SANs and key usages.
 * Usages the provider does not know (camelCase ones) are dropped, as it does.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";

const KEY_USAGES: Record<string, string> = {
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
    content_commitment: "nonRepudiation",
    key_agreement: "keyAgreement",
};
const EXTENDED_USAGES: Record<string, string> = {
    server_auth: "serverAuth",
    client_auth: "clientAuth",
};

function privateKey(inputs: any): Record<string, string> {
    const { privateKey: key, publicKey } =
        inputs.algorithm === "RSA"
            ? crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 })
            : crypto.generateKeyPairSync("ec", { namedCurve: inputs.ecdsaCurve === "P384" ? "secp384r1" : "prime256v1" });
    return {
        privateKeyPem: key.export({ type: inputs.algorithm === "RSA" ? "pkcs1" : "sec1", format: "pem" }) as string,
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }) as string,
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
        algorithm: inputs.algorithm,
    };
}

function subjectLine(subject: any): string {
    const parts = [["O", subject?.organization], ["CN", subject?.commonName]].filter(([, v]) => v);
    return "/" + parts.map(([k, v]) => `${k}=${v}`).join("/");
}

function extensionLines(inputs: any): string[] {
    const uses: string[] = inputs.allowedUses ?? [];
    const lines: string[] = [];
    const keyUsage = uses.map((u) => KEY_USAGES[u]).filter(Boolean);
    const extended = uses.map((u) => EXTENDED_USAGES[u]).filter(Boolean);
    lines.push(`basicConstraints=critical,CA:${inputs.isCaCertificate ? "TRUE" : "FALSE"}`);
    if (keyUsage.length) {
        lines.push(`keyUsage=critical,${keyUsage.join(",")}`);
    }
    if (extended.length) {
        lines.push(`extendedKeyUsage=${extended.join(",")}`);
    }
    return lines;
}

function sanLine(inputs: any): string | undefined {
    const names = [...(inputs.dnsNames ?? []).map((n: string) => `DNS:${n}`), ...(inputs.ipAddresses ?? []).map((n: string) => `IP:${n}`)];
    return names.length ? `subjectAltName=${names.join(",")}` : undefined;
}

function withTempDir<T>(work: (file: (name: string, content?: string) => string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-mock-"));
    try {
        return work((name, content) => {
            const file = path.join(dir, name);
            if (content !== undefined) {
                fs.writeFileSync(file, content);
            }
            return file;
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** A config for `openssl req` that asks for nothing: subjects and extensions come on the command line. */
const EMPTY_CONFIG = "[req]\ndistinguished_name=dn\n[dn]\n";

function openssl(args: string[]): string {
    return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function days(inputs: any): string {
    return String(Math.max(1, Math.ceil((inputs.validityPeriodHours ?? 24) / 24)));
}

function selfSignedCert(inputs: any): Record<string, string> {
    return withTempDir((file) => {
        const extensions = [...extensionLines(inputs), "subjectKeyIdentifier=hash"];
        const san = sanLine(inputs);
        if (san) {
            extensions.push(san);
        }
        const certPem = openssl([
            "req", "-x509", "-new", "-key", file("key.pem", inputs.privateKeyPem), "-subj", subjectLine(inputs.subject),
            "-days", days(inputs), "-config", file("empty.cnf", EMPTY_CONFIG),
            ...extensions.flatMap((e) => ["-addext", e]),
        ]);
        return { certPem };
    });
}

function certRequest(inputs: any): Record<string, string> {
    return withTempDir((file) => {
        const san = sanLine(inputs);
        const certRequestPem = openssl([
            "req", "-new", "-key", file("key.pem", inputs.privateKeyPem), "-subj", subjectLine(inputs.subject),
            "-config", file("empty.cnf", EMPTY_CONFIG),
            ...(san ? ["-addext", san] : []),
        ]);
        return { certRequestPem };
    });
}

function locallySignedCert(inputs: any): Record<string, string> {
    return withTempDir((file) => {
        // `req -x509 -CA` signs the request as `x509 -req` would, in a third of the time.
        const certPem = openssl([
            "req", "-x509", "-in", file("req.pem", inputs.certRequestPem), "-CA", file("ca.pem", inputs.caCertPem),
            "-CAkey", file("ca-key.pem", inputs.caPrivateKeyPem), "-set_serial", String(Date.now()), "-days", days(inputs),
            "-copy_extensions", "copy", "-config", file("empty.cnf", EMPTY_CONFIG),
            ...extensionLines(inputs).flatMap((e) => ["-addext", e]),
        ]);
        return { certPem, caCertPem: inputs.caCertPem };
    });
}

/** Computed outputs for a @pulumi/tls resource, or undefined for any other type. */
export function mockTlsResource(args: pulumi.runtime.MockResourceArgs): Record<string, any> | undefined {
    switch (args.type) {
        case "tls:index/privateKey:PrivateKey":
            return privateKey(args.inputs);
        case "tls:index/selfSignedCert:SelfSignedCert":
            return selfSignedCert(args.inputs);
        case "tls:index/certRequest:CertRequest":
            return certRequest(args.inputs);
        case "tls:index/locallySignedCert:LocallySignedCert":
            return locallySignedCert(args.inputs);
        default:
            return undefined;
    }
}
