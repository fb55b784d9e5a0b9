/**
 * How a newer build of the same image tag reaches the daemon (README, "Newer images"): the
 * Docker provider does not pull a tag the host already has, so a plain `up` keeps the old build,
 * and `pulumi up --refresh` after `docker pull` replaces the daemon onto the new one.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { testImages } from "../e2e/support/engine";
import { unixStackFile } from "./support/dockerStack";
import { PulumiProject, stateResource } from "./support/pulumiCli";

const STACK = "newer";
const REPO = "engine-tier.example/dind";
const TAG = `${REPO}:29`;

describe("real engine: a newer build of the daemon's image tag", function () {
    const host = new Docker();
    let project: PulumiProject;
    const images: string[] = [];

    async function daemonImage(): Promise<string> {
        const dind = stateResource(await project.resources(STACK), "docker:index/container:Container", "-dind");
        return (await host.getContainer(dind.id!).inspect()).Image;
    }

    before(async function () {
        await host.getImage(testImages.dind).tag({ repo: REPO, tag: "29" });
        project = PulumiProject.copyOfThisProject("newer");
        const sockets = path.join(project.root, "sockets");
        fs.mkdirSync(sockets);
        project.writeFile(`Pulumi.${STACK}.yaml`, unixStackFile(sockets, { "dind:dindImage": TAG, "dind:retainDataVolume": false }));
        await project.initStack(STACK);
        await project.up(STACK);
    });

    after(async function () {
        await project?.pulumi(["destroy", "--yes", "-s", STACK], { allowFailure: true });
        project?.dispose();
        await host.getImage(TAG).remove().catch(() => undefined);
        for (const id of images) await host.getImage(id).remove().catch(() => undefined);
    });

    it("stays on the old build through a plain up, and moves with up --refresh", async function () {
        const old = await daemonImage();
        // A newer build under the same tag, as `docker pull` would leave it.
        const scratch = await host.createContainer({ Image: TAG, Cmd: ["true"] });
        const { Id: newer } = await scratch.commit({ repo: REPO, tag: "29", changes: ["LABEL rebuilt=1"] });
        await scratch.remove({ v: true });
        images.push(newer);
        assert.notEqual(newer, old);

        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
        await project.pulumi(["up", "--yes", "--refresh", "--skip-preview", "-s", STACK]);
        assert.equal(await daemonImage(), newer, "the daemon runs the newer build");
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });
});
