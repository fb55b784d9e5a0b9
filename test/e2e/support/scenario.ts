/**
 * Pieces the scenarios share: the image map, the pull-save-remove script, checks on what a pod left
 * behind, and connection probes from a container beside the pod.
 */
import { strict as assert } from "assert";
import { DEFAULT_CLI_IMAGE, DEFAULT_DIND_IMAGE } from "../../../components/daemon";
import type { DindDeploymentArgs } from "../../../components/dindDeployment";
import { E2eRun } from "./e2eRun";
import { testImages } from "./engine";
import { readTar, TarEntry } from "./tar";

/** The components' default images, substituted by the local test images. */
export const IMAGES: Record<string, string> = {
    [DEFAULT_DIND_IMAGE]: testImages.dind,
    [DEFAULT_CLI_IMAGE]: testImages.dind,
};

/** The pull-save-remove check (Docker Hub is unreachable here: the pull can only come through the mirror). */
export const PULL_SAVE_REMOVE_SCRIPT = "docker pull busybox:latest && docker save -o busybox.tar busybox:latest && docker rmi busybox:latest";

/**
 * A DindDeployment in the runner's namespace that pulls through `registry` as its mirror and
 * trusts `caCertPem` for it (the registry's own CA unless a test gives another). The
 * NetworkPolicy is left out: the runner does not apply it, and the daemon's own listeners are
 * what the scenarios check.
 */
export function mirroredDind(registry: { host: string; ca: { certPem: string } }, args: DindDeploymentArgs, caCertPem = registry.ca.certPem): DindDeploymentArgs {
    return {
        namespace: "e2e",
        registryMirrors: [`https://${registry.host}`],
        registries: [{ host: registry.host, caCertPem }],
        networkPolicy: false,
        ...args,
    };
}

/** Fails when the host engine's own image list has `busybox:latest`: the nested daemon must not touch it. */
export async function assertHostHasNoBusybox(run: E2eRun): Promise<void> {
    const tagged = (await run.docker.listImages()).filter((image) => (image.RepoTags ?? []).some((tag) => tag === "busybox:latest" || tag === "docker.io/library/busybox:latest"));
    assert.equal(tagged.length, 0, "the host engine has busybox:latest");
}

/** Reads a `docker save` archive from a volume and checks it is one: manifest.json naming `tag`. */
export async function assertSavedImage(run: E2eRun, volume: string, file: string, tag: string): Promise<{ bytes: number; layers: number }> {
    const archive = await run.readVolumeFile(volume, file);
    const entries = readTar(archive);
    const manifestEntry = entries.find((entry) => entry.path === "manifest.json");
    assert.ok(manifestEntry, `${file} has no manifest.json (entries: ${entries.map((e) => e.path).slice(0, 10).join(", ")})`);
    const manifest = JSON.parse(manifestEntry.content.toString("utf8"));
    assert.ok(Array.isArray(manifest) && manifest.length === 1, "manifest.json lists one image");
    assert.ok(manifest[0].RepoTags.includes(tag), `manifest.json tags: ${manifest[0].RepoTags}`);
    for (const layer of manifest[0].Layers) {
        assert.ok(entries.some((entry) => entry.path === layer), `layer ${layer} is in the archive`);
    }
    return { bytes: archive.length, layers: manifest[0].Layers.length };
}

export interface ConnectResult {
    exitCode: number;
    output: string;
}

/**
 * curl from a fresh container on `network` (not in the pod): exit 0 = answered, 7 = connection
 * refused, 28 = timed out, 35/56 = TLS handshake or read failed.
 */
export async function curlFrom(run: E2eRun, network: string, args: string[], files: TarEntry[] = []): Promise<ConnectResult> {
    return run.runOnce({
        image: testImages.dind,
        entrypoint: ["curl"],
        cmd: ["-sS", "--max-time", "5", ...args],
        network,
        files,
        timeoutMs: 30_000,
        name: "curl",
    });
}

/** The client's TLS pair as files for curl, from the captured Secret's stringData. */
export function tlsFiles(stringData: Record<string, string>): TarEntry[] {
    return Object.entries(stringData).map(([key, value]) => ({ path: `tls/${key}`, content: Buffer.from(value), mode: 0o600 }));
}

/** Seconds since `start`, to one decimal. */
export function seconds(start: number): string {
    return ((Date.now() - start) / 1000).toFixed(1);
}

/** How often `pattern` occurs in `text`, e.g. requests in a registry's access log. */
export function countMatches(text: string, pattern: RegExp): number {
    return (text.match(new RegExp(pattern.source, "g")) ?? []).length;
}
