import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { KeyPair, createDaemonTls } from "./certificates";
import { LOOPBACK, bridgeNetwork, dockerVolumeName, goDuration, stackVolumeName, toEnvs } from "./dockerHost";
import {
    CLIENT_CERT_DIR,
    DEFAULT_CLI_IMAGE,
    DEFAULT_DIND_IMAGE,
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
    dockerdArgsFor,
    registryCaKey,
    registryCaPath,
    validateDaemonArgs,
    validateTimeoutSeconds,
    validateTransport,
    withRegistry,
} from "./daemon";
import {
    InvalidArgumentError,
    absolutePath,
    booleanValue,
    integerInRange,
    knownKeys,
    lowerCaseDnsName,
    nonEmptyString,
    optional,
} from "./validation";

/** A docker CLI container that runs a script once against the daemon. */
export interface LocalDindClientArgs {
    /** Shell script run once with `set -e`, after a bounded wait for the daemon, in /output. Required. */
    script: string;
    /** An existing directory on the Docker host (absolute path) mounted at /output, so what the script writes lands there. Default none. */
    outputDirectory?: string;
    /** A named Docker volume mounted at /output instead; Docker creates it if missing and this stack never deletes it. Default none. */
    outputVolume?: string;
}

export interface LocalDindArgs extends DaemonArgs {
    /** How the host reaches the daemon: `unix` (docker.sock in socketDirectory) or mutual `tls` on 127.0.0.1:hostPort; plaintext `tcp` is refused. Default "unix" when socketDirectory is given, else "tls". */
    transport?: Transport;
    /** An existing directory on the Docker host (absolute path) where the daemon creates docker.sock. Required for "unix", refused for "tls". */
    socketDirectory?: string;
    /** The port on the Docker host's 127.0.0.1 where the TLS API is published. Default 2376; refused for "unix". */
    hostPort?: number;
    /** An existing Docker network to join instead of creating one, e.g. the network of a LocalRegistry passed as `registry`. Default: a new bridge network. */
    networkName?: pulumi.Input<string>;
    /** A registry deployed by this package: its CA is trusted and, in mirror mode, it is the first mirror. Default none. */
    registry?: RegistryWiring;
    /** The dockerd image. Default "docker:29-dind". */
    dindImage?: string;
    /** The docker CLI image of the client container. Default "docker:29-cli". */
    cliImage?: string;
    /** Leave the dind and CLI images in the host's image store on destroy, where other stacks and containers may use them. Default true. */
    keepImageLocally?: boolean;
    /** Keep the volume holding /var/lib/docker (the daemon's images, containers, volumes) on destroy; this stack's next `up` adopts it. Default true. */
    retainDataVolume?: boolean;
    /** How long the daemon may take to answer: `pulumi up` waits that long for it, and so does the client. Default 120. */
    startupTimeoutSeconds?: number;
    /** A docker CLI container that runs a script once against the daemon. Default none. */
    client?: LocalDindClientArgs;
}

/** How the host reaches the daemon, with only what that transport uses. */
type HostAccess = { transport: "unix"; socketDirectory: string } | { transport: "tls"; hostPort: number };

interface ClientSettings {
    script: string;
    /** What is mounted at /output, if anything. */
    output?: { type: "bind" | "volume"; source: string };
}

/** LocalDindArgs with defaults applied and every value checked. */
interface LocalDindSettings {
    access: HostAccess;
    daemon: DaemonSettings;
    networkName?: pulumi.Input<string>;
    dindImage: string;
    cliImage: string;
    keepImageLocally: boolean;
    retainDataVolume: boolean;
    startupTimeoutSeconds: number;
    client?: ClientSettings;
}

const DEFAULTS = {
    hostPort: TLS_PORT,
    dindImage: DEFAULT_DIND_IMAGE,
    cliImage: DEFAULT_CLI_IMAGE,
    keepImageLocally: true,
    retainDataVolume: true,
    startupTimeoutSeconds: 120,
};

/** The only host address anything is published on. */
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

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateLocalDindArgs(args: LocalDindArgs = {}, prefix = "args."): LocalDindSettings {
    // Without a socket directory the safe transport that needs nothing from the host is mutual TLS on loopback.
    const transport = validateTransport(args.transport ?? (args.socketDirectory === undefined ? "tls" : "unix"), `${prefix}transport`);
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
    if (transport === "unix" && args.socketDirectory === undefined) {
        throw new InvalidArgumentError(
            `${prefix}socketDirectory`,
            undefined,
            'the absolute path of a directory on the Docker host to hold docker.sock (required with transport "unix")',
        );
    }
    const access: HostAccess =
        transport === "unix"
            ? { transport, socketDirectory: absolutePath(args.socketDirectory, `${prefix}socketDirectory`) }
            : { transport, hostPort: integerInRange(args.hostPort ?? DEFAULTS.hostPort, 1, 65535, `${prefix}hostPort`) };
    return {
        access,
        daemon: withRegistry(validateDaemonArgs(args, prefix), args.registry),
        networkName: typeof args.networkName === "string" ? nonEmptyString(args.networkName, `${prefix}networkName`) : args.networkName,
        dindImage: nonEmptyString(args.dindImage ?? DEFAULTS.dindImage, `${prefix}dindImage`),
        cliImage: nonEmptyString(args.cliImage ?? DEFAULTS.cliImage, `${prefix}cliImage`),
        keepImageLocally: booleanValue(args.keepImageLocally ?? DEFAULTS.keepImageLocally, `${prefix}keepImageLocally`),
        retainDataVolume: booleanValue(args.retainDataVolume ?? DEFAULTS.retainDataVolume, `${prefix}retainDataVolume`),
        startupTimeoutSeconds: validateTimeoutSeconds(args.startupTimeoutSeconds ?? DEFAULTS.startupTimeoutSeconds, `${prefix}startupTimeoutSeconds`),
        client: optional(args.client, `${prefix}client`, validateClient),
    };
}

function validateClient(value: unknown, argument: string): ClientSettings {
    const client = knownKeys(value as LocalDindClientArgs, ["script", "outputDirectory", "outputVolume"], argument);
    if (client.outputDirectory !== undefined && client.outputVolume !== undefined) {
        throw new InvalidArgumentError(`${argument}.outputVolume`, client.outputVolume, "to be left out when outputDirectory is given (one of them is /output)");
    }
    return {
        script: nonEmptyString(client.script, `${argument}.script`),
        output:
            client.outputDirectory !== undefined
                ? { type: "bind", source: absolutePath(client.outputDirectory, `${argument}.outputDirectory`) }
                : client.outputVolume !== undefined
                  ? { type: "volume", source: dockerVolumeName(client.outputVolume, `${argument}.outputVolume`) }
                  : undefined,
    };
}

type Upload = docker.types.input.ContainerUpload;
type Mount = docker.types.input.ContainerMount;

/** The registry CAs as files: where dockerd looks them up, and flat for SSL_CERT_DIR. */
function registryCaUploads(registries: RegistryTrust[]): { certsD: Upload[]; trusted: Upload[] } {
    const withCa = registries.filter((r) => r.caCertPem !== undefined);
    return {
        // Uploads go through the API, which takes the host:port directory that the CLI's `-v` cannot.
        certsD: withCa.map((r) => ({ file: registryCaPath(r.host), content: r.caCertPem! })),
        trusted: withCa.map((r) => ({ file: `${TRUSTED_CA_DIR}/${registryCaKey(r.host)}`, content: r.caCertPem! })),
    };
}

/** A TLS pair and its CA under `dir`, named as dockerd's flags and DOCKER_CERT_PATH expect. */
function tlsUploads(dir: string, caCertPem: pulumi.Output<string>, pair: KeyPair): Upload[] {
    return [
        { file: `${dir}/${TLS_FILES.ca}`, content: caCertPem },
        { file: `${dir}/${TLS_FILES.cert}`, content: pair.certPem },
        { file: `${dir}/${TLS_FILES.key}`, content: pair.privateKeyPem, permissions: "0600" },
    ];
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
    /** The network the daemon is on, under its component name, for a LocalRegistry or other containers to join. */
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
        // The daemon's name on its network, one per instance so two daemons on a shared network stay apart;
        // the client dials it, so the server certificate names it.
        const alias = lowerCaseDnsName(name, "name (it is the daemon's name on its Docker network)");
        super("dind:index:LocalDind", name, {}, opts);
        const child = { parent: this };
        const { access, daemon } = settings;

        const image = new docker.RemoteImage(`${name}-image`, { name: settings.dindImage, keepLocally: settings.keepImageLocally }, child);
        const networkName =
            settings.networkName ??
            args.registry?.networkName ??
            // The daemon's own traffic crosses this network: an MTU its networks need must hold here too.
            new docker.Network(`${name}-network`, bridgeNetwork(daemon.mtu), child).name;
        const volume = new docker.Volume(`${name}-data`, { name: stackVolumeName(name, "docker") }, { ...child, retainOnDelete: settings.retainDataVolume });
        const tls =
            access.transport === "tls"
                ? createDaemonTls(`${name}-tls`, { dnsNames: ["localhost", alias], ipAddresses: [LOOPBACK] }, child)
                : undefined;

        const endpoints = daemonEndpoints(access.transport, alias);
        const registryCas = registryCaUploads(daemon.registries);
        const trustEnv = registryCas.trusted.length > 0 ? [`SSL_CERT_DIR=${TRUSTING_SSL_CERT_DIR}`] : [];
        const socketMounts: Mount[] = access.transport === "unix" ? [{ type: "bind", source: access.socketDirectory, target: SOCKET_DIR }] : [];

        const dind = new docker.Container(
            `${name}-dind`,
            {
                image: image.imageId,
                privileged: true,
                command: dockerdArgsFor(access.transport, daemon),
                envs: [`DOCKER_HOST=${endpoints.localDockerHost}`, ...trustEnv],
                uploads: [...registryCas.certsD, ...registryCas.trusted, ...(tls ? tlsUploads(SERVER_CERT_DIR, tls.caCertPem, tls.server) : [])],
                mounts: [{ type: "volume", source: volume.name, target: DOCKER_DATA_DIR }, ...socketMounts],
                networksAdvanced: [{ name: networkName, aliases: [alias] }],
                ports: access.transport === "tls" ? [{ internal: TLS_PORT, external: access.hostPort, ip: LOOPBACK }] : undefined,
                healthcheck: {
                    tests: ["CMD", ...daemonReadyCommand()],
                    ...HEALTHCHECK,
                    startPeriod: goDuration(settings.startupTimeoutSeconds),
                },
                wait: true,
                waitTimeout: settings.startupTimeoutSeconds,
                restart: "unless-stopped",
                destroyGraceSeconds: DAEMON_STOP_SECONDS,
                stopTimeout: DAEMON_STOP_SECONDS,
            },
            // The old and new container must never run at once: both would use the data volume (and the host port).
            // The provider never applies a healthcheck change to an existing container, so a change replaces it.
            // dockerd silently skips a mirror that does not answer yet, so a wired registry is healthy first.
            {
                ...child,
                deleteBeforeReplace: true,
                replaceOnChanges: ["healthcheck"],
                dependsOn: args.registry?.servedBy ? [args.registry.servedBy] : [],
            },
        );

        // A one-shot job: created once the daemon is healthy, not waited for, never restarted,
        // and allowed to have exited: with mustRun, a refresh finds the exited container and
        // the next update starts it again, running the script a second time. Its own bounded
        // wait covers a daemon that restarts meanwhile.
        let client: docker.Container | undefined;
        if (settings.client) {
            const cliImage = new docker.RemoteImage(`${name}-cli-image`, { name: settings.cliImage, keepLocally: settings.keepImageLocally }, child);
            const output = settings.client.output;
            client = new docker.Container(
                `${name}-client`,
                {
                    image: cliImage.imageId,
                    command: clientCommand({ script: settings.client.script, waitTimeoutSeconds: settings.startupTimeoutSeconds }),
                    envs: [...toEnvs(clientEnvironment(access.transport, endpoints.clientDockerHost)), ...trustEnv],
                    uploads: [...registryCas.trusted, ...(tls ? tlsUploads(CLIENT_CERT_DIR, tls.caCertPem, tls.client) : [])],
                    mounts: [...socketMounts, ...(output ? [{ ...output, target: OUTPUT_DIR }] : [])],
                    networksAdvanced: [{ name: networkName }],
                    workingDir: OUTPUT_DIR,
                    // Docker's default capabilities stay: the script writes into an output directory the user owns.
                    securityOpts: ["no-new-privileges:true"],
                    restart: "no",
                    mustRun: false,
                },
                { ...child, dependsOn: [dind] },
            );
        }

        this.dockerHost = pulumi.output(
            access.transport === "unix"
                ? `unix://${path.posix.join(access.socketDirectory, path.posix.basename(SHARED_SOCKET))}`
                : `tcp://${LOOPBACK}:${access.hostPort}`,
        );
        this.networkName = pulumi.output(networkName);
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
