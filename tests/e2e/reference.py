# reference: numpy forward pass of a hunyuan-dense GGUF, written from the model's math, for e2e checks.
"""Reference decoder for hunyuan-dense (HY-1.8B-2Bit) GGUF files.

One token at a time with a KV cache, in float64 by default (weights are dequantized once to
float32, which is exact for F16/Q2_0C, and widened per matrix-vector product), so its
rounding error is far below the float32 library it checks:

    x = E[token]
    per layer:
      h = rmsnorm(x) * attn_norm
      q, k, v = Wq h, Wk h, Wv h            (heads of head_dim D)
      RoPE NEOX on q, k: pairs (i, i + D/2), angle pos * base^(-2i/D)
      q, k = per-head rmsnorm(.) * attn_q_norm / attn_k_norm   (after RoPE)
      GQA softmax attention over the cache (query head h reads kv head h // (H/KV))
      x += Wo o
      x += Wdown(silu(Wgate h') * Wup h'),  h' = rmsnorm(x) * ffn_norm
    logits = E @ (rmsnorm(x) * output_norm)  (tied embeddings)

Activations (--activations, the library's `hyc compile --activations`, recorded in its
manifest.json): "f32" uses x as it is; "int8" first rounds the input of every matmul over
Q2_0C weights the way the int8-activation kernels do (schedules/include/hyk/kernels.h): per
512-block, 16 groups of 32 (group l = elements 256h + 16l + i, h < 2, i < 16), in float32
s = max|x| * float32(1/127), q = rint(x * (127 / max|x|)), and x -> q * s; and the input of
the lm_head when the embedding is Q8_0 the same way per block of 32 consecutive values.

KV cache (--kv-cache, the library's `hyc compile --kv-cache`, in its manifest.json): "f16"
rounds k and v (computed as float32) to float16 before they enter the cache, as the library
stores them; "f32" keeps them; "q8_0" rounds them to ggml Q8_0 blocks of 32 and back
(q8_0_round_trip), as the library stores and reads them.

CLI (greedy decoding):
  python tests/e2e/reference.py MODEL --tokens 3,4,5 --steps 16 -o ref [--dtype float32]
         [--activations int8|f32] [--kv-cache f16|f32|q8_0]
writes ref.logits (little-endian float32, one row of vocab floats per fed token) and
ref.tokens (fed token ids, space-separated). --dtype float32 runs the whole pass in float32,
to estimate how far an honest float32 implementation may drift from float64.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "models"))
from hy_gguf import GGML_Q2_0C, GGML_Q8_0, GGUFFile  # noqa: E402

ARCH = "hunyuan-dense"
ACTIVATIONS = ("f32", "int8")
KV_CACHES = ("f16", "f32", "q8_0")


def _round_int8(groups, axes):
    """q * s for float32 `groups` with one scale per reduction over `axes`: m = max|x|,
    s = m * float32(1/127), q = rint(x * (127 / m)) (0 where m = 0), as the kernels do."""
    amax = np.abs(groups).max(axis=axes, keepdims=True)
    inv = np.divide(np.float32(127), amax, out=np.zeros_like(amax), where=amax > 0)
    q = np.rint(groups * inv)
    step = amax * np.float32(1.0 / 127)
    return (q.astype(np.float64) * step.astype(np.float64)).reshape(-1)


def quantize_activations_int8(x):
    """x (a multiple of 512 values) rounded as the int8-activation Q2_0C kernels round it:
    one scale per group of 32 (see the module docstring); returns q * s."""
    xf = np.asarray(x, dtype=np.float32).reshape(-1, 2, 16, 16)  # block, h, group l, i
    return _round_int8(xf, (1, 3))


def quantize_activations_q8_0(x):
    """x rounded as the int8-activation Q8_0 kernel (the lm_head) rounds it: one scale per
    block of 32 consecutive values."""
    return _round_int8(np.asarray(x, dtype=np.float32).reshape(-1, 32), (1,))


def _read_manifest(libdir, key, allowed, default):
    import json
    with open(os.path.join(libdir, "manifest.json")) as f:
        value = json.load(f).get(key, default)
    if value not in allowed:
        raise ValueError(f"{libdir}/manifest.json: unknown {key} {value!r}")
    return value


def read_manifest_activations(libdir):
    """The activation precision a compiled library directory's manifest.json records."""
    return _read_manifest(libdir, "activations", ACTIVATIONS, "f32")


def manifest_lm_head_int8(manifest):
    """Whether a library (its parsed manifest.json) runs the Q8_0 lm_head on int8
    activations: its kernel gemv_q8_0_a8 exists on x86-64-avx512 only, elsewhere the
    lm_head keeps float activations under --activations int8."""
    return any(k.get("kernel") == "gemv_q8_0_a8" for k in manifest.get("kernels", []))


def q8_0_round_trip(x):
    """x as a Q8_0 KV cache stores and reads it back (the library's kv_store, in float32):
    per 32 consecutive elements d = max|x| / 127, q = round(x / d) (x times 1/d, halves away
    from zero; 0 when d is 0), element = float16(d) * q."""
    b = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    d = np.abs(b).max(axis=1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    t = b * inv
    q = np.sign(t) * np.floor(np.abs(t) + np.float32(0.5))
    out = d.astype(np.float16).astype(np.float32) * q
    return out.reshape(np.shape(x))


def read_manifest_kv_cache(libdir):
    """The KV cache element type a compiled library directory's manifest.json records
    (libraries from before `hyc compile --kv-cache` have an f32 cache)."""
    return _read_manifest(libdir, "kv_cache", KV_CACHES, "f32")


class Reference:
    def __init__(self, gguf_path, dtype=np.float64, activations="f32", kv_cache="f32",
                 lm_head_int8=None):
        """lm_head_int8: round the Q8_0 lm_head's input too (default: with int8
        activations; manifest_lm_head_int8 tells what a library does)."""
        self.dtype = np.dtype(dtype)
        self.lm_head_int8 = activations == "int8" if lm_head_int8 is None else lm_head_int8
        if activations not in ACTIVATIONS:
            raise ValueError(f"activations must be one of {ACTIVATIONS}, not {activations!r}")
        if kv_cache not in KV_CACHES:
            raise ValueError(f"kv_cache must be one of {KV_CACHES}, not {kv_cache!r}")
        self.activations = activations
        self.kv_cache = kv_cache
        m = GGUFFile(gguf_path)
        md = m.metadata
        if md.get("general.architecture") != ARCH:
            raise ValueError(f"{gguf_path}: architecture {md.get('general.architecture')!r}, "
                             f"expected {ARCH!r}")
        hp = lambda k: md[f"{ARCH}.{k}"]  # noqa: E731
        self.n_layer = hp("block_count")
        self.n_embd = hp("embedding_length")
        self.n_head = hp("attention.head_count")
        self.n_kv = hp("attention.head_count_kv")
        self.head_dim = hp("attention.key_length")
        if hp("attention.value_length") != self.head_dim:
            raise ValueError("key_length != value_length is not supported")
        if self.n_head % self.n_kv:
            raise ValueError("head_count must be a multiple of head_count_kv")
        self.n_ctx = hp("context_length")
        self.eps = float(hp("attention.layer_norm_rms_epsilon"))
        n_rot = hp("rope.dimension_count")
        if n_rot != self.head_dim:
            raise ValueError(f"partial RoPE (dimension_count {n_rot} != head_dim) is not supported")
        base = float(hp("rope.freq_base"))  # the float32 value as stored, like any loader sees it
        D = self.head_dim
        self.inv_freq = base ** (-2.0 * np.arange(D // 2, dtype=np.float64) / D)

        # Stored as float32 (exact for F16/F32/Q2_0C); only small vectors use self.dtype, so
        # the full model fits in memory even for the float64 pass.
        self.E = m.tensor("token_embd.weight")
        self.E_q8_0 = m.tensors["token_embd.weight"].ggml_type == GGML_Q8_0
        self.vocab = self.E.shape[0]
        if "output.weight" in m.tensors:
            raise ValueError("untied output.weight is not supported (HY-1.8B ties embeddings)")
        self.output_norm = m.tensor("output_norm.weight").astype(self.dtype)
        names = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm", "attn_k_norm",
                 "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
        self.layers = []
        for i in range(self.n_layer):
            lw = {n: m.tensor(f"blk.{i}.{n}.weight") for n in names}
            # Which matmuls run on the Q2_0C kernels (and so see int8 activations).
            lw["q2_0c"] = {n for n in names
                           if m.tensors[f"blk.{i}.{n}.weight"].ggml_type == GGML_Q2_0C}
            for n in ("attn_norm", "attn_q_norm", "attn_k_norm", "ffn_norm"):
                lw[n] = lw[n].astype(self.dtype)
            self.layers.append(lw)
        self.reset()

    def reset(self):
        self.n_past = 0
        self.k_cache = [np.zeros((0, self.n_kv, self.head_dim), self.dtype) for _ in self.layers]
        self.v_cache = [np.zeros((0, self.n_kv, self.head_dim), self.dtype) for _ in self.layers]

    # -- pieces ------------------------------------------------------------------------------

    def _mv(self, W, x):
        """W @ x in self.dtype; a float32 W is widened a row block at a time to bound memory."""
        if W.dtype == self.dtype:
            return W @ x
        step = max(1, (1 << 22) // W.shape[1])
        return np.concatenate([W[r:r + step].astype(self.dtype) @ x
                               for r in range(0, W.shape[0], step)])

    def _lin(self, lw, name, x):
        """Layer matmul `name` @ x, with the activation rounding its kernel applies."""
        if self.activations == "int8" and name in lw["q2_0c"]:
            x = quantize_activations_int8(x).astype(self.dtype)
        return self._mv(lw[name], x)

    def _rmsnorm(self, v):
        # Normalizes the last axis, so one call covers every head at once.
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + self.dtype.type(self.eps))

    def _rope(self, t, pos):
        """NEOX rotation of [heads, D] at position pos: pairs (i, i + D/2)."""
        a = pos * self.inv_freq
        cos, sin = np.cos(a).astype(self.dtype), np.sin(a).astype(self.dtype)
        half = self.head_dim // 2
        x0, x1 = t[:, :half], t[:, half:]
        return np.concatenate([x0 * cos - x1 * sin, x1 * cos + x0 * sin], axis=-1)

    # -- decode -------------------------------------------------------------------------------

    def decode(self, token, pos):
        """Feed `token` at position `pos` (0 = first; re-decoding an earlier position drops the
        cache from there on) and return the next-token logits as float32 [vocab]."""
        if not 0 <= token < self.vocab:
            raise ValueError(f"token {token} outside the vocabulary (0..{self.vocab - 1})")
        if pos > self.n_past:
            raise ValueError(f"position {pos} skips ahead of the cache ({self.n_past} tokens)")
        if pos >= self.n_ctx:
            raise ValueError(f"position {pos} is past the context length {self.n_ctx}")
        H, KV, D = self.n_head, self.n_kv, self.head_dim
        group = H // KV
        x = self.E[token].astype(self.dtype)
        for li, lw in enumerate(self.layers):
            h = self._rmsnorm(x) * lw["attn_norm"]
            q = self._lin(lw, "attn_q", h).reshape(H, D)
            k = self._lin(lw, "attn_k", h).reshape(KV, D)
            v = self._lin(lw, "attn_v", h).reshape(KV, D)
            # HY normalizes q/k per head after the rotation (QK-norm on rotated vectors).
            q = self._rmsnorm(self._rope(q, pos)) * lw["attn_q_norm"]
            k = self._rmsnorm(self._rope(k, pos)) * lw["attn_k_norm"]
            if self.kv_cache == "f16":
                # The library computes k and v in float32 and rounds them to float16
                # (nearest, ties to even) as it stores them.
                k = k.astype(np.float32).astype(np.float16).astype(self.dtype)
                v = v.astype(np.float32).astype(np.float16).astype(self.dtype)
            elif self.kv_cache == "q8_0":
                k = q8_0_round_trip(k).astype(self.dtype)
                v = q8_0_round_trip(v).astype(self.dtype)
            K = self.k_cache[li] = np.concatenate([self.k_cache[li][:pos], k[None]])
            V = self.v_cache[li] = np.concatenate([self.v_cache[li][:pos], v[None]])
            # Consecutive query heads share a kv head: view q as [KV, group, D].
            s = np.einsum("jgd,tjd->jgt", q.reshape(KV, group, D), K) / np.sqrt(self.dtype.type(D))
            p = np.exp(s - s.max(axis=-1, keepdims=True))
            p /= p.sum(axis=-1, keepdims=True)
            o = np.einsum("jgt,tjd->jgd", p, V).reshape(H * D)
            x = x + self._lin(lw, "attn_output", o)
            h = self._rmsnorm(x) * lw["ffn_norm"]
            g = self._lin(lw, "ffn_gate", h)
            u = self._lin(lw, "ffn_up", h)
            x = x + self._lin(lw, "ffn_down", g / (1 + np.exp(-g)) * u)
        self.n_past = pos + 1
        h = self._rmsnorm(x) * self.output_norm
        if self.lm_head_int8 and self.E_q8_0:
            h = quantize_activations_q8_0(h).astype(self.dtype)
        return self._mv(self.E, h).astype(np.float32)


def run_tokens(ref, tokens):
    """Teacher-forced pass over `tokens` from position 0 -> float32 [len(tokens), vocab]."""
    ref.reset()
    return np.stack([ref.decode(t, pos) for pos, t in enumerate(tokens)])


def write_outputs(prefix, logits, tokens):
    np.asarray(logits, dtype="<f4").tofile(prefix + ".logits")
    with open(prefix + ".tokens", "w") as f:
        f.write(" ".join(str(t) for t in tokens) + "\n")


def main():
    ap = argparse.ArgumentParser(description="Greedy decoding with the numpy reference.")
    ap.add_argument("model")
    ap.add_argument("--tokens", required=True, help="start tokens, comma-separated (first at pos 0)")
    ap.add_argument("--steps", type=int, default=16, help="greedy tokens fed after the start tokens")
    ap.add_argument("-o", "--output", required=True, help="prefix for .logits and .tokens")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--activations", choices=ACTIVATIONS, default="f32",
                    help="model the library's activation rounding (its manifest.json says which)")
    ap.add_argument("--kv-cache", choices=KV_CACHES, default="f32",
                    help="model the library's KV cache element type (manifest.json: kv_cache)")
    args = ap.parse_args()
    start = [int(t) for t in args.tokens.split(",") if t.strip()]
    if not start:
        ap.error("--tokens needs at least one token")

    t0 = time.perf_counter()
    ref = Reference(args.model, dtype=args.dtype, activations=args.activations,
                    kv_cache=args.kv_cache)
    t1 = time.perf_counter()
    fed, rows = [], []
    feed = list(start)
    for pos in range(len(start) + args.steps):
        tok = feed[pos] if pos < len(feed) else int(np.argmax(rows[-1]))
        fed.append(tok)
        rows.append(ref.decode(tok, pos))
    t2 = time.perf_counter()
    write_outputs(args.output, np.stack(rows), fed)
    print(f"reference: load {t1 - t0:.2f} s, {len(fed)} tokens in {t2 - t1:.2f} s "
          f"({(t2 - t1) / len(fed) * 1e3:.1f} ms/token); fed {' '.join(map(str, fed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
