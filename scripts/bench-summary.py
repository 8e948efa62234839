#!/usr/bin/env python3
"""Summarise a sitting of scripts/bench-compare.sh as the Markdown tables of docs/benchmarks.md.

    scripts/bench-summary.py bench/results/sitting

For every scenario: the median over the repetitions of its figure on each target, the figure of
every repetition, the CPU the server used per operation, and the ratios of wsgate to the bare
floor and to Centrifugo, all from the same sitting; the 1-minute load averages at the start of
the runs are given beside them.
"""
import glob
import json
import os
import re
import statistics
import sys

# scenario -> (title, the figure, unit, higher is better, CPU per what)
SCENARIOS = {
    "idle-5000": ("idle memory, 5,000 connections", "bytes_per_conn", "B/conn", False, None),
    "idle-19000": ("idle memory, 19,000 connections", "bytes_per_conn", "B/conn", False, None),
    "idle-jwt-19000": ("idle memory, 19,000 connections, each with its own JWT and user channel", "bytes_per_conn", "B/conn", False, None),
    "churn": ("connects/s, anonymous (64 at a time)", "rate", "/s", True, "cycle"),
    "churn-jwt": ("connects/s with a JWT each (64 at a time)", "rate", "/s", True, "cycle"),
    "broadcast": ("broadcast to 10,000 (deliveries/s)", "messages_per_s", "/s", True, "delivery"),
    "push": ("push to single connections, 10,000 open, 4 clients x 32 pipelined", "messages_per_s", "/s", True, "push"),
    "push-batch": ("push, batches of 100 per request", "messages_per_s", "/s", True, "push"),
    "push-sdk": ("push, one request in flight per keep-alive connection (16, as the AWS SDKs send)", "messages_per_s", "/s", True, "push"),
    "echo-3000": ("echo through a route, 1,000 connections at 3,000 msgs/s (p50 ms)", "p50_ms", "ms", False, "msg"),
}
TARGETS = ["wsgate", "bare", "bare-hop", "bare-hop-min", "centrifugo", "centrifugo-api", "centrifugo-batch", "wsgate-batch"]


def load(path):
    runs = {}
    for f in sorted(glob.glob(os.path.join(path, "*.json"))):
        m = re.match(r"(.+)\.([a-z-]+)\.r(\d+)\.json$", os.path.basename(f))
        if not m or not os.path.getsize(f):
            continue
        r = json.load(open(f))
        name, tgt = m.group(1), m.group(2)
        r["bytes_per_conn"] = r.get("gateway_bytes_per_conn", 0)
        ops = {"cycle": r["sent"], "delivery": r["received"], "push": r["received"], "msg": r["received"]}
        r["_ops"] = ops
        runs.setdefault(name, {}).setdefault(tgt, []).append(r)
    return runs


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.2f} ms"
    return f"{v:,.0f}{' ' + unit if unit.startswith('B') else unit}"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/sitting"
    runs = load(path)
    print("| scenario | target | median | runs | server CPU per op (median) | errors | load (1 min) at start |")
    print("|---|---|---:|---|---:|---:|---|")
    ratios = []
    cpus = {}
    p99s = {}
    for name, (title, key, unit, higher, per) in SCENARIOS.items():
        if name not in runs:
            continue
        meds = {}
        for tgt in TARGETS:
            rs = runs[name].get(tgt)
            if not rs:
                continue
            vals = [r[key] for r in rs if r.get(key) is not None]
            m = med(vals)
            meds[tgt] = m
            cpu = ""
            if per:
                us = [r["gateway_cpu_s"] / r["_ops"][per] * 1e6 for r in rs if r.get("gateway_cpu_s") and r["_ops"][per]]
                cpu = f"{med(us):.1f} µs/{per}" if us else ""
                if us:
                    cpus[(name, tgt)] = med(us)
            loads = [r["load_start"][0] for r in rs]
            errs = sum(r["errors"] for r in rs)
            extra = ""
            if name == "echo-3000":
                extra = f"; p99 {med([r['p99_ms'] for r in rs]):.2f} ms"
                p999 = [r["p999_ms"] for r in rs if r.get("p999_ms") is not None]
                if p999:
                    extra += f"; p99.9 {med(p999):.2f} ms"
                p99s[tgt] = med([r["p99_ms"] for r in rs])
            print(f"| {title} | {tgt} | {fmt(m, unit)}{extra} | {', '.join(fmt(v, unit) for v in vals)} | {cpu} | {errs} | "
                  f"{min(loads):.1f}–{max(loads):.1f} |")
        w = meds.get("wsgate")
        if w is None:
            continue
        row = [title]
        for other in ("bare", "centrifugo", "centrifugo-api", "centrifugo-batch"):
            o = meds.get(other)
            if name == "echo-3000":
                cell = f"p50 +{w - o:.2f} ms, p99 +{p99s['wsgate'] - p99s[other]:.2f} ms" if o else "—"
                for hop, label in (("bare-hop-min", "floor+hop (minimal client)"), ("bare-hop", "floor+hop (net/http)")):
                    h = meds.get(hop)
                    if o and other == "bare" and h is not None:
                        # over the floor that makes the same HTTP call (bare-server --integration):
                        # the gateway's own part, what issue 16's 0.5 ms p99 goal is about
                        cell += f"; over {label}: p50 {w - h:+.2f} ms, p99 {p99s['wsgate'] - p99s[hop]:+.2f} ms"
                row.append(cell)
                continue
            cell = f"{w / o:.2f}×" if o else "—"
            wc, oc = cpus.get((name, "wsgate")), cpus.get((name, other))
            if wc and oc:
                cell += f" (CPU/op {wc / oc:.2f}×)"
            row.append(cell)
        ratios.append(row)
        wb, cb = meds.get("wsgate-batch"), meds.get("centrifugo-batch")
        if wb and cb:
            wc, cc = cpus.get((name, "wsgate-batch")), cpus.get((name, "centrifugo-batch"))
            cell = f"{wb / cb:.2f}×" + (f" (CPU/op {wc / cc:.2f}×)" if wc and cc else "")
            ratios.append([title.split(",")[0] + ", batches of 100: wsgate @batch ÷ Centrifugo /api/batch", "—", "—", "—", cell])
    print()
    print("Throughput ratios: wsgate's figure over the other's (above 1: wsgate does more); memory ratios:")
    print("wsgate's bytes over the other's (below 1: wsgate holds less); CPU/op: wsgate's server CPU per")
    print("operation over the other's (below 1: wsgate spends less).")
    print()
    print("| scenario | wsgate ÷ floor | wsgate ÷ Centrifugo | ÷ Centrifugo /api/broadcast | ÷ Centrifugo /api/batch |")
    print("|---|---:|---:|---:|---:|")
    for row in ratios:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
