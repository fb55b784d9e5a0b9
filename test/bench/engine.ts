/**
 * The real engine against hand-written docker commands, side by side in one run, printed as
 * ratios (not a test: nothing is asserted about time). Needs the engine from
 * test/engine/setup/install-pulumi.sh. Run with `npm run bench:engine`; BENCH_ROUNDS rounds
 * (default 3), about 1.5 minutes each here.
 *
 * Each round, interleaved on the machine's Docker engine:
 * - raw: a hand-written `docker run --privileged -d ... dind` (with a volume at /var/lib/docker
 *   and the socket in a host directory, as the stack declares), until `docker info` answers
 *   on that socket; then `docker rm -f` and `docker volume rm`.
 * - `pulumi up` of the same daemon from nothing (until it answers), a no-op `pulumi up`, and
 *   `pulumi destroy`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { until } from "../e2e/support/e2eRun";
import { testImages } from "../e2e/support/engine";
import { unixStackFile } from "../engine/support/dockerStack";
import { PulumiProject } from "../engine/support/pulumiCli";

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function timed(action: () => Promise<unknown>): Promise<number> {
    const started = process.hrtime.bigint();
    await action();
    return Number(process.hrtime.bigint() - started) / 1e6;
}

const answers = (socket: string) => () =>
    new Docker({ socketPath: socket })
        .ping()
        .then(() => true)
        .catch(() => undefined);

async function rawRound(dir: string, round: number): Promise<number> {
    const name = `pulumi-dind-bench-raw-${process.pid}-${round}`;
    const sockets = path.join(dir, `raw-${round}`);
    fs.mkdirSync(sockets);
    const elapsed = await timed(async () => {
        execFileSync("docker", [
            "run", "--privileged", "-d", "--name", name,
            "-v", `${name}:/var/lib/docker`, "-v", `${sockets}:/var/run/dind`,
            testImages.dind, "dockerd", "--host=unix:///var/run/dind/docker.sock",
        ]);
        await until("the raw daemon to answer", 120_000, answers(path.join(sockets, "docker.sock")), 100);
    });
    execFileSync("docker", ["rm", "-f", "-v", name]);
    execFileSync("docker", ["volume", "rm", name]);
    return elapsed;
}

async function main(): Promise<void> {
    const project = PulumiProject.copyOfThisProject("bench");
    const times = { raw: [] as number[], up: [] as number[], noop: [] as number[], destroy: [] as number[] };
    try {
        for (let round = 0; round < ROUNDS; round++) {
            times.raw.push(await rawRound(project.root, round));

            const stack = `bench${round}`;
            const sockets = path.join(project.root, stack);
            fs.mkdirSync(sockets);
            project.writeFile(`Pulumi.${stack}.yaml`, unixStackFile(sockets, { "dind:retainDataVolume": false }));
            await project.initStack(stack);
            times.up.push(await timed(() => project.up(stack)));
            await until("the stack's daemon to answer", 10_000, answers(path.join(sockets, "docker.sock")), 100);
            times.noop.push(await timed(() => project.up(stack)));
            times.destroy.push(await timed(() => project.pulumi(["destroy", "--yes", "-s", stack])));
            console.log(`round ${round + 1}/${ROUNDS}: ${Object.entries(times).map(([k, v]) => `${k} ${(v[round] / 1000).toFixed(1)} s`).join(", ")}`);
        }
    } finally {
        project.dispose();
    }
    const raw = median(times.raw);
    console.log(`\nmedians over ${ROUNDS} rounds, as multiples of a hand-written docker run until the daemon answers:`);
    console.log(`  pulumi up from nothing: ${(median(times.up) / raw).toFixed(1)}x`);
    console.log(`  no-op pulumi up:        ${(median(times.noop) / raw).toFixed(1)}x`);
    console.log(`  pulumi destroy:         ${(median(times.destroy) / raw).toFixed(1)}x`);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
