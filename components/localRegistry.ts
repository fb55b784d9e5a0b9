import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { RegistryWiring, mirrorUrlFor } from "./daemon";
import { LOOPBACK, bridgeNetwork, dockerVolumeName, goDuration, stackVolumeName } from "./dockerHost";
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
    UPSTREAM_CA_FILE,
    checkBroughtCertificateNames,
    createRegistryCredentials,
    registryCertificates,
    registryEnvironment,
    registrySecretEnvironment,
    registrySecretValues,
    validateRegistryArgs,
} from "./registrySettings";
import { InvalidArgumentError, booleanValue, integerInRange, lowerCaseDnsName, mtu, nonEmptyString, optional } from "./validation";

export interface LocalRegistryArgs extends RegistryArgs {
    /** The Docker network to join (a docker.Network's name), where daemons reach the registry as `alias`. Default: a new bridge network (see `networkName`). */
    networkName?: pulumi.Input<string>;
    /** MTU of the network it creates, e.g. the `mtu` of the LocalDind that joins it, so their traffic fits an overlay below. Default Docker's (1500); refused with networkName. */
    mtu?: number;
    /** The registry's DNS name on that network, the host in `registryHost` and in its certificate. Default: the component's name. */
    alias?: string;
    /** Publish the registry on the Docker host's 127.0.0.1 at this port, e.g. to push from the host as `localhost:<port>`. Default: not published. */
    port?: number;
    /** Leave the registry image in the host's image store on destroy, where other stacks may use it. Default true. */
    keepImageLocally?: boolean;
    /** The named volume holding the images; name one kept from an earlier registry to reuse its images. Default `<project>-<stack>-<name>-registry`. */
    volumeName?: string;
}

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

/** The only host address the registry is published on. */
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
export function validateLocalRegistryArgs(args: LocalRegistryArgs, prefix = "args."): LocalRegistrySettings {
    if (args.mtu !== undefined && args.networkName !== undefined) {
        throw new InvalidArgumentError(`${prefix}mtu`, args.mtu, "to be left out with networkName (the MTU belongs to the network given)");
    }
    return {
        ...validateRegistryArgs(args, prefix),
        networkName: typeof args.networkName === "string" ? nonEmptyString(args.networkName, `${prefix}networkName`) : args.networkName,
        mtu: optional(args.mtu, `${prefix}mtu`, mtu),
        alias: optional(args.alias, `${prefix}alias`, lowerCaseDnsName),
        port: args.port === undefined ? undefined : integerInRange(args.port, 1, 65535, `${prefix}port`),
        keepImageLocally: booleanValue(args.keepImageLocally ?? DEFAULTS.keepImageLocally, `${prefix}keepImageLocally`),
        volumeName: optional(args.volumeName, `${prefix}volumeName`, dockerVolumeName),
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
    /** The registry's container, which a LocalDind wired to it starts after. */
    public readonly servedBy: pulumi.Resource;
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
        const alias = settings.alias ?? lowerCaseDnsName(name, "name (it names the registry on its network when args.alias is not given)");
        const published = settings.port !== undefined;
        const serverNames = { commonName: alias, dnsNames: [alias, ...(published ? ["localhost"] : [])], ipAddresses: published ? [LOOPBACK] : [] };
        checkBroughtCertificateNames(settings, serverNames, "args.");
        super("dind:index:LocalRegistry", name, {}, opts);
        const child = { parent: this };

        const image = new docker.RemoteImage(`${name}-image`, { name: settings.image, keepLocally: settings.keepImageLocally }, child);
        const networkName = settings.networkName ?? new docker.Network(`${name}-network`, bridgeNetwork(settings.mtu), child).name;
        // Pushed images are the only copy, so a private registry's volume outlives `pulumi destroy`; its explicit
        // name lets the next `up` adopt it. A mirror's volume is only a cache and goes with it.
        const volume = new docker.Volume(
            `${name}-data`,
            { name: settings.volumeName ?? stackVolumeName(name, "registry") },
            { ...child, retainOnDelete: settings.mode === "private" },
        );

        const { ca, server } = registryCertificates(name, settings, serverNames, child);

        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 32, special: false }, child);
        const credentials = createRegistryCredentials(name, settings.users, child);
        const secretValues = registrySecretValues(settings, httpSecret.result);
        const envs: pulumi.Input<string>[] = [
            ...Object.entries(registryEnvironment(settings)).map(([envName, value]) => `${envName}=${value}`),
            ...Object.entries(registrySecretEnvironment(settings)).map(([envName, key]) =>
                pulumi.secret(pulumi.interpolate`${envName}=${secretValues[key]}`),
            ),
        ];
        const uploads: docker.types.input.ContainerUpload[] = [
            { file: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.cert}`, content: server.certPem },
            { file: `${REGISTRY_TLS_DIR}/${REGISTRY_TLS_FILES.key}`, content: server.privateKeyPem, permissions: "0600" },
            ...(settings.users.length > 0 ? [{ file: `${REGISTRY_AUTH_DIR}/${HTPASSWD_FILE}`, content: credentials.htpasswd }] : []),
            // Public: the CAs a mirror trusts for its upstream, in a directory of SSL_CERT_DIR.
            ...(settings.upstreamCaCertPem !== undefined ? [{ file: `${REGISTRY_UPSTREAM_CA_DIR}/${UPSTREAM_CA_FILE}`, content: settings.upstreamCaCertPem }] : []),
        ];

        const container = new docker.Container(
            `${name}-registry`,
            {
                image: image.imageId,
                envs,
                uploads,
                mounts: [{ type: "volume", source: volume.name, target: REGISTRY_DATA_DIR }],
                networksAdvanced: [{ name: networkName, aliases: [alias] }],
                ports: published ? [{ internal: REGISTRY_PORT, external: settings.port, ip: LOOPBACK }] : undefined,
                // The registry needs no capability: it binds a port above 1024 and owns its files.
                capabilities: { drops: ["ALL"] },
                securityOpts: ["no-new-privileges:true"],
                healthcheck: HEALTHCHECK,
                wait: true,
                waitTimeout: WAIT_SECONDS,
                restart: "unless-stopped",
                destroyGraceSeconds: STOP_SECONDS,
                stopTimeout: STOP_SECONDS,
            },
            // The old and new container must never run at once: both would write the volume (and hold the host port).
            // The provider never applies a healthcheck change to an existing container, so a change replaces it.
            { ...child, deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] },
        );
        // These resolve once the registry is healthy, for whoever dials it. A LocalDind is ordered
        // after the container through servedBy instead: a property depending on the container
        // would make the daemon be replaced with it.
        const ready = <T>(value: pulumi.Input<T>) => pulumi.all([value, container.name]).apply(([v]) => v as T);

        this.registryHost = `${alias}:${REGISTRY_PORT}`;
        this.mode = settings.mode;
        this.host = ready(this.registryHost);
        this.mirrorUrl = ready(settings.mode === "mirror" ? mirrorUrlFor(this.registryHost) : undefined);
        this.publishedHost = ready(published ? `localhost:${settings.port}` : undefined);
        this.caCertPem = ca.certPem;
        this.servedBy = container;
        this.networkName = pulumi.output(networkName);
        this.containerName = container.name;
        this.volumeName = volume.name;
        this.userPasswords = credentials.passwords;
        this.registerOutputs({
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

