# make_seeds.py: small GGUF files that start the reader fuzzer off in every corner of the format.
"""Writes the seed corpus for tests/fuzz/GGUFReaderFuzzer.cpp into DIR.

  tiny.gguf            the tiny synthetic HY model (scripts/models/hy_gguf.py), unless --no-tiny
  types.gguf           one small tensor of every type hyc reads (id 40 both as Q2_0C and NVFP4)
  metadata.gguf        every metadata value type, string arrays, nested arrays, empty arrays
  v2.gguf              the same as GGUF version 2
  align64.gguf         general.alignment 64
  empty.gguf           header only: no metadata, no tensors
Each file is valid; the fuzzer's mutations do the rest.

Usage: make_seeds.py DIR [--no-tiny]
"""
import argparse
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402
from hy_gguf import (VT_ARRAY, VT_BOOL, VT_FLOAT32, VT_FLOAT64, VT_INT8, VT_INT16,  # noqa: E402
                     VT_INT32, VT_INT64, VT_STRING, VT_UINT8, VT_UINT16, VT_UINT32, VT_UINT64)


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_bytes(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type tag, encoded payload)]; tensors: [(name, ne, ggml id, data)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, tag, payload in kvs:
        out += s(key) + struct.pack("<I", tag) + payload
    off, offs = 0, []
    for name, ne, gid, data in tensors:
        offs.append(off)
        out += s(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        out += struct.pack("<IQ", gid, off)
        off = (off + len(data) + alignment - 1) // alignment * alignment
    out += b"\0" * (-len(out) % alignment)
    start = len(out)
    for (_, _, _, data), o in zip(tensors, offs):
        out += b"\0" * (start + o - len(out)) + data
    return out + b"\0" * (-len(out) % alignment)


def arr(elem_tag, payloads):
    return struct.pack("<IQ", elem_tag, len(payloads)) + b"".join(payloads)


def metadata_kvs():
    return [
        ("general.architecture", VT_STRING, s("hunyuan-dense")),
        ("m.u8", VT_UINT8, struct.pack("<B", 255)), ("m.i8", VT_INT8, struct.pack("<b", -1)),
        ("m.u16", VT_UINT16, struct.pack("<H", 65535)), ("m.i16", VT_INT16, struct.pack("<h", -2)),
        ("m.u32", VT_UINT32, struct.pack("<I", 7)), ("m.i32", VT_INT32, struct.pack("<i", -3)),
        ("m.f32", VT_FLOAT32, struct.pack("<f", 1e-5)), ("m.bool", VT_BOOL, b"\x01"),
        ("m.str", VT_STRING, s("<｜hy_User｜> ▁")),
        ("m.u64", VT_UINT64, struct.pack("<Q", 2 ** 64 - 1)),
        ("m.i64", VT_INT64, struct.pack("<q", -2 ** 63)),
        ("m.f64", VT_FLOAT64, struct.pack("<d", 0.1)),
        ("tokenizer.ggml.tokens", VT_ARRAY, arr(VT_STRING, [s("a"), s("b"), s("ab")])),
        ("tokenizer.ggml.merges", VT_ARRAY, arr(VT_STRING, [s("a b")])),
        ("tokenizer.ggml.token_type", VT_ARRAY, arr(VT_INT32, [struct.pack("<i", 1)] * 3)),
        ("m.floats", VT_ARRAY, arr(VT_FLOAT32, [struct.pack("<f", 0.5), struct.pack("<f", -2)])),
        ("m.bools", VT_ARRAY, arr(VT_BOOL, [b"\x00", b"\x01"])),
        ("m.empty", VT_ARRAY, arr(VT_UINT64, [])),
        ("m.nested", VT_ARRAY, arr(VT_ARRAY, [arr(VT_INT16, [struct.pack("<h", 9)]),
                                              arr(VT_STRING, [s("x")]),
                                              arr(VT_ARRAY, [arr(VT_UINT8, [b"\x07"])])])),
    ]


def type_tensors(rng):
    out = []
    for gid, (name, blk, bsz) in sorted(hy_gguf.GGML_TYPES.items()):
        if gid == hy_gguf.GGML_I8:
            continue
        cols = 512
        data = bytearray(rng.integers(0, 256, size=2 * cols // blk * bsz, dtype=np.uint8))
        out.append((f"t.{name.lower()}", [cols, 2], gid, bytes(data)))
    # Id 40 sized as NVFP4 (64 elements / 36 bytes), not Q2_0C.
    out.append(("t.nvfp4", [128], 40, bytes(rng.integers(0, 256, 72, dtype=np.uint8))))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--no-tiny", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    rng = np.random.default_rng(7)
    kv = metadata_kvs()
    files = {
        "types.gguf": gguf_bytes(kv[:1], type_tensors(rng)),
        "metadata.gguf": gguf_bytes(kv, [("w", [4, 2], 0, bytes(32))]),
        "v2.gguf": gguf_bytes(kv, [("w", [32], 8, bytes(34))], version=2),
        "align64.gguf": gguf_bytes(kv[:1] + [("general.alignment", VT_UINT32,
                                              struct.pack("<I", 64))],
                                   [("a", [3], 0, bytes(12)), ("b", [512], 40, bytes(130))],
                                   alignment=64),
        "empty.gguf": gguf_bytes([], []),
    }
    for name, data in files.items():
        with open(os.path.join(args.dir, name), "wb") as f:
            f.write(data)
    if not args.no_tiny:
        hy_gguf.write_model("tiny", os.path.join(args.dir, "tiny.gguf"))
    print(f"wrote {len(files) + (not args.no_tiny)} seeds to {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
