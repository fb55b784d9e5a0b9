/**
 * `extraDockerdArgs` read the way dockerd reads them (spf13/pflag), so a flag cannot slip past
 * the checks in a form dockerd accepts: `-DHtcp://0.0.0.0:2375` is `--debug
 * --host=tcp://0.0.0.0:2375`, `-l=debug` is `--log-level=debug`.
 */
import { InvalidArgumentError } from "./validation";

/** dockerd's one-letter flags (`dockerd --help`), by the long flag they stand for; `value` ones take one. */
const SHORTHANDS: Record<string, { name: string; value: boolean }> = {
    b: { name: "bridge", value: true },
    D: { name: "debug", value: false },
    G: { name: "group", value: true },
    H: { name: "host", value: true },
    l: { name: "log-level", value: true },
    p: { name: "pidfile", value: true },
    s: { name: "storage-driver", value: true },
    v: { name: "version", value: false },
    h: { name: "help", value: false },
};

/** Flags this package sets or must keep, each with what to use instead. */
const REFUSED: [RegExp, string][] = [
    [/^(host|tls.*)$/, "the transport argument, which owns dockerd's listeners and TLS"],
    [/^(data-root|exec-root)$/, "nothing: /var/lib/docker and the exec root stay on the daemon's volume"],
    [/^pidfile$/, "nothing: the image's entrypoint clears a stale pid file only at the default path, so a restarted daemon would refuse to start"],
    [/^mtu$/, "the mtu argument"],
    [/^registry-mirror$/, "the registryMirrors argument"],
    [/^insecure-registry$/, "registries[].insecure, per registry"],
    [/^config-file$/, "flags: a daemon.json of the user's could open listeners the transport does not know"],
    [/^(version|help|validate)$/, "a flag that lets dockerd run (this one makes it exit)"],
];

/** A flag as dockerd sees it: its long name, and its value when it has one in the same argument. */
export interface ParsedFlag {
    name: string;
    value?: string;
}

/** The flags of one argument, by pflag's rules for `--name[=value]` and combined shorthands. */
export function flagsOf(arg: string, argument: string): ParsedFlag[] {
    if (arg === "--" || !arg.startsWith("-") || arg === "-") {
        throw new InvalidArgumentError(argument, arg, "a dockerd flag such as --log-level=warn (dockerd takes no other arguments)");
    }
    if (arg.startsWith("--")) {
        const [name, ...rest] = arg.slice(2).split("=");
        return [{ name, value: rest.length > 0 ? rest.join("=") : undefined }];
    }
    const flags: ParsedFlag[] = [];
    for (let i = 1; i < arg.length; i++) {
        const shorthand = SHORTHANDS[arg[i]];
        if (!shorthand) {
            throw new InvalidArgumentError(argument, arg, `one-letter flags dockerd knows (${Object.keys(SHORTHANDS).join(", ")}); -${arg[i]} is none`);
        }
        if (!shorthand.value) {
            flags.push({ name: shorthand.name });
            continue;
        }
        const value = arg.slice(i + 1).replace(/^=/, "");
        if (value === "") {
            throw new InvalidArgumentError(argument, arg, `-${arg[i]} with its value in the same argument, such as -${arg[i]}=VALUE or --${shorthand.name}=VALUE`);
        }
        flags.push({ name: shorthand.name, value });
        break;
    }
    return flags;
}

/**
 * Checks each extra dockerd argument as dockerd parses it. Each must be self-contained: a value
 * in a separate argument is refused, since pflag would hand dockerd that argument as the value.
 */
export function extraDockerdArg(value: unknown, argument: string): string {
    if (typeof value !== "string" || value === "") {
        throw new InvalidArgumentError(argument, value, "a dockerd flag such as --log-level=warn");
    }
    for (const flag of flagsOf(value, argument)) {
        const refused = REFUSED.find(([pattern]) => pattern.test(flag.name));
        if (refused) {
            throw new InvalidArgumentError(argument, value, `a flag other than --${flag.name}; use ${refused[1]}`);
        }
        if (flag.name === "default-network-opt" && /mtu/.test(flag.value ?? "")) {
            throw new InvalidArgumentError(argument, value, "a flag other than the default network's MTU; use the mtu argument");
        }
    }
    return value;
}
