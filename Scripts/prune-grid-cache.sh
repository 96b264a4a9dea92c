#!/usr/bin/env bash
# Removes a run's dense feature caches once every probe named has written its result file:
#     Scripts/prune-grid-cache.sh RUN_DIR PROBE...
# The eval commands of `make reproduce-all` (local and Slurm) end with it. The scene packs' token
# grids, which seg, det and patch-knn read, take ~1 GB per scene pack at tiny (5,000 scenes x 256
# tokens x 192 float32), ~2 GB a run: the ~57 runs of a tiny reproduction would keep ~110 GB.
# The pooled caches (cls, mean, lastk; ~50 MB a run) stay for a later linear or k-NN probe.
# Every eval writes its file before it calls this, so of evals running at once the last to
# finish sees all the files and prunes. Cache file names are made in EvalProtocol.swift:
# <pack>-<split>-<kind>-<encoder>.h5, whose dense kinds are grid and gridlastk<K>.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 RUN_DIR PROBE..." >&2; exit 2; }
run=$1
shift
for probe in "$@"; do
    [ -s "$run/eval/$probe.json" ] || exit 0
done
rm -f "$run"/features/*-grid*.h5
