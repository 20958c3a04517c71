#!/usr/bin/env bash
# The main job, in the two-node serving lab (scripts/lib/servinglab.sh): each node's agent supervises the
# embedded proxy engine, which serves the node's backend (127.0.0.1:8081, answering the node's name) on the
# VIP, and a client in its own namespace requests http://VIP:8082/ every 5 ms. Steps: first election, traffic
# through the VIP, config sync (a valid edit on the primary reaches the backup's disk and engine; an invalid
# edit is refused and never leaves the primary), a planned failover each way, kill -9 of the primary's agent,
# its return without preemption, a node going down. Every wait is bounded and a step that does not hold stops
# the demo with the reason. Ends with a table of what was measured in this run.
set -euo pipefail
cd "$(dirname "$0")/../.."
LAB=${LAB:-demo}
. scripts/lib/common.sh
. scripts/lib/lab.sh
. scripts/lib/servinglab.sh

[ "$(id -u)" = 0 ] || die "the demo needs root (network namespaces): run it with sudo"
install_packages iproute2 python3 procps curl util-linux
lab_build

SECONDS=0
trap serving_lab_cleanup EXIT
step "lab: namespaces $LAB-{br,n1,n2,cl}, links 192.0.2.0/24 and 198.51.100.0/24, VIP $VIP4, an engine on each node"
serving_lab_up
rows=()
row() { rows+=("$1|$2|$3"); printf '  %-38s %-60s %s\n' "$1" "$2" "$3"; }
failed_probes() { if [ "$1" = 1 ]; then echo "1 failed probe"; else echo "$1 failed probes"; fi; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }   # the probe's clock (epoch)
mac_of() { ip -n "$(lab_ns "$1")" link show eth0 | awk '/link\/ether/ {print $2}'; }
neighbour() { ip -n "$(lab_ns cl)" neigh show "$VIP4" | awk '{for (i=1;i<=NF;i++) if ($i=="lladdr") print $(i+1)}'; }
holder_is() { [ "$(lab_vip_holder)" = "$1" ]; }
window() { "$PY" scripts/lib/gap.py "$LAB_DIR/probe.log" "$1" "$2"; }   # FROM TO → gap failed before after
answer() { ip netns exec "$(lab_ns cl)" curl -s --max-time 2 "http://$VIP4:$1/" || true; }   # the backend's name
listens() { case "$(lab_exec "n$1" ss -ltnH "sport = :$2")" in *LISTEN*) return 0 ;; esac; return 1; }
engine_listens() {  # NODE PORT: the socket listening on PORT belongs to the node's engine
    local pid; pid=$(engine_pid "$1")
    [ -n "$pid" ] && case "$(lab_exec "n$1" ss -ltnpH "sport = :$2")" in *"pid=$pid,"*) return 0 ;; esac
    return 1
}
not_status_says() { ! status_says "$@"; }
ready_backup() { role_is "$1" backup && engine_ready "$1"; }
newer_in_sync() { in_sync && [ "$(config_generation 1)" -gt "$1" ] 2>/dev/null; }
same_bytes() { cmp -s "$LAB_DIR/n1/proxy.cfg" "$LAB_DIR/n2/proxy.cfg"; }
own_config() { lab_ctl "$1" status 2>/dev/null | awk '/^  config:  generation/ {sub(/^  config: +/, ""); sub(/ · key.*/, ""); print; exit}'; }
peer_config() { lab_ctl "$1" status 2>/dev/null | awk '/^peer/ {p=1} p && /^  config:/ {sub(/^  config: +/, ""); print; exit}'; }
# Polls PREDICATE every 10 ms for at most SECONDS; prints the ms from START_NS (date +%s%N) to the first success.
took_ms() {
    local start=$1 deadline=$(( $1 + $2 * 1000000000 ))
    shift 2
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        if "$@"; then echo $(( ($(date +%s%N) - start) / 1000000 )); return 0; fi
        sleep 0.01
    done
    return 1
}

step "first election: lb1 starts, then lb2 once lb1 holds the VIP (both at once, the first ready engine wins: docs/runtime.md)"
serving_lab_start_pair
row "first election (lb1 started, then lb2)" "lb1 primary, lb2 backup, both engines ready, config in sync" \
    "VIP held $vip_after_ms ms after lb1's start; lb2 a ready backup $backup_after_ms ms after its start"

step "client: GET http://$VIP4:8082/ on a new TCP connection every 5 ms (25 ms timeout)"
ip netns exec "$(lab_ns cl)" "$PY" scripts/lib/probe.py "$VIP4" 8082 5 25 300 epoch >"$LAB_DIR/probe.log" 2>/dev/null &
echo $! >"$LAB_DIR/probe.pid"
sleep 1.5
to=$(now_ms)
from=$(( to - 1000 ))
read -r total ok by_lb1 <<<"$(awk -v from="$from" -v to="$to" '$1 >= from && $1 <= to {n++; if ($2 == 1) ok++; if ($3 == "lb1") one++}
    END {print n+0, ok+0, one+0}' "$LAB_DIR/probe.log")"
engine_listens 1 8082 || die "$VIP4:8082 on lb1 is not lb1's engine's socket: $(lab_exec n1 ss -ltnpH "sport = :8082")"
[ "$total" -gt 0 ] && [ "$by_lb1" = "$ok" ] && [ $(( ok * 100 )) -ge $(( total * 95 )) ] \
    || die "requests through the VIP: $ok/$total answered ($by_lb1 by lb1); see $LAB_DIR/probe.log"
row "requests through the VIP (1 s)" "$ok/$total answered by lb1's backend through lb1's engine" \
    "probe every 5 ms; $VIP4:8082 is the engine's socket (pid $(engine_pid 1))"

step "config sync: a valid edit on the primary (lb1's proxy.cfg gets a listener on $VIP4:8083)"
generation=$(config_generation 1)
start=$(now_ms)
t0=$(date +%s%N)
printf 'listen added\n    bind %s:8083\n    server a 127.0.0.1:8081\n' "$VIP4" >>"$LAB_DIR/n1/proxy.cfg"
on_disk=$(took_ms "$t0" 5 same_bytes) || die "lb1's edit did not reach lb2's disk within 5 s; see $LAB_DIR/n*/agent.log"
warm=$(took_ms "$t0" 5 listens 2 8083) || die "lb2's engine did not listen on $VIP4:8083 within 5 s of the edit; see $LAB_DIR/n2/agent.log"
both=$(took_ms "$t0" 5 newer_in_sync "$generation") \
    || die "the nodes do not serve the same new generation within 5 s of the edit (lb1 $(config_generation 1), lb2 $(config_generation 2))"
sleep 0.3
[ "$(answer 8083)" = lb1 ] || die "the client got no answer from lb1 on the new listener $VIP4:8083"
read -r gap failed _ _ <<<"$(window "$start" "$(now_ms)")"
generation=$(config_generation 1)
for i in 1 2; do lab_ctl "$i" status; echo; done
row "config edit on lb1 (a listener on VIP:8083)" "on lb2's disk ${on_disk} ms after the edit, lb2's engine listening on it at ${warm} ms" \
    "VIP:8083 answered by lb1; VIP:8082 through both reloads: client gap $gap ms, $(failed_probes "$failed")"
row "failoverctl status after the edit" "lb1: $(own_config 1); lb2: $(own_config 2)" \
    "lb1's line for its peer: $(peer_config 1); the same on both ${both} ms after the edit"

step "config sync: an invalid edit on lb1 (a keyword the engine does not know)"
cp "$LAB_DIR/n1/proxy.cfg" "$LAB_DIR/good.cfg"
cp "$LAB_DIR/n2/proxy.cfg" "$LAB_DIR/lb2-before.cfg"
start=$(now_ms)
t0=$(date +%s%N)
echo "bogus-keyword on" >>"$LAB_DIR/n1/proxy.cfg"
line=$(wc -l <"$LAB_DIR/n1/proxy.cfg")
refused=$(took_ms "$t0" 5 status_says 1 "fails the engine's check") \
    || die "lb1's status does not report the invalid edit within 5 s: $(lab_ctl 1 status 2>&1)"
error=$(lab_ctl 1 status | grep -m1 "fails the engine's check" | sed 's/^ *config: *//')
echo "  lb1's failoverctl status: $error"
shown=${error#*in use): }
shown=${shown//$PWD\//}
case "$shown" in *"n1/proxy.cfg:$line: 'bogus-keyword'"*) ;; *) die "the error does not name the file and line $line: $error" ;; esac
sleep 2   # about 20 times what the valid edit took to reach lb2
cmp -s "$LAB_DIR/n2/proxy.cfg" "$LAB_DIR/lb2-before.cfg" || die "the invalid edit changed lb2's proxy.cfg"
[ "$(config_generation 1)" = "$generation" ] && [ "$(config_generation 2)" = "$generation" ] \
    || die "the generation moved after an invalid edit (lb1 $(config_generation 1), lb2 $(config_generation 2), was $generation)"
[ "$(answer 8083)" = lb1 ] || die "lb1's engine stopped serving the last valid config after the invalid edit"
read -r gap failed _ _ <<<"$(window "$start" "$(now_ms)")"
row "invalid edit on lb1 (line $line)" "refused ${refused} ms after the edit: $shown" \
    "2 s later lb2's file unchanged, both still at generation $generation; client: $(failed_probes "$failed")"
cp "$LAB_DIR/good.cfg" "$LAB_DIR/n1/proxy.cfg"
lab_wait 5 not_status_says 1 "fails the engine's check" || die "lb1 still reports the invalid edit 5 s after the file was put back"
lab_wait 5 in_sync || die "the nodes are not in sync 5 s after lb1's file was put back"
echo "  file put back: lb1's status is clear, both at generation $(config_generation 1)"

# Restarts node NODE's agent and waits (bounded) until it is a ready backup, OTHER the primary, the VIP on OTHER
# only and the config in sync. Sets back (ms from the agent's start to a ready backup), note (the engine the
# killed agent left running, which the new agent stops first, drained connections) and gap/failed (the client).
rejoin() {
    local node=$1 other=$2 start t0 lines drained after
    lines=$(wc -l <"$LAB_DIR/n$node/agent.log")
    start=$(now_ms)
    t0=$(date +%s%N)
    lab_start_agent "$node"
    back=$(took_ms "$t0" 15 ready_backup "$node") || die "lb$node did not come back as a ready backup within 15 s ($(lab_role "$node"))"
    lab_wait 3 holder_is "lb$other" || die "the stale VIP stayed on lb$node (VIP on: $(lab_vip_holder))"
    role_is "$other" primary || die "lb$other is $(lab_role "$other") after lb$node came back, not primary"
    lab_wait 5 in_sync || die "lb$node is back but the nodes are not in sync within 5 s"
    sleep 0.5
    read -r gap failed _ after <<<"$(window "$start" "$(now_ms)")"
    [ "$after" = "lb$other" ] || die "after lb$node came back the client is answered by $after, not lb$other"
    drained=$(tail -n +"$(( lines + 1 ))" "$LAB_DIR/n$node/agent.log" | grep -m1 -o 'draining connections=[0-9]*' | cut -d= -f2 || true)
    note=""
    if [ -n "$drained" ]; then
        note=" (the engine the killed agent left drained $drained open connection$([ "$drained" = 1 ] || echo s) first)"
    fi
}

planned() {
    local from=$1 expect=$2 label=$3 start out elapsed gap failed before after
    start=$(now_ms)
    out=$(lab_ctl "$from" failover 2>&1) || die "failoverctl failover on lb$from failed: $out"
    lab_wait 5 holder_is "$expect" || die "the VIP did not move to $expect within 5 s (on: $(lab_vip_holder))"
    sleep 1
    read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
    [ "$after" = "$expect" ] || die "after the failover the client is answered by $after, not $expect"
    elapsed=$(sed -n 's/.*(took \(.*\)))*$/\1/p' <<<"$out" | tr -d ')')
    row "$label" "$before → $after, failoverctl: took $elapsed" "client gap ${gap} ms, $(failed_probes "$failed")"
}
step "planned failover both ways"
planned 1 lb2 "failoverctl failover (on lb1)"
[ "$(answer 8083)" = lb2 ] || die "the synced listener $VIP4:8083 does not answer on lb2 after the failover"
row "the synced listener on the new primary" "VIP:8083 answered by lb2's backend through lb2's engine" \
    "config generation $(config_generation 2) on lb2, edited on lb1"
planned 2 lb1 "failoverctl failover (on lb2)"

step "kill -9 of the primary's agent (its engine keeps running until the agent is back)"
primary=$(lab_vip_holder)
pnode=${primary#lb}
other=$(( 3 - pnode ))
start=$(now_ms)
lab_stop_agent "$pnode" KILL
lab_wait 5 has_vip "$other" || die "lb$other did not take over within 5 s"
sleep 1.5
read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
[ "$after" = "lb$other" ] || die "after the takeover the client is answered by $after, not lb$other"
row "kill -9 of $primary's agent" "$before → $after (lb$other took over)" "client gap ${gap} ms, $(failed_probes "$failed")"

rejoin "$pnode" "$other"
row "$primary back (priority 150, no preempt)" "$primary is backup, its engine ready $back ms after its start$note; lb$other stays primary" \
    "stale VIP removed (VIP on: $(lab_vip_holder)); client gap $gap ms, $(failed_probes "$failed")"
mac=$(neighbour)
[ "$mac" = "$(mac_of "n$other")" ] || die "the client's neighbour entry for $VIP4 is '$mac', not lb$other's MAC $(mac_of "n$other")"
row "client's neighbour entry for $VIP4" "$mac" "= lb$other's MAC"

step "node down: the primary loses both links and its agent dies (a crashed host)"
primary=$(lab_vip_holder)
pnode=${primary#lb}
other=$(( 3 - pnode ))
start=$(now_ms)
ip -n "$(lab_ns "n$pnode")" link set eth0 down
ip -n "$(lab_ns "n$pnode")" link set eth1 down
lab_stop_agent "$pnode" KILL
lab_wait 5 has_vip "$other" || die "lb$other did not take over within 5 s"
sleep 1.5
read -r gap failed before after <<<"$(window "$start" "$(now_ms)")"
[ "$after" = "lb$other" ] || die "after the takeover the client is answered by $after, not lb$other"
row "node down: $primary's links cut + agent killed" "$before → $after" "client gap ${gap} ms, $(failed_probes "$failed")"
ip -n "$(lab_ns "n$pnode")" link set eth0 up
ip -n "$(lab_ns "n$pnode")" link set eth1 up
rejoin "$pnode" "$other"
row "$primary back (links up, agent started)" "$primary is backup, its engine ready $back ms after its start$note; lb$other is primary" \
    "VIP on: $(lab_vip_holder); config generation $(config_generation "$pnode") on both; client gap $gap ms, $(failed_probes "$failed")"
lab_stop_pidfile "$LAB_DIR/probe.pid"   # before the teardown, whose engine stops it would see

step "failoverctl status on both nodes"
for i in 1 2; do lab_ctl "$i" status || true; echo; done
step "failoverctl history on lb$other, and its kept config versions"
lab_ctl "$other" history || true
lab_ctl "$other" history --config || true

step "summary ($(date -u +%F); the demo took ${SECONDS} s, lab setup included)"
printf '| %s | %s | %s |\n' "step" "result" "figure"
printf '|---|---|---|\n'
for r in "${rows[@]}"; do IFS='|' read -r a b c <<<"$r"; printf '| %s | %s | %s |\n' "$a" "$b" "$c"; done
