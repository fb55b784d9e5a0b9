import * as assert from "assert";
import { AbortError, createDocker, DaemonUnreachableError, TlsMismatchError, waitForDaemon } from "../../client";
import { FakeDaemon, Handler } from "./fake-daemon";

const pong: Handler = (_req, res) => res.end("OK");

describe("waitForDaemon", () => {
    let daemon: FakeDaemon | undefined;
    afterEach(async () => {
        await daemon?.close();
        daemon = undefined;
    });

    it("keeps pinging until a daemon that starts late answers", async () => {
        const at = FakeDaemon.socketPathInTempDir();
        const docker = createDocker({ dockerHost: `unix://${at.socketPath}` });
        const starting = new Promise<void>((resolve) =>
            setTimeout(async () => {
                daemon = await FakeDaemon.start({ "GET /_ping": pong }, at);
                resolve();
            }, 150),
        );
        const result = await waitForDaemon(docker, { timeoutMs: 5_000 });
        await starting;
        // Pings at 0, 100, 300 ms: the daemon is noticed by the third.
        assert.ok(result.attempts >= 2 && result.attempts <= 4, `attempts: ${result.attempts}`);
        assert.ok(result.elapsedMs >= 100 && result.elapsedMs < 1_500, `elapsed: ${result.elapsedMs}`);
    });

    it("retries while the daemon answers with errors", async () => {
        let pings = 0;
        daemon = await FakeDaemon.start({
            "GET /_ping": (req, res) => {
                pings++;
                if (pings < 3) {
                    res.writeHead(500, { "Content-Type": "application/json" });
                    res.end(JSON.stringify({ message: "starting" }));
                } else {
                    pong(req, res);
                }
            },
        });
        const result = await waitForDaemon(createDocker({ dockerHost: daemon.dockerHost }), { timeoutMs: 5_000 });
        assert.strictEqual(result.attempts, 3);
    });

    it("times out saying where it knocked, how often, how long, and what it last heard", async () => {
        const { socketPath } = FakeDaemon.socketPathInTempDir();
        const started = Date.now();
        await assert.rejects(
            waitForDaemon(createDocker({ dockerHost: `unix://${socketPath}` }), { timeoutMs: 500 }),
            (error: Error) => {
                assert.ok(error instanceof DaemonUnreachableError);
                assert.strictEqual(error.endpoint, `unix://${socketPath}`);
                assert.match(error.message, new RegExp(`daemon at unix://${socketPath} did not answer`));
                const attempts = Number(/: (\d+) pings over (\d+\.\d) s/.exec(error.message)?.[1]);
                assert.ok(attempts >= 3 && attempts <= 5, error.message);
                assert.match(error.message, /timeout 0\.5 s/);
                assert.match(error.message, /last error: connect ENOENT/);
                return true;
            },
        );
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 450 && elapsed < 1_500, `elapsed: ${elapsed}`);
    });

    it("does not let a daemon that never answers hold it past the deadline", async () => {
        daemon = await FakeDaemon.start({ "GET /_ping": () => undefined });
        const started = Date.now();
        await assert.rejects(waitForDaemon(createDocker({ dockerHost: daemon.dockerHost }), { timeoutMs: 300 }), (error: Error) => {
            assert.ok(error instanceof DaemonUnreachableError);
            assert.match(error.message, /: 1 ping over 0\.3 s .*last error: none, the pings were still unanswered at the deadline$/);
            return true;
        });
        assert.ok(Date.now() - started < 1_000);
    });

    it("fails at once on a TLS mismatch, which waiting cannot fix", async () => {
        daemon = await FakeDaemon.start({
            "GET /_ping": (_req, res) => {
                res.writeHead(400, { "Content-Type": "text/plain" });
                res.end("Client sent an HTTP request to an HTTPS server.\n");
            },
        });
        await assert.rejects(waitForDaemon(createDocker({ dockerHost: daemon.dockerHost }), { timeoutMs: 10_000 }), TlsMismatchError);
        assert.strictEqual(daemon.requests.length, 1);
    });

    it("stops when its signal fires", async () => {
        const { socketPath } = FakeDaemon.socketPathInTempDir();
        const started = Date.now();
        await assert.rejects(
            waitForDaemon(createDocker({ dockerHost: `unix://${socketPath}` }), { timeoutMs: 10_000, signal: AbortSignal.timeout(300) }),
            AbortError,
        );
        assert.ok(Date.now() - started < 1_000);
    });
});
