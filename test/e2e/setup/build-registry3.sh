#!/usr/bin/env bash
# Builds registry 3 from its Go module and the end-to-end tier's image of it (build-images.sh
# runs this last; it can also run on its own once build-images.sh has built the registry image):
#
#   pulumi-dind-e2e/registry3:latest  distribution v3 (the version registry3/go.mod pins), laid
#                                     out like registry:3: /bin/registry, /entrypoint.sh and
#                                     /etc/distribution/config.yml, on pulumi-dind-e2e/registry's
#                                     rootfs (sh, curl for the components' healthcheck), with
#                                     Debian's 2.8 binary removed. Debian has no registry 3; this
#                                     is what proxy.ttl (the components' cacheTtl) is tested with.
#
# The binary is `go build github.com/distribution/distribution/v3/cmd/registry` in the module
# dir registry3/ (its go.sum is committed; nothing is written back to it), through the module
# proxy only, cached outside the repository under a key of go.mod, go.sum, the Go version and
# the build flags: a second run only checks (seconds; a cold build takes about 2 minutes on
# 2 cores). The image carries a label with a hash of this script, the binary and the base
# image; an image whose label matches is not rebuilt.
#
# Environment:
#   E2E_IMAGE_CACHE   cache directory (default /var/cache/pulumi-dind-e2e)
#   E2E_GOPROXY       Go module proxy (default `go env GOPROXY` without its direct fallback)
#   E2E_FORCE=1       rebuild the image even when the label matches
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/registry3"
cache="${E2E_IMAGE_CACHE:-/var/cache/pulumi-dind-e2e}"
img_base=pulumi-dind-e2e/registry:latest
img_registry3=pulumi-dind-e2e/registry3:latest
label_key=dev.pulumi-dind.e2e.recipe

# shellcheck source=../../setup-steps.sh
. "$here/../../setup-steps.sh"

if ! command -v go >/dev/null; then
    echo "error: no go on PATH: registry 3 is built from its Go module and needs Go 1.26 or newer" >&2
    exit 1
fi

# The module proxy and go.sum only: no VCS fallback, no go.mod/go.sum updates, and the Go on
# PATH (distribution v3.1.2 asks for go 1.26.0; GOTOOLCHAIN=local fails instead of fetching).
export GOPROXY="${E2E_GOPROXY:-$(module_proxy_only)}" GOFLAGS=-mod=readonly GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
package=github.com/distribution/distribution/v3/cmd/registry
version="$(cd "$module" && go list -m -f '{{.Version}}' github.com/distribution/distribution/v3)"
# -X version.version: what `registry --version` and the start-up log line say, as in the official build.
ldflags="-s -w -X github.com/distribution/distribution/v3/version.version=$version"
build_key="$(
    { go env GOVERSION GOOS GOARCH; echo "$package $ldflags -trimpath"; cat "$module/go.mod" "$module/go.sum"; } |
        sha256sum | cut -c1-16
)"
binary="$cache/registry3/registry-$version-$(go env GOVERSION)-$build_key"

mkdir -p "$cache/registry3"
if [ -x "$binary" ]; then
    echo "==> reusing $binary"
else
    step "go build registry $version ($(go env GOVERSION))"
    (cd "$module" && go build -trimpath -ldflags "$ldflags" -o "$binary.tmp" "$package")
    mv "$binary.tmp" "$binary"
    # Binaries of other keys are dead weight.
    find "$cache/registry3" -maxdepth 1 -type f -name 'registry-*' ! -path "$binary" -delete
    done_step
fi

base_id="$(docker image inspect -f '{{.Id}}' "$img_base" 2>/dev/null)" || {
    echo "error: $img_base is missing: run test/e2e/setup/build-images.sh" >&2
    exit 1
}
recipe="$(
    { cat "${BASH_SOURCE[0]}"; sha256sum <"$binary"; echo "$base_id"; } | sha256sum | cut -c1-16
)"

if [ "${E2E_FORCE:-}" != 1 ] &&
    [ "$(docker image inspect -f "{{index .Config.Labels \"$label_key\"}}" "$img_registry3" 2>/dev/null)" = "$recipe" ]; then
    echo "==> $img_registry3 is up to date (registry $version)"
    exit 0
fi

step "docker build $img_registry3"
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/registry"
# The base's entrypoint runs `registry serve CONFIG` through PATH; with its /usr/local/bin link
# to Debian's 2.8 binary gone, that is /bin/registry (/bin is /usr/bin in trixie's rootfs).
cat >"$work/Dockerfile" <<DOCKERFILE
FROM $base_id
COPY registry /bin/registry
RUN rm -f /usr/local/bin/registry /usr/bin/docker-registry && [ "\$(command -v registry)" = /usr/bin/registry ] && registry --version
LABEL $label_key=$recipe
DOCKERFILE
old="$(docker image inspect -f '{{.Id}}' "$img_registry3" 2>/dev/null || true)"
# Quiet unless it fails (the legacy builder's deprecation notice is noise here).
if ! out="$(docker build -q -t "$img_registry3" "$work" 2>&1)"; then
    echo "$out" >&2
    exit 1
fi
new="$(docker image inspect -f '{{.Id}}' "$img_registry3")"
if [ -n "$old" ] && [ "$old" != "$new" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "    $img_registry3: $(docker run --rm --entrypoint registry "$img_registry3" --version)"
done_step
