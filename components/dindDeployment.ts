import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { componentType, withFormerType } from "./typeTokens";
import { DaemonTls, KeyPair, createDaemonTls } from "./certificates";
import {
    CLIENT_CERT_DIR,
    DEFAULT_CLI_IMAGE,
    DEFAULT_DIND_IMAGE,
    DEFAULT_STARTUP_TIMEOUT_SECONDS,
    DaemonArgs,
    DaemonSettings,
    RegistryWiring,
    SOCKET_DIR,
    TLS_FILES,
    TLS_PORT,
    TRUSTED_CA_DIR,
    Transport,
    daemonEndpoints,
    registryCaKey,
    validateDaemonArgs,
    timeoutSeconds,
    transportName,
} from "./daemon";
import { DAEMON_CONFIG_FIELDS, DaemonConfigArgs, DaemonConfigSettings, validateDaemonConfigArgs } from "./daemonConfig";
import { flagsOf } from "./dockerdFlags";
import { Prune, PruneSettings, validatePruneArgs } from "./prune";
import { wiredRegistry } from "./registrySettings";
import {
    DindPodObjects,
    TLS_SECRET_ITEMS,
    daemonConfigData,
    daemonServiceArgs,
    daemonServiceDnsNames,
    ingressPolicyArgs,
    dindDeploymentArgs,
    dindJobArgs,
    dindStatefulSetArgs,
    dindPodTemplate,
    mountedRegistryCas,
    registryCaData,
} from "./dindPod";
import { ClaimSource, PodSecurityLevel, claimFor, createPodSecurityNamespace, keptClaimName } from "./keptObjects";
import { autonamePrefix, configMapKey, labelKey, labelMap, labelValue, maxNameForJob, serviceName } from "./kubernetesNames";
import { componentLabels } from "./kubernetesPod";
import {
    ContainerResources,
    InvalidArgumentError,
    absolutePath,
    arrayOf,
    booleanValue,
    containerResources,
    imageReference,
    integerInRange,
    knownArgs,
    knownKeys,
    kubernetesName,
    lowerCaseDnsName,
    nonEmptyString,
    oneOf,
    optional,
    quantity,
    refuseBesideExistingClaim,
} from "./validation";

/** The Kubernetes workload that runs the daemon's pod. */
export const Workload = {
    /** Long-lived daemons, replaced by a rollout. */
    Deployment: "Deployment",
    /** One run of the client's script; `pulumi up` waits for it to complete. */
    Job: "Job",
    /** Daemons with a stable name and a claim of their own for /var/lib/docker each. */
    StatefulSet: "StatefulSet",
} as const;
export type Workload = (typeof Workload)[keyof typeof Workload];
export const WORKLOADS: readonly Workload[] = Object.values(Workload);

/** What keeps the daemon from the node: a privileged container, or Sysbox's user-namespaced one. */
export const Isolation = {
    /** A privileged dockerd container, which any node runs. */
    Privileged: "privileged",
    /** The Sysbox runtime in a user namespace, without privileged; the nodes need Sysbox. */
    Sysbox: "sysbox",
} as const;
export type Isolation = (typeof Isolation)[keyof typeof Isolation];
export const ISOLATIONS: readonly Isolation[] = Object.values(Isolation);

/** The nodes' container runtime, which decides how a Sysbox pod asks for its user namespace. */
export const ContainerRuntime = {
    /** containerd 2.0 or newer: the pod asks with `hostUsers: false`. */
    Containerd: "containerd",
    /** CRI-O: the pod asks with the `io.kubernetes.cri-o.userns-mode` annotation. */
    CriO: "cri-o",
} as const;
export type ContainerRuntime = (typeof ContainerRuntime)[keyof typeof ContainerRuntime];
export const CONTAINER_RUNTIMES: readonly ContainerRuntime[] = Object.values(ContainerRuntime);

/** Where Sysbox runs the pod, as its installer (sysbox-deploy-k8s) sets the nodes up. */
export interface Sysbox {
    /** The RuntimeClass whose handler is Sysbox. Default "sysbox-runc". */
    runtimeClassName?: string;
    /** `containerd` (>= 2.0.5, Kubernetes >= 1.30) gets `hostUsers: false`; `cri-o` gets the `io.kubernetes.cri-o.userns-mode` annotation instead. Default "containerd". */
    containerRuntime?: ContainerRuntime;
}

/** Where /var/lib/docker lives. */
export interface DockerStorage {
    /** Keep the image cache on a claim named `${name}-docker-data`, kept by `destroy` and found again by the next `up`, instead of an emptyDir. Default false. */
    persistent?: boolean;
    /** Mount this existing claim (implies `persistent`), e.g. a cache kept under another component's name. Default none. */
    existingClaimName?: string;
    /** Size limit of the emptyDir, or size of the claim created. Default "20Gi". */
    size?: string;
    /** StorageClass of the claim created, with `persistent` (an emptyDir has none). Default the cluster's default class. */
    storageClass?: string;
}

/** The daemon's and the client's TLS material for the tls transport, as Secrets that exist already. */
export interface TlsSecrets {
    /** The Secret with dockerd's certificate, its key, and the CA that signed the client's. */
    server: string;
    /** The Secret with the client's certificate, its key, and the CA that signed the server's. */
    client: string;
}

/** Pods elsewhere in the cluster that may use the daemon. */
export interface ExposeClient {
    /** Their namespace; it also gets a copy of the client's TLS Secret, `<name>-docker-client`. */
    namespace: string;
    /** Only the pods with these labels in it. Default every pod of the namespace. */
    podLabels?: Record<string, string>;
}

/** The daemon published on 2376 with mutual TLS, to the clients named and no others. */
export interface Expose {
    /** Who the NetworkPolicy admits; at least one. */
    from: ExposeClient[];
}

/** A volume in the client container that keeps what the script writes beyond the pod's life. */
export interface OutputVolume {
    /** Mount an existing PersistentVolumeClaim instead of creating one. Default: create `${name}-output`, kept by `destroy` and found again by the next `up`. */
    existingClaimName?: string;
    /** Size of the claim created. Default "10Gi". */
    size?: string;
    /** StorageClass of the claim created. Default the cluster's default class. */
    storageClass?: string;
    /** Where the client sees it, clear of the client's own mounts; also the script's working directory. Default "/output". */
    mountPath?: string;
}

export interface DindDeploymentArgs extends DaemonArgs, DaemonConfigArgs {
    /** An existing namespace to deploy into. Default: a namespace named after the component, labelled for privileged pods. */
    namespace?: string;
    /** `Deployment` for a long-running daemon, `StatefulSet` for daemons that each keep a warm image cache on a claim of their own, `Job` for one-shot work that ends with the script. Default "Deployment". */
    workload?: Workload;
    /** Pods of a Deployment or StatefulSet, each with its own daemon (a Job runs one pod). Default 1. */
    replicas?: number;
    /** How the client reaches the daemon: `unix` socket, mutual `tls` on 2376, or plaintext `tcp` on 127.0.0.1:2375. Default "unix". */
    transport?: Transport;
    /** For `tls`: existing `kubernetes.io/tls` Secrets (tls.crt, tls.key, ca.crt, as cert-manager writes them) in `namespace`, so no key enters Pulumi state; the server's must name localhost and 127.0.0.1. Default: a CA and both pairs made with @pulumi/tls. */
    tlsSecrets?: TlsSecrets;
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
    /** How long a Job may run before Kubernetes stops it and `pulumi up` reports it failed (also when dockerd never starts); a Job only. Default 3600. */
    jobTimeoutSeconds?: number;
    /** Any new value runs a Job again that succeeded (a failed one runs again on the next `up` by itself). Default none. */
    runId?: string;
    /** Storage of /var/lib/docker. Default an emptyDir limited to 20Gi; with a StatefulSet, a claim of `size` per replica, `docker-data-<name>-<ordinal>`, that scaling down and `destroy` keep. */
    dockerStorage?: DockerStorage;
    /** A volume for what the script writes, kept after the pod ends. Default none. */
    output?: OutputVolume;
    /** A registry deployed by this package: its CA is trusted and, in mirror mode, it is the first mirror. Default none. */
    registry?: RegistryWiring;
    /** An existing ConfigMap holding the CA of each of `registries` that is not insecure (none may carry `caCertPem`), under the key `<host>.crt` (':' as '_'). Default none. */
    caConfigMapName?: string;
    /** Also trust the registry CAs in the client container, through SSL_CERT_DIR; only with a registry CA (`registries[].caCertPem`, `caConfigMapName` or `registry`). Default true. */
    clientTrustsRegistryCas?: boolean;
    /** Resources of the dockerd container. Default requests 250m/512Mi, memory limit 4Gi. */
    dindResources?: ContainerResources;
    /** Resources of the client container. Default requests 50m/64Mi, memory limit 512Mi. */
    clientResources?: ContainerResources;
    /** Node labels the pods must match (label keys and values). Default none. */
    nodeSelector?: Record<string, string>;
    /** Tolerations of the pods, e.g. for nodes reserved to privileged workloads; `tolerationSeconds` only with effect NoExecute. Default none. */
    tolerations?: k8s.types.input.core.v1.Toleration[];
    /** Deny all ingress to the pods with a NetworkPolicy (the daemon's API is root on the node). Default true. */
    networkPolicy?: boolean;
    /** `privileged` runs dockerd in a privileged container; `sysbox` runs it unprivileged in a user namespace under the Sysbox runtime, which the nodes must have (see the README). Default "privileged". */
    isolation?: Isolation;
    /** With isolation `sysbox`: its RuntimeClass and the nodes' container runtime. Default `{ runtimeClassName: "sysbox-runc", containerRuntime: "containerd" }`. */
    sysbox?: Sysbox;
    /** Publish the daemon through a Service `<name>` on 2376, mutual TLS only (transport `tls`), to the namespaces and pods named; a StatefulSet's replicas each by their own name. Default none. */
    expose?: Expose;
    /** Keep /var/lib/docker under a share of its size with docker's prune commands, from a container beside the daemon (`{}` for the defaults). Default none. */
    prune?: Prune;
}


/** DindDeploymentArgs with defaults applied and every value checked. */
export interface DindDeploymentSettings {
    namespace?: string;
    workload: Workload;
    replicas: number;
    transport: Transport;
    tlsSecrets?: TlsSecrets;
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
    daemonConfig: DaemonConfigSettings;
    caConfigMapName?: string;
    clientTrustsRegistryCas: boolean;
    dindResources: ContainerResources;
    clientResources: ContainerResources;
    nodeSelector?: Record<string, string>;
    tolerations?: k8s.types.input.core.v1.Toleration[];
    networkPolicy: boolean;
    isolation: Isolation;
    /** Set with isolation `sysbox`. */
    sysbox?: Required<Sysbox>;
    prune?: PruneSettings;
    expose?: Expose;
}

const DEFAULTS = {
    workload: "Deployment" as Workload,
    replicas: 1,
    transport: "unix" as Transport,
    dindImage: DEFAULT_DIND_IMAGE,
    cliImage: DEFAULT_CLI_IMAGE,
    nativeSidecar: true,
    startupTimeoutSeconds: DEFAULT_STARTUP_TIMEOUT_SECONDS,
    jobTimeoutSeconds: 3600,
    dockerStorageSize: "20Gi",
    outputSize: "10Gi",
    outputMountPath: "/output",
    clientTrustsRegistryCas: true,
    networkPolicy: true,
    isolation: "privileged" as Isolation,
    sysbox: { runtimeClassName: "sysbox-runc", containerRuntime: "containerd" as ContainerRuntime },
    dindResources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "4Gi" } },
    clientResources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
};

/** Every argument, so a misspelt one is refused; the compiler keeps the list and the interface the same. */
export const DIND_DEPLOYMENT_ARG_KEYS = Object.keys({
    namespace: true,
    workload: true,
    replicas: true,
    transport: true,
    tlsSecrets: true,
    dindImage: true,
    cliImage: true,
    script: true,
    nativeSidecar: true,
    startupTimeoutSeconds: true,
    jobTimeoutSeconds: true,
    runId: true,
    dockerStorage: true,
    output: true,
    registry: true,
    caConfigMapName: true,
    clientTrustsRegistryCas: true,
    dindResources: true,
    clientResources: true,
    nodeSelector: true,
    tolerations: true,
    networkPolicy: true,
    isolation: true,
    sysbox: true,
    prune: true,
    expose: true,
    registryMirrors: true,
    registries: true,
    mtu: true,
    extraDockerdArgs: true,
    ...DAEMON_CONFIG_FIELDS,
} satisfies Record<keyof DindDeploymentArgs, true>) as (keyof DindDeploymentArgs)[];

/** The lowest Pod Security level a pod passes, by isolation: Sysbox's dockerd runs as root, but in a user namespace and unprivileged. */
export const POD_SECURITY_LEVEL: Record<Isolation, PodSecurityLevel> = { privileged: "privileged", sysbox: "baseline" };

/** The StatefulSet's name is the component's, so that its claims keep their names from one `up` to the next; its pods' revision label adds 11 characters. */
const MAX_STATEFUL_SET_NAME = 52;

/** What the provider names after the component, `<name>-<suffix>-<8 characters>`. */
const AUTONAMED = ["daemon", "job", "deny-ingress", "server-tls", "client-tls", "registry-cas", "daemon-json"] as const;
const JOB_SUFFIX = "job";

/** The client's own mounts, which `output.mountPath` must stay clear of. */
const CLIENT_MOUNT_PATHS = [SOCKET_DIR, CLIENT_CERT_DIR, TRUSTED_CA_DIR];

function validateDockerStorage(value: DockerStorage, argument: string, workload: Workload): DindDeploymentSettings["dockerStorage"] {
    const storage = knownKeys(value, ["persistent", "existingClaimName", "size", "storageClass"], argument);
    if (workload === "StatefulSet") {
        // Each replica's claim comes from the StatefulSet's template: persistent by construction, one per pod.
        refuseUnless(storage.existingClaimName, false, `${argument}.existingClaimName`, "with a StatefulSet (each replica gets a claim of its own from its template)");
        if (storage.persistent === false) {
            throw new InvalidArgumentError(`${argument}.persistent`, false, "true or unset with a StatefulSet (its replicas keep their caches on claims)");
        }
        return {
            persistent: true,
            size: quantity(storage.size ?? DEFAULTS.dockerStorageSize, `${argument}.size`),
            storageClass: optional(storage.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
        };
    }
    refuseBesideExistingClaim(storage, "existingClaimName", argument);
    const existingClaimName = optional(storage.existingClaimName, `${argument}.existingClaimName`, lowerCaseDnsName);
    const persistent = booleanValue(storage.persistent ?? existingClaimName !== undefined, `${argument}.persistent`);
    if (!persistent && existingClaimName !== undefined) {
        throw new InvalidArgumentError(`${argument}.persistent`, persistent, "true or unset with existingClaimName (the claim is the persistent storage)");
    }
    if (!persistent && storage.storageClass !== undefined) {
        throw new InvalidArgumentError(`${argument}.storageClass`, storage.storageClass, `nothing unless ${argument}.persistent is true (an emptyDir has no StorageClass)`);
    }
    return {
        persistent,
        existingClaimName,
        size: quantity(storage.size ?? DEFAULTS.dockerStorageSize, `${argument}.size`),
        storageClass: optional(storage.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
    };
}

function validateOutput(value: OutputVolume, argument: string): DindDeploymentSettings["output"] {
    const output = knownKeys(value, ["existingClaimName", "size", "storageClass", "mountPath"], argument);
    refuseBesideExistingClaim(output, "existingClaimName", argument);
    const mountPath = absolutePath(output.mountPath ?? DEFAULTS.outputMountPath, `${argument}.mountPath`);
    const segments = mountPath.split("/").slice(1);
    if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
        throw new InvalidArgumentError(`${argument}.mountPath`, mountPath, "a normalised absolute path (no empty, '.' or '..' segment, no trailing '/')");
    }
    const clash = CLIENT_MOUNT_PATHS.find((own) => own === mountPath || own.startsWith(`${mountPath}/`) || mountPath.startsWith(`${own}/`));
    if (clash !== undefined) {
        throw new InvalidArgumentError(`${argument}.mountPath`, mountPath, `a path clear of ${clash}, where the client mounts the daemon's socket, TLS pair or CAs`);
    }
    return {
        existingClaimName: optional(output.existingClaimName, `${argument}.existingClaimName`, lowerCaseDnsName),
        size: quantity(output.size ?? DEFAULTS.outputSize, `${argument}.size`),
        storageClass: optional(output.storageClass, `${argument}.storageClass`, lowerCaseDnsName),
        mountPath,
    };
}

const TOLERATION_OPERATORS = ["Equal", "Exists"] as const;
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** A toleration as the API takes it, with nothing in it that the scheduler would ignore. */
function toleration(value: unknown, argument: string): k8s.types.input.core.v1.Toleration {
    const given = knownKeys(value as k8s.types.input.core.v1.Toleration, ["key", "operator", "value", "effect", "tolerationSeconds"], argument);
    const key = optional(given.key, `${argument}.key`, labelKey);
    const operator = oneOf(given.operator ?? "Equal", TOLERATION_OPERATORS, `${argument}.operator`);
    if (operator === "Exists" && given.value !== undefined) {
        throw new InvalidArgumentError(`${argument}.value`, given.value, "nothing with operator Exists (it matches any value)");
    }
    if (key === undefined && operator !== "Exists") {
        throw new InvalidArgumentError(`${argument}.operator`, given.operator, "Exists when no key is given (a toleration of every taint)");
    }
    optional(given.value, `${argument}.value`, labelValue);
    const effect = optional(given.effect, `${argument}.effect`, (effectValue, at) => oneOf(effectValue, TAINT_EFFECTS, at));
    if (given.tolerationSeconds !== undefined && effect !== "NoExecute") {
        throw new InvalidArgumentError(`${argument}.tolerationSeconds`, given.tolerationSeconds, "nothing unless effect is NoExecute (only an evicting taint is tolerated for a time)");
    }
    optional(given.tolerationSeconds, `${argument}.tolerationSeconds`, (seconds, at) => integerInRange(seconds, 0, Number.MAX_SAFE_INTEGER, at));
    return given;
}

/** A registry this package deployed on Kubernetes (SelfHostedRegistry); a LocalRegistry serves one Docker host, which the pods cannot reach. */
function registryWiring(value: unknown, argument: string): RegistryWiring {
    const wiring = wiredRegistry(value, argument, "a SelfHostedRegistry (or an object with registryHost, mode and caCertPem)");
    if (wiring.networkName !== undefined) {
        throw new InvalidArgumentError(argument, "a registry on a Docker network", "a registry in the cluster, such as a SelfHostedRegistry (a LocalRegistry is reached on one Docker host's network)");
    }
    return wiring;
}

/** Only a daemon that verifies its clients is published, and only behind the policy that admits the ones named. */
function validateExpose(value: unknown, prefix: string, settings: { workload: Workload; transport: Transport; networkPolicy: unknown }): Expose {
    const argument = `${prefix}expose`;
    const expose = knownKeys(value as Expose, ["from"], argument);
    if (settings.transport !== "tls") {
        throw new InvalidArgumentError(`${prefix}transport`, settings.transport, `tls with ${argument} (never plaintext: only a daemon that verifies its clients is published)`);
    }
    if (settings.workload === "Job") {
        throw new InvalidArgumentError(`${prefix}workload`, settings.workload, `Deployment or StatefulSet with ${argument} (a Job's daemon ends with its script)`);
    }
    if (settings.networkPolicy !== true) {
        throw new InvalidArgumentError(`${prefix}networkPolicy`, settings.networkPolicy, `true with ${argument} (its NetworkPolicy admits only the clients in ${argument}.from)`);
    }
    const from = arrayOf(expose.from, `${argument}.from`, (entry, at) => {
        const client = knownKeys(entry as ExposeClient, ["namespace", "podLabels"], at);
        return { namespace: kubernetesName(client.namespace, `${at}.namespace`), podLabels: optional(client.podLabels, `${at}.podLabels`, labelMap) };
    });
    if (from.length === 0) {
        throw new InvalidArgumentError(`${argument}.from`, from, "at least one namespace (nothing else may reach the daemon)");
    }
    return { from };
}

/** Flags and daemon.json keys that remap users again inside Sysbox's user namespace, which its inner dockerd must not. */
const USERNS_REMAP = "userns-remap";

function validateIsolation(args: DindDeploymentArgs, daemon: DaemonSettings, daemonConfig: DaemonConfigSettings, prefix: string): Pick<DindDeploymentSettings, "isolation" | "sysbox"> {
    const isolation = oneOf(args.isolation ?? DEFAULTS.isolation, ISOLATIONS, `${prefix}isolation`);
    refuseUnless(args.sysbox, isolation === "sysbox", `${prefix}sysbox`, "unless isolation is sysbox");
    if (isolation !== "sysbox") {
        return { isolation };
    }
    const sysbox = knownKeys(args.sysbox ?? {}, ["runtimeClassName", "containerRuntime"], `${prefix}sysbox`);
    daemon.extraDockerdArgs.forEach((arg, index) => {
        if (flagsOf(arg, `${prefix}extraDockerdArgs[${index}]`).some((flag) => flag.name === USERNS_REMAP)) {
            throw new InvalidArgumentError(`${prefix}extraDockerdArgs[${index}]`, arg, `no --${USERNS_REMAP} with isolation sysbox (the daemon already runs in Sysbox's user namespace)`);
        }
    });
    const remap = daemonConfig.file === undefined ? undefined : JSON.parse(daemonConfig.file)[USERNS_REMAP];
    if (remap !== undefined) {
        throw new InvalidArgumentError(`${prefix}daemonConfig.${USERNS_REMAP}`, remap, "nothing with isolation sysbox (the daemon already runs in Sysbox's user namespace)");
    }
    return {
        isolation,
        sysbox: {
            runtimeClassName: lowerCaseDnsName(sysbox.runtimeClassName ?? DEFAULTS.sysbox.runtimeClassName, `${prefix}sysbox.runtimeClassName`),
            containerRuntime: oneOf(sysbox.containerRuntime ?? DEFAULTS.sysbox.containerRuntime, CONTAINER_RUNTIMES, `${prefix}sysbox.containerRuntime`),
        },
    };
}

/** Refuses an argument given where it has no effect; `applies` says when it has one. */
function refuseUnless(given: unknown, effective: boolean, argument: string, applies: string): void {
    if (given !== undefined && !effective) {
        throw new InvalidArgumentError(argument, given, `nothing ${applies}`);
    }
}

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateDindDeploymentArgs(given: DindDeploymentArgs | undefined, prefix = "args."): DindDeploymentSettings {
    const args = knownArgs(given, DIND_DEPLOYMENT_ARG_KEYS, prefix);
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
    refuseUnless(args.replicas, workload !== "Job", `${prefix}replicas`, "unless the workload is a Deployment or StatefulSet (a Job runs one pod)");
    refuseUnless(args.jobTimeoutSeconds, workload === "Job", `${prefix}jobTimeoutSeconds`, "unless the workload is a Job (a Deployment's daemon does not run to an end)");
    const replicas = integerInRange(args.replicas ?? DEFAULTS.replicas, 0, 1000, `${prefix}replicas`);
    const namespace = optional(args.namespace, `${prefix}namespace`, kubernetesName);
    const dockerStorage = validateDockerStorage(args.dockerStorage ?? {}, `${prefix}dockerStorage`, workload);
    const sharesClaim = workload === "Job" || (workload === "Deployment" && replicas > 1);
    if (dockerStorage.persistent && sharesClaim) {
        // Two daemons must never share one /var/lib/docker.
        throw new InvalidArgumentError(`${prefix}dockerStorage.persistent`, true, "false unless the workload is a Deployment with at most 1 replica (a StatefulSet gives each replica a claim of its own)");
    }
    const output = args.output === undefined ? undefined : validateOutput(args.output, `${prefix}output`);
    if (output?.existingClaimName === undefined && output !== undefined && workload !== "Job" && replicas > 1) {
        // A ReadWriteOnce claim attaches to one node: the other pods would wait for it for ever.
        throw new InvalidArgumentError(`${prefix}output`, args.output, "existingClaimName (a ReadWriteMany claim) when replicas > 1");
    }
    for (const [argument, claim] of [["output", output], ["dockerStorage", dockerStorage]] as const) {
        if (namespace === undefined && claim?.existingClaimName !== undefined) {
            throw new InvalidArgumentError(`${prefix}namespace`, namespace, `the namespace of ${argument}.existingClaimName (a new namespace holds no claims yet)`);
        }
    }
    const transport = transportName(args.transport ?? DEFAULTS.transport, `${prefix}transport`);
    const tlsSecrets = optional(args.tlsSecrets, `${prefix}tlsSecrets`, (value, argument) => {
        const secrets = knownKeys(value as TlsSecrets, ["server", "client"], argument);
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
    const daemon = validateDaemonArgs(args, prefix, optional(args.registry, `${prefix}registry`, registryWiring));
    const daemonConfig = validateDaemonConfigArgs(args, transport, daemon, prefix);
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
    refuseUnless(
        caConfigMapName,
        daemon.registries.some((registry) => !registry.insecure),
        `${prefix}caConfigMapName`,
        `without ${prefix}registries to verify with it (it holds the CA of each registry that is not insecure)`,
    );
    const mountedCas = mountedRegistryCas({ caConfigMapName, daemon });
    for (const { host } of mountedCas) {
        const index = (args.registries ?? []).findIndex((registry) => registry.host === host);
        configMapKey(registryCaKey(host), `${index === -1 ? `${prefix}registry` : `${prefix}registries[${index}].host`} (its CA's ConfigMap key)`);
    }
    refuseUnless(
        args.clientTrustsRegistryCas,
        mountedCas.length > 0,
        `${prefix}clientTrustsRegistryCas`,
        "without a registry CA to trust (registries[].caCertPem, caConfigMapName or registry)",
    );
    return {
        namespace,
        workload,
        replicas,
        transport,
        tlsSecrets,
        dindImage: imageReference(args.dindImage ?? DEFAULTS.dindImage, `${prefix}dindImage`),
        cliImage: imageReference(args.cliImage ?? DEFAULTS.cliImage, `${prefix}cliImage`),
        script,
        nativeSidecar,
        startupTimeoutSeconds: timeoutSeconds(args.startupTimeoutSeconds ?? DEFAULTS.startupTimeoutSeconds, `${prefix}startupTimeoutSeconds`),
        jobTimeoutSeconds: integerInRange(args.jobTimeoutSeconds ?? DEFAULTS.jobTimeoutSeconds, 60, 7 * 24 * 3600, `${prefix}jobTimeoutSeconds`),
        runId,
        dockerStorage,
        output,
        daemon,
        daemonConfig,
        caConfigMapName,
        clientTrustsRegistryCas: booleanValue(args.clientTrustsRegistryCas ?? DEFAULTS.clientTrustsRegistryCas, `${prefix}clientTrustsRegistryCas`),
        dindResources: containerResources(args.dindResources, `${prefix}dindResources`, DEFAULTS.dindResources),
        clientResources: containerResources(args.clientResources, `${prefix}clientResources`, DEFAULTS.clientResources),
        nodeSelector: optional(args.nodeSelector, `${prefix}nodeSelector`, labelMap),
        tolerations: optional(args.tolerations, `${prefix}tolerations`, (value, argument) => arrayOf(value, argument, toleration)),
        networkPolicy: booleanValue(args.networkPolicy ?? DEFAULTS.networkPolicy, `${prefix}networkPolicy`),
        ...validateIsolation(args, daemon, daemonConfig, prefix),
        prune: optional(args.prune, `${prefix}prune`, validatePruneArgs),
        expose: optional(args.expose, `${prefix}expose`, (value) => validateExpose(value, prefix, { workload, transport, networkPolicy: args.networkPolicy ?? DEFAULTS.networkPolicy })),
    };
}

/**
 * The component's name, as every object it names takes it: the namespace it creates,
 * the pods' `app.kubernetes.io/instance` label, and `<name>-<suffix>` with the
 * provider's 9 characters (a Job's name, at most 63, is also its pods' `job-name` label).
 */
export function validateDindDeploymentName(name: string, settings: Pick<DindDeploymentSettings, "namespace" | "workload" | "expose">): string {
    if (settings.namespace === undefined) {
        kubernetesName(name, "name (it names the namespace created when args.namespace is not given)");
    }
    labelValue(name, "name (it is the pods' app.kubernetes.io/instance label)");
    autonamePrefix(name, AUTONAMED, "name (it begins the names of the objects the provider names)");
    if (settings.workload === "StatefulSet" || settings.expose) {
        serviceName(name, "name (it names the daemons' Service)");
    }
    if (settings.workload === "StatefulSet") {
        if (name.length > MAX_STATEFUL_SET_NAME) {
            throw new InvalidArgumentError(
                "name",
                name,
                `at most ${MAX_STATEFUL_SET_NAME} characters for a StatefulSet (its pods carry the label controller-revision-hash, <name>-<10 characters>, at most 63)`,
            );
        }
    }
    if (settings.workload === "Job" && name.length > maxNameForJob(JOB_SUFFIX)) {
        throw new InvalidArgumentError(
            "name",
            name,
            `at most ${maxNameForJob(JOB_SUFFIX)} characters for a Job (the provider names it <name>-${JOB_SUFFIX}-<8 characters>, and its pods' job-name label holds at most 63)`,
        );
    }
    return name;
}

/** Where /var/lib/docker and the output live: claims kept under the fixed names by which the next `up` after a `destroy` finds them, or the user's. */
function claimSources(name: string, settings: DindDeploymentSettings): { dockerData?: ClaimSource; output?: ClaimSource } {
    const source = (suffix: string, storage: { existingClaimName?: string; size: string; storageClass?: string } | undefined): ClaimSource | undefined => {
        if (storage === undefined) {
            return undefined;
        }
        return storage.existingClaimName !== undefined
            ? { kind: "existing", claimName: storage.existingClaimName }
            : { kind: "kept", claim: { name: keptClaimName(name, suffix), size: storage.size, storageClass: storage.storageClass } };
    };
    return {
        // A StatefulSet's replicas get theirs from its volumeClaimTemplates.
        dockerData: source("docker-data", settings.dockerStorage.persistent && settings.workload !== "StatefulSet" ? settings.dockerStorage : undefined),
        output: source("output", settings.output),
    };
}

/**
 * A private Docker daemon next to a docker CLI container in one Kubernetes pod:
 * dockerd privileged (dind needs it, nothing else gets it) or under Sysbox, its image store on a
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
    /** The daemons' Service, for a StatefulSet (headless: replica N is `<name>-N.<serviceName>.<namespace>.svc`) or with `expose`. */
    public readonly serviceName: pulumi.Output<string | undefined>;
    /** With `expose`: DOCKER_HOST for clients elsewhere in the cluster, `tcp://<name>.<namespace>.svc:2376`. */
    public readonly exposedDockerHost: pulumi.Output<string | undefined>;
    /** With `expose` and TLS material of the component's own: the client's TLS Secret (ca.pem, cert.pem, key.pem) in each namespace of `expose.from`. */
    public readonly exposedClientSecretName: pulumi.Output<string | undefined>;

    constructor(name: string, args: DindDeploymentArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateDindDeploymentArgs(args);
        const claims = claimSources(name, settings);
        validateDindDeploymentName(name, settings);
        super(componentType("DindDeployment"), name, {}, withFormerType("DindDeployment", opts));
        const child = { parent: this };

        // The namespace admits no more than the pod needs, and keeping it separate confines that.
        const holdsUserData = claims.dockerData?.kind === "kept" || claims.output?.kind === "kept" || settings.workload === "StatefulSet";
        const namespace =
            settings.namespace !== undefined
                ? pulumi.output(settings.namespace)
                : createPodSecurityNamespace(`${name}-namespace`, name, POD_SECURITY_LEVEL[settings.isolation], holdsUserData, child);
        const placement = { namespace, labels: componentLabels("dind", name) };
        const serviceDnsNames = settings.expose ? daemonServiceDnsNames(name, settings.namespace ?? name, settings.workload) : [];
        const material = settings.transport === "tls" && !settings.tlsSecrets ? createDaemonTls(`${name}-tls`, { dnsNames: ["localhost", ...serviceDnsNames], ipAddresses: ["127.0.0.1"] }, child) : undefined;
        const objects: DindPodObjects = {
            dataClaimName: claims.dockerData && claimFor(`${name}-docker-data`, claims.dockerData, placement, child),
            outputClaimName: claims.output && claimFor(`${name}-output`, claims.output, placement, child),
            tlsSecrets: settings.tlsSecrets ? givenTlsSecrets(settings.tlsSecrets) : material && createTlsSecrets(name, namespace, material, child),
            registryCaConfigMapName: registryCaConfigMap(name, namespace, settings, child),
            daemonConfigMapName: daemonConfigMap(name, namespace, settings, child),
        };
        const template = dindPodTemplate(settings, placement.labels, objects);
        const service = settings.workload === "StatefulSet" || settings.expose ? new k8s.core.v1.Service(`${name}-daemons`, daemonServiceArgs(name, settings, placement), child) : undefined;
        const workload =
            settings.workload === "Job"
                ? new k8s.batch.v1.Job(`${name}-${JOB_SUFFIX}`, dindJobArgs(settings, placement, template), child)
                : settings.workload === "StatefulSet"
                  ? new k8s.apps.v1.StatefulSet(`${name}-daemons`, dindStatefulSetArgs(name, settings, placement, template, service!.metadata.name), child)
                  : new k8s.apps.v1.Deployment(`${name}-daemon`, dindDeploymentArgs(settings, placement, template, claims.dockerData !== undefined || claims.output !== undefined), child);
        if (settings.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(`${name}-deny-ingress`, ingressPolicyArgs(settings, placement), child);
        }
        const exposedClientSecret = settings.expose && material ? copyClientSecret(name, settings.expose, material, child) : undefined;

        this.namespace = namespace;
        this.workloadName = workload.metadata.name;
        this.dockerHost = pulumi.output(daemonEndpoints(settings.transport).clientDockerHost);
        this.caConfigMapName = pulumi.output(objects.registryCaConfigMapName);
        this.clientTlsSecretName = pulumi.output(objects.tlsSecrets?.client);
        this.outputClaimName = pulumi.output(objects.outputClaimName);
        this.serviceName = pulumi.output(service?.metadata.name);
        this.exposedDockerHost = pulumi.output(settings.expose ? `tcp://${serviceDnsNames[2]}:${TLS_PORT}` : undefined);
        this.exposedClientSecretName = pulumi.output(exposedClientSecret);
        this.registerOutputs({
            namespace: this.namespace,
            workloadName: this.workloadName,
            dockerHost: this.dockerHost,
            caConfigMapName: this.caConfigMapName,
            clientTlsSecretName: this.clientTlsSecretName,
            outputClaimName: this.outputClaimName,
            serviceName: this.serviceName,
            exposedDockerHost: this.exposedDockerHost,
            exposedClientSecretName: this.exposedClientSecretName,
        });
    }
}

/** A pair and the CA in the files docker reads (ca.pem, cert.pem, key.pem). */
function tlsFiles(material: DaemonTls, pair: KeyPair): Record<string, pulumi.Input<string>> {
    return { [TLS_FILES.ca]: material.caCertPem, [TLS_FILES.cert]: pair.certPem, [TLS_FILES.key]: pair.privateKeyPem };
}

/** The daemon's and client's pairs, each with the CA in a Secret of its own; the client reaches dockerd over the pod's loopback. */
function createTlsSecrets(name: string, namespace: pulumi.Input<string>, material: DaemonTls, opts: pulumi.CustomResourceOptions): DindPodObjects["tlsSecrets"] {
    const secret = (suffix: string, pair: KeyPair) =>
        new k8s.core.v1.Secret(`${name}-${suffix}`, { metadata: { namespace }, type: "Opaque", stringData: tlsFiles(material, pair) }, opts).metadata.name;
    return { server: secret("server-tls", material.server), client: secret("client-tls", material.client) };
}

/** The client's pair in each namespace that may use the daemon, under one fixed name its pods can mount. */
function copyClientSecret(name: string, expose: Expose, material: DaemonTls, opts: pulumi.CustomResourceOptions): string {
    const secretName = `${name}-docker-client`;
    for (const namespace of new Set(expose.from.map((client) => client.namespace))) {
        new k8s.core.v1.Secret(`${name}-docker-client-${namespace}`, { metadata: { name: secretName, namespace }, type: "Opaque", stringData: tlsFiles(material, material.client) }, opts);
    }
    return secretName;
}

/** The user's Secrets, their files mapped to the names dockerd and the docker CLI read. */
function givenTlsSecrets(secrets: TlsSecrets): DindPodObjects["tlsSecrets"] {
    return { server: secrets.server, client: secrets.client, items: TLS_SECRET_ITEMS };
}

/** The ConfigMap of registry CAs: the user's, or one made from the registries' `caCertPem`; none without a CA to mount. */
function registryCaConfigMap(name: string, namespace: pulumi.Input<string>, settings: DindDeploymentSettings, opts: pulumi.CustomResourceOptions): pulumi.Output<string> | undefined {
    if (mountedRegistryCas(settings).length === 0) {
        return undefined;
    }
    if (settings.caConfigMapName !== undefined) {
        return pulumi.output(settings.caConfigMapName);
    }
    return new k8s.core.v1.ConfigMap(`${name}-registry-cas`, { metadata: { namespace }, data: registryCaData(settings) }, opts).metadata.name;
}

/** The ConfigMap that holds daemon.json, when there is one; a new file is a new ConfigMap, so the pods restart to read it. */
function daemonConfigMap(name: string, namespace: pulumi.Input<string>, settings: DindDeploymentSettings, opts: pulumi.CustomResourceOptions): pulumi.Output<string> | undefined {
    const data = daemonConfigData(settings);
    return data && new k8s.core.v1.ConfigMap(`${name}-daemon-json`, { metadata: { namespace }, data }, opts).metadata.name;
}
