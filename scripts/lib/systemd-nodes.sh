# Real systemd nodes for the labs (scripts/systemd-lab.sh, scripts/systemd-upgrade-lab.sh): a minimal Debian
# root file system made once with debootstrap and cached in lab-run/cache, one overlay per node, each node a
# real systemd as PID 1 (systemd-nspawn) in the lab's network namespace n1/n2 (scripts/lib/lab.sh). Never on
# the host's own root file system: booting systemd there runs the host's default target and wipes /tmp.
# Source it after scripts/lib/lab.sh, with LAB and LAB_DIR set.
cache=$PWD/lab-run/cache
rootfs=$cache/rootfs-bookworm
tarball=$cache/rootfs-bookworm.tar.zst
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

passed=0
failed=0
not() { ! "$@"; }
check() {  # check "what" command...
    local what=$1; shift
    if "$@"; then echo "  ok   $what"; passed=$((passed + 1)); else echo "  FAIL $what"; failed=$((failed + 1)); fi
}
wait_for() {  # wait_for SECONDS command...: polls every 100 ms
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
    while [ $(( $(date +%s%N) / 1000000 )) -lt "$deadline" ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}

# --- the root file system, made once and cached -----------------------------------------------------------
make_rootfs() {
    [ -x "$rootfs/usr/lib/systemd/systemd" ] && return 0
    mkdir -p "$cache"
    if [ -f "$tarball" ]; then
        mkdir -p "$rootfs"
        tar --zstd -xf "$tarball" -C "$rootfs"
        return 0
    fi
    step "debootstrap (once; cached in $tarball)"
    rm -rf "$rootfs.tmp"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,libsystemd0,procps,kmod \
        bookworm "$rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 || die "debootstrap failed: $cache/debootstrap.log"
    local r=$rootfs.tmp
    # Safe and small: no shared machine id, no host name, no gettys or timers, a minimal default target.
    : >"$r/etc/machine-id"
    rm -f "$r/var/lib/dbus/machine-id" "$r/etc/hostname"
    cat >"$r/etc/systemd/system/lab.target" <<'UNIT'
[Unit]
Description=lab node
Requires=basic.target
After=basic.target
AllowIsolate=yes
UNIT
    ln -sf /etc/systemd/system/lab.target "$r/etc/systemd/system/default.target"
    local unit
    for unit in getty.target console-getty.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
        dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer systemd-tmpfiles-clean.timer; do
        ln -sf /dev/null "$r/etc/systemd/system/$unit"
    done
    mkdir -p "$r/etc/systemd/journald.conf.d"
    printf '[Journal]\nStorage=volatile\n' >"$r/etc/systemd/journald.conf.d/volatile.conf"
    tar --zstd -cf "$tarball" -C "$r" .
    mv "$r" "$rootfs"
}

# --- nodes ---------------------------------------------------------------------------------------------------
node_dir() { echo "$LAB_DIR/node$1"; }
node_pid1() { cat "$(node_dir "$1")/pid1" 2>/dev/null; }
in_node() {  # in_node N command...: runs inside node N's namespaces with a clean environment
    local n=$1; shift
    nsenter -t "$(node_pid1 "$n")" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

boot_node() {
    local n=$1 dir; dir=$(node_dir "$1")
    mkdir -p "$dir/upper" "$dir/work" "$dir/root"
    mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
    # nspawn splits the cgroup it starts in: give each node its own.
    local controller
    for controller in systemd unified; do
        [ -d "/sys/fs/cgroup/$controller" ] && mkdir -p "/sys/fs/cgroup/$controller/$LAB/node$n"
    done
    (
        for controller in systemd unified; do
            [ -d "/sys/fs/cgroup/$controller/$LAB/node$n" ] && echo $BASHPID >"/sys/fs/cgroup/$controller/$LAB/node$n/cgroup.procs"
        done
        # CAP_NET_ADMIN: nspawn drops it unless told; the node has its own network namespace.
        exec setsid systemd-nspawn -q -b -D "$dir/root" --register=no --keep-unit --capability=CAP_NET_ADMIN \
            --network-namespace-path="/run/netns/$(lab_ns "n$n")" --hostname="lb$n" >"$dir/console.log" 2>&1
    ) &
    echo $! >"$dir/nspawn.pid"
    local pid1=""
    for _ in $(seq 1 100); do
        pid1=$(pgrep -P "$(cat "$dir/nspawn.pid")" 2>/dev/null | head -1 || true)
        [ -n "$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = systemd ] && break
        sleep 0.1
    done
    [ -n "$pid1" ] || die "node $n did not boot: $dir/console.log"
    echo "$pid1" >"$dir/pid1"
    wait_for 30 sh -c "nsenter -t $pid1 -a -- env -i PATH=/usr/bin:/bin systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded'" \
        || die "node $n did not reach running: $dir/console.log"
}

stop_node() {
    local n=$1 dir pid1; dir=$(node_dir "$1"); pid1=$(node_pid1 "$n")
    if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
        kill -s SIGRTMIN+4 "$pid1" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid1" 2>/dev/null || true
    fi
    local nspawn; nspawn=$(cat "$dir/nspawn.pid" 2>/dev/null || true)
    [ -n "$nspawn" ] && { kill "$nspawn" 2>/dev/null || true; sleep 0.2; kill -9 "$nspawn" 2>/dev/null || true; }
    mountpoint -q "$dir/root" && umount -l "$dir/root"
    local controller
    for controller in systemd unified; do
        find "/sys/fs/cgroup/$controller/$LAB/node$n" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -f "$dir/pid1"
}

teardown() {
    stop_node 1 || true
    stop_node 2 || true
    for controller in systemd unified; do rmdir "/sys/fs/cgroup/$controller/$LAB" 2>/dev/null || true; done
    lab_down_network
}

# node_config N KEY PROXY_CFG [ENGINE_LINES]: node N's /etc/failover-agent (agent.toml for the pair, the cluster
# key, the engine's config), owned by the agent, the key 0600. ENGINE_LINES go at the end of [engine].
node_config() {
    local n=$1 key=$2 proxy=$3 extra=${4:-} other=$((3 - $1)) root
    root=$(node_dir "$n")/root
    printf '%s\n' "$key" >"$root/etc/failover-agent/cluster.key"
    cat >"$root/etc/failover-agent/agent.toml" <<TOML
[node]
name = "lb$n"
priority = $(( n == 1 ? 150 : 100 ))

[cluster]
key_file = "/etc/failover-agent/cluster.key"

[[cluster.link]]
local = "192.0.2.1$n"
peer = "192.0.2.1$other"

[[cluster.link]]
local = "198.51.100.1$n"
peer = "198.51.100.1$other"

[[vip]]
address = "$VIP4/24"
interface = "eth0"

[engine]
config = "/etc/failover-agent/proxy.cfg"
$extra
TOML
    printf '%s' "$proxy" >"$root/etc/failover-agent/proxy.cfg"
    in_node "$n" chown failover-agent:failover-agent /etc/failover-agent/cluster.key /etc/failover-agent/agent.toml \
        /etc/failover-agent/proxy.cfg
    in_node "$n" chmod 600 /etc/failover-agent/cluster.key
}
