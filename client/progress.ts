import { ProgressEvent } from "./images";

/** Overall state of a pull, summed over its layers. */
export interface PullSummary {
    /** Layers the image has, as far as the daemon has announced them. */
    layers: number;
    /** Layers downloaded and extracted, or already present. */
    layersDone: number;
    /** Bytes downloaded so far over all layers whose size is known. */
    downloadedBytes: number;
    /** Total size of the layers whose size is known. */
    totalBytes: number;
}

interface LayerState {
    downloaded: number;
    total: number;
    done: boolean;
}

// Statuses after which a layer's bytes are all on the daemon.
const DOWNLOADED = new Set(["Download complete", "Verifying Checksum", "Extracting", "Pull complete"]);
const DONE = new Set(["Pull complete", "Already exists"]);

/**
 * Folds a pull's per-layer progress events into one overall figure, for a single progress line
 * instead of one line per layer.
 */
export class PullProgress {
    private readonly layers = new Map<string, LayerState>();

    /** Takes one event from `pull`'s onProgress; events without a layer are ignored. */
    update(event: ProgressEvent): void {
        const { id, status } = event;
        // "Pulling from library/busybox" carries the tag as its id, not a layer.
        if (id === undefined || status === undefined || status.startsWith("Pulling from")) {
            return;
        }
        const layer = this.layers.get(id) ?? { downloaded: 0, total: 0, done: false };
        this.layers.set(id, layer);
        const total = event.progressDetail?.total;
        if (status === "Downloading") {
            layer.downloaded = event.progressDetail?.current ?? layer.downloaded;
            if (total !== undefined && total > 0) {
                layer.total = total;
            }
        } else if (DOWNLOADED.has(status)) {
            layer.downloaded = layer.total;
        }
        if (DONE.has(status)) {
            layer.done = true;
        }
    }

    /** The state so far. */
    summary(): PullSummary {
        let layersDone = 0;
        let downloadedBytes = 0;
        let totalBytes = 0;
        for (const layer of this.layers.values()) {
            layersDone += layer.done ? 1 : 0;
            downloadedBytes += layer.downloaded;
            totalBytes += layer.total;
        }
        return { layers: this.layers.size, layersDone, downloadedBytes, totalBytes };
    }
}

/** Bytes as a person reads them: `512 B`, `1.5 kB`, `23.4 MB` (decimal units, as Docker prints). */
export function formatBytes(bytes: number): string {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** One line for a pull in progress, e.g. `busybox: 2/3 layers, 1.2 MB of 2.0 MB`. */
export function formatPullSummary(image: string, summary: PullSummary): string {
    if (summary.layers === 0) {
        return image;
    }
    const bytes =
        summary.totalBytes > 0 ? `, ${formatBytes(summary.downloadedBytes)} of ${formatBytes(summary.totalBytes)}` : "";
    return `${image}: ${summary.layersDone}/${summary.layers} layers${bytes}`;
}
