import { parseArgs, ParseArgsConfig } from "util";
import { DindClientError } from "./errors";

/** The command line could not be understood; the CLI prints the message and exits 125. */
export class UsageError extends DindClientError {
    override readonly name = "UsageError";
    readonly code = "USAGE";
}

/** When `dind-run IMAGE` pulls, as `docker run --pull`. */
export type PullPolicy = "missing" | "always" | "never";

/** Settings every command takes. */
export interface GlobalFlags {
    /** --host: overrides DOCKER_HOST. */
    host?: string;
    /** --tls-dir: overrides DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
    tlsDir?: string;
    /** --debug: print stack traces. */
    debug: boolean;
}

/** What the command line asks for. */
export type CliCommand =
    | { command: "help" }
    | { command: "run"; image: string; cmd: string[]; env: Record<string, string>; pull: PullPolicy }
    | { command: "save"; images: string[]; output: string }
    | { command: "load"; file: string }
    | { command: "wait"; timeoutMs: number };

/** A parsed command line. */
export type CliInvocation = CliCommand & GlobalFlags;

/** The text of `dind-run --help`. */
export const USAGE = `Usage:
  dind-run [OPTIONS] IMAGE [COMMAND [ARG...]]  pull IMAGE if missing, run COMMAND, stream its output
  dind-run [OPTIONS] save IMAGE... -o FILE      write images into a tar archive (docker save)
  dind-run [OPTIONS] load FILE                  load the images of a tar archive (docker load)
  dind-run [OPTIONS] wait [--timeout SECONDS]   wait until the daemon answers

Operates a private Docker daemon, such as one declared with pulumi-dind's components, without
touching any other Docker daemon. The container is removed when it exits.

Connection (as for the docker CLI):
  --host URL            unix:///path/to/docker.sock or tcp://HOST:PORT
                        (default: $DOCKER_HOST, else unix:///var/run/docker.sock)
  --tls-dir DIR         connect with TLS using DIR/ca.pem, DIR/cert.pem and DIR/key.pem
                        (default: $DOCKER_CERT_PATH or ~/.docker when $DOCKER_TLS_VERIFY is set)

Run options (before IMAGE; everything after IMAGE is the command):
  -e, --env KEY=VALUE   set a variable in the container (repeatable; -e KEY copies it from here)
      --pull WHEN       missing (default), always or never

Other options:
  -o, --output FILE     save: the archive to write
      --timeout SECONDS wait: give up after this long (default 60)
      --debug           print stack traces with errors
  -h, --help            show this help

Exit status: the container's own for a run; 125 when dind-run or the daemon fails (126 when the
command cannot be invoked, 127 when it is not found, as docker run); 130 on Ctrl-C; 0 for save,
load and wait when they succeed.

Examples:
  dind-run --host unix:///run/dind/docker.sock busybox echo hello
  dind-run --host tcp://127.0.0.1:2376 --tls-dir ./certs -e MODE=ci busybox sh -c 'echo $MODE'
  dind-run wait --timeout 30 && dind-run save busybox:latest alpine:3.20 -o images.tar
  dind-run load images.tar
`;

const GLOBAL_OPTIONS = {
    host: { type: "string" },
    "tls-dir": { type: "string" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
} satisfies ParseArgsConfig["options"];

const RUN_OPTIONS = {
    ...GLOBAL_OPTIONS,
    env: { type: "string", short: "e", multiple: true },
    pull: { type: "string" },
} satisfies ParseArgsConfig["options"];

const SUBCOMMAND_OPTIONS = {
    save: { ...GLOBAL_OPTIONS, output: { type: "string", short: "o" } },
    load: GLOBAL_OPTIONS,
    wait: { ...GLOBAL_OPTIONS, timeout: { type: "string" } },
} satisfies Record<string, ParseArgsConfig["options"]>;

type Subcommand = keyof typeof SUBCOMMAND_OPTIONS;

function isSubcommand(word: string): word is Subcommand {
    return Object.prototype.hasOwnProperty.call(SUBCOMMAND_OPTIONS, word);
}

/**
 * Index of the first word that is not an option or an option's value: the image or subcommand.
 * parseArgs cannot stop there by itself, and must not read the container command's own flags
 * (`dind-run busybox ls -la`).
 */
function firstOperandIndex(argv: string[]): { index: number; afterDashes: boolean } {
    const takesValue = new Set(["--host", "--tls-dir", "--env", "-e", "--pull"]);
    for (let i = 0; i < argv.length; i++) {
        const word = argv[i];
        if (word === "--") {
            return { index: i + 1, afterDashes: true };
        }
        if (!word.startsWith("-") || word === "-") {
            return { index: i, afterDashes: false };
        }
        if (takesValue.has(word)) {
            i++;
        }
    }
    return { index: argv.length, afterDashes: false };
}

function parseStrict<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T, allowPositionals: boolean) {
    try {
        return parseArgs({ args, options, allowPositionals, strict: true });
    } catch (error) {
        // parseArgs explains well ("Unknown option '--x'") but adds advice about '--' that does not apply.
        const message = error instanceof Error ? error.message.split(/\. To specify/)[0] : String(error);
        throw new UsageError(message);
    }
}

function globalFlags(values: { host?: string; "tls-dir"?: string; debug?: boolean }): GlobalFlags {
    return { host: values.host, tlsDir: values["tls-dir"], debug: values.debug ?? false };
}

function parseEnv(entries: string[], env: NodeJS.ProcessEnv): Record<string, string> {
    const result: Record<string, string> = {};
    for (const entry of entries) {
        const equals = entry.indexOf("=");
        const key = equals < 0 ? entry : entry.slice(0, equals);
        if (key === "") {
            throw new UsageError(`--env ${JSON.stringify(entry)} needs a name: KEY=VALUE or KEY`);
        }
        if (equals >= 0) {
            result[key] = entry.slice(equals + 1);
        } else if (env[key] !== undefined) {
            // docker run -e KEY does the same: pass the caller's value, or nothing when unset.
            result[key] = env[key];
        }
    }
    return result;
}

function parsePullPolicy(value: string | undefined): PullPolicy {
    if (value === undefined || value === "missing" || value === "always" || value === "never") {
        return value ?? "missing";
    }
    throw new UsageError(`--pull ${JSON.stringify(value)}: use missing, always or never`);
}

function parseTimeout(value: string | undefined): number {
    if (value === undefined) {
        return 60_000;
    }
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0 || value.trim() === "") {
        throw new UsageError(`--timeout ${JSON.stringify(value)}: give a positive number of seconds`);
    }
    return seconds * 1000;
}

function parseSubcommand(subcommand: Subcommand, args: string[]): CliInvocation {
    if (subcommand === "save") {
        const { values, positionals } = parseStrict(args, SUBCOMMAND_OPTIONS.save, true);
        if (values.help) {
            return { command: "help", ...globalFlags(values) };
        }
        if (positionals.length === 0) {
            throw new UsageError("save needs at least one IMAGE");
        }
        if (values.output === undefined) {
            throw new UsageError("save needs -o FILE, the archive to write");
        }
        return { command: "save", images: positionals, output: values.output, ...globalFlags(values) };
    }
    if (subcommand === "load") {
        const { values, positionals } = parseStrict(args, SUBCOMMAND_OPTIONS.load, true);
        if (values.help) {
            return { command: "help", ...globalFlags(values) };
        }
        if (positionals.length !== 1) {
            throw new UsageError(`load takes exactly one FILE, got ${positionals.length}`);
        }
        return { command: "load", file: positionals[0], ...globalFlags(values) };
    }
    const { values, positionals } = parseStrict(args, SUBCOMMAND_OPTIONS.wait, true);
    if (values.help) {
        return { command: "help", ...globalFlags(values) };
    }
    if (positionals.length > 0) {
        throw new UsageError(`wait takes no arguments, got ${JSON.stringify(positionals[0])}`);
    }
    return { command: "wait", timeoutMs: parseTimeout(values.timeout), ...globalFlags(values) };
}

/**
 * Parses `dind-run`'s arguments (without `node` and the script). Pure but for `-e KEY`, which
 * reads `env`. Throws UsageError for anything it cannot use.
 */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliInvocation {
    const { index, afterDashes } = firstOperandIndex(argv);
    const operand = argv[index];
    // Global options may come before the subcommand too: `dind-run --host URL wait`.
    if (operand !== undefined && !afterDashes && isSubcommand(operand)) {
        return parseSubcommand(operand, [...argv.slice(0, index), ...argv.slice(index + 1)]);
    }
    const head = argv.slice(0, afterDashes ? index - 1 : index);
    const { values } = parseStrict(head, RUN_OPTIONS, false);
    if (values.help) {
        return { command: "help", ...globalFlags(values) };
    }
    if (operand === undefined) {
        throw new UsageError("missing IMAGE, or one of save, load, wait");
    }
    return {
        command: "run",
        image: operand,
        cmd: argv.slice(index + 1),
        env: parseEnv(values.env ?? [], env),
        pull: parsePullPolicy(values.pull),
        ...globalFlags(values),
    };
}
