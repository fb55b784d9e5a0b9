import { strict as assert } from "assert";
import { validateManifests } from "./kubernetesSchema";

const pod = (container: object, spec: object = {}) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { "app.kubernetes.io/name": "dind" } },
    spec: {
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "i", ...container }], ...spec } },
    },
});

describe("Kubernetes schema validation", () => {
    it("accepts a valid manifest, with free-form maps such as labels and ConfigMap data", () => {
        assert.equal(validateManifests([pod({ env: [{ name: "A", value: "b" }] }), { apiVersion: "v1", kind: "ConfigMap", data: { "r_5000.crt": "pem" } }]), 2);
    });

    it("rejects a misspelt field, naming its path", () => {
        assert.throws(() => validateManifests([pod({ imagePullPolicyy: "Always" })]), /fields the Kubernetes schema does not define: spec.template.spec.containers.0.imagePullPolicyy/);
    });

    it("rejects a field at the wrong level", () => {
        assert.throws(() => validateManifests([pod({ privileged: true })]), /containers.0.privileged/);
        assert.throws(() => validateManifests([pod({}, { startupProbe: { exec: { command: ["true"] } } })]), /spec.template.spec.startupProbe/);
    });

    it("rejects a wrong type or a missing required field", () => {
        assert.throws(() => validateManifests([pod({ ports: [{ containerPort: "2376" }] })]), /fails the Kubernetes schema: \/spec\/template\/spec\/containers\/0\/ports\/0\/containerPort/);
        assert.throws(() => validateManifests([{ apiVersion: "apps/v1", kind: "Deployment", spec: { template: {} } }]), /selector/);
    });

    it("rejects a kind it has no schema for", () => {
        assert.throws(() => validateManifests([{ apiVersion: "example.com/v1", kind: "Widget" }]), /no Kubernetes schema for example\.com\/v1 Widget/);
    });
});
