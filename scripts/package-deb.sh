#!/usr/bin/env bash
# Builds dist/failover-agent_VERSION_amd64.deb with dpkg-deb: release binaries linked with the Swift runtime
# statically (the package needs no Swift toolchain), the systemd unit, sysusers.d and tmpfiles.d snippets,
# example configurations, bash/zsh/fish completions and man pages generated from the command-line
# definitions. Installing it creates the user and installs the unit; it starts nothing until
# /etc/failover-agent/agent.toml exists and the operator enables the unit (docs/install.md).
#
#   bash scripts/package-deb.sh            # prints the path of the .deb
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

require_swift
install_packages pkg-config libsystemd-dev binutils
version=$(sed -n 's/^public let productVersion = "\(.*\)"$/\1/p' Sources/ControlProtocol/ProductVersion.swift)
[ -n "$version" ] || die "no productVersion in Sources/ControlProtocol/ProductVersion.swift"
arch=$(dpkg --print-architecture)
scratch=.build-deb
step "build (release, static Swift runtime) in $scratch"
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product failover-agent
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product failoverctl
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

root=dist/root
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/sbin" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/failover-agent/examples" "$root/usr/share/man/man8" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
install -m 755 "$bin/failover-agent" "$root/usr/sbin/failover-agent"
install -m 755 "$bin/failoverctl" "$root/usr/bin/failoverctl"
strip --strip-unneeded "$root/usr/sbin/failover-agent" "$root/usr/bin/failoverctl"
install -m 644 deploy/systemd/failover-agent.service "$root/lib/systemd/system/"
install -m 644 deploy/sysusers.d/failover-agent.conf "$root/usr/lib/sysusers.d/"
install -m 644 deploy/tmpfiles.d/failover-agent.conf "$root/usr/lib/tmpfiles.d/"
install -m 644 deploy/examples/* "$root/usr/share/doc/failover-agent/examples/"
install -m 644 README.md "$root/usr/share/doc/failover-agent/"
cp -r docs "$root/usr/share/doc/failover-agent/docs"

step "completions and man pages from the command-line definitions"
for tool in failover-agent failoverctl; do
    exe=$root/usr/sbin/$tool; [ -x "$exe" ] || exe=$root/usr/bin/$tool
    "$exe" --generate-completion-script bash >"$root/usr/share/bash-completion/completions/$tool"
    "$exe" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$tool"
    "$exe" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$tool.fish"
done
# swift-argument-parser's generate-manual tool, run on the built binaries (it reads their help structure).
swift build -c release --scratch-path "$scratch" --product generate-manual >/dev/null
manual=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/generate-manual
rm -rf dist/man
mkdir -p dist/man
for exe in "$root/usr/sbin/failover-agent" "$root/usr/bin/failoverctl"; do
    "$manual" "$exe" --multi-page --section 8 --authors "failover-agent developers" -o dist/man
done
find dist/man -name '*.8' -exec install -m 644 {} "$root/usr/share/man/man8/" \;
gzip -9n "$root"/usr/share/man/man8/*.8
[ -e "$root/usr/share/man/man8/failover-agent.8.gz" ] && [ -e "$root/usr/share/man/man8/failoverctl.8.gz" ] \
    || die "the man pages were not generated"

# The packages of the shared libraries the binaries need (the Swift runtime is linked in).
depends=$(for lib in $(objdump -p "$root/usr/sbin/failover-agent" "$root/usr/bin/failoverctl" | awk '/NEEDED/{print $2}' | sort -u); do
    dpkg -S "*/$lib" 2>/dev/null | grep -v -- -dev | head -1 | cut -d: -f1
done | sort -u | paste -sd, | sed 's/,/, /g')
cat >"$root/DEBIAN/control" <<CONTROL
Package: failover-agent
Version: $version
Architecture: $arch
Maintainer: failover-agent developers <root@localhost>
Depends: ${depends:-libc6, libsystemd0}, iproute2, systemd
Suggests: haproxy
Section: net
Priority: optional
Description: shared IP, proxy engine and config sync for a pair of Linux servers
 One node is primary (holds the virtual IP and serves through the proxy engine), the other is a warm
 backup with the same config. Authenticated UDP heartbeats over one or more links, priorities and
 planned handoff, an embedded HAProxy-compatible load balancer or HAProxy itself, config sync from primary
 to backup, systemd notify and watchdog. failoverctl moves the role by hand.
CONTROL
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    systemd-sysusers failover-agent.conf
    systemd-tmpfiles --create failover-agent.conf
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
    if [ ! -e /etc/failover-agent/agent.toml ]; then
        echo "failover-agent: not started. Configure it (see /usr/share/doc/failover-agent/README.md, 'Install on two nodes'), then: systemctl enable --now failover-agent"
    elif [ -n "$2" ] && [ -d /run/systemd/system ] && systemctl is-active --quiet failover-agent.service; then
        # An upgrade over a running agent: never restarted here (a primary must hand over first).
        role=$(failoverctl status 2>/dev/null | head -n 1 | cut -d ' ' -f 2)
        echo "failover-agent: upgraded from $2; the running agent is still the old binary (role: ${role:-unknown})."
        case "$role" in
        primary) echo "  This node is primary: upgrade the backup first, then here: failoverctl failover, wait for 'backup', then systemctl restart failover-agent (/usr/share/doc/failover-agent/docs/upgrade.md)." ;;
        *) echo "  Check the peer is primary (failoverctl status), then: systemctl restart failover-agent (/usr/share/doc/failover-agent/docs/upgrade.md)." ;;
        esac
    fi
fi
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now failover-agent.service >/dev/null 2>&1 || true
fi
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
POSTRM
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
deb=dist/failover-agent_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
