/**
 * The tier's start-of-run cleanup on a real Docker engine: a project directory whose test
 * process is gone loses the container, network and volume its state records, and the
 * directory; a live process's directory, and objects no state records, stay.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { testImages } from "../e2e/support/engine";
import { OWNER_FILE, ownerLine, PROJECT_DIR_PREFIX, removeLeftovers } from "./support/leftovers";

/** A project directory as PulumiProject leaves it, with one stack's checkpoint recording `resources`. */
function projectDir(tmp: string, label: string, owner: string, resources: object[]): string {
    const root = fs.mkdtempSync(path.join(tmp, `${PROJECT_DIR_PREFIX}${label}-`));
    fs.writeFileSync(path.join(root, OWNER_FILE), owner);
    const stacks = path.join(root, "state", ".pulumi", "stacks", "dind");
    fs.mkdirSync(stacks, { recursive: true });
    fs.writeFileSync(path.join(stacks, "killed.json"), JSON.stringify({ version: 3, checkpoint: { latest: { resources } } }));
    return root;
}

/** The pid of a process that has exited. */
function deadPid(): number {
    return spawnSync("true").pid!;
}

describe("real engine tier: what an interrupted run left", function () {
    const docker = new Docker();
    const suffix = crypto.randomBytes(3).toString("hex");
    const name = (what: string) => `leftover-${what}-${suffix}`;
    let tmp: string;

    before(function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "leftovers-"));
    });

    after(async function () {
        await docker.getContainer(name("dind")).remove({ force: true }).catch(() => undefined);
        await docker.getNetwork(name("network")).remove().catch(() => undefined);
        for (const volume of [name("data"), name("unrecorded")]) await docker.getVolume(volume).remove().catch(() => undefined);
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("removes what a dead owner's state records, and nothing else", async function () {
        await docker.createVolume({ Name: name("data") });
        await docker.createVolume({ Name: name("unrecorded") });
        const network = await docker.createNetwork({ Name: name("network") });
        const container = await docker.createContainer({
            name: name("dind"),
            Image: testImages.busybox,
            Cmd: ["sleep", "600"],
            HostConfig: { Mounts: [{ Type: "volume", Source: name("data"), Target: "/var/lib/docker" }], NetworkMode: name("network") },
        });
        await container.start();
        const recorded = [
            { urn: "urn:pulumi:killed::dind::docker:index/container:Container::dind", type: "docker:index/container:Container", id: container.id, outputs: { name: name("dind") } },
            { urn: "urn:pulumi:killed::dind::docker:index/network:Network::net", type: "docker:index/network:Network", id: network.id, outputs: { name: name("network") } },
            { urn: "urn:pulumi:killed::dind::docker:index/volume:Volume::data", type: "docker:index/volume:Volume", id: name("data"), outputs: { name: name("data") } },
        ];
        const killed = projectDir(tmp, "killed", `${os.hostname()}:${deadPid()}`, recorded);
        const running = projectDir(tmp, "running", ownerLine(), recorded.slice(0, 1));

        const removed = await removeLeftovers(docker, tmp);

        assert.deepEqual(removed, [`container ${name("dind")}`, `network ${name("network")}`, `volume ${name("data")}`, `directory ${killed}`]);
        await assert.rejects(container.inspect(), { statusCode: 404 });
        assert.ok(await docker.getVolume(name("unrecorded")).inspect(), "a volume no state records stays");
        assert.ok(fs.existsSync(running), "a live test process's directory stays");
    });
});
