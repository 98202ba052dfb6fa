#!/usr/bin/env python3
"""The issue-9 bars, checked on what bench/llama_cpp/issue9.sh leaves in OUT.

Reads OUT/hyc-f16.json and OUT/hyc-q8.json (`hyc bench --json`, schema hyc-bench/1) and
OUT/llama.txt, OUT/llama-q8.txt (llama-bench's markdown tables), then prints, for each
hyc configuration at 2 threads, its figures, the ratios against both llama.cpp
configurations and the four bars of issue 9, each PASS or FAIL:
  - decode (tg128) >= 1.5x llama.cpp's Q2_K, against llama.cpp's faster configuration;
  - decode >= 80% of the roofline, the roofline taken at the highest 2-thread read
    bandwidth measured anywhere in the run (both hyc bench invocations probe it, and
    this VM's bandwidth swings between minutes: a probe that caught a slow minute would
    make its own fraction look better than the decode was); hyc bench's own fraction is
    printed next to it;
  - prefill (pp512) >= 1.5x llama.cpp's Q2_K, against its faster configuration;
  - peak RSS <= 700 MB (10^6 bytes, as hyc bench prints it).
hyc figures are medians of the runs, llama.cpp's are llama-bench's means. Exit status 0
when every figure was found (whatever the verdict), 1 with an "issue9_verdict: error:"
line naming the missing or malformed input otherwise.

Usage: issue9_verdict.py OUT
"""
import json
import os
import re
import sys

THREADS = 2
BARS = {"decode_ratio": 1.5, "roofline": 0.80, "prefill_ratio": 1.5, "rss_mb": 700.0}
HYC = [("f16", "hyc-f16.json"), ("q8_0", "hyc-q8.json")]
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


def verdicts(hyc, llama):
    """Per hyc configuration: (figures, ratios per llama configuration,
    [(bar, value as printed, ok)])."""
    best_pp = max(v["pp512"][0] for v in llama.values())
    best_tg = max(v["tg128"][0] for v in llama.values())
    best_bw = max(h["bandwidth_gbps"] for h in hyc.values())
    out = {}
    for name, h in hyc.items():
        ratios = {ln: (h["pp512"] / v["pp512"][0], h["tg128"] / v["tg128"][0])
                  for ln, v in llama.items()}
        decode, prefill = h["tg128"] / best_tg, h["pp512"] / best_pp
        roof = h["tg128"] * h["bytes_per_token"] / (best_bw * 1e9)
        checks = [
            ("decode >= 1.5x llama.cpp (its faster config)", f"{decode:.3f}x",
             decode >= BARS["decode_ratio"]),
            ("decode >= 80% of the roofline",
             f"{roof:.0%} at the run's best {best_bw:.1f} GB/s (its own probe: "
             f"{h['roofline']:.0%} at {h['bandwidth_gbps']:.1f} GB/s)",
             roof >= BARS["roofline"]),
            ("prefill >= 1.5x llama.cpp (its faster config)", f"{prefill:.3f}x",
             prefill >= BARS["prefill_ratio"]),
            ("peak RSS <= 700 MB", f"{h['rss_mb']:.1f} MB", h["rss_mb"] <= BARS["rss_mb"]),
        ]
        out[name] = (h, ratios, checks)
    return out


def load(out_dir):
    hyc, llama = {}, {}
    for name, fname in HYC:
        path = os.path.join(out_dir, fname)
        try:
            with open(path) as f:
                hyc[name] = parse_hyc(json.load(f), path)
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: {e}") from None
    for name, fname in LLAMA:
        path = os.path.join(out_dir, fname)
        try:
            with open(path) as f:
                llama[name] = parse_llama(f.read(), path)
        except OSError as e:
            raise InputError(f"{path}: {e}") from None
    return hyc, llama


def report(hyc, llama):
    lines = [f"issue 9 at {THREADS} threads (hyc: medians; llama.cpp: means)"]
    for ln, v in llama.items():
        lines.append(f"  llama.cpp {ln:<11} pp512 {v['pp512'][0]:7.2f} ± {v['pp512'][1]:.2f}"
                     f"   tg128 {v['tg128'][0]:6.2f} ± {v['tg128'][1]:.2f}")
    for name, (h, ratios, checks) in verdicts(hyc, llama).items():
        lines.append(f"  hyc {name:<5} pp512 {h['pp512']:7.2f}   tg128 {h['tg128']:6.2f}   "
                     f"roofline {h['roofline']:.0%} (own probe)   peak RSS {h['rss_mb']:.1f} MB")
        for ln, (rp, rt) in ratios.items():
            lines.append(f"    vs llama.cpp {ln:<11} prefill {rp:.2f}x   decode {rt:.2f}x")
        for label, shown, ok in checks:
            lines.append(f"    {'PASS' if ok else 'FAIL'}  {label}: {shown}")
        met = all(ok for _, _, ok in checks)
        lines.append(f"    => {'all four bars met' if met else 'not all bars met'} with the {name} cache")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print("usage: issue9_verdict.py OUT", file=sys.stderr)
        return 2
    try:
        hyc, llama = load(argv[1])
    except InputError as e:
        print(f"issue9_verdict: error: {e}", file=sys.stderr)
        return 1
    print(report(hyc, llama))
    tuning = os.path.join(argv[1], "tuning") # issue9.sh's note of the schedules used
    if os.path.exists(tuning):
        with open(tuning) as f:
            print(f"hyc schedules: {f.read().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
