/**
 * Mocha root hooks of the real-engine tier: before any test, say which engine runs the
 * containers, and whether privileged ones go through the capability-trimming runc wrapper
 * (test/engine/setup/privileged-runtime.sh), so a reader of the output knows; then clear what an
 * interrupted earlier run left running.
 */
import Docker from "dockerode";
import { removeLeftovers } from "./leftovers";

export const mochaHooks = {
    async beforeAll(this: unknown) {
        const docker = new Docker();
        const info = await docker.info();
        console.log(`  Docker engine ${info.ServerVersion}, default runtime ${info.DefaultRuntime}`);
        if (info.DefaultRuntime === "runc-within-bounding-set") {
            console.log(
                "  note: this machine's capability bounding set is incomplete, so containers run through runc-within-bounding-set:\n" +
                    "        privileged containers keep their declared spec, minus the capabilities the machine cannot grant",
            );
        }
        const removed = await removeLeftovers(docker);
        if (removed.length > 0) {
            console.log(`  removed what an interrupted earlier run left:\n${removed.map((line) => `    ${line}`).join("\n")}`);
        }
    },
};
