# hy_gguf: minimal GGUF v3 writer/reader (incl. Q2_0C) and a synthetic hunyuan-dense model writer.
"""Minimal GGUF v3 reader/writer for hyc, and a writer of synthetic HY-1.8B-2Bit models.

Why our own: the `gguf` package has no tensor type id 40 (Q2_0C), the 2-bit format of
HY-1.8B-2Bit, so it can neither write nor dequantize the model's linear weights.

File layout (GGUF v3, little-endian): "GGUF", u32 version 3, u64 tensor_count, u64 kv_count,
kv entries, tensor infos (name, u32 n_dims, u64 ne[] with ne[0] = row length, i.e. numpy's
shape reversed, u32 ggml type, u64 offset), then the data section aligned to
general.alignment (32); every tensor's data starts on a multiple of 32 from the section start.

Tensor types (all can be written from raw bytes and read back raw; tensor() dequantizes the
first five itself and the K-quants/TQ2_0 through the gguf package):
  F32   (0)   plain float32
  F16   (1)   plain float16
  BF16  (30)  upper half of a float32
  I8    (24)  int8 (only used to show Q2_0C bytes to gguf.GGUFReader, see verify)
  Q8_0  (8)   blocks of 32 weights: fp16 d, 32 x int8 q; w = q * d (quantize_q8_0 gives the
              same bytes as ggml's reference quantizer)
  Q2_0C (40)  blocks of 512 weights along a row: fp16 d, 128 bytes qs (130 bytes per block);
              weight i has code c = (qs[i//4] >> 2*(i%4)) & 3 and value (2c-3)*d, i.e. the
              levels {-3,-1,+1,+3}*d (no zero)
  Q2_K (10), Q4_K (12), Q6_K (14), TQ2_0 (35): ggml's layouts (see importers/common/QuantTypes.h)

Synthetic model configs (CONFIGS below):
  tiny  block_count 2, embedding_length 512, head_count 8, head_count_kv 2, head_dim 64
        (key_length = value_length = 64), feed_forward_length 1024, vocab 512,
        context_length 256, rms eps 1e-5, rope.dimension_count 64
  full  the HY-1.8B shape: 32 layers, hidden 2048, 16 heads, 4 kv heads, head_dim 128,
        FFN 6144, vocab 120818, context 32768, rms eps 1e-5 (~660 MB, written in ~20 s)
  Both: rope.freq_base = 10000 * 1000 ** (head_dim / (head_dim - 2)), i.e. the dynamic-NTK
  (alpha 1000) pre-scaled base that llama.cpp writes for hunyuan-dense (~1.1159e7 at
  head_dim 128, ~1.2497e7 at head_dim 64).

Synthetic weights (numpy shape [rows, row_len]; each tensor draws from its own generator
spawned from SeedSequence(seed), so the file is a pure function of (config, seed, embd type)
and, for full, of the tokenizer corpus):
  token_embd.weight N(0, 0.05^2) drawn in float32 and stored as --embd-type: q8_0 (default for
    full), f16 (default for tiny: the e2e tests' numpy reference and the compiler expect it)
    or f32; tied lm_head (no output.weight)
  all RMSNorm weights F32 1 + 0.1*N(0,1) (so using the wrong one shows)
  linear weights Q2_0C, uniform codes, one fp16 scale per row d = u / sqrt(5*in),
  u ~ U[0.6, 1.4] (E[w^2] = 5 d^2, so each row has ~unit gain); every block of a row carries
  the row's scale, as in the released model

Tokenizer ("gpt2" byte-level BPE, pre "hunyuan-dense"): the 256 byte tokens first, in byte
order (token id b = byte b, spelled with the GPT-2 byte-to-unicode map), then every merge the
training text supports (pairs seen at least twice), then "<｜hy_place▁holder▁no▁N｜>" control
tokens up to the special tokens:
  tiny  text: GPL-3 + Apache-2.0 from /usr/share/common-licenses; the six SPECIAL_TOKENS at
        the very end (bos 506, eos 507, pad 508)
  full  text: all of /usr/share/common-licenses, every /usr/share/doc/*/copyright and the
        Python standard library sources (docstrings, comments, pydoc topics, code), files
        with identical bytes once (~17 MB, ~72k merges on a Debian 12 build machine; the
        vocabulary depends on the installed packages); HY's special block at 120000..120817
        (HY_SPECIAL_IDS: bos 120000, pad 120002, eos 120025, eod 120026)

CLI:
  python hy_gguf.py write --config tiny|full -o FILE [--seed 0] [--embd-type q8_0|f16|f32]
  python hy_gguf.py verify FILE --config C [--seed S] [--embd-type T]
        regenerate everything and compare with what gguf.GGUFReader (on a copy in which the
        Q2_0C tensors are declared I8 over the same bytes: gguf-py has no type 40) and our
        reader see: metadata, tensor table, bytes, dequantized values
  python hy_gguf.py roundtrip --config C    write + verify once per --embd-type (ctest: tiny)
  python hy_gguf.py info FILE          (metadata and tensor list)
  python hy_gguf.py --selftest
"""

import argparse
import heapq
import math
import os
import re
import struct
import sys
import tempfile
from collections import Counter

import numpy as np

# ---------------------------------------------------------------------------------------------
# Format constants
# ---------------------------------------------------------------------------------------------

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# Metadata value types.
VT_UINT8, VT_INT8, VT_UINT16, VT_INT16, VT_UINT32, VT_INT32 = 0, 1, 2, 3, 4, 5
VT_FLOAT32, VT_BOOL, VT_STRING, VT_ARRAY = 6, 7, 8, 9
VT_UINT64, VT_INT64, VT_FLOAT64 = 10, 11, 12

# Fixed-size scalar value types -> struct format (little-endian).
_VT_STRUCT = {
    VT_UINT8: "<B", VT_INT8: "<b", VT_UINT16: "<H", VT_INT16: "<h",
    VT_UINT32: "<I", VT_INT32: "<i", VT_FLOAT32: "<f", VT_BOOL: "<?",
    VT_UINT64: "<Q", VT_INT64: "<q", VT_FLOAT64: "<d",
}
# Same, as numpy dtypes, to read big numeric arrays (token types) in one go.
_VT_NUMPY = {
    VT_UINT8: "<u1", VT_INT8: "<i1", VT_UINT16: "<u2", VT_INT16: "<i2",
    VT_UINT32: "<u4", VT_INT32: "<i4", VT_FLOAT32: "<f4", VT_BOOL: "?",
    VT_UINT64: "<u8", VT_INT64: "<i8", VT_FLOAT64: "<f8",
}

# ggml tensor types: id -> (name, weights per block, bytes per block). Id 40 is read as Q2_0C
# (HY-1.8B-2Bit's type; mainline ggml gives 40 to NVFP4, which this script never meets).
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q2_K, GGML_Q4_K, GGML_Q6_K = 0, 1, 8, 10, 12, 14
GGML_I8, GGML_BF16, GGML_TQ2_0, GGML_Q2_0C = 24, 30, 35, 40
GGML_TYPES = {
    GGML_F32: ("F32", 1, 4),
    GGML_F16: ("F16", 1, 2),
    GGML_Q8_0: ("Q8_0", 32, 2 + 32),
    GGML_Q2_K: ("Q2_K", 256, 84),
    GGML_Q4_K: ("Q4_K", 256, 144),
    GGML_Q6_K: ("Q6_K", 256, 210),
    GGML_I8: ("I8", 1, 1),
    GGML_BF16: ("BF16", 1, 2),
    GGML_TQ2_0: ("TQ2_0", 256, 66),
    GGML_Q2_0C: ("Q2_0C", 512, 2 + 128),
}
QK2_0C = 512
# --embd-type choices -> ggml type.
EMBD_TYPES = {"q8_0": GGML_Q8_0, "f16": GGML_F16, "f32": GGML_F32}
# Linear layers: Q2_0C (the model's format), or TQ2_0 (ggml's ternary format; hyc compiles it
# to its float GEMV kernels, which the e2e tests check against the reference).
LINEAR_TYPES = {"q2_0c": GGML_Q2_0C, "tq2_0": GGML_TQ2_0}


def _align(n, a=ALIGNMENT):
    return (n + a - 1) // a * a


def tensor_nbytes(shape, ggml_type):
    """Bytes of a tensor with numpy `shape`; the row (last dim) must hold whole blocks."""
    name, blk, bsz = GGML_TYPES[ggml_type]
    row_len = shape[-1]
    if row_len % blk:
        raise ValueError(f"{name} needs a row length that is a multiple of {blk}, got shape "
                         f"{tuple(shape)} (row length {row_len})")
    return int(np.prod(shape, dtype=np.int64)) // blk * bsz


# ---------------------------------------------------------------------------------------------
# Block (de)quantization, vectorized over whole row ranges
# ---------------------------------------------------------------------------------------------

def pack_q2_0c(codes, d):
    """codes uint8 [rows, n] in 0..3, d [rows, n/512] (or [rows]) scales -> uint8 [rows, bytes]."""
    codes = np.asarray(codes, dtype=np.uint8)
    rows, n = codes.shape
    if n % QK2_0C:
        raise ValueError(f"Q2_0C needs a row length that is a multiple of {QK2_0C}, got {n}")
    nb = n // QK2_0C
    d = np.broadcast_to(np.asarray(d, dtype=np.float32).reshape(rows, -1), (rows, nb))
    c = codes.reshape(rows, nb, QK2_0C // 4, 4)
    out = np.empty((rows, nb, 2 + QK2_0C // 4), dtype=np.uint8)
    out[:, :, :2] = d.astype("<f2").view(np.uint8).reshape(rows, nb, 2)
    out[:, :, 2:] = c[..., 0] | (c[..., 1] << 2) | (c[..., 2] << 4) | (c[..., 3] << 6)
    return out.reshape(rows, nb * (2 + QK2_0C // 4))


def dequant_q2_0c(raw, rows, n):
    blocks = np.asarray(raw, dtype=np.uint8).reshape(rows, n // QK2_0C, 2 + QK2_0C // 4)
    d = blocks[:, :, :2].copy().view("<f2").astype(np.float32)           # [rows, nb, 1]
    qs = blocks[:, :, 2:]
    codes = (qs[..., None] >> np.array([0, 2, 4, 6], dtype=np.uint8)) & 3  # [rows, nb, 128, 4]
    levels = 2.0 * codes.reshape(rows, -1, QK2_0C).astype(np.float32) - 3.0
    return (levels * d).reshape(rows, n)


def quantize_q8_0(x):
    """float [rows, n] -> uint8 [rows, bytes]: blocks of 32 = fp16 d + 32 int8 q, w = q * d.

    The same arithmetic as ggml's reference quantizer (and gguf.quants): d = max|x| / 127 in
    float32, q = round-half-away-from-zero(x / d) computed as x * (1/d), d stored as fp16, so
    the bytes equal gguf.quants.quantize(x, Q8_0) (checked by --selftest).
    """
    x = np.asarray(x, dtype=np.float32)
    rows, n = x.shape
    if n % 32:
        raise ValueError(f"Q8_0 needs a row length that is a multiple of 32, got {n}")
    b = x.reshape(rows, n // 32, 32)
    d = np.abs(b).max(axis=-1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    v = b * inv
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.empty((rows, n // 32, 34), dtype=np.uint8)
    out[:, :, :2] = d.astype("<f2").view(np.uint8)
    out[:, :, 2:] = q.view(np.uint8)
    return out.reshape(rows, -1)


def dequant_q8_0(raw, rows, n):
    blocks = np.asarray(raw, dtype=np.uint8).reshape(rows, n // 32, 34)
    d = blocks[:, :, :2].copy().view("<f2").astype(np.float32)
    q = blocks[:, :, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(rows, n)


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------

def _enc_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _enc_value(vtype, value, elem_type=None):
    if vtype == VT_STRING:
        return _enc_str(value)
    if vtype == VT_ARRAY:
        head = struct.pack("<IQ", elem_type, len(value))
        if elem_type == VT_STRING:
            return head + b"".join(_enc_str(s) for s in value)
        if elem_type == VT_ARRAY:
            raise ValueError("nested arrays are not supported")
        return head + np.asarray(value, dtype=_VT_NUMPY[elem_type]).tobytes()
    return struct.pack(_VT_STRUCT[vtype], value)


class GGUFWriter:
    """Collects metadata and tensor descriptions, then streams the file out in write().

    Tensor data is given as a callable returning an iterable of array/bytes chunks (in row
    order), so big tensors are generated and written piece by piece, never held whole.
    """

    def __init__(self):
        self.kv = []        # (key, vtype, value, elem_type)
        self.tensors = []   # (name, numpy shape, ggml type, nbytes, producer)

    def add_kv(self, key, vtype, value, elem_type=None):
        if any(k == key for k, *_ in self.kv):
            raise ValueError(f"duplicate metadata key {key}")
        if vtype == VT_ARRAY and elem_type is None:
            raise ValueError(f"array key {key} needs an element type")
        self.kv.append((key, vtype, value, elem_type))

    def add_tensor(self, name, shape, ggml_type, producer):
        """shape in numpy order ([rows, row_len]); producer: bytes/array or callable -> chunks."""
        if any(t[0] == name for t in self.tensors):
            raise ValueError(f"duplicate tensor {name}")
        shape = tuple(int(s) for s in shape)
        try:
            nbytes = tensor_nbytes(shape, ggml_type)
        except ValueError as e:
            raise ValueError(f"tensor {name}: {e}") from None
        self.tensors.append((name, shape, ggml_type, nbytes, producer))

    def write(self, path):
        if not any(k == "general.alignment" for k, *_ in self.kv):
            self.add_kv("general.alignment", VT_UINT32, ALIGNMENT)
        offsets, off = [], 0
        for _, _, _, nbytes, _ in self.tensors:
            offsets.append(off)
            off = _align(off + nbytes)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv)))
            for key, vtype, value, elem_type in self.kv:
                f.write(_enc_str(key) + struct.pack("<I", vtype) + _enc_value(vtype, value, elem_type))
            for (name, shape, gtype, _, _), toff in zip(self.tensors, offsets):
                ne = shape[::-1]
                f.write(_enc_str(name) + struct.pack("<I", len(ne))
                        + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", gtype, toff))
            f.write(b"\0" * (_align(f.tell()) - f.tell()))
            data_start = f.tell()
            for (name, _, _, nbytes, producer), toff in zip(self.tensors, offsets):
                assert f.tell() - data_start == toff
                chunks = producer() if callable(producer) else [producer]
                written = 0
                for chunk in chunks:
                    b = chunk.tobytes() if isinstance(chunk, np.ndarray) else bytes(chunk)
                    f.write(b)
                    written += len(b)
                if written != nbytes:
                    raise ValueError(f"tensor {name}: producer gave {written} bytes, expected {nbytes}")
                f.write(b"\0" * (_align(f.tell() - data_start) - (f.tell() - data_start)))
        os.replace(tmp, path)  # no half-written model left under the real name


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------

class TensorInfo:
    def __init__(self, name, shape, ggml_type, offset):
        self.name, self.shape, self.ggml_type, self.offset = name, shape, ggml_type, offset
        self.nbytes = tensor_nbytes(shape, ggml_type)

    def __repr__(self):
        return f"{self.name} {GGML_TYPES[self.ggml_type][0]} {list(self.shape)}"


class GGUFFile:
    """Parses a GGUF v3 file (memory-mapped).

    .metadata: key -> python value (int/float/bool/str/list); .kv_types: key -> (vtype, elem);
    .tensors: name -> TensorInfo (shape in numpy order); tensor(name) -> float32 array.
    """

    def __init__(self, path):
        self.path = path
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        self.mv = memoryview(self.buf)
        self.pos = 0
        if bytes(self.mv[:4]) != GGUF_MAGIC:
            raise ValueError(f"{path}: not a GGUF file")
        self.pos = 4
        version, n_tensors, n_kv = self._unpack("<IQQ")
        if version != GGUF_VERSION:
            raise ValueError(f"{path}: GGUF version {version}, only 3 is supported")
        self.metadata, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            (vtype,) = self._unpack("<I")
            elem = None
            if vtype == VT_ARRAY:
                elem, count = self._unpack("<IQ")
                value = self._array(elem, count)
            else:
                value = self._scalar(vtype)
            self.metadata[key] = value
            self.kv_types[key] = (vtype, elem)
        self.alignment = int(self.metadata.get("general.alignment", ALIGNMENT))
        self.tensors = {}
        for _ in range(n_tensors):
            name = self._str()
            info_pos = self.pos  # n_dims, ne[], type follow; verify() patches them in a copy
            (n_dims,) = self._unpack("<I")
            ne = self._unpack(f"<{n_dims}Q")
            gtype, off = self._unpack("<IQ")
            if gtype not in GGML_TYPES:
                raise ValueError(f"{path}: tensor {name} has unsupported ggml type {gtype}")
            self.tensors[name] = TensorInfo(name, tuple(ne[::-1]), gtype, off)
            self.tensors[name].info_pos = info_pos
        self.data_start = _align(self.pos, self.alignment)
        for t in self.tensors.values():
            if self.data_start + t.offset + t.nbytes > len(self.buf):
                raise ValueError(f"{path}: tensor {t.name} runs past the end of the file")

    def _unpack(self, fmt):
        size = struct.calcsize(fmt)
        vals = struct.unpack_from(fmt, self.mv, self.pos)
        self.pos += size
        return vals

    def _str(self):
        (n,) = self._unpack("<Q")
        s = bytes(self.mv[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def _scalar(self, vtype):
        if vtype == VT_STRING:
            return self._str()
        return self._unpack(_VT_STRUCT[vtype])[0]

    def _array(self, elem, count):
        if elem == VT_STRING:
            return [self._str() for _ in range(count)]
        if elem == VT_ARRAY:
            raise ValueError("nested arrays are not supported")
        dt = np.dtype(_VT_NUMPY[elem])
        arr = np.frombuffer(self.mv, dtype=dt, count=count, offset=self.pos)
        self.pos += dt.itemsize * count
        return arr.tolist()

    def raw(self, name):
        """The tensor's bytes as a read-only uint8 view [rows, row_bytes]."""
        t = self.tensors[name]
        start = self.data_start + t.offset
        rows = int(np.prod(t.shape[:-1], dtype=np.int64))
        return self.buf[start:start + t.nbytes].reshape(rows, -1)

    def tensor(self, name, row_start=0, row_stop=None):
        """Dequantized float32 copy, shape = numpy shape (a row range of the 2-D view if given)."""
        t = self.tensors[name]
        n = t.shape[-1]
        raw = self.raw(name)[row_start:row_stop]
        rows = raw.shape[0]
        if t.ggml_type == GGML_F32:
            out = raw.copy().view("<f4").astype(np.float32)
        elif t.ggml_type == GGML_F16:
            out = raw.copy().view("<f2").astype(np.float32)
        elif t.ggml_type == GGML_BF16:
            out = (raw.copy().view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif t.ggml_type == GGML_I8:
            out = raw.copy().view(np.int8).astype(np.float32)
        elif t.ggml_type == GGML_Q8_0:
            out = dequant_q8_0(raw, rows, n)
        elif t.ggml_type == GGML_Q2_0C:
            out = dequant_q2_0c(raw, rows, n)
        else:  # the K-quants and TQ2_0: only the gguf package's dequantizer
            import gguf
            out = gguf.quants.dequantize(np.ascontiguousarray(raw),
                                         gguf.GGMLQuantizationType(t.ggml_type))
        if row_start == 0 and row_stop is None:
            return out.reshape(t.shape)
        return out.reshape(rows, n)


# ---------------------------------------------------------------------------------------------
# Synthetic hunyuan-dense model
# ---------------------------------------------------------------------------------------------

ARCH = "hunyuan-dense"

# embd_type: default --embd-type. corpus: tokenizer training text (see CORPORA). special_base:
# None puts the six SPECIAL_TOKENS at the very end of the vocabulary; a number lays out HY's
# special-token block [special_base, vocab) with the ids of HY_SPECIAL_IDS.
CONFIGS = {
    "tiny": dict(name="hy-tiny", block_count=2, embedding_length=512, head_count=8,
                 head_count_kv=2, head_dim=64, feed_forward_length=1024, vocab_size=512,
                 context_length=256, rms_eps=1e-5, embd_type="f16", corpus="licenses",
                 special_base=None),
    "full": dict(name="hy-1.8b-synthetic", block_count=32, embedding_length=2048, head_count=16,
                 head_count_kv=4, head_dim=128, feed_forward_length=6144, vocab_size=120818,
                 context_length=32768, rms_eps=1e-5, embd_type="q8_0", corpus="debian",
                 special_base=120000),
}

# HY special tokens of the tiny layout, placed at the end of the vocabulary in this order.
SPECIAL_TOKENS = [
    ("bos", "<｜hy_begin▁of▁sentence｜>"),
    ("eos", "<｜hy_end▁of▁sentence｜>"),
    ("pad", "<｜hy_place▁holder▁no▁2｜>"),
    ("user", "<｜hy_User｜>"),
    ("assistant", "<｜hy_Assistant｜>"),
    ("sys_end", "<｜hy_place▁holder▁no▁3｜>"),
]
# The full layout: offsets from special_base (HY-1.8B: bos 120000, pad 120002, eos 120025,
# eod 120026). Every other id of the block is "<｜hy_place▁holder▁no▁K｜>", K = offset.
HY_SPECIAL_IDS = {
    "bos": (0, "<｜hy_begin▁of▁sentence｜>"),
    "pad": (2, "<｜hy_place▁holder▁no▁2｜>"),
    "sys_end": (3, "<｜hy_place▁holder▁no▁3｜>"),
    "user": (6, "<｜hy_User｜>"),
    "assistant": (7, "<｜hy_Assistant｜>"),
    "eos": (25, "<｜hy_end▁of▁sentence｜>"),
    "eod": (26, "<｜hy_place▁holder▁no▁26｜>"),
}

# llama.cpp token types.
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}<｜hy_begin▁of▁sentence｜>{{ m['content'] }}<｜hy_place▁holder▁no▁3｜>"
    "{% elif m['role'] == 'user' %}<｜hy_User｜>{{ m['content'] }}"
    "{% else %}<｜hy_Assistant｜>{{ m['content'] }}<｜hy_end▁of▁sentence｜>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<｜hy_Assistant｜>{% endif %}"
)

LICENSE_DIR = "/usr/share/common-licenses"

# ASCII stand-in for the hunyuan-dense pre-tokenizer split, used only to learn merges:
# letters with one optional leading non-letter, up to 3 digits, punctuation runs, newlines,
# other whitespace.
_PRETOKENIZE = re.compile(
    r"[^\r\n\w]?[^\W\d_]+|\d{1,3}| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def rope_freq_base(head_dim):
    return 10000.0 * 1000.0 ** (head_dim / (head_dim - 2))


def byte_to_unicode():
    """GPT-2's reversible byte -> printable char map: printable Latin-1 bytes keep their code
    point, the other 68 bytes are moved, in byte order, to U+0100 and up."""
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAC + 1)) | set(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _stdlib_sources():
    """The Python standard library's own .py files (docstrings, comments, pydoc topics and the
    code itself), without test suites and installed third-party packages, in sorted order."""
    import sysconfig
    root = sysconfig.get_paths()["stdlib"]
    skip = {"test", "tests", "idle_test", "__pycache__", "site-packages", "dist-packages"}
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in skip and not x.startswith("config-"))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
    return out


def corpus_files(corpus):
    """Paths of the text a tokenizer is learned from, in a fixed order.

    licenses: GPL-3 and Apache-2.0 from /usr/share/common-licenses (fast; the tiny model).
    debian:   every file in /usr/share/common-licenses, every /usr/share/doc/*/copyright, and
              the Python standard library sources; what a Debian machine with python3 ships,
              so the learned vocabulary depends on the installed packages.
    """
    if corpus == "licenses":
        return [os.path.join(LICENSE_DIR, n) for n in ("GPL-3", "Apache-2.0")]
    if corpus != "debian":
        raise ValueError(f"unknown corpus {corpus}")
    import glob
    files = sorted(p for p in glob.glob(os.path.join(LICENSE_DIR, "*")) if os.path.isfile(p))
    files += sorted(glob.glob("/usr/share/doc/*/copyright"))
    return files + _stdlib_sources()


def read_corpus(corpus):
    """-> (text, description). Files with identical bytes (licenses repeated in many copyright
    files, symlinks) count once; undecodable bytes survive as surrogate escapes, so the BPE
    sees the original bytes."""
    import hashlib
    seen, parts, total = set(), [], hashlib.sha256()
    for p in corpus_files(corpus):
        try:
            with open(p, "rb") as f:
                b = f.read()
        except OSError:
            continue
        h = hashlib.sha256(b).digest()
        if h in seen:
            continue
        seen.add(h)
        total.update(h)
        parts.append(b.decode("utf-8", errors="surrogateescape"))
    text = "\n".join(parts)
    if not parts:  # off Debian: still deterministic, just a small vocabulary
        text = __doc__
    desc = f"{corpus}: {len(parts)} files, {len(text)} chars, sha256 {total.hexdigest()[:16]}"
    return text, desc


def learn_bpe(text, n_new_tokens):
    """Byte-level BPE on `text`: returns (new token strings, merges "a b"), stopping when
    n_new_tokens distinct tokens exist or no pair occurs twice.

    Each merge picks the most frequent adjacent pair, ties going to the lexicographically
    smallest, so the result is deterministic. A heap with lazy invalidation finds that pair,
    and only words holding it are rewritten: a pair's count can only grow when a merge
    creates its new token next to it, and those pairs are pushed again after each merge.
    """
    b2u = byte_to_unicode()
    freq = Counter(_PRETOKENIZE.findall(text))
    words = [[b2u[b] for b in w.encode("utf-8", errors="surrogateescape")] for w in freq]
    counts = list(freq.values())
    pair_count, where = Counter(), {}
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += counts[i]
            where.setdefault(p, set()).add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    known = set(b2u.values())
    new_tokens, merges = [], []
    while len(new_tokens) < n_new_tokens and heap:
        neg, best = heapq.heappop(heap)
        c = pair_count.get(best, 0)
        if c != -neg:  # stale entry: counts only fell since it was pushed
            if c > 0:
                heapq.heappush(heap, (-c, best))
            continue
        if c < 2:
            break
        a, b = best
        ab = a + b
        merges.append(f"{a} {b}")
        if ab not in known:  # two different merges can spell the same token
            known.add(ab)
            new_tokens.append(ab)
        grown = set()
        for i in sorted(where.pop(best)):
            w, out, k = words[i], [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    out.append(ab)
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            if len(out) == len(w):  # the pair left this word in an earlier merge
                continue
            ci = counts[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= ci
            for p in zip(out, out[1:]):
                pair_count[p] += ci
                where.setdefault(p, set()).add(i)
                if ab in p:
                    grown.add(p)
            words[i] = out
        del pair_count[best]
        for p in sorted(grown):
            heapq.heappush(heap, (-pair_count[p], p))
    return new_tokens, merges


def build_tokenizer(vocab_size, corpus="licenses", special_base=None):
    """-> tokens, token types, merges, {role: id} for the special tokens, corpus description.

    The 256 byte tokens come first (id b = byte b), then the learned merges' tokens, then
    placeholder control tokens up to the special block, then the special tokens.
    """
    b2u = byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    if special_base is None:
        first_special = vocab_size - len(SPECIAL_TOKENS)
    else:
        first_special = special_base
        if max(off for off, _ in HY_SPECIAL_IDS.values()) >= vocab_size - special_base:
            raise ValueError(f"vocab_size {vocab_size} leaves no room for HY's special ids")
    n_fill = first_special - 256
    if n_fill < 0:
        raise ValueError(f"vocab_size {vocab_size} is too small for bytes + special tokens")
    text, desc = read_corpus(corpus)
    learned, merges = learn_bpe(text, n_fill)
    tokens += learned
    types = [TOKEN_NORMAL] * len(tokens)
    ids = {}
    if special_base is None:
        k = 4  # placeholder numbers 2 and 3 are taken by the specials
        while len(tokens) < first_special:
            tokens.append(f"<｜hy_place▁holder▁no▁{k}｜>")
            types.append(TOKEN_CONTROL)
            k += 1
        for role, tok in SPECIAL_TOKENS:
            ids[role] = len(tokens)
            tokens.append(tok)
            types.append(TOKEN_CONTROL)
    else:
        named = {off: (role, tok) for role, (off, tok) in HY_SPECIAL_IDS.items()}
        # Fillers below the block are numbered after it, so no placeholder name repeats.
        k = vocab_size - special_base
        while len(tokens) < first_special:
            tokens.append(f"<｜hy_place▁holder▁no▁{k}｜>")
            types.append(TOKEN_CONTROL)
            k += 1
        for off in range(vocab_size - special_base):
            role, tok = named.get(off, (None, f"<｜hy_place▁holder▁no▁{off}｜>"))
            if role:
                ids[role] = len(tokens)
            tokens.append(tok)
            types.append(TOKEN_CONTROL)
    assert len(tokens) == vocab_size and len(set(tokens)) == vocab_size
    return tokens, types, merges, ids, desc


def _rows_per_chunk(row_len, budget=1 << 22):
    return max(1, budget // row_len)


def _q2_0c_producer(rng, rows, cols):
    """Uniform codes with one fp16 scale per row; drawn in fixed row chunks so memory stays
    bounded (the chunking is fixed, so the bytes depend only on the generator's seed)."""
    def gen():
        u = rng.uniform(0.6, 1.4, size=rows)
        d = (u / math.sqrt(5.0 * cols)).astype(np.float16)
        step = _rows_per_chunk(cols)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            codes = rng.integers(0, 4, size=(r1 - r0, cols), dtype=np.uint8)
            yield pack_q2_0c(codes, d[r0:r1])
    return gen


def pack_tq2_0(codes, d):
    """codes uint8 [rows, n] in 0..2, d [rows, n/256] scales -> uint8 [rows, bytes] (ggml's
    TQ2_0: per block the 64 code bytes, byte p holding elements 128 (p // 32) + 32 j + p % 32
    in bits 2j..2j+1, then fp16 d)."""
    codes = np.asarray(codes, dtype=np.uint8)
    rows, n = codes.shape
    if n % 256:
        raise ValueError(f"TQ2_0 needs a row length that is a multiple of 256, got {n}")
    nb = n // 256
    c = codes.reshape(rows, nb, 2, 4, 32)  # [.., half, j, l]
    out = np.empty((rows, nb, 66), dtype=np.uint8)
    packed = c[:, :, :, 0] | (c[:, :, :, 1] << 2) | (c[:, :, :, 2] << 4) | (c[:, :, :, 3] << 6)
    out[:, :, :64] = packed.reshape(rows, nb, 64)
    out[:, :, 64:] = np.asarray(d, dtype="<f2").reshape(rows, nb).view(np.uint8).reshape(rows, nb, 2)
    return out.reshape(rows, nb * 66)


def _tq2_0_producer(rng, rows, cols):
    """Ternary codes, uniform over {-1, 0, 1}, with an fp16 scale per block of 256 (variance
    of a weight 2/3 d^2; d ~ u / sqrt(2/3 * cols) keeps activations O(1))."""
    def gen():
        step = _rows_per_chunk(cols)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            u = rng.uniform(0.6, 1.4, size=(r1 - r0, cols // 256))
            d = (u / math.sqrt(2.0 / 3.0 * cols)).astype(np.float16)
            codes = rng.integers(0, 3, size=(r1 - r0, cols), dtype=np.uint8)
            yield pack_tq2_0(codes, d)
    return gen


def _embd_producer(rng, rows, cols, std, ggml_type):
    """N(0, std^2) drawn in float32, stored as F32, F16 or Q8_0 (the same draws for all)."""
    def gen():
        step = _rows_per_chunk(cols)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            x = rng.standard_normal((r1 - r0, cols), dtype=np.float32) * std
            if ggml_type == GGML_F16:
                yield x.astype("<f2")
            elif ggml_type == GGML_F32:
                yield x.astype("<f4")
            else:
                yield quantize_q8_0(x)
    return gen


def _norm_producer(rng, n):
    return lambda: [(1.0 + 0.1 * rng.standard_normal(n)).astype("<f4")]


class ModelSpec:
    """Everything write_model() puts into a file: .kv [(key, vtype, value, elem_type)],
    .tensors [(name, numpy shape, ggml type, producer)], .ids (special token ids),
    .corpus (tokenizer corpus description). Producers are fresh: a new spec regenerates
    the same bytes, which is how verify_model() checks a file."""

    def __init__(self, config, seed=0, embd_type=None, skip_tensors=(), linear_type="q2_0c"):
        c = CONFIGS[config]
        if linear_type not in LINEAR_TYPES:
            raise ValueError(f"--linear-type must be one of {sorted(LINEAR_TYPES)}, "
                             f"got {linear_type}")
        LT = LINEAR_TYPES[linear_type]
        embd_type = embd_type or c["embd_type"]
        if embd_type not in EMBD_TYPES:
            raise ValueError(f"--embd-type must be one of {sorted(EMBD_TYPES)}, got {embd_type}")
        L, E, H, KV, D = (c["block_count"], c["embedding_length"], c["head_count"],
                          c["head_count_kv"], c["head_dim"])
        F, V = c["feed_forward_length"], c["vocab_size"]
        kv = [("general.architecture", VT_STRING, ARCH, None),
              ("general.name", VT_STRING, c["name"], None),
              ("general.alignment", VT_UINT32, ALIGNMENT, None)]
        p = ARCH + "."
        for key, val in [("block_count", L), ("context_length", c["context_length"]),
                         ("embedding_length", E), ("feed_forward_length", F),
                         ("attention.head_count", H), ("attention.head_count_kv", KV),
                         ("attention.key_length", D), ("attention.value_length", D)]:
            kv.append((p + key, VT_UINT32, val, None))
        kv += [(p + "attention.layer_norm_rms_epsilon", VT_FLOAT32, c["rms_eps"], None),
               (p + "rope.freq_base", VT_FLOAT32, rope_freq_base(D), None),
               (p + "rope.dimension_count", VT_UINT32, D, None),
               (p + "vocab_size", VT_UINT32, V, None)]

        tokens, types, merges, ids, desc = build_tokenizer(V, c["corpus"], c["special_base"])
        kv += [("tokenizer.ggml.model", VT_STRING, "gpt2", None),
               ("tokenizer.ggml.pre", VT_STRING, ARCH, None),
               ("tokenizer.ggml.tokens", VT_ARRAY, tokens, VT_STRING),
               ("tokenizer.ggml.token_type", VT_ARRAY, types, VT_INT32),
               ("tokenizer.ggml.merges", VT_ARRAY, merges, VT_STRING),
               ("tokenizer.ggml.bos_token_id", VT_UINT32, ids["bos"], None),
               ("tokenizer.ggml.eos_token_id", VT_UINT32, ids["eos"], None),
               ("tokenizer.ggml.padding_token_id", VT_UINT32, ids["pad"], None),
               ("tokenizer.chat_template", VT_STRING, CHAT_TEMPLATE, None)]

        # (name, numpy shape, type, kind); kind picks the synthetic distribution.
        specs = [("token_embd.weight", (V, E), EMBD_TYPES[embd_type], "embd"),
                 ("output_norm.weight", (E,), GGML_F32, "norm")]
        for i in range(L):
            b = f"blk.{i}."
            specs += [(b + "attn_norm.weight", (E,), GGML_F32, "norm"),
                      (b + "attn_q.weight", (H * D, E), LT, "q2"),
                      (b + "attn_k.weight", (KV * D, E), LT, "q2"),
                      (b + "attn_v.weight", (KV * D, E), LT, "q2"),
                      (b + "attn_q_norm.weight", (D,), GGML_F32, "norm"),
                      (b + "attn_k_norm.weight", (D,), GGML_F32, "norm"),
                      (b + "attn_output.weight", (E, H * D), LT, "q2"),
                      (b + "ffn_norm.weight", (E,), GGML_F32, "norm"),
                      (b + "ffn_gate.weight", (F, E), LT, "q2"),
                      (b + "ffn_up.weight", (F, E), LT, "q2"),
                      (b + "ffn_down.weight", (E, F), LT, "q2")]
        # One independent generator per tensor: streaming order and chunking can't shift values.
        children = np.random.SeedSequence(seed).spawn(len(specs))
        tensors = []
        for (name, shape, gtype, kind), ss in zip(specs, children):
            if name in skip_tensors:
                continue
            rng = np.random.default_rng(ss)
            if kind == "embd":
                prod = _embd_producer(rng, shape[0], shape[1], 0.05, gtype)
            elif kind == "norm":
                prod = _norm_producer(rng, shape[0])
            elif gtype == GGML_TQ2_0:
                prod = _tq2_0_producer(rng, shape[0], shape[1])
            else:
                prod = _q2_0c_producer(rng, shape[0], shape[1])
            tensors.append((name, shape, gtype, prod))
        self.kv, self.tensors, self.ids, self.corpus = kv, tensors, ids, desc
        self.embd_type = embd_type


def write_model(config, path, seed=0, skip_tensors=(), embd_type=None, linear_type="q2_0c"):
    """Writes the synthetic model; `skip_tensors` leaves tensors out (for error tests).
    Returns the special token ids."""
    spec = ModelSpec(config, seed, embd_type, skip_tensors, linear_type)
    w = GGUFWriter()
    for key, vtype, value, elem in spec.kv:
        w.add_kv(key, vtype, value, elem)
    for name, shape, gtype, prod in spec.tensors:
        w.add_tensor(name, shape, gtype, prod)
    w.write(path)
    return spec.ids


# ---------------------------------------------------------------------------------------------
# Verification against the gguf package
# ---------------------------------------------------------------------------------------------

def _gguf_readable_copy(path, ours, tmpdir):
    """gguf-py has no type 40, so gguf.GGUFReader cannot parse our files. This copies the file
    and rewrites each Q2_0C tensor's info as I8 [row bytes, rows] over the same bytes (sizes,
    offsets and data unchanged); returns the copy's path and the patched tensor names."""
    import shutil
    copy = os.path.join(tmpdir, "gguf_readable.gguf")
    shutil.copyfile(path, copy)
    patched = []
    with open(copy, "r+b") as f:
        for t in ours.tensors.values():
            if t.ggml_type != GGML_Q2_0C:
                continue
            f.seek(t.info_pos)
            (n_dims,) = struct.unpack("<I", f.read(4))
            ne = list(struct.unpack(f"<{n_dims}Q", f.read(8 * n_dims)))
            ne[0] = ne[0] // QK2_0C * (2 + QK2_0C // 4)
            f.seek(t.info_pos + 4)
            f.write(struct.pack(f"<{n_dims}Q", *ne) + struct.pack("<I", GGML_I8))
            patched.append(t.name)
    return copy, patched


def _same_value(vtype, elem, want, got):
    if vtype == VT_FLOAT32:
        return np.float32(want) == np.float32(got)
    if vtype == VT_ARRAY and elem == VT_FLOAT32:
        return np.array_equal(np.float32(want), np.float32(got))
    return want == got


def verify_model(path, config, seed=0, embd_type=None, log=print):
    """Checks that `path` holds exactly what write_model(config, seed, embd_type) writes, read
    back by the gguf package (metadata, tensor table, every non-Q2_0C tensor's bytes and
    dequantization) and by our reader (Q2_0C tensors: bytes, per-row scale, level set).
    Raises AssertionError naming the first difference."""
    import gguf

    spec = ModelSpec(config, seed, embd_type)
    ours = GGUFFile(path)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as tmp:
        copy, patched = _gguf_readable_copy(path, ours, tmp)
        ref = gguf.GGUFReader(copy)

        # Metadata: every key, in order, with its type and value.
        fields = [f for f in ref.fields.values() if not f.name.startswith("GGUF.")]
        assert [f.name for f in fields] == [k for k, *_ in spec.kv], "metadata keys/order differ"
        for (key, vtype, value, elem), field in zip(spec.kv, fields):
            assert int(field.types[0]) == vtype, f"{key}: gguf sees type {field.types[0]}"
            if vtype == VT_ARRAY:
                assert int(field.types[-1]) == elem, f"{key}: array element type differs"
            got = field.contents()
            assert _same_value(vtype, elem, value, got), f"{key}: gguf reads a different value"
            assert _same_value(vtype, elem, value, ours.metadata[key]), f"{key}: ours differs"
        log(f"verify: {len(fields)} metadata keys match (gguf.GGUFReader and ours)")

        # Tensor table, then the data, regenerated chunk by chunk from the same seeds.
        assert [t.name for t in ref.tensors] == [n for n, *_ in spec.tensors], "tensor list differs"
        n_q2 = n_other = 0
        for rt, (name, shape, gtype, prod) in zip(ref.tensors, spec.tensors):
            info = ours.tensors[name]
            assert info.ggml_type == gtype and info.shape == tuple(shape), f"{name}: {info}"
            assert rt.data_offset == ours.data_start + info.offset, f"{name}: offset differs"
            raw = ours.raw(name)
            if gtype == GGML_Q2_0C:
                assert name in patched and int(rt.tensor_type) == GGML_I8, name
                assert tuple(int(x) for x in rt.shape) == (raw.shape[1], raw.shape[0]), name
                theirs = rt.data.reshape(raw.shape).view(np.uint8)
            else:
                assert int(rt.tensor_type) == gtype, f"{name}: gguf sees {rt.tensor_type.name}"
                assert tuple(int(x) for x in rt.shape) == tuple(shape)[::-1], name
                theirs = rt.data.reshape(-1).view(np.uint8).reshape(raw.shape)
            r0 = 0
            for chunk in prod():
                b = np.frombuffer(chunk.tobytes(), dtype=np.uint8).reshape(-1, raw.shape[1])
                r1 = r0 + b.shape[0]
                assert np.array_equal(raw[r0:r1], b), f"{name}: rows {r0}..{r1} differ (ours)"
                assert np.array_equal(theirs[r0:r1], b), f"{name}: rows {r0}..{r1} differ (gguf)"
                if gtype == GGML_Q2_0C:
                    w = dequant_q2_0c(b, b.shape[0], shape[-1])
                    d = np.abs(w).min(axis=1, keepdims=True)  # per-row scale, levels d and 3d
                    assert np.all((np.abs(w) == d) | (np.abs(w) == 3 * d)), f"{name}: levels"
                else:
                    mine = ours.tensor(name, r0, r1) if len(shape) == 2 else ours.tensor(name)
                    qt = gguf.GGMLQuantizationType(gtype)
                    deq = gguf.quants.dequantize(theirs[r0:r1], qt).astype(np.float32)
                    assert np.array_equal(mine.reshape(deq.shape), deq), f"{name}: dequant differs"
                r0 = r1
            assert r0 == raw.shape[0], f"{name}: {r0} of {raw.shape[0]} rows regenerated"
            n_q2 += gtype == GGML_Q2_0C
            n_other += gtype != GGML_Q2_0C
        log(f"verify: {n_other} tensors match via gguf.GGUFReader + gguf.quants.dequantize, "
            f"{n_q2} Q2_0C tensors via our reader (and as raw bytes via gguf)")
    return spec


# ---------------------------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------------------------

def selftest():
    import gguf  # only the cross-check needs the package

    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Types gguf knows: compare our reader with gguf.GGUFReader.
        path = os.path.join(tmp, "known.gguf")
        f32 = rng.standard_normal((3, 40)).astype(np.float32)
        f16 = rng.standard_normal((5, 7)).astype(np.float16)
        vec = rng.standard_normal(13).astype(np.float32)
        q8_src = rng.standard_normal((4, 64)).astype(np.float32)
        q8 = quantize_q8_0(q8_src)
        assert np.array_equal(q8, gguf.quants.quantize(q8_src, gguf.GGMLQuantizationType.Q8_0))
        raw_types = {}  # types we only store: random bytes, fp16 fields made finite
        for gt, fp16_at in [(GGML_Q2_K, [80, 82]), (GGML_Q4_K, [0, 2]), (GGML_Q6_K, [208]),
                            (GGML_TQ2_0, [64]), (GGML_BF16, [])]:
            _, blk, bsz = GGML_TYPES[gt]
            nb = 2 if blk > 1 else 64
            b = rng.integers(0, 256, size=(3, nb, bsz), dtype=np.uint8)
            for off in fp16_at:
                b[:, :, off:off + 2] = rng.uniform(-1, 1, (3, nb)).astype("<f2").view(
                    np.uint8).reshape(3, nb, 2)
            raw_types[gt] = (b.reshape(3, -1), (3, nb * blk))
        kvs = [("general.architecture", VT_STRING, "selftest", None),
               ("a.u8", VT_UINT8, 200, None), ("a.i8", VT_INT8, -5, None),
               ("a.u16", VT_UINT16, 60000, None), ("a.i16", VT_INT16, -30000, None),
               ("a.u32", VT_UINT32, 4000000000, None), ("a.i32", VT_INT32, -2000000000, None),
               ("a.f32", VT_FLOAT32, 0.5, None), ("a.bool", VT_BOOL, True, None),
               ("a.str", VT_STRING, "héllo ▁ wörld", None),
               ("a.u64", VT_UINT64, 2 ** 63 + 5, None), ("a.i64", VT_INT64, -2 ** 62, None),
               ("a.f64", VT_FLOAT64, 1.0 / 3.0, None),
               ("a.strs", VT_ARRAY, ["x", "", "Ġa b", "<｜hy_User｜>"], VT_STRING),
               ("a.ints", VT_ARRAY, [1, 3, -1, 1], VT_INT32),
               ("a.floats", VT_ARRAY, [0.25, -1.5], VT_FLOAT32)]
        w = GGUFWriter()
        for k, vt, v, et in kvs:
            w.add_kv(k, vt, v, et)
        w.add_tensor("t.f32", f32.shape, GGML_F32, f32)
        w.add_tensor("t.f16", f16.shape, GGML_F16, f16)
        w.add_tensor("t.vec", vec.shape, GGML_F32, vec)
        w.add_tensor("t.q8", q8_src.shape, GGML_Q8_0, q8)
        for gt, (b, shape) in raw_types.items():
            w.add_tensor("t." + GGML_TYPES[gt][0].lower(), shape, gt, b)
        w.write(path)

        ours = GGUFFile(path)
        for k, vt, v, et in kvs:
            assert ours.kv_types[k] == (vt, et), k
            got = ours.metadata[k]
            if vt == VT_FLOAT32 or et == VT_FLOAT32:
                assert np.allclose(got, v), (k, got, v)
            else:
                assert got == v, (k, got, v)
        assert ours.metadata["general.alignment"] == ALIGNMENT
        assert np.array_equal(ours.tensor("t.f32"), f32)
        assert np.array_equal(ours.tensor("t.f16"), f16.astype(np.float32))
        assert np.array_equal(ours.tensor("t.vec"), vec)
        q8_ours = ours.tensor("t.q8")
        assert np.abs(q8_ours - q8_src).max() < np.abs(q8_src).max() / 127 + 1e-6
        for gt, (b, shape) in raw_types.items():
            name = "t." + GGML_TYPES[gt][0].lower()
            assert np.array_equal(ours.raw(name), b), name

        ref = gguf.GGUFReader(path)
        for k, vt, v, et in kvs + [("general.alignment", VT_UINT32, ALIGNMENT, None)]:
            field = ref.fields[k]
            theirs = field.contents()
            mine = ours.metadata[k]
            if isinstance(mine, float) or (isinstance(mine, list) and mine and isinstance(mine[0], float)):
                assert np.allclose(theirs, mine), (k, theirs, mine)
            else:
                assert theirs == mine, (k, theirs, mine)
            assert int(field.types[0]) == vt, k
        assert len(ref.fields) == len(ours.metadata) + 3  # gguf also lists version/counts
        assert {t.name for t in ref.tensors} == set(ours.tensors)
        for t in ref.tensors:
            info = ours.tensors[t.name]
            assert int(t.tensor_type) == info.ggml_type, t.name
            assert tuple(int(x) for x in t.shape) == info.shape[::-1], t.name  # gguf keeps ne order
            assert t.data_offset == ours.data_start + info.offset, t.name
            theirs = gguf.quants.dequantize(t.data, t.tensor_type).reshape(info.shape)
            bits = np.ascontiguousarray(theirs, dtype=np.float32).view(np.uint32)
            assert np.array_equal(bits, ours.tensor(t.name).view(np.uint32)), t.name
        print("selftest: metadata and F32/F16/BF16/Q8_0/Q2_K/Q4_K/Q6_K/TQ2_0 tensors match "
              "gguf.GGUFReader; Q8_0 bytes equal gguf.quants.quantize")

        # 2. Q2_0C: bit layout against a scalar reading of the spec, and a round trip.
        rows, cols = 3, 1024
        codes = rng.integers(0, 4, size=(rows, cols), dtype=np.uint8)
        d = rng.uniform(0.01, 0.1, size=(rows, 2)).astype(np.float16)
        packed = pack_q2_0c(codes, d)
        assert packed.shape == (rows, 2 * 130)
        for r in range(rows):
            for i in (0, 1, 2, 3, 4, 257, 511, 512, 1023):
                blk = packed[r, (i // 512) * 130:(i // 512 + 1) * 130]
                dd = np.frombuffer(blk[:2].tobytes(), "<f2")[0]
                c = (int(blk[2 + (i % 512) // 4]) >> (2 * (i % 4))) & 3
                assert c == codes[r, i] and dd == d[r, i // 512]
        path2 = os.path.join(tmp, "q2.gguf")
        w = GGUFWriter()
        w.add_kv("general.architecture", VT_STRING, "selftest")
        w.add_tensor("t.q2", (rows, cols), GGML_Q2_0C, packed)
        w.add_tensor("t.f32", (1, 5), GGML_F32, np.arange(5, dtype=np.float32))
        w.write(path2)
        r2 = GGUFFile(path2)
        want = (2.0 * codes - 3.0) * np.repeat(d.astype(np.float32), 512, axis=1)
        assert np.array_equal(r2.tensor("t.q2"), want)
        assert np.array_equal(r2.tensor("t.q2", 1, 3), want[1:3])
        assert r2.tensors["t.f32"].offset % ALIGNMENT == 0
        assert np.array_equal(r2.tensor("t.f32"), np.arange(5, dtype=np.float32).reshape(1, 5))
        try:
            GGUFWriter().add_tensor("bad", (4, 500), GGML_Q2_0C, b"")
            raise AssertionError("row length 500 was accepted for Q2_0C")
        except ValueError as e:
            assert "multiple of 512" in str(e)
        print("selftest: Q2_0C packing, alignment and row-length check OK")

        # 3. The tiny model: deterministic, and the file says what the config says.
        p1, p2 = os.path.join(tmp, "a.gguf"), os.path.join(tmp, "b.gguf")
        write_model("tiny", p1, seed=0)
        write_model("tiny", p2, seed=0)
        assert open(p1, "rb").read() == open(p2, "rb").read(), "tiny model is not deterministic"
        m = GGUFFile(p1)
        md, c = m.metadata, CONFIGS["tiny"]
        assert md["general.architecture"] == ARCH
        assert md[ARCH + ".block_count"] == c["block_count"]
        assert md[ARCH + ".vocab_size"] == len(md["tokenizer.ggml.tokens"]) == c["vocab_size"]
        assert md["tokenizer.ggml.token_type"][md["tokenizer.ggml.bos_token_id"]] == 3
        tokset = set(md["tokenizer.ggml.tokens"])
        for mg in md["tokenizer.ggml.merges"]:
            a, b = mg.split(" ")
            assert a in tokset and b in tokset and a + b in tokset, mg
        assert m.tensors["token_embd.weight"].ggml_type == GGML_F16  # tiny's default
        q = m.tensor("blk.0.attn_q.weight")
        assert q.shape == (c["head_count"] * c["head_dim"], c["embedding_length"])
        assert len(set(np.abs(q[5]).tolist())) == 2  # one scale per row: levels d and 3d
        gain = np.sqrt((q ** 2).sum(axis=1))
        assert 0.5 < gain.min() and gain.max() < 1.5, (gain.min(), gain.max())
        assert "output.weight" not in m.tensors
        print(f"selftest: tiny model deterministic, {os.path.getsize(p1)} bytes")

        # 4. BPE: the heap learner gives the merges of the obvious quadratic algorithm.
        text = open(corpus_files("licenses")[0], encoding="utf-8").read()[:20000] \
            if os.path.exists(corpus_files("licenses")[0]) else __doc__
        toks, merges = learn_bpe(text, 300)
        assert merges == _learn_bpe_naive(text, 300), "heap BPE differs from the naive one"
        print(f"selftest: BPE heap learner == naive learner ({len(merges)} merges)")

        # 5. verify_model() accepts a good file and names the first corrupted byte range.
        verify_model(p1, "tiny", log=lambda *_: None)
        bad = os.path.join(tmp, "bad.gguf")
        m = GGUFFile(p1)
        for tname, off in [("blk.1.ffn_up.weight", 77), ("token_embd.weight", 5)]:
            data = bytearray(open(p1, "rb").read())
            data[m.data_start + m.tensors[tname].offset + off] ^= 0x10
            open(bad, "wb").write(data)
            try:
                verify_model(bad, "tiny", log=lambda *_: None)
                raise AssertionError(f"a flipped bit in {tname} went unnoticed")
            except AssertionError as e:
                assert tname in str(e), e
        print("selftest: verify_model accepts the tiny model and catches flipped bits")
    print("selftest: OK")


def _learn_bpe_naive(text, n_new_tokens):
    """Reference for the self-test: recount every pair before each merge."""
    b2u = byte_to_unicode()
    freq = Counter(_PRETOKENIZE.findall(text))
    words = [[b2u[b] for b in w.encode("utf-8", errors="surrogateescape")] for w in freq]
    counts = list(freq.values())
    known, new, merges = set(b2u.values()), 0, []
    while new < n_new_tokens:
        pc = Counter()
        for w, c in zip(words, counts):
            for p in zip(w, w[1:]):
                pc[p] += c
        if not pc:
            break
        best = min(pc, key=lambda p: (-pc[p], p))
        if pc[best] < 2:
            break
        a, b = best
        merges.append(f"{a} {b}")
        if a + b not in known:
            known.add(a + b)
            new += 1
        for i, w in enumerate(words):
            out, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            words[i] = out
    return merges


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def _info(path):
    m = GGUFFile(path)
    for k, v in m.metadata.items():
        if isinstance(v, list):
            v = f"[{len(v)} items] " + repr(v[:6])[:100]
        print(f"{k} = {v}")
    for t in m.tensors.values():
        print(f"  {t!r} @ {t.offset}")


def _roundtrip(config, seed):
    """Writes `config` once per embedding type into a temporary directory and verifies each."""
    with tempfile.TemporaryDirectory() as tmp:
        for et in sorted(EMBD_TYPES):
            path = os.path.join(tmp, f"{config}-{et}.gguf")
            write_model(config, path, seed, embd_type=et)
            verify_model(path, config, seed, et, log=lambda msg: print(f"[{et}] {msg}"))
    print(f"roundtrip: {config} with --embd-type {', '.join(sorted(EMBD_TYPES))}: OK")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="run the self-test and exit")
    sub = ap.add_subparsers(dest="cmd")
    embd_help = ("embedding (token_embd) storage type; default: q8_0 for --config full, f16 for "
                 "--config tiny (the e2e tests rely on tiny's f16)")
    wp = sub.add_parser("write", help="write a synthetic hunyuan-dense model")
    wp.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    wp.add_argument("-o", "--output", required=True)
    wp.add_argument("--seed", type=int, default=0)
    wp.add_argument("--embd-type", choices=sorted(EMBD_TYPES), help=embd_help)
    wp.add_argument("--linear-type", choices=sorted(LINEAR_TYPES), default="q2_0c",
                    help="linear layers' storage type (default q2_0c, the model's)")
    vp = sub.add_parser("verify", help="check a written model against the gguf package "
                        "(regenerates every tensor from the same config, seed and embd type)")
    vp.add_argument("file")
    vp.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    vp.add_argument("--seed", type=int, default=0)
    vp.add_argument("--embd-type", choices=sorted(EMBD_TYPES), help=embd_help)
    rp = sub.add_parser("roundtrip", help="write + verify once per --embd-type (temporary files)")
    rp.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    rp.add_argument("--seed", type=int, default=0)
    ip = sub.add_parser("info", help="print a GGUF file's metadata and tensors")
    ip.add_argument("file")
    args = ap.parse_args(argv)
    if args.selftest:
        selftest()
    elif args.cmd == "write":
        import time
        t0 = time.monotonic()
        ids = write_model(args.config, args.output, args.seed, embd_type=args.embd_type,
                          linear_type=args.linear_type)
        print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes) in "
              f"{time.monotonic() - t0:.1f} s, special ids {ids}")
    elif args.cmd == "verify":
        spec = verify_model(args.file, args.config, args.seed, args.embd_type)
        print(f"verify: OK ({args.config}, seed {args.seed}, embd {spec.embd_type}; "
              f"tokenizer corpus {spec.corpus})")
    elif args.cmd == "roundtrip":
        _roundtrip(args.config, args.seed)
    elif args.cmd == "info":
        _info(args.file)
    else:
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
