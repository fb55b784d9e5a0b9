/** What the Docker-provider components (LocalDind, LocalRegistry) share about the Docker host. */
import * as path from "path";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "./validation";

/** Ports are published on the host's loopback only: nothing here is for other machines. */
export const LOOPBACK = "127.0.0.1";

/**
 * The names Docker gives containers and volumes (moby's RestrictedNamePattern), which Pulumi's
 * auto-names (`<name>-<suffix>`) must also match. Volumes need two characters.
 */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function dockerVolumeName(value: unknown, argument: string): string {
    if (typeof value !== "string" || !VOLUME_NAME.test(value)) {
        throw new InvalidArgumentError(argument, value, "a Docker volume name (letters, digits, '_', '.', '-', starting with a letter or digit)");
    }
    return value;
}

/** A component name that starts the auto-names of its containers and networks, which Docker must accept. */
export function dockerNamePrefix(value: unknown, argument: string): string {
    if (typeof value !== "string" || !DOCKER_NAME.test(value)) {
        throw new InvalidArgumentError(argument, value, "a name Docker accepts for containers (letters, digits, '_', '.', '-', starting with a letter or digit)");
    }
    return value;
}

/**
 * Docker's own networks, on which a container has no alias (moby refuses one: "network-scoped
 * alias is supported only for containers in user defined networks"); `container:<id>` is
 * another container's network stack, not a network.
 */
const NETWORKS_WITHOUT_ALIASES = ["host", "bridge", "none", "default"];

/**
 * A user-defined Docker network to join, where the component is reached by its alias: a
 * name as Docker writes them, and none of Docker's own networks. An Output is left to the engine.
 */
export function dockerNetworkName(value: unknown, argument: string): pulumi.Input<string> {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return value as pulumi.Input<string>;
    }
    if (typeof value === "string" && (NETWORKS_WITHOUT_ALIASES.includes(value) || value.startsWith("container:"))) {
        throw new InvalidArgumentError(
            argument,
            value,
            `a user-defined network (not ${NETWORKS_WITHOUT_ALIASES.map((n) => `"${n}"`).join(", ")} or "container:...", where Docker gives a container no alias to be reached by)`,
        );
    }
    if (typeof value !== "string" || !DOCKER_NAME.test(value)) {
        throw new InvalidArgumentError(argument, value, "a Docker network name (letters, digits, '_', '.', '-', starting with a letter or digit) or an Output of one");
    }
    return value;
}

/**
 * System directories refused themselves, whose subdirectories may be the user's
 * (/run/user/1000/dind, /var/lib/ci); /run and /var/run hold the host's Docker socket.
 */
const SYSTEM_DIRECTORIES = ["/root", "/run", "/var", "/var/lib", "/var/run"];
/** Trees refused with everything below them: the system itself, and Docker's and containerd's state and sockets. */
const SYSTEM_TREES = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin", "/sys", "/usr",
    "/var/lib/docker", "/var/lib/containerd", "/run/containerd", "/var/run/containerd",
];
/** Docker's runtime directories and sockets (/run/docker, /run/docker.sock, /var/run/docker-...). */
const DOCKER_RUNTIME = /^\/(var\/)?run\/docker[^/]*(\/|$)/;
/** Where the host's Docker daemon listens when nothing else says so; /var/run is a link to /run. */
export const DEFAULT_HOST_SOCKETS = ["/var/run/docker.sock", "/run/docker.sock"];

/** `/a//b/../c/` as `/a/c`: what the host resolves, without following links (the host may be another machine). */
export function normalisedHostPath(value: string): string {
    return path.posix.normalize(value).replace(/(.)\/+$/, "$1");
}

/**
 * The sockets of the Docker daemon this stack deploys to, whose directories must never be
 * shared with a container: Docker's default, the unix socket of DOCKER_HOST (which the
 * provider reads when no host is configured) and of the `docker:host` config. A host given
 * only to an explicit provider cannot be seen from here.
 */
export function hostDockerSockets(dockerHosts: (string | undefined)[] = [process.env.DOCKER_HOST, new pulumi.Config("docker").get("host")]): string[] {
    const sockets = dockerHosts
        .filter((host): host is string => typeof host === "string" && host.startsWith("unix:///"))
        .map((host) => normalisedHostPath(host.slice("unix://".length)));
    // Either spelling of /var/run reaches the same socket.
    const bothSpellings = sockets.flatMap((socket) => [socket, socket.replace(/^\/var\/run(?=\/|$)/, "/run"), socket.replace(/^\/run(?=\/|$)/, "/var/run")]);
    return [...new Set([...DEFAULT_HOST_SOCKETS, ...bothSpellings])];
}

/** Why a normalised host path may not be mounted, or undefined when it may. */
function hostPathRefusal(normalised: string, hostSockets: readonly string[]): string | undefined {
    if (normalised === "/") {
        return "the host's root";
    }
    if (SYSTEM_DIRECTORIES.includes(normalised) || SYSTEM_TREES.some((tree) => normalised === tree || normalised.startsWith(`${tree}/`))) {
        return "a system directory";
    }
    if (DOCKER_RUNTIME.test(normalised)) {
        return "Docker's runtime directory";
    }
    // The socket's directory would have it replaced by the daemon's own socket; any directory above it hands it out.
    const socket = hostSockets.find((s) => s === normalised || s.startsWith(`${normalised}/`));
    if (socket !== undefined) {
        return `a directory holding the host's own Docker socket (${socket})`;
    }
    return undefined;
}

/**
 * A directory on the Docker host to bind-mount, normalised (`//`, `/tmp/..` and `/.` are
 * all `/`) before it is checked, and mounted as normalised. Never the host's root, a system
 * directory, Docker's runtime directories, or a directory holding the host's own Docker socket.
 */
export function dockerHostPath(value: unknown, argument: string, hostSockets: readonly string[] = hostDockerSockets()): string {
    // A control character cannot be typed into a path on purpose; a newline would split the mount's description.
    if (typeof value !== "string" || !value.startsWith("/") || /[\u0000-\u001f\u007f]/.test(value)) {
        throw new InvalidArgumentError(argument, value, "an absolute path of a directory on the Docker host, such as /srv/dind");
    }
    const normalised = normalisedHostPath(value);
    const refusal = hostPathRefusal(normalised, hostSockets);
    if (refusal !== undefined) {
        const reading = normalised === value ? "" : ` (${JSON.stringify(value)} is ${normalised})`;
        throw new InvalidArgumentError(argument, value, `a directory of its own on the Docker host, not ${refusal}${reading}`);
    }
    return normalised;
}

/**
 * A volume named after project, stack and component rather than auto-named, so
 * a volume kept by `pulumi destroy` is adopted by the next `up` of the same
 * stack instead of leaking.
 */
export function stackVolumeName(name: string, purpose: string): string {
    return `${pulumi.getProject()}-${pulumi.getStack()}-${name}-${purpose}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
}

/** Seconds as Go formats a time.Duration (`90` is "1m30s"): the provider compares healthcheck durations as strings. */
export function goDuration(seconds: number): string {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = `${minutes}m${seconds % 60}s`;
    return hours > 0 ? `${hours}h${rest}` : minutes > 0 ? rest : `${seconds}s`;
}

/** An environment as the Docker API takes it: `KEY=value` strings. */
export function toEnvs(env: Record<string, string>): string[] {
    return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/** A bridge network's args; with an MTU, Docker's driver option for it (the only way to set a user network's MTU). */
export function bridgeNetwork(mtu: number | undefined): docker.NetworkArgs {
    return { driver: "bridge", options: mtu === undefined ? undefined : { "com.docker.network.driver.mtu": String(mtu) } };
}

/** A container port published on the host's loopback only. */
export function loopbackPort(internal: number, external: number): docker.types.input.ContainerPort {
    return { internal, external, ip: LOOPBACK };
}

/** Each network once, in the order given, with the container's alias on each. */
export function networkAttachments(networkNames: string[], alias?: string): docker.types.input.ContainerNetworksAdvanced[] {
    return [...new Set(networkNames)].map((name) => (alias === undefined ? { name } : { name, aliases: [alias] }));
}

/**
 * A long-running service container (a daemon, a registry): back with the host, and given
 * `stopSeconds` to finish its work when stopped or replaced.
 */
export function serviceContainer(stopSeconds: number): Pick<docker.ContainerArgs, "restart" | "destroyGraceSeconds" | "stopTimeout"> {
    return { restart: "unless-stopped", destroyGraceSeconds: stopSeconds, stopTimeout: stopSeconds };
}

/**
 * How a service container is replaced. The old and new container must never run at once:
 * both would use its volume (and its host port). The provider never applies a healthcheck
 * change to an existing container, so a change replaces it.
 */
export const SERVICE_REPLACEMENT: pulumi.CustomResourceOptions = { deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] };
