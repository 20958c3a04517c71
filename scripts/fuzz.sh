#!/usr/bin/env bash
# Fuzzes one input of the agent with libFuzzer (swiftc -sanitize=fuzzer), starting from the committed seed
# corpus in Fuzz/corpus/TARGET, for SECONDS; prints executions and new coverage. A crash is saved to
# lab-run/fuzz/crashes/ and the run fails: copy the file to Fuzz/regressions/TARGET/ (scripts/test.sh
# replays every file there) and fix the code.
#
#   bash scripts/fuzz.sh TARGET SECONDS     # TARGET: datagram, sync, toml, proxyconfig, httphead, or all
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

targets=(datagram sync toml proxyconfig httphead)
target=${1:-}
seconds=${2:-30}
[ -n "$target" ] || die "usage: bash scripts/fuzz.sh TARGET SECONDS (TARGET: ${targets[*]} or all)"
[ "$target" = all ] && selected=("${targets[@]}") || selected=("$target")
for t in "${selected[@]}"; do
    [[ " ${targets[*]} " == *" $t "* ]] || die "unknown target $t (one of: ${targets[*]})"
done
require_swift
install_packages pkg-config libsystemd-dev
scratch=.build-fuzz
step "build failover-fuzz with libFuzzer ($scratch)"
swift build -c release --scratch-path "$scratch" --product failover-fuzz \
    -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
binary=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/failover-fuzz

work=lab-run/fuzz
mkdir -p "$work/crashes"
status=0
results=()
for t in "${selected[@]}"; do
    step "fuzz $t for ${seconds}s"
    mkdir -p "$work/corpus/$t"
    log=$work/$t.log
    # The work corpus grows across runs (lab-run is not committed); the seeds are read, never written.
    # SWIFT_BACKTRACE off: libFuzzer, not the Swift runtime, must catch a crash to save the input.
    if SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$t "$binary" -max_total_time="$seconds" -max_len=70000 -timeout=5 -rss_limit_mb=2048 \
        -artifact_prefix="$work/crashes/$t-" -print_final_stats=1 "$work/corpus/$t" "Fuzz/corpus/$t" >"$log" 2>&1; then
        outcome=ok
    else
        outcome="CRASH (see $log, input in $work/crashes/)"
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "$work/corpus/$t" -type f | wc -l)
    results+=("| $t | $seconds | ${runs:-?} | ${per_second:-?} | ${coverage:-?} | $corpus | $outcome |")
done
echo
echo "| target | seconds | executions | per second | coverage (edges) | corpus | result |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
exit $status
