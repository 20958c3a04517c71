#!/usr/bin/env bash
# The rolling upgrade of docs/upgrade.md with the packages, on two real systemd nodes
# (scripts/lib/systemd-nodes.sh): both nodes run the .deb of the previous release (built from git at OLD_COMMIT,
# cached in lab-run/cache), a client requests through the VIP every 10 ms all along, and the operator's
# procedure moves the pair to this tree's .deb: dpkg -i on the primary first by mistake (the package restarts
# nothing and says to upgrade the backup first), then the backup upgraded and restarted, `failoverctl
# failover`, the other node restarted, `failoverctl failover` back; last, lb2 restarted on a build that shares no
# datagram version with lb1 (one holder, and status says why). Prints a line per check, then the client's
# figures: success rate, longest outage, dual holding, role changes.
#
#   sudo bash scripts/systemd-upgrade-lab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=su
LAB_DIR=$PWD/lab-run/su
. scripts/lib/common.sh
. scripts/lib/lab.sh

[ "$(id -u)" = 0 ] || die "the systemd lab needs root (namespaces, mounts)"
started=$(date +%s)
install_packages debootstrap systemd-container zstd iproute2 python3
. scripts/lib/systemd-nodes.sh
# e8e2350: 0.3.0, the last commit before datagram version 2 and sync version 2.
OLD_COMMIT=${OLD_COMMIT:-e8e2350}

# Pid files of a run killed earlier name processes that may be gone (or reused): never signal those.
rm -f "$LAB_DIR"/*.pid
cleanup() {
    lab_watch_stop
    lab_stop_pidfile "$LAB_DIR/backend1.pid"
    lab_stop_pidfile "$LAB_DIR/backend2.pid"
    teardown
}
trap cleanup EXIT

make_rootfs
step "packages: this tree's, and the previous release's ($OLD_COMMIT, built once into lab-run/cache)"
new_deb=$PWD/$(bash scripts/package-deb.sh | tail -1)
[ -f "$new_deb" ] || die "no package built from this tree"
old_deb=$(ls "$cache"/failover-agent-deb-"$OLD_COMMIT"/*.deb 2>/dev/null | head -1 || true)
if [ -z "$old_deb" ]; then
    work=$cache/failover-agent-deb-$OLD_COMMIT
    rm -rf "$work"
    mkdir -p "$work"
    git clone -q . "$work/src"
    git -C "$work/src" checkout -q "$OLD_COMMIT"
    (cd "$work/src" && bash scripts/package-deb.sh >"$work/package.log" 2>&1) || die "building the old package failed: $work/package.log"
    cp "$work"/src/dist/*.deb "$work/"
    rm -rf "$work/src"
    old_deb=$(ls "$work"/*.deb | head -1)
fi
echo "  old: $(basename "$old_deb"), new: $(basename "$new_deb")"
. scripts/lib/incompatible-build.sh
incompatible=$(incompatible_agent static)

step "boot two nodes on the old package"
lab_up_network
rm -rf "$LAB_DIR"
mkdir -p "$LAB_DIR"
: >"$LAB_DIR/events.log"
key=$(dist/root/usr/bin/failoverctl keygen)
for n in 1 2; do
    boot_node "$n"
    cp "$old_deb" "$(node_dir "$n")/root/root/old.deb"
    cp "$new_deb" "$(node_dir "$n")/root/root/new.deb"
    in_node "$n" dpkg -i /root/old.deb >"$(node_dir "$n")/dpkg-old.log" 2>&1 || die "dpkg -i (old) failed in node $n"
    node_config "$n" "$key" $'listen web\n    bind :80\n    server a 127.0.0.1:8081\n' 'probe = "127.0.0.1:80"'
    # The backend: answers with the node's name, on the node's loopback.
    mkdir -p "$LAB_DIR/www$n"
    echo "lb$n" >"$LAB_DIR/www$n/index.html"
    # No log file: http.server writes a line per request, and during dpkg's fsyncs a write to disk can stall the
    # backend past the client's 25 ms timeout (seen: 150 ms gaps at `dpkg -i` on the other node).
    ip netns exec "$(lab_ns "n$n")" "$PY" -m http.server --bind 127.0.0.1 --directory "$LAB_DIR/www$n" 8081 \
        >/dev/null 2>&1 &
    echo $! >"$LAB_DIR/backend$n.pid"
    disown $!
done

ctl() { local n=$1; shift; in_node "$n" failoverctl "$@"; }
# mark TEXT: the moment (the probe's monotonic clock, ms) an operator step starts, to place each failed probe.
mark() { echo "$("$PY" -c 'import time; print("%.3f" % (time.monotonic() * 1000))') $*" >>"$LAB_DIR/events.log"; }
field() {  # field NODE PYTHON-EXPRESSION-ON-s (s = the status object)
    ctl "$1" status --json 2>/dev/null | "$PY" -c "import json,sys; s=json.load(sys.stdin)['status']; print($2)" 2>/dev/null || echo "?"
}
role_is() { [ "$(field "$1" "s['role']")" = "$2" ]; }
ready() { [ "$(field "$1" "s['engine'].split(' ')[0]")" = ready ]; }
has_vip() { lab_vip_on "$1"; }
agent_pid() { in_node "$1" systemctl show -p MainPID --value failover-agent; }
release_of() { field "$1" "s.get('release') or 'none (0.3)'"; }
peer_view() {
    field "$1" "(lambda p: '%s, protocol %s, speaking %s' % (p.get('release') or '0.3 or older', p.get('protocolVersions') or '1', p.get('protocolSpoken')))(s['peers'][0]) if s['peers'] else 'no peer'"
}
speaking() { [ "$(field "$1" "s['peers'][0].get('protocolSpoken') if s['peers'] else None")" = "$2" ]; }
ready_backup() { role_is "$1" backup && ready "$1"; }
new_backup() { role_is "$1" backup && [ "$(field "$1" "s.get('release')")" = 0.4.0 ]; }
primary_with_vip() { role_is "$1" primary && has_vip "$1"; }
both_speak_two() { speaking 1 2 && speaking 2 2; }
untouched_primary() { [ "$(agent_pid 1)" = "$1" ] && role_is 1 primary && [ "$(field 1 "s.get('release')")" = None ]; }

step "systemctl start on both (the old release)"
in_node 1 systemctl start failover-agent
check "lb1 (0.3) is primary" wait_for 15 role_is 1 primary
in_node 2 systemctl start failover-agent
check "lb2 (0.3) is a ready backup" wait_for 15 ready_backup 2
check "the VIP is on lb1" wait_for 5 has_vip 1

# The client (every 10 ms, a new connection each, 25 ms timeout: a connection sent to the old holder's address
# during a handoff fails fast, so the outage measured is the handoff's) and a sampler of who holds the VIP.
lab_watch_start 10 25 900
sleep 2

step "an operator's mistake: dpkg -i of the new package on the primary first"
pid=$(agent_pid 1)
mark "dpkg -i on lb1 (primary)"
in_node 1 dpkg -i /root/new.deb >"$LAB_DIR/dpkg-primary.log" 2>&1 || die "dpkg -i (new) failed on lb1: $LAB_DIR/dpkg-primary.log"
sed -n 's/^failover-agent: /  dpkg says: /p; s/^  This node/  dpkg says: This node/p' "$LAB_DIR/dpkg-primary.log"
check "the package says the node is primary and to upgrade the backup first" grep -q "upgrade the backup first" "$LAB_DIR/dpkg-primary.log"
check "and restarted nothing: same agent pid, still primary, still the old binary ($(release_of 1))" \
    untouched_primary "$pid"

step "1. upgrade the backup (lb2): dpkg -i, then systemctl restart"
pid=$(agent_pid 2)
mark "dpkg -i on lb2 (backup)"
in_node 2 dpkg -i /root/new.deb >"$LAB_DIR/dpkg-backup.log" 2>&1 || die "dpkg -i (new) failed on lb2"
check "the package says to check the peer, then restart" grep -q "Check the peer is primary" "$LAB_DIR/dpkg-backup.log"
check "and restarted nothing (same pid)" test "$(agent_pid 2)" = "$pid"
mark "systemctl restart on lb2 (backup)"
in_node 2 systemctl restart failover-agent
check "lb2 runs the new release as backup" wait_for 15 new_backup 2
echo "  lb2 says: $(release_of 2); of lb1: $(peer_view 2)"
check "lb2 sees lb1 on the old release and speaks version 1 with it" wait_for 5 speaking 2 1
check "lb1 still primary with the VIP" primary_with_vip 1

step "2. failoverctl failover: the upgraded node takes the role"
mark "failoverctl failover to lb2"
ctl 2 failover >"$LAB_DIR/failover1.out" 2>&1 || true
check "lb2 is primary ($(tail -1 "$LAB_DIR/failover1.out"))" wait_for 5 role_is 2 primary
check "and holds the VIP" wait_for 3 has_vip 2

step "3. restart the other node (its package is already the new one)"
mark "systemctl restart on lb1 (backup)"
in_node 1 systemctl restart failover-agent
check "lb1 runs the new release as backup" wait_for 15 new_backup 1
check "both speak version 2" wait_for 5 both_speak_two
echo "  lb1 says of lb2: $(peer_view 1); lb2 says of lb1: $(peer_view 2)"

step "4. failoverctl failover back to lb1"
mark "failoverctl failover to lb1"
ctl 1 failover >"$LAB_DIR/failover2.out" 2>&1 || true
check "lb1 is primary ($(tail -1 "$LAB_DIR/failover2.out"))" wait_for 5 role_is 1 primary
check "and holds the VIP" wait_for 3 has_vip 1

step "5. an incompatible release on lb2 (datagram version 3 only): one holder, and status says why"
mark "lb2 restarted on the incompatible build"
# A new file renamed over the old one: the running binary cannot be written ("Text file busy").
cp "$incompatible" "$(node_dir 2)/root/usr/sbin/failover-agent.incompatible"
mv -f "$(node_dir 2)/root/usr/sbin/failover-agent.incompatible" "$(node_dir 2)/root/usr/sbin/failover-agent"
in_node 2 systemctl restart failover-agent
incompatible_seen() { [ "$(field 1 "s['peers'][0].get('protocolSpoken') if s['peers'] else None")" = 0 ]; }
check "lb1 sees lb2 as incompatible" wait_for 15 incompatible_seen
sleep 3
one_holder() { role_is 1 primary && role_is 2 backup && has_vip 1 && ! has_vip 2; }
check "and stays the one holder: lb1 primary with the VIP, lb2 backup without it" one_holder
ctl 1 status 2>/dev/null | grep -i "incompatible" | head -n 1 | sed 's/^ */  lb1 status: /' || true
sleep 2

lab_watch_stop
read -r total good longest span both changes < <(lab_watch_figures)
# Each failed probe with the operator step before it.
"$PY" - "$LAB_DIR/probe.log" "$LAB_DIR/events.log" <<'PY'
import sys
events = [(float(l.split()[0]), l.split(None, 1)[1].strip()) for l in open(sys.argv[2]) if l.strip()]
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 2 and parts[1] == "0":
        t = float(parts[0])
        before = [e for e in events if e[0] <= t]
        where = "%s + %.0f ms" % (before[-1][1], t - before[-1][0]) if before else "before the first step"
        print("  failed probe at %s (%s)" % (where, " ".join(parts[2:])))
PY
echo "  client: $good/$total answered over $span s, longest outage $longest ms; VIP sampled $(wc -l <"$LAB_DIR/holders.log") times: dual holding in $both, holder changes $changes"
check "no dual holding" test "$both" = 0
check "only the two planned role changes" test "$changes" = 2
check "every request answered but those of the handoffs (longest outage $longest ms)" test "$longest" -le 100

echo
echo "systemd upgrade lab: $(( $(date +%s) - started ))s, $passed passed, $failed failed"
[ "$failed" = 0 ]
