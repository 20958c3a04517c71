#!/usr/bin/env bash
# The main job: installs what is needed, builds, and runs the two-node demo in network namespaces
# (first election, traffic through the shared IP, planned failover both ways, kill -9 of the primary's agent,
# a node going down, the old primary back without preemption), then prints a table of what a client saw.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/lab.sh demo "$@"
