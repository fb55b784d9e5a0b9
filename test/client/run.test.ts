import * as assert from "assert";
import Docker from "dockerode";
import { AbortError, createDocker, ImageNotFoundError, NonZeroExitError, run, runOrThrow } from "../../client";
import { FakeDaemon, Handler, json, muxFrame } from "./fake-daemon";

/** A container whose attach stream carries interleaved stdout and stderr and which exits with `exitCode`. */
function containerRoutes(exitCode: number, overrides: Record<string, Handler> = {}): Record<string, Handler> {
    return {
        "POST /containers/create": json(201, { Id: "c0ffee", Warnings: [] }),
        "POST /containers/c0ffee/attach": (_req, res) => {
            res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
            // One write holding several frames, and one frame split over two writes.
            res.write(Buffer.concat([muxFrame(1, "hello "), muxFrame(2, "warn\n"), muxFrame(1, "wor")]));
            const split = muxFrame(1, "ld ✓\n");
            res.write(split.subarray(0, 10));
            res.end(split.subarray(10));
        },
        "POST /containers/c0ffee/start": (_req, res) => {
            res.writeHead(204);
            res.end();
        },
        "POST /containers/c0ffee/wait": json(200, { StatusCode: exitCode }),
        "DELETE /containers/c0ffee": (_req, res) => {
            res.writeHead(204);
            res.end();
        },
        ...overrides,
    };
}

describe("run (through dockerode against a fake daemon)", () => {
    let daemon: FakeDaemon;
    let docker: Docker;
    afterEach(async () => daemon?.close());

    async function start(routes: Record<string, Handler>) {
        daemon = await FakeDaemon.start(routes);
        docker = createDocker({ dockerHost: daemon.dockerHost });
    }

    const calls = () => daemon.requests.map((r) => `${r.method} ${r.path}`);

    it("creates, attaches before starting, waits for not-running, removes, and keeps stdout and stderr apart", async () => {
        await start(containerRoutes(3));
        const result = await run(docker, "busybox", ["sh", "-c", "echo hello"], { env: { A: "1", B: "x=y" } });
        assert.deepStrictEqual(result, { exitCode: 3, stdout: "hello world ✓\n", stderr: "warn\n", containerId: "c0ffee" });
        assert.deepStrictEqual(calls(), [
            "POST /containers/create",
            "POST /containers/c0ffee/attach",
            "POST /containers/c0ffee/start",
            "POST /containers/c0ffee/wait",
            "DELETE /containers/c0ffee",
        ]);
        const created = JSON.parse(daemon.requests[0].body);
        assert.strictEqual(created.Image, "busybox");
        assert.deepStrictEqual(created.Cmd, ["sh", "-c", "echo hello"]);
        assert.deepStrictEqual(created.Env, ["A=1", "B=x=y"]);
        assert.strictEqual(created.Tty, false);
        assert.strictEqual(daemon.requestsTo("POST", "/containers/c0ffee/wait")[0].query.get("condition"), "not-running");
        const removal = daemon.requestsTo("DELETE", "/containers/c0ffee")[0].query;
        assert.strictEqual(removal.get("force"), "true");
        assert.strictEqual(removal.get("v"), "true", "anonymous volumes go with the container, as with --rm");
    });

    it("streams output to callbacks instead of collecting it", async () => {
        await start(containerRoutes(0));
        const out: string[] = [];
        const err: string[] = [];
        const result = await run(docker, "busybox", [], {
            onStdout: (chunk) => out.push(chunk.toString()),
            onStderr: (chunk) => err.push(chunk.toString()),
        });
        assert.strictEqual(out.join(""), "hello world ✓\n");
        assert.deepStrictEqual(err, ["warn\n"]);
        assert.strictEqual(result.stdout, "");
        assert.strictEqual(JSON.parse(daemon.requests[0].body).Cmd, undefined, "no command: the image's own");
    });

    it("leaves the container with keep", async () => {
        await start(containerRoutes(0));
        await run(docker, "busybox", ["true"], { keep: true });
        assert.deepStrictEqual(daemon.requestsTo("DELETE", "/containers/c0ffee"), []);
    });

    it("reports a missing image as ImageNotFoundError without creating anything", async () => {
        await start({ "POST /containers/create": json(404, { message: "No such image: nope:latest" }) });
        await assert.rejects(run(docker, "nope:latest", ["true"]), ImageNotFoundError);
        assert.deepStrictEqual(calls(), ["POST /containers/create"]);
    });

    it("kills and removes the container when aborted, even with keep", async () => {
        await start(
            containerRoutes(0, {
                // A command that runs until it is killed: the wait request gets no answer.
                "POST /containers/c0ffee/wait": () => undefined,
            }),
        );
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 200);
        await assert.rejects(run(docker, "busybox", ["sleep", "3600"], { signal: controller.signal, keep: true }), (error: Error) => {
            assert.ok(error instanceof AbortError);
            assert.strictEqual(error.code, "ABORT_ERR");
            return true;
        });
        assert.strictEqual(daemon.requestsTo("DELETE", "/containers/c0ffee")[0]?.query.get("force"), "true");
    });

    it("does not even create a container for an aborted signal", async () => {
        await start(containerRoutes(0));
        await assert.rejects(run(docker, "busybox", ["true"], { signal: AbortSignal.abort() }), AbortError);
        assert.deepStrictEqual(daemon.requests, []);
    });

    it("runOrThrow turns a non-zero exit into NonZeroExitError holding the output", async () => {
        await start(containerRoutes(3));
        await assert.rejects(runOrThrow(docker, "busybox", ["false"]), (error: Error) => {
            assert.ok(error instanceof NonZeroExitError);
            assert.strictEqual(error.exitCode, 3);
            assert.strictEqual(error.stderr, "warn\n");
            assert.strictEqual(error.message, "busybox false exited with status 3: warn");
            return true;
        });
    });
});
