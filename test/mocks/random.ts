/**
 * @pulumi/random under mocks: a password derived from the resource name, and a
 * real bcrypt hash of it, so tests can check that an htpasswd entry matches.
 */
import * as bcrypt from "bcryptjs";
import type * as pulumi from "@pulumi/pulumi";

export function mockRandomResource(args: pulumi.runtime.MockResourceArgs): Record<string, any> | undefined {
    if (args.type !== "random:index/randomPassword:RandomPassword") {
        return undefined;
    }
    const result = `pw-${args.name}-${"x".repeat(Math.max(0, (args.inputs.length ?? 16) - args.name.length - 3))}`;
    return { result, bcryptHash: bcrypt.hashSync(result, 4) };
}
