/**
 * The pull-save-remove check through a real `pulumi up`: LocalDind pulling through a LocalRegistry
 * given as its mirror, with a certificate from the test's own CA (openssl), and the host's
 * docker CLI driving the daemon through what the stack outputs. Docker Hub is unreachable
 * here, so busybox can only come through the mirror.
 *
 * The registry runs in private mode, filled by the test, and brings its certificate
 * (tlsCertPem): the tls provider, which would issue one at deploy time, cannot be built on
 * these machines (see README, "The real-engine tier").
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Docker from "dockerode";
import { followProgress, streamToBuffer } from "../e2e/support/e2eRun";
import { testImages } from "../e2e/support/engine";
import { TestCa } from "../e2e/support/pki";
import { unixStackFile } from "./support/dockerStack";
import { PulumiProject, StateResource, stateResource } from "./support/pulumiCli";

const STACK = "mirror";
const ALIAS = "mirror";
const MIRRORED = `${ALIAS}:5000/library/busybox:latest`;

function containerId(resources: StateResource[], suffix: string): string {
    return stateResource(resources, "docker:index/container:Container", suffix).id!;
}


describe("real engine: the pull-save-remove check through a LocalRegistry mirror", function () {
    const host = new Docker();
    let project: PulumiProject;
    let ca: TestCa;
    let sockets: string;
    let nested: Docker;
    const volumes: string[] = [];

    /** The stack file, and the server key as a secret through `pulumi config set --secret --path`. */
    async function configure(certificate: { certPem: string; keyPem: string }, moreMirrors: string[] = []): Promise<void> {
        project.writeFile(
            `Pulumi.${STACK}.yaml`,
            unixStackFile(sockets, {
                "dind:registryMirrors": [`https://${ALIAS}:5000`, ...moreMirrors],
                "dind:selfHostedRegistry": { enabled: true, mode: "private", alias: ALIAS, image: testImages.registry, caCertPem: ca.certPem, tlsCertPem: certificate.certPem },
            }),
        );
        // From standard input, as the README shows: the key never appears on a command line.
        await project.pulumi(["config", "set", "--secret", "--path", "-s", STACK, "dind:selfHostedRegistry.tlsKeyPem"], { stdin: certificate.keyPem });
    }

    before(async function () {
        project = PulumiProject.copyOfThisProject("mirror");
        sockets = path.join(project.root, "sockets");
        fs.mkdirSync(sockets);
        nested = new Docker({ socketPath: path.join(sockets, "docker.sock") });
        ca = TestCa.create("engine tier CA");
        await project.initStack(STACK);
        await configure(ca.issue(ALIAS, "server", [ALIAS]));
    });

    after(async function () {
        if (!project) return;
        await project.pulumi(["destroy", "--yes", "-s", STACK], { allowFailure: true });
        for (const volume of volumes) await host.getVolume(volume).remove().catch(() => undefined);
        project.dispose();
        ca?.dispose();
    });

    it("deploys the daemon and the registry, and the key stays out of the stack file", async function () {
        await project.up(STACK);
        const outputs = await project.outputs(STACK);
        volumes.push(outputs.volumeName);
        volumes.push(stateResource(await project.resources(STACK), "docker:index/volume:Volume", "registry-data").outputs!.name);
        assert.equal(outputs.registryHost, `${ALIAS}:5000`);
        assert.doesNotMatch(fs.readFileSync(path.join(project.dir, `Pulumi.${STACK}.yaml`), "utf8"), /PRIVATE KEY/);
        assert.doesNotMatch(JSON.stringify(outputs), /PRIVATE KEY/);
    });

    it("pulls busybox:latest through the mirror, saves it and removes it, with the host's docker CLI", async function () {
        // Fill the private registry from the daemon itself, which already trusts its CA.
        const archive = await host.getImage(testImages.busybox).get();
        await nested.loadImage(archive).then((stream) => streamToBuffer(stream));
        await nested.getImage(testImages.busybox).tag({ repo: `${ALIAS}:5000/library/busybox`, tag: "latest" });
        await followProgress(await nested.getImage(MIRRORED).push({ authconfig: {} }), `push of ${MIRRORED}`);
        await nested.getImage(MIRRORED).remove();
        await nested.getImage(testImages.busybox).remove();

        const { dockerHost } = await project.outputs(STACK);
        const tar = path.join(project.root, "busybox.tar");
        execFileSync("sh", ["-c", `docker pull busybox:latest && docker save -o ${tar} busybox:latest && docker rmi busybox:latest`], {
            env: { ...process.env, DOCKER_HOST: dockerHost },
            stdio: "pipe",
            timeout: 120_000,
        });
        assert.ok(fs.statSync(tar).size > 100_000, "the saved image is on the host");
        const hostTags = (await host.listImages()).flatMap((image) => image.RepoTags ?? []);
        assert.ok(!hostTags.includes("busybox:latest"), "the host's image store stays without busybox:latest");
    });

    let renewed: { certPem: string; keyPem: string };

    it("replaces only the registry for a renewed certificate: the daemon keeps running", async function () {
        const before = await project.resources(STACK);
        renewed = ca.issue(ALIAS, "server", [ALIAS, `${ALIAS}.test`]);
        await configure(renewed);
        await project.up(STACK);
        const after = await project.resources(STACK);
        assert.notEqual(containerId(after, "-registry"), containerId(before, "-registry"));
        assert.equal(containerId(after, "-dind"), containerId(before, "-dind"), "the daemon needs nothing new: its CA is the same");
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });

    it("replaces only the daemon for a new daemon setting, and its image store survives", async function () {
        const before = await project.resources(STACK);
        const { dockerHost } = await project.outputs(STACK);
        const env = { ...process.env, DOCKER_HOST: dockerHost };
        execFileSync("docker", ["pull", "busybox:latest"], { env, stdio: "pipe", timeout: 120_000 });

        await configure(renewed, ["https://localhost:5999"]);
        await project.up(STACK);
        const after = await project.resources(STACK);
        assert.notEqual(containerId(after, "-dind"), containerId(before, "-dind"));
        assert.equal(containerId(after, "-registry"), containerId(before, "-registry"), "the registry is not touched");
        const image = await nested.getImage("busybox:latest").inspect();
        assert.ok(image.Id, "the image pulled before the update is still in the daemon");
        await project.pulumi(["preview", "--expect-no-changes", "-s", STACK]);
    });
});
