#!/usr/bin/env bash
# Proxy benchmark on loopback: the embedded engine (`failover-agent proxy`) against HAProxy (Debian package),
# the same configuration file, the same two nginx backends, load from wrk; A/B alternated in the same run
# (engine, haproxy, then nginx directly as the ceiling; ROUNDS times per scenario, a fresh proxy per run).
#
# Scenarios (wrk -t1 -cCONNS -dDURATION --latency):
#   keepalive-100B  HTTP keep-alive, a 100-byte body
#   keepalive-16k   HTTP keep-alive, a 16 KiB static file
#   close           HTTP with `Connection: close` (a new client connection per request)
#   tcp-keepalive   a `mode tcp` frontend to the same nginx, keep-alive through it
# Headline: the proxy's CPU time per request (utime+stime of its processes, /proc/PID/stat fields 14 and 15,
# over the wrk window, divided by the requests wrk completed); also req/s, p50, p99 and errors (medians over
# the rounds; errors summed). Then the peak RSS (VmHWM) of each proxy under 1000 keep-alive connections.
# Prints tables; asserts nothing (the targets are printed beside the ratios).
#
#   bash scripts/bench-proxy.sh                      # ROUNDS=3 DURATION=5 CONNS=50
#   ROUNDS=1 DURATION=2 bash scripts/bench-proxy.sh   # smoke run
#   ENGINE_BIN=/path/to/failover-agent bash scripts/bench-proxy.sh
#   SCENARIOS="keepalive-100B" bash scripts/bench-proxy.sh   # some scenarios only
# The engine is not built here: `swift build -c release --product failover-agent` first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
ENGINE_BIN=${ENGINE_BIN:-.build/release/failover-agent}
PEAK_CONNS=1000

case "$ROUNDS$DURATION$CONNS" in *[!0-9]*) die "ROUNDS, DURATION and CONNS are whole numbers" ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$CONNS" -lt 1 ]; then die "ROUNDS, DURATION and CONNS must be at least 1"; fi
[ -x "$ENGINE_BIN" ] || die "$ENGINE_BIN is not an executable: swift build -c release --product failover-agent (or set ENGINE_BIN)"

install_packages haproxy nginx-light wrk curl procps python3
HAPROXY=/usr/sbin/haproxy
NGINX=/usr/sbin/nginx
WRK=$(command -v wrk || echo /usr/bin/wrk)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, not a shim
CLK_TCK=$(getconf CLK_TCK)

# 1000 keep-alive connections need about 2000 descriptors in the proxy; raise the limit as far as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Loopback ports, all in 26000-26099.
NGINX_PORTS=(26001 26002)
HTTP_PORT=26010
TCP_PORT=26011

TMP=$(mktemp -d /tmp/bench-proxy.XXXXXX)
chmod 755 "$TMP"   # nginx's workers (nobody when run as root) read the static file under it
PROXY_PID=         # the running proxy, if any
NGINX_PIDS=()      # the two nginx masters

stop_pid() {  # pid [seconds] [what]: SIGTERM, wait (bounded) until gone and reaped, then SIGKILL
    local pid=$1 limit=${2:-15} what=${3:-} n
    [ -e "/proc/$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < limit * 10; n++)); do
        if [ ! -e "/proc/$pid" ]; then
            # A slow stop means connections the proxy still held after wrk had closed all of its own.
            if [ -n "$what" ] && [ "$n" -ge 10 ]; then echo "  note: $what took ${n}00 ms to stop after SIGTERM"; fi
            return 0
        fi
        sleep 0.1
    done
    echo "  pid $pid still running ${limit}s after SIGTERM: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((n = 0; n < 50; n++)); do [ -e "/proc/$pid" ] || return 0; sleep 0.1; done
}

cleanup() {  # only what this script started and is still running, by PID
    local pid
    if [ -n "$PROXY_PID" ]; then stop_pid "$PROXY_PID" 5; fi
    for pid in "${NGINX_PIDS[@]}"; do stop_pid "$pid" 5; done
    rm -rf "$TMP"
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "${NGINX_PORTS[@]}" "$HTTP_PORT" "$TCP_PORT"; do
    port_busy "$port" && die "127.0.0.1:$port is already in use (the benchmark uses 26000-26099)"
done

# --- facts for the record ----------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ] && commit="$commit (with local changes)"
step "bench-proxy: the embedded engine vs HAProxy on loopback"
cat <<FACTS
command:   ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS ENGINE_BIN=$ENGINE_BIN bash scripts/bench-proxy.sh
date:      $(date -u '+%Y-%m-%d %H:%M UTC')   commit $commit
machine:   $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), open files $(ulimit -n), CLK_TCK $CLK_TCK
haproxy:   $("$HAPROXY" -v 2>&1 | head -1)
nginx:     $("$NGINX" -v 2>&1 | head -1)
wrk:       $("$WRK" -v 2>&1 | head -1)
engine:    $ENGINE_BIN ($(stat -c '%y' "$ENGINE_BIN" | cut -d. -f1))
load:      wrk -t1 -c$CONNS -d${DURATION}s --latency; $ROUNDS rounds per scenario (engine, haproxy, nginx direct); a fresh proxy per run
FACTS

# --- the backends: two nginx, one worker each -------------------------------------------------------
body100=$(printf 'x%.0s' $(seq 1 100))
mkdir -p "$TMP/www"
head -c 16384 /dev/zero | tr '\0' 'y' >"$TMP/www/16k"
chmod 755 "$TMP/www"; chmod 644 "$TMP/www/16k"

nginx_conf() {  # dir port
    local dir=$1 port=$2
    cat <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 8192;
}
http {
    access_log off;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        location = / {
            default_type text/plain;
            return 200 "$body100";
        }
        location = /16k {
            root $TMP/www;
        }
    }
}
CONF
}

wait_http() {  # url pid what: bounded wait until the URL answers; dies if the process is gone
    local url=$1 pid=$2 what=$3 n
    for ((n = 0; n < 100; n++)); do
        curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        [ -e "/proc/$pid" ] || die "$what exited before answering on $url"
        sleep 0.1
    done
    die "$what does not answer on $url after 10 s"
}

for i in 0 1; do
    dir=$TMP/nginx$((i + 1))
    mkdir -p "$dir"
    nginx_conf "$dir" "${NGINX_PORTS[$i]}" >"$dir/nginx.conf"
    "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    NGINX_PIDS+=($!); disown $!
done
for i in 0 1; do
    wait_http "http://127.0.0.1:${NGINX_PORTS[$i]}/" "${NGINX_PIDS[$i]}" "nginx $((i + 1))"
    size=$(curl -fsS "http://127.0.0.1:${NGINX_PORTS[$i]}/" | wc -c)
    [ "$size" = 100 ] || die "nginx $((i + 1)): / is $size bytes, not 100"
    size=$(curl -fsS "http://127.0.0.1:${NGINX_PORTS[$i]}/16k" | wc -c)
    [ "$size" = 16384 ] || die "nginx $((i + 1)): /16k is $size bytes, not 16384"
done

# --- the proxies: one configuration file for both ----------------------------------------------------
CFG=$TMP/proxy.cfg
cat >"$CFG" <<CFG
global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe_http
    bind 127.0.0.1:$HTTP_PORT
    default_backend be_http

frontend fe_tcp
    mode tcp
    bind 127.0.0.1:$TCP_PORT
    default_backend be_tcp

backend be_http
    balance roundrobin
    server web1 127.0.0.1:${NGINX_PORTS[0]}
    server web2 127.0.0.1:${NGINX_PORTS[1]}

backend be_tcp
    mode tcp
    balance roundrobin
    server web1 127.0.0.1:${NGINX_PORTS[0]}
    server web2 127.0.0.1:${NGINX_PORTS[1]}
CFG
"$ENGINE_BIN" proxy --config "$CFG" --check >"$TMP/engine-check.log" 2>&1 \
    || { cat "$TMP/engine-check.log" >&2; die "the engine refuses the configuration"; }
"$HAPROXY" -c -f "$CFG" >"$TMP/haproxy-check.log" 2>&1 \
    || { cat "$TMP/haproxy-check.log" >&2; die "haproxy refuses the configuration"; }

RUN=0
start_proxy() {  # system
    local system=$1 log
    RUN=$((RUN + 1))
    log=$TMP/$system-$RUN.log
    case "$system" in
        engine) "$ENGINE_BIN" proxy --config "$CFG" --log-level notice >"$log" 2>&1 & ;;
        haproxy) "$HAPROXY" -db -f "$CFG" >"$log" 2>&1 & ;;
        *) die "unknown proxy $system" ;;
    esac
    PROXY_PID=$!; disown $!
    wait_http "http://127.0.0.1:$HTTP_PORT/" "$PROXY_PID" "$system"
    wait_http "http://127.0.0.1:$TCP_PORT/" "$PROXY_PID" "$system (tcp frontend)"
}

stop_proxy() { stop_pid "$PROXY_PID" 15 "$1"; PROXY_PID=; }

# utime+stime (stat fields 14, 15) of a process and its children, in clock ticks → TICKS. No fork, so that
# reading it does not add to this shell's children's times (which measure wrk).
# A process and its direct children (HAProxy's master and workers) → FAMILY.
proc_family() {
    local file kids=()
    FAMILY=("$1")
    for file in /proc/"$1"/task/*/children; do
        [ -r "$file" ] || continue
        read -r -a kids <"$file" || true
        FAMILY+=("${kids[@]}")
    done
}

proc_ticks() {
    local pid line f
    TICKS=0
    proc_family "$1"
    for pid in "${FAMILY[@]}"; do
        read -r line 2>/dev/null <"/proc/$pid/stat" || continue
        read -r -a f <<<"${line##*) }"   # f[0] is field 3 (state)
        TICKS=$((TICKS + f[11] + f[12]))
    done
}

# cutime+cstime (stat fields 16, 17) of this shell: its reaped children's CPU, here wrk's → CHILD_TICKS.
self_child_ticks() {
    local line f
    read -r line <"/proc/$$/stat"
    read -r -a f <<<"${line##*) }"
    CHILD_TICKS=$((f[13] + f[14]))
}

# VmHWM of a process and its children, KiB → HWM_KIB.
proc_hwm() {
    local pid key value rest
    HWM_KIB=0
    proc_family "$1"
    for pid in "${FAMILY[@]}"; do
        [ -r "/proc/$pid/status" ] || continue
        while read -r key value rest; do
            if [ "$key" = "VmHWM:" ]; then HWM_KIB=$((HWM_KIB + value)); fi
        done <"/proc/$pid/status"
    done
}

# wrk's output → "requests req/s p50_ms p99_ms socket_errors non2xx" (nan where a line is missing).
parse_wrk() {
    awk '
        function ms(v,   n, u) {
            n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
            if (u == "us") return n / 1000
            if (u == "ms") return n
            if (u == "s") return n * 1000
            if (u == "m") return n * 60000
            if (u == "h") return n * 3600000
            return "nan"
        }
        BEGIN { reqs = "nan"; rps = "nan"; p50 = "nan"; p99 = "nan"; sock = 0; non2xx = 0 }
        / requests in / { reqs = $1 }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) sock += $i + 0 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF + 0 }
        END { print reqs, rps, p50, p99, sock, non2xx }
    ' "$1"
}

RESULTS=$TMP/results.txt
: >"$RESULTS"

# One measured run: system scenario round port path [extra wrk args…]
measure() {
    local system=$1 scenario=$2 round=$3 port=$4 path=$5
    shift 5
    local out=$TMP/wrk-$scenario-$system-$round.txt pid=
    local p0=0 p1=0 w0 w1 reqs rps p50 p99 sock non2xx
    if [ "$system" != direct ]; then
        start_proxy "$system"; pid=$PROXY_PID
        proc_ticks "$pid"; p0=$TICKS
    fi
    self_child_ticks; w0=$CHILD_TICKS
    "$WRK" -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$port$path" >"$out" 2>&1 || true
    self_child_ticks; w1=$CHILD_TICKS
    if [ -n "$pid" ]; then
        if [ ! -e "/proc/$pid" ]; then
            echo "  $system died during the run; its log:" >&2; tail -20 "$TMP/$system-$RUN.log" >&2
        fi
        proc_ticks "$pid"; p1=$TICKS
        stop_proxy "$system"
    fi
    read -r reqs rps p50 p99 sock non2xx < <(parse_wrk "$out")
    if [ "$reqs" = nan ]; then echo "  wrk produced no result; its output:" >&2; cat "$out" >&2; fi
    echo "$scenario $system $round $reqs $rps $p50 $p99 $sock $non2xx $((p1 - p0)) $((w1 - w0))" >>"$RESULTS"
    "$PY" - "$reqs" "$rps" "$p50" "$p99" "$sock" "$non2xx" "$((p1 - p0))" "$((w1 - w0))" "$CLK_TCK" "$system" "$round" "$DURATION" <<'PY'
import sys
reqs, rps, p50, p99, sock, non2xx, pt, wt, hz, system, rnd, dur = sys.argv[1:]
reqs = float(reqs); hz = float(hz)
per = lambda t: f"{float(t) / hz * 1e6 / reqs:6.1f}" if reqs == reqs and reqs > 0 else "   nan"
cpu = per(pt) if system != "direct" else "     -"
print(f"  round {rnd}  {system:<8} {float(rps):>9.0f} req/s  p50 {float(p50):6.2f} ms  p99 {float(p99):7.2f} ms  "
      f"proxy {cpu} µs/req ({float(pt) / hz / float(dur) * 100:3.0f}% of a core)  wrk {per(wt)} µs/req "
      f"({float(wt) / hz / float(dur) * 100:3.0f}%)  errors socket {sock} non-2xx {non2xx}")
PY
}

# SCENARIOS="keepalive-100B close" runs only those (an A/B of one path).
read -r -a SCENARIOS <<<"${SCENARIOS:-keepalive-100B keepalive-16k close tcp-keepalive}"
for scenario in "${SCENARIOS[@]}"; do
    step "$scenario: $ROUNDS rounds × engine, haproxy, nginx direct (${DURATION}s each)"
    for ((round = 1; round <= ROUNDS; round++)); do
        for system in engine haproxy direct; do
            port=$HTTP_PORT; path=/; extra=()
            case "$scenario" in
                keepalive-16k) path=/16k ;;
                close) extra=(-H 'Connection: close') ;;
                tcp-keepalive) port=$TCP_PORT ;;
            esac
            if [ "$system" = direct ]; then port=${NGINX_PORTS[0]}; fi
            measure "$system" "$scenario" "$round" "$port" "$path" "${extra[@]}"
        done
    done
done

# --- peak memory: 1000 concurrent keep-alive connections -------------------------------------------
PEAK=$TMP/peak.txt
: >"$PEAK"
step "peak RSS: wrk -t2 -c$PEAK_CONNS -d${DURATION}s, keep-alive, 100-byte body"
for system in engine haproxy; do
    start_proxy "$system"
    proc_hwm "$PROXY_PID"; idle=$HWM_KIB
    out=$TMP/wrk-peak-$system.txt
    "$WRK" -t2 -c"$PEAK_CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$HTTP_PORT/" >"$out" 2>&1 || true
    if [ ! -e "/proc/$PROXY_PID" ]; then
        echo "  $system died during the run; its log:" >&2; tail -20 "$TMP/$system-$RUN.log" >&2
    fi
    proc_hwm "$PROXY_PID"
    stop_proxy "$system"
    read -r reqs rps p50 p99 sock non2xx < <(parse_wrk "$out")
    echo "$system $idle $HWM_KIB $reqs $rps $p99 $sock $non2xx" >>"$PEAK"
    printf '  %-8s VmHWM idle %6.1f MiB, under load %6.1f MiB; %s req/s, p99 %s ms, errors socket %s non-2xx %s\n' \
        "$system" "$(echo "$idle" | awk '{print $1/1024}')" "$(echo "$HWM_KIB" | awk '{print $1/1024}')" "$rps" "$p99" "$sock" "$non2xx"
done

# --- the engine's log: anything at warning or above ----------------------------------------------------
step "engine logs (warning and above, all runs)"
engine_problems=$(cat "$TMP"/engine-*.log 2>/dev/null | grep -Ei 'warning|error|critical|fatal' || true)
if [ -n "$engine_problems" ]; then
    printf '%s\n' "$engine_problems" | sort | uniq -c | sort -rn | head -20 | sed 's/^/  /'
else
    echo "  none"
fi

# --- tables ------------------------------------------------------------------------------------------
step "results: medians over $ROUNDS rounds (errors summed), wrk -t1 -c$CONNS -d${DURATION}s"
"$PY" - "$RESULTS" "$PEAK" "$CLK_TCK" "$DURATION" "$ROUNDS" "$PEAK_CONNS" <<'PY'
import math, statistics, sys
from collections import defaultdict
results, peak, hz, duration, rounds, peak_conns = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
titles = {
    "keepalive-100B": "HTTP keep-alive, 100-byte body",
    "keepalive-16k": "HTTP keep-alive, 16 KiB body",
    "close": "HTTP, `Connection: close` (a new client connection per request)",
    "tcp-keepalive": "TCP mode, keep-alive through it (100-byte body)",
}
runs = defaultdict(list)
order = []
for line in open(results):
    scenario, system, rnd, reqs, rps, p50, p99, sock, non2xx, pticks, wticks = line.split()
    if scenario not in order: order.append(scenario)
    reqs = float(reqs)
    per = lambda t: float(t) / hz * 1e6 / reqs if reqs == reqs and reqs > 0 else float("nan")
    runs[(scenario, system)].append(dict(
        cpu=per(pticks) if system != "direct" else float("nan"), rps=float(rps), p50=float(p50), p99=float(p99),
        errors=int(sock) + int(non2xx), sock=int(sock), non2xx=int(non2xx), wrk=per(wticks),
        wrk_core=float(wticks) / hz / duration * 100, proxy_core=float(pticks) / hz / duration * 100))

def med(values):
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")
def agg(scenario, system):
    rs = runs.get((scenario, system), [])
    out = {k: med([r[k] for r in rs]) for k in ("cpu", "rps", "p50", "p99", "wrk", "wrk_core", "proxy_core")}
    out["errors"] = sum(r["errors"] for r in rs); out["sock"] = sum(r["sock"] for r in rs); out["non2xx"] = sum(r["non2xx"] for r in rs)
    return out
def f(v, digits=1):
    return "–" if math.isnan(v) else f"{v:,.{digits}f}"
def ratio(a, b):
    return float("nan") if math.isnan(a) or math.isnan(b) or b == 0 else a / b

summary = []
for scenario in order:
    e, h, d = agg(scenario, "engine"), agg(scenario, "haproxy"), agg(scenario, "direct")
    print(f"\n### {titles.get(scenario, scenario)}\n")
    print("| | proxy CPU µs/req | req/s | p50 ms | p99 ms | errors | proxy core % | wrk CPU µs/req | wrk core % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, a in (("engine", e), ("haproxy", h)):
        print(f"| {name} | {f(a['cpu'])} | {f(a['rps'], 0)} | {f(a['p50'], 2)} | {f(a['p99'], 2)} | {a['errors']} | "
              f"{f(a['proxy_core'], 0)} | {f(a['wrk'])} | {f(a['wrk_core'], 0)} |")
    r = {k: ratio(e[k], h[k]) for k in ("cpu", "rps", "p50", "p99", "wrk")}
    print(f"| ratio (engine ÷ haproxy) | {f(r['cpu'], 2)}× | {f(r['rps'], 2)}× | {f(r['p50'], 2)}× | {f(r['p99'], 2)}× | – | – | {f(r['wrk'], 2)}× | – |")
    print(f"| nginx direct (ceiling, one backend) | – | {f(d['rps'], 0)} | {f(d['p50'], 2)} | {f(d['p99'], 2)} | {d['errors']} | – | {f(d['wrk'])} | {f(d['wrk_core'], 0)} |")
    summary.append((scenario, r, e, h))

def mark(value, ok):
    return "–" if math.isnan(value) else ("met" if ok(value) else "missed")
print(f"\n### Summary: engine ÷ HAProxy (medians of {rounds} rounds)\n")
print("| scenario | CPU/req (target ≤ 1.0×) | req/s (target ≥ 1.0×) | p99 (target ≤ 1.2×) | errors engine / haproxy |")
print("|---|---:|---:|---:|---:|")
for scenario, r, e, h in summary:
    print(f"| {scenario} | {f(r['cpu'], 2)}× {mark(r['cpu'], lambda v: v <= 1.0)} | {f(r['rps'], 2)}× {mark(r['rps'], lambda v: v >= 1.0)} | "
          f"{f(r['p99'], 2)}× {mark(r['p99'], lambda v: v <= 1.2)} | {e['errors']} / {h['errors']} |")

print(f"\n### Peak RSS: {peak_conns} concurrent keep-alive connections (wrk -t2 -c{peak_conns})\n")
print("| proxy | VmHWM idle MiB | VmHWM under load MiB | req/s | p99 ms | errors | target |")
print("|---|---:|---:|---:|---:|---:|---|")
for line in open(peak):
    system, idle, hwm, reqs, rps, p99, sock, non2xx = line.split()
    target = (f"< 64 MiB: {'met' if int(hwm) / 1024 < 64 else 'missed'}") if system == "engine" else "–"
    print(f"| {system} | {int(idle) / 1024:.1f} | {int(hwm) / 1024:.1f} | {f(float(rps), 0)} | {f(float(p99), 2)} | {int(sock) + int(non2xx)} | {target} |")

print("\nNotes: CPU per request is the proxy's utime+stime (/proc/PID/stat 14, 15, all threads and children) over the wrk")
print("window divided by the requests wrk completed; \"core %\" is that CPU as a share of one core over the window.")
print("wrk's own CPU is shown because on a small machine the load generator, the proxy and two nginx share the")
print("cores: when wrk is near 100% of a core, req/s and latency measure the machine, and CPU/req is the figure to read.")
print("nginx direct is wrk against one backend (one worker) with no proxy. Errors: socket errors + non-2xx/3xx responses.")
PY
