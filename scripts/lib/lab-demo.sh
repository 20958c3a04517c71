#!/usr/bin/env bash
# The main job, in the two-node lab: first election, traffic through the VIP, a planned failover each way,
# kill -9 of the primary's agent, its return without preemption. Prints a table of what the client saw.
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${LAB:-demo}
. scripts/lib/common.sh
. scripts/lib/lab.sh

[ "$(id -u)" = 0 ] || die "the demo needs root (network namespaces): run it with sudo"
require_swift
install_packages pkg-config libsystemd-dev iproute2 python3 procps bc curl
step "build ($LAB_BUILD)"
swift build -c "$LAB_BUILD" --product failover-agent >/dev/null
swift build -c "$LAB_BUILD" --product failoverctl >/dev/null

trap 'lab_teardown' EXIT
step "lab: namespaces $LAB-{br,n1,n2,cl}, links 192.0.2.0/24 and 198.51.100.0/24, VIP $VIP4"
lab_up_network
rm -rf "$LAB_DIR"
lab_write_configs
lab_start_responders
rows=()
row() { rows+=("$1|$2|$3"); printf '  %-34s %-44s %s\n' "$1" "$2" "$3"; }
now_ms() { "$PY" -c 'import time; print(f"{time.monotonic()*1000:.3f}")'; }
mac_of() { ip -n "$(lab_ns "$1")" link show eth0 | awk '/link\/ether/ {print $2}'; }
neighbour() { ip -n "$(lab_ns cl)" neigh show "$VIP4" | awk '{for (i=1;i<=NF;i++) if ($i=="lladdr") print $(i+1)}'; }
holder_is() { [ "$(lab_vip_holder)" = "$1" ]; }
has_vip() { case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac; return 1; }

step "start both agents at once"
t0=$(now_ms)
lab_start_agent 1
lab_start_agent 2
lab_wait 10 lab_vip_held || die "no node took the VIP within 10s; see $LAB_DIR/n*/agent.log"
t1=$(now_ms)
first=$(lab_vip_holder)
row "first election" "$first primary, $( [ "$first" = lb1 ] && echo lb2 || echo lb1) backup" \
    "VIP held $(printf '%.0f' "$(echo "$t1 - $t0" | bc)") ms after start"

ip netns exec "$(lab_ns cl)" "$PY" scripts/lib/probe.py "$VIP4" 8080 5 25 600 >"$LAB_DIR/probe.log" 2>/dev/null &
echo $! >"$LAB_DIR/probe.pid"
sleep 1.5
window() { "$PY" scripts/lib/gap.py "$LAB_DIR/probe.log" "$1" "$2"; }
read -r _ failed _ who <<<"$(window "$(echo "$(now_ms) - 1000" | bc)" "$(now_ms)")"
total=$(awk -v from="$(echo "$(now_ms) - 1000" | bc)" '$1 >= from' "$LAB_DIR/probe.log" | wc -l)
row "requests through the VIP (1 s)" "$(( total - failed ))/$total answered by $who" "probe every 5 ms"

planned() {
    local from=$1 expect=$2 label=$3 start out elapsed
    start=$(now_ms)
    out=$(lab_ctl "$from" failover 2>&1) || die "failover on lb$from failed: $out"
    lab_wait 5 holder_is "$expect" || die "VIP did not move to $expect"
    sleep 1
    read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
    elapsed=$(sed -n 's/.*(took \(.*\)))*$/\1/p' <<<"$out" | tr -d ')')
    row "$label" "$before → $after, failoverctl: took $elapsed" "client gap ${gap} ms, ${failed} failed probes"
}
planned 1 lb2 "failoverctl failover (on lb1)"
planned 2 lb1 "failoverctl failover (on lb2)"

primary=$(lab_vip_holder)
pnode=${primary#lb}
other=$(( 3 - pnode ))
start=$(now_ms)
lab_stop_agent "$pnode" KILL
lab_wait 5 has_vip "$other" || die "lb$other did not take over"
sleep 1.5
read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
row "kill -9 of $primary's agent" "$before → $after (lb$other took over)" "client gap ${gap} ms, ${failed} failed probes"

lab_start_agent "$pnode"
sleep 1
removed=NO
lab_wait 3 holder_is "lb$other" && removed=yes
role=$(lab_role "$pnode")
row "$primary back (priority 150, no preempt)" "$primary is $role, lb$other stays primary" "stale VIP removed: $removed (VIP on: $(lab_vip_holder))"
mac=$(neighbour)
row "client's neighbour entry for $VIP4" "$mac" "$( [ "$mac" = "$(mac_of "n$other")" ] && echo "= lb$other's MAC" || echo "≠ lb$other's MAC $(mac_of "n$other")")"

# Node down: the primary loses both links and its agent dies (a crashed host).
primary=$(lab_vip_holder)
pnode=${primary#lb}
other=$(( 3 - pnode ))
start=$(now_ms)
ip -n "$(lab_ns "n$pnode")" link set eth0 down
ip -n "$(lab_ns "n$pnode")" link set eth1 down
lab_stop_agent "$pnode" KILL
lab_wait 5 has_vip "$other" || die "lb$other did not take over"
sleep 1.5
read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
row "node down: $primary's links cut + agent killed" "$before → $after" "client gap ${gap} ms, ${failed} failed probes"
ip -n "$(lab_ns "n$pnode")" link set eth0 up
ip -n "$(lab_ns "n$pnode")" link set eth1 up
lab_start_agent "$pnode"
sleep 1.5
row "$primary back" "$primary is $(lab_role "$pnode"), lb$other is $(lab_role "$other")" "VIP on: $(lab_vip_holder)"

step "failoverctl status on both nodes"
for i in 1 2; do lab_ctl "$i" status || true; echo; done
step "failoverctl history on lb$other"
lab_ctl "$other" history || true

step "summary"
printf '| %s | %s | %s |\n' "step" "result" "figure"
printf '|---|---|---|\n'
for r in "${rows[@]}"; do IFS='|' read -r a b c <<<"$r"; printf '| %s | %s | %s |\n' "$a" "$b" "$c"; done
