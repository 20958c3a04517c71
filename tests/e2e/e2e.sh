#!/usr/bin/env bash
# End-to-end tests of the agent on a real (namespaced) network, as root. Each scenario builds its own lab
# (namespaces e2e<N>-*), runs, checks, and tears everything down, also on failure. Bounded in time.
#
#   bash tests/e2e/e2e.sh              # every scenario
#   bash tests/e2e/e2e.sh kill9 sigterm  # some
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/common.sh
. scripts/lib/lab.sh
[ "$(id -u)" = 0 ] || die "the end-to-end tests need root (network namespaces)"

passed=0
failed=0
failures=()
current=""

expect() {  # expect "what" command...
    local what=$1; shift
    if "$@"; then
        passed=$((passed + 1)); echo "  ok   $current: $what"
    else
        failed=$((failed + 1)); failures+=("$current: $what"); echo "  FAIL $current: $what"
        for i in 1 2; do [ -f "$LAB_DIR/n$i/agent.log" ] && { echo "    --- lb$i log (tail)"; tail -8 "$LAB_DIR/n$i/agent.log" | sed 's/^/    /'; }; done
    fi
}

holder_is() { [ "$(lab_vip_holder)" = "$1" ]; }
not_both() { [ "$(lab_vip_holder)" != both ]; }
role_is() { [ "$(lab_role "$1")" = "$2" ]; }
has_vip() { case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac; return 1; }
lacks_vip() { ! has_vip "$1"; }
transitions() { lab_ctl "$1" history --json 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))'; }
rejected() { lab_ctl "$1" status --json | "$PY" -c "import json,sys; print(json.load(sys.stdin)['status']['rejected'].get('$2', 0))"; }

# Samples the holder every 10 ms for SECONDS; fails if both nodes ever held the VIP at once.
never_both_for() {
    local end=$(( $(date +%s%N) + $1 * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        [ "$(lab_vip_holder)" = both ] && return 1
        sleep 0.01
    done
    return 0
}

start_lab() {
    lab_up_network
    rm -rf "$LAB_DIR"
    lab_write_configs
}

start_pair() {
    lab_start_agent 1
    lab_start_agent 2
    lab_wait 5 holder_is lb1 && lab_wait 3 role_is 2 backup
}

run_scenario() {
    local name=$1 number=$2
    current=$name
    LAB="e2e$number"
    LAB_DIR=$PWD/lab-run/$LAB
    echo "--- $name"
    trap 'lab_teardown' RETURN
    start_lab
    "scenario_$name"
    lab_teardown
    trap - RETURN
}

scenario_start_together() {
    lab_start_agent 1
    lab_start_agent 2
    expect "no holder before one dead interval" holder_is none
    expect "never two holders while both start" never_both_for 1
    expect "lb1 (priority 150) holds the VIP" holder_is lb1
    expect "lb2 is backup" role_is 2 backup
}

scenario_planned_failover() {
    start_pair
    lab_ctl 1 failover >"$LAB_DIR/out" 2>&1 &
    local ctl=$!
    expect "never two holders during the switchover" never_both_for 1
    wait "$ctl"
    expect "failoverctl failover exits 0" test $? = 0
    expect "its output says who holds the VIP and how long it took" grep -q "lb2 is primary and holds the VIP (took" "$LAB_DIR/out"
    expect "lb2 holds the VIP" holder_is lb2
    lab_ctl 2 failover >/dev/null 2>&1
    expect "failover back from the other node" lab_wait 2 holder_is lb1
}

scenario_kill9() {
    start_pair
    lab_stop_agent 1 KILL
    expect "lb2 takes over within 1 s of kill -9" lab_wait 1 has_vip 2
    lab_start_agent 1
    expect "the restarted lb1 removes its stale VIP" lab_wait 2 lacks_vip 1
    expect "lb1 comes back as backup (no preemption)" lab_wait 2 role_is 1 backup
    expect "lb2 stays primary" holder_is lb2
}

scenario_sigterm() {
    start_pair
    local pid; pid=$(lab_agent_pid 1)
    kill -TERM "$pid"
    expect "never two holders during the clean stop" never_both_for 1
    expect "the agent exits within 3 s" lab_wait 3 sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]"
    expect "lb1 left no VIP behind" lacks_vip 1
    expect "lb2 holds the VIP" holder_is lb2
    expect "lb2 took over by the planned handoff" grep -q "planned handoff from lb1" "$LAB_DIR/n2/agent.log"
}

scenario_peer_restart() {
    start_pair
    local before; before=$(transitions 1)
    lab_stop_agent 2 KILL
    sleep 0.5
    lab_start_agent 2
    expect "lb2 comes back as backup" lab_wait 3 role_is 2 backup
    expect "lb1 kept the role throughout" test "$(transitions 1)" = "$before"
    expect "lb1 holds the VIP" holder_is lb1
}

scenario_one_link_down() {
    start_pair
    local before; before=$(transitions 2)
    ip -n "$(lab_ns br)" link set n1-1 down
    sleep 2
    expect "no role change with one of two links down" test "$(transitions 2)" = "$before"
    expect "lb1 still holds the VIP" holder_is lb1
    expect "status shows link 1 down" sh -c "'$LAB_BIN/failoverctl' status --socket '$LAB_DIR/n2/control.sock' | grep -q 'link 1 .*DOWN'"
    ip -n "$(lab_ns br)" link set n1-1 up
}

scenario_both_links_down() {
    start_pair
    ip -n "$(lab_ns br)" link set n1-0 down
    ip -n "$(lab_ns br)" link set n1-1 down
    expect "lb2 takes over when every link is silent" lab_wait 1 has_vip 2
    ip -n "$(lab_ns br)" link set n1-0 up
    ip -n "$(lab_ns br)" link set n1-1 up
    expect "after the partition heals exactly one holder remains within 1 s" lab_wait 1 holder_is lb2
    expect "the loser is backup" lab_wait 1 role_is 1 backup
}

scenario_vip_deleted() {
    start_pair
    ip -n "$(lab_ns n1)" addr del "$VIP4/24" dev eth0
    expect "a VIP deleted by hand is put back within 2 s" lab_wait 2 has_vip 1
    expect "and the log says so" grep -q "vanished from the interface while primary" "$LAB_DIR/n1/agent.log"
}

scenario_stale_vip() {
    # A stale VIP of a killed run is removed at start (scenario kill9). An address the agent did not add (a
    # VIP added by hand, or the node's own address written as a VIP) is never deleted: left, and reported.
    ip -n "$(lab_ns n2)" addr add "$VIP4/24" dev eth0
    start_pair
    expect "a VIP the agent did not add is left in place on the backup" has_vip 2
    expect "and reported with the fix" lab_wait 2 grep -q "the agent did not add it.*ip addr del" "$LAB_DIR/n2/agent.log"
    ip -n "$(lab_ns n2)" addr del "$VIP4/24" dev eth0
    expect "lb1 holds the VIP" lab_wait 2 holder_is lb1
    lab_ctl 1 failover >/dev/null 2>&1
    expect "a planned failover moves it to lb2" lab_wait 2 holder_is lb2
    lab_ctl 2 failover >/dev/null 2>&1
    expect "and back: lb2 removes the VIP it added" lab_wait 2 holder_is lb1
}

scenario_unbindable_links() {
    # local and peer swapped on lb1: no link can bind. Before, it heard nothing and claimed the VIP.
    python3 - "$LAB_DIR/n1/agent.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r'local = "([^"]+)"\npeer = "([^"]+)"', r'local = "\2"\npeer = "\1"', text))
PY
    lab_start_agent 1
    sleep 1.5
    expect "lb1 with no bound link does not claim the VIP" lacks_vip 1
    expect "its status says why" status_says 1 "no link is bound"
    expect "and the log names the link and the fix" grep -q "cannot bind link" "$LAB_DIR/n1/agent.log"
}

scenario_neighbour() {
    lab_start_responders
    start_pair
    lab_exec cl curl -s --max-time 1 "http://$VIP4:8080/" >/dev/null
    local mac1 mac2
    mac1=$(ip -n "$(lab_ns n1)" link show eth0 | awk '/ether/ {print $2}')
    mac2=$(ip -n "$(lab_ns n2)" link show eth0 | awk '/ether/ {print $2}')
    neighbour() { case "$(ip -n "$(lab_ns cl)" neigh show "$VIP4")" in *"lladdr $1"*) return 0 ;; esac; return 1; }
    expect "the client's neighbour entry is lb1's MAC" neighbour "$mac1"
    lab_ctl 1 failover >/dev/null
    expect "after a failover it moves to lb2's MAC within 1 s, without traffic" lab_wait 1 neighbour "$mac2"
    reaches_lb2() { case "$(ip netns exec "$(lab_ns cl)" curl -s --max-time 0.5 "http://$VIP4:8080/")" in lb2) return 0 ;; esac; return 1; }
    expect "the client reaches lb2 through the VIP" lab_wait 2 reaches_lb2
    sleep 0.4
    expect "and still does after the old primary's announcements would have ended" reaches_lb2
}

scenario_forged() {
    start_pair
    local before; before=$(transitions 1)
    lab_exec n1 "$PY" tests/e2e/forge.py capture eth0 192.0.2.12 7946 "$LAB_DIR/captured" \
        || { expect "captured a datagram" false; return; }
    lab_exec n2 "$PY" tests/e2e/forge.py send 192.0.2.12 192.0.2.11 7946 "$LAB_DIR/captured"
    lab_exec n2 "$PY" tests/e2e/forge.py wrongkey 192.0.2.12 192.0.2.11 7946 "$LAB_DIR/captured"
    lab_exec n2 "$PY" tests/e2e/forge.py junk 192.0.2.12 192.0.2.11 7946 40
    lab_exec cl "$PY" tests/e2e/forge.py send 192.0.2.50 192.0.2.11 7946 "$LAB_DIR/captured"
    sleep 0.3
    expect "a replayed heartbeat is rejected and counted" test "$(rejected 1 replay_duplicate)" -ge 1
    expect "a heartbeat with a bad tag is rejected and counted" test "$(rejected 1 bad_tag)" -ge 1
    expect "junk is rejected and counted" test "$(( $(rejected 1 bad_magic) + $(rejected 1 truncated) + $(rejected 1 length_mismatch) + $(rejected 1 oversized) ))" -ge 30
    expect "a datagram from a third address is rejected and counted" test "$(rejected 1 unexpected_source)" -ge 1
    expect "none of it changed the role" test "$(transitions 1)" = "$before"
    lab_exec n1 curl -s --max-time 2 http://127.0.0.1:9101/metrics >"$LAB_DIR/metrics" || true
    expect "the Prometheus endpoint counts rejections by link and reason" \
        grep -q 'failover_datagrams_rejected_total{link="0",reason="bad_tag"}' "$LAB_DIR/metrics"
    expect "and shows the role" grep -q 'failover_role{role="primary"} 1' "$LAB_DIR/metrics"
    expect "lb1 still holds the VIP" holder_is lb1
}

scenario_flood() {
    start_pair
    local before; before=$(transitions 2)
    lab_exec n2 "$PY" tests/e2e/forge.py junk 192.0.2.12 192.0.2.11 7946 50000 &
    local flood=$!
    expect "status answers during a flood of 50 000 junk datagrams" lab_wait 5 sh -c "'$LAB_BIN/failoverctl' status --socket '$LAB_DIR/n1/control.sock' >/dev/null"
    wait "$flood"
    sleep 0.5
    expect "the flood changed no role" test "$(transitions 2)" = "$before"
    expect "lb1 still holds the VIP" holder_is lb1
    expect "the junk was counted" test "$(( $(rejected 1 bad_magic) + $(rejected 1 truncated) + $(rejected 1 length_mismatch) + $(rejected 1 oversized) + $(rejected 1 dropped_backlog) ))" -ge 1000
}

scenario_control() {
    start_pair
    "$LAB_BIN/failoverctl" status --socket "$LAB_DIR/none.sock" >"$LAB_DIR/out" 2>&1
    expect "failoverctl with no agent exits 3" test $? = 3
    expect "and says so in one line" sh -c "grep -c . '$LAB_DIR/out' | grep -qx 1 && grep -q 'agent not running' '$LAB_DIR/out'"
    chmod 755 "$LAB_DIR" "$LAB_DIR/n1"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_BIN/failoverctl" failover --socket "$LAB_DIR/n1/control.sock" >"$LAB_DIR/out" 2>&1
    expect "an unprivileged caller gets exit 4" test $? = 4
    expect "and 'permission denied'" grep -q "permission denied" "$LAB_DIR/out"
    expect "and nothing changed" holder_is lb1
    "$LAB_BIN/failoverctl" maintenance on --socket "$LAB_DIR/n2/control.sock" >/dev/null
    expect "maintenance on the backup" role_is 2 maintenance
    "$LAB_BIN/failoverctl" failover --socket "$LAB_DIR/n1/control.sock" >"$LAB_DIR/out" 2>&1
    expect "a failover with the peer in maintenance fails with exit 1" test $? = 1
    expect "and names the reason" grep -q "in maintenance" "$LAB_DIR/out"
    "$LAB_BIN/failoverctl" maintenance off --socket "$LAB_DIR/n2/control.sock" >/dev/null
    expect "maintenance off" lab_wait 1 role_is 2 backup
    expect "status --json is valid JSON" sh -c "'$LAB_BIN/failoverctl' status --json --socket '$LAB_DIR/n1/control.sock' | '$PY' -m json.tool >/dev/null"
    "$LAB_BIN/failoverctl" reload --socket "$LAB_DIR/n1/control.sock" >"$LAB_DIR/out" 2>&1
    expect "reload says it changes no role" grep -q "no role change" "$LAB_DIR/out"
    expect "lb1 still holds the VIP after reload" holder_is lb1
}

scenario_witness() {
    rm -rf "$LAB_DIR"
    LAB_WITNESS=192.0.2.1 lab_write_configs
    start_pair
    expect "status shows the witness reachable" sh -c "'$LAB_BIN/failoverctl' status --socket '$LAB_DIR/n1/control.sock' | grep -q 'witness reachable'"
    # lb1 loses every path: no peer, no witness. It must let go, and lb2 (which still reaches the witness) take over.
    ip netns exec "$(lab_ns n1)" nft -f - <<'NFT'
table inet isolate {
    chain input { type filter hook input priority 0; policy drop; iifname "lo" accept; }
    chain output { type filter hook output priority 0; policy drop; oifname "lo" accept; }
}
NFT
    expect "the isolated primary releases the VIP within 1.5 s" lab_wait 2 lacks_vip 1
    expect "and goes to fault" lab_wait 1 role_is 1 fault
    expect "the peer, which reaches the witness, holds the VIP" lab_wait 1 has_vip 2
    ip netns exec "$(lab_ns n1)" nft delete table inet isolate
    expect "back on the network, lb1 becomes backup" lab_wait 3 role_is 1 backup
    expect "lb2 keeps the VIP" holder_is lb2
}

scenario_proxy_reload() {
    local cfg=$LAB_DIR/proxy.cfg
    mkdir -p "$LAB_DIR"
    printf 'listen web\n    bind 127.0.0.1:25100\n    server a 127.0.0.1:25101 check inter 200ms\n' >"$cfg"
    ip netns exec "$(lab_ns n1)" "$PY" tests/e2e/backends.py 30 a=25101 b=25102 &
    local backends=$!
    disown "$backends"
    ip netns exec "$(lab_ns n1)" "$LAB_BIN/failover-agent" proxy --config "$cfg" >"$LAB_DIR/proxy.log" 2>&1 &
    local pid=$!
    disown "$pid"
    echo "$pid" >"$LAB_DIR/n1/agent.pid"
    answer() { lab_exec n1 "$PY" -c "import socket; s=socket.create_connection(('127.0.0.1',25100),timeout=1); print(s.recv(10).decode())" 2>/dev/null; }
    answers() { [ "$(answer)" = "$1" ]; }
    expect "the engine serves through the TCP listener" lab_wait 3 answers a
    sed -i 's/25101/25102/' "$cfg"
    kill -HUP "$pid"
    expect "after SIGHUP with a valid file, the new configuration serves" lab_wait 3 answers b
    echo "bogus-keyword" >>"$cfg"
    kill -HUP "$pid"
    sleep 0.5
    expect "an invalid file is refused and the running engine goes on" answers b
    expect "the refusal names file, line and keyword" grep -q "reload refused.*proxy.cfg:4: 'bogus-keyword'" "$LAB_DIR/proxy.log"
    "$LAB_BIN/failover-agent" proxy --check --config "$cfg" >"$LAB_DIR/out" 2>&1
    expect "proxy --check exits 1 on it" test $? = 1
    kill -TERM "$pid"
    expect "SIGTERM stops the engine" lab_wait 12 sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]"
    kill "$backends" 2>/dev/null || true
}

# The HTTP engine with real nginx servers: round robin, reloads under load without a failed request, and a
# client that does not read a large response (memory stays bounded: backpressure).
scenario_proxy_http() {
    local dir=$LAB_DIR/http cfg=$LAB_DIR/http/proxy.cfg
    mkdir -p "$dir"
    truncate -s 256M "$dir/big"
    cat >"$dir/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server { listen 127.0.0.1:25201; location / { return 200 "a"; } location = /big { alias $dir/big; } }
    server { listen 127.0.0.1:25202; location / { return 200 "b"; } }
}
NGINX
    write_cfg() {
        cat >"$cfg" <<CFG
defaults
    mode http
    timeout connect 1s
    timeout server 10s
frontend web
    bind 127.0.0.1:25200
    default_backend farm
    stats enable
    stats uri /stats
backend farm
    balance roundrobin
    option httpchk GET /
    server a 127.0.0.1:25201 check inter 200ms weight $1
    server b 127.0.0.1:25202 check inter 200ms
CFG
    }
    write_cfg 1
    ip netns exec "$(lab_ns n1)" /usr/sbin/nginx -c "$dir/nginx.conf" >/dev/null 2>&1 &
    echo $! >"$LAB_DIR/n2/http.pid"
    ip netns exec "$(lab_ns n1)" "$LAB_BIN/failover-agent" proxy --config "$cfg" >"$LAB_DIR/proxy.log" 2>&1 &
    local pid=$!
    disown "$pid"
    echo "$pid" >"$LAB_DIR/n1/agent.pid"
    get() { lab_exec n1 curl -s --max-time 2 "http://127.0.0.1:25200$1"; }
    both_answer() { [ "$(get /)$(get /)" = ab ] || [ "$(get /)$(get /)" = ba ]; }
    expect "HTTP round robin over two nginx servers" lab_wait 5 both_answer
    lab_exec n1 wrk -t1 -c20 -d4s http://127.0.0.1:25200/ >"$dir/wrk.txt" 2>&1 &
    local load=$!
    for weight in 2 3 1; do
        sleep 1
        write_cfg "$weight"
        kill -HUP "$pid"
    done
    wait "$load"
    expect "three reloads during 4 s of load (wrk, 20 connections)" test "$(grep -c "reloaded: new listeners ready" "$LAB_DIR/proxy.log")" = 3
    expect "and not one request failed" sh -c "grep -q 'requests in' '$dir/wrk.txt' && ! grep -qE 'Socket errors|Non-2xx' '$dir/wrk.txt'"
    [ "$failed" = 0 ] || sed 's/^/    /' "$dir/wrk.txt"
    rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
    local before; before=$(rss)
    lab_exec n1 "$PY" -c "
import socket, time
s = socket.create_connection(('127.0.0.1', 25200))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b'GET /big HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n')
s.recv(1024)
time.sleep(4)
" &
    local reader=$!
    sleep 3
    local during; during=$(rss)
    kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null
    echo "    RSS before $before KiB, with a client not reading a 256 MiB response: $during KiB"
    expect "a client that does not read a 256 MiB response costs under 16 MiB" test $((during - before)) -lt 16384
    # A connection per request: every closed client connection must give its memory back (a handler that
    # kept its context leaked ~4.6 KiB per connection, 230 MiB in this run).
    lab_exec n1 wrk -t1 -c20 -d2s -H "Connection: close" http://127.0.0.1:25200/ >/dev/null 2>&1
    before=$(rss)
    lab_exec n1 wrk -t1 -c20 -d4s -H "Connection: close" http://127.0.0.1:25200/ >"$dir/wrk-close.txt" 2>&1
    local after; after=$(rss)
    echo "    RSS $before KiB before 4 s of Connection: close, $after KiB after ($(awk '/requests in/ {print $1}' "$dir/wrk-close.txt") connections)"
    expect "4 s of a new connection per request (wrk) grows the engine by under 8 MiB" test $((after - before)) -lt 8192
    local csv; csv=$(get "/stats;csv")
    expect "the stats page lists both servers UP" test "$(grep -c ',server,http,UP,' <<<"$csv")" = 2
    kill -TERM "$pid"
    expect "SIGTERM stops the engine" lab_wait 12 sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]"
}

# The agent supervises the embedded engine on both nodes; hooks run on role changes.
engine_setup() {
    local i
    for i in 1 2; do
        mkdir -p "$LAB_DIR/n$i"
        # The same config on both nodes (config sync would make it so anyway). The second listener binds the
        # VIP itself, which the backup does not hold (the embedded engine uses IP_FREEBIND).
        printf 'listen web\n    bind :8080\n    server a 127.0.0.1:8081\nlisten onvip\n    bind %s:8082\n    server a 127.0.0.1:8081\n' \
            "$VIP4" >"$LAB_DIR/n$i/proxy.cfg"
        printf '#!/bin/sh\nenv | grep ^FAILOVER_ | sort >>"%s"\nenv | cut -d= -f1 | sort >"%s.env"\n' \
            "$LAB_DIR/n$i/hook.log" "$LAB_DIR/n$i/hook.log" >"$LAB_DIR/n$i/hook.sh"
        printf '#!/bin/sh\nsleep 5\n' >"$LAB_DIR/n$i/hang.sh"
        chmod 755 "$LAB_DIR/n$i/hook.sh" "$LAB_DIR/n$i/hang.sh"
    done
    local extra
    extra=$(printf '[engine]\nconfig = "%s/n@N@/proxy.cfg"\nprobe = "127.0.0.1:8080"\n\n[hooks]\non_primary = "%s/n@N@/hook.sh"\non_backup = "%s/n@N@/hang.sh"\ntimeout = "500ms"\n' \
        "$LAB_DIR" "$LAB_DIR" "$LAB_DIR")
    # Only for these configs: a global LAB_EXTRA would follow into the next scenarios.
    LAB_EXTRA=$extra lab_write_configs
}
engine_line() { lab_ctl "$1" status 2>/dev/null | grep "engine:"; }
engine_pid() { lab_status_key "$1" enginePid; }
engine_ready() { lab_engine_ready "$1"; }
engine_restarts_at_least() { local n; n=$(lab_status_key "$1" engineRestarts 0); [ "${n:-0}" -ge "$2" ]; }
engine_restarted_ready() { engine_restarts_at_least "$1" "$2" && engine_ready "$1"; }
both_engines_ready() { engine_ready 1 && engine_ready 2; }
# With engines, the first node whose engine is ready takes the VIP (a node still starting its engine is not
# eligible), so lb1 starts first to be the primary.
start_pair_engines() {
    lab_start_agent 1
    lab_wait 8 holder_is lb1
    lab_start_agent 2
    lab_wait 8 engine_ready 2 && lab_wait 3 role_is 2 backup
}
serves_8080() { ip netns exec "$(lab_ns n1)" "$PY" -c "import socket; socket.create_connection(('127.0.0.1', 8080), timeout=1)" 2>/dev/null; }
in_fault() { case "$(lab_ctl "$1" status 2>/dev/null)" in *fault*) return 0 ;; esac; return 1; }
engine_exit_reason() { case "$(engine_line "$1")" in *"last exit: $2"*) return 0 ;; esac; return 1; }

backlog_at_least() {  # NODE PORT N: the listener's accept queue limit (ss's Send-Q for a listening socket)
    local limit
    limit=$(lab_exec "n$1" ss -ltnH "sport = :$2" | awk '{print $3}' | sort -n | head -1)
    [ -n "$limit" ] && [ "$limit" -ge "$3" ]
}
backup_binds_vip() {
    engine_ready 2 && [ "$(lab_exec n2 cat /proc/sys/net/ipv4/ip_nonlocal_bind)" = 0 ] \
        && lab_exec n2 ss -ltn | grep -q "$VIP4:8082"
}
scenario_engine() {
    engine_setup
    start_pair_engines
    expect "both engines ready under supervision" lab_wait 3 both_engines_ready
    expect "the engine serves on lb1" lab_wait 2 serves_8080
    expect "the backup's engine binds the VIP it does not hold (IP_FREEBIND), no sysctl needed" backup_binds_vip
    expect "the engine listens with a backlog of at least 1024 (not NIO's 128)" backlog_at_least 1 8080 1024
    expect "the on_primary hook ran with the role change in its environment" lab_wait 2 grep -qs "FAILOVER_ROLE=primary" "$LAB_DIR/n1/hook.log"
    # Nothing of the agent's own environment (the lab's shell, NOTIFY_SOCKET…): its variables, PATH and LANG
    # (and what sh sets itself).
    expect "and nothing else of the agent's environment" \
        sh -c "! grep -qvxE 'FAILOVER_[A-Z_]+|PATH|LANG|PWD|SHLVL|_|OLDPWD' '$LAB_DIR/n1/hook.log.env'"
    expect "a hanging on_backup hook is killed at its timeout" lab_wait 3 grep -q "hook timed out" "$LAB_DIR/n2/agent.log"
    local before pid; before=$(transitions 1); pid=$(engine_pid 1)
    kill -9 "$pid"
    expect "kill -9 of the engine: restarted and ready again within 3 s" lab_wait 3 engine_restarted_ready 1 1
    expect "and no role change: lb1 still holds the VIP" holder_is lb1
    expect "no transition on lb1" test "$(transitions 1)" = "$before"
    pid=$(engine_pid 1)
    kill -STOP "$pid"
    expect "a hung engine (SIGSTOP) is caught by its watchdog and restarted" lab_wait 8 engine_restarted_ready 1 2
    expect "the VIP is on exactly one node" lab_wait 3 not_both
    lab_ctl 1 failover >"$LAB_DIR/out" 2>&1 || true
    expect "a failover is not held up by the hanging hook" grep -qE "\(took [0-9.]+ms\)" "$LAB_DIR/out"
    pid=$(engine_pid 1)
    lab_stop_agent 1 KILL
    expect "kill -9 of the agent leaves its engine running" kill -0 "$pid"
    lab_start_agent 1
    expect "the restarted agent stops the engine its predecessor left" lab_wait 8 sh -c "! kill -0 $pid 2>/dev/null || [ \"\$(ps -o stat= -p $pid | cut -c1)\" = Z ]"
    expect "and starts its own" lab_wait 5 engine_ready 1
}

scenario_engine_cannot_bind() {
    engine_setup
    # Something else holds lb1's engine port: its engine can never be ready.
    ip netns exec "$(lab_ns n1)" "$PY" -c "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 8080)); s.listen(1); time.sleep(30)" &
    local blocker=$!
    disown "$blocker"
    sleep 0.3
    lab_start_agent 1
    lab_start_agent 2
    expect "lb2, whose engine is ready, holds the VIP" lab_wait 5 holder_is lb2
    expect "lb1 is in fault" lab_wait 3 in_fault 1
    expect "lb1's status says why the engine restarts" engine_exit_reason 1 "exited with status 1"
    kill "$blocker" 2>/dev/null || true
    expect "once the port is free, lb1's engine becomes ready" lab_wait 40 engine_ready 1
}

scenario_engine_haproxy() {
    engine_setup
    local i
    for i in 1 2; do
        sed -i 's/^\[engine\]$/[engine]\nkind = "haproxy"/' "$LAB_DIR/n$i/agent.toml"
        printf 'global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten web\n    bind :8080\n    server a 127.0.0.1:8081\n' \
            >"$LAB_DIR/n$i/proxy.cfg"
    done
    start_pair_engines
    expect "HAProxy (-Ws) is supervised and ready on both nodes" lab_wait 5 both_engines_ready
    expect "HAProxy serves on lb1" lab_wait 2 serves_8080
    lab_ctl 1 reload >"$LAB_DIR/out" 2>&1
    expect "a valid reload is checked with haproxy -c and applied" grep -q "engine config valid; the engine reloads it gracefully" "$LAB_DIR/out"
    expect "HAProxy is ready again after the reload" lab_wait 3 engine_ready 1
    echo "bogus-keyword" >>"$LAB_DIR/n1/proxy.cfg"
    lab_ctl 1 reload >"$LAB_DIR/out" 2>&1
    expect "an invalid config is refused with HAProxy's own message" grep -q "engine config refused" "$LAB_DIR/out"
    expect "and HAProxy keeps serving" serves_8080
    sed -i '/bogus-keyword/d' "$LAB_DIR/n1/proxy.cfg"
    local before; before=$(transitions 1)
    kill -9 "$(engine_pid 1)"
    expect "kill -9 of the HAProxy master: restarted and ready within 5 s" lab_wait 5 engine_restarted_ready 1 1
    expect "no role change on lb1" test "$(transitions 1)" = "$before"
    expect "lb1 still holds the VIP" holder_is lb1
}

config_generation() { lab_ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["configGeneration"])' 2>/dev/null; }
generation_above() { [ "$(config_generation "$1")" -gt "$2" ] 2>/dev/null; }
serves_port() { ip netns exec "$(lab_ns "n$1")" "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $2), timeout=1)" 2>/dev/null; }
status_says() { case "$(lab_ctl "$1" status 2>/dev/null)" in *"$2"*) return 0 ;; esac; return 1; }
config_hash() { lab_ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["configHash"])' 2>/dev/null; }
one_primary() { [ "$(lab_vip_holder)" = lb1 ] || [ "$(lab_vip_holder)" = lb2 ]; }
not_status_says() { ! status_says "$@"; }
generations_above() { generation_above 1 "$1" && generation_above 2 "$2"; }
metric_above() {  # metric_above NODE 'NAME{LABELS}' VALUE
    local value
    value=$(lab_exec "n$1" curl -s http://127.0.0.1:9101/metrics | grep -F "$2 " | awk '{print $2}')
    [ -n "$value" ] && "$PY" -c "import sys; sys.exit(0 if float('$value') > $3 else 1)"
}
same_config() { [ -n "$(config_hash 1)" ] && [ "$(config_generation 1)" = "$(config_generation 2)" ] && [ "$(config_hash 1)" = "$(config_hash 2)" ]; }
synced() { same_config && cmp -s "$LAB_DIR/n1/proxy.cfg" "$LAB_DIR/n2/proxy.cfg"; }
add_listener() { printf 'listen extra%s\n    bind :%s\n    server a 127.0.0.1:8081\n' "$2" "$2" >>"$LAB_DIR/n$1/proxy.cfg"; }

# Config sync (docs/sync.md): the primary's valid edit becomes the next generation, the backup fetches it
# over the authenticated transfer, checks it, writes it atomically and reloads; invalid edits never leave
# the primary; a backup's own edit is replaced and kept as rejected; after a failover the new primary is
# the source.
scenario_config_sync() {
    engine_setup
    start_pair_engines
    lab_wait 3 both_engines_ready
    expect "both nodes start with the same generation" lab_wait 2 same_config
    # The lab's engine config sets no timeouts: the check warns (as HAProxy), the agent logs and counts it.
    expect "status counts the engine config's warnings" status_says 1 "config: 2 warnings (see the log)"
    expect "and the log has them" grep -q "engine config warning" "$LAB_DIR/n1/agent.log"
    lab_ctl 1 sync >"$LAB_DIR/out" 2>&1
    expect "failoverctl sync on the primary says both are in sync" grep -q "in sync: generation" "$LAB_DIR/out"
    local before; before=$(config_generation 1)
    add_listener 1 8083
    expect "a valid edit on the primary becomes the next generation within 1 s" lab_wait 1 generation_above 1 "$before"
    expect "and the primary's engine reloads it (the new listener answers)" lab_wait 3 serves_port 1 8083
    expect "the backup has the same bytes and generation within 1 s" lab_wait 1 synced
    expect "and the backup's engine is warm with it" lab_wait 3 serves_port 2 8083
    lab_ctl 2 history --config >"$LAB_DIR/out" 2>&1
    expect "history --config on the backup lists the fetched version" grep -q "fetched from lb1" "$LAB_DIR/out"
    cp "$LAB_DIR/n2/proxy.cfg" "$LAB_DIR/n2/good.cfg"
    local good; good=$(config_generation 1)
    echo "bogus-keyword" >>"$LAB_DIR/n1/proxy.cfg"
    expect "an invalid edit is refused and shown in status" lab_wait 2 status_says 1 "fails the engine's check"
    sleep 0.5
    expect "the generation does not move" test "$(config_generation 1)" = "$good"
    expect "the invalid edit never reaches the backup" cmp -s "$LAB_DIR/n2/proxy.cfg" "$LAB_DIR/n2/good.cfg"
    expect "and the engine keeps serving" serves_port 1 8083
    # On the node (its namespace): the check compares the links with the node's own addresses.
    ip netns exec "$(lab_ns n1)" "$LAB_BIN/failoverctl" check --config "$LAB_DIR/n1/agent.toml" >"$LAB_DIR/out" 2>&1
    expect "failoverctl check exits 1 and names the engine config's line" \
        sh -c "test $? = 1 && grep -q 'proxy.cfg:[0-9]*: .bogus-keyword.' '$LAB_DIR/out'"
    sed -i '/bogus-keyword/d' "$LAB_DIR/n1/proxy.cfg"
    expect "and says OK once it is fixed" \
        ip netns exec "$(lab_ns n1)" "$LAB_BIN/failoverctl" check --config "$LAB_DIR/n1/agent.toml"
    expect "failover-agent check gives the same verdict" \
        ip netns exec "$(lab_ns n1)" "$LAB_BIN/failover-agent" check --config "$LAB_DIR/n1/agent.toml"
    # The likeliest slip: local and peer swapped. The link could not bind; the node would claim the VIP.
    python3 - "$LAB_DIR/n1/agent.toml" "$LAB_DIR/n1/swapped.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'local = "([^"]+)"\npeer = "([^"]+)"', r'local = "\2"\npeer = "\1"', text)
open(sys.argv[2], "w").write(text)
PY
    ip netns exec "$(lab_ns n1)" "$LAB_BIN/failoverctl" check --config "$LAB_DIR/n1/swapped.toml" >"$LAB_DIR/out" 2>&1
    expect "check names a link whose local address is not on the node, with the fix" \
        sh -c "test $? = 1 && grep -q 'is not an address of this host.*swap local and peer' '$LAB_DIR/out'"
    expect "the fixed file is the served version again: note cleared" lab_wait 2 not_status_says 1 "fails the engine"
    add_listener 2 8090
    expect "an edit on the backup is reported as drift" lab_wait 2 status_says 2 "edited on this backup"
    add_listener 1 8084
    expect "the primary's next edit replaces the backup's" lab_wait 2 synced
    lab_ctl 2 history --config >"$LAB_DIR/out" 2>&1
    expect "the backup's own edit is kept as rejected" grep -q "REJECTED" "$LAB_DIR/out"
    local kept; kept=$(grep -A1 REJECTED "$LAB_DIR/out" | tail -1 | tr -d ' ')
    expect "with its bytes" grep -q "extra8090" "$kept/0-proxy.cfg"
    expect "status says so" status_says 2 "kept as rejected"
    lab_ctl 1 failover >/dev/null 2>&1
    expect "after a failover lb2 is primary" lab_wait 3 role_is 2 primary
    add_listener 2 8085
    expect "an edit on the new primary reaches the old one (no hand copying)" lab_wait 2 synced
    expect "and lb1's engine serves it" lab_wait 3 serves_port 1 8085
}

# A backup whose disk is full keeps its old config (in place and in use), says why, and retries with backoff
# until space is freed.
scenario_sync_disk_full() {
    engine_setup
    local i
    for i in 1 2; do
        mkdir -p "$LAB_DIR/n$i/side"
        head -c 1000 /dev/zero | tr '\0' a >"$LAB_DIR/n$i/side/pages.txt"
        sed -i "s|^\[engine\]$|[engine]\nsync_files = [\"$LAB_DIR/n$i/side/pages.txt\"]|" "$LAB_DIR/n$i/agent.toml"
    done
    mount -t tmpfs -o size=64k tmpfs "$LAB_DIR/n2/side"
    cp "$LAB_DIR/n1/side/pages.txt" "$LAB_DIR/n2/side/pages.txt"
    start_pair_engines
    expect "both nodes start in sync" lab_wait 3 same_config
    head -c 100000 /dev/zero | tr '\0' b >"$LAB_DIR/n1/side/pages.txt"
    expect "the backup's status says the disk is full" lab_wait 3 status_says 2 "No space left on device"
    expect "its old side file stays in place" test "$(stat -c %s "$LAB_DIR/n2/side/pages.txt")" = 1000
    expect "no temp file is left behind" test -z "$(ls -A "$LAB_DIR/n2/side" | grep -v '^pages.txt$')"
    expect "the failure is counted in the metrics" metric_above 2 'failover_config_sync_total{result="failed"}' 0
    expect "its engine keeps serving" serves_port 2 8080
    mount -o remount,size=1m "$LAB_DIR/n2/side"
    expect "once space is freed the retry succeeds (backoff)" lab_wait 8 sh -c "cmp -s '$LAB_DIR/n1/side/pages.txt' '$LAB_DIR/n2/side/pages.txt'"
    expect "and both serve the same generation" lab_wait 2 same_config
    umount "$LAB_DIR/n2/side"
}

# Both links cut, both nodes edit: after the heal the term winner's version is the source on both, and the
# loser's edit is kept as rejected.
scenario_sync_partition() {
    engine_setup
    start_pair_engines
    expect "in sync at start" lab_wait 3 same_config
    ip -n "$(lab_ns br)" link set n1-0 down
    ip -n "$(lab_ns br)" link set n1-1 down
    expect "partitioned: lb2 takes over" lab_wait 2 role_is 2 primary
    local g1 g2; g1=$(config_generation 1); g2=$(config_generation 2)
    add_listener 1 8086
    add_listener 2 8087
    expect "each side accepts its own edit as its next generation" lab_wait 2 generations_above "$g1" "$g2"
    ip -n "$(lab_ns br)" link set n1-0 up
    ip -n "$(lab_ns br)" link set n1-1 up
    expect "after the heal one primary remains" lab_wait 2 one_primary
    # The term winner: usually lb2, which took over during the partition; lb1 if it stepped down and took over
    # again on its own side (a higher term).
    local winner=2 loser=1
    role_is 1 primary && { winner=1; loser=2; }
    expect "both serve the term winner's version (lb$winner)" lab_wait 3 synced
    expect "lb$winner's edit is in it" grep -q "extra808$((5 + winner))" "$LAB_DIR/n$loser/proxy.cfg"
    lab_ctl "$loser" history --config >"$LAB_DIR/out" 2>&1
    expect "lb$loser's edit is kept as rejected" grep -q "REJECTED" "$LAB_DIR/out"
}

scenario_systemd_notify() {
    local socket=$LAB_DIR/notify.sock log=$LAB_DIR/notify.log
    ip netns exec "$(lab_ns n1)" "$PY" tests/e2e/notify-listener.py "$socket" "$log" 20 &
    local listener=$!
    sleep 0.3
    NOTIFY_SOCKET=$socket WATCHDOG_USEC=1000000 ip netns exec "$(lab_ns n1)" "$LAB_BIN/failover-agent" run \
        --config "$LAB_DIR/n1/agent.toml" --state-directory "$LAB_DIR/n1/state" >>"$LAB_DIR/n1/agent.log" 2>&1 &
    local pid=$!
    disown "$pid"
    echo "$pid" >"$LAB_DIR/n1/agent.pid"
    expect "READY=1 once the first election settled" lab_wait 3 grep -q "READY=1" "$log"
    expect "STATUS= says the role" grep -q "STATUS=primary since" "$log"
    expect "WATCHDOG=1 is sent" lab_wait 2 grep -q "WATCHDOG=1" "$log"
    kill -STOP "$pid"
    local stopped_at; stopped_at=$("$PY" -c 'import time; print(time.monotonic())')
    sleep 2
    kill -CONT "$pid"
    sleep 0.2
    expect "no WATCHDOG=1 while the agent is stalled" "$PY" -c "
import sys
t0 = $stopped_at + 0.1
pings = [float(l.split()[0]) for l in open('$log') if 'WATCHDOG=1' in l and t0 < float(l.split()[0]) < t0 + 1.8]
sys.exit(1 if pings else 0)"
    expect "pings resume after SIGCONT" lab_wait 2 sh -c "tail -3 '$log' | grep -q WATCHDOG=1"
    kill -TERM "$pid"
    expect "STOPPING=1 on SIGTERM" lab_wait 3 grep -q "STOPPING=1" "$log"
    kill "$listener" 2>/dev/null
    wait "$listener" 2>/dev/null
}

all=(start_together planned_failover kill9 sigterm peer_restart one_link_down both_links_down vip_deleted
    stale_vip unbindable_links neighbour forged flood control witness proxy_reload proxy_http engine engine_cannot_bind engine_haproxy config_sync sync_disk_full sync_partition systemd_notify)
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${all[@]}")
install_packages iproute2 curl util-linux nftables python3 procps nginx-light wrk haproxy
if [ ! -x "$LAB_BIN/failover-agent" ] || [ ! -x "$LAB_BIN/failoverctl" ]; then
    require_swift
    install_packages pkg-config libsystemd-dev
    swift build -c "$LAB_BUILD" --product failover-agent && swift build -c "$LAB_BUILD" --product failoverctl \
        || die "build failed"
fi
number=0
started=$(date +%s)
for name in "${selected[@]}"; do
    number=$((number + 1))
    run_scenario "$name" "$number"
done
echo
echo "end-to-end: $(( $(date +%s) - started ))s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
