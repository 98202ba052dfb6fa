#!/usr/bin/env python3
"""hyk_halide_generators' own driver (schedules/GeneratorMain.cpp).

  python test_generator_driver.py --generator GEN --objdump OBJDUMP --x86-target T
         [--arm-target T]

Checks, by generating and disassembling real kernels:
- an x86-64 object with software prefetch holds prefetcht0 and no prefetchnta
  (the driver's rewrite of Halide's no-locality hint), for a plain decode GEMV
  (prefetch over the tile's rows) and a `streams` one (a prefetch per row);
- a `streams` GEMV without `prefetch` holds no prefetch at all;
- the requested other outputs (c_header, assembly) are still written, and
  the assembly (when asked for) is the rewritten one;
- when the assembler fails: a non-zero exit, a message naming the kernel and
  HYK_ASSEMBLER_CC, and no object or temporary file left behind;
- an AArch64 object goes to Halide untouched (written, no x86 rewrite).
Prints one line per check and "N passed, N failed".
"""
import argparse
import os
import subprocess
import sys
import tempfile


def disassemble(objdump, path):
    return subprocess.run([objdump, "-d", path], check=True, capture_output=True,
                          text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--generator", required=True)
    ap.add_argument("--objdump", required=True)
    ap.add_argument("--x86-target", required=True)
    ap.add_argument("--arm-target", default="")
    args = ap.parse_args()
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        passed += ok
        failed += not ok

    def generate(d, gen, fn, emit, target, params, env=None):
        os.makedirs(d, exist_ok=True)
        return subprocess.run([args.generator, "-g", gen, "-f", fn, "-e", emit, "-o", d,
                               f"target={target}-no_runtime"] + params,
                              capture_output=True, text=True, env=env)

    x86 = args.x86_target
    with tempfile.TemporaryDirectory(prefix="hyc-gen-driver-") as tmp:
        cases = [("plain", "gemv_q2_0c_a8q_vnni", ["unroll=2", "prefetch=4"], True),
                 ("streams", "gemv_q2_0c_a8q_vnni", ["streams=4", "prefetch=4"], True),
                 ("streams, no prefetch", "gemv_q2_0c_a8q_vnni", ["streams=4"], False),
                 ("lm_head streams", "gemv_q8_0_a8_vnni", ["streams=4", "prefetch=16"], True)]
        for name, gen, params, want in cases:
            d = os.path.join(tmp, name.replace(" ", "_").replace(",", ""))
            r = generate(d, gen, "k", "object,c_header", x86, params)
            if r.returncode != 0:
                check(False, f"{gen} {params}: generator failed: {r.stderr[-1000:]}")
                continue
            text = disassemble(args.objdump, os.path.join(d, "k.o"))
            t0, nta = text.count("prefetcht0"), text.count("prefetchnta")
            check(nta == 0 and (t0 > 0) == want,
                  f"{name} ({gen} {' '.join(params)}): {t0} prefetcht0, {nta} prefetchnta")
            left = sorted(os.listdir(d))
            check(left == ["k.h", "k.o"], f"{name}: outputs {left} are the asked ones")

        d = os.path.join(tmp, "asm")
        r = generate(d, "gemv_q8_0_a8_vnni", "k", "object,assembly", x86,
                     ["streams=2", "prefetch=8"])
        asm = open(os.path.join(d, "k.s")).read() if r.returncode == 0 else ""
        check(r.returncode == 0 and "prefetcht0" in asm and "prefetchnta" not in asm
              and os.path.exists(os.path.join(d, "k.o")),
              "object + assembly: both written, the assembly rewritten")

        d = os.path.join(tmp, "bad_cc")
        env = dict(os.environ, HYK_ASSEMBLER_CC="false")
        r = generate(d, "gemv_q8_0_a8_vnni", "k", "object", x86, ["prefetch=8"], env)
        left = sorted(os.listdir(d))
        check(r.returncode != 0 and "assembling k" in r.stderr and "HYK_ASSEMBLER_CC" in r.stderr
              and left == [],
              f"failing assembler: exit {r.returncode}, files left {left}, "
              f"message: {r.stderr.strip()[:160]}")

        if args.arm_target:
            d = os.path.join(tmp, "arm")
            r = generate(d, "gemv_q8_0", "k", "object", args.arm_target, [])
            check(r.returncode == 0 and sorted(os.listdir(d)) == ["k.o"],
                  f"aarch64 ({args.arm_target}): object written by Halide itself")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
