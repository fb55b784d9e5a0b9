import { Writable } from "stream";
import { finished } from "stream/promises";
import Docker from "dockerode";
import { describeDocker } from "./connection";
import { AbortError, classifyError, DaemonError, NonZeroExitError } from "./errors";

/** Options of `run`. */
export interface RunOptions {
    /** Environment variables of the container, in addition to the image's. */
    env?: Record<string, string>;
    /** Leave the container on the daemon after it exits (it is removed by default, like `docker run --rm`). */
    keep?: boolean;
    /** Cancels the run: the container is killed and removed (even with `keep`), and run rejects with AbortError. */
    signal?: AbortSignal;
    /** Receives stdout live, chunk by chunk; the result's `stdout` is then empty. */
    onStdout?: (chunk: Buffer) => void;
    /** Receives stderr live, chunk by chunk; the result's `stderr` is then empty. */
    onStderr?: (chunk: Buffer) => void;
    /** Container name (Docker makes one up by default). */
    name?: string;
    /** Replaces the image's entrypoint. */
    entrypoint?: string[];
    /** Working directory inside the container. */
    workingDir?: string;
    /** User (name or uid[:gid]) the command runs as. */
    user?: string;
    /** Docker's HostConfig as is: mounts, network mode, resources and so on. */
    hostConfig?: Docker.HostConfig;
}

/** What a container did. */
export interface RunResult {
    /** The container's exit status. */
    exitCode: number;
    /** Everything written to stdout, unless it was streamed to `onStdout`. */
    stdout: string;
    /** Everything written to stderr, unless it was streamed to `onStderr`. */
    stderr: string;
    /** ID of the container (already removed unless `keep`). */
    containerId: string;
}

interface WaitResponse {
    StatusCode: number;
    Error?: { Message?: string } | null;
}

/** Collects one output stream, or hands each chunk to a callback when given one. */
class OutputSink {
    private readonly chunks: Buffer[] = [];
    readonly writable: Writable;

    constructor(onChunk: ((chunk: Buffer) => void) | undefined) {
        this.writable = new Writable({
            write: (chunk: Buffer, _encoding, callback) => {
                if (onChunk) {
                    onChunk(chunk);
                } else {
                    this.chunks.push(chunk);
                }
                callback();
            },
        });
    }

    /** Decoded once at the end so that a character split across chunks stays whole. */
    text(): string {
        return Buffer.concat(this.chunks).toString("utf8");
    }
}

function abortError(signal: AbortSignal): AbortError {
    return new AbortError(undefined, { cause: signal.reason });
}

async function removeContainer(container: Docker.Container): Promise<void> {
    try {
        await container.remove({ force: true, v: true });
    } catch (error) {
        if ((error as { statusCode?: unknown }).statusCode !== 404) {
            throw error;
        }
    }
}

async function runCreated(docker: Docker, container: Docker.Container, options: RunOptions): Promise<RunResult> {
    const { signal } = options;
    if (signal?.aborted) {
        throw abortError(signal);
    }
    // Attached before start, as `docker run` does, so that no early output is lost.
    const output = await container.attach({ stream: true, stdout: true, stderr: true });
    const stdout = new OutputSink(options.onStdout);
    const stderr = new OutputSink(options.onStderr);
    docker.modem.demuxStream(output, stdout.writable, stderr.writable);
    const outputEnded = finished(output);
    // Observed now so that a stream torn down by an abort or failure is not an unhandled rejection.
    outputEnded.catch(() => undefined);
    await container.start();
    // not-running, asked after start, also answers at once for a container that has already
    // exited, so a fast exit cannot be missed.
    const status = (await container.wait({ condition: "not-running", abortSignal: signal })) as WaitResponse;
    if (status.Error?.Message) {
        throw new DaemonError(`waiting for the container failed: ${status.Error.Message}`, status.Error.Message);
    }
    // The exit can be reported before the last output has arrived; the stream ends after it.
    await outputEnded;
    return { exitCode: status.StatusCode, stdout: stdout.text(), stderr: stderr.text(), containerId: container.id };
}

/**
 * Runs a command in a new container and resolves when it has exited, as `docker run --rm` does:
 * create, attach, start, wait. stdout and stderr are kept apart (collected, or streamed to
 * `onStdout`/`onStderr`). The container is removed afterwards unless `keep`. A non-zero exit is
 * a result, not an error (see `runOrThrow`).
 *
 * Rejects with ImageNotFoundError when the image is not on the daemon (call `pull` first),
 * AbortError when `signal` fires, DaemonError when the daemon cannot start the command.
 */
export async function run(docker: Docker, image: string, cmd: string[] = [], options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    if (signal?.aborted) {
        throw abortError(signal);
    }
    const context = { endpoint: describeDocker(docker), image };
    let container: Docker.Container;
    try {
        container = await docker.createContainer({
            Image: image,
            Cmd: cmd.length > 0 ? cmd : undefined,
            Entrypoint: options.entrypoint,
            Env: options.env && Object.entries(options.env).map(([key, value]) => `${key}=${value}`),
            name: options.name,
            WorkingDir: options.workingDir,
            User: options.user,
            HostConfig: options.hostConfig,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
        });
    } catch (error) {
        throw classifyError(error, context);
    }
    let result: RunResult;
    try {
        result = await runCreated(docker, container, options);
    } catch (error) {
        if (signal?.aborted || !options.keep) {
            // The run's own failure is what the caller needs to see, not a failed cleanup.
            await removeContainer(container).catch(() => undefined);
        }
        throw signal?.aborted ? abortError(signal) : classifyError(error, context);
    }
    if (!options.keep) {
        try {
            await removeContainer(container);
        } catch (error) {
            throw classifyError(error, context);
        }
    }
    return result;
}

/** Like `run`, but rejects with NonZeroExitError (which holds the output) when the exit status is not 0. */
export async function runOrThrow(
    docker: Docker,
    image: string,
    cmd: string[] = [],
    options: RunOptions = {},
): Promise<RunResult> {
    const result = await run(docker, image, cmd, options);
    if (result.exitCode !== 0) {
        const command = cmd.length > 0 ? ` ${cmd.join(" ")}` : "";
        const lastLine = result.stderr.trimEnd().split("\n").pop();
        throw new NonZeroExitError(
            `${image}${command} exited with status ${result.exitCode}${lastLine ? `: ${lastLine}` : ""}`,
            result.exitCode,
            result.stdout,
            result.stderr,
        );
    }
    return result;
}
