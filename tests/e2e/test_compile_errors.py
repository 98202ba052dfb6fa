#!/usr/bin/env python3
"""`hyc compile` on malformed inputs: non-zero exit, a message naming the
problem, and nothing left in (or beside) the -o directory.

Also checks that compiling the same input twice gives byte-identical files.
"""
import argparse
import filecmp
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))


def compile_expect_failure(hyc, model, out, needles, args=()):
    r = subprocess.run([hyc, "compile", model, "--target", "host", "-o", out, *args],
                       capture_output=True, text=True)
    problems = []
    if r.returncode == 0:
        problems.append("exit code 0")
    for n in needles:
        if n not in r.stderr:
            problems.append(f"message lacks {n!r}")
    parent = os.path.dirname(out)
    left = [p for p in os.listdir(parent) if p.startswith(os.path.basename(out))]
    if left:
        problems.append(f"left behind: {left}")
    return problems, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="hyc-err-") as tmp:
        good = os.path.join(tmp, "tiny.gguf")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/models/hy_gguf.py"),
                        "write", "--config", "tiny", "-o", good], check=True,
                       capture_output=True)
        data = open(good, "rb").read()

        def variant(name, blob):
            p = os.path.join(tmp, name)
            with open(p, "wb") as f:
                f.write(blob)
            return p

        import hy_gguf  # our writer, to build a file with one tensor missing
        missing = os.path.join(tmp, "missing.gguf")
        hy_gguf.write_model("tiny", missing, seed=0, skip_tensors={"blk.1.ffn_down.weight"})

        # A tensor in a format the compiler does not take there: an f16 norm
        # (norm weights must be f32; every byte otherwise well-formed).
        f16norm = os.path.join(tmp, "f16norm.gguf")
        spec = hy_gguf.ModelSpec("tiny", 0)
        w = hy_gguf.GGUFWriter()
        for key, vtype, value, elem in spec.kv:
            w.add_kv(key, vtype, value, elem)
        for name, shape, gtype, prod in spec.tensors:
            if name == "blk.1.ffn_norm.weight":
                gtype, prod = hy_gguf.GGML_F16, (lambda n=shape[0]: [np.ones(n, "<f2")])
            w.add_tensor(name, shape, gtype, prod)
        w.write(f16norm)

        cases = [
            ("truncated", variant("truncated.gguf", data[: len(data) // 2]),
             ["truncated.gguf", "past end of file"], ()),
            ("truncated header", variant("short.gguf", data[:20]),
             ["short.gguf", "truncated"], ()),
            ("wrong magic", variant("magic.gguf", b"GGUX" + data[4:]),
             ["magic.gguf", "magic"], ()),
            ("bad version", variant("version.gguf", data[:4] + struct.pack("<I", 7) + data[8:]),
             ["version.gguf", "version 7"], ()),
            ("missing tensor", missing, ["missing.gguf", "missing tensor 'blk.1.ffn_down.weight'"], ()),
            ("unsupported format", f16norm,
             ["f16norm.gguf", "'blk.1.ffn_norm.weight' has type f16", "norm weights must be f32"], ()),
            ("no such file", os.path.join(tmp, "nope.gguf"), ["nope.gguf"], ()),
            ("unsupported target", good, ["unknown target 'riscv64'"], ("--target", "riscv64")),
            ("bad context", good, ["--context expects an integer"], ("--context", "-5")),
            ("unknown flag", good, ["unknown option '--frobnicate'"], ("--frobnicate",)),
            ("bad activations", good, ["unknown --activations 'int4'"], ("--activations", "int4")),
            ("bad kv cache", good, ["unknown --kv-cache 'q4'", "f16, f32 or q8_0"], ("--kv-cache", "q4")),
            ("bad weight layout", good, ["--weight-layout must be 'target'", "got 'r4'"],
             ("--weight-layout", "r4")),
            ("int8 on neon", good, ["--activations int8 needs",
                                    "x86-64-avx2 and x86-64-avx512 only", "'aarch64-neon'"],
             ("--target", "aarch64-neon", "--activations", "int8")),
        ]
        for name, model, needles, extra in cases:
            out = os.path.join(tmp, "outdir", "lib")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            problems, msg = compile_expect_failure(args.hyc, model, out, needles, extra)
            status = "ok" if not problems else "FAIL " + "; ".join(problems)
            print(f"{name:20s} {status:8s} | {msg}")
            passed += not problems
            failed += bool(problems)

        # Reproducibility: two compiles of the same input are byte-identical.
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for d in (a, b):
            subprocess.run([args.hyc, "compile", good, "--target", "host", "-o", d],
                           check=True, capture_output=True)
        names = sorted(os.listdir(a))
        _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
        ok = not mismatch and not errors and names == sorted(os.listdir(b))
        print(f"{'reproducible':20s} {'ok' if ok else 'FAIL'} | {len(names)} files, differing: {mismatch + errors}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
