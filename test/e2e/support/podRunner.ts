/**
 * Runs a captured DindDeployment's pod on a Docker engine the way a kubelet would run it:
 *
 * - the pod is a pause container (busybox sleeping) owning the network and IPC namespaces;
 *   every container joins them (`NetworkMode`/`IpcMode` `container:<pause>`), so containers
 *   reach each other on 127.0.0.1 as in a pod;
 * - emptyDir → a Docker volume per pod (medium Memory → a tmpfs volume sized by sizeLimit);
 *   persistentVolumeClaim → a named volume per claim that outlives the pod (removed with the
 *   run); secret / configMap → a volume per pod holding the keys (or `items`) as files at
 *   their paths with `items[].mode` / `defaultMode`, mounted read-only; a `subPath` mount binds
 *   that one file or directory of the volume (Docker's own volume subpaths need API 1.45);
 * - init containers with `restartPolicy: Always` (native sidecars) start first, in order, each
 *   one's startupProbe (exec, periodSeconds, timeoutSeconds, failureThreshold,
 *   initialDelaySeconds) passing before the next container starts; then the regular
 *   containers start;
 * - command → Entrypoint, args → Cmd (command without args drops the image's CMD), with
 *   Kubernetes' `$(VAR)` expansion and `$$` escaping in command, args and env values;
 * - containers are restarted as the kubelet does: sidecars always, regular containers
 *   according to the pod's restartPolicy, each restart a fresh container (new root filesystem,
 *   same volumes and namespaces), bounded in count;
 * - a Job's pod completes when its regular containers have exited: their exit codes and logs
 *   are returned, then the sidecars are stopped (SIGTERM) in reverse order.
 *
 * Only the fields below are applied; any other field anywhere in the workload, the pod, its
 * containers, or the Secrets / ConfigMaps / claims it references makes runPod throw naming the
 * field path, and so does any resource in the capture that is neither applied nor pure
 * bookkeeping (e.g. a NetworkPolicy: deploy with `networkPolicy: false`).
 */
import * as crypto from "crypto";
import Docker from "dockerode";
import type { Captured, RegisteredResource } from "../../harness";
import { E2eRun, ExecResult, containerLogs, execIn, mergeHostConfig, sleep, until, withTimeout } from "./e2eRun";
import { privilegedHostConfig, testImages } from "./engine";
import { Schema, UnsupportedFieldError, check, fields, items } from "./specSchema";
import { createTar, TarEntry } from "./tar";

/** Marks a planned mount of one path inside a volume. */
const SUB_PATH = "pulumiDindSubPath";

// ---------------------------------------------------------------------------------------------
// What is supported
// ---------------------------------------------------------------------------------------------

/** An object's metadata; its annotations are checked apart (only the Pulumi provider's own are accepted). */
const metadataSchema = fields({ name: "scalar", namespace: "scalar", labels: "stringMap", annotations: "stringMap" });
/** A workload's metadata; its annotations are checked apart (only the Pulumi provider's own are accepted). */
const workloadMetadataSchema = fields({ name: "scalar", namespace: "scalar", labels: "stringMap", annotations: "stringMap" });

/**
 * Annotations that change how `pulumi up` treats the object, not what runs: accepted and
 * reported. Any other annotation is refused (a controller could act on it).
 */
const PROVIDER_ANNOTATIONS = ["pulumi.com/timeoutSeconds", "pulumi.com/skipAwait", "pulumi.com/replaceUnready", "pulumi.com/patchFieldManager", "pulumi.com/autonamed"];
/** Pod template annotations that only change the template (so that a Job is replaced and runs again). */
const TEMPLATE_ANNOTATIONS = ["pulumi-dind/run-id"];

const probeSchema = fields({
    exec: fields({ command: items("scalar") }),
    initialDelaySeconds: "scalar",
    periodSeconds: "scalar",
    timeoutSeconds: "scalar",
    failureThreshold: "scalar",
    successThreshold: "scalar",
});

const containerFields: Record<string, Schema> = {
    name: "scalar",
    image: "scalar",
    command: items("scalar"),
    args: items("scalar"),
    env: items(fields({ name: "scalar", value: "scalar" })),
    workingDir: "scalar",
    securityContext: fields({
        privileged: "scalar",
        allowPrivilegeEscalation: "scalar",
        capabilities: fields({ add: items("scalar"), drop: items("scalar") }),
        seccompProfile: fields({ type: "scalar" }),
    }),
    ports: items(fields({ name: "scalar", containerPort: "scalar", protocol: "scalar" })),
    startupProbe: probeSchema,
    volumeMounts: items(fields({ name: "scalar", mountPath: "scalar", subPath: "scalar", readOnly: "scalar" })),
    resources: fields({ requests: "stringMap", limits: "stringMap" }),
};

const keyToPath = items(fields({ key: "scalar", path: "scalar", mode: "scalar" }));

const podSpecSchema = fields({
    automountServiceAccountToken: "scalar",
    enableServiceLinks: "scalar",
    initContainers: items(fields({ ...containerFields, restartPolicy: "scalar" })),
    containers: items(fields(containerFields)),
    restartPolicy: "scalar",
    volumes: items(
        fields({
            name: "scalar",
            emptyDir: fields({ medium: "scalar", sizeLimit: "scalar" }),
            persistentVolumeClaim: fields({ claimName: "scalar", readOnly: "scalar" }),
            secret: fields({ secretName: "scalar", defaultMode: "scalar", items: keyToPath }),
            configMap: fields({ name: "scalar", defaultMode: "scalar", items: keyToPath }),
        }),
    ),
});

const templateSchema = fields({ metadata: fields({ labels: "stringMap", annotations: "stringMap" }), spec: podSpecSchema });

export const WORKLOAD_SCHEMAS: Record<string, Schema> = {
    "kubernetes:apps/v1:Deployment": fields({
        apiVersion: "scalar",
        kind: "scalar",
        metadata: workloadMetadataSchema,
        spec: fields({
            replicas: "scalar",
            selector: fields({ matchLabels: "stringMap" }),
            strategy: fields({ type: "scalar", rollingUpdate: fields({ maxSurge: "scalar", maxUnavailable: "scalar" }) }),
            template: templateSchema,
        }),
    }),
    "kubernetes:apps/v1:StatefulSet": fields({
        apiVersion: "scalar",
        kind: "scalar",
        metadata: workloadMetadataSchema,
        spec: fields({
            replicas: "scalar",
            serviceName: "scalar",
            selector: fields({ matchLabels: "stringMap" }),
            podManagementPolicy: "scalar",
            updateStrategy: fields({ type: "scalar" }),
            persistentVolumeClaimRetentionPolicy: fields({ whenDeleted: "scalar", whenScaled: "scalar" }),
            volumeClaimTemplates: items(
                fields({
                    metadata: fields({ name: "scalar", labels: "stringMap" }),
                    spec: fields({ accessModes: items("scalar"), resources: fields({ requests: "stringMap" }), storageClassName: "scalar" }),
                }),
            ),
            template: templateSchema,
        }),
    }),
    "kubernetes:batch/v1:Job": fields({
        apiVersion: "scalar",
        kind: "scalar",
        metadata: workloadMetadataSchema,
        spec: fields({ backoffLimit: "scalar", activeDeadlineSeconds: "scalar", template: templateSchema }),
    }),
};

const OBJECT_SCHEMAS: Record<string, Schema> = {
    "kubernetes:core/v1:Secret": fields({ apiVersion: "scalar", kind: "scalar", metadata: metadataSchema, type: "scalar", stringData: "stringMap", data: "stringMap" }),
    "kubernetes:core/v1:ConfigMap": fields({ apiVersion: "scalar", kind: "scalar", metadata: metadataSchema, data: "stringMap" }),
    "kubernetes:core/v1:PersistentVolumeClaim": fields({
        apiVersion: "scalar",
        kind: "scalar",
        metadata: metadataSchema,
        spec: fields({ accessModes: items("scalar"), resources: fields({ requests: "stringMap" }), storageClassName: "scalar" }),
    }),
    "kubernetes:core/v1:Namespace": fields({ apiVersion: "scalar", kind: "scalar", metadata: metadataSchema }),
    // Not routed: a test reaches the pod by the Service's DNS name through a network alias it gives (planPod notes it).
    "kubernetes:core/v1:Service": fields({
        apiVersion: "scalar",
        kind: "scalar",
        metadata: metadataSchema,
        spec: fields({ clusterIP: "scalar", selector: "stringMap", ports: items(fields({ name: "scalar", port: "scalar", targetPort: "scalar", protocol: "scalar" })) }),
    }),
};

/** Captured resources that are bookkeeping only: components, and providers whose outputs the pod's objects carry. */
function isBookkeeping(resource: RegisteredResource): boolean {
    return !resource.custom || resource.type.startsWith("tls:") || resource.type.startsWith("random:") || resource.type.startsWith("pulumi:providers:");
}

// ---------------------------------------------------------------------------------------------
// Kubernetes semantics
// ---------------------------------------------------------------------------------------------

/**
 * Kubernetes' expansion of command, args and env values: `$(NAME)` becomes the value of
 * NAME when it is defined (left as is otherwise) and `$$` becomes `$`.
 */
export function expandKubernetes(input: string, env: Map<string, string>): string {
    let out = "";
    for (let i = 0; i < input.length; i++) {
        const char = input[i];
        if (char !== "$" || i + 1 >= input.length) {
            out += char;
            continue;
        }
        const next = input[i + 1];
        if (next === "$") {
            out += "$";
            i += 1;
        } else if (next === "(") {
            const close = input.indexOf(")", i + 2);
            if (close === -1) {
                out += "$(";
                i += 1;
            } else {
                const name = input.slice(i + 2, close);
                out += env.has(name) ? env.get(name) : `$(${name})`;
                i = close;
            }
        } else {
            out += `$${next}`;
            i += 1;
        }
    }
    return out;
}

/** A Kubernetes quantity in base units (bytes, or cores for cpu). */
export function parseQuantity(value: string): number {
    const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(value);
    if (!match) {
        throw new Error(`not a quantity: ${value}`);
    }
    const units: Record<string, number> = {
        "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12,
        Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
    };
    if (!(match[2] in units)) {
        throw new Error(`unknown quantity suffix in ${value}`);
    }
    return Number(match[1]) * units[match[2]];
}

function resourcesHostConfig(resources: any, path: string): Docker.HostConfig {
    const config: Docker.HostConfig = {};
    for (const [name, amount] of Object.entries<string>(resources?.limits ?? {})) {
        if (name === "memory") config.Memory = Math.round(parseQuantity(amount));
        else if (name === "cpu") config.NanoCpus = Math.round(parseQuantity(amount) * 1e9);
        else throw new UnsupportedFieldError(`${path}.limits.${name}`, "only cpu and memory limits are applied");
    }
    for (const [name, amount] of Object.entries<string>(resources?.requests ?? {})) {
        if (name === "memory") config.MemoryReservation = Math.round(parseQuantity(amount));
        else if (name === "cpu") config.CpuShares = Math.max(2, Math.round(parseQuantity(amount) * 1024));
        else throw new UnsupportedFieldError(`${path}.requests.${name}`, "only cpu and memory requests are applied");
    }
    return config;
}

function securityHostConfig(context: any, path: string): Docker.HostConfig {
    if (context?.privileged === true) {
        if (context.capabilities || context.allowPrivilegeEscalation === false) {
            throw new UnsupportedFieldError(path, "privileged together with capabilities or allowPrivilegeEscalation: false");
        }
        return privilegedHostConfig();
    }
    const config: Docker.HostConfig = { SecurityOpt: [] };
    if (context?.allowPrivilegeEscalation === false) {
        config.SecurityOpt!.push("no-new-privileges:true");
    }
    if (context?.capabilities?.add) config.CapAdd = context.capabilities.add;
    if (context?.capabilities?.drop) config.CapDrop = context.capabilities.drop;
    const seccomp = context?.seccompProfile?.type;
    if (seccomp === undefined || seccomp === "Unconfined") {
        // The kubelet's default (seccompDefault off) runs containers unconfined.
        config.SecurityOpt!.push("seccomp=unconfined");
    } else if (seccomp !== "RuntimeDefault") {
        throw new UnsupportedFieldError(`${path}.seccompProfile.type`, `${seccomp} (RuntimeDefault and Unconfined are applied)`);
    }
    return config;
}

interface Probe {
    command: string[];
    initialDelaySeconds: number;
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}

function probeOf(spec: any, path: string): Probe | undefined {
    if (!spec) {
        return undefined;
    }
    if (!spec.exec?.command?.length) {
        throw new UnsupportedFieldError(path, "only exec probes are applied");
    }
    if ((spec.successThreshold ?? 1) !== 1) {
        throw new UnsupportedFieldError(`${path}.successThreshold`, "a startup probe's must be 1 (the API rejects others)");
    }
    return {
        command: spec.exec.command,
        initialDelaySeconds: spec.initialDelaySeconds ?? 0,
        periodSeconds: spec.periodSeconds ?? 10,
        timeoutSeconds: spec.timeoutSeconds ?? 1,
        failureThreshold: spec.failureThreshold ?? 3,
    };
}

// ---------------------------------------------------------------------------------------------
// The pod
// ---------------------------------------------------------------------------------------------

export interface RunPodOptions {
    /** The test file's run: names, labels, cleanup. */
    run: E2eRun;
    /** Declared image → local image. An image not in the map is an error. */
    images: Record<string, string>;
    /** Networks the pod joins (its pause container), with aliases. Default: Docker's default bridge. */
    networks?: { name: string; aliases?: string[] }[];
    /** More mounts per container name, on top of the spec's (for test instrumentation only). */
    extraMounts?: Record<string, Docker.MountSettings[]>;
    /** Claims the capture does not create (existingClaimName), mapped to Docker volumes. */
    existingClaims?: Record<string, string>;
    /** Secrets the capture does not create (e.g. tlsSecrets), as `namespace/name` → Secret object. */
    existingSecrets?: Record<string, { type?: string; stringData: Record<string, string> }>;
    /** Restarts per container before the runner gives up on it. Default 5. */
    maxRestarts?: number;
    /** Pod name suffix; default a random one, as a ReplicaSet or Job controller would. */
    podSuffix?: string;
    /** A StatefulSet's replica to run: its pod is `<name>-<ordinal>`, its claims `<template>-<name>-<ordinal>`. Default 0. */
    ordinal?: number;
    /** Progress lines; default console.log with a prefix when E2E_VERBOSE is set. */
    log?: (line: string) => void;
}

export interface ContainerOutcome {
    exitCode: number;
    logs: string;
}

export interface PodCompletion {
    /** All regular containers exited 0 within the deadline. */
    succeeded: boolean;
    /** Why the pod failed when it was stopped rather than ended: `DeadlineExceeded`. */
    reason?: string;
    containers: Record<string, ContainerOutcome>;
}

interface ContainerPlan {
    name: string;
    sidecar: boolean;
    restartPolicy: "Always" | "OnFailure" | "Never";
    probe?: Probe;
    create: (instance: number) => Docker.ContainerCreateOptions;
}

interface ContainerState {
    plan: ContainerPlan;
    container?: Docker.Container;
    instance: number;
    restarts: number;
    /** Resolved when the current instance's startup probe has passed (or at start without a probe). */
    ready?: Promise<void>;
    readyAt?: number;
    startedAt?: number;
    final?: ContainerOutcome;
    finished: Promise<ContainerOutcome>;
    resolveFinished: (outcome: ContainerOutcome) => void;
    supervisor?: Promise<void>;
    failure?: Error;
}

export interface PodPlan {
    kind: "Deployment" | "Job" | "StatefulSet";
    workloadName: string;
    namespace: string;
    podName: string;
    restartPolicy: "Always" | "OnFailure" | "Never";
    /** A Job's backoffLimit: one runPod is one attempt; retries are the caller's. */
    backoffLimit?: number;
    /** A Job's activeDeadlineSeconds: the pod is stopped and fails with DeadlineExceeded once it has run that long. */
    activeDeadlineSeconds?: number;
    labels: Record<string, string>;
    volumes: { name: string; docker: string; create?: { driverOpts?: Record<string, string>; files?: TarEntry[] }; claim?: string }[];
    containers: ContainerPlan[];
    /** Approximations the runner applies, printed once per pod. */
    notes: string[];
}

function byName(resources: RegisteredResource[], type: string): Map<string, RegisteredResource> {
    const map = new Map<string, RegisteredResource>();
    for (const resource of resources.filter((r) => r.type === type)) {
        const metadata = resource.state?.metadata ?? resource.inputs.metadata ?? {};
        map.set(`${metadata.namespace ?? "default"}/${metadata.name}`, resource);
    }
    return map;
}

function relativeItemPath(path: string, where: string): string {
    if (path.startsWith("/") || path.split("/").includes("..")) {
        throw new Error(`${where}: item path ${path} must be relative without '..' (the API rejects it)`);
    }
    return path;
}

function filesOf(kind: "Secret" | "ConfigMap", object: RegisteredResource, source: any, where: string): TarEntry[] {
    const data: Record<string, Buffer> = {};
    if (kind === "Secret") {
        for (const [key, value] of Object.entries<string>(object.inputs.data ?? {})) data[key] = Buffer.from(value, "base64");
        for (const [key, value] of Object.entries<string>(object.inputs.stringData ?? {})) data[key] = Buffer.from(value, "utf8");
    } else {
        for (const [key, value] of Object.entries<string>(object.inputs.data ?? {})) data[key] = Buffer.from(value, "utf8");
    }
    const defaultMode = source.defaultMode ?? 0o644;
    const projected: { key: string; path: string; mode?: number }[] = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    return projected.map((item, index) => {
        if (!(item.key in data)) {
            // The kubelet would leave the pod in ContainerCreating with "couldn't find key".
            throw new Error(`${where}.items[${index}]: key ${item.key} is not in ${kind} ${object.inputs.metadata?.name ?? object.name} (keys: ${Object.keys(data).join(", ")})`);
        }
        return { path: relativeItemPath(item.path, `${where}.items[${index}]`), content: data[item.key], mode: item.mode ?? defaultMode };
    });
}

/** Annotations change how `pulumi up` treats an object, not what runs: only `accepted` ones pass, and each is reported. */
function checkAnnotations(annotations: Record<string, string> | undefined, accepted: string[], where: string, notes: string[]): void {
    for (const [key, value] of Object.entries(annotations ?? {})) {
        if (!accepted.includes(key)) {
            throw new UnsupportedFieldError(`${where}.${key}`, `only ${accepted.join(", ")} are accepted`);
        }
        notes.push(`annotation ${key}=${value} is for \`pulumi up\`, not the pod`);
    }
}

/**
 * Checks a capture and turns it into a plan: which Docker objects, which containers, with which
 * options. Throws on anything it cannot apply faithfully.
 */
export function planPod(capture: Captured, options: Pick<RunPodOptions, "images" | "existingClaims" | "existingSecrets" | "podSuffix" | "ordinal"> & { prefix: string }): PodPlan {
    const notes: string[] = [];
    // A patch of a whole object (a kept claim or namespace) is applied as that object.
    const captured = { resources: capture.resources.map((r) => ({ ...r, type: r.type.replace(/Patch$/, "") })) };
    const workloads = captured.resources.filter((r) => r.type in WORKLOAD_SCHEMAS);
    if (workloads.length !== 1) {
        throw new Error(`expected one Deployment or Job in the capture, found ${workloads.length}`);
    }
    for (const resource of captured.resources) {
        if (isBookkeeping(resource) || resource.type in WORKLOAD_SCHEMAS) continue;
        const schema = OBJECT_SCHEMAS[resource.type];
        if (!schema) {
            throw new UnsupportedFieldError(`${resource.type}::${resource.name}`, "this resource type is not applied by runPod");
        }
        check(resource.inputs, schema, `${resource.type}::${resource.name}`);
        if (resource.type === "kubernetes:core/v1:Service") {
            const { clusterIP, ports = [] } = resource.inputs.spec ?? {};
            if (clusterIP !== undefined && clusterIP !== "None") {
                throw new UnsupportedFieldError(`${resource.type}::${resource.name}.spec.clusterIP`, `${clusterIP}: only a cluster-assigned or headless Service is accepted`);
            }
            if (ports.some((port: any) => port.targetPort !== port.name || port.protocol !== "TCP")) {
                throw new UnsupportedFieldError(`${resource.type}::${resource.name}.spec.ports`, "only TCP ports that target the container port of their own name (reached as the same port)");
            }
            notes.push(`Service ${resource.inputs.metadata?.name}: not routed; tests reach the pod by its DNS names through network aliases`);
        }
        checkAnnotations(resource.inputs.metadata?.annotations, PROVIDER_ANNOTATIONS, `${resource.type}::${resource.name}.metadata.annotations`, notes);
    }
    const workload = workloads[0];
    const kind = workload.type === "kubernetes:batch/v1:Job" ? "Job" : workload.type === "kubernetes:apps/v1:StatefulSet" ? "StatefulSet" : "Deployment";
    const root = `${kind}::${workload.name}`;
    check(workload.inputs, WORKLOAD_SCHEMAS[workload.type], root);

    checkAnnotations(workload.inputs.metadata?.annotations, PROVIDER_ANNOTATIONS, `${root}.metadata.annotations`, notes);
    checkAnnotations(workload.inputs.spec.template.metadata?.annotations, TEMPLATE_ANNOTATIONS, `${root}.spec.template.metadata.annotations`, notes);
    const workloadName: string = workload.state?.metadata?.name ?? workload.inputs.metadata?.name;
    const namespace: string = workload.inputs.metadata?.namespace ?? "default";
    const spec = workload.inputs.spec;
    const template = spec.template;
    const labels: Record<string, string> = template.metadata?.labels ?? {};
    if (kind === "Deployment" || kind === "StatefulSet") {
        if (kind === "Deployment" && (spec.replicas ?? 1) !== 1) {
            throw new UnsupportedFieldError(`${root}.spec.replicas`, `${spec.replicas}: runPod runs exactly one pod`);
        }
        if (kind === "StatefulSet" && (options.ordinal ?? 0) >= (spec.replicas ?? 1)) {
            throw new Error(`${root}: no replica ${options.ordinal} among ${spec.replicas ?? 1}`);
        }
        const selector = spec.selector?.matchLabels ?? {};
        if (Object.keys(selector).length === 0) {
            throw new Error(`${root}.spec.selector.matchLabels: required by apps/v1`);
        }
        for (const [key, value] of Object.entries(selector)) {
            if (labels[key] !== value) {
                throw new Error(`${root}.spec.selector.matchLabels.${key}=${value} does not match the pod template's labels (the API rejects it)`);
            }
        }
        if (spec.strategy?.type !== undefined && !["Recreate", "RollingUpdate"].includes(spec.strategy.type)) {
            throw new Error(`${root}.spec.strategy.type: ${spec.strategy.type}`);
        }
    }
    const namespaces = [...byName(captured.resources, "kubernetes:core/v1:Namespace").values()].map((n) => n.state?.metadata?.name ?? n.inputs.metadata?.name);
    if (namespaces.length > 0 && !namespaces.includes(namespace)) {
        notes.push(`namespace ${namespace} is not created by the capture (assumed to exist)`);
    }

    const podSpec = template.spec;
    const podPath = `${root}.spec.template.spec`;
    if (podSpec.automountServiceAccountToken !== false) {
        throw new UnsupportedFieldError(`${podPath}.automountServiceAccountToken`, "only false is applied (no service account token is emulated)");
    }
    if (podSpec.enableServiceLinks === true) {
        throw new UnsupportedFieldError(`${podPath}.enableServiceLinks`, "service environment variables are not emulated");
    }
    const restartPolicy = podSpec.restartPolicy ?? "Always";
    if (kind === "Job" && !["Never", "OnFailure"].includes(restartPolicy)) {
        throw new Error(`${podPath}.restartPolicy: ${restartPolicy} (a Job's pods must use Never or OnFailure)`);
    }
    if (kind !== "Job" && restartPolicy !== "Always") {
        throw new Error(`${podPath}.restartPolicy: ${restartPolicy} (a Deployment's pods must use Always)`);
    }

    const podName =
        kind === "StatefulSet" ? `${workloadName}-${options.ordinal ?? 0}` : `${workloadName}-${options.podSuffix ?? crypto.randomBytes(3).toString("hex")}`.slice(0, 63);
    const dockerPrefix = `${options.prefix}-${podName}`;

    // Volumes.
    const secrets = byName(captured.resources, "kubernetes:core/v1:Secret");
    const configMaps = byName(captured.resources, "kubernetes:core/v1:ConfigMap");
    const claims = byName(captured.resources, "kubernetes:core/v1:PersistentVolumeClaim");
    const volumes: PodPlan["volumes"] = [];
    (podSpec.volumes ?? []).forEach((volume: any, index: number) => {
        const where = `${podPath}.volumes[${index}]`;
        const sources = ["emptyDir", "persistentVolumeClaim", "secret", "configMap"].filter((key) => volume[key] !== undefined && volume[key] !== null);
        if (sources.length !== 1) {
            throw new Error(`${where} (${volume.name}): exactly one volume source expected, found ${sources.join(", ") || "none"}`);
        }
        const docker = `${dockerPrefix}-${volume.name}`;
        if (volume.emptyDir) {
            if (volume.emptyDir.medium === "Memory") {
                const size = volume.emptyDir.sizeLimit ? Math.round(parseQuantity(volume.emptyDir.sizeLimit)) : undefined;
                volumes.push({ name: volume.name, docker, create: { driverOpts: { type: "tmpfs", device: "tmpfs", ...(size ? { o: `size=${size}` } : {}) } } });
            } else if (volume.emptyDir.medium === undefined || volume.emptyDir.medium === "") {
                if (volume.emptyDir.sizeLimit) {
                    notes.push(`emptyDir ${volume.name}: sizeLimit ${volume.emptyDir.sizeLimit} is enforced by kubelet eviction, not here`);
                }
                volumes.push({ name: volume.name, docker, create: {} });
            } else {
                throw new UnsupportedFieldError(`${where}.emptyDir.medium`, String(volume.emptyDir.medium));
            }
        } else if (volume.persistentVolumeClaim) {
            const claimName = volume.persistentVolumeClaim.claimName;
            const existing = options.existingClaims?.[claimName];
            if (existing) {
                volumes.push({ name: volume.name, docker: existing, claim: claimName });
            } else {
                const claim = claims.get(`${namespace}/${claimName}`);
                if (!claim) {
                    throw new Error(`${where}: claim ${namespace}/${claimName} is neither in the capture nor in existingClaims (the pod would stay Pending)`);
                }
                volumes.push({ name: volume.name, docker: `${options.prefix}-pvc-${namespace}-${claimName}`, claim: claimName, create: {} });
            }
        } else if (volume.secret) {
            const key = `${namespace}/${volume.secret.secretName}`;
            const existing = options.existingSecrets?.[key];
            const secret = secrets.get(key) ?? (existing && ({ name: volume.secret.secretName, inputs: { metadata: { name: volume.secret.secretName }, ...existing } } as RegisteredResource));
            if (!secret) {
                throw new Error(`${where}: secret ${namespace}/${volume.secret.secretName} is not in the capture (the pod would stay ContainerCreating)`);
            }
            volumes.push({ name: volume.name, docker, create: { files: filesOf("Secret", secret, volume.secret, `${where}.secret`) } });
        } else {
            const configMap = configMaps.get(`${namespace}/${volume.configMap.name}`);
            if (!configMap) {
                throw new Error(`${where}: configMap ${namespace}/${volume.configMap.name} is not in the capture (the pod would stay ContainerCreating)`);
            }
            volumes.push({ name: volume.name, docker, create: { files: filesOf("ConfigMap", configMap, volume.configMap, `${where}.configMap`) } });
        }
    });
    // A StatefulSet's controller adds a volume per claim template; the claim outlives the pod, by name.
    (kind === "StatefulSet" ? spec.volumeClaimTemplates ?? [] : []).forEach((claimTemplate: any, index: number) => {
        const name: string = claimTemplate.metadata.name;
        if (volumes.some((volume) => volume.name === name)) {
            throw new Error(`${root}.spec.volumeClaimTemplates[${index}]: ${name} is also a volume of the pod (the API rejects it)`);
        }
        const claimName = `${name}-${workloadName}-${options.ordinal ?? 0}`;
        volumes.push({ name, docker: `${options.prefix}-pvc-${namespace}-${claimName}`, claim: claimName, create: {} });
    });
    const volumeByName = new Map(volumes.map((v) => [v.name, v]));
    const readOnlySource = new Set((podSpec.volumes ?? []).filter((v: any) => v.secret || v.configMap || v.persistentVolumeClaim?.readOnly).map((v: any) => v.name));

    // Containers.
    const plans: ContainerPlan[] = [];
    const names = new Set<string>();
    const planContainer = (spec: any, path: string, sidecar: boolean): ContainerPlan => {
        if (names.has(spec.name)) {
            throw new Error(`${path}.name: ${spec.name} is used twice`);
        }
        names.add(spec.name);
        const image = options.images[spec.image];
        if (!image) {
            throw new Error(`${path}.image: no local image for ${spec.image} (images: ${Object.keys(options.images).join(", ")})`);
        }
        const env = new Map<string, string>();
        (spec.env ?? []).forEach((variable: any) => env.set(variable.name, expandKubernetes(String(variable.value ?? ""), env)));
        const command: string[] | undefined = spec.command?.map((part: string) => expandKubernetes(part, env));
        const args: string[] | undefined = spec.args?.map((part: string) => expandKubernetes(part, env));
        const mounts: Docker.MountSettings[] = (spec.volumeMounts ?? []).map((mount: any, index: number) => {
            const volume = volumeByName.get(mount.name);
            if (!volume) {
                throw new Error(`${path}.volumeMounts[${index}]: no volume named ${mount.name} in the pod`);
            }
            const readOnly = mount.readOnly === true || readOnlySource.has(mount.name);
            if (mount.subPath !== undefined) {
                if (String(mount.subPath).split("/").includes("..") || String(mount.subPath).startsWith("/")) {
                    throw new Error(`${path}.volumeMounts[${index}].subPath: ${mount.subPath} leaves the volume, which the kubelet refuses`);
                }
                // Resolved to the volume's directory on the engine when the container is created.
                return { Type: "bind", Source: volume.docker, Target: mount.mountPath, ReadOnly: readOnly, [SUB_PATH]: mount.subPath } as Docker.MountSettings;
            }
            return {
                Type: "volume",
                Source: volume.docker,
                Target: mount.mountPath,
                ReadOnly: readOnly,
                // Kubernetes does not copy the image's content into a volume.
                VolumeOptions: { NoCopy: true },
            } as Docker.MountSettings;
        });
        for (const port of spec.ports ?? []) {
            if ((port.protocol ?? "TCP") !== "TCP") {
                throw new UnsupportedFieldError(`${path}.ports`, `protocol ${port.protocol}`);
            }
        }
        const probe = probeOf(spec.startupProbe, `${path}.startupProbe`);
        const hostConfig = mergeHostConfig(securityHostConfig(spec.securityContext, `${path}.securityContext`), resourcesHostConfig(spec.resources, `${path}.resources`));
        return {
            name: spec.name,
            sidecar,
            restartPolicy: sidecar ? "Always" : restartPolicy,
            probe,
            create: (instance) => ({
                name: `${dockerPrefix}-${spec.name}-${instance}`,
                Image: image,
                // command replaces ENTRYPOINT (and with it the image's CMD); args replace CMD.
                Entrypoint: command,
                Cmd: command !== undefined && args === undefined ? [] : args,
                Env: [...env.entries()].map(([name, value]) => `${name}=${value}`),
                WorkingDir: spec.workingDir,
                Labels: {
                    ...Object.fromEntries(Object.entries(labels).map(([key, value]) => [`k8s.label.${key}`, value])),
                    "io.kubernetes.pod.name": podName,
                    "io.kubernetes.pod.namespace": namespace,
                    "io.kubernetes.container.name": spec.name,
                },
                HostConfig: { ...hostConfig, Mounts: mounts, RestartPolicy: { Name: "no" } },
            }),
        };
    };
    (podSpec.initContainers ?? []).forEach((spec: any, index: number) => {
        const path = `${podPath}.initContainers[${index}]`;
        if (spec.restartPolicy !== "Always") {
            throw new UnsupportedFieldError(`${path}.restartPolicy`, "only native sidecars (restartPolicy Always) are applied among init containers");
        }
        plans.push(planContainer(spec, path, true));
    });
    (podSpec.containers ?? []).forEach((spec: any, index: number) => {
        const path = `${podPath}.containers[${index}]`;
        if (spec.restartPolicy !== undefined) {
            throw new UnsupportedFieldError(`${path}.restartPolicy`, "only init containers take one");
        }
        if (spec.startupProbe) {
            throw new UnsupportedFieldError(`${path}.startupProbe`, "startup probes are applied to sidecars only");
        }
        plans.push(planContainer(spec, path, false));
    });
    if (!plans.some((plan) => !plan.sidecar)) {
        throw new Error(`${podPath}.containers: a pod needs at least one container`);
    }
    return {
        kind,
        workloadName,
        namespace,
        podName,
        restartPolicy,
        backoffLimit: kind === "Job" ? spec.backoffLimit ?? 6 : undefined,
        activeDeadlineSeconds: kind === "Job" ? spec.activeDeadlineSeconds : undefined,
        labels,
        volumes,
        containers: plans,
        notes,
    };
}

export class RunningPod {
    readonly name: string;
    /** Milliseconds since the epoch at which each milestone happened (for scenarios and the bench). */
    readonly timeline: { at: number; event: string }[] = [];
    private pause?: Docker.Container;
    private readonly states = new Map<string, ContainerState>();
    private stopping = false;
    private readonly podVolumes: string[] = [];
    private startedAt = 0;

    constructor(readonly plan: PodPlan, private readonly options: RunPodOptions) {
        this.name = plan.podName;
        for (const containerPlan of plan.containers) {
            let resolveFinished!: (outcome: ContainerOutcome) => void;
            const finished = new Promise<ContainerOutcome>((resolve) => (resolveFinished = resolve));
            this.states.set(containerPlan.name, { plan: containerPlan, instance: 0, restarts: 0, finished, resolveFinished });
        }
    }

    private get docker(): Docker {
        return this.options.run.docker;
    }

    private log(line: string): void {
        this.timeline.push({ at: Date.now(), event: line });
        (this.options.log ?? ((l: string) => process.env.E2E_VERBOSE && console.log(`      [${this.name}] ${l}`)))(line);
    }

    private state(name: string): ContainerState {
        const state = this.states.get(name);
        if (!state) {
            throw new Error(`pod ${this.name} has no container ${name} (containers: ${[...this.states.keys()].join(", ")})`);
        }
        return state;
    }

    /** Container names in start order. */
    get containerNames(): string[] {
        return [...this.states.keys()];
    }

    /** The current instance of a container (a restart makes a new one). */
    container(name: string): Docker.Container {
        const state = this.state(name);
        if (!state.container) {
            throw new Error(`container ${name} of pod ${this.name} was never created`);
        }
        return state.container;
    }

    restarts(name: string): number {
        return this.state(name).restarts;
    }

    /** The Docker volume behind a pod volume. */
    volume(podVolume: string): string {
        const volume = this.plan.volumes.find((v) => v.name === podVolume);
        if (!volume) {
            throw new Error(`pod ${this.name} has no volume ${podVolume}`);
        }
        return volume.docker;
    }

    /** The Docker volume behind a claim. */
    claimVolume(claimName: string): string {
        const volume = this.plan.volumes.find((v) => v.claim === claimName);
        if (!volume) {
            throw new Error(`pod ${this.name} mounts no claim ${claimName}`);
        }
        return volume.docker;
    }

    /** The pod's address on a network it joined. */
    async ip(network?: string): Promise<string> {
        const info = await this.pause!.inspect();
        const networks = info.NetworkSettings.Networks;
        const entry = network ? networks[network] : Object.values(networks)[0];
        if (!entry?.IPAddress) {
            throw new Error(`pod ${this.name} has no address on ${network ?? "any network"}`);
        }
        return entry.IPAddress;
    }

    async start(): Promise<this> {
        const { run } = this.options;
        if (this.plan.notes.length) {
            this.log(`notes: ${this.plan.notes.join("; ")}`);
        }
        for (const volume of this.plan.volumes) {
            if (!volume.create) continue;
            if (volume.claim) {
                // A claim outlives pods: created once per run, removed with it.
                const exists = await this.docker.getVolume(volume.docker).inspect().then(() => true, () => false);
                if (!exists) await run.createVolume(volume.docker, { Labels: { "io.kubernetes.claim": volume.claim } });
                continue;
            }
            await run.createVolume(volume.docker, volume.create.driverOpts ? { Driver: "local", DriverOpts: volume.create.driverOpts } : {});
            this.podVolumes.push(volume.docker);
            if (volume.create.files) {
                await this.populate(volume.docker, volume.create.files);
            }
        }
        this.log("volumes ready");

        const networks = this.options.networks ?? [];
        this.startedAt = Date.now();
        this.pause = await run.createContainer({
            name: `${run.id}-${this.name}-pause`,
            Image: testImages.busybox,
            Entrypoint: ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"],
            Cmd: [],
            Hostname: this.name.slice(0, 63),
            Labels: { "io.kubernetes.pod.name": this.name, "io.kubernetes.container.name": "POD" },
            HostConfig: { NetworkMode: networks[0]?.name ?? "bridge", IpcMode: "shareable" },
            NetworkingConfig: networks[0] ? { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases } } } : undefined,
        });
        for (const network of networks.slice(1)) {
            await this.docker.getNetwork(network.name).connect({ Container: this.pause.id, EndpointConfig: { Aliases: network.aliases } });
        }
        await this.pause.start();
        this.log("pause started");

        for (const state of this.states.values()) {
            await this.startInstance(state);
            if (state.plan.sidecar) {
                await state.ready;
            }
            state.supervisor = this.supervise(state);
        }
        return this;
    }

    /** A subPath mount as a bind of that path inside the volume's directory on the engine. */
    private async resolveSubPath(mount: Docker.MountSettings): Promise<Docker.MountSettings> {
        const subPath = (mount as unknown as Record<string, unknown>)[SUB_PATH];
        if (subPath === undefined) {
            return mount;
        }
        const { Mountpoint } = await this.docker.getVolume(mount.Source).inspect();
        return { Type: "bind", Source: `${Mountpoint}/${subPath}`, Target: mount.Target, ReadOnly: mount.ReadOnly };
    }

    private async populate(volume: string, files: TarEntry[]): Promise<void> {
        const helper = await this.options.run.createContainer({
            name: `${volume}-populate`,
            Image: testImages.busybox,
            Cmd: ["true"],
            HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/volume" }] },
        });
        try {
            await helper.putArchive(createTar(files), { path: "/volume" });
        } finally {
            await this.options.run.removeContainer(helper.id);
        }
    }

    private async startInstance(state: ContainerState): Promise<void> {
        const options = state.plan.create(state.instance);
        const pause = this.pause!;
        const mounts = await Promise.all((options.HostConfig?.Mounts ?? []).map((mount) => this.resolveSubPath(mount)));
        const container = await this.options.run.createContainer({
            ...options,
            HostConfig: { ...options.HostConfig, Mounts: mounts, NetworkMode: `container:${pause.id}`, IpcMode: `container:${pause.id}` },
        });
        state.container = container;
        await container.start();
        state.startedAt = Date.now();
        this.log(`${state.plan.name} #${state.instance} started`);
        state.ready = state.plan.probe ? this.runStartupProbe(state, container, state.plan.probe) : Promise.resolve();
        if (!state.plan.probe) state.readyAt = state.startedAt;
    }

    /** The kubelet's startup probe: exec until success, at most failureThreshold failures. */
    private async runStartupProbe(state: ContainerState, container: Docker.Container, probe: Probe): Promise<void> {
        await sleep(probe.initialDelaySeconds * 1000);
        let failures = 0;
        let last = "";
        for (;;) {
            const started = Date.now();
            try {
                const result = await execIn(container, probe.command, { timeoutMs: probe.timeoutSeconds * 1000 });
                if (result.exitCode === 0) {
                    state.readyAt = Date.now();
                    this.log(`${state.plan.name} #${state.instance} startup probe passed after ${failures} failure(s)`);
                    return;
                }
                last = `exit ${result.exitCode}: ${(result.stderr || result.stdout).trim().split("\n").pop()}`;
            } catch (error) {
                last = (error as Error).message;
                const info = await container.inspect().catch(() => undefined);
                if (!info || !info.State.Running) {
                    // The kubelet stops probing a container that is gone; so does this (its supervisor restarts it).
                    throw new Error(`startup probe of ${state.plan.name} #${state.instance}: the container ${info ? `exited with ${info.State.ExitCode}` : "is gone"}`);
                }
            }
            if (this.stopping) {
                throw new Error(`startup probe of ${state.plan.name}: the pod is stopping`);
            }
            failures++;
            if (failures >= probe.failureThreshold) {
                const logs = await containerLogs(container).catch(() => "");
                throw new Error(
                    `startup probe of ${state.plan.name} failed ${failures} times (${probe.command.join(" ")}), last: ${last}\n--- logs ---\n${logs.slice(-4000)}`,
                );
            }
            await sleep(Math.max(0, probe.periodSeconds * 1000 - (Date.now() - started)));
        }
    }

    /** Waits on each instance; restarts as the kubelet would; records final outcomes. */
    private async supervise(state: ContainerState): Promise<void> {
        const maxRestarts = this.options.maxRestarts ?? 5;
        for (let guard = 0; guard <= maxRestarts + 1; guard++) {
            const container = state.container!;
            let exitCode: number;
            try {
                exitCode = (await waitForExit(container)).StatusCode;
            } catch (error) {
                if (this.stopping) return;
                state.failure = error as Error;
                return;
            }
            if (this.stopping) return;
            const logs = await containerLogs(container).catch(() => "");
            this.log(`${state.plan.name} #${state.instance} exited with ${exitCode}`);
            const restart = state.plan.restartPolicy === "Always" || (state.plan.restartPolicy === "OnFailure" && exitCode !== 0);
            if (!restart) {
                state.final = { exitCode, logs };
                state.resolveFinished(state.final);
                return;
            }
            if (state.restarts >= maxRestarts) {
                state.failure = new Error(`${state.plan.name} exited ${state.restarts + 1} times (restart limit ${maxRestarts}); last exit ${exitCode}\n${logs.slice(-2000)}`);
                state.final = { exitCode, logs };
                state.resolveFinished(state.final);
                return;
            }
            // CrashLoopBackOff: the first restart is immediate, then 10 s doubling (capped at 5 min).
            const delay = state.restarts === 0 ? 0 : Math.min(10_000 * 2 ** (state.restarts - 1), 300_000);
            state.readyAt = undefined;
            await sleep(delay);
            if (this.stopping) return;
            // A restart is a new container: fresh root filesystem, same volumes and namespaces.
            state.readyAt = undefined;
            await this.options.run.removeContainer(container.id);
            state.restarts++;
            state.instance++;
            try {
                await this.startInstance(state);
                state.ready!.catch((error) => {
                    state.failure = error;
                });
            } catch (error) {
                state.failure = error as Error;
                return;
            }
        }
    }

    /** Resolves once a container has been restarted `count` times in all and its new instance is ready. */
    async waitForRestart(name: string, count: number, timeoutMs: number): Promise<void> {
        const state = this.state(name);
        await until(`${name} to restart ${count} time(s)`, timeoutMs, async () => {
            if (state.failure) throw state.failure;
            return state.restarts >= count && state.readyAt !== undefined ? true : undefined;
        }, 100);
        await withTimeout(state.ready!, timeoutMs, `${name} ready after restart`);
    }

    /** When the current instance of `name` passed its startup probe (ms since the epoch). */
    readyAt(name: string): number | undefined {
        return this.state(name).readyAt;
    }

    /** A Job pod's end: every regular container exited, then the sidecars are stopped. */
    async waitForCompletion(timeoutMs: number): Promise<PodCompletion> {
        if (this.plan.restartPolicy === "Always") {
            throw new Error(`pod ${this.name} has restartPolicy Always: it does not complete`);
        }
        const regular = [...this.states.values()].filter((s) => !s.plan.sidecar);
        const finished = Promise.all(regular.map((s) => s.finished));
        if (this.plan.activeDeadlineSeconds !== undefined) {
            const left = this.startedAt + this.plan.activeDeadlineSeconds * 1000 - Date.now();
            if (left < timeoutMs) {
                let timer!: NodeJS.Timeout;
                const deadline = new Promise<"deadline">((resolve) => (timer = setTimeout(() => resolve("deadline"), Math.max(0, left))));
                const first = await Promise.race([finished, deadline]).finally(() => clearTimeout(timer));
                if (first === "deadline") {
                    // The Job controller deletes the pod: every container gets SIGTERM.
                    this.log("activeDeadlineSeconds reached: stopping the pod");
                    await this.stop();
                    const containers = Object.fromEntries(
                        await Promise.all(regular.map(async (s) => [s.plan.name, { exitCode: (await s.container?.inspect())?.State.ExitCode ?? -1, logs: s.container ? await containerLogs(s.container) : "" }])),
                    );
                    return { succeeded: false, reason: "DeadlineExceeded", containers };
                }
            }
        }
        const outcomes = await withTimeout(finished, timeoutMs, `pod ${this.name} to complete`).catch(async (error) => {
            const logs = await Promise.all(regular.map(async (s) => `--- ${s.plan.name} ---\n${s.container ? await containerLogs(s.container).catch(() => "") : ""}`));
            throw new Error(`${error.message}\n${logs.join("\n")}`);
        });
        this.log("regular containers done; stopping sidecars");
        await this.stopSidecars();
        const containers = Object.fromEntries(regular.map((s, i) => [s.plan.name, outcomes[i]]));
        return { succeeded: outcomes.every((o) => o.exitCode === 0), containers };
    }

    private async stopSidecars(): Promise<void> {
        this.stopping = true;
        const sidecars = [...this.states.values()].filter((s) => s.plan.sidecar).reverse();
        for (const state of sidecars) {
            await state.container?.stop({ t: 30 }).catch(() => undefined);
        }
    }

    /** Runs a command in a container of the pod (its current instance). */
    exec(name: string, cmd: string[], options: { timeoutMs?: number; env?: string[]; workingDir?: string } = {}): Promise<ExecResult> {
        return execIn(this.container(name), cmd, options);
    }

    logs(name: string): Promise<string> {
        return containerLogs(this.container(name));
    }

    /** Stops the pod as the kubelet would on deletion: regular containers, then sidecars in reverse, then the sandbox. */
    async stop(): Promise<void> {
        this.stopping = true;
        for (const state of [...this.states.values()].filter((s) => !s.plan.sidecar)) {
            await state.container?.stop({ t: 30 }).catch(() => undefined);
        }
        await this.stopSidecars();
        await this.pause?.stop({ t: 5 }).catch(() => undefined);
    }

    /** Removes the pod's containers and per-pod volumes; claims stay (removed with the run). */
    async remove(): Promise<void> {
        this.stopping = true;
        for (const state of [...this.states.values()].reverse()) {
            if (state.container) await this.options.run.removeContainer(state.container.id);
        }
        if (this.pause) await this.options.run.removeContainer(this.pause.id);
        for (const volume of this.podVolumes) {
            await this.docker.getVolume(volume).remove({ force: true }).catch(() => undefined);
        }
        await Promise.all([...this.states.values()].map((s) => s.supervisor?.catch(() => undefined)));
    }

    /** A supervisor's failure (restart limit, probe failure after a restart), if any. */
    failure(name: string): Error | undefined {
        return this.state(name).failure;
    }
}

/** container.wait, retried when the long poll breaks while the container still runs. */
async function waitForExit(container: Docker.Container): Promise<{ StatusCode: number }> {
    for (let attempt = 0; attempt < 20; attempt++) {
        try {
            return await container.wait({ condition: "not-running" });
        } catch (error) {
            const info = await container.inspect();
            if (!info.State.Running) {
                return { StatusCode: info.State.ExitCode };
            }
        }
    }
    throw new Error(`could not wait for ${container.id}`);
}

/**
 * Applies a captured DindDeployment's pod (its Deployment or Job template, with the Secrets,
 * ConfigMaps and claims it references) to the engine and starts it. Throws before creating
 * anything when the capture holds a field or resource the runner does not apply.
 */
export async function runPod(captured: Captured, options: RunPodOptions): Promise<RunningPod> {
    const plan = planPod(captured, { ...options, prefix: options.run.id });
    const pod = new RunningPod(plan, options);
    try {
        await pod.start();
    } catch (error) {
        await pod.remove().catch(() => undefined);
        throw error;
    }
    return pod;
}
