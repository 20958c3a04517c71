#!/usr/bin/env bash
# Long simulator runs, for docs/reliability.md. Builds the simulator (release) and runs a batch of seeds in
# parallel, one process per core, then prints the summary table of every batch.
#
#   bash scripts/simulate.sh --seeds 100000 [--seconds 120] [--profile chaos] [--jobs N]
#   bash scripts/simulate.sh --seed 1234 --trace     # replay one seed, event by event
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
require_swift

seeds=1000
seconds=120
profile=chaos
jobs=$(nproc)
passthrough=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --profile) profile=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --seed|--mutation|--nodes) passthrough+=("$1" "$2"); shift 2 ;;
        --trace) passthrough+=("$1"); shift ;;
        *) die "unknown option $1 (see the comment at the top of $0)" ;;
    esac
done

swift build -c release --product failover-sim >/dev/null
sim=.build/release/failover-sim
if [ ${#passthrough[@]} -gt 0 ]; then
    exec "$sim" --seconds "$seconds" --profile "$profile" "${passthrough[@]}"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
per=$(( (seeds + jobs - 1) / jobs ))
start=$(date +%s)
pids=()
for ((job = 0; job < jobs; job++)); do
    first=$(( job * per + 1 ))
    count=$(( seeds - job * per < per ? seeds - job * per : per ))
    [ "$count" -le 0 ] && break
    "$sim" --first "$first" --seeds "$count" --seconds "$seconds" --profile "$profile" >"$out/$job.txt" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
elapsed=$(( $(date +%s) - start ))
grep -h '^SIM_SEED=' "$out"/*.txt | head -50 || true
python3 - "$out" "$elapsed" <<'PY'
import glob, re, sys
rows = {}
order = []
for path in sorted(glob.glob(sys.argv[1] + "/*.txt")):
    for line in open(path):
        m = re.match(r"\| (.+?) +\| (.+) \|$", line.rstrip())
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2).strip()
        if key not in rows:
            order.append(key)
            rows[key] = []
        rows[key].append(value)
def dur(v):
    m = re.match(r"(-?[\d.]+)(µs|ms|s)$", v) or re.match(r"(\d+)m(\d+)s$", v)
    if not m: return 0.0
    if v.endswith("s") and "m" in v and not v.endswith("ms"):
        mm = re.match(r"(\d+)m(\d+)s$", v); return int(mm.group(1)) * 60 + int(mm.group(2))
    n = float(m.group(1)); return n / 1e6 if m.group(2) == "µs" else n / 1e3 if m.group(2) == "ms" else n
out = []
for key in order:
    values = rows[key]
    if key == "profile":
        merged = values[0]
    elif key.startswith("max"):
        best = max(values, key=dur); merged = best
    else:
        try: merged = str(round(sum(float(v) for v in values), 1)).removesuffix(".0")
        except ValueError: merged = values[0]
    out.append((key, merged))
out.append(("wall-clock seconds", sys.argv[2]))
width = max(len(k) for k, _ in out)
for k, v in out:
    print(f"| {k.ljust(width)} | {v} |")
PY
exit $status
