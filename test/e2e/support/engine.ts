import * as fs from "fs";
import Docker from "dockerode";

/** The Docker engine the end-to-end tests drive: DOCKER_HOST or the local socket. */
export function hostDocker(): Docker {
    return new Docker();
}

/** Images built from Debian packages by test/e2e/setup/build-images.sh. */
export const testImages = {
    /** dockerd, the docker CLI and a shell: stands in for docker:*-dind and docker:*-cli. */
    dind: "pulumi-dind-e2e/dind:latest",
    /** The distribution registry with registry:3's file layout and entrypoint. */
    registry: "pulumi-dind-e2e/registry:latest",
    /** Registry 3 (distribution v3, built from its Go module by build-registry3.sh) in that layout: the one with proxy.ttl. */
    registry3: "pulumi-dind-e2e/registry3:latest",
    /** busybox, the image the pull-save-remove checks pull. */
    busybox: "pulumi-dind-e2e/busybox:latest",
};

const CAP_SYS_RESOURCE = 24;

/** True when this process may hand every capability to a container, as `--privileged` needs. */
export function boundingSetIsComplete(status = fs.readFileSync("/proc/self/status", "utf8")): boolean {
    const line = status.split("\n").find((l) => l.startsWith("CapBnd:"));
    if (!line) {
        return true;
    }
    const bounding = BigInt("0x" + line.split(/\s+/)[1]);
    return (bounding & (1n << BigInt(CAP_SYS_RESOURCE))) !== 0n;
}

let substitutionAnnounced = false;

/**
 * HostConfig fields that give a container what `privileged: true` gives dind.
 * runc cannot start a privileged container when the sandbox's bounding set lacks
 * CAP_SYS_RESOURCE; this option set lets a nested dockerd run containers all the same.
 */
export function privilegedHostConfig(): Docker.HostConfig {
    if (boundingSetIsComplete()) {
        return { Privileged: true };
    }
    if (!substitutionAnnounced) {
        substitutionAnnounced = true;
        console.log(
            "note: the capability bounding set lacks CAP_SYS_RESOURCE, so privileged containers " +
                "run with --cap-add=ALL --cap-drop=SYS_RESOURCE, seccomp/apparmor/systempaths unconfined, " +
                "all devices and a rw /sys/fs/cgroup instead of --privileged",
        );
    }
    return {
        CapAdd: ["ALL"],
        CapDrop: ["SYS_RESOURCE"],
        SecurityOpt: ["seccomp=unconfined", "apparmor=unconfined"],
        // The CLI's `--security-opt systempaths=unconfined`; the API takes it as empty path lists.
        MaskedPaths: [],
        ReadonlyPaths: [],
        DeviceCgroupRules: ["a *:* rwm"],
        Binds: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"],
    };
}
