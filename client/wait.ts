import Docker from "dockerode";
import { describeDocker } from "./connection";
import { AbortError, classifyError, DaemonUnreachableError, TlsMismatchError } from "./errors";

/** Options of `waitForDaemon`. */
export interface WaitForDaemonOptions {
    /** How long to keep trying, in milliseconds. Default 60 s. */
    timeoutMs?: number;
    /** Pause after the first failed ping; each later pause doubles. Default 100 ms. */
    initialIntervalMs?: number;
    /** Longest pause between two pings. Default 2 s. */
    maxIntervalMs?: number;
    /** Cancels the wait; it then rejects with AbortError. */
    signal?: AbortSignal;
}

/** How a successful wait went. */
export interface WaitForDaemonResult {
    /** Pings sent, the successful one included. */
    attempts: number;
    /** Time from the first ping to the answer, in milliseconds. */
    elapsedMs: number;
}

type PingWithSignal = (options: { abortSignal: AbortSignal }) => Promise<unknown>;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        const onAbort = () => {
            clearTimeout(timer);
            reject(new AbortError(undefined, { cause: signal?.reason }));
        };
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}

/**
 * Pings the daemon until it answers, pausing 100 ms after the first failure and doubling the
 * pause up to 2 s, so that a daemon starting in a sibling container is noticed within a fraction
 * of a second without hammering one that takes long. Replaces a hand-written `sleep 3` loop.
 *
 * Rejects with DaemonUnreachableError naming the endpoint, the attempts, the time spent and the
 * last error once `timeoutMs` has passed; with TlsMismatchError at once when TLS fails, since
 * waiting does not change certificates.
 */
export async function waitForDaemon(docker: Docker, options: WaitForDaemonOptions = {}): Promise<WaitForDaemonResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const maxIntervalMs = options.maxIntervalMs ?? 2_000;
    let intervalMs = options.initialIntervalMs ?? 100;
    const endpoint = describeDocker(docker);
    const started = Date.now();
    const deadline = started + timeoutMs;
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
        if (options.signal?.aborted) {
            throw new AbortError(undefined, { cause: options.signal.reason });
        }
        attempts++;
        // A ping to an address that drops packets would otherwise outlive the deadline.
        const pingTimeout = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
        const pingSignal = options.signal ? AbortSignal.any([pingTimeout, options.signal]) : pingTimeout;
        try {
            // dockerode accepts an abortSignal here; its type definitions do not declare it.
            await (docker.ping as unknown as PingWithSignal).call(docker, { abortSignal: pingSignal });
            return { attempts, elapsedMs: Date.now() - started };
        } catch (error) {
            // A ping cut short by the deadline says nothing about the daemon; keep the error before it.
            if (!pingTimeout.aborted) {
                lastError = error;
                const classified = classifyError(error, { endpoint });
                if (classified instanceof TlsMismatchError) {
                    throw classified;
                }
            }
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
            break;
        }
        await sleep(Math.min(intervalMs, remaining), options.signal);
        intervalMs = Math.min(intervalMs * 2, maxIntervalMs);
    }
    const elapsedS = ((Date.now() - started) / 1000).toFixed(1);
    const last =
        lastError === undefined
            ? "none, the pings were still unanswered at the deadline"
            : lastError instanceof Error
              ? lastError.message
              : String(lastError);
    throw new DaemonUnreachableError(
        `the Docker daemon at ${endpoint} did not answer: ${attempts} ping${attempts === 1 ? "" : "s"} ` +
            `over ${elapsedS} s (timeout ${timeoutMs / 1000} s); last error: ${last}`,
        endpoint,
        { cause: lastError },
    );
}
