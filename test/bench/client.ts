/**
 * Benchmark: `dind-run IMAGE true` against `docker run --rm IMAGE true` on the same daemon
 * (DOCKER_HOST, else the local socket), interleaved round by round so that both see the same
 * machine load. Prints each side's median and their ratio; asserts nothing about timings.
 *
 *   npx ts-node test/bench/client.ts [ROUNDS]
 *
 * dind-run is transpiled to JavaScript first and run with plain node, as `npm run build`
 * would ship it, so that ts-node's compile time is not counted against it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { testImages } from "../e2e/support/engine";

const REPO_ROOT = path.resolve(__dirname, "../..");
const ROUNDS = Number(process.argv[2] ?? 10);
const IMAGE = testImages.busybox;
const COMMAND_TIMEOUT_MS = 60_000;

/** client/*.ts as CommonJS in a temporary directory; returns the path of cli.js. */
function transpileClient(): { cli: string; dir: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-bench-"));
    const sourceDir = path.join(REPO_ROOT, "client");
    for (const file of fs.readdirSync(sourceDir).filter((f) => f.endsWith(".ts"))) {
        const output = ts.transpileModule(fs.readFileSync(path.join(sourceDir, file), "utf8"), {
            compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
            fileName: file,
        });
        fs.writeFileSync(path.join(dir, file.replace(/\.ts$/, ".js")), output.outputText);
    }
    return { cli: path.join(dir, "cli.js"), dir };
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

function main(): void {
    if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
        throw new Error(`ROUNDS must be a positive integer, got ${process.argv[2]}`);
    }
    const { cli, dir } = transpileClient();
    // The transpiled files live outside the repository; let them find its dependencies.
    const env = { ...process.env, NODE_PATH: path.join(REPO_ROOT, "node_modules") };
    const contenders = [
        { name: "dind-run", run: () => timed(process.execPath, [cli, IMAGE, "true"], env), times: [] as number[] },
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
            console.log(`${name.padEnd(16)} median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`);
        }
        const ratio = median(contenders[0].times) / median(contenders[1].times);
        console.log(`ratio dind-run / docker run --rm: ${ratio.toFixed(2)}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main();
