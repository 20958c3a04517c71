# Shared helpers for the project's scripts. Source it; it defines functions only.

step() { printf '\n==> %s\n' "$*"; }

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Swift toolchain: /opt/swift on the project's machines; anywhere on PATH elsewhere.
require_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 \
        || die "swift not found: install Swift 6.2 or newer (https://www.swift.org/install/linux/) and put it on PATH"
}

# Installs Debian packages that are missing; retries while another apt holds the lock.
install_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}: run as root or install them with apt-get"
    step "apt-get install ${missing[*]}"
    # Packages such as keepalived start their service on install; tests run their own copies instead.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    local attempt
    for attempt in 1 2 3 4 5; do
        if { [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] \
            || apt-get update -qq; } && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; then
            [ "$created_policy" = 1 ] && rm -f "$policy"
            return 0
        fi
        echo "apt-get failed (attempt $attempt); retrying in 10s" >&2
        sleep 10
        apt-get update -qq || true
    done
    [ "$created_policy" = 1 ] && rm -f "$policy"
    die "could not install ${missing[*]}"
}
