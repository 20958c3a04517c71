# shellcheck shell=bash
# The serving lab for the demo (lab-demo.sh), chaos.sh and soak.sh: the two-node lab (lab.sh) with the agents
# supervising their embedded engines, a backend on each node, a client through the VIP and VIP ownership
# recorded as events. Source it after common.sh and lab.sh; set LAB first. Call serving_lab_up, then
# serving_lab_start (or serving_lab_start_pair and a client of one's own, as the demo does).
#
# Each node: an HTTP server on 127.0.0.1:8081 answering its name; the engine serves it on :8080 (the agent's
# probe) and on VIP:8082 (the client's way in); one side file is synced with the config. lb2's side file
# lives on a small tmpfs (1 MiB) so a scenario can fill its disk.

background=()
serving_lab_cleanup() {
    local pid i engines=()
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    for i in 1 2; do pid=$(cat "$LAB_DIR/n$i/engine.pid" 2>/dev/null) && engines+=("$pid"); done
    if mountpoint -q "$LAB_DIR/n2/side" 2>/dev/null; then umount "$LAB_DIR/n2/side"; fi
    lab_teardown
    # lab_teardown sends the engines SIGTERM, on which they drain their open connections: none may outlive the
    # script (bounded wait, then SIGKILL).
    for pid in "${engines[@]}"; do
        lab_wait 2 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    done
}

serving_lab_up() {
    lab_up_network
    rm -rf "$LAB_DIR"
    mkdir -p "$LAB_DIR"
    local i
    for i in 1 2; do
        mkdir -p "$LAB_DIR/n$i/www" "$LAB_DIR/n$i/side"
        echo "lb$i" >"$LAB_DIR/n$i/www/index.html"
        ip netns exec "$(lab_ns "n$i")" "$PY" -m http.server --bind 127.0.0.1 --directory "$LAB_DIR/n$i/www" 8081 \
            >"$LAB_DIR/n$i/http.log" 2>&1 &
        background+=($!)
        printf 'listen web\n    bind :8080\n    server a 127.0.0.1:8081\nlisten onvip\n    bind %s:8082\n    server a 127.0.0.1:8081\n' \
            "$VIP4" >"$LAB_DIR/n$i/proxy.cfg"
    done
    mount -t tmpfs -o size=1m tmpfs "$LAB_DIR/n2/side"
    for i in 1 2; do head -c 1000 /dev/zero | tr '\0' a >"$LAB_DIR/n$i/side/pages.txt"; done
    LAB_EXTRA=$(printf '[engine]\nconfig = "%s/n@N@/proxy.cfg"\nprobe = "127.0.0.1:8080"\nsync_files = ["%s/n@N@/side/pages.txt"]\n' \
        "$LAB_DIR" "$LAB_DIR") lab_write_configs
    for i in 1 2; do
        ip -n "$(lab_ns "n$i")" -ts monitor address >"$LAB_DIR/monitor$i.log" 2>&1 &
        background+=($!)
    done
}

now() { "$PY" -c 'import time; print(f"{time.time():.6f}")'; }
has_vip() { case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac; return 1; }
holders() { local h=""; has_vip 1 && h+=1; has_vip 2 && h+=2; echo "${h:-0}"; }
lacks_vip_on() { ! has_vip "$1"; }
role_is() { [ "$(lab_role "$1")" = "$2" ]; }
one_holder() { case "$(holders)" in 1|2) return 0 ;; esac; return 1; }
transitions() { lab_ctl "$1" history --json 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))'; }
primary() { if [ "$(lab_role 1)" = primary ]; then echo 1; else echo 2; fi; }
ownership() {  # ownership FROM TO INITIAL1 INITIAL2 → "dual_ms none_ms"
    "$PY" scripts/lib/ownership.py "$VIP4" "$1" "$2" "$3" "$4" "$LAB_DIR/monitor1.log" "$LAB_DIR/monitor2.log"
}
settle() { lab_wait 10 one_holder && sleep 1; }
nft_in() { lab_exec "n$1" nft -f - ; }
config_generation() { lab_ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["configGeneration"])' 2>/dev/null; }
status_says() { case "$(lab_ctl "$1" status 2>/dev/null)" in *"$2"*) return 0 ;; esac; return 1; }
engine_line() { lab_ctl "$1" status 2>/dev/null | grep "engine:"; }
engine_pid() { lab_status_key "$1" enginePid; }
engine_ready() { lab_engine_ready "$1"; }
in_sync() { [ "$(config_generation 1)" = "$(config_generation 2)" ] && cmp -s "$LAB_DIR/n1/proxy.cfg" "$LAB_DIR/n2/proxy.cfg" \
    && cmp -s "$LAB_DIR/n1/side/pages.txt" "$LAB_DIR/n2/side/pages.txt"; }
# The client's neighbour entry for the VIP points at node $1's MAC (the winner's announcement arrived).
client_sees() { case "$(ip -n "$(lab_ns cl)" neigh show "$VIP4")" in *"02:00:00:00:00:1$1"*) return 0 ;; esac; return 1; }
client() {  # client FROM TO → "requests ok longest_outage_ms"
    "$PY" scripts/lib/outage.py "$LAB_DIR/client.log" "$1" "$2"
}
served() {  # served FROM TO → "client ok/total ok (p %), longest outage N ms"
    local total ok outage
    read -r total ok outage <<<"$(client "$1" "$2")"
    "$PY" -c "print(f'client {$ok}/{$total} ok ({100 * $ok / max($total, 1):.1f} %), longest outage $outage ms')"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Starts lb1 (it takes the VIP: with engines the first ready engine wins), then lb2 as a ready backup, and
# waits for the config to be in sync. Sets vip_after_ms (lb1's start to the VIP on lb1) and backup_after_ms
# (lb2's start to lb2 a backup with its engine ready).
serving_lab_start_pair() {
    local t0 t1
    t0=$(date +%s%N)
    lab_start_agent 1
    lab_wait 10 has_vip 1 || die "lb1 did not take the VIP within 10 s; see $LAB_DIR/n1/agent.log"
    t1=$(date +%s%N)
    lab_start_agent 2
    { lab_wait 10 engine_ready 2 && lab_wait 5 role_is 2 backup; } \
        || die "lb2 did not become a ready backup within 15 s; see $LAB_DIR/n2/agent.log"
    # shellcheck disable=SC2034  # read by the caller
    vip_after_ms=$(( (t1 - t0) / 1000000 ))
    # shellcheck disable=SC2034
    backup_after_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
    lab_wait 5 in_sync || die "the nodes did not sync their config within 5 s; see $LAB_DIR/n*/agent.log"
}

# serving_lab_start_pair, then the client (bounded: it ends on its own after SECONDS).
serving_lab_start() {
    local seconds=${1:-3600}
    serving_lab_start_pair
    ip netns exec "$(lab_ns cl)" "$PY" scripts/lib/probe.py "$VIP4" 8082 10 200 "$seconds" epoch "$LAB_DIR/client.stop" \
        >"$LAB_DIR/client.log" 2>&1 &
    background+=($!)
    settle
}
