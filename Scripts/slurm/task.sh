#!/usr/bin/env bash
# The batch script of every PatchBench Slurm job: runs line N of a task file, where N is the
# array index (0-based; 0 for a job that is not an array). submit.sh writes the task files;
# each line is
#     KIND NAME RUN_DIR OUTPUT COMMAND...
# KIND is pretrain, eval or tables; OUTPUT is the file that marks the work as finished.
# Output goes to RUN_DIR/logs/<kind>[-<probe>].log (appended, one header per attempt) and the
# outcome to the .state file beside it, which `make status` reads: Slurm without accounting
# forgets a job 300 s after it ends, the state file does not.
set -uo pipefail

task_file=$1
index=${SLURM_ARRAY_TASK_ID:-0}
line=$(sed -n "$((index + 1))p" "$task_file")
[ -n "$line" ] || { echo "task.sh: $task_file has no line $((index + 1))" >&2; exit 2; }
read -r kind name run_dir output command <<<"$line"

log_name=$kind
[ "$kind" = eval ] && log_name=eval-$(basename "$output" .json)
mkdir -p "$run_dir/logs"
log=$run_dir/logs/$log_name.log
state=$run_dir/logs/$log_name.state
job=${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-none}}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}
set_state() { printf '%s job=%s host=%s time=%s\n' "$1" "$job" "$(hostname -s)" "$(date -u +%FT%TZ)" >"$state"; }

exec >>"$log" 2>&1
echo "== $name: job $job on $(hostname -s), ${SLURM_CPUS_PER_TASK:-?} CPUs, $(date -u +%FT%TZ)"

finished() {
    case $kind in
        # encoder.h5 is written before run.json says completed: only the latter means done. (run-progress.sh's
        # run_completed, repeated: sbatch runs a copy of this script from Slurm's spool, away from its siblings.)
        pretrain) grep -qE '"completed" *: *true' "$run_dir/run.json" 2>/dev/null ;;
        eval) [ -s "$output" ] ;;
        tables) false ;;
    esac
}
if finished; then
    echo "already finished ($output): skipped"
    set_state done
    exit 0
fi

if [ "$kind" = tables ]; then
    # The tables never run on incomplete inputs, whatever the dependencies said.
    missing=$(while read -r f; do [ -s "$f" ] || echo "$f"; done <"$output")
    if [ -n "$missing" ]; then
        echo "tables: inputs missing, not writing tables:"; echo "$missing"
        set_state "failed rc=1 (inputs missing)"
        exit 1
    fi
fi

# scancel, preemption and the time limit send SIGTERM to the whole job; record it, then let
# the work die (pretrain resumes from its last checkpoint on the next submission).
trap 'set_state "cancelled (SIGTERM)"; echo "== SIGTERM at $(date -u +%FT%TZ)"; kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
set_state running
bash -c "$command" &
child=$!
wait "$child"
rc=$?
if [ $rc = 0 ]; then set_state done; else set_state "failed rc=$rc"; fi
echo "== exit $rc at $(date -u +%FT%TZ)"
exit $rc
