#!/usr/bin/env bash
# Builds the Pulumi engine from Go modules and installs it where the CLI finds it:
#
#   pulumi                    the CLI (module github.com/pulumi/pulumi/pkg/v3, see cli/go.mod)
#   pulumi-language-nodejs    the Node.js language host (language-nodejs/, see its main.go)
#   pulumi-resource-*         the providers the package uses (providers/, see providers/build-providers.sh)
#   pulumi-dind-sdk-codegen   Pulumi's schema binder and SDK generators (sdk-codegen/, see its main.go)
#
# Everything is built into a cache outside the repository, keyed by the module versions and
# a hash of our own sources, so a second run only links what is there (seconds). Nothing is
# downloaded but Go modules through the module proxy; at run time nothing is downloaded
# either (the tier sets PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION). Idempotent; root is
# needed only to write BIN_DIR.
#
# Environment:
#   PULUMI_DIND_ENGINE_CACHE  build cache (default /var/cache/pulumi-dind/engine)
#   PULUMI_DIND_BIN_DIR       where the binaries are linked (default /usr/local/bin)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${PULUMI_DIND_ENGINE_CACHE:-/var/cache/pulumi-dind/engine}"
bin_dir="${PULUMI_DIND_BIN_DIR:-/usr/local/bin}"
mkdir -p "$cache" "$bin_dir"

# shellcheck source=../../setup-steps.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../setup-steps.sh"

if ! command -v go >/dev/null; then
    echo "error: no go on PATH: the engine is built from Go modules and needs Go 1.21 or newer" >&2
    echo "       (it fetches the toolchain that the modules ask for through the module proxy)" >&2
    exit 1
fi

# The tier runs Python programs in a virtual environment, with the Pulumi SDK from PyPI.
install_debian_packages python3-venv

# key FILE...: a short hash of the files and the Go version, naming one build.
key() {
    { go env GOVERSION; cat "$@"; } | sha256sum | cut -c1-16
}

# build NAME KEY DIR PACKAGE [LDFLAGS]: go build PACKAGE in module DIR into the cache,
# unless that build is already there; prints the binary's path.
build() {
    local name="$1" build_key="$2" dir="$3" package="$4" ldflags="${5:-}"
    local out="$cache/$name-$build_key/$name"
    if [ ! -x "$out" ]; then
        step "building $name (cold builds take minutes on 2 cores)" >&2
        (cd "$dir" && go build -ldflags "$ldflags" -o "$out.tmp" "$package") >&2
        mv "$out.tmp" "$out"
        done_step >&2
    fi
    echo "$out"
}

# The module dirs are in the repository; Go writes nothing back into them (go.sum is committed).
cli_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' "$here/cli/go.mod")"
cli="$(build pulumi "$(key "$here/cli/go.mod" "$here/cli/go.sum")" "$here/cli" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version")"

# The language host reports the @pulumi/pulumi version it runs programs with.
sdk_version="$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/pulumi"].version' \
    "$here/../../../package-lock.json")"
host="$(build pulumi-language-nodejs "$(key "$here"/language-nodejs/{go.mod,go.sum,main.go})" \
    "$here/language-nodejs" . "-X main.version=$sdk_version")"

codegen="$(build pulumi-dind-sdk-codegen "$(key "$here"/sdk-codegen/{go.mod,go.sum,main.go})" "$here/sdk-codegen" .)"

ln -sf "$cli" "$bin_dir/pulumi"
ln -sf "$host" "$bin_dir/pulumi-language-nodejs"
ln -sf "$codegen" "$bin_dir/pulumi-dind-sdk-codegen"
bash "$here/providers/build-providers.sh" "$cache" "$bin_dir"

echo "==> installed in $bin_dir:"
echo "    pulumi $("$bin_dir/pulumi" version) -> $cli"
echo "    pulumi-language-nodejs $("$bin_dir/pulumi-language-nodejs" -version) -> $host"
echo "    pulumi-dind-sdk-codegen -> $codegen"
for provider in "$bin_dir"/pulumi-resource-*; do
    [ -e "$provider" ] && echo "    $(basename "$provider") -> $(readlink -f "$provider")"
done
