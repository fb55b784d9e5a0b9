/**
 * DindDeployment's pod and the workload that runs it, rendered from validated
 * settings and the names of the objects the component made for it. Pure: the
 * same settings give the same spec, which test/golden holds for each README example.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    CERTS_D,
    CLIENT_CERT_DIR,
    DOCKER_DATA_DIR,
    RegistryTrust,
    SERVER_CERT_DIR,
    SOCKET_DIR,
    TLS_FILES,
    TLS_PORT,
    TRUSTED_CA_DIR,
    TRUSTING_SSL_CERT_DIR,
    clientCommand,
    clientEnvironment,
    daemonEndpoints,
    daemonReadyCommand,
    dockerdArgs,
    registryCaKey,
    registryCaRelativePath,
} from "./daemon";
import { DAEMON_CONFIG_FILE, DAEMON_CONFIG_FILE_NAME } from "./daemonConfig";
import type { DindDeploymentSettings, Workload } from "./dindDeployment";
import { deploymentStrategy } from "./keptObjects";
import { PRUNE_RESOURCES, PruneSettings, pruneCommand } from "./prune";
import { quantityValue } from "./validation";
import { PodContainer, PodVolume, isolatedPodSpec, mountVolumes, restrictedSecurityContext, toEnv } from "./kubernetesPod";

/** Names of the pod's volumes. */
export const VOLUME = {
    data: "docker-data",
    socket: "docker-socket",
    serverTls: "server-tls",
    clientTls: "client-tls",
    registryCas: "registry-cas",
    trustedCas: "trusted-cas",
    daemonConfig: "daemon-config",
    output: "output",
} as const;

/** The name of dockerd's TLS port, which the Service targets. */
const TLS_PORT_NAME = "docker-tls";

/** Names of the pod's containers. */
export const CONTAINER = { dockerd: "dockerd", client: "client", prune: "prune" } as const;

/** Where each file dockerd and the docker CLI read comes from in a `kubernetes.io/tls` Secret. */
export const TLS_SECRET_ITEMS = [
    { key: "ca.crt", path: TLS_FILES.ca },
    { key: "tls.crt", path: TLS_FILES.cert },
    { key: "tls.key", path: TLS_FILES.key },
];

/** Marks a Job's pod template with its `runId`. */
export const RUN_ID_ANNOTATION = "pulumi-dind/run-id";

/** How CRI-O gives a pod its own user namespace, where containerd reads `hostUsers: false`; the size Sysbox asks for. */
export const CRIO_USERNS_ANNOTATION = { "io.kubernetes.cri-o.userns-mode": "auto:size=65536" };

/** The objects the pod mounts, made by the component or given by the user. */
export interface DindPodObjects {
    /** The claim holding /var/lib/docker; an emptyDir without one. */
    dataClaimName?: pulumi.Input<string>;
    /** The claim mounted at `output.mountPath`. */
    outputClaimName?: pulumi.Input<string>;
    /** The Secrets with the daemon's and the client's TLS pairs; `items` map a `kubernetes.io/tls` Secret's keys to the names docker reads. */
    tlsSecrets?: { server: pulumi.Input<string>; client: pulumi.Input<string>; items?: typeof TLS_SECRET_ITEMS };
    /** The ConfigMap holding the CA of each of `mountedRegistryCas`. */
    registryCaConfigMapName?: pulumi.Input<string>;
    /** The ConfigMap holding daemon.json, from `daemonConfigData`. */
    daemonConfigMapName?: pulumi.Input<string>;
}

/** Who the pod runs for, and where. */
export interface Placement {
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
}

/**
 * The registries whose CA the pod mounts: those carrying `caCertPem`, or with
 * `caConfigMapName` every registry that is verified (the ConfigMap holds their CAs).
 */
export function mountedRegistryCas(settings: Pick<DindDeploymentSettings, "caConfigMapName" | "daemon">): RegistryTrust[] {
    const registries = settings.daemon.registries;
    return settings.caConfigMapName === undefined ? registries.filter((r) => r.caCertPem !== undefined) : registries.filter((r) => !r.insecure);
}

/** The data of the ConfigMap the component makes for registry CAs: each CA under a key without ':'. */
export function registryCaData(settings: Pick<DindDeploymentSettings, "caConfigMapName" | "daemon">): Record<string, pulumi.Input<string>> {
    return Object.fromEntries(mountedRegistryCas(settings).map((r) => [registryCaKey(r.host), r.caCertPem!]));
}

/** The data of the ConfigMap that holds daemon.json; none without a file. */
export function daemonConfigData(settings: Pick<DindDeploymentSettings, "daemonConfig">): Record<string, string> | undefined {
    const { file } = settings.daemonConfig;
    return file === undefined ? undefined : { [DAEMON_CONFIG_FILE_NAME]: file };
}

/** Every volume of the pod, each with its mounts in dockerd and the client. */
export function dindPodVolumes(settings: DindDeploymentSettings, objects: DindPodObjects): PodVolume[] {
    const { dockerd, client, prune } = CONTAINER;
    // The pruner reaches the daemon as the client does, and reads the store it measures.
    const clients = settings.prune ? [client, prune] : [client];
    const volumes: PodVolume[] = [
        {
            volume:
                settings.workload === "StatefulSet"
                    ? { name: VOLUME.data, fromClaimTemplate: true }
                    : objects.dataClaimName !== undefined
                      ? { name: VOLUME.data, persistentVolumeClaim: { claimName: objects.dataClaimName } }
                      : { name: VOLUME.data, emptyDir: { sizeLimit: settings.dockerStorage.size } },
            mounts: [{ container: dockerd, mountPath: DOCKER_DATA_DIR }, ...(settings.prune ? [{ container: prune, mountPath: DOCKER_DATA_DIR, readOnly: true }] : [])],
        },
    ];
    if (settings.transport === "unix") {
        volumes.push({
            volume: { name: VOLUME.socket, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
            mounts: [{ container: dockerd, mountPath: SOCKET_DIR }, ...clients.map((container) => ({ container, mountPath: SOCKET_DIR }))],
        });
    }
    const tls = objects.tlsSecrets;
    if (tls) {
        // Each side mounts only its own pair: the client never sees the server's key.
        const secret = (secretName: pulumi.Input<string>) => ({ secretName, items: tls.items, defaultMode: 0o400 });
        volumes.push(
            { volume: { name: VOLUME.serverTls, secret: secret(tls.server) }, mounts: [{ container: dockerd, mountPath: SERVER_CERT_DIR, readOnly: true }] },
            { volume: { name: VOLUME.clientTls, secret: secret(tls.client) }, mounts: clients.map((container) => ({ container, mountPath: CLIENT_CERT_DIR, readOnly: true })) },
        );
    }
    if (objects.registryCaConfigMapName !== undefined) {
        volumes.push(...registryCaVolumes(settings, objects.registryCaConfigMapName));
    }
    if (objects.daemonConfigMapName !== undefined) {
        // The file alone, where dockerd looks for it: the rest of /etc/docker (certs.d) stays mountable and the image's.
        // A new daemon.json makes a new ConfigMap, so a subPath's missing updates never matter.
        volumes.push({
            volume: { name: VOLUME.daemonConfig, configMap: { name: objects.daemonConfigMapName, items: [{ key: DAEMON_CONFIG_FILE_NAME, path: DAEMON_CONFIG_FILE_NAME }] } },
            mounts: [{ container: dockerd, mountPath: DAEMON_CONFIG_FILE, subPath: DAEMON_CONFIG_FILE_NAME, readOnly: true }],
        });
    }
    if (settings.output && objects.outputClaimName !== undefined) {
        volumes.push({
            volume: { name: VOLUME.output, persistentVolumeClaim: { claimName: objects.outputClaimName } },
            mounts: [{ container: client, mountPath: settings.output.mountPath }],
        });
    }
    return volumes;
}

/**
 * One ConfigMap holds every registry CA under a key without ':'; `items` place each
 * at certs.d/<host[:port]>/ca.crt, and a second view of the same map lays them flat
 * in TRUSTED_CA_DIR, added to Go's roots through SSL_CERT_DIR.
 */
function registryCaVolumes(settings: DindDeploymentSettings, configMapName: pulumi.Input<string>): PodVolume[] {
    const registries = mountedRegistryCas(settings);
    const trusting = { mountPath: TRUSTED_CA_DIR, readOnly: true, env: { SSL_CERT_DIR: TRUSTING_SSL_CERT_DIR } };
    return [
        {
            volume: { name: VOLUME.registryCas, configMap: { name: configMapName, items: registries.map((r) => ({ key: registryCaKey(r.host), path: registryCaRelativePath(r.host) })) } },
            mounts: [{ container: CONTAINER.dockerd, mountPath: CERTS_D, readOnly: true }],
        },
        {
            volume: { name: VOLUME.trustedCas, configMap: { name: configMapName, items: registries.map((r) => ({ key: registryCaKey(r.host), path: registryCaKey(r.host) })) } },
            mounts: [{ container: CONTAINER.dockerd, ...trusting }, ...(settings.clientTrustsRegistryCas ? [{ container: CONTAINER.client, ...trusting }] : [])],
        },
    ];
}

/** dockerd, the client and the pruner (with `prune`), before their volumes are mounted. */
export function dindContainers(settings: DindDeploymentSettings): { dockerd: PodContainer; client: PodContainer; prune?: PodContainer } {
    const endpoints = daemonEndpoints(settings.transport);
    const dockerd: PodContainer = {
        name: CONTAINER.dockerd,
        image: settings.dindImage,
        args: kubernetesLiteral(dockerdArgs(settings.transport, settings.daemon)),
        env: toEnv({ DOCKER_HOST: endpoints.localDockerHost, ...settings.daemonConfig.environment }),
        // dind needs it; nothing else in the pod gets it. Under Sysbox root is root of a user namespace only.
        securityContext: settings.isolation === "privileged" ? { privileged: true } : undefined,
        ports: settings.transport === "tls" ? [{ name: TLS_PORT_NAME, containerPort: TLS_PORT, protocol: "TCP" }] : undefined,
        startupProbe: {
            exec: { command: daemonReadyCommand() },
            periodSeconds: 1,
            timeoutSeconds: 5,
            failureThreshold: settings.startupTimeoutSeconds,
        },
        resources: settings.dindResources,
        ...(settings.nativeSidecar ? { restartPolicy: "Always" } : {}),
    };
    const client: PodContainer = {
        name: CONTAINER.client,
        image: settings.cliImage,
        command: kubernetesLiteral(
            clientCommand({
                script: settings.script,
                // A native sidecar's startup probe orders the start already.
                waitTimeoutSeconds: settings.nativeSidecar ? undefined : settings.startupTimeoutSeconds,
            }),
        ),
        env: toEnv(clientEnvironment(settings.transport, endpoints.clientDockerHost)),
        workingDir: settings.output?.mountPath,
        securityContext: restrictedSecurityContext(),
        resources: settings.clientResources,
    };
    return { dockerd, client, prune: settings.prune && pruneContainer(settings, settings.prune) };
}

/** The pruner: the CLI image running the prune loop, root only to read every directory of the store it measures, on a read-only mount. */
function pruneContainer(settings: DindDeploymentSettings, prune: PruneSettings): PodContainer {
    // An emptyDir's bound is its sizeLimit; a claim is a filesystem of its own, which df measures.
    const limitBytes = settings.dockerStorage.persistent ? undefined : quantityValue(settings.dockerStorage.size);
    const { command, env } = pruneCommand(prune, limitBytes);
    return {
        name: CONTAINER.prune,
        image: settings.cliImage,
        command: kubernetesLiteral(command),
        env: toEnv({ ...clientEnvironment(settings.transport, daemonEndpoints(settings.transport).clientDockerHost), ...env }),
        securityContext: { ...restrictedSecurityContext(), capabilities: { drop: ["ALL"], add: ["DAC_OVERRIDE"] } },
        resources: PRUNE_RESOURCES,
        ...(settings.nativeSidecar ? { restartPolicy: "Always" } : {}),
    };
}

/** The pod: dockerd as a native sidecar of the client (or beside it), each with its mounts. */
export function dindPodSpec(settings: DindDeploymentSettings, objects: DindPodObjects): k8s.types.input.core.v1.PodSpec {
    const { dockerd, client, prune } = dindContainers(settings);
    const { containers, volumes } = mountVolumes(prune ? [dockerd, client, prune] : [dockerd, client], dindPodVolumes(settings, objects));
    const [mountedDockerd, mountedClient, ...mountedPrune] = containers;
    // Native sidecars start in order, each once the one before is ready, and never keep a Job from completing.
    return isolatedPodSpec({
        initContainers: settings.nativeSidecar ? [mountedDockerd, ...mountedPrune] : undefined,
        containers: settings.nativeSidecar ? [mountedClient] : [mountedDockerd, mountedClient, ...mountedPrune],
        restartPolicy: settings.workload === "Job" ? "Never" : "Always",
        nodeSelector: settings.nodeSelector,
        tolerations: settings.tolerations,
        volumes,
        ...sysboxPodFields(settings),
    });
}

/** The RuntimeClass, and a user namespace for every container, as containerd takes it; CRI-O's comes by annotation. */
function sysboxPodFields({ sysbox }: DindDeploymentSettings): Pick<k8s.types.input.core.v1.PodSpec, "runtimeClassName" | "hostUsers"> {
    if (sysbox === undefined) {
        return {};
    }
    return { runtimeClassName: sysbox.runtimeClassName, ...(sysbox.containerRuntime === "containerd" ? { hostUsers: false } : {}) };
}

/** The pod template; a new run id changes it, which a Job cannot update: the provider replaces the Job, and it runs again. CRI-O reads a Sysbox pod's user namespace from it. */
export function dindPodTemplate(settings: DindDeploymentSettings, labels: Record<string, string>, objects: DindPodObjects): k8s.types.input.core.v1.PodTemplateSpec {
    const annotations = {
        ...(settings.runId !== undefined ? { [RUN_ID_ANNOTATION]: settings.runId } : {}),
        ...(settings.sysbox?.containerRuntime === "cri-o" ? CRIO_USERNS_ANNOTATION : {}),
    };
    return { metadata: { labels, annotations: Object.keys(annotations).length > 0 ? annotations : undefined }, spec: dindPodSpec(settings, objects) };
}

/** A Job that runs the pod once, bounded in time for Kubernetes and for `pulumi up` alike. */
export function dindJobArgs(settings: DindDeploymentSettings, placement: Placement, template: k8s.types.input.core.v1.PodTemplateSpec): k8s.batch.v1.JobArgs {
    return {
        metadata: {
            ...placement,
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
    };
}

/** A Deployment of `replicas` pods, recreated rather than rolled while they mount a claim. */
export function dindDeploymentArgs(
    settings: DindDeploymentSettings,
    placement: Placement,
    template: k8s.types.input.core.v1.PodTemplateSpec,
    mountsClaims: boolean,
): k8s.apps.v1.DeploymentArgs {
    return {
        metadata: placement,
        spec: {
            replicas: settings.replicas,
            selector: { matchLabels: placement.labels },
            strategy: deploymentStrategy(mountsClaims),
            template,
        },
    };
}

/**
 * A StatefulSet of `replicas` daemons, each with /var/lib/docker on a claim of its own,
 * `docker-data-<name>-<ordinal>`, that neither scaling down nor deleting the StatefulSet removes:
 * the next pod of that ordinal, after a restart, a rollout or `destroy` and `up`, finds its cache.
 * The daemons do not depend on one another, so they start and stop in parallel.
 */
export function dindStatefulSetArgs(
    name: string,
    settings: DindDeploymentSettings,
    placement: Placement,
    template: k8s.types.input.core.v1.PodTemplateSpec,
    serviceName: pulumi.Input<string>,
): k8s.apps.v1.StatefulSetArgs {
    const { size, storageClass } = settings.dockerStorage;
    return {
        metadata: { ...placement, name },
        spec: {
            replicas: settings.replicas,
            serviceName,
            selector: { matchLabels: placement.labels },
            podManagementPolicy: "Parallel",
            updateStrategy: { type: "RollingUpdate" },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            volumeClaimTemplates: [
                {
                    metadata: { name: VOLUME.data, labels: placement.labels },
                    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } }, ...(storageClass !== undefined ? { storageClassName: storageClass } : {}) },
                },
            ],
            template,
        },
    };
}

/**
 * The daemons' Service, named after the component: headless for a StatefulSet, which gives each
 * replica its DNS name; with `expose`, it publishes the TLS port (to the clients the policy admits).
 */
export function daemonServiceArgs(name: string, settings: Pick<DindDeploymentSettings, "workload" | "expose">, placement: Placement): k8s.core.v1.ServiceArgs {
    return {
        metadata: { ...placement, name },
        spec: {
            ...(settings.workload === "StatefulSet" ? { clusterIP: "None" } : {}),
            selector: placement.labels,
            ...(settings.expose ? { ports: [{ name: TLS_PORT_NAME, port: TLS_PORT, targetPort: TLS_PORT_NAME, protocol: "TCP" }] } : {}),
        },
    };
}

/**
 * The names a client dials through the Service `name` in `namespace`, which the server
 * certificate must hold: the Service's, and with a StatefulSet each replica's (one wildcard label).
 */
export function daemonServiceDnsNames(name: string, namespace: string, workload: Workload): string[] {
    const service = [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${CLUSTER_DOMAIN}`];
    return workload === "StatefulSet" ? [...service, `*.${name}.${namespace}.svc`, `*.${name}.${namespace}.svc.${CLUSTER_DOMAIN}`] : service;
}

/** Kubernetes' default cluster domain; the shorter names work on clusters with another. */
const CLUSTER_DOMAIN = "cluster.local";

/**
 * Denies all ingress to the pods (the daemon's API is root on the node), but with `expose` the
 * TLS port from the namespaces and pods it names.
 */
export function ingressPolicyArgs(settings: Pick<DindDeploymentSettings, "expose">, placement: Placement): k8s.networking.v1.NetworkPolicyArgs {
    const from = (settings.expose?.from ?? []).map((client) => ({
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": client.namespace } },
        ...(client.podLabels !== undefined ? { podSelector: { matchLabels: client.podLabels } } : {}),
    }));
    return {
        metadata: placement,
        spec: {
            podSelector: { matchLabels: placement.labels },
            policyTypes: ["Ingress"],
            ...(from.length > 0 ? { ingress: [{ from, ports: [{ protocol: "TCP", port: TLS_PORT }] }] } : {}),
        },
    };
}

/**
 * Kubernetes expands `$(NAME)` and turns `$$` into `$` in command and args;
 * doubling every `$` hands the shell its script as written.
 */
export function kubernetesLiteral(args: string[]): string[] {
    return args.map((arg) => arg.replace(/\$/g, "$$$$"));
}
