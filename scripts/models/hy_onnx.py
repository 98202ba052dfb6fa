#!/usr/bin/env python3
# hy_onnx: the synthetic HY models of hy_gguf.py as ONNX graphs, and onnxruntime reference logits.
"""Writes the seeded synthetic hunyuan-dense models (the same weights as hy_gguf.py, bit for bit)
as ONNX graphs in the decomposed form a PyTorch exporter emits for a cache-less causal LM, and
runs them with onnxruntime for reference logits.

Graph (opset 21 + com.microsoft 1): inputs input_ids, position_ids (int64 [1, S]); output
logits (float [1, S, vocab]).
  embedding   Gather(E, input_ids); E is a float16 initializer + Cast, a float32 initializer,
              or DequantizeLinear(int8 codes, float scales, axis 1, block 32) for Q8_0
  causal mask Where(Greater(pos_k, pos_q), -inf, 0) built from position_ids
  RoPE        cos/sin of Concat(f, f), f = pos * inv_freq; x*cos + rotate_half(x)*sin with
              rotate_half = Concat(Neg(Slice(x, D/2:)), Slice(x, :D/2)); or (--rope fused)
              com.microsoft.RotaryEmbedding with cos/sin caches [context, D/2]
  RMSNorm     Pow/ReduceMean/Add/Sqrt/Div/Mul, or SimplifiedLayerNormalization (--norm fused);
              per-head q/k norms after RoPE (HY)
  attention   GQA, repeat-kv as Unsqueeze/Expand/Reshape, Mul by 1/sqrt(D), Add mask, Softmax;
              or (--attention gqa) com.microsoft.GroupQueryAttention on the normed q/k merged
              back to [1, S, heads*D], with past_key_values.N.* / seqlens_k /
              total_sequence_length inputs and present.N.* outputs
  FFN         SwiGLU: Mul(Mul(g, Sigmoid(g)), u)
  lm_head     tied: MatMul(h, Transpose(E))
Linear layers (--form):
  nbits2  com.microsoft MatMulNBits bits=2 block 512: scales 2d, float zero points 1.5
          (lossless for Q2_0C; onnxruntime 1.23's CPU kernel only runs bits 4 and 8)
  nbits4  MatMulNBits bits=4 block 256: code 2c+5, scale d, default zero point 8 (lossless,
          runs on onnxruntime's CPU provider: the reference form)
  nbits4zp  the same with the zero points written out (packed uint8)
  nbits8  MatMulNBits bits=8 block 256: code 2c+125, scale d, default zero point 128
  dq8     DequantizeLinear(int8 codes 2c-3 [K, N], scale d [K/512, N], axis 0, block 512) -> MatMul
  dq4     the same with packed int4 codes
  float   float32 weights [K, N] -> MatMul

CLI:
  hy_onnx.py write --config tiny|full --form F -o FILE.onnx [--seed N] [--norm decomposed|fused]
                   [--embd-type f16|f32|q8_0] [--rope decomposed|fused]
                   [--attention decomposed|gqa] [--external-data]
  hy_onnx.py tokenizer --config C -o TOK.gguf     vocab-only GGUF (tokenizer.* metadata) for
                                                  `hyc compile --tokenizer`
  hy_onnx.py logits FILE.onnx --tokens 1,2,3 -o OUT.npy    onnxruntime logits [S, vocab]
"""
import argparse
import functools
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hy_gguf  # noqa: E402

FORMS = ("nbits2", "nbits4", "nbits4zp", "nbits8", "dq8", "dq4", "float")

# ModelSpec learns the BPE tokenizer each time (seconds for the full vocabulary); the result
# depends only on the arguments, so one process learns it once.
hy_gguf.build_tokenizer = functools.lru_cache(maxsize=None)(hy_gguf.build_tokenizer)


def _raw(producer):
    return np.concatenate([np.asarray(c).reshape(-1).view(np.uint8) for c in producer()])


def q2_0c_parts(raw, rows, cols):
    """Q2_0C bytes -> codes uint8 [rows, cols] (0..3), d float32 [rows, cols/512] (fp16 values)."""
    nb = cols // hy_gguf.QK2_0C
    blocks = raw.reshape(rows, nb, 130)
    d = blocks[:, :, :2].copy().view("<f2").reshape(rows, nb).astype(np.float32)
    qs = blocks[:, :, 2:]
    codes = (qs[..., None] >> np.array([0, 2, 4, 6], dtype=np.uint8)) & 3
    return codes.reshape(rows, cols).astype(np.uint8), d


class GraphBuilder:
    def __init__(self):
        from onnx import helper, numpy_helper
        self.h, self.nh = helper, numpy_helper
        self.nodes, self.inits, self.consts = [], [], {}

    def init(self, name, array):
        self.inits.append(self.nh.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, array, dtype):
        """A shared small constant (initializer), deduplicated by value."""
        a = np.asarray(array, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self.consts:
            self.consts[key] = self.init(f"const_{len(self.consts)}", a)
        return self.consts[key]

    def const_node(self, name, array, dtype):
        """A constant as a Constant node (exporters emit both kinds)."""
        self.nodes.append(self.h.make_node("Constant", [], [name], name=name,
                                           value=self.nh.from_array(np.asarray(array, dtype), name)))
        return name

    def op(self, op_type, inputs, name, domain=None, **attrs):
        out = name + "_output_0"
        self.nodes.append(self.h.make_node(op_type, inputs, [out], name=name, domain=domain,
                                           **attrs))
        return out


def build_model(config, form, seed=0, norm="decomposed", embd_type=None, rope="decomposed",
                attention="decomposed"):
    """The onnx.ModelProto of the synthetic model (weights regenerated from `seed`)."""
    import onnx
    from onnx import TensorProto, helper

    if form not in FORMS:
        raise ValueError(f"--form must be one of {FORMS}")
    c = hy_gguf.CONFIGS[config]
    spec = hy_gguf.ModelSpec(config, seed, embd_type)
    L, E, H, KV, D = (c["block_count"], c["embedding_length"], c["head_count"],
                      c["head_count_kv"], c["head_dim"])
    V, eps = c["vocab_size"], c["rms_eps"]
    tensors = {name: (shape, gtype, prod) for name, shape, gtype, prod in spec.tensors}
    g = GraphBuilder()

    def weight_raw(name):
        shape, gtype, prod = tensors[name]
        return shape, gtype, _raw(prod)

    def norm_weight(name, init_name):
        shape, _, raw = weight_raw(name)
        return g.init(init_name, raw.view("<f4").reshape(shape))

    def rmsnorm(x, w, prefix):
        if norm == "fused":
            return g.op("SimplifiedLayerNormalization", [x, w], prefix + "/SimplifiedLayerNorm",
                        axis=-1, epsilon=eps)
        p = g.op("Pow", [x, g.const(2.0, np.float32)], prefix + "/Pow")
        m = g.op("ReduceMean", [p, g.const([-1], np.int64)], prefix + "/ReduceMean", keepdims=1)
        a = g.op("Add", [m, g.const(eps, np.float32)], prefix + "/Add")
        s = g.op("Sqrt", [a], prefix + "/Sqrt")
        n = g.op("Div", [x, s], prefix + "/Div")
        return g.op("Mul", [w, n], prefix + "/Mul")

    def linear(x, gguf_name, init_name, prefix):
        (rows, cols), _, raw = weight_raw(gguf_name)  # rows = N (outputs), cols = K (inputs)
        codes, d = q2_0c_parts(raw, rows, cols)
        N, K = rows, cols
        if form == "nbits2":
            c4 = codes.reshape(N, K // 512, 128, 4)
            packed = c4[..., 0] | (c4[..., 1] << 2) | (c4[..., 2] << 4) | (c4[..., 3] << 6)
            b = g.init(init_name + ".qweight", packed.astype(np.uint8))
            s = g.init(init_name + ".scales", (2 * d).reshape(-1).astype(np.float32))
            z = g.init(init_name + ".zeros", np.full(N * (K // 512), 1.5, np.float32))
            return g.op("MatMulNBits", [x, b, s, z], prefix + "/MatMulNBits",
                        domain="com.microsoft", K=K, N=N, bits=2, block_size=512)
        if form in ("nbits4", "nbits4zp"):
            q = (2 * codes + 5).reshape(N, K // 256, 128, 2)
            packed = q[..., 0] | (q[..., 1] << 4)
            b = g.init(init_name + ".qweight", packed.astype(np.uint8))
            s = g.init(init_name + ".scales", np.repeat(d, 2, axis=1).reshape(-1))
            ins = [x, b, s]
            if form == "nbits4zp":  # the default zero point 8, written out (packed uint8)
                nb = K // 256
                zp = np.full((N, (nb + 1) // 2), 0x88, np.uint8)
                if nb % 2:
                    zp[:, -1] = 0x08
                ins.append(g.init(init_name + ".zeros", zp.reshape(-1)))
            return g.op("MatMulNBits", ins, prefix + "/MatMulNBits",
                        domain="com.microsoft", K=K, N=N, bits=4, block_size=256)
        if form == "nbits8":  # code 2c-3+128, scale d, default zero point 128
            b = g.init(init_name + ".qweight",
                       (2 * codes + 125).astype(np.uint8).reshape(N, K // 256, 256))
            s = g.init(init_name + ".scales", np.repeat(d, 2, axis=1).reshape(-1))
            return g.op("MatMulNBits", [x, b, s], prefix + "/MatMulNBits",
                        domain="com.microsoft", K=K, N=N, bits=8, block_size=256)
        if form == "dq4":
            flat = ((2 * codes.astype(np.int8) - 3).T.reshape(-1) & 0xF).astype(np.uint8)
            packed = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)
            g.inits.append(helper.make_tensor(init_name + ".qweight", TensorProto.INT4, [K, N],
                                              packed.tobytes(), raw=True))
            s = g.init(init_name + ".scales", d.T)
            w = g.op("DequantizeLinear", [init_name + ".qweight", s],
                     prefix + "/DequantizeLinear", axis=0, block_size=512)
            return g.op("MatMul", [x, w], prefix + "/MatMul")
        if form == "dq8":
            q = g.init(init_name + ".qweight", (2 * codes.astype(np.int8) - 3).T)
            s = g.init(init_name + ".scales", d.T)
            w = g.op("DequantizeLinear", [q, s], prefix + "/DequantizeLinear",
                     axis=0, block_size=512)
            return g.op("MatMul", [x, w], prefix + "/MatMul")
        w = (2.0 * codes.astype(np.float32) - 3.0) * np.repeat(d, 512, axis=1)
        return g.op("MatMul", [x, g.init(init_name, w.T)], prefix + "/MatMul")

    # Embedding (tied lm_head).
    (vr, vc), gtype, raw = weight_raw("token_embd.weight")
    if gtype == hy_gguf.GGML_F16:
        e16 = g.init("model.embed_tokens.weight", raw.view("<f2").reshape(vr, vc))
        emb = g.op("Cast", [e16], "/model/embed_tokens/Cast", to=TensorProto.FLOAT)
    elif gtype == hy_gguf.GGML_F32:
        emb = g.init("model.embed_tokens.weight", raw.view("<f4").reshape(vr, vc))
    else:
        blocks = raw.reshape(vr, vc // 32, 34)
        sc = blocks[:, :, :2].copy().view("<f2").reshape(vr, vc // 32).astype(np.float32)
        qv = blocks[:, :, 2:].copy().view(np.int8).reshape(vr, vc)
        emb = g.op("DequantizeLinear", [g.init("model.embed_tokens.qweight", qv),
                                        g.init("model.embed_tokens.scales", sc)],
                   "/model/embed_tokens/DequantizeLinear", axis=1, block_size=32)
    x = g.op("Gather", [emb, "input_ids"], "/model/embed_tokens/Gather")

    # Causal mask [1, 1, S, S] from the positions, shared by every layer (GroupQueryAttention
    # is causal by itself).
    if attention == "decomposed":
        pq = g.op("Unsqueeze", ["position_ids", g.const([2], np.int64)], "/model/mask/Unsqueeze_q")
        pk = g.op("Unsqueeze", ["position_ids", g.const([1], np.int64)],
                  "/model/mask/Unsqueeze_k")
        future = g.op("Greater", [pk, pq], "/model/mask/Greater")
        m3 = g.op("Where", [future, g.const(-np.inf, np.float32), g.const(0.0, np.float32)],
                  "/model/mask/Where")
        mask = g.op("Unsqueeze", [m3, g.const([1], np.int64)], "/model/mask/Unsqueeze")

    # RoPE tables [1, 1, S, D] (NEOX halves).
    base = hy_gguf.rope_freq_base(D)
    rope_mode = rope
    inv_freq = (base ** (-2.0 * np.arange(D // 2, dtype=np.float64) / D)).astype(np.float32)
    if rope == "decomposed":
        posf = g.op("Cast", ["position_ids"], "/model/rotary/Cast", to=TensorProto.FLOAT)
        pe = g.op("Unsqueeze", [posf, g.const([2], np.int64)], "/model/rotary/Unsqueeze")
        freqs = g.op("Mul", [pe, g.init("model.rotary_emb.inv_freq", inv_freq)],
                     "/model/rotary/Mul")
        embf = g.op("Concat", [freqs, freqs], "/model/rotary/Concat", axis=-1)
        cos = g.op("Unsqueeze", [g.op("Cos", [embf], "/model/rotary/Cos"),
                                 g.const([1], np.int64)], "/model/rotary/Unsqueeze_cos")
        sin = g.op("Unsqueeze", [g.op("Sin", [embf], "/model/rotary/Sin"),
                                 g.const([1], np.int64)], "/model/rotary/Unsqueeze_sin")
    else:
        # com.microsoft.RotaryEmbedding's caches: [positions, D/2], angles in float64.
        ang = np.arange(c["context_length"], dtype=np.float64)[:, None] * \
            (base ** (-2.0 * np.arange(D // 2, dtype=np.float64) / D))[None, :]
        cos_cache = g.init("model.rotary_emb.cos_cache", np.cos(ang).astype(np.float32))
        sin_cache = g.init("model.rotary_emb.sin_cache", np.sin(ang).astype(np.float32))

    def rope_fused(t, prefix):
        return g.op("RotaryEmbedding", [t, "position_ids", cos_cache, sin_cache],
                    prefix + "/RotaryEmbedding", domain="com.microsoft", interleaved=0)

    def rope(t, prefix):
        if rope_mode == "fused":
            return rope_fused(t, prefix)
        x1 = g.op("Slice", [t, g.const([0], np.int64), g.const([D // 2], np.int64),
                            g.const([-1], np.int64)], prefix + "/Slice_1")
        x2 = g.op("Slice", [t, g.const([D // 2], np.int64), g.const([2**62], np.int64),
                            g.const([-1], np.int64)], prefix + "/Slice_2")
        rot = g.op("Concat", [g.op("Neg", [x2], prefix + "/Neg"), x1], prefix + "/Concat",
                   axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos], prefix + "/Mul"),
                            g.op("Mul", [rot, sin], prefix + "/Mul_1")], prefix + "/Add")

    def heads(t, n, prefix):
        shape = g.const_node(prefix + "/Constant", [0, 0, n, D], np.int64)
        r = g.op("Reshape", [t, shape], prefix + "/Reshape")
        return g.op("Transpose", [r], prefix + "/Transpose", perm=[0, 2, 1, 3])

    def repeat_kv(t, prefix):
        u = g.op("Unsqueeze", [t, g.const([2], np.int64)], prefix + "/Unsqueeze")
        e = g.op("Expand", [u, g.const([1, 1, H // KV, 1, 1], np.int64)], prefix + "/Expand")
        return g.op("Reshape", [e, g.const([0, H, -1, D], np.int64)], prefix + "/Reshape")

    inputs, outputs = [], []  # GroupQueryAttention's kv cache
    for i in range(L):
        b, p, n = f"blk.{i}.", f"/model/layers.{i}", f"model.layers.{i}."
        h = rmsnorm(x, norm_weight(b + "attn_norm.weight", n + "input_layernorm.weight"),
                    p + "/input_layernorm")
        a = p + "/self_attn"
        q = heads(linear(h, b + "attn_q.weight", n + "self_attn.q_proj.weight", a + "/q_proj"),
                  H, a + "/q")
        k = heads(linear(h, b + "attn_k.weight", n + "self_attn.k_proj.weight", a + "/k_proj"),
                  KV, a + "/k")
        v_lin = linear(h, b + "attn_v.weight", n + "self_attn.v_proj.weight", a + "/v_proj")
        if attention != "gqa":
            v = heads(v_lin, KV, a + "/v")
        q = rmsnorm(rope(q, a + "/rotary_q"),
                    norm_weight(b + "attn_q_norm.weight", n + "self_attn.query_layernorm.weight"),
                    a + "/query_layernorm")
        k = rmsnorm(rope(k, a + "/rotary_k"),
                    norm_weight(b + "attn_k_norm.weight", n + "self_attn.key_layernorm.weight"),
                    a + "/key_layernorm")
        if attention == "gqa":
            def merge(t, n, name):
                t = g.op("Transpose", [t], a + f"/Transpose_{name}", perm=[0, 2, 1, 3])
                return g.op("Reshape", [t, g.const([0, 0, n * D], np.int64)],
                            a + f"/Reshape_{name}")
            past = [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
            present = [f"present.{i}.key", f"present.{i}.value"]
            inputs += past
            outputs += present
            o = a + "/GroupQueryAttention_output_0"
            g.nodes.append(helper.make_node(
                "GroupQueryAttention",
                [merge(q, H, "q"), merge(k, KV, "k"), v_lin] + past +
                ["seqlens_k", "total_sequence_length"],
                [o] + present, name=a + "/GroupQueryAttention", domain="com.microsoft",
                num_heads=H, kv_num_heads=KV))
        else:
            k, v = repeat_kv(k, a + "/repeat_k"), repeat_kv(v, a + "/repeat_v")
            kt = g.op("Transpose", [k], a + "/Transpose_k", perm=[0, 1, 3, 2])
            s = g.op("MatMul", [q, kt], a + "/MatMul_qk")
            s = g.op("Mul", [s, g.const(1.0 / math.sqrt(D), np.float32)], a + "/Mul_scale")
            s = g.op("Add", [s, mask], a + "/Add_mask")
            pr = g.op("Softmax", [s], a + "/Softmax", axis=-1)
            o = g.op("MatMul", [pr, v], a + "/MatMul_pv")
            o = g.op("Transpose", [o], a + "/Transpose_o", perm=[0, 2, 1, 3])
            o = g.op("Reshape", [o, g.const([0, 0, H * D], np.int64)], a + "/Reshape_o")
        o = linear(o, b + "attn_output.weight", n + "self_attn.o_proj.weight", a + "/o_proj")
        x = g.op("Add", [x, o], p + "/Add_attn")
        h = rmsnorm(x, norm_weight(b + "ffn_norm.weight", n + "post_attention_layernorm.weight"),
                    p + "/post_attention_layernorm")
        f = p + "/mlp"
        gt = linear(h, b + "ffn_gate.weight", n + "mlp.gate_proj.weight", f + "/gate_proj")
        up = linear(h, b + "ffn_up.weight", n + "mlp.up_proj.weight", f + "/up_proj")
        act = g.op("Mul", [gt, g.op("Sigmoid", [gt], f + "/act/Sigmoid")], f + "/act/Mul")
        y = linear(g.op("Mul", [act, up], f + "/Mul"), b + "ffn_down.weight",
                   n + "mlp.down_proj.weight", f + "/down_proj")
        x = g.op("Add", [x, y], p + "/Add_mlp")
    x = rmsnorm(x, norm_weight("output_norm.weight", "model.norm.weight"), "/model/norm")
    et = g.op("Transpose", [emb], "/lm_head/Transpose", perm=[1, 0])
    logits = g.op("MatMul", [x, et], "/lm_head/MatMul")
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="/lm_head/Identity"))

    kv_info = lambda name, s: helper.make_tensor_value_info(  # noqa: E731
        name, TensorProto.FLOAT, [1, KV, s, D])
    graph_inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence"]),
                    helper.make_tensor_value_info("position_ids", TensorProto.INT64,
                                                  [1, "sequence"])]
    graph_inputs += [kv_info(name, "past_sequence") for name in inputs]
    if attention == "gqa":
        graph_inputs += [helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
                         helper.make_tensor_value_info("total_sequence_length",
                                                       TensorProto.INT32, [])]
    graph = helper.make_graph(
        g.nodes, "hunyuan_dense", graph_inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "sequence", V])] +
        [kv_info(name, "total_sequence") for name in outputs],
        g.inits)
    model = helper.make_model(graph, ir_version=10, producer_name="hy_onnx.py",
                              opset_imports=[helper.make_opsetid("", 21),
                                             helper.make_opsetid("com.microsoft", 1)])
    ids = spec.ids
    for key, val in [("hyc.context_length", c["context_length"]),
                     ("hyc.bos_token_id", ids["bos"]), ("hyc.eos_token_id", ids["eos"]),
                     ("hyc.source", f"hy_gguf {config} seed {seed}")]:
        model.metadata_props.add(key=key, value=str(val))
    return model


def save_model(model, path, external_data=False):
    import onnx
    if os.path.exists(path + ".data"):
        os.remove(path + ".data")
    if external_data:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data", size_threshold=1024)
    else:
        onnx.save_model(model, path)


def write_tokenizer(config, path, seed=0):
    """A GGUF holding only the model's metadata (tokenizer.*), no tensors."""
    spec = hy_gguf.ModelSpec(config, seed)
    hy_gguf.write_model(config, path, seed=seed,
                        skip_tensors={name for name, *_ in spec.tensors})


def reference_logits(path, tokens):
    """onnxruntime's logits [S, vocab] for `tokens` at positions 0..S-1."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    # Basic optimizations only: at onnxruntime 1.23's extended level the dq4 form (blocked
    # int4 DequantizeLinear + MatMul, block 512) computes NaNs, presumably through its fusion
    # into MatMulNBits, whose block-512 path is wrong; the reference runs the graph as written.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ids = np.asarray(tokens, dtype=np.int64).reshape(1, -1)
    pos = np.arange(ids.shape[1], dtype=np.int64).reshape(1, -1)
    feed = {"input_ids": ids, "position_ids": pos}
    for i in sess.get_inputs():  # a GroupQueryAttention graph: empty cache, S tokens
        if i.name.startswith("past_key_values."):
            feed[i.name] = np.zeros((1, i.shape[1], 0, i.shape[3]), dtype=np.float32)
        elif i.name == "seqlens_k":
            feed[i.name] = np.array([ids.shape[1] - 1], dtype=np.int32)
        elif i.name == "total_sequence_length":
            feed[i.name] = np.array(ids.shape[1], dtype=np.int32)
    return sess.run(["logits"], feed)[0][0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--config", choices=sorted(hy_gguf.CONFIGS), required=True)
    w.add_argument("--form", choices=FORMS, required=True)
    w.add_argument("-o", required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--norm", choices=("decomposed", "fused"), default="decomposed")
    w.add_argument("--embd-type", choices=sorted(hy_gguf.EMBD_TYPES))
    w.add_argument("--rope", choices=("decomposed", "fused"), default="decomposed",
                   help="fused: com.microsoft.RotaryEmbedding with cos/sin caches")
    w.add_argument("--attention", choices=("decomposed", "gqa"), default="decomposed",
                   help="gqa: com.microsoft.GroupQueryAttention (with kv cache inputs/outputs)")
    w.add_argument("--external-data", action="store_true")
    t = sub.add_parser("tokenizer")
    t.add_argument("--config", choices=sorted(hy_gguf.CONFIGS), required=True)
    t.add_argument("-o", required=True)
    t.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("logits")
    r.add_argument("model")
    r.add_argument("--tokens", required=True)
    r.add_argument("-o", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "write":
        save_model(build_model(a.config, a.form, a.seed, a.norm, a.embd_type, a.rope,
                               a.attention), a.o, a.external_data)
    elif a.cmd == "tokenizer":
        write_tokenizer(a.config, a.o, a.seed)
    else:
        np.save(a.o, reference_logits(a.model, [int(t) for t in a.tokens.split(",")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
