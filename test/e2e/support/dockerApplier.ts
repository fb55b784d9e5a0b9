/**
 * Applies captured @pulumi/docker resources to a Docker engine through dockerode, as the
 * provider would create them, nearly one to one:
 *
 * - docker:index/network:Network → a network (driver, options, labels, internal, attachable);
 * - docker:index/volume:Volume → a volume (driver, driverOpts, labels);
 * - docker:index/remoteImage:RemoteImage → nothing is pulled: the declared `name` maps to a
 *   local test image (`images`), and containers that use the image's `imageId` or `name` get it;
 * - docker:index/container:Container → create (Config + HostConfig + first network), connect
 *   the other networks, put `uploads` in place at their exact paths (':' included), start,
 *   then wait for running (`mustRun`) or healthy (`wait`, `waitTimeout`).
 *
 * Every object is named `<run id>-<name the mock returned>` and labelled for the run, and
 * references between resources (a container's network, a mount's volume, an image) are
 * resolved through the names the mocks returned. Any input field not listed in the schemas
 * below makes applyDocker throw before anything is created, naming the field path; so does a
 * resource type it does not apply.
 */
import * as fs from "fs";
import Docker from "dockerode";
import type { Captured, RegisteredResource } from "../../harness";
import { E2eRun, containerLogs, mergeHostConfig, sleep, until } from "./e2eRun";
import { privilegedHostConfig } from "./engine";
import { Schema, UnsupportedFieldError, check, fields, items } from "./specSchema";
import { createTar } from "./tar";

export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const CONTAINER = "docker:index/container:Container";

const labelList = items(fields({ label: "scalar", value: "scalar" }));

export const DOCKER_SCHEMAS: Record<string, Schema> = {
    [NETWORK]: fields({ name: "scalar", driver: "scalar", options: "stringMap", labels: labelList, internal: "scalar", attachable: "scalar" }),
    [VOLUME]: fields({ name: "scalar", driver: "scalar", driverOpts: "stringMap", labels: labelList }),
    [REMOTE_IMAGE]: fields({ name: "scalar", keepLocally: "scalar" }),
    [CONTAINER]: fields({
        name: "scalar",
        image: "scalar",
        command: items("scalar"),
        entrypoints: items("scalar"),
        envs: items("scalar"),
        workingDir: "scalar",
        user: "scalar",
        hostname: "scalar",
        labels: labelList,
        privileged: "scalar",
        capabilities: fields({ adds: items("scalar"), drops: items("scalar") }),
        securityOpts: items("scalar"),
        uploads: items(fields({ file: "scalar", content: "scalar", contentBase64: "scalar", source: "scalar", executable: "scalar", permissions: "scalar" })),
        mounts: items(fields({ type: "scalar", source: "scalar", target: "scalar", readOnly: "scalar" })),
        volumes: items(fields({ containerPath: "scalar", hostPath: "scalar", volumeName: "scalar", readOnly: "scalar" })),
        networksAdvanced: items(fields({ name: "scalar", aliases: items("scalar") })),
        ports: items(fields({ internal: "scalar", external: "scalar", ip: "scalar", protocol: "scalar" })),
        healthcheck: fields({ tests: items("scalar"), interval: "scalar", timeout: "scalar", retries: "scalar", startPeriod: "scalar", startInterval: "scalar" }),
        restart: "scalar",
        maxRetryCount: "scalar",
        wait: "scalar",
        waitTimeout: "scalar",
        mustRun: "scalar",
        start: "scalar",
        stopTimeout: "scalar",
        stopSignal: "scalar",
        destroyGraceSeconds: "scalar",
    }),
};

function isBookkeeping(resource: RegisteredResource): boolean {
    return !resource.custom || resource.type.startsWith("tls:") || resource.type.startsWith("random:") || resource.type.startsWith("pulumi:providers:");
}

/** The parent type chain of a URN without the resource's own type. */
function parentChain(resource: RegisteredResource): string {
    const chain = resource.urn.split("::")[2]?.split("$") ?? [];
    return chain.slice(0, -1).join("$");
}

/** A Go duration ("1m30s", "500ms") in nanoseconds, as the provider parses it. */
export function goDurationNs(value: string): number {
    const units: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    const pattern = /([0-9.]+)(ns|us|µs|ms|s|m|h)/g;
    let total = 0;
    let consumed = 0;
    for (let match = pattern.exec(value); match; match = pattern.exec(value)) {
        total += Number(match[1]) * units[match[2]];
        consumed += match[0].length;
    }
    if (consumed !== value.length || value.length === 0) {
        throw new Error(`not a Go duration: ${JSON.stringify(value)}`);
    }
    return Math.round(total);
}

export interface ApplyDockerOptions {
    run: E2eRun;
    /** Declared image (a RemoteImage's `name`) → local image. Unmapped images are errors. */
    images: Record<string, string>;
    /** Progress lines; default console.log when E2E_VERBOSE is set. */
    log?: (line: string) => void;
}

export interface AppliedContainer {
    resource: RegisteredResource;
    dockerName: string;
    container: Docker.Container;
    /** Milliseconds since the epoch: created, started, running/healthy (what `pulumi up` waits for). */
    createdAt: number;
    startedAt?: number;
    readyAt?: number;
}

/** The Docker name the applier gives an object the mock named `mockName`. */
export function dockerName(run: E2eRun, mockName: string): string {
    return `${run.id}-${mockName}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
}

export class AppliedDocker {
    readonly containers: AppliedContainer[] = [];
    readonly networks = new Map<string, string>();
    readonly volumes = new Map<string, string>();
    /** Volumes that containers' mounts named but no Volume resource declared: Docker creates those on first use. */
    readonly implicitVolumes = new Map<string, string>();
    readonly notes: string[] = [];

    constructor(readonly captured: Captured, private readonly options: ApplyDockerOptions) {}

    private get docker(): Docker {
        return this.options.run.docker;
    }

    log(line: string): void {
        (this.options.log ?? ((l: string) => process.env.E2E_VERBOSE && console.log(`      [docker] ${l}`)))(line);
    }

    /** The applied container of a Container resource, by its logical (Pulumi) name. */
    container(resourceName: string): AppliedContainer {
        const found = this.containers.find((c) => c.resource.name === resourceName);
        if (!found) {
            throw new Error(`no applied container ${resourceName} (applied: ${this.containers.map((c) => c.resource.name).join(", ")})`);
        }
        return found;
    }

    /** The Docker name of a network or volume, by the name the mock returned. */
    nameOf(mockName: string): string {
        const name = this.networks.get(mockName) ?? this.volumes.get(mockName) ?? this.implicitVolumes.get(mockName);
        if (!name) {
            throw new Error(`no applied network or volume named ${mockName}`);
        }
        return name;
    }

    /**
     * `pulumi destroy` as the provider does it: containers (stopped with destroyGraceSeconds
     * first), then volumes not marked retainOnDelete, then networks.
     */
    async destroy(): Promise<void> {
        for (const applied of [...this.containers].reverse()) {
            const grace = applied.resource.inputs.destroyGraceSeconds;
            if (grace !== undefined) {
                await applied.container.stop({ t: grace }).catch(() => undefined);
            }
            await this.options.run.removeContainer(applied.container.id);
        }
        this.containers.length = 0;
        for (const resource of this.captured.ofType(VOLUME)) {
            if (!resource.options.retainOnDelete) {
                await this.docker.getVolume(this.volumes.get(resource.state.name)!).remove({ force: true }).catch(() => undefined);
            }
        }
        for (const name of [...this.networks.values()].reverse()) {
            await this.docker.getNetwork(name).remove().catch(() => undefined);
        }
    }
}

/** Which local image a Container's `image` input stands for. */
function resolveImage(captured: Captured, container: RegisteredResource, images: Record<string, string>): string {
    const reference: string = container.inputs.image;
    const remoteImages = captured.ofType(REMOTE_IMAGE);
    const localFor = (image: RegisteredResource) => {
        const local = images[image.inputs.name];
        if (!local) {
            throw new Error(`RemoteImage ${image.name}: no local image for ${image.inputs.name} (images: ${Object.keys(images).join(", ")})`);
        }
        return local;
    };
    const byName = remoteImages.filter((image) => image.inputs.name === reference);
    if (byName.length > 0) {
        return localFor(byName[0]);
    }
    let candidates = remoteImages.filter((image) => image.state.imageId === reference || image.state.repoDigest === reference);
    if (candidates.length === 0) {
        if (images[reference]) {
            return images[reference];
        }
        throw new Error(`Container ${container.name}: image ${reference} is neither a RemoteImage of the capture nor in images`);
    }
    // The harness's docker mock hands every RemoteImage the same imageId: narrow to the images
    // declared by the same component (parent type chain), and fail if they still differ.
    if (new Set(candidates.map(localFor)).size > 1) {
        candidates = candidates.filter((image) => parentChain(image) === parentChain(container));
    }
    const locals = new Set(candidates.map(localFor));
    if (locals.size !== 1) {
        throw new Error(
            `Container ${container.name}: image ${reference} could be any of ${candidates.map((c) => c.inputs.name).join(", ")} ` +
                "(the mock returns one imageId for every RemoteImage); map them to one local image or capture them apart",
        );
    }
    return [...locals][0];
}

function uploadMode(upload: any, path: string): number {
    if (upload.permissions !== undefined) {
        if (!/^0?[0-7]{3,4}$/.test(upload.permissions)) {
            throw new Error(`${path}.permissions: ${upload.permissions} is not an octal mode`);
        }
        return parseInt(upload.permissions, 8);
    }
    return upload.executable ? 0o744 : 0o644;
}

function uploadContent(upload: any, path: string): Buffer {
    const given = ["content", "contentBase64", "source"].filter((key) => upload[key] !== undefined && upload[key] !== null);
    if (given.length !== 1) {
        throw new Error(`${path}: exactly one of content, contentBase64, source (the provider refuses ${given.length})`);
    }
    if (upload.content !== undefined) return Buffer.from(upload.content, "utf8");
    if (upload.contentBase64 !== undefined) return Buffer.from(upload.contentBase64, "base64");
    return fs.readFileSync(upload.source);
}

/**
 * Creates the captured Docker resources on the engine, in registration order (networks,
 * volumes, then containers; each container started and waited for before the next, as the
 * provider's create blocks on `wait`).
 */
export async function applyDocker(captured: Captured, options: ApplyDockerOptions): Promise<AppliedDocker> {
    const { run } = options;
    const applied = new AppliedDocker(captured, options);

    // Check everything before creating anything.
    for (const resource of captured.resources) {
        if (isBookkeeping(resource)) continue;
        const schema = DOCKER_SCHEMAS[resource.type];
        if (!schema) {
            throw new UnsupportedFieldError(`${resource.type}::${resource.name}`, "this resource type is not applied by applyDocker");
        }
        check(resource.inputs, schema, `${resource.type}::${resource.name}`);
    }
    for (const image of captured.ofType(REMOTE_IMAGE)) {
        if (image.inputs.keepLocally !== true) {
            throw new UnsupportedFieldError(`${REMOTE_IMAGE}::${image.name}.keepLocally`, "only true is applied (the local stand-in image is never removed)");
        }
    }
    const engineApi = (await run.docker.version()).ApiVersion;
    const apiAtLeast = (version: string) => {
        const [a, b] = engineApi.split(".").map(Number);
        const [c, d] = version.split(".").map(Number);
        return a > c || (a === c && b >= d);
    };
    const containers = captured.ofType(CONTAINER);
    const plans = containers.map((resource) => ({ resource, image: resolveImage(captured, resource, options.images) }));
    for (const { resource } of plans) {
        const path = `${CONTAINER}::${resource.name}`;
        if (resource.inputs.healthcheck?.startInterval !== undefined && !apiAtLeast("1.44")) {
            throw new UnsupportedFieldError(`${path}.healthcheck.startInterval`, `engine API ${engineApi} < 1.44 would ignore it`);
        }
        if (resource.inputs.wait === true && !resource.inputs.healthcheck?.tests?.length) {
            throw new Error(`${path}.wait: true needs a healthcheck (the provider refuses it)`);
        }
        for (const [index, upload] of (resource.inputs.uploads ?? []).entries()) {
            if (typeof upload.file !== "string" || !upload.file.startsWith("/")) {
                throw new Error(`${path}.uploads[${index}].file: ${upload.file} must be an absolute path`);
            }
        }
    }

    const networkName = (reference: string, where: string): string => {
        const mapped = applied.networks.get(reference);
        if (!mapped) {
            throw new Error(`${where}: network ${reference} is not a Network of the capture`);
        }
        return mapped;
    };

    for (const resource of captured.ofType(NETWORK)) {
        const name = dockerName(run, resource.state.name);
        const labels = Object.fromEntries((resource.inputs.labels ?? []).map((l: any) => [l.label, l.value]));
        await run.createNetwork(name, {
            Driver: resource.inputs.driver ?? "bridge",
            Options: resource.inputs.options,
            Internal: resource.inputs.internal,
            Attachable: resource.inputs.attachable,
            Labels: labels,
            CheckDuplicate: true,
        } as any);
        applied.networks.set(resource.state.name, name);
        applied.log(`network ${name}`);
    }
    for (const resource of captured.ofType(VOLUME)) {
        const name = dockerName(run, resource.state.name);
        const labels = Object.fromEntries((resource.inputs.labels ?? []).map((l: any) => [l.label, l.value]));
        await run.createVolume(name, { Driver: resource.inputs.driver, DriverOpts: resource.inputs.driverOpts, Labels: labels });
        applied.volumes.set(resource.state.name, name);
        applied.log(`volume ${name}`);
    }

    for (const { resource, image } of plans) {
        const inputs = resource.inputs;
        const path = `${CONTAINER}::${resource.name}`;
        const name = dockerName(run, resource.state.name);

        const mounts: Docker.MountSettings[] = [];
        for (const [index, mount] of (inputs.mounts ?? []).entries()) {
            const where = `${path}.mounts[${index}]`;
            if (mount.type === "volume") {
                let source = applied.volumes.get(mount.source);
                if (!source) {
                    // Docker creates a named volume on first use; keep it in the run.
                    source = applied.implicitVolumes.get(mount.source) ?? dockerName(run, mount.source);
                    if (!applied.implicitVolumes.has(mount.source)) {
                        await run.createVolume(source);
                        applied.implicitVolumes.set(mount.source, source);
                        applied.notes.push(`volume ${mount.source} is not a Volume resource: created as Docker would on first use`);
                    }
                }
                mounts.push({ Type: "volume", Source: source, Target: mount.target, ReadOnly: mount.readOnly === true });
            } else if (mount.type === "bind") {
                if (typeof mount.source !== "string" || !mount.source.startsWith("/")) {
                    throw new Error(`${where}.source: a bind needs an absolute host path, got ${mount.source}`);
                }
                mounts.push({ Type: "bind", Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly === true });
            } else if (mount.type === "tmpfs") {
                mounts.push({ Type: "tmpfs", Target: mount.target, ReadOnly: mount.readOnly === true } as Docker.MountSettings);
            } else {
                throw new UnsupportedFieldError(`${where}.type`, String(mount.type));
            }
        }
        const binds: string[] = [];
        for (const [index, volume] of (inputs.volumes ?? []).entries()) {
            const where = `${path}.volumes[${index}]`;
            const source = volume.hostPath ?? (volume.volumeName !== undefined ? applied.volumes.get(volume.volumeName) : undefined);
            if (!source || !volume.containerPath) {
                throw new Error(`${where}: needs containerPath and a hostPath or a volumeName of the capture`);
            }
            binds.push(`${source}:${volume.containerPath}${volume.readOnly ? ":ro" : ""}`);
        }

        const exposed: Record<string, object> = {};
        const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
        for (const port of inputs.ports ?? []) {
            const key = `${port.internal}/${port.protocol ?? "tcp"}`;
            exposed[key] = {};
            (bindings[key] ??= []).push({ HostIp: port.ip ?? "", HostPort: port.external !== undefined ? String(port.external) : "" });
        }

        const healthcheck = inputs.healthcheck
            ? {
                  Test: inputs.healthcheck.tests,
                  Interval: inputs.healthcheck.interval !== undefined ? goDurationNs(inputs.healthcheck.interval) : undefined,
                  Timeout: inputs.healthcheck.timeout !== undefined ? goDurationNs(inputs.healthcheck.timeout) : undefined,
                  StartPeriod: inputs.healthcheck.startPeriod !== undefined ? goDurationNs(inputs.healthcheck.startPeriod) : undefined,
                  StartInterval: inputs.healthcheck.startInterval !== undefined ? goDurationNs(inputs.healthcheck.startInterval) : undefined,
                  Retries: inputs.healthcheck.retries,
              }
            : undefined;

        const networks: { name: string; aliases?: string[] }[] = (inputs.networksAdvanced ?? []).map((network: any, index: number) => ({
            name: networkName(network.name, `${path}.networksAdvanced[${index}].name`),
            aliases: network.aliases,
        }));
        const securityOpts: string[] = inputs.securityOpts ?? [];
        const hostConfig = mergeHostConfig(
            inputs.privileged === true ? privilegedHostConfig() : {},
            {
                CapAdd: inputs.capabilities?.adds,
                CapDrop: inputs.capabilities?.drops,
                SecurityOpt: securityOpts,
                Mounts: mounts,
                Binds: binds,
                PortBindings: bindings,
                RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
                // With networksAdvanced the provider takes the container off the default bridge.
                NetworkMode: networks[0]?.name ?? "bridge",
            },
        );
        const labels = Object.fromEntries((inputs.labels ?? []).map((l: any) => [l.label, l.value]));
        const createdAt = Date.now();
        const container = await run.createContainer({
            name,
            Image: image,
            Cmd: inputs.command,
            Entrypoint: inputs.entrypoints,
            Env: inputs.envs,
            WorkingDir: inputs.workingDir,
            User: inputs.user,
            Hostname: inputs.hostname,
            Labels: { ...labels, "io.pulumi.resource": resource.name },
            ExposedPorts: exposed,
            Healthcheck: healthcheck as any,
            StopTimeout: inputs.stopTimeout,
            StopSignal: inputs.stopSignal,
            HostConfig: hostConfig,
            NetworkingConfig: networks[0] ? { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases } } } : undefined,
        });
        const record: AppliedContainer = { resource, dockerName: name, container, createdAt };
        applied.containers.push(record);
        for (const network of networks.slice(1)) {
            await run.docker.getNetwork(network.name).connect({ Container: container.id, EndpointConfig: { Aliases: network.aliases } });
        }
        const uploads = (inputs.uploads ?? []).map((upload: any, index: number) => ({
            path: upload.file.replace(/^\/+/, ""),
            content: uploadContent(upload, `${path}.uploads[${index}]`),
            mode: uploadMode(upload, `${path}.uploads[${index}]`),
        }));
        if (uploads.length) {
            // One archive per upload at "/", no directory entries: as the provider does it.
            for (const upload of uploads) {
                await container.putArchive(createTar([upload], { parents: false }), { path: "/" });
            }
        }
        if (inputs.start === false) {
            applied.log(`container ${name} created (start: false)`);
            continue;
        }
        await container.start();
        record.startedAt = Date.now();
        if (inputs.wait === true) {
            const timeoutMs = (inputs.waitTimeout ?? 60) * 1000;
            await until(`${name} to be healthy`, timeoutMs, async () => {
                const info = await container.inspect();
                const status = info.State.Health?.Status;
                if (!info.State.Running || info.State.Restarting) {
                    throw new FatalWait(
                        `${name} ${info.State.Restarting ? "is restarting after exiting" : "exited"} with ${info.State.ExitCode}:\n${(await containerLogs(container)).slice(-3000)}`,
                    );
                }
                if (status === "unhealthy") {
                    const last = info.State.Health?.Log?.slice(-1)[0];
                    throw new FatalWait(`${name} is unhealthy: ${last?.Output ?? ""}\n${(await containerLogs(container)).slice(-3000)}`);
                }
                return status === "healthy" ? true : undefined;
            }, 250);
        } else if (inputs.mustRun !== false) {
            await sleep(200);
            const info = await container.inspect();
            if (!info.State.Running) {
                throw new Error(`${name} exited at once with ${info.State.ExitCode} (mustRun):\n${(await containerLogs(container)).slice(-3000)}`);
            }
        }
        record.readyAt = Date.now();
        applied.log(`container ${name} up in ${record.readyAt - createdAt} ms`);
    }
    return applied;
}

/** A wait that cannot succeed any more (exited, unhealthy): stops the polling at once. */
class FatalWait extends Error {
    readonly fatal = true;
}
