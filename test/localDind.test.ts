import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Captured, RegisteredResource, capture, captureFailure, isSecret, sentAsSecret, urnTypeChain, valueOf } from "./harness";
import { testCertificate } from "./pems";
import { clientCommand } from "../components/daemon";
import { LocalDind, LocalDindArgs } from "../components/localDind";

const COMPONENT = "dind:index:LocalDind";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";

/** A directory on the Docker host for docker.sock, as a user would pick it. */
const SOCKETS = "/run/user/1000/dind";
const UNIX: LocalDindArgs = { socketDirectory: SOCKETS };
const TLS: LocalDindArgs = { transport: "tls" };
const SCRIPT = "docker pull busybox:latest\ndocker save -o busybox.tar busybox:latest";

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
                registry: { registryHost: "mirror:5000", mode: "mirror", caCertPem: pulumi.output(pem) },
                registryMirrors: ["https://other.example.com"],
            });
            const mirrors = dind.inputs.command.filter((flag: string) => flag.startsWith("--registry-mirror="));
            assert.deepEqual(mirrors, ["--registry-mirror=https://mirror:5000", "--registry-mirror=https://other.example.com"]);
            assert.equal(uploads(dind)["/etc/docker/certs.d/mirror:5000/ca.crt"].content, pem);
            assert.equal(uploads(dind)["/etc/pulumi-dind/ca/mirror_5000.crt"].content, pem);
        });

        it("trusts a wired private registry without making it a mirror", async () => {
            const pem = testCertificate();
            const { dind } = await deploy({ ...UNIX, registry: { registryHost: "registry:5000", mode: "private", caCertPem: pulumi.output(pem) } });
            assert.ok(!dind.inputs.command.some((flag: string) => flag.startsWith("--registry-mirror=")));
            assert.equal(uploads(dind)["/etc/docker/certs.d/registry:5000/ca.crt"].content, pem);
        });
    });

    describe("bad input", () => {
        const cases: [string, LocalDindArgs, RegExp][] = [
            ["an unknown transport", { ...UNIX, transport: "ssh" as any }, /^args.transport: expected one of "unix", "tls", "tcp", got "ssh"/],
            ["the plaintext tcp transport", { transport: "tcp" }, /^args.transport: expected "unix" or "tls" \(plaintext tcp .*\), got "tcp"/],
            ["the unix transport without a socket directory", { transport: "unix" }, /^args.socketDirectory: expected the absolute path of a directory .*, got nothing/],
            ["a relative socket directory", { socketDirectory: "run/dind" }, /^args.socketDirectory: expected an absolute path other than \/, got "run\/dind"/],
            ["/ as socket directory", { socketDirectory: "/" }, /^args.socketDirectory: expected an absolute path other than \//],
            ["a socket directory with tls", { ...TLS, socketDirectory: SOCKETS }, /^args.socketDirectory: expected to be left out with transport "tls"/],
            ["a host port with unix", { ...UNIX, hostPort: 2376 }, /^args.hostPort: expected to be left out with transport "unix"/],
            ["host port 0", { ...TLS, hostPort: 0 }, /^args.hostPort: expected an integer from 1 to 65535, got 0/],
            ["a host port out of range", { ...TLS, hostPort: 70000 }, /^args.hostPort: expected an integer from 1 to 65535, got 70000/],
            ["a mirror without https", { ...UNIX, registryMirrors: ["http://mirror"] }, /^args.registryMirrors\[0\]: expected an https:\/\/ URL.*got "http:\/\/mirror"/],
            ["a registry host with a scheme", { ...UNIX, registries: [{ host: "https://r" }] }, /^args.registries\[0\].host: expected a registry host/],
            ["a CA that is no certificate", { ...UNIX, registries: [{ host: "r", caCertPem: "hello" }] }, /^args.registries\[0\].caCertPem: expected a PEM/],
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
            ["an empty dind image", { ...UNIX, dindImage: "" }, /^args.dindImage: expected a non-empty string/],
            ["an empty network name", { ...UNIX, networkName: "" }, /^args.networkName: expected a non-empty string/],
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
