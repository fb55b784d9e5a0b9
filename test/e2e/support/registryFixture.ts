/**
 * The scenarios' registry: the test registry image serving TLS with a certificate from a CA the
 * test makes (SAN = its network alias), holding `library/busybox:latest`, pushed once per test
 * file from a helper daemon. Docker Hub is unreachable here, so a daemon that pulls
 * `busybox:latest` can only get it through this registry as its mirror.
 */
import Docker from "dockerode";
import { E2eRun, ExecResult, execIn, streamToBuffer, until } from "./e2eRun";
import { privilegedHostConfig, testImages } from "./engine";
import { TestCa } from "./pki";
import { TarEntry, createTar, tarFileHeader, tarTrailer } from "./tar";

export const REGISTRY_PORT = 5000;

export interface TestRegistry {
    network: string;
    alias: string;
    /** `alias:5000`, as image references and certs.d name it. */
    host: string;
    ca: TestCa;
    container: Docker.Container;
}

/** A network for a scenario; every object of the scenario that must talk joins it. */
export async function createScenarioNetwork(run: E2eRun, suffix = "net"): Promise<string> {
    const name = run.name(suffix);
    await run.createNetwork(name, { Driver: "bridge", CheckDuplicate: true } as any);
    return name;
}

/** Starts the registry with TLS (cert from `ca` for `alias`), on `network` as `alias`; `files` are put in place before it starts. */
export async function startRegistry(
    run: E2eRun,
    options: { network: string; alias: string; ca: TestCa; env?: string[]; name?: string; volume?: string; files?: TarEntry[] },
): Promise<TestRegistry> {
    const pem = options.ca.issue(options.alias, "server", [options.alias]);
    const container = await run.createContainer({
        name: run.name(options.name ?? "registry"),
        Image: testImages.registry,
        Env: [
            "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt",
            "REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
            "REGISTRY_STORAGE_DELETE_ENABLED=true",
            "OTEL_TRACES_EXPORTER=none",
            ...(options.env ?? []),
        ],
        HostConfig: {
            NetworkMode: options.network,
            Mounts: options.volume ? [{ Type: "volume", Source: options.volume, Target: "/var/lib/registry" }] : undefined,
        },
        NetworkingConfig: { EndpointsConfig: { [options.network]: { Aliases: [options.alias] } } },
    });
    await container.putArchive(
        createTar([
            { path: "certs/tls.crt", content: Buffer.from(pem.certPem) },
            { path: "certs/tls.key", content: Buffer.from(pem.keyPem), mode: 0o600 },
            ...(options.files ?? []),
        ]),
        { path: "/" },
    );
    await container.start();
    return { network: options.network, alias: options.alias, host: `${options.alias}:${REGISTRY_PORT}`, ca: options.ca, container };
}

/** A plain dind (the test image, privileged substitute) used to push to and inspect registries. */
export class HelperDaemon {
    private constructor(readonly container: Docker.Container, private readonly run: E2eRun) {}

    static async start(run: E2eRun, options: { network: string; trust?: { host: string; caPem: string }[]; name?: string }): Promise<HelperDaemon> {
        const container = await run.createContainer({
            name: run.name(options.name ?? "helper-dind"),
            Image: testImages.dind,
            Cmd: ["dockerd", "--host=unix:///var/run/docker.sock", "--tls=false"],
            HostConfig: { ...privilegedHostConfig(), NetworkMode: options.network },
        });
        const trust = options.trust ?? [];
        if (trust.length) {
            await container.putArchive(
                createTar(trust.map((t) => ({ path: `etc/docker/certs.d/${t.host}/ca.crt`, content: Buffer.from(t.caPem) }))),
                { path: "/" },
            );
        }
        await container.start();
        const helper = new HelperDaemon(container, run);
        await until("the helper daemon", 60_000, async () => ((await helper.sh("docker info >/dev/null 2>&1")).exitCode === 0 ? true : undefined), 200);
        return helper;
    }

    sh(script: string, timeoutMs = 120_000): Promise<ExecResult> {
        return execIn(this.container, ["sh", "-c", script], { timeoutMs });
    }

    async mustSh(script: string, timeoutMs = 120_000): Promise<string> {
        const result = await this.sh(script, timeoutMs);
        if (result.exitCode !== 0) {
            throw new Error(`helper: \`${script}\` exited ${result.exitCode}: ${result.stderr || result.stdout}`);
        }
        return result.stdout;
    }

    /** Copies a host image into this daemon (docker save on the host, docker load here). */
    async loadHostImage(image: string): Promise<void> {
        const tar = await streamToBuffer(await this.run.docker.getImage(image).get());
        await this.container.putArchive(Buffer.concat([tarFileHeader("image.tar", tar.length), tar, tarTrailer(tar.length)]), { path: "/tmp" });
        await this.mustSh("docker load -i /tmp/image.tar >/dev/null && rm /tmp/image.tar");
    }

    /** Waits until the registry answers its health endpoint over TLS with the CA this daemon trusts. */
    async waitForRegistry(host: string, timeoutMs = 60_000): Promise<void> {
        await until(`registry ${host}`, timeoutMs, async () =>
            (await this.sh(`curl -sf --max-time 3 --cacert /etc/docker/certs.d/${host}/ca.crt https://${host}/ -o /dev/null`)).exitCode === 0 ? true : undefined,
        );
    }

    /** Pushes the test busybox as `<host>/library/busybox:latest`; returns the pushed digest. */
    async pushBusybox(host: string, repository = "library/busybox:latest"): Promise<string> {
        await this.loadHostImage(testImages.busybox);
        const out = await this.mustSh(`docker tag ${testImages.busybox} ${host}/${repository} && docker push ${host}/${repository}`);
        const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
        if (!digest) {
            throw new Error(`no digest in push output:\n${out}`);
        }
        return digest;
    }

    async remove(): Promise<void> {
        await this.run.removeContainer(this.container.id);
    }
}

/** Network + CA + registry + busybox pushed, for a test file's before() hook. */
export async function registryWithBusybox(run: E2eRun, alias = "registry.e2e.svc"): Promise<TestRegistry & { busyboxDigest: string }> {
    const network = await createScenarioNetwork(run);
    const ca = TestCa.create(`${run.id} registry CA`);
    const registry = await startRegistry(run, { network, alias, ca });
    const helper = await HelperDaemon.start(run, { network, trust: [{ host: registry.host, caPem: ca.certPem }] });
    try {
        await helper.waitForRegistry(registry.host);
        const busyboxDigest = await helper.pushBusybox(registry.host);
        return { ...registry, busyboxDigest };
    } finally {
        await helper.remove();
    }
}
