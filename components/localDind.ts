import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { componentType, withFormerType } from "./typeTokens";
import { DaemonTls, KeyPair, createDaemonTls } from "./certificates";
import {
    LOOPBACK,
    SERVICE_REPLACEMENT,
    bridgeNetwork,
    dockerHostPath,
    dockerNetworkName,
    dockerVolumeName,
    goDuration,
    hostDockerSockets,
    loopbackPort,
    networkAttachments,
    serviceContainer,
    stackVolumeName,
    toEnvs,
} from "./dockerHost";
import {
    CLIENT_CERT_DIR,
    DEFAULT_CLI_IMAGE,
    DEFAULT_DIND_IMAGE,
    DEFAULT_STARTUP_TIMEOUT_SECONDS,
    DOCKER_DATA_DIR,
    DaemonArgs,
    DaemonSettings,
    RegistryTrust,
    RegistryWiring,
    SERVER_CERT_DIR,
    SHARED_SOCKET,
    SOCKET_DIR,
    TLS_FILES,
    TLS_PORT,
    TRUSTED_CA_DIR,
    TRUSTING_SSL_CERT_DIR,
    Transport,
    clientCommand,
    clientEnvironment,
    daemonEndpoints,
    daemonReadyCommand,
    dockerdArgs,
    registryCaKey,
    registryCaPath,
    validateDaemonArgs,
    timeoutSeconds,
    transportName,
} from "./daemon";
import { DAEMON_CONFIG_FIELDS, DAEMON_CONFIG_FILE, DaemonConfigArgs, DaemonConfigSettings, validateDaemonConfigArgs } from "./daemonConfig";
import { wiredRegistry } from "./registrySettings";
import {
    InvalidArgumentError,
    argumentKeys,
    booleanValue,
    imageReference,
    integerInRange,
    knownArgs,
    knownKeys,
    lowerCaseDnsName,
    nonEmptyString,
    optional,
} from "./validation";

/** A docker CLI container that runs a script once against the daemon. */
export interface LocalDindClient {
    /** Shell script run once with `set -e`, after a bounded wait for the daemon, in /output. Required. */
    script: string;
    /** An existing directory on the Docker host (absolute path, normalised; no system directory) mounted at /output, so what the script writes lands there. Default none. */
    outputDirectory?: string;
    /** A named Docker volume mounted at /output instead; Docker creates it if missing and this stack never deletes it. Refused with outputDirectory. Default none. */
    outputVolume?: string;
}

export interface LocalDindArgs extends DaemonArgs, DaemonConfigArgs {
    /** How the host reaches the daemon: `unix` (docker.sock in socketDirectory) or mutual `tls` on 127.0.0.1:hostPort; plaintext `tcp` is refused. Default "unix" when socketDirectory is given, else "tls". */
    transport?: Transport;
    /**
     * An existing directory on the Docker host (absolute path, normalised) where the daemon creates docker.sock.
     * Never the host's root, a system directory, or a directory holding the host's own Docker socket.
     * Required for "unix", refused for "tls".
     */
    socketDirectory?: string;
    /** The port on the Docker host's 127.0.0.1 where the TLS API is published. Default 2376; refused for "unix". */
    hostPort?: number;
    /**
     * An existing user-defined Docker network to join, e.g. one other containers are on. With a `registry`,
     * the daemon is on the registry's network too. Its MTU is the network's own. Default: the registry's
     * network, else a new bridge network with `mtu`.
     */
    networkName?: pulumi.Input<string>;
    /** A registry deployed by this package on this Docker host (a LocalRegistry): its CA is trusted and, in mirror mode, it is the first mirror. Default none. */
    registry?: RegistryWiring;
    /** The dockerd image. Default "docker:29-dind". */
    dindImage?: string;
    /** The docker CLI image of the client container; refused without `client`. Default "docker:29-cli". */
    cliImage?: string;
    /** Leave the dind and CLI images in the host's image store on destroy, where other stacks and containers may use them. Default true. */
    keepImageLocally?: boolean;
    /** Keep the volume holding /var/lib/docker (the daemon's images, containers, volumes) on destroy; this stack's next `up` adopts it. Default true. */
    retainDataVolume?: boolean;
    /** How long the daemon may take to answer: `pulumi up` waits that long for it, and so does the client. Default 120. */
    startupTimeoutSeconds?: number;
    /** A docker CLI container that runs a script once against the daemon. Default none. */
    client?: LocalDindClient;
}

export const LOCAL_DIND_ARG_KEYS = argumentKeys<LocalDindArgs>({
    transport: true,
    socketDirectory: true,
    hostPort: true,
    networkName: true,
    registry: true,
    dindImage: true,
    cliImage: true,
    keepImageLocally: true,
    retainDataVolume: true,
    startupTimeoutSeconds: true,
    client: true,
    registryMirrors: true,
    registries: true,
    mtu: true,
    extraDockerdArgs: true,
    ...DAEMON_CONFIG_FIELDS,
});
const CLIENT_KEYS = argumentKeys<LocalDindClient>({ script: true, outputDirectory: true, outputVolume: true });

/** How the host reaches the daemon, with only what that transport uses. */
export type HostAccess = { transport: "unix"; socketDirectory: string } | { transport: "tls"; hostPort: number };

export interface LocalDindClientSettings {
    script: string;
    /** What is mounted at /output, if anything. */
    output?: { type: "bind" | "volume"; source: string };
}

/** LocalDindArgs with defaults applied and every value checked. */
export interface LocalDindSettings {
    access: HostAccess;
    /** The daemon's arguments with the wired registry added. */
    daemon: DaemonSettings;
    /** daemon.json and the image's switches. */
    daemonConfig: DaemonConfigSettings;
    registry?: RegistryWiring;
    /** The networks to join, the first one the client's; none means a network of its own. */
    networkNames: pulumi.Input<string>[];
    dindImage: string;
    cliImage: string;
    keepImageLocally: boolean;
    retainDataVolume: boolean;
    startupTimeoutSeconds: number;
    client?: LocalDindClientSettings;
}

const DEFAULTS = {
    hostPort: TLS_PORT,
    dindImage: DEFAULT_DIND_IMAGE,
    cliImage: DEFAULT_CLI_IMAGE,
    keepImageLocally: true,
    retainDataVolume: true,
    startupTimeoutSeconds: DEFAULT_STARTUP_TIMEOUT_SECONDS,
};

/** The client's working directory, where an output directory or volume is mounted. */
const OUTPUT_DIR = "/output";
/** dockerd stops its own containers on SIGTERM (15 s by default) before it exits; killing it sooner risks the image store. */
const DAEMON_STOP_SECONDS = 30;
/**
 * Docker >= 25 probes every 5 s during the start period, so readiness shows
 * within seconds; afterwards one `docker info` every 10 s is cheap. Durations are
 * written as Go prints them, the form the provider reads back.
 */
const HEALTHCHECK = { interval: "10s", timeout: "10s", retries: 3 };

/**
 * Checks every argument and applies the defaults; `prefix` names where they came from.
 * `hostSockets` are the host's own Docker sockets, whose directories are never shared.
 */
export function validateLocalDindArgs(given: LocalDindArgs = {}, prefix = "args.", hostSockets = hostDockerSockets()): LocalDindSettings {
    const args = knownArgs(given, LOCAL_DIND_ARG_KEYS, prefix);
    const access = validateHostAccess(args, prefix, hostSockets);
    if (args.cliImage !== undefined && args.client === undefined) {
        throw new InvalidArgumentError(`${prefix}cliImage`, args.cliImage, "nothing without a client script (it is the image of the client container, which runs only to run one)");
    }
    const registry = optional(args.registry, `${prefix}registry`, registryOnDockerHost);
    const daemon = validateDaemonArgs(args, prefix, registry);
    const daemonConfig = validateDaemonConfigArgs(args, access.transport, daemon, prefix);
    const networkName = optional(args.networkName, `${prefix}networkName`, dockerNetworkName);
    return {
        access,
        daemon,
        daemonConfig,
        registry,
        networkNames: [networkName, registry?.networkName].filter((n): n is pulumi.Input<string> => n !== undefined),
        dindImage: imageReference(args.dindImage ?? DEFAULTS.dindImage, `${prefix}dindImage`),
        cliImage: imageReference(args.cliImage ?? DEFAULTS.cliImage, `${prefix}cliImage`),
        keepImageLocally: booleanValue(args.keepImageLocally ?? DEFAULTS.keepImageLocally, `${prefix}keepImageLocally`),
        retainDataVolume: booleanValue(args.retainDataVolume ?? DEFAULTS.retainDataVolume, `${prefix}retainDataVolume`),
        startupTimeoutSeconds: timeoutSeconds(args.startupTimeoutSeconds ?? DEFAULTS.startupTimeoutSeconds, `${prefix}startupTimeoutSeconds`),
        client: optional(args.client, `${prefix}client`, (value, argument) => validateClient(value, argument, hostSockets)),
    };
}

function validateHostAccess(args: LocalDindArgs, prefix: string, hostSockets: readonly string[]): HostAccess {
    // Without a socket directory the safe transport that needs nothing from the host is mutual TLS on loopback.
    const transport = transportName(args.transport ?? (args.socketDirectory === undefined ? "tls" : "unix"), `${prefix}transport`);
    if (transport === "tcp") {
        // In a pod the client shares the daemon's loopback; here nothing does, so plaintext would have to be published.
        throw new InvalidArgumentError(
            `${prefix}transport`,
            transport,
            '"unix" or "tls" (plaintext tcp would have to be published on the host, handing root on it to anyone who can connect)',
        );
    }
    const onlyWith = (owner: Transport, argument: string, value: unknown) => {
        if (value !== undefined && transport !== owner) {
            throw new InvalidArgumentError(`${prefix}${argument}`, value, `to be left out with transport "${transport}" (it is for "${owner}")`);
        }
    };
    onlyWith("unix", "socketDirectory", args.socketDirectory);
    onlyWith("tls", "hostPort", args.hostPort);
    if (transport === "tls") {
        return { transport, hostPort: integerInRange(args.hostPort ?? DEFAULTS.hostPort, 1, 65535, `${prefix}hostPort`) };
    }
    if (args.socketDirectory === undefined) {
        throw new InvalidArgumentError(
            `${prefix}socketDirectory`,
            undefined,
            'the absolute path of a directory on the Docker host to hold docker.sock (required with transport "unix")',
        );
    }
    return { transport, socketDirectory: dockerHostPath(args.socketDirectory, `${prefix}socketDirectory`, hostSockets) };
}

function validateClient(value: unknown, argument: string, hostSockets: readonly string[]): LocalDindClientSettings {
    const client = knownKeys(value as LocalDindClient, CLIENT_KEYS, argument);
    if (client.outputDirectory !== undefined && client.outputVolume !== undefined) {
        throw new InvalidArgumentError(`${argument}.outputVolume`, client.outputVolume, "to be left out when outputDirectory is given (one of them is /output)");
    }
    return {
        script: nonEmptyString(client.script, `${argument}.script`),
        output:
            client.outputDirectory !== undefined
                ? { type: "bind", source: dockerHostPath(client.outputDirectory, `${argument}.outputDirectory`, hostSockets) }
                : client.outputVolume !== undefined
                  ? { type: "volume", source: dockerVolumeName(client.outputVolume, `${argument}.outputVolume`) }
                  : undefined,
    };
}

/** A registry the daemon reaches on a Docker network of this host: its host goes into certs.d paths, so it is checked. */
function registryOnDockerHost(value: unknown, argument: string): RegistryWiring {
    const registry = wiredRegistry(value, argument, "a registry this package deploys, such as a LocalRegistry");
    if (registry.networkName === undefined) {
        throw new InvalidArgumentError(
            argument,
            `a registry without a Docker network (${registry.registryHost})`,
            "a registry on this Docker host, such as a LocalRegistry, whose network the daemon joins to reach it",
        );
    }
    return registry;
}

/** The daemon's name on its networks, which the client dials and its certificate names; the registry must be reached by another. */
function daemonAlias(name: string, registry: RegistryWiring | undefined): string {
    const alias = lowerCaseDnsName(name, "name (it is the daemon's name on its Docker network)");
    const registryName = registry?.registryHost.replace(/:\d+$/, "").toLowerCase();
    if (registryName === alias || registryName === "localhost") {
        throw new InvalidArgumentError(
            "args.registry",
            registry!.registryHost,
            `a registry whose name on the network is neither "${alias}" (the daemon's own) nor "localhost": the daemon would dial itself`,
        );
    }
    return alias;
}

type Upload = docker.types.input.ContainerUpload;
type Mount = docker.types.input.ContainerMount;

/** The registry CAs as files: where dockerd looks them up, and flat for SSL_CERT_DIR. */
export function registryCaUploads(registries: RegistryTrust[]): { certsD: Upload[]; trusted: Upload[] } {
    const withCa = registries.filter((r) => r.caCertPem !== undefined);
    return {
        // Uploads go through the API, which takes the host:port directory that the CLI's `-v` cannot.
        certsD: withCa.map((r) => ({ file: registryCaPath(r.host), content: r.caCertPem! })),
        trusted: withCa.map((r) => ({ file: `${TRUSTED_CA_DIR}/${registryCaKey(r.host)}`, content: r.caCertPem! })),
    };
}

/** A TLS pair and its CA under `dir`, named as dockerd's flags and DOCKER_CERT_PATH expect. */
function tlsUploads(dir: string, caCertPem: pulumi.Input<string>, pair: KeyPair): Upload[] {
    return [
        { file: `${dir}/${TLS_FILES.ca}`, content: caCertPem },
        { file: `${dir}/${TLS_FILES.cert}`, content: pair.certPem },
        { file: `${dir}/${TLS_FILES.key}`, content: pair.privateKeyPem, permissions: "0600" },
    ];
}

/** What the daemon's and the client's containers are made from. */
export interface LocalDindParts {
    /** The daemon's name on its networks. */
    alias: string;
    imageId: pulumi.Input<string>;
    networkNames: pulumi.Input<string>[];
    volumeName: pulumi.Input<string>;
    tls?: DaemonTls;
}

/** The host directory with the socket, mounted in the daemon and the client alike. */
function socketMounts(access: HostAccess): Mount[] {
    return access.transport === "unix" ? [{ type: "bind", source: access.socketDirectory, target: SOCKET_DIR }] : [];
}

/** SSL_CERT_DIR for a container that must trust the registry CAs, when there are any. */
function trustEnvironment(registries: RegistryTrust[]): string[] {
    return registryCaUploads(registries).trusted.length > 0 ? [`SSL_CERT_DIR=${TRUSTING_SSL_CERT_DIR}`] : [];
}

/** daemon.json where dockerd reads it, when there is one. */
function daemonConfigUploads(daemonConfig: DaemonConfigSettings): Upload[] {
    return daemonConfig.file === undefined ? [] : [{ file: DAEMON_CONFIG_FILE, content: daemonConfig.file }];
}

/** The daemon's container: privileged dockerd with its data volume, daemon.json, its registries' CAs and its TLS pair. */
export function daemonContainerArgs(settings: LocalDindSettings, parts: LocalDindParts): docker.ContainerArgs {
    const { access, daemon, daemonConfig } = settings;
    const registryCas = registryCaUploads(daemon.registries);
    return {
        image: parts.imageId,
        privileged: true,
        command: dockerdArgs(access.transport, daemon),
        envs: [`DOCKER_HOST=${daemonEndpoints(access.transport).localDockerHost}`, ...trustEnvironment(daemon.registries), ...toEnvs(daemonConfig.environment)],
        uploads: [
            ...daemonConfigUploads(daemonConfig),
            ...registryCas.certsD,
            ...registryCas.trusted,
            ...(parts.tls ? tlsUploads(SERVER_CERT_DIR, parts.tls.caCertPem, parts.tls.server) : []),
        ],
        mounts: [{ type: "volume", source: parts.volumeName, target: DOCKER_DATA_DIR }, ...socketMounts(access)],
        networksAdvanced: pulumi.all(parts.networkNames).apply((names) => networkAttachments(names, parts.alias)),
        ports: access.transport === "tls" ? [loopbackPort(TLS_PORT, access.hostPort)] : undefined,
        healthcheck: { tests: ["CMD", ...daemonReadyCommand()], ...HEALTHCHECK, startPeriod: goDuration(settings.startupTimeoutSeconds) },
        wait: true,
        waitTimeout: settings.startupTimeoutSeconds,
        ...serviceContainer(DAEMON_STOP_SECONDS),
    };
}

/**
 * A one-shot job: created once the daemon is healthy, not waited for, never restarted,
 * and allowed to have exited: with mustRun, a refresh finds the exited container and
 * the next update starts it again, running the script a second time. Its own bounded
 * wait covers a daemon that restarts meanwhile.
 */
export function clientContainerArgs(settings: LocalDindSettings, client: LocalDindClientSettings, parts: LocalDindParts): docker.ContainerArgs {
    const { access, daemon } = settings;
    const dockerHost = daemonEndpoints(access.transport, parts.alias).clientDockerHost;
    return {
        image: parts.imageId,
        command: clientCommand({ script: client.script, waitTimeoutSeconds: settings.startupTimeoutSeconds }),
        envs: [...toEnvs(clientEnvironment(access.transport, dockerHost)), ...trustEnvironment(daemon.registries)],
        uploads: [...registryCaUploads(daemon.registries).trusted, ...(parts.tls ? tlsUploads(CLIENT_CERT_DIR, parts.tls.caCertPem, parts.tls.client) : [])],
        mounts: [...socketMounts(access), ...(client.output ? [{ ...client.output, target: OUTPUT_DIR }] : [])],
        networksAdvanced: pulumi.output(parts.networkNames[0]).apply((name) => networkAttachments([name])),
        workingDir: OUTPUT_DIR,
        // Docker's default capabilities stay: the script writes into an output directory the user owns.
        securityOpts: ["no-new-privileges:true"],
        restart: "no",
        mustRun: false,
    };
}

/** DOCKER_HOST for the host's docker CLI. */
export function hostDockerHost(access: HostAccess): string {
    return access.transport === "unix"
        ? `unix://${path.posix.join(access.socketDirectory, path.posix.basename(SHARED_SOCKET))}`
        : `tcp://${LOOPBACK}:${access.hostPort}`;
}

/**
 * A private Docker daemon in a privileged container on a Docker host: its image
 * store on a named volume, the registries it must trust in certs.d, reached from
 * the host over a unix socket in a host directory or mutual TLS on 127.0.0.1,
 * with an optional docker CLI container that runs a script against it once.
 */
export class LocalDind extends pulumi.ComponentResource {
    /** DOCKER_HOST for the host's docker CLI: `unix://<socketDirectory>/docker.sock` or `tcp://127.0.0.1:<hostPort>`. */
    public readonly dockerHost: pulumi.Output<string>;
    /** The network the daemon is on (the first, with several), for a LocalRegistry or other containers to join. */
    public readonly networkName: pulumi.Output<string>;
    /** The daemon's container. */
    public readonly containerName: pulumi.Output<string>;
    /** The volume holding /var/lib/docker. */
    public readonly volumeName: pulumi.Output<string>;
    /** The CA that signed the daemon's certificate, DOCKER_CERT_PATH's ca.pem (tls only). */
    public readonly caCertPem: pulumi.Output<string | undefined>;
    /** The client certificate, DOCKER_CERT_PATH's cert.pem (tls only). */
    public readonly clientCertPem: pulumi.Output<string | undefined>;
    /** The client key, DOCKER_CERT_PATH's key.pem, a secret (tls only). */
    public readonly clientKeyPem: pulumi.Output<string | undefined>;
    /** The client container, when a client is declared; `docker logs` shows what its script printed. */
    public readonly clientContainerName: pulumi.Output<string | undefined>;

    constructor(name: string, args: LocalDindArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateLocalDindArgs(args);
        const alias = daemonAlias(name, settings.registry);
        super(componentType("LocalDind"), name, {}, withFormerType("LocalDind", opts));
        const child = { parent: this };

        const image = new docker.RemoteImage(`${name}-image`, { name: settings.dindImage, keepLocally: settings.keepImageLocally }, child);
        // The daemon's own traffic crosses the network it creates: an MTU its networks need must hold there too.
        const networkNames = settings.networkNames.length > 0 ? settings.networkNames : [new docker.Network(`${name}-network`, bridgeNetwork(settings.daemon.mtu), child).name];
        const volume = new docker.Volume(`${name}-data`, { name: stackVolumeName(name, "docker") }, { ...child, retainOnDelete: settings.retainDataVolume });
        const tls = settings.access.transport === "tls" ? createDaemonTls(`${name}-tls`, { dnsNames: ["localhost", alias], ipAddresses: [LOOPBACK] }, child) : undefined;
        const parts: LocalDindParts = { alias, imageId: image.imageId, networkNames, volumeName: volume.name, tls };

        // dockerd silently skips a mirror that does not answer yet, so a wired registry is healthy first. Only
        // dependsOn orders it: no property of the daemon depends on the registry's container, so replacing
        // the registry (a renewed certificate, a new user) leaves the daemon running.
        const dependsOn = pulumi.Resource.isInstance(args.registry) ? [args.registry] : [];
        const dind = new docker.Container(`${name}-dind`, daemonContainerArgs(settings, parts), { ...child, ...SERVICE_REPLACEMENT, dependsOn });
        let client: docker.Container | undefined;
        if (settings.client) {
            const cliImage = new docker.RemoteImage(`${name}-cli-image`, { name: settings.cliImage, keepLocally: settings.keepImageLocally }, child);
            client = new docker.Container(`${name}-client`, clientContainerArgs(settings, settings.client, { ...parts, imageId: cliImage.imageId }), { ...child, dependsOn: [dind] });
        }

        this.dockerHost = pulumi.output(hostDockerHost(settings.access));
        this.networkName = pulumi.output(networkNames[0]);
        this.containerName = dind.name;
        this.volumeName = volume.name;
        this.caCertPem = pulumi.output(tls?.caCertPem);
        this.clientCertPem = pulumi.output(tls?.client.certPem);
        this.clientKeyPem = pulumi.output(tls?.client.privateKeyPem);
        this.clientContainerName = pulumi.output(client?.name);
        this.registerOutputs({
            dockerHost: this.dockerHost,
            networkName: this.networkName,
            containerName: this.containerName,
            volumeName: this.volumeName,
            caCertPem: this.caCertPem,
            clientCertPem: this.clientCertPem,
            clientKeyPem: this.clientKeyPem,
            clientContainerName: this.clientContainerName,
        });
    }
}
