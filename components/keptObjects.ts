import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { lowerCaseDnsName } from "./validation";

/**
 * Objects that hold user data outlive `pulumi destroy` and are found again by the next `up`.
 *
 * They are Server-Side Apply patches with fixed names: a patch creates its object when it is
 * missing and takes over one that exists (the one a previous `destroy` kept), on every version
 * of the kubernetes provider, without `upsertExistingObjects` (since 4.29, plain resources fail
 * with AlreadyExists instead). One field manager for all of them means a stack that adopts its
 * own retained object never conflicts with itself. Patches need Server-Side Apply, the
 * provider's default.
 */
const FIELD_MANAGER = { "pulumi.com/patchFieldManager": "pulumi-dind" };

/** The Pod Security Standards level a namespace enforces (and warns and audits at). */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * A namespace of the component's own, named `namespaceName`, admitting pods of `level` and no
 * more. Deleting a namespace deletes its claims, so one that holds kept claims
 * (`holdsUserData`) is kept with them; otherwise `destroy` hands it back without the labels,
 * which a patch cannot delete (`kubectl delete namespace` does).
 */
export function createPodSecurityNamespace(
    resourceName: string,
    namespaceName: string,
    level: PodSecurityLevel,
    holdsUserData: boolean,
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const namespace = new k8s.core.v1.NamespacePatch(
        resourceName,
        {
            metadata: {
                name: namespaceName,
                annotations: FIELD_MANAGER,
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

/** A claim that `destroy` keeps, as a component decides it before registering anything. */
export interface KeptClaimSpec {
    /** The claim's name, fixed so that the next `up` finds it (see keptClaimName). */
    name: string;
    /** The requested size; the API refuses a smaller one for an existing claim. */
    size: string;
    /** Its StorageClass; the API refuses a change for an existing claim. Default the cluster's default class. */
    storageClass?: string;
}

/** Where and how a kept claim is declared. */
export interface KeptClaim extends KeptClaimSpec {
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
}

/** `<component>-<suffix>`: the same on every `up`, and checked to be a valid claim name. */
export function keptClaimName(componentName: string, suffix: string): string {
    const name = `${componentName}-${suffix}`;
    return lowerCaseDnsName(name, `name (it names the claim ${name})`);
}

/**
 * A ReadWriteOnce claim kept by `destroy` and adopted by the next `up`. A change the API refuses
 * (a smaller size, another class) fails that `up` at the claim, which every workload mounting it
 * waits for, so nothing is detached from its data.
 */
export function createKeptClaim(resourceName: string, claim: KeptClaim, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new k8s.core.v1.PersistentVolumeClaimPatch(
        resourceName,
        {
            metadata: { name: claim.name, namespace: claim.namespace, labels: claim.labels, annotations: FIELD_MANAGER },
            spec: readWriteOnceClaimSpec(claim.size, claim.storageClass),
        },
        { ...opts, retainOnDelete: true },
    ).metadata.name;
}

/**
 * Where a pod's claim comes from: `kept`, created under a fixed name and kept by `destroy`;
 * `owned`, auto-named and deleted with the component (a cache not worth keeping); or
 * `existing`, the user's, mounted as it is.
 */
export type ClaimSource =
    | { kind: "kept"; claim: KeptClaimSpec }
    | { kind: "owned"; size: string; storageClass?: string }
    | { kind: "existing"; claimName: string };

/** The name of the claim `source` describes, declaring it (as `resourceName`, in `placement`) unless it exists already. */
export function claimFor(
    resourceName: string,
    source: ClaimSource,
    placement: { namespace: pulumi.Input<string>; labels: Record<string, string> },
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    switch (source.kind) {
        case "existing":
            return pulumi.output(source.claimName);
        case "kept":
            return createKeptClaim(resourceName, { ...source.claim, ...placement }, opts);
        case "owned":
            return new k8s.core.v1.PersistentVolumeClaim(resourceName, { metadata: placement, spec: readWriteOnceClaimSpec(source.size, source.storageClass) }, opts).metadata
                .name;
    }
}

/** The spec of a claim one node mounts at a time, kept or not. */
export function readWriteOnceClaimSpec(size: string, storageClass: string | undefined): k8s.types.input.core.v1.PersistentVolumeClaimSpec {
    return { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } }, storageClassName: storageClass };
}

/**
 * Always a complete strategy. A ReadWriteOnce claim held by the old pod would block the new one,
 * so pods with claims are recreated. Spelling out the rolling update's parameters makes them
 * ours, so that a switch to Recreate drops them; a server-defaulted rollingUpdate would stay
 * and the API would refuse the Recreate (pulumi-kubernetes#2843).
 */
export function deploymentStrategy(mountsClaims: boolean): k8s.types.input.apps.v1.DeploymentStrategy {
    return mountsClaims ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
}
