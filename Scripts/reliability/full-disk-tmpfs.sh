#!/usr/bin/env bash
# A real full disk (root only): `convert` and `pretrain` into small tmpfs mounts of several
# sizes. After each failure the final names must hold the previous good file or none, no
# temporary file may remain, and the exit must be 1 with a message (never a signal).
# CI has no root: DiskFullTests does the same under a file-size limit (ulimit -f).
#   sudo Scripts/reliability/full-disk-tmpfs.sh [path/to/patchbench]
set -uo pipefail
cd "$(dirname "$0")/../.."
P=$(realpath "${1:-.build/release/patchbench}")
DATA=$(realpath datasets/default/fashion-mnist.h5)
MNT=$(mktemp -d /tmp/patchbench-tmpfs.XXXX)
failures=0
check() {  # what, status, folder
  local tmp; tmp=$(find "$3" -name '*.tmp*' | head -3)
  if [ "$2" -ge 128 ] || [ -n "$tmp" ]; then echo "  FAIL $1: status $2, temporaries: $tmp"; failures=$((failures + 1));
  else echo "  ok   $1: status $2"; fi
}
for size in 64k 1m 2m 3m 4m 8m; do
  mount -t tmpfs -o size=$size tmpfs "$MNT" || { echo "cannot mount tmpfs (root?)"; exit 2; }
  echo "tmpfs $size"
  "$P" convert idx --out "$MNT/fmnist.h5" > "$MNT/../convert-$size.log" 2>&1; s=$?
  check "convert idx ($(tail -c 160 "$MNT/../convert-$size.log" | tr '\n' ' '))" $s "$MNT"
  [ $s -ne 0 ] && [ -e "$MNT/fmnist.h5" ] && { echo "  FAIL a pack under the final name after a failure"; failures=$((failures + 1)); }
  "$P" pretrain --method mae --budget smoke --data "$DATA" --out "$MNT/run" --threads 1 --checkpoint-every 8 \
    --progress quiet > "$MNT/../pretrain-$size.log" 2>&1; s=$?
  check "pretrain mae smoke ($(tail -c 160 "$MNT/../pretrain-$size.log" | tr '\n' ' '))" $s "$MNT"
  if [ $s -ne 0 ]; then
    grep -q '"completed" : true' "$MNT/run/run.json" 2>/dev/null && { echo "  FAIL run.json claims completion"; failures=$((failures + 1)); }
    # What is left must resume to the end on a disk with space.
    rm -rf "$MNT.resume"; cp -r "$MNT/run" "$MNT.resume"
    kept=$(ls "$MNT.resume/checkpoints" | tr '\n' ' ')
    if "$P" pretrain --method mae --budget smoke --data "$DATA" --out "$MNT.resume" --threads 1 --checkpoint-every 8 \
         --progress quiet > /dev/null 2>&1; then echo "  ok   resumed elsewhere from [ $kept] to the end"
    else echo "  FAIL could not resume from [ $kept]"; failures=$((failures + 1)); fi
    rm -rf "$MNT.resume"
  fi
  ls -R "$MNT" | tr '\n' ' ' | cut -c1-300; echo
  umount "$MNT"
done
rmdir "$MNT"
echo "failures: $failures"
[ $failures -eq 0 ]
