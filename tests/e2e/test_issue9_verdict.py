#!/usr/bin/env python3
"""bench/llama_cpp/issue9_verdict.py on made-up inputs: each bar's PASS/FAIL follows the
figures, the ratios are taken against llama.cpp's faster configuration, the roofline at
the run's highest bandwidth probe (not each configuration's own), issue9.sh's
interleaved rounds (OUT/round-N) judged by the median of the per-round ratios, the optional
--no-mmap configuration (hyc-q8-hp.json, in every round or none), and bad inputs
(a missing file, another JSON schema, no 2-thread results, no 2-thread llama-bench row,
no llama-bench table, a JSON file that is not JSON, a missing field) exit 1 with one "issue9_verdict: error:" line naming the
file.

Usage: test_issue9_verdict.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "llama_cpp", "issue9_verdict.py")

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


BYTES = 1_000_000_000 # made-up bytes per token: tg tokens/s is then GB/s


def hyc_doc(pp, tg, bw_gbps, rss_bytes, threads=2, schema="hyc-bench/1"):
    """A hyc bench result whose own roofline fraction is tg x BYTES / its bandwidth."""
    return {"schema": schema, "results": [{
        "threads": threads,
        "pp": {"tokens_per_s": {"median": pp}},
        "tg": {"tokens_per_s": {"median": tg},
               "roofline": {"fraction": tg * BYTES / (bw_gbps * 1e9),
                            "bandwidth_gbps": bw_gbps, "bytes_per_token": BYTES}},
        "rss": {"peak_bytes": rss_bytes}}]}


def llama_md(pp, tg, threads=2):
    head = ("| model | size | params | backend | threads | test | t/s |\n"
            "| --- | ---: | ---: | --- | ---: | ---: | ---: |\n")
    row = "| hunyuan Q2_K | 734.26 MiB | 1.79 B | CPU | {t} | {test} | {v:.2f} ± 1.00 |\n"
    return (head + row.format(t=threads, test="pp512", v=pp)
            + row.format(t=threads, test="tg128", v=tg) + "\nbuild: test\n")


def write_case(d, f16, q8, llama, llama_q8):
    for name, doc in (("hyc-f16.json", f16), ("hyc-q8.json", q8)):
        with open(os.path.join(d, name), "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
    for name, text in (("llama.txt", llama), ("llama-q8.txt", llama_q8)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


def run(d):
    p = subprocess.run([sys.executable, SCRIPT, d], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def section(out, cache):
    """The lines of hyc configuration `cache`'s block."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith(f"hyc {cache} "))
    block = [lines[start]]
    for l in lines[start + 1:]:
        if l.startswith("  hyc "):
            break
        block.append(l)
    return block


def main():
    with tempfile.TemporaryDirectory() as d:
        # f16: every bar met (llama's faster config is f16 for prefill, q8_0 for decode:
        # 90/60 = 1.5x, 36/24 = 1.5x exactly; 36 GB/s of 45 = 80%). q8_0: decode 35.9 just
        # under 1.5x of 24, roofline 79.8%, prefill 89 under 1.5x of 60, RSS 700.1 MB.
        write_case(d, hyc_doc(90.0, 36.0, 45.0, 700_000_000),
                   hyc_doc(89.0, 35.9, 45.0, 700_100_000),
                   llama_md(60.0, 20.0), llama_md(40.0, 24.0))
        rc, out, err = run(d)
        check(rc == 0 and err == "", f"complete inputs: exit 0, no stderr (rc {rc}, {err!r})")
        f16, q8 = section(out, "f16"), section(out, "q8_0")
        check(sum(l.strip().startswith("PASS") for l in f16) == 4,
              "f16: the four bars PASS at exactly 1.5x / 80% / 700.0 MB")
        check(any("all four bars met" in l for l in f16), "f16: summary says all met")
        check(sum(l.strip().startswith("FAIL") for l in q8) == 4,
              "q8_0: the four bars FAIL just past each limit")
        check(any("not all bars met" in l for l in q8), "q8_0: summary says not all met")
        check(any("decode >= 1.5x" in l and "1.500x" in l for l in f16),
              "decode ratio taken against llama.cpp's faster decode (q8_0 config: 24.0), "
              "printed to 3 decimals (a 1.4986x FAIL must not read 1.50x)")
        check(any("FAIL  decode >= 1.5x" in l and "1.496x" in l for l in q8),
              "q8_0 decode 35.9 / 24.0 printed as 1.496x")
        check(any("vs llama.cpp f16" in l and "prefill 1.50x" in l and "decode 1.80x" in l
                  for l in f16), "ratios printed against each llama.cpp configuration")

        # A probe that caught a slow minute: q8_0's own probe read 40 GB/s (34/40 = 85%),
        # f16's 45 in the same run, so the roofline bar is 34/45 = 76%: FAIL.
        write_case(d, hyc_doc(90.0, 30.0, 45.0, 1), hyc_doc(90.0, 34.0, 40.0, 1),
                   llama_md(60.0, 20.0), llama_md(40.0, 20.0))
        rc, out, err = run(d)
        q8 = section(out, "q8_0")
        check(rc == 0 and any(l.strip().startswith("FAIL  decode >= 80% of the roofline")
                              and "76% at the run's best 45.0 GB/s" in l
                              and "own probe: 85% at 40.0 GB/s" in l for l in q8),
              "roofline judged at the run's best bandwidth, not the lower own probe")
        check(any(l.strip().startswith("PASS  decode >= 1.5x") for l in q8),
              "the other bars of that block unaffected (decode 34/20 PASS)")

        good = (hyc_doc(90.0, 36.0, 45.0, 1), hyc_doc(90.0, 36.0, 45.0, 1),
                llama_md(60.0, 20.0), llama_md(40.0, 24.0))
        bad_cases = [
            ("another schema", (hyc_doc(1, 1, 1, 1, schema="other/2"),) + good[1:],
             "hyc-f16.json", "schema"),
            ("no 2-thread hyc results", (good[0], hyc_doc(1, 1, 1, 1, threads=1)) + good[2:],
             "hyc-q8.json", "no results at 2 threads"),
            ("not JSON", ("{not json",) + good[1:], "hyc-f16.json", ""),
            ("no 2-thread llama rows", good[:2] + (llama_md(60.0, 20.0, threads=1), good[3]),
             "llama.txt", "no pp512 row"),
            ("no llama-bench table", good[:3] + ("error: model not found\n",),
             "llama-q8.txt", "no llama-bench table"),
            ("hyc field missing", ({"schema": "hyc-bench/1", "results": [{"threads": 2}]},)
             + good[1:], "hyc-f16.json", "missing field"),
        ]
        for what, files, name, needle in bad_cases:
            write_case(d, *files)
            rc, out, err = run(d)
            lines = err.strip().splitlines()
            check(rc == 1 and out == "" and len(lines) == 1
                  and lines[0].startswith("issue9_verdict: error:") and name in lines[0]
                  and needle in lines[0],
                  f"{what}: exit 1, one error line naming {name} (rc {rc}, {err.strip()!r})")
        write_case(d, *good)
        os.remove(os.path.join(d, "llama-q8.txt"))
        rc, out, err = run(d)
        check(rc == 1 and out == "" and "llama-q8.txt" in err,
              f"missing file: exit 1 naming it ({err.strip()!r})")
    with tempfile.TemporaryDirectory() as d:
        # Three rounds (OUT/round-N, issue9.sh's layout). Decode ratios per round against
        # llama.cpp's faster config: 36/24, 18/12 (a slow stretch on both sides), 30/30:
        # median 1.5 PASS, while the ratio of the medians, 30 / mean(24, 12, 30) = 1.364x,
        # would fail. Prefill 90/60, 45/30, 90/60 = 1.5 each. Peak RSS: the largest
        # (round 2's 700.1 MB) FAILs. Roofline: median tg 30 at the best probe of all
        # rounds (45 GB/s): 67%.
        figures = [  # hyc pp, tg, bw, rss; llama f16 pp, tg; llama q8 pp, tg
            (90.0, 36.0, 45.0, 690_000_000, 60.0, 20.0, 40.0, 24.0),
            (45.0, 18.0, 30.0, 700_100_000, 30.0, 10.0, 20.0, 12.0),
            (90.0, 30.0, 40.0, 690_000_000, 60.0, 20.0, 40.0, 30.0),
        ]
        for i, (pp, tg, bw, rss, lpp, ltg, qpp, qtg) in enumerate(figures, 1):
            r = os.path.join(d, f"round-{i}")
            os.mkdir(r)
            write_case(r, hyc_doc(pp, tg, bw, rss), hyc_doc(pp, tg, bw, rss),
                       llama_md(lpp, ltg), llama_md(qpp, qtg))
        # Stray single-run files in OUT itself are not read when rounds exist.
        write_case(d, "{not json", "{not json", "", "")
        rc, out, err = run(d)
        check(rc == 0 and err == "", f"rounds: exit 0, no stderr (rc {rc}, {err!r})")
        f16 = section(out, "f16")
        check("3 interleaved rounds" in out.splitlines()[0], "rounds: header names 3 rounds")
        check(sum(l.startswith("  round ") for l in out.splitlines()) == 3,
              "rounds: one line per round")
        check(any(l.strip().startswith("PASS  decode >= 1.5x") and "1.500x" in l
                  and "ratio of the medians: 1.364x" in l for l in f16),
              "rounds: decode judged by the median of the per-round ratios (1.500x), "
              "the ratio of the medians (1.364x) printed beside it")
        check(any(l.strip().startswith("PASS  prefill >= 1.5x") and "1.500x" in l for l in f16),
              "rounds: prefill 1.500x PASS")
        check(any(l.strip().startswith("FAIL  peak RSS") and "700.1 MB" in l for l in f16),
              "rounds: peak RSS is the largest of the rounds (700.1 MB) and FAILs")
        check(any(l.strip().startswith("FAIL  decode >= 80% of the roofline")
                  and "67% at the run's best 45.0 GB/s" in l for l in f16),
              "rounds: roofline of the median tg at the best probe of all rounds")
        # The --no-mmap configuration (hyc-q8-hp.json) is judged when the rounds have it:
        # first in rounds 1 and 3 only (an error naming round 2), then in all three (tg 40
        # each: 89% of 45 GB/s, decode median 40/24 = 1.667x, prefill 1.5x, 690 MB).
        def write_hp(i):
            pp, _, bw, _ = figures[i - 1][:4]
            with open(os.path.join(d, f"round-{i}", "hyc-q8-hp.json"), "w") as f:
                json.dump(hyc_doc(pp, 40.0, bw, 690_000_000), f)
        write_hp(1)
        write_hp(3)
        rc, out, err = run(d)
        check(rc == 1 and out == "" and "round-2: " in err
              and "no hyc-q8-hp.json" in err,
              f"rounds: --no-mmap results in some rounds only: exit 1 naming the round "
              f"({err.strip()!r})")
        write_hp(2)
        rc, out, err = run(d)
        hp = section(out, "q8_0 --no-mmap")
        check(rc == 0 and err == "" and sum(l.strip().startswith("PASS") for l in hp) == 4
              and any("1.667x" in l for l in hp)
              and any("89% at the run's best 45.0 GB/s" in l for l in hp)
              and any("all four bars met with hyc q8_0 --no-mmap" in l for l in hp),
              "rounds: the --no-mmap configuration judged on its own figures, all four PASS")
        check(sum(l.strip().startswith("FAIL") for l in section(out, "q8_0")) >= 1,
              "rounds: q8_0's block still its own (its RSS 700.1 MB FAILs)")
        os.remove(os.path.join(d, "round-2", "llama-q8.txt"))
        rc, out, err = run(d)
        check(rc == 1 and out == "" and os.path.join("round-2", "llama-q8.txt") in err,
              f"rounds: a round's missing file exits 1 naming it ({err.strip()!r})")
        p = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
        check(p.returncode == 2 and "usage" in p.stderr, "no argument: usage, exit 2")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
