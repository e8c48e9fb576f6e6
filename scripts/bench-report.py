#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of scripts/bench.sh: reads RESULTS/icount/raw.jsonl (primary:
guest time counted in executed instructions) and RESULTS/wall/raw.jsonl
(wall clock under TCG), writes RESULTS/report.md (printed as well) and, if
matplotlib is there, RESULTS/bench.png.

  bench-report.py RESULTS
"""
import json
import os
import statistics
import sys

CONFIGS = [
    ("rext2-rust", "rext2, engine=rust"),
    ("rext2-c", "rext2, engine=c (C fs/mpage.c)"),
    ("ext2", "C ext2 (in-kernel)"),
    ("raw", "raw loop device (ceiling)"),
]
# The targets, on cold sequential reads under icount.
T_RUST_VS_C = 1.0
T_RUST_VS_EXT2 = 1.15


def load(path):
    runs = {"meta": {}, "seq": {}, "rand": {}, "readdir": {}, "bios": {}}
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "meta" in r:
                runs["meta"] = r["meta"]
            elif r["test"] == "bios":
                runs["bios"][r["config"]] = r
            else:
                runs[r["test"]].setdefault(r["config"], []).append(r)
    return runs


def seq_mibs(r):
    return r["bytes"] / (1 << 20) / (r["us"] / 1e6)


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec, none="–"):
    return none if x is None else format(x, spec)


class Figures:
    """Medians and spreads of one boot, per configuration."""

    def __init__(self, runs):
        self.runs = runs
        self.seq, self.sys, self.iops, self.lat, self.readdir = {}, {}, {}, {}, {}
        for c, _ in CONFIGS:
            self.seq[c] = [seq_mibs(r) for r in runs["seq"].get(c, [])]
            self.sys[c] = [r["sys_s"] for r in runs["seq"].get(c, [])]
            rand = runs["rand"].get(c, [])
            self.iops[c] = [r["fio"]["iops"] for r in rand]
            self.lat[c] = [r["fio"]["lat_mean_ns"] / 1000 for r in rand]
            self.readdir[c] = [r["us"] / 1000 for r in runs["readdir"].get(c, [])]

    def seq_med(self, c):
        return med(self.seq[c])

    def spread(self, xs, spec):
        if not xs:
            return "–"
        return f"{min(xs):{spec}}–{max(xs):{spec}}"

    def ratio(self, a, b):
        ma, mb = self.seq_med(a), self.seq_med(b)
        return ma / mb if ma and mb else None


def main(results):
    ic = load(os.path.join(results, "icount", "raw.jsonl"))
    wc = load(os.path.join(results, "wall", "raw.jsonl"))
    if ic is None:
        sys.exit(f"bench-report: no {results}/icount/raw.jsonl")
    run = {}
    if os.path.exists(os.path.join(results, "run.json")):
        with open(os.path.join(results, "run.json")) as f:
            run = json.load(f)
    I = Figures(ic)
    W = Figures(wc) if wc else None
    meta = ic["meta"]
    mib = meta["file_mib"]

    def bios_of(c):
        b = ic["bios"].get(c)
        if not b:
            return None, None, None
        n = b["bios"]
        return n, b["sectors"] / 2 / n, n / mib

    out = []
    p = out.append
    p("# rmpage benchmark")
    p("")
    p(f"`make bench`, {run.get('date', '?')}, tree `{run.get('rev', '?')}`, "
      f"kernel {meta['kernel']} (bench config), QEMU TCG, guest CPUs {meta['cpus']}; "
      f"{meta['reps']} repetitions per configuration, configurations interleaved. "
      f"Image: 4 KiB-block ext2 made by `mke2fs -d`, in the guest's tmpfs, on read-only "
      f"loop devices (read_ahead_kb {meta['read_ahead_kb']}, max_sectors_kb "
      f"{meta['max_sectors_kb']}); rmpage loaded with "
      f"{('`' + meta['modparams'] + '`') if meta.get('modparams') else 'default parameters (large_folios on)'}.")
    p("")
    p("**icount** figures are guest time measured in executed instructions "
      "(`-icount shift=0`: one instruction is one nanosecond), so they compare "
      "instruction counts and repeat within about 1%. **Wall-clock** figures come "
      "from a second boot without icount; under TCG they swing by ±30% (and more "
      "when other VMs share the host), so they are shown, not judged.")
    wmeta = wc["meta"] if wc else {}
    if wmeta.get("clocksource", "").endswith("jiffies"):
        p("")
        p(f"Without icount the guest kernel cannot calibrate its TSC and keeps time with "
          f"`{wmeta['clocksource']}`: wall-clock times have a resolution of one jiffy "
          f"(4 ms), which matters only for readdir.")
    p("")
    p(f"Cold sequential read of a {mib} MiB file (`dd bs=1M` after `drop_caches`), "
      f"4 KiB random reads (fio psync, seed 1, {meta['rand_mib']} MiB of a {mib} MiB "
      f"file, after `drop_caches`), cold listing of a directory of "
      f"{meta['entries']:,} entries (`os.listdir`, no stat, timed inside Python). Bios are counted on the `block_bio_queue` "
      "tracepoint during one traced cold sequential read per configuration "
      "(metadata bios included); sys CPU is the `dd`'s (median, icount).")
    p("")
    p("| configuration | seq MiB/s, icount median | icount min–max | seq MiB/s, wall median | "
      "× C ext2 (icount) | bios | avg bio KiB | bios per MiB | 4K random IOPS (icount) | "
      "random mean latency µs | readdir ms (icount) | sys CPU s |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c, label in CONFIGS:
        n, avg_kib, per_mib = bios_of(c)
        wall = fmt(W.seq_med(c), ".1f") if W else "–"
        if W and W.seq[c]:
            wall += f" ({W.spread(W.seq[c], '.0f')})"
        p(f"| {label} | {fmt(I.seq_med(c), '.1f')} | {I.spread(I.seq[c], '.1f')} | {wall} | "
          f"{fmt(I.ratio(c, 'ext2'), '.2f')} | {fmt(n, 'd')} | {fmt(avg_kib, '.1f')} | "
          f"{fmt(per_mib, '.2f')} | {fmt(med(I.iops[c]), '.0f')} | {fmt(med(I.lat[c]), '.1f')} | "
          f"{fmt(med(I.readdir[c]), '.2f')} | {fmt(med(I.sys[c]), '.3f')} |")
    p("")
    if W:
        p("Wall clock, medians (min–max):")
        p("")
        p("| configuration | seq MiB/s | 4K random IOPS | readdir ms | sys CPU s |")
        p("| --- | ---: | ---: | ---: | ---: |")
        for c, label in CONFIGS:
            p(f"| {label} | {fmt(W.seq_med(c), '.1f')} ({W.spread(W.seq[c], '.1f')}) | "
              f"{fmt(med(W.iops[c]), '.0f')} ({W.spread(W.iops[c], '.0f')}) | "
              f"{fmt(med(W.readdir[c]), '.1f')} ({W.spread(W.readdir[c], '.1f')}) | "
              f"{fmt(med(W.sys[c]), '.3f')} |")
        p("")

    # The targets.
    p("Targets (cold sequential read, icount medians):")
    p("")
    p("| target | measured | met? |")
    p("| --- | ---: | --- |")
    met_all = True

    def target(name, value, ok, detail=""):
        nonlocal met_all
        met_all &= bool(ok)
        verdict = "**yes**" if ok else "**NO, missed**"
        p(f"| {name} | {value}{detail} | {verdict} |")

    r_c, r_e = I.ratio("rext2-rust", "rext2-c"), I.ratio("rext2-rust", "ext2")
    worst_c = min(I.seq["rext2-rust"]) / max(I.seq["rext2-c"]) if I.seq["rext2-c"] else None
    worst_e = min(I.seq["rext2-rust"]) / max(I.seq["ext2"]) if I.seq["ext2"] else None
    target(f"Rust engine ≥ {T_RUST_VS_C:.2f}× C engine (rext2, engine=c)", fmt(r_c, ".2f") + "×",
           r_c is not None and r_c >= T_RUST_VS_C, f" (slowest vs fastest run: {fmt(worst_c, '.2f')}×)")
    target(f"Rust engine ≥ {T_RUST_VS_EXT2:.2f}× C ext2", fmt(r_e, ".2f") + "×",
           r_e is not None and r_e >= T_RUST_VS_EXT2, f" (slowest vs fastest run: {fmt(worst_e, '.2f')}×)")
    nr, _, pr = bios_of("rext2-rust")
    ne, _, pe = bios_of("ext2")
    target("Rust engine's bios per MiB ≤ C ext2's", f"{fmt(pr, '.2f')} vs {fmt(pe, '.2f')}",
           pr is not None and pe is not None and pr <= pe, f" ({nr} vs {ne} bios)")
    p("")
    if W:
        wr_c, wr_e = W.ratio("rext2-rust", "rext2-c"), W.ratio("rext2-rust", "ext2")
        p(f"Under wall clock (not judged) the same ratios are {fmt(wr_c, '.2f')}× and "
          f"{fmt(wr_e, '.2f')}×.")
        p("")
    es = ic["bios"].get("rext2-rust", {}).get("engine_stats")
    if isinstance(es, dict):
        keys = ["bios", "folios", "bytes", "split_folios", "fallbacks", "boundary_submits",
                "map_calls", "avg_bio_bytes"]
        p("Rust engine counters for its traced read (data bios only): " +
          ", ".join(f"{k} {es[k]}" for k in keys if k in es) + ".")
        p("")
    p("All targets met." if met_all else "**Not all targets are met** (see above).")

    text = "\n".join(out) + "\n"
    with open(os.path.join(results, "report.md"), "w") as f:
        f.write(text)
    print(text, end="")
    plot(results, I, meta)


def plot(results, I, meta):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-report: no matplotlib, no plot", file=sys.stderr)
        return
    labels, meds, lo, hi = [], [], [], []
    for c, label in CONFIGS:
        if not I.seq[c]:
            continue
        m = I.seq_med(c)
        labels.append(label.replace(" (", "\n("))
        meds.append(m)
        lo.append(m - min(I.seq[c]))
        hi.append(max(I.seq[c]) - m)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    colors = ["#c0392b", "#7f8c8d", "#2c3e50", "#bdc3c7"][: len(meds)]
    bars = ax.bar(range(len(meds)), meds, yerr=[lo, hi], capsize=6, color=colors)
    for b, m in zip(bars, meds):
        ax.text(b.get_x() + b.get_width() / 2, m * 1.01, f"{m:.0f}", ha="center", va="bottom")
    e = I.seq_med("ext2")
    if e:
        ax.axhline(e * T_RUST_VS_EXT2, ls="--", color="#27ae60", lw=1)
        ax.text(-0.45, e * T_RUST_VS_EXT2 * 1.005, f"target: {T_RUST_VS_EXT2}× C ext2",
                ha="left", va="bottom", color="#27ae60", fontsize=8,
                bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_xticks(range(len(meds)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("MiB/s (guest time, icount)")
    ax.set_title(f"Cold sequential read, {meta['file_mib']} MiB, dd bs=1M: "
                 f"median and min–max of {meta['reps']} runs", fontsize=10)
    ax.set_ylim(0, max(m + h for m, h in zip(meds, hi)) * 1.12)
    fig.tight_layout()
    fig.savefig(os.path.join(results, "bench.png"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
