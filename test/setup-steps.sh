# Sourced by the set-up scripts under test/: `step WHAT` announces a step, `done_step` says
# how long it took, so CI logs show where the minutes go.
step_started=0
step() {
    step_started=$SECONDS
    echo "==> $*"
}
done_step() {
    echo "    done in $((SECONDS - step_started)) s"
}
