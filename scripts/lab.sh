#!/usr/bin/env bash
# The two-node lab on one machine: namespaces for two nodes and a client, two links, both agents running.
#
#   bash scripts/lab.sh up       # build, create the namespaces, start both agents and HTTP responders
#   bash scripts/lab.sh status   # failoverctl status on both nodes, and who holds the VIP
#   bash scripts/lab.sh demo     # the main job, with engines: election, config sync, planned failover, kill -9,
#                                # node down, return; prints a table (scripts/lib/lab-demo.sh)
#   bash scripts/lab.sh down     # stop everything and delete the namespaces
#
# LAB=name picks another prefix (default fa) so several labs can coexist; everything lives under lab-run/.
# LAB_NO_BUILD=1 LAB_BIN=DIR runs prebuilt binaries from DIR instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
. scripts/lib/lab.sh

[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces): run it with sudo"

build() {
    install_packages iproute2 curl python3 procps
    lab_build
}

up() {
    build
    step "namespaces $LAB-{br,n1,n2,cl}, two links"
    lab_up_network
    rm -rf "$LAB_DIR"
    lab_write_configs
    lab_start_responders
    lab_start_agent 1
    lab_start_agent 2
    lab_wait 10 lab_vip_held || die "no node took the VIP within 10s; see $LAB_DIR/n*/agent.log"
    echo "lab up: VIP $VIP4 on $(lab_vip_holder); logs in $LAB_DIR/n1/agent.log and n2/agent.log"
}

status() {
    local i
    for i in 1 2; do
        echo "--- node lb$i"
        lab_ctl "$i" status || true
    done
    echo "--- VIP $VIP4 on: $(lab_vip_holder)"
}

case "${1:-}" in
    up) up ;;
    down) lab_teardown; echo "lab down" ;;
    status) status ;;
    demo) shift; exec bash scripts/lib/lab-demo.sh "$@" ;;
    *) die "usage: $0 up|status|demo|down" ;;
esac
