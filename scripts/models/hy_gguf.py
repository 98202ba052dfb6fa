# hy_gguf: minimal GGUF v3 writer/reader (incl. Q2_0C) and a synthetic hunyuan-dense model writer.
"""Minimal GGUF v3 reader/writer for hyc, and a writer of synthetic HY-1.8B-2Bit models.

Why our own: the `gguf` package has no tensor type id 40 (Q2_0C), the 2-bit format of
HY-1.8B-2Bit, so it can neither write nor dequantize the model's linear weights.

File layout (GGUF v3, little-endian): "GGUF", u32 version 3, u64 tensor_count, u64 kv_count,
kv entries, tensor infos (name, u32 n_dims, u64 ne[] with ne[0] = row length, i.e. numpy's
shape reversed, u32 ggml type, u64 offset), then the data section aligned to
general.alignment (32); every tensor's data starts on a multiple of 32 from the section start.

Tensor types:
  F32   (0)   plain float32
  F16   (1)   plain float16
  Q8_0  (8)   blocks of 32 weights: fp16 d, 32 x int8 q; w = q * d
  Q2_0C (40)  blocks of 512 weights along a row: fp16 d, 128 bytes qs (130 bytes per block);
              weight i has code c = (qs[i//4] >> 2*(i%4)) & 3 and value (2c-3)*d, i.e. the
              levels {-3,-1,+1,+3}*d (no zero)

Synthetic model configs (CONFIGS below):
  tiny  block_count 2, embedding_length 512, head_count 8, head_count_kv 2, head_dim 64
        (key_length = value_length = 64), feed_forward_length 1024, vocab 512,
        context_length 256, rms eps 1e-5, rope.dimension_count 64
  full  the HY-1.8B shape: 32 layers, hidden 2048, 16 heads, 4 kv heads, head_dim 128,
        FFN 6144, vocab 120818, context 32768, rms eps 1e-5
  Both: rope.freq_base = 10000 * 1000 ** (head_dim / (head_dim - 2)), i.e. the dynamic-NTK
  (alpha 1000) pre-scaled base that llama.cpp writes for hunyuan-dense (~1.1159e7 at
  head_dim 128, ~1.2497e7 at head_dim 64).

Synthetic weights (numpy shape [rows, row_len]; each tensor draws from its own generator
spawned from SeedSequence(seed), so the file is a pure function of (config, seed)):
  token_embd.weight F16 N(0, 0.05^2); tied lm_head (no output.weight)
  all RMSNorm weights F32 1 + 0.1*N(0,1) (so using the wrong one shows)
  linear weights Q2_0C, uniform codes, one fp16 scale per row d = u / sqrt(5*in),
  u ~ U[0.6, 1.4] (E[w^2] = 5 d^2, so each row has ~unit gain)

Tokenizer ("gpt2" byte-level BPE, pre "hunyuan-dense"): the 256 byte tokens first, in byte
order (token id b = byte b, spelled with the GPT-2 byte-to-unicode map), then BPE merges
learned from the license texts in /usr/share/common-licenses (GPL-3, Apache-2.0), then (full
only, once the text has no more pairs seen twice) "<｜hy_place▁holder▁no▁N｜>" control
tokens, and the six HY special tokens at the very end (see SPECIAL_TOKENS; for tiny:
bos 506, eos 507, pad 508).

CLI:
  python hy_gguf.py write --config tiny -o tiny.gguf [--seed 0]
  python hy_gguf.py info FILE          (metadata and tensor list)
  python hy_gguf.py --selftest
"""

import argparse
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

# ggml tensor types: id -> (name, weights per block, bytes per block).
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q2_0C = 0, 1, 8, 40
GGML_TYPES = {
    GGML_F32: ("F32", 1, 4),
    GGML_F16: ("F16", 1, 2),
    GGML_Q8_0: ("Q8_0", 32, 2 + 32),
    GGML_Q2_0C: ("Q2_0C", 512, 2 + 128),
}
QK2_0C = 512


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
    """float [rows, n] -> uint8 [rows, bytes]; only used to exercise the reader on Q8_0."""
    x = np.asarray(x, dtype=np.float32)
    rows, n = x.shape
    if n % 32:
        raise ValueError(f"Q8_0 needs a row length that is a multiple of 32, got {n}")
    b = x.reshape(rows, n // 32, 32)
    d = (np.abs(b).max(axis=-1, keepdims=True) / 127.0).astype(np.float16)
    inv = np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1, d.astype(np.float32)))
    q = np.clip(np.rint(b * inv), -127, 127).astype(np.int8)
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
            (n_dims,) = self._unpack("<I")
            ne = self._unpack(f"<{n_dims}Q")
            gtype, off = self._unpack("<IQ")
            if gtype not in GGML_TYPES:
                raise ValueError(f"{path}: tensor {name} has unsupported ggml type {gtype}")
            self.tensors[name] = TensorInfo(name, tuple(ne[::-1]), gtype, off)
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
        elif t.ggml_type == GGML_Q8_0:
            out = dequant_q8_0(raw, rows, n)
        elif t.ggml_type == GGML_Q2_0C:
            out = dequant_q2_0c(raw, rows, n)
        else:
            raise ValueError(f"no dequantizer for {t}")
        if row_start == 0 and row_stop is None:
            return out.reshape(t.shape)
        return out.reshape(rows, n)


# ---------------------------------------------------------------------------------------------
# Synthetic hunyuan-dense model
# ---------------------------------------------------------------------------------------------

ARCH = "hunyuan-dense"

CONFIGS = {
    "tiny": dict(name="hy-tiny", block_count=2, embedding_length=512, head_count=8,
                 head_count_kv=2, head_dim=64, feed_forward_length=1024, vocab_size=512,
                 context_length=256, rms_eps=1e-5),
    "full": dict(name="hy-1.8b-synthetic", block_count=32, embedding_length=2048, head_count=16,
                 head_count_kv=4, head_dim=128, feed_forward_length=6144, vocab_size=120818,
                 context_length=32768, rms_eps=1e-5),
}

# HY special tokens, placed at the end of the vocabulary in this order.
SPECIAL_TOKENS = [
    ("bos", "<｜hy_begin▁of▁sentence｜>"),
    ("eos", "<｜hy_end▁of▁sentence｜>"),
    ("pad", "<｜hy_place▁holder▁no▁2｜>"),
    ("user", "<｜hy_User｜>"),
    ("assistant", "<｜hy_Assistant｜>"),
    ("sys_end", "<｜hy_place▁holder▁no▁3｜>"),
]

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}<｜hy_begin▁of▁sentence｜>{{ m['content'] }}<｜hy_place▁holder▁no▁3｜>"
    "{% elif m['role'] == 'user' %}<｜hy_User｜>{{ m['content'] }}"
    "{% else %}<｜hy_Assistant｜>{{ m['content'] }}<｜hy_end▁of▁sentence｜>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<｜hy_Assistant｜>{% endif %}"
)

CORPUS_FILES = ["/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"]

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


def learn_bpe(text, n_new_tokens):
    """Byte-level BPE on `text`: returns (new token strings, merges "a b"), stopping when
    n_new_tokens distinct tokens exist or no pair occurs twice.

    Pair counts are kept incrementally (only words holding the merged pair are revisited),
    ties go to the lexicographically smallest pair, so the result is deterministic.
    """
    b2u = byte_to_unicode()
    freq = Counter(_PRETOKENIZE.findall(text))
    words = [[b2u[b] for b in w.encode("utf-8")] for w in freq]
    counts = [freq[w] for w in freq]
    pair_count, pair_words = Counter(), {}

    def account(i, sign):
        w = words[i]
        for p in zip(w, w[1:]):
            pair_count[p] += sign * counts[i]
            if sign > 0:
                pair_words.setdefault(p, set()).add(i)

    for i in range(len(words)):
        account(i, +1)
    known = set(b2u.values())
    new_tokens, merges = [], []
    while len(new_tokens) < n_new_tokens:
        best = min((p for p, c in pair_count.items() if c > 0), default=None,
                   key=lambda p: (-pair_count[p], p))
        if best is None or pair_count[best] < 2:
            break
        a, b = best
        merges.append(f"{a} {b}")
        if a + b not in known:  # two different merges can spell the same token
            known.add(a + b)
            new_tokens.append(a + b)
        for i in sorted(pair_words.pop(best)):
            account(i, -1)
            w, out, k = words[i], [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            words[i] = out
            account(i, +1)
        pair_count.pop(best, None)
    return new_tokens, merges


def build_tokenizer(vocab_size):
    """-> tokens, token types, merges, {role: id} for the special tokens."""
    b2u = byte_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    n_special = len(SPECIAL_TOKENS)
    n_fill = vocab_size - 256 - n_special
    if n_fill < 0:
        raise ValueError(f"vocab_size {vocab_size} is too small for bytes + special tokens")
    paths = [p for p in CORPUS_FILES if os.path.exists(p)]
    # Fallback keeps the tool working off Debian; the model is then still deterministic per host.
    text = "".join(open(p, encoding="utf-8").read() for p in paths) if paths else __doc__
    learned, merges = learn_bpe(text, n_fill)
    tokens += learned
    types = [1] * len(tokens)
    k = 4  # placeholder numbers 2 and 3 are taken by the specials
    while len(tokens) < vocab_size - n_special:
        tokens.append(f"<｜hy_place▁holder▁no▁{k}｜>")
        types.append(3)
        k += 1
    ids = {}
    for role, tok in SPECIAL_TOKENS:
        ids[role] = len(tokens)
        tokens.append(tok)
        types.append(3)
    assert len(tokens) == vocab_size and len(set(tokens)) == vocab_size
    return tokens, types, merges, ids


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


def _f16_normal_producer(rng, rows, cols, std):
    def gen():
        step = _rows_per_chunk(cols)
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            yield (rng.standard_normal((r1 - r0, cols), dtype=np.float32) * std).astype("<f2")
    return gen


def _norm_producer(rng, n):
    return lambda: [(1.0 + 0.1 * rng.standard_normal(n)).astype("<f4")]


def write_model(config, path, seed=0, skip_tensors=()):
    """Writes the synthetic model; `skip_tensors` leaves tensors out (for error tests)."""
    c = CONFIGS[config]
    L, E, H, KV, D = (c["block_count"], c["embedding_length"], c["head_count"],
                      c["head_count_kv"], c["head_dim"])
    F, V = c["feed_forward_length"], c["vocab_size"]
    w = GGUFWriter()
    w.add_kv("general.architecture", VT_STRING, ARCH)
    w.add_kv("general.name", VT_STRING, c["name"])
    w.add_kv("general.alignment", VT_UINT32, ALIGNMENT)
    p = ARCH + "."
    for key, val in [("block_count", L), ("context_length", c["context_length"]),
                     ("embedding_length", E), ("feed_forward_length", F),
                     ("attention.head_count", H), ("attention.head_count_kv", KV),
                     ("attention.key_length", D), ("attention.value_length", D)]:
        w.add_kv(p + key, VT_UINT32, val)
    w.add_kv(p + "attention.layer_norm_rms_epsilon", VT_FLOAT32, c["rms_eps"])
    w.add_kv(p + "rope.freq_base", VT_FLOAT32, rope_freq_base(D))
    w.add_kv(p + "rope.dimension_count", VT_UINT32, D)
    w.add_kv(p + "vocab_size", VT_UINT32, V)

    tokens, types, merges, ids = build_tokenizer(V)
    w.add_kv("tokenizer.ggml.model", VT_STRING, "gpt2")
    w.add_kv("tokenizer.ggml.pre", VT_STRING, ARCH)
    w.add_kv("tokenizer.ggml.tokens", VT_ARRAY, tokens, VT_STRING)
    w.add_kv("tokenizer.ggml.token_type", VT_ARRAY, types, VT_INT32)
    w.add_kv("tokenizer.ggml.merges", VT_ARRAY, merges, VT_STRING)
    w.add_kv("tokenizer.ggml.bos_token_id", VT_UINT32, ids["bos"])
    w.add_kv("tokenizer.ggml.eos_token_id", VT_UINT32, ids["eos"])
    w.add_kv("tokenizer.ggml.padding_token_id", VT_UINT32, ids["pad"])
    w.add_kv("tokenizer.chat_template", VT_STRING, CHAT_TEMPLATE)

    # (name, numpy shape, type, kind); kind picks the synthetic distribution.
    specs = [("token_embd.weight", (V, E), GGML_F16, "embd"),
             ("output_norm.weight", (E,), GGML_F32, "norm")]
    for i in range(L):
        b = f"blk.{i}."
        specs += [(b + "attn_norm.weight", (E,), GGML_F32, "norm"),
                  (b + "attn_q.weight", (H * D, E), GGML_Q2_0C, "q2"),
                  (b + "attn_k.weight", (KV * D, E), GGML_Q2_0C, "q2"),
                  (b + "attn_v.weight", (KV * D, E), GGML_Q2_0C, "q2"),
                  (b + "attn_q_norm.weight", (D,), GGML_F32, "norm"),
                  (b + "attn_k_norm.weight", (D,), GGML_F32, "norm"),
                  (b + "attn_output.weight", (E, H * D), GGML_Q2_0C, "q2"),
                  (b + "ffn_norm.weight", (E,), GGML_F32, "norm"),
                  (b + "ffn_gate.weight", (F, E), GGML_Q2_0C, "q2"),
                  (b + "ffn_up.weight", (F, E), GGML_Q2_0C, "q2"),
                  (b + "ffn_down.weight", (E, F), GGML_Q2_0C, "q2")]
    # One independent generator per tensor: streaming order and chunking can't shift values.
    children = np.random.SeedSequence(seed).spawn(len(specs))
    for (name, shape, gtype, kind), ss in zip(specs, children):
        if name in skip_tensors:
            continue
        rng = np.random.default_rng(ss)
        if kind == "embd":
            prod = _f16_normal_producer(rng, shape[0], shape[1], 0.05)
        elif kind == "norm":
            prod = _norm_producer(rng, shape[0])
        else:
            prod = _q2_0c_producer(rng, shape[0], shape[1])
        w.add_tensor(name, shape, gtype, prod)
    w.write(path)
    return ids


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
            assert np.array_equal(theirs.astype(np.float32), ours.tensor(t.name)), t.name
        print("selftest: metadata and F32/F16/Q8_0 tensors match gguf.GGUFReader")

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
        q = m.tensor("blk.0.attn_q.weight")
        assert q.shape == (c["head_count"] * c["head_dim"], c["embedding_length"])
        assert len(set(np.abs(q[5]).tolist())) == 2  # one scale per row: levels d and 3d
        gain = np.sqrt((q ** 2).sum(axis=1))
        assert 0.5 < gain.min() and gain.max() < 1.5, (gain.min(), gain.max())
        assert "output.weight" not in m.tensors
        print(f"selftest: tiny model deterministic, {os.path.getsize(p1)} bytes")
    print("selftest: OK")


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="run the self-test and exit")
    sub = ap.add_subparsers(dest="cmd")
    wp = sub.add_parser("write", help="write a synthetic hunyuan-dense model")
    wp.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    wp.add_argument("-o", "--output", required=True)
    wp.add_argument("--seed", type=int, default=0)
    ip = sub.add_parser("info", help="print a GGUF file's metadata and tensors")
    ip.add_argument("file")
    args = ap.parse_args(argv)
    if args.selftest:
        selftest()
    elif args.cmd == "write":
        ids = write_model(args.config, args.output, args.seed)
        print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes), special ids {ids}")
    elif args.cmd == "info":
        _info(args.file)
    else:
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
