# make_quant_reference.py: random quantized blocks + the gguf package's dequantization, as GGUF.
"""Writes the reference file QuantReferenceTest.cpp checks hyc's dequantizers against.

For every tensor type the `gguf` Python package can dequantize and hyc supports (F32, F16, BF16,
Q8_0, Q2_K, TQ2_0, Q4_K, Q6_K), the file holds two tensors written by gguf.GGUFWriter:

  <type>.raw   ROWS rows of random blocks, stored as that type (raw bytes)
  <type>.ref   float32, gguf.quants.dequantize(<type>.raw bytes)

The random bytes cover every quant code; the fp16 scale fields (d, dmin) are drawn from a mix
of ordinary, tiny (subnormal), negative and zero values, never Inf/NaN (those differ only in
how a NaN payload propagates, which neither side promises). F16/BF16 payloads are raw random
bits, NaNs included. Q2_0C is not here: gguf does not know type 40; the C++ tests check it
against DESIGN.md's formula instead.

Usage: make_quant_reference.py OUT.gguf [--seed N]
Run by ctest (fixture quant_reference) with ${HYC_PYTHON}; also usable by hand.
"""

import argparse
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

ROWS = 8
BLOCKS_PER_ROW = 6          # quantized types
ELEMENTS_PER_ROW_PLAIN = 512  # F32 / F16 / BF16 (block size 1)

# type -> byte offsets of its fp16 scale fields inside one block.
FP16_FIELDS = {
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.TQ2_0: [64],
    T.Q4_K: [0, 2],
    T.Q6_K: [208],
    T.F32: [],
    T.F16: [],
    T.BF16: [],
}


def random_scales(rng, n):
    """n fp16 scales: mostly ordinary magnitudes of both signs, plus subnormals and zeros."""
    kind = rng.integers(0, 10, size=n)
    mag = np.exp(rng.uniform(np.log(1e-4), np.log(4.0), size=n))
    sub = rng.integers(1, 1024, size=n).astype(np.float64) * 2.0 ** -24  # fp16 subnormals
    v = np.where(kind < 7, mag, np.where(kind < 9, sub, 0.0))
    v *= np.where(rng.integers(0, 2, size=n) == 0, 1.0, -1.0)
    return v.astype("<f2")


def random_blocks(rng, qtype):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    nb = BLOCKS_PER_ROW if block_size > 1 else ELEMENTS_PER_ROW_PLAIN
    raw = rng.integers(0, 256, size=(ROWS, nb, type_size), dtype=np.uint8)
    for off in FP16_FIELDS[qtype]:
        raw[:, :, off:off + 2] = random_scales(rng, ROWS * nb).view(np.uint8).reshape(ROWS, nb, 2)
    return raw.reshape(ROWS, nb * type_size), block_size * nb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    w = gguf.GGUFWriter(args.output, arch="quant-reference")
    w.add_uint32("quant_reference.rows", ROWS)
    for qtype in FP16_FIELDS:
        raw, row_len = random_blocks(rng, qtype)
        ref = gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False)
        assert ref.shape == (ROWS, row_len), (qtype, ref.shape)
        name = qtype.name.lower()
        if qtype == T.F32:
            w.add_tensor(name + ".raw", raw.view(np.float32))
        elif qtype == T.F16:
            w.add_tensor(name + ".raw", raw.view(np.float16))
        else:
            w.add_tensor(name + ".raw", raw, raw_dtype=qtype)
        w.add_tensor(name + ".ref", np.ascontiguousarray(ref))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
