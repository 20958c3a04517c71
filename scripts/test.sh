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

step "swift test"
status=0
# Bounded: a hung test fails the run in 15 minutes instead of eating CI's 90.
if [ "$quick" = 1 ]; then
    timeout --kill-after=10 900 swift test -c release --skip-build --skip FailoverSimTests || status=1
else
    timeout --kill-after=10 900 swift test -c release --skip-build || status=1
fi
[ "$status" = 0 ] || echo "swift test failed or did not finish within 15 minutes"

step "fuzz corpora and every crash ever found, replayed (failover-fuzz replay)"
for target in datagram sync toml proxyconfig httphead; do
    mapfile -t inputs < <(find "Fuzz/corpus/$target" "Fuzz/regressions/$target" -type f 2>/dev/null | sort)
    [ ${#inputs[@]} -gt 0 ] || { echo "no inputs for $target"; status=1; continue; }
    .build/release/failover-fuzz replay "$target" "${inputs[@]}" || status=1
done

step "fuzzing: each target 30 s from the committed corpus (scripts/fuzz.sh)"
bash scripts/fuzz.sh all "${FUZZ_SECONDS:-30}" || status=1

step "systemd-analyze verify (the unit, pointed at the built binary)"
if command -v systemd-analyze >/dev/null; then
    unit_dir=$(mktemp -d)
    sed "s|/usr/sbin/failover-agent|$PWD/.build/release/failover-agent|" deploy/systemd/failover-agent.service \
        >"$unit_dir/failover-agent.service"
    systemd-analyze verify --man=no "$unit_dir/failover-agent.service" || status=1
    rm -rf "$unit_dir"
else
    echo "skipped: systemd-analyze not installed (apt install systemd)"
fi

step "differential tests against HAProxy 2.6: the test configs and the engine-accepted files of ../shared/haproxy-configs (scripts/differential.sh)"
bash scripts/differential.sh || status=1

step "end-to-end tests (two nodes in network namespaces)"
if [ "$(id -u)" = 0 ]; then
    LAB_BUILD=release bash tests/e2e/e2e.sh || status=1
else
    echo "skipped: the end-to-end tests need root (network namespaces); run: sudo bash scripts/test.sh"
fi

step "security scenarios: forged, replayed, tampered, third-address, oversized and flood datagrams, bad sync frames, control-socket callers (scripts/security.sh)"
if [ "$(id -u)" = 0 ]; then
    SECURITY_NO_BUILD=1 bash scripts/security.sh || status=1
else
    echo "skipped: the security scenarios need root; run: sudo bash scripts/test.sh"
fi
exit $status
