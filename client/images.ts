import { once } from "events";
import * as fs from "fs";
import { pipeline } from "stream/promises";
import Docker from "dockerode";
import { describeDocker } from "./connection";
import { classifyError } from "./errors";

/** One JSON line of the daemon's progress stream (pull, load). */
export interface ProgressEvent {
    /** Layer ID for layer events; the tag for "Pulling from ..." events. */
    id?: string;
    /** E.g. "Pulling fs layer", "Downloading", "Pull complete", "Status: Downloaded newer image for x". */
    status?: string;
    /** A ready-made progress bar, e.g. `[=====>     ]  1.2MB/2.4MB`. */
    progress?: string;
    /** Byte counts behind `progress`. */
    progressDetail?: { current?: number; total?: number };
    /** Free text (load reports "Loaded image: x" here). */
    stream?: string;
    /** Set on failure, with errorDetail; the HTTP status is still 200. */
    error?: string;
    /** Set on failure. */
    errorDetail?: { code?: number; message?: string };
}

/** The daemon's message when a progress event reports a failure, else undefined. */
export function progressEventError(event: ProgressEvent): string | undefined {
    return event.errorDetail?.message || event.error || undefined;
}

/**
 * Reads a progress stream to its end with docker.modem.followProgress. The daemon only finishes
 * a pull or load once its stream has been read entirely, and reports failures inside the stream
 * with HTTP 200: this resolves after the end and rejects with an Error holding the daemon's
 * message when an event carried one. Callers classify that error with their own context.
 */
export function followProgressStream(
    docker: Docker,
    stream: NodeJS.ReadableStream,
    onProgress?: (event: ProgressEvent) => void,
): Promise<ProgressEvent[]> {
    return new Promise((resolve, reject) => {
        let failure: string | undefined;
        docker.modem.followProgress(
            stream,
            (error, events: ProgressEvent[]) => {
                if (error) {
                    reject(error);
                } else if (failure !== undefined) {
                    reject(new Error(failure));
                } else {
                    resolve(events);
                }
            },
            (event: ProgressEvent) => {
                const message = progressEventError(event);
                if (message !== undefined) {
                    failure ??= message;
                } else {
                    onProgress?.(event);
                }
            },
        );
    });
}

/** True when the daemon has the image; throws typed errors for anything but "no such image". */
export async function imageExists(docker: Docker, image: string): Promise<boolean> {
    try {
        await docker.getImage(image).inspect();
        return true;
    } catch (error) {
        if ((error as { statusCode?: unknown }).statusCode === 404) {
            return false;
        }
        throw classifyError(error, { endpoint: describeDocker(docker), image });
    }
}

/** Options of `pull`. */
export interface PullOptions {
    /** Receives every progress event of the pull (not called when the pull is skipped). */
    onProgress?: (event: ProgressEvent) => void;
    /** Pull even when the image is present, to pick up a moved tag. Default false. */
    always?: boolean;
    /** Cancels the pull; it then rejects with AbortError. */
    signal?: AbortSignal;
}

/**
 * Pulls an image into the daemon and resolves once the daemon has it, reading the progress
 * stream to its end (no sleep needed after it). Skips the pull when the image is present, unless
 * `always`. Resolves to true when it pulled, false when it skipped.
 *
 * Rejects with PullDeniedError when the registry refuses (unknown image, missing or wrong
 * credentials), DaemonError with the daemon's message for other failures, including those
 * reported inside the stream.
 */
export async function pull(docker: Docker, image: string, options: PullOptions = {}): Promise<boolean> {
    if (!options.always && (await imageExists(docker, image))) {
        return false;
    }
    try {
        const stream = await docker.pull(image, { abortSignal: options.signal });
        await followProgressStream(docker, stream, options.onProgress);
    } catch (error) {
        throw classifyError(error, { endpoint: describeDocker(docker), image, pulling: true });
    }
    return true;
}

/** Options of `saveImages` and `loadImages`. */
export interface TransferOptions {
    /** Cancels the transfer; it then rejects with AbortError. */
    signal?: AbortSignal;
}

type ExportImages = (options: { names: string[]; abortSignal?: AbortSignal }) => Promise<NodeJS.ReadableStream>;

/**
 * Writes images into one tar archive, as `docker save -o FILE IMAGE...` does. The file is
 * removed again when the export fails, so that no truncated archive is left to load later.
 * Rejects with ImageNotFoundError when an image is not on the daemon.
 */
export async function saveImages(docker: Docker, images: string[], file: string, options: TransferOptions = {}): Promise<void> {
    if (images.length === 0) {
        throw new RangeError("saveImages needs at least one image");
    }
    const context = { endpoint: describeDocker(docker), image: images.join(" ") };
    let archive: NodeJS.ReadableStream;
    try {
        // GET /images/get; dockerode has it as getImages, which its type definitions lack.
        const exportImages = (docker as unknown as { getImages: ExportImages }).getImages;
        archive = await exportImages.call(docker, { names: images, abortSignal: options.signal });
    } catch (error) {
        throw classifyError(error, context);
    }
    try {
        await pipeline(archive, fs.createWriteStream(file), { signal: options.signal });
    } catch (error) {
        await fs.promises.rm(file, { force: true });
        throw classifyError(error, context);
    }
}

/**
 * Loads the images of a tar archive (from `saveImages` or `docker save`) into the daemon, as
 * `docker load -i FILE` does. Resolves to what the daemon reports loaded: references such as
 * `busybox:latest`, or `sha256:...` IDs for untagged images.
 */
export async function loadImages(docker: Docker, file: string, options: TransferOptions = {}): Promise<string[]> {
    const archive = fs.createReadStream(file);
    // Opened here so that a missing file reads as such, not as a failed request to the daemon.
    await once(archive, "open");
    let events: ProgressEvent[];
    try {
        const stream = await docker.loadImage(archive, { quiet: true, abortSignal: options.signal });
        events = await followProgressStream(docker, stream);
    } catch (error) {
        archive.destroy();
        throw classifyError(error, { endpoint: describeDocker(docker) });
    }
    return events.flatMap((event) => {
        const loaded = /^Loaded image(?: ID)?: (.+)$/m.exec(event.stream ?? "");
        return loaded ? [loaded[1].trim()] : [];
    });
}
