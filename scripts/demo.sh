#!/usr/bin/env bash
# The main job. Installs what is needed, builds, and runs the two-node demo.
#
# Today the demo runs both nodes' real election cores and wire codec in the deterministic simulator
# (issue "Foundation"); the network demo with namespaces, a shared IP and failoverctl replaces it when the
# agent runtime lands (issue "The agent on a real network").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
require_swift
install_packages pkg-config

step "build (release)"
swift build -c release --product failover-sim

sim=.build/release/failover-sim
step "two nodes, seed 3: every role change with its reason (simulated network with faults)"
"$sim" --seed 3 --nodes 2 --seconds 40 --trace | grep -E ' (lb[12] (initializing|backup|primary|fault|maintenance) →|fault:|command|heal:)' | head -60
step "the same code over 200 seeds × 2 simulated minutes, every invariant checked after every event"
"$sim" --seeds 200 --seconds 120
