#!/usr/bin/env bash
# Security scenarios in the two-node lab: one pair of real agents (with the embedded engine, so the config-sync
# server runs) attacked from the lab's namespaces. Every attack must be
#   - rejected (refused by the agent, or by the kernel where the table says so),
#   - counted in the agent's Prometheus metrics (scraped inside the node's namespace), and
#   - change no state: the role of both nodes, failover_term, the transitions in `failoverctl history` and
#     the config generation of both nodes are the same after the attack as before.
# Prints a markdown table (| attack | result | figures |) and exits non-zero if any row fails. Every wait is
# bounded; processes are stopped by PID only.
#
#   sudo bash scripts/security.sh
#   SECURITY_NO_BUILD=1 LAB_BIN=/path/to/bin sudo -E bash scripts/security.sh   # prebuilt binaries
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=sec
. scripts/lib/common.sh
[ "$(id -u)" = 0 ] || die "security needs root (network namespaces, another user's credentials)"
# The control-socket rows run failoverctl as nobody, so the lab must be reachable by any user whatever the
# permissions above the checkout: in a clone under a mode-700 directory (mktemp -d) every connect failed with
# EACCES before the socket's own mode was looked at. The lab goes to a fresh directory under /tmp instead,
# removed when every row passes.
if [ -z "${LAB_DIR:-}" ]; then
    LAB_DIR=$(mktemp -d /tmp/failover-sec.XXXXXX)
    chmod 755 "$LAB_DIR"
    created_lab_dir=$LAB_DIR
fi
. scripts/lib/lab.sh

install_packages iproute2 curl util-linux python3 procps socat
if [ "${SECURITY_NO_BUILD:-0}" != 1 ]; then
    require_swift
    install_packages pkg-config libsystemd-dev
    swift build -c release --product failover-agent >/dev/null
    swift build -c release --product failoverctl >/dev/null
fi
if [ ! -x "$LAB_BIN/failover-agent" ] || [ ! -x "$LAB_BIN/failoverctl" ]; then
    die "no failover-agent/failoverctl in $LAB_BIN"
fi

PORT=7946
FORGE=tests/e2e/forge.py
HOSTILE=scripts/lib/hostile.py
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

background=()
cleanup() {
    local pid i engines=()
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    for i in 1 2; do pid=$(cat "$LAB_DIR/n$i/engine.pid" 2>/dev/null) && engines+=("$pid"); done
    lab_teardown
    # An engine drains its open connections after SIGTERM: wait for it (bounded) so none outlives the script.
    for pid in "${engines[@]}"; do
        lab_wait 5 sh -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -n "${created_lab_dir:-}" ] && [ "${all_passed:-0}" = 1 ]; then rm -rf "$created_lab_dir"; fi
}
trap cleanup EXIT

# --- observation -------------------------------------------------------------------------------------------

scrape() { lab_exec "n$1" curl -s --max-time 2 http://127.0.0.1:9101/metrics; }
# metric FILE NAME [FILTER...]: the sum of NAME's samples in a saved scrape whose labels contain every FILTER.
metric() {
    local file=$1 name=$2; shift 2
    awk -v name="$name" -v filters="$*" '
        BEGIN { n = split(filters, f, " ") }
        $1 == name || index($1, name "{") == 1 {
            for (i = 1; i <= n; i++) if (index($1, f[i]) == 0) next
            sum += $2
        }
        END { printf "%d\n", sum }' "$file"
}
# delta NODE NAME [FILTER...]: the change of a metric between the row's baseline scrape and now.
delta() {
    local node=$1; shift
    scrape "$node" >"$LAB_DIR/now$node.prom"
    echo $(( $(metric "$LAB_DIR/now$node.prom" "$@") - $(metric "$LAB_DIR/base$node.prom" "$@") ))
}
# reasons NODE NAME LABEL: "value=n, ..." for the samples of NAME that changed since the baseline.
reasons() {
    local node=$1 name=$2 label=$3
    scrape "$node" >"$LAB_DIR/now$node.prom"
    awk -v name="$name" -v label="$label" '
        index($1, name "{") != 1 { next }
        { v = substr($1, index($1, label "=\"") + length(label) + 2); v = substr(v, 1, index(v, "\"") - 1) }
        FNR == NR { base[v] += $2; next }
        { now[v] += $2 }
        END {
            for (v in now) if (now[v] - base[v] > 0) out = out (out == "" ? "" : ", ") v "=" (now[v] - base[v])
            print out
        }' "$LAB_DIR/base$node.prom" "$LAB_DIR/now$node.prom"
}
status_json() { lab_ctl "$1" status --json 2>/dev/null; }
status_field() { status_json "$1" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['status']$2)" 2>/dev/null; }
transitions() { lab_ctl "$1" history --json 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))' 2>/dev/null; }
# The state an attack must not change: role, failover_term, transitions, config generation, both nodes.
state() {
    local i
    for i in 1 2; do
        scrape "$i" >"$LAB_DIR/state$i.prom"
        printf 'lb%s: %s, term %s, %s transitions, generation %s; ' "$i" "$(lab_role "$i")" \
            "$(metric "$LAB_DIR/state$i.prom" failover_term)" "$(transitions "$i")" "$(status_field "$i" "['configGeneration']")"
    done
}
# Starts a row: the state and a scrape of both nodes as the baseline.
baseline() {
    local i
    for i in 1 2; do scrape "$i" >"$LAB_DIR/base$i.prom"; done
    before_state=$(state)
}
# Ends a row: the attack's effects (a claim, a handoff) would show within a few heartbeats.
state_unchanged() {
    sleep 1
    after_state=$(state)
    [ "$after_state" = "$before_state" ]
}
state_note() { if [ "$after_state" = "$before_state" ]; then echo "no state change"; else echo "STATE CHANGED: before [$before_state] after [$after_state]"; fi; }

results=()
record() {  # record ATTACK OK(0/1) FIGURES
    local outcome=fail
    [ "$2" = 1 ] && outcome=pass
    results+=("| $1 | $outcome | $3 |")
    echo "  $([ "$outcome" = pass ] && echo ok || echo FAIL)  $1: $3"
}
has_vip() { case "$(ip -n "$(lab_ns "n$1")" -o addr show dev eth0 2>/dev/null)" in *" $VIP4/"*) return 0 ;; esac; return 1; }
role_is() { [ "$(lab_role "$1")" = "$2" ]; }
engine_ready() { lab_engine_ready "$1"; }
same_generation() { local g; g=$(status_field 1 "['configGeneration']"); [ -n "$g" ] && [ "$g" != 0 ] && [ "$g" = "$(status_field 2 "['configGeneration']")" ]; }
# count_at_least NODE N NAME [FILTER...]: for lab_wait, until the counter grew by N since the baseline.
count_at_least() { local node=$1 n=$2; shift 2; [ "$(delta "$node" "$@")" -ge "$n" ]; }
# by_reason OUT NODE NAME: for each expected reason in column 2 of a helper's output OUT, whether NAME{reason}
# grew by the number of lines that expect it. Sets reason_figures ("reason got/expected, ..."); 1 on a difference.
by_reason() {
    local out=$1 node=$2 name=$3 reason want got status=0
    reason_figures=""
    while read -r reason want; do
        got=$(delta "$node" "$name" "reason=\"$reason\"" </dev/null)
        reason_figures+="${reason_figures:+, }$reason $got/$want"
        [ "$got" = "$want" ] || status=1
    done < <(awk '{print $2}' "$out" | sort | uniq -c | awk '{print $2, $1}')
    return "$status"
}
REJ=failover_datagrams_rejected_total

# --- the lab -------------------------------------------------------------------------------------------------

step "lab: two agents with the embedded engine (config sync on), metrics on 127.0.0.1:9101 in each namespace"
lab_up_network
rm -rf "$LAB_DIR"
mkdir -p "$LAB_DIR/n1" "$LAB_DIR/n2"
for i in 1 2; do
    printf 'listen web\n    bind :8080\n    server a 127.0.0.1:8081\n' >"$LAB_DIR/n$i/proxy.cfg"
done
LAB_EXTRA=$(printf '[engine]\nconfig = "%s/n@N@/proxy.cfg"\nprobe = "127.0.0.1:8080"\n' "$LAB_DIR") lab_write_configs
lab_start_agent 1
lab_wait 8 has_vip 1 || die "lb1 did not take the VIP"
lab_start_agent 2
if ! lab_wait 8 engine_ready 2 || ! lab_wait 3 role_is 2 backup; then die "lb2 did not become a ready backup"; fi
lab_wait 3 same_generation || die "the nodes do not serve the same config generation"
lab_wait 5 sh -c "grep -q 'config sync listening' '$LAB_DIR/n1/agent.log'" || die "lb1's sync server is not listening"
sleep 0.5
( umask 077; "$LAB_BIN/failoverctl" keygen >"$LAB_DIR/other.key" )
lab_exec n1 "$PY" "$FORGE" capture eth0 192.0.2.12 "$PORT" "$LAB_DIR/from2" || die "captured no datagram of lb2"
lab_exec n2 "$PY" "$FORGE" capture eth0 192.0.2.11 "$PORT" "$LAB_DIR/from1" || die "captured no datagram of lb1"
# The control for forge.py's signing: a captured datagram re-signed with the cluster key passes the tag check
# and is refused only by the replay window (a wrong tag would say bad_tag).
baseline
lab_exec n2 "$PY" "$FORGE" sign 192.0.2.12 192.0.2.11 "$PORT" "$LAB_DIR/from2" "$LAB_DIR/cluster.key" copy >/dev/null
lab_wait 3 count_at_least 1 1 "$REJ" 'reason="replay' || die "forge.py's signature is not the agent's: $(reasons 1 "$REJ" reason)"
echo "  start: $(state)"

# --- 1. forged heartbeats --------------------------------------------------------------------------------------

step "1. heartbeats and handoff messages signed with another key, on both links, to both nodes"
baseline
sent1=0; sent2=0
# To lb1 (primary) as lb2: a higher-term claim, an ask for the role, an accept, a leave; re-signed copies.
for pair in "192.0.2.12 192.0.2.11" "198.51.100.12 198.51.100.11"; do
    read -r src dst <<<"$pair"
    n=$(lab_exec n2 "$PY" "$FORGE" sign "$src" "$dst" "$PORT" "$LAB_DIR/from2" "$LAB_DIR/other.key" \
        copy heartbeat claim ask:lb2 accept leaving)
    sent1=$((sent1 + n))
done
# To lb2 (backup) as lb1: released to lb2, an offer, a leave (the primary going), a claim.
for pair in "192.0.2.11 192.0.2.12" "198.51.100.11 198.51.100.12"; do
    read -r src dst <<<"$pair"
    n=$(lab_exec n1 "$PY" "$FORGE" sign "$src" "$dst" "$PORT" "$LAB_DIR/from1" "$LAB_DIR/other.key" \
        copy heartbeat claim offer:lb2 released:lb2 leaving)
    sent2=$((sent2 + n))
done
lab_wait 3 count_at_least 1 "$sent1" "$REJ" || true
lab_wait 3 count_at_least 2 "$sent2" "$REJ" || true
bad1=$(delta 1 "$REJ" 'reason="bad_tag"'); all1=$(delta 1 "$REJ")
bad2=$(delta 2 "$REJ" 'reason="bad_tag"'); all2=$(delta 2 "$REJ")
ok=0
state_unchanged && [ "$bad1" = "$sent1" ] && [ "$all1" = "$sent1" ] && [ "$bad2" = "$sent2" ] && [ "$all2" = "$sent2" ] && ok=1
record "forged heartbeats and handoff messages (another key)" "$ok" \
    "lb1: $sent1 sent, $bad1 counted as bad_tag ($all1 rejected in all); lb2: $sent2 sent, $bad2 bad_tag ($all2 in all); $(state_note)"

# --- 2. tampered / unauthenticated -----------------------------------------------------------------------------

step "2. bit flips of a captured genuine heartbeat (one per byte), an all-zero tag, no tag"
baseline
sent=$(lab_exec n2 "$PY" "$FORGE" flips 192.0.2.12 192.0.2.11 "$PORT" "$LAB_DIR/from2")
lab_wait 3 count_at_least 1 "$sent" "$REJ" || true
all=$(delta 1 "$REJ"); replays=$(delta 1 "$REJ" 'reason="replay')
breakdown=$(reasons 1 "$REJ" reason)
ok=0
state_unchanged && [ "$all" = "$sent" ] && [ "$replays" = 0 ] && ok=1
record "tampered and unauthenticated heartbeats" "$ok" \
    "$sent sent to lb1 (from a $(stat -c %s "$LAB_DIR/from2")-byte datagram: one flip per byte, zero tag, tag stripped), $all rejected before the replay check: $breakdown; $(state_note)"

# --- 3. replayed ------------------------------------------------------------------------------------------------

step "3. genuine heartbeats captured and replayed: at once on both links, and 3 s later"
baseline
lab_exec n1 "$PY" "$FORGE" capturemany eth0 192.0.2.12 "$PORT" 8 "$LAB_DIR/replay" || die "captured no datagrams to replay"
files=("$LAB_DIR"/replay.?)
n_now=$(lab_exec n2 "$PY" "$FORGE" sendmany 192.0.2.12 192.0.2.11 "$PORT" "${files[@]}")
n_now=$((n_now + $(lab_exec n2 "$PY" "$FORGE" sendmany 198.51.100.12 198.51.100.11 "$PORT" "${files[@]}")))
sleep 3
n_late=$(lab_exec n2 "$PY" "$FORGE" sendmany 192.0.2.12 192.0.2.11 "$PORT" "${files[@]}")
lab_wait 3 count_at_least 1 $((n_now + n_late)) "$REJ" || true
all=$(delta 1 "$REJ"); dup=$(delta 1 "$REJ" 'reason="replay_duplicate"'); old=$(delta 1 "$REJ" 'reason="replay_too_old"')
ok=0
state_unchanged && [ "$all" = $((n_now + n_late)) ] && [ "$dup" = "$n_now" ] && [ "$old" = "$n_late" ] && ok=1
record "replayed genuine heartbeats" "$ok" \
    "${#files[@]} captured; replayed at once on link 0 and link 1: $n_now sent, $dup counted as replay_duplicate; 3 s later: $n_late sent, $old replay_too_old ($all rejected in all); $(state_note)"

# --- 4. third address -------------------------------------------------------------------------------------------

step "4. from the client namespace (192.0.2.50): genuine copies, and fresh datagrams signed with the real key"
baseline
s1=$(lab_exec cl "$PY" "$FORGE" sendmany 192.0.2.50 192.0.2.11 "$PORT" "$LAB_DIR/from2")
s1=$((s1 + $(lab_exec cl "$PY" "$FORGE" sign 192.0.2.50 192.0.2.11 "$PORT" "$LAB_DIR/from2" "$LAB_DIR/cluster.key" \
    heartbeat claim ask:lb2 leaving)))
s2=$(lab_exec cl "$PY" "$FORGE" sendmany 192.0.2.50 192.0.2.12 "$PORT" "$LAB_DIR/from1")
s2=$((s2 + $(lab_exec cl "$PY" "$FORGE" sign 192.0.2.50 192.0.2.12 "$PORT" "$LAB_DIR/from1" "$LAB_DIR/cluster.key" \
    heartbeat claim offer:lb2 released:lb2 leaving)))
lab_wait 3 count_at_least 1 "$s1" "$REJ" || true
lab_wait 3 count_at_least 2 "$s2" "$REJ" || true
u1=$(delta 1 "$REJ" 'reason="unexpected_source"'); a1=$(delta 1 "$REJ")
u2=$(delta 2 "$REJ" 'reason="unexpected_source"'); a2=$(delta 2 "$REJ")
ok=0
state_unchanged && [ "$u1" = "$s1" ] && [ "$a1" = "$s1" ] && [ "$u2" = "$s2" ] && [ "$a2" = "$s2" ] && ok=1
record "heartbeats from a third address (genuinely signed)" "$ok" \
    "lb1: $s1 sent, $u1 counted as unexpected_source; lb2: $s2 sent, $u2 unexpected_source (a released-to-lb2 and a leaving among them); $(state_note)"

# --- 5. oversized, flood ------------------------------------------------------------------------------------------

step "5a. oversized datagrams (513, 1500, 9000, 65000 bytes)"
baseline
sent=$(lab_exec n2 "$PY" "$FORGE" oversized 192.0.2.12 192.0.2.11 "$PORT" 513 1500 9000 65000)
lab_wait 3 count_at_least 1 "$sent" "$REJ" || true
over=$(delta 1 "$REJ" 'reason="oversized"'); all=$(delta 1 "$REJ")
ok=0
state_unchanged && [ "$over" = "$sent" ] && [ "$all" = "$sent" ] && ok=1
record "oversized datagrams" "$ok" "$sent sent to lb1, $over counted as oversized ($all rejected in all); $(state_note)"

step "5b. a flood of 20 000 junk datagrams from lb2's address; status must keep answering"
baseline
# UDP datagrams the kernel dropped in lb1's namespace because a socket's receive buffer was full.
# shellcheck disable=SC2016
udp_errors() { lab_exec n1 awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp; }
kernel_before=$(udp_errors)
backlog_before=$(status_field 1 ".get('rejected', {}).get('dropped_backlog', 0)")
flood_count=20000
lab_exec n2 "$PY" "$FORGE" junk 192.0.2.12 192.0.2.11 "$PORT" "$flood_count" &
flood=$!
background+=("$flood")
answers=0; slowest=0; tries=0
while kill -0 "$flood" 2>/dev/null && [ "$tries" -lt 100 ]; do
    tries=$((tries + 1))
    t0=$(date +%s%N)
    if timeout 5 "$LAB_BIN/failoverctl" status --socket "$LAB_DIR/n1/control.sock" >/dev/null 2>&1; then
        answers=$((answers + 1))
        took=$(( ($(date +%s%N) - t0) / 1000000 ))
        [ "$took" -gt "$slowest" ] && slowest=$took
    fi
    sleep 0.05
done
lab_wait 30 sh -c "! kill -0 $flood 2>/dev/null" || kill "$flood" 2>/dev/null || true
wait "$flood" 2>/dev/null || true
sleep 0.5
counted=$(delta 1 "$REJ")
backlog=$(( $(status_field 1 ".get('rejected', {}).get('dropped_backlog', 0)") - backlog_before ))
kernel=$(( $(udp_errors) - kernel_before ))
ok=0
state_unchanged && [ "$answers" -ge 1 ] && [ "$answers" = "$tries" ] && [ "$backlog" = 0 ] \
    && [ $((counted + kernel)) -ge "$flood_count" ] && ok=1
backlog_note="$backlog dropped by the agent's backlog bound"
[ "$backlog" -gt 0 ] && backlog_note="$backlog_note (counted in status as dropped_backlog but NOT in the Prometheus metrics)"
record "flood of junk datagrams" "$ok" \
    "$flood_count sent to lb1: $counted counted in the metrics ($(reasons 1 "$REJ" reason)), $backlog_note, $kernel dropped by the kernel (UDP RcvbufErrors, before the agent); status answered $answers of $tries times during the flood (slowest ${slowest} ms); $(state_note)"

# --- 6. config sync -------------------------------------------------------------------------------------------------

step "6. config-sync frames against lb1's sync server (TCP $PORT) from lb2's address: junk, bad tags, out of order"
baseline
SYNC=failover_sync_requests_refused_total
lab_exec n2 "$PY" "$HOSTILE" sync 192.0.2.12 192.0.2.11 "$PORT" "$LAB_DIR/cluster.key" "$LAB_DIR/other.key" >"$LAB_DIR/sync.out"
sed 's/^/    /' "$LAB_DIR/sync.out"
control=$(awk '$2 == "none" {print $3}' "$LAB_DIR/sync.out")
sed -i '/ none /d' "$LAB_DIR/sync.out"
attacks=$(wc -l <"$LAB_DIR/sync.out")
answered=$(awk '$3 != 0' "$LAB_DIR/sync.out" | wc -l)
lab_wait 3 count_at_least 1 "$attacks" "$SYNC" || true
ok=1
by_reason "$LAB_DIR/sync.out" 1 "$SYNC" || ok=0
all=$(delta 1 "$SYNC")
applied=$(delta 2 failover_config_sync_total)
state_unchanged || ok=0
[ "$all" = "$attacks" ] && [ "$answered" = 0 ] && [ "$applied" = 0 ] && [ "${control:-0}" -gt 0 ] || ok=0
record "config-sync frames: junk, bad tags, other key, out of order" "$ok" \
    "$attacks connections, $answered answered (each hung up on after the server's hello; the control, a request made right, got an authentic answer of $control bytes); ${SYNC}{reason} grew by: $reason_figures ($all in all); no sync on lb2 (failover_config_sync_total +$applied); $(state_note)"

step "6b. a sync connection from a third address (the client, 192.0.2.50)"
baseline
got=$(lab_exec cl "$PY" "$HOSTILE" connect 192.0.2.50 192.0.2.11 "$PORT")
lab_wait 2 sh -c "grep -q 'not a configured peer address' '$LAB_DIR/n1/agent.log'" || true
logged=$(grep -c 'not a configured peer address' "$LAB_DIR/n1/agent.log" || true)
counted=$(delta 1 "$SYNC")
ok=0
state_unchanged && [ "$got" = 0 ] && [ "$counted" -ge 1 ] && ok=1
record "config-sync connection from a third address" "$ok" \
    "hung up on before the hello ($got bytes received), logged ($logged log lines); ${SYNC} grew by $counted$([ "$counted" = 0 ] && echo ': NOT COUNTED in the metrics'); $(state_note)"

# --- 7. control socket ---------------------------------------------------------------------------------------------

CTL=failover_control_refused_total
ctl_as_nobody() {  # ctl_as_nobody NODE ARGS... → "EXIT first line of stderr"
    local node=$1; shift
    local out code=0
    out=$(timeout 10 "${NOBODY[@]}" "$LAB_BIN/failoverctl" "$@" --socket "$LAB_DIR/n$node/control.sock" 2>&1 >/dev/null) || code=$?
    echo "$code ${out%%$'\n'*}"
}

step "7a. control socket as it is (mode $(stat -c %a "$LAB_DIR/n1/control.sock"), $(stat -c %U:%G "$LAB_DIR/n1/control.sock")): failoverctl as nobody without any group"
baseline
refused=0; tried=0; sample=""
for command in demote failover status; do
    tried=$((tried + 1))
    read -r code message <<<"$(ctl_as_nobody 1 "$command")"
    [ "$code" = 4 ] && case "$message" in *"permission denied: cannot open"*) refused=$((refused + 1)) ;; esac
    sample=$message
done
counted=$(delta 1 "$CTL")
ok=0
state_unchanged && [ "$refused" = "$tried" ] && ok=1
record "control socket: caller without the group (socket 0660)" "$ok" \
    "demote, failover and status as uid 65534: $refused/$tried refused by the kernel at connect (EACCES, exit 4: \"${sample}\"); the agent never sees the caller, so ${CTL} cannot count it (+$counted); $(state_note)"

step "7b. a world-connectable control socket (chmod 0666 by hand: the agent always sets 0660): the agent must refuse"
baseline
chmod 0666 "$LAB_DIR/n1/control.sock" "$LAB_DIR/n2/control.sock"
refused=0; tried=0; wrong=""
for spec in "1 demote" "1 failover" "1 maintenance on" "1 reload" "1 sync" "2 promote" "2 failover"; do
    read -r -a words <<<"$spec"
    node=${words[0]}
    command=("${words[@]:1}")
    tried=$((tried + 1))
    read -r code message <<<"$(ctl_as_nobody "$node" "${command[@]}")"
    if [ "$code" = 4 ]; then refused=$((refused + 1)); else wrong+="lb$node ${command[*]} → exit $code ($message); "; fi
done
read -r status_code _ <<<"$(ctl_as_nobody 1 status)"
chmod 0660 "$LAB_DIR/n1/control.sock" "$LAB_DIR/n2/control.sock"
perm=$(( $(delta 1 "$CTL" 'reason="permission"') + $(delta 2 "$CTL" 'reason="permission"') ))
ok=0
state_unchanged && [ "$refused" = "$tried" ] && [ "$perm" = "$tried" ] && [ "$status_code" = 0 ] && ok=1
record "control socket: caller without the group (world-connectable socket)" "$ok" \
    "demote, failover, maintenance on, reload, sync (lb1), promote, failover (lb2) as uid 65534: $refused/$tried refused by the agent (permission-denied, exit 4)${wrong:+; accepted: $wrong}; ${CTL}{reason=\"permission\"} +$perm; status as uid 65534 still answers (exit $status_code); $(state_note)"

step "7c. malformed and over-long lines on the control socket, as root"
baseline
lab_exec n1 "$PY" "$HOSTILE" control "$LAB_DIR/n1/control.sock" >"$LAB_DIR/control.out"
sed 's/^/    /' "$LAB_DIR/control.out"
lines=$(wc -l <"$LAB_DIR/control.out")
lab_wait 3 count_at_least 1 "$lines" "$CTL" || true
ok=1
by_reason "$LAB_DIR/control.out" 1 "$CTL" || ok=0
accepted=$(awk '$3 == "ok"' "$LAB_DIR/control.out" | awk '{print $1}' | paste -sd, -)
root_status=0
lab_ctl 1 status >/dev/null 2>&1 || root_status=$?
state_unchanged || ok=0
[ -z "$accepted" ] && [ "$root_status" = 0 ] || ok=0
record "control socket: malformed and over-long lines (root)" "$ok" \
    "$lines lines: ${CTL}{reason} grew by $reason_figures$([ -n "$accepted" ] && echo "; ANSWERED as a valid request: $accepted"); status as root still answers (exit $root_status); $(state_note)"

# --- 8. listeners held by a local user ------------------------------------------------------------------------------

step "8. a local user (nobody) fills the metrics endpoint and the control socket with idle and trickling connections"
baseline
before_held=$(delta 1 failover_listener_refused_total)
# 200 idle connections to the metrics endpoint, and 100 to the control socket sending a byte a second: each
# listener admits its bound and closes every connection at its deadline (10 s, 30 s), so the agent keeps
# descriptors for a failover. While they are held, a planned failover must work and status must answer.
lab_exec n1 "${NOBODY[@]}" "$PY" "$HOSTILE" hold 127.0.0.1:9101 200 11 >"$LAB_DIR/hold-metrics.out" &
metrics_holder=$!
# The control socket made world-connectable (as in 7b), so that nobody reaches the agent's own limits.
chmod 0666 "$LAB_DIR/n1/control.sock"
lab_exec n1 "${NOBODY[@]}" "$PY" "$HOSTILE" hold "$LAB_DIR/n1/control.sock" 100 31 trickle >"$LAB_DIR/hold-control.out" &
control_holder=$!
background+=("$metrics_holder" "$control_holder")
sleep 2
failover_exit=0
lab_ctl 1 failover >/dev/null 2>&1 || failover_exit=$?
moved=0
lab_wait 3 has_vip 2 && moved=1
lab_ctl 2 failover >/dev/null 2>&1 || true
lab_wait 3 has_vip 1 || true
wait "$metrics_holder" 2>/dev/null || true
wait "$control_holder" 2>/dev/null || true
chmod 0660 "$LAB_DIR/n1/control.sock"
read -r m_opened m_admitted m_left <"$LAB_DIR/hold-metrics.out" || true
read -r c_opened c_admitted c_left <"$LAB_DIR/hold-control.out" || true
refused=$(( $(delta 1 failover_listener_refused_total) - before_held ))
alive=0
kill -0 "$(lab_agent_pid 1)" 2>/dev/null && alive=1
ok=0
[ "$alive" = 1 ] && [ "$moved" = 1 ] && [ "$failover_exit" = 0 ] && [ "${m_admitted:-999}" -le 16 ] && [ "${m_left:-1}" = 0 ] \
    && [ "${c_opened:-0}" -gt 8 ] && [ "${c_admitted:-999}" -le 8 ] && [ "${c_left:-1}" = 0 ] && [ "$refused" -gt 0 ] \
    && ok=1
record "idle and trickling connections to the metrics endpoint and the control socket (uid 65534)" "$ok" \
    "metrics: ${m_opened:-?} opened, ${m_admitted:-?} admitted, ${m_left:-?} still open after 11 s; control: ${c_opened:-?} opened, ${c_admitted:-?} admitted, ${c_left:-?} still open after 31 s of one byte a second; failover_listener_refused_total +$refused; planned failover while held: exit $failover_exit, VIP moved: $([ "$moved" = 1 ] && echo yes || echo NO); agent alive: $([ "$alive" = 1 ] && echo yes || echo NO)"

# --- 9. a flood on one link ---------------------------------------------------------------------------------------

step "9. floods on link 0 (junk from lb2's address and from a third address); lb2's heartbeats on link 1 must all get through"
baseline
kernel_before=$(udp_errors)
flood_pids=()
lab_exec n2 "$PY" "$FORGE" junk 192.0.2.12 192.0.2.11 "$PORT" 20000 &
flood_pids+=("$!")
lab_exec n2 "$PY" "$FORGE" junk 192.0.2.12 192.0.2.11 "$PORT" 20000 &
flood_pids+=("$!")
lab_exec cl "$PY" "$FORGE" junk 192.0.2.50 192.0.2.11 "$PORT" 20000 &
flood_pids+=("$!")
background+=("${flood_pids[@]}")
for pid in "${flood_pids[@]}"; do
    lab_wait 60 sh -c "! kill -0 $pid 2>/dev/null" || kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
sleep 0.5
link1_drops=$(delta 1 "$REJ" 'link="1"' 'reason="dropped_backlog"')
link0_drops=$(delta 1 "$REJ" 'link="0"' 'reason="dropped_backlog"')
third=$(delta 1 "$REJ" 'reason="unexpected_source"')
received1=$(delta 1 failover_datagrams_received_total 'link="1"')
kernel=$(( $(udp_errors) - kernel_before ))
ok=0
state_unchanged && [ "$link1_drops" = 0 ] && [ "$received1" -gt 0 ] && ok=1
record "a flood on one link (lb2's address and a third one)" "$ok" \
    "60000 sent to lb1 on link 0 (20000 from 192.0.2.50): $third refused at the socket as unexpected_source (never charged to a budget), $link0_drops dropped by link 0's backlog bound, $kernel by the kernel; link 1: $received1 heartbeats received, $link1_drops dropped; $(state_note)"

# --- 10. extreme term and generation --------------------------------------------------------------------------------

step "10. heartbeats claiming term and config generation 2^64-1, signed with the cluster key (a key holder), to the primary"
# Before the saturating arithmetic (issue 20), term + 1 and generation + 1 trapped: the primary died with the VIP
# configured. A key holder may move roles; it must not crash a node or leave two holders.
baseline
# A fresh capture: the forged datagrams must carry a sequence above lb2's current one, or the replay window
# refuses them before the election sees them.
lab_exec n1 "$PY" "$FORGE" capture eth0 192.0.2.12 "$PORT" "$LAB_DIR/from2-now" || die "captured no datagram of lb2"
sent=$(lab_exec n2 "$PY" "$FORGE" sign 192.0.2.12 192.0.2.11 "$PORT" "$LAB_DIR/from2-now" "$LAB_DIR/cluster.key" \
    extreme extreme extreme)
sleep 3
# Proof that they reached the election: lb1 took the term (saturated, not wrapped to 0).
term1=$(status_field 1 "['term']" || true)
alive1=0; alive2=0
kill -0 "$(lab_agent_pid 1)" 2>/dev/null && alive1=1
kill -0 "$(lab_agent_pid 2)" 2>/dev/null && alive2=1
holders=0
has_vip 1 && holders=$((holders + 1))
has_vip 2 && holders=$((holders + 1))
ok=0
[ "$alive1" = 1 ] && [ "$alive2" = 1 ] && [ "$holders" = 1 ] && [ "$term1" = 18446744073709551615 ] && ok=1
record "heartbeats with term and generation 2^64-1 (signed with the key)" "$ok" \
    "$sent sent to lb1 (primary) as lb2; lb1's term is now ${term1:-?} (they reached the election; the sequence jump also makes lb1 refuse lb2's genuine datagrams as too old for a while: a key holder can do that); 3 s later: lb1 $([ "$alive1" = 1 ] && echo alive || echo DEAD), lb2 $([ "$alive2" = 1 ] && echo alive || echo DEAD), $holders VIP holder(s) (lb1 $(lab_role 1), lb2 $(lab_role 2))"

# --- 11, 12. engine rules that must fail closed (a standalone engine in lb1's namespace) ------------------------------

step "11-12. the engine: 'use_backend B unless A1 A2' from outside with the admin Host; an absolute-form target with another Host"
cat >"$LAB_DIR/rules.cfg" <<'CFG'
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend web
    bind 192.0.2.11:8090
    acl office src 10.9.0.0/16
    acl admin_host hdr(host) -i admin.example.com
    use_backend forbidden unless office admin_host
    use_backend admin if admin_host
    default_backend forbidden

backend admin
    server a 127.0.0.1:8091

backend forbidden
    server f 127.0.0.1:8092
CFG
cat >"$LAB_DIR/named.py" <<'PY'
import http.server, sys
name = sys.argv[2].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(name))); self.end_headers(); self.wfile.write(name)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
# Not through lab_exec: a function run with & is a subshell, and $! would be its PID, so the cleanup would stop
# the subshell and leave the process running (it did, until found by a look at the process list).
ip netns exec "$(lab_ns n1)" "$PY" "$LAB_DIR/named.py" 8091 ADMIN &
background+=("$!")
ip netns exec "$(lab_ns n1)" "$PY" "$LAB_DIR/named.py" 8092 FORBIDDEN &
background+=("$!")
ip netns exec "$(lab_ns n1)" "$LAB_BIN/failover-agent" proxy --config "$LAB_DIR/rules.cfg" >"$LAB_DIR/rules-engine.log" 2>&1 &
rules_engine=$!
background+=("$rules_engine")
answer() { lab_exec cl curl -s --max-time 2 "$@" 2>/dev/null || true; }
# Both backends answer, then the engine: a request before that would get a 503 for the wrong reason.
for port in 8091 8092; do
    lab_wait 5 sh -c "ip netns exec $(lab_ns n1) curl -s --max-time 1 -o /dev/null http://127.0.0.1:$port/" || true
done
lab_wait 5 sh -c "ip netns exec $(lab_ns cl) curl -s --max-time 1 -o /dev/null http://192.0.2.11:8090/" || true
outsider=$(answer -H "Host: admin.example.com" http://192.0.2.11:8090/)
ok=0
[ "$outsider" = FORBIDDEN ] && ok=1
record "use_backend B unless A1 A2 (from outside, admin Host)" "$ok" \
    "client 192.0.2.50 with Host admin.example.com: answered by $(printf '%s' "${outsider:-nothing}" | head -c 60 | tr '\n' ' ') (HAProxy: FORBIDDEN; the engine answered ADMIN before issue 20)"
absolute=$(lab_exec cl sh -c "printf 'GET http://www.example.com/ HTTP/1.1\r\nHost: admin.example.com\r\nConnection: close\r\n\r\n' | timeout 3 socat - TCP:192.0.2.11:8090" 2>/dev/null | head -1 | tr -d '\r' || true)
ok=0
case "$absolute" in "HTTP/1.1 400"*) ok=1 ;; esac
record "absolute-form target whose authority differs from Host" "$ok" \
    "GET http://www.example.com/ with Host admin.example.com: ${absolute:-no answer} (HAProxy: 400; before issue 20 the engine routed by the authority and forwarded the client's Host)"
kill "$rules_engine" 2>/dev/null || true

# --- 13. replay after a restart --------------------------------------------------------------------------------------

step "13. the primary's heartbeats captured, the pair stopped, the backup restarted alone: the capture replayed at it"
# 40 datagrams of lb1 on link 0 (2 s of heartbeats), seen by lb2; lb2's ledger saves its checkpoints each second
# and when it stops. Then lb1 is gone (as a dead primary) and lb2 starts again while the capture is replayed at
# the pace it was sent: a replay accepted would keep lb2 backup behind a primary that does not exist.
lab_exec n2 "$PY" "$FORGE" capturemany eth0 192.0.2.11 "$PORT" 40 "$LAB_DIR/old1" || die "captured no datagrams of lb1"
sleep 1.2
lab_stop_agent 2
lab_stop_agent 1
lab_wait 3 sh -c "! ip -n $(lab_ns n1) -o addr show dev eth0 | grep -q ' $VIP4/'" || die "lb1 did not release the VIP"
replay_files=()
for n in $(seq 0 39); do replay_files+=("$LAB_DIR/old1.$n"); done
started=$(date +%s%N)
lab_start_agent 2
ctl_answers() { lab_ctl "$1" status >/dev/null 2>&1; }
lab_wait 5 ctl_answers 2 || die "lb2 did not start again"
sleep 0.2
lab_exec n1 env FORGE_INTERVAL=0.05 "$PY" "$FORGE" sendmany 192.0.2.11 192.0.2.12 "$PORT" "${replay_files[@]}" \
    >"$LAB_DIR/replayed" &
replayer=$!
background+=("$replayer")
took_vip=0
lab_wait 5 has_vip 2 && took_vip=1
held_after=$(( ($(date +%s%N) - started) / 1000000 ))
lab_wait 10 sh -c "! kill -0 $replayer 2>/dev/null" || kill "$replayer" 2>/dev/null || true
wait "$replayer" 2>/dev/null || true
sleep 0.3
replayed=$(cat "$LAB_DIR/replayed" 2>/dev/null || echo 0)
# A replay taken for the higher-priority lb1 would also have made lb2 give the VIP up again.
still_held=0
has_vip 2 && role_is 2 primary && still_held=1
scrape 2 >"$LAB_DIR/scrape-replay"
replay_rejected=$(metric "$LAB_DIR/scrape-replay" "$REJ" 'reason="replay')
accepted=$(metric "$LAB_DIR/scrape-replay" failover_datagrams_received_total)
ok=0
[ "$took_vip" = 1 ] && [ "$still_held" = 1 ] && [ "$replay_rejected" = "$replayed" ] && [ "$accepted" = 0 ] && ok=1
record "a dead primary's heartbeats replayed at the restarted backup" "$ok" \
    "$replayed replayed over 2 s after lb2's restart: $replay_rejected refused as replays ($(sed -n 's/.*reason="\(replay[a-z_]*\)".* \([0-9]*\)$/\1=\2/p' "$LAB_DIR/scrape-replay" | grep -v '=0$' | paste -sd, -)), $accepted accepted; lb2 $([ "$took_vip" = 1 ] && echo "held the VIP ${held_after} ms after its start" || echo "did NOT take the VIP"), $([ "$still_held" = 1 ] && echo "and still held it after the replay" || echo "and did NOT hold it after the replay")"

echo
echo "| attack | result | figures |"
echo "|---|---|---|"
printf '%s\n' "${results[@]}"
if printf '%s\n' "${results[@]}" | grep -q "| fail |"; then
    echo "the lab's files and logs are kept in $LAB_DIR"
    exit 1
fi
all_passed=1
