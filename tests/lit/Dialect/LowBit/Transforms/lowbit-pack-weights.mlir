// RUN: hyc-opt %s -lowbit-pack-weights=kernel-isa=avx512 -split-input-file | FileCheck %s
// RUN: hyc-opt %s -lowbit-pack-weights=kernel-isa=avx2 -split-input-file | FileCheck %s --check-prefix=AVX2

// Every reader of both weights is an int8-activation qmatmul with the default
// schedule: both get Q2_0C/r8 and a record each (rows of 1024 weights are
// 260 bytes). avx2 has no such kernels: nothing changes.
// CHECK: module attributes {lowbit.repacked_weights = [{bytes = 4160 : i64, format = "q2_0c", offset = 0 : i64, row_bytes = 260 : i64, tile_rows = 8 : i64}, {bytes = 2080 : i64, format = "q2_0c", offset = 4160 : i64, row_bytes = 260 : i64, tile_rows = 8 : i64}]}
// CHECK-LABEL: func.func @decode
// CHECK: lowbit.weight %{{.+}} {name = "a", offset = 0 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 16x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// CHECK: lowbit.weight %{{.+}} {name = "b", offset = 4160 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 8x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// CHECK: lowbit.qmatmul {{.+}} !lowbit.packed<q2_0c, 16x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// AVX2-NOT: lowbit.repacked_weights
// AVX2-NOT: tile_rows
func.func @decode(%blob: memref<6240xi8>, %q: memref<1024xi8>, %s: memref<32xf32>,
                  %y: memref<16xf32>, %qm: memref<4x1024xi8>, %sm: memref<4x32xf32>,
                  %ym: memref<4x8xf32>) {
  %a = lowbit.weight %blob {name = "a", offset = 0 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 16x1024>
  %b = lowbit.weight %blob {name = "b", offset = 4160 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.qmatmul %q, %s, %a, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 16x1024>, memref<16xf32>
  lowbit.qmatmul %qm, %sm, %b, %ym {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<4x8xf32>
  return
}

// -----

// One function reads q and k fused, another one by one: one group, repacked
// as a whole (one record), every op retyped.
// CHECK: module attributes {lowbit.repacked_weights = [{bytes = 6240 : i64, format = "q2_0c", offset = 0 : i64, row_bytes = 260 : i64, tile_rows = 8 : i64}]}
// CHECK-LABEL: func.func @fused
// CHECK: !lowbit.packed<q2_0c, 24x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// CHECK-LABEL: func.func @separate
// CHECK: !lowbit.packed<q2_0c, 16x1024, block = 512, scales = f16_per_block, tile_rows = 8>
// CHECK: !lowbit.packed<q2_0c, 8x1024, block = 512, scales = f16_per_block, tile_rows = 8>
func.func @fused(%blob: memref<6240xi8>, %q: memref<1024xi8>, %s: memref<32xf32>, %y: memref<24xf32>) {
  %qk = lowbit.weight %blob {name = "q+k", offset = 0 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 24x1024>
  lowbit.qmatmul %q, %s, %qk, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 24x1024>, memref<24xf32>
  return
}
func.func @separate(%blob: memref<6240xi8>, %q: memref<4x1024xi8>, %s: memref<4x32xf32>,
                    %y: memref<4x16xf32>, %z: memref<4x8xf32>) {
  %wq = lowbit.weight %blob {name = "q", offset = 0 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 16x1024>
  %wk = lowbit.weight %blob {name = "k", offset = 4160 : i64} : memref<6240xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.qmatmul %q, %s, %wq, %y {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 16x1024>, memref<4x16xf32>
  lowbit.qmatmul %q, %s, %wk, %z {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<4x8xf32>
  return
}

// -----

// Left in the source layout: a weight that a float matmul also reads (in
// another function), one read with a tuned schedule, one whose rows do not
// fill tiles of 8, and a Q8_0 one.
// CHECK: // -----
// CHECK-NOT: lowbit.repacked_weights
// CHECK: func.func @step
// CHECK-NOT: tile_rows
// CHECK: func.func @float_reader
// CHECK-NOT: tile_rows
// CHECK: // -----
func.func @step(%blob: memref<11632xi8>, %q: memref<1024xi8>, %s: memref<32xf32>,
                %y: memref<8xf32>, %y12: memref<12xf32>) {
  %a = lowbit.weight %blob {name = "a", offset = 0 : i64} : memref<11632xi8> -> !lowbit.packed<q2_0c, 8x1024>
  %b = lowbit.weight %blob {name = "b", offset = 2080 : i64} : memref<11632xi8> -> !lowbit.packed<q2_0c, 8x1024>
  %c = lowbit.weight %blob {name = "c", offset = 4160 : i64} : memref<11632xi8> -> !lowbit.packed<q2_0c, 12x1024>
  %d = lowbit.weight %blob {name = "d", offset = 7280 : i64} : memref<11632xi8> -> !lowbit.packed<q8_0, 4x1024>
  lowbit.qmatmul %q, %s, %a, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  lowbit.qmatmul %q, %s, %b, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "rows_per_task=64"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  lowbit.qmatmul %q, %s, %c, %y12 {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 12x1024>, memref<12xf32>
  return
}
func.func @float_reader(%blob: memref<11632xi8>, %x: memref<1024xf32>, %y: memref<8xf32>) {
  %a = lowbit.weight %blob {name = "a", offset = 0 : i64} : memref<11632xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.matmul %x, %a, %y {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<1024xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  return
}

// -----

// Two readers whose ranges cut each other's tiles (rows 0-15 in one
// function, rows 4-11 in another): not one grid of 8-row tiles, so the group
// stays in the source layout.
// CHECK-NOT: lowbit.repacked_weights
// CHECK-NOT: tile_rows
func.func @grid(%blob: memref<4160xi8>, %q: memref<1024xi8>, %s: memref<32xf32>,
                %y: memref<16xf32>, %z: memref<8xf32>) {
  %all = lowbit.weight %blob {name = "all", offset = 0 : i64} : memref<4160xi8> -> !lowbit.packed<q2_0c, 16x1024>
  %mid = lowbit.weight %blob {name = "mid", offset = 1040 : i64} : memref<4160xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.qmatmul %q, %s, %all, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 16x1024>, memref<16xf32>
  lowbit.qmatmul %q, %s, %mid, %z {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  return
}
