#!/usr/bin/env python3
"""The issue-9 bars, checked on what bench/llama_cpp/issue9.sh leaves in OUT.

Reads, per round, hyc-f16.json and hyc-q8.json (`hyc bench --json`, schema hyc-bench/1),
hyc-q8-hp.json where the run has it (the q8_0 library with --no-mmap: weights in huge
pages; runs before 2026-12-08 have none; a run has it in every round or in none), and
llama.txt, llama-q8.txt (llama-bench's markdown tables): from OUT/round-1,
OUT/round-2, ... when OUT has such directories (issue9.sh's interleaved rounds), else
from OUT itself (one round: the layout of runs before the rounds). Then prints, for
each hyc configuration at 2 threads, its figures, the ratios against both llama.cpp
configurations and the four bars of issue 9, each PASS or FAIL. A ratio is the median
over the rounds of the ratio within each round (both sides measured minutes apart, so
a slow stretch of this VM hits both), with the ratio of the medians printed next to it:
  - decode (tg128) >= 1.5x llama.cpp's Q2_K, against llama.cpp's faster configuration;
  - decode >= 80% of the roofline, the roofline taken at the highest 2-thread read
    bandwidth measured anywhere in the run (both hyc bench invocations probe it, and
    this VM's bandwidth swings between minutes: a probe that caught a slow minute would
    make its own fraction look better than the decode was); hyc bench's own fraction is
    printed next to it;
  - prefill (pp512) >= 1.5x llama.cpp's Q2_K, against its faster configuration;
  - peak RSS <= 700 MB (10^6 bytes, as hyc bench prints it).
hyc figures are medians over the rounds (of each call's medians), its peak RSS the
largest; llama.cpp's are means over the rounds (of llama-bench's means). Exit status 0
when every figure was found (whatever the verdict), 1 with an "issue9_verdict: error:"
line naming the missing or malformed input otherwise.

Usage: issue9_verdict.py OUT
"""
import json
import os
import re
import statistics
import sys

THREADS = 2
BARS = {"decode_ratio": 1.5, "roofline": 0.80, "prefill_ratio": 1.5, "rss_mb": 700.0}
# (name, file, required): runs before the --no-mmap configuration have no hyc-q8-hp.json.
HYC = [("f16", "hyc-f16.json", True), ("q8_0", "hyc-q8.json", True),
       ("q8_0 --no-mmap", "hyc-q8-hp.json", False)]
LLAMA = [("f16", "llama.txt"), ("q8_0 -fa 1", "llama-q8.txt")]


class InputError(Exception):
    pass


def parse_llama(text, where):
    """{'pp512': (mean, sd), 'tg128': (mean, sd)} of llama-bench's markdown rows at THREADS
    (columns found by the header's names: threads, test, t/s)."""
    out, cols = {}, None
    for line in text.splitlines():
        if not line.strip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cols is None:
            if {"threads", "test", "t/s"} <= set(cells):
                cols = {name: cells.index(name) for name in ("threads", "test", "t/s")}
            continue
        if len(cells) <= max(cols.values()) or cells[cols["test"]] not in ("pp512", "tg128"):
            continue
        m = re.fullmatch(r"([0-9.]+) ± ([0-9.]+)", cells[cols["t/s"]])
        if m and cells[cols["threads"]] == str(THREADS):
            out[cells[cols["test"]]] = (float(m.group(1)), float(m.group(2)))
    if cols is None:
        raise InputError(f"{where}: no llama-bench table (a header with threads, test, t/s)")
    for test in ("pp512", "tg128"):
        if test not in out:
            raise InputError(f"{where}: no {test} row at {THREADS} threads")
    return out


def parse_hyc(doc, where):
    """Median pp/tg tokens/s, roofline fraction and peak RSS (MB) at THREADS."""
    if doc.get("schema") != "hyc-bench/1":
        raise InputError(f"{where}: schema {doc.get('schema')!r}, expected 'hyc-bench/1'")
    rows = [r for r in doc.get("results", []) if r.get("threads") == THREADS]
    if not rows:
        raise InputError(f"{where}: no results at {THREADS} threads")
    r = rows[0]
    try:
        return {
            "pp512": r["pp"]["tokens_per_s"]["median"],
            "tg128": r["tg"]["tokens_per_s"]["median"],
            "roofline": r["tg"]["roofline"]["fraction"],
            "bandwidth_gbps": r["tg"]["roofline"]["bandwidth_gbps"],
            "bytes_per_token": r["tg"]["roofline"]["bytes_per_token"],
            "rss_mb": r["rss"]["peak_bytes"] / 1e6,
        }
    except (KeyError, TypeError) as e:
        raise InputError(f"{where}: missing field {e}") from None


def summarize(rounds):
    """Figures over the rounds [(hyc, llama), ...] (each as parse_hyc / parse_llama
    return them, keyed by configuration): hyc medians (peak RSS: the largest), llama.cpp
    means with their spread (across the rounds, or llama-bench's own for one round)."""
    hyc = {}
    for name in rounds[0][0]:
        per = [h[name] for h, _ in rounds]
        hyc[name] = {
            "pp512": statistics.median([r["pp512"] for r in per]),
            "tg128": statistics.median([r["tg128"] for r in per]),
            "roofline": statistics.median([r["roofline"] for r in per]),
            "bandwidth_gbps": statistics.median([r["bandwidth_gbps"] for r in per]),
            "bytes_per_token": per[0]["bytes_per_token"],
            "rss_mb": max(r["rss_mb"] for r in per),
        }
    llama = {}
    for name in rounds[0][1]:
        per = [l[name] for _, l in rounds]
        llama[name] = {}
        for test in ("pp512", "tg128"):
            values = [r[test][0] for r in per]
            spread = statistics.stdev(values) if len(values) > 1 else per[0][test][1]
            llama[name][test] = (statistics.mean(values), spread)
    return hyc, llama


def verdicts(rounds):
    """Per hyc configuration: (figures, ratios per llama configuration as (prefill,
    decode) medians of the per-round ratios, [(bar, value as printed, ok)])."""
    hyc, llama = summarize(rounds)
    best_bw = max(h[name]["bandwidth_gbps"] for h, _ in rounds for name in h)
    best_pp = max(v["pp512"][0] for v in llama.values())
    best_tg = max(v["tg128"][0] for v in llama.values())
    out = {}
    for name, h in hyc.items():
        def per_round(test, against):
            """The median over the rounds of hyc's figure / against(that round's llama)."""
            return statistics.median([hr[name][test] / against(lr, test) for hr, lr in rounds])
        ratios = {ln: (per_round("pp512", lambda lr, t, ln=ln: lr[ln][t][0]),
                       per_round("tg128", lambda lr, t, ln=ln: lr[ln][t][0]))
                  for ln in llama}
        # Against llama.cpp's faster configuration within each round.
        fastest = lambda lr, t: max(v[t][0] for v in lr.values())
        decode, prefill = per_round("tg128", fastest), per_round("pp512", fastest)
        roof = h["tg128"] * h["bytes_per_token"] / (best_bw * 1e9)
        def shown(ratio, of_medians):
            if len(rounds) == 1:
                return f"{ratio:.3f}x"
            return f"{ratio:.3f}x (ratio of the medians: {of_medians:.3f}x)"
        own = "its own probe" if len(rounds) == 1 else "its own probes, median"
        checks = [
            ("decode >= 1.5x llama.cpp (its faster config)", shown(decode, h["tg128"] / best_tg),
             decode >= BARS["decode_ratio"]),
            ("decode >= 80% of the roofline",
             f"{roof:.0%} at the run's best {best_bw:.1f} GB/s ({own}: "
             f"{h['roofline']:.0%} at {h['bandwidth_gbps']:.1f} GB/s)",
             roof >= BARS["roofline"]),
            ("prefill >= 1.5x llama.cpp (its faster config)", shown(prefill, h["pp512"] / best_pp),
             prefill >= BARS["prefill_ratio"]),
            ("peak RSS <= 700 MB", f"{h['rss_mb']:.1f} MB", h["rss_mb"] <= BARS["rss_mb"]),
        ]
        out[name] = (h, ratios, checks)
    return llama, out


def load_round(d):
    hyc, llama = {}, {}
    for name, fname, required in HYC:
        path = os.path.join(d, fname)
        if not required and not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                hyc[name] = parse_hyc(json.load(f), path)
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: {e}") from None
    for name, fname in LLAMA:
        path = os.path.join(d, fname)
        try:
            with open(path) as f:
                llama[name] = parse_llama(f.read(), path)
        except OSError as e:
            raise InputError(f"{path}: {e}") from None
    return hyc, llama


def round_dirs(out_dir):
    """OUT/round-N in N's order, or [OUT] when there are none."""
    found = []
    for entry in os.listdir(out_dir):
        m = re.fullmatch(r"round-([0-9]+)", entry)
        if m and os.path.isdir(os.path.join(out_dir, entry)):
            found.append((int(m.group(1)), os.path.join(out_dir, entry)))
    return [d for _, d in sorted(found)] or [out_dir]


def load(out_dir):
    try:
        dirs = round_dirs(out_dir)
    except OSError as e:
        raise InputError(f"{out_dir}: {e}") from None
    rounds = [load_round(d) for d in dirs]
    for d, (hyc, _) in zip(dirs, rounds):
        missing = [f for n, f, _ in HYC if n in rounds[0][0] and n not in hyc]
        extra = [f for n, f, _ in HYC if n in hyc and n not in rounds[0][0]]
        if missing or extra:
            raise InputError(f"{d}: {'no ' + missing[0] if missing else 'an extra ' + extra[0]}"
                             f" (the rounds must hold the same hyc configurations)")
    return rounds


def report(rounds):
    llama, results = verdicts(rounds)
    if len(rounds) == 1:
        lines = [f"issue 9 at {THREADS} threads (hyc: medians; llama.cpp: means)"]
    else:
        lines = [f"issue 9 at {THREADS} threads, {len(rounds)} interleaved rounds (hyc: medians; "
                 f"llama.cpp: means ± sd over the rounds; ratios: medians of the per-round "
                 f"ratios)"]
        for i, (hr, lr) in enumerate(rounds, 1):
            cells = [f"hyc {n} {v['pp512']:.1f}/{v['tg128']:.1f}" for n, v in hr.items()]
            cells += [f"llama {n} {v['pp512'][0]:.1f}/{v['tg128'][0]:.1f}" for n, v in lr.items()]
            best = max(v["bandwidth_gbps"] for v in hr.values())
            lines.append(f"  round {i} (pp512/tg128): " + ", ".join(cells)
                         + f"; probe {best:.1f} GB/s")
    for ln, v in llama.items():
        lines.append(f"  llama.cpp {ln:<11} pp512 {v['pp512'][0]:7.2f} ± {v['pp512'][1]:.2f}"
                     f"   tg128 {v['tg128'][0]:6.2f} ± {v['tg128'][1]:.2f}")
    for name, (h, ratios, checks) in results.items():
        lines.append(f"  hyc {name:<5} pp512 {h['pp512']:7.2f}   tg128 {h['tg128']:6.2f}   "
                     f"roofline {h['roofline']:.0%} (own probe)   peak RSS {h['rss_mb']:.1f} MB")
        for ln, (rp, rt) in ratios.items():
            lines.append(f"    vs llama.cpp {ln:<11} prefill {rp:.2f}x   decode {rt:.2f}x")
        for label, shown, ok in checks:
            lines.append(f"    {'PASS' if ok else 'FAIL'}  {label}: {shown}")
        met = all(ok for _, _, ok in checks)
        lines.append(f"    => {'all four bars met' if met else 'not all bars met'} with hyc {name}")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print("usage: issue9_verdict.py OUT", file=sys.stderr)
        return 2
    try:
        rounds = load(argv[1])
    except InputError as e:
        print(f"issue9_verdict: error: {e}", file=sys.stderr)
        return 1
    print(report(rounds))
    tuning = os.path.join(argv[1], "tuning") # issue9.sh's note of the schedules used
    if os.path.exists(tuning):
        with open(tuning) as f:
            print(f"hyc schedules: {f.read().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
