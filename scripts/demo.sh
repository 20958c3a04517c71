#!/usr/bin/env bash
# The main job: installs what is needed, builds, and runs the two-node demo in network namespaces: each node's
# agent supervises the embedded proxy engine, a client requests through the shared IP (first election, traffic
# through the engine, config sync of a valid and an invalid edit, planned failover both ways, kill -9 of the
# primary's agent, a node going down, the old primary back without preemption), then prints a table of what
# was measured. LAB_NO_BUILD=1 LAB_BIN=DIR runs prebuilt binaries from DIR instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/lab.sh demo "$@"
