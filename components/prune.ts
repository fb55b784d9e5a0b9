/**
 * Keeping /var/lib/docker under a share of its size: a loop beside the daemon that measures the
 * store as the kubelet does (the bytes under the directory), and when it is over the threshold
 * removes what docker's own prune commands call unused, oldest first, until it is under again.
 * Images that a container uses, and volumes, are never removed.
 */
import { DOCKER_DATA_DIR } from "./daemon";
import { argumentKeys, integerInRange, knownKeys } from "./validation";

/** When and how often the store is pruned. */
export interface Prune {
    /** Prune once the store holds more than this share of its size, until it holds less (percent, 1 to 99). Default 80. */
    thresholdPercent?: number;
    /** How often the store is measured, in seconds (10 to 86400). Default 60. */
    intervalSeconds?: number;
}

export type PruneSettings = Required<Prune>;

const PRUNE_DEFAULTS: PruneSettings = { thresholdPercent: 80, intervalSeconds: 60 };
const PRUNE_KEYS = argumentKeys<Prune>({ thresholdPercent: true, intervalSeconds: true });

export function validatePruneArgs(value: unknown, argument: string): PruneSettings {
    const prune = knownKeys(value as Prune, PRUNE_KEYS, argument);
    return {
        thresholdPercent: integerInRange(prune.thresholdPercent ?? PRUNE_DEFAULTS.thresholdPercent, 1, 99, `${argument}.thresholdPercent`),
        intervalSeconds: integerInRange(prune.intervalSeconds ?? PRUNE_DEFAULTS.intervalSeconds, 10, 86400, `${argument}.intervalSeconds`),
    };
}

/**
 * Ages for docker's `until` filter, oldest first; the last takes everything unused. Containers
 * go first, so the images only they held become unused in the same step.
 */
export const PRUNE_AGES = ["720h", "168h", "72h", "24h", "6h", "1h", "0s"];

/**
 * The script of the pruning container. The store's size is `PRUNE_LIMIT_BYTES` when it is set
 * (an emptyDir's sizeLimit: df shows the node's disk there), else the capacity df reports for
 * the mount (a claim's own filesystem).
 */
export const PRUNE_SCRIPT = `
data=${DOCKER_DATA_DIR}
used() { du -sxk "$data" 2>/dev/null | awk '{ print $1 * 1024 }'; }
limit=\${PRUNE_LIMIT_BYTES:-$(df -Pk "$data" | awk 'NR == 2 { print $2 * 1024 }')}
threshold=$((limit / 100 * PRUNE_THRESHOLD_PERCENT))
over() { [ "$(used)" -gt "$threshold" ]; }
report() { echo "prune: $1: $(used) of $limit bytes used, threshold $threshold"; }
trap 'exit 0' TERM INT
while :; do
    if over; then
        report "over the threshold"
        for age in ${PRUNE_AGES.join(" ")}; do
            over || break
            docker container prune --force --filter "until=$age" >/dev/null || true
            docker image prune --all --force --filter "until=$age" >/dev/null || true
            docker builder prune --all --force --filter "until=$age" >/dev/null || true
        done
        report "pruned"
    fi
    sleep "$PRUNE_INTERVAL_SECONDS" & wait $!
done`;

/** The pruning container's resources: it runs du, awk and the docker CLI a minute apart. */
export const PRUNE_RESOURCES = { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } };

/** The pruning container's command and its settings as environment. */
export function pruneCommand(settings: PruneSettings, limitBytes?: number): { command: string[]; env: Record<string, string> } {
    return {
        command: ["/bin/sh", "-c", PRUNE_SCRIPT],
        env: {
            PRUNE_THRESHOLD_PERCENT: String(settings.thresholdPercent),
            PRUNE_INTERVAL_SECONDS: String(settings.intervalSeconds),
            ...(limitBytes !== undefined ? { PRUNE_LIMIT_BYTES: String(Math.floor(limitBytes)) } : {}),
        },
    };
}
