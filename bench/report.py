#!/usr/bin/env python3
"""Turns the JSON lines of the benchmark programs (bench/figures.h) into the
table on stdout, one JSON report for comparing commits, and the plot of the
scale benchmark (gnuplot, PNG). Figures never fail anything: 'met' is
information. Usage: report.py --out DIR FILE.jsonl..."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys

TARGET = re.compile(r"^(ratio|vfiod) (<=|>=|<|>) ([0-9.]+)$")
RANGE = re.compile(r"^ratio in ([0-9.]+)\.\.([0-9.]+)$")
OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
       "<": lambda a, b: a < b, ">": lambda a, b: a > b}


def judge(fig):
    """Adds ratio and met (True/False/None) to a figure."""
    v, b, t = fig.get("vfiod"), fig.get("baseline"), fig.get("target")
    fig["ratio"] = v / b if v is not None and b else None
    fig["met"] = None
    if not t:
        return fig
    m = RANGE.match(t)
    if m and fig["ratio"] is not None:
        fig["met"] = float(m.group(1)) <= fig["ratio"] <= float(m.group(2))
        return fig
    m = TARGET.match(t)
    if m:
        x = fig["ratio"] if m.group(1) == "ratio" else v
        if x is not None:
            fig["met"] = OPS[m.group(2)](x, float(m.group(3)))
    return fig


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except OSError:
        mem_kib = 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "load": os.getloadavg()[0]}


def commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def table(figures):
    rows = [("figure", "vfiod", "baseline", "ratio", "target", "met")]
    item = None
    for f in figures:
        if f["item"] != item:
            item = f["item"]
            rows.append((f"[{item}]", "", "", "", "", ""))
        met = {True: "met", False: "NOT MET", None: ""}[f["met"]]
        rows.append((f"  {f['name']} ({f['unit']})", fmt(f["vfiod"]), fmt(f["baseline"]),
                     fmt(f["ratio"]), f.get("target") or "", met))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 4)]
        cells += [r[4].ljust(widths[4]), r[5]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def plot(series, out):
    """Latency and memory against the device count, both layouts; None without gnuplot."""
    scale = {k: v for k, v in series.items() if k.startswith("scale-")}
    if not scale or not shutil.which("gnuplot"):
        return None
    for name, points in scale.items():
        with open(os.path.join(out, f"{name}.dat"), "w") as f:
            f.write("# devices ready_ms rss_mib peak_rss_mib gmo_ms getall_us\n")
            for p in sorted(points, key=lambda p: p["x"]):
                y = p["y"]
                f.write(f"{p['x']:g} {y['ready_ms']} {y['rss_mib']} {y['peak_rss_mib']} "
                        f"{y['gmo_ms']} {y['getall_us']}\n")
    png = os.path.join(out, "scale.png")
    plots_lat, plots_mem = [], []
    for name in sorted(scale):
        layout = name[len("scale-"):]
        dat = os.path.join(out, f"{name}.dat")
        plots_lat.append(f"'{dat}' using 1:5 with linespoints title 'GetManagedObjects, {layout}'")
        plots_lat.append(f"'{dat}' using 1:2 with linespoints title 'start to ready, {layout}'")
        plots_lat.append(f"'{dat}' using 1:($6/1000) with linespoints title 'one GetAll, {layout}'")
        plots_mem.append(f"'{dat}' using 1:3 with linespoints title 'RSS ready, {layout}'")
        plots_mem.append(f"'{dat}' using 1:4 with linespoints title 'peak RSS, {layout}'")
    script = f"""
set terminal pngcairo size 1100,460 font ',10'
set output '{png}'
set multiplot layout 1,2 title 'vfiod on fixture sysfs trees (host, no kernel)'
set logscale xy
set grid
set key top left
set xlabel 'devices'
set ylabel 'ms'
set title 'latency'
set key bottom right
plot {', '.join(plots_lat)}
unset logscale y
set ylabel 'MiB'
set title 'resident memory'
set key top left
set yrange [0:*]
plot {', '.join(plots_mem)}
unset multiplot
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print(f"report: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)
        return None
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    figures, series = [], {}
    for path in args.files:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                if rec.get("kind") == "figure":
                    figures.append(judge(rec))
                elif rec.get("kind") == "point":
                    series.setdefault(rec["series"], []).append({"x": rec["x"], "y": rec["y"]})
    figures.sort(key=lambda f: f["item"])
    os.makedirs(args.out, exist_ok=True)
    png = plot(series, args.out)
    report = {"commit": commit(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "figures": figures, "series": series, "plot": png}
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    m = report["machine"]
    print(f"vfiod benchmarks, commit {report['commit']}, {report['date']}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, kernel {m['kernel']}, "
          f"load {m['load']:.1f}")
    print("Items 1-3 run in a QEMU guest under TCG (no KVM): absolute times are slow,\n"
          "the ratios are what matter. Items 4-5 run on the host on fixture sysfs trees.\n"
          "ratio = vfiod / baseline; 'met' is information, never a failure.\n")
    print(table(figures))
    print(f"\nJSON: {os.path.join(args.out, 'bench.json')}" + (f"\nplot: {png}" if png else ""))
    notes = [f for f in figures if f.get("note")]
    if notes:
        print("\nnotes:")
        for f in notes:
            print(f"  {f['item']} / {f['name']}: {f['note']}")


if __name__ == "__main__":
    main()
