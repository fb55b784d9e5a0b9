import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { capture, isSecret, registeredOutputKeys } from "./harness";
import { ROOT, packageSchema } from "./support/packageSchema";
import * as library from "../components";
import { CONTAINER_RUNTIMES, DIND_DEPLOYMENT_ARG_KEYS, ISOLATIONS, WORKLOADS } from "../components/dindDeployment";
import { TRANSPORTS } from "../components/daemon";
import { LOCAL_DIND_ARG_KEYS } from "../components/localDind";
import { LOCAL_REGISTRY_ARG_KEYS } from "../components/localRegistry";
import { REGISTRY_MODES } from "../components/registrySettings";
import { REGISTRY_SERVICE_TYPES, SELF_HOSTED_REGISTRY_ARG_KEYS } from "../components/selfHostedRegistry";
import { PACKAGE_NAME, componentType } from "../components/typeTokens";

interface Property {
    type?: string;
    $ref?: string;
    plain?: boolean;
    description?: string;
    items?: Property;
    additionalProperties?: Property;
}
interface Schema {
    name: string;
    version: string;
    resources: Record<string, { isComponent: boolean; description?: string; inputProperties: Record<string, Property>; properties: Record<string, Property> }>;
    types: Record<string, { type: string; enum?: { name: string; value: string }[]; properties?: Record<string, Property> }>;
}

/** Each component with the key list its validator accepts and one way to build it with its defaults. */
const COMPONENTS = {
    DindDeployment: { argKeys: DIND_DEPLOYMENT_ARG_KEYS, build: () => new library.DindDeployment("d") },
    LocalDind: { argKeys: LOCAL_DIND_ARG_KEYS, build: () => new library.LocalDind("d") },
    SelfHostedRegistry: { argKeys: SELF_HOSTED_REGISTRY_ARG_KEYS, build: () => new library.SelfHostedRegistry("r", { mode: "private", users: [{ username: "ci" }] }) },
    LocalRegistry: { argKeys: LOCAL_REGISTRY_ARG_KEYS, build: () => new library.LocalRegistry("r", { mode: "private", users: [{ username: "ci" }] }) },
};

/** Each enum of the schema with the values the validators accept. */
const ENUMS: Record<string, readonly string[]> = {
    Workload: WORKLOADS,
    Transport: TRANSPORTS,
    Isolation: ISOLATIONS,
    ContainerRuntime: CONTAINER_RUNTIMES,
    RegistryMode: REGISTRY_MODES,
    RegistryServiceType: REGISTRY_SERVICE_TYPES,
};

/** Outputs that carry a private key or a password: the schema cannot mark them, so they are secrets at run time. */
const SECRET_OUTPUTS: Record<string, string[]> = {
    LocalDind: ["clientKeyPem"],
    LocalRegistry: ["userPasswords"],
    SelfHostedRegistry: ["userPasswords"],
};

/** A component built under the mocks, once all it registers has settled. */
async function built(build: () => pulumi.ComponentResource): Promise<pulumi.ComponentResource> {
    let instance!: pulumi.ComponentResource;
    await capture(() => {
        instance = build();
    });
    return instance;
}

function typeName(token: string): string {
    return token.split(":")[2];
}

function refsOf(property: Property): string[] {
    return [property.$ref, ...(property.items ? refsOf(property.items) : []), ...(property.additionalProperties ? refsOf(property.additionalProperties) : [])].filter(
        (ref): ref is string => ref !== undefined,
    );
}

describe("the package's schema, as `pulumi package add` infers it for other languages", function () {
    // The analyzer type-checks the whole library once.
    this.timeout(300_000);
    let schema: Schema;

    before(async () => {
        schema = JSON.parse(await packageSchema());
    });

    it("is named as the plugin host names it, from package.json, and the components register that token", () => {
        const packageJson = require("../package.json");
        assert.equal(schema.name, packageJson.name.replace(/^@[^/]+\//, ""));
        assert.equal(schema.version, packageJson.version);
        assert.deepEqual(Object.keys(schema.resources).sort(), Object.keys(COMPONENTS).map(componentType).sort());
    });

    for (const [component, { argKeys, build }] of Object.entries(COMPONENTS)) {
        describe(component, () => {
            const resource = () => schema.resources[componentType(component)];

            it("is a component with a description", () => {
                assert.equal(resource().isComponent, true);
                assert.ok(resource().description, `${component} has a description`);
            });

            it("takes exactly the arguments its validator accepts, each described", () => {
                assert.deepEqual(Object.keys(resource().inputProperties).sort(), [...argKeys].sort());
                for (const [key, property] of Object.entries(resource().inputProperties)) {
                    assert.ok(property.description, `${component} argument ${key} has a description`);
                }
            });

            it("has exactly the outputs the component registers, each described, and nothing else of the class", async () => {
                const registered = registeredOutputKeys(await built(build));
                assert.deepEqual(Object.keys(resource().properties).sort(), [...registered].sort());
                for (const [key, property] of Object.entries(resource().properties)) {
                    assert.ok(property.description, `${component} output ${key} has a description`);
                }
            });

            it("keeps the resources of a stack deployed under its former token, dind:index:" + component, async () => {
                const captured = await capture(build);
                const [registered] = captured.ofType(componentType(component));
                assert.deepEqual(registered.options.aliasTypes, [`dind:index:${component}`]);
            });

            it("keeps its private keys and passwords secret at run time", async () => {
                const instance = await built(build);
                for (const output of SECRET_OUTPUTS[component] ?? []) {
                    assert.ok(output in resource().properties, `${output} is an output of ${component}`);
                    assert.equal(await isSecret((instance as unknown as Record<string, pulumi.Output<unknown>>)[output]), true, `${component}.${output} is a secret`);
                }
                for (const key of Object.keys(resource().properties)) {
                    if (/key|password|token/i.test(key) && !(SECRET_OUTPUTS[component] ?? []).includes(key)) {
                        assert.fail(`${component}.${key} looks like a secret but is not listed as one`);
                    }
                }
            });
        });
    }

    it("has each enum with exactly the values the validators accept, each named and described", () => {
        const enums = Object.entries(schema.types).filter(([, type]) => type.enum);
        assert.deepEqual(enums.map(([token]) => typeName(token)).sort(), Object.keys(ENUMS).sort());
        for (const [token, type] of enums) {
            assert.deepEqual(type.enum!.map((member) => member.value).sort(), [...ENUMS[typeName(token)]].sort(), `${token}'s values`);
            for (const member of type.enum!) {
                assert.match(member.name, /^[A-Z][A-Za-z]*$/, `${token} member ${member.value} has a name every language can use`);
                assert.ok((member as { description?: string }).description, `${token} member ${member.value} is described`);
            }
        }
    });

    it("describes every property of every object type, and every reference resolves", () => {
        const refs: string[] = [];
        for (const [token, type] of Object.entries(schema.types)) {
            for (const [key, property] of Object.entries(type.properties ?? {})) {
                assert.ok(property.description, `${token}.${key} has a description`);
                refs.push(...refsOf(property));
            }
        }
        for (const resource of Object.values(schema.resources)) {
            for (const property of [...Object.values(resource.inputProperties), ...Object.values(resource.properties)]) {
                refs.push(...refsOf(property));
            }
        }
        for (const ref of refs) {
            const local = ref.match(/^#\/types\/(.+)$/);
            assert.ok(local || ref.startsWith("pulumi.json#/"), `${ref} points inside the schema or at Pulumi's own types`);
            if (local) {
                assert.ok(schema.types[local[1]], `${ref} is defined`);
            }
        }
    });

    it("takes a registry from any language as an object of its host, mode, CA and network", () => {
        const wiring = schema.types[`${PACKAGE_NAME}:index:RegistryWiring`];
        assert.deepEqual(Object.keys(wiring.properties!).sort(), ["caCertPem", "mode", "networkName", "registryHost"]);
        assert.equal(wiring.properties!.mode.$ref, `#/types/${PACKAGE_NAME}:index:RegistryMode`);
        for (const component of ["DindDeployment", "LocalDind"]) {
            assert.equal(schema.resources[componentType(component)].inputProperties.registry.$ref, `#/types/${PACKAGE_NAME}:index:RegistryWiring`);
        }
    });

    describe("the YAML example (examples/yaml/Pulumi.yaml)", () => {
        const program = yaml.load(fs.readFileSync(path.join(ROOT, "examples", "yaml", "Pulumi.yaml"), "utf8")) as {
            resources: Record<string, { type: string; properties: Record<string, unknown> }>;
            outputs: Record<string, string>;
        };

        /** Problems of a value against a schema property: unknown keys, enum values no enum has, references to no output. */
        function problems(value: unknown, property: Property, at: string): string[] {
            const reference = typeof value === "string" && value.match(/^\$\{(\w+)\.(\w+)\}$/);
            if (reference) {
                const resource = program.resources[reference[1]];
                const outputs = resource && schema.resources[resource.type]?.properties;
                const found = outputs?.[reference[2]] ? [] : [`${at}: ${value} is no output`];
                return property.plain ? [...found, `${at} is plain: it takes no output of another resource`] : found;
            }
            const type = property.$ref && schema.types[property.$ref.replace("#/types/", "")];
            if (type && type.enum) {
                return type.enum.some((member) => member.value === value) ? [] : [`${at}: ${JSON.stringify(value)} is not a ${property.$ref}`];
            }
            if (type && type.properties && typeof value === "object" && value !== null) {
                return Object.entries(value).flatMap(([key, child]) =>
                    type.properties![key] ? problems(child, type.properties![key], `${at}.${key}`) : [`${at}.${key} is no property of ${property.$ref}`],
                );
            }
            return [];
        }

        it("declares only the package's components, with their arguments and values, and exports their outputs", () => {
            const found = Object.entries(program.resources).flatMap(([name, resource]) => {
                const component = schema.resources[resource.type];
                if (!component) {
                    return [`${name}: ${resource.type} is no component of the package`];
                }
                return Object.entries(resource.properties).flatMap(([key, value]) =>
                    component.inputProperties[key] ? problems(value, component.inputProperties[key], `${name}.${key}`) : [`${name}.${key} is no argument of ${resource.type}`],
                );
            });
            const outputs = Object.entries(program.outputs).flatMap(([key, value]) => problems(value, {}, `outputs.${key}`));
            assert.deepEqual([...found, ...outputs], []);
            assert.deepEqual(Object.values(program.resources).map((r) => r.type), [componentType("LocalRegistry"), componentType("LocalDind")]);
        });

        it("would be told about a misspelt argument or enum value", () => {
            const builds = program.resources.builds;
            const component = schema.resources[builds.type];
            assert.notDeepEqual(problems("tsl", component.inputProperties.transport, "builds.transport"), []);
            assert.notDeepEqual(problems({ ...(builds.properties.registry as object), registryHots: "x" }, component.inputProperties.registry, "builds.registry"), []);
            assert.notDeepEqual(problems("${mirror.caCert}", component.inputProperties.registry, "builds.registry"), []);
        });
    });

    it("shows the Python and YAML examples in the README as they are tested", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const example of ["python/__main__.py", "yaml/Pulumi.yaml"]) {
            assert.ok(readme.includes(fs.readFileSync(path.join(ROOT, "examples", example), "utf8")), `README has examples/${example} verbatim`);
        }
    });
});
