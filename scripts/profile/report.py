#!/usr/bin/env python3
"""The report of scripts/profile.sh: each phase's time per configuration,
then, per phase, the kernel functions whose instruction counts differ most
between two configurations (flat: each function's own instructions).

    report.py OUTDIR [--top N] [--pair A B]
    report.py OUTDIR --annotate CONFIG PHASE FUNCTION KO

--annotate prints FUNCTION's disassembly (objdump of KO, the module the
profile ran) with how often each instruction ran in CONFIG's PHASE.
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys

PHASES = ["cold", "fsync", "warm", "fsync2"]
CONFIGS = ["rext2-rust", "rext2-c", "ext2"]


def load_symbols(path):
    syms = []
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "tTwW" and int(parts[0], 16):
            name = parts[2] + (" " + parts[3] if len(parts) > 3 else "")
            syms.append((int(parts[0], 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def blocks(outdir, config, phase):
    for line in open(f"{outdir}/prof-{config}-{phase}.txt"):
        vaddr, insns, execs = line.split()
        yield int(vaddr, 16), int(insns), int(execs)


def by_function(outdir, syms, config, phase):
    addrs, names = syms
    counts = collections.Counter()
    for vaddr, insns, execs in blocks(outdir, config, phase):
        i = bisect.bisect_right(addrs, vaddr) - 1
        counts[names[i] if i >= 0 else "?"] += insns * execs
    return counts


def short(name):
    # Rust's mangled names: the readable tail says which function it is.
    return name if len(name) <= 90 else name[:30] + "…" + name[-58:]


def report(args):
    syms = load_symbols(f"{args.outdir}/kallsyms.txt")
    print("Times (probe, CLOCK_MONOTONIC under -icount):\n")
    for line in open(f"{args.outdir}/times.txt"):
        print("    " + line.rstrip())
    a, b = args.pair
    for phase in PHASES:
        fa = by_function(args.outdir, syms, a, phase)
        fb = by_function(args.outdir, syms, b, phase)
        ta, tb = sum(fa.values()), sum(fb.values())
        print(f"\n{phase}: kernel instructions {a} {ta:,}, {b} {tb:,}, difference {ta - tb:+,}\n")
        print(f"{'':>2}{a:>14} {b:>14} {'difference':>12}  function")
        keys = sorted(set(fa) | set(fb), key=lambda k: -abs(fa[k] - fb[k]))
        for k in keys[: args.top]:
            print(f"  {fa[k]:14,} {fb[k]:14,} {fa[k] - fb[k]:+12,}  {short(k)}")


def annotate(args):
    config, phase, want, ko = args.annotate
    addrs, names = load_symbols(f"{args.outdir}/kallsyms.txt")
    matches = [(a, n) for a, n in zip(addrs, names) if want in n and n.endswith("[rmpage]")]
    if not matches:
        sys.exit(f"no module function matches {want}")
    base, name = matches[0]
    name = name.split()[0]
    index = addrs.index(base)
    runs = [(vaddr - base, insns, count)
            for vaddr, insns, count in blocks(args.outdir, config, phase)
            if bisect.bisect_right(addrs, vaddr) - 1 == index]
    dis = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", ko],
                         capture_output=True, text=True, check=True).stdout
    lines, start, inside = [], 0, False
    for line in dis.splitlines():
        head = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if head:
            if inside:
                break
            inside, start = head.group(2) == name, int(head.group(1), 16)
            continue
        insn = re.match(r"^\s+([0-9a-f]+):\t(.*)$", line)
        if inside and insn:
            lines.append([int(insn.group(1), 16) - start, insn.group(2)])
        elif inside and lines and "R_X86" in line:
            lines[-1][1] += "   " + line.split()[-1]
    offsets = [o for o, _ in lines]
    ran = collections.Counter()
    for offset, insns, count in runs:
        if offset in offsets:
            i = offsets.index(offset)
            for k in range(i, min(i + insns, len(lines))):
                ran[k] += count
    print(f"{name} in {config} {phase}: {sum(ran.values()):,} instructions")
    for i, (offset, text) in enumerate(lines):
        print(f"{ran[i]:10} {offset:5x}  {text}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--pair", nargs=2, default=["rext2-rust", "ext2"], metavar=("A", "B"))
    parser.add_argument("--annotate", nargs=4, metavar=("CONFIG", "PHASE", "FUNCTION", "KO"))
    args = parser.parse_args()
    annotate(args) if args.annotate else report(args)


if __name__ == "__main__":
    main()
