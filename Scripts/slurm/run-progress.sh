# How far an unfinished run directory got, read from its files; sourced by Scripts/slurm/status.sh
# (`make status`) and by `make plan`.

# last_checkpoint DIR: the step of DIR's last checkpoint (checkpoints/step-<N>.h5), or nothing.
last_checkpoint() {
    ls "$1/checkpoints" 2>/dev/null | sed -nE 's/^step-([0-9]+)\.h5$/\1/p' | sort -n | tail -1
}

# total_steps DIR: the run's total_steps from DIR/run.json, or nothing.
total_steps() {
    grep -oE '"total_steps" *: *[0-9]+' "$1/run.json" 2>/dev/null | grep -oE '[0-9]+$'
}
