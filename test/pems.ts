/** Real PEMs made once per test run, for arguments that must be certificates. */
import { execFileSync } from "child_process";
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
