// RUN: hyc-opt %s -pass-pipeline='builtin.module(func.func(lowbit-fuse-norm-quantize))' -split-input-file | FileCheck %s

// The decode pattern: h is only written by norms and read by quantizes, so
// both pairs fuse and h's buffer goes away.
// CHECK-LABEL: func.func @fuse
// CHECK-NOT: lowbit.buffer {name = "h"}
// CHECK: lowbit.rms_norm_quantize %[[X:.+]], %{{.+}}, %[[Q:.+]], %[[S:.+]] {eps = 9.99999974E-6 : f32, groups = "q2_0c_lanes"}
// CHECK-NEXT: lowbit.qmatmul %[[Q]], %[[S]]
// CHECK: lowbit.rms_norm_quantize %[[X]], %{{.+}}, %[[Q]], %[[S]]
// CHECK-NOT: lowbit.rms_norm %
// CHECK-NOT: lowbit.quantize
func.func @fuse(%x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>, %w: !lowbit.packed<q2_0c, 8x512>,
                %y: memref<8xf32>, %q: memref<512xi8>, %s: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h"} : memref<2048xi8>
  %h = memref.view %hb[%c0][] : memref<2048xi8> to memref<512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  lowbit.qmatmul %q, %s, %w, %y : memref<512xi8>, memref<16xf32>, !lowbit.packed<q2_0c, 8x512>, memref<8xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}

// -----

// Something else reads h (a float matmul): the float values are needed, no
// fusion.
// CHECK-LABEL: func.func @h_read_elsewhere
// CHECK: lowbit.rms_norm %
// CHECK-NEXT: lowbit.quantize
// CHECK-NOT: lowbit.rms_norm_quantize
func.func @h_read_elsewhere(%x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>, %w: !lowbit.packed<q2_0c, 8x512>,
                            %y: memref<8xf32>, %q: memref<512xi8>, %s: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h"} : memref<2048xi8>
  %h = memref.view %hb[%c0][] : memref<2048xi8> to memref<512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  lowbit.matmul %h, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 8x512>, memref<8xf32>
  return
}

// -----

// Not adjacent (an effectful op between) or a per-head norm: no fusion.
// CHECK-LABEL: func.func @not_adjacent
// CHECK-NOT: lowbit.rms_norm_quantize
func.func @not_adjacent(%x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>, %gh: !lowbit.packed<f32, 1x64>,
                        %q: memref<512xi8>, %s: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h"} : memref<2048xi8>
  %h = memref.view %hb[%c0][] : memref<2048xi8> to memref<512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.add %x, %x, %x : memref<512xf32>, memref<512xf32>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  lowbit.rms_norm %x, %gh, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x64>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}

// -----

// A prefill chunk: the norm over all M rows at once, then the quantize of
// the whole matrix: fused into one rank-2 rms_norm_quantize.
// CHECK-LABEL: func.func @chunk
// CHECK: lowbit.rms_norm_quantize %{{.+}} : memref<4x512xf32>, !lowbit.packed<f32, 1x512>, memref<4x512xi8>, memref<4x16xf32>
// CHECK-NOT: lowbit.quantize
func.func @chunk(%x: memref<4x512xf32>, %g: !lowbit.packed<f32, 1x512>, %q: memref<4x512xi8>, %s: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "chunk.h"} : memref<8192xi8>
  %h = memref.view %hb[%c0][] : memref<8192xi8> to memref<4x512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<4x512xf32>, !lowbit.packed<f32, 1x512>, memref<4x512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<4x512xf32>, memref<4x512xi8>, memref<4x16xf32>
  return
}

// -----

// Two quantizes of one norm result (not deduplicated): fusing the first
// would leave the second reading a value nobody writes any more: no fusion.
// CHECK-LABEL: func.func @second_reader
// CHECK-NOT: lowbit.rms_norm_quantize
func.func @second_reader(%x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>, %q: memref<512xi8>, %s: memref<16xf32>,
                         %w: !lowbit.packed<q2_0c, 8x512>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h"} : memref<2048xi8>
  %h = memref.view %hb[%c0][] : memref<2048xi8> to memref<512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  lowbit.qmatmul %q, %s, %w, %y : memref<512xi8>, memref<16xf32>, !lowbit.packed<q2_0c, 8x512>, memref<8xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}

// -----

// A shared buffer (other functions may read its float values): no fusion.
// CHECK-LABEL: func.func @shared_result
// CHECK-NOT: lowbit.rms_norm_quantize
func.func @shared_result(%x: memref<512xf32>, %g: !lowbit.packed<f32, 1x512>, %q: memref<512xi8>, %s: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %hb = lowbit.buffer {name = "h", shared} : memref<2048xi8>
  %h = memref.view %hb[%c0][] : memref<2048xi8> to memref<512xf32>
  lowbit.rms_norm %x, %g, %h {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f32, 1x512>, memref<512xf32>
  lowbit.quantize %h, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}
