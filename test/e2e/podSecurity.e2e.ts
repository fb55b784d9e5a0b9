/**
 * Each namespace a component makes is labelled with the lowest Pod Security level its pods pass,
 * as Kubernetes' own admission library (k8s.io/pod-security-admission) evaluates the rendered
 * pod: privileged for a privileged daemon, baseline under Sysbox, restricted for a registry.
 */
import { strict as assert } from "assert";
import { Captured, capture } from "../harness";
import { DindDeployment, DindDeploymentArgs } from "../../components/dindDeployment";
import { SelfHostedRegistry } from "../../components/selfHostedRegistry";
import { lowestLevelPassed, podSecurityFailures } from "./support/podSecurity";

const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"];

/** The pod the workload's controller would make, and the level the namespace enforces. */
function podAndLevel(captured: Captured): { pod: { metadata: object; spec: object }; enforced: string } {
    const workload = captured.resources.find((r) => WORKLOADS.includes(r.type))!;
    const namespace = captured.only("kubernetes:core/v1:NamespacePatch");
    const { metadata, spec } = workload.inputs.spec.template;
    return { pod: { metadata: { name: "pod", ...metadata }, spec }, enforced: namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"] };
}

describe("e2e: Pod Security levels, by Kubernetes' own library", function () {
    const daemons: [string, DindDeploymentArgs, string][] = [
        ["a privileged daemon (the default)", {}, "privileged"],
        ["a daemon under Sysbox", { isolation: "sysbox" }, "baseline"],
        ["a daemon under Sysbox on CRI-O, with the pruner", { isolation: "sysbox", sysbox: { containerRuntime: "cri-o" }, prune: {} }, "baseline"],
        ["an exposed StatefulSet under Sysbox", { isolation: "sysbox", workload: "StatefulSet", transport: "tls", expose: { from: [{ namespace: "ci" }] } }, "baseline"],
    ];
    for (const [what, args, level] of daemons) {
        it(`labels the namespace of ${what} ${level}, the lowest level its pod passes`, async function () {
            const { pod, enforced } = podAndLevel(await capture(() => new DindDeployment("dind", args)));
            assert.equal(lowestLevelPassed(pod), level, JSON.stringify(podSecurityFailures(pod)));
            assert.equal(enforced, level);
        });
    }

    it("keeps a Sysbox daemon out of restricted only for what dockerd needs, not for running as root", async function () {
        const { pod } = podAndLevel(await capture(() => new DindDeployment("dind", { isolation: "sysbox" })));
        const { restricted } = podSecurityFailures(pod);
        assert.ok(restricted.length > 0);
        assert.ok(restricted.every((failure) => failure.includes('"dockerd"')), `only dockerd keeps it from restricted: ${restricted.join("; ")}`);
        assert.ok(!restricted.some((failure) => failure.startsWith("runAsNonRoot")), "in its own user namespace, root is allowed");
    });

    it("labels a registry's namespace restricted, which its pod passes", async function () {
        const { pod, enforced } = podAndLevel(await capture(() => new SelfHostedRegistry("registry", {})));
        assert.deepEqual(podSecurityFailures(pod).restricted, []);
        assert.equal(enforced, "restricted");
    });
});
