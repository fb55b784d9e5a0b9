/**
 * The appliers accept exactly the fields they know how to apply. A schema lists them; `check`
 * walks a captured spec and throws naming the first field path outside it, so a field a
 * component starts declaring can never be dropped silently on its way to the engine.
 */

export type Schema =
    /** Any scalar (string, number, boolean). */
    | "scalar"
    /** A map of string to string (labels, ConfigMap data). */
    | "stringMap"
    | { fields: Record<string, Schema> }
    | { items: Schema };

export class UnsupportedFieldError extends Error {
    constructor(readonly path: string, detail: string) {
        super(`unsupported field ${path}: ${detail}`);
        this.name = "UnsupportedFieldError";
    }
}

export const fields = (spec: Record<string, Schema>): Schema => ({ fields: spec });
export const items = (schema: Schema): Schema => ({ items: schema });

function present(value: unknown): boolean {
    return value !== undefined && value !== null;
}

/** Throws UnsupportedFieldError at the first field of `value` that `schema` does not list. */
export function check(value: unknown, schema: Schema, path: string): void {
    if (!present(value)) {
        return;
    }
    if (schema === "scalar") {
        if (typeof value === "object") {
            throw new UnsupportedFieldError(path, `expected a scalar, found ${JSON.stringify(value).slice(0, 80)}`);
        }
        return;
    }
    if (schema === "stringMap") {
        if (typeof value !== "object" || Array.isArray(value)) {
            throw new UnsupportedFieldError(path, "expected a map of strings");
        }
        for (const [key, entry] of Object.entries(value as object)) {
            if (present(entry) && typeof entry !== "string") {
                throw new UnsupportedFieldError(`${path}.${key}`, "expected a string");
            }
        }
        return;
    }
    if ("items" in schema) {
        if (!Array.isArray(value)) {
            throw new UnsupportedFieldError(path, "expected a list");
        }
        value.forEach((entry, index) => check(entry, schema.items, `${path}[${index}]`));
        return;
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        throw new UnsupportedFieldError(path, "expected an object");
    }
    for (const [key, entry] of Object.entries(value as object)) {
        if (!present(entry)) {
            continue;
        }
        const child = schema.fields[key];
        if (!child) {
            throw new UnsupportedFieldError(`${path}.${key}`, `not applied by this harness (supported here: ${Object.keys(schema.fields).join(", ")})`);
        }
        check(entry, child, `${path}.${key}`);
    }
}

/** Every field path a schema accepts, for documentation and the report. */
export function supportedPaths(schema: Schema, path: string): string[] {
    if (schema === "scalar" || schema === "stringMap") {
        return [path];
    }
    if ("items" in schema) {
        return supportedPaths(schema.items, `${path}[]`);
    }
    return Object.entries(schema.fields).flatMap(([key, child]) => supportedPaths(child, `${path}.${key}`));
}
