#!/usr/bin/env bash
# The user's whole path on two real systemd nodes: each node is a real systemd as PID 1 (systemd-nspawn) in
# its own network, PID and mount namespaces, on a minimal Debian root file system (debootstrap, cached in
# lab-run/cache, an overlay per node), joined by the lab's bridges. Never on the host's own root file
# system: booting systemd there runs the host's default target and wipes /tmp (docs/install.md).
#
# In the nodes: install the .deb, write each node's TOML, `systemctl start failover-agent`, roles,
# `failoverctl failover`, `systemctl reload` (no role change), `systemctl stop` on the primary (clean handoff,
# VIP released), SIGSTOP of the primary's agent (systemd's watchdog kills and restarts it; the peer took
# over), the engine killed (supervised restart), and /proc/PID/status: the agent not root with six capabilities,
# the engine as failover-engine with CAP_NET_BIND_SERVICE alone, unable to read the key or use the control socket.
#
#   sudo bash scripts/systemd-lab.sh               # prints a line per check and the time it took
#   sudo bash scripts/systemd-lab.sh --rootfs-only # only make (and cache) the nodes' root file system
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=sd
LAB_DIR=$PWD/lab-run/sd
. scripts/lib/common.sh
. scripts/lib/lab.sh

[ "$(id -u)" = 0 ] || die "the systemd lab needs root (namespaces, mounts)"
started=$(date +%s)
install_packages debootstrap systemd-container zstd iproute2 python3
. scripts/lib/systemd-nodes.sh

# SYSTEMD_LAB_KEEP=1 leaves the nodes running for a look (then: bash scripts/systemd-lab.sh --down).
if [ "${SYSTEMD_LAB_KEEP:-}" = 1 ]; then trap 'echo "nodes kept: nsenter -t \$(cat $LAB_DIR/node1/pid1) -a bash"' EXIT; else trap teardown EXIT; fi
if [ "${1:-}" = --down ]; then trap - EXIT; teardown; exit 0; fi

# --- the run -------------------------------------------------------------------------------------------------
make_rootfs
if [ "${1:-}" = --rootfs-only ]; then trap - EXIT; echo "$rootfs"; exit 0; fi
step "package"
deb=$(bash scripts/package-deb.sh | tail -1)
[ -f "$deb" ] || die "no package built"
step "boot two nodes"
lab_up_network
rm -rf "$LAB_DIR"
mkdir -p "$LAB_DIR"
key=$(.build-deb/release/failoverctl keygen 2>/dev/null || "$(swift build -c release --scratch-path .build-deb --show-bin-path)/failoverctl" keygen)
# lb1 installs the .deb; lb2 uses scripts/install.sh (the path for hosts without dpkg) with the same binaries.
boot_node 1
cp "$deb" "$(node_dir 1)/root/root/failover-agent.deb"
in_node 1 dpkg -i /root/failover-agent.deb >"$(node_dir 1)/dpkg.log" 2>&1 || die "dpkg -i failed in node 1"
boot_node 2
src=$(node_dir 2)/root/root/src
mkdir -p "$src/scripts/lib" "$src/bin"
cp -r deploy "$src/"
cp scripts/install.sh "$src/scripts/"
cp scripts/lib/common.sh "$src/scripts/lib/"
cp dist/root/usr/sbin/failover-agent dist/root/usr/bin/failoverctl "$src/bin/"
in_node 2 bash /root/src/scripts/install.sh --bin /root/src/bin >"$(node_dir 2)/install.log" 2>&1 \
    || die "scripts/install.sh failed in node 2: $(node_dir 2)/install.log"
ctl() { local n=$1; shift; in_node "$n" failoverctl "$@"; }
role() { ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["role"])' 2>/dev/null || echo down; }
role_is() { [ "$(role "$1")" = "$2" ]; }
has_vip() { ip -n "$(lab_ns "n$1")" -o addr show dev eth0 | grep -q " $VIP4/"; }
transitions() { ctl "$1" history --json 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["history"]))'; }
agent_pid() { in_node "$1" systemctl show -p MainPID --value failover-agent; }
engine_pid() { ctl "$1" status 2>/dev/null | grep -o 'engine:.*pid [0-9]*' | grep -o '[0-9]*$'; }
installed_by_script() {
    in_node 2 id failover-agent >/dev/null && in_node 2 systemctl cat failover-agent.service >/dev/null \
        && ! in_node 2 systemctl is-active -q failover-agent
}
installed_not_started() { in_node 1 id failover-agent >/dev/null && ! in_node 1 systemctl is-active -q failover-agent; }
# Read whole before matching: `grep -q` in a pipe under pipefail turns journalctl's SIGPIPE into a miss.
journal_says() { local text; text=$(in_node "$1" journalctl -u failover-agent --no-pager); grep -qi "$2" <<<"$text"; }
agent_restarted() { local p; p=$(agent_pid "$1"); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$2" ]; }
engine_restarted() { local p; p=$(engine_pid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }
vip_released() { ! has_vip "$1"; }
not_root() { [ "$(in_node 1 awk '/^Uid:/{print $2}' "/proc/$1/status")" != 0 ]; }
check "the package created the user and installed the unit, started nothing" installed_not_started
check "scripts/install.sh did the same on lb2" installed_by_script
# --man=no: the minimal node has no man program; the pages themselves are checked next.
check "systemd-analyze verify: the installed unit is clean" in_node 1 systemd-analyze verify --man=no failover-agent.service
check "the man pages the unit names are installed" in_node 1 test -f /usr/share/man/man8/failover-agent.8.gz -a -f /usr/share/man/man8/failoverctl.8.gz
in_node 1 systemd-analyze security --no-pager failover-agent.service >"$LAB_DIR/security.txt" 2>&1 || true
echo "  systemd-analyze security: $(tail -1 "$LAB_DIR/security.txt")"

for n in 1 2; do
    node_config "$n" "$key" $'listen web\n    bind :8080\n    server a 127.0.0.1:8081\n'
done
in_node 1 chmod 644 /etc/failover-agent/cluster.key
in_node 1 systemctl start failover-agent || true
check "a key readable by others is refused, and the journal says which chmod fixes it" \
    wait_for 5 journal_says 1 "chmod 600 /etc/failover-agent/cluster.key"
in_node 1 systemctl stop failover-agent 2>/dev/null || true
in_node 1 systemctl reset-failed failover-agent 2>/dev/null || true
in_node 1 chmod 600 /etc/failover-agent/cluster.key

step "systemctl start on both nodes"
in_node 1 systemctl start failover-agent
in_node 2 systemctl start failover-agent
check "lb1 is primary" wait_for 10 role_is 1 primary
check "lb2 is backup" wait_for 5 role_is 2 backup
check "the VIP is on lb1's interface" has_vip 1
check "systemd sees the unit active (Type=notify: READY=1 arrived)" in_node 1 systemctl is-active -q failover-agent
status_text=$(in_node 1 systemctl show -p StatusText --value failover-agent)
check "STATUS= shows the role ($status_text)" grep -q "primary since" <<<"$status_text"

pid=$(agent_pid 1)
check "the agent does not run as root" not_root "$pid"
capeff=$(in_node 1 awk '/^CapEff:/{print $2}' "/proc/$pid/status")
check "its effective capabilities are NET_ADMIN, NET_RAW, NET_BIND_SERVICE, and SETUID, SETGID, KILL for the engine, only ($capeff)" \
    test "$capeff" = 00000000000034e0
epid=$(wait_for 5 engine_pid 1 >/dev/null; engine_pid 1)
euid=$(in_node 1 awk '/^Uid:/{print $2}' "/proc/${epid:-0}/status" 2>/dev/null)
check "the engine runs as failover-engine (uid ${euid:-?}, pid ${epid:-?})" \
    test -n "$euid" -a "$euid" = "$(in_node 1 id -u failover-engine)"
ecap=$(in_node 1 awk '/^CapEff:/{print $2}' "/proc/${epid:-0}/status" 2>/dev/null)
check "with CAP_NET_BIND_SERVICE alone, no NET_ADMIN ($ecap)" test "$ecap" = 0000000000000400
as_engine() { in_node 1 setpriv --reuid=failover-engine --regid=failover-engine --init-groups "$@"; }
engine_reads_key() { as_engine cat /etc/failover-agent/cluster.key >/dev/null 2>&1; }
engine_writes_etc() { as_engine touch /etc/failover-agent/written-by-engine 2>/dev/null; }
check "the engine's user cannot read the cluster key" not engine_reads_key
check "nor write /etc/failover-agent" not engine_writes_etc
before=$(transitions 1)
as_engine failoverctl demote >"$LAB_DIR/out" 2>&1 && demoted=1 || demoted=0
check "nor use the control socket (failoverctl demote: $(head -1 "$LAB_DIR/out"))" \
    test "$demoted" = 0 -a "$(transitions 1)" = "$before"

ctl 1 failover >"$LAB_DIR/out" 2>&1 || true
check "failoverctl failover: lb2 is primary ($(tail -1 "$LAB_DIR/out"))" wait_for 5 role_is 2 primary
check "and holds the VIP" wait_for 3 has_vip 2
before=$(transitions 2)
in_node 2 systemctl reload failover-agent
sleep 1
check "systemctl reload: no role change" test "$(transitions 2)" = "$before"
check "and the unit is active again (RELOADING=1 … READY=1)" in_node 2 systemctl is-active -q failover-agent

in_node 2 systemctl stop failover-agent
check "systemctl stop on the primary: lb1 takes over" wait_for 5 role_is 1 primary
check "lb2 released the VIP" vip_released 2
in_node 2 systemctl start failover-agent
check "lb2 is back as backup" wait_for 10 role_is 2 backup

pid=$(agent_pid 1)
in_node 1 kill -STOP "$pid"   # a PID inside the node: signal it from there
check "SIGSTOP of the primary's agent: lb2 takes over" wait_for 5 role_is 2 primary
check "systemd's watchdog kills and restarts the stuck agent" wait_for 15 agent_restarted 1 "$pid"
check "the journal says why (watchdog timeout)" journal_says 1 "watchdog timeout"
check "the restarted lb1 is backup" wait_for 10 role_is 1 backup

epid=$(engine_pid 2)
before=$(transitions 2)
[ -n "$epid" ] && in_node 2 kill -9 "$epid"
check "the engine killed on the primary: restarted by the agent" wait_for 5 engine_restarted 2 "$epid"
check "with no role change" test "$(transitions 2)" = "$before"

echo
echo "systemd lab: $(( $(date +%s) - started ))s, $passed passed, $failed failed"
[ "$failed" = 0 ]
