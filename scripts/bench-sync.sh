#!/usr/bin/env bash
# Config sync benchmark in the two-node lab (both nodes run the embedded engine): an edit of the engine's
# config on the primary → validated there, announced, fetched by the backup over the authenticated transfer,
# checked with the engine's check, written atomically and reloaded, until the backup's engine serves the new
# listener the edit added. TRIALS edits each for a 1 KiB and a 1 MiB config (comment lines pad the file).
#
# The clock starts just before the edited file is renamed into place on the primary and stops when a client
# inside the backup's namespace first connects to the new listener (polling every 2 ms). For scale, the same
# run times what operators do today on one node: `haproxy -c` of the same file plus an HAProxy reload
# (SIGUSR2 to a master-worker HAProxy) until the new listener answers; scp/cron have no fixed latency.
#
#   sudo bash scripts/bench-sync.sh [--trials 20]
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=bsync
. scripts/lib/common.sh
. scripts/lib/lab.sh

trials=20
while [ $# -gt 0 ]; do
    case "$1" in
        --trials) trials=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "the benchmark needs root (network namespaces)"
require_swift
install_packages pkg-config libsystemd-dev iproute2 python3 procps haproxy
swift build -c release --product failover-agent >/dev/null
swift build -c release --product failoverctl >/dev/null

haproxy_pid=
cleanup() {
    if [ -n "$haproxy_pid" ]; then kill "$haproxy_pid" 2>/dev/null || true; fi
    lab_teardown
}
trap cleanup EXIT
lab_up_network
rm -rf "$LAB_DIR"
mkdir -p "$LAB_DIR/n1" "$LAB_DIR/n2"
results=$LAB_DIR/results.txt
: >"$results"

# write_config NODE SIZE PORT: a valid config of about SIZE bytes with a listener on PORT, renamed into place.
write_config() {
    local file=$LAB_DIR/n$1/proxy.cfg size=$2 port=$3
    "$PY" - "$file" "$size" "$port" <<'PY'
import os, sys
path, size, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = f"listen web\n    bind :8080\n    server a 127.0.0.1:8081\nlisten edit\n    bind :{port}\n    server a 127.0.0.1:8081\n"
pad = "# " + "x" * 76 + "\n"
body = head + pad * max(0, (size - len(head)) // len(pad))
with open(path + ".new", "w") as f:
    f.write(body)
    f.flush(); os.fsync(f.fileno())
PY
}
# until_serves NODE PORT: prints the monotonic ms when a connection to PORT in NODE's namespace first succeeds.
until_serves() {
    lab_exec "n$1" "$PY" - "$2" <<'PY'
import socket, sys, time
port = int(sys.argv[1]); deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
        print(f"{time.monotonic()*1000:.3f}"); sys.exit(0)
    except OSError:
        time.sleep(0.002)
print("timeout"); sys.exit(1)
PY
}
mono_ms() { "$PY" -c 'import time; print(f"{time.monotonic()*1000:.3f}")'; }

for i in 1 2; do
    write_config "$i" 1024 9000
    mv "$LAB_DIR/n$i/proxy.cfg.new" "$LAB_DIR/n$i/proxy.cfg"
done
LAB_EXTRA=$(printf '[engine]\nconfig = "%s/n@N@/proxy.cfg"\nprobe = "127.0.0.1:8080"\n' "$LAB_DIR") lab_write_configs
lab_start_agent 1
lab_wait 8 sh -c "[ \"\$(ip -n $(lab_ns n1) -o addr show dev eth0 | grep -c ' $VIP4/')\" = 1 ]" || die "lb1 did not take the VIP"
lab_start_agent 2
sleep 3

port=9001
for size in 1024 1048576; do
    for trial in $(seq 1 "$trials"); do
        port=$((port + 1))
        write_config 1 "$size" "$port"
        until_serves 2 "$port" >"$LAB_DIR/seen" &
        watcher=$!
        sleep 0.05
        start=$(mono_ms)
        mv "$LAB_DIR/n1/proxy.cfg.new" "$LAB_DIR/n1/proxy.cfg"
        wait "$watcher" || true
        seen=$(cat "$LAB_DIR/seen")
        if [ "$seen" = timeout ]; then
            echo "agent $size timeout" >>"$results"
        else
            echo "agent $size $("$PY" -c "print(f'{$seen - $start:.1f}')")" >>"$results"
        fi
        sleep 0.3
    done
done

# The same files on one node with HAProxy: check, then reload, until the new listener answers.
hdir=$LAB_DIR/haproxy
mkdir -p "$hdir"
cat >"$hdir/base.cfg" <<CFG
global
    maxconn 100
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
CFG
cp "$hdir/base.cfg" "$hdir/haproxy.cfg"
printf 'listen web\n    bind 127.0.0.1:18080\n    server a 127.0.0.1:8081\n' >>"$hdir/haproxy.cfg"
ip netns exec "$(lab_ns n1)" haproxy -W -f "$hdir/haproxy.cfg" >/dev/null 2>&1 &
haproxy_pid=$!
sleep 1
port=19001
for size in 1024 1048576; do
    for trial in $(seq 1 "$trials"); do
        port=$((port + 1))
        "$PY" - "$hdir" "$size" "$port" <<'PY'
import sys
d, size, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = open(d + "/base.cfg").read() + f"listen edit\n    bind 127.0.0.1:{port}\n    server a 127.0.0.1:8081\n"
pad = "# " + "x" * 76 + "\n"
open(d + "/haproxy.cfg", "w").write(head + pad * max(0, (size - len(head)) // len(pad)))
PY
        until_serves 1 "$port" >"$LAB_DIR/seen" &
        watcher=$!
        sleep 0.05
        start=$(mono_ms)
        lab_exec n1 haproxy -c -q -f "$hdir/haproxy.cfg" && kill -USR2 "$haproxy_pid"
        wait "$watcher" || true
        seen=$(cat "$LAB_DIR/seen")
        [ "$seen" != timeout ] && echo "haproxy $size $("$PY" -c "print(f'{$seen - $start:.1f}')")" >>"$results"
        sleep 0.2
    done
done

"$PY" - "$results" "$trials" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def pct(values, p):
    values = sorted(values); k = (len(values) - 1) * p / 100; f = int(k); c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)
print(f"config sync, {sys.argv[2]} trials per size; milliseconds from the edit on lb1 to the new listener on lb2")
print()
print("| system | config | trials | timeouts | median | p90 | p99 | max | target p99 |")
print("|---|---|---|---|---|---|---|---|---|")
medians = {}
for system, label in (("agent", "failover-agent: edit on lb1 → serving on lb2"), ("haproxy", "haproxy -c + reload, one node")):
    for size, name in (("1024", "1 KiB"), ("1048576", "1 MiB")):
        values = [float(r[2]) for r in rows if r[0] == system and r[1] == size and r[2] != "timeout"]
        timeouts = sum(1 for r in rows if r[0] == system and r[1] == size and r[2] == "timeout")
        if not values:
            print(f"| {label} | {name} | 0 | {timeouts} | - | - | - | - | |"); continue
        medians[(system, size)] = statistics.median(values)
        target = "≤ 500" if system == "agent" else ""
        print(f"| {label} | {name} | {len(values)} | {timeouts} | {statistics.median(values):.0f} | {pct(values,90):.0f} | "
              f"{pct(values,99):.0f} | {max(values):.0f} | {target} |")
print()
for size, name in (("1024", "1 KiB"), ("1048576", "1 MiB")):
    if ("agent", size) in medians and ("haproxy", size) in medians:
        print(f"ratio of medians, {name}: sync to the other node ÷ local check+reload = "
              f"{medians[('agent', size)] / medians[('haproxy', size)]:.2f}×")
PY
