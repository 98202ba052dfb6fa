// RUN: not hyc-opt %s -convert-lowbit-to-loops=kernel-isa=neon 2>&1 | FileCheck %s

// Pre-quantized activations have kernels on x86 only (avx2, avx512).
// CHECK: 'lowbit.qmatmul' op kernel "gemv_q2_0c_a8" (int8 activations) exists only for kernel ISAs avx2 and avx512, not neon
func.func @qmatmul_elsewhere(%blob: memref<2080xi8>, %q: memref<1024xi8>, %s: memref<32xf32>, %y: memref<8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  return
}
