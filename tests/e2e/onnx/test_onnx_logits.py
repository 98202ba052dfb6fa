#!/usr/bin/env python3
"""A library compiled from ONNX against onnxruntime and against the same model compiled from GGUF.

Writes the synthetic HY model (scripts/models/hy_gguf.py weights) as GGUF and as ONNX graphs
(scripts/models/hy_onnx.py), compiles them with `hyc compile`, and checks:
  - every ONNX form's weights blob is byte-identical to the GGUF's (the importer's Q2_0C
    conversion is lossless for these weights) and the tokenizer file (--tokenizer) too;
  - the library from the MatMulNBits bits=2 graph, driven through its entry points with
    ctypes (prefill of the prompt, then greedy decode), gives onnxruntime's logits at every
    position. onnxruntime 1.23's CPU MatMulNBits runs only bits 4 and 8, so the reference
    runs the same graph in the lossless bits=4 form (tiny: also the float-weights form);
  - the library compiled from GGUF gives the same logits.
tiny: 4-token prompt + 64 decode steps, and further forms (float weights, DequantizeLinear int8
and int4 with external data, SimplifiedLayerNormalization, com.microsoft RotaryEmbedding +
GroupQueryAttention, MatMulNBits bits=8 and bits=4 with packed zero points); full: 16-token prompt (logits at
all 16 positions), external data.
"""
import argparse

import ctypes
import filecmp
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402
import hy_onnx  # noqa: E402

P = ctypes.c_void_p


def ptr(a):
    return a.ctypes.data_as(P)


class Library:
    """libhy_NAME.so through its ABI entry points (no runtime)."""

    def __init__(self, out):
        self.name = open(os.path.join(out, "hy_model.name")).read().strip()
        self.lib = ctypes.CDLL(os.path.join(out, f"libhy_{self.name}.so"))
        d = (ctypes.c_int64 * 16).in_dll(self.lib, f"hy_{self.name}_desc")
        self.vocab, self.arena_bytes, self.kv_bytes = d[1], d[10], d[11]
        self.weights = np.fromfile(os.path.join(out, f"{self.name}.weights"), dtype=np.uint8)
        self.arena = np.zeros(self.arena_bytes, dtype=np.uint8)
        self.kv = np.zeros(self.kv_bytes, dtype=np.uint8)
        self.decode_fn = getattr(self.lib, f"hy_{self.name}_decode")
        self.decode_fn.argtypes = [P, P, P, ctypes.c_int32, ctypes.c_int32, P]
        self.decode_fn.restype = ctypes.c_int32
        self.prefill_fn = getattr(self.lib, f"hy_{self.name}_prefill")
        self.prefill_fn.argtypes = [P, P, P, P, ctypes.c_int32, ctypes.c_int32, P]
        self.prefill_fn.restype = ctypes.c_int32

    def decode(self, tok, pos):
        out = np.zeros(self.vocab, dtype=np.float32)
        rc = self.decode_fn(ptr(self.weights), ptr(self.arena), ptr(self.kv), tok, pos, ptr(out))
        assert rc == 0, f"decode returned {rc}"
        return out

    def prefill(self, toks):
        t = np.asarray(toks, dtype=np.int32)
        out = np.zeros(self.vocab, dtype=np.float32)
        rc = self.prefill_fn(ptr(self.weights), ptr(self.arena), ptr(self.kv), ptr(t), len(t), 0,
                             ptr(out))
        assert rc == 0, f"prefill returned {rc}"
        return out


def run(cmd, **kw):
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {r.returncode}")
    return r, time.time() - t0


def compare(ref, got, what, max_abs):
    r, c = ref.astype(np.float64), got.astype(np.float64)
    err = float(np.abs(r - c).max())
    cos = float(np.dot(r.ravel(), c.ravel()) / (np.linalg.norm(r) * np.linalg.norm(c)))
    same_argmax = bool((np.argmax(r, axis=-1) == np.argmax(c, axis=-1)).all())
    ok = bool(np.isfinite(c).all()) and err <= max_abs and cos >= 0.999999 and same_argmax
    print(f"{what:>44}: max-abs {err:.3e}  1-cos {1 - cos:.2e}  same argmax {same_argmax}  "
          f"{'ok' if ok else 'FAIL'}")
    return ok


def main():
    sys.stdout.reconfigure(line_buffering=True)  # progress visible under ctest -V
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--config", choices=("tiny", "full"), default="tiny")
    ap.add_argument("--max-abs", type=float, default=1e-3)
    args = ap.parse_args()
    tiny = args.config == "tiny"
    prompt_len, steps = (4, 64) if tiny else (16, 0)
    failures = checks = 0
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="hyc-onnx-") as tmp:
        gguf = os.path.join(tmp, "model.gguf")
        t0 = time.time()
        hy_gguf.write_model(args.config, gguf)
        tok_gguf = os.path.join(tmp, "tokenizer.gguf")
        hy_onnx.write_tokenizer(args.config, tok_gguf)
        # key: (linear form, norm, rope, attention, external data). nbits2 is the form under
        # test; nbits4 and float (and gqa) run in onnxruntime for reference logits.
        forms = {"nbits2": ("nbits2", "decomposed", "decomposed", "decomposed", not tiny),
                 "nbits4": ("nbits4", "decomposed", "decomposed", "decomposed", not tiny)}
        if tiny:
            forms["float"] = ("float", "fused", "decomposed", "decomposed", False)
            forms["dq8"] = ("dq8", "fused", "decomposed", "decomposed", True)
            forms["dq4"] = ("dq4", "decomposed", "decomposed", "decomposed", True)
            forms["nbits8"] = ("nbits8", "decomposed", "decomposed", "decomposed", False)
            # com.microsoft RotaryEmbedding + GroupQueryAttention (kv cache inputs/outputs);
            # MatMulNBits with explicit packed zero points
            forms["gqa"] = ("nbits4zp", "decomposed", "fused", "gqa", False)
        models = {}
        for key, (form, norm, rope, attention, ext) in forms.items():
            path = os.path.join(tmp, f"{key}.onnx")
            hy_onnx.save_model(hy_onnx.build_model(args.config, form, norm=norm, rope=rope,
                                                   attention=attention), path, ext)
            models[key] = path
        print(f"wrote GGUF + {len(models)} ONNX forms in {time.time() - t0:.1f} s")

        outs = {}
        # f32 activations and KV cache: the libraries are held to onnxruntime's float math.
        ctx = ["--context", str(max(64, prompt_len + steps + 1)), "--activations", "f32",
               "--kv-cache", "f32"]
        _, dt = run([args.hyc, "compile", gguf, "--target", "host", "-o",
                     os.path.join(tmp, "out-gguf"), "--name", "hy"] + ctx)
        outs["gguf"] = os.path.join(tmp, "out-gguf")
        print(f"compiled GGUF in {dt:.1f} s")
        for form, path in models.items():
            if not tiny and form == "nbits4":
                continue  # the full-size reference form only runs in onnxruntime
            out = os.path.join(tmp, f"out-{form}")
            extra = ["--tokenizer", tok_gguf] if form == "nbits2" else []
            r, dt = run([args.hyc, "compile", path, "--target", "host", "-o", out, "--name", "hy"]
                        + ctx + extra)
            outs[form] = out
            notes = [l for l in r.stderr.splitlines() if "note:" in l]
            print(f"compiled ONNX {form} in {dt:.1f} s {notes}")
            checks += 1
            same = filecmp.cmp(os.path.join(out, "hy.weights"),
                               os.path.join(outs["gguf"], "hy.weights"), shallow=False)
            print(f"{'weights blob ' + form + ' == GGUF':>44}: {'ok' if same else 'FAIL'}")
            failures += not same
        checks += 1
        same_tok = filecmp.cmp(os.path.join(outs["nbits2"], "hy.tokenizer"),
                               os.path.join(outs["gguf"], "hy.tokenizer"), shallow=False)
        print(f"{'tokenizer (--tokenizer) == GGUF':>44}: {'ok' if same_tok else 'FAIL'}")
        failures += not same_tok

        # The library under test (MatMulNBits bits=2), then the GGUF one on the same tokens.
        rng = np.random.default_rng(7)
        lib = Library(outs["nbits2"])
        prompt = [int(t) for t in rng.integers(0, lib.vocab, prompt_len)]
        t0 = time.time()
        if tiny:
            got = [lib.decode(t, p) for p, t in enumerate(prompt[:-1])]
            lib2 = Library(outs["nbits2"])  # the prefill entry point on a fresh cache
            got.append(lib2.prefill(prompt))
            pos, toks = len(prompt), list(prompt)
            for _ in range(steps):
                toks.append(int(np.argmax(got[-1])))
                got.append(lib2.decode(toks[-1], pos))
                pos += 1
            toks_fed = toks
        else:
            got = [lib.decode(t, p) for p, t in enumerate(prompt)]
            toks_fed = prompt
        got = np.stack(got)
        print(f"library: {len(toks_fed)} positions in {time.time() - t0:.1f} s")
        g = Library(outs["gguf"])
        from_gguf = np.stack([g.decode(t, p) for p, t in enumerate(toks_fed)])

        t0 = time.time()
        refs = {"nbits4": hy_onnx.reference_logits(models["nbits4"], toks_fed)}
        if tiny:
            refs["float"] = hy_onnx.reference_logits(models["float"], toks_fed)
            refs["gqa"] = hy_onnx.reference_logits(models["gqa"], toks_fed)
            refs["dq4"] = hy_onnx.reference_logits(models["dq4"], toks_fed)
            refs["nbits8"] = hy_onnx.reference_logits(models["nbits8"], toks_fed)
        print(f"onnxruntime: {len(refs)} runs of {len(toks_fed)} tokens in "
              f"{time.time() - t0:.1f} s")
        for form, ref in refs.items():
            checks += 1
            failures += not compare(ref, got, f"ONNX nbits2 library vs onnxruntime({form})",
                                    args.max_abs)
        checks += 1
        failures += not compare(from_gguf, got, "ONNX nbits2 library vs GGUF library", 1e-5)
        if tiny:
            for form in ("float", "dq8", "dq4", "nbits8", "gqa"):
                checks += 1
                other = Library(outs[form])
                o = np.stack([other.decode(t, p) for p, t in enumerate(toks_fed)])
                failures += not compare(from_gguf, o, f"ONNX {form} library vs GGUF library",
                                        1e-5)
    sys.stdout.flush()
    print(f"{args.config}: {len(toks_fed)} positions ({prompt_len} prompt + {steps} decode), "
          f"{checks - failures} passed, {failures} failed, {time.time() - t_start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
