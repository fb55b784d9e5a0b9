/**
 * The program's stack configuration: every key under the `dind` namespace of
 * Pulumi.<stack>.yaml, parsed and checked in one place before any resource is
 * registered, with errors that name the key to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import { DindDeploymentArgs, validateDindDeploymentArgs } from "./components/dindDeployment";
import { LocalDindArgs, validateLocalDindArgs } from "./components/localDind";
import { LocalRegistryArgs, validateLocalRegistryArgs } from "./components/localRegistry";
import { SelfHostedRegistryArgs, validateSelfHostedRegistryArgs } from "./components/selfHostedRegistry";
import { InvalidArgumentError, booleanValue, knownKeys, nonEmptyString, oneOf } from "./components/validation";

export type Target = "kubernetes" | "docker";
const TARGETS: readonly Target[] = ["kubernetes", "docker"];
const NAMESPACE = "dind";

/** Keys both targets read, passed to the component as they are. */
const SHARED_KEYS = [
    "target",
    "transport",
    "registryMirrors",
    "registries",
    "mtu",
    "extraDockerdArgs",
    "script",
    "dindImage",
    "cliImage",
    "startupTimeoutSeconds",
    "selfHostedRegistry",
];
/** Keys only a target reads; a key of the other target is a mistake worth reporting. */
const TARGET_KEYS: Record<Target, string[]> = {
    kubernetes: [
        "namespace",
        "workload",
        "replicas",
        "nativeSidecar",
        "jobTimeoutSeconds",
        "runId",
        "tlsSecrets",
        "dockerStorage",
        "output",
        "caConfigMapName",
        "clientTrustsRegistryCas",
        "dindResources",
        "clientResources",
        "nodeSelector",
        "tolerations",
        "networkPolicy",
        "renderYamlToDirectory",
    ],
    docker: ["socketDirectory", "hostPort", "keepImageLocally", "retainDataVolume", "outputDirectory", "outputVolume", "dockerHost"],
};

export interface KubernetesProgram {
    target: "kubernetes";
    dind: DindDeploymentArgs;
    registry?: SelfHostedRegistryArgs;
    /** Write the manifests to this directory instead of applying them (the kubernetes provider's render mode). */
    renderYamlToDirectory?: string;
}

export interface DockerProgram {
    target: "docker";
    dind: LocalDindArgs;
    registry?: LocalRegistryArgs;
    /** The Docker engine to deploy to; default DOCKER_HOST or the local socket. */
    dockerHost?: string;
}

export type ProgramConfig = KubernetesProgram | DockerProgram;

/** `dind:*` values as the engine hands them over: strings, with JSON for numbers, booleans, lists and objects. */
function readNamespace(all: Record<string, string>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(all)) {
        if (!key.startsWith(`${NAMESPACE}:`)) {
            continue;
        }
        const name = key.slice(NAMESPACE.length + 1);
        try {
            values[name] = JSON.parse(raw);
        } catch {
            values[name] = raw;
        }
    }
    return values;
}

/** Whether the stack holds a key encrypted; the SDK has the function at run time but does not declare it. */
const isConfigSecret: (key: string) => boolean = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

function keyName(name: string): string {
    return `${NAMESPACE}:${name}`;
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

/** Keys of `dind:selfHostedRegistry` besides `enabled`, per target. */
const REGISTRY_KEYS = ["mode", "upstream", "upstreamUsername", "upstreamPassword", "upstreamCaCertPem", "cacheTtl", "users", "hostnames", "ipAddresses", "caCertPem", "caKeyPem", "tlsCertPem", "tlsKeyPem", "image"];
const REGISTRY_TARGET_KEYS: Record<Target, string[]> = {
    kubernetes: ["namespace", "serviceName", "serviceType", "awaitLoadBalancer", "storage", "resources"],
    docker: ["alias", "port", "keepImageLocally", "volumeName"],
};

/**
 * Reads and checks the stack's `dind:*` configuration. `all` defaults to the
 * running stack's configuration; tests pass their own.
 */
export function loadProgramConfig(all: Record<string, string> = pulumi.runtime.allConfig()): ProgramConfig {
    const values = readNamespace(all);
    const target = oneOf(values.target ?? "docker", TARGETS, keyName("target"));
    const known = new Set([...SHARED_KEYS, ...TARGET_KEYS[target]]);
    for (const name of Object.keys(values)) {
        if (!known.has(name)) {
            const otherTarget = TARGETS.find((t) => t !== target && TARGET_KEYS[t].includes(name));
            throw new InvalidArgumentError(
                keyName(name),
                values[name],
                otherTarget
                    ? `no value with target ${target} (it is read with target ${otherTarget})`
                    : `no such key: the keys are ${[...known].sort().map(keyName).join(", ")}`,
            );
        }
    }

    const { selfHostedRegistry, target: _target, dockerHost, renderYamlToDirectory, outputDirectory, outputVolume, script, ...daemonValues } = values;
    if (script !== undefined && isConfigSecret(keyName("script"))) {
        // The script is part of the pod spec or container command, readable by anyone who can read those.
        throw new InvalidArgumentError(keyName("script"), "[secret]", "a plain value: read secrets in the script from a mounted Secret or the environment instead");
    }
    const registryValues = selfHostedRegistry === undefined ? undefined : registrySection(selfHostedRegistry, target);
    const registryPrefix = `${keyName("selfHostedRegistry")}.`;

    if (target === "kubernetes") {
        const dind = { ...daemonValues, script } as DindDeploymentArgs;
        validateDindDeploymentArgs(dind, `${NAMESPACE}:`);
        if (registryValues) {
            validateSelfHostedRegistryArgs(registryValues as SelfHostedRegistryArgs, registryPrefix);
        }
        return {
            target,
            dind,
            registry: registryValues && secretRegistryFields(registryValues as SelfHostedRegistryArgs),
            renderYamlToDirectory: renderYamlToDirectory === undefined ? undefined : nonEmptyString(renderYamlToDirectory, keyName("renderYamlToDirectory")),
        };
    }
    if (script !== undefined) {
        nonEmptyString(script, keyName("script"));
    }
    const dind = {
        ...daemonValues,
        client: script === undefined ? undefined : { script, outputDirectory, outputVolume },
    } as LocalDindArgs;
    for (const [name, value] of Object.entries({ outputDirectory, outputVolume })) {
        if (script === undefined && value !== undefined) {
            throw new InvalidArgumentError(keyName(name), value, "to be set only with dind:script (it receives the script's files)");
        }
    }
    validateLocalDindArgs(dind, `${NAMESPACE}:`);
    if (registryValues) {
        validateLocalRegistryArgs(registryValues as LocalRegistryArgs, registryPrefix);
    }
    return {
        target,
        dind,
        registry: registryValues && secretRegistryFields(registryValues as LocalRegistryArgs),
        dockerHost: dockerHost === undefined ? undefined : String(dockerHost),
    };
}

/** `selfHostedRegistry: { enabled: true, ...args }`; `enabled: false` (or absent) keeps the section for later. */
function registrySection(value: unknown, target: Target): Record<string, unknown> | undefined {
    const key = keyName("selfHostedRegistry");
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(key, value, "an object such as { enabled: true, mode: mirror }");
    }
    const { enabled, ...args } = knownKeys(value as Record<string, unknown>, ["enabled", ...REGISTRY_KEYS, ...REGISTRY_TARGET_KEYS[target]], key);
    return booleanValue(enabled ?? false, `${key}.enabled`) ? args : undefined;
}
