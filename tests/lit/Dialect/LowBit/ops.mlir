// RUN: hyc-opt %s | hyc-opt | FileCheck %s
// Round trip of every lowbit type and op through the printer and parser.

// CHECK-LABEL: func.func @weights
// CHECK: lowbit.weight %{{.*}} {name = "blk.0.attn_q.weight", offset = 0 : i64} : memref<66560xi8> -> !lowbit.packed<q2_0c, 512x512, block = 512, scales = f16_per_block>
// CHECK: lowbit.weight %{{.*}} {name = "token_embd.weight", offset = 0 : i64} : memref<66560xi8> -> !lowbit.packed<f16, 64x512>
// CHECK: lowbit.weight %{{.*}} {name = "output_norm.weight", offset = 2048 : i64} : memref<66560xi8> -> !lowbit.packed<f32, 1x512>
// CHECK: -> !lowbit.packed<q8_0, 64x512, block = 32, scales = f16_per_block>
func.func @weights(%blob: memref<66560xi8>) {
  %0 = lowbit.weight %blob {name = "blk.0.attn_q.weight", offset = 0 : i64} : memref<66560xi8> -> !lowbit.packed<q2_0c, 512x512, block = 512, scales = f16_per_block>
  %1 = lowbit.weight %blob {name = "token_embd.weight", offset = 0 : i64} : memref<66560xi8> -> !lowbit.packed<f16, 64x512>
  %2 = lowbit.weight %blob {name = "output_norm.weight", offset = 2048 : i64} : memref<66560xi8> -> !lowbit.packed<f32, 1x512>
  %3 = lowbit.weight %blob {name = "token_embd.weight", offset = 4096 : i64} : memref<66560xi8> -> !lowbit.packed<q8_0, 64x512>
  return
}

// CHECK-LABEL: func.func @defaults
// The block size and scale layout of q2_0c may be left out: they are implied.
// CHECK: !lowbit.packed<q2_0c, 8x1024, block = 512, scales = f16_per_block>
func.func @defaults(%blob: memref<2080xi8>) {
  %0 = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  return
}

// CHECK-LABEL: func.func @matmul
// CHECK: lowbit.matmul %{{.*}}, %{{.*}}, %{{.*}} : memref<512xf32>, !lowbit.packed<q2_0c, 1024x512, block = 512, scales = f16_per_block>, memref<1024xf32>
// CHECK: lowbit.matmul %{{.*}}, %{{.*}}, %{{.*}} : memref<4x512xf32>, !lowbit.packed<q2_0c, 1024x512, block = 512, scales = f16_per_block>, memref<4x1024xf32>
func.func @matmul(%x: memref<512xf32>, %w: !lowbit.packed<q2_0c, 1024x512>, %y: memref<1024xf32>,
                  %xs: memref<4x512xf32>, %ys: memref<4x1024xf32>) {
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 1024x512>, memref<1024xf32>
  lowbit.matmul %xs, %w, %ys : memref<4x512xf32>, !lowbit.packed<q2_0c, 1024x512>, memref<4x1024xf32>
  return
}

// CHECK-LABEL: func.func @layer_ops
// CHECK: lowbit.embedding
// CHECK: lowbit.rms_norm %{{.*}} {eps = 9.99999974E-6 : f32}
// CHECK: lowbit.rope %{{.*}} {freq_base = 1.000000e+04 : f64, head_dim = 64 : i64}
// CHECK: lowbit.kv_store
// CHECK: lowbit.attention %{{.*}} {head_dim = 64 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64}
// CHECK: lowbit.swiglu
// CHECK: lowbit.add
func.func @layer_ops(%emb: !lowbit.packed<f16, 512x512>, %tok: i32, %pos: i32,
                     %x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>,
                     %k: memref<128xf32>, %kc: memref<256x128xf32>, %vc: memref<256x128xf32>,
                     %s: memref<256xf32>, %o: memref<512xf32>,
                     %ff: memref<1024xf32>, %up: memref<1024xf32>) {
  lowbit.embedding %emb, %tok, %x : !lowbit.packed<f16, 512x512>, i32, memref<512xf32>
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.rope %x, %pos, %x {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<512xf32>, i32, memref<512xf32>
  lowbit.kv_store %k, %kc, %pos : memref<128xf32>, memref<256x128xf32>, i32
  lowbit.attention %x, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<256x128xf32>, memref<256x128xf32>, i32, memref<256xf32>, memref<512xf32>
  lowbit.swiglu %ff, %up, %ff : memref<1024xf32>, memref<1024xf32>, memref<1024xf32>
  lowbit.add %x, %o, %x : memref<512xf32>, memref<512xf32>, memref<512xf32>
  return
}

// A float16 KV cache: kv_store rounds into it, attention reads it.
// CHECK-LABEL: func.func @kv_f16
// CHECK: lowbit.kv_store %{{.*}} : memref<128xf32>, memref<256x128xf16>, i32
// CHECK: lowbit.attention %{{.*}} : memref<512xf32>, memref<256x128xf16>, memref<256x128xf16>, i32, memref<256xf32>, memref<512xf32>
func.func @kv_f16(%q: memref<512xf32>, %k: memref<128xf32>, %kc: memref<256x128xf16>,
                  %vc: memref<256x128xf16>, %pos: i32, %s: memref<256xf32>, %o: memref<512xf32>) {
  lowbit.kv_store %k, %kc, %pos : memref<128xf32>, memref<256x128xf16>, i32
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<256x128xf16>, memref<256x128xf16>, i32, memref<256xf32>, memref<512xf32>
  return
}

// A prefill chunk's attention: M query rows at positions pos .. pos + M - 1.
// CHECK-LABEL: func.func @attention_rows
// CHECK: lowbit.attention %{{.*}} : memref<4x512xf32>, memref<256x128xf32>, memref<256x128xf32>, i32, memref<256xf32>, memref<4x512xf32>
func.func @attention_rows(%q: memref<4x512xf32>, %kc: memref<256x128xf32>, %vc: memref<256x128xf32>,
                          %pos: i32, %s: memref<256xf32>, %o: memref<4x512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<4x512xf32>, memref<256x128xf32>, memref<256x128xf32>, i32, memref<256xf32>, memref<4x512xf32>
  return
}

// Activation buffers: two of the same shape stay distinct (no CSE merges
// allocations); `shared` round-trips.
// CHECK-LABEL: func.func @buffers
// CHECK: %[[A:.+]] = lowbit.buffer {name = "x", shared} : memref<2048xi8>
// CHECK: %[[B:.+]] = lowbit.buffer {name = "h"} : memref<2048xi8>
// CHECK: return %[[A]], %[[B]]
func.func @buffers() -> (memref<2048xi8>, memref<2048xi8>) {
  %x = lowbit.buffer {name = "x", shared} : memref<2048xi8>
  %h = lowbit.buffer {name = "h"} : memref<2048xi8>
  return %x, %h : memref<2048xi8>, memref<2048xi8>
}

// ggml's Q2_K and TQ2_0 (blocks of 256; block and scales default to what the
// format requires and are printed).
// CHECK-LABEL: func.func @ggml_two_bit
// CHECK-SAME: !lowbit.packed<q2_k, 64x512, block = 256, scales = u4_sub_f16_super>
// CHECK-SAME: !lowbit.packed<tq2_0, 64x512, block = 256, scales = f16_after_codes>
func.func @ggml_two_bit(%a: !lowbit.packed<q2_k, 64x512>, %b: !lowbit.packed<tq2_0, 64x512>) {
  return
}

// A target-repacked layout: tile_rows is printed when above 1, and
// tile_rows = 1 is the source layout (not printed).
// CHECK-LABEL: func.func @repacked
// CHECK-SAME: !lowbit.packed<q2_0c, 64x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// CHECK-SAME: !lowbit.packed<q2_0c, 64x1024, block = 512, scales = f16_per_block>)
func.func @repacked(%a: !lowbit.packed<q2_0c, 64x1024, tile_rows = 8>,
                    %b: !lowbit.packed<q2_0c, 64x1024, tile_rows = 1>) {
  return
}

// Int8 activations: quantize, the fused norm + quantize, and the matmul over
// quantized activations (decode and prefill shapes).
// CHECK-LABEL: func.func @int8_activations
// CHECK: lowbit.quantize %{{.*}} {groups = "q2_0c_lanes"} : memref<1024xf32>, memref<1024xi8>, memref<32xf32>
// CHECK: lowbit.rms_norm_quantize %{{.*}} {eps = 9.99999974E-6 : f32, groups = "q2_0c_lanes"} : memref<1024xf32>, !lowbit.packed<f32, 1x1024>, memref<1024xi8>, memref<32xf32>
// CHECK: lowbit.qmatmul %{{.*}} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 64x1024, block = 512, scales = f16_per_block>, memref<64xf32>
// CHECK: lowbit.quantize %{{.*}} : memref<4x1024xf32>, memref<4x1024xi8>, memref<4x32xf32>
// CHECK: lowbit.qmatmul %{{.*}} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 64x1024, block = 512, scales = f16_per_block>, memref<4x64xf32>
func.func @int8_activations(%x: memref<1024xf32>, %g: !lowbit.packed<f32, 1x1024>,
                            %q: memref<1024xi8>, %s: memref<32xf32>,
                            %w: !lowbit.packed<q2_0c, 64x1024>, %y: memref<64xf32>,
                            %xm: memref<4x1024xf32>, %qm: memref<4x1024xi8>,
                            %sm: memref<4x32xf32>, %ym: memref<4x64xf32>) {
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<1024xf32>, memref<1024xi8>, memref<32xf32>
  lowbit.rms_norm_quantize %x, %g, %q, %s {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"} : memref<1024xf32>, !lowbit.packed<f32, 1x1024>, memref<1024xi8>, memref<32xf32>
  lowbit.qmatmul %q, %s, %w, %y : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<64xf32>
  lowbit.quantize %xm, %qm, %sm {groups = "q2_0c_lanes"} : memref<4x1024xf32>, memref<4x1024xi8>, memref<4x32xf32>
  lowbit.qmatmul %qm, %sm, %w, %ym : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 64x1024>, memref<4x64xf32>
  return
}

// rms_norm over M rows (a prefill chunk), each row in groups of the gain's
// length.
// CHECK-LABEL: func.func @rms_norm_rows
// CHECK: lowbit.rms_norm %{{.*}} : memref<4x512xf32>, !lowbit.packed<f32, 1x512>, memref<4x512xf32>
// CHECK: lowbit.rms_norm %{{.*}} : memref<4x512xf32>, !lowbit.packed<f32, 1x64>, memref<4x512xf32>
func.func @rms_norm_rows(%x: memref<4x512xf32>, %g: !lowbit.packed<f32, 1x512>, %gh: !lowbit.packed<f32, 1x64>) {
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<4x512xf32>, !lowbit.packed<f32, 1x512>, memref<4x512xf32>
  lowbit.rms_norm %x, %gh, %x {eps = 1.0e-05 : f32} : memref<4x512xf32>, !lowbit.packed<f32, 1x64>, memref<4x512xf32>
  return
}
