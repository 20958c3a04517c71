# The two-node lab: network namespaces joined by two bridges that live in their own namespace.
# Source it; set LAB (a short unique prefix) and LAB_DIR first. Nothing is added to the host's interfaces.
#
#   link 0 (bridge br0): 192.0.2.0/24     n1 eth0 .11, n2 eth0 .12, client eth0 .50, VIP 192.0.2.100/24 (+ 2001:db8::100/64)
#   link 1 (bridge br1): 198.51.100.0/24  n1 eth1 .11, n2 eth1 .12

LAB=${LAB:-fa}
LAB_DIR=${LAB_DIR:-$PWD/lab-run/$LAB}
LAB_BUILD=${LAB_BUILD:-release}
LAB_BIN=${LAB_BIN:-$PWD/.build/$LAB_BUILD}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # Debian's, not a shim
VIP4=192.0.2.100
VIP6=2001:db8::100

lab_ns() { echo "$LAB-$1"; }   # br, n1, n2, cl

# Builds failover-agent and failoverctl ($LAB_BUILD) with swift build. With LAB_NO_BUILD=1 nothing is built and
# LAB_BIN must hold both (prebuilt binaries, e.g. copies that a concurrent build cannot replace mid-run):
#   LAB_NO_BUILD=1 LAB_BIN=/tmp/bin sudo -E bash scripts/demo.sh
lab_build() {
    if [ "${LAB_NO_BUILD:-0}" = 1 ]; then
        { [ -x "$LAB_BIN/failover-agent" ] && [ -x "$LAB_BIN/failoverctl" ]; } \
            || die "LAB_NO_BUILD=1 but $LAB_BIN has no failover-agent and failoverctl: set LAB_BIN to their directory"
        step "prebuilt binaries from $LAB_BIN (LAB_NO_BUILD=1)"
        return 0
    fi
    require_swift
    install_packages pkg-config libsystemd-dev
    step "build ($LAB_BUILD)"
    swift build -c "$LAB_BUILD" --product failover-agent >/dev/null
    swift build -c "$LAB_BUILD" --product failoverctl >/dev/null
}

lab_exec() { local node=$1; shift; ip netns exec "$(lab_ns "$node")" "$@"; }

lab_up_network() {
    lab_down_network 2>/dev/null || true
    local ns
    for ns in br n1 n2 cl; do ip netns add "$(lab_ns $ns)"; done
    local br; br=$(lab_ns br)
    ip -n "$br" link set lo up
    ip -n "$br" link add br0 type bridge
    ip -n "$br" link add br1 type bridge
    # No STP/forward delay: ports forward at once.
    ip -n "$br" link set br0 type bridge forward_delay 0 stp_state 0
    ip -n "$br" link set br1 type bridge forward_delay 0 stp_state 0
    ip -n "$br" link set br0 up
    ip -n "$br" link set br1 up
    local i
    for i in 1 2; do
        local node; node=$(lab_ns n$i)
        ip -n "$br" link add "n$i-0" type veth peer name eth0 netns "$node"
        ip -n "$br" link add "n$i-1" type veth peer name eth1 netns "$node"
        ip -n "$br" link set "n$i-0" master br0 up
        ip -n "$br" link set "n$i-1" master br1 up
        ip -n "$node" link set lo up
        ip -n "$node" link set eth0 address "02:00:00:00:00:1$i"
        ip -n "$node" link set eth1 address "02:00:00:00:01:1$i"
        ip -n "$node" addr add "192.0.2.1$i/24" dev eth0
        ip -n "$node" addr add "198.51.100.1$i/24" dev eth1
        ip -n "$node" -6 addr add "2001:db8::1$i/64" dev eth0 nodad
        ip -n "$node" link set eth0 up
        ip -n "$node" link set eth1 up
    done
    local client; client=$(lab_ns cl)
    ip -n "$br" link add cl-0 type veth peer name eth0 netns "$client"
    ip -n "$br" link set cl-0 master br0 up
    ip -n "$client" link set lo up
    ip -n "$client" link set eth0 address 02:00:00:00:00:50
    ip -n "$client" addr add 192.0.2.50/24 dev eth0
    ip -n "$client" addr add 192.0.2.1/24 dev eth0   # the "gateway": a witness target
    ip -n "$client" -6 addr add 2001:db8::50/64 dev eth0 nodad
    ip -n "$client" link set eth0 up
}

lab_down_network() {
    local ns
    for ns in cl n1 n2 br; do ip netns del "$(lab_ns $ns)" 2>/dev/null || true; done
}

lab_write_configs() {
    mkdir -p "$LAB_DIR"
    ( umask 077; "$LAB_BIN/failoverctl" keygen >"$LAB_DIR/cluster.key" )
    local i
    for i in 1 2; do
        local other=$(( 3 - i ))
        mkdir -p "$LAB_DIR/n$i/state"
        cat >"$LAB_DIR/n$i/agent.toml" <<TOML
[node]
name = "lb$i"
priority = $(( i == 1 ? 150 : 100 ))

[cluster]
key_file = "$LAB_DIR/cluster.key"

[[cluster.link]]
local = "192.0.2.1$i"
peer = "192.0.2.1$other"

[[cluster.link]]
local = "198.51.100.1$i"
peer = "198.51.100.1$other"

[[vip]]
address = "$VIP4/24"
interface = "eth0"

[[vip]]
address = "$VIP6/64"
interface = "eth0"

$( [ -n "${LAB_WITNESS:-}" ] && printf '[witness]\ntargets = ["%s"]\ninterval = "200ms"\ntimeout = "100ms"\n' "$LAB_WITNESS" )

$( [ -n "${LAB_EXTRA:-}" ] && printf '%s\n' "${LAB_EXTRA//@N@/$i}" )

[control]
socket = "$LAB_DIR/n$i/control.sock"

[metrics]
listen = "127.0.0.1:9101"
TOML
    done
}

# Starts node i's agent in its namespace; its PID goes to $LAB_DIR/n$i/agent.pid.
lab_start_agent() {
    local i=$1
    # Not through lab_exec: a function run with & is a subshell, and $! would be its PID, not the agent's.
    ip netns exec "$(lab_ns "n$i")" "$LAB_BIN/failover-agent" run --config "$LAB_DIR/n$i/agent.toml" \
        --state-directory "$LAB_DIR/n$i/state" >>"$LAB_DIR/n$i/agent.log" 2>&1 &
    echo $! >"$LAB_DIR/n$i/agent.pid"
    disown $!   # no "Killed" job notices when a test kills it
}

lab_agent_pid() { cat "$LAB_DIR/n$1/agent.pid" 2>/dev/null; }

lab_stop_agent() {
    local i=$1 signal=${2:-TERM} pid
    pid=$(lab_agent_pid "$i") || return 0
    [ -n "$pid" ] || return 0
    kill -"$signal" "$pid" 2>/dev/null || true
    local n
    # A zombie (exited, not yet reaped) counts as gone.
    for n in $(seq 1 100); do
        [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = "" ] && break
        [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$LAB_DIR/n$i/agent.pid"
}

# A small HTTP responder on each node (port 8080, every address) that answers with the node's name.
lab_start_responders() {
    local i
    for i in 1 2; do
        mkdir -p "$LAB_DIR/n$i/www"
        echo "lb$i" >"$LAB_DIR/n$i/www/index.html"
        ip netns exec "$(lab_ns "n$i")" "$PY" -m http.server --bind :: --directory "$LAB_DIR/n$i/www" 8080 \
            >"$LAB_DIR/n$i/http.log" 2>&1 &
        echo $! >"$LAB_DIR/n$i/http.pid"
        disown $!
    done
}

lab_stop_pidfile() {
    local file=$1 pid
    pid=$(cat "$file" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -f "$file"
}

lab_ctl() { local i=$1; shift; "$LAB_BIN/failoverctl" "$@" --socket "$LAB_DIR/n$i/control.sock"; }

lab_role() { lab_ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["role"])' 2>/dev/null || echo down; }
# The engine's state word from status --json (`ready`, `starting`, …; `down` when the agent does not answer).
lab_engine_state() { lab_status_key "$1" engineState down; }
# lab_status_key NODE KEY [DEFAULT]: one top-level field of node NODE's status --json (DEFAULT when missing).
lab_status_key() {
    lab_ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; v=json.load(sys.stdin)["status"].get(sys.argv[1]); print(sys.argv[2] if v is None else v)' "$2" "${3:-}" 2>/dev/null || echo "${3:-}"
}
lab_engine_ready() { [ "$(lab_engine_state "$1")" = ready ]; }

# Which node has the VIP on its interface: "lb1", "lb2", "both" or "none".
# The two namespaces cannot be read in one atomic step, so "both" is only reported when lb1, then lb2,
# then lb1 again all show the VIP: a node's hold is one unbroken interval, so lb1 held it the whole time,
# including the moment lb2 was seen. Reading lb1 then lb2 once would call a clean handoff that happens
# between the two reads an overlap.
lab_vip_on() {
    # No `grep -q` in a pipe: with pipefail, ip's SIGPIPE would make a match look like a miss.
    case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac
    return 1
}
lab_vip_holder() {
    local on1=0 on2=0
    lab_vip_on 1 && on1=1
    lab_vip_on 2 && on2=1
    if [ $on1 = 1 ] && [ $on2 = 1 ] && ! lab_vip_on 1; then on1=0; fi
    case $on1$on2 in 00) echo none ;; 10) echo lb1 ;; 01) echo lb2 ;; *) echo both ;; esac
}

# Waits (bounded) until the predicate command succeeds; returns 1 on timeout.
lab_wait() {
    local seconds=$1; shift
    local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

lab_teardown() {
    local i
    for i in 1 2; do
        lab_stop_agent "$i" KILL
        # An agent killed with -9 leaves its engine running; the engine's pid file says which it is.
        lab_stop_pidfile "$LAB_DIR/n$i/engine.pid"
        lab_stop_pidfile "$LAB_DIR/n$i/http.pid"
    done
    lab_stop_pidfile "$LAB_DIR/probe.pid"
    # Small file systems a scenario mounted (disk-full tests).
    local mounted
    for mounted in $(awk -v dir="$LAB_DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts); do umount -l "$mounted"; done
    lab_down_network
}

lab_vip_held() { [ "$(lab_vip_holder)" != none ]; }

# lab_watch_start INTERVAL_MS TIMEOUT_MS SECONDS: a client in the client namespace requesting http://VIP:80/
# (scripts/lib/probe.py, a new connection each, monotonic clock) and a sampler of who holds the VIP (about every
# 50 ms), until lab_watch_stop. Logs: $LAB_DIR/probe.log, $LAB_DIR/holders.log.
lab_watch_start() {
    local interval=$1 timeout=$2 seconds=$3
    rm -f "$LAB_DIR/watch.stop"
    ip netns exec "$(lab_ns cl)" "$PY" scripts/lib/probe.py "$VIP4" 80 "$interval" "$timeout" "$seconds" monotonic \
        "$LAB_DIR/watch.stop" >"$LAB_DIR/probe.log" 2>&1 &
    echo $! >"$LAB_DIR/probe.pid"
    disown $!
    (
        local _
        for _ in $(seq 1 $((seconds * 20))); do
            [ -e "$LAB_DIR/watch.stop" ] && break
            lab_vip_holder
            sleep 0.05
        done
    ) >"$LAB_DIR/holders.log" 2>/dev/null &
    echo $! >"$LAB_DIR/sampler.pid"
    disown $!
}

lab_watch_stop() {
    touch "$LAB_DIR/watch.stop" 2>/dev/null || true
    sleep 1
    lab_stop_pidfile "$LAB_DIR/probe.pid"
    lab_stop_pidfile "$LAB_DIR/sampler.pid"
}

# lab_watch_figures: "TOTAL OK LONGEST_OUTAGE_MS SPAN_S DUAL_SAMPLES HOLDER_CHANGES" of the last watch
# (scripts/lib/outage.py over the probes; holder changes count moves between nodes, "none" samples skipped).
lab_watch_figures() {
    local first last total ok longest span both changes
    first=$(awk '$2 ~ /^[01]$/ {print $1; exit}' "$LAB_DIR/probe.log")
    last=$(awk '$2 ~ /^[01]$/ {t = $1} END {print t}' "$LAB_DIR/probe.log")
    if [ -z "$first" ]; then echo "0 0 0 0 0 0"; return 0; fi
    read -r total ok longest < <("$PY" scripts/lib/outage.py "$LAB_DIR/probe.log" \
        "$(awk -v t="$first" 'BEGIN {printf "%.3f", t / 1000}')" "$(awk -v t="$last" 'BEGIN {printf "%.3f", t / 1000}')")
    span=$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%.1f", (b - a) / 1000}')
    both=$(grep -c '^both$' "$LAB_DIR/holders.log" || true)
    changes=$({ grep -v '^none$' "$LAB_DIR/holders.log" || true; } | uniq | wc -l)
    echo "$total $ok $longest $span $both $((changes > 0 ? changes - 1 : 0))"
}
