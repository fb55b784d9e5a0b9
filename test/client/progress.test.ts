import * as assert from "assert";
import { formatBytes, formatPullSummary, PullProgress } from "../../client";

describe("PullProgress", () => {
    it("sums layers and bytes over a pull, ignoring events without a layer", () => {
        const progress = new PullProgress();
        progress.update({ status: "Pulling from library/busybox", id: "latest" });
        progress.update({ status: "Pulling fs layer", id: "aaa" });
        progress.update({ status: "Pulling fs layer", id: "bbb" });
        progress.update({ status: "Already exists", id: "ccc" });
        progress.update({ status: "Downloading", id: "aaa", progressDetail: { current: 500, total: 1000 } });
        progress.update({ status: "Downloading", id: "bbb", progressDetail: { current: 100, total: 3000 } });
        assert.deepStrictEqual(progress.summary(), { layers: 3, layersDone: 1, downloadedBytes: 600, totalBytes: 4000 });

        progress.update({ status: "Download complete", id: "aaa" });
        progress.update({ status: "Extracting", id: "aaa", progressDetail: { current: 200, total: 1000 } });
        progress.update({ status: "Pull complete", id: "aaa" });
        progress.update({ status: "Digest: sha256:0123" });
        assert.deepStrictEqual(progress.summary(), { layers: 3, layersDone: 2, downloadedBytes: 1100, totalBytes: 4000 });
    });
});

describe("formatBytes / formatPullSummary", () => {
    it("writes sizes in decimal units as Docker does", () => {
        assert.strictEqual(formatBytes(999), "999 B");
        assert.strictEqual(formatBytes(1500), "1.5 kB");
        assert.strictEqual(formatBytes(23_400_000), "23.4 MB");
    });

    it("leaves out layers until one is announced, and bytes until a size is known", () => {
        assert.strictEqual(formatPullSummary("busybox", { layers: 0, layersDone: 0, downloadedBytes: 0, totalBytes: 0 }), "busybox");
        assert.strictEqual(formatPullSummary("busybox", { layers: 2, layersDone: 0, downloadedBytes: 0, totalBytes: 0 }), "busybox: 0/2 layers");
        assert.strictEqual(
            formatPullSummary("busybox", { layers: 2, layersDone: 1, downloadedBytes: 1_200_000, totalBytes: 2_000_000 }),
            "busybox: 1/2 layers, 1.2 MB of 2.0 MB",
        );
    });
});
