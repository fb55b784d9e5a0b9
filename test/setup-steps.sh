# Sourced by the set-up scripts under test/: `step WHAT` announces a step, `done_step` says
# how long it took, so CI logs show where the minutes go; `install_debian_packages PKG...`
# installs those of the packages that are missing; `module_proxy_only` is the GOPROXY for
# builds that take modules from the module proxy by name and version, never from VCS.
step_started=0
step() {
    step_started=$SECONDS
    echo "==> $*"
}
done_step() {
    echo "    done in $((SECONDS - step_started)) s"
}
install_debian_packages() {
    local sudo=() missing=() p
    if [ "$(id -u)" != 0 ]; then
        sudo=(sudo)
    fi
    for p in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "==> packages already installed: $*"
        return
    fi
    step "installing ${missing[*]}"
    # The package lists of a fresh machine are empty or stale: refresh them, only when something is missing.
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    done_step
}
module_proxy_only() {
    local proxy
    proxy=$(go env GOPROXY)
    proxy=${proxy//,direct/}
    proxy=${proxy//|direct/}
    [[ "$proxy" != direct ]] || proxy=off
    echo "$proxy"
}
