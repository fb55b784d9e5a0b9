/**
 * A disk that never fills, on a real engine: a DindDeployment pod with a small store and
 * `prune` is filled past its threshold with a 400 MB test image. The pruner brings the store back
 * under the threshold, and the image a running container uses stays, with its container.
 */
import { strict as assert } from "assert";
import { capture } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import { E2eRun, streamToBuffer, until } from "./support/e2eRun";
import { testImages } from "./support/engine";
import { RunningPod, runPod } from "./support/podRunner";
import { IMAGES } from "./support/scenario";
import { createTar } from "./support/tar";

const STORE_SIZE = "700Mi";
const STORE_BYTES = 700 * 1024 ** 2;
const THRESHOLD_PERCENT = 50;
const THRESHOLD_BYTES = Math.floor(STORE_BYTES / 100) * THRESHOLD_PERCENT;

describe("e2e: a DindDeployment store kept under its threshold by prune", function () {
    let run: E2eRun;
    let pod: RunningPod | undefined;

    before(async function () {
        run = await new E2eRun("prune").start();
    });

    after(async function () {
        await pod?.remove();
        await run?.cleanup();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    async function client(script: string, timeoutMs = 180_000): Promise<string> {
        const result = await pod!.exec("client", ["sh", "-c", script], { timeoutMs });
        assert.equal(result.exitCode, 0, `${script}: ${result.stderr}`);
        return result.stdout.trim();
    }

    /** A host image, loaded into the pod's daemon through the client. */
    async function load(image: string): Promise<void> {
        const archive = await streamToBuffer(await run.docker.getImage(image).get());
        await pod!.container("client").putArchive(createTar([{ path: "image.tar", content: archive }]), { path: "/tmp" });
        await client("docker load -q -i /tmp/image.tar >/dev/null && rm /tmp/image.tar");
    }

    /** The store's bytes as the kubelet counts them, from dockerd's side of the volume. */
    async function storeBytes(): Promise<number> {
        const result = await pod!.exec("dockerd", ["sh", "-c", "du -sxk /var/lib/docker | cut -f1"], { timeoutMs: 60_000 });
        return Number(result.stdout.trim()) * 1024;
    }

    it("prunes an unused 400 MB image once the store passes the threshold, and keeps the image in use", async function () {
        const captured = await capture(
            () =>
                new DindDeployment("prune", {
                    namespace: "e2e",
                    dockerStorage: { size: STORE_SIZE },
                    prune: { thresholdPercent: THRESHOLD_PERCENT, intervalSeconds: 10 },
                    networkPolicy: false,
                }),
        );
        pod = await runPod(captured, { run, images: IMAGES });
        await load(testImages.busybox);
        await client(`docker run -d --name in-use ${testImages.busybox} sleep 3600`);
        const inUse = await client(`docker image inspect -f '{{.Id}}' ${testImages.busybox}`);

        await load(testImages.registry);
        // A round may begin while the load is still writing; the next one, an interval later, finds the rest.
        const after = await until("the store back under its threshold", 180_000, async () => {
            const bytes = await storeBytes();
            return bytes < THRESHOLD_BYTES ? bytes : undefined;
        }, 2_000);
        const logs = await pod.logs("prune");
        assert.match(logs, /prune: pruned:/);
        const over = /prune: over the threshold: (\d+) of (\d+) bytes used, threshold (\d+)/.exec(logs);
        assert.ok(over, logs);
        assert.deepEqual([Number(over[2]), Number(over[3])], [STORE_BYTES, THRESHOLD_BYTES], "the emptyDir's sizeLimit is the store's size");
        assert.ok(Number(over[1]) > THRESHOLD_BYTES, "the load took the store past the threshold");
        console.log(`      store: ${(Number(over[1]) / 1e6).toFixed(0)} MB after the load, ${(after / 1e6).toFixed(0)} MB after pruning (threshold ${(THRESHOLD_BYTES / 1e6).toFixed(0)} MB)`);
        assert.equal(await client(`docker image inspect -f '{{.Id}}' ${testImages.busybox}`), inUse, "the image a running container uses is kept");
        assert.equal(await client("docker inspect -f '{{.State.Running}}' in-use"), "true");
        const gone = await pod.exec("client", ["docker", "image", "inspect", testImages.registry], { timeoutMs: 30_000 });
        assert.notEqual(gone.exitCode, 0, "the unused image was pruned");
    });
});
