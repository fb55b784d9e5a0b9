import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { RegistryWiring, mirrorUrlFor } from "./daemon";
import { createKeptClaim, createPodSecurityNamespace, deploymentStrategy, keptClaimName, readWriteOnceClaimSpec } from "./keptObjects";
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
    RegistryStorage,
    RegistryStorageArgs,
    SECRET_KEYS,
    UPSTREAM_CA_FILE,
    createRegistryCredentials,
    checkBroughtCertificateNames,
    registryCertificates,
    registryEnvironment,
    registrySecretEnvironment,
    registrySecretValues,
    serviceDnsNames,
    validateRegistryArgs,
    validateStorage,
} from "./registrySettings";
import { ContainerResources, InvalidArgumentError, booleanValue, containerResources, kubernetesName, oneOf, optional } from "./validation";

export type RegistryServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";
export const REGISTRY_SERVICE_TYPES: readonly RegistryServiceType[] = ["ClusterIP", "NodePort", "LoadBalancer"];

export interface SelfHostedRegistryArgs extends RegistryArgs {
    /** An existing namespace to deploy into. Default: a namespace named after the component, enforcing Pod Security `restricted`. */
    namespace?: string;
    /** The Service's name, the first label of `registryHost`. Default: the component's name. */
    serviceName?: string;
    /** `ClusterIP`; `NodePort` or `LoadBalancer` to reach it from outside the cluster (add those names to `hostnames`/`ipAddresses`). Default `ClusterIP`. */
    serviceType?: RegistryServiceType;
    /** Make `pulumi up` wait (up to 10 minutes) until a LoadBalancer Service has an external address; daemons in the cluster never need one. Default false. */
    awaitLoadBalancer?: boolean;
    /** Where images are kept. Default: an emptyDir limited to 20Gi for a mirror, a retained 20Gi claim for a private registry. */
    storage?: RegistryStorageArgs;
    /** Resources of the registry container. Default requests 100m/128Mi, memory limit 512Mi. */
    resources?: ContainerResources;
}

/** SelfHostedRegistryArgs with defaults applied and every value checked. */
export interface SelfHostedRegistrySettings extends RegistrySettings {
    namespace?: string;
    serviceName?: string;
    serviceType: RegistryServiceType;
    awaitLoadBalancer: boolean;
    storage: RegistryStorage;
    resources: ContainerResources;
}

const DEFAULTS = {
    serviceType: "ClusterIP" as RegistryServiceType,
    awaitLoadBalancer: false,
    // No CPU limit: throttling a registry serving a burst of pulls only makes every client slower.
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
};

/** The UID and GID the twuni/docker-registry chart runs the registry as; fsGroup makes the volumes theirs. */
const REGISTRY_UID = 1000;

const VOLUME = { tls: "tls", auth: "auth", data: "data", upstreamCa: "upstream-ca" } as const;

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateSelfHostedRegistryArgs(args: SelfHostedRegistryArgs, prefix = "args."): SelfHostedRegistrySettings {
    const registry = validateRegistryArgs(args, prefix);
    const namespace = optional(args.namespace, `${prefix}namespace`, kubernetesName);
    const serviceType = oneOf(args.serviceType ?? DEFAULTS.serviceType, REGISTRY_SERVICE_TYPES, `${prefix}serviceType`);
    const awaitLoadBalancer = booleanValue(args.awaitLoadBalancer ?? DEFAULTS.awaitLoadBalancer, `${prefix}awaitLoadBalancer`);
    if (awaitLoadBalancer && serviceType !== "LoadBalancer") {
        throw new InvalidArgumentError(`${prefix}awaitLoadBalancer`, awaitLoadBalancer, "false unless serviceType is LoadBalancer");
    }
    const storage = validateStorage(args.storage, registry.mode, `${prefix}storage`);
    if (namespace === undefined && storage.kind === "existingClaim") {
        throw new InvalidArgumentError(`${prefix}namespace`, namespace, "the namespace of storage.existingClaim (a new namespace holds no claims yet)");
    }
    if (serviceType !== "ClusterIP") {
        // Outside the cluster, an open registry is anyone's: a mirror lends them the upstream account, a private one takes their pushes.
        if (registry.upstreamCredentials !== undefined) {
            throw new InvalidArgumentError(`${prefix}serviceType`, serviceType, "ClusterIP for a mirror that logs in upstream (its cache serves anyone without credentials)");
        }
        if (registry.mode === "private" && registry.users.length === 0) {
            throw new InvalidArgumentError(`${prefix}serviceType`, serviceType, "ClusterIP for a private registry without users (anyone could push)");
        }
    }
    return {
        ...registry,
        namespace,
        serviceName: optional(args.serviceName, `${prefix}serviceName`, kubernetesName),
        serviceType,
        awaitLoadBalancer,
        storage,
        resources: containerResources(args.resources, `${prefix}resources`, DEFAULTS.resources),
    };
}

/**
 * The distribution registry in a Kubernetes cluster, served over TLS from a
 * certificate its own (or the user's) CA signs for every name of its Service:
 * a pull-through mirror for dind daemons in the cluster, or a private registry
 * they push to. Pass it as `registry` to DindDeployment to trust and use it.
 */
export class SelfHostedRegistry extends pulumi.ComponentResource implements RegistryWiring {
    /** The registry as daemons write it: `service.namespace.svc:5000`, known before deployment. */
    public readonly registryHost: string;
    /** `mirror` or `private`. */
    public readonly mode: RegistryMode;
    /** registryHost, as an output that resolves once the registry is available. */
    public readonly host: pulumi.Output<string>;
    /** `https://registryHost` for `--registry-mirror` (once available); undefined for a private registry. */
    public readonly mirrorUrl: pulumi.Output<string | undefined>;
    /** The CA that signed the registry's certificate (public; once available): clients put it in certs.d/<registryHost>/ca.crt. */
    public readonly caCertPem: pulumi.Output<string>;
    /** The ConfigMap holding caCertPem under `ca.crt`, in the registry's namespace. */
    public readonly caConfigMapName: pulumi.Output<string>;
    /** The Service's name. */
    public readonly serviceName: pulumi.Output<string>;
    /** The namespace the registry runs in. */
    public readonly namespace: pulumi.Output<string>;
    /** The claim holding the images when they are on one; reuse it through `storage.existingClaim` after a destroy or rename. */
    public readonly claimName: pulumi.Output<string | undefined>;
    /** Each user's password (given or generated) by user name, a secret: for `docker login`. */
    public readonly userPasswords: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: SelfHostedRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateSelfHostedRegistryArgs(args);
        const serviceName = settings.serviceName ?? kubernetesName(name, "name (it names the Service when args.serviceName is not given)");
        const namespaceName = settings.namespace ?? kubernetesName(name, "name (it names the namespace created when args.namespace is not given)");
        const claimName = settings.storage.kind === "claim" && settings.mode === "private" ? keptClaimName(name, "data") : undefined;
        const serverNames = { commonName: `${serviceName}.${namespaceName}.svc`, dnsNames: serviceDnsNames(serviceName, namespaceName), ipAddresses: [] };
        checkBroughtCertificateNames(settings, serverNames, "args.");
        super("dind:index:SelfHostedRegistry", name, {}, opts);
        const child = { parent: this };

        // A private registry's claim is retained, and so must be the namespace holding it.
        const namespace =
            settings.namespace !== undefined
                ? pulumi.output(settings.namespace)
                : createPodSecurityNamespace(`${name}-namespace`, namespaceName, "restricted", claimName !== undefined, child);
        const labels = { "app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": serviceName, "app.kubernetes.io/managed-by": "pulumi" };
        const metadata = { namespace, labels };

        const { ca, server } = registryCertificates(name, settings, serverNames, child);
        // Auto-named, so a renewed certificate or a changed password is a new object and the pod rolls onto it.
        const tlsSecret = new k8s.core.v1.Secret(
            `${name}-tls`,
            {
                metadata,
                type: "kubernetes.io/tls",
                stringData: { [REGISTRY_TLS_FILES.cert]: server.certPem, [REGISTRY_TLS_FILES.key]: server.privateKeyPem },
            },
            child,
        );
        const caConfigMap = new k8s.core.v1.ConfigMap(`${name}-ca`, { metadata, data: { "ca.crt": ca.certPem } }, child);

        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 32, special: false }, child);
        const credentials = createRegistryCredentials(name, settings.users, child);
        const authenticated = settings.users.length > 0;
        const settingsSecret = new k8s.core.v1.Secret(
            `${name}-settings`,
            {
                metadata,
                type: "Opaque",
                stringData: pulumi.secret({
                    ...registrySecretValues(settings, httpSecret.result),
                    ...(authenticated ? { [SECRET_KEYS.htpasswd]: credentials.htpasswd } : {}),
                }),
            },
            child,
        );

        const data = this.dataVolume(name, claimName, metadata, settings, child);
        const volumes: k8s.types.input.core.v1.Volume[] = [
            { name: VOLUME.tls, secret: { secretName: tlsSecret.metadata.name, defaultMode: 0o440 } },
            data.volume,
        ];
        const mounts: k8s.types.input.core.v1.VolumeMount[] = [
            { name: VOLUME.tls, mountPath: REGISTRY_TLS_DIR, readOnly: true },
            { name: VOLUME.data, mountPath: REGISTRY_DATA_DIR },
        ];
        if (authenticated) {
            volumes.push({
                name: VOLUME.auth,
                secret: { secretName: settingsSecret.metadata.name, items: [{ key: SECRET_KEYS.htpasswd, path: HTPASSWD_FILE }], defaultMode: 0o440 },
            });
            mounts.push({ name: VOLUME.auth, mountPath: REGISTRY_AUTH_DIR, readOnly: true });
        }
        if (settings.upstreamCaCertPem !== undefined) {
            // Public, so a ConfigMap; auto-named, so a new CA is a new object and the pod rolls onto it.
            const upstreamCa = new k8s.core.v1.ConfigMap(`${name}-upstream-ca`, { metadata, data: { [UPSTREAM_CA_FILE]: settings.upstreamCaCertPem } }, child);
            volumes.push({ name: VOLUME.upstreamCa, configMap: { name: upstreamCa.metadata.name } });
            mounts.push({ name: VOLUME.upstreamCa, mountPath: REGISTRY_UPSTREAM_CA_DIR, readOnly: true });
        }

        const env: k8s.types.input.core.v1.EnvVar[] = [
            ...Object.entries(registryEnvironment(settings)).map(([envName, value]) => ({ name: envName, value })),
            ...Object.entries(registrySecretEnvironment(settings)).map(([envName, key]) => ({
                name: envName,
                valueFrom: { secretKeyRef: { name: settingsSecret.metadata.name, key } },
            })),
        ];
        const probe = { httpGet: { path: "/", port: REGISTRY_PORT, scheme: "HTTPS" }, periodSeconds: 10, timeoutSeconds: 3 };
        const registry: k8s.types.input.core.v1.Container = {
            name: "registry",
            image: settings.image,
            ports: [{ name: "https", containerPort: REGISTRY_PORT, protocol: "TCP" }],
            env,
            // `/` answers 200 while the storage health check passes, and needs no credentials (`/v2/` would be 401).
            readinessProbe: { ...probe, failureThreshold: 3 },
            livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
            securityContext: {
                runAsUser: REGISTRY_UID,
                runAsGroup: REGISTRY_UID,
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            },
            volumeMounts: mounts,
            resources: settings.resources,
        };
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata,
                spec: {
                    // One writer: distribution's filesystem driver does not coordinate between instances.
                    replicas: 1,
                    selector: { matchLabels: labels },
                    strategy: deploymentStrategy(data.claimName !== undefined),
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            // Service links would inject REGISTRY_PORT=tcp://... and similar, which distribution reads as configuration.
                            enableServiceLinks: false,
                            securityContext: {
                                runAsUser: REGISTRY_UID,
                                runAsGroup: REGISTRY_UID,
                                fsGroup: REGISTRY_UID,
                                runAsNonRoot: true,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [registry],
                            volumes,
                        },
                    },
                },
            },
            child,
        );
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: {
                    ...metadata,
                    name: serviceName,
                    // Without a load-balancer controller the address never comes, and up would wait 10 minutes for it.
                    annotations: settings.serviceType === "LoadBalancer" && !settings.awaitLoadBalancer ? { "pulumi.com/skipAwait": "true" } : undefined,
                },
                spec: {
                    type: settings.serviceType,
                    selector: labels,
                    ports: [{ name: "https", port: REGISTRY_PORT, targetPort: "https", protocol: "TCP" }],
                },
            },
            child,
        );
        // These resolve once the registry answers (the Deployment waits for Available), so a daemon wired to it starts
        // only then: dockerd silently skips a mirror that is not up yet and pulls from upstream instead.
        const ready = <T>(value: pulumi.Input<T>) => pulumi.all([value, deployment.metadata.name, service.metadata.name]).apply(([v]) => v as T);

        this.registryHost = `${serviceName}.${namespaceName}.svc:${REGISTRY_PORT}`;
        this.mode = settings.mode;
        this.host = ready(this.registryHost);
        this.mirrorUrl = ready(settings.mode === "mirror" ? mirrorUrlFor(this.registryHost) : undefined);
        this.caCertPem = ready(ca.certPem);
        this.caConfigMapName = caConfigMap.metadata.name;
        this.serviceName = service.metadata.name;
        this.namespace = namespace;
        this.claimName = pulumi.output(data.claimName);
        this.userPasswords = credentials.passwords;
        this.registerOutputs({
            host: this.host,
            mirrorUrl: this.mirrorUrl,
            caCertPem: this.caCertPem,
            caConfigMapName: this.caConfigMapName,
            serviceName: this.serviceName,
            namespace: this.namespace,
            claimName: this.claimName,
            userPasswords: this.userPasswords,
        });
    }

    /**
     * Where the images live. A private registry's claim, `keptClaimName`, is kept:
     * pushed images are the only copy, so they outlive `pulumi destroy` and the
     * next `up` finds them (after a rename, reattach them with
     * `storage.existingClaim`). A mirror's claim is only a cache and goes with
     * the registry.
     */
    private dataVolume(
        name: string,
        keptClaimName: string | undefined,
        metadata: { namespace: pulumi.Input<string>; labels: Record<string, string> },
        settings: SelfHostedRegistrySettings,
        opts: pulumi.CustomResourceOptions,
    ): { volume: k8s.types.input.core.v1.Volume; claimName?: pulumi.Output<string> } {
        const storage = settings.storage;
        if (storage.kind === "emptyDir") {
            return { volume: { name: VOLUME.data, emptyDir: { sizeLimit: storage.size } } };
        }
        const claim =
            storage.kind === "existingClaim"
                ? pulumi.output(storage.claimName)
                : keptClaimName !== undefined
                  ? createKeptClaim(`${name}-data`, { name: keptClaimName, ...metadata, size: storage.size, storageClass: storage.storageClass }, opts)
                  : new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, { metadata, spec: readWriteOnceClaimSpec(storage.size, storage.storageClass) }, opts).metadata.name;
        return { volume: { name: VOLUME.data, persistentVolumeClaim: { claimName: claim } }, claimName: claim };
    }
}
