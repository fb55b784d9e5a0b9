#!/usr/bin/env node
/**
 * dind-run: run a container, save or load images, or wait for a private Docker daemon from a
 * shell or a CI step. A thin layer over the client library; `dind-run --help` documents it.
 */
import { CliCommand, CliInvocation, parseCliArgs, USAGE, UsageError } from "./cli-args";
import { connect, createDocker, resolveEndpoint } from "./connection";
import { AbortError, DaemonError } from "./errors";
import { loadImages, ProgressEvent, pull, saveImages } from "./images";
import { formatBytes, formatPullSummary, PullProgress } from "./progress";
import { run } from "./run";
import { waitForDaemon } from "./wait";

/** docker run's status for failures of the tool or the daemon rather than of the container. */
export const EXIT_FAILURE = 125;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

type HandledSignal = keyof typeof SIGNAL_NUMBERS;

/**
 * The exit status for an error, as docker run chooses it: 127 when the container's command does
 * not exist, 126 when it cannot be executed, 125 for everything else.
 */
export function exitCodeFor(error: unknown, command: CliCommand["command"]): number {
    if (command === "run" && error instanceof DaemonError) {
        if (/executable file not found|no such file or directory/i.test(error.daemonMessage)) {
            return 127;
        }
        if (/permission denied/i.test(error.daemonMessage)) {
            return 126;
        }
    }
    return EXIT_FAILURE;
}

/** A single progress line on a terminal; undefined elsewhere, so that logs stay clean. */
function pullDisplay(image: string, out: NodeJS.WriteStream) {
    if (!out.isTTY) {
        return undefined;
    }
    const progress = new PullProgress();
    let lastRender = 0;
    // Longer than the terminal is wide, the line would wrap and \r could no longer rewrite it.
    const fit = (line: string) => line.slice(0, (out.columns || 80) - 1);
    const render = (line: string) => out.write(`\r\x1b[2K${fit(line)}`);
    return {
        onProgress(event: ProgressEvent) {
            progress.update(event);
            // Layers report many times a second; a person cannot read faster than this.
            if (Date.now() - lastRender >= 100) {
                lastRender = Date.now();
                render(`Pulling ${formatPullSummary(image, progress.summary())}`);
            }
        },
        finish(pulled: boolean) {
            const { layers, totalBytes } = progress.summary();
            render(pulled ? `Pulled ${image}: ${layers} layers, ${formatBytes(totalBytes)}` : "");
            if (pulled) {
                out.write("\n");
            }
        },
    };
}

async function execute(invocation: CliInvocation, signal: AbortSignal): Promise<number> {
    if (invocation.command === "help") {
        process.stdout.write(USAGE);
        return 0;
    }
    const endpoint = resolveEndpoint({ host: invocation.host, tlsDir: invocation.tlsDir });
    if (invocation.command === "wait") {
        await waitForDaemon(createDocker(endpoint), { timeoutMs: invocation.timeoutMs, signal });
        return 0;
    }
    const docker = await connect(endpoint);
    switch (invocation.command) {
        case "save":
            await saveImages(docker, invocation.images, invocation.output, { signal });
            return 0;
        case "load":
            for (const image of await loadImages(docker, invocation.file, { signal })) {
                process.stdout.write(`Loaded image: ${image}\n`);
            }
            return 0;
        case "run": {
            const { image } = invocation;
            if (invocation.pull !== "never") {
                const display = pullDisplay(image, process.stderr);
                let pulled = false;
                try {
                    pulled = await pull(docker, image, {
                        always: invocation.pull === "always",
                        onProgress: display?.onProgress,
                        signal,
                    });
                } finally {
                    display?.finish(pulled);
                }
            }
            const result = await run(docker, image, invocation.cmd, {
                env: invocation.env,
                signal,
                onStdout: (chunk) => process.stdout.write(chunk),
                onStderr: (chunk) => process.stderr.write(chunk),
            });
            return result.exitCode;
        }
    }
}

function report(error: unknown, debug: boolean): void {
    if (debug) {
        process.stderr.write(`dind-run: ${error instanceof Error ? error.stack : String(error)}\n`);
        for (let cause = (error as Error | undefined)?.cause; cause !== undefined; cause = (cause as Error).cause) {
            process.stderr.write(`caused by: ${cause instanceof Error ? cause.stack : String(cause)}\n`);
        }
        return;
    }
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ").trim();
    const hint = error instanceof UsageError ? " (see 'dind-run --help')" : "";
    process.stderr.write(`dind-run: ${message}${hint}\n`);
}

/**
 * Runs the CLI with the given arguments and resolves to its exit status. Ctrl-C or SIGTERM
 * kills and removes the container (or cancels the transfer) and exits 128 + the signal number.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
    let invocation: CliInvocation;
    try {
        invocation = parseCliArgs(argv);
    } catch (error) {
        report(error, argv.includes("--debug"));
        return EXIT_FAILURE;
    }
    const controller = new AbortController();
    let received: HandledSignal | undefined;
    const onSignal = (name: HandledSignal) => {
        received = name;
        controller.abort();
    };
    const handlers = (Object.keys(SIGNAL_NUMBERS) as HandledSignal[]).map((name) => {
        const handler = () => onSignal(name);
        process.once(name, handler);
        return () => process.removeListener(name, handler);
    });
    try {
        return await execute(invocation, controller.signal);
    } catch (error) {
        if (error instanceof AbortError && received !== undefined) {
            return 128 + SIGNAL_NUMBERS[received];
        }
        report(error, invocation.debug);
        return exitCodeFor(error, invocation.command);
    } finally {
        handlers.forEach((remove) => remove());
    }
}

if (require.main === module) {
    void main().then((code) => {
        process.exitCode = code;
    });
}
