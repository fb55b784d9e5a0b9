/**
 * The one mock harness: Pulumi's mocks record every resource a program or
 * component registers, and hand back real values where a test needs them
 * (PEMs from openssl for @pulumi/tls, bcrypt hashes for @pulumi/random).
 *
 * Import this module before any component: setMocks must run before
 * @pulumi/pulumi sees a resource.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { mockTlsResource } from "./mocks/tls";
import { mockRandomResource } from "./mocks/random";

export interface RegisteredResource {
    type: string;
    name: string;
    /** Inputs as the provider would receive them, secrets unwrapped (see secretPaths). */
    inputs: any;
    /** What the mock returned, inputs merged with computed outputs. */
    state: any;
    custom: boolean;
    /** Dotted paths of inputs that were sent as secrets. */
    secretPaths: string[];
    /** Resource options the engine would act on. */
    options: {
        retainOnDelete: boolean;
        protect: boolean;
        deleteBeforeReplace: boolean;
        replaceOnChanges: string[];
        additionalSecretOutputs: string[];
        dependsOn: string[];
        /** The types of the aliases it is registered with: the former types its URN may hold in a stack. */
        aliasTypes: string[];
    };
    /** The URN the engine gives it, which carries its parent's type. */
    urn: string;
    /** The provider it is created with, as `urn::id`; empty for the default provider. */
    provider: string;
}

/** The resource options of a resource registered without any. */
export const DEFAULT_OPTIONS: RegisteredResource["options"] = {
    retainOnDelete: false,
    protect: false,
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    additionalSecretOutputs: [],
    dependsOn: [],
    aliasTypes: [],
};

const registered: RegisteredResource[] = [];

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function findSecretPaths(value: any, path: string[] = []): string[] {
    if (value === null || typeof value !== "object") {
        return [];
    }
    if (value[SECRET_SIG] === SECRET_VALUE) {
        return [path.join(".")];
    }
    return Object.entries(value).flatMap(([key, child]) => findSecretPaths(child, [...path, key]));
}

function computedState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const tlsState = mockTlsResource(args);
    if (tlsState) {
        return tlsState;
    }
    const randomState = mockRandomResource(args);
    if (randomState) {
        return randomState;
    }
    if (args.type.startsWith("kubernetes:") && args.type !== "pulumi:providers:kubernetes") {
        // The provider auto-names objects without a metadata.name.
        const metadata = { ...(args.inputs.metadata ?? {}) };
        metadata.name = metadata.name ?? `${args.name}-mock`;
        return { metadata };
    }
    if (args.type.startsWith("docker:")) {
        const imageId = `sha256:${crypto.createHash("sha256").update(String(args.inputs.name ?? args.name)).digest("hex")}`;
        return { name: args.inputs.name ?? `${args.name}-mock`, imageId };
    }
    return {};
}

function unwrapSecrets(value: any): any {
    if (value === null || typeof value !== "object") {
        return value;
    }
    if (value[SECRET_SIG] === SECRET_VALUE) {
        return unwrapSecrets(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, unwrapSecrets(child)]));
}

pulumi.runtime.setMocks(
    {
        newResource(args) {
            const inputs = unwrapSecrets(args.inputs);
            let computed: Record<string, any>;
            try {
                computed = computedState({ ...args, inputs });
            } catch (error) {
                // A failed mock leaves its dependants waiting for ever; say why before the test times out.
                console.error(`mock for ${args.type} ${args.name} failed:`, error);
                throw error;
            }
            const state = { ...inputs, ...computed };
            registered.push({
                type: args.type,
                name: args.name,
                inputs,
                state,
                custom: args.custom ?? false,
                secretPaths: findSecretPaths(args.inputs),
                ...(requests.get(`${args.type}::${args.name}`) ?? { options: DEFAULT_OPTIONS, urn: "", provider: "" }),
            });
            return { id: args.custom ? `${args.name}-id` : undefined, state };
        },
        call(args) {
            return args.inputs;
        },
    },
    "dind",
    "test",
    false,
);

const settings = require("@pulumi/pulumi/runtime/settings");

// newResource sees neither resource options nor the parent; read them off the request on its way to the mocks.
const requests = new Map<string, Pick<RegisteredResource, "options" | "urn" | "provider">>();
const monitor = settings.getMonitor();
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (request: any, callback: unknown) => {
    requests.set(`${request.getType()}::${request.getName()}`, {
        options: {
            retainOnDelete: request.getRetainondelete() ?? false,
            protect: request.getProtect() ?? false,
            deleteBeforeReplace: request.getDeletebeforereplace() ?? false,
            replaceOnChanges: request.getReplaceonchangesList(),
            additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
            dependsOn: request.getDependenciesList(),
            aliasTypes: request
                .getAliasesList()
                .map((alias: any) => alias.getSpec()?.getType())
                .filter((type: string | undefined): type is string => Boolean(type)),
        },
        urn: monitor.newUrn(request.getParent(), request.getType(), request.getName()),
        provider: request.getProvider() ?? "",
    });
    return registerResource(request, callback);
};

// A component declares its outputs in registerOutputs, whose undefined values never reach the engine: record the keys given.
const outputKeysByUrn = new Map<pulumi.Output<string>, string[]>();
const registerOutputs = pulumi.ComponentResource.prototype["registerOutputs"];
pulumi.ComponentResource.prototype["registerOutputs"] = function (this: pulumi.ComponentResource, outputs?: pulumi.Inputs) {
    // The SDK calls it once more, without outputs, after the constructor; that call registers nothing.
    if (outputs !== undefined) {
        outputKeysByUrn.set(this.urn, Object.keys(outputs));
    }
    return registerOutputs.call(this, outputs);
};

/** The names of the outputs a component registered, as the engine and other languages' SDKs see them. */
export function registeredOutputKeys(component: pulumi.ComponentResource): string[] {
    const keys = outputKeysByUrn.get(component.urn);
    if (keys === undefined) {
        throw new Error("the component registered no outputs");
    }
    return keys;
}

/** Waits until every registration the program started, including those inside applies, has finished. */
export async function settle(): Promise<void> {
    await settings.waitForRPCs();
}

/** What one program or component run registered. */
export class Captured {
    constructor(readonly resources: RegisteredResource[]) {}

    /** Every resource of a type token, such as `kubernetes:apps/v1:Deployment`. */
    ofType(type: string): RegisteredResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource with this type and logical name; fails the test when absent. */
    get(type: string, name: string): RegisteredResource {
        const found = this.resources.find((r) => r.type === type && r.name === name);
        if (!found) {
            const names = this.ofType(type).map((r) => r.name);
            throw new Error(`no ${type} named ${name}; registered of that type: ${names.join(", ") || "none"}`);
        }
        return found;
    }

    /** The one resource of a type; fails when there is none or several. */
    only(type: string): RegisteredResource {
        const found = this.ofType(type);
        if (found.length !== 1) {
            throw new Error(`expected one ${type}, found ${found.length}`);
        }
        return found[0];
    }

    /** Kubernetes objects as manifests: apiVersion, kind and the inputs the provider would apply. */
    kubernetesManifests(): any[] {
        return this.resources
            .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"))
            .map((r) => ({ apiVersion: r.inputs.apiVersion, kind: r.inputs.kind, ...r.inputs }));
    }
}

/**
 * Runs `build` (which creates components or imports a program) and returns what
 * it registered. A build that throws registers nothing of its own: the error is
 * rethrown after the recording is checked by the caller through `captureFailure`.
 */
export async function capture(build: () => unknown): Promise<Captured> {
    registered.length = 0;
    requests.clear();
    await build();
    await settle();
    return new Captured([...registered]);
}

/** Runs a build that must fail; returns its error and how many resources it registered first. */
export async function captureFailure(build: () => unknown): Promise<{ error: Error; registered: number }> {
    registered.length = 0;
    try {
        await build();
    } catch (error) {
        await settle();
        return { error: error as Error, registered: registered.length };
    }
    throw new Error("expected the build to fail, but it succeeded");
}

/** Whether the input at a dotted path reached the engine as a secret (itself or inside a secret object). */
export function sentAsSecret(resource: RegisteredResource, path: string): boolean {
    return resource.secretPaths.some((secret) => path === secret || path.startsWith(`${secret}.`));
}

/** The parent chain a URN carries, e.g. `pulumi-dind:index:DindDeployment$kubernetes:core/v1:Namespace`. */
export function urnTypeChain(urn: string): string[] {
    return urn.split("::")[2]?.split("$") ?? [];
}

/** Resolves an Output's value (in tests only). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(output);
}
