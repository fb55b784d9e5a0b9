/**
 * The real Pulumi CLI, run on a copy of this project with its own state.
 *
 * Each PulumiProject is a temporary directory holding the project's files (its
 * node_modules linked, not copied), a local `file://` backend, a passphrase secrets
 * provider and its own PULUMI_HOME. Nothing is downloaded: automatic plugin
 * acquisition and the update check are off, and the providers are the ambient ones
 * test/engine/setup/install-pulumi.sh put on PATH. The directory names the test process that
 * owns it, so a later run can clear what a killed one left (./leftovers.ts).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OWNER_FILE, ownerLine, PROJECT_DIR_PREFIX } from "./leftovers";

export const ROOT = path.join(__dirname, "..", "..", "..");

/** What a project copy needs to run `index.ts`: the program, the library and how to compile them. */
const PROJECT_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "config.ts", "components"];

/** A Pulumi.<stack>.yaml holding `config` (values in JSON, which is YAML). */
export function stackFile(config: Record<string, unknown>): string {
    return `config:\n${Object.entries(config)
        .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`)
        .join("\n")}\n`;
}

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class CliError extends Error {
    constructor(
        readonly args: string[],
        readonly result: CliResult,
    ) {
        super(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
    }
}

/** A resource as `pulumi stack export` records it. */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    custom: boolean;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
    retainOnDelete?: boolean;
}

export function logicalName(resource: StateResource): string {
    return resource.urn.split("::").pop()!;
}

/** The one resource of `type` whose logical name ends in `suffix` (such as "-dind"); fails when there is none. */
export function stateResource(resources: StateResource[], type: string, suffix: string): StateResource {
    const found = resources.find((r) => r.type === type && logicalName(r).endsWith(suffix));
    if (!found) {
        throw new Error(`no ${type} named *${suffix} in the stack's state`);
    }
    return found;
}

export class PulumiProject {
    readonly env: NodeJS.ProcessEnv;

    private constructor(
        readonly root: string,
        readonly dir: string,
    ) {
        const home = path.join(root, "pulumi-home");
        const state = path.join(root, "state");
        fs.mkdirSync(home);
        fs.mkdirSync(state);
        fs.writeFileSync(path.join(root, OWNER_FILE), ownerLine());
        this.env = {
            ...process.env,
            PULUMI_HOME: home,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "engine-tier",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            NO_COLOR: "1",
        };
    }

    /** A copy of this repository's project (the program and its library) in a fresh directory. */
    static copyOfThisProject(label: string): PulumiProject {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), `${PROJECT_DIR_PREFIX}${label}-`));
        const dir = path.join(root, "project");
        fs.mkdirSync(dir);
        for (const file of PROJECT_FILES) {
            fs.cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        return new PulumiProject(root, dir);
    }

    /** An empty project directory for a program of the test's own (a consumer of the package). */
    static empty(label: string): PulumiProject {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), `${PROJECT_DIR_PREFIX}${label}-`));
        const dir = path.join(root, "project");
        fs.mkdirSync(dir);
        return new PulumiProject(root, dir);
    }

    writeFile(name: string, content: string): void {
        fs.writeFileSync(path.join(this.dir, name), content);
    }

    /** Runs the CLI in the project directory; rejects on a non-zero exit unless `allowFailure`. */
    async pulumi(args: string[], options: { allowFailure?: boolean; timeoutMs?: number; stdin?: string } = {}): Promise<CliResult> {
        const full = [...args, "--non-interactive"];
        const result = await new Promise<CliResult>((resolve, reject) => {
            const child = spawn("pulumi", full, { cwd: this.dir, env: this.env, stdio: ["pipe", "pipe", "pipe"] });
            child.stdin.end(options.stdin ?? "");
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            const timer = setTimeout(() => child.kill("SIGINT"), options.timeoutMs ?? 600_000);
            child.on("error", reject);
            child.on("close", (code) => {
                clearTimeout(timer);
                resolve({ code: code ?? -1, stdout, stderr });
            });
        });
        if (result.code !== 0 && !options.allowFailure) {
            throw new CliError(full, result);
        }
        return result;
    }

    async initStack(stack: string): Promise<void> {
        await this.pulumi(["stack", "init", stack]);
    }

    async up(stack: string, options: { allowFailure?: boolean } = {}): Promise<CliResult> {
        return this.pulumi(["up", "--yes", "--skip-preview", "-s", stack], options);
    }

    async outputs(stack: string): Promise<Record<string, any>> {
        const { stdout } = await this.pulumi(["stack", "output", "--json", "--show-secrets", "-s", stack]);
        return JSON.parse(stdout);
    }

    /** The stack's resources from its state file; the root Stack resource and providers included. */
    async resources(stack: string): Promise<StateResource[]> {
        const { stdout } = await this.pulumi(["stack", "export", "-s", stack]);
        return JSON.parse(stdout).deployment.resources ?? [];
    }

    dispose(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}
