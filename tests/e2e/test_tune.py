#!/usr/bin/env python3
"""hyc tune end to end on the tiny model: flags, budget, database, resume, Ctrl-C, use.

  python test_tune.py --hyc HYC [--budget 1.0] [--target host]

1. Bad invocations (missing/unknown flags, bad budget/threads, unknown and
   unsupported targets, a cross target without --runner, a missing or
   malformed model, an unwritable output) exit non-zero with a message naming
   the problem and write no database.
2. `hyc tune --budget B` finishes within B (plus a few seconds for process
   start and the final write), shows progress (ETA) and the summary, and
   writes a version-1 database: one entry per distinct quantized matmul of the
   tiny model (the fused qkv, o, fused gate+up and down shapes) and per
   attention / pointwise kernel and shape, with the default and Adams2019
   baselines, a tuned time and the summary's sums.
3. A second run resumes from the journal (nothing measured twice).
4. SIGINT during a run: exit status 130 within seconds, the database written
   with "interrupted": true.
5. `hyc compile --tuning-db` with the result: test_entry_points.py checks
   that the manifest lists the database's schedules and that prefill + decode
   logits still match the numpy reference.
6. bench/plot_tuning.py draws the database as a PNG.
7. A tiny model with ggml TQ2_0 linear layers: its gemv_tq2_0 kernels are
   tuned too (one entry per shape, with the default baseline), and hyc compile
   with that database lists them and still matches the reference.
Prints "N passed, N failed" last.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The tiny model's distinct quantized matmuls after lowbit-fuse-matmuls:
# q+k+v (512 + 2 x 128 rows), o, gate+up (2 x 1024), down.
TINY_SHAPES = [(768, 512), (512, 512), (2048, 512), (512, 1024)]
# Its prefill chunk's GEMMs (unfused: q and o, k and v, gate and up, down) and
# their uses per chunk; tuned on x86 (gemm_q2_0c_a8, int8 activations by default
# on x86-64-avx2 and x86-64-avx512), whose GEMM has a search space.
TINY_GEMM_USES = {(512, 512): 4, (128, 512): 4, (1024, 512): 4, (512, 1024): 2}


# The tiny model's attention and pointwise kernels (N, K as lowbit-select-kernels
# keys them): attention over 8 query heads of 64 (2 KV heads) in the decode step and
# the prefill chunk; the pre-norms (1 x 512; 32 x 512 in the chunk without int8
# activations) and the q / k norms (8 and 2 heads of 64); rope on 8 and 2 heads;
# swiglu over 1024. On x86 (int8 activations) the pre-norms are fused into the int8 rounding
# (rms_norm_quantize, 1 and 32 rows) and the o / down inputs rounded (quantize);
# the final norm (before the Q8_0 lm_head) stays rms_norm 1 x 512.
TINY_OPS = {("attention_decode_f16", 8, 64), ("attention_prefill_f16", 8, 64),
            ("rms_norm", 1, 512), ("rms_norm", 8, 64), ("rms_norm", 2, 64),
            ("rope", 8, 64), ("rope", 2, 64), ("swiglu", 1, 1024)}
TINY_OPS_INT8 = {("rms_norm_quantize", 1, 512), ("rms_norm_quantize", 32, 512),
                   ("quantize", 1, 512), ("quantize", 1, 1024), ("quantize", 32, 512),
                   ("quantize", 32, 1024)}


INT8_TARGETS = ("x86-64-avx2", "x86-64-avx512")



def host_l3_bytes():
    """The L3 size sysfs reports for CPU 0 ("266240K"), 0 when none."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    for i in range(8):
        try:
            level = open(f"{base}/index{i}/level").read().strip()
            size = open(f"{base}/index{i}/size").read().strip()
        except OSError:
            continue
        if level == "3":
            unit = {"K": 1024, "M": 1 << 20}.get(size[-1:], 1)
            return int(size.rstrip("KM")) * unit
    return 0

def tiny_ops(target):
    if target not in INT8_TARGETS:
        return TINY_OPS | {("rms_norm", 32, 512)}
    return TINY_OPS | TINY_OPS_INT8


def tiny_pairs(target):
    """The tiny model's (kernel, n, k) pairs: hyc tune tunes the kernels hyc compile
    uses, which on x86 are the int8-activation family by default (and its prefill
    GEMM), and the attention and pointwise kernels."""
    if target not in INT8_TARGETS:
        return {("gemv_q2_0c", n, k) for n, k in TINY_SHAPES} | tiny_ops(target)
    return ({("gemv_q2_0c_a8", n, k) for n, k in TINY_SHAPES}
            | {("gemm_q2_0c_a8", n, k) for n, k in TINY_GEMM_USES} | tiny_ops(target))


def expected_uses(e):
    """Uses of an entry's kernel: per decode step (GEMV), per prefill chunk (GEMM); the
    attention and pointwise kernels' vary with the model's structure: at least one."""
    if e["kernel"].startswith("gemm_"):
        return TINY_GEMM_USES.get((e["n"], e["k"]))
    if e["kernel"].startswith("gemv_"):
        return 2
    return e["uses"] if e["uses"] >= 1 else None


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        print(f"[{'PASS' if ok else 'FAIL'}] {what}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--budget", type=float, default=1.0, help="minutes for the main run")
    ap.add_argument("--target", default="host")
    args = ap.parse_args()
    c = Checks()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="hyc-tune-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        subprocess.run([py, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
                        "--config", "tiny", "-o", model], check=True, stdout=subprocess.DEVNULL)
        garbage = os.path.join(tmp, "garbage.gguf")
        with open(garbage, "wb") as f:
            f.write(b"GGUF\x03\x00\x00\x00" + b"\xff" * 64)
        out = os.path.join(tmp, "bad.json")

        # ---- 1. errors ----
        cases = [
            ([], "no model"),
            (["--model", model], "no output"),
            (["--model", model, "-o", out, "--frobnicate"], "unknown argument"),
            (["--model", model, "-o", out, "--budget", "0"], "--budget"),
            (["--model", model, "-o", out, "--budget", "ten"], "--budget"),
            (["--model", model, "-o", out, "--budget"], "needs a value"),
            (["--model", model, "-o", out, "--threads", "0"], "--threads"),
            (["--model", model, "-o", out, "--adams-beam-size", "-1"], "--adams-beam-size"),
            (["--model", model, "-o", out, "--kv-cache", "q4"], "unknown --kv-cache 'q4'"),
            (["--model", model, "-o", out, "--target", "riscv-64"], "unknown target"),
            (["--model", model, "-o", out, "--target", "aarch64-sme2"], "not supported"),
            (["--model", model, "-o", out, "--target", "aarch64-neon"], "--runner"),
            (["--model", os.path.join(tmp, "missing.gguf"), "-o", out], "missing.gguf"),
            (["--model", garbage, "-o", out, "--budget", "0.2"], "garbage.gguf"),
            (["--model", model, "-o", os.path.join(tmp, "no-such-dir", "t.json")],
             "no directory"),
            (["--model", model, "-o", tmp], "is a directory"),
        ]
        for argv, want in cases:
            r = subprocess.run([args.hyc, "tune"] + argv, capture_output=True, text=True)
            c.check(r.returncode != 0 and want in r.stderr and not os.path.exists(out),
                    f"hyc tune {' '.join(os.path.basename(a) for a in argv)}: exit "
                    f"{r.returncode}, '{r.stderr.strip()[:150]}'")

        # ---- 2. a budgeted run ----
        db = os.path.join(tmp, "tuning.json")
        t0 = time.time()
        r = subprocess.run([args.hyc, "tune", "--model", model, "--target", args.target,
                            "--budget", str(args.budget), "-o", db, "--seed", "7",
                            "--adams-beam-size", "1"],
                           capture_output=True, text=True)
        secs = time.time() - t0
        print(r.stderr[-3000:])
        c.check(r.returncode == 0, f"hyc tune --budget {args.budget}: exit {r.returncode}")
        c.check(secs <= args.budget * 60 + 8,
                f"finished in {secs:.1f} s (budget {args.budget * 60:.0f} s + 8 s slack)")
        c.check("ETA" in r.stderr and "candidates" in r.stderr, "progress with ETA on stderr")
        c.check("sum over the decode step's kernels" in r.stderr, "summary printed")
        try:
            d = json.load(open(db))
        except (OSError, ValueError) as e:
            c.check(False, f"database readable: {e}")
            print(f"{c.passed} passed, {c.failed} failed")
            return 1
        c.check(d.get("format") == "hyc-tuning-db" and d.get("version") == 1, "format, version 1")
        # The weight pool: twice the L3 that sysfs reports for CPU 0, within
        # [64 MiB, 4 GiB] (a zero-padded sysfs read once left it at 64 MiB).
        want_pool = min(max(2 * host_l3_bytes(), 64 << 20), 4 << 30)
        got_pool = d.get("tuner", {}).get("weight_pool_bytes", d.get("weight_pool_bytes"))
        c.check(got_pool == want_pool,
                f"weight pool {got_pool} bytes = 2 x this host's L3 (clamped): {want_pool}")
        entries = d["entries"]
        keys = {(e["kernel"], e["n"], e["k"]) for e in entries}
        target = d["tuner"]["target"]
        c.check(keys == tiny_pairs(target),
                f"one entry per distinct kernel and shape: {sorted(keys)}")
        att = [e for e in entries if e["kernel"].startswith("attention_")]
        c.check(att and all(e.get("kv_heads") == 2 and e.get("measured_at_position") == 1024
                            for e in att),
                "attention entries name their 2 KV heads and the position they were timed at")
        for e in entries:
            b = e.get("baselines", {})
            # Adams2019 may fail on a generator (Halide's autoscheduler has
            # limits) or be cut by its budget share: then the entry says why.
            ok = (e["target"] == target and b.get("default", 0) > 0
                  and (b.get("adams2019", 0) > 0 or e.get("adams2019_error"))
                  and e.get("time_us", 0) > 0 and isinstance(e["schedule"], dict)
                  and e["uses"] == expected_uses(e) and e["rejected"] == 0)
            c.check(ok, f"entry {e['kernel']} {e['n']}x{e['k']}: default {b.get('default')} us, "
                        f"adams2019 {b.get('adams2019', e.get('adams2019_error'))} us, "
                        f"tuned {e.get('time_us')} us, "
                        f"{e['candidates']} candidates, schedule {e['schedule']}")
        # The decode step's sums (GEMVs, attention, pointwise: m = 1) at the top,
        # one prefill chunk's (m > 1: GEMMs and the chunk's ops) under prefill_chunk.
        for what, s, mine in (
                ("decode", d["summary"], [e for e in entries if e["m"] == 1]),
                ("prefill chunk", d["summary"].get("prefill_chunk"),
                 [e for e in entries if e["m"] > 1])):
            if not mine and s is None:
                continue
            want_default = sum(e["uses"] * e["baselines"]["default"] for e in mine)
            with_adams = [e for e in mine if "adams2019" in e["baselines"]]
            want_adams = sum(e["uses"] * e["baselines"]["adams2019"] for e in with_adams)
            if with_adams:
                adams_ok = (s is not None and s["adams2019_pairs"] == len(with_adams)
                            and abs(s["adams2019_us"] - want_adams) < 1e-6 * want_adams + 1e-3
                            and s.get("adams2019_over_tuned", 0) > 0)
            else:
                # On a loaded machine (ctest -j2) Adams2019 may not finish any
                # pair within its 40% share: then every entry must say so and
                # the summary must have no Adams2019 figures.
                adams_ok = (s is not None and s["adams2019_pairs"] == 0
                            and s["adams2019_us"] is None
                            and all("budget" in e.get("adams2019_error", "") for e in mine))
                print(f"note: {what}: Adams2019 finished no pair within its budget share")
            c.check(s is not None and s["pairs"] == len(mine)
                    and abs(s["default_us"] - want_default) < 1e-6 * want_default + 1e-3
                    and s["tuned_us"] > 0 and adams_ok,
                    f"{what} summary: {s}")
        c.check(sum(e["candidates"] for e in entries) >= 4, "searched beyond the baselines")
        c.check(d["tuner"]["timing_meaningful"] is True and not d["tuner"]["interrupted"],
                "native timing, not interrupted")
        journal = db + ".journal"
        lines = open(journal).read().splitlines() if os.path.exists(journal) else []
        c.check(len(lines) >= 8, f"journal has {len(lines)} measurements")

        # ---- 3. resume ----
        r = subprocess.run([args.hyc, "tune", "--model", model, "--target", args.target,
                            "--budget", "0.3", "-o", db, "--seed", "7",
                            "--adams-beam-size", "1"],
                           capture_output=True, text=True)
        d2 = json.load(open(db))
        resumed = (r.returncode == 0 and "resuming:" in r.stderr
                   and d2["tuner"]["from_journal"] >= 8)
        c.check(resumed,
                f"second run resumes: exit {r.returncode}, from_journal "
                f"{d2['tuner']['from_journal']}, measured {d2['tuner']['measured']}"
                + ("" if resumed else f"; stderr ends: {r.stderr[-600:]!r}"))
        lines2 = open(journal).read().splitlines()
        measured_keys = [json.loads(x)["key"] for x in lines2]
        c.check(len(measured_keys) == len(set(measured_keys)),
                f"nothing measured twice ({len(lines2)} journal lines)")

        # ---- 4. Ctrl-C ----
        db3 = os.path.join(tmp, "interrupted.json")
        p = subprocess.Popen([args.hyc, "tune", "--model", model, "--target", args.target,
                              "--budget", "5", "-o", db3], stderr=subprocess.PIPE, text=True)
        t_wait = time.time()
        while time.time() - t_wait < 30:
            if os.path.exists(db3 + ".journal") and os.path.getsize(db3 + ".journal") > 0:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        t_int = time.time()
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        c.check(p.returncode == 130 and time.time() - t_int < 10,
                f"SIGINT: exit {p.returncode} after {time.time() - t_int:.1f} s")
        try:
            d3 = json.load(open(db3))
            c.check(d3["tuner"]["interrupted"] is True and len(d3["entries"]) == len(tiny_pairs(target))
                    and "interrupted" in err,
                    "SIGINT wrote the best-so-far database (interrupted: true)")
        except (OSError, ValueError) as e:
            c.check(False, f"SIGINT database: {e}")

        # ---- 5. hyc compile uses it; logits still match ----
        r = subprocess.run([py, os.path.join(HERE, "test_entry_points.py"), "--hyc", args.hyc,
                            "--config", "tiny", "--prompt", "8", "--steps", "16",
                            "--tuning-db", db], capture_output=True, text=True)
        print(r.stdout[-2500:], r.stderr[-1500:])
        c.check(r.returncode == 0, "hyc compile --tuning-db: manifest schedules and logits")

        # ---- 6. the chart ----
        png = os.path.join(tmp, "tuning.png")
        r = subprocess.run([py, os.path.join(ROOT, "bench", "plot_tuning.py"), db, "-o", png,
                            "--per-step"], capture_output=True, text=True)
        head = open(png, "rb").read(8) if os.path.exists(png) else b""
        c.check(r.returncode == 0 and head == b"\x89PNG\r\n\x1a\n",
                f"plot_tuning.py wrote a PNG ({r.stdout.strip()})")
        r = subprocess.run([py, os.path.join(ROOT, "bench", "plot_tuning.py"), model, "-o", png],
                           capture_output=True, text=True)
        c.check(r.returncode == 1 and "cannot read" in r.stderr or "not a hyc" in r.stderr,
                "plot_tuning.py rejects a non-database")

        # ---- 7. ggml's TQ2_0: the float K2 GEMVs have a search space too ----
        model_t = os.path.join(tmp, "tiny-tq2_0.gguf")
        subprocess.run([py, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
                        "--config", "tiny", "--linear-type", "tq2_0", "-o", model_t],
                       check=True, stdout=subprocess.DEVNULL)
        db_t = os.path.join(tmp, "tuning-tq2_0.json")
        r = subprocess.run([args.hyc, "tune", "--model", model_t, "--target", args.target,
                            "--budget", "0.4", "-o", db_t, "--seed", "7",
                            "--adams-beam-size", "1"], capture_output=True, text=True)
        print(r.stderr[-1500:])
        try:
            entries_t = json.load(open(db_t))["entries"]
        except (OSError, ValueError) as e:
            entries_t = []
            print(f"no TQ2_0 database: {e}")
        keys_t = {(e["kernel"], e["n"], e["k"]) for e in entries_t}
        c.check(r.returncode == 0 and keys_t == ({("gemv_tq2_0", n, k) for n, k in TINY_SHAPES}
                                                  | tiny_ops("float activations"))
                and all(e["baselines"].get("default", 0) > 0 and e.get("time_us", 0) > 0
                        for e in entries_t),
                f"TQ2_0 model: one tuned gemv_tq2_0 entry per shape: {sorted(keys_t)}")
        r = subprocess.run([py, os.path.join(HERE, "test_entry_points.py"), "--hyc", args.hyc,
                            "--config", "tiny", "--prompt", "8", "--steps", "16",
                            "--linear-type", "tq2_0", "--tuning-db", db_t],
                           capture_output=True, text=True)
        print(r.stdout[-1500:], r.stderr[-800:])
        c.check(r.returncode == 0, "hyc compile --tuning-db (TQ2_0): manifest schedules and logits")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
