/**
 * Kubernetes manifests checked against the Kubernetes OpenAPI schema through
 * kubernetes-models' generated validators: types, formats, enums, required
 * fields, and field names. The OpenAPI schema admits unknown fields (the API
 * server prunes them silently), so a misspelt or misplaced field would pass a
 * plain validation; here it fails: every object is watched while the validator
 * walks it, and any field the schema never asked about is reported.
 */
import * as path from "path";
import type { Captured } from "./harness";

type SchemaValidator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: object }[] | null };

/** The schema validator for an apiVersion and kind, e.g. apps/v1 Deployment (IoK8sApiAppsV1Deployment). */
function validatorFor(apiVersion: unknown, kind: unknown): SchemaValidator {
    if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
        throw new Error(`not a Kubernetes object: apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)}`);
    }
    let modelFile: string;
    try {
        modelFile = require.resolve(`kubernetes-models/${apiVersion}/${kind}`);
    } catch {
        throw new Error(`no Kubernetes schema for ${apiVersion} ${kind} in kubernetes-models`);
    }
    const schemaName = Object.keys(require(modelFile)).find((name) => name.startsWith("IoK8s"));
    if (!schemaName) {
        throw new Error(`kubernetes-models/${apiVersion}/${kind} names no schema`);
    }
    // The package does not export its schemas; they sit beside the group folders.
    const packageRoot = path.join(path.dirname(modelFile), ...apiVersion.split("/").map(() => ".."));
    return require(path.join(packageRoot, "_schemas", `${schemaName}.js`)).validate;
}

interface Watched {
    path: string;
    read: Set<string>;
    /** The validator listed the keys itself: a map (labels, data), where any key is allowed. */
    enumerated: boolean;
    proxy: object;
}

/** Validates one manifest and returns the paths of fields the schema does not define. */
function validateStrictly(validate: SchemaValidator, manifest: object): { valid: boolean; unknownFields: string[] } {
    const watched = new Map<object, Watched>();
    const watch = (value: unknown, path: string): unknown => {
        if (value === null || typeof value !== "object") {
            return value;
        }
        let entry = watched.get(value);
        if (!entry) {
            const record: Watched = { path, read: new Set(), enumerated: false, proxy: value };
            record.proxy = new Proxy(value, {
                get(target, key) {
                    if (typeof key === "string") {
                        record.read.add(key);
                    }
                    return watch(Reflect.get(target, key), `${path}.${String(key)}`);
                },
                has(target, key) {
                    if (typeof key === "string") {
                        record.read.add(key);
                    }
                    return Reflect.has(target, key);
                },
                ownKeys(target) {
                    record.enumerated = true;
                    return Reflect.ownKeys(target);
                },
            });
            watched.set(value, record);
            entry = record;
        }
        return entry.proxy;
    };
    const valid = validate(watch(manifest, ""));
    const unknownFields: string[] = [];
    for (const [value, entry] of watched) {
        if (!entry.enumerated && !Array.isArray(value)) {
            unknownFields.push(...Object.keys(value).filter((key) => !entry.read.has(key)).map((key) => `${entry.path}.${key}`.slice(1)));
        }
    }
    return { valid, unknownFields };
}

/**
 * Validates every Kubernetes object a component registered (or the given
 * manifests); fails on the first invalid one, on a field the schema does not
 * define, or on a kind the schema does not know, naming the object. Returns how
 * many were checked.
 */
export function validateManifests(source: Captured | object[]): number {
    const manifests: any[] = Array.isArray(source) ? source : source.kubernetesManifests();
    for (const manifest of manifests) {
        const validate = validatorFor(manifest.apiVersion, manifest.kind);
        const name = `${manifest.apiVersion} ${manifest.kind} ${manifest.metadata?.name ?? "(auto-named)"}`;
        const { valid, unknownFields } = validateStrictly(validate, manifest);
        if (!valid) {
            const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
            throw new Error(`${name} fails the Kubernetes schema: ${problems.join("; ")}`);
        }
        if (unknownFields.length > 0) {
            throw new Error(`${name} has fields the Kubernetes schema does not define: ${unknownFields.join(", ")}`);
        }
    }
    return manifests.length;
}
