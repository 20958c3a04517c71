#!/usr/bin/env bash
# Differential tests against HAProxy (issue 14, item 6): every test config in tests/diff/configs/ and every
# file of ../shared/haproxy-configs/ (read in place, never copied into the repo) is run under HAProxy 2.6 and
# under the embedded engine with the same recording backends and the same scripted requests; what the client
# got and what each backend received are compared (tests/diff/differential.py; the accepted differences, each
# with its reason, are in tests/diff/known-differences.txt).
#
# A config takes part when `failover-agent proxy --check` accepts it after the harness's rewriting (loopback
# addresses, root-only `global` lines dropped); the others are listed as refused. Prints one line per
# difference, `CONFIG: REQUEST [ASPECT]: what haproxy did | what the engine did`, then a table (config,
# requests, dropped lines, differences). Exit status 1 on any unexplained difference.
#
#   bash scripts/differential.sh                       # everything (under 3 minutes on 2 cores)
#   bash scripts/differential.sh tests/diff/configs/04-forwardfor.cfg   # some configs only
#   DIFF_JOBS=4 ENGINE_BIN=/path/to/failover-agent bash scripts/differential.sh
#   DIFF_ARGS="--keep --json /tmp/diff.json" bash scripts/differential.sh   # keep temp dirs, dump everything
# Installs nothing: haproxy (Debian's 2.6) and python3 must be there, and the engine built
# (`swift build -c release --product failover-agent`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

HAPROXY_BIN=${HAPROXY_BIN:-$(command -v haproxy || echo /usr/sbin/haproxy)}
ENGINE_BIN=${ENGINE_BIN:-$PWD/.build/release/failover-agent}
SHARED_CONFIGS=${SHARED_CONFIGS:-$(dirname "$PWD")/shared/haproxy-configs}

[ -x "$HAPROXY_BIN" ] || die "haproxy not found (apt-get install haproxy: Debian 12 ships 2.6)"
command -v python3 >/dev/null || die "python3 not found (apt-get install python3)"
[ -x "$ENGINE_BIN" ] || die "$ENGINE_BIN not found: swift build -c release --product failover-agent"
"$HAPROXY_BIN" -v | sed -n 1p

if [ $# -gt 0 ]; then
    configs=("$@")
else
    configs=(tests/diff/configs/*.cfg)
    if [ -d "$SHARED_CONFIGS" ]; then
        configs+=("$SHARED_CONFIGS"/*.cfg)
    else
        echo "note: $SHARED_CONFIGS not found; only the test configs are run"
    fi
fi

# shellcheck disable=SC2086 # DIFF_ARGS is a list of options
exec timeout --kill-after=20 600 python3 tests/diff/differential.py --jobs "${DIFF_JOBS:-8}" \
    --engine "$ENGINE_BIN" --haproxy "$HAPROXY_BIN" ${DIFF_ARGS:-} "${configs[@]}"
