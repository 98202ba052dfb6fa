#!/usr/bin/env python3
"""`hyc compile` on malformed or unsupported ONNX models: exit code 1, a message naming the
problem (the node, its op type and where it sits, or the tensor / file), and nothing left in
or beside the -o directory. Also: float weights off the 4-level grid compile with the
quantization error reported.

Every case is the tiny synthetic model (scripts/models/hy_onnx.py) with one thing broken.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_onnx  # noqa: E402


def compile_model(hyc, model, out, extra=()):
    return subprocess.run([hyc, "compile", model, "--target", "host", "-o", out, *extra],
                          capture_output=True, encoding="utf-8", errors="replace")


def check_failure(hyc, model, out, needles, extra=()):
    r = compile_model(hyc, model, out, extra)
    problems = []
    if r.returncode != 1:
        problems.append(f"exit code {r.returncode} (want 1)")
    for n in needles:
        if n not in r.stderr:
            problems.append(f"message lacks {n!r}")
    parent = os.path.dirname(out)
    left = [p for p in os.listdir(parent) if p.startswith(os.path.basename(out))]
    if left:
        problems.append(f"left behind: {left}")
    last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    return problems, last


def node(model, name):
    for n in model.graph.node:
        if n.name == name:
            return n
    raise KeyError(name)


def init(model, name):
    for t in model.graph.initializer:
        if t.name == name:
            return t
    raise KeyError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    args = ap.parse_args()
    import onnx
    from onnx import helper, numpy_helper

    with tempfile.TemporaryDirectory(prefix="hyc-onnx-err-") as tmp:
        base = {f: hy_onnx.build_model("tiny", f) for f in ("nbits2", "float")}
        base["gqa"] = hy_onnx.build_model("tiny", "nbits2", rope="fused", attention="gqa")

        def variant(name, edit, form="nbits2", external=False):
            m = onnx.ModelProto()
            m.CopyFrom(base[form])
            edit(m)
            path = os.path.join(tmp, name + ".onnx")
            hy_onnx.save_model(m, path, external)
            return path

        def raw(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        good = variant("good", lambda m: None)
        good_bytes = open(good, "rb").read()
        L0, L1 = "/model/layers.0", "/model/layers.1"
        cases = []

        cases.append(("bad protobuf", raw("garbage.onnx", b"\x08\x07" + bytes(range(7, 250))),
                      ["garbage.onnx", "not a valid ONNX model", "does not parse"]))
        cases.append(("truncated protobuf", raw("truncated.onnx", good_bytes[: len(good_bytes) // 3]),
                      ["truncated.onnx", "not a valid ONNX model"]))
        cases.append(("empty file", raw("empty.onnx", b""), ["empty.onnx", "empty file"]))

        def drop_init(m):
            t = init(m, "model.layers.1.self_attn.k_proj.weight.scales")
            m.graph.initializer.remove(t)
        cases.append(("missing initializer", variant("missing_init", drop_init),
                      ["layer 1 attention", "MatMulNBits scales",
                       "'model.layers.1.self_attn.k_proj.weight.scales' (defined nowhere)"]))

        def wrong_shape(m):
            t = init(m, "model.layers.0.mlp.up_proj.weight")
            m.graph.initializer.remove(t)
            m.graph.initializer.append(numpy_helper.from_array(
                np.zeros((512, 1536), np.float32), "model.layers.0.mlp.up_proj.weight"))
        cases.append(("wrong weight shape", variant("wrong_shape", wrong_shape, "float"),
                      ["layer 0 FFN", f"{L0}/mlp/up_proj/MatMul' (MatMul)",
                       "512 -> 1536", "512 -> 1024"]))

        def bad_norm_shape(m):
            t = init(m, "model.layers.1.self_attn.query_layernorm.weight")
            t.CopyFrom(numpy_helper.from_array(np.ones(32, np.float32), t.name))
        cases.append(("wrong norm shape", variant("norm_shape", bad_norm_shape),
                      ["layer 1 attention", "query_layernorm.weight", "expected 64 floats"]))

        def tanh(m):
            n = node(m, f"{L1}/mlp/act/Sigmoid")
            n.op_type = "Tanh"
            n.name = f"{L1}/mlp/act/Tanh"
        cases.append(("unsupported op (Tanh for Sigmoid)", variant("tanh", tanh),
                      ["layer 1 FFN", f"{L1}/mlp/Mul' (Mul)", "Sigmoid"]))

        def relu(m):
            n = node(m, f"{L0}/mlp/down_proj/MatMulNBits")
            m.graph.node.append(helper.make_node("Relu", [n.input[0]], ["relu_out"],
                                                 name=f"{L0}/mlp/Relu"))
            n.input[0] = "relu_out"
        cases.append(("unsupported op inserted (Relu)", variant("relu", relu),
                      ["layer 0 FFN", f"{L0}/mlp/Relu' (Relu)", "SwiGLU"]))

        def bits3(m):
            n = node(m, f"{L0}/self_attn/q_proj/MatMulNBits")
            for a in n.attribute:
                if a.name == "bits":
                    a.i = 3
        cases.append(("wrong bit width (3)", variant("bits3", bits3),
                      ["layer 0 attention", f"{L0}/self_attn/q_proj/MatMulNBits' "
                       "(com.microsoft.MatMulNBits)", "bits=3"]))

        def bits4_mismatch(m):
            n = node(m, f"{L1}/self_attn/o_proj/MatMulNBits")
            for a in n.attribute:
                if a.name == "bits":
                    a.i = 4
        cases.append(("bit width vs packed size", variant("bits4", bits4_mismatch),
                      ["layer 1 attention", "o_proj/MatMulNBits", "expected UINT8 [512, 1, 256]",
                       "bits=4"]))

        def old_opset(m):
            m.opset_import[0].version = 13
        cases.append(("opset too old", variant("opset13", old_opset),
                      ["ai.onnx opset 13 is too old", "18 or newer"]))

        def g_idx(m):
            n = node(m, f"{L0}/mlp/gate_proj/MatMulNBits")
            n.input.append(n.input[2])
        cases.append(("MatMulNBits g_idx", variant("g_idx", g_idx),
                      ["gate_proj/MatMulNBits", "g_idx", "not support"]))

        def dangling(m):
            m.graph.node.append(helper.make_node("Identity", [f"{L1}/Add_attn_output_0"],
                                                 ["debug_out"], name="/debug/Identity"))
        cases.append(("unmatched extra node", variant("dangling", dangling),
                      ["'/debug/Identity' (Identity) is not part of any pattern",
                       "layer 1"]))

        def custom_domain(m):
            n = node(m, f"{L0}/mlp/act/Sigmoid")
            n.domain = "com.example"
            m.opset_import.append(helper.make_opsetid("com.example", 1))
        cases.append(("unknown operator domain", variant("domain", custom_domain),
                      ["act/Sigmoid' (com.example.Sigmoid)", "domain 'com.example'"]))

        def scale(m):
            n = node(m, f"{L0}/self_attn/Mul_scale")
            c = numpy_helper.from_array(np.array(0.5, np.float32), "bad_scale")
            m.graph.initializer.append(c)
            n.input[1] = "bad_scale"
        cases.append(("attention scale", variant("scale", scale),
                      ["layer 0 attention", "Mul_scale' (Mul)", "0.5", "1/sqrt(head_dim)"]))

        def no_mask(m):
            n = node(m, f"{L1}/self_attn/Softmax")
            n.input[0] = f"{L1}/self_attn/Mul_scale_output_0"
            m.graph.node.remove(node(m, f"{L1}/self_attn/Add_mask"))
        cases.append(("attention without causal mask", variant("no_mask", no_mask),
                      ["layer 1 attention", "without a causal mask"]))

        def anti_causal(m):
            n = node(m, "/model/mask/Greater")
            n.input[0], n.input[1] = n.input[1], n.input[0]
        cases.append(("non-causal mask", variant("anti_causal", anti_causal),
                      ["causal mask", "/model/mask/Unsqueeze_q' (Unsqueeze)", "expected [1]"]))

        def rope_freq(m):
            t = init(m, "model.rotary_emb.inv_freq")
            v = numpy_helper.to_array(t).copy()
            v[5] *= 1.5
            t.CopyFrom(numpy_helper.from_array(v, t.name))
        cases.append(("RoPE frequencies not geometric", variant("rope", rope_freq),
                      ["RoPE tables", "inv_freq", "entry 5"]))

        def extra_input(m):
            m.graph.input.append(helper.make_tensor_value_info(
                "attention_mask", onnx.TensorProto.INT64, [1, "sequence"]))
        cases.append(("unused graph input", variant("extra_input", extra_input),
                      ["graph input 'attention_mask' is not used"]))

        def eps(m):
            t = init(m, "const_2")  # the shared epsilon constant
            assert numpy_helper.to_array(t).dtype == np.float32
            c = numpy_helper.from_array(np.array(1e-6, np.float32), "eps_other")
            m.graph.initializer.append(c)
            node(m, f"{L1}/post_attention_layernorm/Add").input[1] = "eps_other"
        cases.append(("inconsistent RMSNorm epsilon", variant("eps", eps),
                      ["layer 1 FFN", "epsilon", "differs"]))

        def untied(m):
            e = init(m, "model.embed_tokens.weight")
            m.graph.initializer.append(numpy_helper.from_array(
                numpy_helper.to_array(e).T.astype(np.float32).copy(), "lm_head.weight"))
            node(m, "/lm_head/MatMul").input[1] = "lm_head.weight"
            m.graph.node.remove(node(m, "/lm_head/Transpose"))
        cases.append(("untied lm_head", variant("untied", untied),
                      ["lm_head", "tied embeddings", "initializer 'lm_head.weight'"]))

        def two_outputs(m):
            m.graph.output.append(helper.make_tensor_value_info(
                "/model/norm/Mul_output_0", onnx.TensorProto.FLOAT, None))
        cases.append(("two graph outputs", variant("two_outputs", two_outputs),
                      ["the graph has 2 outputs"]))

        ext = variant("ext_missing", lambda m: None, "nbits2", external=True)
        os.remove(ext + ".data")
        cases.append(("external data file missing", ext,
                      ["ext_missing.onnx", "ext_missing.onnx.data", "cannot open"]))

        ext = variant("ext_short", lambda m: None, "nbits2", external=True)
        size = os.path.getsize(ext + ".data")
        os.truncate(ext + ".data", size - 1000)
        cases.append(("external data truncated", ext,
                      ["ext_short.onnx", "lies past the end of 'ext_short.onnx.data'"]))

        def escape(m):
            t = init(m, "model.layers.0.mlp.down_proj.weight.qweight")
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            t.external_data.add(key="location", value="../../etc/passwd")
            t.ClearField("raw_data")
        cases.append(("external data outside the model dir", variant("escape", escape),
                      ["down_proj.weight.qweight", "must be a relative path below"]))

        def wrong_heads(m):
            n = node(m, f"{L0}/self_attn/k/Constant")
            for a in n.attribute:
                if a.name == "value":
                    a.t.CopyFrom(numpy_helper.from_array(np.array([0, 0, 4, 32], np.int64),
                                                         a.t.name))
        cases.append(("wrong head split", variant("heads", wrong_heads),
                      ["layer 0 attention", "k/Reshape' (Reshape)", "head_dim is 64"]))

        def do_rotary(m):
            n = node(m, f"{L1}/self_attn/GroupQueryAttention")
            n.attribute.append(helper.make_attribute("do_rotary", 1))
        cases.append(("GroupQueryAttention do_rotary", variant("do_rotary", do_rotary, "gqa"),
                      ["layer 1 attention", "GroupQueryAttention' (com.microsoft."
                       "GroupQueryAttention)", "do_rotary 0"]))

        def interleaved(m):
            n = node(m, f"{L0}/self_attn/rotary_k/RotaryEmbedding")
            for a in n.attribute:
                if a.name == "interleaved":
                    a.i = 1
        cases.append(("RotaryEmbedding interleaved", variant("interleaved", interleaved, "gqa"),
                      ["layer 0 attention", "rotary_k/RotaryEmbedding' (com.microsoft."
                       "RotaryEmbedding)", "interleaved 0"]))

        def cos_cache(m):
            t = init(m, "model.rotary_emb.cos_cache")
            v = numpy_helper.to_array(t).copy()
            v[100, 3] += 0.01
            t.CopyFrom(numpy_helper.from_array(v, t.name))
        cases.append(("RoPE cos cache wrong", variant("cos_cache", cos_cache, "gqa"),
                      ["RoPE tables", "cos/sin caches differ", "position 100, entry 3"]))

        def present_used(m):
            m.graph.node.append(helper.make_node("Identity", ["present.0.key"], ["dbg"],
                                                 name="/debug/present"))
            m.graph.output.append(helper.make_tensor_value_info("dbg", onnx.TensorProto.FLOAT,
                                                                None))
        cases.append(("kv cache output consumed", variant("present_used", present_used, "gqa"),
                      ["'/debug/present' (Identity) is not part of any pattern"]))

        cases.append(("--tokenizer file missing", (good, "--tokenizer", os.path.join(tmp, "no.gguf")),
                      ["--tokenizer", "no.gguf", "cannot open"]))
        cases.append(("--tokenizer not a GGUF", (good, "--tokenizer", good),
                      ["--tokenizer", "good.onnx", "magic"]))
        cases.append(("neither GGUF nor ONNX", raw("model.bin", b"PK\x03\x04zipzip"),
                      ["model.bin", "not a GGUF file", "not an ONNX model"]))

        passed = failed = 0
        for what, path, needles in cases:
            extra = ()
            if isinstance(path, tuple):
                path, extra = path[0], path[1:]
            problems, last = check_failure(args.hyc, path, os.path.join(tmp, "out"), needles,
                                           extra)
            status = "ok" if not problems else "FAIL " + "; ".join(problems)
            print(f"{what:>38}: {status}\n{'':>40}{last}")
            passed += not problems
            failed += bool(problems)

        # Random byte mutations of a good file (structure and weights): never a crash; exit 0
        # with a complete output, or 1 with nothing left behind.
        rng = np.random.default_rng(11)
        crashes, exits = 0, []
        for i in range(16):
            data = bytearray(good_bytes)
            # Nodes come first in the serialized graph, initializers after them.
            lo, hi = (0, 30000) if i % 2 else (30000, len(data))
            for _ in range(int(rng.integers(1, 8))):
                data[int(rng.integers(lo, hi))] = int(rng.integers(0, 256))
            path = raw(f"mutant{i}.onnx", bytes(data))
            out = os.path.join(tmp, "out-mutant")
            r = compile_model(args.hyc, path, out)
            exits.append(r.returncode)
            left = [p for p in os.listdir(tmp) if p.startswith("out-mutant")]
            bad = r.returncode not in (0, 1) or (r.returncode == 1 and left) or \
                (r.returncode == 0 and not os.path.exists(os.path.join(out, "manifest.json")))
            if bad:
                crashes += 1
                print(f"mutant {i}: exit {r.returncode}, left {left}\n{r.stderr[-2000:]}")
            if os.path.exists(out):
                subprocess.run(["rm", "-rf", out])
        print(f"{'16 random mutations':>38}: {'ok' if not crashes else 'FAIL'} (exit codes "
              f"{exits})")
        passed += not crashes
        failed += bool(crashes)

        # Float weights off the grid: compile, with the error reported (SEQ quantization).
        def perturb(m):
            t = init(m, "model.layers.1.mlp.gate_proj.weight")
            v = numpy_helper.to_array(t)
            rng = np.random.default_rng(3)
            t.CopyFrom(numpy_helper.from_array(
                (v + rng.normal(0, 0.1 * np.abs(v).mean(), v.shape)).astype(np.float32), t.name))
        lossy = variant("lossy", perturb, "float")
        out = os.path.join(tmp, "out-lossy")
        r = compile_model(args.hyc, lossy, out)
        notes = [l for l in r.stderr.splitlines() if "quantized" in l]
        ok = (r.returncode == 0 and len(notes) == 2 and "blk.1.ffn_gate.weight" in notes[0]
              and "relative RMS error" in notes[0])
        print(f"{'off-grid float weights (SEQ)':>38}: {'ok' if ok else 'FAIL'}")
        for n in notes:
            print(f"{'':>40}{n}")
        if not ok:
            print(r.stderr)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed ({len(cases)} malformed/unsupported models)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
