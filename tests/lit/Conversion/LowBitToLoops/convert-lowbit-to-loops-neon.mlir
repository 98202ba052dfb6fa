// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=neon -split-input-file | FileCheck %s

// kernel-isa=neon (target aarch64-neon): matmuls call the NEON entry points of
// libhyk_arm64.a, with the same flat signature as the x86 ones.
// CHECK-LABEL: func.func @matmul_q2
// CHECK: scf.for
// CHECK: func.call @hyk_gemv_q2_0c_neon(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK: func.func private @hyk_gemv_q2_0c_neon
func.func @matmul_q2(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

// CHECK-LABEL: func.func @matmul_q8_0
// CHECK: func.call @hyk_gemv_q8_0_neon
func.func @matmul_q8_0(%blob: memref<1088xi8>, %x: memref<64xf32>, %y: memref<16xf32>) {
  %t = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<1088xi8> -> !lowbit.packed<q8_0, 16x64>
  lowbit.matmul %x, %t, %y : memref<64xf32>, !lowbit.packed<q8_0, 16x64>, memref<16xf32>
  return
}

// -----

// Attention over a float16 KV cache calls the NEON _f16 kernel.
// CHECK-LABEL: func.func @attention_f16
// CHECK: call @hyk_attention_neon_f16(
func.func @attention_f16(%q: memref<512xf32>, %kc: memref<16x128xf16>, %vc: memref<16x128xf16>, %pos: i32, %s: memref<16xf32>, %o: memref<512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf16>, memref<16x128xf16>, i32, memref<16xf32>, memref<512xf32>
  return
}
