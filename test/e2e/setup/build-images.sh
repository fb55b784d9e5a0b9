#!/usr/bin/env bash
# Builds the end-to-end tier's images from Debian packages (no container registry is reachable
# from the machines this runs on). Tags match testImages in test/e2e/support/engine.ts:
#
#   pulumi-dind-e2e/dind:latest      dockerd + docker CLI (Debian trixie: moby 26, which accepts
#                                    --default-network-opt; bookworm's 20.10 rejects it). Stands
#                                    in for both docker:29-dind and docker:29-cli.
#   pulumi-dind-e2e/registry:latest  the distribution registry laid out like registry:3.
#   pulumi-dind-e2e/busybox:latest   busybox-static with its applets linked, CMD ["sh"].
#   pulumi-dind-e2e/registry3:latest registry 3 built from its Go module (Debian has none) on
#                                    the registry image: build-registry3.sh, run last.
#
# Idempotent: every image carries a label with a hash of this script and the suites it uses;
# an image whose label matches is not rebuilt, so changing the recipe (this file) rebuilds.
# Rootfs tarballs stay in a cache directory outside the repository.
#
# Environment:
#   E2E_IMAGE_CACHE   cache directory (default /var/cache/pulumi-dind-e2e)
#   E2E_MIRROR        Debian archive (default: the first one in this machine's apt sources)
#   E2E_SECURITY_MIRROR  its security archive (default: the one in this machine's apt sources)
#   E2E_FORCE=1       rebuild even when the labels match
set -euo pipefail

dind_suite=trixie
busybox_suite="$(. /etc/os-release && echo "${VERSION_CODENAME}")" # the host's apt sources
# The archives this machine's apt already uses, so a build behind a corporate mirror uses that mirror.
apt_source_uris() {
    {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -n 's/^deb\( \[[^]]*\]\)\? \([^ ]*\).*/\2/p'
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *//p' | tr ' ' '\n'
    } | sed 's|/*$||'
}
mirror="${E2E_MIRROR:-$(apt_source_uris | grep -v -- '-security$' | head -n1)}"
security_mirror="${E2E_SECURITY_MIRROR:-$(apt_source_uris | grep -- '-security$' | head -n1)}"
: "${mirror:?no Debian archive in this machine's apt sources: set E2E_MIRROR}"
: "${security_mirror:?no Debian security archive in this machine's apt sources: set E2E_SECURITY_MIRROR}"
cache="${E2E_IMAGE_CACHE:-/var/cache/pulumi-dind-e2e}"

img_dind=pulumi-dind-e2e/dind:latest
img_registry=pulumi-dind-e2e/registry:latest
img_busybox=pulumi-dind-e2e/busybox:latest

label_key=dev.pulumi-dind.e2e.recipe
recipe="$(
    {
        cat "${BASH_SOURCE[0]}"
        echo "dind_suite=$dind_suite busybox_suite=$busybox_suite mirror=$mirror security_mirror=$security_mirror"
    } | sha256sum | cut -c1-16
)"

mkdir -p "$cache"
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# shellcheck source=../../setup-steps.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../setup-steps.sh"

# docker import NAME TAR CHANGES...; the image NAME had before is removed when nothing uses it,
# so rebuilds do not pile up untagged 400 MB images.
import_image() {
    local name="$1" tar="$2" old new
    shift 2
    old="$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)"
    new="$(docker import "$@" "$tar" "$name")"
    if [ -n "$old" ] && [ "$old" != "$new" ]; then
        docker rmi "$old" >/dev/null 2>&1 || true
    fi
}

up_to_date() {
    [ "${E2E_FORCE:-}" != 1 ] &&
        [ "$(docker image inspect -f "{{index .Config.Labels \"$label_key\"}}" "$1" 2>/dev/null)" = "$recipe" ]
}

echo "recipe $recipe (dind/registry: $dind_suite, busybox: $busybox_suite, mirror: $mirror)"
total_started=$SECONDS

# ---------------------------------------------------------------------------------------------
# dind entrypoint, installed as /usr/local/bin/dockerd-entrypoint.sh
# ---------------------------------------------------------------------------------------------
cat >"$work/dockerd-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# Stand-in for docker:*-dind's and docker:*-cli's entrypoints, for the case this project uses:
# args starting with `dockerd` run exactly that daemon (as the official image does; no TLS cert
# generation, no default --host flags); anything else (`sh -c SCRIPT` of the CLI container) runs
# unchanged.
set -eu

if [ "${1:-}" != dockerd ]; then
    exec "$@"
fi

# A daemon stopped uncleanly (container restart, pod restart with a kept volume) leaves pid
# files that make the next dockerd/containerd refuse to start.
find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
find /run /var/run -path '*containerd*' -iname '*.pid' -delete 2>/dev/null || :

# Without securityfs dockerd cannot see that AppArmor is enabled on the host and would start
# containers without a profile that the host then refuses (what hack/dind works around).
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
    mount -t securityfs none /sys/kernel/security ||
        echo >&2 'warning: could not mount /sys/kernel/security; AppArmor detection may break'
fi

# cgroup v2: the nested dockerd must be able to delegate controllers to its containers. The
# kernel only allows enabling controllers in a cgroup with no processes of its own, so move
# ours into a leaf first (as hack/dind does). cgroup v1 (this project's CI machines): the
# hierarchies are bind-mounted read-write by the caller and need nothing here.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
        >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
        echo >&2 'warning: could not enable cgroup v2 controllers for nested containers'
fi

# Debian's iptables defaults to nf_tables. Like the official image, use the legacy backend when
# asked to (DOCKER_IPTABLES_LEGACY) or when the kernel already holds legacy rules in this
# network namespace or nf_tables does not work, so dockerd's rules land where packets see them.
legacy="${DOCKER_IPTABLES_LEGACY-}"
if [ -z "${DOCKER_IPTABLES_LEGACY+x}" ]; then
    for f in /proc/net/ip_tables_names /proc/net/ip6_tables_names; do
        if [ -n "$(cat "$f" 2>/dev/null)" ]; then legacy=1; fi
    done
    if [ -z "$legacy" ] && ! iptables -nL >/dev/null 2>&1 && iptables-legacy -nL >/dev/null 2>&1; then
        legacy=1
    fi
fi
if [ -n "$legacy" ]; then
    export PATH="/usr/local/sbin/.iptables-legacy:$PATH"
fi
iptables --version >&2

# docker-init (tini) as pid 1 reaps the zombie shims dockerd leaves behind (official image
# does the same, docker-library/docker#318).
if command -v docker-init >/dev/null; then
    set -- docker-init -- "$@"
fi
exec "$@"
ENTRYPOINT

# ---------------------------------------------------------------------------------------------
# registry:3 layout: entrypoint and default config
# ---------------------------------------------------------------------------------------------
cat >"$work/registry-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# registry:3's /entrypoint.sh: a config file path means `registry serve FILE`.
set -e
case "${1:-}" in
    *.yaml | *.yml) set -- registry serve "$@" ;;
    serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
ENTRYPOINT

# The official image's default config: filesystem storage, plain http on :5000, no auth.
# (Debian's packaged /etc/docker/registry/config.yml turns htpasswd on; it is not used.)
# REGISTRY_* environment variables override any key, as with the official image.
cat >"$work/config.yml" <<'CONFIG'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
CONFIG

cat >"$work/customize.sh" <<'CUSTOMIZE'
#!/bin/sh
# Runs on the host with the finished rootfs as $1 (an mmdebstrap customize hook).
set -eu
root="$1"; files="$2"
install -m 0755 "$files/dockerd-entrypoint.sh" "$root/usr/local/bin/dockerd-entrypoint.sh"
install -m 0755 "$files/registry-entrypoint.sh" "$root/entrypoint.sh"
install -D -m 0644 "$files/config.yml" "$root/etc/distribution/config.yml"
ln -sf /usr/bin/docker-registry "$root/usr/local/bin/registry"
mkdir -p "$root/var/lib/registry" "$root/var/lib/docker"
# PATH switch to legacy iptables (the official dind image's symlink farm).
mkdir -p "$root/usr/local/sbin/.iptables-legacy"
for f in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf "/usr/sbin/$(echo "$f" | sed 's/tables/tables-legacy/')" "$root/usr/local/sbin/.iptables-legacy/$f"
done
# Smaller image: docs and the package caches mmdebstrap leaves.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/var/cache/apt"/*.bin
CUSTOMIZE

# ---------------------------------------------------------------------------------------------
# dind + registry: one trixie rootfs, two imports
# ---------------------------------------------------------------------------------------------
if up_to_date "$img_dind" && up_to_date "$img_registry"; then
    echo "==> $img_dind and $img_registry are up to date"
else
    rootfs="$cache/rootfs-$dind_suite-$recipe.tar"
    if [ ! -s "$rootfs" ]; then
        # Rootfs tarballs of older recipes are dead weight.
        rm -f "$cache"/rootfs-*.tar
        step "mmdebstrap $dind_suite rootfs"
        # Beyond docker.io and its dependencies: what the official dind image adds for dockerd
        # (kmod, e2fsprogs, xz, pigz), procps for tests' process checks, curl to probe the
        # registry from test containers, and docker-registry for the registry image.
        mmdebstrap --quiet --variant=minbase --components=main \
            --aptopt='APT::Install-Recommends "false"' \
            --include=docker.io,docker-cli,containerd,runc,tini,iptables,ca-certificates,procps,curl,kmod,e2fsprogs,xz-utils,pigz,docker-registry \
            --customize-hook="sh '$work/customize.sh' \"\$1\" '$work'" \
            "$dind_suite" "$work/rootfs.tar" \
            "deb $mirror $dind_suite main" \
            "deb $mirror $dind_suite-updates main" \
            "deb $security_mirror $dind_suite-security main"
        mv "$work/rootfs.tar" "$rootfs"
        echo "    rootfs: $(du -h "$rootfs" | cut -f1)"
        done_step
    else
        echo "==> reusing $rootfs"
    fi

    if ! up_to_date "$img_dind"; then
        step "docker import $img_dind"
        # VOLUME as in the official image; CLI containers get one too: remove them with -v.
        import_image "$img_dind" "$rootfs" \
            -c "LABEL $label_key=$recipe" \
            -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            -c 'VOLUME /var/lib/docker' \
            -c 'EXPOSE 2375 2376' \
            -c 'ENTRYPOINT ["dockerd-entrypoint.sh"]' \
            -c 'CMD ["sh"]'
        done_step
    fi

    if ! up_to_date "$img_registry"; then
        step "docker import $img_registry"
        import_image "$img_registry" "$rootfs" \
            -c "LABEL $label_key=$recipe" \
            -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            -c 'VOLUME /var/lib/registry' \
            -c 'EXPOSE 5000' \
            -c 'ENTRYPOINT ["/entrypoint.sh"]' \
            -c 'CMD ["/etc/distribution/config.yml"]'
        done_step
    fi
fi

# ---------------------------------------------------------------------------------------------
# busybox: busybox-static from the host's apt sources
# ---------------------------------------------------------------------------------------------
if up_to_date "$img_busybox"; then
    echo "==> $img_busybox is up to date"
else
    step "busybox-static rootfs"
    # Stale package lists 404; refresh them once and retry.
    (cd "$work" && { apt-get download -qq -o APT::Sandbox::User=root busybox-static || { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root busybox-static; }; })
    dpkg -x "$work"/busybox-static_*.deb "$work/bb-pkg"
    bb="$work/bb"
    mkdir -p "$bb/bin" "$bb/etc" "$bb/root" "$bb/tmp" "$bb/var" "$bb/home" "$bb/usr/bin" "$bb/usr/sbin" "$bb/sbin"
    chmod 1777 "$bb/tmp"
    install -m 0755 "$work/bb-pkg/bin/busybox" "$bb/bin/busybox"
    # Every applet as a symlink in /bin, as busybox:latest has them.
    for applet in $("$bb/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$bb/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$bb/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$bb/etc/group"
    tar -C "$bb" --owner=0 --group=0 --numeric-owner -cf "$work/busybox.tar" .
    done_step

    step "docker import $img_busybox"
    import_image "$img_busybox" "$work/busybox.tar" \
        -c "LABEL $label_key=$recipe" \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["sh"]'
    done_step
fi

bash "$(dirname "${BASH_SOURCE[0]}")/build-registry3.sh"

echo "==> images ready in $((SECONDS - total_started)) s:"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' 'pulumi-dind-e2e/*' | sed 's/^/    /'
