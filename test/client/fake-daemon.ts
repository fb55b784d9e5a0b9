import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

/** A request the fake daemon received, with the API version prefix removed from its path. */
export interface RecordedRequest {
    method: string;
    /** Path without the /v1.xx prefix, e.g. `/images/create`. */
    path: string;
    /** The API version prefix, e.g. `v1.45`, or undefined for unversioned requests. */
    version?: string;
    query: URLSearchParams;
    body: string;
}

/** Answers one request; gets the body already read. */
export type Handler = (request: RecordedRequest, response: http.ServerResponse) => void;

/**
 * An HTTP server on a Unix socket that answers like dockerd for the routes a test gives it
 * (`"POST /images/create"`), so that the library runs through dockerode and docker-modem for
 * real without a Docker engine.
 */
export class FakeDaemon {
    readonly requests: RecordedRequest[] = [];
    private readonly server: http.Server;

    private constructor(
        readonly socketPath: string,
        private readonly dir: string,
        routes: Record<string, Handler>,
    ) {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (chunk: Buffer) => chunks.push(chunk));
            req.on("end", () => {
                const url = new URL(req.url ?? "/", "http://fake");
                const versioned = /^\/(v\d+\.\d+)(\/.*)$/.exec(url.pathname);
                const recorded: RecordedRequest = {
                    method: req.method ?? "GET",
                    path: versioned ? versioned[2] : url.pathname,
                    version: versioned?.[1],
                    query: url.searchParams,
                    body: Buffer.concat(chunks).toString("utf8"),
                };
                this.requests.push(recorded);
                const handler = routes[`${recorded.method} ${recorded.path}`];
                if (handler) {
                    handler(recorded, res);
                } else {
                    res.writeHead(404, { "Content-Type": "application/json" });
                    res.end(JSON.stringify({ message: `fake daemon has no route ${recorded.method} ${recorded.path}` }));
                }
            });
        });
    }

    /** A socket path in a new temporary directory, with nothing listening yet. */
    static socketPathInTempDir(): { dir: string; socketPath: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dind-client-test-"));
        return { dir, socketPath: path.join(dir, "docker.sock") };
    }

    /** Starts listening at `socketPath` (a new temporary one by default). */
    static async start(routes: Record<string, Handler>, at = FakeDaemon.socketPathInTempDir()): Promise<FakeDaemon> {
        const daemon = new FakeDaemon(at.socketPath, at.dir, routes);
        await new Promise<void>((resolve, reject) => {
            daemon.server.once("error", reject);
            daemon.server.listen(at.socketPath, resolve);
        });
        return daemon;
    }

    /** The DOCKER_HOST value of this daemon. */
    get dockerHost(): string {
        return `unix://${this.socketPath}`;
    }

    /** The requests received for one route. */
    requestsTo(method: string, pathName: string): RecordedRequest[] {
        return this.requests.filter((r) => r.method === method && r.path === pathName);
    }

    /** Stops listening, drops open connections and removes the temporary directory. */
    async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Replies with JSON. */
export function json(status: number, body: unknown): Handler {
    return (_request, response) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify(body));
    };
}

/**
 * Replies 200 with a progress stream as dockerd sends it: one JSON object per line, written in
 * pieces that split lines (and objects) at arbitrary points, as TCP delivers them.
 */
export function progressStream(events: object[], pieceSize = 7): Handler {
    return (_request, response) => {
        response.writeHead(200, { "Content-Type": "application/json" });
        const text = events.map((e) => JSON.stringify(e) + "\r\n").join("");
        for (let i = 0; i < text.length; i += pieceSize) {
            response.write(text.slice(i, i + pieceSize));
        }
        response.end();
    };
}

/** One frame of Docker's multiplexed stdout/stderr stream (stream 1 = stdout, 2 = stderr). */
export function muxFrame(stream: 1 | 2, text: string): Buffer {
    const payload = Buffer.from(text, "utf8");
    const header = Buffer.alloc(8);
    header.writeUInt8(stream, 0);
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
}
