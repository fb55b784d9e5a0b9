/** The stack the real-engine tier deploys on the Docker target. */
import { testImages } from "../../e2e/support/engine";

/** A Pulumi.<stack>.yaml: a daemon on a unix socket in `socketDirectory`, with the tier's local images. */
export function unixStackFile(socketDirectory: string, extra: Record<string, unknown> = {}): string {
    const config = {
        "dind:target": "docker",
        "dind:transport": "unix",
        "dind:socketDirectory": socketDirectory,
        "dind:dindImage": testImages.dind,
        "dind:cliImage": testImages.dind,
        ...extra,
    };
    return `config:\n${Object.entries(config)
        .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`)
        .join("\n")}\n`;
}
