import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { componentType, withFormerType } from "./typeTokens";
import { RegistryWiring, mirrorUrlFor } from "./daemon";
import { ClaimSource, claimFor, createPodSecurityNamespace, keptClaimName } from "./keptObjects";
import { autonamePrefix, serviceName as validServiceName } from "./kubernetesNames";
import { componentLabels, onceReady } from "./kubernetesPod";
import { RegistryPodObjects, registryDeploymentArgs, registryServiceArgs } from "./kubernetesRegistryPod";
import {
    REGISTRY_PORT,
    REGISTRY_TLS_FILES,
    RegistryArgs,
    RegistryMode,
    RegistrySettings,
    RegistryDataVolume,
    RegistryStorage,
    SECRET_KEYS,
    ServerNames,
    UPSTREAM_CA_FILE,
    checkBroughtCertificateNames,
    createRegistryCredentials,
    registryCertificates,
    registrySecretValues,
    serviceDnsNames,
    validateRegistryArgs,
    validateStorage,
    REGISTRY_ARG_FIELDS,
} from "./registrySettings";
import { ContainerResources, InvalidArgumentError, argumentKeys, booleanValue, containerResources, knownArgs, kubernetesName, oneOf, optional } from "./validation";

/** How the registry's Service is reached. */
export const RegistryServiceType = {
    /** From inside the cluster only. */
    ClusterIP: "ClusterIP",
    /** Also on a port of every node. */
    NodePort: "NodePort",
    /** Also through the cloud's load balancer. */
    LoadBalancer: "LoadBalancer",
} as const;
export type RegistryServiceType = (typeof RegistryServiceType)[keyof typeof RegistryServiceType];
export const REGISTRY_SERVICE_TYPES: readonly RegistryServiceType[] = Object.values(RegistryServiceType);

export interface SelfHostedRegistryArgs extends RegistryArgs {
    /** An existing namespace to deploy into. Default: a namespace named after the component, enforcing Pod Security `restricted`. */
    namespace?: string;
    /** The Service's name, the first label of `registryHost` (RFC 1035: starts with a letter). Default: the component's name. */
    serviceName?: string;
    /** `ClusterIP`; `NodePort` or `LoadBalancer` to reach it from outside the cluster (add those names to `hostnames`/`ipAddresses`). Default `ClusterIP`. */
    serviceType?: RegistryServiceType;
    /** Make `pulumi up` wait (up to 10 minutes) until a LoadBalancer Service has an external address; daemons in the cluster never need one. Default false. */
    awaitLoadBalancer?: boolean;
    /** Where images are kept. Default: an emptyDir limited to 20Gi for a mirror, a retained 20Gi claim for a private registry. */
    storage?: RegistryStorage;
    /** Resources of the registry container. Default requests 100m/128Mi, memory limit 512Mi. */
    resources?: ContainerResources;
}

/** SelfHostedRegistryArgs with defaults applied and every value checked. */
export interface SelfHostedRegistrySettings extends RegistrySettings {
    namespace?: string;
    serviceName?: string;
    serviceType: RegistryServiceType;
    awaitLoadBalancer: boolean;
    storage: RegistryDataVolume;
    resources: ContainerResources;
}

const DEFAULTS = {
    serviceType: "ClusterIP" as RegistryServiceType,
    awaitLoadBalancer: false,
    // No CPU limit: throttling a registry serving a burst of pulls only makes every client slower.
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
};

/** Every argument, so a misspelt one is refused; the compiler keeps the list and the interface the same. */
export const SELF_HOSTED_REGISTRY_ARG_KEYS = argumentKeys<SelfHostedRegistryArgs>({
    ...REGISTRY_ARG_FIELDS,
    namespace: true,
    serviceName: true,
    serviceType: true,
    awaitLoadBalancer: true,
    storage: true,
    resources: true,
});

/** What the provider names after the component, `<name>-<suffix>-<8 characters>`. */
const AUTONAMED = ["tls", "ca", "settings", "upstream-ca", "data", "deployment"] as const;

/** Checks every argument and applies the defaults; `prefix` names where they came from. */
export function validateSelfHostedRegistryArgs(given: SelfHostedRegistryArgs | undefined, prefix = "args."): SelfHostedRegistrySettings {
    const args = knownArgs(given, SELF_HOSTED_REGISTRY_ARG_KEYS, prefix);
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
        serviceName: optional(args.serviceName, `${prefix}serviceName`, validServiceName),
        serviceType,
        awaitLoadBalancer,
        storage,
        resources: containerResources(args.resources, `${prefix}resources`, DEFAULTS.resources),
    };
}

/** The names the registry takes from its component's name and settings, each checked as the API checks it. */
export interface SelfHostedRegistryNames {
    serviceName: string;
    namespace: string;
    /** `service.namespace.svc:5000`. */
    registryHost: string;
    /** Its certificate's names: every name of the Service. */
    serverNames: ServerNames;
}

/**
 * The Service's and namespace's names (the component's own unless given), and the
 * component's name as the prefix of the objects the provider names after it.
 */
export function selfHostedRegistryNames(name: string, settings: Pick<SelfHostedRegistrySettings, "serviceName" | "namespace">): SelfHostedRegistryNames {
    const service = settings.serviceName ?? validServiceName(name, "name (it names the Service when args.serviceName is not given)");
    const namespace = settings.namespace ?? kubernetesName(name, "name (it names the namespace created when args.namespace is not given)");
    autonamePrefix(name, AUTONAMED, "name (it begins the names of the objects the provider names)");
    return {
        serviceName: service,
        namespace,
        registryHost: `${service}.${namespace}.svc:${REGISTRY_PORT}`,
        serverNames: { commonName: `${service}.${namespace}.svc`, dnsNames: serviceDnsNames(service, namespace), ipAddresses: [] },
    };
}

/**
 * Where the images live. A private registry's claim, `keptClaimName`, is kept:
 * pushed images are the only copy, so they outlive `pulumi destroy` and the
 * next `up` finds them (after a rename, reattach them with
 * `storage.existingClaim`). A mirror's claim is only a cache and goes with
 * the registry.
 */
function dataClaimSource(name: string, storage: RegistryDataVolume, mode: RegistryMode): ClaimSource | undefined {
    switch (storage.kind) {
        case "emptyDir":
            return undefined;
        case "existingClaim":
            return { kind: "existing", claimName: storage.claimName };
        case "claim":
            return mode === "private"
                ? { kind: "kept", claim: { name: keptClaimName(name, "data"), size: storage.size, storageClass: storage.storageClass } }
                : { kind: "owned", size: storage.size, storageClass: storage.storageClass };
    }
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
        const names = selfHostedRegistryNames(name, settings);
        const claim = dataClaimSource(name, settings.storage, settings.mode);
        checkBroughtCertificateNames(settings, names.serverNames, "args.");
        super(componentType("SelfHostedRegistry"), name, {}, withFormerType("SelfHostedRegistry", opts));
        const child = { parent: this };

        // A private registry's claim is retained, and so must be the namespace holding it.
        const namespace =
            settings.namespace !== undefined
                ? pulumi.output(settings.namespace)
                : createPodSecurityNamespace(`${name}-namespace`, names.namespace, "restricted", claim?.kind === "kept", child);
        const placement = { namespace, labels: componentLabels("registry", names.serviceName) };

        const { ca, server } = registryCertificates(name, settings, names.serverNames, child);
        // Auto-named, so a renewed certificate, a new CA or a changed password is a new object and the pod rolls onto it.
        const tlsSecret = new k8s.core.v1.Secret(
            `${name}-tls`,
            { metadata: placement, type: "kubernetes.io/tls", stringData: { [REGISTRY_TLS_FILES.cert]: server.certPem, [REGISTRY_TLS_FILES.key]: server.privateKeyPem } },
            child,
        );
        const caConfigMap = new k8s.core.v1.ConfigMap(`${name}-ca`, { metadata: placement, data: { "ca.crt": ca.certPem } }, child);
        const credentials = createRegistryCredentials(name, settings.users, child);
        const settingsSecret = this.settingsSecret(name, placement, settings, credentials.htpasswd, child);
        const objects: RegistryPodObjects = {
            tlsSecretName: tlsSecret.metadata.name,
            settingsSecretName: settingsSecret.metadata.name,
            dataClaimName: claim && claimFor(`${name}-data`, claim, placement, child),
            upstreamCaConfigMapName:
                settings.upstreamCaCertPem === undefined
                    ? undefined
                    : new k8s.core.v1.ConfigMap(`${name}-upstream-ca`, { metadata: placement, data: { [UPSTREAM_CA_FILE]: settings.upstreamCaCertPem } }, child).metadata.name,
        };
        const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, registryDeploymentArgs(settings, placement, objects), child);
        const service = new k8s.core.v1.Service(`${name}-service`, registryServiceArgs(settings, placement, names.serviceName), child);
        // These resolve once the registry answers (the Deployment waits for Available), so a daemon wired to it starts
        // only then: dockerd silently skips a mirror that is not up yet and pulls from upstream instead.
        const ready = onceReady(deployment, service);

        this.registryHost = names.registryHost;
        this.mode = settings.mode;
        this.host = ready(this.registryHost);
        this.mirrorUrl = ready(settings.mode === "mirror" ? mirrorUrlFor(this.registryHost) : undefined);
        this.caCertPem = ready(ca.certPem);
        this.caConfigMapName = caConfigMap.metadata.name;
        this.serviceName = service.metadata.name;
        this.namespace = namespace;
        this.claimName = pulumi.output(objects.dataClaimName);
        this.userPasswords = credentials.passwords;
        this.registerOutputs({
            registryHost: this.registryHost,
            mode: this.mode,
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

    /** The registry's secret settings (its HTTP secret, upstream credentials, htpasswd file), as one Secret. */
    private settingsSecret(
        name: string,
        placement: { namespace: pulumi.Input<string>; labels: Record<string, string> },
        settings: SelfHostedRegistrySettings,
        htpasswd: pulumi.Output<string>,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.Secret {
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 32, special: false }, opts);
        const values = { ...registrySecretValues(settings, httpSecret.result), ...(settings.users.length > 0 ? { [SECRET_KEYS.htpasswd]: htpasswd } : {}) };
        return new k8s.core.v1.Secret(`${name}-settings`, { metadata: placement, type: "Opaque", stringData: pulumi.secret(values) }, opts);
    }
}
