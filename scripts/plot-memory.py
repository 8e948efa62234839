#!/usr/bin/env python3
"""Plot gateway RSS against open connections from wsgate-bench idle results (JSON lines).

    scripts/plot-memory.py --out docs/memory.svg \
        wsgate=bench/results/idle-*.json bare-nbio=bench/results/bare-idle-*.json

Each SERIES=FILES argument is one line; every file holds `wsgate-bench idle --json` output.
Writes a self-contained SVG by hand (no plotting packages needed).
"""
import argparse
import glob
import json
import sys

COLORS = ["#1f6feb", "#8b949e", "#d1242f", "#1a7f37"]


def load(pattern):
    points = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r.get("scenario") != "idle" or not r.get("gateway_rss_kb"):
                    continue
                points.append((r["connections"], r["gateway_rss_kb"] / 1024.0, r.get("gateway_bytes_per_conn", 0)))
    points.sort()
    return points


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="SVG file to write")
    ap.add_argument("series", nargs="+", help="NAME=GLOB of idle result files")
    a = ap.parse_args()
    series = []
    for s in a.series:
        name, sep, pattern = s.partition("=")
        if not sep:
            sys.exit(f"plot-memory: {s!r}: write NAME=GLOB, e.g. wsgate=bench/results/idle-*.json")
        pts = load(pattern)
        if not pts:
            sys.exit(f"plot-memory: {pattern!r}: no idle results with gateway_rss_kb (run wsgate-bench idle --json with --spawn or --gateway-pid)")
        series.append((name, pts))

    W, H, L, R, T, B = 720, 420, 70, 200, 40, 60
    xmax = max(p[0] for _, pts in series for p in pts) * 1.05
    ymax = max(p[1] for _, pts in series for p in pts) * 1.15
    sx = lambda x: L + (W - L - R) * x / xmax
    sy = lambda y: H - B - (H - T - B) * y / ymax
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15" font-weight="bold">Server RSS vs idle WebSocket connections</text>']
    for i in range(6):  # grid and axis labels
        y = ymax * i / 5
        o.append(f'<line x1="{L}" y1="{sy(y):.1f}" x2="{W-R}" y2="{sy(y):.1f}" stroke="#eee"/>')
        o.append(f'<text x="{L-8}" y="{sy(y)+4:.1f}" text-anchor="end">{y:.0f}</text>')
        x = xmax * i / 5
        o.append(f'<text x="{sx(x):.1f}" y="{H-B+18}" text-anchor="middle">{x/1000:.0f}k</text>')
    o.append(f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/>')
    o.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>')
    o.append(f'<text x="{(L+W-R)/2}" y="{H-15}" text-anchor="middle">open connections</text>')
    o.append(f'<text x="18" y="{(T+H-B)/2}" text-anchor="middle" transform="rotate(-90 18 {(T+H-B)/2})">RSS (MiB)</text>')
    for k, (name, pts) in enumerate(series):
        c = COLORS[k % len(COLORS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in pts)
        o.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y, per in pts:
            o.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{c}"><title>{name}: {x} conns, {y:.1f} MiB, {per:.0f} B/conn</title></circle>')
        x, y, per = pts[-1]
        o.append(f'<text x="{sx(x)+8:.1f}" y="{sy(y)+4:.1f}" fill="{c}">{per/1024:.2f} KiB/conn</text>')
        ly = T + 15 + 20 * k  # legend in the empty upper left of the plot, clear of the end labels
        o.append(f'<line x1="{L+15}" y1="{ly}" x2="{L+35}" y2="{ly}" stroke="{c}" stroke-width="3"/>')
        o.append(f'<text x="{L+41}" y="{ly+4}">{name}</text>')
    o.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()
