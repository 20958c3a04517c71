#!/usr/bin/env bash
# Installs what the tests need (idempotent) and runs every test: format lint, then the whole Swift test suite
# in release mode (the simulator's 500-seed batch needs optimised code to fit in two minutes).
#
#   bash scripts/test.sh            # everything: lint, Swift tests, end-to-end tests in network namespaces
#   bash scripts/test.sh --quick    # skip the slow simulator batch (FailoverSimTests)
#   FUZZ_SECONDS=5 bash scripts/test.sh   # shorter fuzzing (default 30 s per target)
#
# The end-to-end tests need root (network namespaces); without root they are skipped with a notice.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

quick=0
[ "${1:-}" = "--quick" ] && quick=1

require_swift
install_packages pkg-config libsystemd-dev iproute2 curl util-linux nftables python3 procps nginx-light wrk haproxy

step "swift format lint --strict"
swift format lint --strict -r Sources Tests Package.swift

step "build (release, with tests)"
swift build -c release --build-tests

status=0
# Each step's outcome, printed again at the very end: CI shows the tail of the output, so a failure early in
# the run must be visible there too.
summary=()
outcome() {  # outcome NAME EXIT-CODE
    if [ "$2" = 0 ]; then summary+=("ok      $1"); else summary+=("FAILED  $1 (exit $2)"); status=1; fi
}

step "swift test"
# Bounded: a hung test fails the run in 15 minutes instead of eating CI's 90.
code=0
mkdir -p lab-run
skip=()
[ "$quick" = 1 ] && skip=(--skip FailoverSimTests)
timeout --kill-after=10 900 swift test -c release --skip-build "${skip[@]}" 2>&1 | tee lab-run/swift-test.log || code=$?
[ "$code" = 0 ] || echo "swift test failed or did not finish within 15 minutes"
outcome "swift test" "$code"
if [ "$code" != 0 ]; then
    # The failing tests' lines, for the summary at the end.
    while IFS= read -r line; do summary+=("        $line"); done < <(grep -aE '✘|error:|XCTAssert|failed \(' lab-run/swift-test.log | grep -v '^✘ Suite' | head -n 12 | cut -c1-300)
fi

step "fuzz corpora and every crash ever found, replayed (failover-fuzz replay)"
for target in datagram sync toml proxyconfig httphead; do
    mapfile -t inputs < <(find "Fuzz/corpus/$target" "Fuzz/regressions/$target" -type f 2>/dev/null | sort)
    [ ${#inputs[@]} -gt 0 ] || { echo "no inputs for $target"; outcome "fuzz replay $target (no inputs)" 1; continue; }
    code=0
    .build/release/failover-fuzz replay "$target" "${inputs[@]}" || code=$?
    outcome "fuzz replay $target" "$code"
done

step "fuzzing: each target 30 s from the committed corpus (scripts/fuzz.sh)"
code=0
bash scripts/fuzz.sh all "${FUZZ_SECONDS:-30}" || code=$?
outcome "fuzzing (scripts/fuzz.sh; a crash is in lab-run/fuzz/crashes)" "$code"
if [ "$code" != 0 ]; then
    for log in lab-run/fuzz/*.log; do
        while IFS= read -r line; do summary+=("        $(basename "$log"): $line"); done \
            < <(grep -aE '==ERROR|SUMMARY|Fatal error|deadly signal|Test unit written' "$log" | head -n 4 | cut -c1-240)
    done
    for crash in lab-run/fuzz/crashes/*; do
        [ -f "$crash" ] && summary+=("        $crash: $(head -c 300 "$crash" | od -An -tx1 | tr -d '\n' | cut -c1-200)")
    done
fi

step "systemd-analyze verify (the unit, pointed at the built binary)"
if command -v systemd-analyze >/dev/null; then
    unit_dir=$(mktemp -d)
    sed "s|/usr/sbin/failover-agent|$PWD/.build/release/failover-agent|" deploy/systemd/failover-agent.service \
        >"$unit_dir/failover-agent.service"
    code=0
    systemd-analyze verify --man=no "$unit_dir/failover-agent.service" || code=$?
    outcome "systemd-analyze verify" "$code"
    rm -rf "$unit_dir"
else
    echo "skipped: systemd-analyze not installed (apt install systemd)"
fi

step "differential tests against HAProxy 2.6: the test configs and the engine-accepted files of ../shared/haproxy-configs (scripts/differential.sh)"
code=0
bash scripts/differential.sh || code=$?
outcome "differential tests against HAProxy" "$code"

step "end-to-end tests (two nodes in network namespaces)"
if [ "$(id -u)" = 0 ]; then
    code=0
    LAB_BUILD=release bash tests/e2e/e2e.sh || code=$?
    outcome "end-to-end tests" "$code"
else
    echo "skipped: the end-to-end tests need root (network namespaces); run: sudo bash scripts/test.sh"
fi

step "security scenarios: forged, replayed, tampered, third-address, oversized and flood datagrams, bad sync frames, control-socket callers (scripts/security.sh)"
if [ "$(id -u)" = 0 ]; then
    code=0
    SECURITY_NO_BUILD=1 bash scripts/security.sh || code=$?
    outcome "security scenarios" "$code"
else
    echo "skipped: the security scenarios need root; run: sudo bash scripts/test.sh"
fi
step "summary"
printf '  %s\n' "${summary[@]}"
exit $status
