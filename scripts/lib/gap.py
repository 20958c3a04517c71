"""Reads a probe log and prints, for the window [FROM_MS, TO_MS], the longest time between two successful
probes (the outage the client saw), the number of failed probes, and who answered before and after."""
import sys

path, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = []
for line in open(path):
    parts = line.split()
    if len(parts) >= 3:
        rows.append((float(parts[0]), parts[1] == "1", parts[2]))
last_ok = None
before = after = "-"
gap = 0.0
failed = 0
for t, ok, who in rows:
    if t < start:
        if ok:
            last_ok, before = t, who
        continue
    if t > end:
        break
    if ok:
        if last_ok is not None:
            gap = max(gap, t - last_ok)
        last_ok, after = t, who
    else:
        failed += 1
print(f"{gap:.1f} {failed} {before} {after}")
