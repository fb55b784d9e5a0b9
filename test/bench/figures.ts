/**
 * Side-by-side figures on the real engine, printed as ratios (not a test: nothing is asserted
 * about time). Run with `npx ts-node test/bench/figures.ts`; about 2.5 minutes on 2 cores.
 *
 * (a) daemon ready → client noticing it, against one fresh dind start per round: the
 *     startup probe as DindDeployment declares it (exec `docker info` every 1 s), the client's
 *     bounded wait script from daemon.ts (every 0.2 s), and the origin's `sleep 3` loop; the
 *     daemon's own "API listen on" log line is the moment it was ready.
 * (b) a ~400 MB image (the dind test image) into one daemon with /var/lib/docker on a volume:
 *     pulled through the TLS registry mirror vs `docker load` of the same image, interleaved.
 * (c) `docker run` of that image in a daemon with /var/lib/docker on a volume vs on the
 *     container's own root filesystem (what a pod without a volume there gets), interleaved;
 *     the storage driver each daemon picked is reported.
 *
 * Rounds (default 8 for a, 3 for b and c) can be set with BENCH_ROUNDS. About 2.5 minutes here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import { daemonReadyCommand, dockerdArgs, waitForDaemonScript } from "../../components/daemon";
import { E2eRun, containerLogs, execIn, sleep, until, withTimeout } from "../e2e/support/e2eRun";
import { privilegedHostConfig, testImages } from "../e2e/support/engine";
import { HelperDaemon, TestRegistry, createScenarioNetwork, startRegistry } from "../e2e/support/registryFixture";
import { TestCa } from "../e2e/support/pki";
import { createTar, tarFileHeader, tarTrailer } from "../e2e/support/tar";

const ROUNDS_A = Number(process.env.BENCH_ROUNDS ?? 8);
const ROUNDS_BC = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const BIG = testImages.dind;
const BIG_MIRRORED = "pulumi-dind-bench/big:latest";

const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/** dockerd's own timestamp of a log line (time="..."), in ms since the epoch. */
function logTime(logs: string, pattern: RegExp): number | undefined {
    const line = logs.split("\n").find((l) => pattern.test(l));
    const stamp = line && /time="([^"]+)"/.exec(line)?.[1];
    return stamp ? Date.parse(stamp) : undefined;
}

async function timed(what: string, action: () => Promise<{ exitCode: number; stderr: string; stdout: string }>): Promise<number> {
    const started = Date.now();
    const result = await action();
    if (result.exitCode !== 0) {
        throw new Error(`${what} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
    }
    return Date.now() - started;
}

/** A dind container for the bench: data on a volume (or on its root filesystem), optional CA trust and files. */
async function benchDaemon(
    run: E2eRun,
    name: string,
    options: { network?: string; dataOnVolume: boolean; trust?: { host: string; caPem: string }; mirror?: string; imagesVolume?: string },
): Promise<Docker.Container> {
    const args = dockerdArgs({ transport: "unix", registryMirrors: options.mirror ? [options.mirror] : [], insecureRegistries: [], extraArgs: [] });
    const mounts: Docker.MountSettings[] = [{ Type: "tmpfs", Target: "/var/run/dind" } as Docker.MountSettings];
    if (options.dataOnVolume) {
        mounts.push({ Type: "volume", Source: await run.createVolume(run.name(`${name}-data`)), Target: "/var/lib/docker" });
    } else {
        // The image declares VOLUME /var/lib/docker (Docker would give it an anonymous volume, Kubernetes
        // would not): point dockerd at a directory of the container's own root filesystem instead.
        args.push("--data-root=/var/lib/docker-rootfs");
    }
    if (options.imagesVolume) {
        mounts.push({ Type: "volume", Source: options.imagesVolume, Target: "/images", ReadOnly: true });
    }
    const container = await run.createContainer({
        name: run.name(name),
        Image: testImages.dind,
        Cmd: args,
        Env: ["DOCKER_HOST=unix:///var/run/dind/docker.sock"],
        HostConfig: { ...privilegedHostConfig(), NetworkMode: options.network ?? "bridge", Mounts: mounts },
    });
    if (options.trust) {
        await container.putArchive(createTar([{ path: `etc/docker/certs.d/${options.trust.host}/ca.crt`, content: Buffer.from(options.trust.caPem) }]), { path: "/" });
    }
    await container.start();
    await until(`${name} to answer`, 60_000, async () => {
        if (!(await container.inspect()).State.Running) {
            throw Object.assign(new Error(`${name} exited:\n${(await containerLogs(container)).slice(-2000)}`), { fatal: true });
        }
        return (await execIn(container, daemonReadyCommand(), { timeoutMs: 5000 })).exitCode === 0 ? true : undefined;
    }, 200);
    return container;
}

const sh = (container: Docker.Container, script: string, timeoutMs = 300_000) => execIn(container, ["sh", "-c", script], { timeoutMs });

// ---------------------------------------------------------------------------------------------
// (a) readiness noticed
// ---------------------------------------------------------------------------------------------

async function benchReadiness(run: E2eRun): Promise<{ probe: number[]; wait: number[]; origin: number[]; ready: number[] }> {
    const out = { probe: [] as number[], wait: [] as number[], origin: [] as number[], ready: [] as number[] };
    const originLoop = "docker info >/dev/null 2>&1; while [ $? -ne 0 ] ; do sleep 3; docker info >/dev/null 2>&1; done";
    for (let round = 0; round < ROUNDS_A; round++) {
        const socket = await run.createVolume(run.name(`a${round}-socket`), { Driver: "local", DriverOpts: { type: "tmpfs", device: "tmpfs", o: "size=1m" } });
        const data = await run.createVolume(run.name(`a${round}-data`));
        const socketMount = { Type: "volume", Source: socket, Target: "/var/run/dind" } as Docker.MountSettings;
        const env = ["DOCKER_HOST=unix:///var/run/dind/docker.sock"];
        const dind = await run.createContainer({
            name: run.name(`a${round}-dind`),
            Image: testImages.dind,
            Cmd: dockerdArgs({ transport: "unix", registryMirrors: [], insecureRegistries: [], extraArgs: [] }),
            Env: env,
            HostConfig: { ...privilegedHostConfig(), Mounts: [socketMount, { Type: "volume", Source: data, Target: "/var/lib/docker" }] },
        });
        // The two clients print when they noticed the daemon (host clock: same kernel).
        const client = async (label: string, script: string) =>
            run.createContainer({
                name: run.name(`a${round}-${label}`),
                Image: testImages.dind,
                Entrypoint: ["/bin/sh", "-c"],
                Cmd: [`${script}\ndate +%s.%N`],
                Env: env,
                HostConfig: { Mounts: [socketMount] },
            });
        const waiter = await client("wait", waitForDaemonScript(120));
        const origin = await client("origin", originLoop);
        // As in the origin's pod, nothing orders the containers: here the clients are up and
        // polling before the daemon starts, so each one's own loop decides when it notices.
        await Promise.all([waiter.start(), origin.start()]);
        await sleep(500 + Math.random() * 3000);
        await dind.start();
        // The kubelet's startup probe as DindDeployment declares it: periodSeconds 1, first probe at once.
        let probeNoticed: number | undefined;
        for (let attempt = 0; attempt < 120 && probeNoticed === undefined; attempt++) {
            const tick = Date.now();
            const result = await execIn(dind, daemonReadyCommand(), { timeoutMs: 5000 }).catch(() => undefined);
            if (result?.exitCode === 0) {
                probeNoticed = Date.now();
            } else {
                await sleep(Math.max(0, 1000 - (Date.now() - tick)));
            }
        }
        const noticed = async (container: Docker.Container) => {
            await withTimeout(container.wait(), 60_000, "client to notice the daemon");
            return Math.round(Number((await containerLogs(container)).trim().split("\n").pop()) * 1000);
        };
        const [waitNoticed, originNoticed] = await Promise.all([noticed(waiter), noticed(origin)]);
        const ready = logTime(await containerLogs(dind), /API listen on \/var\/run\/dind\/docker\.sock/);
        const started = Date.parse((await dind.inspect()).State.StartedAt);
        if (!ready || !probeNoticed) {
            throw new Error("round without a readiness time");
        }
        out.ready.push(ready - started);
        out.probe.push(probeNoticed - ready);
        out.wait.push(waitNoticed - ready);
        out.origin.push(originNoticed - ready);
        console.log(
            `  (a) round ${round + 1}: dockerd ready ${fmt(ready - started)} after start; noticed by probe +${fmt(probeNoticed - ready)}, ` +
                `wait script +${fmt(waitNoticed - ready)}, origin loop +${fmt(originNoticed - ready)}`,
        );
        for (const container of [waiter, origin, dind]) await run.removeContainer(container.id);
        for (const volume of [socket, data]) await run.docker.getVolume(volume).remove({ force: true });
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// (b) and (c): a large image
// ---------------------------------------------------------------------------------------------

/** `docker save` of a host image into a volume as /big.tar, streamed (no 400 MB buffer). */
async function imageTarVolume(run: E2eRun, image: string): Promise<{ volume: string; bytes: number }> {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-bench-")), "big.tar");
    try {
        const stream = await run.docker.getImage(image).get();
        await new Promise<void>((resolve, reject) => {
            const out = fs.createWriteStream(file);
            stream.pipe(out);
            out.on("finish", resolve);
            stream.on("error", reject);
            out.on("error", reject);
        });
        const bytes = fs.statSync(file).size;
        const volume = await run.createVolume(run.name("big-tar"));
        const helper = await run.createContainer({
            name: run.name("big-tar-writer"),
            Image: testImages.busybox,
            Cmd: ["true"],
            HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/images" }] },
        });
        const archive = new PassThrough();
        archive.write(tarFileHeader("big.tar", bytes));
        const source = fs.createReadStream(file);
        source.on("end", () => archive.end(tarTrailer(bytes)));
        source.pipe(archive, { end: false });
        await helper.putArchive(archive, { path: "/images" });
        await run.removeContainer(helper.id);
        return { volume, bytes };
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
}

async function benchLargeImage(run: E2eRun) {
    const network = await createScenarioNetwork(run, "bench-net");
    const ca = TestCa.create("bench registry CA");
    let registry: TestRegistry | undefined;
    try {
        registry = await startRegistry(run, { network, alias: "registry.bench.svc", ca });
        const mirror = `https://${registry.host}`;
        const trust = { host: registry.host, caPem: ca.certPem };

        console.log(`  preparing: docker save ${BIG} into a volume, and push it to the mirror as ${BIG_MIRRORED.replace(/^[^/]+\//, "library/")}…`);
        const tar = await imageTarVolume(run, BIG);
        const pusher = await HelperDaemon.start(run, { network, trust: [trust], name: "bench-pusher" });
        try {
            await pusher.waitForRegistry(registry.host);
            await pusher.loadHostImage(BIG);
            const target = `${registry.host}/library/big:latest`;
            const pushed = await pusher.sh(`docker tag ${BIG} ${target} && docker push ${target} >/dev/null`, 600_000);
            if (pushed.exitCode !== 0) throw new Error(`push failed: ${pushed.stderr}`);
        } finally {
            await pusher.remove();
        }

        // (b) pull through the mirror vs load, one daemon, data on a volume, interleaved.
        const daemon = await benchDaemon(run, "b-dind", { network, dataOnVolume: true, trust, mirror, imagesVolume: tar.volume });
        const pulls: number[] = [];
        const loads: number[] = [];
        const clean = "docker rmi -f big:latest " + BIG + " >/dev/null 2>&1; docker image prune -af >/dev/null 2>&1; true";
        for (let round = 0; round < ROUNDS_BC; round++) {
            await sh(daemon, clean);
            pulls.push(await timed("pull", () => sh(daemon, "docker pull -q big:latest >/dev/null")));
            await sh(daemon, clean);
            loads.push(await timed("load", () => sh(daemon, "docker load -q -i /images/big.tar >/dev/null")));
            console.log(`  (b) round ${round + 1}: pull through the mirror ${fmt(pulls[round])}, docker load ${fmt(loads[round])}`);
        }
        const registryLog = await containerLogs(registry.container);
        if (!/GET \/v2\/library\/big\/blobs\//.test(registryLog)) {
            throw new Error("the pulls did not go through the mirror");
        }
        await run.removeContainer(daemon.id);

        // (c) docker run with /var/lib/docker on a volume vs on the container's root filesystem.
        const onVolume = await benchDaemon(run, "c-volume", { dataOnVolume: true, imagesVolume: tar.volume });
        const onRootfs = await benchDaemon(run, "c-rootfs", { dataOnVolume: false, imagesVolume: tar.volume });
        const driver = async (c: Docker.Container) => (await sh(c, "docker info -f '{{.Driver}}'")).stdout.trim();
        const drivers = { volume: await driver(onVolume), rootfs: await driver(onRootfs) };
        const loadVolume = await timed("load (volume)", () => sh(onVolume, "docker load -q -i /images/big.tar >/dev/null", 600_000));
        const loadRootfs = await timed("load (rootfs)", () => sh(onRootfs, "docker load -q -i /images/big.tar >/dev/null", 600_000));
        console.log(`  (c) load: on a volume (${drivers.volume}) ${fmt(loadVolume)}, on the root filesystem (${drivers.rootfs}) ${fmt(loadRootfs)}`);
        const runs = { volume: [] as number[], rootfs: [] as number[] };
        for (let round = 0; round < ROUNDS_BC; round++) {
            runs.volume.push(await timed("run (volume)", () => sh(onVolume, `docker run --rm ${BIG} true`)));
            runs.rootfs.push(await timed("run (rootfs)", () => sh(onRootfs, `docker run --rm ${BIG} true`)));
            console.log(`  (c) round ${round + 1}: docker run on a volume ${fmt(runs.volume[round])}, on the root filesystem ${fmt(runs.rootfs[round])}`);
        }
        return { bytes: tar.bytes, pulls, loads, drivers, loadVolume, loadRootfs, runs };
    } finally {
        ca.dispose();
    }
}

async function main(): Promise<void> {
    const run = await new E2eRun("bench").start();
    const interrupted = () => {
        console.log("interrupted: cleaning up");
        run.cleanup().finally(() => process.exit(130));
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    const began = Date.now();
    try {
        console.log(`(a) daemon ready → client noticing it, ${ROUNDS_A} fresh dind starts`);
        const a = await benchReadiness(run);
        console.log(`(b)+(c) a ${BIG} image, ${ROUNDS_BC} rounds each, interleaved`);
        const big = await benchLargeImage(run);

        const rows: [string, string, string, string][] = [
            ["(a) dockerd start → API listening", fmt(median(a.ready)), "", ""],
            ["(a) noticed by startupProbe (period 1 s)", `+${fmt(median(a.probe))}`, "origin sleep-3 loop", `+${fmt(median(a.origin))}`],
            ["(a) noticed by client wait (0.2 s)", `+${fmt(median(a.wait))}`, "origin sleep-3 loop", `+${fmt(median(a.origin))}`],
            [`(b) pull via TLS mirror (${Math.round(big.bytes / 2 ** 20)} MB)`, fmt(median(big.pulls)), "docker load", fmt(median(big.loads))],
            [`(c) docker run, data on volume (${big.drivers.volume})`, fmt(median(big.runs.volume)), `on rootfs (${big.drivers.rootfs})`, fmt(median(big.runs.rootfs))],
            [`(c) docker load, data on volume (${big.drivers.volume})`, fmt(big.loadVolume), `on rootfs (${big.drivers.rootfs})`, fmt(big.loadRootfs)],
        ];
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
        console.log("\nmedians");
        for (const row of rows) console.log("  " + row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
        const ratio = (x: number, y: number) => (y === 0 ? "n/a" : (x / y).toFixed(2));
        console.log("\nratios");
        console.log(`  (a) origin loop delay / startupProbe delay:  ${ratio(median(a.origin), median(a.probe))}x`);
        console.log(`  (a) origin loop delay / wait-script delay:   ${ratio(median(a.origin), median(a.wait))}x`);
        console.log(
            `      (a) mean / max delay: probe ${fmt(mean(a.probe))} / ${fmt(Math.max(...a.probe))}, wait script ${fmt(mean(a.wait))} / ${fmt(Math.max(...a.wait))}, ` +
                `origin loop ${fmt(mean(a.origin))} / ${fmt(Math.max(...a.origin))}`,
        );
        console.log(`  (b) docker load / pull through TLS mirror:   ${ratio(median(big.loads), median(big.pulls))}x`);
        console.log(`  (c) docker run, ${big.drivers.rootfs} on rootfs / ${big.drivers.volume} on volume:  ${ratio(median(big.runs.rootfs), median(big.runs.volume))}x`);
        console.log(`  (c) docker load, ${big.drivers.rootfs} on rootfs / ${big.drivers.volume} on volume: ${ratio(big.loadRootfs, big.loadVolume)}x`);
        console.log(`\nbench took ${fmt(Date.now() - began)}`);
    } finally {
        await run.cleanup();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
