#!/bin/bash
# Choose the fine-tuning probe's base learning rate without the test split.
#
#   Scripts/choose_finetune_recipe.sh RUN_DIR [RUN_DIR ...]
#
# For every run directory (its encoder.h5) and every blr in BLRS, `patchbench eval finetune`
# fine-tunes on the default labelled budget drawn from the train images before the last HOLDOUT
# (default 10,000) and scores those last ones (--holdout), never the test split. The
# metrics files go to OUT/<method>-seed<S>/blr<B>.json (existing ones are kept) and a table of
# held-out top-1 is printed. Documentation/evaluation.md "Fine-tuning" records the run that set
# the default (FineTuning.Configuration.baseLearningRate).
#
# Environment: BLRS (default "1e-3 3e-3 1e-2 3e-2"), HOLDOUT (10000), THREADS (1),
# OUT (/tmp/finetune-recipe), PATCHBENCH (.build/release/patchbench), DATA (the default pack).
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
BLRS=${BLRS:-"1e-3 3e-3 1e-2 3e-2"}
HOLDOUT=${HOLDOUT:-10000}
THREADS=${THREADS:-1}
OUT=${OUT:-/tmp/finetune-recipe}
PATCHBENCH=${PATCHBENCH:-.build/release/patchbench}
DATA=${DATA:-datasets/default/fashion-mnist.h5}
[ -x "$PATCHBENCH" ] || { echo "error: $PATCHBENCH not found; run make build" >&2; exit 1; }

names=()
for run in "$@"; do
  [ -f "$run/encoder.h5" ] || { echo "error: $run/encoder.h5 not found (a finished run directory is needed)" >&2; exit 1; }
  name=$(basename "$(dirname "$run")")-$(basename "$run")
  names+=("$name")
  mkdir -p "$OUT/$name"
  for blr in $BLRS; do
    file=$OUT/$name/blr$blr.json
    [ -f "$file" ] && continue
    echo "== $name blr $blr" >&2
    "$PATCHBENCH" eval finetune --checkpoint "$run/encoder.h5" --data "$DATA" --out "$file" \
      --holdout "$HOLDOUT" --finetune-blr "$blr" --threads "$THREADS" --progress lines >&2
  done
done

top1() { grep -o '"top1" *: *[0-9.]*' "$1" | head -1 | grep -o '[0-9.]*$'; }
printf "%-32s" "held-out top-1 (last $HOLDOUT train)"; for blr in $BLRS; do printf "%10s" "blr $blr"; done; echo
for name in "${names[@]}"; do
  printf "%-32s" "$name"
  for blr in $BLRS; do printf "%10.2f" "$(top1 "$OUT/$name/blr$blr.json")"; done; echo
done
