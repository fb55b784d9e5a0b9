/**
 * Kubernetes manifests checked against the Kubernetes OpenAPI schema through
 * kubernetes-models' generated validators: types, formats, enums and required
 * fields. The schema admits unknown field names, so a misspelt field passes
 * here; the typed @pulumi/kubernetes inputs catch those at compile time.
 */
import type { Captured } from "./harness";

interface Model {
    validate(): void;
}
type ModelClass = new (data: object) => Model;

/** The kubernetes-models class for an apiVersion and kind, e.g. `apps/v1` Deployment from kubernetes-models/apps/v1/Deployment. */
function modelFor(apiVersion: unknown, kind: unknown): ModelClass {
    if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
        throw new Error(`not a Kubernetes object: apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}`);
    }
    let exports: Record<string, unknown>;
    try {
        exports = require(`kubernetes-models/${apiVersion}/${kind}`);
    } catch {
        throw new Error(`no Kubernetes schema for ${apiVersion} ${kind} in kubernetes-models`);
    }
    const model = exports[kind];
    if (typeof model !== "function") {
        throw new Error(`kubernetes-models/${apiVersion}/${kind} exports no ${kind} model`);
    }
    return model as ModelClass;
}

/**
 * Validates every Kubernetes object a component registered (or the given
 * manifests); fails on the first invalid one, or on a kind the schema does not
 * know, naming the object. Returns how many were checked.
 */
export function validateManifests(source: Captured | object[]): number {
    const manifests: any[] = Array.isArray(source) ? source : source.kubernetesManifests();
    for (const manifest of manifests) {
        const Model = modelFor(manifest.apiVersion, manifest.kind);
        try {
            new Model(manifest).validate();
        } catch (error) {
            const name = manifest.metadata?.name ?? "(auto-named)";
            throw new Error(`${manifest.apiVersion} ${manifest.kind} ${name} fails the Kubernetes schema: ${(error as Error).message}`);
        }
    }
    return manifests.length;
}
