/**
 * Bookkeeping shared by the end-to-end scenarios: one `E2eRun` per test file names and labels
 * every container, network and volume it creates, removes them all in `cleanup()`, and at start
 * sweeps what runs killed before it left behind. Plus bounded helpers: exec, logs, one-shot
 * containers, reading files out of volumes.
 */
import * as crypto from "crypto";
import * as os from "os";
import { Readable } from "stream";
import Docker from "dockerode";
import { hostDocker, testImages } from "./engine";
import { createTar, readTar, TarEntry } from "./tar";

/** On every object the tier creates; the sweep only looks at objects that carry it. */
export const E2E_LABEL = "dev.pulumi-dind.e2e";
/** `<hostname>:<pid>` of the test process that created the object. */
export const OWNER_LABEL = "dev.pulumi-dind.e2e.owner";
/** The run (one test file) that created the object. */
export const RUN_LABEL = "dev.pulumi-dind.e2e.run";

const OWNER = `${os.hostname()}:${process.pid}`;

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Whether an object labelled by `owner` was left by a test process of this host that no longer runs. */
function ownerIsGone(owner: string | undefined): boolean {
    if (!owner) {
        return false; // not ours to judge
    }
    const [host, pid] = owner.split(":");
    return host === os.hostname() && Number(pid) !== process.pid && !processAlive(Number(pid));
}

let swept = false;

/**
 * Removes containers, then networks, then volumes labelled by this tier whose owning test
 * process is dead. Objects of live runs (another test process, or this one) are left alone.
 */
export async function sweepStale(docker: Docker = hostDocker()): Promise<number> {
    const filters = JSON.stringify({ label: [`${E2E_LABEL}=1`] });
    let removed = 0;
    for (const info of await docker.listContainers({ all: true, filters })) {
        if (ownerIsGone(info.Labels[OWNER_LABEL])) {
            await docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined);
            removed++;
        }
    }
    for (const info of await docker.listNetworks({ filters })) {
        if (ownerIsGone(info.Labels?.[OWNER_LABEL])) {
            await docker.getNetwork(info.Id).remove().catch(() => undefined);
            removed++;
        }
    }
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    for (const info of volumes) {
        if (ownerIsGone(info.Labels?.[OWNER_LABEL])) {
            await docker.getVolume(info.Name).remove({ force: true }).catch(() => undefined);
            removed++;
        }
    }
    if (removed > 0) {
        console.log(`e2e: swept ${removed} object(s) left by killed runs`);
    }
    return removed;
}

/**
 * Polls `probe` until it returns a value, at most `timeoutMs`, every `intervalMs`. A probe
 * error is retried unless it has `fatal: true`.
 */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
        try {
            const value = await probe();
            if (value !== undefined) {
                return value;
            }
        } catch (error) {
            if ((error as { fatal?: boolean }).fatal) {
                throw error;
            }
            lastError = error;
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
        }
        await sleep(intervalMs);
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with a message naming `what`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Splits Docker's multiplexed stream framing (no TTY) into stdout and stderr. */
export function demux(buffer: Buffer): { stdout: string; stderr: string } {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
        const kind = buffer[offset];
        const size = buffer.readUInt32BE(offset + 4);
        const chunk = buffer.subarray(offset + 8, offset + 8 + size);
        (kind === 2 ? err : out).push(chunk);
        offset += 8 + size;
    }
    return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/** Reads a pull's or push's progress stream to its end; an error inside the HTTP 200 stream rejects, naming `what`. */
export async function followProgress(stream: NodeJS.ReadableStream, what: string): Promise<void> {
    const lines = (await streamToBuffer(stream)).toString().trim().split("\n");
    const failed = lines.map((line) => JSON.parse(line)).find((event) => event.error);
    if (failed) throw new Error(`${what}: ${failed.error}`);
}

export function streamToBuffer(stream: NodeJS.ReadableStream, limitBytes = 2 * 1024 ** 3): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > limitBytes) {
                reject(new Error(`stream exceeds ${limitBytes} bytes`));
                (stream as any).destroy?.();
                return;
            }
            chunks.push(chunk);
        });
        stream.on("end", () => resolve(Buffer.concat(chunks)));
        stream.on("close", () => resolve(Buffer.concat(chunks)));
        stream.on("error", reject);
    });
}

export interface ExecResult {
    exitCode: number;
    stdout: string;
    stderr: string;
}

/** Runs `cmd` in a running container, bounded by `timeoutMs`. */
export async function execIn(
    container: Docker.Container,
    cmd: string[],
    options: { timeoutMs?: number; env?: string[]; user?: string; workingDir?: string } = {},
): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const exec = await container.exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
        Env: options.env,
        User: options.user,
        WorkingDir: options.workingDir,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    let raw: Buffer;
    try {
        raw = await withTimeout(streamToBuffer(stream), timeoutMs, `exec ${JSON.stringify(cmd)}`);
    } catch (error) {
        (stream as any).destroy?.();
        throw error;
    }
    const { stdout, stderr } = demux(raw);
    const info = await until("the exec's exit code", 10_000, async () => {
        const inspected = await exec.inspect();
        return inspected.Running ? undefined : inspected;
    }, 50);
    return { exitCode: info.ExitCode ?? -1, stdout, stderr };
}

/** stdout and stderr of a container so far (since a Unix time in seconds, if given). */
export async function containerLogs(container: Docker.Container, since?: number): Promise<string> {
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false, since })) as unknown as Buffer;
    const { stdout, stderr } = demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    return stdout + (stderr ? (stdout ? "\n" : "") + stderr : "");
}

/** Merges HostConfig fragments, concatenating list fields; undefined values leave earlier ones alone. */
export function mergeHostConfig(...parts: Docker.HostConfig[]): Docker.HostConfig {
    const merged: Record<string, unknown> = {};
    for (const part of parts) {
        for (const [key, value] of Object.entries(part)) {
            if (value === undefined) {
                continue;
            }
            const previous = merged[key];
            merged[key] = Array.isArray(previous) && Array.isArray(value) ? [...previous, ...value] : value;
        }
    }
    return merged as Docker.HostConfig;
}

/**
 * One test file's objects: names with a unique prefix, labels for the sweep, and removal of
 * everything in reverse order of creation.
 */
export class E2eRun {
    readonly docker: Docker;
    readonly id: string;
    private readonly containers: string[] = [];
    private readonly networks: string[] = [];
    private readonly volumes: string[] = [];

    constructor(readonly scenario: string, docker: Docker = hostDocker()) {
        this.docker = docker;
        this.id = `e2e-${scenario}-${crypto.randomBytes(3).toString("hex")}`;
    }

    /** Sweeps stale objects once per process and checks the test images are there. */
    async start(): Promise<this> {
        if (!swept) {
            swept = true;
            await sweepStale(this.docker);
        }
        for (const image of Object.values(testImages)) {
            await this.docker.getImage(image).inspect().catch(() => {
                throw new Error(`test image ${image} is missing: run test/e2e/setup/build-images.sh`);
            });
        }
        return this;
    }

    name(suffix: string): string {
        return `${this.id}-${suffix}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
    }

    labels(extra: Record<string, string> = {}): Record<string, string> {
        return { [E2E_LABEL]: "1", [OWNER_LABEL]: OWNER, [RUN_LABEL]: this.id, ...extra };
    }

    async createContainer(options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
        const container = await this.docker.createContainer({ ...options, Labels: { ...(options.Labels ?? {}), ...this.labels() } });
        this.containers.push(container.id);
        return container;
    }

    async createNetwork(name: string, options: Partial<Docker.NetworkCreateOptions> = {}): Promise<Docker.Network> {
        const network = await this.docker.createNetwork({ ...options, Name: name, Labels: { ...(options.Labels ?? {}), ...this.labels() } });
        this.networks.push(network.id);
        return network;
    }

    async createVolume(name: string, options: { Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> } = {}): Promise<string> {
        await this.docker.createVolume({ ...options, Name: name, Labels: { ...(options.Labels ?? {}), ...this.labels() } } as any);
        this.volumes.push(name);
        return name;
    }

    /** Tracks an object created elsewhere so cleanup removes it. */
    track(kind: "container" | "network" | "volume", id: string): void {
        ({ container: this.containers, network: this.networks, volume: this.volumes })[kind].push(id);
    }

    async removeContainer(id: string): Promise<void> {
        await this.docker.getContainer(id).remove({ force: true, v: true }).catch((error) => {
            if ((error as any).statusCode !== 404) {
                throw error;
            }
        });
    }

    /** Removes everything this run created; reports what could not be removed. */
    async cleanup(): Promise<void> {
        const failures: string[] = [];
        for (const id of [...this.containers].reverse()) {
            await this.removeContainer(id).catch((error) => failures.push(`container ${id}: ${error.message}`));
        }
        this.containers.length = 0;
        for (const id of [...this.networks].reverse()) {
            await this.docker.getNetwork(id).remove().catch((error) => {
                if (error.statusCode !== 404) failures.push(`network ${id}: ${error.message}`);
            });
        }
        this.networks.length = 0;
        for (const name of [...this.volumes].reverse()) {
            await this.docker.getVolume(name).remove({ force: true }).catch((error) => {
                if (error.statusCode !== 404) failures.push(`volume ${name}: ${error.message}`);
            });
        }
        this.volumes.length = 0;
        // Anything else carrying this run's label (e.g. created by a component applier).
        const filters = JSON.stringify({ label: [`${RUN_LABEL}=${this.id}`] });
        for (const info of await this.docker.listContainers({ all: true, filters })) {
            await this.removeContainer(info.Id).catch((error) => failures.push(`container ${info.Id}: ${error.message}`));
        }
        for (const info of await this.docker.listNetworks({ filters })) {
            await this.docker.getNetwork(info.Id).remove().catch((error) => failures.push(`network ${info.Id}: ${error.message}`));
        }
        for (const info of (await this.docker.listVolumes({ filters })).Volumes ?? []) {
            await this.docker.getVolume(info.Name).remove({ force: true }).catch((error) => failures.push(`volume ${info.Name}: ${error.message}`));
        }
        if (failures.length > 0) {
            throw new Error(`cleanup of ${this.id} left objects behind:\n${failures.join("\n")}`);
        }
    }

    /** Every object still carrying this run's label (for the tests' own leak checks). */
    async leftovers(): Promise<string[]> {
        const filters = JSON.stringify({ label: [`${RUN_LABEL}=${this.id}`] });
        const containers = (await this.docker.listContainers({ all: true, filters })).map((c) => `container ${c.Names[0]}`);
        const networks = (await this.docker.listNetworks({ filters })).map((n) => `network ${n.Name}`);
        const volumes = ((await this.docker.listVolumes({ filters })).Volumes ?? []).map((v) => `volume ${v.Name}`);
        return [...containers, ...networks, ...volumes];
    }

    /**
     * Runs a short-lived container to completion (bounded), then removes it.
     * `files` are put in place before it starts.
     */
    async runOnce(options: {
        image: string;
        cmd: string[];
        entrypoint?: string[];
        network?: string;
        files?: TarEntry[];
        env?: string[];
        mounts?: Docker.MountSettings[];
        hostConfig?: Docker.HostConfig;
        timeoutMs?: number;
        name?: string;
    }): Promise<{ exitCode: number; output: string }> {
        const container = await this.createContainer({
            name: this.name(options.name ?? `once-${crypto.randomBytes(2).toString("hex")}`),
            Image: options.image,
            Entrypoint: options.entrypoint,
            Cmd: options.cmd,
            Env: options.env,
            HostConfig: { NetworkMode: options.network, Mounts: options.mounts, ...(options.hostConfig ?? {}) },
        });
        try {
            if (options.files?.length) {
                await container.putArchive(createTar(options.files), { path: "/" });
            }
            await container.start();
            const result = await withTimeout(container.wait(), options.timeoutMs ?? 120_000, `container ${options.cmd.join(" ")}`);
            return { exitCode: result.StatusCode, output: await containerLogs(container) };
        } finally {
            await this.removeContainer(container.id);
        }
    }

    /** A file's content from a volume, read through a stopped helper container (never started). */
    async readVolumeFile(volume: string, filePath: string): Promise<Buffer> {
        const entries = await this.readVolume(volume, filePath);
        const file = entries.find((entry) => entry.type === "file");
        if (!file) {
            throw new Error(`${filePath} in volume ${volume} is not a file`);
        }
        return file.content;
    }

    /** Entries under `subPath` of a volume. */
    async readVolume(volume: string, subPath = ""): Promise<ReturnType<typeof readTar>> {
        const helper = await this.createContainer({
            name: this.name(`read-${crypto.randomBytes(2).toString("hex")}`),
            Image: testImages.busybox,
            Cmd: ["true"],
            HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/volume", ReadOnly: true }] },
        });
        try {
            const stream = await helper.getArchive({ path: `/volume/${subPath.replace(/^\/+/, "")}` });
            return readTar(await streamToBuffer(stream));
        } finally {
            await this.removeContainer(helper.id);
        }
    }
}

/** A readable stream of `buffer`. */
export function bufferStream(buffer: Buffer): Readable {
    return Readable.from([buffer]);
}
