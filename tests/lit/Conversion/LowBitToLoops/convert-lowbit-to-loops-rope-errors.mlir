// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=avx512 -verify-diagnostics

// The rope kernels' angle table holds head_dim / 2 <= 1024 pairs: a larger
// head is a compile error, not a call that would fail at run time.
func.func @rope_head_too_large(%x: memref<4096xf32>, %pos: i32) {
  // expected-error @+1 {{head_dim 4096 is larger than the rope kernels support (2048)}}
  lowbit.rope %x, %pos, %x {head_dim = 4096 : i64, freq_base = 1.0e4 : f64} : memref<4096xf32>, i32, memref<4096xf32>
  return
}
