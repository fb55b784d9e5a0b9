/**
 * A pull-through mirror of a private upstream through a real `pulumi up`: a program of its own
 * declares a private LocalRegistry (the internal registry of an air-gapped site), a LocalRegistry
 * in mirror mode with it as `upstream` and its CA as `upstreamCaCertPem`, and a LocalDind wired to
 * the mirror. Both registries bring certificates from the tier's CA (the tls provider cannot be
 * built here). The first pull is a miss fetched from the upstream; with the upstream stopped, the
 * same pull is a hit from the mirror's cache.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { containerLogs, followProgress, streamToBuffer } from "../e2e/support/e2eRun";
import { testImages } from "../e2e/support/engine";
import { TestCa } from "../e2e/support/pki";
import { PulumiProject, StateResource, stackFile, stateResource } from "./support/pulumiCli";

const STACK = "mirror";
const UPSTREAM_IMAGE = "upstream:5000/library/busybox:latest";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { LocalDind, LocalRegistry } from "./components";

const config = new pulumi.Config("mirror");
const image = config.require("registryImage");
const caCertPem = config.require("caCertPem");
const upstream = new LocalRegistry("upstream", {
    mode: "private",
    image,
    caCertPem,
    tlsCertPem: config.require("upstreamCertPem"),
    tlsKeyPem: config.requireSecret("upstreamKeyPem"),
});
// The mirror asks its upstream for /v2/ when it starts and exits when that fails.
const mirror = new LocalRegistry(
    "mirror",
    {
        networkName: upstream.networkName,
        upstream: "https://upstream:5000",
        upstreamCaCertPem: caCertPem,
        image,
        caCertPem,
        tlsCertPem: config.require("mirrorCertPem"),
        tlsKeyPem: config.requireSecret("mirrorKeyPem"),
    },
    { dependsOn: [upstream] },
);
const dind = new LocalDind("dind", {
    transport: "unix",
    socketDirectory: config.require("socketDirectory"),
    dindImage: config.require("dindImage"),
    networkName: upstream.networkName,
    registry: mirror,
    // The test fills the upstream from this daemon.
    registries: [{ host: upstream.registryHost, caCertPem }],
    retainDataVolume: false,
});
export const dockerHost = dind.dockerHost;
export const mirrorUrl = mirror.mirrorUrl;
`;

function container(host: Docker, resources: StateResource[], suffix: string): Docker.Container {
    return host.getContainer(stateResource(resources, "docker:index/container:Container", suffix).id!);
}

async function pull(docker: Docker, image: string): Promise<void> {
    await followProgress(await docker.pull(image), `pull of ${image}`);
}

describe("real engine: a mirror of a private upstream, deployed by pulumi up", function () {
    const host = new Docker();
    let project: PulumiProject;
    let ca: TestCa;
    let nested: Docker;
    let resources: StateResource[];

    before(async function () {
        project = PulumiProject.copyOfThisProject("private-mirror");
        project.writeFile("index.ts", PROGRAM);
        const sockets = path.join(project.root, "sockets");
        fs.mkdirSync(sockets);
        nested = new Docker({ socketPath: path.join(sockets, "docker.sock") });
        ca = TestCa.create("engine tier upstream CA");
        const upstream = ca.issue("upstream", "server", ["upstream"]);
        const mirror = ca.issue("mirror", "server", ["mirror"]);
        project.writeFile(
            `Pulumi.${STACK}.yaml`,
            stackFile({
                "mirror:registryImage": testImages.registry,
                "mirror:dindImage": testImages.dind,
                "mirror:socketDirectory": sockets,
                "mirror:caCertPem": ca.certPem,
                "mirror:upstreamCertPem": upstream.certPem,
                "mirror:mirrorCertPem": mirror.certPem,
            }),
        );
        await project.initStack(STACK);
        for (const [key, pem] of [["upstreamKeyPem", upstream.keyPem], ["mirrorKeyPem", mirror.keyPem]]) {
            await project.pulumi(["config", "set", "--secret", "-s", STACK, `mirror:${key}`], { stdin: pem });
        }
    });

    after(async function () {
        if (!project) return;
        if (resources) await container(host, resources, "upstream-registry").start().catch(() => undefined);
        await project.pulumi(["destroy", "--yes", "-s", STACK], { allowFailure: true });
        for (const volume of (resources ?? []).filter((r) => r.type === "docker:index/volume:Volume")) {
            await host.getVolume(volume.outputs!.name).remove().catch(() => undefined);
        }
        project.dispose();
        ca?.dispose();
    });

    it("deploys the upstream, the mirror trusting the upstream's CA, and a daemon pulling through the mirror", async function () {
        await project.up(STACK);
        resources = await project.resources(STACK);
        const { mirrorUrl } = await project.outputs(STACK);
        assert.equal(mirrorUrl, "https://mirror:5000");
        const mirror = await container(host, resources, "mirror-registry").inspect();
        assert.ok(mirror.State.Running, "the mirror started: its start-up check of the upstream passed over TLS");
        assert.ok(mirror.Config.Env.includes("REGISTRY_PROXY_REMOTEURL=https://upstream:5000"));
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });

    it("fetches a miss from the upstream, and serves it again from its cache with the upstream stopped", async function () {
        // Fill the upstream from the daemon, which trusts its CA.
        await nested.loadImage(await host.getImage(testImages.busybox).get()).then((stream) => streamToBuffer(stream));
        await nested.getImage(testImages.busybox).tag({ repo: UPSTREAM_IMAGE.replace(/:latest$/, ""), tag: "latest" });
        await followProgress(await nested.getImage(UPSTREAM_IMAGE).push({ authconfig: {} }), `push of ${UPSTREAM_IMAGE}`);
        await nested.getImage(UPSTREAM_IMAGE).remove();
        await nested.getImage(testImages.busybox).remove();

        const upstream = container(host, resources, "upstream-registry");
        const since = Math.floor(Date.now() / 1000);
        // Docker Hub is unreachable: busybox:latest can only come through the mirror.
        await pull(nested, "busybox:latest");
        assert.match(await containerLogs(upstream, since), /GET \/v2\/library\/busybox\/blobs\/sha256:/, "a miss: the mirror fetched the blobs from its upstream");

        await nested.getImage("busybox:latest").remove();
        await upstream.stop();
        await pull(nested, "busybox:latest");
        assert.ok((await nested.getImage("busybox:latest").inspect()).Id, "a hit: served from the mirror's cache while the upstream is down");
    });
});
