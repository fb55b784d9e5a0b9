#!/usr/bin/env bash
# Builds test/e2e/setup/pod-security (Kubernetes' Pod Security library behind a small command)
# from its Go module, through the module proxy only, into the cache outside the repository under
# a key of go.mod, go.sum, main.go and the Go version; a second run only checks. It writes the
# binary's path to $E2E_IMAGE_CACHE/pod-security.path, where test/e2e/support/podSecurity.ts
# finds it. build-images.sh runs it.
#
# Environment:
#   E2E_IMAGE_CACHE   cache directory (default /var/cache/pulumi-dind-e2e)
#   E2E_GOPROXY       Go module proxy (default `go env GOPROXY` without its direct fallback)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/pod-security"
cache="${E2E_IMAGE_CACHE:-/var/cache/pulumi-dind-e2e}"

# shellcheck source=../../setup-steps.sh
. "$here/../../setup-steps.sh"

if ! command -v go >/dev/null; then
    echo "error: no go on PATH: the Pod Security checker is built from its Go module" >&2
    exit 1
fi
export GOPROXY="${E2E_GOPROXY:-$(module_proxy_only)}" GOFLAGS=-mod=readonly GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
build_key="$({ go env GOVERSION GOOS GOARCH; cat "$module/go.mod" "$module/go.sum" "$module/main.go"; } | sha256sum | cut -c1-16)"
binary="$cache/pod-security/pod-security-$build_key"

mkdir -p "$cache/pod-security"
if [ -x "$binary" ]; then
    echo "==> reusing $binary"
else
    step "go build the Pod Security checker (k8s.io/pod-security-admission $(cd "$module" && go list -m -f '{{.Version}}' k8s.io/pod-security-admission))"
    (cd "$module" && go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .)
    mv "$binary.tmp" "$binary"
    find "$cache/pod-security" -maxdepth 1 -type f -name 'pod-security-*' ! -path "$binary" -delete
    done_step
fi
echo "$binary" >"$cache/pod-security.path"
