import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Captured, RegisteredResource, capture, captureFailure, isSecret, sentAsSecret, urnTypeChain, valueOf } from "./harness";
import { testCertificate } from "./pems";
import { clientCommand } from "../components/daemon";
import { LocalDind, LocalDindArgs, clientContainerArgs, daemonContainerArgs, validateLocalDindArgs } from "../components/localDind";

const COMPONENT = "pulumi-dind:index:LocalDind";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";

/** A directory on the Docker host for docker.sock, as a user would pick it. */
const SOCKETS = "/run/user/1000/dind";
const UNIX: LocalDindArgs = { socketDirectory: SOCKETS };
const TLS: LocalDindArgs = { transport: "tls" };
const SCRIPT = "docker pull busybox:latest\ndocker save -o busybox.tar busybox:latest";

/** A registry on a network of its own, as a LocalRegistry wires itself. */
function wired(registryHost = "mirror:5000", mode: "mirror" | "private" = "mirror") {
    return { registryHost, mode, caCertPem: pulumi.output(testCertificate()), networkName: pulumi.output("registry-net") };
}

async function deploy(args: LocalDindArgs) {
    let component!: LocalDind;
    const captured = await capture(() => {
        component = new LocalDind("d", args);
    });
    const dind = captured.get(CONTAINER, "d-dind");
    const client = captured.ofType(CONTAINER).find((r) => r.name === "d-client");
    return { component, captured, dind, client, network: captured.ofType(NETWORK)[0], volume: captured.only(VOLUME) };
}

function env(container: RegisteredResource): Record<string, string> {
    return Object.fromEntries((container.inputs.envs ?? []).map((entry: string) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

/** Mounts by their path in the container. */
function mounts(container: RegisteredResource): Record<string, any> {
    return Object.fromEntries((container.inputs.mounts ?? []).map((m: any) => [m.target, m]));
}

/** Uploaded files by their path in the container. */
function uploads(container: RegisteredResource): Record<string, any> {
    return Object.fromEntries((container.inputs.uploads ?? []).map((u: any) => [u.file, u]));
}

function uploadSentAsSecret(container: RegisteredResource, file: string): boolean {
    const index = container.inputs.uploads.findIndex((u: any) => u.file === file);
    assert.ok(index >= 0, `no upload ${file}`);
    return sentAsSecret(container, `uploads.${index}.content`);
}

function imageOf(captured: Captured, name: string): RegisteredResource {
    return captured.get(IMAGE, name);
}

describe("LocalDind", () => {
    describe("resource graph", () => {
        it("parents every child to the component, TLS material and client included", async () => {
            const { captured } = await deploy({ ...TLS, client: { script: SCRIPT } });
            const children = captured.resources.filter((r) => r.type !== COMPONENT);
            assert.deepEqual(
                [...new Set(children.map((r) => r.type.split(":")[0]))].sort(),
                ["docker", "tls"],
            );
            for (const child of children) {
                assert.deepEqual(urnTypeChain(child.urn).slice(0, 1), [COMPONENT], child.name);
            }
        });

        it("runs the daemon from a pinned, current image that stays in the host's store unless asked", async () => {
            const { captured, dind } = await deploy(UNIX);
            const image = imageOf(captured, "d-image");
            assert.match(image.inputs.name, /^docker:(29|[3-9]\d)[-.].*dind/);
            assert.doesNotMatch(image.inputs.name, /stable/);
            assert.equal(image.inputs.keepLocally, true);
            assert.equal(dind.inputs.image, image.state.imageId);

            const removing = await deploy({ ...UNIX, keepImageLocally: false, client: { script: "true" } });
            assert.equal(imageOf(removing.captured, "d-image").inputs.keepLocally, false);
            assert.equal(imageOf(removing.captured, "d-cli-image").inputs.keepLocally, false);
        });

        it("runs a given dind image", async () => {
            const { captured } = await deploy({ ...UNIX, dindImage: "docker:29.1.2-dind" });
            assert.equal(imageOf(captured, "d-image").inputs.name, "docker:29.1.2-dind");
        });

        it("puts the daemon on its own bridge network under its component name, without links", async () => {
            const { component, dind, network } = await deploy(UNIX);
            assert.equal(network.inputs.driver, "bridge");
            assert.deepEqual(dind.inputs.networksAdvanced, [{ name: network.state.name, aliases: ["d"] }]);
            assert.equal(dind.inputs.links, undefined);
            assert.equal(await valueOf(component.networkName), network.state.name);
        });

        it("joins a given network instead, e.g. the one a registry was created on", async () => {
            const { captured, component, dind } = await deploy({ ...UNIX, networkName: "shared" });
            assert.equal(captured.ofType(NETWORK).length, 0);
            assert.deepEqual(dind.inputs.networksAdvanced, [{ name: "shared", aliases: ["d"] }]);
            assert.equal(await valueOf(component.networkName), "shared");
        });

        it("gives its network the daemon's MTU, since the daemon's traffic crosses it", async () => {
            assert.equal((await deploy(UNIX)).network.inputs.options, undefined);
            const { network } = await deploy({ ...UNIX, mtu: 1400 });
            assert.deepEqual(network.inputs.options, { "com.docker.network.driver.mtu": "1400" });
        });

        it("joins a wired registry's network instead of creating one, where it reaches the registry by its alias", async () => {
            const { captured, component, dind, client } = await deploy({ ...UNIX, registry: wired(), client: { script: SCRIPT } });
            assert.equal(captured.ofType(NETWORK).length, 0);
            assert.deepEqual(dind.inputs.networksAdvanced, [{ name: "registry-net", aliases: ["d"] }]);
            assert.deepEqual(client!.inputs.networksAdvanced, [{ name: "registry-net" }]);
            assert.equal(await valueOf(component.networkName), "registry-net");
        });

        it("joins both a given network and a wired registry's, and each network once", async () => {
            const both = await deploy({ ...UNIX, networkName: "shared", registry: wired(), client: { script: SCRIPT } });
            assert.deepEqual(both.dind.inputs.networksAdvanced, [
                { name: "shared", aliases: ["d"] },
                { name: "registry-net", aliases: ["d"] },
            ]);
            assert.deepEqual(both.client!.inputs.networksAdvanced, [{ name: "shared" }], "the client dials the daemon on the first");
            assert.equal(await valueOf(both.component.networkName), "shared");

            const same = await deploy({ ...UNIX, networkName: pulumi.output("registry-net"), registry: wired() });
            assert.deepEqual(same.dind.inputs.networksAdvanced, [{ name: "registry-net", aliases: ["d"] }]);
        });
    });

    describe("the daemon container", () => {
        it("is privileged and runs dockerd with the shared flags, mirrors, insecure registries and MTU", async () => {
            const { dind } = await deploy({
                ...UNIX,
                registryMirrors: ["https://mirror.example.com"],
                registries: [{ host: "legacy:5000", insecure: true }],
                mtu: 1400,
                extraDockerdArgs: ["--group=999"],
            });
            assert.equal(dind.inputs.privileged, true);
            assert.equal(dind.inputs.entrypoints, undefined, "the image's entrypoint must run so its dind wrapper prepares the container");
            assert.deepEqual(dind.inputs.command, [
                "dockerd",
                "--host=unix:///var/run/dind/docker.sock",
                "--tls=false",
                "--registry-mirror=https://mirror.example.com",
                "--insecure-registry=legacy:5000",
                "--mtu=1400",
                "--default-network-opt=bridge=com.docker.network.driver.mtu=1400",
                "--group=999",
            ]);
        });

        it("keeps /var/lib/docker on a named volume that pulumi destroy leaves in place unless the user opts out", async () => {
            const { component, dind, volume } = await deploy(UNIX);
            assert.equal(volume.inputs.name, "dind-test-d-docker", "named after project, stack and component so the next up adopts it");
            assert.equal(volume.options.retainOnDelete, true);
            assert.deepEqual(mounts(dind)["/var/lib/docker"], { type: "volume", source: "dind-test-d-docker", target: "/var/lib/docker" });
            assert.equal(await valueOf(component.volumeName), "dind-test-d-docker");

            const dropped = await deploy({ ...UNIX, retainDataVolume: false });
            assert.equal(dropped.volume.options.retainOnDelete, false);
        });

        it("comes back with the host, and gives dockerd time to stop its own containers", async () => {
            const { dind, component } = await deploy(UNIX);
            assert.equal(dind.inputs.restart, "unless-stopped");
            assert.equal(dind.inputs.destroyGraceSeconds, 30);
            assert.equal(dind.inputs.stopTimeout, 30);
            assert.equal(await valueOf(component.containerName), dind.state.name);
        });

        it("is healthy once docker info answers inside it, and pulumi up waits for that", async () => {
            const { dind } = await deploy(UNIX);
            assert.deepEqual(dind.inputs.healthcheck, {
                tests: ["CMD", "docker", "info"],
                interval: "10s",
                timeout: "10s",
                retries: 3,
                startPeriod: "2m0s",
            });
            assert.equal(env(dind).DOCKER_HOST, "unix:///var/run/dind/docker.sock", "docker info in the container must find the daemon");
            assert.equal(dind.inputs.wait, true);
            assert.equal(dind.inputs.waitTimeout, 120);
        });

        it("is replaced when its healthcheck changes, which the provider would not apply in place", async () => {
            const { dind } = await deploy(UNIX);
            assert.deepEqual(dind.options.replaceOnChanges, ["healthcheck"]);
        });

        it("waits as long as asked, in durations written as the provider reads them back", async () => {
            const slow = await deploy({ ...UNIX, startupTimeoutSeconds: 90 });
            assert.equal(slow.dind.inputs.healthcheck.startPeriod, "1m30s");
            assert.equal(slow.dind.inputs.waitTimeout, 90);
            assert.equal((await deploy({ ...UNIX, startupTimeoutSeconds: 45 })).dind.inputs.healthcheck.startPeriod, "45s");
            assert.equal((await deploy({ ...UNIX, startupTimeoutSeconds: 3600 })).dind.inputs.healthcheck.startPeriod, "1h0m0s");
        });
    });

    describe("rendering", () => {
        const parts = { alias: "d", imageId: "sha256:dind", networkNames: ["own"], volumeName: "data" };

        it("renders the daemon's container from the settings alone", async () => {
            const settings = validateLocalDindArgs({ socketDirectory: "/srv//dind/", startupTimeoutSeconds: 90 }, "args.", []);
            const spec = daemonContainerArgs(settings, parts);
            assert.deepEqual(spec.mounts, [
                { type: "volume", source: "data", target: "/var/lib/docker" },
                { type: "bind", source: "/srv/dind", target: "/var/run/dind" },
            ]);
            assert.equal(spec.ports, undefined);
            assert.deepEqual(spec.command, ["dockerd", "--host=unix:///var/run/dind/docker.sock", "--tls=false"]);
            assert.equal(spec.waitTimeout, 90);
            assert.deepEqual(await valueOf(pulumi.output(spec.networksAdvanced!)), [{ name: "own", aliases: ["d"] }]);
            const tls = daemonContainerArgs(validateLocalDindArgs({ hostPort: 12376 }, "args.", []), parts);
            assert.deepEqual(tls.ports, [{ internal: 2376, external: 12376, ip: "127.0.0.1" }]);
        });

        it("renders the client's container with its output mount and the first network only", async () => {
            const settings = validateLocalDindArgs({ socketDirectory: "/srv/dind", client: { script: "true", outputVolume: "out" } }, "args.", []);
            const spec = clientContainerArgs(settings, settings.client!, { ...parts, networkNames: ["own", "registry"] });
            assert.deepEqual(spec.mounts, [
                { type: "bind", source: "/srv/dind", target: "/var/run/dind" },
                { type: "volume", source: "out", target: "/output" },
            ]);
            assert.deepEqual(await valueOf(pulumi.output(spec.networksAdvanced!)), [{ name: "own" }]);
        });
    });

    describe("unix transport", () => {
        it("serves the API only on docker.sock in the host directory, and publishes no port", async () => {
            const { captured, component, dind } = await deploy(UNIX);
            assert.deepEqual(mounts(dind)["/var/run/dind"], { type: "bind", source: SOCKETS, target: "/var/run/dind" });
            assert.equal(dind.inputs.ports, undefined);
            assert.ok(!dind.inputs.command.some((flag: string) => flag.startsWith("--host=tcp")));
            assert.equal(await valueOf(component.dockerHost), "unix:///run/user/1000/dind/docker.sock");
            assert.equal(captured.resources.filter((r) => r.type.startsWith("tls:")).length, 0);
            assert.equal(await valueOf(component.caCertPem), undefined);
            assert.equal(await valueOf(component.clientKeyPem), undefined);
        });

        it("mounts the socket directory as normalised, and names the socket there", async () => {
            const { component, dind } = await deploy({ socketDirectory: "/srv//ci/../dind/./" });
            assert.deepEqual(mounts(dind)["/var/run/dind"], { type: "bind", source: "/srv/dind", target: "/var/run/dind" });
            assert.equal(await valueOf(component.dockerHost), "unix:///srv/dind/docker.sock");
        });

        it("never shares the directory of the socket DOCKER_HOST names, nor one above it", async () => {
            const saved = process.env.DOCKER_HOST;
            process.env.DOCKER_HOST = "unix:///home/me/.docker/run/docker.sock";
            try {
                for (const socketDirectory of ["/home/me/.docker/run", "/home/me/.docker/run/", "/home/me/.docker", "/home/me"]) {
                    const { error, registered } = await captureFailure(() => new LocalDind("d", { socketDirectory }));
                    assert.match(error.message, /^args\.socketDirectory: expected a directory of its own on the Docker host, not a directory holding the host's own Docker socket \(\/home\/me\/\.docker\/run\/docker\.sock\)/);
                    assert.equal(registered, 0);
                }
                const { dind } = await deploy({ socketDirectory: "/home/me/.docker/run/dind" });
                assert.equal(mounts(dind)["/var/run/dind"].source, "/home/me/.docker/run/dind", "a directory of its own below it is the user's");
            } finally {
                if (saved === undefined) {
                    delete process.env.DOCKER_HOST;
                } else {
                    process.env.DOCKER_HOST = saved;
                }
            }
        });

        it("is the default when a socket directory is given", async () => {
            const { dind } = await deploy({ socketDirectory: "/srv/dind" });
            assert.equal(mounts(dind)["/var/run/dind"].source, "/srv/dind");
            assert.equal(dind.inputs.ports, undefined);
        });
    });

    describe("tls transport", () => {
        it("publishes mutual TLS on the host's 127.0.0.1 only", async () => {
            const { component, dind } = await deploy(TLS);
            assert.deepEqual(dind.inputs.ports, [{ internal: 2376, external: 2376, ip: "127.0.0.1" }]);
            assert.equal(await valueOf(component.dockerHost), "tcp://127.0.0.1:2376");
            assert.deepEqual(dind.inputs.command.slice(0, 7), [
                "dockerd",
                "--host=unix:///var/run/docker.sock",
                "--host=tcp://0.0.0.0:2376",
                "--tlsverify",
                "--tlscacert=/certs/server/ca.pem",
                "--tlscert=/certs/server/cert.pem",
                "--tlskey=/certs/server/key.pem",
            ]);
            assert.ok(!dind.inputs.command.includes("--tls=false"));
            assert.equal(mounts(dind)["/var/run/dind"], undefined, "no host directory is shared");
            assert.equal(env(dind).DOCKER_HOST, "unix:///var/run/docker.sock", "the healthcheck uses the container's own socket");
        });

        it("is the default without a socket directory, so a LocalDind with no arguments is reachable and safe", async () => {
            let component!: LocalDind;
            const captured = await capture(() => {
                component = new LocalDind("bare");
            });
            const dind = captured.get(CONTAINER, "bare-dind");
            assert.deepEqual(dind.inputs.ports, [{ internal: 2376, external: 2376, ip: "127.0.0.1" }]);
            assert.ok(dind.inputs.command.includes("--tlsverify"));
            assert.equal(await valueOf(component.dockerHost), "tcp://127.0.0.1:2376");
            assert.ok(captured.ofType("tls:index/locallySignedCert:LocallySignedCert").length >= 2, "a server and a client certificate");
        });

        it("publishes on the port asked for", async () => {
            const { component, dind } = await deploy({ ...TLS, hostPort: 12376 });
            assert.deepEqual(dind.inputs.ports, [{ internal: 2376, external: 12376, ip: "127.0.0.1" }]);
            assert.equal(await valueOf(component.dockerHost), "tcp://127.0.0.1:12376");
        });

        it("uploads the server pair with its key as a secret, for every name clients dial", async () => {
            const { dind } = await deploy(TLS);
            const files = uploads(dind);
            assert.ok(uploadSentAsSecret(dind, "/certs/server/key.pem"), "the server key must reach the provider as a secret");
            assert.equal(files["/certs/server/key.pem"].permissions, "0600");
            const ca = new crypto.X509Certificate(files["/certs/server/ca.pem"].content);
            const server = new crypto.X509Certificate(files["/certs/server/cert.pem"].content);
            assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
            assert.ok(server.checkPrivateKey(crypto.createPrivateKey(files["/certs/server/key.pem"].content)));
            assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1", "the host dials 127.0.0.1");
            assert.equal(server.checkHost("localhost"), "localhost");
            assert.equal(server.checkHost("d"), "d", "the client container dials the network alias");
        });

        it("outputs the client pair for DOCKER_CERT_PATH, the key as a secret", async () => {
            const { component, dind } = await deploy(TLS);
            const caPem = await valueOf(component.caCertPem);
            assert.equal(caPem, uploads(dind)["/certs/server/ca.pem"].content);
            const clientCert = new crypto.X509Certificate((await valueOf(component.clientCertPem))!);
            assert.ok(clientCert.checkIssued(new crypto.X509Certificate(caPem!)));
            assert.deepEqual(clientCert.keyUsage, ["1.3.6.1.5.5.7.3.2"], "a certificate for clientAuth");
            assert.ok(clientCert.checkPrivateKey(crypto.createPrivateKey((await valueOf(component.clientKeyPem))!)));
            assert.ok(await isSecret(component.clientKeyPem));
        });
    });

    describe("the client container", () => {
        it("runs the script once from the CLI image, unprivileged, after a bounded wait for the daemon", async () => {
            const { captured, component, client, network } = await deploy({ ...UNIX, client: { script: SCRIPT } });
            assert.ok(client);
            const image = imageOf(captured, "d-cli-image");
            assert.match(image.inputs.name, /^docker:(29|[3-9]\d)[-.].*cli/);
            assert.equal(client.inputs.image, image.state.imageId);
            assert.notEqual(client.inputs.privileged, true);
            assert.deepEqual(client.inputs.securityOpts, ["no-new-privileges:true"], "the client cannot gain privileges through setuid binaries");
            assert.deepEqual(client.inputs.command, clientCommand({ script: SCRIPT, waitTimeoutSeconds: 120 }));
            assert.match(client.inputs.command[2], /^deadline=\$\(\( \$\(date \+%s\) \+ 120 \)\)/);
            assert.equal(client.inputs.command[4], `set -e\n${SCRIPT}`);
            assert.deepEqual(client.inputs.networksAdvanced, [{ name: network.state.name }]);
            assert.equal(await valueOf(component.clientContainerName), client.state.name);
        });

        it("is a one-shot job: never restarted, not waited for, and allowed to have exited", async () => {
            const { client } = await deploy({ ...UNIX, client: { script: SCRIPT } });
            assert.ok(client);
            assert.equal(client.inputs.restart, "no");
            assert.equal(client.inputs.mustRun, false);
            assert.notEqual(client.inputs.wait, true);
        });

        it("runs a given CLI image", async () => {
            const { captured } = await deploy({ ...UNIX, cliImage: "docker:29.1.2-cli", client: { script: SCRIPT } });
            assert.equal(imageOf(captured, "d-cli-image").inputs.name, "docker:29.1.2-cli");
        });

        it("unix: reaches the daemon through the same host socket directory", async () => {
            const { dind, client } = await deploy({ ...UNIX, client: { script: SCRIPT } });
            assert.ok(client);
            assert.deepEqual(mounts(client)["/var/run/dind"], mounts(dind)["/var/run/dind"]);
            assert.deepEqual(env(client), { DOCKER_HOST: "unix:///var/run/dind/docker.sock" });
        });

        it("tls: dials the daemon by its alias with the client pair, and never sees the server key", async () => {
            const { component, client } = await deploy({ ...TLS, client: { script: SCRIPT } });
            assert.ok(client);
            assert.deepEqual(env(client), { DOCKER_HOST: "tcp://d:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs/client" });
            const files = uploads(client);
            assert.deepEqual(Object.keys(files).sort(), ["/certs/client/ca.pem", "/certs/client/cert.pem", "/certs/client/key.pem"]);
            assert.equal(files["/certs/client/ca.pem"].content, await valueOf(component.caCertPem));
            assert.equal(files["/certs/client/cert.pem"].content, await valueOf(component.clientCertPem));
            assert.ok(uploadSentAsSecret(client, "/certs/client/key.pem"));
            assert.equal(mounts(client)["/var/run/dind"], undefined);
        });

        it("works in /output, which is a host directory, a named volume, or the container's own", async () => {
            const toDirectory = (await deploy({ ...UNIX, client: { script: SCRIPT, outputDirectory: "/home/me/images" } })).client!;
            assert.equal(toDirectory.inputs.workingDir, "/output");
            assert.deepEqual(mounts(toDirectory)["/output"], { type: "bind", source: "/home/me/images", target: "/output" });

            const normalised = (await deploy({ ...UNIX, client: { script: SCRIPT, outputDirectory: "/home/me//images/" } })).client!;
            assert.equal(mounts(normalised)["/output"].source, "/home/me/images");

            const toVolume = (await deploy({ ...UNIX, client: { script: SCRIPT, outputVolume: "saved-images" } })).client!;
            assert.deepEqual(mounts(toVolume)["/output"], { type: "volume", source: "saved-images", target: "/output" });

            const inContainer = (await deploy({ ...UNIX, client: { script: SCRIPT } })).client!;
            assert.equal(inContainer.inputs.workingDir, "/output");
            assert.equal(mounts(inContainer)["/output"], undefined);
        });

        it("is not created without a script", async () => {
            const { captured, component, client } = await deploy(UNIX);
            assert.equal(client, undefined);
            assert.equal(captured.ofType(IMAGE).length, 1);
            assert.equal(await valueOf(component.clientContainerName), undefined);
        });
    });

    describe("registries", () => {
        it("puts each CA at certs.d/<host[:port]>/ca.crt and in the OS-level trust directory", async () => {
            const ca = testCertificate();
            const { dind } = await deploy({
                ...UNIX,
                registries: [
                    { host: "registry.example.com:5000", caCertPem: ca },
                    { host: "myregistrydomain.com", caCertPem: ca },
                    { host: "legacy:5000", insecure: true },
                ],
            });
            const files = uploads(dind);
            assert.deepEqual(Object.keys(files).sort(), [
                "/etc/docker/certs.d/myregistrydomain.com/ca.crt",
                "/etc/docker/certs.d/registry.example.com:5000/ca.crt",
                "/etc/pulumi-dind/ca/myregistrydomain.com.crt",
                "/etc/pulumi-dind/ca/registry.example.com_5000.crt",
            ]);
            for (const file of Object.values(files)) {
                assert.equal(file.content, ca);
            }
            assert.equal(env(dind).SSL_CERT_DIR, "/etc/ssl/certs:/etc/pulumi-dind/ca");
            assert.ok(dind.inputs.command.includes("--insecure-registry=legacy:5000"));
            assert.ok(!dind.inputs.command.includes("--insecure-registry=myregistrydomain.com"));
        });

        it("lets the client trust the same CAs through SSL_CERT_DIR, without certs.d", async () => {
            const ca = testCertificate();
            const { client } = await deploy({ ...UNIX, registries: [{ host: "r:5000", caCertPem: ca }], client: { script: SCRIPT } });
            assert.ok(client);
            assert.deepEqual(uploads(client), { "/etc/pulumi-dind/ca/r_5000.crt": { file: "/etc/pulumi-dind/ca/r_5000.crt", content: ca } });
            assert.equal(env(client).SSL_CERT_DIR, "/etc/ssl/certs:/etc/pulumi-dind/ca");
        });

        it("sets no SSL_CERT_DIR when there is no CA to add", async () => {
            const { dind } = await deploy({ ...UNIX, registries: [{ host: "legacy:5000", insecure: true }] });
            assert.equal(env(dind).SSL_CERT_DIR, undefined);
            assert.deepEqual(dind.inputs.uploads, []);
        });

        it("trusts a wired registry and uses it as its first mirror", async () => {
            const pem = testCertificate();
            const { dind } = await deploy({
                ...UNIX,
                registry: { registryHost: "mirror:5000", mode: "mirror", caCertPem: pulumi.output(pem), networkName: pulumi.output("registry-net") },
                registryMirrors: ["https://other.example.com"],
            });
            const mirrors = dind.inputs.command.filter((flag: string) => flag.startsWith("--registry-mirror="));
            assert.deepEqual(mirrors, ["--registry-mirror=https://mirror:5000", "--registry-mirror=https://other.example.com"]);
            assert.equal(uploads(dind)["/etc/docker/certs.d/mirror:5000/ca.crt"].content, pem);
            assert.equal(uploads(dind)["/etc/pulumi-dind/ca/mirror_5000.crt"].content, pem);
        });

        it("trusts a wired private registry without making it a mirror", async () => {
            const pem = testCertificate();
            const { dind } = await deploy({ ...UNIX, registry: { registryHost: "registry:5000", mode: "private", caCertPem: pulumi.output(pem), networkName: pulumi.output("registry-net") } });
            assert.ok(!dind.inputs.command.some((flag: string) => flag.startsWith("--registry-mirror=")));
            assert.equal(uploads(dind)["/etc/docker/certs.d/registry:5000/ca.crt"].content, pem);
        });
    });

    describe("daemon.json", () => {
        const daemonConfig = { builder: { gc: { enabled: true, defaultKeepStorage: "20GB" } }, "log-driver": "local" };

        it("uploads the file where dockerd reads it, into the daemon's container only", async () => {
            const { dind, client } = await deploy({ ...UNIX, daemonConfig, containerdSnapshotter: true, client: { script: SCRIPT } });
            const file = uploads(dind)["/etc/docker/daemon.json"];
            assert.deepEqual(JSON.parse(file.content), { ...daemonConfig, features: { "containerd-snapshotter": true } });
            assert.ok(file.content.endsWith("}\n"));
            assert.equal(uploads(client!)["/etc/docker/daemon.json"], undefined);
        });

        it("uploads no file without one, and sets the image's iptables switch on the daemon only", async () => {
            const plain = await deploy(UNIX);
            assert.equal(uploads(plain.dind)["/etc/docker/daemon.json"], undefined);
            assert.ok(!("DOCKER_IPTABLES_LEGACY" in env(plain.dind)));
            const { dind, client } = await deploy({ ...TLS, iptablesLegacy: true, client: { script: SCRIPT } });
            assert.equal(env(dind).DOCKER_IPTABLES_LEGACY, "1");
            assert.equal(env(client!).DOCKER_IPTABLES_LEGACY, undefined);
            assert.equal(uploads(dind)["/etc/docker/daemon.json"], undefined, "the switch is no daemon.json key");
            assert.equal(env((await deploy({ ...UNIX, iptablesLegacy: false })).dind).DOCKER_IPTABLES_LEGACY, "");
        });
    });

    describe("bad input", () => {
        const cases: [string, LocalDindArgs, RegExp][] = [
            ["a daemon.json key a flag sets", { ...UNIX, daemonConfig: { "registry-mirrors": ["https://m"] } }, /^args\.daemonConfig\.registry-mirrors: expected a key that no flag sets: args\.registryMirrors sets --registry-mirror/],
            ["daemon.json TLS settings", { ...TLS, daemonConfig: { tlsverify: false } }, /^args\.daemonConfig\.tlsverify: expected a key that no flag sets: args\.transport sets --tlsverify/],
            ["a daemon.json key an extra flag sets", { ...UNIX, extraDockerdArgs: ["--group=999"], daemonConfig: { group: "docker" } }, /^args\.daemonConfig\.group: expected a key that no flag sets: args\.extraDockerdArgs\[0\] sets --group/],
            ["network options beside an MTU", { ...UNIX, mtu: 1400, daemonConfig: { "default-network-opts": {} } }, /^args\.daemonConfig\.default-network-opts: expected a key that no flag sets: args\.mtu sets --default-network-opt/],
            ["a daemon.json exec root", { ...UNIX, daemonConfig: { "exec-root": "/tmp" } }, /^args\.daemonConfig\.exec-root: expected a key other than exec-root/],
            ["a daemon.json value that is a function", { ...UNIX, daemonConfig: { "log-driver": (() => "local") as any } }, /^args\.daemonConfig\.log-driver: expected a JSON value .*, got a function$/],
            ["a daemon.json constructor key", { ...UNIX, daemonConfig: JSON.parse('{"log-opts":{"constructor":{}}}') }, /^args\.daemonConfig\.log-opts\.constructor: expected no key named/],
            ["the snapshotter beside the same feature", { ...UNIX, containerdSnapshotter: false, daemonConfig: { features: { "containerd-snapshotter": true } } }, /^args\.containerdSnapshotter: expected nothing beside args\.daemonConfig\.features\.containerd-snapshotter/],
            ["an iptables switch that is a string", { ...UNIX, iptablesLegacy: "true" as any }, /^args\.iptablesLegacy: expected true or false, got "true"$/],
            ["an unknown transport", { ...UNIX, transport: "ssh" as any }, /^args.transport: expected one of "unix", "tls", "tcp", got "ssh"/],
            ["the plaintext tcp transport", { transport: "tcp" }, /^args.transport: expected "unix" or "tls" \(plaintext tcp .*\), got "tcp"/],
            ["the unix transport without a socket directory", { transport: "unix" }, /^args.socketDirectory: expected the absolute path of a directory .*, got nothing/],
            ["a relative socket directory", { socketDirectory: "run/dind" }, /^args.socketDirectory: expected an absolute path of a directory on the Docker host, .*got "run\/dind"$/],
            ["/ as socket directory", { socketDirectory: "/" }, /^args.socketDirectory: expected a directory of its own on the Docker host, not the host's root, got "\/"$/],
            ["a socket directory with tls", { ...TLS, socketDirectory: SOCKETS }, /^args.socketDirectory: expected to be left out with transport "tls"/],
            ["a host port with unix", { ...UNIX, hostPort: 2376 }, /^args.hostPort: expected to be left out with transport "unix"/],
            ["host port 0", { ...TLS, hostPort: 0 }, /^args.hostPort: expected an integer from 1 to 65535, got 0/],
            ["a host port out of range", { ...TLS, hostPort: 70000 }, /^args.hostPort: expected an integer from 1 to 65535, got 70000/],
            ["a mirror without https", { ...UNIX, registryMirrors: ["http://mirror"] }, /^args.registryMirrors\[0\]: expected an https:\/\/ URL.*got "http:\/\/mirror"/],
            ["a registry host with a scheme", { ...UNIX, registries: [{ host: "https://r" }] }, /^args.registries\[0\].host: expected a registry host/],
            ["a CA that is no certificate", { ...UNIX, registries: [{ host: "r", caCertPem: "hello" }] }, /^args.registries\[0\].caCertPem: expected one or more PEM-encoded X.509 certificates/],
            ["an MTU out of range", { ...UNIX, mtu: 70000 }, /^args.mtu: expected an integer from 68 to 65535, got 70000/],
            ["an empty client script", { ...UNIX, client: { script: "" } }, /^args.client.script: expected a non-empty string, got ""/],
            ["a blank client script", { ...UNIX, client: { script: "  \n" } }, /^args.client.script: expected a non-empty string/],
            ["a client without a script", { ...UNIX, client: {} as any }, /^args.client.script: expected a non-empty string, got nothing/],
            ["a relative output directory", { ...UNIX, client: { script: SCRIPT, outputDirectory: "out" } }, /^args.client.outputDirectory: expected an absolute path/],
            ["a bad output volume name", { ...UNIX, client: { script: SCRIPT, outputVolume: "my/images" } }, /^args.client.outputVolume: expected a Docker volume name/],
            [
                "an output directory and volume together",
                { ...UNIX, client: { script: SCRIPT, outputDirectory: "/out", outputVolume: "out" } },
                /^args.client.outputVolume: expected to be left out when outputDirectory is given/,
            ],
            ["a startup timeout of 0", { ...UNIX, startupTimeoutSeconds: 0 }, /^args.startupTimeoutSeconds: expected an integer from 1 to 3600, got 0/],
            ["an empty dind image", { ...UNIX, dindImage: "" }, /^args.dindImage: expected an image reference/],
            ["an empty network name", { ...UNIX, networkName: "" }, /^args.networkName: expected a Docker network name .*, got ""$/],
            // The args themselves, and nested objects: unknown keys are refused, their values never printed.
            ["args that are null", null as any, /^args: expected an object with transport, .*, got null$/],
            ["args that are a list", [UNIX] as any, /^args: expected an object with transport, .*, got \[/],
            ["an unknown argument", { ...UNIX, socketDir: "/srv/dind" } as any, /^args\.socketDir: expected no such key: the keys are transport, .*, got "a value"$/],
            ["a misspelt argument holding a password", { ...UNIX, registryPasword: "hunter2" } as any, /^args\.registryPasword: expected no such key: .*, got "a value"$/],
            ["an unknown client key", { ...UNIX, client: { script: SCRIPT, outputDir: "/srv/out" } as any }, /^args\.client\.outputDir: expected no such key: the keys are script, outputDirectory, outputVolume/],
            ["a client that is null", { ...UNIX, client: null as any }, /^args\.client: expected an object with script, outputDirectory, outputVolume, got null$/],
            // Host paths, checked as the host resolves them.
            ["a socket directory that is / once normalised", { socketDirectory: "/tmp/.." }, /^args\.socketDirectory: expected a directory of its own on the Docker host, not the host's root \("\/tmp\/\.\." is \/\), got "\/tmp\/\.\."$/],
            ["// as socket directory", { socketDirectory: "//" }, /^args\.socketDirectory: expected .*not the host's root \("\/\/" is \/\)/],
            ["/. as socket directory", { socketDirectory: "/." }, /^args\.socketDirectory: expected .*not the host's root \("\/\." is \/\)/],
            ["/etc as socket directory", { socketDirectory: "/etc" }, /^args\.socketDirectory: expected a directory of its own on the Docker host, not a system directory, got "\/etc"$/],
            ["a directory below /usr", { socketDirectory: "/usr/local/dind" }, /^args\.socketDirectory: expected .*not a system directory/],
            ["/var/run, where the host's socket is", { socketDirectory: "/var/run/" }, /^args\.socketDirectory: expected .*not a system directory \("\/var\/run\/" is \/var\/run\)/],
            ["/run, reached through a dot-dot", { socketDirectory: "/run/dind/.." }, /^args\.socketDirectory: expected .*not a system directory \("\/run\/dind\/\.\." is \/run\)/],
            ["Docker's runtime directory", { socketDirectory: "/run/docker/plugins" }, /^args\.socketDirectory: expected .*not Docker's runtime directory/],
            ["Docker's state", { socketDirectory: "/var/lib/docker/volumes/x" }, /^args\.socketDirectory: expected .*not a system directory/],
            ["a socket directory with a newline", { socketDirectory: "/srv/dind\n" }, /^args\.socketDirectory: expected an absolute path of a directory on the Docker host/],
            ["an output directory that is / once normalised", { ...UNIX, client: { script: SCRIPT, outputDirectory: "/home/.." } }, /^args\.client\.outputDirectory: expected .*not the host's root \("\/home\/\.\." is \/\)/],
            ["an output directory under /proc", { ...UNIX, client: { script: SCRIPT, outputDirectory: "/proc/self/root" } }, /^args\.client\.outputDirectory: expected .*not a system directory/],
            ["an output directory holding the host's socket", { ...UNIX, client: { script: SCRIPT, outputDirectory: "/var/run/docker.sock" } }, /^args\.client\.outputDirectory: expected .*not Docker's runtime directory/],
            // Networks on which the daemon could not carry its alias.
            ["the host network", { ...UNIX, networkName: "host" }, /^args\.networkName: expected a user-defined network \(not "host", "bridge", "none", "default" or "container:\.\.\."\, .*\), got "host"$/],
            ["the default bridge", { ...UNIX, networkName: "bridge" }, /^args\.networkName: expected a user-defined network .*, got "bridge"$/],
            ["no network", { ...UNIX, networkName: "none" }, /^args\.networkName: expected a user-defined network .*, got "none"$/],
            ["another container's network", { ...UNIX, networkName: "container:abc" }, /^args\.networkName: expected a user-defined network .*, got "container:abc"$/],
            ["a network name Docker refuses", { ...UNIX, networkName: "my net" }, /^args\.networkName: expected a Docker network name .*, got "my net"$/],
            // Arguments that would have no effect, or be overridden by the wired registry.
            ["a CLI image without a client", { ...UNIX, cliImage: "docker:29-cli" }, /^args\.cliImage: expected nothing without a client script .*, got "docker:29-cli"$/],
            ["a registry that is no object", { ...UNIX, registry: "mirror:5000" as any }, /^args\.registry: expected a registry this package deploys, such as a LocalRegistry, got "mirror:5000"$/],
            ["a registry on no Docker network", { ...UNIX, registry: { ...wired("cache.dind.svc:5000"), networkName: undefined } }, /^args\.registry: expected a registry on this Docker host, .*, got "a registry without a Docker network \(cache\.dind\.svc:5000\)"$/],
            ["a registry whose host climbs out of certs.d", { ...UNIX, registry: wired("../../etc") }, /^args\.registry\.registryHost: expected a registry host/],
            ["a registry without its CA", { ...UNIX, registry: { ...wired(), caCertPem: undefined as any } }, /^args\.registry\.caCertPem: expected the CA that signed the registry's certificate/],
            ["a registry of an unknown mode", { ...UNIX, registry: wired("mirror:5000", "cache" as any) }, /^args\.registry\.mode: expected one of "mirror", "private", got "cache"$/],
            ["a registry named as the daemon", { ...UNIX, registry: wired("d:5000") }, /^args\.registry: expected a registry whose name on the network is neither "d" \(the daemon's own\) nor "localhost".*, got "d:5000"$/],
            ["a registry named localhost", { ...UNIX, registry: wired("localhost:5000") }, /^args\.registry: expected a registry whose name .*, got "localhost:5000"$/],
            ["the wired registry trusted again", { ...UNIX, registry: wired(), registries: [{ host: "Mirror:5000", insecure: true }] }, /^args\.registries\[0\]\.host: expected a host other than args\.registry's, which is trusted already with its own CA, got "Mirror:5000"$/],
            ["the wired mirror as a mirror again", { ...UNIX, registry: wired(), registryMirrors: ["https://other.example.com", "https://mirror:5000/"] }, /^args\.registryMirrors\[1\]: expected a mirror other than args\.registry, which is the first mirror already, got "https:\/\/mirror:5000"$/],
        ];
        for (const [what, args, message] of cases) {
            it(`rejects ${what} before registering anything`, async () => {
                const { error, registered } = await captureFailure(() => new LocalDind("d", args));
                assert.match(error.message, message);
                assert.equal(registered, 0);
            });
        }
    });
});
