// RUN: not hyc-opt %s -convert-lowbit-to-loops=kernel-isa=avx512 -split-input-file 2>&1 | FileCheck %s

// A tuned gemv_q2_0c_a8 reads quantized activations: as a float matmul (no
// lowbit-quantize-activations) it is an error, not a mismatched call.
// CHECK: 'lowbit.matmul' op a tuned gemv_q2_0c_a8 reads activations quantized beforehand: run lowbit-quantize-activations first
func.func @tuned_float(%blob: memref<2080xi8>, %x: memref<1024xf32>, %y: memref<8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "unroll=2"} : memref<1024xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  return
}

// -----

// The same for the GEMM.
// CHECK: 'lowbit.matmul' op a tuned gemm_q2_0c_a8 reads activations quantized beforehand: run lowbit-quantize-activations first
func.func @tuned_float_gemm(%blob: memref<2080xi8>, %x: memref<4x1024xf32>, %y: memref<4x8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "rows=4"} : memref<4x1024xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<4x8xf32>
  return
}

// -----

// The float-activation GEMM has no tuned form.
// CHECK: 'lowbit.matmul' op tuned schedules for "gemm_q2_0c" are not supported yet
func.func @tuned_gemm_f32(%blob: memref<2080xi8>, %x: memref<4x1024xf32>, %y: memref<4x8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemm_q2_0c", hyc.schedule = "rows=4"} : memref<4x1024xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<4x8xf32>
  return
}

// -----

// A tuned kernel reads plain rows; repacked weights are only for defaults.
// CHECK: 'lowbit.qmatmul' op a tuned kernel reads plain Q2_0C rows, not tile_rows = 8
func.func @tuned_repacked(%blob: memref<2080xi8>, %q: memref<1024xi8>, %s: memref<32xf32>, %y: memref<8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "unroll=2"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>, memref<8xf32>
  return
}
