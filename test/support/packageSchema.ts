/**
 * The package's schema as Pulumi's Node.js plugin host builds it for `pulumi package add`:
 * the exported components, analyzed from their TypeScript sources under the package's name.
 */
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as library from "../../components";
import { PACKAGE_NAME } from "../../components/typeTokens";

export const ROOT = path.join(__dirname, "..", "..");

/** The schema's JSON text. */
export async function packageSchema(): Promise<string> {
    return new ComponentProvider({ components: getPulumiComponents(library), dirname: ROOT, name: PACKAGE_NAME }).getSchema();
}
