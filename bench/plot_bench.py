#!/usr/bin/env python3
"""Chart of `hyc bench` results (and llama.cpp's from bench/llama_cpp/compare.py) as a PNG.

  plot_bench.py HYC_BENCH.json [--compare COMPARE.json] -o OUT.png

Four panels, one group of bars per thread count: prompt processing (tokens/s), token
generation (tokens/s, with the bandwidth roofline hyc bench measured), time to first token
(seconds, per prompt length) and peak RSS (MB). hyc's bars are medians with min-max whiskers;
llama.cpp's are the median of llama-bench's samples with their min-max (TTFT for llama.cpp is
its ppN time, N / tokens/s).
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HYC_COLOR, LLAMA_COLOR, ROOF_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def llama_stats(compare, threads, n_prompt, n_gen, depth=0):
    """(median, min, max) tokens/s of llama-bench's test (after `depth` tokens of
    context, llama-bench -d), or None."""
    if not compare:
        return None
    for row in compare["llama_cpp"]["runs"]:
        if row["threads"] != threads:
            continue
        for res in row["results"]:
            if (res.get("n_prompt") == n_prompt and res.get("n_gen") == n_gen
                    and res.get("n_depth", 0) == depth):
                ts = res.get("samples_ts") or [res["avg_ts"]]
                return median(ts), min(ts), max(ts)
    return None


def llama_rss(compare, threads):
    """The largest peak RSS of the thread count's llama-bench processes (two with
    compare.py --depth), or None."""
    if not compare:
        return None
    rss = [row.get("peak_rss_bytes") or 0 for row in compare["llama_cpp"]["runs"]
           if row["threads"] == threads]
    return max(rss) if rss and max(rss) else None


def bars(ax, groups, series, ylabel, title):
    """groups: labels; series: [(name, color, [(value, lo, hi) or None per group])]."""
    series = [sr for sr in series if any(v is not None for v in sr[2])]
    n = len(series)
    width = 0.8 / max(n, 1)
    for i, (name, color, vals) in enumerate(series):
        xs, ys, err_lo, err_hi = [], [], [], []
        for g, v in enumerate(vals):
            if v is None:
                continue
            val, lo, hi = v
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(val)
            err_lo.append(val - lo if lo is not None else 0)
            err_hi.append(hi - val if hi is not None else 0)
        if not xs:
            continue
        ax.bar(xs, ys, width * 0.9, color=color, label=name, yerr=[err_lo, err_hi], capsize=3)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3g}", (x, y), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench_json")
    ap.add_argument("--compare", help="compare.json from bench/llama_cpp/compare.py")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    try:
        hb = json.load(open(args.bench_json))
        compare = json.load(open(args.compare)) if args.compare else None
    except (OSError, json.JSONDecodeError) as e:
        print(f"plot_bench: error: {e}", file=sys.stderr)
        return 1
    if hb.get("schema") != "hyc-bench/1":
        print(f"plot_bench: error: {args.bench_json} is not hyc bench JSON", file=sys.stderr)
        return 1
    s = hb["settings"]
    depth = s.get("depth", 0)
    at_depth = f" @ d{depth}" if depth else ""
    results = hb["results"]
    groups = [f"{c['threads']} thread{'s' if c['threads'] != 1 else ''}" for c in results]
    threads = [c["threads"] for c in results]

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax_pp, ax_tg, ax_ttft, ax_rss = axes.flat

    def hyc_triplet(st):
        return (st["median"], st["min"], st["max"])

    if s["pp"]:
        bars(ax_pp, groups, [
            ("hyc", HYC_COLOR, [hyc_triplet(c["pp"]["tokens_per_s"]) for c in results]),
            ("llama.cpp Q2_K", LLAMA_COLOR, [llama_stats(compare, t, s["pp"], 0, depth)
                                             for t in threads])],
            "tokens/s", f"prompt processing pp{s['pp']}{at_depth}")
    if s["tg"]:
        roof = [c["tg"].get("roofline") for c in results]
        bars(ax_tg, groups, [
            ("hyc", HYC_COLOR, [hyc_triplet(c["tg"]["tokens_per_s"]) for c in results]),
            ("llama.cpp Q2_K", LLAMA_COLOR, [llama_stats(compare, t, 0, s["tg"], depth)
                                             for t in threads]),
            ("bandwidth roofline", ROOF_COLOR,
             [(r["tokens_per_s"], None, None) if r else None for r in roof])],
            "tokens/s", f"token generation tg{s['tg']}{at_depth}")
    ttft_series = []
    for n in s["ttft"]:
        hv = []
        lv = []
        for c, t in zip(results, threads):
            x = next((e for e in c["ttft"] if e["prompt_tokens"] == n), None)
            hv.append(hyc_triplet(x["seconds"]) if x else None)
            ls = llama_stats(compare, t, n, 0)
            lv.append((n / ls[0], n / ls[2], n / ls[1]) if ls else None)
        ttft_series.append((f"hyc {n} tok", HYC_COLOR, hv))
        if compare:
            ttft_series.append((f"llama.cpp {n} tok", LLAMA_COLOR, lv))
    if ttft_series:
        # Lighter shades for longer prompts.
        shaded = []
        for i, (name, color, vals) in enumerate(ttft_series):
            shaded.append((name, matplotlib.colors.to_rgba(color, 1.0 - 0.35 * (i // 2
                          if compare else i) / max(len(s["ttft"]) - 1, 1)), vals))
        bars(ax_ttft, groups, shaded, "seconds", "time to first token")
    bars(ax_rss, groups, [
        ("hyc", HYC_COLOR, [(c["rss"]["peak_bytes"] / 1e6, None, None) for c in results]),
        ("llama.cpp Q2_K", LLAMA_COLOR, [(llama_rss(compare, t) / 1e6, None, None)
                                         if llama_rss(compare, t) else None for t in threads])],
        "MB", f"peak RSS (hyc: context {hb['library']['n_ctx']})")
    for ax in axes.flat:
        if ax.has_data():
            ax.legend(fontsize=8, loc="upper left")
    m = hb["machine"]
    load = m.get("loadavg_start", [0])[0]
    fig.suptitle(f"{hb['library'].get('name', '?')} — {m['cpu_model']}, {m['logical_cpus']} CPUs, "
                 f"{hb['date_utc']} (load average {load:.2f} at start); median of "
                 f"{s['runs']} runs, whiskers min-max", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(args.output, dpi=110)
    print(f"plot_bench: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
