/**
 * The Kubernetes pull-save-remove check through DindDeployment, on a real engine: a Job pod whose
 * daemon pulls busybox through a TLS registry mirror (Docker Hub is unreachable, so the mirror
 * is the only way), saves it to the output volume and removes it, for each transport; the host's
 * own image store stays untouched, and the daemon's API is reachable only as the transport says.
 */
import { strict as assert } from "assert";
import { capture } from "../harness";
import { DindDeployment } from "../../components/dindDeployment";
import type { Transport } from "../../components/daemon";
import { E2eRun, containerLogs } from "./support/e2eRun";
import { planPod, runPod } from "./support/podRunner";
import { UnsupportedFieldError } from "./support/specSchema";
import { TestRegistry, registryWithBusybox } from "./support/registryFixture";
import { IMAGES, mirroredDind, PULL_SAVE_REMOVE_SCRIPT, assertHostHasNoBusybox, assertSavedImage, curlFrom, seconds, tlsFiles } from "./support/scenario";

/** Set through daemonConfig, and read back from the daemon, which has it from no other place. */
const DAEMON_JSON_LABEL = "dev.pulumi-dind.e2e=daemon-json";

describe("e2e: DindDeployment pod pulls through a TLS mirror (Kubernetes pull-save-remove check)", function () {
    let run: E2eRun;
    let registry: TestRegistry;

    before(async function () {
        run = await new E2eRun("dindpod").start();
        await assertHostHasNoBusybox(run);
        registry = await registryWithBusybox(run);
    });

    after(async function () {
        await run?.cleanup();
        registry?.ca.dispose();
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    it("refuses what it would not apply, naming it, before creating anything", async function () {
        const build = (extra: object = {}) =>
            capture(() => new DindDeployment("strict", { namespace: "e2e", workload: "Job", script: "true", ...extra }));
        const before = (await run.leftovers()).sort();
        // The NetworkPolicy is not applied: a capture holding one is refused.
        await assert.rejects(runPod(await build(), { run, images: IMAGES }), /unsupported field kubernetes:networking.k8s.io\/v1:NetworkPolicy::strict-deny-ingress/);
        const captured = await build({ networkPolicy: false });
        const job = captured.only("kubernetes:batch/v1:Job");
        job.inputs.spec.template.spec.containers[0].lifecycle = { preStop: { exec: { command: ["true"] } } };
        await assert.rejects(runPod(captured, { run, images: IMAGES }), /unsupported field Job::strict-job\.spec\.template\.spec\.containers\[0\]\.lifecycle/);
        delete job.inputs.spec.template.spec.containers[0].lifecycle;
        await assert.rejects(runPod(captured, { run, images: {} }), /no local image for docker:29-dind/);
        assert.deepEqual((await run.leftovers()).sort(), before, "nothing was created");
    });

    it("applies every field of a Sysbox pod but the two Docker has no equivalent for, and plans no privilege", async function () {
        const captured = await capture(() => new DindDeployment("sysbox", { namespace: "e2e", isolation: "sysbox", networkPolicy: false }));
        const spec = captured.only("kubernetes:apps/v1:Deployment").inputs.spec.template.spec;
        const plan = () => planPod(captured, { images: IMAGES, prefix: run.id });
        const refused: string[] = [];
        for (;;) {
            try {
                plan();
                break;
            } catch (error) {
                if (!(error instanceof UnsupportedFieldError) || refused.length > 2) throw error;
                refused.push(error.path);
                delete spec[error.path.split(".").pop()!];
            }
        }
        assert.deepEqual(refused.sort(), ["Deployment::sysbox-daemon.spec.template.spec.hostUsers", "Deployment::sysbox-daemon.spec.template.spec.runtimeClassName"]);
        for (const container of plan().containers) {
            const host = container.create(0).HostConfig!;
            assert.notEqual(host.Privileged, true, container.name);
            assert.deepEqual(host.CapAdd ?? [], [], `${container.name} is granted no capability`);
        }
    });

    it("serves a pod outside it by the Service name with the exposed client pair, and refuses one without it", async function () {
        const captured = await capture(() => new DindDeployment("builds", { namespace: "e2e", transport: "tls", expose: { from: [{ namespace: "ci" }] } }));
        // Docker enforces no NetworkPolicy: its rule is checked by the mock tests; the pod runs without it.
        captured.resources.splice(captured.resources.indexOf(captured.only("kubernetes:networking.k8s.io/v1:NetworkPolicy")), 1);
        const service = "builds.e2e.svc";
        const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network, aliases: [service] }] });
        try {
            const copy = captured.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "builds-docker-client" && r.inputs.metadata.namespace === "ci")!;
            const files = tlsFiles(copy.inputs.stringData);
            const withPair = await curlFrom(run, registry.network, ["--cacert", "/tls/ca.pem", "--cert", "/tls/cert.pem", "--key", "/tls/key.pem", `https://${service}:2376/_ping`], files);
            assert.equal(withPair.exitCode, 0, `the copied pair is accepted, and the server certificate names ${service}: ${withPair.output}`);
            assert.equal(withPair.output.trim(), "OK");
            const withoutPair = await curlFrom(run, registry.network, ["--cacert", "/tls/ca.pem", `https://${service}:2376/_ping`], files.filter((file) => file.path === "tls/ca.pem"));
            assert.ok([35, 56].includes(withoutPair.exitCode), `a client without the pair is refused: exit ${withoutPair.exitCode} ${withoutPair.output}`);
        } finally {
            await pod.remove();
        }
    });

    it("stops a Job that outlives jobTimeoutSeconds (activeDeadlineSeconds), the script ending on SIGTERM", async function () {
        const captured = await capture(
            () => new DindDeployment("deadline", { namespace: "e2e", workload: "Job", script: "echo started; sleep 600", jobTimeoutSeconds: 60, networkPolicy: false }),
        );
        const pod = await runPod(captured, { run, images: IMAGES });
        try {
            const completion = await pod.waitForCompletion(300_000);
            assert.equal(completion.reason, "DeadlineExceeded");
            assert.ok(!completion.succeeded);
            assert.match(completion.containers.client.logs, /started/);
            // 143 is SIGTERM reaching the script; 137 would be the SIGKILL after a grace period sat out.
            assert.equal(completion.containers.client.exitCode, 143);
        } finally {
            await pod.remove();
        }
    });

    // Kubernetes expands `$(NAME)` and turns `$$` into `$` in command and args; the runner does too.
    it("passes the user's script to the shell as written ($$, $(DOCKER_HOST))", async function () {
        const captured = await capture(
            () =>
                new DindDeployment("dollars", {
                    namespace: "e2e",
                    workload: "Job",
                    output: {},
                    script: 'echo "pid=$$" >dollars.txt\necho "host=$(DOCKER_HOST)" >>dollars.txt 2>/dev/null || true',
                    networkPolicy: false,
                }),
        );
        const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }] });
        try {
            const completion = await pod.waitForCompletion(120_000);
            assert.ok(completion.succeeded, completion.containers.client.logs);
            const written = (await run.readVolumeFile(pod.volume("output"), "dollars.txt")).toString("utf8");
            assert.match(written, /^pid=[0-9]+$/m, `$$ reached the shell as the PID:\n${written}`);
            assert.doesNotMatch(written, /host=unix:/, `$(DOCKER_HOST) stayed a command substitution:\n${written}`);
        } finally {
            await pod.remove();
        }
    });

    for (const transport of ["unix", "tls", "tcp"] as Transport[]) {
        it(`${transport}: pulls busybox:latest only through the mirror, saves it to the output volume, leaves the host alone`, async function () {
            const started = Date.now();
            const captured = await capture(
                () =>
                    new DindDeployment(
                        `pull-${transport}`,
                        mirroredDind(registry, {
                            workload: "Job",
                            transport,
                            output: {},
                            script: PULL_SAVE_REMOVE_SCRIPT,
                            // On one transport: the ConfigMap's daemon.json, mounted as one file, is what dockerd reads.
                            ...(transport === "unix" ? { daemonConfig: { labels: [DAEMON_JSON_LABEL] } } : {}),
                        }),
                    ),
            );
            const pod = await runPod(captured, { run, images: IMAGES, networks: [{ name: registry.network }] });
            try {
                const podIp = await pod.ip(registry.network);

                // Who can reach the daemon, checked while it runs (the runner stops sidecars in waitForCompletion).
                const plain = await curlFrom(run, registry.network, [`http://${podIp}:2375/_ping`]);
                assert.equal(plain.exitCode, 7, `plaintext API on the pod's address must be refused: ${plain.output}`);
                const tlsPort = await curlFrom(run, registry.network, ["-k", `https://${podIp}:2376/_ping`]);
                if (transport === "tls") {
                    assert.ok([35, 56].includes(tlsPort.exitCode), `a client without a certificate must be rejected: exit ${tlsPort.exitCode} ${tlsPort.output}`);
                    const clientSecret = captured.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name.endsWith("client-tls"))!;
                    const withCert = await curlFrom(
                        run,
                        registry.network,
                        ["--cacert", "/tls/ca.pem", "--cert", "/tls/cert.pem", "--key", "/tls/key.pem", "--resolve", `localhost:2376:${podIp}`, "https://localhost:2376/_ping"],
                        tlsFiles(clientSecret.inputs.stringData),
                    );
                    assert.equal(withCert.exitCode, 0, `the client pair is accepted (and the server cert verifies as localhost): ${withCert.output}`);
                    assert.equal(withCert.output.trim(), "OK");
                } else {
                    assert.equal(tlsPort.exitCode, 7, `nothing listens on 2376: ${tlsPort.output}`);
                }
                if (transport === "tcp") {
                    // Positive control: the daemon does serve plaintext TCP, on the pod's loopback.
                    // (From the daemon's container: the Job's client may have finished already; same network namespace.)
                    const local = await pod.exec("dockerd", ["docker", "-H", "tcp://127.0.0.1:2375", "version", "--format", "{{.Server.Version}}"], { timeoutMs: 30_000 });
                    assert.equal(local.exitCode, 0, local.stderr);
                }
                if (transport === "unix") {
                    const socket = await pod.exec("dockerd", ["sh", "-c", "test -S /var/run/dind/docker.sock && echo $DOCKER_HOST"], { timeoutMs: 30_000 });
                    assert.equal(socket.stdout.trim(), "unix:///var/run/dind/docker.sock", socket.stderr);
                    const labels = await pod.exec("dockerd", ["docker", "info", "--format", "{{json .Labels}}"], { timeoutMs: 30_000 });
                    assert.ok(JSON.parse(labels.stdout).includes(DAEMON_JSON_LABEL), `daemon labels: ${labels.stdout} ${labels.stderr}`);
                }

                const completion = await pod.waitForCompletion(240_000);
                const daemonLogs = await containerLogs(pod.container("dockerd")).catch(() => "");
                assert.ok(completion.succeeded, `client exited ${completion.containers.client.exitCode}:\n${completion.containers.client.logs}\n--- dockerd ---\n${daemonLogs.slice(-3000)}`);

                const saved = await assertSavedImage(run, pod.volume("output"), "busybox.tar", "busybox:latest");
                assert.ok(saved.bytes > 100_000, `busybox.tar is ${saved.bytes} bytes`);
                await assertHostHasNoBusybox(run);

                const registryLogs = await containerLogs(registry.container, Math.floor(started / 1000));
                assert.match(registryLogs, /(GET|HEAD) \/v2\/library\/busybox\/manifests\/latest/, `the daemon asked the mirror for busybox; registry log:\n${registryLogs.slice(-3000)}`);
                console.log(`      ${transport}: pod ${pod.name} done in ${seconds(started)} s (busybox.tar ${saved.bytes} bytes, ${saved.layers} layer(s))`);
            } finally {
                await pod.remove();
            }
        });
    }
});
