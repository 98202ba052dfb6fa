#!/usr/bin/env python3
"""A compiled library's prefill and decode entry points against the numpy reference.

Writes a synthetic HY model (tiny or full size), compiles it with hyc, loads
libhy_NAME.so with ctypes (no runtime in between: this checks the library's
own ABI), runs prefill over a prompt and then greedy decode steps, and
compares every set of logits with tests/e2e/reference.py fed the same tokens.
Also checks the entry points' argument statuses (bad token, bad position,
bad count). Bounds: max |error| <= 1e-3 and cosine >= 0.999999.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from reference import Reference  # noqa: E402

DESC_FIELDS = ["abi_version", "n_vocab", "n_embd", "n_layer", "n_head", "n_head_kv",
               "head_dim", "n_ff", "n_ctx", "weights_bytes", "arena_bytes", "kv_bytes",
               "bos_id", "eos_id", "weights_hash", "reserved"]


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def compare(ref_logits, lib_logits, what, max_abs, min_cos):
    r = ref_logits.astype(np.float64)
    c = lib_logits.astype(np.float64)
    err = float(np.abs(r - c).max())
    cos = float(np.dot(r, c) / (np.linalg.norm(r) * np.linalg.norm(c)))
    ok = np.isfinite(c).all() and err <= max_abs and cos >= min_cos
    print(f"{what:>14}: max-abs {err:.3e}  1-cos {1 - cos:.3e}  "
          f"argmax ref {int(np.argmax(r))} lib {int(np.argmax(c))}  {'ok' if ok else 'FAIL'}")
    return ok, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--prompt", type=int, default=8, help="prompt length for prefill")
    ap.add_argument("--steps", type=int, default=16, help="greedy decode steps after prefill")
    ap.add_argument("--max-abs", type=float, default=1e-3)
    ap.add_argument("--min-cos", type=float, default=0.999999)
    args = ap.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="hyc-entry-") as tmp:
        model = os.path.join(tmp, f"{args.config}.gguf")
        out = os.path.join(tmp, "out")
        t0 = time.time()
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
                        "--config", args.config, "-o", model], check=True)
        subprocess.run([args.hyc, "compile", model, "--target", "host", "-o", out,
                        "--context", str(max(256, args.prompt + args.steps + 1))], check=True)
        name = open(os.path.join(out, "hy_model.name")).read().strip()
        lib = ctypes.CDLL(os.path.join(out, f"libhy_{name}.so"))
        desc = dict(zip(DESC_FIELDS, (ctypes.c_int64 * 16).in_dll(lib, f"hy_{name}_desc")))
        print("descriptor:", {k: desc[k] for k in DESC_FIELDS[:12]})
        weights = np.fromfile(os.path.join(out, f"{name}.weights"), dtype=np.uint8)
        assert weights.size == desc["weights_bytes"]
        arena = np.zeros(desc["arena_bytes"], dtype=np.uint8)
        kv = np.zeros(desc["kv_bytes"], dtype=np.uint8)
        logits = np.zeros(desc["n_vocab"], dtype=np.float32)
        vocab, ctx = desc["n_vocab"], desc["n_ctx"]
        P = ctypes.c_void_p
        decode = getattr(lib, f"hy_{name}_decode")
        decode.argtypes = [P, P, P, ctypes.c_int32, ctypes.c_int32, P]
        decode.restype = ctypes.c_int32
        prefill = getattr(lib, f"hy_{name}_prefill")
        prefill.argtypes = [P, P, P, P, ctypes.c_int32, ctypes.c_int32, P]
        prefill.restype = ctypes.c_int32

        # Argument statuses (nothing is computed for a rejected call).
        tokens = np.zeros(ctx, dtype=np.int32)
        checks = [
            ("decode bad token", decode(ptr(weights), ptr(arena), ptr(kv), vocab, 0, ptr(logits)), 1),
            ("decode neg token", decode(ptr(weights), ptr(arena), ptr(kv), -1, 0, ptr(logits)), 1),
            ("decode bad pos", decode(ptr(weights), ptr(arena), ptr(kv), 0, ctx, ptr(logits)), 2),
            ("prefill n=0", prefill(ptr(weights), ptr(arena), ptr(kv), ptr(tokens), 0, 0, ptr(logits)), 3),
            ("prefill overflow", prefill(ptr(weights), ptr(arena), ptr(kv), ptr(tokens), 2, ctx - 1,
                                         ptr(logits)), 2),
        ]
        tokens[3] = vocab + 5
        checks.append(("prefill bad token",
                       prefill(ptr(weights), ptr(arena), ptr(kv), ptr(tokens), 4, 0, ptr(logits)), 1))
        for what, got, want in checks:
            ok = got == want
            failures += not ok
            print(f"{what:>18}: status {got} (want {want}) {'ok' if ok else 'FAIL'}")

        rng = np.random.default_rng(1)
        prompt = [int(desc["bos_id"])] + [int(t) for t in rng.integers(0, vocab, args.prompt - 1)]
        tokens[:] = 0
        tokens[:len(prompt)] = prompt
        ref = Reference(model)
        for pos, tok in enumerate(prompt):
            r = ref.decode(tok, pos)
        rc = prefill(ptr(weights), ptr(arena), ptr(kv), ptr(tokens), len(prompt), 0, ptr(logits))
        failures += rc != 0
        ok, worst = compare(r, logits, f"prefill[{len(prompt)}]", args.max_abs, args.min_cos)
        failures += not ok
        pos = len(prompt)
        for s in range(args.steps):
            tok = int(np.argmax(logits))
            r = ref.decode(tok, pos)
            rc = decode(ptr(weights), ptr(arena), ptr(kv), tok, pos, ptr(logits))
            failures += rc != 0
            ok, err = compare(r, logits, f"decode {s}", args.max_abs, args.min_cos)
            failures += not ok
            worst = max(worst, err)
            pos += 1
        print(f"{args.config}: prompt {len(prompt)} + {args.steps} steps, worst max-abs {worst:.3e}, "
              f"{time.time() - t0:.0f} s")
    passed = len(checks) + 1 + args.steps - failures
    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
