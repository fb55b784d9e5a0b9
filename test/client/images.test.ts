import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { createDocker, DaemonError, ImageNotFoundError, loadImages, ProgressEvent, pull, PullDeniedError, saveImages } from "../../client";
import { progressEventError } from "../../client/images";
import { FakeDaemon, json, progressStream } from "./fake-daemon";

// A pull of a two-layer image as dockerd 26 reports it.
const PULL_EVENTS = [
    { status: "Pulling from library/busybox", id: "latest" },
    { status: "Pulling fs layer", progressDetail: {}, id: "aaa" },
    { status: "Already exists", progressDetail: {}, id: "bbb" },
    { status: "Downloading", progressDetail: { current: 1000, total: 2000 }, progress: "[====>    ]", id: "aaa" },
    { status: "Download complete", progressDetail: {}, id: "aaa" },
    { status: "Extracting", progressDetail: { current: 2000, total: 2000 }, id: "aaa" },
    { status: "Pull complete", progressDetail: {}, id: "aaa" },
    { status: "Digest: sha256:0123" },
    { status: "Status: Downloaded newer image for registry:5000/library/busybox:latest" },
];

const DENIED = "manifest for registry:5000/library/missing:latest not found: manifest unknown: manifest unknown";

describe("progressEventError", () => {
    it("finds the daemon's message in errorDetail or error, and nothing in progress", () => {
        assert.strictEqual(progressEventError({ errorDetail: { message: "a" }, error: "b" }), "a");
        assert.strictEqual(progressEventError({ error: "b" }), "b");
        assert.strictEqual(progressEventError({ status: "Downloading" }), undefined);
    });
});

describe("pull (through dockerode against a fake daemon)", () => {
    let daemon: FakeDaemon;
    let docker: Docker;
    afterEach(async () => daemon?.close());

    async function start(routes: Parameters<typeof FakeDaemon.start>[0]) {
        daemon = await FakeDaemon.start(routes);
        docker = createDocker({ dockerHost: daemon.dockerHost });
    }

    const missing = json(404, { message: "No such image: registry:5000/library/busybox:latest" });

    it("reads the progress stream to its end, reporting every event", async () => {
        await start({ "GET /images/registry:5000/library/busybox/json": missing, "POST /images/create": progressStream(PULL_EVENTS) });
        const seen: ProgressEvent[] = [];
        const pulled = await pull(docker, "registry:5000/library/busybox", { onProgress: (e) => seen.push(e) });
        assert.strictEqual(pulled, true);
        assert.deepStrictEqual(seen, PULL_EVENTS);
        const [create] = daemon.requestsTo("POST", "/images/create");
        assert.strictEqual(create.query.get("fromImage"), "registry:5000/library/busybox");
        assert.strictEqual(create.query.get("tag"), "latest");
    });

    it("rejects with the daemon's message when the stream reports an error under HTTP 200", async () => {
        const events = [
            { status: "Pulling from library/missing", id: "latest" },
            { errorDetail: { message: DENIED }, error: DENIED },
        ];
        await start({ "GET /images/registry:5000/library/missing:latest/json": missing, "POST /images/create": progressStream(events, 5) });
        const seen: ProgressEvent[] = [];
        await assert.rejects(pull(docker, "registry:5000/library/missing:latest", { onProgress: (e) => seen.push(e) }), (error: Error) => {
            assert.ok(error instanceof PullDeniedError, String(error));
            assert.strictEqual(error.daemonMessage, DENIED);
            assert.strictEqual(error.image, "registry:5000/library/missing:latest");
            assert.match(error.message, /manifest unknown/);
            return true;
        });
        assert.deepStrictEqual(seen, [events[0]], "progress events before the error still arrive; the error is not one");
    });

    it("rejects with DaemonError for a failure in the stream that is not a refusal", async () => {
        const message = "failed to register layer: no space left on device";
        await start({
            "GET /images/busybox/json": missing,
            "POST /images/create": progressStream([{ status: "Extracting", id: "aaa" }, { errorDetail: { message }, error: message }]),
        });
        await assert.rejects(pull(docker, "busybox"), (error: Error) => {
            assert.ok(error instanceof DaemonError, String(error));
            assert.strictEqual(error.daemonMessage, message);
            assert.strictEqual(error.statusCode, undefined);
            return true;
        });
    });

    it("rejects with the daemon's message when the pull fails before streaming", async () => {
        const message = 'Get "https://nonexistent.invalid/v2/": dial tcp: lookup nonexistent.invalid: no such host';
        await start({ "GET /images/nonexistent.invalid/foo/json": missing, "POST /images/create": json(500, { message }) });
        await assert.rejects(pull(docker, "nonexistent.invalid/foo"), (error: Error) => {
            assert.ok(error instanceof DaemonError, String(error));
            assert.strictEqual(error.statusCode, 500);
            assert.strictEqual(error.daemonMessage, message);
            return true;
        });
    });

    it("skips the pull when the image is present", async () => {
        await start({ "GET /images/busybox:latest/json": json(200, { Id: "sha256:abc" }) });
        assert.strictEqual(await pull(docker, "busybox:latest"), false);
        assert.deepStrictEqual(daemon.requestsTo("POST", "/images/create"), []);
    });

    it("pulls a present image again with always", async () => {
        await start({ "GET /images/busybox:latest/json": json(200, { Id: "sha256:abc" }), "POST /images/create": progressStream(PULL_EVENTS) });
        assert.strictEqual(await pull(docker, "busybox:latest", { always: true }), true);
        assert.strictEqual(daemon.requestsTo("POST", "/images/create").length, 1);
    });
});

describe("saveImages and loadImages (against a fake daemon)", () => {
    let daemon: FakeDaemon;
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dind-client-images-"));
    });
    afterEach(async () => {
        await daemon?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("writes the daemon's archive to the file, asking for every image", async () => {
        daemon = await FakeDaemon.start({ "GET /images/get": (_req, res) => res.end("TAR BYTES") });
        const file = path.join(dir, "images.tar");
        await saveImages(createDocker({ dockerHost: daemon.dockerHost }), ["a:1", "b:2"], file);
        assert.strictEqual(fs.readFileSync(file, "utf8"), "TAR BYTES");
        assert.deepStrictEqual(daemon.requestsTo("GET", "/images/get")[0].query.getAll("names"), ["a:1", "b:2"]);
    });

    it("reports a missing image as ImageNotFoundError", async () => {
        daemon = await FakeDaemon.start({ "GET /images/get": json(404, { message: "No such image: nope:1" }) });
        await assert.rejects(
            saveImages(createDocker({ dockerHost: daemon.dockerHost }), ["nope:1"], path.join(dir, "x.tar")),
            ImageNotFoundError,
        );
    });

    it("returns what the daemon loaded and rejects on an error inside the stream", async () => {
        const file = path.join(dir, "in.tar");
        fs.writeFileSync(file, "TAR BYTES");
        daemon = await FakeDaemon.start({
            "POST /images/load": (req, res) => {
                const ok = req.body === "TAR BYTES" && req.query.get("quiet") === "true";
                const events = ok
                    ? [{ stream: "Loaded image: busybox:latest\n" }, { stream: "Loaded image ID: sha256:0123\n" }]
                    : [{ errorDetail: { message: "unexpected EOF" }, error: "unexpected EOF" }];
                progressStream(events)(req, res);
            },
        });
        const docker = createDocker({ dockerHost: daemon.dockerHost });
        assert.deepStrictEqual(await loadImages(docker, file), ["busybox:latest", "sha256:0123"]);
        fs.writeFileSync(file, "TRUNCATED");
        await assert.rejects(loadImages(docker, file), (error: Error) => error instanceof DaemonError && /unexpected EOF/.test(error.message));
    });

    it("reports a missing archive as a missing file, not as a daemon failure", async () => {
        daemon = await FakeDaemon.start({});
        await assert.rejects(loadImages(createDocker({ dockerHost: daemon.dockerHost }), path.join(dir, "none.tar")), /ENOENT/);
        assert.deepStrictEqual(daemon.requests, []);
    });
});
