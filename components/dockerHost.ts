/** What the Docker-provider components (LocalDind, LocalRegistry) share about the Docker host. */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { InvalidArgumentError } from "./validation";

/** Ports are published on the host's loopback only: nothing here is for other machines. */
export const LOOPBACK = "127.0.0.1";

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function dockerVolumeName(value: unknown, argument: string): string {
    if (typeof value !== "string" || !VOLUME_NAME.test(value)) {
        throw new InvalidArgumentError(argument, value, "a Docker volume name (letters, digits, '_', '.', '-', starting with a letter or digit)");
    }
    return value;
}

/**
 * A volume named after project, stack and component rather than auto-named, so
 * a volume kept by `pulumi destroy` is adopted by the next `up` of the same
 * stack instead of leaking.
 */
export function stackVolumeName(name: string, purpose: string): string {
    return `${pulumi.getProject()}-${pulumi.getStack()}-${name}-${purpose}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
}

/** Seconds as Go formats a time.Duration (`90` is "1m30s"): the provider compares healthcheck durations as strings. */
export function goDuration(seconds: number): string {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = `${minutes}m${seconds % 60}s`;
    return hours > 0 ? `${hours}h${rest}` : minutes > 0 ? rest : `${seconds}s`;
}

/** An environment as the Docker API takes it: `KEY=value` strings. */
export function toEnvs(env: Record<string, string>): string[] {
    return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/** A bridge network's args; with an MTU, Docker's driver option for it (the only way to set a user network's MTU). */
export function bridgeNetwork(mtu: number | undefined): docker.NetworkArgs {
    return { driver: "bridge", options: mtu === undefined ? undefined : { "com.docker.network.driver.mtu": String(mtu) } };
}
