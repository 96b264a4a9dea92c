# Whether a run directory is done, and how far an unfinished one got, read from its files; sourced by
# Scripts/slurm/status.sh (`make status`), Scripts/slurm/submit.sh, Scripts/archive-runs.sh and `make plan`.
# (Scripts/slurm/task.sh has its own copy of run_completed: sbatch runs a copy of it from Slurm's spool.)

# run_completed DIR: whether DIR/run.json says "completed": true. encoder.h5 is written before it,
# so only this means the run is done.
run_completed() {
    grep -qE '"completed" *: *true' "$1/run.json" 2>/dev/null
}

# last_checkpoint DIR: the step of DIR's last checkpoint (checkpoints/step-<N>.h5), or nothing.
last_checkpoint() {
    ls "$1/checkpoints" 2>/dev/null | sed -nE 's/^step-([0-9]+)\.h5$/\1/p' | sort -n | tail -1
}

# total_steps DIR: the run's total_steps from DIR/run.json, or nothing.
total_steps() {
    grep -oE '"total_steps" *: *[0-9]+' "$1/run.json" 2>/dev/null | grep -oE '[0-9]+$'
}
