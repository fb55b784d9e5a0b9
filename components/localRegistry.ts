import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { componentType, withFormerType } from "./typeTokens";
import { KeyPair } from "./certificates";
import { RegistryWiring, mirrorUrlFor } from "./daemon";
import {
    LOOPBACK,
    SERVICE_REPLACEMENT,
    bridgeNetwork,
    dockerNamePrefix,
    dockerNetworkName,
    dockerVolumeName,
    goDuration,
    loopbackPort,
    networkAttachments,
    serviceContainer,
    stackVolumeName,
    toEnvs,
} from "./dockerHost";
import {
    HTPASSWD_FILE,
    REGISTRY_AUTH_DIR,
    REGISTRY_DATA_DIR,
    REGISTRY_PORT,
    REGISTRY_TLS_DIR,
    REGISTRY_TLS_FILES,
    REGISTRY_UPSTREAM_CA_DIR,
    RegistryArgs,
    RegistryMode,
    RegistrySettings,
    ServerNames,
    UPSTREAM_CA_FILE,
    checkBroughtCertificateNames,
    createRegistryCredentials,
    registryCertificates,
    registryEnvironment,
    registrySecretEnvironment,
    registrySecretValues,
    validateRegistryArgs,
    REGISTRY_ARG_FIELDS,
} from "./registrySettings";
import { InvalidArgumentError, argumentKeys, booleanValue, integerInRange, knownArgs, lowerCaseDnsName, networkMtu, optional } from "./validation";

export interface LocalRegistryArgs extends RegistryArgs {
    /** A user-defined Docker network to join (a docker.Network's name), where daemons reach the registry as `alias`. Default: a new bridge network (see `mtu`). */
    networkName?: pulumi.Input<string>;
    /** MTU of the network it creates, e.g. the `mtu` of the LocalDind that joins it, so their traffic fits an overlay below. Default Docker's (1500); refused with networkName. */
    mtu?: number;
    /** The registry's DNS name on that network, the host in `registryHost` and in its certificate; not "localhost", which is each daemon itself. Default: the component's name. */
    alias?: string;
    /** Publish the registry on the Docker host's 127.0.0.1 at this port, e.g. to push from the host as `localhost:<port>`. Default: not published. */
    port?: number;
    /** Leave the registry image in the host's image store on destroy, where other stacks may use it. Default true. */
    keepImageLocally?: boolean;
    /**
     * The named volume holding the images; name one kept from an earlier registry to reuse its images.
     * A volume named here is the user's and outlives `pulumi destroy`, in either mode. Default `<project>-<stack>-<name>-registry`.
     */
    volumeName?: string;
}

export const LOCAL_REGISTRY_ARG_KEYS = argumentKeys<LocalRegistryArgs>({
    ...REGISTRY_ARG_FIELDS,
    networkName: true,
    mtu: true,
    alias: true,
    port: true,
    keepImageLocally: true,
    volumeName: true,
});

/** LocalRegistryArgs with defaults applied and every value checked. */
export interface LocalRegistrySettings extends RegistrySettings {
    networkName?: pulumi.Input<string>;
    mtu?: number;
    alias?: string;
    port?: number;
    keepImageLocally: boolean;
    volumeName?: string;
}

const DEFAULTS = { keepImageLocally: true };

const HEALTH_URL = `https://localhost:${REGISTRY_PORT}/`;

/**
 * The official image is Alpine with busybox wget, and no curl; images built on
 * Debian have curl and no wget. Either probes `/`, which answers 200 without
 * credentials. The certificate is not verified: this checks that the registry
 * serves, while trust is the clients' business. Durations are written as Go
 * prints them, the form the provider reads back; no start interval, which
 * Docker < 25 refuses.
 */
const HEALTHCHECK = {
    tests: ["CMD-SHELL", `wget -q -O /dev/null --no-check-certificate ${HEALTH_URL} || curl -fsSk -o /dev/null ${HEALTH_URL}`],
    interval: goDuration(5),
    timeout: goDuration(5),
    retries: 3,
    startPeriod: goDuration(30),
};
/** How long `pulumi up` waits for the registry to turn healthy. */
const WAIT_SECONDS = 60;
/** On stop, the registry finishes the uploads in flight; a kill mid-push leaves partial blobs on the volume. */
const STOP_SECONDS = 30;

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateLocalRegistryArgs(given: LocalRegistryArgs, prefix = "args."): LocalRegistrySettings {
    const args = knownArgs(given, LOCAL_REGISTRY_ARG_KEYS, prefix);
    if (args.mtu !== undefined && args.networkName !== undefined) {
        throw new InvalidArgumentError(`${prefix}mtu`, args.mtu, "to be left out with networkName (the MTU belongs to the network given)");
    }
    if (args.alias === "localhost") {
        throw new InvalidArgumentError(`${prefix}alias`, args.alias, 'a name other than "localhost", which is each daemon on the network itself (with port, the host reaches the registry as localhost anyway)');
    }
    return {
        ...validateRegistryArgs(args, prefix),
        networkName: optional(args.networkName, `${prefix}networkName`, dockerNetworkName),
        mtu: optional(args.mtu, `${prefix}mtu`, networkMtu),
        alias: optional(args.alias, `${prefix}alias`, lowerCaseDnsName),
        port: optional(args.port, `${prefix}port`, (value, argument) => integerInRange(value, 1, 65535, argument)),
        keepImageLocally: booleanValue(args.keepImageLocally ?? DEFAULTS.keepImageLocally, `${prefix}keepImageLocally`),
        volumeName: optional(args.volumeName, `${prefix}volumeName`, dockerVolumeName),
    };
}

/** The names the registry's certificate carries: its alias, and the host's loopback when published there. */
export function localRegistryServerNames(alias: string, published: boolean): ServerNames {
    return { commonName: alias, dnsNames: [alias, ...(published ? ["localhost"] : [])], ipAddresses: published ? [LOOPBACK] : [] };
}

/** What the registry's container is made from. */
export interface LocalRegistryParts {
    alias: string;
    imageId: pulumi.Input<string>;
    networkName: pulumi.Input<string>;
    volumeName: pulumi.Input<string>;
    server: KeyPair;
    htpasswd: pulumi.Input<string>;
    /** The values of registrySecretEnvironment, by key. */
    secretValues: Record<string, pulumi.Input<string>>;
}

/** The registry's container: its settings as environment, its certificate and htpasswd as uploads, no privileges. */
export function registryContainerArgs(settings: LocalRegistrySettings, parts: LocalRegistryParts): docker.ContainerArgs {
    const secretEnvs = Object.entries(registrySecretEnvironment(settings)).map(([name, key]) => pulumi.secret(pulumi.interpolate`${name}=${parts.secretValues[key]}`));
    return {
        image: parts.imageId,
        envs: [...toEnvs(registryEnvironment(settings)), ...secretEnvs],
        uploads: [
            { file: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.cert}`, content: parts.server.certPem },
            { file: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.key}`, content: parts.server.privateKeyPem, permissions: "0600" },
            ...(settings.users.length > 0 ? [{ file: `${REGISTRY_AUTH_DIR}/${HTPASSWD_FILE}`, content: parts.htpasswd }] : []),
            // Public: the CAs a mirror trusts for its upstream, in a directory of SSL_CERT_DIR.
            ...(settings.upstreamCaCertPem !== undefined ? [{ file: `${REGISTRY_UPSTREAM_CA_DIR}/${UPSTREAM_CA_FILE}`, content: settings.upstreamCaCertPem }] : []),
        ],
        mounts: [{ type: "volume", source: parts.volumeName, target: REGISTRY_DATA_DIR }],
        networksAdvanced: pulumi.output(parts.networkName).apply((name) => networkAttachments([name], parts.alias)),
        ports: settings.port !== undefined ? [loopbackPort(REGISTRY_PORT, settings.port)] : undefined,
        // The registry needs no capability: it binds a port above 1024 and owns its files.
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        healthcheck: HEALTHCHECK,
        wait: true,
        waitTimeout: WAIT_SECONDS,
        ...serviceContainer(STOP_SECONDS),
    };
}

/**
 * The distribution registry as a container on one Docker host, the local twin
 * of SelfHostedRegistry: a pull-through mirror or a private registry, served
 * over TLS on a Docker network under its alias. Pass it as `registry` to
 * LocalDind (on the same network) to trust and use it.
 */
export class LocalRegistry extends pulumi.ComponentResource implements RegistryWiring {
    /** The registry as daemons on its network write it: `alias:5000`, known before deployment. */
    public readonly registryHost: string;
    /** `mirror` or `private`. */
    public readonly mode: RegistryMode;
    /** registryHost, as an output that resolves once the registry is healthy. */
    public readonly host: pulumi.Output<string>;
    /** `https://registryHost` for `--registry-mirror` (once healthy); undefined for a private registry. */
    public readonly mirrorUrl: pulumi.Output<string | undefined>;
    /** `localhost:<port>` when the registry is published on the host; its CA goes in certs.d/localhost:<port>/ca.crt there. */
    public readonly publishedHost: pulumi.Output<string | undefined>;
    /** The CA that signed the registry's certificate (public). */
    public readonly caCertPem: pulumi.Output<string>;
    /** The network the registry is on, for a LocalDind to join. */
    public readonly networkName: pulumi.Output<string>;
    /** The registry's container. */
    public readonly containerName: pulumi.Output<string>;
    /** The volume holding the images. */
    public readonly volumeName: pulumi.Output<string>;
    /** Each user's password (given or generated) by user name, a secret: for `docker login`. */
    public readonly userPasswords: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: LocalRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateLocalRegistryArgs(args);
        dockerNamePrefix(name, "name (it begins the names of the registry's container and network)");
        const alias = settings.alias ?? lowerCaseDnsName(name, "name (it names the registry on its network when args.alias is not given)");
        const published = settings.port !== undefined;
        const serverNames = localRegistryServerNames(alias, published);
        checkBroughtCertificateNames(settings, serverNames, "args.");
        super(componentType("LocalRegistry"), name, {}, withFormerType("LocalRegistry", opts));
        const child = { parent: this };

        const image = new docker.RemoteImage(`${name}-image`, { name: settings.image, keepLocally: settings.keepImageLocally }, child);
        const networkName = settings.networkName ?? new docker.Network(`${name}-network`, bridgeNetwork(settings.mtu), child).name;
        // Pushed images are the only copy, so a private registry's volume outlives `pulumi destroy`, and so does one the
        // user named; the stack's name lets the next `up` adopt it. Otherwise a mirror's volume is only a cache and goes with it.
        const retainOnDelete = settings.mode === "private" || settings.volumeName !== undefined;
        const volume = new docker.Volume(`${name}-data`, { name: settings.volumeName ?? stackVolumeName(name, "registry") }, { ...child, retainOnDelete });
        const { ca, server } = registryCertificates(name, settings, serverNames, child);
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 32, special: false }, child);
        const credentials = createRegistryCredentials(name, settings.users, child);
        const parts: LocalRegistryParts = {
            alias,
            imageId: image.imageId,
            networkName,
            volumeName: volume.name,
            server,
            htpasswd: credentials.htpasswd,
            secretValues: registrySecretValues(settings, httpSecret.result),
        };
        const container = new docker.Container(`${name}-registry`, registryContainerArgs(settings, parts), { ...child, ...SERVICE_REPLACEMENT });
        // These resolve once the registry is healthy, for whoever dials it. A LocalDind wired to the
        // registry is ordered after it through dependsOn instead: a property depending on the
        // container would make the daemon be replaced with it.
        const ready = <T>(value: pulumi.Input<T>) => pulumi.all([value, container.name]).apply(([v]) => v as T);

        this.registryHost = `${alias}:${REGISTRY_PORT}`;
        this.mode = settings.mode;
        this.host = ready(this.registryHost);
        this.mirrorUrl = ready(settings.mode === "mirror" ? mirrorUrlFor(this.registryHost) : undefined);
        this.publishedHost = ready(published ? `localhost:${settings.port}` : undefined);
        this.caCertPem = ca.certPem;
        this.networkName = pulumi.output(networkName);
        this.containerName = container.name;
        this.volumeName = volume.name;
        this.userPasswords = credentials.passwords;
        this.registerOutputs({
            registryHost: this.registryHost,
            mode: this.mode,
            host: this.host,
            mirrorUrl: this.mirrorUrl,
            publishedHost: this.publishedHost,
            caCertPem: this.caCertPem,
            networkName: this.networkName,
            containerName: this.containerName,
            volumeName: this.volumeName,
            userPasswords: this.userPasswords,
        });
    }
}

