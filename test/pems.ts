/** Real PEMs made once per test run, for arguments that must be certificates. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCa {
    certPem: string;
    keyPem: string;
}

let cached: TestCa | undefined;

/** A self-signed CA certificate and its key. */
export function testCa(): TestCa {
    if (!cached) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-ca-"));
        try {
            execFileSync("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt"), "-days", "2",
                "-subj", "/CN=test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ], { stdio: "pipe" });
            cached = {
                certPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"),
                keyPem: fs.readFileSync(path.join(dir, "ca.key"), "utf8"),
            };
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
