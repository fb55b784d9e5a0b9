/**
 * What the Kubernetes and the Docker variants share about the daemon they run:
 * its flags, where it reads registry CAs, how a client reaches it and how a
 * client waits for it. Pure functions, so both variants declare the same daemon.
 */
import {
    InvalidArgumentError,
    arrayOf,
    booleanValue,
    integerInRange,
    knownKeys,
    networkMtu,
    oneOf,
    optional,
    caCertificatesInput,
    registryHost,
    registryMirrorUrl,
} from "./validation";
import { extraDockerdArg } from "./dockerdFlags";
import type { Input } from "@pulumi/pulumi";
import type { RegistryMode } from "./registrySettings";

/** How the client reaches the daemon. */
export const Transport = {
    /** A unix socket shared with the client only: no port at all. */
    Unix: "unix",
    /** Mutual TLS on port 2376: the daemon and every client prove who they are. */
    Tls: "tls",
    /** Plaintext on 127.0.0.1:2375, reachable only inside the pod. */
    Tcp: "tcp",
} as const;
export type Transport = (typeof Transport)[keyof typeof Transport];
export const TRANSPORTS: readonly Transport[] = Object.values(Transport);

/** Pinned to a maintained major (only 29.x is rebuilt; `stable-dind` is frozen at 19.03); pin a digest for byte-for-byte repeatable pods. */
export const DEFAULT_DIND_IMAGE = "docker:29-dind";
export const DEFAULT_CLI_IMAGE = "docker:29-cli";
/** How long either variant lets the daemon take to answer before it reports it failed. */
export const DEFAULT_STARTUP_TIMEOUT_SECONDS = 120;

/** dockerd's state: images, containers, volumes (and the containerd image store of Docker 29). */
export const DOCKER_DATA_DIR = "/var/lib/docker";
/** The directory shared between daemon and client for the unix transport; only the socket lives there. */
export const SOCKET_DIR = "/var/run/dind";
export const SHARED_SOCKET = `${SOCKET_DIR}/docker.sock`;
/** The daemon's own socket, for its startup probe and `exec` when the API is served elsewhere. */
export const LOCAL_SOCKET = "/var/run/docker.sock";
export const TLS_PORT = 2376;
export const PLAINTEXT_PORT = 2375;
/** Where the daemon finds its server pair and the client its client pair, named as the docker CLI expects. */
export const SERVER_CERT_DIR = "/certs/server";
export const CLIENT_CERT_DIR = "/certs/client";
export const TLS_FILES = { ca: "ca.pem", cert: "cert.pem", key: "key.pem" } as const;

/** Where dockerd looks for a registry's CA roots. */
export const CERTS_D = "/etc/docker/certs.d";
/**
 * Registry CAs again as plain files, added to Go's roots through SSL_CERT_DIR:
 * some Docker versions (and tools in the client container) verify against the
 * operating system's roots rather than certs.d.
 */
export const TRUSTED_CA_DIR = "/etc/pulumi-dind/ca";
export const SYSTEM_CA_DIR = "/etc/ssl/certs";

/** A registry the daemon must trust. */
export interface RegistryTrust {
    /** The registry as image references name it: `host` or `host:port`. */
    host: string;
    /** The PEM of the CA that signed the registry's certificate; none for a publicly trusted one. */
    caCertPem?: Input<string>;
    /** Talk to it over plain HTTP or without verifying its certificate (`--insecure-registry`). Default false. */
    insecure?: boolean;
}

/** Where dockerd reads the CA of `host`; the port is part of the directory name only when image references carry it. */
export function registryCaPath(host: string): string {
    return `${CERTS_D}/${host}/ca.crt`;
}

/** A file name for the CA of `host` that is a valid ConfigMap key (keys cannot contain ':'). */
export function registryCaKey(host: string): string {
    return `${host.replace(/[^-._a-zA-Z0-9]/g, "_")}.crt`;
}

/** The path of a registry CA below certs.d, as a ConfigMap item's `path` wants it. */
export function registryCaRelativePath(host: string): string {
    return `${host}/ca.crt`;
}

/** SSL_CERT_DIR for a container that should trust the registry CAs on top of the system roots. */
export const TRUSTING_SSL_CERT_DIR = `${SYSTEM_CA_DIR}:${TRUSTED_CA_DIR}`;

export interface DaemonEndpoints {
    /** `--host` values for dockerd. */
    hosts: string[];
    /** DOCKER_HOST as the client sees it. */
    clientDockerHost: string;
    /** DOCKER_HOST inside the daemon's own container (its probe and `exec`). */
    localDockerHost: string;
}

/**
 * Where dockerd listens for each transport. `tcpAddress` is the address a TLS
 * listener binds (the pod's or container's interfaces); plaintext always binds
 * loopback so no unauthenticated API leaves the pod or host.
 */
export function daemonEndpoints(transport: Transport, clientAddress = "127.0.0.1"): DaemonEndpoints {
    switch (transport) {
        case "unix":
            return {
                hosts: [`unix://${SHARED_SOCKET}`],
                clientDockerHost: `unix://${SHARED_SOCKET}`,
                localDockerHost: `unix://${SHARED_SOCKET}`,
            };
        case "tls":
            return {
                hosts: [`unix://${LOCAL_SOCKET}`, `tcp://0.0.0.0:${TLS_PORT}`],
                clientDockerHost: `tcp://${clientAddress}:${TLS_PORT}`,
                localDockerHost: `unix://${LOCAL_SOCKET}`,
            };
        case "tcp":
            return {
                hosts: [`unix://${LOCAL_SOCKET}`, `tcp://127.0.0.1:${PLAINTEXT_PORT}`],
                clientDockerHost: `tcp://127.0.0.1:${PLAINTEXT_PORT}`,
                localDockerHost: `unix://${LOCAL_SOCKET}`,
            };
    }
}

/** Environment for a docker CLI that talks to the daemon over `transport`. */
export function clientEnvironment(transport: Transport, dockerHost: string): Record<string, string> {
    const env: Record<string, string> = { DOCKER_HOST: dockerHost };
    if (transport === "tls") {
        env.DOCKER_TLS_VERIFY = "1";
        env.DOCKER_CERT_PATH = CLIENT_CERT_DIR;
    }
    return env;
}

/**
 * dockerd's command line for validated settings, beginning with `dockerd` so the
 * official image's entrypoint runs it as given (through its `dind` wrapper) and
 * adds no TLS or ports of its own. Every flag this package sets is written here.
 */
export function dockerdArgs(transport: Transport, settings: DaemonSettings): string[] {
    const { hosts } = daemonEndpoints(transport);
    const args = ["dockerd", ...hosts.map((host) => `--host=${host}`)];
    if (transport === "tls") {
        const file = (name: string) => `${SERVER_CERT_DIR}/${name}`;
        args.push(
            "--tlsverify",
            `--tlscacert=${file(TLS_FILES.ca)}`,
            `--tlscert=${file(TLS_FILES.cert)}`,
            `--tlskey=${file(TLS_FILES.key)}`,
        );
    } else {
        // Without it dockerd warns about an unauthenticated TCP API and sleeps ~16 s at start.
        args.push("--tls=false");
    }
    args.push(...settings.registryMirrors.map((mirror) => `--registry-mirror=${mirror}`));
    args.push(...settings.registries.filter((r) => r.insecure).map((r) => `--insecure-registry=${r.host}`));
    if (settings.mtu !== undefined) {
        // --mtu alone only reaches the default bridge; networks users create would stay at 1500.
        args.push(`--mtu=${settings.mtu}`, `--default-network-opt=bridge=com.docker.network.driver.mtu=${settings.mtu}`);
    }
    args.push(...settings.extraDockerdArgs);
    return args;
}

/** The command that tells whether the daemon answers: a startup probe and a healthcheck run it. */
export function daemonReadyCommand(): string[] {
    return ["docker", "info"];
}

/**
 * A bounded wait for the daemon, for clients that start beside it with no
 * ordering guarantee. It polls every 0.2 s (a hand-written `sleep 3` loop noticed
 * a ready daemon up to 3 s late) and gives up with a message instead of waiting
 * forever.
 */
export function waitForDaemonScript(timeoutSeconds: number): string {
    return [
        `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
        "until docker info >/dev/null 2>&1; do",
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        `    echo "pulumi-dind: the Docker daemon at $DOCKER_HOST did not answer within ${timeoutSeconds} s; last error:" >&2`,
        "    docker info >/dev/null",
        "    exit 1",
        "  fi",
        "  sleep 0.2",
        "done",
    ].join("\n");
}

/** Keeps the client container up for `exec`, and lets it stop at once on SIGTERM. */
export const IDLE_SCRIPT = "trap 'exit 0' TERM INT\nwhile :; do sleep 86400 & wait $!; done";

/**
 * Runs the script given as $1 in a child shell and hands SIGTERM on to it: the
 * container's first process ignores signals it has no handler for, so a script
 * run directly would sit out the whole grace period and be killed.
 */
export const RUN_SCRIPT_AS_CHILD = [
    // Trapped before the child starts: a TERM in between would otherwise kill this shell and orphan the script.
    `trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT`,
    '/bin/sh -c "$1" &',
    "child=$!",
    '[ -z "$stopping" ] || kill -TERM "$child" 2>/dev/null',
    'while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || break; done',
    // A wait cut short by the trap reports the signal, not the script; the shell still holds the script's own status.
    'if [ -n "$stopping" ]; then wait "$child" 2>/dev/null; again=$?; [ "$again" -eq 127 ] || status=$again; fi',
    'exit "$status"',
].join("\n");

/**
 * The client container's command: optionally wait for the daemon, then run the
 * user's script with `set -e` so a failing step fails the job, or idle. The
 * script travels as an argument, untouched by the runner's own quoting.
 */
export function clientCommand(options: { script?: string; waitTimeoutSeconds?: number }): string[] {
    const wait = options.waitTimeoutSeconds === undefined ? [] : [waitForDaemonScript(options.waitTimeoutSeconds)];
    if (options.script === undefined) {
        return ["/bin/sh", "-c", [...wait, IDLE_SCRIPT].join("\n")];
    }
    return ["/bin/sh", "-c", [...wait, RUN_SCRIPT_AS_CHILD].join("\n"), "dind-client", `set -e\n${options.script}`];
}

/** The daemon-facing arguments both variants take, validated. */
export interface DaemonSettings {
    registryMirrors: string[];
    registries: RegistryTrust[];
    mtu?: number;
    extraDockerdArgs: string[];
}

/** Arguments shared by DindDeployment and LocalDind, as users pass them. */
export interface DaemonArgs {
    /** Registry mirrors (https URLs of a registry's root), tried in order before Docker Hub. Default none. */
    registryMirrors?: string[];
    /** Registries whose CA the daemon trusts, at /etc/docker/certs.d/<host>/ca.crt. Default none. */
    registries?: RegistryTrust[];
    /** MTU of the daemon's bridge networks, for overlays with a smaller MTU than 1500. Default dockerd's (1500). */
    mtu?: number;
    /** Extra dockerd flags, appended after the ones this package sets. Default none. */
    extraDockerdArgs?: string[];
}

/**
 * Validates the daemon arguments, with `registry` (a registry this package deploys)
 * wired in: its CA trusted and, for a mirror, first among the mirrors. `prefix`
 * names where they came from (`args.` or a config namespace).
 */
export function validateDaemonArgs(args: DaemonArgs, prefix: string, registry?: RegistryWiring): DaemonSettings {
    const registryMirrors = arrayOf(args.registryMirrors ?? [], `${prefix}registryMirrors`, registryMirrorUrl);
    const registries = arrayOf(args.registries ?? [], `${prefix}registries`, (entry, argument) => {
        const trust = knownKeys(entry as RegistryTrust, ["host", "caCertPem", "insecure"], argument);
        const insecure = trust.insecure === undefined ? false : booleanValue(trust.insecure, `${argument}.insecure`);
        if (insecure && trust.caCertPem !== undefined) {
            throw new InvalidArgumentError(`${argument}.caCertPem`, "a value", `nothing with ${argument}.insecure true: dockerd verifies nothing for an insecure registry, so the CA would be ignored`);
        }
        return {
            host: registryHost(trust.host, `${argument}.host`),
            caCertPem: trust.caCertPem === undefined ? undefined : caCertificatesInput(trust.caCertPem, `${argument}.caCertPem`),
            insecure,
        };
    });
    registries.forEach((trust, index) => {
        if (registries.findIndex((other) => sameHost(other.host, trust.host)) !== index) {
            throw new InvalidArgumentError(`${prefix}registries[${index}].host`, trust.host, "each host once");
        }
    });
    registryMirrors.forEach((mirror, index) => {
        const insecure = registries.findIndex((trust) => trust.insecure && sameHost(trust.host, new URL(mirror).host));
        if (insecure !== -1) {
            throw new InvalidArgumentError(`${prefix}registryMirrors[${index}]`, mirror, `a mirror verified over TLS: ${prefix}registries[${insecure}] marks its host insecure, which would let dockerd skip verifying it`);
        }
    });
    const settings = {
        registryMirrors,
        registries,
        mtu: optional(args.mtu, `${prefix}mtu`, networkMtu),
        extraDockerdArgs: arrayOf(args.extraDockerdArgs ?? [], `${prefix}extraDockerdArgs`, extraDockerdArg),
    };
    return registry === undefined ? settings : withRegistry(settings, registry, prefix);
}

function sameHost(a: string, b: string): boolean {
    return a.toLowerCase() === b.toLowerCase();
}

export function transportName(value: unknown, argument: string): Transport {
    return oneOf(value, TRANSPORTS, argument);
}

export function timeoutSeconds(value: unknown, argument: string): number {
    return integerInRange(value, 1, 3600, argument);
}

/**
 * A registry this package deploys (SelfHostedRegistry, LocalRegistry), as a
 * daemon variant needs it: known names at construction, so the certs.d path
 * and the mirror flag are plain strings.
 */
export interface RegistryWiring {
    /** The registry as daemons write it: `host:port`. */
    readonly registryHost: string;
    /** A pull-through `mirror` or a `private` registry that accepts pushes. */
    readonly mode: RegistryMode;
    /** The CA that signed the registry's certificate (public). */
    readonly caCertPem: Input<string>;
    /** The Docker network the registry is reached on, for a daemon on one Docker host; none on Kubernetes. */
    readonly networkName?: Input<string>;
}

/** The mirror URL of a registry served over TLS at `host`. */
export function mirrorUrlFor(registryHost: string): string {
    return `https://${registryHost}`;
}

/**
 * Adds a deployed registry to validated daemon settings: its CA is trusted, and
 * a mirror goes first in the mirror list. The same host given again by the user
 * would be overridden, so it is refused.
 */
function withRegistry(settings: DaemonSettings, registry: RegistryWiring, prefix: string): DaemonSettings {
    const trusted = settings.registries.findIndex((r) => sameHost(r.host, registry.registryHost));
    if (trusted !== -1) {
        throw new InvalidArgumentError(`${prefix}registries[${trusted}].host`, settings.registries[trusted].host, `a host other than ${prefix}registry's, which is trusted already with its own CA`);
    }
    // A private registry may serve as a mirror of images pushed to it under their Docker Hub names; listing it is how to ask for that.
    const mirror = mirrorUrlFor(registry.registryHost);
    const mirrored = registry.mode === "mirror" ? settings.registryMirrors.findIndex((url) => sameHost(url, mirror)) : -1;
    if (mirrored !== -1) {
        throw new InvalidArgumentError(`${prefix}registryMirrors[${mirrored}]`, settings.registryMirrors[mirrored], `a mirror other than ${prefix}registry, which is the first mirror already`);
    }
    return {
        ...settings,
        registryMirrors: registry.mode === "mirror" ? [mirror, ...settings.registryMirrors] : settings.registryMirrors,
        registries: [{ host: registry.registryHost, caCertPem: registry.caCertPem, insecure: false }, ...settings.registries],
    };
}
