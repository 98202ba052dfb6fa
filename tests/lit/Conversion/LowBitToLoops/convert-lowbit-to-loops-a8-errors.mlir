// RUN: not hyc-opt %s -convert-lowbit-to-loops=kernel-isa=neon 2>&1 | FileCheck %s
// RUN: not hyc-opt %s -convert-lowbit-to-loops=kernel-isa=avx2 2>&1 | FileCheck %s

// The int8-activation kernels exist for avx512 only: another ISA is an error
// naming the kernel, not a call to a symbol that no kernel library defines.
// CHECK: 'lowbit.matmul' op kernel "gemv_q2_0c_a8" (int8 activations, float input) exists only for kernel ISA avx512, not
func.func @a8_elsewhere(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

