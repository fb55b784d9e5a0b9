/**
 * dockerd's /etc/docker/daemon.json and the official image's switches beside it, for
 * both variants. dockerd refuses to start when a key is set both as a flag and in the
 * file, so every key is checked against the command line this package writes; keys
 * that would undo its listeners, TLS, data root or registry trust are refused too.
 */
import { DaemonSettings, Transport, dockerdArgs } from "./daemon";
import { flagsOf } from "./dockerdFlags";
import { ArgumentFields, InvalidArgumentError, UNSAFE_KEYS, booleanValue, isOutput, optional } from "./validation";

/** A value daemon.json can hold: JSON, nothing else. */
export type DaemonConfigValue = string | number | boolean | null | DaemonConfigValue[] | { [key: string]: DaemonConfigValue };

/**
 * daemon.json's top-level object, keys as dockerd's reference writes them (`log-driver`, `default-address-pools`).
 * Its values are typed `any` so that the package's schema can carry them to every Pulumi language (a schema has
 * no recursive unions); each one is checked to be a DaemonConfigValue before anything is registered.
 */
export type DaemonConfig = { [key: string]: any };

/** The daemon's configuration file and image switches, taken by DindDeployment and LocalDind alike. */
export interface DaemonConfigArgs {
    /**
     * dockerd's /etc/docker/daemon.json, as a plain JSON object, e.g.
     * `{ builder: { gc: { enabled: true, defaultKeepStorage: "20GB" } }, "log-driver": "local" }`.
     * No key that a flag of this package sets (hosts, tls*, registry-mirrors, insecure-registries, mtu,
     * default-network-opts with mtu, or a flag of extraDockerdArgs), and no data-root, exec-root or pidfile.
     * Default none: dockerd's own defaults.
     */
    daemonConfig?: DaemonConfig;
    /**
     * The official dind image's firewall switch, DOCKER_IPTABLES_LEGACY: true for iptables-legacy (nodes
     * without nf_tables), false for nf_tables. Default none: the image detects which one the node uses.
     */
    iptablesLegacy?: boolean;
    /**
     * Docker 29's containerd image store, daemon.json's `features: { "containerd-snapshotter": ... }`;
     * false keeps the classic overlay2 store. Refused beside the same feature in daemonConfig. Default none: dockerd's.
     */
    containerdSnapshotter?: boolean;
}

/** The keys of DaemonConfigArgs, for the argument lists of the components that take them. */
export const DAEMON_CONFIG_FIELDS: ArgumentFields<DaemonConfigArgs> = { daemonConfig: true, iptablesLegacy: true, containerdSnapshotter: true };

/** DaemonConfigArgs checked, as the daemon's container gets them. */
export interface DaemonConfigSettings {
    /** daemon.json's content; none leaves dockerd's defaults. */
    file?: string;
    /** Environment of the daemon's container. */
    environment: Record<string, string>;
}

/** Where dockerd reads its configuration file when no --config-file is given. */
export const DAEMON_CONFIG_DIR = "/etc/docker";
export const DAEMON_CONFIG_FILE_NAME = "daemon.json";
export const DAEMON_CONFIG_FILE = `${DAEMON_CONFIG_DIR}/${DAEMON_CONFIG_FILE_NAME}`;

const CONTAINERD_SNAPSHOTTER = "containerd-snapshotter";

/** Keys no flag sets that would still undo what the package guarantees, with why. */
const KEPT_KEYS: Record<string, string> = {
    "data-root": "/var/lib/docker stays on the daemon's volume",
    "exec-root": "the exec root stays where the image's entrypoint prepares it",
    pidfile: "the image's entrypoint clears a stale /var/run/docker.pid at start, and no other",
};

/**
 * The argument that writes each flag of dockerdArgs, as errors name it. Each flag's key
 * is refused even where the flag is not written (no mirrors yet, a transport without
 * TLS files): the argument is where that setting lives.
 */
const FLAG_OWNERS: Record<string, string> = {
    host: "transport",
    tls: "transport",
    tlsverify: "transport",
    tlscacert: "transport",
    tlscert: "transport",
    tlskey: "transport",
    "registry-mirror": "registryMirrors",
    "insecure-registry": "registries[].insecure",
    mtu: "mtu",
    "default-network-opt": "mtu",
};

/** The flags whose keys are refused whatever the command line; --default-network-opt only carries the MTU, so its key clashes only beside mtu. */
const OWNED_FLAGS = Object.keys(FLAG_OWNERS).filter((flag) => flag !== "default-network-opt");

/** daemon.json's key for each flag whose key is not its own name (dockerd's named list and map options). */
const FLAG_CONFIG_KEYS: Record<string, string> = {
    host: "hosts",
    "registry-mirror": "registry-mirrors",
    "insecure-registry": "insecure-registries",
    "storage-opt": "storage-opts",
    "authorization-plugin": "authorization-plugins",
    "exec-opt": "exec-opts",
    "default-network-opt": "default-network-opts",
    "dns-opt": "dns-opts",
    label: "labels",
    "log-opt": "log-opts",
    "node-generic-resource": "node-generic-resources",
    "add-runtime": "runtimes",
    "default-ulimit": "default-ulimits",
    "default-address-pool": "default-address-pools",
    "cdi-spec-dir": "cdi-spec-dirs",
    feature: "features",
};

function configKeyOf(flag: string): string {
    return FLAG_CONFIG_KEYS[flag] ?? flag;
}

/** Each daemon.json key the command line sets, with what sets it: an argument of the package, or an extra flag. */
function keysSetByFlags(transport: Transport, daemon: DaemonSettings, prefix: string): Map<string, string> {
    const command = dockerdArgs(transport, daemon).slice(1);
    const ownFlags = command.length - daemon.extraDockerdArgs.length;
    const setBy = new Map<string, string>();
    command.forEach((arg, index) => {
        for (const { name: flag } of flagsOf(arg, `${prefix}extraDockerdArgs`)) {
            const owner = index < ownFlags ? `${prefix}${FLAG_OWNERS[flag]}` : `${prefix}extraDockerdArgs[${index - ownFlags}]`;
            const key = configKeyOf(flag);
            if (!setBy.has(key)) {
                setBy.set(key, `${owner} sets --${flag}`);
            }
        }
    });
    return setBy;
}

const JSON_VALUE = "a JSON value (a string, finite number, true, false, null, list or object)";

/** A JSON value as JSON.stringify would write it faithfully: nothing it drops, turns into null or cannot write. */
function jsonValue(value: unknown, argument: string, ancestors: readonly object[]): DaemonConfigValue {
    switch (typeof value) {
        case "string":
        case "boolean":
            return value;
        case "number":
            if (!Number.isFinite(value)) {
                throw new InvalidArgumentError(argument, value, `${JSON_VALUE}: JSON has no NaN or Infinity`);
            }
            return value;
        case "object":
            if (value === null) {
                return null;
            }
            break;
        default:
            throw new InvalidArgumentError(argument, value, JSON_VALUE);
    }
    if (isOutput(value)) {
        throw new InvalidArgumentError(argument, value, `${JSON_VALUE} known now: the file is checked before anything is registered`);
    }
    if (ancestors.includes(value)) {
        throw new InvalidArgumentError(argument, "a value that contains itself", JSON_VALUE);
    }
    const inside = [...ancestors, value];
    if (Array.isArray(value)) {
        // Array.from visits holes, which JSON.stringify would write as null.
        return Array.from(value, (element, index) => jsonValue(element, `${argument}[${index}]`, inside));
    }
    return jsonObject(value, argument, inside);
}

function jsonObject(value: object, argument: string, ancestors: readonly object[]): DaemonConfig {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
        throw new InvalidArgumentError(argument, `a ${prototype?.constructor?.name ?? "class"} instance`, `${JSON_VALUE}: a plain object, not an instance of a class`);
    }
    const copy: DaemonConfig = {};
    for (const [key, element] of Object.entries(value)) {
        if (UNSAFE_KEYS.includes(key)) {
            throw new InvalidArgumentError(`${argument}.${key}`, "a value", "no key named __proto__, constructor or prototype (it would reach an object's prototype)");
        }
        copy[key] = jsonValue(element, `${argument}.${key}`, ancestors);
    }
    return copy;
}

/** The daemon.json object: a plain object of JSON values, with no key this package owns. */
function daemonConfigObject(value: unknown, argument: string, prefix: string): DaemonConfig {
    if (typeof value !== "object" || value === null || Array.isArray(value) || isOutput(value)) {
        throw new InvalidArgumentError(argument, value, 'an object of daemon.json keys, such as { "log-driver": "local" }');
    }
    const config = jsonObject(value, argument, [value]);
    for (const [key, element] of Object.entries(config)) {
        const flag = OWNED_FLAGS.find((owned) => configKeyOf(owned) === key);
        if (flag !== undefined) {
            throw new InvalidArgumentError(`${argument}.${key}`, element, `a key that no flag sets: ${prefix}${FLAG_OWNERS[flag]} sets --${flag}`);
        }
        if (Object.hasOwn(KEPT_KEYS, key)) {
            throw new InvalidArgumentError(`${argument}.${key}`, element, `a key other than ${key}: ${KEPT_KEYS[key]}`);
        }
    }
    const networkOpts = config["default-network-opts"];
    for (const [driver, options] of Object.entries(typeof networkOpts === "object" && networkOpts !== null ? networkOpts : {})) {
        const mtu = Object.keys(typeof options === "object" && options !== null ? options : {}).find((option) => /mtu/.test(option));
        if (mtu !== undefined) {
            throw new InvalidArgumentError(`${argument}.default-network-opts.${driver}.${mtu}`, (options as DaemonConfig)[mtu], `an option other than the networks' MTU: use ${prefix}mtu`);
        }
    }
    if (config.features !== undefined) {
        if (typeof config.features !== "object" || config.features === null || Array.isArray(config.features)) {
            throw new InvalidArgumentError(`${argument}.features`, config.features, 'an object of features, each true or false, such as { "containerd-snapshotter": false }');
        }
        for (const [feature, enabled] of Object.entries(config.features)) {
            booleanValue(enabled, `${argument}.features.${feature}`);
        }
    }
    return config;
}

/**
 * Checks the daemon's configuration file and switches against the daemon's validated
 * settings and transport, whose command line the file must not repeat; `prefix` names
 * where they came from (`args.` or a config namespace).
 */
export function validateDaemonConfigArgs(args: DaemonConfigArgs, transport: Transport, daemon: DaemonSettings, prefix: string): DaemonConfigSettings {
    const given = optional(args.daemonConfig, `${prefix}daemonConfig`, (value, argument) => daemonConfigObject(value, argument, prefix));
    const snapshotter = optional(args.containerdSnapshotter, `${prefix}containerdSnapshotter`, booleanValue);
    const givenFeatures = given?.features as Record<string, boolean> | undefined;
    if (snapshotter !== undefined && givenFeatures?.[CONTAINERD_SNAPSHOTTER] !== undefined) {
        throw new InvalidArgumentError(
            `${prefix}containerdSnapshotter`,
            snapshotter,
            `nothing beside ${prefix}daemonConfig.features.${CONTAINERD_SNAPSHOTTER}, which sets the same feature`,
        );
    }
    const iptablesLegacy = optional(args.iptablesLegacy, `${prefix}iptablesLegacy`, booleanValue);
    // The image reads an empty value as "nf_tables", unset as "detect".
    const environment: Record<string, string> = iptablesLegacy === undefined ? {} : { DOCKER_IPTABLES_LEGACY: iptablesLegacy ? "1" : "" };
    if (given === undefined && snapshotter === undefined) {
        return { environment };
    }
    const config: DaemonConfig = snapshotter === undefined ? given! : { ...given, features: { ...givenFeatures, [CONTAINERD_SNAPSHOTTER]: snapshotter } };
    const setByFlags = keysSetByFlags(transport, daemon, prefix);
    for (const key of Object.keys(config)) {
        const flag = setByFlags.get(key);
        if (flag !== undefined) {
            const argument = given?.[key] === undefined ? `${prefix}containerdSnapshotter` : `${prefix}daemonConfig.${key}`;
            throw new InvalidArgumentError(argument, config[key], `a key that no flag sets: ${flag}`);
        }
    }
    return { file: renderDaemonConfig(config), environment };
}

/** daemon.json as dockerd reads it, indented for people reading the ConfigMap or the container. */
export function renderDaemonConfig(config: DaemonConfig): string {
    return `${JSON.stringify(config, null, 2)}\n`;
}
