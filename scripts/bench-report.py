#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The report of scripts/bench.sh: reads RESULTS/icount/raw.jsonl (primary:
guest time counted in executed instructions) and RESULTS/wall/raw.jsonl
(wall clock under TCG), writes RESULTS/report.md (printed as well) and, if
matplotlib is there, RESULTS/bench.png: the reads, then the writes
(sequential write, rewrite in place, 4 KiB random writes, each + fsync)
with their ratios to the C engine and the C ext2.

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

# The writes: rows, their labels and units, and their targets (icount):
# the Rust engine against the C engine and against the C ext2.
WCONFIGS = CONFIGS[:3]
WROWS = [
    ("seq", "sequential write + fsync", "MiB/s"),
    ("rewrite", "rewrite in place + fsync", "MiB/s"),
    ("rand", "4 KiB random writes + fsync", "IOPS"),
]
W_TARGETS = {"seq": (1.0, 1.10), "rewrite": (1.0, 1.0), "rand": (1.0, 1.0)}
# The Rust engine's write counters, shown per row.
W_COUNTERS = ["write_bios", "write_folios", "write_bytes", "write_fallbacks",
              "write_split_folios", "write_boundary_submits", "write_map_calls",
              "blocks_allocated", "write_errors", "bios_grown"]


# The metadata rows: test name in raw.jsonl, label, and the target of the
# Rust engine against the C ext2 (files/s, icount).
MROWS = [
    ("mcreate", "create 10,000 × 4 KiB + sync"),
    ("mstat", "stat cold (listdir + stat)"),
    ("munlink", "unlink 10,000 + sync"),
    ("muntar", "untar a source tree + sync"),
]
M_TARGET = 1.0


def load(path):
    runs = {"meta": {}, "seq": {}, "rand": {}, "readdir": {}, "bios": {},
            "wseq": {}, "wrewrite": {}, "wrand": {}, "wstats": {}, "wbios": {},
            "mmeta": {}, "mcreate": {}, "mstat": {}, "munlink": {}, "muntar": {},
            "mdry": {}, "mfsck": {}}
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
            elif "mmeta" in r:
                runs["mmeta"] = r["mmeta"]
            elif r["test"] == "bios":
                runs["bios"][r["config"]] = r
            elif r["test"] == "wbios":
                runs["wbios"][(r["config"], r["row"])] = r
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
        # The writes: MiB/s (seq, rewrite) or IOPS (rand), per row.
        self.w = {row: {} for row, _, _ in WROWS}
        self.wsys = {row: {} for row, _, _ in WROWS}
        for c, _ in WCONFIGS:
            for row in ("seq", "rewrite"):
                rs = runs["w" + row].get(c, [])
                self.w[row][c] = [seq_mibs(r) for r in rs]
                self.wsys[row][c] = [r["sys_s"] for r in rs]
            self.w["rand"][c] = [r["fio"]["iops"] for r in runs["wrand"].get(c, [])]
            self.wsys["rand"][c] = []
        # The metadata rows: files/s, per row.
        self.m = {row: {} for row, _ in MROWS}
        for c, _ in WCONFIGS:
            for row, _ in MROWS:
                self.m[row][c] = [r["files"] / (r["us"] / 1e6) for r in runs[row].get(c, [])]

    def mmed(self, row, c):
        return med(self.m[row].get(c, []))

    def mratio(self, row, a, b):
        ma, mb = self.mmed(row, a), self.mmed(row, b)
        return ma / mb if ma and mb else None

    def wmed(self, row, c):
        return med(self.w[row].get(c, []))

    def wratio(self, row, a, b):
        ma, mb = self.wmed(row, a), self.wmed(row, b)
        return ma / mb if ma and mb else None

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

    out = []
    p = out.append
    p("# rmpage benchmark")
    p("")
    reads_text = (f"{meta['reps']} repetitions per configuration, configurations interleaved. "
                  f"Image: 4 KiB-block ext2 made by `mke2fs -d`, in the guest's tmpfs, on read-only "
                  f"loop devices (read_ahead_kb {meta['read_ahead_kb']}, max_sectors_kb "
                  f"{meta['max_sectors_kb']}); " if any(I.seq.values()) else "")
    p(f"`make bench`, {run.get('date', '?')}, tree `{run.get('rev', '?')}`, "
      f"kernel {meta['kernel']} (bench config), QEMU TCG, guest CPUs {meta['cpus']}; "
      f"{reads_text}rmpage loaded with "
      f"{('`' + meta['modparams'] + '`') if meta.get('modparams') else 'default parameters (large_folios on)'}.")
    p("")
    p("**icount** figures are guest time measured in executed instructions "
      "(`-icount shift=0`: one instruction is one nanosecond), so they compare "
      "instruction counts and repeat within about 1%. **Wall-clock** figures come "
      "from a second boot without icount; under TCG they swing by ±30% (and more "
      "when other VMs share the host), so they are shown, not judged.")
    if run.get("icount_sleep") == "off":
        p("")
        p("This run's icount boot had `sleep=off` (`RMPAGE_BENCH_ICOUNT_SLEEP=off`): "
          "time with every guest CPU idle jumps to the next guest timer instead of "
          "following the host's clock, so the rows repeat more closely, but every wait "
          "lasts until a timer fires and the figures are lower than the default's; "
          "compare them with each other, not with a default run.")
    wmeta = wc["meta"] if wc else {}
    if wmeta.get("clocksource", "").endswith("jiffies"):
        p("")
        p(f"Without icount the guest kernel cannot calibrate its TSC and keeps time with "
          f"`{wmeta['clocksource']}`: wall-clock times have a resolution of one jiffy "
          f"(4 ms), which matters only for readdir.")
    met_all = True
    if any(I.seq.values()):
        met_all &= reads(p, ic, I, W, meta)
    if ic["wseq"] or ic["wbios"]:
        met_all &= writes(p, ic, I, W, meta)
    if any(ic[row] for row, _ in MROWS):
        met_all &= metadata(p, ic, wc, I, W)
    p("All targets met." if met_all else "**Not all targets are met** (see above).")

    text = "\n".join(out) + "\n"
    with open(os.path.join(results, "report.md"), "w") as f:
        f.write(text)
    print(text, end="")
    plot(results, I, meta)


def reads(p, ic, I, W, meta):
    """The read section of the report; returns whether its targets are met."""
    mib = meta["file_mib"]

    def bios_of(c):
        b = ic["bios"].get(c)
        if not b:
            return None, None, None
        n = b["bios"]
        return n, b["sectors"] / 2 / n, n / mib
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
    return met_all


def writes(p, ic, I, W, meta):
    """The write section of the report; returns whether its targets are met."""
    mib = meta["file_mib"]
    row_mib = {"seq": mib, "rewrite": mib, "rand": meta["rand_mib"]}
    wreps = meta.get("write_reps") or max((len(v) for v in I.w["seq"].values()), default=0)

    def wbios(c, row):
        b = ic["wbios"].get((c, row))
        if not b or not b["bios"]:
            return None
        n = b["bios"]
        return {"n": n, "avg_kib": b["sectors"] / 2 / n, "per_mib": n / row_mib[row],
                "flushes": b.get("flushes", 0), "sync": b.get("sync_bios", 0)}

    def engine_delta(c, row):
        b = ic["wbios"].get((c, row))
        if not b or not isinstance(b.get("engine_before"), dict):
            return None
        s0, s1 = b["engine_before"], b["engine_after"]
        return {k: s1[k] - s0[k] for k in W_COUNTERS if k in s0 and k in s1}

    def map_per_mib(c, row):
        d = engine_delta(c, row)
        # Only the Rust engine counts its mapper calls: with engine=c (and on
        # the C ext2) there is nothing to show.
        if not d or c != "rext2-rust":
            return None
        return d["write_map_calls"] / row_mib[row]

    p("## Writes")
    p("")
    p(f"rext2 mounted read-write with each engine doing the writeback, and the in-kernel "
      f"C ext2, each on a fresh copy of a second 4 KiB-block image made by `mke2fs -d` "
      f"(an empty `seq`, a preallocated {meta.get('write_rand_file_mib', 64)} MiB `rand` of "
      f"random bytes, free blocks filled with 0xff), copied anew for every repetition; "
      f"each row after `sync` and `drop_caches`, the configurations interleaved. "
      f"Sequential write: `dd if=/dev/zero bs=1M count={mib} conv=fsync` into the empty "
      f"`seq` (blocks allocated as it goes); rewrite: the same again with "
      f"`conv=notrunc,fsync` (overwrite in place); random: fio psync 4 KiB `randwrite`, "
      f"{meta['rand_mib']} MiB into `rand`, seed 1, `end_fsync=1` (fio's runtime includes "
      f"the fsync), run {meta.get('write_rand_runs', 1)} time(s) cold in each repetition, "
      f"their I/O and runtimes summed. {wreps} repetitions (the reads have {meta['reps']}), medians. "
      f"Write bios: rwbs with `W` on the `block_bio_queue` tracepoint of the image's loop "
      f"device, during the command (metadata included), in one traced pass per "
      f"configuration before the timed runs; that pass also checks the bytes (the "
      f"rows read back cold as zeroes over 0xff, fio verifies its random data) and "
      f"`e2fsck -fn` after it. Map calls: the Rust engine's `write_map_calls` (mapper "
      f"calls for folios without buffers) per MiB written. Dirty thresholds in the guest: "
      f"background {meta.get('dirty_background_ratio', '?')}%, "
      f"foreground {meta.get('dirty_ratio', '?')}%.")
    p("")
    p("| row | configuration | icount median | icount min–max | × C engine (icount) | "
      "× C ext2 (icount) | wall median (min–max) | × C engine (wall) | × C ext2 (wall) | "
      "write bios | avg write bio KiB | write bios per MiB | write_map_calls per MiB | "
      "bios at the next sync | sys CPU s (icount) |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row, rlabel, unit in WROWS:
        spec = ".0f" if unit == "IOPS" else ".1f"
        for c, label in WCONFIGS:
            b = wbios(c, row) or {}
            wall = "–"
            if W and W.w[row].get(c):
                wall = f"{fmt(W.wmed(row, c), spec)} ({W.spread(W.w[row][c], spec)})"
            p(f"| {rlabel} ({unit}) | {label} | {fmt(I.wmed(row, c), spec)} | "
              f"{I.spread(I.w[row].get(c, []), spec)} | "
              f"{fmt(I.wratio(row, c, 'rext2-c'), '.2f')} | {fmt(I.wratio(row, c, 'ext2'), '.2f')} | "
              f"{wall} | {fmt(W.wratio(row, c, 'rext2-c') if W else None, '.2f')} | "
              f"{fmt(W.wratio(row, c, 'ext2') if W else None, '.2f')} | "
              f"{fmt(b.get('n'), 'd')} | {fmt(b.get('avg_kib'), '.1f')} | "
              f"{fmt(b.get('per_mib'), '.2f')} | {fmt(map_per_mib(c, row), '.2f')} | "
              f"{fmt(b.get('sync'), 'd')} | {fmt(med(I.wsys[row].get(c, [])), '.3f')} |")
    p("")

    # Where the random writes' time goes: fio's runtime counts whole
    # milliseconds, its mean latency of the write() calls nanoseconds.
    # Each repetition sums the runs of the same job (fio-runs, from the
    # VM: 1 in results from before it ran several).
    rand_rows, runtimes, runs = [], [], 1
    for c, label in WCONFIGS:
        rs = ic["wrand"].get(c, [])
        if not rs:
            continue
        runs = rs[0]["fio"].get("runs", 1)
        rt = med([r["fio"]["runtime_ms"] for r in rs])
        runtimes.append(rt)
        n = med([r["fio"]["io_bytes"] / 4096 for r in rs])
        lat = med([r["fio"]["lat_mean_ns"] / 1000 for r in rs])
        rand_rows.append(f"{label} {rt:.0f} ms, of which {n * lat / 1000:.1f} ms in the "
                         f"{n:.0f} write() calls ({lat:.2f} µs each) and "
                         f"{rt - n * lat / 1000:.1f} ms in the final fsyncs and fio's own work")
    if rand_rows:
        p(f"Random writes, where the time goes (icount medians, each repetition {runs} "
          "run(s) of the job, summed): " + "; ".join(rand_rows) +
          ". fio reports each run's runtime in whole milliseconds, so at these runtimes "
          f"the IOPS move in steps of about {100 / min(runtimes):.1f}%; the latencies are "
          "to the nanosecond.")
        p("")

    # The engines' counters over each traced row.
    p("Counters of the rext2 mounts over each traced row (deltas; with engine=c only "
      "`blocks_allocated` is the filesystem's and moves, the rest are the Rust engine's):")
    p("")
    p("| row | configuration | " + " | ".join(W_COUNTERS) + " |")
    p("| --- | --- | " + " | ".join("---:" for _ in W_COUNTERS) + " |")
    for row, rlabel, _ in WROWS:
        for c, label in WCONFIGS[:2]:
            d = engine_delta(c, row)
            if d is None:
                continue
            p(f"| {rlabel} | {label} | " + " | ".join(str(d.get(k, "–")) for k in W_COUNTERS) + " |")
    p("")
    flushes = {(c, row): (wbios(c, row) or {}).get("flushes") for c, _ in WCONFIGS for row, _, _ in WROWS}
    if any(flushes.values()):
        p("Write bios without data (cache flushes) among them: " +
          ", ".join(f"{c} {row} {v}" for (c, row), v in flushes.items() if v) + ".")
        p("")
    stats = ic["wstats"].get("rext2-rust", [])
    if stats:
        s = stats[-1]["engine_stats"]
        if isinstance(s, dict):
            p(f"Rust engine counters at the end of its last timed repetition (all three rows): " +
              ", ".join(f"{k} {s[k]}" for k in W_COUNTERS + ["avg_write_bio_bytes"] if k in s) + ".")
            p("")

    p("Targets (writes, icount medians):")
    p("")
    p("| target | measured | met? |")
    p("| --- | ---: | --- |")
    met_all = True

    def target(name, value, ok, detail=""):
        nonlocal met_all
        met_all &= bool(ok)
        verdict = "**yes**" if ok else "**NO, missed**"
        p(f"| {name} | {value}{detail} | {verdict} |")

    def worst(row, a, b):
        xa, xb = I.w[row].get(a), I.w[row].get(b)
        return min(xa) / max(xb) if xa and xb else None

    for row, rlabel, _ in WROWS:
        t_c, t_e = W_TARGETS[row]
        for other, t, oname in (("rext2-c", t_c, "C engine"), ("ext2", t_e, "C ext2")):
            r = I.wratio(row, "rext2-rust", other)
            target(f"{rlabel}: Rust engine ≥ {t:.2f}× {oname}", fmt(r, ".2f") + "×",
                   r is not None and r >= t,
                   f" (slowest vs fastest run: {fmt(worst(row, 'rext2-rust', other), '.2f')}×)")
    for row, rlabel, _ in WROWS:
        br, be = wbios("rext2-rust", row), wbios("ext2", row)
        target(f"{rlabel}: Rust engine's write bios per MiB ≤ C ext2's",
               f"{fmt(br and br['per_mib'], '.2f')} vs {fmt(be and be['per_mib'], '.2f')}",
               br is not None and be is not None and br["per_mib"] <= be["per_mib"],
               f" ({br and br['n']} vs {be and be['n']} bios)")
    p("")
    return met_all


def metadata(p, ic, wc, I, W):
    """The metadata section of the report; returns whether its targets are
    met and every image checked clean."""
    mm = ic["mmeta"]
    mreps = mm.get("reps") or max((len(v) for v in I.m["mcreate"].values()), default=0)
    p("")
    p("## Metadata")
    p("")
    p(f"rext2 with each engine and the in-kernel C ext2, each on a fresh copy of an empty "
      f"{mm.get('image_mib', '?')} MiB ext2 image (`mke2fs -t ext2 -b 4096`), mounted "
      f"read-write, in the guest's tmpfs; the configurations interleaved, {mreps} "
      f"repetitions, medians. Create: {mm.get('files', 10000):,} files of 4 KiB in one new "
      f"directory, each `os.open(O_CREAT|O_EXCL)`, one `os.write` of 4 KiB, `os.close`, "
      f"then one `sync`, all in one Python process timed from inside (after its start). "
      f"Stat cold: after `sync` and `drop_caches`, `os.listdir` of the directory and "
      f"`os.stat` of each name. Unlink: after the stat row and `drop_caches` of the page "
      f"cache alone (the inodes and dentries the stat row cached stay: the row measures "
      f"removing, not looking up), `os.unlink` of each file, then `sync`; the copy is then "
      f"unmounted and checked. Untar: on another fresh copy, after `drop_caches`, "
      f"`tar -xf` of `{mm.get('tarball', '?')}` (fs/ and include/linux of the kernel "
      f"source: {mm.get('tar_files', 0):,} files, {mm.get('tar_entries', 0):,} entries, "
      f"{mm.get('tar_bytes', 0) / (1 << 20):.0f} MiB, read from the guest's tmpfs), then "
      f"`sync`, timed from the shell (tar's start included). Files/s counts the regular "
      f"files. In the first repetition of the icount boot the created files are read back "
      f"from the disk and the extracted tree compared with the tarball (`tar -d`), untimed. "
      f"{'One repetition' if wc and max((len(v) for v in W.m['mcreate'].values()), default=0) == 1 else 'The same'} "
      f"in the wall-clock boot. Device "
      f"I/O: read and write requests completed by the image's loop device during the row "
      f"(`/sys/block/loopN/stat`), icount boot, median.")
    p("")
    p("| row | configuration | files/s, icount median | icount min–max | × C engine (icount) | "
      "× C ext2 (icount) | seconds (icount) | files/s, wall median (min–max) | "
      "× C engine (wall) | × C ext2 (wall) | device reads / writes |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row, rlabel in MROWS:
        for c, label in WCONFIGS:
            rs = ic[row].get(c, [])
            secs = med([r["us"] / 1e6 for r in rs])
            io = "–"
            if rs and all("io" in r for r in rs):
                io = (f"{med([r['io']['r'] for r in rs]):.0f} / "
                      f"{med([r['io']['w'] for r in rs]):.0f}")
            wall = "–"
            if W and W.m[row].get(c):
                wall = f"{fmt(W.mmed(row, c), '.0f')} ({W.spread(W.m[row][c], '.0f')})"
            p(f"| {rlabel} | {label} | {fmt(I.mmed(row, c), '.0f')} | "
              f"{I.spread(I.m[row].get(c, []), '.0f')} | "
              f"{fmt(I.mratio(row, c, 'rext2-c'), '.2f')} | {fmt(I.mratio(row, c, 'ext2'), '.2f')} | "
              f"{fmt(secs, '.3f')} | {wall} | "
              f"{fmt(W.mratio(row, c, 'rext2-c') if W else None, '.2f')} | "
              f"{fmt(W.mratio(row, c, 'ext2') if W else None, '.2f')} | {io} |")
    p("")
    dry = med([r["us"] / 1000 for r in ic["mdry"].get("tool", [])])
    if dry is not None:
        create = I.mmed("mcreate", "ext2")
        share = f", {dry / (mm.get('files', 10000) / create * 1000):.1%} of the C ext2's create" if create else ""
        p(f"The create loop's own cost, the same loop with its system calls replaced by Python "
          f"functions that do nothing: {dry:.1f} ms (icount median{share}); it is the same in "
          f"every configuration and included in every create figure.")
        p("")

    met_all = True
    checks = []
    for name, runs in (("icount", ic), ("wall", wc)):
        if not runs:
            continue
        rs = [r for c in runs["mfsck"] for r in runs["mfsck"][c]]
        bad = [f"{r['config']} after {r['after']}, repetition {r['rep']}" for r in rs if not r["clean"]]
        met_all &= not bad
        checks.append(f"{len(rs) - len(bad)} of {len(rs)} copies clean in the {name} boot" +
                      (f" (**NOT clean: {'; '.join(bad)}**)" if bad else ""))
    p("`e2fsck -fn` of every copy after its unlink row and after its untar row: " +
      "; ".join(checks) + ".")
    p("")

    p("Targets (metadata, icount medians):")
    p("")
    p("| target | measured | met? |")
    p("| --- | ---: | --- |")

    def target(name, value, ok, detail=""):
        nonlocal met_all
        met_all &= bool(ok)
        verdict = "**yes**" if ok else "**NO, missed**"
        p(f"| {name} | {value}{detail} | {verdict} |")

    for row, rlabel in MROWS:
        r = I.mratio(row, "rext2-rust", "ext2")
        xa, xb = I.m[row].get("rext2-rust"), I.m[row].get("ext2")
        worst = min(xa) / max(xb) if xa and xb else None
        target(f"{rlabel}: Rust engine ≥ {M_TARGET:.2f}× C ext2", fmt(r, ".2f") + "×",
               r is not None and r >= M_TARGET, f" (slowest vs fastest run: {fmt(worst, '.2f')}×)")
    p("")
    return met_all


def plot(results, I, meta):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-report: no matplotlib, no plot", file=sys.stderr)
        return
    # The panels: the reads and the three write rows two by two, the
    # metadata rows across the bottom.
    panels = []
    if any(I.seq.values()):
        panels.append(lambda ax: plot_read(ax, I, meta))
    if any(I.w["seq"].values()):
        wreps = meta.get("write_reps") or len(I.w["seq"].get("rext2-rust", []))
        for row, rlabel, unit in WROWS:
            panels.append(lambda ax, row=row, rlabel=rlabel, unit=unit:
                          plot_write(ax, I, row, rlabel, unit, wreps, meta))
    has_meta = any(I.m["mcreate"].values())
    if len(panels) + has_meta == 1:
        fig, ax = plt.subplots(figsize=(8 if panels else 11, 4.5), dpi=120)
        (panels[0] if panels else lambda ax: plot_meta(ax, I))(ax)
    else:
        rows = (len(panels) + 1) // 2 + has_meta
        fig = plt.figure(figsize=(13, 4.5 * rows), dpi=120)
        grid = fig.add_gridspec(rows, 2)
        for i, draw in enumerate(panels):
            draw(fig.add_subplot(grid[i // 2, i % 2]))
        if has_meta:
            plot_meta(fig.add_subplot(grid[rows - 1, :]), I)
    fig.tight_layout()
    fig.savefig(os.path.join(results, "bench.png"))


def bars(ax, configs, values, colors):
    """Median bars with min–max whiskers; returns (bars, medians, tops)."""
    labels, meds, lo, hi = [], [], [], []
    for c, label in configs:
        xs = values.get(c, [])
        if not xs:
            continue
        m = med(xs)
        labels.append(label.replace(" (", "\n("))
        meds.append(m)
        lo.append(m - min(xs))
        hi.append(max(xs) - m)
    bs = ax.bar(range(len(meds)), meds, yerr=[lo, hi], capsize=6, color=colors[: len(meds)])
    ax.set_xticks(range(len(meds)))
    ax.set_xticklabels(labels, fontsize=8)
    return bs, meds, [m + h for m, h in zip(meds, hi)]


def plot_read(ax, I, meta):
    colors = ["#c0392b", "#7f8c8d", "#2c3e50", "#bdc3c7"]
    bs, meds, tops = bars(ax, CONFIGS, I.seq, colors)
    for b, m in zip(bs, meds):
        ax.text(b.get_x() + b.get_width() / 2, m * 1.01, f"{m:.0f}", ha="center", va="bottom")
    e = I.seq_med("ext2")
    if e:
        ax.axhline(e * T_RUST_VS_EXT2, ls="--", color="#27ae60", lw=1)
        ax.text(-0.45, e * T_RUST_VS_EXT2 * 1.005, f"target: {T_RUST_VS_EXT2}× C ext2",
                ha="left", va="bottom", color="#27ae60", fontsize=8,
                bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_ylabel("MiB/s (guest time, icount)")
    ax.set_title(f"Cold sequential read, {meta['file_mib']} MiB, dd bs=1M: "
                 f"median and min–max of {meta['reps']} runs", fontsize=10)
    if tops:
        ax.set_ylim(0, max(tops) * 1.12)


def plot_write(ax, I, row, rlabel, unit, wreps, meta):
    colors = ["#c0392b", "#7f8c8d", "#2c3e50"]
    present = [(c, label) for c, label in WCONFIGS if I.w[row].get(c)]
    bs, meds, tops = bars(ax, present, I.w[row], colors)
    # The ratios go under each configuration's name, the median above its bar.
    ticks = []
    for c, label in present:
        text = label.replace(" (", "\n(")
        rc, re_ = I.wratio(row, c, "rext2-c"), I.wratio(row, c, "ext2")
        if c == "rext2-rust":
            text += f"\n×{fmt(rc, '.2f')} C engine, ×{fmt(re_, '.2f')} C ext2"
        elif c == "rext2-c":
            text += f"\n×{fmt(re_, '.2f')} C ext2"
        ticks.append(text)
    ax.set_xticklabels(ticks, fontsize=8)
    ymax = max(tops) * 1.22 if tops else 1
    for b, m, top in zip(bs, meds, tops):
        ax.text(b.get_x() + b.get_width() / 2, top + ymax * 0.01, f"{m:.0f}",
                ha="center", va="bottom", fontsize=9)
    t_c, t_e = W_TARGETS[row]
    e = I.wmed(row, "ext2")
    if e:
        ax.axhline(e * t_e, ls="--", color="#27ae60", lw=1,
                   label=f"target: Rust engine ≥ {t_e:.2f}× C ext2 (and ≥ {t_c:.2f}× C engine)")
        ax.legend(loc="upper left", fontsize=8, framealpha=1)
        ymax = max(ymax, e * t_e * 1.1)
    ax.set_ylabel(f"{unit} (guest time, icount)")
    size = f"{meta['file_mib']} MiB, dd bs=1M" if unit == "MiB/s" else f"{meta['rand_mib']} MiB, fio psync"
    ax.set_title(f"{rlabel[0].upper() + rlabel[1:]}, {size}: median and min–max of {wreps} runs",
                 fontsize=10)
    ax.set_ylim(0, ymax)


def plot_meta(ax, I):
    """The metadata rows as ratios to the C ext2 (their files/s differ by
    orders of magnitude), with the files/s above each bar."""
    colors = ["#c0392b", "#7f8c8d", "#2c3e50"]
    width = 0.27
    top = 1.0
    for k, (c, label) in enumerate(WCONFIGS):
        for i, (row, _) in enumerate(MROWS):
            r = I.mratio(row, c, "ext2")
            xs, e = I.m[row].get(c), I.mmed(row, "ext2")
            if r is None:
                continue
            x = i + (k - 1) * width
            ax.bar(x, r, width, color=colors[k], label=label if i == 0 else None,
                   yerr=[[r - min(xs) / e], [max(xs) / e - r]], capsize=3)
            ax.text(x, r + 0.02, f"{I.mmed(row, c):.0f}", ha="center", va="bottom", fontsize=7)
            top = max(top, max(xs) / e)
    ax.axhline(M_TARGET, ls="--", color="#27ae60", lw=1, label=f"target: Rust engine ≥ {M_TARGET:.1f}× C ext2")
    ax.set_xticks(range(len(MROWS)))
    ax.set_xticklabels([label for _, label in MROWS], fontsize=9)
    ax.set_ylabel("× C ext2's files/s (icount); files/s above the bars")
    reps = max((len(v) for v in I.m["mcreate"].values()), default=0)
    ax.set_title(f"Metadata rows: files/s relative to the C ext2, median and min–max of {reps} runs",
                 fontsize=10)
    ax.set_ylim(0, top * 1.15)
    ax.legend(loc="upper left", fontsize=8, framealpha=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
