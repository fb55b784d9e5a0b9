/**
 * The plain-Docker pull-save-remove check (scenario 1) through LocalDind and a LocalRegistry,
 * applied to a real engine: the client container pulls busybox:latest through the registry
 * as the daemon's `--registry-mirror` (Docker Hub is unreachable here, so that is the only
 * way), saves it into a host directory and removes it; the host's own image store never sees
 * busybox.
 *
 * The registry runs in `private` mode, as a typical self-hosted registry is: LocalRegistry's
 * `mirror` mode (a pull-through cache of Docker Hub) cannot start here at all, because the
 * distribution registry pings its upstream at start-up and panics when it is unreachable
 * (distribution/distribution#1435, #4038); mirror.e2e.ts runs one with a private upstream
 * on the scenario's own network instead. Its volume is the one a private registry keeps
 * (retainOnDelete), filled beforehand with busybox by a plain registry over the same volume.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { capture, valueOf } from "../harness";
import { LocalDind } from "../../components/localDind";
import { LocalRegistry } from "../../components/localRegistry";
import { DEFAULT_REGISTRY_IMAGE } from "../../components/registrySettings";
import { AppliedDocker, applyDocker, dockerName } from "./support/dockerApplier";
import { E2eRun, containerLogs, withTimeout } from "./support/e2eRun";
import { testImages } from "./support/engine";
import { TestCa } from "./support/pki";
import { HelperDaemon, createScenarioNetwork, startRegistry } from "./support/registryFixture";
import { IMAGES, PULL_SAVE_REMOVE_SCRIPT, assertHostHasNoBusybox, seconds } from "./support/scenario";
import { readTar } from "./support/tar";

const DOCKER_IMAGES = { ...IMAGES, [DEFAULT_REGISTRY_IMAGE]: testImages.registry };

/** A free TCP port on the host's loopback. */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Fills a registry volume with library/busybox:latest through a plain (non-proxy) registry on it. */
async function seedRegistryVolume(run: E2eRun, volume: string): Promise<string> {
    const network = await createScenarioNetwork(run, "seed-net");
    const ca = TestCa.create("seed CA");
    try {
        const seed = await startRegistry(run, { network, alias: "seed", ca, volume, name: "seed-registry" });
        const helper = await HelperDaemon.start(run, { network, trust: [{ host: seed.host, caPem: ca.certPem }], name: "seed-dind" });
        try {
            await helper.waitForRegistry(seed.host);
            return await helper.pushBusybox(seed.host);
        } finally {
            await helper.remove();
            await run.removeContainer(seed.container.id);
            await run.docker.getNetwork(network).remove();
        }
    } finally {
        ca.dispose();
    }
}

/** Set through daemonConfig, and read back from the daemon, which has it from no other place. */
const DAEMON_JSON_LABEL = "dev.pulumi-dind.e2e=daemon-json";

describe("e2e: LocalDind with a LocalRegistry mirror (plain-Docker pull-save-remove check)", function () {
    let run: E2eRun;
    const dirs: string[] = [];

    before(async function () {
        run = await new E2eRun("localdind").start();
        await assertHostHasNoBusybox(run);
    });

    after(async function () {
        await run?.cleanup();
        for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
        if (run) assert.deepEqual(await run.leftovers(), []);
    });

    function tempDir(label: string): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pulumi-dind-e2e-${label}-`));
        dirs.push(dir);
        return dir;
    }

    for (const transport of ["unix", "tls"] as const) {
        it(`${transport}: the client pulls busybox through the mirror and saves it on the host; the host store stays clean`, async function () {
            const started = Date.now();
            const outputDirectory = tempDir("output");
            const socketDirectory = transport === "unix" ? tempDir("socket") : undefined;
            const hostPort = transport === "tls" ? await freePort() : undefined;
            let dind!: LocalDind;
            let registry!: LocalRegistry;
            const captured = await capture(() => {
                registry = new LocalRegistry(`mirror-${transport}`, { mode: "private", alias: "registry" });
                dind = new LocalDind(`dind-${transport}`, {
                    transport,
                    socketDirectory,
                    hostPort,
                    networkName: registry.networkName,
                    registry,
                    registryMirrors: [`https://${registry.registryHost}`],
                    client: { script: PULL_SAVE_REMOVE_SCRIPT, outputDirectory },
                    daemonConfig: { labels: [DAEMON_JSON_LABEL], "log-driver": "local" },
                });
            });

            // The mirror's volume, filled before the mirror starts on it.
            const registryVolume = captured.resources.find((r) => r.type === "docker:index/volume:Volume" && r.name === `mirror-${transport}-data`)!;
            await run.createVolume(dockerName(run, registryVolume.state.name));
            const seededDigest = await seedRegistryVolume(run, dockerName(run, registryVolume.state.name));

            let applied: AppliedDocker | undefined;
            try {
                applied = await applyDocker(captured, { run, images: DOCKER_IMAGES });
                const daemon = applied.container(`dind-${transport}-dind`);
                const client = applied.container(`dind-${transport}-client`);
                const exit = await withTimeout(client.container.wait(), 180_000, "the client container");
                const clientLogs = await containerLogs(client.container);
                assert.equal(exit.StatusCode, 0, `client exited ${exit.StatusCode}:\n${clientLogs}\n--- dockerd ---\n${(await containerLogs(daemon.container)).slice(-3000)}`);

                // The tar landed on the host, and it is an image archive.
                const tarPath = path.join(outputDirectory, "busybox.tar");
                assert.ok(fs.existsSync(tarPath), "busybox.tar is in the host's output directory");
                const entries = readTar(fs.readFileSync(tarPath));
                const manifest = JSON.parse(entries.find((e) => e.path === "manifest.json")!.content.toString("utf8"));
                assert.ok(manifest[0].RepoTags.includes("busybox:latest"));
                await assertHostHasNoBusybox(run);

                // It came through the mirror: the registry served the seeded manifest.
                const registryLogs = await containerLogs(applied.container(`mirror-${transport}-registry`).container);
                assert.match(registryLogs, /\/v2\/library\/busybox\/manifests\//, `the mirror was asked for busybox:\n${registryLogs.slice(-2000)}`);

                // The daemon answers the host where dockerHost says, and only with the client pair over TLS.
                const dockerHost = await valueOf(dind.dockerHost);
                let nested: Docker;
                if (transport === "unix") {
                    assert.equal(dockerHost, `unix://${socketDirectory}/docker.sock`);
                    nested = new Docker({ socketPath: `${socketDirectory}/docker.sock` });
                } else {
                    assert.equal(dockerHost, `tcp://127.0.0.1:${hostPort}`);
                    const [ca, cert, key] = await Promise.all([valueOf(dind.caCertPem), valueOf(dind.clientCertPem), valueOf(dind.clientKeyPem)]);
                    nested = new Docker({ host: "127.0.0.1", port: hostPort, protocol: "https", ca: ca!, cert: cert!, key: key! });
                    const anonymous = new Docker({ host: "127.0.0.1", port: hostPort, protocol: "https", ca: ca! });
                    await assert.rejects(withTimeout(anonymous.ping(), 10_000, "ping without a client certificate"), "a client without a certificate is rejected");
                }
                assert.equal(String(await nested.ping()), "OK");
                // dockerd read the uploaded daemon.json: its label and log driver are the daemon's.
                const info = await nested.info();
                assert.ok(info.Labels.includes(DAEMON_JSON_LABEL), `daemon labels: ${JSON.stringify(info.Labels)}`);
                assert.equal(info.LoggingDriver, "local");
                const nestedImages = await nested.listImages();
                assert.ok(!nestedImages.some((image) => (image.RepoTags ?? []).includes("busybox:latest")), "the script removed busybox:latest from the nested daemon too");

                // What `pulumi up` waits for: the registry and the daemon healthy.
                const registryUp = applied.container(`mirror-${transport}-registry`);
                console.log(
                    `      ${transport}: registry healthy after ${((registryUp.readyAt! - registryUp.createdAt) / 1000).toFixed(1)} s, ` +
                        `dind healthy after ${((daemon.readyAt! - daemon.createdAt) / 1000).toFixed(1)} s, whole test ${seconds(started)} s (seeded ${seededDigest.slice(0, 19)}…)`,
                );

                // destroy keeps what retainOnDelete marks: the daemon's image store.
                await applied.destroy();
                const dataVolume = captured.resources.find((r) => r.type === "docker:index/volume:Volume" && r.name === `dind-${transport}-data`)!;
                assert.ok(dataVolume.options.retainOnDelete);
                await run.docker.getVolume(dockerName(run, dataVolume.state.name)).inspect();
                applied = undefined;
            } finally {
                await applied?.destroy();
            }
        });
    }

    it("refuses inputs it does not apply, naming the field", async function () {
        const captured = await capture(() => new LocalRegistry("strict", { alias: "strict" }));
        const container = captured.only("docker:index/container:Container");
        container.inputs.gpus = "all";
        const before = (await run.leftovers()).sort();
        await assert.rejects(applyDocker(captured, { run, images: DOCKER_IMAGES }), /unsupported field docker:index\/container:Container::strict-registry\.gpus/);
        assert.deepEqual((await run.leftovers()).sort(), before, "nothing was created");
    });
});
