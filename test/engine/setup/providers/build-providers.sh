#!/usr/bin/env bash
# Builds our own pulumi-resource-docker and pulumi-resource-random from Go modules (see ./docker
# and ./random) and installs them into BIN_DIR, so that a real `pulumi up` can run offline.
#
# Usage: build-providers.sh CACHE_DIR BIN_DIR
#
# Each provider is built once per cache key into CACHE_DIR/<name>-<key>/pulumi-resource-<name>;
# the key covers the Go toolchain, the build recipe below and every file of the provider's
# directory (go.mod/go.sum pin every module version), so a rerun only installs.
# Modules come only from the Go module proxy, by name and version (go.sum checks them).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 CACHE_DIR BIN_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" "$2"
cache_dir=$(cd "$1" && pwd)
bin_dir=$(cd "$2" && pwd)

# Never fall back from the proxy to fetching sources from version control.
proxy=$(go env GOPROXY)
proxy=${proxy//,direct/}
proxy=${proxy//|direct/}
[[ "$proxy" != direct ]] || proxy=off
export GOPROXY=$proxy GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0

# Changing this string rebuilds everything.
recipe="v1 go build -trimpath -ldflags=-s -w; tfgen schema --skip-docs --skip-examples"

cache_key() { # DIR
    {
        go env GOVERSION GOOS GOARCH
        echo "$recipe"
        (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -c1-16
}

# "path version" of a required module as go.mod pins it, after its replacement if any.
module_version() { # DIR MODULE
    awk -v m="$2" '$1 == m && $2 != "=>" { v = $1 " " $2 } $1 == m && $2 == "=>" { v = $3 " " $4 } END { print v }' "$1/go.mod"
}

work=
trap 'rm -rf "$work"' EXIT

build() { # NAME OUT_DIR
    local name=$1 out=$2
    work=$(mktemp -d "$cache_dir/.work-$name.XXXXXX")
    cp -R "$here/$name/." "$work/src"
    (
        cd "$work/src"
        # First the schema generator, from the same mapping; the runtime provider embeds its output.
        go build -trimpath -ldflags="-s -w" -o "$work/tfgen" ./tfgen
        "$work/tfgen" schema --out "$work/gen" --skip-docs --skip-examples >"$work/tfgen.log" ||
            { cat "$work/tfgen.log" >&2; exit 1; }
        cp "$work/gen/schema.json" schema.json
        go build -trimpath -ldflags="-s -w" -o "$work/out/pulumi-resource-$name" .
    )
    cp "$work/gen/schema.json" "$work/out/schema.json"
    # Publish atomically; a concurrent run that finished first wins.
    mv -T "$work/out" "$out" 2>/dev/null || [[ -x "$out/pulumi-resource-$name" ]]
    rm -rf "$work"
}

for name in docker random; do
    key=$(cache_key "$here/$name")
    out=$cache_dir/$name-$key
    bin=$out/pulumi-resource-$name
    if [[ ! -x "$bin" ]]; then
        echo "building pulumi-resource-$name into $out (takes minutes when the Go build cache is cold)..." >&2
        start=$SECONDS
        build "$name" "$out"
        echo "built pulumi-resource-$name in $((SECONDS - start))s" >&2
    fi
    target=$bin_dir/pulumi-resource-$name
    if ! cmp -s "$bin" "$target"; then
        cp "$bin" "$target.tmp.$$"
        mv -f "$target.tmp.$$" "$target"
    fi
    upstream=$(awk '$1 ~ /^github.com\/terraform-providers\/terraform-provider-/ { print $1; exit }' "$here/$name/go.mod")
    echo "installed pulumi-resource-$name $("$target" -version) at $target" \
        "(from $(module_version "$here/$name" "$upstream")," \
        "$(module_version "$here/$name" github.com/pulumi/pulumi-terraform-bridge/v3);" \
        "cached in $out)"
done
