/**
 * Benchmark: `dind-run IMAGE true` against `docker run --rm IMAGE true` on the same daemon
 * (DOCKER_HOST, else the local socket), interleaved round by round so that both see the same
 * machine load. Prints each side's median and their ratio; asserts nothing about timings.
 *
 *   npm run bench:client -- [ROUNDS]
 *
 * dind-run runs with plain node as `npm run build` ships it: bundled into one file by
 * scripts/bundle-cli.js. It also runs as one module per source file, as tsc emits
 * bin/client/cli.js, to show what the bundle saves.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { testImages } from "../e2e/support/engine";

const { bundleCli } = require("../../scripts/bundle-cli") as { bundleCli(outfile: string): Promise<string> };

const REPO_ROOT = path.resolve(__dirname, "../..");
const ROUNDS = Number(process.argv[2] ?? 10);
const IMAGE = testImages.busybox;
const COMMAND_TIMEOUT_MS = 60_000;

/** client/*.ts as CommonJS modules in `dir`; returns the path of cli.js. */
function transpileClient(dir: string): string {
    const sourceDir = path.join(REPO_ROOT, "client");
    for (const file of fs.readdirSync(sourceDir).filter((f) => f.endsWith(".ts"))) {
        const output = ts.transpileModule(fs.readFileSync(path.join(sourceDir, file), "utf8"), {
            compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
            fileName: file,
        });
        fs.writeFileSync(path.join(dir, file.replace(/\.ts$/, ".js")), output.outputText);
    }
    return path.join(dir, "cli.js");
}

/** Runs a command to its end and returns its wall time in milliseconds; throws when it fails. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): number {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { env, stdio: ["ignore", "ignore", "pipe"], timeout: COMMAND_TIMEOUT_MS });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) {
        const why = result.error?.message ?? `status ${result.status}${result.signal ? ` (${result.signal})` : ""}`;
        throw new Error(`${command} ${args.join(" ")} failed: ${why}: ${result.stderr?.toString().trim()}`);
    }
    return elapsed;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
    if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
        throw new Error(`ROUNDS must be a positive integer, got ${process.argv[2]}`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-bench-"));
    const bundle = await bundleCli(path.join(dir, "dind-run.js"));
    fs.mkdirSync(path.join(dir, "modules"));
    const modules = transpileClient(path.join(dir, "modules"));
    // The modules live outside the repository; let them find its dependencies.
    const env = { ...process.env, NODE_PATH: path.join(REPO_ROOT, "node_modules") };
    const contenders = [
        { name: "dind-run", run: () => timed(process.execPath, [bundle, IMAGE, "true"], env), times: [] as number[] },
        { name: "dind-run, modules", run: () => timed(process.execPath, [modules, IMAGE, "true"], env), times: [] as number[] },
        { name: "docker run --rm", run: () => timed("docker", ["run", "--rm", IMAGE, "true"], env), times: [] as number[] },
    ];
    try {
        console.log(`image ${IMAGE}, daemon ${process.env.DOCKER_HOST || "unix:///var/run/docker.sock"}, ${ROUNDS} rounds`);
        // One untimed round each: the first container start pays for cold caches.
        contenders.forEach((c) => c.run());
        for (let round = 0; round < ROUNDS; round++) {
            // Alternating who goes first keeps a drift in machine load from favouring one side.
            const order = round % 2 === 0 ? contenders : [...contenders].reverse();
            for (const contender of order) {
                contender.times.push(contender.run());
            }
        }
        for (const { name, times } of contenders) {
            console.log(`${name.padEnd(18)} median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`);
        }
        const docker = median(contenders[2].times);
        console.log(`ratio dind-run / docker run --rm: ${(median(contenders[0].times) / docker).toFixed(2)}`);
        console.log(`ratio dind-run, modules / docker run --rm: ${(median(contenders[1].times) / docker).toFixed(2)}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
