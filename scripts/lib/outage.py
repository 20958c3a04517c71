"""Reads a probe log (scripts/lib/probe.py with the epoch clock) and prints `total ok longest_outage_ms` for
the probes started in [FROM, TO] (wall-clock seconds): an outage runs from the first failed probe's start
to the next success.

    outage.py LOG FROM TO"""
import sys

path, start, end = sys.argv[1], float(sys.argv[2]) * 1000, float(sys.argv[3]) * 1000
total = ok = 0
outage = 0.0
since = None
for line in open(path):
    parts = line.split()
    if len(parts) < 2:
        continue
    stamp = float(parts[0])
    if not start <= stamp <= end:
        continue
    total += 1
    if parts[1] == "1":
        ok += 1
        if since is not None:
            outage = max(outage, stamp - since)
            since = None
    elif since is None:
        since = stamp
if since is not None:
    outage = max(outage, end - since)
print(f"{total} {ok} {outage:.0f}")
