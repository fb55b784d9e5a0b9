/**
 * SelfHostedRegistry's pod, Deployment and Service, rendered from validated
 * settings and the names of the objects the component made for them. Pure: the
 * same settings give the same spec, which test/golden holds for the README's examples.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { deploymentStrategy } from "./keptObjects";
import { PodVolume, isolatedPodSpec, mountVolumes, restrictedSecurityContext, toEnv } from "./kubernetesPod";
import {
    HTPASSWD_FILE,
    REGISTRY_AUTH_DIR,
    REGISTRY_DATA_DIR,
    REGISTRY_PORT,
    REGISTRY_TLS_DIR,
    REGISTRY_UPSTREAM_CA_DIR,
    RegistryDataVolume,
    SECRET_KEYS,
    registryEnvironment,
    registrySecretEnvironment,
} from "./registrySettings";
import type { SelfHostedRegistrySettings } from "./selfHostedRegistry";

/** The UID and GID the twuni/docker-registry chart runs the registry as; fsGroup makes the volumes theirs. */
export const REGISTRY_UID = 1000;

export const REGISTRY_VOLUME = { tls: "tls", auth: "auth", data: "data", upstreamCa: "upstream-ca" } as const;
const CONTAINER = "registry";

/** The objects the registry's pod mounts. */
export interface RegistryPodObjects {
    /** The `kubernetes.io/tls` Secret with the server pair. */
    tlsSecretName: pulumi.Input<string>;
    /** The Secret with the registry's secret settings (and the htpasswd file). */
    settingsSecretName: pulumi.Input<string>;
    /** The claim holding the images; an emptyDir without one. */
    dataClaimName?: pulumi.Input<string>;
    /** The ConfigMap with `upstreamCaCertPem`, for a mirror given one. */
    upstreamCaConfigMapName?: pulumi.Input<string>;
}

/** Who the registry runs for, and where. */
export interface RegistryPlacement {
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
}

/** Every volume of the registry's pod, with its mount. */
export function registryPodVolumes(settings: SelfHostedRegistrySettings, objects: RegistryPodObjects): PodVolume[] {
    const at = (mountPath: string, readOnly = true) => [{ container: CONTAINER, mountPath, ...(readOnly ? { readOnly } : {}) }];
    const volumes: PodVolume[] = [
        { volume: { name: REGISTRY_VOLUME.tls, secret: { secretName: objects.tlsSecretName, defaultMode: 0o440 } }, mounts: at(REGISTRY_TLS_DIR) },
        { volume: dataVolume(settings.storage, objects.dataClaimName), mounts: at(REGISTRY_DATA_DIR, false) },
    ];
    if (settings.users.length > 0) {
        volumes.push({
            volume: {
                name: REGISTRY_VOLUME.auth,
                secret: { secretName: objects.settingsSecretName, items: [{ key: SECRET_KEYS.htpasswd, path: HTPASSWD_FILE }], defaultMode: 0o440 },
            },
            mounts: at(REGISTRY_AUTH_DIR),
        });
    }
    if (objects.upstreamCaConfigMapName !== undefined) {
        volumes.push({ volume: { name: REGISTRY_VOLUME.upstreamCa, configMap: { name: objects.upstreamCaConfigMapName } }, mounts: at(REGISTRY_UPSTREAM_CA_DIR) });
    }
    return volumes;
}

function dataVolume(storage: RegistryDataVolume, claimName: pulumi.Input<string> | undefined): PodVolume["volume"] {
    if (storage.kind === "emptyDir") {
        return { name: REGISTRY_VOLUME.data, emptyDir: { sizeLimit: storage.size } };
    }
    if (claimName === undefined) {
        throw new Error(`a registry on ${storage.kind === "claim" ? "a new" : "an existing"} claim needs the claim's name`);
    }
    return { name: REGISTRY_VOLUME.data, persistentVolumeClaim: { claimName } };
}

/** The registry's pod: one non-root container with a read-only root, configured only through its environment. */
export function registryPodSpec(settings: SelfHostedRegistrySettings, objects: RegistryPodObjects): k8s.types.input.core.v1.PodSpec {
    const secretEnv = Object.entries(registrySecretEnvironment(settings)).map(([name, key]) => ({
        name,
        valueFrom: { secretKeyRef: { name: objects.settingsSecretName, key } },
    }));
    const probe = { httpGet: { path: "/", port: REGISTRY_PORT, scheme: "HTTPS" }, periodSeconds: 10, timeoutSeconds: 3 };
    const { containers, volumes } = mountVolumes(
        [
            {
                name: CONTAINER,
                image: settings.image,
                ports: [{ name: "https", containerPort: REGISTRY_PORT, protocol: "TCP" }],
                env: [...toEnv(registryEnvironment(settings)), ...secretEnv],
                // `/` answers 200 while the storage health check passes, and needs no credentials (`/v2/` would be 401).
                readinessProbe: { ...probe, failureThreshold: 3 },
                livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
                securityContext: restrictedSecurityContext({ runAsUser: REGISTRY_UID, runAsGroup: REGISTRY_UID, runAsNonRoot: true, readOnlyRootFilesystem: true }),
                resources: settings.resources,
            },
        ],
        registryPodVolumes(settings, objects),
    );
    return isolatedPodSpec({
        securityContext: { runAsUser: REGISTRY_UID, runAsGroup: REGISTRY_UID, fsGroup: REGISTRY_UID, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers,
        volumes,
    });
}

/** One registry pod: distribution's filesystem driver does not coordinate between instances. */
export function registryDeploymentArgs(settings: SelfHostedRegistrySettings, placement: RegistryPlacement, objects: RegistryPodObjects): k8s.apps.v1.DeploymentArgs {
    return {
        metadata: placement,
        spec: {
            replicas: 1,
            selector: { matchLabels: placement.labels },
            strategy: deploymentStrategy(objects.dataClaimName !== undefined),
            template: { metadata: { labels: placement.labels }, spec: registryPodSpec(settings, objects) },
        },
    };
}

/** The Service daemons reach the registry by, named as `registryHost` says. */
export function registryServiceArgs(settings: SelfHostedRegistrySettings, placement: RegistryPlacement, serviceName: string): k8s.core.v1.ServiceArgs {
    return {
        metadata: {
            ...placement,
            name: serviceName,
            // Without a load-balancer controller the address never comes, and up would wait 10 minutes for it.
            annotations: settings.serviceType === "LoadBalancer" && !settings.awaitLoadBalancer ? { "pulumi.com/skipAwait": "true" } : undefined,
        },
        spec: {
            type: settings.serviceType,
            selector: placement.labels,
            ports: [{ name: "https", port: REGISTRY_PORT, targetPort: "https", protocol: "TCP" }],
        },
    };
}
