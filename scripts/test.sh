#!/usr/bin/env bash
# Installs what the tests need (idempotent) and runs every test: format lint, then the whole Swift test suite
# in release mode (the simulator's 500-seed batch needs optimised code to fit in two minutes).
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --quick    # skip the slow simulator batch (FailoverSimTests)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

quick=0
[ "${1:-}" = "--quick" ] && quick=1

require_swift
install_packages pkg-config

step "swift format lint --strict"
swift format lint --strict -r Sources Tests Package.swift

step "build (release, with tests)"
swift build -c release --build-tests

step "swift test"
if [ "$quick" = 1 ]; then
    swift test -c release --skip-build --skip FailoverSimTests
else
    swift test -c release --skip-build
fi
