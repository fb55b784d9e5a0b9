import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { classifyError, DaemonError, DaemonUnreachableError, InvalidEndpointError } from "./errors";

/** PEM material for a TLS connection to a daemon (what the components output as `tls`). */
export interface DaemonTls {
    /** CA that signed the daemon's server certificate. */
    caCertPem: string;
    /** Client certificate the daemon trusts. */
    clientCertPem: string;
    /** Private key of the client certificate. */
    clientKeyPem: string;
}

/** Where a daemon listens, as the components output it and as the environment describes it. */
export interface DaemonEndpoint {
    /** `unix:///path/to/docker.sock` or `tcp://HOST[:PORT]`, as in DOCKER_HOST. */
    dockerHost: string;
    /** Present when the daemon listens with TLS (`--tlsverify`). */
    tls?: DaemonTls;
}

/** Settings given explicitly (such as CLI flags); each one overrides its environment variable. */
export interface ExplicitEndpointSettings {
    /** Overrides DOCKER_HOST. */
    host?: string;
    /** A directory with ca.pem, cert.pem and key.pem; overrides DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
    tlsDir?: string;
}

/** The socket or address dockerode dials, derived from a DaemonEndpoint. */
export type ConnectionOptions =
    | { socketPath: string }
    | {
          protocol: "http" | "https";
          host: string;
          port: number;
          ca?: string;
          cert?: string;
          key?: string;
      };

/** Reads a text file; injectable so that endpoint resolution stays testable without files. */
export type ReadTextFile = (file: string) => string;

/** The daemon Docker's own CLI talks to when DOCKER_HOST is unset. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/**
 * The newest Engine API version requested. Newer daemons are asked to speak it, so responses keep
 * the shape this library was tested with (dockerd 20.10 speaks 1.41, dockerd 26 speaks 1.45);
 * older daemons are spoken to in their own version.
 */
export const MAX_API_VERSION = "1.45";

/** The oldest Engine API with what this library relies on (`wait?condition=not-running`, Docker 17.06). */
export const MIN_API_VERSION = "1.30";

const readUtf8: ReadTextFile = (file) => fs.readFileSync(file, "utf8");

/**
 * Translates an endpoint into dockerode's connection options. Pure: no file is read and nothing
 * is dialled. `setting` names where `dockerHost` came from, for the error message.
 */
export function connectionOptions(endpoint: DaemonEndpoint, setting = "dockerHost"): ConnectionOptions {
    const value = endpoint.dockerHost.trim();
    const invalid = (why: string) => new InvalidEndpointError(`${setting}=${JSON.stringify(value)} ${why}`);
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
    if (scheme === "unix") {
        const socketPath = value.slice("unix://".length);
        if (!socketPath.startsWith("/")) {
            throw invalid("needs an absolute socket path, e.g. unix:///var/run/docker.sock");
        }
        return { socketPath };
    }
    if (scheme === "tcp") {
        let url: URL;
        try {
            url = new URL(`http://${value.slice("tcp://".length)}`);
        } catch {
            throw invalid("is not a valid tcp://HOST[:PORT] address");
        }
        if (url.hostname === "" || (url.pathname !== "/" && url.pathname !== "") || url.search || url.username) {
            throw invalid("must be tcp://HOST[:PORT] with nothing after the port");
        }
        const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
        // Docker's own defaults: 2376 is the TLS port, 2375 the plaintext one.
        const port = url.port ? Number(url.port) : endpoint.tls ? 2376 : 2375;
        if (!endpoint.tls) {
            return { protocol: "http", host, port };
        }
        return {
            protocol: "https",
            host,
            port,
            ca: endpoint.tls.caCertPem,
            cert: endpoint.tls.clientCertPem,
            key: endpoint.tls.clientKeyPem,
        };
    }
    const found = scheme === undefined ? "has no scheme" : `has the unsupported scheme ${scheme}://`;
    throw invalid(`${found}: use unix:///path/to/docker.sock or tcp://HOST:PORT`);
}

/** The endpoint as a person reads it in messages, e.g. `tcp://127.0.0.1:2376 (TLS)`. */
export function describeConnection(options: ConnectionOptions): string {
    if ("socketPath" in options) {
        return `unix://${options.socketPath}`;
    }
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    return `tcp://${host}:${options.port}${options.protocol === "https" ? " (TLS)" : ""}`;
}

interface ModemAddress {
    socketPath?: unknown;
    host?: unknown;
    port?: unknown;
    protocol?: unknown;
}

/** The endpoint a dockerode client dials, for messages; works for clients made elsewhere too. */
export function describeDocker(docker: Docker): string {
    const modem = docker.modem as unknown as ModemAddress;
    if (typeof modem.host === "string" && modem.host !== "") {
        return describeConnection({
            protocol: modem.protocol === "https" ? "https" : "http",
            host: modem.host,
            port: Number(modem.port),
        });
    }
    return typeof modem.socketPath === "string" ? `unix://${modem.socketPath}` : DEFAULT_DOCKER_HOST;
}

/** Reads ca.pem, cert.pem and key.pem (Docker's file names) from a directory named by `setting`. */
export function tlsFromDirectory(dir: string, setting: string, readFile: ReadTextFile = readUtf8): DaemonTls {
    const read = (name: string) => {
        const file = path.join(dir, name);
        try {
            return readFile(file);
        } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            throw new InvalidEndpointError(`cannot read ${name} from ${setting}=${dir}: ${reason}`, { cause: error });
        }
    };
    return { caCertPem: read("ca.pem"), clientCertPem: read("cert.pem"), clientKeyPem: read("key.pem") };
}

/**
 * The endpoint Docker's CLI would use: DOCKER_HOST (default unix:///var/run/docker.sock) and,
 * when DOCKER_TLS_VERIFY is non-empty (any value, as for Docker's CLI), the certificates in
 * DOCKER_CERT_PATH (default ~/.docker). Explicit settings override their variables.
 */
export function resolveEndpoint(
    explicit: ExplicitEndpointSettings = {},
    env: NodeJS.ProcessEnv = process.env,
    readFile: ReadTextFile = readUtf8,
): DaemonEndpoint {
    const dockerHost = explicit.host ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
    // Parsed here only to fail early with the name the user knows the value by.
    connectionOptions({ dockerHost }, explicit.host === undefined ? "DOCKER_HOST" : "--host");
    if (explicit.tlsDir !== undefined) {
        return { dockerHost, tls: tlsFromDirectory(explicit.tlsDir, "--tls-dir", readFile) };
    }
    if (!env.DOCKER_TLS_VERIFY) {
        return { dockerHost };
    }
    const certPath = env.DOCKER_CERT_PATH || path.join(os.homedir(), ".docker");
    return { dockerHost, tls: tlsFromDirectory(certPath, "DOCKER_CERT_PATH", readFile) };
}

/** The endpoint described by DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env, readFile: ReadTextFile = readUtf8): DaemonEndpoint {
    return resolveEndpoint({}, env, readFile);
}

function newDocker(options: ConnectionOptions, version?: string): Docker {
    // docker-modem merges DOCKER_HOST and friends from the environment under the options it is
    // given; naming every field keeps an explicit endpoint from being overridden by them.
    return new Docker({
        socketPath: undefined,
        host: undefined,
        port: undefined,
        protocol: undefined,
        ca: undefined,
        cert: undefined,
        key: undefined,
        ...options,
        version,
    });
}

/**
 * A dockerode client for the endpoint (default: the environment's), without dialling it and
 * without a pinned API version. Use it to wait for a daemon that is not up yet; prefer
 * `connect` otherwise.
 */
export function createDocker(endpoint: DaemonEndpoint = endpointFromEnv()): Docker {
    return newDocker(connectionOptions(endpoint));
}

function compareApiVersions(a: string, b: string): number {
    const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
    const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
    return aMajor - bMajor || aMinor - bMinor;
}

/**
 * The API version to pin for a daemon that reported `ApiVersion` (the newest it speaks) and
 * `MinAPIVersion` in GET /version: MAX_API_VERSION, lowered to what the daemon speaks, raised to
 * what it still accepts.
 */
export function chooseApiVersion(server: { ApiVersion: string; MinAPIVersion?: string }): string {
    let chosen = compareApiVersions(server.ApiVersion, MAX_API_VERSION) < 0 ? server.ApiVersion : MAX_API_VERSION;
    if (server.MinAPIVersion && compareApiVersions(chosen, server.MinAPIVersion) < 0) {
        chosen = server.MinAPIVersion;
    }
    if (compareApiVersions(chosen, MIN_API_VERSION) < 0) {
        const message = `the daemon speaks Engine API ${server.ApiVersion}; this client needs ${MIN_API_VERSION} or newer (Docker 17.06+)`;
        throw new DaemonError(message, message);
    }
    return chosen;
}

/** Options of `connect`. */
export interface ConnectOptions {
    /** How long the version handshake may take before the daemon counts as unreachable. Default 10 s. */
    timeoutMs?: number;
}

type VersionWithSignal = (options: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>;

/**
 * Connects to a daemon (default: the environment's) and negotiates the API version: an
 * unversioned GET /version, then every later request is pinned to `chooseApiVersion`'s answer.
 * Rejects with DaemonUnreachableError or TlsMismatchError when the daemon cannot be talked to.
 */
export async function connect(
    endpoint: DaemonEndpoint = endpointFromEnv(),
    options: ConnectOptions = {},
): Promise<Docker> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const connection = connectionOptions(endpoint);
    const described = describeConnection(connection);
    const probe = newDocker(connection);
    const deadline = AbortSignal.timeout(timeoutMs);
    let server: Docker.DockerVersion;
    try {
        // dockerode accepts an abortSignal here; its type definitions do not declare it.
        server = await (probe.version as unknown as VersionWithSignal).call(probe, { abortSignal: deadline });
    } catch (error) {
        if (deadline.aborted) {
            throw new DaemonUnreachableError(
                `the Docker daemon at ${described} did not answer within ${timeoutMs} ms`,
                described,
                { cause: error },
            );
        }
        throw classifyError(error, { endpoint: described });
    }
    return newDocker(connection, `v${chooseApiVersion(server)}`);
}
