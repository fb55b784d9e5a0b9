import * as assert from "assert";
import { execFileSync, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import {
    AbortError,
    connect,
    createDocker,
    DaemonEndpoint,
    DaemonUnreachableError,
    imageExists,
    loadImages,
    ProgressEvent,
    pull,
    PullDeniedError,
    run,
    saveImages,
    TlsMismatchError,
    waitForDaemon,
} from "../../client";
import { followProgressStream } from "../../client/images";
import { hostDocker, privilegedHostConfig, testImages } from "./support/engine";

const REPO_ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(REPO_ROOT, "client/cli.ts");

/** Where the private registry is, as the nested daemon (on the test network) sees it. */
const REGISTRY = "registry:5000";
const REGISTRY_IMAGE = `${REGISTRY}/library/busybox:latest`;

function openssl(dir: string, ...args: string[]): void {
    execFileSync("openssl", args, { cwd: dir, stdio: "pipe", timeout: 30_000 });
}

/** A CA and leaf certificates signed by it, in `dir`: `<name>.crt` and `<name>.key`. */
function makeCa(dir: string, ca: string): { issue(name: string, extensions: string): void } {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(dir, "req", "-x509", ...ec, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=${ca}`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    return {
        issue(name, extensions) {
            fs.writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n${extensions}\n`);
            openssl(dir, "req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
            openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial",
                "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
        },
    };
}

async function removeContainer(docker: Docker, id: string): Promise<void> {
    await docker.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

interface CliResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs dind-run from source, as `node -r ts-node/register client/cli.ts ARGS`. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register", CLI, ...args], {
            cwd: REPO_ROOT,
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

describe("client library and dind-run against a nested daemon", function () {
    this.timeout(120_000);

    const host = hostDocker();
    const id = randomBytes(4).toString("hex");
    const names = {
        network: `pulumi-dind-client-e2e-${id}`,
        registry: `pulumi-dind-client-e2e-registry-${id}`,
        dind: `pulumi-dind-client-e2e-dind-${id}`,
        lateDind: `pulumi-dind-client-e2e-late-${id}`,
    };
    const containers: string[] = [];
    let work: string;
    let socketEndpoint: DaemonEndpoint;
    let tlsEndpoint: DaemonEndpoint;
    let tlsDir: string;
    let nested: Docker;
    let busyboxId: string;

    before(async function () {
        this.timeout(180_000);
        work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-client-e2e-"));
        const certs = path.join(work, "certs");
        const socketDir = path.join(work, "socket");
        tlsDir = path.join(work, "client-tls");
        fs.mkdirSync(certs);
        fs.mkdirSync(socketDir);
        fs.mkdirSync(tlsDir);

        const ca = makeCa(certs, "ca");
        ca.issue("registry", `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:registry`);
        ca.issue("daemon", `extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost`);
        ca.issue("client", "extendedKeyUsage=clientAuth");
        fs.copyFileSync(path.join(certs, "ca.crt"), path.join(tlsDir, "ca.pem"));
        fs.copyFileSync(path.join(certs, "client.crt"), path.join(tlsDir, "cert.pem"));
        fs.copyFileSync(path.join(certs, "client.key"), path.join(tlsDir, "key.pem"));

        await host.createNetwork({ Name: names.network, CheckDuplicate: true });

        const registry = await host.createContainer({
            name: names.registry,
            Image: testImages.registry,
            Env: [
                "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/registry.crt",
                "REGISTRY_HTTP_TLS_KEY=/certs/registry.key",
                "OTEL_TRACES_EXPORTER=none",
            ],
            HostConfig: {
                NetworkMode: names.network,
                Mounts: [{ Type: "bind", Source: certs, Target: "/certs", ReadOnly: true }],
            },
            NetworkingConfig: { EndpointsConfig: { [names.network]: { Aliases: ["registry"] } } },
        });
        containers.push(registry.id);
        await registry.start();

        const dind = await host.createContainer({
            name: names.dind,
            Image: testImages.dind,
            Cmd: [
                "dockerd",
                "--host=unix:///run/dind/docker.sock",
                "--host=tcp://0.0.0.0:2376",
                "--tlsverify",
                "--tlscacert=/tls/ca.crt",
                "--tlscert=/tls/daemon.crt",
                "--tlskey=/tls/daemon.key",
            ],
            HostConfig: {
                ...privilegedHostConfig(),
                NetworkMode: names.network,
                PortBindings: { "2376/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
                Mounts: [
                    { Type: "bind", Source: socketDir, Target: "/run/dind" },
                    { Type: "bind", Source: certs, Target: "/tls", ReadOnly: true },
                    // `-v` cannot express this target: the port's colon splits it.
                    { Type: "bind", Source: path.join(certs, "ca.crt"), Target: `/etc/docker/certs.d/${REGISTRY}/ca.crt`, ReadOnly: true },
                ],
            },
        });
        containers.push(dind.id);
        await dind.start();
        const port = (await dind.inspect()).NetworkSettings.Ports["2376/tcp"]?.[0]?.HostPort;
        assert.ok(port, "the daemon's TLS port is published");

        socketEndpoint = { dockerHost: `unix://${path.join(socketDir, "docker.sock")}` };
        tlsEndpoint = {
            dockerHost: `tcp://127.0.0.1:${port}`,
            tls: {
                caCertPem: fs.readFileSync(path.join(certs, "ca.crt"), "utf8"),
                clientCertPem: fs.readFileSync(path.join(certs, "client.crt"), "utf8"),
                clientKeyPem: fs.readFileSync(path.join(certs, "client.key"), "utf8"),
            },
        };
        await waitForDaemon(createDocker(socketEndpoint), { timeoutMs: 60_000 });
        nested = await connect(socketEndpoint);

        // busybox goes into the nested daemon from the host's store, then into the registry.
        busyboxId = (await host.getImage(testImages.busybox).inspect()).Id;
        const archive = path.join(work, "busybox-from-host.tar");
        await saveImages(host, [testImages.busybox], archive);
        await loadImages(nested, archive);
        await nested.getImage(testImages.busybox).tag({ repo: `${REGISTRY}/library/busybox`, tag: "latest" });
        const push = await nested.getImage(`${REGISTRY}/library/busybox`).push({ tag: "latest", authconfig: {} });
        await followProgressStream(nested, push);
        // Gone from the nested daemon again, so that the pull below has to fetch it.
        await nested.getImage(REGISTRY_IMAGE).remove();
        await nested.getImage(testImages.busybox).remove();
    });

    after(async function () {
        this.timeout(60_000);
        for (const container of containers.reverse()) {
            await removeContainer(host, container);
        }
        await host.getNetwork(names.network).remove().catch(() => undefined);
        if (work) {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    describe("connecting", () => {
        it("negotiates an API version over mutual TLS with a component-style endpoint", async () => {
            const docker = await connect(tlsEndpoint);
            const version = (docker.modem as unknown as { version: string }).version;
            assert.match(version, /^v1\.\d+$/);
            assert.strictEqual(await docker.ping().then(String), "OK");
        });

        it("reports a daemon certificate from an unknown CA as TlsMismatchError", async () => {
            const other = path.join(work, "other-ca");
            fs.mkdirSync(other, { recursive: true });
            makeCa(other, "other");
            const wrongCa = { ...tlsEndpoint.tls!, caCertPem: fs.readFileSync(path.join(other, "other.crt"), "utf8") };
            await assert.rejects(connect({ ...tlsEndpoint, tls: wrongCa }), TlsMismatchError);
        });

        it("reports plaintext spoken to the TLS port as TlsMismatchError", async () => {
            await assert.rejects(connect({ dockerHost: tlsEndpoint.dockerHost }), (error: Error) => {
                assert.ok(error instanceof TlsMismatchError, String(error));
                assert.match(error.message, /requires TLS/);
                return true;
            });
        });
    });

    describe("pull", () => {
        it("pulls from a registry with a private CA, and the image is there when pull resolves", async () => {
            const events: ProgressEvent[] = [];
            const docker = await connect(tlsEndpoint);
            assert.strictEqual(await imageExists(docker, REGISTRY_IMAGE), false);
            assert.strictEqual(await pull(docker, REGISTRY_IMAGE, { onProgress: (e) => events.push(e) }), true);
            assert.strictEqual(await imageExists(docker, REGISTRY_IMAGE), true, "no sleep needed after the stream ends");
            assert.strictEqual((await docker.getImage(REGISTRY_IMAGE).inspect()).Id, busyboxId);
            assert.ok(events.some((e) => e.status === "Pull complete"), JSON.stringify(events));
            assert.ok(events.some((e) => e.status?.startsWith("Status: Downloaded newer image")));
            assert.strictEqual(await imageExists(host, REGISTRY_IMAGE), false, "the host's store stays untouched");
        });

        it("skips the pull when the image is present", async () => {
            let events = 0;
            assert.strictEqual(await pull(nested, REGISTRY_IMAGE, { onProgress: () => events++ }), false);
            assert.strictEqual(events, 0);
        });

        it("rejects a pull of a missing image with the daemon's message", async () => {
            const missing = `${REGISTRY}/library/missing-${id}:latest`;
            await assert.rejects(pull(nested, missing), (error: Error) => {
                assert.ok(error instanceof PullDeniedError, String(error));
                assert.strictEqual(error.image, missing);
                assert.match(error.daemonMessage, /manifest unknown|not found/);
                assert.ok(error.message.includes(error.daemonMessage));
                return true;
            });
        });
    });

    describe("run", () => {
        before(async () => {
            await pull(nested, REGISTRY_IMAGE);
        });

        it("returns stdout and stderr apart, and the exit status, then removes the container", async () => {
            const name = `pulumi-dind-client-e2e-echo-${id}`;
            const result = await run(nested, REGISTRY_IMAGE, ["sh", "-c", "echo hello world; echo oops >&2"], { name });
            assert.strictEqual(result.exitCode, 0);
            assert.strictEqual(result.stdout, "hello world\n");
            assert.strictEqual(result.stderr, "oops\n");
            assert.deepStrictEqual(await nested.listContainers({ all: true, filters: { name: [name] } }), []);
        });

        it("returns a failing command's exit status", async () => {
            const result = await run(nested, REGISTRY_IMAGE, ["sh", "-c", "echo partial; exit 42"], { env: { X: "1" } });
            assert.strictEqual(result.exitCode, 42);
            assert.strictEqual(result.stdout, "partial\n");
        });

        it("catches the output of a command that exits at once", async () => {
            for (let i = 0; i < 5; i++) {
                const result = await run(nested, REGISTRY_IMAGE, ["echo", String(i)]);
                assert.deepStrictEqual([result.exitCode, result.stdout], [0, `${i}\n`]);
            }
        });

        it("kills and removes the container when aborted", async function () {
            // Were the container waited for rather than killed, `sleep 3000` would run past this bound.
            this.timeout(120_000);
            const name = `pulumi-dind-client-e2e-abort-${id}`;
            const controller = new AbortController();
            const running = run(nested, REGISTRY_IMAGE, ["sleep", "3000"], { name, signal: controller.signal });
            running.catch(() => undefined);
            await until("the container to run", 20_000, async () =>
                (await nested.getContainer(name).inspect()).State.Running ? true : undefined,
            );
            controller.abort();
            await assert.rejects(running, AbortError);
            assert.deepStrictEqual(await nested.listContainers({ all: true, filters: { name: [name] } }), []);
        });
    });

    describe("saveImages and loadImages", () => {
        it("round-trip an image with the same ID", async () => {
            await pull(nested, REGISTRY_IMAGE);
            const archive = path.join(work, "round-trip.tar");
            await saveImages(nested, [REGISTRY_IMAGE], archive);
            assert.ok(fs.statSync(archive).size > 100_000);
            await nested.getImage(REGISTRY_IMAGE).remove();
            assert.strictEqual(await imageExists(nested, REGISTRY_IMAGE), false);
            assert.deepStrictEqual(await loadImages(nested, archive), [REGISTRY_IMAGE]);
            assert.strictEqual((await nested.getImage(REGISTRY_IMAGE).inspect()).Id, busyboxId);
        });
    });

    describe("waitForDaemon", () => {
        after(async () => {
            await removeContainer(host, names.lateDind);
        });

        it("succeeds against a daemon that starts after the wait began", async () => {
            const socketDir = path.join(work, "late-socket");
            fs.mkdirSync(socketDir);
            const late = await host.createContainer({
                name: names.lateDind,
                Image: testImages.dind,
                Cmd: ["dockerd", "--host=unix:///run/late/docker.sock"],
                HostConfig: {
                    ...privilegedHostConfig(),
                    NetworkMode: "none",
                    Mounts: [{ Type: "bind", Source: socketDir, Target: "/run/late" }],
                },
            });
            const waiting = waitForDaemon(createDocker({ dockerHost: `unix://${socketDir}/docker.sock` }), { timeoutMs: 60_000 });
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            await late.start();
            const result = await waiting;
            assert.ok(result.attempts > 1, `attempts: ${result.attempts}`);
            assert.ok(result.elapsedMs >= 1_000, `elapsed: ${result.elapsedMs}`);
        });

        it("times out against no daemon with a message saying what it tried", async () => {
            const socket = path.join(work, "nobody-home.sock");
            await assert.rejects(waitForDaemon(createDocker({ dockerHost: `unix://${socket}` }), { timeoutMs: 1_500 }), (error: Error) => {
                assert.ok(error instanceof DaemonUnreachableError);
                assert.match(error.message, new RegExp(`unix://${socket} did not answer: \\d+ pings over 1\\.\\d s`));
                assert.match(error.message, /last error: connect ENOENT/);
                return true;
            });
        });
    });

    describe("dind-run", () => {
        before(async () => {
            await pull(nested, REGISTRY_IMAGE);
        });

        it("runs a command, streams stdout and stderr apart, and exits with its status", async () => {
            const result = await runCli(["--host", socketEndpoint.dockerHost, REGISTRY_IMAGE, "sh", "-c", "echo out; echo err >&2; exit 7"]);
            assert.deepStrictEqual(result, { code: 7, stdout: "out\n", stderr: "err\n" });
        });

        it("connects with --tls-dir and passes -e", async () => {
            const result = await runCli([
                "--host", tlsEndpoint.dockerHost, "--tls-dir", tlsDir, "-e", "GREETING=hi there", REGISTRY_IMAGE, "sh", "-c", 'echo "$GREETING"',
            ]);
            assert.deepStrictEqual(result, { code: 0, stdout: "hi there\n", stderr: "" });
        });

        it("takes DOCKER_HOST from the environment", async () => {
            const result = await runCli([REGISTRY_IMAGE, "true"], { DOCKER_HOST: socketEndpoint.dockerHost });
            assert.deepStrictEqual(result, { code: 0, stdout: "", stderr: "" });
        });

        it("fails a missing image with one line and status 125", async () => {
            const result = await runCli(["--host", socketEndpoint.dockerHost, `${REGISTRY}/library/missing-${id}`, "true"]);
            assert.strictEqual(result.code, 125);
            assert.match(result.stderr, /^dind-run: pull of registry:5000\/library\/missing-\w+ was refused: .*(manifest unknown|not found).*\n$/);
        });

        it("exits 127 for a command that does not exist, as docker run", async () => {
            const result = await runCli(["--host", socketEndpoint.dockerHost, REGISTRY_IMAGE, "no-such-command"]);
            assert.strictEqual(result.code, 127);
            assert.match(result.stderr, /^dind-run: .*executable file not found.*\n$/);
        });

        it("saves and loads images, and waits for the daemon", async () => {
            const archive = path.join(work, "cli.tar");
            const hostFlag = ["--host", socketEndpoint.dockerHost];
            assert.deepStrictEqual(await runCli([...hostFlag, "wait", "--timeout", "10"]), { code: 0, stdout: "", stderr: "" });
            assert.deepStrictEqual(await runCli([...hostFlag, "save", REGISTRY_IMAGE, "-o", archive]), { code: 0, stdout: "", stderr: "" });
            assert.ok(fs.statSync(archive).size > 100_000);
            assert.deepStrictEqual(await runCli([...hostFlag, "load", archive]), {
                code: 0,
                stdout: `Loaded image: ${REGISTRY_IMAGE}\n`,
                stderr: "",
            });
        });

        it("gives up waiting for no daemon with status 125 and no stack trace", async () => {
            const result = await runCli(["--host", `unix://${work}/none.sock`, "wait", "--timeout", "1"]);
            assert.strictEqual(result.code, 125);
            assert.match(result.stderr, /^dind-run: the Docker daemon at unix:\/\/.*none\.sock did not answer: \d+ pings over 1\.\d s.*\n$/);
        });
    });
});
