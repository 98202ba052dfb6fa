#!/usr/bin/env python3
"""End-to-end test: tiny HY GGUF -> hyc compile -> hyc run -> logits vs the numpy reference.

Writes the tiny synthetic model, compiles it for the host, greedy-decodes a
prompt plus 16 steps with the compiled library (dumping its logits at every
step), and has compare_logits.py re-run the numpy reference on the same
tokens. Bounds: max |logit error| <= 1e-3 and cosine >= 0.999999 per step
(float32 library vs float64 reference; measured drift is ~1e-5).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from host_cpu import SKIP, missing_avx512  # noqa: E402


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def check_layouts(manifest_path, want):
    """Every Q2_0C matmul kernel in the manifest reads `want` weights."""
    with open(manifest_path) as f:
        kernels = json.load(f)["kernels"]
    q2 = [k for k in kernels if "q2_0c" in k["kernel"]]
    if not q2:
        raise SystemExit(f"FAILED: {manifest_path} lists no Q2_0C kernel")
    bad = [k for k in q2 if k.get("weights") != want]
    if bad:
        raise SystemExit(f"FAILED: expected weights in layout {want}, manifest has {bad}")
    print(f"manifest: {len(q2)} Q2_0C kernel uses, all on {want} weights")


PHASES = ["lowbit", "selected", "quantized", "packed", "planned", "loops", "llvm"]


def check_dump_ir(ir_dir, layout):
    """--dump-ir wrote one module per phase; the tile_rows layout first appears at 'packed'."""
    texts = {}
    for phase in PHASES:
        path = os.path.join(ir_dir, f"tiny.{phase}.mlir")
        if not os.path.isfile(path):
            raise SystemExit(f"FAILED: --dump-ir did not write {path}")
        with open(path) as f:
            texts[phase] = f.read()
    if not os.path.isfile(os.path.join(ir_dir, "tiny.ll")):
        raise SystemExit("FAILED: --dump-ir did not write tiny.ll")
    if layout == "q2_0c/r8":
        for phase in PHASES[:3]:
            if "tile_rows" in texts[phase]:
                raise SystemExit(f"FAILED: tile_rows already in the {phase} phase")
        for phase in ("packed", "planned"):
            if "tile_rows = 8" not in texts[phase]:
                raise SystemExit(f"FAILED: no tile_rows = 8 weight in the {phase} phase")
        if "hyk_gemv_q2_0c_r8_a8q_avx512" not in texts["loops"]:
            raise SystemExit("FAILED: the loops phase does not call the r8 GEMV")
    print(f"--dump-ir: {len(PHASES)} phases and tiny.ll written")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--target", default="host")
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--activations", choices=["f32", "int8"], default="f32",
                    help="hyc compile --activations; the reference models the same rounding")
    ap.add_argument("--max-abs", default="1e-3")
    ap.add_argument("--min-cos", default="0.999999")
    ap.add_argument("--tie", default="1e-3")
    ap.add_argument("--embd-type", default=None,
                    help="hy_gguf.py write --embd-type (q8_0: the lm_head runs the Q8_0 kernel)")
    ap.add_argument("--linear-type", default=None,
                    help="hy_gguf.py write --linear-type (tq2_0: linear layers in ggml's TQ2_0)")
    ap.add_argument("--convert", default=None,
                    help="hyc convert the written model --to this type (q2_k) and compile that")
    ap.add_argument("--embed-weights", action="store_true",
                    help="compile with --embed-weights (the runtime then finds the blob "
                         "inside libhy_tiny.so)")
    ap.add_argument("--weight-layout", default=None,
                    help="hyc compile --weight-layout (target: the kernels' layouts; source)")
    ap.add_argument("--expect-layout", default=None,
                    help="fail unless every Q2_0C kernel in the manifest reads weights in this "
                         "layout (e.g. q2_0c/r8)")
    ap.add_argument("--check-dump-ir", action="store_true",
                    help="compile with --dump-ir and check every phase's module is written "
                         "(and, with --expect-layout q2_0c/r8, that the layout appears at "
                         "'packed')")
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="hyc-e2e-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        out = os.path.join(tmp, "out")
        run([py, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
             "--config", "tiny", "-o", model, "--seed", "0"] +
            (["--embd-type", args.embd_type] if args.embd_type else []) +
            (["--linear-type", args.linear_type] if args.linear_type else []))
        if args.convert:
            converted = os.path.join(tmp, "tiny_" + args.convert + ".gguf")
            run([args.hyc, "convert", model, "--to", args.convert, "-o", converted])
            # The library is compiled from, and checked against, the converted file.
            os.replace(converted, model)
        run([args.hyc, "compile", model, "--target", args.target, "-o", out,
             "--activations", args.activations] +
            (["--embed-weights"] if args.embed_weights else []) +
            (["--weight-layout", args.weight_layout] if args.weight_layout else []) +
            (["--dump-ir", os.path.join(tmp, "ir")] if args.check_dump_ir else []))
        if args.check_dump_ir:
            check_dump_ir(os.path.join(tmp, "ir"), args.expect_layout)
        if args.expect_layout:
            check_layouts(os.path.join(out, "manifest.json"), args.expect_layout)
        if args.embed_weights and os.path.exists(os.path.join(out, "tiny.weights")):
            raise SystemExit("FAILED: tiny.weights written although --embed-weights was given")
        prompt = "506,72,101,108"
        lacking = missing_avx512() if args.target == "x86-64-avx512" else []
        if lacking:
            # The runtime must refuse the library, naming what is missing,
            # rather than let it die of an illegal instruction.
            cmd = [args.hyc, "run", out, "--tokens", prompt, "-n", "1"]
            print("+", " ".join(cmd), flush=True)
            r = subprocess.run(cmd, capture_output=True, text=True)
            print(r.stdout + r.stderr, end="")
            if r.returncode <= 0 or "needs CPU features this CPU lacks" not in r.stderr:
                raise SystemExit(f"FAILED: hyc run of an {args.target} library on a CPU "
                                 f"without {' '.join(lacking)} exited {r.returncode} "
                                 "without the runtime's CPU-feature error")
            print(f"SKIPPED: this CPU lacks {' '.join(lacking)}: compiled and checked the "
                  "library, could not run it (the runtime refused it, as it should)")
            sys.exit(SKIP)
        run([args.hyc, "run", out, "--tokens", prompt, "-n", str(args.steps),
             "--dump-logits", os.path.join(tmp, "lib")])
        run([py, os.path.join(HERE, "compare_logits.py"), "--model", model,
             "--candidate", os.path.join(tmp, "lib"), "--prompt-len", "4",
             "--library", out, "--max-abs", args.max_abs, "--min-cos", args.min_cos,
             "--tie", args.tie])
    print("e2e tiny logits: 1 passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        print(f"FAILED: {' '.join(e.cmd)} exited with {e.returncode}", file=sys.stderr)
        sys.exit(1)
