// RUN: hyc-opt %s -pass-pipeline='builtin.module(func.func(lowbit-fuse-matmuls))' -split-input-file | FileCheck %s

// q, k, v: adjacent weights and adjacent outputs -> one matmul.
// CHECK-LABEL: func.func @qkv
// CHECK: %[[W:.+]] = lowbit.weight %{{.*}} {name = "q+k+v", offset = 0 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 128x512
// CHECK: %[[OUT:.+]] = memref.view %{{.*}}[%{{.*}}][] : memref<4096xi8> to memref<128xf32>
// CHECK: lowbit.matmul %{{.*}}, %[[W]], %[[OUT]]
// CHECK-NOT: lowbit.matmul
func.func @qkv(%blob: memref<16640xi8>, %arena: memref<4096xi8>) {
  %c0 = arith.constant 0 : index
  %c256 = arith.constant 256 : index
  %c384 = arith.constant 384 : index
  %c2048 = arith.constant 2048 : index
  %q = memref.view %arena[%c0][] : memref<4096xi8> to memref<64xf32>
  %k = memref.view %arena[%c256][] : memref<4096xi8> to memref<32xf32>
  %v = memref.view %arena[%c384][] : memref<4096xi8> to memref<32xf32>
  %h = memref.view %arena[%c2048][] : memref<4096xi8> to memref<512xf32>
  %wq = lowbit.weight %blob {name = "q", offset = 0 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %h, %wq, %q : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  %wk = lowbit.weight %blob {name = "k", offset = 8320 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 32x512>
  lowbit.matmul %h, %wk, %k : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  %wv = lowbit.weight %blob {name = "v", offset = 12480 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 32x512>
  lowbit.matmul %h, %wv, %v : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  return
}

// -----

// A gap between the weights (not adjacent in the blob): no fusion.
// CHECK-LABEL: func.func @weight_gap
// CHECK-COUNT-2: lowbit.matmul
func.func @weight_gap(%blob: memref<16640xi8>, %arena: memref<4096xi8>) {
  %c0 = arith.constant 0 : index
  %c256 = arith.constant 256 : index
  %c2048 = arith.constant 2048 : index
  %q = memref.view %arena[%c0][] : memref<4096xi8> to memref<64xf32>
  %k = memref.view %arena[%c256][] : memref<4096xi8> to memref<32xf32>
  %h = memref.view %arena[%c2048][] : memref<4096xi8> to memref<512xf32>
  %wq = lowbit.weight %blob {name = "q", offset = 0 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %h, %wq, %q : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  %wk = lowbit.weight %blob {name = "k", offset = 8384 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 32x512>
  lowbit.matmul %h, %wk, %k : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  return
}

// -----

// Outputs not adjacent: no fusion.
// CHECK-LABEL: func.func @output_gap
// CHECK-COUNT-2: lowbit.matmul
func.func @output_gap(%blob: memref<16640xi8>, %arena: memref<4096xi8>) {
  %c0 = arith.constant 0 : index
  %c512 = arith.constant 512 : index
  %c2048 = arith.constant 2048 : index
  %q = memref.view %arena[%c0][] : memref<4096xi8> to memref<64xf32>
  %k = memref.view %arena[%c512][] : memref<4096xi8> to memref<32xf32>
  %h = memref.view %arena[%c2048][] : memref<4096xi8> to memref<512xf32>
  %wq = lowbit.weight %blob {name = "q", offset = 0 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %h, %wq, %q : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  %wk = lowbit.weight %blob {name = "k", offset = 8320 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 32x512>
  lowbit.matmul %h, %wk, %k : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  return
}

// -----

// Different inputs, or an effectful op in between: no fusion.
// CHECK-LABEL: func.func @not_consecutive
// CHECK: lowbit.matmul
// CHECK: lowbit.add
// CHECK: lowbit.matmul
func.func @not_consecutive(%blob: memref<16640xi8>, %arena: memref<4096xi8>) {
  %c0 = arith.constant 0 : index
  %c256 = arith.constant 256 : index
  %c2048 = arith.constant 2048 : index
  %q = memref.view %arena[%c0][] : memref<4096xi8> to memref<64xf32>
  %k = memref.view %arena[%c256][] : memref<4096xi8> to memref<32xf32>
  %h = memref.view %arena[%c2048][] : memref<4096xi8> to memref<512xf32>
  %wq = lowbit.weight %blob {name = "q", offset = 0 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %h, %wq, %q : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  lowbit.add %h, %h, %h : memref<512xf32>, memref<512xf32>, memref<512xf32>
  %wk = lowbit.weight %blob {name = "k", offset = 8320 : i64} : memref<16640xi8> -> !lowbit.packed<q2_0c, 32x512>
  lowbit.matmul %h, %wk, %k : memref<512xf32>, !lowbit.packed<q2_0c, 32x512>, memref<32xf32>
  return
}
