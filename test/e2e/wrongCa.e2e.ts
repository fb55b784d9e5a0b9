/**
 * Scenario 3: the same Job as dindPod, but the registry CA handed to DindDeployment is another
 * CA's. dockerd cannot verify the mirror, silently falls back to Docker Hub (unreachable here)
 * and the pull fails: a broken certificate layout is caught, not hidden by a slow success.
 */
import { strict as assert } from "assert";
import { capture } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import { E2eRun, containerLogs } from "./support/e2eRun";
import { TestCa } from "./support/pki";
import { runPod } from "./support/podRunner";
import { TestRegistry, registryWithBusybox } from "./support/registryFixture";
import { IMAGES, mirroredDind, PULL_SAVE_REMOVE_SCRIPT, assertHostHasNoBusybox, seconds } from "./support/scenario";

describe("e2e: DindDeployment with the wrong registry CA (scenario 3)", function () {
    let run: E2eRun;
    let registry: TestRegistry;
    let otherCa: TestCa;

    before(async function () {
        run = await new E2eRun("wrongca").start();
        registry = await registryWithBusybox(run);
        otherCa = TestCa.create("some other CA");
    });

    after(async function () {
        await run?.cleanup();
        registry?.ca.dispose();
        otherCa?.dispose();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    it("fails the pull: the mirror is not trusted and Docker Hub is out of reach", async function () {
        const started = Date.now();
        const captured = await capture(
            () =>
                new DindDeployment("wrong-ca", mirroredDind(registry, { workload: "Job", output: {}, script: PULL_SAVE_REMOVE_SCRIPT }, otherCa.certPem)),
        );
        const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }] });
        try {
            // The CA the pod holds is the wrong one, laid out where dockerd looks.
            const layout = await pod.exec("dockerd", ["cat", `/etc/docker/certs.d/${registry.host}/ca.crt`]);
            assert.equal(layout.stdout, otherCa.certPem);

            const completion = await pod.waitForCompletion(240_000);
            const client = completion.containers.client;
            assert.notEqual(client.exitCode, 0, `the pull must fail:\n${client.logs}`);
            assert.match(client.logs, /registry-1\.docker\.io/, "the daemon ended up asking Docker Hub");
            const daemonLogs = await containerLogs(pod.container("dockerd"));
            assert.match(daemonLogs, /x509|certificate signed by unknown authority/, "dockerd rejected the mirror's certificate");
            assert.match(daemonLogs, /Attempting next endpoint|registry-1\.docker\.io|docker\.io/, "and fell back towards Docker Hub");

            const output = await run.readVolume(pod.volume("output"));
            assert.ok(!output.some((entry) => entry.path.endsWith("busybox.tar")), "no busybox.tar was written");
            await assertHostHasNoBusybox(run);
            console.log(`      pull failed as it must (exit ${client.exitCode}) in ${seconds(started)} s; client said: ${client.logs.trim().split("\n").pop()}`);
        } finally {
            await pod.remove();
        }
    });
});
