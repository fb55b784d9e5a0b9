import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import {
    clientCommand,
    clientEnvironment,
    daemonEndpoints,
    dockerdArgs,
    registryCaKey,
    registryCaPath,
    registryCaRelativePath,
    validateDaemonArgs,
    waitForDaemonScript,
} from "../components/daemon";
import { InvalidArgumentError } from "../components/validation";

const noExtras = { registryMirrors: [], registries: [], extraDockerdArgs: [] };

describe("dockerd flags", () => {
    it("begin with dockerd so the official entrypoint adds no TLS or ports of its own", () => {
        for (const transport of ["unix", "tls", "tcp"] as const) {
            assert.equal(dockerdArgs(transport, noExtras)[0], "dockerd");
        }
    });

    it("serve the unix transport on the shared socket only, with TLS off", () => {
        assert.deepEqual(dockerdArgs("unix", noExtras), [
            "dockerd",
            "--host=unix:///var/run/dind/docker.sock",
            "--tls=false",
        ]);
    });

    it("serve plaintext tcp on loopback only, never on every interface", () => {
        const args = dockerdArgs("tcp", noExtras);
        assert.ok(args.includes("--host=tcp://127.0.0.1:2375"));
        assert.ok(args.includes("--tls=false"), "without --tls=false dockerd sleeps ~16 s");
        assert.ok(!args.some((a) => a.includes("0.0.0.0")));
    });

    it("verify clients on the tls transport with the mounted server pair", () => {
        const args = dockerdArgs("tls", noExtras);
        assert.ok(args.includes("--host=tcp://0.0.0.0:2376"));
        assert.ok(args.includes("--tlsverify"));
        assert.ok(args.includes("--tlscacert=/certs/server/ca.pem"));
        assert.ok(args.includes("--tlscert=/certs/server/cert.pem"));
        assert.ok(args.includes("--tlskey=/certs/server/key.pem"));
        assert.ok(!args.includes("--tls=false"));
    });

    it("keep mirrors in order, mark insecure registries, and set the MTU for user networks too", () => {
        const args = dockerdArgs("unix", {
            registryMirrors: ["https://a:5000", "https://b"],
            registries: [{ host: "trusted:5000", caCertPem: "PEM" }, { host: "legacy:5000", insecure: true }],
            mtu: 1400,
            extraDockerdArgs: ["--debug"],
        });
        assert.deepEqual(args.slice(3), [
            "--registry-mirror=https://a:5000",
            "--registry-mirror=https://b",
            "--insecure-registry=legacy:5000",
            "--mtu=1400",
            "--default-network-opt=bridge=com.docker.network.driver.mtu=1400",
            "--debug",
        ]);
    });
});

describe("client endpoints", () => {
    it("point the client at the shared socket, loopback TLS or loopback TCP", () => {
        assert.equal(daemonEndpoints("unix").clientDockerHost, "unix:///var/run/dind/docker.sock");
        assert.equal(daemonEndpoints("tls").clientDockerHost, "tcp://127.0.0.1:2376");
        assert.equal(daemonEndpoints("tcp").clientDockerHost, "tcp://127.0.0.1:2375");
        assert.equal(daemonEndpoints("tls", "dind").clientDockerHost, "tcp://dind:2376");
    });

    it("turn on verification and name the client pair only for tls", () => {
        assert.deepEqual(clientEnvironment("tls", "tcp://127.0.0.1:2376"), {
            DOCKER_HOST: "tcp://127.0.0.1:2376",
            DOCKER_TLS_VERIFY: "1",
            DOCKER_CERT_PATH: "/certs/client",
        });
        assert.deepEqual(clientEnvironment("unix", "unix:///x.sock"), { DOCKER_HOST: "unix:///x.sock" });
    });
});

describe("registry CA paths", () => {
    it("name the certs.d directory exactly as image references name the registry, port included", () => {
        assert.equal(registryCaPath("registry.dind.svc:5000"), "/etc/docker/certs.d/registry.dind.svc:5000/ca.crt");
        assert.equal(registryCaPath("myregistrydomain.com"), "/etc/docker/certs.d/myregistrydomain.com/ca.crt");
        assert.equal(registryCaRelativePath("r:5000"), "r:5000/ca.crt");
    });

    it("make ConfigMap keys without ':' that stay distinct per host and port", () => {
        assert.equal(registryCaKey("registry.dind.svc:5000"), "registry.dind.svc_5000.crt");
        assert.match(registryCaKey("[::1]:5000"), /^[-._a-zA-Z0-9]+$/);
        assert.notEqual(registryCaKey("r:5000"), registryCaKey("r:5001"));
    });
});

describe("the client's command", () => {
    it("runs the script with set -e so a failing step fails the job", () => {
        const command = clientCommand({ script: "true\nfalse\necho not reached" });
        assert.deepEqual(command.slice(0, 2), ["/bin/sh", "-c"]);
        assert.equal(command[4], "set -e\ntrue\nfalse\necho not reached");
        let failure: any;
        try {
            execFileSync(command[0], command.slice(1), { stdio: "pipe", timeout: 10000 });
        } catch (error) {
            failure = error;
        }
        assert.equal(failure?.status, 1, "the script's first failing step decides the exit status");
        assert.doesNotMatch(String(failure?.stdout), /not reached/);
    });

    it("hands SIGTERM on to the script, so a stopped pod ends within its grace period", async () => {
        const script = "trap 'echo script got TERM; exit 3' TERM\necho started\nsleep 30 & wait $!";
        const command = clientCommand({ script });
        const child = spawn(command[0], command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
        child.kill("SIGTERM");
        const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        assert.match(output, /script got TERM/);
        assert.equal(status, 3, "the runner exits with the script's status");
    });

    it("passes the script through as written, quotes and dollars included", () => {
        const script = `echo "pid=$$ 'single' \\"double\\" $(echo sub)"`;
        const command = clientCommand({ script });
        const out = execFileSync(command[0], command.slice(1), { encoding: "utf8", timeout: 10000 });
        assert.match(out, /^pid=\d+ 'single' "double" sub$/m);
    });

    it("idles when there is no script, and ends cleanly on SIGTERM instead of waiting for SIGKILL", async () => {
        const command = clientCommand({});
        const idle = spawn(command[0], command.slice(1), { stdio: "ignore" });
        // Still idling after a while: it waits for exec sessions, not for anything to finish.
        const early = await Promise.race([
            new Promise((resolve) => idle.once("exit", () => resolve("exited"))),
            new Promise((resolve) => setTimeout(() => resolve("idling"), 300)),
        ]);
        assert.equal(early, "idling");
        idle.kill("SIGTERM");
        const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => idle.on("exit", (c, s) => resolve([c, s])));
        assert.deepEqual([code, signal], [0, null], "the trap exits 0; dying of the signal would show it");
    });

    it("waits for the daemon first only when asked", () => {
        assert.ok(!clientCommand({ script: "true" })[2].includes("docker info"));
        assert.ok(clientCommand({ script: "true", waitTimeoutSeconds: 30 })[2].startsWith("deadline="));
        assert.ok(clientCommand({ waitTimeoutSeconds: 30 })[2].startsWith("deadline="));
    });

    it("gives up waiting with a message and a non-zero status when no daemon answers", function () {
        // A stand-in docker that never answers shows the loop is bounded.
        const script = `docker() { echo "Cannot connect to the Docker daemon" >&2; return 1; }\n${waitForDaemonScript(1)}`;
        let failure: any;
        try {
            execFileSync("/bin/sh", ["-c", script], { env: { ...process.env, DOCKER_HOST: "unix:///nowhere.sock" }, stdio: "pipe", timeout: 10000 });
        } catch (error) {
            failure = error;
        }
        assert.ok(failure, "the wait must fail");
        assert.equal(failure.status, 1);
        assert.match(String(failure.stderr), /did not answer within 1 s/);
        assert.match(String(failure.stderr), /unix:\/\/\/nowhere.sock/);
        assert.match(String(failure.stderr), /Cannot connect/);
    });

    it("stops waiting as soon as the daemon answers", () => {
        const script = `n=0\ndocker() { n=$((n+1)); [ $n -ge 3 ]; }\n${waitForDaemonScript(30)}\necho "ready after $n"`;
        const out = execFileSync("/bin/sh", ["-c", script], { encoding: "utf8", timeout: 20000 });
        assert.equal(out.trim(), "ready after 3");
    });
});

describe("daemon arguments", () => {
    it("reject a mirror without https or with a path, naming the argument", () => {
        assert.throws(() => validateDaemonArgs({ registryMirrors: ["http://m"] }, "args."), /args.registryMirrors\[0\]: expected an https:\/\/ URL/);
        assert.throws(() => validateDaemonArgs({ registryMirrors: ["https://m/v2/"] }, "args."), /no path/);
    });

    it("reject a registry host with a scheme, a path or a bad port", () => {
        for (const host of ["https://r", "r/library", "r:99999", "r:0", ""]) {
            assert.throws(() => validateDaemonArgs({ registries: [{ host }] }, "dind:"), (e: Error) => {
                return e instanceof InvalidArgumentError && e.argument === "dind:registries[0].host";
            }, host);
        }
    });

    it("reject a CA that is not a PEM certificate", () => {
        assert.throws(
            () => validateDaemonArgs({ registries: [{ host: "r:5000", caCertPem: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----" }] }, "args."),
            /args.registries\[0\].caCertPem: expected one or more PEM-encoded X.509 certificates/,
        );
    });

    it("reject an MTU out of range", () => {
        assert.throws(() => validateDaemonArgs({ mtu: 40 }, "args."), /args.mtu: expected an integer from 68 to 65535, got 40/);
    });

    it("put a wired mirror registry first and trust its CA", () => {
        const wired = validateDaemonArgs({ registryMirrors: ["https://other"] }, "args.", { registryHost: "mirror.ns.svc:5000", mode: "mirror", caCertPem: undefined as any });
        assert.deepEqual(wired.registryMirrors, ["https://mirror.ns.svc:5000", "https://other"]);
        assert.deepEqual(wired.registries.map((r) => r.host), ["mirror.ns.svc:5000"]);
    });

    it("trust a wired private registry without making it a mirror", () => {
        const wired = validateDaemonArgs({}, "args.", { registryHost: "private:5000", mode: "private", caCertPem: undefined as any });
        assert.deepEqual(wired.registryMirrors, []);
        assert.deepEqual(wired.registries.map((r) => r.host), ["private:5000"]);
    });
});
