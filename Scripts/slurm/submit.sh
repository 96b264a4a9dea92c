#!/usr/bin/env bash
# Submits a reproduction to Slurm: `make reproduce-all SCHEDULER=slurm` calls this with the plan
# the Makefile wrote (one line per unit of work, the same commands the local rules run):
#     pretrain NAME RUN_DIR OUTPUT RATE COMMAND...     RATE: images/s at tiny on 2 threads, 0 if unmeasured
#     eval     NAME RUN_DIR OUTPUT -    COMMAND...
#     tables   NAME -       -      -    COMMAND...
# and submits
#   - one job array for the pretraining runs that are not finished,
#   - per run, one job array of its unfinished evaluations, dependent on that run's array task,
#   - one tables job, dependent on all of them (kill_invalid_depend or a failed dependency
#     cancels it; it also refuses to run when an evaluation file is missing).
# Finished work is never submitted again: a pretraining run is finished when its run.json says
# completed, an evaluation when its JSON exists. A run killed mid-way (scancel, preemption, time
# limit) resumes from its last checkpoint when resubmitted.
#
# Settings (environment; the Makefile passes its variables of the same names):
#   SLURM_DIR           bookkeeping folder: task files, job ids, scheduler stdout (required)
#   BUDGET, IMAGES      budget name and its images_seen (for --time)
#   THREADS             --cpus-per-task and the --threads of every command
#   SLURM_PARTITION, SLURM_ACCOUNT, SBATCH_FLAGS    passed to every sbatch
#   SLURM_TIME_FACTOR   --time = images / rate x factor + 10 min (default 3)
#   SLURM_EVAL_MINUTES  --time of one evaluation (default 30)
#   SLURM_MEM_PRETRAIN, SLURM_MEM_EVAL, SLURM_MEM_TABLES   --mem of each kind (MiB)
#   SLURM_WAIT=1        wait for the tables job and exit non-zero unless it COMPLETED (tests)
set -euo pipefail
. "$(dirname "$0")/run-progress.sh"

plan=$1
: "${SLURM_DIR:?}" "${BUDGET:?}" "${IMAGES:?}" "${THREADS:?}"
time_factor=${SLURM_TIME_FACTOR:-3}
eval_minutes=${SLURM_EVAL_MINUTES:-30}
mem_pretrain=${SLURM_MEM_PRETRAIN:-3072}
mem_eval=${SLURM_MEM_EVAL:-3072}
mem_tables=${SLURM_MEM_TABLES:-4096}  # the tables job runs the missing `patchbench speed` first

command -v sbatch >/dev/null || { echo "submit: sbatch not found: is this a Slurm submit host?" >&2; exit 1; }

# Two submissions working on the same run directories would corrupt them.
if [ -s "$SLURM_DIR/latest/jobs" ]; then
    ids=$(cut -d' ' -f1 "$SLURM_DIR/latest/jobs" | paste -sd,)
    if active=$(squeue -h -j "$ids" -o '%i %T' 2>/dev/null) && [ -n "$active" ]; then
        echo "submit: the previous submission ($SLURM_DIR/latest) still has jobs queued or running:" >&2
        echo "$active" | sed 's/^/  /' >&2
        echo "submit: wait for them or scancel them ($(echo "$ids" | tr , ' ')), then submit again" >&2
        exit 1
    fi
fi

here=$(date -u +%Y%m%dT%H%M%SZ)
sub=$SLURM_DIR/$here
[ -e "$sub" ] && sub=$sub-$$
mkdir -p "$sub"
ln -sfn "$(basename "$sub")" "$SLURM_DIR/latest"
sed 's/^[[:space:]]*//' "$plan" >"$sub/plan"
plan=$sub/plan
: >"$sub/jobs"; : >"$sub/tasks"

common=(--parsable --chdir="$PWD" --nodes=1 --ntasks=1 --cpus-per-task="$THREADS")
[ -n "${SLURM_PARTITION:-}" ] && common+=(--partition="$SLURM_PARTITION")
[ -n "${SLURM_ACCOUNT:-}" ] && common+=(--account="$SLURM_ACCOUNT")
# shellcheck disable=SC2206  # SBATCH_FLAGS is a list of flags, split on spaces on purpose
[ -n "${SBATCH_FLAGS:-}" ] && common+=(${SBATCH_FLAGS})

task_script=$(cd "$(dirname "$0")" && pwd)/task.sh
submit() {   # submit KIND LABEL TASKFILE N MINUTES MEM DEPENDENCY  → prints the job id
    local kind=$1 label=$2 file=$3 n=$4 minutes=$5 mem=$6 dep=$7 args id
    args=("${common[@]}" --job-name="pb-$BUDGET-$label" --time="$minutes" --mem="$mem")
    if [ "$kind" = tables ]; then args+=(--output="$sub/%x-%j.out")
    else args+=(--array="0-$((n - 1))" --output="$sub/%x-%A_%a.out"); fi
    [ -n "$dep" ] && args+=(--dependency="$dep")
    id=$(sbatch "${args[@]}" "$task_script" "$file")
    id=${id%%;*}
    echo "$id $kind $label" >>"$sub/jobs"
    # Which task makes which file, for `make status`.
    if [ "$kind" = tables ]; then echo "$id tables" >>"$sub/tasks"
    else awk -v id="$id" '{print id "_" (NR - 1), $4}' "$file" >>"$sub/tasks"; fi
    echo "$id"
}

# Pretraining: unfinished runs only, longest first (an array starts in index order, and the
# longest runs bound the wall time); the slowest measured rate stands in for an unmeasured one.
slowest=$(awk '$1 == "pretrain" && $5 > 0 {print $5}' "$plan" | sort -n | head -1)
while read -r kind name run_dir output rate command; do
    [ "$kind" = pretrain ] || continue
    run_completed "$run_dir" && continue
    case $name in random-init*) minutes=10 ;; *)
        [ "$rate" -gt 0 ] || rate=${slowest:-1}
        # Rates are 2-thread figures; fewer threads are assumed proportionally slower, more no faster.
        t=$(( THREADS < 2 ? THREADS : 2 ))
        minutes=$(( IMAGES * 2 * time_factor / (rate * t * 60) + 10 )) ;;
    esac
    echo "$minutes $kind $name $run_dir $output $command"
done <"$plan" | sort -s -k1,1nr >"$sub/pretrain.sorted"
declare -A pretrain_index=()
n_pretrain=0 max_minutes=10 pretrain_minutes=()
: >"$sub/pretrain.tasks"
while read -r minutes kind name run_dir output command; do
    (( minutes > max_minutes )) && max_minutes=$minutes
    echo "$kind $name $run_dir $output $command" >>"$sub/pretrain.tasks"
    pretrain_index[$run_dir]=$n_pretrain
    pretrain_minutes+=("$minutes")
    n_pretrain=$((n_pretrain + 1))
done <"$sub/pretrain.sorted"
rm "$sub/pretrain.sorted"
dependencies=()
pretrain_job=""
if [ "$n_pretrain" -gt 0 ]; then
    # One array, one --time: the longest task's (Slurm arrays share their limits).
    pretrain_job=$(submit pretrain pretrain "$sub/pretrain.tasks" "$n_pretrain" "$max_minutes" "$mem_pretrain" "")
    dependencies+=("$pretrain_job")
    # An array is submitted with one --time, the longest task's; each task then gets its own
    # (lowering a limit is allowed to users; a task that cannot be updated keeps the longest).
    for i in "${!pretrain_minutes[@]}"; do
        [ "${pretrain_minutes[$i]}" -lt "$max_minutes" ] || continue
        scontrol update JobId="${pretrain_job}_$i" TimeLimit="${pretrain_minutes[$i]}" >/dev/null 2>&1 \
            || echo "submit: could not lower the time limit of task ${pretrain_job}_$i; it keeps $max_minutes min" >&2
    done
    echo "submit: pretraining: job array $pretrain_job, $n_pretrain runs, --time $(printf '%s\n' "${pretrain_minutes[@]}" | sort -n | uniq | paste -sd/) min, --mem $mem_pretrain MiB"
fi

# Evaluations: one array per run, after that run's pretraining task if it had one.
declare -A eval_tasks=()
: >"$sub/tables.inputs"
while read -r kind name run_dir output rate command; do
    [ "$kind" = eval ] || continue
    echo "$output" >>"$sub/tables.inputs"
    [ -s "$output" ] && continue
    file=$sub/eval-$(basename "$(dirname "$run_dir")")-$(basename "$run_dir").tasks
    echo "$kind $name $run_dir $output $command" >>"$file"
    eval_tasks[$run_dir]=$file
done <"$plan"
n_eval_arrays=0 n_evals=0
for run_dir in $(printf '%s\n' "${!eval_tasks[@]}" | sort); do
    file=${eval_tasks[$run_dir]}
    n=$(wc -l <"$file")
    dep=""
    [ -n "${pretrain_index[$run_dir]+set}" ] && dep="afterok:${pretrain_job}_${pretrain_index[$run_dir]}"
    label="eval-$(basename "$(dirname "$run_dir")")-$(basename "$run_dir")"
    dependencies+=("$(submit eval "$label" "$file" "$n" "$eval_minutes" "$mem_eval" "$dep")")
    n_eval_arrays=$((n_eval_arrays + 1)); n_evals=$((n_evals + n))
done
[ "$n_evals" -gt 0 ] && echo "submit: evaluations: $n_evals in $n_eval_arrays job arrays (one per run), --time $eval_minutes min, --mem $mem_eval MiB"

# Tables: after everything above.
grep '^tables ' "$plan" | sed "s|^tables \([^ ]*\) - - - |tables \1 $SLURM_DIR $sub/tables.inputs |" >"$sub/tables.tasks"
dep=""
[ ${#dependencies[@]} -gt 0 ] && dep="afterok:$(IFS=:; echo "${dependencies[*]}")"
tables_job=$(submit tables tables "$sub/tables.tasks" 1 30 "$mem_tables" "$dep")
echo "submit: tables: job $tables_job${dep:+ (after ${#dependencies[@]} jobs)}"
echo "submit: job ids in $sub/jobs; \`make status\` shows progress; logs in each run's logs/ folder"

[ "${SLURM_WAIT:-0}" = 1 ] || exit 0
# sbatch --wait exits 0 for a job cancelled by a failed dependency: read the state instead.
while :; do
    state=$(scontrol show job "$tables_job" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case $state in
        PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|"") sleep 2 ;;
        COMPLETED) echo "submit: tables job $tables_job COMPLETED"; exit 0 ;;
        *) echo "submit: tables job $tables_job ended $state" >&2; exit 1 ;;
    esac
done
