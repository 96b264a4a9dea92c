#!/usr/bin/env bash
# `make slurm-test`: the smoke reproduction through a private single-node Slurm
# (local-cluster.sh), checked against the local smoke-check's outputs ($SMOKE_RUNS), which
# `make test` has just made, for the methods and probes it is given (a subset, for time).
#
#   1. A task made to fail (a stale run directory: another method's run.json) is reported as
#      failed by `make status`, its evaluations and the tables job are cancelled, and no
#      tables are written; the other method's tasks still finish.
#   2. The smoke reproduction is submitted; the slowest pretraining run is scancel'ed after
#      its first checkpoint; the tables job is then cancelled (incomplete inputs). Resubmitting
#      skips the finished work, resumes the killed run from its checkpoint, and ends with
#      evaluation files equal to the local ones in everything but wall time, thread count and
#      commit (their encoder_digest is a SHA-256 of the weights: equal means bit-identical
#      weights) and tables byte-identical to the local ones, apart from what a clock measured
#      (provenance, pretraining images/s and the speed claims made from them).
#   3. No Slurm or munge process is left (trap: cancel every job, stop the daemons by pid).
#
# Environment (from the Makefile): MAKE METHODS PROBES SMOKE_EVAL_FLAGS PATCHBENCH SMOKE_RUNS (.smoke-runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${METHODS:?}" "${PROBES:?}" "${SMOKE_EVAL_FLAGS:?}" "${PATCHBENCH:?}"
make=${MAKE:-make}
smoke=${SMOKE_RUNS:-.smoke-runs}
started=$(date +%s)
say() { echo "slurm-test: $*"; }
fail() { echo "slurm-test: FAIL: $*" >&2; exit 1; }

[ -d "$smoke/smoke" ] || fail "no local smoke outputs: run make smoke-check first"
work=.slurm-test
rm -rf "$work"
mkdir -p "$work"
# The local reference: smoke-check's runs of these methods (only their probes), tabled alone.
for m in $METHODS; do
    [ -e "$smoke/smoke/$m/seed0/encoder.h5" ] || fail "no local smoke run of $m: run make smoke-check first"
    mkdir -p "$work/local-runs/smoke/$m/seed0/eval"
    for f in run.json log.jsonl encoder.h5; do   # random-init has no log
        [ ! -e "$smoke/smoke/$m/seed0/$f" ] || cp "$smoke/smoke/$m/seed0/$f" "$work/local-runs/smoke/$m/seed0/"
    done
    for p in $PROBES; do cp "$smoke/smoke/$m/seed0/eval/$p.json" "$work/local-runs/smoke/$m/seed0/eval/"; done
done
"$PATCHBENCH" tables --budget smoke --runs "$work/local-runs" --claims results/claims.json --out "$work/local-results" \
    --new-version >/dev/null
cluster=$(mktemp -d "${TMPDIR:-/tmp}/patchbench-slurm.XXXXXX")

cleanup() {
    local rc=$? p leftover=""
    if [ -s "$cluster/run/slurmctld.pid" ]; then
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 60); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    local pids; pids=$(cat "$cluster"/run/*.pid 2>/dev/null || true)
    Scripts/slurm/local-cluster.sh down "$cluster" || true
    for p in $pids; do kill -0 "$p" 2>/dev/null && leftover="$leftover $p"; done
    if [ -n "$leftover" ]; then echo "slurm-test: FAIL: daemons still running:$leftover" >&2; rc=1
    else echo "slurm-test: no Slurm or munge daemon left running"; fi
    [ $rc = 0 ] && rm -rf "$cluster"   # kept on failure: its log/ folder says why
    [ $rc = 0 ] || echo "slurm-test: cluster logs kept in $cluster/log" >&2
    exit $rc
}
trap cleanup EXIT
Scripts/slurm/local-cluster.sh up "$cluster"
export SLURM_CONF=$cluster/slurm.conf

# One thread per task: two tasks share the 2-core node (results do not depend on threads).
common=(--no-print-directory BUDGET=smoke SEEDS=0 THREADS=1 CLAIMS=results/claims.json SCHEDULER=slurm)
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
tables_job() { awk '$2 == "tables" {print $1}' "$1/latest/jobs"; }
wait_idle() {   # until the cluster has no job left (finished jobs stay in scontrol, not squeue)
    for _ in $(seq 1800); do [ -z "$(squeue -h)" ] && return; sleep 1; done
    fail "jobs still queued after 30 min: $(squeue -h | head)"
}

# --- 1. a failing task ------------------------------------------------------------------------
say "1. a failing task (random-init's run directory holds mae's unfinished run.json)"
fail_runs=$work/fail-runs
mkdir -p "$fail_runs/smoke/random-init/seed0"
# mae's run.json, unfinished: the pretraining refuses a directory with another config hash.
sed -E 's/"completed" *: *true/"completed" : false/' "$smoke/smoke/mae/seed0/run.json" \
    >"$fail_runs/smoke/random-init/seed0/run.json"
fail_args=("${common[@]}" METHODS="random-init mae" PROBES=knn RUNS_DIR="$fail_runs" RESULTS_DIR="$work/fail-results"
           EVAL_FLAGS="$SMOKE_EVAL_FLAGS")
if $make "${fail_args[@]}" reproduce-all SLURM_WAIT=1; then fail "the submission with a failing task reported success"; fi
wait_idle
status=$($make -s "${fail_args[@]}" status)
echo "$status" | sed 's/^/  /'
grep -E '^random-init/seed0 .*failed rc=1' <<<"$status" >/dev/null || fail "status does not report random-init's pretraining as failed"
grep -E '^random-init/seed0 .*knn: CANCELLED \(DependencyNeverSatisfied\)' <<<"$status" >/dev/null \
    || fail "status does not report random-init's evaluation as cancelled"
grep -E '^mae/seed0 +done +knn: done' <<<"$status" >/dev/null || fail "mae's tasks did not finish beside the failing one"
[ "$(job_state "$(tables_job "$fail_runs/.slurm/smoke")")" = CANCELLED ] || fail "the tables job was not cancelled"
[ ! -e "$work/fail-results/smoke" ] || fail "tables were written from incomplete inputs"
grep -q "config_hash" "$fail_runs/smoke/random-init/seed0/logs/pretrain.log" || fail "the failed task's log lacks its error"
say "1. ok: failure reported, tables job cancelled, no tables written"

# --- 2. the smoke reproduction, one run killed and resubmitted ----------------------------------
runs=$work/runs
args=("${common[@]}" METHODS="$METHODS" PROBES="$PROBES" RUNS_DIR="$runs" RESULTS_DIR="$work/results"
      EVAL_FLAGS="$SMOKE_EVAL_FLAGS")
victim=selfpatch   # the slowest method: its 64 smoke steps take the longest to run past a checkpoint
case " $METHODS " in *" $victim "*) ;; *) victim=$(echo "$METHODS" | awk '{print $NF}') ;; esac
say "2. submitting the smoke reproduction ($METHODS; $PROBES); $victim will be killed mid-run"
t0=$(date +%s)
$make "${args[@]}" reproduce-all
victim_dir=$runs/smoke/$victim/seed0
victim_task=$(awk -v o="$victim_dir/encoder.h5" '$2 == o {print $1}' "$runs/.slurm/smoke/latest/tasks")
for _ in $(seq 6000); do
    ls "$victim_dir"/checkpoints/step-*.h5 >/dev/null 2>&1 && break
    [ -e "$victim_dir/encoder.h5" ] && fail "$victim finished before a kill could catch it mid-run"
    sleep 0.1
done
[ -e "$victim_dir/encoder.h5" ] && fail "$victim finished before a kill could catch it mid-run"
scancel "$victim_task"
say "2. scancel $victim_task after $(ls "$victim_dir/checkpoints")"
wait_idle
first_tables=$(tables_job "$runs/.slurm/smoke")
[ "$(job_state "$first_tables")" = CANCELLED ] || fail "the tables job ran with $victim's run unfinished"
[ ! -e "$work/results/smoke" ] || fail "tables were written from incomplete inputs"
[ ! -e "$victim_dir/encoder.h5" ] || fail "$victim ran to the end despite scancel"
status=$($make -s "${args[@]}" status)
echo "$status" | sed 's/^/  /'
grep -E "^$victim/seed0 +step [0-9]+/64( \(checkpoint [0-9]+\))?, (cancelled|interrupted)" <<<"$status" >/dev/null \
    || fail "status does not show $victim as stopped at a checkpoint"

say "2. resubmitting"
$make "${args[@]}" reproduce-all SLURM_WAIT=1 || fail "the resubmission did not complete"
grep -q "resumed from step" "$victim_dir/logs/pretrain.log" || fail "$victim did not resume from its checkpoint"
resubmitted=$(grep -c . "$runs/.slurm/smoke/latest/tasks")
say "2. the resubmission ran $resubmitted tasks (the killed run, its evaluations, the tables)"
status=$($make -s "${args[@]}" status)
n=$(( $(echo "$METHODS" | wc -w) * (1 + $(echo "$PROBES" | wc -w)) ))
grep -q "^done: $n of $n " <<<"$status" || { echo "$status"; fail "not everything is done"; }
plan=$($make -s "${args[@]}" plan | grep "still to do")
grep -q ": 0 of $(echo "$METHODS" | wc -w) pretraining runs and 0 of $(( n - $(echo "$METHODS" | wc -w) )) evaluations, ~0 min" <<<"$plan" \
    || fail "make plan does not count the finished reproduction as done: $plan"
say "2. slurm smoke reproduction took $(( $(date +%s) - t0 )) s"

# Every evaluation equals the local smoke-check's, apart from how and where it ran.
strip() { grep -vE '^ *"(wall_seconds|threads|git_commit|git_dirty)" :' "$1"; }
compared=0
for m in $METHODS; do
    for p in $PROBES; do
        a=$smoke/smoke/$m/seed0/eval/$p.json b=$runs/smoke/$m/seed0/eval/$p.json
        diff <(strip "$a") <(strip "$b") >/dev/null || { diff <(strip "$a") <(strip "$b") | head -20; fail "$b differs from $a"; }
        compared=$((compared + 1))
    done
done
say "2. $compared evaluation files equal to the local ones (metrics, protocol, encoder digests)"
# Tables: byte-identical, except what a clock measured: provenance (wall times, threads, peak
# memory), pretraining images/s (pretrain.md, plots/speed-*.svg) and the speed claims computed
# from them. Those files are compared with the clocked figures cut out.
local_v=$work/local-results/smoke/v1 slurm_v=$work/results/smoke/v1
[ -d "$slurm_v" ] || fail "no tables in $slurm_v"
clocked='provenance.*|speed-*.svg|pretrain.md|claims.md|results.json'
diff -r -x 'provenance.*' -x 'speed-*.svg' -x pretrain.md -x claims.md -x results.json "$local_v" "$slurm_v" \
    || fail "tables differ from the local smoke-check's"
identical=$(find "$slurm_v" -type f ! -name 'provenance.*' ! -name 'speed-*.svg' ! -name pretrain.md ! -name claims.md ! -name results.json | wc -l)
without_speed_claims() { grep -v '_speed |' "$1"; }
without_images_per_second() { awk -F'|' -v OFS='|' '/images_per_second/ { for (i = 1; i <= NF; i++) if ($i ~ /images_per_second/) c = i } c && /^\|/ { $c = "" } { print }' "$1"; }
unclocked_json() {   # results.json without images_per_second blocks and speed claims
    awk 'skip != "" { if ($0 ~ "^" skip "}") skip = ""; next }
         /"images_per_second" *: *\{/ { match($0, /^ */); skip = substr($0, 1, RLENGTH); next }
         /^    \{$/ { buf = $0 ORS; inobject = 1; next }
         inobject { buf = buf $0 ORS; if ($0 ~ /^    \},?$/) { inobject = 0; if (buf !~ /_speed"/) printf "%s", buf }; next }
         { print }' "$1"
}
diff <(without_speed_claims "$local_v/claims.md") <(without_speed_claims "$slurm_v/claims.md") || fail "claims.md differs beyond the speed claims"
diff <(unclocked_json "$local_v/results.json") <(unclocked_json "$slurm_v/results.json") || fail "results.json differs beyond images/s and speed claims"
for f in "$local_v"/tables/smoke/*/pretrain.md; do
    diff <(without_images_per_second "$f") <(without_images_per_second "$slurm_v/${f#"$local_v"/}") || fail "$f differs beyond images/s"
done
say "2. tables equal to the local runs' tables: $identical files byte-identical; claims.md, results.json, pretrain.md equal without the clocked figures ($clocked)"
say "ok ($(( $(date +%s) - started )) s)"
