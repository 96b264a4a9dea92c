#!/usr/bin/env bash
# Builds patchbench-fuzz with libFuzzer and runs each target for FUZZ_SECONDS (make fuzz;
# Documentation/fuzzing.md). Everything it writes stays under .build-fuzz/: the committed seeds
# are copied to a scratch corpus first, and crash inputs land in .build-fuzz/crashes/<target>/.
# Exit status: non-zero if any target crashed (or the build failed).
set -u
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-"idx cifar-binary pickle tar gzip coco-json png jpeg budget-json claims-json"}
build=.build-fuzz

# -sanitize=fuzzer instruments the Swift code; -fsanitize=fuzzer-no-link the package's C (PNGRead).
swift build -c release --build-path "$build" --product patchbench-fuzz \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link || exit 1
binary="$build/release/patchbench-fuzz"

failed=0
printf '%-13s %12s %8s %8s %8s\n' target executions cov ft crashes
for target in $targets; do
    if [ ! -d "Fuzz/Corpus/$target" ]; then echo "$target: no Fuzz/Corpus/$target (unknown target?)"; failed=1; continue; fi
    corpus="$build/corpus/$target"
    crashes="$build/crashes/$target"
    log="$build/logs/$target.log"
    rm -rf "$corpus" "$crashes"
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    cp "Fuzz/Corpus/$target"/* "$corpus"/
    # -timeout: an input taking over 10 s counts as a hang; crash/timeout/oom files go to $crashes.
    # The Swift runtime's backtracer is off so that libFuzzer's signal handler saves the input;
    # replaying it in a normal build gives the Swift backtrace.
    SWIFT_BACKTRACE=enable=no PATCHBENCH_FUZZ_TARGET="$target" "$binary" "$corpus" -max_total_time="$seconds" -timeout=10 \
        -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
    status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    found=$(find "$crashes" -type f | wc -l)
    printf '%-13s %12s %8s %8s %8s\n' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$found"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed=1
        echo "  $target: libFuzzer exit $status; log $log; inputs in $crashes/ (replay: swift build --product patchbench-fuzz && .build/release/patchbench-fuzz $target <file>)"
    fi
done
exit $failed
