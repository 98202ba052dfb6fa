// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=sme2 -split-input-file | FileCheck %s

// kernel-isa=sme2 (target aarch64-sme2): the Q2_0C matmuls call the SME2
// kernels of libhyk_sme2.a (a GEMV per activation row, or the SMOPA GEMM when
// lowbit-select-kernels chose gemm_q2_0c); Q8_0 and attention call the _sme2
// names of the neon kernels. Same flat signatures as every other ISA.
// CHECK-LABEL: func.func @matmul_q2
// CHECK: scf.for
// CHECK: func.call @hyk_gemv_q2_0c_sme2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK-NOT: scf.for
// CHECK: call @hyk_gemm_q2_0c_sme2(%{{.*}}, %{{.*}}, %{{.*}}, %c64_i64{{.*}}, %c512_i64{{.*}}, %c4_i64) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64) -> i32
func.func @matmul_q2(%blob: memref<8320xi8>, %x: memref<2x512xf32>, %y: memref<2x64xf32>,
                     %x4: memref<4x512xf32>, %y4: memref<4x64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y : memref<2x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<2x64xf32>
  lowbit.matmul %x4, %w, %y4 {hyc.kernel = "gemm_q2_0c", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<4x64xf32>
  return
}

// -----

// CHECK-LABEL: func.func @matmul_q8_0
// CHECK: func.call @hyk_gemv_q8_0_sme2
func.func @matmul_q8_0(%blob: memref<1088xi8>, %x: memref<64xf32>, %y: memref<16xf32>) {
  %t = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<1088xi8> -> !lowbit.packed<q8_0, 16x64>
  lowbit.matmul %x, %t, %y : memref<64xf32>, !lowbit.packed<q8_0, 16x64>, memref<16xf32>
  return
}

// -----

// CHECK-LABEL: func.func @attention_f16
// CHECK: call @hyk_attention_sme2_f16(
func.func @attention_f16(%q: memref<512xf32>, %kc: memref<16x128xf16>, %vc: memref<16x128xf16>, %pos: i32, %s: memref<16xf32>, %o: memref<512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf16>, memref<16x128xf16>, i32, memref<16xf32>, memref<512xf32>
  return
}
