/**
 * Which Pod Security levels a pod passes, asked of Kubernetes' own admission library through the
 * checker test/e2e/setup/build-pod-security.sh builds.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { PodSecurityLevel } from "../../../components/keptObjects";

function checker(): string {
    const cache = process.env.E2E_IMAGE_CACHE ?? "/var/cache/pulumi-dind-e2e";
    const recorded = path.join(cache, "pod-security.path");
    const binary = process.env.POD_SECURITY_CHECKER ?? (fs.existsSync(recorded) ? fs.readFileSync(recorded, "utf8").trim() : undefined);
    if (binary === undefined || !fs.existsSync(binary)) {
        throw new Error("no Pod Security checker: run test/e2e/setup/build-pod-security.sh");
    }
    return binary;
}

/** The checks the pod fails at baseline and at restricted, as "<reason>: <detail>". */
export function podSecurityFailures(pod: { metadata?: object; spec: object }): { baseline: string[]; restricted: string[] } {
    return JSON.parse(execFileSync(checker(), { input: JSON.stringify(pod), encoding: "utf8", timeout: 30_000 }));
}

/** The most restrictive level the pod passes. */
export function lowestLevelPassed(pod: { metadata?: object; spec: object }): PodSecurityLevel {
    const failures = podSecurityFailures(pod);
    return failures.restricted.length === 0 ? "restricted" : failures.baseline.length === 0 ? "baseline" : "privileged";
}
