# compare_logits: check a compiled model's logits against the numpy reference, step by step.
"""Compare candidate logits (PREFIX.logits / PREFIX.tokens, the format reference.py writes)
with the float64 numpy reference, teacher-forcing the candidate's own token sequence.

  python tests/e2e/compare_logits.py --model MODEL --candidate PREFIX
         [--max-abs 1e-3] [--min-cos 0.999999] [--prompt-len 1] [--tie 1e-3]
         [--activations int8|f32] [--kv-cache f16|f32|q8_0] [--library DIR] [--logits-from N]

With --logits-from N the candidate's .logits holds rows for steps N.. only (a prompt
prefilled once: model_driver --prompt-logits once); the reference still runs every token.

The reference models the library's activation precision and KV cache type: --activations
and --kv-cache, or what the manifest.json of --library DIR records (default f32 for both). See int8 bounds below.

Per step it prints the max abs error, the cosine similarity and both argmaxes. It fails
(exit 1) when any step has max abs error > --max-abs or cosine < --min-cos or a non-finite
value; when the candidate's argmax differs from the reference's (unless the reference's top-2
logits are within --tie, where float32 rounding may legitimately flip the choice); or when a
greedy step fed something other than the candidate's own argmax of the step before (steps
from --prompt-len on: the first --prompt-len tokens are the given start tokens).

Default bounds: a pure float32 pass (`reference.py --dtype float32`) drifts from float64 by
at most 2.2e-6 on the tiny model (logits std ~1.2) and 1.5e-5 on the full-size synthetic model
(std ~2.3, 32 layers), with 1-cos ~1e-12. --max-abs 1e-3 leaves ~70x room for another
summation order and longer sequences while still catching real bugs (a wrong RoPE pairing,
norm placement, norm weight or kv-head mapping moves logits by 0.1 to 5). With every logit
within 1e-3, 1-cos stays below ~1e-7, so --min-cos 0.999999 is a backstop for the max-abs test.
A float16 KV cache (`hyc compile --kv-cache f16`, the default) loosens this at full size: the
float32 reference with an f16 cache drifts from the float64 one by up to 4.3e-3 (1-cos 9.1e-8)
there, because float32-level differences flip single float16 roundings; the full-size tests
pass --max-abs 1e-2 --min-cos 0.9999995 (tests/e2e/CMakeLists.txt). Tiny: 7.2e-5, unchanged.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import (ACTIVATIONS, KV_CACHES, Reference, manifest_lm_head_int8,
                       read_manifest_activations,  # noqa: E402
                       read_manifest_kv_cache)


def load_candidate(prefix, vocab, first=0):
    """Tokens and logits rows; row i belongs to step first + i."""
    with open(prefix + ".tokens") as f:
        tokens = [int(t) for t in f.read().split()]
    logits = np.fromfile(prefix + ".logits", dtype="<f4")
    if len(tokens) <= first:
        raise ValueError(f"{prefix}.tokens has {len(tokens)} tokens, needs more than {first}")
    rows = len(tokens) - first
    if logits.size != rows * vocab:
        raise ValueError(f"{prefix}.logits holds {logits.size} floats, expected "
                         f"{rows} steps x vocab {vocab} = {rows * vocab}")
    return tokens, logits.reshape(rows, vocab)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--candidate", required=True, help="prefix of .logits/.tokens to check")
    ap.add_argument("--max-abs", type=float, default=1e-3)
    ap.add_argument("--min-cos", type=float, default=0.999999)
    ap.add_argument("--prompt-len", type=int, default=1,
                    help="number of start tokens; later tokens must be the candidate's argmax")
    ap.add_argument("--tie", type=float, default=1e-3,
                    help="reference top-2 gap below which an argmax mismatch is tolerated")
    ap.add_argument("--activations", choices=ACTIVATIONS,
                    help="activation precision the candidate was compiled with")
    ap.add_argument("--kv-cache", choices=KV_CACHES,
                    help="KV cache element type the candidate was compiled with")
    ap.add_argument("--library", help="compiled library dir whose manifest.json gives "
                                      "--activations and --kv-cache")
    ap.add_argument("--logits-from", type=int, default=0,
                    help="the candidate's logits start at this step (earlier steps unchecked)")
    args = ap.parse_args()
    act = args.activations or (read_manifest_activations(args.library) if args.library
                               else "f32")
    kv = args.kv_cache or (read_manifest_kv_cache(args.library) if args.library else "f32")

    t0 = time.perf_counter()
    lm_head_int8 = None
    if args.library:
        with open(os.path.join(args.library, "manifest.json")) as f:
            lm_head_int8 = manifest_lm_head_int8(json.load(f))
    ref = Reference(args.model, activations=act, kv_cache=kv, lm_head_int8=lm_head_int8)
    print(f"compare_logits: reference with {act} activations, {kv} KV cache")
    try:
        tokens, cand = load_candidate(args.candidate, ref.vocab, args.logits_from)
    except (OSError, ValueError) as e:
        print(f"compare_logits: FAIL: {e}")
        return 1

    failures = []
    worst_abs, worst_abs_t, worst_cos, worst_cos_t = 0.0, 0, 1.0, 0
    n_agree = 0
    print(f"{'step':>4} {'token':>6} {'max_abs':>10} {'1-cos':>10} {'ref_top':>7} {'cand_top':>8} "
          f"{'ref_gap':>8}")
    ref.reset()
    for t, tok in enumerate(tokens):
        r = ref.decode(tok, t).astype(np.float64)
        if t < args.logits_from:
            continue
        c = cand[t - args.logits_from].astype(np.float64)
        if not np.all(np.isfinite(c)):
            failures.append(f"step {t}: candidate logits are not finite")
            print(f"{t:4d} {tok:6d} {'non-finite':>10}")
            continue
        err = float(np.abs(c - r).max())
        cos = float(np.dot(c, r) / (np.linalg.norm(c) * np.linalg.norm(r)))
        top2 = np.argsort(r)[-2:]
        r_top, gap = int(top2[1]), float(r[top2[1]] - r[top2[0]])
        c_top = int(np.argmax(c))
        n_agree += c_top == r_top
        note = []
        if err > args.max_abs:
            failures.append(f"step {t}: max abs error {err:.3e} > {args.max_abs:g}")
            note.append("ERR")
        if cos < args.min_cos:
            failures.append(f"step {t}: cosine {cos:.9f} (1-{1 - cos:.3e}) < {args.min_cos}")
            note.append("COS")
        if c_top != r_top:
            if gap < args.tie:
                note.append("tie")
            else:
                failures.append(f"step {t}: candidate argmax {c_top} != reference argmax {r_top} "
                                f"(reference top-2 gap {gap:.3e})")
                note.append("ARGMAX")
        if t + 1 >= args.prompt_len and t + 1 < len(tokens) and tokens[t + 1] != c_top:
            failures.append(f"step {t}: candidate fed {tokens[t + 1]} next, but its own argmax "
                            f"is {c_top}")
            note.append("GREEDY")
        if err > worst_abs:
            worst_abs, worst_abs_t = err, t
        if cos < worst_cos:
            worst_cos, worst_cos_t = cos, t
        print(f"{t:4d} {tok:6d} {err:10.3e} {1 - cos:10.3e} {r_top:7d} {c_top:8d} {gap:8.4f} "
              f"{' '.join(note)}")

    status = "FAIL" if failures else "PASS"
    print(f"compare_logits: {status}: {len(tokens) - args.logits_from} steps, worst max-abs {worst_abs:.3e} "
          f"(step {worst_abs_t}, bound {args.max_abs:g}), worst cosine 1-{1 - worst_cos:.3e} "
          f"(step {worst_cos_t}, bound 1-{1 - args.min_cos:.1e}), argmax agree "
          f"{n_agree}/{len(tokens) - args.logits_from}, "
          f"{time.perf_counter() - t0:.1f} s")
    for f in failures[:20]:
        print(f"  {f}")
    if len(failures) > 20:
        print(f"  ... and {len(failures) - 20} more")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
