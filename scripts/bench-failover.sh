#!/usr/bin/env bash
# Failover benchmark in the two-node lab: failover-agent at its default timers, and keepalived (Debian
# package, VRRP unicast) at its default advert_int 1 and tuned VRRPv3 advert_int 0.1, in the same lab and run.
#
# Scenarios, TRIALS each, the trigger at a random phase of the heartbeat cycle, a client probing the VIP
# every 5 ms (new TCP connection, 10 ms timeout, PROBE_TIMEOUT_MS to change):
#   node-down  the primary's links are cut and its agent killed
#   kill-9     the primary's agent is killed (kill -9) alone
#   planned    failover-agent: `failoverctl failover`; keepalived (no such command): SIGTERM of the master
# Prints median, p90 and max of the client's outage and of trigger → VIP on the backup (`ip monitor`), and
# whether two nodes ever held the VIP during a planned switchover.
#
#   sudo bash scripts/bench-failover.sh [--trials 20] [--systems "agent keepalived-1s keepalived-0.1s"]
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=bench
. scripts/lib/common.sh
. scripts/lib/lab.sh

trials=20
systems="agent keepalived-1s keepalived-0.1s"
while [ $# -gt 0 ]; do
    case "$1" in
        --trials) trials=$2; shift 2 ;;
        --systems) systems=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "the benchmark needs root (network namespaces)"
require_swift
install_packages pkg-config libsystemd-dev iproute2 keepalived bc python3 procps
swift build -c release --product failover-agent >/dev/null
swift build -c release --product failoverctl >/dev/null
KEEPALIVED=$(command -v keepalived || echo /usr/sbin/keepalived)

results=$LAB_DIR/results.txt
trap 'sys_stop_all; lab_teardown' EXIT

mono_ms() { "$PY" -c 'import time; print(f"{time.monotonic()*1000:.3f}")'; }
has_vip() { case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac; return 1; }
holder() { lab_vip_holder; }
one_holder() { case "$(holder)" in lb1|lb2) return 0 ;; esac; return 1; }

# --- the systems under test -------------------------------------------------------------------------
keepalived_conf() {  # node advert_int version
    local i=$1 advert=$2 version=$3 other=$(( 3 - $1 ))
    cat <<CONF
global_defs {
    router_id lb$i
    vrrp_version $version
    enable_script_security
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $(( i == 1 ? 150 : 100 ))
    advert_int $advert
    unicast_src_ip 192.0.2.1$i
    unicast_peer {
        192.0.2.1$other
    }
    virtual_ipaddress {
        $VIP4/24 dev eth0
    }
}
CONF
}

sys_start() {  # node
    local i=$1
    case "$system" in
        agent) lab_start_agent "$i" ;;
        keepalived-*)
            local advert=${system#keepalived-}; advert=${advert%s}
            local version=2; [ "$advert" != 1 ] && version=3
            mkdir -p "$LAB_DIR/n$i/ka"
            keepalived_conf "$i" "$advert" "$version" >"$LAB_DIR/n$i/ka/keepalived.conf"
            # A killed instance leaves its pid files; keepalived would refuse to start ("already running").
            rm -f "$LAB_DIR/n$i/ka/keepalived.pid" "$LAB_DIR/n$i/ka/vrrp.pid"
            ip netns exec "$(lab_ns "n$i")" "$KEEPALIVED" -n -l -D -P -f "$LAB_DIR/n$i/ka/keepalived.conf" \
                -p "$LAB_DIR/n$i/ka/keepalived.pid" -r "$LAB_DIR/n$i/ka/vrrp.pid" \
                >>"$LAB_DIR/n$i/ka/log" 2>&1 &
            echo $! >"$LAB_DIR/n$i/agent.pid"
            disown $!
            ;;
    esac
}

sys_kill() {  # node signal: the process and (for keepalived) its VRRP child
    local i=$1 signal=$2 child
    if [ "$system" != agent ]; then
        child=$(cat "$LAB_DIR/n$i/ka/vrrp.pid" 2>/dev/null || true)
        [ -n "$child" ] && [ "$signal" = KILL ] && kill -KILL "$child" 2>/dev/null || true
    fi
    lab_stop_agent "$i" "$signal"
}

sys_stop_all() { local i; for i in 1 2; do sys_kill "$i" KILL 2>/dev/null || true; done; }

sys_planned() {  # move the role away from node $1
    local i=$1
    if [ "$system" = agent ]; then lab_ctl "$i" failover >/dev/null 2>&1 || true; else sys_kill "$i" TERM; fi
}

# --- one trial -----------------------------------------------------------------------------------------
trial() {  # scenario
    local scenario=$1 primary p o t0 wall0 tvip gap failed dual
    lab_wait 15 one_holder || { echo "no single holder before the trial ($(holder))" >&2; return 1; }
    primary=$(holder); p=${primary#lb}; o=$(( 3 - p ))
    # ip monitor on the backup: when does the VIP appear there?
    ip -n "$(lab_ns "n$o")" -ts monitor address >"$LAB_DIR/monitor.log" 2>/dev/null &
    local monitor=$!
    disown $monitor
    sleep 0.2
    # A random phase of the 50 ms heartbeat cycle (and of keepalived's advert cycle).
    sleep "0.0$(( RANDOM % 50 ))"
    t0=$(mono_ms); wall0=$(date +%s.%N)
    dual=0
    case "$scenario" in
        node-down)
            ip -n "$(lab_ns "n$p")" link set eth0 down
            ip -n "$(lab_ns "n$p")" link set eth1 down
            sys_kill "$p" KILL ;;
        kill-9) sys_kill "$p" KILL ;;
        planned) sys_planned "$p" & ;;
    esac
    local deadline=$(( $(date +%s) + 10 ))
    while ! has_vip "$o" && [ "$(date +%s)" -lt "$deadline" ]; do
        [ "$scenario" = planned ] && [ "$(holder)" = both ] && dual=1
        sleep 0.002
    done
    if [ "$scenario" = planned ]; then
        local end=$(( $(date +%s%N) + 300000000 ))
        while [ "$(date +%s%N)" -lt "$end" ]; do [ "$(holder)" = both ] && dual=1; sleep 0.005; done
    fi
    sleep 1
    kill "$monitor" 2>/dev/null || true
    tvip=$("$PY" - "$LAB_DIR/monitor.log" "$wall0" "$VIP4" <<'PY'
import datetime, sys
path, start, vip = sys.argv[1], float(sys.argv[2]), sys.argv[3]
for line in open(path):
    if f" {vip}/" in line and not line.startswith("Deleted") and "Deleted" not in line[:40]:
        stamp = line.split("]")[0].strip("[")
        t = datetime.datetime.fromisoformat(stamp).timestamp()
        print(f"{(t - start) * 1000:.1f}")
        break
else:
    print("nan")
PY
)
    read -r gap failed _ _ <<<"$("$PY" scripts/lib/gap.py "$LAB_DIR/probe.log" "$t0" "$(mono_ms)")"
    echo "$system $scenario $gap $tvip $dual" >>"$results"
    printf '  %-16s %-10s client outage %7.1f ms   trigger→VIP on backup %7s ms%s\n' "$system" "$scenario" "$gap" "$tvip" \
        "$( [ "$dual" = 1 ] && echo '   TWO HOLDERS' )"
    # Restore: links up, the stopped node back, wait until it settled (keepalived preempts back: wait for it).
    ip -n "$(lab_ns "n$p")" link set eth0 up
    ip -n "$(lab_ns "n$p")" link set eth1 up
    if [ "$scenario" != planned ] || [ "$system" != agent ]; then
        wait_gone "$p"
        # keepalived leaves the VIP on the interface of a killed instance and does not remove it when it
        # starts again (failover-agent does): clear it by hand so the next trial starts clean.
        [ "$system" != agent ] && ip -n "$(lab_ns "n$p")" addr del "$VIP4/24" dev eth0 2>/dev/null || true
        sys_start "$p"
    fi
    sleep 2
    [ "$system" != agent ] && sleep 3
    return 0
}

wait_gone() {
    local pid; pid=$(lab_agent_pid "$1" 2>/dev/null || true)
    [ -z "$pid" ] && return 0
    local n; for n in $(seq 1 100); do
        case "$(ps -o stat= -p "$pid" 2>/dev/null)" in ""|Z*) return 0 ;; esac; sleep 0.05
    done
}

step "lab $LAB: two nodes, a client probing $VIP4 every 5 ms"
lab_up_network
rm -rf "$LAB_DIR"
lab_write_configs
lab_start_responders
: >"$results"
ip netns exec "$(lab_ns cl)" "$PY" scripts/lib/probe.py "$VIP4" 8080 5 "${PROBE_TIMEOUT_MS:-10}" 7200 >"$LAB_DIR/probe.log" 2>/dev/null &
echo $! >"$LAB_DIR/probe.pid"
disown $!

for system in $systems; do
    step "$system: $trials trials × node-down, kill-9, planned"
    sys_start 1
    sys_start 2
    for scenario in node-down kill-9 planned; do
        for ((n = 1; n <= trials; n++)); do trial "$scenario" || true; done
    done
    sys_stop_all
    for i in 1 2; do ip -n "$(lab_ns "n$i")" addr del "$VIP4/24" dev eth0 2>/dev/null || true; done
    sleep 1
done

step "results ($trials trials each; milliseconds)"
"$PY" - "$results" <<'PY'
import math, sys
from collections import defaultdict
rows = defaultdict(list)
for line in open(sys.argv[1]):
    system, scenario, gap, tvip, dual = line.split()
    rows[(system, scenario)].append((float(gap), float(tvip), int(dual)))
def q(values, p):
    values = sorted(v for v in values if not math.isnan(v))
    if not values: return float("nan")
    return values[min(len(values) - 1, int(math.ceil(p * len(values))) - 1)]
print("| system | scenario | trials | outage median | outage p90 | outage max | trigger→VIP median | p90 | max | two holders |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (system, scenario), values in rows.items():
    gaps = [v[0] for v in values]; tv = [v[1] for v in values]; dual = sum(v[2] for v in values)
    print(f"| {system} | {scenario} | {len(values)} | {q(gaps,.5):.0f} | {q(gaps,.9):.0f} | {max(gaps):.0f} | "
          f"{q(tv,.5):.0f} | {q(tv,.9):.0f} | {max(x for x in tv if not math.isnan(x)) if any(not math.isnan(x) for x in tv) else float('nan'):.0f} | {dual} |")
PY
