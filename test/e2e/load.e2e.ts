/**
 * Load: 20 containers at once in one DindDeployment daemon, started by 20 docker CLI processes
 * in parallel from the client container (with its default resources), each
 * `busybox sh -c 'echo $i'`; every one must exit 0 and print its own number.
 */
import { strict as assert } from "assert";
import { capture } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import { E2eRun } from "./support/e2eRun";
import { runPod } from "./support/podRunner";
import { TestRegistry, registryWithBusybox } from "./support/registryFixture";
import { IMAGES, mirroredDind, seconds } from "./support/scenario";

const COUNT = 20;

describe("e2e: load", function () {
    let run: E2eRun;
    let registry: TestRegistry;

    before(async function () {
        run = await new E2eRun("load").start();
        registry = await registryWithBusybox(run);
    });

    after(async function () {
        await run?.cleanup();
        registry?.ca.dispose();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    it(`runs ${COUNT} containers at once in one daemon, all succeeding`, async function () {
        const captured = await capture(
            () =>
                new DindDeployment("load", mirroredDind(registry, { workload: "Deployment" })),
        );
        const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }] });
        try {
            const pull = await pod.exec("client", ["docker", "pull", "-q", "busybox:latest"], { timeoutMs: 120_000 });
            assert.equal(pull.exitCode, 0, pull.stderr);

            const started = Date.now();
            // Each CLI writes its container's output and exit status; `wait` joins all 20.
            const script = [
                "mkdir -p /tmp/load && cd /tmp/load",
                `for i in $(seq 1 ${COUNT}); do`,
                `  ( docker run --rm --name load-$i busybox:latest sh -c "echo $i" >out-$i 2>err-$i; echo $? >rc-$i ) &`,
                "done",
                "wait",
                `for i in $(seq 1 ${COUNT}); do echo "$i $(cat rc-$i) $(cat out-$i) $(head -c 200 err-$i | tr '\\n' ' ')"; done`,
            ].join("\n");
            const result = await pod.exec("client", ["sh", "-c", script], { timeoutMs: 300_000 });
            const elapsed = seconds(started);
            assert.equal(result.exitCode, 0, result.stderr);
            const lines = result.stdout.trim().split("\n");
            assert.equal(lines.length, COUNT, result.stdout);
            const failed = lines.filter((line) => {
                const [i, rc, out] = line.split(" ");
                return rc !== "0" || out !== i;
            });
            assert.deepEqual(failed, [], `containers that failed (i rc stdout stderr):\n${failed.join("\n")}`);
            const leftovers = await pod.exec("client", ["docker", "ps", "-aq"]);
            assert.equal(leftovers.stdout.trim(), "", "--rm removed them all");
            const memory = await pod.exec("client", [
                "sh",
                "-c",
                "cd /sys/fs/cgroup/memory 2>/dev/null && echo $(cat memory.max_usage_in_bytes) $(cat memory.limit_in_bytes) || echo $(cat /sys/fs/cgroup/memory.peak) $(cat /sys/fs/cgroup/memory.max)",
            ]);
            const [peak, limit] = memory.stdout.trim().split(" ").map((bytes) => Math.round(Number(bytes) / 2 ** 20));
            console.log(`      ${COUNT} containers in ${elapsed} s; client container peak memory ${peak} MiB of its ${limit} MiB limit`);
        } finally {
            await pod.remove();
        }
    });
});
