#!/usr/bin/env python3
"""hyc-ab-decode (bench/ab/ab_decode.c) on two tiny libraries: its per-round lines and summary
agree with each other, and bad invocations fail cleanly.

Checks, on the tiny model compiled twice by hyc (f16 and q8_0 KV cache: two different
libraries of one shape, opened in one process):
  - exit 0; exactly --rounds "round N:" lines, each with both tokens/s positive and B/A equal
    to their ratio (to the printed precision); the summary's medians are the medians of
    those lines' figures, and p25 <= median <= p75 of the ratios;
  - the contexts are reset before --positions: more steps in all than the context holds
    still decode (rounds x steps > n_ctx);
  - --no-mmap-b: one library against itself, B's weights read into huge-page memory;
  - errors, each exiting non-zero with a "hyc-ab-decode: error:" line naming the problem:
    one directory, three directories, an unknown option, a bad number, --steps larger than
    --positions, --positions beyond the library's context, a directory that is not a
    library (named), a library whose vocabulary differs (both sizes named).

Usage: test_ab_decode.py --hyc PATH --ab PATH
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--ab", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hyc-ab-test-")
    try:
        model = os.path.join(tmp, "tiny.gguf")
        hy_gguf.write_model("tiny", model)
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for lib, extra in ((a, []), (b, ["--kv-cache", "q8_0"])):
            r = run([args.hyc, "compile", model, "-o", lib] + extra)
            if not check(r.returncode == 0, f"compile {os.path.basename(lib)}: {r.stderr[-300:]}"):
                return 1
        n_ctx = json.load(open(os.path.join(a, "manifest.json")))["context"]

        rounds, steps, positions = 7, 5, 16
        r = run([args.ab, a, b, "--threads", "2", "--rounds", rounds, "--steps", steps,
                 "--positions", positions])
        check(r.returncode == 0 and r.stderr == "",
              f"A/B run: exit 0, no stderr (rc {r.returncode}, {r.stderr[-300:]!r})")
        lines = r.stdout.splitlines()
        per = [re.fullmatch(r"round (\d+): A ([0-9.]+) tokens/s, B ([0-9.]+) tokens/s, "
                            r"B/A ([0-9.]+)", l) for l in lines if l.startswith("round ")]
        check(len(per) == rounds and all(per), f"{rounds} well-formed round lines: {lines[:3]}")
        if all(per) and per:
            check([int(m.group(1)) for m in per] == list(range(1, rounds + 1)),
                  f"rounds numbered 1..R: {[int(m.group(1)) for m in per]}")
            ta = [float(m.group(2)) for m in per]
            tb = [float(m.group(3)) for m in per]
            ra = [float(m.group(4)) for m in per]
            check(all(x > 0 for x in ta + tb), f"every segment's tokens/s is positive: {ta} {tb}")
            off = [(x, y, rr) for x, y, rr in zip(ta, tb, ra)
                   # printed to 4 decimals, from tokens/s printed to 2
                   if abs(rr - y / x) > 0.00005 + (y / x) * (0.005 / x + 0.005 / y) + 1e-9]
            check(not off, f"each round's B/A is its B over its A (not: {off})")
            ma = re.search(r"^A .*: median ([0-9.]+) tokens/s$", r.stdout, re.M)
            mb = re.search(r"^B .*: median ([0-9.]+) tokens/s$", r.stdout, re.M)
            mr = re.search(r"^B/A over (\d+) rounds of (\d+) steps: median ([0-9.]+) "
                           r"\(p25 ([0-9.]+), p75 ([0-9.]+)\)$", r.stdout, re.M)
            check(bool(ma and mb and mr), f"summary lines present: {lines[-3:]}")
            if ma and mb and mr:
                check(abs(float(ma.group(1)) - statistics.median(ta)) <= 0.006 and
                      abs(float(mb.group(1)) - statistics.median(tb)) <= 0.006,
                      "the medians are the rounds' medians")
                check(int(mr.group(1)) == rounds and int(mr.group(2)) == steps,
                      "summary names rounds and steps")
                p25, med, p75 = (float(mr.group(i)) for i in (4, 3, 5))
                check(abs(med - statistics.median(ra)) <= 0.0002 and p25 <= med <= p75,
                      f"median ratio {med} is the rounds' median, within p25 {p25} / p75 {p75}")
        # More steps than the context holds: only the resets make this work.
        many = n_ctx // 4 + 1
        r = run([args.ab, a, b, "--threads", "1", "--rounds", many, "--steps", 4,
                 "--positions", 8])
        check(r.returncode == 0 and len([l for l in r.stdout.splitlines()
                                         if l.startswith("round ")]) == many,
              f"{many} rounds x 4 steps ({many * 4} > n_ctx {n_ctx}) decode with resets "
              f"(rc {r.returncode}, {r.stderr[-200:]!r})")

        # One library against itself, B's weights in huge-page memory (--no-mmap-b).
        r = run([args.ab, a, a, "--no-mmap-b", "--threads", "1", "--rounds", 3, "--steps", 2,
                 "--positions", 8])
        check(r.returncode == 0 and len([l for l in r.stdout.splitlines()
                                         if l.startswith("round ")]) == 3,
              f"--no-mmap-b: one library mapped against huge pages (rc {r.returncode}, "
              f"{r.stderr[-200:]!r})")

        # A third library of another vocabulary: the tiny config with a larger vocab.
        other = os.path.join(tmp, "other.gguf")
        hy_gguf.CONFIGS["tiny640"] = dict(hy_gguf.CONFIGS["tiny"], vocab_size=640)
        hy_gguf.write_model("tiny640", other)
        have_other = run([args.hyc, "compile", other, "-o",
                          os.path.join(tmp, "c")]).returncode == 0
        bad = [
            ([a], "need two library directories, got 1"),
            ([a, b, a], "a third directory"),
            ([a, b, "--bogus"], "unknown option '--bogus'"),
            ([a, b, "--rounds", "x"], "--rounds needs an integer"),
            ([a, b, "--threads", "0"], "--threads needs an integer in [1, 256], got '0'"),
            ([a, b, "--steps"], "--steps needs an integer"),
            ([a, b, "--steps", "20", "--positions", "10"], "--steps 20 does not fit in --positions 10"),
            ([a, b, "--positions", str(n_ctx + 1)], f"exceeds its context of {n_ctx}"),
            ([a, tmp], tmp),
        ]
        if have_other:
            bad.append(([a, os.path.join(tmp, "c")], "has 512 vocabulary entries"))
        check(have_other, "a library of another vocabulary (640) for the mismatch case")
        for argv, needle in bad:
            r = run([args.ab] + argv)
            err = [l for l in r.stderr.splitlines() if l.startswith("hyc-ab-decode: error:")]
            check(r.returncode != 0 and len(err) == 1 and needle in err[0] and r.stdout == "",
                  f"{' '.join(os.path.basename(x) for x in argv)}: exit non-zero, one error "
                  f"line with {needle!r} (rc {r.returncode}, {r.stderr.strip()[:200]!r})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
