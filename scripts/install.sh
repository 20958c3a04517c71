#!/usr/bin/env bash
# Installs failover-agent on a host without dpkg (or from a source tree): the same files as the Debian
# package, in the same places, then creates the user and directories. Starts nothing (docs/install.md).
#
#   sudo bash scripts/install.sh [--prefix /usr] [--bin DIR]   # --bin: prebuilt failover-agent and failoverctl
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

prefix=/usr
bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "run as root: it installs a systemd unit and creates the failover-agent user"
command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found: failover-agent needs systemd"
if [ -z "$bin" ]; then
    require_swift
    swift build -c release --static-swift-stdlib --scratch-path .build-deb --product failover-agent
    swift build -c release --static-swift-stdlib --scratch-path .build-deb --product failoverctl
    bin=$(swift build -c release --scratch-path .build-deb --show-bin-path)
fi
[ -x "$bin/failover-agent" ] && [ -x "$bin/failoverctl" ] || die "no failover-agent and failoverctl in $bin"
install -D -m 755 "$bin/failover-agent" "$prefix/sbin/failover-agent"
install -D -m 755 "$bin/failoverctl" "$prefix/bin/failoverctl"
unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
[ -n "$unit_dir" ] || unit_dir=/lib/systemd/system
install -D -m 644 deploy/systemd/failover-agent.service "$unit_dir/failover-agent.service"
if [ "$prefix" != /usr ]; then
    sed -i "s|/usr/sbin/failover-agent|$prefix/sbin/failover-agent|" "$unit_dir/failover-agent.service"
fi
install -D -m 644 deploy/sysusers.d/failover-agent.conf /usr/lib/sysusers.d/failover-agent.conf
install -D -m 644 deploy/tmpfiles.d/failover-agent.conf /usr/lib/tmpfiles.d/failover-agent.conf
install -d "$prefix/share/doc/failover-agent/examples"
install -m 644 deploy/examples/* "$prefix/share/doc/failover-agent/examples/"
systemd-sysusers failover-agent.conf
systemd-tmpfiles --create failover-agent.conf
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "installed; not started. Configure /etc/failover-agent (docs/install.md), then: systemctl enable --now failover-agent"
