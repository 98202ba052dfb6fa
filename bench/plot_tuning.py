#!/usr/bin/env python3
"""Bar chart of a tuning database: tuned vs default vs Adams2019 time per kernel.

  .venv/bin/python bench/plot_tuning.py tuning.json -o tuning.png [--target T]

One group of bars per (kernel, n, k) entry of the database written by `hyc tune`
(schedules/TuningDatabase.md): its tuned schedule's median time, the default
schedule's and Halide's Adams2019 autoschedule's (when measured), each scaled
by the entry's uses per decode step when --per-step is given. The title carries
the summary's sums and ratios. Entries without a measured default are skipped
(said on stderr). Exits 1 on a file that is not a tuning database.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("database")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--target", help="only entries of this target (default: all)")
    ap.add_argument("--per-step", action="store_true",
                    help="multiply each kernel's time by its uses per decode step")
    args = ap.parse_args()
    try:
        with open(args.database) as f:
            db = json.load(f)
    except (OSError, ValueError) as e:
        print(f"plot_tuning: cannot read {args.database}: {e}", file=sys.stderr)
        return 1
    if not isinstance(db, dict) or db.get("format") != "hyc-tuning-db":
        print(f"plot_tuning: {args.database} is not a hyc tuning database", file=sys.stderr)
        return 1

    labels, tuned, default, adams = [], [], [], []
    for e in db.get("entries", []):
        if args.target and e.get("target") != args.target:
            continue
        base = e.get("baselines") or {}
        if "default" not in base or "time_us" not in e:
            print(f"plot_tuning: skipping {e.get('kernel')} {e.get('n')}x{e.get('k')} "
                  f"({e.get('target')}): no measured default", file=sys.stderr)
            continue
        scale = e.get("uses", 1) if args.per_step else 1
        labels.append(f"{e['kernel']}\n{e['n']}x{e['k']}" +
                      (f" m={e['m']}" if e.get("m", 1) > 1 else "") + f"\n{e['target']}")
        tuned.append(e["time_us"] * scale)
        default.append(base["default"] * scale)
        adams.append(base.get("adams2019", float("nan")) * scale)
    if not labels:
        print("plot_tuning: no entry with measured times", file=sys.stderr)
        return 1

    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(labels) + 2), 4.8))
    width = 0.27
    xs = range(len(labels))
    ax.bar([x - width for x in xs], default, width, label="default schedule", color="#999999")
    ax.bar(list(xs), adams, width, label="Adams2019 autoschedule", color="#e08a3c")
    ax.bar([x + width for x in xs], tuned, width, label="tuned (hyc tune)", color="#2b7bba")
    # Log scale: the kernels span ~0.1 us (a pointwise op) to ~100 ms (a
    # prefill chunk's GEMMs per step).
    ax.set_yscale("log")
    floor = min(v for v in default + tuned if v > 0)
    for x, a in zip(xs, adams):
        if a != a:  # NaN: no Adams2019 time (failed, or not reached in the budget)
            ax.text(x, floor, "n/a", ha="center", va="bottom", fontsize=7, color="#e08a3c")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("time x uses per decode step\n(m > 1: per prefill chunk), us" if args.per_step
                  else "median time per call (us)")
    title = "hyc tune: kernel times"
    s = db.get("summary") or {}
    tuner = db.get("tuner") or {}
    if s.get("tuned_us"):
        title += f" - decode sum: default/tuned {s.get('default_over_tuned', 0):.2f}x"
        if s.get("adams2019_over_tuned"):
            title += f", Adams2019/tuned {s['adams2019_over_tuned']:.2f}x"
            if s.get("adams2019_pairs", 0) < s.get("pairs", 0):
                title += f" (over the {s['adams2019_pairs']} of {s['pairs']} kernels it has)"
    if tuner.get("timing_meaningful") is False:
        title += "\n(measured under an emulator: times say nothing about speed)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"plot_tuning: wrote {args.output} ({len(labels)} kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
