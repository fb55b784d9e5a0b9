/**
 * LocalRegistry's `mode: "mirror"` end to end, on a real engine. Docker Hub is unreachable
 * here, so the upstream is a private LocalRegistry on the scenario's own network, with a
 * certificate from its own CA, and the mirror trusts that CA through `upstreamCaCertPem`:
 *
 *   upstream (private, holds library/busybox:latest) ← mirror (pull-through) ← LocalDind
 *
 * all three declared by the components in one capture and applied as the Docker provider
 * would. Scenarios: a miss fetched from the upstream, a hit served from the cache while the
 * upstream is stopped, an image nobody has failing with the registry's message, the cache
 * kept across a restart of the mirror, and `cacheTtl` (proxy.ttl).
 *
 * Start order: distribution (2.8 and the registry this tier runs) pings its upstream when it
 * starts and panics when that fails. The applier starts the containers in the order the
 * program declares them and waits for each to be healthy, so the upstream is up before the
 * mirror starts; a restart of the mirror is done while the upstream is up; and one scenario
 * shows what happens when the mirror has to start without its upstream.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { capture, valueOf } from "../harness";
import { LocalDind } from "../../components/localDind";
import { LocalRegistry } from "../../components/localRegistry";
import { DEFAULT_REGISTRY_IMAGE } from "../../components/registrySettings";
import { AppliedDocker, applyDocker } from "./support/dockerApplier";
import { E2eRun, ExecResult, containerLogs, execIn, until } from "./support/e2eRun";
import { testImages } from "./support/engine";
import { HelperDaemon } from "./support/registryFixture";
import { IMAGES, assertHostHasNoBusybox, countMatches as count, seconds } from "./support/scenario";

/** The expiring mirror's image: registry 3 (proxy.ttl), built from its Go module; the others run the tier's 2.8. */
const REGISTRY3_IMAGE = "registry:3.1.2";
const DOCKER_IMAGES = { ...IMAGES, [DEFAULT_REGISTRY_IMAGE]: testImages.registry, [REGISTRY3_IMAGE]: testImages.registry3 };
/** Every pull is bounded: a mirror that hangs fails the test instead of stalling it. */
const PULL_TIMEOUT_MS = 120_000;
const HEALTHY_TIMEOUT_MS = 120_000;
/** The TTL the expiring mirror is given; only registry 3 honours it (a timer per entry: any positive duration). */
const SHORT_TTL = "10s";
const STORAGE = "/var/lib/registry/docker/registry/v2";

const BLOB_GETS = /"GET \/v2\/library\/busybox\/blobs\/sha256:[0-9a-f]{64} HTTP\/[0-9.]+" 200/;

describe("e2e: LocalRegistry as a pull-through mirror of a private upstream", function () {
    let run: E2eRun;
    let applied: AppliedDocker | undefined;
    let helper: HelperDaemon | undefined;
    let socketDirectory: string;
    let upstream: Docker.Container;
    let mirror: Docker.Container;
    let expiring: Docker.Container;
    let daemon: Docker.Container;
    let mirrorHost: string;
    let expiringHost: string;
    let expiringCa: string;
    /** The pushed manifest's digest and the digests of the blobs it names (config and layers). */
    let manifestDigest: string;
    let blobDigests: string[];

    /** Runs the docker CLI in the daemon's container (a client of the nested daemon), bounded. */
    const client = (script: string, timeoutMs = PULL_TIMEOUT_MS): Promise<ExecResult> => execIn(daemon, ["sh", "-c", script], { timeoutMs });
    /** A shell in a registry's container, to look at its storage. */
    const inRegistry = async (container: Docker.Container, script: string): Promise<string> => {
        const result = await execIn(container, ["sh", "-c", script], { timeoutMs: 30_000 });
        assert.equal(result.exitCode, 0, result.stderr);
        return result.stdout.trim();
    };
    /** The blobs of busybox a registry holds in its storage (the layer and the config). */
    const storedBlobs = async (container: Docker.Container): Promise<string[]> => {
        const out = await inRegistry(container, `for d in ${blobDigests.map((d) => d.slice("sha256:".length)).join(" ")}; do f=${STORAGE}/blobs/sha256/$(echo $d | cut -c1-2)/$d/data; [ -s $f ] && echo sha256:$d; done; true`);
        return out ? out.split("\n") : [];
    };
    const healthy = (container: Docker.Container, what: string) =>
        until(what, HEALTHY_TIMEOUT_MS, async () => ((await container.inspect()).State.Health?.Status === "healthy" ? true : undefined), 250);
    const freshPull = async (image = "busybox:latest") => {
        await client(`docker rmi -f ${image} >/dev/null 2>&1; true`);
        const gone = await client(`docker image inspect ${image} >/dev/null 2>&1`);
        assert.notEqual(gone.exitCode, 0, `${image} is still in the daemon before the pull`);
        return client(`docker pull ${image}`);
    };

    before(async function () {
        run = await new E2eRun("mirror").start();
        await assertHostHasNoBusybox(run);
        socketDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-dind-e2e-mirror-"));
        let images!: LocalRegistry;
        let cache!: LocalRegistry;
        let ttlCache!: LocalRegistry;
        const captured = await capture(() => {
            // The upstream: a private registry with its own CA, as an internal registry of an air-gapped site.
            images = new LocalRegistry("upstream", { mode: "private", alias: "upstream" });
            const upstreamArgs = { networkName: images.networkName, upstream: `https://${images.registryHost}`, upstreamCaCertPem: images.caCertPem };
            cache = new LocalRegistry("mirror", { ...upstreamArgs, alias: "mirror" });
            ttlCache = new LocalRegistry("expiring", { ...upstreamArgs, alias: "expiring", cacheTtl: SHORT_TTL, image: REGISTRY3_IMAGE });
            new LocalDind("dind", { transport: "unix", socketDirectory, networkName: images.networkName, registry: cache });
        });
        applied = await applyDocker(captured, { run, images: DOCKER_IMAGES });
        upstream = applied.container("upstream-registry").container;
        mirror = applied.container("mirror-registry").container;
        expiring = applied.container("expiring-registry").container;
        daemon = applied.container("dind-dind").container;
        mirrorHost = cache.registryHost;
        expiringHost = ttlCache.registryHost;
        expiringCa = await valueOf(ttlCache.caCertPem);

        // Fill the upstream: busybox pushed from a helper daemon that trusts the upstream's CA (and the expiring mirror's, for scenario 5).
        const network = applied.nameOf(await valueOf(images.networkName));
        const upstreamCa = await valueOf(images.caCertPem);
        helper = await HelperDaemon.start(run, { network, trust: [{ host: images.registryHost, caPem: upstreamCa }, { host: expiringHost, caPem: expiringCa }], name: "pusher" });
        await helper.waitForRegistry(images.registryHost);
        manifestDigest = await helper.pushBusybox(images.registryHost);
        const manifest = JSON.parse(
            await helper.mustSh(
                `curl -sSf --cacert /etc/docker/certs.d/${images.registryHost}/ca.crt -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' ` +
                    `https://${images.registryHost}/v2/library/busybox/manifests/${manifestDigest}`,
            ),
        );
        blobDigests = [manifest.config.digest, ...manifest.layers.map((layer: { digest: string }) => layer.digest)];
    });

    after(async function () {
        await helper?.remove();
        await applied?.destroy();
        await run?.cleanup();
        if (socketDirectory) fs.rmSync(socketDirectory, { recursive: true, force: true });
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    it("starts trusting the upstream's private CA: the start-up ping passed over TLS", async function () {
        const env = (await mirror.inspect()).Config.Env;
        assert.ok(env.includes("REGISTRY_PROXY_REMOTEURL=https://upstream:5000"), env.join("\n"));
        assert.ok(env.includes("SSL_CERT_DIR=/etc/ssl/certs:/etc/distribution/upstream-ca"));
        const trusted = await inRegistry(mirror, "cat /etc/distribution/upstream-ca/ca.crt");
        assert.equal(trusted, (await inRegistry(expiring, "cat /etc/distribution/upstream-ca/ca.crt")), "both mirrors trust the same upstream CA");
        // Healthy (the applier waited for it) means it did not panic on the ping of https://upstream:5000/v2/.
        assert.equal((await mirror.inspect()).State.Health?.Status, "healthy");
        assert.deepEqual(await storedBlobs(mirror), [], "the cache starts empty");
    });

    it("(1) a miss: the first pull through the mirror is fetched from the upstream and cached", async function () {
        const started = Date.now();
        const upstreamBefore = count(await containerLogs(upstream), BLOB_GETS);
        const pulled = await freshPull();
        assert.equal(pulled.exitCode, 0, `pull failed:\n${pulled.stderr}\n--- mirror ---\n${(await containerLogs(mirror)).slice(-3000)}`);
        // Docker Hub is unreachable: the image can only have come through the mirror, and the mirror only from the upstream.
        const digest = (await client("docker image inspect -f '{{index .RepoDigests 0}}' busybox:latest")).stdout.trim();
        assert.equal(digest, `busybox@${manifestDigest}`, "the digest the upstream was given");
        const upstreamGets = count(await containerLogs(upstream), BLOB_GETS) - upstreamBefore;
        assert.ok(upstreamGets >= 1, "the upstream served the blobs to the mirror");
        assert.match(await containerLogs(mirror), /(GET|HEAD) \/v2\/library\/busybox\/manifests\/latest/, "the daemon asked the mirror");
        // The mirror stores what it proxied as it streams it; the write finishes just after the response.
        const cached = await until("the mirror to hold the blobs", 30_000, async () => {
            const stored = await storedBlobs(mirror);
            return stored.length === blobDigests.length ? stored : undefined;
        });
        assert.deepEqual(cached.sort(), [...blobDigests].sort());
        console.log(`      miss: ${upstreamGets} blob GET(s) on the upstream, ${cached.length} blobs now cached; ${seconds(started)} s`);
    });

    it("(2) a hit: with the upstream stopped, the image is served from the mirror's cache", async function () {
        const started = Date.now();
        await upstream.stop({ t: 10 });
        try {
            const upstreamDown = await helper!.sh(`curl -s --max-time 3 --cacert /etc/docker/certs.d/upstream:5000/ca.crt https://upstream:5000/v2/ -o /dev/null`);
            assert.notEqual(upstreamDown.exitCode, 0, "the upstream is unreachable");
            const pulled = await freshPull();
            assert.equal(pulled.exitCode, 0, `pull from the cache failed:\n${pulled.stderr}\n--- mirror ---\n${(await containerLogs(mirror)).slice(-3000)}`);
            assert.equal((await client("docker image inspect -f '{{index .RepoDigests 0}}' busybox:latest")).stdout.trim(), `busybox@${manifestDigest}`);
            const ran = await client("docker run --rm busybox:latest echo served-from-cache");
            assert.equal(ran.stdout.trim(), "served-from-cache", ran.stderr);
            console.log(`      hit with the upstream stopped; ${seconds(started)} s`);
        } finally {
            await upstream.start();
            await healthy(upstream, "the upstream healthy again");
        }
    });

    it("(3) an image the upstream never had fails with the registry's message, in bounded time", async function () {
        const started = Date.now();
        // By the mirror's own name the daemon asks only the mirror, which asks the upstream: its answer reaches the client.
        const direct = await client(`docker pull ${mirrorHost}/library/never-pushed:latest`, 60_000);
        assert.notEqual(direct.exitCode, 0);
        assert.match(direct.stderr, /manifest unknown/, direct.stderr);
        // As a Docker Hub name, the mirror says the same, and dockerd then tries Docker Hub (unreachable here).
        const mirrored = await client("docker pull never-pushed:latest", PULL_TIMEOUT_MS);
        assert.notEqual(mirrored.exitCode, 0);
        assert.match(await containerLogs(mirror), /GET \/v2\/library\/never-pushed\/manifests\/latest HTTP\/[0-9.]+" 404/, "the mirror answered 404");
        assert.match(await containerLogs(daemon), /Attempting next endpoint for pull after error: manifest unknown/, "dockerd logged the mirror's answer and moved on");
        console.log(`      by the mirror's name: ${direct.stderr.trim().split("\n").pop()}`);
        console.log(`      as a Docker Hub name: ${mirrored.stderr.trim().split("\n").pop()}; both in ${seconds(started)} s`);
    });

    it("(4) the mirror keeps its cache across a restart (done while the upstream is up)", async function () {
        const started = Date.now();
        await mirror.restart({ t: 30 });
        await healthy(mirror, "the mirror healthy after its restart");
        assert.deepEqual((await storedBlobs(mirror)).sort(), [...blobDigests].sort(), "the blobs are still on the volume");
        await upstream.stop({ t: 10 });
        try {
            const pulled = await freshPull();
            assert.equal(pulled.exitCode, 0, `pull from the cache after a restart failed:\n${pulled.stderr}`);
            console.log(`      cache kept across a restart, served with the upstream stopped; ${seconds(started)} s`);
        } finally {
            await upstream.start();
            await healthy(upstream, "the upstream healthy again");
        }
    });

    it("start order: a mirror that starts while its upstream is down comes up once the upstream is back", async function () {
        const started = Date.now();
        await upstream.stop({ t: 10 });
        let crashed = false;
        try {
            await mirror.restart({ t: 30 });
            // distribution pings the upstream at start; 2.8 panics when the ping fails, and the
            // container's restart policy (unless-stopped) starts it again and again.
            crashed = await until("the mirror to fail its start or turn healthy", 60_000, async () => {
                const info = await mirror.inspect();
                if (info.RestartCount > 0 || info.State.Restarting || !info.State.Running) return true;
                return info.State.Health?.Status === "healthy" ? false : undefined;
            }, 250);
            if (crashed) {
                assert.match(await containerLogs(mirror), /panic: Get "https:\/\/upstream:5000\/v2\/"/, "it failed on the start-up ping");
            }
        } finally {
            await upstream.start();
            await healthy(upstream, "the upstream healthy again");
        }
        // Docker backs off between restarts (doubling from 100 ms), so this wait is longer.
        await healthy(mirror, "the mirror healthy once its upstream is back");
        const pulled = await freshPull();
        assert.equal(pulled.exitCode, 0, pulled.stderr);
        console.log(`      without its upstream the mirror ${crashed ? "exited at start (restarts: " + (await mirror.inspect()).RestartCount + ")" : "started anyway"}; healthy again once it was back; ${seconds(started)} s`);
    });

    it("(5) cacheTtl: with proxy.ttl, an expired entry is fetched again once the upstream is back (registry 3)", async function () {
        const started = Date.now();
        const env = (await expiring.inspect()).Config.Env;
        assert.ok(env.includes(`REGISTRY_PROXY_TTL=${SHORT_TTL}`), "the TTL reaches the registry as proxy.ttl");
        const startLog = await containerLogs(expiring);
        assert.doesNotMatch(startLog, /Ignoring unrecognized environment variable REGISTRY_PROXY_TTL/, "registry 3 knows proxy.ttl");
        assert.match(startLog, / version="?v3\./, "the expiring mirror runs registry 3");
        assert.match(startLog, /Starting cached object TTL expiration scheduler/);
        const viaExpiring = `${expiringHost}/library/busybox:latest`;
        // The helper still holds the busybox it pushed (same image ID): with it, a pull would fetch no blob. Each pull starts from no images.
        const pullThroughExpiring = async () => {
            await helper!.mustSh("docker image rm -f $(docker image ls -aq) >/dev/null 2>&1; true");
            assert.equal((await helper!.mustSh("docker image ls -aq")).trim(), "", "the helper holds no image before the pull");
            return helper!.sh(`docker pull ${viaExpiring}`, PULL_TIMEOUT_MS);
        };
        const upstreamGets = async () => count(await containerLogs(upstream), BLOB_GETS);
        /** The scheduler's "Adding new scheduler entry" lines for this manifest and its blobs: what it will expire. */
        const scheduled = async () => {
            const logs = await containerLogs(expiring);
            return [manifestDigest, ...blobDigests].map((digest) => count(logs, new RegExp(`Adding new scheduler entry for library/busybox@${digest} with ttl=`)));
        };

        // A miss: fetched from the upstream, each blob and the manifest scheduled with the TTL.
        const before = await upstreamGets();
        const miss = await pullThroughExpiring();
        assert.equal(miss.exitCode, 0, `pull through the expiring mirror failed:\n${miss.stderr}\n--- expiring ---\n${(await containerLogs(expiring)).slice(-3000)}`);
        const afterMiss = await upstreamGets();
        assert.ok(afterMiss - before >= blobDigests.length, `the first pull is a miss: ${afterMiss - before} blob GET(s) on the upstream`);
        const entries = await until("the scheduler entries of the miss", 30_000, async () => {
            const counts = await scheduled();
            return counts.every((n) => n >= 1) ? counts : undefined;
        });

        // Upstream down, past the TTL: the scheduler deletes the blobs from storage, and the mirror cannot serve the image any more.
        let expired: ExecResult | undefined;
        let expiredError: string | undefined;
        await upstream.stop({ t: 10 });
        try {
            await until(`the blobs to expire from storage (ttl ${SHORT_TTL})`, 120_000, async () => ((await storedBlobs(expiring)).length === 0 ? true : undefined), 1000);
            const logs = await containerLogs(expiring);
            for (const digest of blobDigests) {
                assert.match(logs, new RegExp(`Deleting blob: /docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`), `the scheduler deleted ${digest}`);
            }
            expired = await pullThroughExpiring();
            assert.notEqual(expired.exitCode, 0, `an expired entry is not served with the upstream down:\n${expired.stdout}`);
            // Registry 3 finds the tag's manifest gone, asks the upstream, and answers 500 with what that failure was.
            assert.match(expired.stderr, /500 Internal Server Error/, expired.stderr);
            const failure = /response completed with error.* err\.detail="((?:[^"\\]|\\.)*)".* http\.request\.uri=(\S+)/.exec((await containerLogs(expiring)).slice(logs.length));
            expiredError = failure ? `${failure[2]}: 500, ${failure[1]}` : undefined;
            assert.doesNotMatch(logs, /Scheduler error returned from OnExpire/, "every entry expired cleanly");
        } finally {
            await upstream.start();
            await healthy(upstream, "the upstream healthy again");
        }

        // Upstream back: the same pull is a miss again, and the entries are scheduled again.
        const beforeRefetch = await upstreamGets();
        const again = await pullThroughExpiring();
        assert.equal(again.exitCode, 0, `pull after expiry failed:\n${again.stderr}\n--- expiring ---\n${(await containerLogs(expiring)).slice(-3000)}`);
        const refetched = (await upstreamGets()) - beforeRefetch;
        assert.ok(refetched >= blobDigests.length, `fetched from the upstream again after expiry: ${refetched} blob GET(s)`);
        assert.match(again.stdout, new RegExp(`Digest: ${manifestDigest}`), "the same image");
        await until("the scheduler entries of the refetch", 30_000, async () => ((await scheduled()).every((n, i) => n > entries[i]) ? true : undefined));
        console.log(`      miss: ${afterMiss - before} blob GET(s) on the upstream; expired with the upstream down, pull failed: ${expired?.stderr.trim().split("\n").pop()}`);
        console.log(`      the expiring mirror logged: ${expiredError ?? "(no error line)"}`);
        console.log(`      upstream back: fetched again (${refetched} blob GET(s)); ${seconds(started)} s`);
    });
});
