/**
 * What a kubernetes provider in render mode (`renderYamlToDirectory`) wrote: every object as the
 * provider checked it and would have applied it, one file per object under 0-crd/ and
 * 1-manifest/.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { Captured, DEFAULT_OPTIONS, RegisteredResource } from "../../harness";

/** The objects under `directory`, in file-name order. */
export function renderedObjects(directory: string): any[] {
    const files = fs.existsSync(directory) ? (fs.readdirSync(directory, { recursive: true }) as string[]) : [];
    return files
        .filter((file) => file.endsWith(".yaml"))
        .sort()
        .flatMap((file) => yaml.loadAll(fs.readFileSync(path.join(directory, file), "utf8")).filter((object) => object !== null && object !== undefined));
}

/** `kind/namespace/name` of each object, to compare two renders. */
export function objectKeys(objects: any[]): string[] {
    return objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
}

/** The type token the kubernetes provider gives an object of this apiVersion and kind. */
function typeToken(apiVersion: string, kind: string): string {
    return `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
}

/** Rendered objects as a capture, so that the pod runner applies them exactly as the provider wrote them. */
export function asCapture(objects: any[]): Captured {
    return new Captured(
        objects.map(
            (object): RegisteredResource => ({
                type: typeToken(object.apiVersion, object.kind),
                name: object.metadata.name,
                inputs: object,
                state: object,
                custom: true,
                secretPaths: [],
                options: DEFAULT_OPTIONS,
                urn: "",
                provider: "",
            }),
        ),
    );
}
