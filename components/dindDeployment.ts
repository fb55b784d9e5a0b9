import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { createDaemonTls } from "./certificates";
import { KeptClaimSpec, createKeptClaim, createPodSecurityNamespace, deploymentStrategy, keptClaimName } from "./keptObjects";
import {
    CERTS_D,
    CLIENT_CERT_DIR,
    DEFAULT_CLI_IMAGE,
    DEFAULT_DIND_IMAGE,
    DOCKER_DATA_DIR,
    DaemonArgs,
    DaemonSettings,
    RegistryWiring,
    SERVER_CERT_DIR,
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
    registryCaRelativePath,
    validateDaemonArgs,
    validateTimeoutSeconds,
    validateTransport,
    withRegistry,
} from "./daemon";
import {
    ContainerResources,
    InvalidArgumentError,
    absolutePath,
    arrayOf,
    booleanValue,
    containerResources,
    integerInRange,
    knownKeys,
    kubernetesName,
    lowerCaseDnsName,
    nonEmptyString,
    oneOf,
    optional,
    quantity,
    refuseBesideExistingClaim,
    stringMap,
} from "./validation";

export type Workload = "Deployment" | "Job";
export const WORKLOADS: readonly Workload[] = ["Deployment", "Job"];

/** Where /var/lib/docker lives. */
export interface DockerStorageArgs {
    /** Keep the image cache on a claim named `${name}-docker-data`, kept by `destroy` and found again by the next `up`, instead of an emptyDir. Default false. */
    persistent?: boolean;
    /** Mount this existing claim (implies `persistent`), e.g. a cache kept under another component's name. Default none. */
    existingClaimName?: string;
    /** Size limit of the emptyDir, or size of the claim created. Default "20Gi". */
    size?: string;
    /** StorageClass of the claim created. Default the cluster's default class. */
    storageClass?: string;
}

/** The daemon's and the client's TLS material for the tls transport, as Secrets that exist already. */
export interface TlsSecretsArgs {
    /** The Secret with dockerd's certificate, its key, and the CA that signed the client's. */
    server: string;
    /** The Secret with the client's certificate, its key, and the CA that signed the server's. */
    client: string;
}

/** Where each file dockerd and the docker CLI read comes from in a `kubernetes.io/tls` Secret. */
const TLS_SECRET_ITEMS = [
    { key: "ca.crt", path: TLS_FILES.ca },
    { key: "tls.crt", path: TLS_FILES.cert },
    { key: "tls.key", path: TLS_FILES.key },
];

/** A volume in the client container that keeps what the script writes beyond the pod's life. */
export interface OutputVolumeArgs {
    /** Mount an existing PersistentVolumeClaim instead of creating one. Default: create `${name}-output`, kept by `destroy` and found again by the next `up`. */
    existingClaimName?: string;
    /** Size of the claim created. Default "10Gi". */
    size?: string;
    /** StorageClass of the claim created. Default the cluster's default class. */
    storageClass?: string;
    /** Where the client sees it; also the script's working directory. Default "/output". */
    mountPath?: string;
}

export interface DindDeploymentArgs extends DaemonArgs {
    /** An existing namespace to deploy into. Default: a namespace named after the component, labelled for privileged pods. */
    namespace?: string;
    /** `Deployment` for a long-running daemon, `Job` for one-shot work that ends with the script. Default "Deployment". */
    workload?: Workload;
    /** Pods of a Deployment, each with its own daemon. Default 1. */
    replicas?: number;
    /** How the client reaches the daemon: `unix` socket, mutual `tls` on 2376, or plaintext `tcp` on 127.0.0.1:2375. Default "unix". */
    transport?: Transport;
    /** For `tls`: existing `kubernetes.io/tls` Secrets (tls.crt, tls.key, ca.crt, as cert-manager writes them) in `namespace`, so no key enters Pulumi state; the server's must name localhost and 127.0.0.1. Default: a CA and both pairs made with @pulumi/tls. */
    tlsSecrets?: TlsSecretsArgs;
    /** The dockerd image. Default "docker:29-dind". */
    dindImage?: string;
    /** The docker CLI image of the client container. Default "docker:29-cli". */
    cliImage?: string;
    /** Shell script the client runs (with `set -e`); without one the client idles for `kubectl exec`. Required for a Job. */
    script?: string;
    /** Run dockerd as a native sidecar (Kubernetes >= 1.29) so the client starts once the daemon answers. Default true. */
    nativeSidecar?: boolean;
    /** How long the daemon may take to answer: its startup probe, or the client's wait without a native sidecar. Default 120. */
    startupTimeoutSeconds?: number;
    /** How long a Job may run before Kubernetes stops it and `pulumi up` reports it failed (also when dockerd never starts). Default 3600. */
    jobTimeoutSeconds?: number;
    /** Any new value runs a Job again that succeeded (a failed one runs again on the next `up` by itself). Default none. */
    runId?: string;
    /** Storage of /var/lib/docker. Default an emptyDir limited to 20Gi. */
    dockerStorage?: DockerStorageArgs;
    /** A volume for what the script writes, kept after the pod ends. Default none. */
    output?: OutputVolumeArgs;
    /** A registry deployed by this package: its CA is trusted and, in mirror mode, it is the first mirror. Default none. */
    registry?: RegistryWiring;
    /** An existing ConfigMap holding the CA of each of `registries` without `caCertPem`, under the key `<host>.crt` (':' as '_'). Default none. */
    caConfigMapName?: string;
    /** Also trust the registry CAs in the client container, through SSL_CERT_DIR. Default true. */
    clientTrustsRegistryCas?: boolean;
    /** Resources of the dockerd container. Default requests 250m/512Mi, memory limit 4Gi. */
    dindResources?: ContainerResources;
    /** Resources of the client container. Default requests 50m/64Mi, memory limit 512Mi. */
    clientResources?: ContainerResources;
    /** Node labels the pods must match. Default none. */
    nodeSelector?: Record<string, string>;
    /** Tolerations of the pods, e.g. for nodes reserved to privileged workloads. Default none. */
    tolerations?: k8s.types.input.core.v1.Toleration[];
    /** Deny all ingress to the pods with a NetworkPolicy (the daemon's API is root on the node). Default true. */
    networkPolicy?: boolean;
}

/** DindDeploymentArgs with defaults applied and every value checked. */
interface DindSettings {
    namespace?: string;
    workload: Workload;
    replicas: number;
    transport: Transport;
    tlsSecrets?: TlsSecretsArgs;
    dindImage: string;
    cliImage: string;
    script?: string;
    nativeSidecar: boolean;
    startupTimeoutSeconds: number;
    jobTimeoutSeconds: number;
    runId?: string;
    dockerStorage: { persistent: boolean; existingClaimName?: string; size: string; storageClass?: string };
    output?: { existingClaimName?: string; size: string; storageClass?: string; mountPath: string };
    daemon: DaemonSettings;
    caConfigMapName?: string;
    clientTrustsRegistryCas: boolean;
    dindResources: ContainerResources;
    clientResources: ContainerResources;
    nodeSelector?: Record<string, string>;
    tolerations?: k8s.types.input.core.v1.Toleration[];
    networkPolicy: boolean;
}

const DEFAULTS = {
    workload: "Deployment" as Workload,
    replicas: 1,
    transport: "unix" as Transport,
    dindImage: DEFAULT_DIND_IMAGE,
    cliImage: DEFAULT_CLI_IMAGE,
    nativeSidecar: true,
    startupTimeoutSeconds: 120,
    jobTimeoutSeconds: 3600,
    dockerStorageSize: "20Gi",
    outputSize: "10Gi",
    outputMountPath: "/output",
    clientTrustsRegistryCas: true,
    networkPolicy: true,
    dindResources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "4Gi" } },
    clientResources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
};

/** Names of the pod's volumes. */
const VOLUME = {
    data: "docker-data",
    socket: "docker-socket",
    serverTls: "server-tls",
    clientTls: "client-tls",
    registryCas: "registry-cas",
    trustedCas: "trusted-cas",
    output: "output",
} as const;

function validateDockerStorage(value: DockerStorageArgs, argument: string): DindSettings["dockerStorage"] {
    const storage = knownKeys(value, ["persistent", "existingClaimName", "size", "storageClass"], argument);
    refuseBesideExistingClaim(storage, "existingClaimName", argument);
    const existingClaimName = optional(storage.existingClaimName, `${argument}.existingClaimName`, lowerCaseDnsName);
    const persistent = booleanValue(storage.persistent ?? existingClaimName !== undefined, `${argument}.persistent`);
    if (!persistent && existingClaimName !== undefined) {
        throw new InvalidArgumentError(`${argument}.persistent`, persistent, "true or unset with existingClaimName (the claim is the persistent storage)");
    }
    return {
        persistent,
        existingClaimName,
        size: quantity(storage.size ?? DEFAULTS.dockerStorageSize, `${argument}.size`),
        storageClass: optional(storage.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
    };
}

function validateOutput(value: OutputVolumeArgs, argument: string): DindSettings["output"] {
    const output = knownKeys(value, ["existingClaimName", "size", "storageClass", "mountPath"], argument);
    refuseBesideExistingClaim(output, "existingClaimName", argument);
    return {
        existingClaimName: optional(output.existingClaimName, `${argument}.existingClaimName`, lowerCaseDnsName),
        size: quantity(output.size ?? DEFAULTS.outputSize, `${argument}.size`),
        storageClass: optional(output.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
        mountPath: absolutePath(output.mountPath ?? DEFAULTS.outputMountPath, `${argument}.mountPath`),
    };
}

type ClaimSettings = { existingClaimName?: string; size: string; storageClass?: string };

/** The claims to create, under the fixed names by which the next `up` after a `destroy` finds them. */
function claimsToCreate(name: string, settings: DindSettings): { dockerData?: KeptClaimSpec; output?: KeptClaimSpec } {
    const toCreate = (suffix: string, storage: ClaimSettings | undefined) =>
        storage !== undefined && storage.existingClaimName === undefined
            ? { name: keptClaimName(name, suffix), size: storage.size, storageClass: storage.storageClass }
            : undefined;
    return {
        dockerData: toCreate("docker-data", settings.dockerStorage.persistent ? settings.dockerStorage : undefined),
        output: toCreate("output", settings.output),
    };
}

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateDindDeploymentArgs(args: DindDeploymentArgs, prefix = "args."): DindSettings {
    const workload = oneOf(args.workload ?? DEFAULTS.workload, WORKLOADS, `${prefix}workload`);
    const nativeSidecar = booleanValue(args.nativeSidecar ?? DEFAULTS.nativeSidecar, `${prefix}nativeSidecar`);
    const script = optional(args.script, `${prefix}script`, nonEmptyString);
    if (workload === "Job" && script === undefined) {
        throw new InvalidArgumentError(`${prefix}script`, script, "a script for the Job to run (a Job ends when it does)");
    }
    if (workload === "Job" && !nativeSidecar) {
        // Without a native sidecar dockerd never exits, so the Job would never complete.
        throw new InvalidArgumentError(
            `${prefix}nativeSidecar`,
            nativeSidecar,
            "true for a Job (Kubernetes >= 1.29); use workload Deployment on older clusters",
        );
    }
    const replicas = integerInRange(args.replicas ?? DEFAULTS.replicas, 0, 1000, `${prefix}replicas`);
    const namespace = optional(args.namespace, `${prefix}namespace`, kubernetesName);
    const dockerStorage = validateDockerStorage(args.dockerStorage ?? {}, `${prefix}dockerStorage`);
    const sharesClaim = workload !== "Deployment" || replicas > 1;
    if (dockerStorage.persistent && sharesClaim) {
        // Two daemons must never share one /var/lib/docker.
        throw new InvalidArgumentError(`${prefix}dockerStorage.persistent`, true, "false unless the workload is a Deployment with at most 1 replica");
    }
    const output = args.output === undefined ? undefined : validateOutput(args.output, `${prefix}output`);
    if (output?.existingClaimName === undefined && output !== undefined && workload === "Deployment" && replicas > 1) {
        // A ReadWriteOnce claim attaches to one node: the other pods would wait for it for ever.
        throw new InvalidArgumentError(`${prefix}output`, args.output, "existingClaimName (a ReadWriteMany claim) when replicas > 1");
    }
    for (const [argument, claim] of [["output", output], ["dockerStorage", dockerStorage]] as const) {
        if (namespace === undefined && claim?.existingClaimName !== undefined) {
            throw new InvalidArgumentError(`${prefix}namespace`, namespace, `the namespace of ${argument}.existingClaimName (a new namespace holds no claims yet)`);
        }
    }
    const transport = validateTransport(args.transport ?? DEFAULTS.transport, `${prefix}transport`);
    const tlsSecrets = optional(args.tlsSecrets, `${prefix}tlsSecrets`, (value, argument) => {
        const secrets = knownKeys(value as TlsSecretsArgs, ["server", "client"], argument);
        return { server: lowerCaseDnsName(secrets.server, `${argument}.server`), client: lowerCaseDnsName(secrets.client, `${argument}.client`) };
    });
    if (tlsSecrets !== undefined && transport !== "tls") {
        throw new InvalidArgumentError(`${prefix}tlsSecrets`, args.tlsSecrets, "nothing unless transport is tls");
    }
    if (tlsSecrets !== undefined && namespace === undefined) {
        throw new InvalidArgumentError(`${prefix}namespace`, namespace, "the namespace of tlsSecrets (a new namespace holds no Secrets yet)");
    }
    const runId = optional(args.runId, `${prefix}runId`, nonEmptyString);
    if (runId !== undefined && workload !== "Job") {
        throw new InvalidArgumentError(`${prefix}runId`, runId, "nothing unless the workload is a Job (a Deployment's daemon does not run to an end)");
    }
    const daemon = withRegistry(validateDaemonArgs(args, prefix), args.registry);
    const caConfigMapName = optional(args.caConfigMapName, `${prefix}caConfigMapName`, lowerCaseDnsName);
    if (namespace === undefined && caConfigMapName !== undefined) {
        throw new InvalidArgumentError(`${prefix}namespace`, namespace, "the namespace of caConfigMapName (a new namespace holds no ConfigMaps yet)");
    }
    if (caConfigMapName !== undefined && daemon.registries.some((registry) => registry.caCertPem !== undefined)) {
        throw new InvalidArgumentError(
            `${prefix}caConfigMapName`,
            caConfigMapName,
            "to be left out when registries carry caCertPem or a registry is wired in (one ConfigMap holds every CA)",
        );
    }
    return {
        namespace,
        workload,
        replicas,
        transport,
        tlsSecrets,
        dindImage: nonEmptyString(args.dindImage ?? DEFAULTS.dindImage, `${prefix}dindImage`),
        cliImage: nonEmptyString(args.cliImage ?? DEFAULTS.cliImage, `${prefix}cliImage`),
        script,
        nativeSidecar,
        startupTimeoutSeconds: validateTimeoutSeconds(args.startupTimeoutSeconds ?? DEFAULTS.startupTimeoutSeconds, `${prefix}startupTimeoutSeconds`),
        jobTimeoutSeconds: integerInRange(args.jobTimeoutSeconds ?? DEFAULTS.jobTimeoutSeconds, 60, 7 * 24 * 3600, `${prefix}jobTimeoutSeconds`),
        runId,
        dockerStorage,
        output,
        daemon,
        caConfigMapName,
        clientTrustsRegistryCas: booleanValue(args.clientTrustsRegistryCas ?? DEFAULTS.clientTrustsRegistryCas, `${prefix}clientTrustsRegistryCas`),
        dindResources: containerResources(args.dindResources, `${prefix}dindResources`, DEFAULTS.dindResources),
        clientResources: containerResources(args.clientResources, `${prefix}clientResources`, DEFAULTS.clientResources),
        nodeSelector: optional(args.nodeSelector, `${prefix}nodeSelector`, stringMap),
        tolerations: optional(args.tolerations, `${prefix}tolerations`, (value, argument) =>
            arrayOf(value, argument, (toleration, at) => knownKeys(toleration as object, ["key", "operator", "value", "effect", "tolerationSeconds"], at)),
        ),
        networkPolicy: booleanValue(args.networkPolicy ?? DEFAULTS.networkPolicy, `${prefix}networkPolicy`),
    };
}

/**
 * A private Docker daemon next to a docker CLI container in one Kubernetes pod:
 * dockerd privileged (dind needs it, nothing else gets it), its image store on a
 * volume, the registries it must trust in certs.d, and the client wired to it
 * over a unix socket, mutual TLS or loopback TCP.
 */
export class DindDeployment extends pulumi.ComponentResource {
    /** The namespace the pods run in. */
    public readonly namespace: pulumi.Output<string>;
    /** The Deployment's or Job's name. */
    public readonly workloadName: pulumi.Output<string>;
    /** DOCKER_HOST as the client container sees it. */
    public readonly dockerHost: pulumi.Output<string>;
    /** The ConfigMap that puts registry CAs in certs.d, when there is one. */
    public readonly caConfigMapName: pulumi.Output<string | undefined>;
    /** The Secret with the client's TLS pair (ca.pem, cert.pem, key.pem), for the tls transport. */
    public readonly clientTlsSecretName: pulumi.Output<string | undefined>;
    /** The claim that keeps the script's output, when there is one. */
    public readonly outputClaimName: pulumi.Output<string | undefined>;

    constructor(name: string, args: DindDeploymentArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateDindDeploymentArgs(args);
        if (settings.namespace === undefined) {
            kubernetesName(name, "name (it names the namespace created when args.namespace is not given)");
        }
        const claims = claimsToCreate(name, settings);
        super("dind:index:DindDeployment", name, {}, opts);
        const child = { parent: this };

        // dind must be privileged, so its namespace must admit privileged pods; keeping it separate confines that.
        const holdsUserData = claims.dockerData !== undefined || claims.output !== undefined;
        const namespace =
            settings.namespace !== undefined
                ? pulumi.output(settings.namespace)
                : createPodSecurityNamespace(`${name}-namespace`, name, "privileged", holdsUserData, child);
        const labels = { "app.kubernetes.io/name": "dind", "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "pulumi" };
        const endpoints = daemonEndpoints(settings.transport);

        const tlsSecrets = settings.transport === "tls" ? (settings.tlsSecrets ? givenTlsSecrets(settings.tlsSecrets) : this.createTlsSecrets(name, namespace, child)) : undefined;
        const registryCas = this.registryCaVolumes(name, namespace, settings, child);
        const claimName = (suffix: string, toCreate: KeptClaimSpec | undefined, existing: string | undefined) =>
            toCreate ? createKeptClaim(`${name}-${suffix}`, { ...toCreate, namespace, labels }, child) : existing && pulumi.output(existing);
        const dataClaim = claimName("docker-data", claims.dockerData, settings.dockerStorage.existingClaimName);
        const outputClaimName = claimName("output", claims.output, settings.output?.existingClaimName);

        const volumes: k8s.types.input.core.v1.Volume[] = [
            dataClaim
                ? { name: VOLUME.data, persistentVolumeClaim: { claimName: dataClaim } }
                : { name: VOLUME.data, emptyDir: { sizeLimit: settings.dockerStorage.size } },
        ];
        const dindMounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: VOLUME.data, mountPath: DOCKER_DATA_DIR }];
        const clientMounts: k8s.types.input.core.v1.VolumeMount[] = [];
        const dindEnv: Record<string, string> = { DOCKER_HOST: endpoints.localDockerHost };
        const clientEnv = clientEnvironment(settings.transport, endpoints.clientDockerHost);

        if (settings.transport === "unix") {
            volumes.push({ name: VOLUME.socket, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
            dindMounts.push({ name: VOLUME.socket, mountPath: SOCKET_DIR });
            clientMounts.push({ name: VOLUME.socket, mountPath: SOCKET_DIR });
        }
        if (tlsSecrets) {
            volumes.push(
                { name: VOLUME.serverTls, secret: { secretName: tlsSecrets.server, items: tlsSecrets.items, defaultMode: 0o400 } },
                { name: VOLUME.clientTls, secret: { secretName: tlsSecrets.client, items: tlsSecrets.items, defaultMode: 0o400 } },
            );
            dindMounts.push({ name: VOLUME.serverTls, mountPath: SERVER_CERT_DIR, readOnly: true });
            clientMounts.push({ name: VOLUME.clientTls, mountPath: CLIENT_CERT_DIR, readOnly: true });
        }
        if (registryCas) {
            volumes.push(...registryCas.volumes);
            dindMounts.push(registryCas.certsDMount, registryCas.trustedMount);
            dindEnv.SSL_CERT_DIR = TRUSTING_SSL_CERT_DIR;
            if (settings.clientTrustsRegistryCas) {
                clientMounts.push(registryCas.trustedMount);
                clientEnv.SSL_CERT_DIR = TRUSTING_SSL_CERT_DIR;
            }
        }
        if (settings.output && outputClaimName) {
            volumes.push({ name: VOLUME.output, persistentVolumeClaim: { claimName: outputClaimName } });
            clientMounts.push({ name: VOLUME.output, mountPath: settings.output.mountPath });
        }

        const dockerd: k8s.types.input.core.v1.Container = {
            name: "dockerd",
            image: settings.dindImage,
            args: kubernetesLiteral(dockerdArgsFor(settings.transport, settings.daemon)),
            env: toEnv(dindEnv),
            securityContext: { privileged: true },
            ports: settings.transport === "tls" ? [{ name: "docker-tls", containerPort: TLS_PORT, protocol: "TCP" }] : undefined,
            startupProbe: {
                exec: { command: daemonReadyCommand() },
                periodSeconds: 1,
                timeoutSeconds: 5,
                failureThreshold: settings.startupTimeoutSeconds,
            },
            volumeMounts: dindMounts,
            resources: settings.dindResources,
            ...(settings.nativeSidecar ? { restartPolicy: "Always" } : {}),
        };
        const client: k8s.types.input.core.v1.Container = {
            name: "client",
            image: settings.cliImage,
            command: kubernetesLiteral(
                clientCommand({
                    script: settings.script,
                    waitTimeoutSeconds: settings.nativeSidecar ? undefined : settings.startupTimeoutSeconds,
                }),
            ),
            env: toEnv(clientEnv),
            workingDir: settings.output?.mountPath,
            securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            },
            volumeMounts: clientMounts,
            resources: settings.clientResources,
        };
        const podSpec: k8s.types.input.core.v1.PodSpec = {
            // The daemon and its client have no business with the Kubernetes API.
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            initContainers: settings.nativeSidecar ? [dockerd] : undefined,
            containers: settings.nativeSidecar ? [client] : [dockerd, client],
            restartPolicy: settings.workload === "Job" ? "Never" : "Always",
            nodeSelector: settings.nodeSelector,
            tolerations: settings.tolerations,
            volumes,
        };
        // A new run id changes the template, which a Job cannot update: the provider replaces it, and it runs again.
        const template = { metadata: { labels, annotations: settings.runId !== undefined ? { [RUN_ID_ANNOTATION]: settings.runId } : undefined }, spec: podSpec };

        const workload =
            settings.workload === "Job"
                ? new k8s.batch.v1.Job(
                      `${name}-job`,
                      {
                          metadata: {
                              namespace,
                              labels,
                              annotations: {
                                  // pulumi up waits for the Job to complete; by default only 10 minutes.
                                  "pulumi.com/timeoutSeconds": String(settings.jobTimeoutSeconds),
                                  // A Job that failed stays failed, and the same inputs show no diff: replace it so the next up runs it again.
                                  "pulumi.com/replaceUnready": "true",
                              },
                          },
                          spec: {
                              backoffLimit: 2,
                              // A sidecar that never passes its probe would otherwise keep the pod, privileged, for ever.
                              activeDeadlineSeconds: settings.jobTimeoutSeconds,
                              template,
                          },
                      },
                      child,
                  )
                : new k8s.apps.v1.Deployment(
                      `${name}-daemon`,
                      {
                          metadata: { namespace, labels },
                          spec: {
                              replicas: settings.replicas,
                              selector: { matchLabels: labels },
                              strategy: deploymentStrategy(dataClaim !== undefined || settings.output !== undefined),
                              template,
                          },
                      },
                      child,
                  );

        if (settings.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-deny-ingress`,
                { metadata: { namespace, labels }, spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"] } },
                child,
            );
        }

        this.namespace = namespace;
        this.workloadName = workload.metadata.name;
        this.dockerHost = pulumi.output(endpoints.clientDockerHost);
        this.caConfigMapName = pulumi.output(registryCas?.configMapName);
        this.clientTlsSecretName = pulumi.output(tlsSecrets?.client);
        this.outputClaimName = pulumi.output(outputClaimName);
        this.registerOutputs({
            namespace: this.namespace,
            workloadName: this.workloadName,
            dockerHost: this.dockerHost,
            caConfigMapName: this.caConfigMapName,
            clientTlsSecretName: this.clientTlsSecretName,
            outputClaimName: this.outputClaimName,
        });
    }

    private createTlsSecrets(name: string, namespace: pulumi.Input<string>, opts: pulumi.CustomResourceOptions) {
        // The client reaches dockerd over the pod's loopback.
        const material = createDaemonTls(`${name}-tls`, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }, opts);
        const secret = (suffix: string, pair: { certPem: pulumi.Output<string>; privateKeyPem: pulumi.Output<string> }) =>
            new k8s.core.v1.Secret(
                `${name}-${suffix}`,
                {
                    metadata: { namespace },
                    type: "Opaque",
                    stringData: {
                        [TLS_FILES.ca]: material.caCertPem,
                        [TLS_FILES.cert]: pair.certPem,
                        [TLS_FILES.key]: pair.privateKeyPem,
                    },
                },
                opts,
            ).metadata.name;
        return { server: secret("server-tls", material.server), client: secret("client-tls", material.client), items: undefined };
    }

    /**
     * One ConfigMap (or the user's) holds every registry CA under a key without
     * ':'; `items` place each at certs.d/<host[:port]>/ca.crt, and a second view
     * of the same map lays them flat in TRUSTED_CA_DIR for SSL_CERT_DIR.
     */
    private registryCaVolumes(name: string, namespace: pulumi.Input<string>, settings: DindSettings, opts: pulumi.CustomResourceOptions) {
        const withCa = settings.daemon.registries.filter((r) => r.caCertPem !== undefined);
        const registries =
            settings.caConfigMapName === undefined ? withCa : settings.daemon.registries.filter((r) => !r.insecure);
        if (registries.length === 0) {
            return undefined;
        }
        const configMapName =
            settings.caConfigMapName === undefined
                ? new k8s.core.v1.ConfigMap(
                      `${name}-registry-cas`,
                      {
                          metadata: { namespace },
                          data: Object.fromEntries(withCa.map((r) => [registryCaKey(r.host), r.caCertPem!])),
                      },
                      opts,
                  ).metadata.name
                : pulumi.output(settings.caConfigMapName);
        const keys = registries.map((r) => registryCaKey(r.host));
        return {
            configMapName,
            volumes: [
                {
                    name: VOLUME.registryCas,
                    configMap: { name: configMapName, items: registries.map((r) => ({ key: registryCaKey(r.host), path: registryCaRelativePath(r.host) })) },
                },
                { name: VOLUME.trustedCas, configMap: { name: configMapName, items: keys.map((key) => ({ key, path: key })) } },
            ],
            certsDMount: { name: VOLUME.registryCas, mountPath: CERTS_D, readOnly: true },
            trustedMount: { name: VOLUME.trustedCas, mountPath: TRUSTED_CA_DIR, readOnly: true },
        };
    }
}

/** The user's Secrets, their files mapped to the names dockerd and the docker CLI read. */
function givenTlsSecrets(secrets: TlsSecretsArgs) {
    return { server: pulumi.output(secrets.server), client: pulumi.output(secrets.client), items: TLS_SECRET_ITEMS };
}

/** Marks a Job's pod template with its `runId`. */
export const RUN_ID_ANNOTATION = "pulumi-dind/run-id";

/**
 * Kubernetes expands `$(NAME)` and turns `$$` into `$` in command and args;
 * doubling every `$` hands the shell its script as written.
 */
export function kubernetesLiteral(args: string[]): string[] {
    return args.map((arg) => arg.replace(/\$/g, "$$$$"));
}

function toEnv(env: Record<string, string>): k8s.types.input.core.v1.EnvVar[] {
    return Object.entries(env).map(([name, value]) => ({ name, value }));
}
