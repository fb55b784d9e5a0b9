#!/usr/bin/env bash
# Lets `privileged: true` containers start on a machine whose capability bounding set is
# incomplete (a sandbox without CAP_SYS_RESOURCE): registers runc-within-bounding-set as
# the Docker engine's default runtime, so the real Docker provider can create exactly the
# containers the package declares. It is part of the test machine, not of the package.
#
# Does nothing where the bounding set is complete. Idempotent; needs root (it writes
# /etc/docker/daemon.json and signals dockerd, which re-reads its runtimes on SIGHUP).
set -euo pipefail

name=runc-within-bounding-set
target=/usr/local/lib/pulumi-dind/$name
config=/etc/docker/daemon.json

last_cap="$(cat /proc/sys/kernel/cap_last_cap)"
bounding=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
full=$(((1 << (last_cap + 1)) - 1))
if [ "$bounding" -eq "$full" ]; then
    echo "==> the capability bounding set is complete: privileged containers start as they are"
    exit 0
fi

install -D -m 0755 "$(dirname "$0")/$name" "$target"
mkdir -p "$(dirname "$config")"
python3 - "$config" "$name" "$target" <<'PY'
import json, os, sys
path, name, target = sys.argv[1:]
config = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
config.setdefault("runtimes", {})[name] = {"path": target}
config["default-runtime"] = name
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
pkill -HUP -x dockerd
for _ in $(seq 1 50); do
    if [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" = "$name" ]; then
        break
    fi
    sleep 0.2
done
printf '==> note: the capability bounding set lacks %#x, so the Docker engine runs containers through %s:\n' \
    $((full & ~bounding)) "$target"
echo "    privileged containers keep their declared spec; only capabilities this machine cannot grant are dropped"
[ "$(docker info --format '{{.DefaultRuntime}}')" = "$name" ]
