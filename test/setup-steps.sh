# Sourced by the set-up scripts under test/: `step WHAT` announces a step, `done_step` says
# how long it took, so CI logs show where the minutes go; `module_proxy_only` is the GOPROXY
# for builds that take modules from the module proxy by name and version, never from VCS.
step_started=0
step() {
    step_started=$SECONDS
    echo "==> $*"
}
done_step() {
    echo "    done in $((SECONDS - step_started)) s"
}
module_proxy_only() {
    local proxy
    proxy=$(go env GOPROXY)
    proxy=${proxy//,direct/}
    proxy=${proxy//|direct/}
    [[ "$proxy" != direct ]] || proxy=off
    echo "$proxy"
}
