#!/usr/bin/env bash
# Scripts/compare-runs.sh A B: the run trees A and B (runs/<budget>/<method>/seed<k>/, e.g. the
# smoke runs of two builds, `make cpu-check`) must hold the same runs with the same numbers. Every
# eval/<probe>.json of A must exist in B and equal it in everything but wall time, threads and
# commit (so their encoder_digest, a SHA-256 of the weights, and every metric to the last digit),
# and every log.jsonl its losses, terms and schedules step by step (all but wall time and images/s).
# Exit 1 with the first differences of each file that differs.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 RUNS_A RUNS_B" >&2; exit 2; }
a=$1 b=$2
[ -d "$a" ] && [ -d "$b" ] || { echo "compare-runs: $a or $b is not a folder" >&2; exit 2; }
strip_eval() { grep -vE '^ *"(wall_seconds|threads|git_commit|git_dirty|build_commit|build_dirty)" :' "$1"; }
strip_log() { sed -E 's/"images_per_sec":[^,}]*,?//; s/,?"wall_seconds":[^,}]*//' "$1"; }
compared=0 differ=0
while IFS= read -r f; do
    rel=${f#"$a"/}
    compared=$((compared + 1))
    if [ ! -e "$b/$rel" ]; then echo "compare-runs: $b/$rel is missing"; differ=$((differ + 1)); continue; fi
    case $rel in
        *.json) strip=strip_eval ;;
        *) strip=strip_log ;;
    esac
    if ! diff <($strip "$f") <($strip "$b/$rel") >/dev/null; then
        echo "compare-runs: $b/$rel differs from $f:"
        diff <($strip "$f") <($strip "$b/$rel") | head -6
        differ=$((differ + 1))
    fi
done < <(find "$a" \( -path '*/eval/*.json' -o -name log.jsonl \) -type f | LC_ALL=C sort)
[ $compared -gt 0 ] || { echo "compare-runs: no eval/*.json or log.jsonl under $a" >&2; exit 1; }
if [ $differ -gt 0 ]; then echo "compare-runs: $differ of $compared files differ"; exit 1; fi
echo "compare-runs: $compared files (evaluations and pretraining logs) of $b equal $a's"
