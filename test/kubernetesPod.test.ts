import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { valueOf } from "./harness";
import { PodVolume, componentLabels, isolatedPodSpec, mountVolumes, onceReady, restrictedSecurityContext, toEnv } from "../components/kubernetesPod";
import { LABEL_VALUE_MAX, autonamePrefix, configMapKey, labelKey, labelMap, labelValue, maxNameForJob, serviceName } from "../components/kubernetesNames";

describe("Kubernetes pod parts", () => {
    describe("mountVolumes", () => {
        const volumes: PodVolume[] = [
            { volume: { name: "shared", emptyDir: {} }, mounts: [{ container: "a", mountPath: "/shared" }, { container: "b", mountPath: "/also", readOnly: true }] },
            { volume: { name: "cas", configMap: { name: "cm" } }, mounts: [{ container: "b", mountPath: "/cas", readOnly: true, env: { SSL_CERT_DIR: "/cas" } }] },
        ];

        it("gives each container the mounts of it that the volumes declare, in their order, and the env that goes with them", () => {
            const { containers, volumes: podVolumes } = mountVolumes(
                [
                    { name: "a", env: [{ name: "A", value: "1" }] },
                    { name: "b", env: [{ name: "B", value: "2" }] },
                ],
                volumes,
            );
            assert.deepEqual(podVolumes, volumes.map((v) => v.volume));
            assert.deepEqual(containers[0].volumeMounts, [{ name: "shared", mountPath: "/shared" }]);
            assert.deepEqual(containers[0].env, [{ name: "A", value: "1" }]);
            assert.deepEqual(containers[1].volumeMounts, [
                { name: "shared", mountPath: "/also", readOnly: true },
                { name: "cas", mountPath: "/cas", readOnly: true },
            ]);
            assert.deepEqual(containers[1].env, [{ name: "B", value: "2" }, { name: "SSL_CERT_DIR", value: "/cas" }]);
        });

        it("refuses a mount in a container the pod lacks, two volumes at one path, and one variable twice", () => {
            assert.throws(() => mountVolumes([{ name: "a" }], volumes), /volume shared is mounted in container b, which the pod does not have/);
            const twice: PodVolume[] = [
                { volume: { name: "x", emptyDir: {} }, mounts: [{ container: "a", mountPath: "/p" }] },
                { volume: { name: "y", emptyDir: {} }, mounts: [{ container: "a", mountPath: "/p" }] },
            ];
            assert.throws(() => mountVolumes([{ name: "a" }], twice), /container a mounts two volumes at \/p/);
            assert.throws(() => mountVolumes([{ name: "b", env: [{ name: "SSL_CERT_DIR", value: "/x" }] }, { name: "a" }], volumes), /container b gets SSL_CERT_DIR twice/);
        });
    });

    it("turns a map into env vars in order", () => {
        assert.deepEqual(toEnv({ B: "2", A: "1" }), [{ name: "B", value: "2" }, { name: "A", value: "1" }]);
    });

    it("labels a component's objects by app and instance", () => {
        assert.deepEqual(componentLabels("dind", "ci"), { "app.kubernetes.io/name": "dind", "app.kubernetes.io/instance": "ci", "app.kubernetes.io/managed-by": "pulumi" });
    });

    it("keeps what Pod Security restricted asks for over anything a container adds", () => {
        const context = restrictedSecurityContext({ runAsUser: 1000, allowPrivilegeEscalation: true });
        assert.equal(context.runAsUser, 1000);
        assert.equal(context.allowPrivilegeEscalation, false);
        assert.deepEqual(context.capabilities, { drop: ["ALL"] });
    });

    it("turns off the service account token and service links unless a pod spec says otherwise", () => {
        assert.deepEqual(isolatedPodSpec({ containers: [] }), { automountServiceAccountToken: false, enableServiceLinks: false, containers: [] });
    });

    it("resolves a value only once the resources it waits for have names", async () => {
        let resolveName!: (name: string) => void;
        const name = new Promise<string>((resolve) => (resolveName = resolve));
        const ready = onceReady({ metadata: pulumi.output(name).apply((n) => ({ name: n })) });
        let seen: string | undefined;
        const value = ready("host:5000");
        value.apply((v) => (seen = v));
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(seen, undefined, "not before the resource is ready");
        resolveName("deployment");
        assert.equal(await valueOf(value), "host:5000");
    });
});

describe("Kubernetes names", () => {
    const refused = (check: () => unknown, message: RegExp) => assert.throws(check, message);

    it("takes label values the API takes, and nothing else", () => {
        for (const good of ["", "a", "A_b.c-1", "x".repeat(LABEL_VALUE_MAX)]) {
            assert.equal(labelValue(good, "v"), good);
        }
        for (const bad of ["-a", "a.", "a b", "x".repeat(LABEL_VALUE_MAX + 1), "é", 1]) {
            refused(() => labelValue(bad, "args.v"), /^InvalidArgumentError: args\.v: expected a label value/);
        }
    });

    it("takes label keys with an optional lower-case DNS prefix", () => {
        for (const good of ["pool", "node-role.example.com/ci", "kubernetes.io/arch", "A_b"]) {
            assert.equal(labelKey(good, "k"), good);
        }
        for (const bad of ["", "/x", "Example.com/x", "a/b/c", "x".repeat(64), "example.com/", "a b"]) {
            refused(() => labelKey(bad, "args.k"), /^InvalidArgumentError: args\.k: expected a label key/);
        }
    });

    it("checks a label map's keys under the map's name and its values under their own", () => {
        assert.deepEqual(labelMap({ "node-role.example.com/ci": "true" }, "m"), { "node-role.example.com/ci": "true" });
        refused(() => labelMap({ "a b": "x" }, "args.nodeSelector"), /^InvalidArgumentError: args\.nodeSelector: expected a label key.*got "a b"/);
        refused(() => labelMap({ pool: "a b" }, "args.nodeSelector"), /^InvalidArgumentError: args\.nodeSelector\.pool: expected a label value/);
        refused(() => labelMap({ pool: 1 }, "args.nodeSelector"), /^InvalidArgumentError: args\.nodeSelector\.pool: expected a label value.*got 1/);
        refused(() => labelMap(["a"], "args.nodeSelector"), /^InvalidArgumentError: args\.nodeSelector: expected a map/);
    });

    it("takes Service names that start with a letter (RFC 1035)", () => {
        assert.equal(serviceName("registry-1", "s"), "registry-1");
        for (const bad of ["1registry", "Registry", "registry-", "a.b", "r".repeat(64)]) {
            refused(() => serviceName(bad, "args.serviceName"), /^InvalidArgumentError: args\.serviceName: expected a Service name \(RFC 1035/);
        }
    });

    it("takes ConfigMap keys of at most 253 allowed characters", () => {
        assert.equal(configMapKey("registry.example.com_5000.crt", "k"), "registry.example.com_5000.crt");
        for (const bad of ["", ".", "..", "a:b", "a/b", "k".repeat(254)]) {
            refused(() => configMapKey(bad, "key"), /^InvalidArgumentError: key: expected a ConfigMap key/);
        }
    });

    it("bounds a component name by the longest name the provider makes of it", () => {
        const longest = "a".repeat(253 - "-deployment".length - 9);
        const dotted = (length: number) => Array.from({ length: Math.ceil(length / 50) }, () => "a".repeat(49)).join(".").slice(0, length);
        assert.equal(autonamePrefix("registry", ["deployment"], "name"), "registry");
        assert.equal(autonamePrefix(dotted(longest.length), ["deployment"], "name").length, longest.length);
        refused(() => autonamePrefix(dotted(longest.length + 1), ["deployment"], "name"), /^InvalidArgumentError: name: expected at most 233 characters/);
        refused(() => autonamePrefix("Registry_1", ["tls"], "name"), /^InvalidArgumentError: name: expected a lower-case DNS name/);
    });

    it("keeps a Job's auto-name, and so its pods' job-name label, within 63 characters", () => {
        const name = "j".repeat(maxNameForJob("job"));
        assert.equal(`${name}-job-${"x".repeat(8)}`.length, LABEL_VALUE_MAX);
    });
});
