// RUN: hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/tuning-ops.json target=x86-64-avx512" | FileCheck %s
// RUN: hyc-opt %s -lowbit-select-kernels="target=aarch64-neon" | FileCheck %s --check-prefix=NEON
// RUN: hyc-opt %s -lowbit-select-kernels="tuning-db=%S/Inputs/tuning-ops.json target=x86-64-avx512" | hyc-opt -convert-lowbit-to-loops=kernel-isa=avx512 | FileCheck %s --check-prefix=LOWER

// The attention and pointwise ops get their kernels too, keyed by (kernel, N,
// K) and, for attention, the KV heads: the 2-KV-head entry applies, not the
// 4-head one. An avx2 entry does not apply to avx512; quantize kernels exist on
// x86-64-avx512 only; a head size the attention kernels do not take (24) keeps
// the loops (no kernel attribute).
// CHECK-LABEL: func.func @ops
// CHECK: lowbit.attention {{.*}}hyc.kernel = "attention_decode_f16", hyc.schedule = "kv_split=512,parallel=true"
// CHECK: lowbit.attention {{.*}}hyc.kernel = "attention_prefill_f16", hyc.schedule = "default"
// CHECK: lowbit.attention {{.*}} {head_dim = 24 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64} :
// CHECK: lowbit.rms_norm {{.*}}hyc.kernel = "rms_norm", hyc.schedule = "vectors=4"
// CHECK: lowbit.rope {{.*}}hyc.kernel = "rope", hyc.schedule = "default"
// CHECK: lowbit.swiglu {{.*}}hyc.kernel = "swiglu", hyc.schedule = "vectors=8"
// CHECK: lowbit.quantize {{.*}}hyc.kernel = "quantize", hyc.schedule = "vectors=1"
// NEON-LABEL: func.func @ops
// NEON: lowbit.attention {{.*}}hyc.kernel = "attention_decode_f16", hyc.schedule = "default"
// NEON: lowbit.rms_norm {{.*}}hyc.kernel = "rms_norm"
// NEON: lowbit.quantize {{.*}} {groups = "q2_0c_lanes"} :

// Lowered: a tuned op calls its generated pipeline (kernelVariantName of the
// kernel and schedule) through hyk_<op>_run; a default one the prebuilt entry.
// LOWER-LABEL: func.func @ops
// LOWER: %[[ATT:.+]] = llvm.mlir.addressof @hyk_v_attention_decode_f16_avx512_s{{[0-9a-f]+}}
// LOWER: call @hyk_attention_run_f16(%[[ATT]],
// LOWER: call @hyk_attention_avx512_f16(
// LOWER: %[[NORM:.+]] = llvm.mlir.addressof @hyk_v_rms_norm_avx512_s{{[0-9a-f]+}}
// LOWER: call @hyk_rms_norm_run(%[[NORM]],
// LOWER: call @hyk_rope_avx512(
// LOWER: %[[SW:.+]] = llvm.mlir.addressof @hyk_v_swiglu_avx512_s{{[0-9a-f]+}}
// LOWER: call @hyk_swiglu_run(%[[SW]],
// LOWER: %[[QZ:.+]] = llvm.mlir.addressof @hyk_v_quantize_avx512_s{{[0-9a-f]+}}
// LOWER: call @hyk_quantize_run(%[[QZ]],
func.func @ops(%blob: memref<256xi8>, %q: memref<512xf32>, %kc: memref<16x128xf16>,
               %vc: memref<16x128xf16>, %pos: i32, %s: memref<16xf32>, %o: memref<512xf32>,
               %q4: memref<4x512xf32>, %o4: memref<4x512xf32>,
               %q3: memref<192xf32>, %kc3: memref<16x48xf32>, %vc3: memref<16x48xf32>,
               %o3: memref<192xf32>, %x: memref<256xf32>, %r: memref<128xf32>,
               %gate: memref<1024xf32>, %up: memref<1024xf32>, %xq: memref<512xi8>,
               %steps: memref<16xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf16>, memref<16x128xf16>, i32, memref<16xf32>, memref<512xf32>
  lowbit.attention %q4, %kc, %vc, %pos, %s, %o4 {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<4x512xf32>, memref<16x128xf16>, memref<16x128xf16>, i32, memref<16xf32>, memref<4x512xf32>
  lowbit.attention %q3, %kc3, %vc3, %pos, %s, %o3 {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 24 : i64} : memref<192xf32>, memref<16x48xf32>, memref<16x48xf32>, i32, memref<16xf32>, memref<192xf32>
  %g = lowbit.weight %blob {name = "g", offset = 0 : i64} : memref<256xi8> -> !lowbit.packed<f32, 1x64>
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<256xf32>, !lowbit.packed<f32, 1x64>, memref<256xf32>
  lowbit.rope %r, %pos, %r {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<128xf32>, i32, memref<128xf32>
  lowbit.swiglu %gate, %up, %gate : memref<1024xf32>, memref<1024xf32>, memref<1024xf32>
  lowbit.quantize %q, %xq, %steps {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}
