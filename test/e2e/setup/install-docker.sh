#!/usr/bin/env bash
# Installs and starts the Docker engine the end-to-end tier drives, from Debian packages.
#
# Idempotent: packages already installed are not reinstalled, apt-get update only runs when
# something is missing, and a daemon that already answers is left alone. CI machines start
# with nothing running (no systemd service survives into the job), so dockerd is started here
# in the background and polled until it answers.
#
# Environment:
#   E2E_DOCKERD_LOG       dockerd's log file (default /tmp/pulumi-dind-e2e-dockerd.log)
#   E2E_DOCKERD_TIMEOUT   seconds to wait for `docker version` to answer (default 60)
set -euo pipefail

log_file="${E2E_DOCKERD_LOG:-/tmp/pulumi-dind-e2e-dockerd.log}"
timeout="${E2E_DOCKERD_TIMEOUT:-60}"

sudo=()
if [ "$(id -u)" != 0 ]; then
    sudo=(sudo)
fi

# shellcheck source=../../setup-steps.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../setup-steps.sh"

# docker.io brings dockerd, containerd, runc and docker-init; mmdebstrap builds the test images
# (build-images.sh); openssl makes the tests' private CA.
install_debian_packages docker.io mmdebstrap iptables ca-certificates openssl

if docker version >/dev/null 2>&1; then
    echo "==> docker engine already answers: $(docker version --format '{{.Server.Version}}')"
    exit 0
fi

case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
    unix:///var/run/docker.sock) ;;
    *)
        echo "error: DOCKER_HOST=$DOCKER_HOST does not answer, and this script only starts a local dockerd" >&2
        exit 1
        ;;
esac

step "starting dockerd (log: $log_file)"
# A daemon that died uncleanly leaves its pid file behind, and dockerd refuses to start while
# it names a live process; only remove it when that process is gone.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        "${sudo[@]}" rm -f "$pidfile"
    fi
done
dockerd_pid=
if ! pgrep -x dockerd >/dev/null; then
    # setsid: the daemon must outlive this script and must not get the CI step's signals.
    "${sudo[@]}" setsid dockerd >"$log_file" 2>&1 </dev/null &
    dockerd_pid=$!
fi

deadline=$((SECONDS + timeout))
until docker version >/dev/null 2>&1; do
    if [ -n "$dockerd_pid" ] && ! kill -0 "$dockerd_pid" 2>/dev/null; then
        echo "error: dockerd exited before answering \`docker version\`; last lines of $log_file:" >&2
        tail -n 40 "$log_file" >&2 || true
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "error: dockerd did not answer \`docker version\` within ${timeout} s; last lines of $log_file:" >&2
        tail -n 40 "$log_file" >&2 || true
        exit 1
    fi
    sleep 0.5
done
done_step
echo "==> docker engine answers: $(docker version --format '{{.Server.Version}}')"
