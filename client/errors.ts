/**
 * Typed errors of the client library. Every class carries a stable `code` so that callers (and
 * the CLI) branch on it rather than on messages, which quote the daemon verbatim.
 */

/** Base class of every error this library throws on purpose. */
export abstract class DindClientError extends Error {
    /** A stable identifier of the failure kind, e.g. `DAEMON_UNREACHABLE`. */
    abstract readonly code: string;
}

/** The daemon did not answer: nothing listens at the endpoint, it refused, or it timed out. */
export class DaemonUnreachableError extends DindClientError {
    override readonly name = "DaemonUnreachableError";
    readonly code = "DAEMON_UNREACHABLE";

    constructor(
        message: string,
        /** The endpoint that was tried, e.g. `unix:///var/run/docker.sock`. */
        readonly endpoint: string,
        options?: ErrorOptions,
    ) {
        super(message, options);
    }
}

/**
 * TLS could not be established with the daemon: its certificate is not trusted by the CA given,
 * does not name the host, the daemon wants a client certificate, or one side speaks TLS and the
 * other does not. Waiting does not fix any of these, so they are never retried.
 */
export class TlsMismatchError extends DindClientError {
    override readonly name = "TlsMismatchError";
    readonly code = "TLS_MISMATCH";

    constructor(
        message: string,
        /** The endpoint that was tried. */
        readonly endpoint: string,
        options?: ErrorOptions,
    ) {
        super(message, options);
    }
}

/** The image is not in the daemon's store (pull it first). */
export class ImageNotFoundError extends DindClientError {
    override readonly name = "ImageNotFoundError";
    readonly code = "IMAGE_NOT_FOUND";

    constructor(
        message: string,
        /** The image reference as the caller gave it. */
        readonly image: string,
        options?: ErrorOptions,
    ) {
        super(message, options);
    }
}

/** The registry refused the pull: the image does not exist there, or credentials are missing or wrong. */
export class PullDeniedError extends DindClientError {
    override readonly name = "PullDeniedError";
    readonly code = "PULL_DENIED";

    constructor(
        message: string,
        /** The image reference as the caller gave it. */
        readonly image: string,
        /** The daemon's own words, unchanged. */
        readonly daemonMessage: string,
        options?: ErrorOptions,
    ) {
        super(message, options);
    }
}

/** Any other failure the daemon reported, with its message unchanged. */
export class DaemonError extends DindClientError {
    override readonly name = "DaemonError";
    readonly code = "DAEMON_ERROR";

    constructor(
        message: string,
        /** The daemon's own words, unchanged. */
        readonly daemonMessage: string,
        /** The HTTP status of the response, when the error was not inside a 200 stream. */
        readonly statusCode?: number,
        options?: ErrorOptions,
    ) {
        super(message, options);
    }
}

/** A container exited with a status other than 0 (thrown by `runOrThrow`). */
export class NonZeroExitError extends DindClientError {
    override readonly name = "NonZeroExitError";
    readonly code = "NON_ZERO_EXIT";

    constructor(
        message: string,
        /** The container's exit status. */
        readonly exitCode: number,
        /** Everything the container wrote to stdout (empty when it was streamed to a callback). */
        readonly stdout: string,
        /** Everything the container wrote to stderr (empty when it was streamed to a callback). */
        readonly stderr: string,
    ) {
        super(message);
    }
}

/** A connection setting (DOCKER_HOST, `dockerHost`, `--host`, certificate files) cannot be used. */
export class InvalidEndpointError extends DindClientError {
    override readonly name = "InvalidEndpointError";
    readonly code = "INVALID_ENDPOINT";
}

/**
 * An operation was cancelled through its AbortSignal. `name` and `code` match Node's own
 * AbortError so that code written for `fetch` or `fs` recognises it.
 */
export class AbortError extends DindClientError {
    override readonly name = "AbortError";
    readonly code = "ABORT_ERR";

    constructor(message = "The operation was aborted", options?: ErrorOptions) {
        super(message, options);
    }
}

/** What the library was doing when an error arrived, to word and classify it. */
export interface ErrorContext {
    /** The daemon's endpoint, e.g. `tcp://127.0.0.1:2376`. */
    endpoint: string;
    /** The image the operation was about, if any. */
    image?: string;
    /** True while pulling: a 404 then means the registry lacks the image, not the daemon. */
    pulling?: boolean;
}

const UNREACHABLE_CODES = new Set([
    "ECONNREFUSED",
    "ECONNRESET",
    "ECONNABORTED",
    "ENOENT",
    "EACCES",
    "EPERM",
    "ENOTSOCK",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EPIPE",
]);

// OpenSSL's X.509 verification codes (DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_VERIFY_LEAF_SIGNATURE,
// CERT_HAS_EXPIRED, ...) and Node's ERR_TLS_*/ERR_SSL_* all match; EPROTO is what a handshake
// with a plain-HTTP listener fails with.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SIGNATURE|^EPROTO$/;

// A registry answers a refused pull in several ways depending on its kind and version.
const PULL_REFUSED =
    /unauthorized|denied|not found|manifest unknown|name unknown|repository does not exist|authentication required|no basic auth credentials/i;

// Not "not found" alone: a create also answers 404 for a missing network or volume.
const IMAGE_MISSING = /no such image|reference does not exist/i;

interface ModemError {
    code?: unknown;
    statusCode?: unknown;
    json?: unknown;
    message?: unknown;
}

/**
 * The daemon's own message inside an error from docker-modem, which otherwise wraps it as
 * `(HTTP code 404) no such image - <message> `.
 */
export function daemonMessageOf(error: unknown): string {
    const e = (error ?? {}) as ModemError;
    const json = e.json as { message?: unknown } | Buffer | string | null | undefined;
    if (json && typeof json === "object" && !Buffer.isBuffer(json) && typeof json.message === "string") {
        return json.message.trim();
    }
    if (Buffer.isBuffer(json) && json.length > 0) {
        return json.toString("utf8").trim();
    }
    if (typeof json === "string" && json.length > 0) {
        return json.trim();
    }
    const message = typeof e.message === "string" ? e.message : String(error);
    return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}

/**
 * Turns an error from dockerode or Node's HTTP stack into one of this library's typed errors.
 * Errors that already are typed pass through unchanged.
 */
export function classifyError(error: unknown, context: ErrorContext): Error {
    if (error instanceof DindClientError) {
        return error;
    }
    const e = (error ?? {}) as ModemError;
    const code = typeof e.code === "string" ? e.code : undefined;
    const statusCode = typeof e.statusCode === "number" ? e.statusCode : undefined;
    const cause = error;
    if (code === "ABORT_ERR" || (error instanceof Error && error.name === "AbortError")) {
        return new AbortError(undefined, { cause });
    }
    if (statusCode === undefined && code !== undefined) {
        const detail = error instanceof Error ? error.message : String(error);
        if (TLS_CODE.test(code)) {
            return new TlsMismatchError(
                `TLS with the daemon at ${context.endpoint} failed: ${detail} (check the CA, the client ` +
                    `certificate and that the daemon listens with TLS)`,
                context.endpoint,
                { cause },
            );
        }
        if (UNREACHABLE_CODES.has(code)) {
            return new DaemonUnreachableError(
                `cannot reach the Docker daemon at ${context.endpoint}: ${detail}`,
                context.endpoint,
                { cause },
            );
        }
    }
    const message = daemonMessageOf(error);
    if (statusCode === 400 && /HTTP request to an HTTPS server/i.test(message)) {
        return new TlsMismatchError(
            `the daemon at ${context.endpoint} requires TLS: give its CA and a client certificate ` +
                `(DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH, --tls-dir, or the endpoint's tls)`,
            context.endpoint,
            { cause },
        );
    }
    if (context.image !== undefined && context.pulling && PULL_REFUSED.test(message)) {
        return new PullDeniedError(
            `pull of ${context.image} was refused: ${message}`,
            context.image,
            message,
            { cause },
        );
    }
    if (context.image !== undefined && !context.pulling && statusCode === 404 && IMAGE_MISSING.test(message)) {
        return new ImageNotFoundError(
            `image ${context.image} is not on the daemon at ${context.endpoint} (pull or load it first): ${message}`,
            context.image,
            { cause },
        );
    }
    const doing = context.image === undefined ? "" : context.pulling ? `pull of ${context.image}: ` : `${context.image}: `;
    return new DaemonError(`${doing}${message}`, message, statusCode, { cause });
}
