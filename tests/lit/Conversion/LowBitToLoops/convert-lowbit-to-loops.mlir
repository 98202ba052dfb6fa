// RUN: hyc-opt %s -convert-lowbit-to-loops=kernel-isa=avx512 -split-input-file | FileCheck %s

// Q2_0C matmul: the weight becomes a view of the blob, the op a kernel call.
// CHECK-LABEL: func.func @matmul_q2
// CHECK: %[[W:.+]] = memref.view %{{.*}}[%{{.*}}][] : memref<8320xi8> to memref<64x130xi8>
// CHECK: memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: scf.for
// CHECK: func.call @hyk_gemv_q2_0c_avx512(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK-NOT: lowbit.
// CHECK: func.func private @hyk_gemv_q2_0c_avx512
func.func @matmul_q2(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

// A prefill matmul given a GEMM kernel: one call for all rows (n, k, m).
// CHECK-LABEL: func.func @matmul_q2_gemm
// CHECK-NOT: scf.for
// CHECK: {{(func\.)?}}call @hyk_gemm_q2_0c_avx512(%{{.*}}, %{{.*}}, %{{.*}}, %c64_i64, %c512_i64, %c4_i64) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64) -> i32
// CHECK: func.func private @hyk_gemm_q2_0c_avx512
func.func @matmul_q2_gemm(%blob: memref<8320xi8>, %x: memref<4x512xf32>, %y: memref<4x64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemm_q2_0c", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<4x64xf32>
  return
}

// -----

// The int8-activation families call their own entry points.
// CHECK-LABEL: func.func @matmul_q2_a8
// CHECK: func.call @hyk_gemv_q2_0c_a8_avx512(
// CHECK: call @hyk_gemm_q2_0c_a8_avx512(%{{.*}}, %{{.*}}, %{{.*}}, %c64_i64{{.*}}, %c512_i64{{.*}}, %c4_i64)
func.func @matmul_q2_a8(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>,
                        %x4: memref<4x512xf32>, %y4: memref<4x64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  lowbit.matmul %x4, %w, %y4 {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<4x64xf32>
  return
}

// -----

// f16 matmul (the tied lm_head): a loop nest with an f16 -> f32 extension.
// CHECK-LABEL: func.func @matmul_f16
// CHECK: memref.view %{{.*}} : memref<1024xi8> to memref<8x64xf16>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf
func.func @matmul_f16(%blob: memref<1024xi8>, %x: memref<64xf32>, %y: memref<8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<1024xi8> -> !lowbit.packed<f16, 8x64>
  lowbit.matmul %x, %w, %y : memref<64xf32>, !lowbit.packed<f16, 8x64>, memref<8xf32>
  return
}

// -----

// Per-head RMSNorm: one call of the Halide kernel for all 4 groups of 64,
// over the gain's view of the blob, in place.
// CHECK-LABEL: func.func @rms_norm_per_head
// CHECK-DAG: %[[GROUPS:.+]] = arith.constant 4 : i64
// CHECK-DAG: %[[G:.+]] = arith.constant 64 : i64
// CHECK-DAG: %[[EPS:.+]] = arith.constant 9.99999974E-6 : f32
// CHECK: call @hyk_rms_norm_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %[[GROUPS]], %[[G]], %[[EPS]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, f32) -> i32
// CHECK-NOT: scf.for
func.func @rms_norm_per_head(%blob: memref<256xi8>, %x: memref<256xf32>) {
  %g = lowbit.weight %blob {name = "g", offset = 0 : i64} : memref<256xi8> -> !lowbit.packed<f32, 1x64>
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<256xf32>, !lowbit.packed<f32, 1x64>, memref<256xf32>
  return
}

// -----

// RoPE: the Halide kernel for both heads, position widened to i64, the base
// as f64 (the kernel builds its angle table in float64).
// CHECK-LABEL: func.func @rope
// CHECK-DAG: %[[HEADS:.+]] = arith.constant 2 : i64
// CHECK-DAG: %[[D:.+]] = arith.constant 64 : i64
// CHECK-DAG: %[[BASE:.+]] = arith.constant 1.000000e+04 : f64
// CHECK-DAG: %[[POS:.+]] = arith.extsi %{{.+}} : i32 to i64
// CHECK: call @hyk_rope_avx512(%{{.+}}, %{{.+}}, %[[HEADS]], %[[D]], %[[POS]], %[[BASE]]) : (!llvm.ptr, !llvm.ptr, i64, i64, i64, f64) -> i32
func.func @rope(%x: memref<128xf32>, %pos: i32) {
  lowbit.rope %x, %pos, %x {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<128xf32>, i32, memref<128xf32>
  return
}

// -----

// Attention with a head size the kernels take (a multiple of 16): one call
// of the ISA's Halide kernel with the rows, the position and the head shape.
// CHECK-LABEL: func.func @attention
// CHECK-DAG: %[[POS:.+]] = arith.extsi %{{.*}} : i32 to i64
// CHECK-DAG: %[[ROWS:.+]] = arith.constant 1 : i64
// CHECK-DAG: %[[H:.+]] = arith.constant 8 : i64
// CHECK-DAG: %[[KV:.+]] = arith.constant 2 : i64
// CHECK-DAG: %[[D:.+]] = arith.constant 64 : i64
// CHECK: call @hyk_attention_avx512(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROWS]], %[[POS]], %[[H]], %[[KV]], %[[D]])
// CHECK-NOT: math.exp
func.func @attention(%q: memref<512xf32>, %kc: memref<16x128xf32>, %vc: memref<16x128xf32>, %pos: i32, %s: memref<16xf32>, %o: memref<512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

// A float16 cache: the _f16 kernel.
// CHECK-LABEL: func.func @attention_f16
// CHECK: call @hyk_attention_avx512_f16(
func.func @attention_f16(%q: memref<512xf32>, %kc: memref<16x128xf16>, %vc: memref<16x128xf16>, %pos: i32, %s: memref<16xf32>, %o: memref<512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf16>, memref<16x128xf16>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

// A prefill chunk: four query rows in one call.
// CHECK-LABEL: func.func @attention_rows
// CHECK: %[[ROWS:.+]] = arith.constant 4 : i64
// CHECK: call @hyk_attention_avx512(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROWS]],
func.func @attention_rows(%q: memref<4x512xf32>, %kc: memref<16x128xf32>, %vc: memref<16x128xf32>, %pos: i32, %s: memref<16xf32>, %o: memref<4x512xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<4x512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<4x512xf32>
  return
}

// -----

// Other head sizes: loops, one query row at a time (row r at position pos +
// r). GQA: the KV head is the query head divided by the group size.
// CHECK-LABEL: func.func @attention_loops
// CHECK-NOT: hyk_attention
// CHECK: scf.for %[[R:.+]] = %c0 to %c3
// CHECK: arith.divui %{{.*}}, %c4
// CHECK: arith.maximumf
// CHECK: math.exp
func.func @attention_loops(%q: memref<3x192xf32>, %kc: memref<16x48xf32>, %vc: memref<16x48xf32>, %pos: i32, %s: memref<16xf32>, %o: memref<3x192xf32>) {
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 24 : i64} : memref<3x192xf32>, memref<16x48xf32>, memref<16x48xf32>, i32, memref<16xf32>, memref<3x192xf32>
  return
}

// -----

// The loops over a float16 cache widen every K and V element they read, and
// kv_store rounds into it.
// CHECK-LABEL: func.func @attention_loops_f16
// CHECK-NOT: hyk_attention
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: math.exp
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @attention_loops_f16(%q: memref<192xf32>, %k: memref<48xf32>, %kc: memref<16x48xf16>, %vc: memref<16x48xf16>, %pos: i32, %s: memref<16xf32>, %o: memref<192xf32>) {
  lowbit.kv_store %k, %kc, %pos : memref<48xf32>, memref<16x48xf16>, i32
  lowbit.attention %q, %kc, %vc, %pos, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 24 : i64} : memref<192xf32>, memref<16x48xf16>, memref<16x48xf16>, i32, memref<16xf32>, memref<192xf32>
  return
}

// -----

// SwiGLU: the Halide kernel; the residual add stays a loop.
// CHECK-LABEL: func.func @elementwise
// CHECK: call @hyk_swiglu_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> i32
// CHECK: arith.addf
// CHECK-NOT: lowbit.
func.func @elementwise(%a: memref<64xf32>, %b: memref<64xf32>, %k: memref<16xf32>, %c: memref<8x16xf32>, %p: i32) {
  lowbit.swiglu %a, %b, %a : memref<64xf32>, memref<64xf32>, memref<64xf32>
  lowbit.add %a, %b, %a : memref<64xf32>, memref<64xf32>, memref<64xf32>
  lowbit.kv_store %k, %c, %p : memref<16xf32>, memref<8x16xf32>, i32
  return
}

// -----

// Q8_0 (the tied lm_head and embedding): matmul calls the Q8_0 kernel; the
// embedding lookup decodes the f16 block scale from its two bytes.
// CHECK-LABEL: func.func @q8_0_table
// CHECK: arith.bitcast %{{.*}} : i16 to f16
// CHECK: arith.sitofp %{{.*}} : i8 to f32
// CHECK: func.call @hyk_gemv_q8_0_avx512
func.func @q8_0_table(%blob: memref<1088xi8>, %tok: i32, %x: memref<64xf32>, %y: memref<16xf32>) {
  %t = lowbit.weight %blob {name = "token_embd.weight", offset = 0 : i64} : memref<1088xi8> -> !lowbit.packed<q8_0, 16x64>
  lowbit.embedding %t, %tok, %x : !lowbit.packed<q8_0, 16x64>, i32, memref<64xf32>
  lowbit.matmul %x, %t, %y : memref<64xf32>, !lowbit.packed<q8_0, 16x64>, memref<16xf32>
  return
}

// -----

// A tuned schedule: the generated pipeline's address goes to the generic runner.
// CHECK-LABEL: func.func @tuned
// CHECK: %[[FN:.+]] = llvm.mlir.addressof @hyk_v_gemv_q2_0c_avx512_s{{[0-9a-f]+}} : !llvm.ptr
// CHECK: call @hyk_gemv_run_q2_0c(%[[FN]],
// CHECK: llvm.func @hyk_v_gemv_q2_0c_avx512_s{{[0-9a-f]+}}(!llvm.ptr, !llvm.ptr, !llvm.ptr) -> i32
func.func @tuned(%blob: memref<8320xi8>, %x: memref<512xf32>, %y: memref<64xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<8320xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_q2_0c", hyc.schedule = "rows_per_task=16,unroll=2"} : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

// TQ2_0 (no kernel): decoded in loops. Per block the f16 scale is read from
// bytes 64-65, then 64 code bytes each give 4 weights (c - 1) * d.
// CHECK-LABEL: func.func @matmul_tq2_0
// CHECK-NOT: func.call
// CHECK: %[[W:.+]] = memref.view %{{.*}}[%{{.*}}][] : memref<4224xi8> to memref<32x132xi8>
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.bitcast %{{.*}} : i16 to f16
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK-NOT: func.call
func.func @matmul_tq2_0(%blob: memref<4224xi8>, %x: memref<512xf32>, %y: memref<32xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<4224xi8> -> !lowbit.packed<tq2_0, 32x512>
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<tq2_0, 32x512>, memref<32xf32>
  return
}

// -----

// With a kernel (x86: lowbit-select-kernels' gemv_q2_k / gemv_tq2_0): one
// call per activation row.
// CHECK-LABEL: func.func @matmul_tq2_0_kernel
// CHECK: call @hyk_gemv_tq2_0_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK-NOT: arith.shrui
func.func @matmul_tq2_0_kernel(%blob: memref<4224xi8>, %x: memref<512xf32>, %y: memref<32xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<4224xi8> -> !lowbit.packed<tq2_0, 32x512>
  lowbit.matmul %x, %w, %y {hyc.kernel = "gemv_tq2_0", hyc.schedule = "default"} : memref<512xf32>, !lowbit.packed<tq2_0, 32x512>, memref<32xf32>
  return
}

// -----

// Q2_K: also loops; the sub-block scale byte gives scale (low nibble) and
// min (high nibble), d and dmin come from bytes 80 and 82.
// CHECK-LABEL: func.func @matmul_q2_k
// CHECK-NOT: func.call
// CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<5376xi8> to memref<32x168xi8>
// CHECK-COUNT-2: arith.bitcast %{{.*}} : i16 to f16
// CHECK: arith.uitofp
// CHECK-NOT: func.call
func.func @matmul_q2_k(%blob: memref<5376xi8>, %x: memref<2x512xf32>, %y: memref<2x32xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<5376xi8> -> !lowbit.packed<q2_k, 32x512>
  lowbit.matmul %x, %w, %y : memref<2x512xf32>, !lowbit.packed<q2_k, 32x512>, memref<2x32xf32>
  return
}

// -----

// quantize: the Halide kernel (one row of K = 1024); qmatmul: the kernels'
// pre-quantized entry points (GEMV per row, GEMM once). (Without the kernels,
// on other ISAs: loops, convert-lowbit-to-loops-quantize-loops.mlir.)
// CHECK-LABEL: func.func @int8_activations
// CHECK: call @hyk_quantize_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK-NOT: math.roundeven
// CHECK: call @hyk_gemv_q2_0c_a8q_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK: call @hyk_gemm_q2_0c_a8q_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64) -> i32
func.func @int8_activations(%blob: memref<2080xi8>, %x: memref<1024xf32>, %q: memref<1024xi8>,
                            %s: memref<32xf32>, %y: memref<8xf32>, %qm: memref<4x1024xi8>,
                            %sm: memref<4x32xf32>, %ym: memref<4x8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<1024xf32>, memref<1024xi8>, memref<32xf32>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<8xf32>
  lowbit.qmatmul %qm, %sm, %w, %ym {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<4x8xf32>
  return
}

// -----

// A tuned int8-activation GEMV: the generated gemv_q2_0c_a8q_vnni pipeline
// (four buffers: w, q, steps, y) through hyk_gemv_run_q2_0c_a8q, per row.
// CHECK-LABEL: func.func @int8_activations_tuned
// CHECK: %[[FN:.+]] = llvm.mlir.addressof @hyk_v_gemv_q2_0c_a8_avx512_s{{[0-9a-f]+}} : !llvm.ptr
// CHECK: call @hyk_gemv_run_q2_0c_a8q(%[[FN]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> i32
// CHECK-NOT: call @hyk_gemv_q2_0c_a8q_avx512
// The same for a tuned GEMM: one call of hyk_gemm_run_q2_0c_a8q for all rows.
// CHECK: %[[GF:.+]] = llvm.mlir.addressof @hyk_v_gemm_q2_0c_a8_avx512_s{{[0-9a-f]+}} : !llvm.ptr
// CHECK: call @hyk_gemm_run_q2_0c_a8q(%[[GF]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64) -> i32
// CHECK-NOT: call @hyk_gemm_q2_0c_a8q_avx512
// CHECK-DAG: llvm.func @hyk_v_gemv_q2_0c_a8_avx512_s{{[0-9a-f]+}}(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> i32
// CHECK-DAG: llvm.func @hyk_v_gemm_q2_0c_a8_avx512_s{{[0-9a-f]+}}(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> i32
func.func @int8_activations_tuned(%blob: memref<2080xi8>, %q: memref<2x1024xi8>, %s: memref<2x32xf32>,
                                  %y: memref<2x8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "rows_per_task=32,unroll=2"} : memref<2x1024xi8>, memref<2x32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<2x8xf32>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "rows=4,tokens=1"} : memref<2x1024xi8>, memref<2x32xf32>, !lowbit.packed<q2_0c, 8x1024>, memref<2x8xf32>
  return
}

// -----

// Weights in the Q2_0C/r8 layout (lowbit-pack-weights): the r8 entry points.
// CHECK-LABEL: func.func @int8_activations_r8
// CHECK: call @hyk_gemv_q2_0c_r8_a8q_avx512(
// CHECK: call @hyk_gemm_q2_0c_r8_a8q_avx512(
// CHECK-NOT: hyk_gemv_q2_0c_a8q_avx512
func.func @int8_activations_r8(%blob: memref<2080xi8>, %q: memref<1024xi8>, %s: memref<32xf32>,
                               %y: memref<8xf32>, %qm: memref<4x1024xi8>,
                               %sm: memref<4x32xf32>, %ym: memref<4x8xf32>) {
  %w = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<2080xi8> -> !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>
  lowbit.qmatmul %q, %s, %w, %y {hyc.kernel = "gemv_q2_0c_a8", hyc.schedule = "default"} : memref<1024xi8>, memref<32xf32>, !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>, memref<8xf32>
  lowbit.qmatmul %qm, %sm, %w, %ym {hyc.kernel = "gemm_q2_0c_a8", hyc.schedule = "default"} : memref<4x1024xi8>, memref<4x32xf32>, !lowbit.packed<q2_0c, 8x1024, tile_rows = 8>, memref<4x8xf32>
  return
}

// -----

// rms_norm_quantize: the Halide kernel, over the gain's view of the blob.
// CHECK-LABEL: func.func @norm_quantize
// CHECK-DAG: %[[ROWS:.+]] = arith.constant 1 : i64
// CHECK-DAG: %[[K:.+]] = arith.constant 1024 : i64
// CHECK: call @hyk_rms_norm_quantize_avx512(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ROWS]], %[[K]], %{{.+}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, f32) -> i32
// CHECK-NOT: memref.store
func.func @norm_quantize(%blob: memref<4096xi8>, %x: memref<1024xf32>, %q: memref<1024xi8>, %s: memref<32xf32>) {
  %g = lowbit.weight %blob {name = "g", offset = 0 : i64} : memref<4096xi8> -> !lowbit.packed<f32, 1x1024>
  lowbit.rms_norm_quantize %x, %g, %q, %s {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"} : memref<1024xf32>, !lowbit.packed<f32, 1x1024>, memref<1024xi8>, memref<32xf32>
  return
}

// -----

// Prefetch hints: a matrix-vector product that a later matmul of its block
// follows is preceded by hyk_prefetch_hint(that matmul's weights, their
// bytes), taken from the blob (the next weight's view is defined later). A
// GEMM over several rows, and the last product of the block, get none.
// CHECK-LABEL: func.func @prefetch_hints
// CHECK: %[[P1:.+]] = llvm.getelementptr %{{.*}}[%c8320_i64{{(_[0-9]+)?}}]
// CHECK: call @hyk_prefetch_hint(%[[P1]], %c8320_i64{{.*}}) : (!llvm.ptr, i64) -> ()
// CHECK: call @hyk_gemv_q2_0c_avx512(
// CHECK: %[[P2:.+]] = llvm.getelementptr %{{.*}}[%c16640_i64]
// CHECK: call @hyk_prefetch_hint(%[[P2]], %c8320_i64{{.*}})
// CHECK: call @hyk_gemv_q2_0c_avx512(
// CHECK-NOT: hyk_prefetch_hint
// CHECK: call @hyk_gemm_q2_0c_avx512(
// CHECK-NOT: call @hyk_prefetch_hint
// CHECK: call @hyk_gemv_q2_0c_avx512(
// CHECK: func.func private @hyk_prefetch_hint(!llvm.ptr, i64)
func.func @prefetch_hints(%blob: memref<24960xi8>, %x: memref<512xf32>, %y: memref<64xf32>,
                          %x4: memref<4x512xf32>, %y4: memref<4x64xf32>) {
  %w0 = lowbit.weight %blob {name = "w0", offset = 0 : i64} : memref<24960xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w0, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  lowbit.add %y, %y, %y : memref<64xf32>, memref<64xf32>, memref<64xf32>
  %w1 = lowbit.weight %blob {name = "w1", offset = 8320 : i64} : memref<24960xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x, %w1, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  %w2 = lowbit.weight %blob {name = "w2", offset = 16640 : i64} : memref<24960xi8> -> !lowbit.packed<q2_0c, 64x512>
  lowbit.matmul %x4, %w2, %y4 {hyc.kernel = "gemm_q2_0c", hyc.schedule = "default"} : memref<4x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<4x64xf32>
  lowbit.matmul %x, %w0, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

// A Q8_0 cache row: one vector<32xf32> per block (its max |x|, the float16
// scale in the block's first 2 bytes, the 32 rounded quotients after them).
// CHECK-LABEL: func.func @kv_store_q8_0
// CHECK: scf.for %[[B:.+]] = %c0 to %c2
// CHECK: %[[X:.+]] = vector.load %{{.*}}[%{{.*}}] : memref<64xf32>, vector<32xf32>
// CHECK: math.absf %[[X]] : vector<32xf32>
// CHECK: vector.reduction <maximumf>
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: math.round %{{.*}} : vector<32xf32>
// CHECK: arith.fptosi %{{.*}} : vector<32xf32> to vector<32xi32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : memref<16x68xi8>, vector<32xi8>
func.func @kv_store_q8_0(%k: memref<64xf32>, %kc: memref<16x68xi8>, %pos: i32) {
  lowbit.kv_store %k, %kc, %pos : memref<64xf32>, memref<16x68xi8>, i32
  return
}
