#!/usr/bin/env bash
# `make status`: what of a reproduction is done, running, failed or still to do.
#
# The files decide what is done (run.json completed, eval/<probe>.json present) and how far an
# unfinished run got (the last step of its log.csv, and its last checkpoint, where a resume
# starts). For Slurm jobs, each task's .state file in the run's logs/ folder says running,
# failed or cancelled, and scontrol (when there is a Slurm to ask) says whether a "running" task
# still runs and why a task has not started. Without accounting, Slurm forgets a finished job
# after MinJobAge (300 s by default); the state files do not.
#
# Environment (from the Makefile): RUNS_DIR BUDGET METHODS SEEDS PROBES SLURM_DIR (SINGLE_SEED_METHODS)
set -uo pipefail
. "$(dirname "$0")/run-progress.sh"
: "${RUNS_DIR:?}" "${BUDGET:?}" "${METHODS:?}" "${SEEDS:?}" "${PROBES:?}" "${SLURM_DIR:?}"
sub=$SLURM_DIR/latest

# "<job>[_<task>] STATE REASON" for every job and array task of the latest submission that
# Slurm still knows. A pending array is one record whose ArrayTaskId is a list ("0,2-3%4").
live=""
if [ -s "$sub/jobs" ] && command -v scontrol >/dev/null; then
    live=$(cut -d' ' -f1 "$sub/jobs" | while read -r id; do scontrol -o show job "$id" 2>/dev/null; done | awk '
        { job = ""; arr = ""; tasks = ""; state = ""; reason = ""
          for (i = 1; i <= NF; i++) {
              split($i, kv, "=")
              if (kv[1] == "JobId") job = kv[2]; else if (kv[1] == "ArrayJobId") arr = kv[2]
              else if (kv[1] == "ArrayTaskId") tasks = kv[2]; else if (kv[1] == "JobState") state = kv[2]
              else if (kv[1] == "Reason") reason = kv[2] }
          if (arr == "") { print job, state, reason; next }
          sub(/%.*/, "", tasks); n = split(tasks, parts, ",")
          for (i = 1; i <= n; i++) {
              if (split(parts[i], r, "-") == 2) { for (t = r[1]; t <= r[2]; t++) print arr "_" t, state, reason }
              else print arr "_" parts[i], state, reason } }')
fi
# The scheduler's word on the task that produces OUTPUT (from submit.sh's tasks file).
scheduler_state() {
    [ -n "$live" ] || return 0
    local task s
    task=$(awk -v o="$1" '$2 == o {print $1}' "$sub/tasks" 2>/dev/null | tail -1)
    [ -n "$task" ] || return 0
    s=$(grep -m1 "^$task " <<<"$live" | cut -d' ' -f2-)
    [ -n "$s" ] && echo "$s" | sed -E 's/^([A-Z_]+) (.*)/\1 (\2)/; s/ \(None\)//'
}
# A task's state: its .state file, checked against the scheduler; else what the scheduler says.
task_state() {   # task_state STATE_FILE OUTPUT
    local file=$1 output=$2 now
    now=$(scheduler_state "$output")
    if [ -s "$file" ]; then
        case $(cut -d' ' -f1 "$file") in
            done) return 0 ;;
            running)
                [[ $now == PENDING* ]] && { echo "$now"; return 0; }   # resubmitted after a kill
                # A task killed hard (out of memory, node failure) never wrote its end: ask Slurm.
                local job was
                job=$(grep -o 'job=[^ ]*' "$file" | cut -d= -f2)
                if ! command -v scontrol >/dev/null; then echo "running? (job $job; no scontrol to ask)"
                else
                    was=$(scontrol -o show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2)
                    if [ "$was" = RUNNING ]; then echo "running (job $job)"
                    else echo "interrupted (job $job ${was:-unknown to Slurm}): resubmit to resume"; fi
                fi
                return 0 ;;
        esac
        # failed / cancelled, unless a newer submission has it queued again
        [[ $now == PENDING* ]] || { cut -d' ' -f1-3 "$file"; return 0; }
    fi
    echo "$now"
}

total_done=0 total=0 troubled=0
names=() pres=() evalses=()
for m in $METHODS; do
    seeds=$SEEDS
    # A single-seed reference row (the method table's SINGLE_SEED_METHODS) runs at the first seed only.
    case " ${SINGLE_SEED_METHODS:-} " in *" $m "*) seeds=${SEEDS%% *};; esac
    for s in $seeds; do
        dir=$RUNS_DIR/$BUDGET/$m/seed$s
        total=$((total + 1))
        if run_completed "$dir"; then
            pre=done; total_done=$((total_done + 1))
        else
            steps=$(total_steps "$dir") last=$(last_checkpoint "$dir")
            # How far the log got (a live run is past its last checkpoint; a killed one resumes from it).
            logged=$(tail -n 1 "$dir/log.csv" 2>/dev/null | grep -oE '^[0-9]+')
            if [ -n "$logged" ] && [ "$logged" != "${last:-}" ]; then pre="step $logged/${steps:-?} (checkpoint ${last:-none})"
            else pre=${last:+step $last/${steps:-?}}; fi
            pre=${pre:-not started}
            st=$(task_state "$dir/logs/pretrain.state" "$dir/encoder.h5")
            [ -n "$st" ] && pre="$pre, $st"
        fi
        evals=""
        for p in $PROBES; do
            total=$((total + 1))
            if [ -s "$dir/eval/$p.json" ]; then e=done; total_done=$((total_done + 1))
            else
                e=$(task_state "$dir/logs/eval-$p.state" "$dir/eval/$p.json")
                e=${e:-to do}
            fi
            evals+="$p: $e; "
        done
        case "$pre $evals" in *failed*|*interrupted*|*cancelled*|*CANCELLED*|*FAILED*|*TIMEOUT*|*OUT_OF_MEMORY*) troubled=$((troubled + 1)) ;; esac
        names+=("$m/seed$s") pres+=("$pre") evalses+=("${evals%; }")
    done
done
# Columns as wide as their widest cell (relational-reasoning/seed0 is 26 characters).
widest() { local w=0 c; for c in "$@"; do [ ${#c} -gt $w ] && w=${#c}; done; echo $w; }
name_width=$(widest run "${names[@]}") pre_width=$(widest pretrain "${pres[@]}")
printf '%-*s  %-*s  %s\n' "$name_width" run "$pre_width" pretrain evaluations
for i in "${!names[@]}"; do
    printf '%-*s  %-*s  %s\n' "$name_width" "${names[$i]}" "$pre_width" "${pres[$i]}" "${evalses[$i]}"
done
echo "done: $total_done of $total pretraining runs and evaluations in $RUNS_DIR/$BUDGET"
tables=$(task_state "$SLURM_DIR/logs/tables.state" tables)
[ -n "$tables" ] && echo "tables job: $tables"
[ "$troubled" = 0 ] || echo "runs with a failed, cancelled or interrupted task: $troubled (logs in <run>/logs/; resubmitting resumes them)"
exit 0
