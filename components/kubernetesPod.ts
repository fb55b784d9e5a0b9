/**
 * What the Kubernetes components' pods share: each volume declared once with
 * every mount of it (and the environment that goes with a mount), the labels,
 * the hardened container and pod defaults, and outputs that wait for a workload.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

type Volume = k8s.types.input.core.v1.Volume;
type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Where one container sees a volume. */
export interface Mount {
    /** The container's name. */
    container: string;
    mountPath: string;
    /** One file or directory of the volume instead of all of it, so the rest of `mountPath`'s directory stays the image's. */
    subPath?: string;
    readOnly?: boolean;
    /** Environment the container gets with this mount, e.g. SSL_CERT_DIR naming a directory of CAs. */
    env?: Record<string, string>;
}

/** A pod volume, with every container's mount of it. */
export interface PodVolume {
    /** The volume, or only its name when a StatefulSet's volumeClaimTemplates declare it. */
    volume: (Volume & { name: string }) | { name: string; fromClaimTemplate: true };
    mounts: Mount[];
}

/** A container as declared, without mounts: its volumes bring them (and their environment). */
export type PodContainer = Omit<Container, "name" | "env" | "volumeMounts"> & { name: string; env?: EnvVar[] };

/**
 * The pod's containers with the mounts and environment each volume gives them, and
 * its volumes, all in the order declared: cdk8s-plus's `container.mount(path, volume)`,
 * collected once into the pod spec.
 */
export function mountVolumes(containers: PodContainer[], volumes: PodVolume[]): { containers: Container[]; volumes: Volume[] } {
    const names = new Set(containers.map((container) => container.name));
    for (const { volume, mounts } of volumes) {
        const unknown = mounts.find((mount) => !names.has(mount.container));
        if (unknown) {
            throw new Error(`volume ${volume.name} is mounted in container ${unknown.container}, which the pod does not have`);
        }
    }
    return {
        containers: containers.map((container) => {
            const mounts = volumes.flatMap(({ volume, mounts }) => mounts.filter((mount) => mount.container === container.name).map((mount) => ({ volume: volume.name, ...mount })));
            const paths = mounts.map((mount) => mount.mountPath);
            const twice = paths.find((path, index) => paths.indexOf(path) !== index);
            if (twice !== undefined) {
                throw new Error(`container ${container.name} mounts two volumes at ${twice}`);
            }
            const env = [...(container.env ?? []), ...mounts.flatMap((mount) => toEnv(mount.env ?? {}))];
            const envNames = env.map((variable) => variable.name);
            const duplicate = envNames.find((envName, index) => envNames.indexOf(envName) !== index);
            if (duplicate !== undefined) {
                throw new Error(`container ${container.name} gets ${duplicate} twice`);
            }
            return {
                ...container,
                env,
                volumeMounts: mounts.map((mount) => ({
                    name: mount.volume,
                    mountPath: mount.mountPath,
                    ...(mount.subPath !== undefined ? { subPath: mount.subPath } : {}),
                    ...(mount.readOnly ? { readOnly: true } : {}),
                })),
            };
        }),
        volumes: volumes.flatMap(({ volume }) => ("fromClaimTemplate" in volume ? [] : [volume])),
    };
}

/** Plain environment variables, in the order given. */
export function toEnv(env: Record<string, string>): EnvVar[] {
    return Object.entries(env).map(([name, value]) => ({ name, value }));
}

/** The labels every object of a component carries, and its pods are selected by. */
export function componentLabels(app: string, instance: string): Record<string, string> {
    return { "app.kubernetes.io/name": app, "app.kubernetes.io/instance": instance, "app.kubernetes.io/managed-by": "pulumi" };
}

/** What Pod Security `restricted` asks of every container, on top of which a container adds its own. */
export function restrictedSecurityContext(extra: k8s.types.input.core.v1.SecurityContext = {}): k8s.types.input.core.v1.SecurityContext {
    return {
        ...extra,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/**
 * A pod spec with nothing from the cluster that its containers did not ask for: no
 * service account token (they have no business with the Kubernetes API), and no
 * service links, whose `<SERVICE>_PORT=tcp://...` variables programs configured
 * through the environment (distribution reads REGISTRY_*) would take as settings.
 */
export function isolatedPodSpec(spec: k8s.types.input.core.v1.PodSpec): k8s.types.input.core.v1.PodSpec {
    return { automountServiceAccountToken: false, enableServiceLinks: false, ...spec };
}

/**
 * Outputs that resolve only once `resources` are: for a workload the provider waits
 * on until it is available, a value a dependant must not use before then.
 */
export function onceReady(...resources: { metadata: pulumi.Output<{ name?: string }> }[]): <T>(value: pulumi.Input<T>) => pulumi.Output<T> {
    const names = pulumi.all(resources.map((resource) => resource.metadata.name));
    return <T>(value: pulumi.Input<T>) => pulumi.all([pulumi.output(value), names]).apply(([resolved]) => resolved as T);
}
