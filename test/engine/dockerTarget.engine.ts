/**
 * `pulumi up` for real on the Docker target: the Pulumi CLI, the Node.js language host and
 * the Docker provider built from Go modules (test/engine/setup/install-pulumi.sh) deploy
 * this project's program to the machine's Docker engine, and the tests check what the
 * engine did, not what the program declared.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { testImages } from "../e2e/support/engine";
import { unixStackFile } from "./support/dockerStack";
import { PulumiProject, StateResource, stateResource } from "./support/pulumiCli";

const STACK = "engine";
/** An image the nested daemon gets from the test, under a name the host's store never has. */
const PROBE_TAG = "engine-tier.example/probe:latest";

/** The host engine's view of the daemon container the stack's state names. */
async function dindContainer(host: Docker, resources: StateResource[]): Promise<Docker.ContainerInspectInfo> {
    return host.getContainer(stateResource(resources, "docker:index/container:Container", "-dind").id!).inspect();
}

/** Puts busybox into the nested daemon under PROBE_TAG, as `docker load` would. */
async function loadProbe(host: Docker, nested: Docker): Promise<void> {
    const archive = await host.getImage(testImages.busybox).get();
    await new Promise<void>((resolve, reject) => {
        nested.loadImage(archive, {}, (err, stream) => {
            if (err) return reject(err);
            stream!.on("data", () => undefined);
            stream!.on("end", () => resolve());
            stream!.on("error", reject);
        });
    });
    await nested.getImage(testImages.busybox).tag({ repo: PROBE_TAG.split(":")[0], tag: "latest" });
}

async function hasImage(docker: Docker, tag: string): Promise<boolean> {
    return docker
        .getImage(tag)
        .inspect()
        .then(() => true)
        .catch(() => false);
}

describe("real engine: the program on the Docker target", function () {
    const host = new Docker();
    let project: PulumiProject;
    let socketDirectory: string;
    let nested: Docker;
    let volumeName: string | undefined;

    before(async function () {
        project = PulumiProject.copyOfThisProject("docker");
        socketDirectory = path.join(project.root, "sockets");
        fs.mkdirSync(socketDirectory);
        nested = new Docker({ socketPath: path.join(socketDirectory, "docker.sock") });
        project.writeFile(`Pulumi.${STACK}.yaml`, unixStackFile(socketDirectory));
        await project.initStack(STACK);
    });

    after(async function () {
        if (!project) return;
        await project.pulumi(["destroy", "--yes", "-s", STACK], { allowFailure: true });
        // The data volume is retained on purpose; the tier removes what it made.
        if (volumeName) await host.getVolume(volumeName).remove().catch(() => undefined);
        project.dispose();
    });

    it("deploys a privileged daemon that answers on the socket, with its store on a volume", async function () {
        await project.up(STACK);
        const resources = await project.resources(STACK);
        const outputs = await project.outputs(STACK);
        volumeName = outputs.volumeName;

        const dind = await dindContainer(host, resources);
        assert.equal(dind.State.Running, true);
        assert.equal(dind.HostConfig.Privileged, true, "exactly what the package declares: privileged");
        assert.deepEqual(
            dind.Mounts.filter((m) => m.Destination === "/var/lib/docker").map((m) => [m.Type, m.Name]),
            [["volume", outputs.volumeName]],
        );
        assert.equal(outputs.dockerHost, `unix://${socketDirectory}/docker.sock`);
        const info = await nested.info();
        assert.equal(info.Driver, "overlay2", "the volume lets dockerd use overlay2 instead of vfs");
        assert.equal(stateResource(resources, "docker:index/volume:Volume", "-data").retainOnDelete, true);
    });

    it("runs containers in its own image store, which the host's never sees", async function () {
        await loadProbe(host, nested);
        const container = await nested.createContainer({ Image: PROBE_TAG, Cmd: ["sh", "-c", "echo hello from the nested daemon"] });
        await container.start();
        const { StatusCode } = await container.wait();
        const logs = (await container.logs({ stdout: true })).toString();
        await container.remove();
        assert.equal(StatusCode, 0);
        assert.match(logs, /hello from the nested daemon/);
        assert.equal(await hasImage(host, PROBE_TAG), false, "the host's image store stays without it");
    });

    it("changes nothing on a second run, nor after a refresh", async function () {
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
        await project.pulumi(["refresh", "--yes", "-s", STACK]);
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });

    it("replaces the daemon for a new MTU in one up, and its image store survives on the volume", async function () {
        const before = await dindContainer(host, await project.resources(STACK));
        project.writeFile(`Pulumi.${STACK}.yaml`, unixStackFile(socketDirectory, { "dind:mtu": 1400 }));
        await project.up(STACK);
        const after = await dindContainer(host, await project.resources(STACK));
        assert.notEqual(after.Id, before.Id, "a new daemon container");
        assert.ok(after.Config.Cmd!.includes("--mtu=1400"));
        assert.equal(await hasImage(nested, PROBE_TAG), true, "the image loaded before the update is still there");
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });

    it("replaces the daemon for a new startup timeout, so its healthcheck is the one declared", async function () {
        const before = await dindContainer(host, await project.resources(STACK));
        project.writeFile(`Pulumi.${STACK}.yaml`, unixStackFile(socketDirectory, { "dind:mtu": 1400, "dind:startupTimeoutSeconds": 90 }));
        await project.up(STACK);
        const after = await dindContainer(host, await project.resources(STACK));
        assert.notEqual(after.Id, before.Id);
        assert.equal(after.Config.Healthcheck?.StartPeriod, 90e9, "the running container has the new start period");
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });

    it("finds the retained volume again after destroy, with the images in it", async function () {
        await project.pulumi(["destroy", "--yes", "-s", STACK]);
        assert.deepEqual(await project.resources(STACK), []);
        assert.ok(volumeName);
        await host.getVolume(volumeName).inspect(); // retained
        await project.up(STACK);
        assert.equal((await project.outputs(STACK)).volumeName, volumeName);
        assert.equal(await hasImage(nested, PROBE_TAG), true, "the daemon starts on the old store");
    });
});
