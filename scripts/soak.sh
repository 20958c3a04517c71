#!/usr/bin/env bash
# Soak in the serving lab (issue 8): MINUTES of load through the VIP with a planned failover every INTERVAL
# seconds and a synced side-file edit before each, checking the invariants all along:
# - VIP ownership on both nodes from `ip -ts monitor` events: never two holders longer than 100 ms;
# - every failover completes (the peer is primary within 5 s) and the config is in sync before each;
# - memory: the RSS of both agents and both engines, warm (after the first two failovers) against the end,
#   must grow less than 10 %.
# Load: wrk (4 connections, keep-alive) and the 10 ms probe client, both from the client namespace through
# http://VIP:8082/. Prints a table of figures; exits non-zero when an invariant fails. Bounded in time.
#
#   sudo bash scripts/soak.sh [--minutes 30] [--interval 60]
#   LAB_NO_BUILD=1 LAB_BIN=DIR sudo -E bash scripts/soak.sh ...   # prebuilt binaries from DIR, no build
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=soak
. scripts/lib/common.sh
. scripts/lib/lab.sh
. scripts/lib/servinglab.sh

minutes=30
interval=60
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        *) die "unknown option $1 (usage: soak.sh [--minutes N] [--interval SECONDS])" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "the soak needs root (network namespaces)"
install_packages iproute2 nftables python3 procps curl util-linux wrk
lab_build

trap serving_lab_cleanup EXIT
serving_lab_up
serving_lab_start $(( minutes * 60 + 120 ))
ip netns exec "$(lab_ns cl)" wrk -t1 -c4 -d"$(( minutes * 60 + 30 ))s" --timeout 2s "http://$VIP4:8082/" \
    >"$LAB_DIR/wrk.log" 2>&1 &
wrk_pid=$!
background+=("$wrk_pid")

start=$(now)
end=$(( $(date +%s) + minutes * 60 ))
failovers=0 completed=0 worst_handoff=0 out_of_sync=0 round=0
warm_a1=0 warm_a2=0 warm_e1=0 warm_e2=0
samples="$LAB_DIR/rss.log"
sample_rss() {  # one line: round agent1 agent2 engine1 engine2 (KiB)
    echo "$1 $(rss_kib "$(lab_agent_pid 1)") $(rss_kib "$(lab_agent_pid 2)") $(rss_kib "$(engine_pid 1)") $(rss_kib "$(engine_pid 2)")" >>"$samples"
}
while [ "$(date +%s)" -lt "$end" ]; do
    round=$((round + 1))
    next=$(( $(date +%s) + interval ))
    # An edit of the synced side file on the primary: the backup must have it before the failover.
    p=$(primary); b=$((3 - p))
    echo "round $round $(date -u +%T)" >>"$LAB_DIR/n$p/side/pages.txt"
    lab_wait 5 in_sync || { out_of_sync=$((out_of_sync + 1)); echo "  round $round: not in sync within 5 s"; }
    failovers=$((failovers + 1))
    took=
    if lab_ctl "$p" failover >"$LAB_DIR/failover.out" 2>&1 && lab_wait 5 role_is "$b" primary; then
        completed=$((completed + 1))
        took=$(grep -oE 'took [0-9.]+ms' "$LAB_DIR/failover.out" | grep -oE '[0-9]+' | head -1 || echo 0)
        [ "${took:-0}" -gt "$worst_handoff" ] && worst_handoff=$took
    else
        echo "  round $round: failover lb$p → lb$b did not complete: $(cat "$LAB_DIR/failover.out")"
    fi
    lab_wait 10 engine_ready "$p" || true
    sample_rss "$round"
    tail -1 "$samples" >"$samples.last"
    if [ "$round" = 2 ]; then read -r _ warm_a1 warm_a2 warm_e1 warm_e2 <"$samples.last"; fi
    echo "  round $round: lb$b primary, handoff ${took:-?} ms, RSS KiB (agent1 agent2 engine1 engine2): $(cut -d' ' -f2- "$samples.last")"
    while [ "$(date +%s)" -lt "$next" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
done
finish=$(now)
touch "$LAB_DIR/client.stop"
kill -INT "$wrk_pid" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$wrk_pid" 2>/dev/null || break; sleep 0.1; done

read -r dual none <<<"$(ownership "$start" "$finish" 1 0)"
read -r total ok outage <<<"$(client "$start" "$finish")"
wrk_requests=$(grep -oE '^ *[0-9]+ requests' "$LAB_DIR/wrk.log" | grep -oE '[0-9]+' || echo "?")
wrk_errors=$(grep -E 'Socket errors|Non-2xx' "$LAB_DIR/wrk.log" | tr -s ' ' | paste -sd ';' || true)
read -r _ a1 a2 e1 e2 <"$samples.last"
growth() { "$PY" -c "print(f'{100 * ($2 - $1) / max($1, 1):+.1f}')"; }
status=0
check() { if [ "$2" = pass ]; then echo "| $1 | pass | $3 |"; else echo "| $1 | FAIL | $3 |"; status=1; fi; }
echo
echo "| check | result | figures ($minutes min, a failover every $interval s) |"
echo "|---|---|---|"
check "failovers" "$([ "$completed" = "$failovers" ] && echo pass || echo fail)" "$completed/$failovers completed, slowest handoff $worst_handoff ms"
check "one holder" "$([ "$dual" -le 100 ] && echo pass || echo fail)" "longest dual holding $dual ms, longest no holder $none ms"
check "config in sync before each failover" "$([ "$out_of_sync" = 0 ] && echo pass || echo fail)" "$out_of_sync rounds out of sync"
check "client through the VIP" pass "$ok/$total ok ($("$PY" -c "print(f'{100 * $ok / max($total, 1):.2f}')") %), longest outage $outage ms; wrk: ${wrk_requests} requests${wrk_errors:+, $wrk_errors}"
rss_check() {  # rss_check LABEL WARM_KIB END_KIB
    local g; g=$(growth "$2" "$3")
    check "RSS $1" "$("$PY" -c "print('pass' if $g < 10 else 'fail')")" "$2 KiB warm → $3 KiB at the end ($g %)"
}
rss_check "agent lb1" "$warm_a1" "$a1"
rss_check "agent lb2" "$warm_a2" "$a2"
rss_check "engine lb1" "$warm_e1" "$e1"
rss_check "engine lb2" "$warm_e2" "$e2"
exit $status
