// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=avx512 -split-input-file -verify-diagnostics

// Only the int8-activation kernels read a repacked layout: a float matmul
// over one is an error, not a call that would read the bytes as plain rows.
func.func @float_matmul(%blob: memref<2080xi8>, %x: memref<1024xf32>, %y: memref<8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>
  // expected-error @below {{'lowbit.matmul' op has weights in a repacked layout (tile_rows = 8), which only lowbit.qmatmul's kernels read}}
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c", hyc.schedule = "default"} : memref<1024xf32>, !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>, memref<8xf32>
  return
}

// -----

// A tile height no kernel reads.
func.func @tile_rows_4(%blob: memref<1040xi8>, %q: memref<1024xi8>, %s: memref<32xf32>, %y: memref<4xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<1040xi8> -> !lowbit.packed<q2_0c, 4x1024, tile_rows = 4>
  // expected-error @below {{'lowbit.qmatmul' op no kernel reads Q2_0C with tile_rows = 4 (the int8-activation kernels read tile_rows 1 or 8)}}
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 4x1024, tile_rows = 4>, memref<4xf32>
  return
}
