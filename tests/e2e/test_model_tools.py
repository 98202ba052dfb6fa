#!/usr/bin/env python3
"""`hyc inspect` and `hyc convert --to q2_k`, checked against our reader and the gguf package.

inspect: the parameter count, bits per weight, per-type totals, tokenizer summary and tensor
table it prints agree with what the file holds (read with scripts/models/hy_gguf.py); it also
works on files with types `hyc compile` rejects (K-quants, TQ2_0, BF16) and another arch.

convert: the output parses with gguf.GGUFReader (no type 40 left), every Q2_0C tensor became
Q2_K whose gguf.quants.dequantize() equals our Q2_0C dequantization of the input value for
value, every other tensor and all metadata are unchanged, and hyc's own post-write check (our
C++ Q2_K dequantizer against the input) ran. Bad invocations exit non-zero with one
"hyc convert: error:" line and leave nothing beside -o.

Usage: test_model_tools.py --hyc PATH [--model FILE.gguf]
  without --model: the tiny model with f16 and q8_0 embeddings (ctest)
  with --model:    that file (e.g. the full-size synthetic model), inspect + convert only
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}")
    return cond


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def linear(name, shape):
    parts = name.split(".")
    return (len(shape) == 2 and parts[0] == "blk" and len(parts) > 2
            and (parts[2].startswith("attn_") or parts[2].startswith("ffn_")))


def check_inspect(hyc, path, label):
    r = run([hyc, "inspect", path])
    if not check(r.returncode == 0, f"{label}: inspect exit {r.returncode}: {r.stderr.strip()}"):
        return
    out = r.stdout
    m = hy_gguf.GGUFFile(path)
    md = m.metadata
    total = sum(int(np.prod(t.shape)) for t in m.tensors.values())
    lin = [t for t in m.tensors.values() if linear(t.name, t.shape)]
    lin_el = sum(int(np.prod(t.shape)) for t in lin)
    lin_bytes = sum(t.nbytes for t in lin)
    got = re.search(r"^parameters: ([\d,]+)", out, re.M)
    check(got and int(got.group(1).replace(",", "")) == total,
          f"{label}: parameter count {got and got.group(1)} != {total}")
    got = re.search(r"^linear layers .*: (\d+) tensors, .* ([\d.]+) bits per weight", out, re.M)
    if lin:
        want = 8.0 * lin_bytes / lin_el
        check(got and int(got.group(1)) == len(lin) and abs(float(got.group(2)) - want) < 1e-4,
              f"{label}: linear-layer line {got and got.group(0)!r}, want {len(lin)} tensors "
              f"{want:.4f} bpw")
    arch = md.get("general.architecture", "")
    check(f"architecture: {arch}" in out, f"{label}: architecture line missing")
    for k, v in md.items():
        if k.startswith(arch + ".") and isinstance(v, int):
            check(re.search(rf"^  {re.escape(k[len(arch) + 1:])}\s+{v}$", out, re.M),
                  f"{label}: hyperparameter {k} = {v} not shown")
    for t in m.tensors.values():
        type_name = hy_gguf.GGML_TYPES[t.ggml_type][0].lower().replace("_k", "_K")
        shape = "[" + ", ".join(str(d) for d in t.shape[::-1]) + "]"
        check(re.search(rf"^  {re.escape(t.name)}\s+{re.escape(shape)}\s+{type_name}\s+"
                        rf"{t.nbytes:,}$", out, re.M),
              f"{label}: tensor row for {t.name} ({shape} {type_name} {t.nbytes:,}) missing")
    if "tokenizer.ggml.tokens" in md:
        check(f"vocabulary {len(md['tokenizer.ggml.tokens']):,} tokens" in out,
              f"{label}: vocabulary size not shown")
        check(f"merges {len(md['tokenizer.ggml.merges']):,}" in out, f"{label}: merges count")
        check(f"model {md['tokenizer.ggml.model']}, pre {md['tokenizer.ggml.pre']}" in out,
              f"{label}: tokenizer model/pre")
        bos = md["tokenizer.ggml.bos_token_id"]
        check(re.search(rf"^    bos\s+{bos}\s+'{re.escape(md['tokenizer.ggml.tokens'][bos])}'$",
                        out, re.M), f"{label}: bos line")
        check("chat template: present" in out, f"{label}: chat template")
    r2 = run([hyc, "inspect", path, "--no-tensors"])
    check(r2.returncode == 0 and "tensors (shape" not in r2.stdout
          and "parameters:" in r2.stdout, f"{label}: --no-tensors")
    print(f"{label}: inspect OK ({total:,} parameters)")


def check_convert(hyc, src, tmp, label):
    import gguf

    out = os.path.join(tmp, "converted.gguf")
    r = run([hyc, "convert", src, "--to", "q2_k", "-o", out])
    if not check(r.returncode == 0, f"{label}: convert exit {r.returncode}: {r.stderr.strip()}"):
        return None
    check("verified: all" in r.stdout, f"{label}: convert did not report its own check")
    ours = hy_gguf.GGUFFile(src)
    ref = gguf.GGUFReader(out)  # would raise on a type-40 tensor
    fields = {f.name: f for f in ref.fields.values() if not f.name.startswith("GGUF.")}
    check(list(fields) == list(ours.metadata), f"{label}: metadata keys differ")
    for k, v in ours.metadata.items():
        got = fields[k].contents() if k in fields else None
        same = np.allclose(got, v) if isinstance(v, float) else got == v
        check(same, f"{label}: metadata {k} differs after convert")
    check([t.name for t in ref.tensors] == list(ours.tensors), f"{label}: tensor order differs")
    converted = 0
    for t in ref.tensors:
        info = ours.tensors[t.name]
        if info.ggml_type == hy_gguf.GGML_Q2_0C:
            if not check(int(t.tensor_type) == hy_gguf.GGML_Q2_K,
                         f"{label}: {t.name} is {t.tensor_type.name}, not Q2_K"):
                continue
            rows = info.shape[0] if len(info.shape) == 2 else 1
            step = max(1, (1 << 22) // info.shape[-1])
            data = t.data.reshape(rows, -1)
            for r0 in range(0, rows, step):
                r1 = min(rows, r0 + step)
                theirs = gguf.quants.dequantize(data[r0:r1], gguf.GGMLQuantizationType.Q2_K)
                mine = ours.tensor(t.name, r0, r1)
                if not check(np.array_equal(theirs, mine),  # == semantics: -0 == +0
                             f"{label}: {t.name} rows {r0}..{r1}: gguf's Q2_K dequantization "
                             f"differs from the Q2_0C input"):
                    break
            converted += 1
        else:
            check(int(t.tensor_type) == info.ggml_type
                  and np.array_equal(t.data.reshape(-1).view(np.uint8),
                                     ours.raw(t.name).reshape(-1)),
                  f"{label}: {t.name} not copied unchanged")
    n_q2 = sum(t.ggml_type == hy_gguf.GGML_Q2_0C for t in ours.tensors.values())
    check(converted == n_q2 and n_q2 > 0, f"{label}: converted {converted} of {n_q2}")
    print(f"{label}: convert OK ({converted} Q2_0C tensors -> Q2_K, values identical per "
          f"gguf.quants.dequantize)")
    return out


def expect_error(hyc, args, needle, outdir, label):
    before = set(os.listdir(outdir))
    r = run([hyc, *args])
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0, f"{label}: exit code 0")
    check(len(lines) == 1 and lines[0].startswith(f"hyc {args[0]}: error:") and needle in lines[0],
          f"{label}: message {lines!r} lacks {needle!r}")
    check(set(os.listdir(outdir)) == before,
          f"{label}: left behind {sorted(set(os.listdir(outdir)) - before)}")


def exotic_file(path):
    """Types and an arch `hyc compile` does not take, for inspect."""
    rng = np.random.default_rng(5)
    w = hy_gguf.GGUFWriter()
    w.add_kv("general.architecture", hy_gguf.VT_STRING, "llama")
    w.add_kv("llama.block_count", hy_gguf.VT_UINT32, 1)
    for gt, name in [(hy_gguf.GGML_Q2_K, "blk.0.attn_q.weight"),
                     (hy_gguf.GGML_Q4_K, "blk.0.ffn_up.weight"),
                     (hy_gguf.GGML_Q6_K, "output.weight"),
                     (hy_gguf.GGML_TQ2_0, "blk.0.ffn_down.weight"),
                     (hy_gguf.GGML_BF16, "token_embd.weight")]:
        _, blk, bsz = hy_gguf.GGML_TYPES[gt]
        cols = 512
        data = rng.integers(0, 256, size=(4, cols // blk * bsz), dtype=np.uint8)
        w.add_tensor(name, (4, cols), gt, data)
    w.write(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--model", help="check this file instead of writing tiny models")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hyc-tools-") as tmp:
        if args.model:
            check_inspect(args.hyc, args.model, os.path.basename(args.model))
            out = check_convert(args.hyc, args.model, tmp, os.path.basename(args.model))
            if out:
                check_inspect(args.hyc, out, "converted " + os.path.basename(args.model))
        else:
            for et in ("f16", "q8_0"):
                src = os.path.join(tmp, f"tiny-{et}.gguf")
                hy_gguf.write_model("tiny", src, embd_type=et)
                check_inspect(args.hyc, src, f"tiny/{et}")
                out = check_convert(args.hyc, src, tmp, f"tiny/{et}")
                if out:
                    check_inspect(args.hyc, out, f"tiny/{et} converted")
                    os.replace(out, os.path.join(tmp, f"tiny-{et}-q2k.gguf"))
            exotic = os.path.join(tmp, "exotic.gguf")
            exotic_file(exotic)
            check_inspect(args.hyc, exotic, "llama arch with q2_K/q4_K/q6_K/tq2_0/bf16")

            src = os.path.join(tmp, "tiny-f16.gguf")
            outdir = os.path.join(tmp, "out")
            os.mkdir(outdir)
            o = os.path.join(outdir, "x.gguf")
            expect_error(args.hyc, ["convert", os.path.join(tmp, "tiny-f16-q2k.gguf"), "--to",
                                    "q2_k", "-o", o], "no Q2_0C tensors", outdir, "no Q2_0C")
            expect_error(args.hyc, ["convert", src, "--to", "q4_0", "-o", o],
                         "--to q4_0 is not supported", outdir, "bad --to")
            expect_error(args.hyc, ["convert", src, "--to", "q2_k"], "usage:", outdir, "no -o")
            expect_error(args.hyc, ["convert", src, "--to", "q2_k", "-o", src],
                         "is the input file", outdir, "-o = input")
            expect_error(args.hyc, ["convert", src, "--to", "q2_k", "-o", outdir],
                         "is a directory", outdir, "-o = directory")
            expect_error(args.hyc, ["convert", os.path.join(tmp, "nope.gguf"), "--to", "q2_k",
                                    "-o", o], "cannot open", outdir, "missing input")
            with open(src, "rb") as f:
                half = f.read()[: os.path.getsize(src) // 2]
            trunc = os.path.join(tmp, "truncated.gguf")
            with open(trunc, "wb") as f:
                f.write(half)
            expect_error(args.hyc, ["convert", trunc, "--to", "q2_k", "-o", o], "truncated",
                         outdir, "truncated input")
            expect_error(args.hyc, ["inspect", trunc], "truncated", outdir, "inspect truncated")
            expect_error(args.hyc, ["inspect"], "usage:", outdir, "inspect without a file")
            # A non-finite Q2_0C scale cannot become Q2_K: refused, nothing written.
            m = hy_gguf.GGUFFile(src)
            t = m.tensors["blk.1.ffn_up.weight"]
            data = bytearray(open(src, "rb").read())
            at = m.data_start + t.offset + 3 * 130  # block 3 = row 3 (rows of 512): fp16 d
            data[at:at + 2] = b"\x00\x7c"  # +Inf
            inf = os.path.join(tmp, "inf.gguf")
            with open(inf, "wb") as f:
                f.write(data)
            expect_error(args.hyc, ["convert", inf, "--to", "q2_k", "-o", o],
                         "tensor 'blk.1.ffn_up.weight': in " + inf + ", row 3, block 0", outdir,
                         "Inf scale")
            print("convert/inspect error cases checked")
    if FAILURES:
        print(f"test_model_tools: {len(FAILURES)} failure(s)")
        return 1
    print("test_model_tools: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
