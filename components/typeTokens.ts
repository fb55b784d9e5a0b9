/**
 * The components' type tokens. Pulumi names a component package after its package.json
 * (`pulumi-dind`), and a program in another language asks for `pulumi-dind:index:<Component>`;
 * TypeScript programs register the same token, so both kinds of stack hold the same URNs.
 */
import * as pulumi from "@pulumi/pulumi";

/** The package's name in every type token and in the SDKs generated from its schema. */
export const PACKAGE_NAME = "pulumi-dind";

/** The token of a component of this package, e.g. `pulumi-dind:index:LocalDind`. */
export function componentType(component: string): string {
    return `${PACKAGE_NAME}:index:${component}`;
}

/**
 * Options that let a stack deployed before the package had its schema keep its resources:
 * their URNs hold the former token `dind:index:<Component>`, and an alias maps them (and,
 * through their parent, every child) onto the new one instead of replacing them.
 */
export function withFormerType(component: string, opts: pulumi.ComponentResourceOptions | undefined): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts?.aliases ?? []), { type: `dind:index:${component}` }] };
}
