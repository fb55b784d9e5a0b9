/**
 * Warm caches per replica, on a real engine: a DindDeployment StatefulSet's replica pulls busybox
 * through a TLS mirror; its pod is deleted and created again, as the controller does after an
 * eviction or a rollout, and finds the image on its own claim without pulling. Another replica has
 * a claim, and a cache, of its own.
 */
import { strict as assert } from "assert";
import { capture } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import { E2eRun } from "./support/e2eRun";
import { RunningPod, runPod } from "./support/podRunner";
import { TestRegistry, registryWithBusybox } from "./support/registryFixture";
import { IMAGES, mirroredDind } from "./support/scenario";

describe("e2e: warm caches per replica (DindDeployment StatefulSet)", function () {
    let run: E2eRun;
    let registry: TestRegistry;
    let pod: RunningPod | undefined;

    before(async function () {
        run = await new E2eRun("statefulset").start();
        registry = await registryWithBusybox(run);
    });

    after(async function () {
        await pod?.remove();
        await run?.cleanup();
        registry?.ca.dispose();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    /** Runs replica `ordinal` of the StatefulSet as its controller would, and waits for its daemon. */
    async function replica(ordinal: number): Promise<RunningPod> {
        const captured = await capture(() => new DindDeployment("builds", mirroredDind(registry, { workload: "StatefulSet", replicas: 2 })));
        return runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }], ordinal });
    }

    async function client(script: string): Promise<{ exitCode: number; stdout: string }> {
        const result = await pod!.exec("client", ["sh", "-c", script], { timeoutMs: 120_000 });
        return { exitCode: result.exitCode, stdout: result.stdout.trim() };
    }

    it("keeps a replica's images on its own claim across a new pod, and gives another replica its own", async function () {
        pod = await replica(0);
        assert.equal(pod.name, "builds-0");
        const pulled = await client("docker pull -q busybox:latest >/dev/null && docker image inspect -f '{{.Id}}' busybox:latest");
        assert.equal(pulled.exitCode, 0);
        const claim = pod.claimVolume("docker-data-builds-0");
        await pod.remove();

        pod = await replica(0);
        assert.equal(pod.claimVolume("docker-data-builds-0"), claim, "the same claim, by name");
        assert.deepEqual(await client("docker image inspect -f '{{.Id}}' busybox:latest"), pulled, "the new pod finds the image without pulling");
        await pod.remove();

        pod = await replica(1);
        assert.notEqual(pod.claimVolume("docker-data-builds-1"), claim);
        assert.notEqual((await client("docker image inspect busybox:latest")).exitCode, 0, "replica 1's cache is its own, and empty");
    });
});
