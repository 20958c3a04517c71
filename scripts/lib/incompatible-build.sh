# A build of this tree that speaks datagram version 3 only: no version in common with this build, as a future
# release that dropped versions 1-2 would be (docs/protocol.md, "Versions"). Used by scripts/upgrade-lab.sh
# and scripts/systemd-upgrade-lab.sh to show the pair keeps one holder and status names the mismatch.
# Source it after scripts/lib/common.sh.

# incompatible_agent [static]: builds it once (about 6 min; `static` links the Swift runtime in, as the
# package's binary, for the systemd nodes) into lab-run/cache, keyed by the committed Sources tree so that a
# commit changing only scripts or docs reuses it, and prints the binary's path.
incompatible_agent() {
    local flavour=${1:-} work flags=()
    [ "$flavour" = static ] && flags=(--static-swift-stdlib)
    work=$PWD/lab-run/cache/incompatible${flavour:+-$flavour}-$(git rev-parse --short=12 HEAD:Sources)
    if [ ! -x "$work/failover-agent" ]; then
        step "build this commit with datagram versions 3...3 into $work (once)" >&2
        rm -rf "$work"
        mkdir -p "$work"
        git clone -q . "$work/src"
        sed -i 's/supportedVersions: ClosedRange<UInt8> = 1...2/supportedVersions: ClosedRange<UInt8> = 3...3/' \
            "$work/src/Sources/FailoverWire/ProtocolAdvertisement.swift"
        sed -i 's/^public let productVersion = .*/public let productVersion = "9.9.9-incompatible"/' \
            "$work/src/Sources/ControlProtocol/ProductVersion.swift"
        grep -q '= 3...3' "$work/src/Sources/FailoverWire/ProtocolAdvertisement.swift" \
            || die "could not patch the protocol versions for the incompatible build"
        (cd "$work/src" && swift build -c release "${flags[@]}" --product failover-agent >"$work/build.log" 2>&1) \
            || die "the incompatible build failed: $work/build.log"
        cp "$work/src/.build/release/failover-agent" "$work/failover-agent"
        rm -rf "$work/src"
    fi
    echo "$work/failover-agent"
}
