#!/usr/bin/env python3
"""Kernel variants sampled from hyc tune's search spaces, against a scalar reference.

  python test_tuned_variants.py --hyc HYC --generator GEN --isa-targets "avx2=...,neon=..."
         --isa avx2,avx512 --archive libhyk_x86.a --cc cc [--samples 3] [--seed 1]
         [--qemu QEMU --sysroot DIR] [--full]

Reads the declared spaces (`hyc tune --list-spaces`), samples --samples points
of each space of the given ISAs (seeded; always including each knob's
extreme values across the samples), generates each variant with the Halide
generator exactly as hyc tune and hyc compile do (-f tv_<i>, target
<isa target>-no_runtime, the params), links them with TunedGemvTest.c and the
kernel archive and runs it (under qemu for aarch64). Fails if a space of an
ISA is missing, a generator run fails or any variant disagrees with the
reference, or the space's default values do not reproduce the generator's
default kernel byte for byte. The attention and pointwise spaces' variants run in
schedules/tuner/OpHarness.c instead (OP_SHAPES). Generators with a fixed-shape form (FIXED_SHAPE)
also get fixed_n/fixed_k variants of sampled points, as hyc tune generates
them, run on their shape and called once with another shape (which must fail
with a status). Prints the C program's lines and its "N passed, N failed" summary.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from host_cpu import missing_avx512  # noqa: E402

# Generators whose spaces have SearchSpace::fixedShape (compiler/lib/
# TunerSpaces.cpp; `hyc tune --list-spaces` does not print it), and the shapes
# (n, k) of TunedGemvTest.c their fixed variants are made for: an odd one and
# a real one.
FIXED_SHAPE = {"gemv_q2_0c_vnni", "gemv_q2_0c_a8q_vnni", "gemm_q2_0c_a8q_vnni"}
FIXED_SHAPES = [(255, 2560), (2048, 6144)]

# Knob values the generators must refuse, with the message they print.
INVALID_VALUES = [("decode", 2, "decode must be 0 (shift) or 1 (mask), got 2"),
                  ("positions", 17, "positions must be 0 (the ISA's default) .. 16"),
                  ("streams", 0, "streams must be 1 .. 8")]

# The attention and pointwise spaces: their variants run in
# schedules/tuner/OpHarness.c (the harness hyc tune times them with), which
# checks the prebuilt default against a double-precision reference and the
# variant against the default, outputs between guard bytes. Shapes as
# OpHarness.c takes them, (n, k, m, kv_heads, pos): an odd one and HY's.
OP_SHAPES = {
    "attention_decode": [(6, 32, 1, 3, 37), (16, 128, 1, 4, 1024)],
    "attention_prefill": [(6, 32, 5, 3, 13), (16, 128, 64, 4, 512)],
    "rms_norm": [(3, 100, 1, 0, 0), (1, 2048, 1, 0, 0), (16, 128, 1, 0, 0)],
    "rope": [(3, 18, 1, 0, 7), (16, 128, 1, 0, 1024)],
    "swiglu": [(1, 1001, 1, 0, 0), (1, 6144, 1, 0, 0)],
    "quantize": [(3, 512, 1, 0, 0), (1, 6144, 1, 0, 0)],
    "rms_norm_quantize": [(3, 512, 1, 0, 0), (1, 2048, 1, 0, 0)],
}
# An attention variant's KV cache: cycled over the samples (the family
# parameter hyc compile gives the generator, targets/common/Targets.cpp).
CACHES = [("f16", "float16", 16), ("q8_0", "uint8", 8), ("f32", "float32", 32)]


def run_op_variant(args, tmp, gen, isa, target, params, cache, idx):
    """Generates one attention / pointwise variant, links it with OpHarness.c
    and the archive, runs it on every OP_SHAPES shape; returns failures."""
    d = os.path.join(tmp, f"op_{idx}")
    os.makedirs(d)
    family = [f"k.type={cache[1]}", f"v.type={cache[1]}"] if gen.startswith("attention") else []
    r = subprocess.run([args.generator, "-g", gen, "-f", "hyk_tune_candidate", "-e", "object",
                        "-o", d, f"target={target}-no_runtime"] + family +
                       [p for p in params.split(",") if p], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: generating {gen} [{params}] for {isa}: {r.stderr[-2000:]}")
        return 1
    if gen.startswith("attention"):
        macros = ["-DHYK_TUNE_OP_ATTENTION", f"-DHYK_TUNE_CACHE_BITS={cache[2]}",
                  f"-DHYK_TUNE_DEFAULT=hyk_attention_{isa}" +
                  ("" if cache[0] == "f32" else "_" + cache[0])]
    else:
        macros = [f"-DHYK_TUNE_OP_{gen.upper()}", f"-DHYK_TUNE_DEFAULT=hyk_{gen}_{isa}"]
    exe = os.path.join(d, "harness")
    r = subprocess.run(args.cc.split() + ["-O2", "-std=c11", "-Wall", "-Werror",
                                          f"-I{os.path.join(ROOT, 'schedules', 'include')}"] +
                       macros + [os.path.join(ROOT, "schedules", "tuner", "OpHarness.c"),
                                 os.path.join(d, "hyk_tune_candidate.o"), args.archive,
                                 "-lm", "-lpthread", "-ldl", "-o", exe],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: building OpHarness.c for {gen} ({isa}):", r.stdout, r.stderr)
        return 1
    failures = 0
    what = f"{gen}" + (f" {cache[0]} cache" if gen.startswith("attention") else "")
    lacking = missing_avx512() if isa == "avx512" else []
    if lacking:
        # Generated and linked, as TunedGemvTest.c does with its variants;
        # running it would die of an illegal instruction.
        print(f"[SKIPPED] {what} [{params or 'default'}] ({isa}): this CPU lacks "
              f"{' '.join(lacking)}")
        return 0
    for n, k, m, kv, pos in OP_SHAPES[gen.split("_avx")[0]]:
        if gen.startswith("attention") and cache[0] == "q8_0" and k % 32:
            continue
        run = [exe, str(n), str(k), "1", "0", "2", "1", "-", "0", str(m), str(kv), str(pos)]
        if args.qemu:
            run = [args.qemu, "-cpu", "max", "-L", args.sysroot] + run
        r = subprocess.run(run, capture_output=True, text=True)
        ok = r.returncode == 0 and "hyk-tune ok" in r.stdout
        failures += not ok
        print(f"{'ok' if ok else 'FAIL'} {what} [{params or 'default'}] ({isa}) "
              f"n={n} k={k} m={m} kv_heads={kv} pos={pos}: {r.stdout.strip()[-300:]}")
    return failures


def schedule_text(knobs, point):
    parts = []
    for k, v in sorted(zip(knobs, point), key=lambda kv: kv[0]["name"]):
        parts.append(f"{k['name']}={('true' if v else 'false') if k['boolean'] else v}")
    return ",".join(parts)


def sample(space, count, rng):
    """`count` distinct points; the first two take every knob's smallest and
    largest value, the rest are uniform."""
    knobs = space["knobs"]
    points = [[k["values"][0] for k in knobs], [k["values"][-1] for k in knobs]]
    tries = 0
    while len(points) < count and tries < 1000:
        p = [rng.choice(k["values"]) for k in knobs]
        if p not in points:
            points.append(p)
        tries += 1
    return points[:count]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--generator", required=True)
    ap.add_argument("--isa-targets", required=True)
    ap.add_argument("--isa", required=True, help="comma-separated kernel ISAs")
    ap.add_argument("--archive", required=True)
    ap.add_argument("--cc", required=True, help="C driver (and flags, space-separated)")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--qemu")
    ap.add_argument("--sysroot", default="/usr/aarch64-linux-gnu")
    ap.add_argument("--full", action="store_true", help="also the real 120818-row lm_head")
    args = ap.parse_args()

    targets = dict(p.split("=", 1) for p in args.isa_targets.split(",") if "=" in p)
    spaces = json.loads(subprocess.run([args.hyc, "tune", "--list-spaces"], check=True,
                                       capture_output=True, text=True).stdout)["spaces"]
    rng = random.Random(args.seed)
    variants = []  # (symbol, format, isa, desc, fixed_n, fixed_k)
    op_runs = op_failures = 0  # attention / pointwise variants (OpHarness.c)
    with tempfile.TemporaryDirectory(prefix="hyc-tuned-variants-") as tmp:
        for isa in args.isa.split(","):
            mine = [s for s in spaces if s["isa"] == isa]
            if not mine or isa not in targets:
                print(f"FAIL: no search space or Halide target for ISA {isa}")
                return 1
            for space in mine:
                gen = space["generator"]
                op = gen in OP_SHAPES
                # The space's defaults must be the generator's own: the same
                # object with them spelled out as without params (hyc tune
                # writes an all-default point as the default schedule).
                objs = []
                for i, extra in enumerate(([], schedule_text(
                        space["knobs"], [k["default"] for k in space["knobs"]]).split(","))):
                    d = os.path.join(tmp, f"defaults_{gen}_{isa}_{i}")
                    os.makedirs(d)
                    family = (["k.type=float16", "v.type=float16"]
                              if gen.startswith("attention") else [])
                    subprocess.run([args.generator, "-g", gen, "-f", "tv_default", "-e", "object",
                                    "-o", d, f"target={targets[isa]}-no_runtime"] + family + extra,
                                   check=True, capture_output=True)
                    objs.append(open(os.path.join(d, "tv_default.o"), "rb").read())
                if objs[0] != objs[1]:
                    print(f"FAIL: {gen} ({isa}): the search space's defaults are not the "
                          f"generator's (objects differ)")
                    return 1
                print(f"{gen} ({isa}): the space's defaults reproduce the default kernel")
                # A value outside a knob's declared set that the generator
                # validates must be refused by the generator, naming it.
                for knob, bad, message in INVALID_VALUES:
                    if not any(k["name"] == knob for k in space["knobs"]):
                        continue
                    d = os.path.join(tmp, f"invalid_{gen}_{isa}_{knob}")
                    os.makedirs(d)
                    r = subprocess.run([args.generator, "-g", gen, "-f", "tv_bad", "-e", "object",
                                        "-o", d, f"target={targets[isa]}-no_runtime"] + family +
                                       [f"{knob}={bad}"], capture_output=True, text=True)
                    if r.returncode == 0 or message not in r.stderr:
                        print(f"FAIL: {gen} ({isa}) accepted {knob}={bad} or did not say "
                              f"'{message}' (exit {r.returncode}): {r.stderr[-500:]}")
                        return 1
                    print(f"{gen} ({isa}): {knob}={bad} refused: {message}")
                if op:
                    for i, point in enumerate(sample(space, args.samples, rng)):
                        op_failures += run_op_variant(
                            args, tmp, gen, isa, targets[isa],
                            schedule_text(space["knobs"], point), CACHES[i % len(CACHES)],
                            len(variants) + op_runs)
                        op_runs += 1
                    continue
                fmt = gen[len("gemv_"):].split("_i8dot")[0].split("_vnni")[0]
                if gen.startswith("gemm_"):
                    fmt = "gemm_" + fmt  # TunedGemvTest.c runs it over m rows
                points = sample(space, args.samples, rng)
                jobs = [(p, 0, 0) for p in points]
                if gen in FIXED_SHAPE:
                    jobs += [(points[i % len(points)], n, k)
                             for i, (n, k) in enumerate(FIXED_SHAPES)]
                for point, fixed_n, fixed_k in jobs:
                    params = schedule_text(space["knobs"], point)
                    if fixed_n:
                        params += f",fixed_k={fixed_k},fixed_n={fixed_n}"
                    sym = f"tv_{len(variants)}"
                    cmd = [args.generator, "-g", gen, "-f", sym, "-e", "object", "-o", tmp,
                           f"target={targets[isa]}-no_runtime"] + params.split(",")
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    if r.returncode != 0:
                        print(f"FAIL: generating {gen} [{params}] for {isa}: {r.stderr[-2000:]}")
                        return 1
                    variants.append((sym, fmt, isa, f"{gen} {params}", fixed_n, fixed_k))
        inc = os.path.join(tmp, "variants.inc")
        with open(inc, "w") as f:
            for sym, fmt, isa, desc, fixed_n, fixed_k in variants:
                f.write(f'HYK_VARIANT({sym}, "{fmt}", "{isa}", "{desc}", {fixed_n}, {fixed_k})\n')
        exe = os.path.join(tmp, "tuned_gemv_test")
        cc = args.cc.split()
        objs = [os.path.join(tmp, v[0] + ".o") for v in variants]
        link = cc + ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                     f"-I{os.path.join(ROOT, 'schedules', 'include')}",
                     f'-DTUNED_VARIANTS_INC="{inc}"', os.path.join(HERE, "TunedGemvTest.c")] + \
            objs + [args.archive, "-lm", "-lpthread", "-ldl", "-o", exe]
        r = subprocess.run(link, capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: building the test:", r.stdout, r.stderr)
            return 1
        run = [exe] + (["--full"] if args.full else [])
        if args.qemu:
            if not os.path.exists(args.qemu):
                print(f"FAIL: qemu-aarch64 not found at {args.qemu}")
                return 1
            run = [args.qemu, "-cpu", "max", "-L", args.sysroot] + run
        print(f"{len(variants)} variants:", *(v[3] + " (" + v[2] + ")" for v in variants),
              sep="\n  ")
        r = subprocess.run(run, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
        lines = r.stdout.strip().splitlines()
        if r.returncode != 0 or not lines or " passed, 0 failed" not in lines[-1]:
            print(f"FAIL: exit {r.returncode}")
            return 1
        passed = int(lines[-1].split()[0])
        if passed == 0:
            print("FAIL: no variant ran (every ISA skipped?)")
            return 1
        print(f"attention / pointwise variants: {op_runs} generated, "
              f"{op_failures} shape runs failed")
        if op_runs == 0 or op_failures:
            print("FAIL: attention / pointwise variants")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
