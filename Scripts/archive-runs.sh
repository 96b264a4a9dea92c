#!/usr/bin/env bash
# Copies the records of a budget's completed runs into a directory that outlives runs/:
#     Scripts/archive-runs.sh RUNS_DIR RECORDS_DIR BUDGET
# A record is what `patchbench tables` reads of a run (Documentation/results.md, "Input"):
# run.json, log.jsonl and eval/<probe>.json of every runs/<budget>/<method>/seed<k>/ whose
# run.json says "completed": true, and the budget's speed files (runs/speed/<budget>.json,
# runs/speed/<budget>-<method>.json). Encoders, checkpoints and feature caches stay behind, so
# a record is tens of kilobytes. RECORDS_DIR has runs/'s layout: `patchbench tables --runs
# RECORDS_DIR` builds the same tables from it as from runs/ (make smoke-check compares them).
#
# `make archive-runs` writes results/records/, which is committed: the project's runs are made on
# machines that may not be handed on, and what a results version was built from stays with it.
# A file already archived is left alone when equal and reported when not (a re-run probe whose
# bits moved, e.g. the linear probe under another OpenBLAS kernel); the archived one is kept
# and the script exits 1 after copying everything else; a run whose run.json differs from the
# archived one (another config, or a run made again after a change) adds none of its files.
# Each file is written to a temporary name and renamed, so an interrupted copy leaves no
# half-written record.
set -euo pipefail
. "$(dirname "$0")/slurm/run-progress.sh"
[ $# -eq 3 ] || { echo "usage: $0 RUNS_DIR RECORDS_DIR BUDGET" >&2; exit 2; }
runs=$1 records=$2 budget=$3
[ -d "$runs" ] || { echo "$0: $runs: no such runs directory" >&2; exit 2; }

copied=0 kept=0 differing=0
# archive SOURCE DESTINATION: copy one file unless an equal one is there already.
archive() {
    local source=$1 destination=$2
    if [ -e "$destination" ]; then
        if cmp -s "$source" "$destination"; then
            kept=$((kept + 1))
        else
            echo "$0: $destination differs from $source; the archived record is kept" >&2
            differing=$((differing + 1))
        fi
        return
    fi
    mkdir -p "$(dirname "$destination")"
    cp "$source" "$destination.tmp"
    mv "$destination.tmp" "$destination"
    copied=$((copied + 1))
}

shopt -s nullglob
for run in "$runs/$budget"/*/seed*/; do
    run=${run%/}
    run_completed "$run" || continue
    destination=$records/$budget/${run#"$runs/$budget/"}
    # run.json first: a record without it is skipped by `tables`, a record with it is whole.
    # A run that is not the archived one (another config, an earlier code's run) adds nothing to it.
    before=$differing
    archive "$run/run.json" "$destination/run.json"
    [ "$differing" -eq "$before" ] || continue
    if [ -f "$run/log.jsonl" ]; then archive "$run/log.jsonl" "$destination/log.jsonl"; fi
    for evaluation in "$run"/eval/*.json; do
        archive "$evaluation" "$destination/eval/$(basename "$evaluation")"
    done
done
for speed in "$runs/speed/$budget.json" "$runs/speed/$budget"-*.json; do
    if [ -f "$speed" ]; then archive "$speed" "$records/speed/$(basename "$speed")"; fi
done
echo "archive-runs: $budget: $copied files copied, $kept already archived, $differing differing (into $records)"
[ "$differing" -eq 0 ]
