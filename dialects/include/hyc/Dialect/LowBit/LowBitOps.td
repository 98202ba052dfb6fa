//===- LowBitOps.td - lowbit dialect operations ------------*- tablegen -*-===//
//
// Ops follow destination-passing style on f32 memrefs: each op reads its
// inputs and writes its result into the `out` memref given as an operand, so
// the activation arena a compiled model uses is explicit in the IR.
//
//===----------------------------------------------------------------------===//

#ifndef HYC_DIALECT_LOWBIT_OPS
#define HYC_DIALECT_LOWBIT_OPS

include "hyc/Dialect/LowBit/LowBitTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class LowBit_Op<string mnemonic, list<Trait> traits = []>
    : Op<LowBit_Dialect, mnemonic, traits>;

def LowBit_F32Vector : MemRefRankOf<[F32], [1]>;
def LowBit_F32Activations : MemRefRankOf<[F32], [1, 2]>;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def LowBit_WeightOp : LowBit_Op<"weight", [Pure]> {
  let summary = "a named weight matrix inside the weights blob";
  let description = [{
    Names one tensor of the model (`name`, as the source file spells it) and
    the byte `offset` at which its packed bytes start inside the weights blob
    `blob`, which the compiled library memory-maps at run time. The result
    type says how the bytes are laid out. No weight data ever lives in the IR.

    Example:

    ```mlir
    %wq = lowbit.weight %blob {name = "blk.0.attn_q.weight", offset = 4096 : i64}
        : memref<1048576xi8> -> !lowbit.packed<q2_0c, 512x512, block = 512, scales = f16_per_block>
    ```
  }];
  let arguments = (ins MemRefRankOf<[I8], [1]>:$blob, StrAttr:$name,
                       I64Attr:$offset);
  let results = (outs LowBit_PackedType:$result);
  let assemblyFormat = "$blob attr-dict `:` type($blob) `->` qualified(type($result))";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activation buffers
//===----------------------------------------------------------------------===//

def LowBit_BufferOp : LowBit_Op<"buffer"> {
  let summary = "an activation buffer whose place in the arena is not yet chosen";
  let description = [{
    A statically sized byte buffer for activations (the ops read and write
    f32 `memref.view`s of it). Where it lives is decided later by
    `lowbit-plan-memory`, which packs every buffer of the module into the one
    activation arena the library is given (the function argument marked
    `lowbit.arena`) and rewrites each buffer into a view of it.

    A buffer is local to its function and live from its first to its last
    use there, unless it is `shared`: every shared buffer of a name is the
    same memory in every function of the module (how one function hands a
    result to another, e.g. the hidden state from the layers to the
    lm_head), and lives as long as the library.

    ```mlir
    %x = lowbit.buffer {name = "x", shared} : memref<8192xi8>
    %qkv = lowbit.buffer {name = "qkv"} : memref<12288xi8>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$shared);
  let results = (outs Res<MemRefRankOf<[I8], [1]>, "", [MemAlloc]>:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compute
//===----------------------------------------------------------------------===//

def LowBit_MatmulOp : LowBit_Op<"matmul"> {
  let summary = "f32 activations times a packed weight matrix, into f32";
  let description = [{
    `out[m, n] = sum_k x[m, k] * W[n, k]` where `W` is the packed `rows x
    cols` matrix `weight` (so `N = rows`, `K = cols`). `x` and `out` are
    either vectors (`[K]` -> `[N]`, the decode form) or matrices with the same
    leading dimension M (`[M, K]` -> `[M, N]`, the prefill form).

    Example:

    ```mlir
    lowbit.matmul %x, %w, %y : memref<2048xf32>,
        !lowbit.packed<q2_0c, 6144x2048, block = 512, scales = f16_per_block>,
        memref<6144xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Activations, "", [MemRead]>:$x,
                       LowBit_PackedType:$weight,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$out);
  let assemblyFormat = [{
    $x `,` $weight `,` $out attr-dict `:` type($x) `,` qualified(type($weight)) `,` type($out)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Int8 activations
//===----------------------------------------------------------------------===//

def LowBit_I8Activations : MemRefRankOf<[I8], [1, 2]>;

def LowBit_QuantizeOp : LowBit_Op<"quantize"> {
  let summary = "round f32 activations to int8 with one step per group of 32";
  let description = [{
    Writes the int8 `q` and the float32 `steps` of `x` ([K], or M rows of K;
    K a multiple of 512), for the Q2_0C int8-activation kernels. The groups
    are those kernels' (`groups = "q2_0c_lanes"`): group `16 b + l` of a row
    is the 32 elements `512 b + 256 h + 16 l + i` (h < 2, i < 16). Per group,
    in float32: `m = max |x|`, `step = m * (1.0f / 127)` and
    `q = round-half-even(x * (127.0f / m))` (all 0 when m = 0), so `q * step`
    is x rounded to int8 precision. `steps` holds K / 32 floats per row.

    ```mlir
    lowbit.quantize %h, %hq, %hs {groups = "q2_0c_lanes"}
        : memref<2048xf32>, memref<2048xi8>, memref<64xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Activations, "", [MemRead]>:$x,
                       Arg<LowBit_I8Activations, "", [MemWrite]>:$q,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$steps,
                       StrAttr:$groups);
  let assemblyFormat = [{
    $x `,` $q `,` $steps attr-dict `:` type($x) `,` type($q) `,` type($steps)
  }];
  let hasVerifier = 1;
}

def LowBit_RmsNormQuantizeOp : LowBit_Op<"rms_norm_quantize"> {
  let summary = "rms_norm of a vector, rounded to int8 as lowbit.quantize does";
  let description = [{
    `lowbit.rms_norm %x, %gamma, %h` (over the whole vector: `gamma` has as
    many entries as a row of `x`) followed by `lowbit.quantize %h, %q,
    %steps`, as one op: the normalized values are never stored as float32.
    A vector or M rows. What `lowbit-fuse-norm-quantize` makes of that pair
    when nothing else reads h.

    ```mlir
    lowbit.rms_norm_quantize %x, %gamma, %hq, %hs {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"}
        : memref<2048xf32>, !lowbit.packed<f32, 1x2048>, memref<2048xi8>, memref<64xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Activations, "", [MemRead]>:$x,
                       LowBit_PackedType:$gamma,
                       Arg<LowBit_I8Activations, "", [MemWrite]>:$q,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$steps,
                       F32Attr:$eps, StrAttr:$groups);
  let assemblyFormat = [{
    $x `,` $gamma `,` $q `,` $steps attr-dict `:` type($x) `,` qualified(type($gamma)) `,`
    type($q) `,` type($steps)
  }];
  let hasVerifier = 1;
}

def LowBit_QuantizedMatmulOp : LowBit_Op<"qmatmul"> {
  let summary = "int8-quantized activations times Q2_0C weights, into f32";
  let description = [{
    `out[m, n] = sum_k W[n, k] * q[m, k] * steps[m, g(k)]`, with g the group
    of element k as `lowbit.quantize` defines it: the `lowbit.matmul` of the
    activations that `q` and `steps` quantize. Vectors (decode) or M rows
    (prefill), as for `lowbit.matmul`. Weights: Q2_0C.

    ```mlir
    lowbit.qmatmul %hq, %hs, %w, %y : memref<2048xi8>, memref<64xf32>,
        !lowbit.packed<q2_0c, 6144x2048, block = 512, scales = f16_per_block>,
        memref<6144xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_I8Activations, "", [MemRead]>:$q,
                       Arg<LowBit_F32Activations, "", [MemRead]>:$steps,
                       LowBit_PackedType:$weight,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$out);
  let assemblyFormat = [{
    $q `,` $steps `,` $weight `,` $out attr-dict `:` type($q) `,` type($steps) `,`
    qualified(type($weight)) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_EmbeddingOp : LowBit_Op<"embedding"> {
  let summary = "copy one row of an embedding table into f32";
  let description = [{
    Writes row `token` of the `vocab x dim` table `table` to `out` (converted
    to f32). A token outside `[0, vocab)` is undefined here: the caller (the
    library's entry point) checks it first.

    ```mlir
    lowbit.embedding %table, %tok, %x : !lowbit.packed<f16, 512x512>, i32, memref<512xf32>
    ```
  }];
  let arguments = (ins LowBit_PackedType:$table, I32:$token,
                       Arg<LowBit_F32Vector, "", [MemWrite]>:$out);
  let assemblyFormat = [{
    $table `,` $token `,` $out attr-dict `:` qualified(type($table)) `,` type($token) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_RmsNormOp : LowBit_Op<"rms_norm"> {
  let summary = "RMS normalization over the whole vector or per group (head)";
  let description = [{
    Splits `x` into consecutive groups of G elements, where G is the length
    of the f32 gain vector `gamma` (`!lowbit.packed<f32, 1xG>`), and writes
    `out = x / sqrt(mean(x^2) + eps) * gamma` per group. G equal to the
    length of `x` is the usual pre-norm; G = head_dim is the per-head q/k
    norm. `x` and `out` are a vector or M rows (a prefill chunk; G divides
    the row length, so no group spans two rows). `out` may alias `x`.

    ```mlir
    lowbit.rms_norm %q, %qnorm, %q {eps = 1.0e-05 : f32}
        : memref<512xf32>, !lowbit.packed<f32, 1x64>, memref<512xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Activations, "", [MemRead]>:$x,
                       LowBit_PackedType:$gamma,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$out, F32Attr:$eps);
  let assemblyFormat = [{
    $x `,` $gamma `,` $out attr-dict `:` type($x) `,` qualified(type($gamma)) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_RopeOp : LowBit_Op<"rope"> {
  let summary = "NEOX-style rotary position embedding, per head";
  let description = [{
    For each head of `head_dim` elements and each i < head_dim / 2, rotates
    the pair (x[i], x[i + head_dim/2]) by angle `pos * freq_base^(-2i /
    head_dim)` (NEOX: rotate halves, not adjacent pairs). `freq_base` is the
    final base (for HY, already scaled by dynamic NTK). `out` may alias `x`.

    ```mlir
    lowbit.rope %q, %pos, %q {head_dim = 64 : i64, freq_base = 1.0e4 : f64}
        : memref<512xf32>, i32, memref<512xf32>
    ```

    Canonicalization: at a constant position 0 every angle is 0, so the op is
    the identity: erased when in place, a `memref.copy` otherwise.
  }];
  let hasCanonicalizer = 1;
  let arguments = (ins Arg<LowBit_F32Vector, "", [MemRead]>:$x, I32:$pos,
                       Arg<LowBit_F32Vector, "", [MemWrite]>:$out,
                       I64Attr:$head_dim, F64Attr:$freq_base);
  let assemblyFormat = [{
    $x `,` $pos `,` $out attr-dict `:` type($x) `,` type($pos) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_KvStoreOp : LowBit_Op<"kv_store"> {
  let summary = "store one position's keys or values into a cache";
  let description = [{
    Copies the vector `x` (all KV heads of one position) into row `pos` of
    the `context x width` cache `cache`. A float16 cache holds `x` rounded
    to the nearest float16 (ties to even): half the memory and half the
    bytes attention reads per position, for a relative rounding of at most
    2^-11 per element. An i8 cache holds the bytes of ggml Q8_0 blocks: per
    32 elements of `x` (the row's length a multiple of 32), the float16 step
    d = max|x| / 127 then the 32 int8 q = round(x / d) (halves away from
    zero), 34 bytes in all; the element reads back as d q.

    ```mlir
    lowbit.kv_store %k, %kcache, %pos : memref<128xf32>, memref<256x128xf32>, i32
    lowbit.kv_store %k, %kcache16, %pos : memref<128xf32>, memref<256x128xf16>, i32
    lowbit.kv_store %k, %kcacheq8, %pos : memref<128xf32>, memref<256x136xi8>, i32
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Vector, "", [MemRead]>:$x,
                       Arg<MemRefRankOf<[F32, F16, I8], [2]>, "", [MemWrite]>:$cache,
                       I32:$pos);
  let assemblyFormat = [{
    $x `,` $cache `,` $pos attr-dict `:` type($x) `,` type($cache) `,` type($pos)
  }];
  let hasVerifier = 1;
}

def LowBit_AttentionOp : LowBit_Op<"attention"> {
  let summary = "causal grouped-query attention of queries over a KV cache";
  let description = [{
    For each of `num_heads` query heads h (head_dim elements each), with KV
    head `j = h / (num_heads / num_kv_heads)` (consecutive query heads share
    a KV head), computes softmax over t in [0, pos] of
    `q_h . k[t, j] / sqrt(head_dim)` and writes the weighted sum of
    `v[t, j]` to head h of `out`. `scratch` holds the scores (at least
    `context` floats) where the op is lowered to loops.

    `q` and `out` are one query (`num_heads * head_dim` floats) or M rows of
    queries at consecutive positions (`M x (num_heads * head_dim)`): row r is
    at position `pos + r` and attends to positions `[0, pos + r]`, so the
    cache must already hold rows up to `pos + M - 1` (a prefill chunk stores
    all its keys and values first). One op for a chunk lets the kernel run
    the heads and rows in parallel. The caches are both float32, both
    float16 (widened to float32 as they are read; the math is float32) or
    both i8: Q8_0 rows as lowbit.kv_store writes them (head_dim a multiple
    of 32, so no block straddles two heads), dequantized as they are read.

    ```mlir
    lowbit.attention %q, %kc, %vc, %pos, %s, %o
        {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64}
        : memref<512xf32>, memref<256x128xf32>, memref<256x128xf32>, i32,
          memref<256xf32>, memref<512xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Activations, "", [MemRead]>:$q,
                       Arg<MemRefRankOf<[F32, F16, I8], [2]>, "", [MemRead]>:$k_cache,
                       Arg<MemRefRankOf<[F32, F16, I8], [2]>, "", [MemRead]>:$v_cache, I32:$pos,
                       Arg<LowBit_F32Vector, "", [MemRead, MemWrite]>:$scratch,
                       Arg<LowBit_F32Activations, "", [MemWrite]>:$out,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       I64Attr:$head_dim);
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache `,` $pos `,` $scratch `,` $out attr-dict `:`
    type($q) `,` type($k_cache) `,` type($v_cache) `,` type($pos) `,`
    type($scratch) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_SwigluOp : LowBit_Op<"swiglu"> {
  let summary = "SwiGLU gate: silu(gate) * up";
  let description = [{
    `out = gate / (1 + exp(-gate)) * up`, elementwise. `out` may alias
    either input.

    ```mlir
    lowbit.swiglu %g, %u, %g : memref<1024xf32>, memref<1024xf32>, memref<1024xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Vector, "", [MemRead]>:$gate,
                       Arg<LowBit_F32Vector, "", [MemRead]>:$up,
                       Arg<LowBit_F32Vector, "", [MemWrite]>:$out);
  let assemblyFormat = [{
    $gate `,` $up `,` $out attr-dict `:` type($gate) `,` type($up) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LowBit_AddOp : LowBit_Op<"add"> {
  let summary = "elementwise f32 add (the residual connection)";
  let description = [{
    `out = lhs + rhs`; `out` may alias either input.

    ```mlir
    lowbit.add %x, %o, %x : memref<512xf32>, memref<512xf32>, memref<512xf32>
    ```
  }];
  let arguments = (ins Arg<LowBit_F32Vector, "", [MemRead]>:$lhs,
                       Arg<LowBit_F32Vector, "", [MemRead]>:$rhs,
                       Arg<LowBit_F32Vector, "", [MemWrite]>:$out);
  let assemblyFormat = [{
    $lhs `,` $rhs `,` $out attr-dict `:` type($lhs) `,` type($rhs) `,` type($out)
  }];
  let hasVerifier = 1;
}

#endif // HYC_DIALECT_LOWBIT_OPS
