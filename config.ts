/**
 * The program's stack configuration: every key under the `dind` namespace of
 * Pulumi.<stack>.yaml, parsed and checked in one place before any resource is
 * registered, with errors that name the key to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { DaemonArgs, RegistryWiring, mirrorUrlFor } from "./components/daemon";
import { DaemonConfigArgs } from "./components/daemonConfig";
import { DindDeploymentArgs, DindDeploymentSettings, validateDindDeploymentArgs, validateDindDeploymentName } from "./components/dindDeployment";
import { LOOPBACK, hostDockerSockets, stackVolumeName } from "./components/dockerHost";
import { LocalDindArgs, LocalDindClient, validateLocalDindArgs } from "./components/localDind";
import { LOCAL_REGISTRY_ARG_KEYS, LocalRegistryArgs, localRegistryServerNames, validateLocalRegistryArgs } from "./components/localRegistry";
import { REGISTRY_PORT, checkBroughtCertificateNames } from "./components/registrySettings";
import { SELF_HOSTED_REGISTRY_ARG_KEYS, SelfHostedRegistryArgs, selfHostedRegistryNames, validateSelfHostedRegistryArgs } from "./components/selfHostedRegistry";
import { InvalidArgumentError, UNSAFE_KEYS, booleanValue, knownKeys, nonEmptyString, oneOf, redacted } from "./components/validation";

export type Target = "kubernetes" | "docker";
const TARGETS: readonly Target[] = ["kubernetes", "docker"];
const NAMESPACE = "dind";

/**
 * How the engine's string for a key becomes its value: a `string` key keeps it as
 * written (`dind:namespace: "123"` is the name "123"), a `json` key is parsed (a
 * number, boolean, list or object), or kept as a string when it is not JSON, so
 * the error shows what was written.
 */
type Parse = "string" | "json";

export interface KubernetesProgram {
    target: "kubernetes";
    /** The names the program gives the components it declares. */
    names: ProgramNames;
    dind: DindDeploymentArgs;
    registry?: SelfHostedRegistryArgs;
    /** Write the manifests to this directory instead of applying them (the kubernetes provider's render mode). */
    renderYamlToDirectory?: string;
}

export interface DockerProgram {
    target: "docker";
    /** The names the program gives the components it declares. */
    names: ProgramNames;
    dind: LocalDindArgs;
    registry?: LocalRegistryArgs;
    /** The Docker engine to deploy to, a secret when the stack holds it as one; default DOCKER_HOST or the local socket. */
    dockerHost?: pulumi.Input<string>;
}

export type ProgramConfig = KubernetesProgram | DockerProgram;

/** The keys of the program's own, beside the components' arguments. */
type ProgramKey<P> = Exclude<keyof P, "names" | "dind" | "registry"> | "selfHostedRegistry";

/** DindDeploymentArgs as `dind:*` keys; `registry` is the one deployed from dind:selfHostedRegistry. */
type KubernetesKey = Exclude<keyof DindDeploymentArgs, "registry"> | ProgramKey<KubernetesProgram>;
/**
 * LocalDindArgs as `dind:*` keys: the client's arguments are top-level keys (`dind:script`), and the
 * daemon joins the network of the registry deployed from dind:selfHostedRegistry, or a network of its own.
 */
type DockerKey = Exclude<keyof LocalDindArgs, "registry" | "client" | "networkName"> | keyof LocalDindClient | ProgramKey<DockerProgram>;

const DAEMON_KEYS = {
    registryMirrors: "json",
    registries: "json",
    mtu: "json",
    extraDockerdArgs: "json",
} as const satisfies Record<keyof DaemonArgs, Parse>;

const DAEMON_CONFIG_KEYS = {
    daemonConfig: "json",
    iptablesLegacy: "json",
    containerdSnapshotter: "json",
} as const satisfies Record<keyof DaemonConfigArgs, Parse>;

/** Every key each target reads, and how its value is parsed; a key of the other target is a mistake worth reporting. */
const KEYS: { [T in Target]: Record<T extends "kubernetes" ? KubernetesKey : DockerKey, Parse> } = {
    kubernetes: {
        ...DAEMON_KEYS,
        ...DAEMON_CONFIG_KEYS,
        target: "string",
        selfHostedRegistry: "json",
        renderYamlToDirectory: "string",
        transport: "string",
        script: "string",
        dindImage: "string",
        cliImage: "string",
        startupTimeoutSeconds: "json",
        namespace: "string",
        workload: "string",
        replicas: "json",
        nativeSidecar: "json",
        jobTimeoutSeconds: "json",
        runId: "string",
        tlsSecrets: "json",
        dockerStorage: "json",
        output: "json",
        caConfigMapName: "string",
        clientTrustsRegistryCas: "json",
        dindResources: "json",
        clientResources: "json",
        nodeSelector: "json",
        tolerations: "json",
        networkPolicy: "json",
        isolation: "string",
        sysbox: "json",
        prune: "json",
        expose: "json",
    },
    docker: {
        ...DAEMON_KEYS,
        ...DAEMON_CONFIG_KEYS,
        target: "string",
        selfHostedRegistry: "json",
        dockerHost: "string",
        transport: "string",
        script: "string",
        dindImage: "string",
        cliImage: "string",
        startupTimeoutSeconds: "json",
        socketDirectory: "string",
        hostPort: "json",
        keepImageLocally: "json",
        retainDataVolume: "json",
        outputDirectory: "string",
        outputVolume: "string",
    },
};

/** Every `dind:*` key a target reads, without the namespace. */
export function configKeys(target: Target): string[] {
    return Object.keys(KEYS[target]);
}

/**
 * The keys of `dind:selfHostedRegistry` besides `enabled`. On Docker the registry's network is
 * its own, and its MTU is the daemon's (dind:mtu), whose traffic it carries.
 */
const REGISTRY_KEYS: Record<Target, readonly string[]> = {
    kubernetes: SELF_HOSTED_REGISTRY_ARG_KEYS,
    docker: LOCAL_REGISTRY_ARG_KEYS.filter((key) => key !== "networkName" && key !== "mtu"),
};

/**
 * The keys that may be stored as secrets, because the program keeps what is secret in them secret:
 * `pulumi config set --secret --path dind:selfHostedRegistry.users[0].password` encrypts the whole
 * section, whose passwords and keys are passed on as secrets (its other fields are public: they go
 * into certificates, ConfigMaps and the registry's environment); dockerHost only configures the
 * Docker provider, as a secret. Every other value ends up in plain text in a pod spec, a container's
 * command, a ConfigMap, a label or a stack output.
 */
const MAY_BE_SECRET: readonly (KubernetesKey | DockerKey)[] = ["selfHostedRegistry", "dockerHost"];

/** Why a secret value of a key would leak, where a key needs more than the general reason. */
const SECRET_ADVICE: Partial<Record<KubernetesKey | DockerKey, string>> = {
    script: "read secrets in the script from a mounted Secret or the environment instead",
    extraDockerdArgs: "dockerd's flags are part of the pod spec or container command; pass secrets to dockerd through a file instead",
};


function keyName(name: string): string {
    return `${NAMESPACE}:${name}`;
}

const REGISTRY_PREFIX = `${keyName("selfHostedRegistry")}.`;
/** The purpose in the name of LocalDind's data volume, `stackVolumeName(name, purpose)`. */
const DAEMON_VOLUME_PURPOSE = "docker";
/** The registry's CA exists only once it is deployed; the checks of a daemon wired to it need only know there is one. */
const STAND_IN_CA = pulumi.output("");

/** The names the program gives the components it declares. */
export interface ProgramNames {
    /**
     * `<project>-<stack>`, the daemon's component and the namespace a DindDeployment creates, so one
     * stack's daemon is easy to find with kubectl; short enough that `<name>-registry` is still a valid Kubernetes name.
     */
    daemon: string;
    /** The registry's component: also its Service, namespace or network alias unless the section names them. */
    registry: string;
}

export function programNames(project = pulumi.getProject(), stack = pulumi.getStack()): ProgramNames {
    const daemon = `${project}-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .slice(0, 54)
        .replace(/^-+|-+$/g, "");
    return { daemon, registry: `${daemon}-registry` };
}

/** Whether the stack holds a key encrypted; the SDK has the function at run time but does not declare it. */
const isConfigSecret: (key: string) => boolean = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/** `dind:*` values as the engine hands them over: strings, with JSON for numbers, booleans, lists and objects. */
function readNamespace(all: Record<string, string>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(all)) {
        if (!key.startsWith(`${NAMESPACE}:`)) {
            continue;
        }
        const name = key.slice(NAMESPACE.length + 1);
        if (UNSAFE_KEYS.includes(name)) {
            throw unsafeKey(key);
        }
        values[name] = parseOf(name) === "string" ? raw : parseJson(raw);
        refuseUnsafeKeys(values[name], key);
    }
    return values;
}

/** How a key's value is parsed; an unknown key's only to be reported. */
function parseOf(name: string): Parse {
    const table = TARGETS.map((target): Record<string, Parse> => KEYS[target]).find((keys) => Object.hasOwn(keys, name));
    return table?.[name] ?? "json";
}

function parseJson(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

function unsafeKey(argument: string): InvalidArgumentError {
    return new InvalidArgumentError(argument, "a value", "no key named __proto__, constructor or prototype (it would reach an object's prototype)");
}

/** JSON.parse makes `__proto__` an own key, which an assignment such as Object.assign makes the prototype of the object copied to. */
function refuseUnsafeKeys(value: unknown, argument: string): void {
    if (Array.isArray(value)) {
        value.forEach((element, index) => refuseUnsafeKeys(element, `${argument}[${index}]`));
    } else if (typeof value === "object" && value !== null) {
        for (const [key, element] of Object.entries(value)) {
            if (UNSAFE_KEYS.includes(key)) {
                throw unsafeKey(`${argument}.${key}`);
            }
            refuseUnsafeKeys(element, `${argument}.${key}`);
        }
    }
}

/**
 * Reads and checks the stack's `dind:*` configuration, the daemon and the registry
 * together. `all` defaults to the running stack's configuration and `isSecret` to
 * whether the stack holds a key encrypted; tests pass their own.
 */
export function loadProgramConfig(
    all: Record<string, string> = pulumi.runtime.allConfig(),
    isSecret: (key: string) => boolean = isConfigSecret,
    names: ProgramNames = programNames(),
): ProgramConfig {
    const values = readNamespace(all);
    for (const name of Object.keys(values)) {
        const known = TARGETS.some((target) => configKeys(target).includes(name));
        if (known && isSecret(keyName(name)) && !MAY_BE_SECRET.includes(name as KubernetesKey)) {
            const advice = SECRET_ADVICE[name as KubernetesKey] ?? "it ends up in plain text in a pod spec, a container's command, a ConfigMap, a label or a stack output";
            throw new InvalidArgumentError(keyName(name), "[secret]", `a plain value: ${advice}`);
        }
    }
    const target = oneOf(values.target ?? "docker", TARGETS, keyName("target"));
    const known = configKeys(target);
    for (const name of Object.keys(values)) {
        if (!known.includes(name)) {
            const otherTarget = TARGETS.find((t) => t !== target && configKeys(t).includes(name));
            throw new InvalidArgumentError(
                keyName(name),
                "a value",
                otherTarget
                    ? `no value with target ${target} (it is read with target ${otherTarget})`
                    : `no such key: the keys are ${[...known].sort().map(keyName).join(", ")}`,
            );
        }
    }
    return withoutSecretsInErrors(isSecret, () => (target === "kubernetes" ? kubernetesProgram(values, names) : dockerProgram(values, names, isSecret)));
}

function kubernetesProgram(values: Record<string, unknown>, names: ProgramNames): KubernetesProgram {
    const { selfHostedRegistry, target: _target, renderYamlToDirectory, ...daemonValues } = values;
    const dind = daemonValues as DindDeploymentArgs;
    const registry = registrySection(selfHostedRegistry, "kubernetes") as SelfHostedRegistryArgs | undefined;
    // With a registry, the daemon's args are checked once, with the registry wired in as it will be.
    const daemon = registry ? checkSelfHostedRegistry(registry, dind, names) : validateDindDeploymentArgs(dind, `${NAMESPACE}:`);
    validateDindDeploymentName(names.daemon, daemon);
    return {
        target: "kubernetes",
        names,
        dind,
        registry: registry && secretRegistryFields(registry),
        renderYamlToDirectory: renderYamlToDirectory === undefined ? undefined : nonEmptyString(renderYamlToDirectory, keyName("renderYamlToDirectory")),
    };
}

function dockerProgram(values: Record<string, unknown>, names: ProgramNames, isSecret: (key: string) => boolean): DockerProgram {
    const { selfHostedRegistry, target: _target, dockerHost, script, outputDirectory, outputVolume, ...daemonValues } = values;
    for (const [name, value] of Object.entries({ outputDirectory, outputVolume })) {
        if (script === undefined && value !== undefined) {
            throw new InvalidArgumentError(keyName(name), value, `to be set only with ${keyName("script")} (it receives the script's files)`);
        }
    }
    const dind = {
        ...daemonValues,
        client: script === undefined ? undefined : ({ script, outputDirectory, outputVolume } as LocalDindClient),
    } as LocalDindArgs;
    // Host paths must keep clear of the socket of the engine deployed to, as well as the local one.
    const hostSockets = hostDockerSockets([typeof dockerHost === "string" ? dockerHost : undefined, process.env.DOCKER_HOST]);
    const section = registrySection(selfHostedRegistry, "docker");
    // The registry's network carries the daemon's pulls, so it takes the daemon's MTU.
    const registry = section && ({ ...section, mtu: dind.mtu } as LocalRegistryArgs);
    if (registry) {
        checkLocalRegistry(registry, dind, outputVolume, names, hostSockets);
    } else {
        validateLocalDindArgs(dind, `${NAMESPACE}:`, hostSockets);
    }
    return {
        target: "docker",
        names,
        dind,
        registry: registry && secretRegistryFields(registry),
        dockerHost: dockerHost === undefined ? undefined : secretIf(isSecret(keyName("dockerHost")), nonEmptyString(dockerHost, keyName("dockerHost"))),
    };
}

/** The registry's own checks that need its names, and its clashes with the daemon beside it. */
function checkSelfHostedRegistry(registry: SelfHostedRegistryArgs, dind: DindDeploymentArgs, names: ProgramNames): DindDeploymentSettings {
    const daemonNamespace = dind.namespace;
    const settings = validateSelfHostedRegistryArgs(registry, REGISTRY_PREFIX);
    const own = selfHostedRegistryNames(names.registry, settings);
    checkBroughtCertificateNames(settings, own.serverNames, REGISTRY_PREFIX);
    if (daemonNamespace === undefined && settings.namespace === names.daemon) {
        throw new InvalidArgumentError(
            `${REGISTRY_PREFIX}namespace`,
            settings.namespace,
            `a namespace other than the one the daemon creates, privileged, and which the registry would be deployed into before it exists (set ${keyName("namespace")} to share an existing one)`,
        );
    }
    if (settings.namespace === undefined && daemonNamespace === names.registry) {
        throw new InvalidArgumentError(
            keyName("namespace"),
            daemonNamespace,
            `a namespace other than the one the registry creates, whose Pod Security level (restricted) refuses dind's privileged pods`,
        );
    }
    return checkDaemonWithRegistry(dind, { registryHost: own.registryHost, mode: settings.mode, caCertPem: STAND_IN_CA }, (args) =>
        validateDindDeploymentArgs(args, `${NAMESPACE}:`),
    );
}

/** The registry's own checks that need its names, and its clashes with the daemon beside it on one Docker host. */
function checkLocalRegistry(
    registry: LocalRegistryArgs,
    dind: LocalDindArgs,
    outputVolume: unknown,
    names: ProgramNames,
    hostSockets: string[],
): void {
    const settings = validateLocalRegistryArgs(registry, REGISTRY_PREFIX);
    const alias = settings.alias ?? names.registry;
    const daemonAccess = checkDaemonWithRegistry(
        dind,
        { registryHost: `${alias}:${REGISTRY_PORT}`, mode: settings.mode, caCertPem: STAND_IN_CA, networkName: pulumi.output(alias) },
        (args) => validateLocalDindArgs(args, `${NAMESPACE}:`, hostSockets),
    ).access;
    const published = settings.port !== undefined;
    checkBroughtCertificateNames(settings, localRegistryServerNames(alias, published), REGISTRY_PREFIX);
    if (alias === names.daemon || alias === "localhost") {
        // The daemon is `names.daemon` on the registry's network, and to itself localhost.
        throw new InvalidArgumentError(`${REGISTRY_PREFIX}alias`, alias, `a name other than "${names.daemon}" and "localhost", by which the daemon would reach itself instead of the registry`);
    }
    if (published && daemonAccess.transport === "tls" && settings.port === daemonAccess.hostPort) {
        throw new InvalidArgumentError(
            `${REGISTRY_PREFIX}port`,
            settings.port,
            `a port other than the daemon's ${keyName("hostPort")} (${daemonAccess.hostPort}): both are published on ${LOOPBACK}`,
        );
    }
    const daemonVolumes = [stackVolumeName(names.daemon, DAEMON_VOLUME_PURPOSE), outputVolume];
    if (settings.volumeName !== undefined && daemonVolumes.includes(settings.volumeName)) {
        throw new InvalidArgumentError(
            `${REGISTRY_PREFIX}volumeName`,
            settings.volumeName,
            `a volume other than the daemon's data volume and ${keyName("outputVolume")}: the registry would write into theirs`,
        );
    }
}

function secretIf(secret: boolean, value: string): pulumi.Input<string> {
    return secret ? pulumi.secret(value) : value;
}

/**
 * The checks a daemon component makes of its args and the registry wired to it, run
 * before anything is registered with a stand-in for the registry, so their errors
 * name config keys; and what the component would otherwise quietly drop: a trusted
 * registry or a mirror that is the self-hosted registry itself.
 */
function checkDaemonWithRegistry<A extends DaemonArgs, S>(args: A, registry: RegistryWiring, validate: (args: A & { registry: RegistryWiring }) => S): S {
    const trustedIndex = (args.registries ?? []).findIndex((trusted) => trusted.host.toLowerCase() === registry.registryHost);
    if (trustedIndex !== -1) {
        throw new InvalidArgumentError(
            `${keyName("registries")}[${trustedIndex}].host`,
            registry.registryHost,
            `a host other than the self-hosted registry's (${keyName("selfHostedRegistry")} is trusted already, with its own CA)`,
        );
    }
    const mirror = mirrorUrlFor(registry.registryHost);
    const mirrorIndex = registry.mode === "mirror" ? (args.registryMirrors ?? []).findIndex((url) => url.replace(/\/$/, "").toLowerCase() === mirror) : -1;
    if (mirrorIndex !== -1) {
        throw new InvalidArgumentError(`${keyName("registryMirrors")}[${mirrorIndex}]`, mirror, `a mirror other than the self-hosted registry, which is the first mirror already`);
    }
    return validate({ ...args, registry });
}

/**
 * Runs the checks with every error named by its config key (the client's args are
 * top-level keys), and with nothing of a key the stack holds as a secret in it:
 * the error says what is wrong with the value, not what it is.
 */
function withoutSecretsInErrors<T>(isSecret: (key: string) => boolean, check: () => T): T {
    try {
        return check();
    } catch (error) {
        if (!(error instanceof InvalidArgumentError)) {
            throw error;
        }
        const argument = error.argument.replace(/^dind:client\./, `${NAMESPACE}:`);
        const key = /^[^.[]+/.exec(argument)![0];
        const given = isSecret(key) && error.given !== undefined ? secretDescription(error.given) : error.given;
        throw argument === error.argument && given === error.given ? error : new InvalidArgumentError(argument, given, error.expected);
    }
}

function secretDescription(value: unknown): string {
    if (typeof value === "string") {
        return redacted(value);
    }
    return `a secret ${Array.isArray(value) ? "list" : value === null ? "null" : typeof value}`;
}

/** Values that must never be stored in plain text in state, wrapped as secrets after they were checked. */
function secretRegistryFields<
    T extends { users?: { password?: unknown }[]; upstreamUsername?: unknown; upstreamPassword?: unknown; caKeyPem?: unknown; tlsKeyPem?: unknown },
>(
    registry: T,
): T {
    const secret = (value: unknown) => (value === undefined ? undefined : pulumi.secret(value as string));
    return {
        ...registry,
        users: registry.users?.map((user) => ({ ...user, password: secret(user.password) })),
        upstreamUsername: secret(registry.upstreamUsername),
        upstreamPassword: secret(registry.upstreamPassword),
        caKeyPem: secret(registry.caKeyPem),
        tlsKeyPem: secret(registry.tlsKeyPem),
    };
}

/** `selfHostedRegistry: { enabled: true, ...args }`; `enabled: false` (or absent) keeps the section for later. */
function registrySection(value: unknown, target: Target): Record<string, unknown> | undefined {
    if (value === undefined) {
        return undefined;
    }
    const key = keyName("selfHostedRegistry");
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(key, value, "an object such as { enabled: true, mode: mirror }");
    }
    const { enabled, ...args } = knownKeys(value as Record<string, unknown>, ["enabled", ...REGISTRY_KEYS[target]], key);
    return booleanValue(enabled ?? false, `${key}.enabled`) ? args : undefined;
}
