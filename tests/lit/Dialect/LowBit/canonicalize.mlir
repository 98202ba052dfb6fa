// RUN: hyc-opt %s -canonicalize -split-input-file | FileCheck %s

// rope at constant position 0 is the identity: erased in place...
// CHECK-LABEL: func.func @rope_pos0_inplace
// CHECK-NOT: lowbit.rope
// CHECK: return
func.func @rope_pos0_inplace(%x: memref<128xf32>) {
  %c0 = arith.constant 0 : i32
  lowbit.rope %x, %c0, %x {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<128xf32>, i32, memref<128xf32>
  return
}

// -----

// ... and a copy out of place.
// CHECK-LABEL: func.func @rope_pos0_copy
// CHECK-SAME: (%[[X:.+]]: memref<128xf32>, %[[Y:.+]]: memref<128xf32>)
// CHECK: memref.copy %[[X]], %[[Y]]
// CHECK-NOT: lowbit.rope
func.func @rope_pos0_copy(%x: memref<128xf32>, %y: memref<128xf32>) {
  %c0 = arith.constant 0 : i32
  lowbit.rope %x, %c0, %y {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<128xf32>, i32, memref<128xf32>
  return
}

// -----

// Any other position is kept.
// CHECK-LABEL: func.func @rope_pos3
// CHECK: lowbit.rope
func.func @rope_pos3(%x: memref<128xf32>) {
  %c3 = arith.constant 3 : i32
  lowbit.rope %x, %c3, %x {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<128xf32>, i32, memref<128xf32>
  return
}

// -----

// Weights are pure: unused ones disappear; ops that write memory stay even
// when nothing reads their output afterwards.
// CHECK-LABEL: func.func @effects
// CHECK-NOT: name = "unused"
// CHECK: lowbit.weight %{{.*}} {name = "used"
// CHECK: lowbit.matmul
// CHECK: lowbit.add
func.func @effects(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>) {
  %u = lowbit.weight %blob {name = "unused", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  %w = lowbit.weight %blob {name = "used", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  lowbit.add %x, %x, %x : memref<512xf32>, memref<512xf32>, memref<512xf32>
  return
}
