// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=neon -split-input-file | FileCheck %s
// The int8 rounding ops on an ISA without their kernels (int8 activations
// are avx512's, so only hyc-opt gets here): loops with the kernels' rounding.

// quantize: per group of 32, max |x|, the step m * (1/127) and q =
// roundeven(x * (127 / m)) without fast-math flags.
// CHECK-LABEL: func.func @quantize_loops
// CHECK: arith.maximumf
// CHECK: arith.divf %{{.+}}, %{{.+}} : f32
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.+}} : f32 to i8
// CHECK-NOT: call @hyk_
func.func @quantize_loops(%x: memref<1024xf32>, %q: memref<1024xi8>, %s: memref<32xf32>) {
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<1024xf32>, memref<1024xi8>, memref<32xf32>
  return
}

// -----

// rms_norm_quantize: the sum of squares, rsqrt, then the normalized values
// recomputed for the group maximum and the rounding (never stored as f32).
// CHECK-LABEL: func.func @norm_quantize_loops
// CHECK: math.rsqrt
// CHECK: arith.maximumf
// CHECK: math.roundeven
// CHECK-NOT: memref.store %{{.+}} : memref<1024xf32>
func.func @norm_quantize_loops(%blob: memref<4096xi8>, %x: memref<1024xf32>, %q: memref<1024xi8>, %s: memref<32xf32>) {
  %g = lowbit.weight %blob {name = "g", offset = 0 : i64} : memref<4096xi8> -> !lowbit.packed<f32, 1x1024>
  lowbit.rms_norm_quantize %x, %g, %q, %s {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"} : memref<1024xf32>, !lowbit.packed<f32, 1x1024>, memref<1024xi8>, memref<32xf32>
  return
}
