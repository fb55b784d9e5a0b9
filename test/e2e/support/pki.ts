/**
 * A private CA and server certificates made with openssl for the scenarios' registries,
 * independent of the components' own certificate code, so a component that lays out a CA the
 * wrong way cannot agree with itself.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface Pem {
    certPem: string;
    keyPem: string;
}

function openssl(dir: string, ...args: string[]): void {
    execFileSync("openssl", args, { cwd: dir, stdio: "pipe", timeout: 30_000 });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export class TestCa {
    private constructor(private readonly dir: string, readonly name: string, readonly certPem: string) {}

    /** A self-signed CA (CA:TRUE, keyCertSign) valid for two days. */
    static create(name: string): TestCa {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-e2e-ca-"));
        openssl(dir, "req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/O=pulumi-dind e2e/CN=${name}`,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        return new TestCa(dir, name, fs.readFileSync(path.join(dir, "ca.crt"), "utf8"));
    }

    /** A leaf signed by this CA, with `dnsNames` and `ipAddresses` as SANs. */
    issue(commonName: string, usage: "server" | "client", dnsNames: string[] = [], ipAddresses: string[] = []): Pem {
        const base = `leaf-${Math.random().toString(16).slice(2, 8)}`;
        const sans = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)];
        const extensions = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature",
            `extendedKeyUsage=${usage === "server" ? "serverAuth" : "clientAuth"}`,
            ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : []),
        ];
        fs.writeFileSync(path.join(this.dir, `${base}.ext`), extensions.join("\n") + "\n");
        openssl(this.dir, "req", ...EC, "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${commonName}`);
        openssl(this.dir, "x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", `${base}.crt`, "-days", "2", "-extfile", `${base}.ext`);
        return {
            certPem: fs.readFileSync(path.join(this.dir, `${base}.crt`), "utf8"),
            keyPem: fs.readFileSync(path.join(this.dir, `${base}.key`), "utf8"),
        };
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
