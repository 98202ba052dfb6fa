#!/usr/bin/env python3
"""`hyc run` on the tiny model compiled by the runtime_test_data fixture: text prompts,
chat with thinking off, chat turns from stdin, EOF, sampling seeds, thread counts, and
option errors. Greedy output must not depend on the run or on --threads 1 / 2.
"""
import argparse
import re
import subprocess
import sys

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def hyc_run(hyc, model, *args, stdin=""):
    r = subprocess.run([hyc, "run", model, *args], input=stdin.encode(), capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


STATS = re.compile(r"prompt (\d+) tokens in [\d.]+ s \([\d.]+ tokens/s\), generated (\d+) "
                   r"tokens in [\d.]+ s \([\d.]+ tokens/s\)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--model", required=True, help="a hyc output directory")
    a = ap.parse_args()
    hyc, model = a.hyc, a.model

    rc, out, err = hyc_run(hyc, model, "-p", "The license", "-n", "12")
    m = STATS.search(err)
    check(rc == 0 and out.strip() != "" and m is not None and m.group(2) == "12",
          f"-p streams text and prints prompt/generation tokens/s ({err.strip()})")
    again = hyc_run(hyc, model, "-p", "The license", "-n", "12")[1]
    check(again == out, "greedy text is the same on a second run")
    t1 = hyc_run(hyc, model, "-p", "The license", "-n", "24", "--threads", "1")[1]
    t2 = hyc_run(hyc, model, "-p", "The license", "-n", "24", "--threads", "2")[1]
    check(t1 == t2 and t1.strip() != "", "greedy text is the same with --threads 1 and 2")

    s1 = hyc_run(hyc, model, "-p", "Hi", "-n", "16", "--temp", "0.9", "--seed", "5")[1]
    s2 = hyc_run(hyc, model, "-p", "Hi", "-n", "16", "--temp", "0.9", "--seed", "5")[1]
    check(s1 == s2, "sampling with the same --seed repeats")

    rc, out, err = hyc_run(hyc, model, "-p", "Hello", "--chat", "--no-think", "-n", "8")
    check(rc == 0 and STATS.search(err) is not None, "--chat --no-think generates")

    rc, out, err = hyc_run(hyc, model, "--chat", "-n", "6",
                           stdin="first question\n/no_think second one\n")
    turns = STATS.findall(err)
    check(rc == 0 and len(turns) == 2, f"--chat reads one turn per stdin line ({len(turns)} turns)")
    rc, out, err = hyc_run(hyc, model, "--chat", "-n", "6", stdin="")
    check(rc == 0 and err.strip() == "", "--chat with an empty stdin ends cleanly")

    rc, out, _ = hyc_run(hyc, model, "--tokens", "506,100,200", "-n", "4")
    check(rc == 0 and re.fullmatch(r"tokens:( \d+){4}\n", out) is not None,
          "--tokens keeps the token-id output")

    for args, what in [(["-p", "x", "--temp", "-1"], "--temp"),
                       (["-p", "x", "--top-p", "2"], "--top-p"),
                       (["-p", "x", "--seed", "abc"], "--seed"),
                       (["-p", "x", "--tokens", "1,2"], "not both"),
                       (["-p", "x", "--bogus"], "unknown option"),
                       (["-p"], "needs a value")]:
        rc, _, err = hyc_run(hyc, model, *args)
        check(rc != 0 and what in err, f"error for {' '.join(args)}: {err.strip()}")
    rc, _, err = hyc_run(hyc, "/nonexistent", "-p", "x")
    check(rc != 0 and "hy_model.name" in err, "a missing directory is reported")

    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
