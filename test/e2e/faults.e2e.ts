/**
 * Faults on a real engine:
 * - dockerd killed in a running DindDeployment pod (a Deployment): the native sidecar is
 *   restarted as the kubelet restarts it (a fresh container in the same pod, same volumes), its
 *   startup probe passes again, and its image store on the docker-data volume is intact, while
 *   the client container is not restarted and reaches the new daemon on the same socket;
 * - a LocalRegistry in private mode restarted, and replaced (destroyed and created again over
 *   its retained volume): a pushed image is still there with the same digest.
 */
import { strict as assert } from "assert";
import { capture, valueOf } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import { LocalRegistry } from "../../components/localRegistry";
import { DEFAULT_REGISTRY_IMAGE } from "../../components/registrySettings";
import { applyDocker } from "./support/dockerApplier";
import { E2eRun, until } from "./support/e2eRun";
import { testImages } from "./support/engine";
import { runPod } from "./support/podRunner";
import { HelperDaemon, TestRegistry, registryWithBusybox } from "./support/registryFixture";
import { IMAGES, mirroredDind, seconds } from "./support/scenario";

describe("e2e: faults", function () {
    let run: E2eRun;

    before(async function () {
        run = await new E2eRun("faults").start();
    });

    after(async function () {
        await run?.cleanup();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    describe("dockerd killed in a DindDeployment pod", function () {
        let registry: TestRegistry;

        before(async function () {
            registry = await registryWithBusybox(run);
        });

        after(function () {
            registry?.ca.dispose();
        });

        it("comes back as a restarted sidecar with its image cache, and the client keeps working", async function () {
            const started = Date.now();
            const captured = await capture(
                () =>
                    new DindDeployment("faults", mirroredDind(registry, { workload: "Deployment" })),
            );
            const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }] });
            try {
                const client = (script: string, timeoutMs = 120_000) => pod.exec("client", ["sh", "-c", script], { timeoutMs });
                const pulled = await client("docker pull -q busybox:latest >/dev/null && docker image inspect -f '{{.Id}}' busybox:latest");
                assert.equal(pulled.exitCode, 0, pulled.stderr);
                const imageId = pulled.stdout.trim();
                // Mid-way: a container is running in the daemon when it dies.
                const running = await client("docker run -d --name busy busybox:latest sleep 3600");
                assert.equal(running.exitCode, 0, running.stderr);

                const firstDaemon = pod.container("dockerd").id;
                const killed = Date.now();
                const kill = await pod.exec("dockerd", ["sh", "-c", "kill -9 $(pidof dockerd)"]);
                assert.equal(kill.exitCode, 0, kill.stderr);
                await pod.waitForRestart("dockerd", 1, 120_000);
                const back = Date.now();

                assert.notEqual(pod.container("dockerd").id, firstDaemon, "the kubelet restarts a container as a new one");
                assert.equal(pod.restarts("client"), 0, "the client container is not restarted");
                const after = await client("docker image inspect -f '{{.Id}}' busybox:latest");
                assert.equal(after.exitCode, 0, `the image is gone after the restart: ${after.stderr}`);
                assert.equal(after.stdout.trim(), imageId, "same image, same ID: the cache on the volume survived");
                const stale = await client("docker inspect -f '{{.State.Status}}' busy");
                assert.equal(stale.stdout.trim(), "exited", "the container that ran at the crash is known and stopped");
                const fresh = await client("docker run --rm busybox:latest echo alive");
                assert.equal(fresh.stdout.trim(), "alive", `the restarted daemon runs containers in the same pod network namespace: ${fresh.stderr}`);
                console.log(`      dockerd back (probe passed) ${((back - killed) / 1000).toFixed(1)} s after SIGKILL; test ${seconds(started)} s`);
            } finally {
                await pod.remove();
            }
        });
    });

    describe("a DindDeployment pod with persistent Docker storage deleted and created again", function () {
        it("finds its image cache on the claim", async function () {
            const started = Date.now();
            const captured = await capture(
                () => new DindDeployment("persist", { namespace: "e2e", dockerStorage: { persistent: true, size: "5Gi" }, networkPolicy: false }),
            );
            const first = await runPod(captured, { run, images: IMAGES });
            let imageId: string;
            try {
                const empty = await first.exec("client", ["sh", "-c", "docker image ls -q | wc -l"]);
                assert.equal(empty.stdout.trim(), "0", "a fresh claim starts empty");
                // An image made in place (no registry needed): a one-file filesystem imported.
                const made = await first.exec("client", ["sh", "-c", "cd /tmp && echo kept >f && tar -c f | docker import - kept:1 >/dev/null && docker image inspect -f '{{.Id}}' kept:1"]);
                assert.equal(made.exitCode, 0, made.stderr);
                imageId = made.stdout.trim();
            } finally {
                await first.remove();
            }
            const second = await runPod(captured, { run, images: IMAGES });
            try {
                const again = await second.exec("client", ["docker", "image", "inspect", "-f", "{{.Id}}", "kept:1"]);
                assert.equal(again.exitCode, 0, `the image store went with the pod: ${again.stderr}`);
                assert.equal(again.stdout.trim(), imageId, "the same image, kept on the claim");
                assert.notEqual(second.name, first.name);
                console.log(`      state kept across pod ${first.name} → ${second.name}; test ${seconds(started)} s`);
            } finally {
                await second.remove();
            }
        });
    });

    describe("a LocalRegistry (private) restarted and replaced", function () {
        it("still serves a pushed image with the same digest", async function () {
            const started = Date.now();
            let component!: LocalRegistry;
            const captured = await capture(() => {
                component = new LocalRegistry("private", { mode: "private", alias: "registry" });
            });
            const images = { [DEFAULT_REGISTRY_IMAGE]: testImages.registry };
            let applied = await applyDocker(captured, { run, images });
            const caPem = await valueOf(component.caCertPem);
            const host = component.registryHost;
            const network = applied.nameOf(await valueOf(component.networkName));
            const helper = await HelperDaemon.start(run, { network, trust: [{ host, caPem }], name: "pusher" });
            try {
                await helper.waitForRegistry(host);
                const digest = await helper.pushBusybox(host, "e2e/busybox:latest");
                const served = async () => {
                    await helper.waitForRegistry(host);
                    const head = await helper.mustSh(
                        `curl -sSfI --cacert /etc/docker/certs.d/${host}/ca.crt ` +
                            `-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${host}/v2/e2e/busybox/manifests/latest`,
                    );
                    return /docker-content-digest:\s*(sha256:[0-9a-f]{64})/i.exec(head)?.[1];
                };
                assert.equal(await served(), digest);

                // Restart: the same container stops and starts again.
                const container = applied.container("private-registry").container;
                await container.restart({ t: 10 });
                await until("the registry healthy after its restart", 60_000, async () =>
                    (await container.inspect()).State.Health?.Status === "healthy" ? true : undefined, 250);
                assert.equal(await served(), digest, "same digest after a restart");

                // Replace: destroy (the private registry's volume is retained) and create again.
                const volume = captured.only("docker:index/volume:Volume");
                assert.ok(volume.options.retainOnDelete, "a private registry keeps its volume");
                await run.removeContainer(helper.container.id);
                await applied.destroy();
                applied = await applyDocker(captured, { run, images });
                const again = await HelperDaemon.start(run, { network: applied.nameOf(await valueOf(component.networkName)), trust: [{ host, caPem }], name: "pusher-2" });
                try {
                    await again.waitForRegistry(host);
                    const pulled = await again.mustSh(`docker pull ${host}/e2e/busybox:latest >/dev/null && docker image inspect -f '{{index .RepoDigests 0}}' ${host}/e2e/busybox:latest`);
                    assert.equal(pulled.trim(), `${host}/e2e/busybox@${digest}`, "same digest after destroy and create over the kept volume");
                } finally {
                    await again.remove();
                }
                console.log(`      ${digest.slice(0, 19)}… kept across a restart and a replacement; test ${seconds(started)} s`);
            } finally {
                await helper.remove();
                await applied.destroy();
            }
        });
    });
});
