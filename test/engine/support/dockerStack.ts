/** The stack the real-engine tier deploys on the Docker target. */
import { testImages } from "../../e2e/support/engine";
import { stackFile } from "./pulumiCli";

/**
 * A Pulumi.<stack>.yaml: a daemon on a unix socket in `socketDirectory`, with the tier's local
 * images; the client's only with a script, since the program refuses an image nothing runs.
 */
export function unixStackFile(socketDirectory: string, extra: Record<string, unknown> = {}): string {
    const config = {
        "dind:target": "docker",
        "dind:transport": "unix",
        "dind:socketDirectory": socketDirectory,
        "dind:dindImage": testImages.dind,
        ...("dind:script" in extra ? { "dind:cliImage": testImages.dind } : {}),
        ...extra,
    };
    return stackFile(config);
}
