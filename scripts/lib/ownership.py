"""VIP ownership from `ip -ts monitor address` logs of both nodes: the longest time two nodes held the VIP
and the longest time nobody did, within [FROM, TO] (wall-clock seconds since the epoch).

usage: ownership.py VIP FROM TO INITIAL1 INITIAL2 LOG1 LOG2   (INITIALn: 1 if node n held the VIP at FROM)"""
import datetime
import sys

vip, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
held = [sys.argv[4] == "1", sys.argv[5] == "1"]
events = []
for node, path in enumerate(sys.argv[6:8]):
    for line in open(path):
        if not line.startswith("[") or f" {vip}/" not in line:
            continue
        stamp = datetime.datetime.fromisoformat(line[1:line.index("]")]).timestamp()
        if start <= stamp <= end:
            events.append((stamp, node, "Deleted" not in line))
events.sort()
dual = none = 0.0
dual_since = start if all(held) else None
none_since = start if not any(held) else None
for stamp, node, added in events + [(end, -1, None)]:
    if node >= 0:
        held[node] = added
    count = sum(held)
    if count >= 2 and dual_since is None:
        dual_since = stamp
    if count < 2 and dual_since is not None:
        dual = max(dual, stamp - dual_since)
        dual_since = None
    if count == 0 and none_since is None:
        none_since = stamp
    if count > 0 and none_since is not None:
        none = max(none, stamp - none_since)
        none_since = None
if dual_since is not None:
    dual = max(dual, end - dual_since)
if none_since is not None:
    none = max(none, end - none_since)
print(f"{dual * 1000:.0f} {none * 1000:.0f}")
