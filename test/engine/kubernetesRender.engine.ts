/**
 * Kubernetes stacks through a real `pulumi up`: the program with `dind:renderYamlToDirectory`,
 * so the real kubernetes provider (built from its Go module) checks every object and writes it
 * out instead of applying it; there is no cluster here. The manifests it wrote are then the
 * input of the pod tier: the pull-save-remove Job runs from them, exactly as the provider wrote them.
 *
 * Registries bring their certificates (tlsCertPem), and the tls Job its Secrets (tlsSecrets): the
 * tls provider, which would issue them at deploy time, cannot be built on these machines (see
 * README, "The real-engine tier").
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { serviceDnsNames } from "../../components/registrySettings";
import { validateManifests } from "../kubernetesSchema";
import { testCa, testServerCertificate } from "../pems";
import { E2eRun } from "../e2e/support/e2eRun";
import { TestCa } from "../e2e/support/pki";
import { runPod } from "../e2e/support/podRunner";
import { TestRegistry, registryWithBusybox } from "../e2e/support/registryFixture";
import { IMAGES, PULL_SAVE_REMOVE_SCRIPT, assertHostHasNoBusybox, assertSavedImage } from "../e2e/support/scenario";
import { asCapture, objectKeys, renderedObjects } from "./support/rendered";
import { PulumiProject, ROOT, StateResource, stackFile } from "./support/pulumiCli";

/** Appends a line per run to the output claim before the pull-save-remove check, so a later run sees what an earlier one left. */
const JOB_SCRIPT = `echo run >>runs.txt && ${PULL_SAVE_REMOVE_SCRIPT}`;

function clusterExampleConfig(): Record<string, unknown> {
    return (yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.cluster.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
}

/** The kubernetes objects a stack's state holds (the provider's own resource aside). */
function kubernetesObjects(resources: StateResource[]): StateResource[] {
    return resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"));
}

function byKind(objects: any[], kind: string): any[] {
    return objects.filter((o) => o.kind === kind);
}

/** A rendered Secret's values: the provider writes what it was given as `stringData` under `data`, base64-encoded. */
function secretValues(secret: any): Record<string, string> {
    const data = Object.entries<string>(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]);
    return { ...Object.fromEntries(data), ...secret.stringData };
}

describe("real engine: Kubernetes stacks rendered by the kubernetes provider", function () {
    let project: PulumiProject;
    let run: E2eRun;
    let registry: TestRegistry;
    const stacks: string[] = [];

    /** Creates `stack` rendering into its own directory; a registry key, when given, is set as a secret. */
    async function createStack(stack: string, config: Record<string, unknown>, registryKeyPem?: string): Promise<string> {
        const directory = path.join(project.root, `rendered-${stack}`);
        project.writeFile(`Pulumi.${stack}.yaml`, stackFile({ ...config, "dind:target": "kubernetes", "dind:renderYamlToDirectory": directory }));
        await project.initStack(stack);
        stacks.push(stack);
        if (registryKeyPem) {
            await project.pulumi(["config", "set", "--secret", "--path", "-s", stack, "dind:selfHostedRegistry.tlsKeyPem"], { stdin: registryKeyPem });
        }
        return directory;
    }

    /** A registry certificate for the Service the program names `<project>-<stack>-registry`, in its own namespace. */
    function registryCertificate(stack: string) {
        const service = `dind-${stack}-registry`;
        return testServerCertificate(...serviceDnsNames(service, service));
    }

    /** `up`, then the checks every rendered stack passes; returns what was rendered. */
    async function upAndCheck(stack: string, directory: string): Promise<any[]> {
        await project.up(stack);
        const objects = renderedObjects(directory);
        assert.equal(objects.length, kubernetesObjects(await project.resources(stack)).length, "one rendered file per object in the stack");
        assert.equal(validateManifests(objects), objects.length);
        await project.pulumi(["preview", "--expect-no-changes", "-s", stack]);
        return objects;
    }

    before(async function () {
        run = await new E2eRun("render").start();
        registry = await registryWithBusybox(run);
        project = PulumiProject.copyOfThisProject("kubernetes");
    });

    after(async function () {
        for (const stack of stacks) {
            await project?.pulumi(["destroy", "--yes", "-s", stack], { allowFailure: true });
        }
        project?.dispose();
        await run?.cleanup();
        registry?.ca.dispose();
    });

    it("renders the cluster example: every object checked by the provider, schema-valid, and a second up changes nothing", async function () {
        const certificate = registryCertificate("cluster");
        const directory = await createStack(
            "cluster",
            {
                ...clusterExampleConfig(),
                "dind:selfHostedRegistry": { ...(clusterExampleConfig()["dind:selfHostedRegistry"] as object), caCertPem: testCa().certPem, tlsCertPem: certificate.certPem },
            },
            certificate.keyPem,
        );
        const objects = await upAndCheck("cluster", directory);
        const [daemon] = byKind(objects, "Deployment").filter((d) => d.metadata.namespace === "ci-dind");
        assert.equal(daemon.spec.replicas, 2);
        assert.ok(daemon.spec.template.spec.initContainers[0].args.includes("--registry-mirror=https://dind-cluster-registry.dind-cluster-registry.svc:5000"));
        // The provider writes Secrets in plain text in this mode: that is why the README warns about it.
        const tls = byKind(objects, "Secret").find((s) => s.type === "kubernetes.io/tls");
        // `pulumi config set` from standard input drops the final newline.
        assert.equal(secretValues(tls)["tls.key"].trim(), certificate.keyPem.trim());
    });

    /** The tls Job's Secrets, as cert-manager would have made them in its namespace. */
    function daemonTlsSecrets(namespace: string) {
        const ca = TestCa.create("daemon CA");
        try {
            const secret = (pair: { certPem: string; keyPem: string }) => ({ type: "kubernetes.io/tls", stringData: { "ca.crt": ca.certPem, "tls.crt": pair.certPem, "tls.key": pair.keyPem } });
            return {
                [`${namespace}/daemon-server`]: secret(ca.issue("localhost", "server", ["localhost"], ["127.0.0.1"])),
                [`${namespace}/daemon-client`]: secret(ca.issue("client", "client")),
            };
        } finally {
            ca.dispose();
        }
    }

    for (const transport of ["unix", "tcp", "tls"]) {
        it(`${transport}: renders a Job whose rendered manifests run the pull-save-remove check in the pod tier`, async function () {
            const stack = `job-${transport}`;
            const tls = transport === "tls" ? { "dind:namespace": "builds", "dind:tlsSecrets": { server: "daemon-server", client: "daemon-client" } } : {};
            const directory = await createStack(stack, {
                ...tls,
                "dind:workload": "Job",
                "dind:transport": transport,
                "dind:script": JOB_SCRIPT,
                "dind:output": {},
                "dind:networkPolicy": false,
                "dind:registryMirrors": [`https://${registry.host}`],
                "dind:registries": [{ host: registry.host, caCertPem: registry.ca.certPem }],
            });
            const objects = await upAndCheck(stack, directory);
            const [job] = byKind(objects, "Job");
            assert.equal(job.metadata.annotations["pulumi.com/replaceUnready"], "true");
            if (transport === "tls") {
                assert.deepEqual(byKind(objects, "Secret"), [], "the daemon's keys stay in the user's Secrets, out of the stack");
            }

            const existingSecrets = transport === "tls" ? daemonTlsSecrets("builds") : undefined;
            const pod = await runPod(asCapture(objects), { run, images: IMAGES, networks: [{ name: registry.network }], existingSecrets });
            try {
                const completion = await pod.waitForCompletion(240_000);
                assert.ok(completion.succeeded, `client exited ${completion.containers.client.exitCode}:\n${completion.containers.client.logs}`);
                await assertSavedImage(run, pod.claimVolume(`dind-${stack}-output`), "busybox.tar", "busybox:latest");
                await assertHostHasNoBusybox(run);
            } finally {
                await pod.remove();
            }
        });
    }

    it("keeps the namespace and the output claim through destroy, and the next up adopts them under the same names", async function () {
        const stack = "job-unix";
        const directory = path.join(project.root, `rendered-${stack}`);
        const first = renderedObjects(directory);

        await project.pulumi(["destroy", "--yes", "-s", stack]);
        // The provider deletes a destroyed object's file; what destroy keeps stays.
        assert.deepEqual(objectKeys(renderedObjects(directory)), ["Namespace//dind-job-unix", "PersistentVolumeClaim/dind-job-unix/dind-job-unix-output"]);

        await project.up(stack);
        const second = renderedObjects(directory);
        assert.deepEqual(objectKeys(second.filter((o) => ["Namespace", "PersistentVolumeClaim"].includes(o.kind))), objectKeys(first.filter((o) => ["Namespace", "PersistentVolumeClaim"].includes(o.kind))));
        const [job] = byKind(second, "Job");
        const output = job.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim);
        assert.equal(output.persistentVolumeClaim.claimName, "dind-job-unix-output");

        // The pod tier keeps a claim's directory for the run: the second Job finds the first one's files.
        const pod = await runPod(asCapture(second), { run, images: IMAGES, networks: [{ name: registry.network }] });
        try {
            const completion = await pod.waitForCompletion(240_000);
            assert.ok(completion.succeeded, completion.containers.client.logs);
            const runs = (await run.readVolumeFile(pod.claimVolume("dind-job-unix-output"), "runs.txt")).toString("utf8");
            assert.equal(runs, "run\nrun\n", "the same claim, holding what the first run wrote");
        } finally {
            await pod.remove();
        }
    });

    it("renders a private SelfHostedRegistry whose image claim survives destroy and is mounted again by the next up", async function () {
        const stack = "private";
        const certificate = registryCertificate(stack);
        const directory = await createStack(
            stack,
            { "dind:selfHostedRegistry": { enabled: true, mode: "private", users: [{ username: "ci" }], caCertPem: testCa().certPem, tlsCertPem: certificate.certPem } },
            certificate.keyPem,
        );
        const claim = "dind-private-registry-data";
        const mountedClaims = (objects: any[]) =>
            byKind(objects, "Deployment").flatMap((d) => d.spec.template.spec.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim.claimName));
        const first = await upAndCheck(stack, directory);
        assert.deepEqual(mountedClaims(first), [claim]);
        const htpasswd = byKind(first, "Secret").map(secretValues).find((values) => values.htpasswd);
        assert.match(htpasswd!.htpasswd, /^ci:\$2[aby]\$/);

        await project.pulumi(["destroy", "--yes", "-s", stack]);
        assert.deepEqual(objectKeys(renderedObjects(directory)), ["Namespace//dind-private-registry", `PersistentVolumeClaim/dind-private-registry/${claim}`]);
        const second = await upAndCheck(stack, directory);
        assert.deepEqual(mountedClaims(second), [claim]);
    });
});
