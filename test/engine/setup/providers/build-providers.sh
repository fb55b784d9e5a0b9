#!/usr/bin/env bash
# Builds our own pulumi-resource-docker, pulumi-resource-random and pulumi-resource-kubernetes
# from Go modules (see ./docker, ./random and ./kubernetes) and installs them into BIN_DIR, so
# that a real `pulumi up` can run offline.
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

# shellcheck source=../../../setup-steps.sh
. "$here/../../../setup-steps.sh"
# Never fall back from the proxy to fetching sources from version control.
export GOPROXY="$(module_proxy_only)" GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0

# Changing this string rebuilds everything.
recipe="v2 go build -trimpath -ldflags=-s -w; tfgen schema --skip-docs --skip-examples; kubernetes embeds"

cache_key() { # DIR
    {
        go env GOVERSION GOOS GOARCH
        echo "$recipe"
        (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -c1-16
}

# "path version" of a required module as go.mod pins it, after its replacement if any.
module_version() { # DIR MODULE
    awk -v m="$2" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 != "=>" { v = $1 " " $2 } $1 == m && $2 == "=>" { v = $3 " " $4 } END { print v }' "$1/go.mod"
}

work=
trap 'rm -rf "$work"' EXIT

# A bridged Terraform provider: first the schema generator, from the same mapping; the runtime
# provider embeds its output.
build_bridged() { # WORK_DIR
    go build -trimpath -ldflags="-s -w" -o "$1/tfgen" ./tfgen
    "$1/tfgen" schema --out "$1/gen" --skip-docs --skip-examples >"$1/tfgen.log" ||
        { cat "$1/tfgen.log" >&2; exit 1; }
    cp "$1/gen/schema.json" schema.json
    cp "$1/gen/schema.json" "$1/out/schema.json"
    go build -trimpath -ldflags="-s -w" -o "$1/out/pulumi-resource-$name" .
}

# The native kubernetes provider: its schema and Terraform mapping ship in the module, and its
# main embeds them stamped with the release's version (see ./kubernetes/main.go).
build_kubernetes() { # WORK_DIR
    local module version
    # `go list -m` names no directory until the module is in the module cache, as on a new machine.
    module=$(go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 | sed -n 's|^[[:space:]]*"Dir": "\(.*\)",$|\1|p')
    version=$(sed -n 's|^// release: v||p' go.mod)
    node -e '
        const fs = require("fs");
        const [dir, version] = process.argv.slice(1);
        const schema = JSON.parse(fs.readFileSync(`${dir}/schema.json`, "utf8"));
        fs.writeFileSync("schema-embed.json", JSON.stringify({ ...schema, version }));
        const mapping = JSON.parse(fs.readFileSync(`${dir}/terraform-mapping.json`, "utf8"));
        fs.writeFileSync("terraform-mapping-embed.json", JSON.stringify(mapping));
    ' "$module/cmd/pulumi-resource-kubernetes" "$version"
    cp schema-embed.json "$1/out/schema.json"
    go build -trimpath \
        -ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
        -o "$1/out/pulumi-resource-$name" .
}

build() { # NAME OUT_DIR
    local name=$1 out=$2
    work=$(mktemp -d "$cache_dir/.work-$name.XXXXXX")
    cp -R "$here/$name/." "$work/src"
    mkdir "$work/out"
    (
        cd "$work/src"
        if [[ -d tfgen ]]; then build_bridged "$work"; else build_kubernetes "$work"; fi
    )
    # Publish atomically; a concurrent run that finished first wins.
    mv -T "$work/out" "$out" 2>/dev/null || [[ -x "$out/pulumi-resource-$name" ]]
    rm -rf "$work"
}

for name in docker random kubernetes; do
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
    if [[ $name == kubernetes ]]; then
        # The native provider has no -version flag; it reports the release it was stamped with.
        version=$(sed -n 's|^// release: v||p' "$here/$name/go.mod")
        from=$(module_version "$here/$name" github.com/pulumi/pulumi-kubernetes/provider/v4)
    else
        version=$("$target" -version)
        upstream=$(awk '$1 ~ /^github.com\/terraform-providers\/terraform-provider-/ { print $1; exit }' "$here/$name/go.mod")
        from="$(module_version "$here/$name" "$upstream"), $(module_version "$here/$name" github.com/pulumi/pulumi-terraform-bridge/v3)"
    fi
    echo "installed pulumi-resource-$name $version at $target (from $from; cached in $out)"
done
