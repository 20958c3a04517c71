#!/usr/bin/env bash
# The rolling upgrade of docs/upgrade.md, for real: a pair on the previous release (built from git at
# OLD_COMMIT, datagram and sync version 1 only) upgraded node by node to this build, with a client requesting
# through the VIP all along. Prints a table: client success rate, longest outage, dual holding, role changes,
# and what each node's status said at each step. Not part of scripts/test.sh (building the old release takes
# about ten minutes the first time; it is cached in lab-run/cache/release-COMMIT).
#
#   sudo bash scripts/upgrade-lab.sh                      # builds this tree and the old release if needed
#   OLD_COMMIT=e8e2350 LAB_NO_BUILD=1 LAB_BIN=$PWD/.build/release sudo -E bash scripts/upgrade-lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
LAB=fu
LAB_DIR=$(mktemp -d /tmp/failover-upgrade.XXXXXX)
. scripts/lib/lab.sh

[ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces): sudo bash scripts/upgrade-lab.sh"
# e8e2350: 0.3.0, the last commit before datagram version 2 and sync version 2.
OLD_COMMIT=${OLD_COMMIT:-e8e2350}
OLD_DIR=$PWD/lab-run/cache/release-$OLD_COMMIT
OLD_BIN=$OLD_DIR/bin

lab_build
NEW_BIN=$LAB_BIN
if [ ! -x "$OLD_BIN/failover-agent" ] || [ ! -x "$OLD_BIN/failoverctl" ]; then
    step "build the previous release ($OLD_COMMIT) into $OLD_DIR (once)"
    rm -rf "$OLD_DIR/src"
    mkdir -p "$OLD_DIR"
    git clone -q . "$OLD_DIR/src"
    git -C "$OLD_DIR/src" checkout -q "$OLD_COMMIT"
    (cd "$OLD_DIR/src" && swift build -c release --product failover-agent >/dev/null \
        && swift build -c release --product failoverctl >/dev/null)
    mkdir -p "$OLD_BIN"
    cp "$OLD_DIR/src/.build/release/failover-agent" "$OLD_DIR/src/.build/release/failoverctl" "$OLD_BIN/"
    rm -rf "$OLD_DIR/src"
fi

. scripts/lib/incompatible-build.sh
INCOMPATIBLE_BIN=$(dirname "$(incompatible_agent)")

cleanup() {
    lab_watch_stop
    lab_teardown
    rm -rf "$LAB_DIR"
}
trap cleanup EXIT

# Node i runs the agent from directory $2 (its engine is that agent's own embedded engine).
start_node() {
    local i=$1 bin=$2
    ip netns exec "$(lab_ns "n$i")" "$bin/failover-agent" run --config "$LAB_DIR/n$i/agent.toml" \
        --state-directory "$LAB_DIR/n$i/state" >>"$LAB_DIR/n$i/agent.log" 2>&1 &
    echo $! >"$LAB_DIR/n$i/agent.pid"
    disown $!
    echo "$bin" >"$LAB_DIR/n$i/bin"
}
ctl() { local i=$1; shift; "$NEW_BIN/failoverctl" "$@" --socket "$LAB_DIR/n$i/control.sock"; }
status_json() { ctl "$1" status --json 2>/dev/null; }
field() {  # field NODE PYTHON-EXPRESSION-ON-s (s = the status object)
    status_json "$1" | "$PY" -c "import json,sys; s=json.load(sys.stdin)['status']; print($2)" 2>/dev/null || echo "?"
}
role_is() { [ "$(lab_role "$1")" = "$2" ]; }
ready_backup() { role_is "$1" backup && [ "$(field "$1" "'ready' in s['engine']")" = True ]; }
same_generation() {
    local a b
    a=$(field 1 "s['configGeneration']"); b=$(field 2 "s['configGeneration']")
    [ "$a" != "?" ] && [ "$a" = "$b" ] && [ "$a" != 0 ]
}
generation_at_least() { [ "$(field "$1" "s['configGeneration']")" -ge "$2" ] 2>/dev/null; }
peer_view() {  # what node i says of its peer's release and protocol
    field "$1" "(lambda p: '%s · protocol %s, speaking %s' % (p.get('release') or 'no release (0.3 or older)', p.get('protocolVersions') or '1', p.get('protocolSpoken') if p.get('protocolSpoken') is not None else 'n/a (old status)'))(s['peers'][0]) if s['peers'] else 'no peer'"
}
own_view() { field "$1" "'%s · protocol %s' % (s.get('release') or '0.3 (no release in status)', s.get('protocolVersions') or '1')"; }
speaking() { [ "$(field "$1" "s['peers'][0].get('protocolSpoken') if s['peers'] else None")" = "$2" ]; }
edit_and_reload() {  # edit_and_reload NODE: a new generation on the primary
    echo "# edit $(date +%s%N)" >>"$LAB_DIR/n$1/proxy.cfg"
    ctl "$1" reload >/dev/null
}
mode_of() { stat -c %a "$1"; }
sync_row() {  # sync_row PRIMARY BACKUP LABEL: an edit on the primary reaches the backup
    local from=$1 to=$2 before ok=0
    before=$(field "$from" "s['configGeneration']")
    edit_and_reload "$from"
    lab_wait 10 generation_at_least "$to" $((before + 1)) && lab_wait 5 same_generation && ok=1
    row "$3" "$ok" "generation $(field "$to" "s['configGeneration']") on lb$to"
}

rows=()
failures=0
row() {  # row STEP OK(0/1) WHAT
    local outcome=ok
    [ "$2" = 1 ] || { outcome=FAIL; failures=$((failures + 1)); }
    rows+=("| $1 | $outcome | $3 |")
    echo "  $outcome  $1: $3"
}

step "lab: two nodes on the previous release ($OLD_COMMIT), embedded engine, config sync with a side file"
lab_up_network
mkdir -p "$LAB_DIR/n1" "$LAB_DIR/n2"
for i in 1 2; do
    printf 'listen web\n    bind :80\n    server a 127.0.0.1:8080\n' >"$LAB_DIR/n$i/proxy.cfg"
    echo "secret v1" >"$LAB_DIR/n$i/site.pem"
    chmod 0640 "$LAB_DIR/n$i/site.pem"
done
LAB_EXTRA=$(printf '[engine]\nconfig = "%s/n@N@/proxy.cfg"\nsync_files = ["%s/n@N@/site.pem"]\nprobe = "127.0.0.1:80"\n' \
    "$LAB_DIR" "$LAB_DIR") lab_write_configs
lab_start_responders
start_node 1 "$OLD_BIN"
lab_wait 10 lab_vip_on 1 || die "lb1 (old) did not take the VIP"
start_node 2 "$OLD_BIN"
lab_wait 10 ready_backup 2 || die "lb2 (old) did not become a ready backup"
lab_wait 5 same_generation || die "the old pair does not serve one generation"

# The client and a sampler of who holds the VIP, for the whole run.
lab_watch_start 10 25 600
sleep 2

step "1. upgrade the backup (lb2): stop it, start this build"
lab_stop_agent 2 TERM
start_node 2 "$NEW_BIN"
ok=0
lab_wait 15 ready_backup 2 && lab_wait 5 speaking 2 1 && ok=1
row "backup upgraded, pair mixed" "$ok" "lb2 $(own_view 2) says of lb1: $(peer_view 2); lb1 (old) role $(lab_role 1), VIP on $(lab_vip_holder)"
ok=0
lab_wait 5 same_generation && ok=1
row "config in sync across releases" "$ok" "generation lb1 $(field 1 "s['configGeneration']"), lb2 $(field 2 "s['configGeneration']")"

step "2. a config edit on the old primary reaches the new backup (sync version 1)"
sync_row 1 2 "old primary → new backup sync"

step "3. planned failover to the upgraded node"
ok=0
ctl 2 promote >"$LAB_DIR/promote.out" 2>&1 && lab_wait 10 lab_vip_on 2 && lab_wait 10 role_is 1 backup && ok=1
row "planned failover old → new" "$ok" "$(tr '\n' ' ' <"$LAB_DIR/promote.out" | cut -c1-120); VIP on $(lab_vip_holder)"

step "4. a config edit on the new primary reaches the old backup (sync version 1, the old node advertised nothing)"
sync_row 2 1 "new primary → old backup sync"

step "5. upgrade the other node (lb1, now backup)"
lab_stop_agent 1 TERM
start_node 1 "$NEW_BIN"
ok=0
lab_wait 15 ready_backup 1 && lab_wait 5 speaking 1 2 && lab_wait 5 speaking 2 2 && ok=1
row "both upgraded" "$ok" "lb1 says of lb2: $(peer_view 1); lb2 says of lb1: $(peer_view 2)"

step "6. sync version 2: the primary's file modes travel (site.pem 0600 on lb2)"
echo "secret v2" >"$LAB_DIR/n2/site.pem"
chmod 0600 "$LAB_DIR/n2/site.pem"
before=$(field 2 "s['configGeneration']")
edit_and_reload 2
ok=0
lab_wait 10 generation_at_least 1 $((before + 1)) && lab_wait 5 same_generation \
    && [ "$(mode_of "$LAB_DIR/n1/site.pem")" = 600 ] && [ "$(cat "$LAB_DIR/n1/site.pem")" = "secret v2" ] && ok=1
row "file modes with sync version 2" "$ok" "lb1's site.pem: mode $(mode_of "$LAB_DIR/n1/site.pem"), content '$(cat "$LAB_DIR/n1/site.pem")' (lb2: $(mode_of "$LAB_DIR/n2/site.pem"))"

step "7. planned failover back to lb1"
ok=0
ctl 1 promote >"$LAB_DIR/promote2.out" 2>&1 && lab_wait 10 lab_vip_on 1 && lab_wait 10 role_is 2 backup && ok=1
row "planned failover new → new" "$ok" "VIP on $(lab_vip_holder)"
sleep 2

lab_watch_stop
summarize() {  # summarize LABEL PLANNED-CHANGES: the client's and the sampler's figures as a row
    local label=$1 planned=$2 total good longest span both changes ok=0
    read -r total good longest span both changes < <(lab_watch_figures)
    [ "$both" = 0 ] && [ "$changes" = "$planned" ] && [ "$total" -gt 0 ] && ok=1
    row "$label" "$ok" "$good/$total probes answered over ${span} s, longest outage ${longest} ms, dual holding seen in $both samples, holder changes $changes ($planned expected)"
}
summarize "the client through the upgrade" 2

step "8. an incompatible peer: lb2 restarted on a build that speaks datagram version 3 only"
lab_stop_agent 2 TERM
lab_watch_start 10 25 600
start_node 2 "$INCOMPATIBLE_BIN"
incompatible_seen() { [ "$(field 1 "s['peers'][0].get('protocolSpoken') if s['peers'] else None")" = 0 ]; }
ok=0
lab_wait 15 incompatible_seen && sleep 3 && role_is 1 primary && lab_vip_on 1 && ! lab_vip_on 2 && ok=1
row "incompatible peer heard, not taken for silent" "$ok" "lb1 $(lab_role 1) says of lb2: $(peer_view 1); lb2 $(lab_role 2); VIP on $(lab_vip_holder)"
ctl 1 status 2>/dev/null | grep -i incompatible | head -n 1 | sed 's/^ */    status: /' || true
step "9. the primary (lb1) goes down: the incompatible node takes over; lb1 comes back as backup"
lab_stop_agent 1 KILL
ip -n "$(lab_ns n1)" addr del "$VIP4/24" dev eth0 2>/dev/null || true
ip -n "$(lab_ns n1)" addr del "$VIP6/64" dev eth0 2>/dev/null || true
ok=0
lab_wait 10 lab_vip_on 2 && ok=1
start_node 1 "$NEW_BIN"
lab_wait 15 incompatible_seen && sleep 3 && role_is 1 backup && lab_vip_on 2 && ! lab_vip_on 1 || ok=0
row "failover to and from an incompatible peer" "$ok" "lb1 $(lab_role 1), lb2 $(lab_role 2); VIP on $(lab_vip_holder)"
lab_watch_stop
summarize "the client with an incompatible peer" 1

echo
echo "| step | result | what was seen |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
[ "$failures" = 0 ] || { echo "$failures step(s) failed; logs in $LAB_DIR (kept)"; trap - EXIT; lab_teardown; exit 1; }
