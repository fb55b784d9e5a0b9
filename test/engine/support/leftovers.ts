/**
 * What an interrupted earlier run of this tier left running. A run killed mid-test never reaches
 * its `destroy`, and its daemons keep their data volumes mounted. A later run's stack of the same
 * name gets the same volume names, and a dockerd started on a data root that another dockerd
 * holds never becomes healthy. So the tier starts by removing them.
 *
 * Each project directory records the test process that owns it. A directory whose owner is
 * gone still holds its stacks' state, which names every container, network and volume they
 * created: exactly those are removed, then the directory. Nothing outside that state is touched.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import Docker from "dockerode";
import type { StateResource } from "./pulumiCli";

export const PROJECT_DIR_PREFIX = "pulumi-dind-engine-";
/** In each project directory: `<hostname>:<pid>` of the test process that made it. */
export const OWNER_FILE = "owner";

export function ownerLine(): string {
    return `${os.hostname()}:${process.pid}`;
}

function ownerIsGone(root: string): boolean {
    let owner: string;
    try {
        owner = fs.readFileSync(path.join(root, OWNER_FILE), "utf8").trim();
    } catch {
        return true; // a directory from before owners were recorded
    }
    const [host, pid] = owner.split(":");
    if (host !== os.hostname() || Number(pid) === process.pid) return false;
    try {
        process.kill(Number(pid), 0);
        return false;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code !== "EPERM";
    }
}

/** Every resource recorded in the stack files of a local `file://` backend. */
function recordedResources(state: string): StateResource[] {
    const stacks = path.join(state, ".pulumi", "stacks");
    if (!fs.existsSync(stacks)) return [];
    const files = fs.readdirSync(stacks, { recursive: true, encoding: "utf8" }).filter((file) => /\.json(\.gz)?$/.test(file));
    return files.flatMap((file) => {
        const raw = fs.readFileSync(path.join(stacks, file));
        const checkpoint = JSON.parse((file.endsWith(".gz") ? zlib.gunzipSync(raw) : raw).toString("utf8"));
        return (checkpoint.checkpoint?.latest?.resources ?? []) as StateResource[];
    });
}

async function removeIgnoringMissing(what: string, remove: () => Promise<unknown>, removed: string[]): Promise<void> {
    try {
        await remove();
        removed.push(what);
    } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
}

/** Removes the leftovers of project directories whose test process is gone; one line per object removed. */
export async function removeLeftovers(docker: Docker, tmp = os.tmpdir()): Promise<string[]> {
    const removed: string[] = [];
    const roots = fs.readdirSync(tmp).filter((name) => name.startsWith(PROJECT_DIR_PREFIX)).map((name) => path.join(tmp, name));
    for (const root of roots.filter(ownerIsGone)) {
        const resources = recordedResources(path.join(root, "state"));
        const ofType = (type: string) => resources.filter((r) => r.type === type && r.id);
        for (const r of ofType("docker:index/container:Container")) {
            await removeIgnoringMissing(`container ${r.outputs?.name ?? r.id}`, () => docker.getContainer(r.id!).remove({ force: true }), removed);
        }
        for (const r of ofType("docker:index/network:Network")) {
            await removeIgnoringMissing(`network ${r.outputs?.name ?? r.id}`, () => docker.getNetwork(r.id!).remove(), removed);
        }
        for (const r of ofType("docker:index/volume:Volume")) {
            const name = r.outputs?.name ?? r.id!;
            await removeIgnoringMissing(`volume ${name}`, () => docker.getVolume(name).remove(), removed);
        }
        fs.rmSync(root, { recursive: true, force: true });
        removed.push(`directory ${root}`);
    }
    return removed;
}
