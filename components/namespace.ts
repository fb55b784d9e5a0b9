import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** The Pod Security Standards level a namespace enforces (and warns and audits at). */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * A namespace of the component's own, named `namespaceName`, admitting pods of
 * `level` and no more. Deleting a namespace deletes its claims, so one that
 * holds retained claims (`holdsUserData`) is retained with them.
 */
export function createPodSecurityNamespace(
    resourceName: string,
    namespaceName: string,
    level: PodSecurityLevel,
    holdsUserData: boolean,
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const namespace = new k8s.core.v1.Namespace(
        resourceName,
        {
            metadata: {
                name: namespaceName,
                labels: {
                    "pod-security.kubernetes.io/enforce": level,
                    "pod-security.kubernetes.io/warn": level,
                    "pod-security.kubernetes.io/audit": level,
                },
            },
        },
        { ...opts, retainOnDelete: holdsUserData },
    );
    return namespace.metadata.name;
}
