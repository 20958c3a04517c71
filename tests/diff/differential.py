#!/usr/bin/env python3
"""Differential tests: one HAProxy config run under HAProxy 2.6 and under the embedded engine, same recording
backends, same scripted requests; what the client got and what every backend received are compared.

    python3 tests/diff/differential.py [options] CONFIG.cfg...

For each config (in parallel, --jobs at a time, each in its own worker process and port range):
  1. rewrite it (cfgrewrite.py: loopback binds and servers, root/file-only `global` lines dropped) into a
     temp dir; `failover-agent proxy --check` must accept it (else the config is listed as refused and
     skipped) and `haproxy -c` too (else that is a difference: the engine accepts what HAProxy refuses);
  2. start one recording backend per `server` line (recorder.py);
  3. run HAProxy (`haproxy -f F -db`), wait for its ports, run the script (script.py), stop it by PID;
     then the same with `failover-agent proxy --config F`;
  4. compare (compare.py), drop the differences listed in known-differences.txt (known.py).
Prints one line per difference, `CONFIG: REQUEST [ASPECT]: what haproxy did | what the engine did`, then a
table (config, requests, dropped lines, differences). Exit status 1 if any unexplained difference (or a
config could not be run), 0 otherwise.

Options: --jobs N (default 8; the runs mostly wait), --engine PATH, --haproxy PATH, --known FILE,
--keep (keep the temp dirs, logs and rewritten configs), --json FILE (everything, machine-readable),
--quiet (table only), --drop-log-lines (also comment out `log` lines outside `global`, `log global`
included, to run the configs that the engine refuses only for logging).
A self-test: `--engine /usr/sbin/haproxy` runs HAProxy against itself (expect no difference).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the work tree

import cfgrewrite  # noqa: E402
import compare  # noqa: E402
import known  # noqa: E402
import proxyproc  # noqa: E402
import recorder  # noqa: E402
import script as scriptmod  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_ENGINE = os.path.join(REPO, ".build", "release", "failover-agent")
PORT_BASE = 20000
PORT_SPAN = 400
WORKER_TIMEOUT = 170.0
ENGINE_READY = "ready: every listener bound"


class Stop(Exception):
    pass


def _on_term(signum, frame):
    raise Stop()


def _first_error(text):
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("warning:")]
    first = lines[0] if lines else text.strip()
    first = re.sub(r"^\[ALERT\]\s+\(\d+\) : (config : )?(parsing )?", "", first)  # HAProxy's prefix
    return first[:200]


def _engine_argv(engine, path, check):
    if os.path.basename(engine).startswith("haproxy"):  # self-test: HAProxy against itself
        return [engine, "-c", "-f", path] if check else [engine, "-f", path, "-db"]
    return [engine, "proxy", "--check", "--config", path] if check else [engine, "proxy", "--config", path]


def run_config(cfg, slot, engine, haproxy, keep, drop_log_lines=False):
    """One config, start to end. Returns a JSON-serialisable dict."""
    name = os.path.basename(cfg)
    out = {"config": name, "path": cfg, "status": "ok", "requests": 0, "dropped": 0, "differences": [],
           "notes": [], "modes": ""}
    tmp = tempfile.mkdtemp(prefix="diff-%s-" % name.replace(".cfg", "")[:20])
    recs = {}
    procs = []
    try:
        with open(cfg, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        rw = cfgrewrite.rewrite(text, cfgrewrite.PortAllocator(PORT_BASE + slot * PORT_SPAN, PORT_SPAN),
                                drop_log_lines)
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(rw.text)
        out["dropped"] = len(rw.dropped)
        out["rewritten"] = path if keep else None
        out["modes"] = "/".join(sorted({p.mode for p in cfgrewrite.frontends(rw)})) or "-"
        out["notes"] += rw.notes

        rc, text_e = proxyproc.check_config(_engine_argv(engine, path, True))
        text_e = text_e.replace(path, name)
        out["engine_warnings"] = [ln for ln in text_e.splitlines() if "warning" in ln.lower()][:20]
        if rc != 0:
            out["status"] = "engine refuses"
            out["reason"] = _first_error(text_e)
            return out
        rc_h, text_h = proxyproc.check_config([haproxy, "-c", "-f", path])
        text_h = text_h.replace(path, name)
        if rc_h != 0:
            out["status"] = "haproxy refuses"
            out["differences"].append(("(config)", "--check", "refused: " + _first_error(
                "\n".join(ln for ln in text_h.splitlines() if "ALERT" in ln) or text_h), "accepted"))
            return out
        if not cfgrewrite.frontends(rw):
            out["status"] = "no listener"
            return out

        script = scriptmod.build(rw)
        out["requests"] = scriptmod.count_requests(script)
        out["notes"] += script.notes
        for rname, port, backend in rw.recorders:
            recs[rname] = recorder.Recorder(rname, port, backend)
        bind_ports = [p for fe in cfgrewrite.frontends(rw) for p in fe.binds]
        runs = {}
        for side, argv, ready in (("haproxy", [haproxy, "-f", path, "-db"], None),
                                  ("engine", _engine_argv(engine, path, False),
                                   None if os.path.basename(engine).startswith("haproxy") else ENGINE_READY)):
            for r in recs.values():
                r.start()
                r.reset()
            proc = proxyproc.ProxyProcess(side, argv, os.path.join(tmp, side + ".log"), bind_ports, ready)
            procs.append(proc)
            err = proc.start()
            if err and "ready line" in err and "ports not accepting: []" in err:
                out["notes"].append("%s: ready line not seen within %.0f s; ran anyway" %
                                    (side, proxyproc.START_TIMEOUT))
                err = None
            if err:
                out["status"] = "%s did not start" % side
                out["reason"] = err
                proc.stop()
                return out
            t0 = time.monotonic()
            results = scriptmod.execute(script, recs)
            time.sleep(0.2)
            duration = time.monotonic() - t0
            alive = proc.alive()
            code = proc.stop()
            if not alive:
                out["differences"].append(("(process)", "exit", "ran to the end" if side == "engine" else
                                           "exited with %s during the script" % code,
                                           "exited with %s during the script" % code if side == "engine" else
                                           "ran to the end"))
                out["notes"].append("%s output: %s" % (side, proc.output()[-400:]))
            records = []
            for r in recs.values():
                records += r.snapshot()
            runs[side] = {"results": results, "records": records, "duration": duration}
        inter = {}
        for p in rw.proxies.values():
            for srv in p.servers:
                if srv.check:
                    ms = srv.inter or 2000
                    inter[srv.rec] = ms
                    inter[srv.rec + "~check"] = ms
        diffs, notes, summaries = compare.compare(script, runs["haproxy"], runs["engine"], inter)
        if keep:
            out["summaries"] = summaries
            out["elapsed"] = {side: {label: (res.get("elapsed") if isinstance(res, dict) and "elapsed" in res else
                                             None) for label, res in run["results"].items()}
                              for side, run in runs.items()}
        out["differences"] += diffs
        out["notes"] += notes
        out["duration"] = round(runs["haproxy"]["duration"] + runs["engine"]["duration"], 1)
        return out
    finally:
        for p in procs:
            try:
                p.stop()
            except Exception:  # noqa: BLE001 - clean up whatever happened
                pass
        for r in recs.values():
            r.stop()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            out["tmp"] = tmp


def worker_main(args):
    signal.signal(signal.SIGTERM, _on_term)
    proxyproc.raise_fd_limit()
    try:
        res = run_config(args.worker, args.slot, args.engine, args.haproxy, args.keep, args.drop_log_lines)
    except Stop:
        res = {"config": os.path.basename(args.worker), "status": "stopped (timeout)", "differences": [],
               "notes": [], "requests": 0, "dropped": 0, "modes": "-"}
    except Exception as e:  # noqa: BLE001 - report, do not hide
        import traceback
        res = {"config": os.path.basename(args.worker), "status": "harness error", "reason": repr(e),
               "trace": traceback.format_exc(), "differences": [], "notes": [], "requests": 0, "dropped": 0,
               "modes": "-"}
    with open(args.out, "w") as f:
        json.dump(res, f, default=lambda o: repr(o))
    return 0


def estimate_seconds(cfg):
    """A rough duration of one config's two runs (waits dominate), to start the longest first."""
    try:
        with open(cfg, encoding="utf-8", errors="surrogateescape") as f:
            rw = cfgrewrite.rewrite(f.read(), cfgrewrite.PortAllocator(PORT_BASE + 15 * PORT_SPAN, PORT_SPAN))
        sc = scriptmod.build(rw)
        waits = sum(it.extra.get("down", 0) + it.extra.get("up", 0) for it in sc.items if it.kind == "downup")
        return 2 * (waits + 0.05 * scriptmod.count_requests(sc))
    except Exception:  # noqa: BLE001 - only an ordering hint
        return 0.0


def run_all(args):
    configs = args.configs
    tmp = tempfile.mkdtemp(prefix="diff-run-")
    pending = sorted(enumerate(configs), key=lambda ic: -estimate_seconds(ic[1]))
    running = {}  # slot -> (Popen, config index, out path, started)
    results = [None] * len(configs)
    free_slots = list(range(args.jobs))
    deadline = time.monotonic() + WORKER_TIMEOUT * (len(configs) + 1)
    try:
        while (pending or running) and time.monotonic() < deadline:
            while pending and free_slots:
                idx, cfg = pending.pop(0)
                slot = free_slots.pop(0)
                outp = os.path.join(tmp, "%d.json" % idx)
                argv = [sys.executable, os.path.abspath(__file__), "--worker", cfg, "--slot", str(slot), "--out", outp,
                        "--engine", args.engine, "--haproxy", args.haproxy] + (["--keep"] if args.keep else []) + \
                    (["--drop-log-lines"] if args.drop_log_lines else [])
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
                running[slot] = (p, idx, outp, time.monotonic())
            time.sleep(0.1)
            for slot, (p, idx, outp, started) in list(running.items()):
                if p.poll() is None and time.monotonic() - started > WORKER_TIMEOUT:
                    os.kill(p.pid, signal.SIGTERM)
                    try:
                        p.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        os.kill(p.pid, signal.SIGKILL)
                        p.wait(timeout=5)
                if p.poll() is not None:
                    try:
                        with open(outp) as f:
                            results[idx] = json.load(f)
                    except (OSError, ValueError):
                        results[idx] = {"config": os.path.basename(configs[idx]), "status": "worker died (%s)" %
                                        p.returncode, "differences": [], "notes": [], "requests": 0, "dropped": 0,
                                        "modes": "-"}
                    del running[slot]
                    free_slots.append(slot)
    finally:
        for slot, (p, idx, outp, started) in running.items():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)
    for i, r in enumerate(results):
        if r is None:
            results[i] = {"config": os.path.basename(configs[i]), "status": "not run (time)", "differences": [],
                          "notes": [], "requests": 0, "dropped": 0, "modes": "-"}
    return results


def _mask(text):
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"\br\d+\b", "rN", text)


def report(results, kn, quiet):
    failing = 0
    lines_out = []
    for r in results:
        r["unexplained"], r["known"] = [], []
        for d in r["differences"]:
            label, aspect, a, b = d
            why = kn.reason(r["config"], label, aspect)
            (r["known"] if why else r["unexplained"]).append(d)
        if not quiet:
            for label, aspect, a, b in r["unexplained"]:
                lines_out.append("%s: %s [%s]: %s | %s" % (r["config"], label, aspect, a, b))
    ran = [r for r in results if r["status"] not in ("engine refuses",)]
    refused = [r for r in results if r["status"] == "engine refuses"]
    for ln in lines_out:
        print(ln)
    if not quiet:
        for r in ran:
            for n in r.get("notes", []):
                print("note: %s: %s" % (r["config"], n))
            if r.get("reason"):
                print("note: %s: %s: %s" % (r["config"], r["status"], r["reason"]))
            if r.get("trace"):
                print(r["trace"])
    print()
    w = max([len(r["config"]) for r in ran] + [6])
    print("%-*s  %-8s  %8s  %7s  %11s  %5s  %s" % (w, "config", "mode", "requests", "dropped", "differences", "known",
                                                  "status"))
    print("%s  %s  %s  %s  %s  %s  %s" % ("-" * w, "-" * 8, "-" * 8, "-" * 7, "-" * 11, "-" * 5, "-" * 6))
    tot_req = tot_diff = 0
    for r in ran:
        nd = len(r["unexplained"])
        tot_req += r["requests"]
        tot_diff += nd
        bad = nd > 0 or r["status"] != "ok"
        failing += 1 if bad else 0
        print("%-*s  %-8s  %8d  %7d  %11d  %5d  %s" % (w, r["config"], r.get("modes", "-"), r["requests"],
                                                       r["dropped"], nd, len(r["known"]), r["status"]))
    print("%s  %s  %s  %s  %s  %s  %s" % ("-" * w, "-" * 8, "-" * 8, "-" * 7, "-" * 11, "-" * 5, "-" * 6))
    print("%-*s  %-8s  %8d  %7s  %11d  %5s  %d of %d configs differ or failed" % (
        w, "%d configs run" % len(ran), "", tot_req, "", tot_diff, "", failing, len(ran)))
    if refused:
        print("\nnot run, the engine refuses them (%d):" % len(refused))
        by_kw = {}
        for r in refused:
            m = re.search(r":\d+: '([^']+)'", r.get("reason", ""))
            by_kw.setdefault(m.group(1) if m else "other", []).append(r["config"].split("-")[0])
        print("  refused at: " + "; ".join("'%s' %d (%s)" % (k, len(v), " ".join(v)) for k, v in
                                           sorted(by_kw.items(), key=lambda kv: -len(kv[1]))))
        if not quiet:
            for r in refused:
                reason = r.get("reason", "")
                print("  " + (reason if reason.startswith(r["config"]) else "%s: %s" % (r["config"], reason)))
    if not quiet and tot_diff:
        print("\ndifferences by kind (same request, aspect and values, frontend and ports masked):")
        kinds = {}
        for r in ran:
            for label, aspect, a, b in r["unexplained"]:
                key = (_mask(label.split(": ", 1)[-1]), aspect, _mask(a), _mask(b))
                k = kinds.setdefault(key, [0, []])
                k[0] += 1
                if r["config"] not in k[1]:
                    k[1].append(r["config"])
        for key, (n, cfgs) in sorted(kinds.items(), key=lambda kv: (-len(kv[1][1]), -kv[1][0])):
            print("  %3d in %2d configs (%s%s): %s [%s]: %s | %s" % (
                n, len(cfgs), ", ".join(c.split("-")[0] for c in cfgs[:4]), ", ..." if len(cfgs) > 4 else "",
                key[0], key[1], key[2], key[3]))
    unused = [e for e in kn.entries if e[4] not in kn.used]
    for e in unused:
        print("note: known difference line %d matched nothing: %s | %s | %s" % (e[4], e[0], e[1], e[2]))
    return failing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("configs", nargs="*")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--engine", default=DEFAULT_ENGINE)
    ap.add_argument("--haproxy", default="/usr/sbin/haproxy")
    ap.add_argument("--known", default=os.path.join(HERE, "known-differences.txt"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--drop-log-lines", action="store_true",
                    help="also drop `log` lines outside global (off by default: the configs run as written)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--slot", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main(args)
    if not args.configs:
        ap.error("no config given")
    args.jobs = max(1, min(args.jobs, 16))
    signal.signal(signal.SIGTERM, _on_term)  # run_all's finally stops the workers, each stops its processes
    kn = known.Known.load(args.known)
    t0 = time.monotonic()
    results = run_all(args)
    failing = report(results, kn, args.quiet)
    print("\n%d configs in %.0f s" % (len(results), time.monotonic() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=lambda o: repr(o))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
