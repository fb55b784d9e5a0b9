/**
 * Side-by-side figures on the real engine, printed as ratios (not a test: nothing is asserted
 * about time). Run with `npx ts-node test/bench/figures.ts`; about 2.5 minutes on 2 cores.
 *
 * (a) daemon ready → client noticing it, against one fresh dind start per round: the
 *     startup probe as DindDeployment declares it (exec `docker info` every 1 s), the client's
 *     bounded wait script from daemon.ts (every 0.2 s), and a hand-written `sleep 3` loop; the
 *     daemon's own "API listen on" log line is the moment it was ready.
 * (b) a ~400 MB image (the dind test image) into one daemon with /var/lib/docker on a volume,
 *     interleaved in each round: a pull through a pull-through mirror that does not have it
 *     yet (a miss: a fresh mirror fetches it from its private upstream over TLS, trusting the
 *     upstream's CA as `upstreamCaCertPem` sets it up), the same pull again (a hit: served from
 *     the mirror's storage), the same pull with the image still in the store (a StatefulSet
 *     replica's warm cache), and `docker load` of the same image. Where the time goes, in the
 *     same daemon: the layer blob fetched with curl from the mirror over TLS and from a plain
 *     HTTP registry over the same storage, and decompressed with unpigz as dockerd does.
 * (c) `docker run` of that image in a daemon with /var/lib/docker on a volume vs on the
 *     container's own root filesystem (what a pod without a volume there gets), interleaved;
 *     the storage driver each daemon picked is reported.
 *
 * Rounds (default 8 for a, 3 for b and c) can be set with BENCH_ROUNDS, and BENCH_ONLY=a,b,c
 * runs some parts only. About 5 minutes here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PassThrough } from "stream";
import Docker from "dockerode";
import { daemonReadyCommand, dockerdArgs, waitForDaemonScript } from "../../components/daemon";
import { REGISTRY_UPSTREAM_CA_DIR, UPSTREAM_CA_FILE, UPSTREAM_SSL_CERT_DIR } from "../../components/registrySettings";
import { E2eRun, containerLogs, execIn, sleep, until, withTimeout } from "../e2e/support/e2eRun";
import { privilegedHostConfig, testImages } from "../e2e/support/engine";
import { HelperDaemon, createScenarioNetwork, startRegistry } from "../e2e/support/registryFixture";
import { TestCa } from "../e2e/support/pki";
import { countMatches as count } from "../e2e/support/scenario";
import { createTar, tarFileHeader, tarTrailer } from "../e2e/support/tar";

const ROUNDS_A = Number(process.env.BENCH_ROUNDS ?? 8);
const ROUNDS_BC = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const ONLY = new Set((process.env.BENCH_ONLY ?? "a,b,c").split(",").map((part) => part.trim()));
const BIG = testImages.dind;
const BIG_REPOSITORY = "library/big";

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
    const args = dockerdArgs("unix", { registryMirrors: options.mirror ? [options.mirror] : [], registries: [], extraDockerdArgs: [] });
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

async function benchReadiness(run: E2eRun): Promise<{ probe: number[]; wait: number[]; sleepLoop: number[]; ready: number[] }> {
    const out = { probe: [] as number[], wait: [] as number[], sleepLoop: [] as number[], ready: [] as number[] };
    const SLEEP_3_LOOP = "docker info >/dev/null 2>&1; while [ $? -ne 0 ] ; do sleep 3; docker info >/dev/null 2>&1; done";
    for (let round = 0; round < ROUNDS_A; round++) {
        const socket = await run.createVolume(run.name(`a${round}-socket`), { Driver: "local", DriverOpts: { type: "tmpfs", device: "tmpfs", o: "size=1m" } });
        const data = await run.createVolume(run.name(`a${round}-data`));
        const socketMount = { Type: "volume", Source: socket, Target: "/var/run/dind" } as Docker.MountSettings;
        const env = ["DOCKER_HOST=unix:///var/run/dind/docker.sock"];
        const dind = await run.createContainer({
            name: run.name(`a${round}-dind`),
            Image: testImages.dind,
            Cmd: dockerdArgs("unix", { registryMirrors: [], registries: [], extraDockerdArgs: [] }),
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
        const sleepLoop = await client("sleep-3-loop", SLEEP_3_LOOP);
        // As in a hand-written dind pod, nothing orders the containers: here the clients are up and
        // polling before the daemon starts, so each one's own loop decides when it notices.
        await Promise.all([waiter.start(), sleepLoop.start()]);
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
        const [waitNoticed, sleepLoopNoticed] = await Promise.all([noticed(waiter), noticed(sleepLoop)]);
        const ready = logTime(await containerLogs(dind), /API listen on \/var\/run\/dind\/docker\.sock/);
        const started = Date.parse((await dind.inspect()).State.StartedAt);
        if (!ready || !probeNoticed) {
            throw new Error("round without a readiness time");
        }
        out.ready.push(ready - started);
        out.probe.push(probeNoticed - ready);
        out.wait.push(waitNoticed - ready);
        out.sleepLoop.push(sleepLoopNoticed - ready);
        console.log(
            `  (a) round ${round + 1}: dockerd ready ${fmt(ready - started)} after start; noticed by probe +${fmt(probeNoticed - ready)}, ` +
                `wait script +${fmt(waitNoticed - ready)}, sleep-3 loop +${fmt(sleepLoopNoticed - ready)}`,
        );
        for (const container of [waiter, sleepLoop, dind]) await run.removeContainer(container.id);
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

/** Milliseconds `script` takes inside `container`, timed there (no exec round trip). */
async function timedInside(container: Docker.Container, what: string, script: string): Promise<number> {
    const result = await sh(container, `t0=$(date +%s%N); ${script}; rc=$?; t1=$(date +%s%N); [ $rc -eq 0 ] && echo $(( (t1 - t0) / 1000000 ))`);
    const ms = Number(result.stdout.trim().split("\n").pop());
    if (result.exitCode !== 0 || !Number.isFinite(ms)) {
        throw new Error(`${what} failed (${result.exitCode}): ${result.stderr || result.stdout}`);
    }
    return ms;
}

interface MirrorFigures {
    bytes: number;
    layers: number;
    layerBytes: number;
    misses: number[];
    hits: number[];
    loads: number[];
    /** The layer blob: fetched over TLS from the mirror's cache, over plain HTTP from the same kind of storage, decompressed. */
    fetchTls: number[];
    fetchHttp: number[];
    gunzip: number[];
    /** The same pull again with the image in the store: a StatefulSet replica's warm cache. */
    warm: number[];
    /** The image archive unpacked onto the data volume: what `docker load` does before it applies the layers. */
    unpack: number[];
}

/**
 * (b): the upstream (private, TLS) holds the image; each round starts a fresh mirror of it, so
 * the first pull is a miss and the second a hit, then loads the same image from a tar.
 */
async function benchMirror(run: E2eRun, tar: { volume: string; bytes: number }): Promise<MirrorFigures> {
    const network = await createScenarioNetwork(run, "bench-net");
    const ca = TestCa.create("bench registry CA");
    try {
        const upstreamVolume = await run.createVolume(run.name("upstream-data"));
        const upstream = await startRegistry(run, { network, alias: "upstream.bench.svc", ca, volume: upstreamVolume, name: "upstream" });
        // The same storage served without TLS, to price TLS on the same blob.
        const plain = await run.createContainer({
            name: run.name("plain-registry"),
            Image: testImages.registry,
            Env: ["OTEL_TRACES_EXPORTER=none"],
            HostConfig: { NetworkMode: network, Mounts: [{ Type: "volume", Source: upstreamVolume, Target: "/var/lib/registry" }] },
            NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["plain.bench.svc"] } } },
        });
        await plain.start();
        const mirrorAlias = "mirror.bench.svc";
        const mirrorHost = `${mirrorAlias}:5000`;
        const trust = { host: mirrorHost, caPem: ca.certPem };

        console.log(`  preparing: push ${BIG} to the upstream as ${BIG_REPOSITORY}:latest…`);
        const pusher = await HelperDaemon.start(run, { network, trust: [{ host: upstream.host, caPem: ca.certPem }], name: "bench-pusher" });
        try {
            await pusher.waitForRegistry(upstream.host);
            await pusher.loadHostImage(BIG);
            const target = `${upstream.host}/${BIG_REPOSITORY}:latest`;
            const pushed = await pusher.sh(`docker tag ${BIG} ${target} && docker push ${target} >/dev/null`, 600_000);
            if (pushed.exitCode !== 0) throw new Error(`push failed: ${pushed.stderr}`);
        } finally {
            await pusher.remove();
        }

        const daemon = await benchDaemon(run, "b-dind", { network, dataOnVolume: true, trust, mirror: `https://${mirrorHost}`, imagesVolume: tar.volume });
        const cacert = `--cacert /etc/docker/certs.d/${mirrorHost}/ca.crt`;
        const manifest = JSON.parse(
            (await sh(daemon, `curl -sSf ${cacert} -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${upstream.host}/v2/${BIG_REPOSITORY}/manifests/latest`)).stdout,
        );
        const layers: { digest: string; size: number }[] = manifest.layers;
        const biggest = [...layers].sort((x, y) => y.size - x.size)[0];
        const blobPath = `/v2/${BIG_REPOSITORY}/blobs/${biggest.digest}`;
        const unpigz = (await sh(daemon, "command -v unpigz")).stdout.trim();

        const out: MirrorFigures = { bytes: tar.bytes, layers: layers.length, layerBytes: biggest.size, misses: [], hits: [], warm: [], loads: [], fetchTls: [], fetchHttp: [], gunzip: [], unpack: [] };
        const clean = `docker rmi -f big:latest ${BIG} >/dev/null 2>&1; docker image prune -af >/dev/null 2>&1; true`;
        for (let round = 0; round < ROUNDS_BC; round++) {
            // A fresh mirror (its cache on an anonymous volume removed with it), as LocalRegistry declares one.
            const mirror = await startRegistry(run, {
                network,
                alias: mirrorAlias,
                ca,
                name: `mirror-${round}`,
                env: [`REGISTRY_PROXY_REMOTEURL=https://${upstream.host}`, `SSL_CERT_DIR=${UPSTREAM_SSL_CERT_DIR}`],
                files: [{ path: `${REGISTRY_UPSTREAM_CA_DIR.slice(1)}/${UPSTREAM_CA_FILE}`, content: Buffer.from(ca.certPem) }],
            });
            await until("the mirror to answer", 60_000, async () =>
                (await sh(daemon, `curl -sf --max-time 3 ${cacert} https://${mirrorHost}/ -o /dev/null`, 10_000)).exitCode === 0 ? true : undefined,
            );
            await sh(daemon, clean);
            out.misses.push(await timed("pull (miss)", () => sh(daemon, "docker pull -q big:latest >/dev/null")));
            // The mirror commits what it streamed just after the response; wait for it so the next pull is a hit.
            const stored = `/var/lib/registry/docker/registry/v2/blobs/sha256/${biggest.digest.slice(7, 9)}/${biggest.digest.slice(7)}/data`;
            await until("the mirror to have stored the layer", 60_000, async () =>
                (await execIn(mirror.container, ["sh", "-c", `[ "$(stat -c %s ${stored} 2>/dev/null)" = ${biggest.size} ]`])).exitCode === 0 ? true : undefined, 250);
            await sh(daemon, clean);
            out.hits.push(await timed("pull (hit)", () => sh(daemon, "docker pull -q big:latest >/dev/null")));
            // What a new pod of a StatefulSet replica does: the image is on its claim already, only the manifest is asked for.
            out.warm.push(await timed("pull (warm cache)", () => sh(daemon, "docker pull -q big:latest >/dev/null")));
            await sh(daemon, clean);
            out.loads.push(await timed("load", () => sh(daemon, "docker load -q -i /images/big.tar >/dev/null")));
            out.fetchTls.push(await timedInside(daemon, "fetch over TLS", `curl -sSf ${cacert} https://${mirrorHost}${blobPath} -o /dev/null`));
            out.fetchHttp.push(await timedInside(daemon, "fetch over HTTP", `curl -sSf http://plain.bench.svc:5000${blobPath} -o /dev/null`));
            await sh(daemon, `curl -sSf http://plain.bench.svc:5000${blobPath} -o /tmp/layer.gz`);
            out.gunzip.push(await timedInside(daemon, "decompress", `${unpigz || "gzip"} -dc /tmp/layer.gz >/dev/null`));
            await sh(daemon, "rm -f /tmp/layer.gz; rm -rf /var/lib/docker/tmp/bench-unpack && mkdir -p /var/lib/docker/tmp/bench-unpack");
            out.unpack.push(await timedInside(daemon, "unpack", "tar -xf /images/big.tar -C /var/lib/docker/tmp/bench-unpack"));
            await sh(daemon, "rm -rf /var/lib/docker/tmp/bench-unpack");
            const mirrorLog = await containerLogs(mirror.container);
            if (count(mirrorLog, new RegExp(`GET /v2/${BIG_REPOSITORY}/blobs/`)) < 2) {
                throw new Error("the pulls did not go through the mirror");
            }
            await run.removeContainer(mirror.container.id);
            console.log(
                `  (b) round ${round + 1}: miss ${fmt(out.misses[round])}, hit ${fmt(out.hits[round])}, warm cache ${fmt(out.warm[round])}, docker load ${fmt(out.loads[round])}; ` +
                    `layer fetched over TLS ${fmt(out.fetchTls[round])}, over HTTP ${fmt(out.fetchHttp[round])}, decompressed (${unpigz ? "unpigz" : "gzip"}) ${fmt(out.gunzip[round])}; ` +
                    `archive unpacked ${fmt(out.unpack[round])}`,
            );
        }
        await run.removeContainer(daemon.id);
        await run.removeContainer(plain.id);
        await run.removeContainer(upstream.container.id);
        return out;
    } finally {
        ca.dispose();
    }
}

/** (c) docker run with /var/lib/docker on a volume vs on the container's root filesystem. */
async function benchStorage(run: E2eRun, tar: { volume: string; bytes: number }) {
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
    await run.removeContainer(onVolume.id);
    await run.removeContainer(onRootfs.id);
    return { drivers, loadVolume, loadRootfs, runs };
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
        const rows: [string, string, string, string][] = [];
        const ratios: string[] = [];
        const ratio = (x: number, y: number) => (y === 0 ? "n/a" : (x / y).toFixed(2));
        if (ONLY.has("a")) {
            console.log(`(a) daemon ready → client noticing it, ${ROUNDS_A} fresh dind starts`);
            const a = await benchReadiness(run);
            rows.push(
                ["(a) dockerd start → API listening", fmt(median(a.ready)), "", ""],
                ["(a) noticed by startupProbe (period 1 s)", `+${fmt(median(a.probe))}`, "sleep-3 loop", `+${fmt(median(a.sleepLoop))}`],
                ["(a) noticed by client wait (0.2 s)", `+${fmt(median(a.wait))}`, "sleep-3 loop", `+${fmt(median(a.sleepLoop))}`],
            );
            ratios.push(
                `(a) sleep-3 loop delay / startupProbe delay:  ${ratio(median(a.sleepLoop), median(a.probe))}x`,
                `(a) sleep-3 loop delay / wait-script delay:   ${ratio(median(a.sleepLoop), median(a.wait))}x`,
                `    (a) mean / max delay: probe ${fmt(mean(a.probe))} / ${fmt(Math.max(...a.probe))}, wait script ${fmt(mean(a.wait))} / ${fmt(Math.max(...a.wait))}, ` +
                    `sleep-3 loop ${fmt(mean(a.sleepLoop))} / ${fmt(Math.max(...a.sleepLoop))}`,
            );
        }
        if (ONLY.has("b") || ONLY.has("c")) {
            console.log(`  preparing: docker save ${BIG} into a volume…`);
            const tar = await imageTarVolume(run, BIG);
            const mb = Math.round(tar.bytes / 2 ** 20);
            if (ONLY.has("b")) {
                console.log(`(b) a ${BIG} image (${mb} MB): mirror miss, mirror hit and docker load, ${ROUNDS_BC} rounds, interleaved`);
                const b = await benchMirror(run, tar);
                const [miss, hit, load] = [median(b.misses), median(b.hits), median(b.loads)];
                rows.push(
                    [`(b) pull, mirror miss (${mb} MB)`, fmt(miss), "docker load", fmt(load)],
                    [`(b) pull, mirror hit (${mb} MB)`, fmt(hit), "docker load", fmt(load)],
                    [`(b) layer blob (${Math.round(b.layerBytes / 2 ** 20)} MB gzip) over TLS`, fmt(median(b.fetchTls)), "over HTTP", fmt(median(b.fetchHttp))],
                    ["(b) the layer decompressed", fmt(median(b.gunzip)), "the archive unpacked (load's first step)", fmt(median(b.unpack))],
                );
                ratios.push(
                    `(b) mirror hit / docker load:                ${ratio(hit, load)}x`,
                    `(b) mirror miss / docker load:               ${ratio(miss, load)}x`,
                    `(b) mirror miss / mirror hit:                ${ratio(miss, hit)}x`,
                    `(b) warm cache (a StatefulSet replica's claim) / cold pull through the mirror (hit): ${ratio(median(b.warm), hit)}x, / a miss: ${ratio(median(b.warm), miss)}x`,
                    `    (b) where the time goes: hit - load = ${fmt(hit - load)}; the layer's transfer alone takes ${fmt(median(b.fetchTls))} ` +
                        `(TLS adds ${fmt(median(b.fetchTls) - median(b.fetchHttp))} to it), decompressing it ${fmt(median(b.gunzip))}; ` +
                        `a load first unpacks the whole archive (${fmt(median(b.unpack))}), a pull writes only the compressed layer before applying it; ` +
                        `${b.layers} layer(s), so max-concurrent-downloads ${b.layers > 1 ? "applies" : "has nothing to run in parallel"}`,
                );
            }
            if (ONLY.has("c")) {
                console.log(`(c) a ${BIG} image (${mb} MB), ${ROUNDS_BC} rounds, interleaved`);
                const c = await benchStorage(run, tar);
                rows.push(
                    [`(c) docker run, data on volume (${c.drivers.volume})`, fmt(median(c.runs.volume)), `on rootfs (${c.drivers.rootfs})`, fmt(median(c.runs.rootfs))],
                    [`(c) docker load, data on volume (${c.drivers.volume})`, fmt(c.loadVolume), `on rootfs (${c.drivers.rootfs})`, fmt(c.loadRootfs)],
                );
                ratios.push(
                    `(c) docker run, ${c.drivers.rootfs} on rootfs / ${c.drivers.volume} on volume:  ${ratio(median(c.runs.rootfs), median(c.runs.volume))}x`,
                    `(c) docker load, ${c.drivers.rootfs} on rootfs / ${c.drivers.volume} on volume: ${ratio(c.loadRootfs, c.loadVolume)}x`,
                );
            }
        }
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
        console.log("\nmedians");
        for (const row of rows) console.log("  " + row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
        console.log("\nratios");
        for (const line of ratios) console.log(`  ${line}`);
        console.log(`\nbench took ${fmt(Date.now() - began)}`);
    } finally {
        await run.cleanup();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
