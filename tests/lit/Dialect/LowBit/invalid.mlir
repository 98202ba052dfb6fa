// RUN: hyc-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of the lowbit types and ops.

// expected-error @below {{row length 768 is not a multiple of the q2_0c block size 512}}
func.func @bad_row_length(%w: !lowbit.packed<q2_0c, 8x768>) { return }

// -----

// expected-error @below {{format q2_0c requires block size 512, got 256}}
func.func @bad_block(%w: !lowbit.packed<q2_0c, 8x512, block = 256>) { return }

// -----

// expected-error @below {{row length 48 is not a multiple of the q8_0 block size 32}}
func.func @bad_q8_row(%w: !lowbit.packed<q8_0, 8x48>) { return }

// -----

// expected-error @below {{format f16 requires scale layout none, got f16_per_block}}
func.func @bad_scales(%w: !lowbit.packed<f16, 8x512, scales = f16_per_block>) { return }

// -----

// expected-error @below {{packed weight shape must be positive, got 0x512}}
func.func @empty(%w: !lowbit.packed<f32, 0x512>) { return }

// -----

// expected-error @below {{unknown packed weight format 'q3_k'}}
func.func @unknown_format(%w: !lowbit.packed<q3_k, 8x512>) { return }

// -----

// expected-error @below {{packed weights must be 2-D (ROWSxCOLS), got 3 dimensions}}
func.func @rank3(%w: !lowbit.packed<f32, 8x8x8>) { return }

// -----

// expected-error @below {{unknown packed type parameter 'group'}}
func.func @unknown_param(%w: !lowbit.packed<q2_0c, 8x512, group = 4>) { return }

// -----

// expected-error @below {{tile_rows must be positive, got 0}}
func.func @tile_rows_zero(%w: !lowbit.packed<q2_0c, 8x512, tile_rows = 0>) { return }

// -----

// expected-error @below {{tile_rows (a row-interleaved layout) is defined for q2_0c only, not q8_0}}
func.func @tile_rows_q8_0(%w: !lowbit.packed<q8_0, 8x512, tile_rows = 8>) { return }

// -----

// expected-error @below {{rows 12 are not a multiple of tile_rows 8}}
func.func @tile_rows_partial(%w: !lowbit.packed<q2_0c, 12x512, tile_rows = 8>) { return }

// -----

func.func @weight_past_end(%blob: memref<1000xi8>) {
  // expected-error @below {{'w' needs bytes [0, 1040) but the weights blob has 1000}}
  %0 = lowbit.weight %blob {name = "w", offset = 0 : i64} : memref<1000xi8> -> !lowbit.packed<q2_0c, 8x512>
  return
}

// -----

func.func @weight_misaligned(%blob: memref<4096xi8>) {
  // expected-error @below {{offset 3 of 'g' is not aligned to 4 bytes}}
  %0 = lowbit.weight %blob {name = "g", offset = 3 : i64} : memref<4096xi8> -> !lowbit.packed<f32, 1x512>
  return
}

// -----

func.func @weight_negative(%blob: memref<4096xi8>) {
  // expected-error @below {{offset must be non-negative, got -2}}
  %0 = lowbit.weight %blob {name = "g", offset = -2 : i64} : memref<4096xi8> -> !lowbit.packed<f16, 1x512>
  return
}

// -----

func.func @matmul_k(%x: memref<1024xf32>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<64xf32>) {
  // expected-error @below {{x has K = 1024 but the weight's row length is 512}}
  lowbit.matmul %x, %w, %y : memref<1024xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

func.func @matmul_n(%x: memref<512xf32>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<32xf32>) {
  // expected-error @below {{out has N = 32 but the weight has 64 rows}}
  lowbit.matmul %x, %w, %y : memref<512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<32xf32>
  return
}

// -----

func.func @matmul_rank(%x: memref<1x512xf32>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<64xf32>) {
  // expected-error @below {{x and out must have the same rank, got 2 and 1}}
  lowbit.matmul %x, %w, %y : memref<1x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

func.func @matmul_rows(%x: memref<2x512xf32>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<3x64xf32>) {
  // expected-error @below {{x has 2 rows but out has 3}}
  lowbit.matmul %x, %w, %y : memref<2x512xf32>, !lowbit.packed<q2_0c, 64x512>, memref<3x64xf32>
  return
}

// -----

func.func @matmul_dynamic(%x: memref<?xf32>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<64xf32>) {
  // expected-error @below {{x must have a static shape, got 'memref<?xf32>'}}
  lowbit.matmul %x, %w, %y : memref<?xf32>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

func.func @matmul_f64(%x: memref<512xf64>, %w: !lowbit.packed<q2_0c, 64x512>, %y: memref<64xf32>) {
  // expected-error @below {{operand #0 must be}}
  lowbit.matmul %x, %w, %y : memref<512xf64>, !lowbit.packed<q2_0c, 64x512>, memref<64xf32>
  return
}

// -----

func.func @embedding_quantized(%t: !lowbit.packed<q2_0c, 64x512>, %tok: i32, %x: memref<512xf32>) {
  // expected-error @below {{embedding tables in q2_0c are not supported (expected f32, f16 or q8_0)}}
  lowbit.embedding %t, %tok, %x : !lowbit.packed<q2_0c, 64x512>, i32, memref<512xf32>
  return
}

// -----

func.func @embedding_width(%t: !lowbit.packed<f16, 64x512>, %tok: i32, %x: memref<256xf32>) {
  // expected-error @below {{out has 256 elements but the table's rows have 512}}
  lowbit.embedding %t, %tok, %x : !lowbit.packed<f16, 64x512>, i32, memref<256xf32>
  return
}

// -----

func.func @norm_gamma(%x: memref<512xf32>, %g: !lowbit.packed<f16, 1x512>) {
  // expected-error @below {{gamma must be !lowbit.packed<f32, 1xG>}}
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<512xf32>, !lowbit.packed<f16, 1x512>, memref<512xf32>
  return
}

// -----

func.func @norm_group(%x: memref<500xf32>, %g: !lowbit.packed<f32, 1x64>) {
  // expected-error @below {{length 500 is not a multiple of the group size 64}}
  lowbit.rms_norm %x, %g, %x {eps = 1.0e-05 : f32} : memref<500xf32>, !lowbit.packed<f32, 1x64>, memref<500xf32>
  return
}

// -----

func.func @norm_eps(%x: memref<64xf32>, %g: !lowbit.packed<f32, 1x64>) {
  // expected-error @below {{eps must be positive}}
  lowbit.rms_norm %x, %g, %x {eps = 0.0 : f32} : memref<64xf32>, !lowbit.packed<f32, 1x64>, memref<64xf32>
  return
}

// -----

func.func @norm_length(%x: memref<64xf32>, %g: !lowbit.packed<f32, 1x64>, %o: memref<128xf32>) {
  // expected-error @below {{x has 64 elements but out has 128}}
  lowbit.rms_norm %x, %g, %o {eps = 1.0e-05 : f32} : memref<64xf32>, !lowbit.packed<f32, 1x64>, memref<128xf32>
  return
}

// -----

func.func @rope_odd(%x: memref<63xf32>, %p: i32) {
  // expected-error @below {{head_dim must be even, got 63}}
  lowbit.rope %x, %p, %x {head_dim = 63 : i64, freq_base = 1.0e4 : f64} : memref<63xf32>, i32, memref<63xf32>
  return
}

// -----

func.func @rope_heads(%x: memref<96xf32>, %p: i32) {
  // expected-error @below {{length 96 is not a multiple of head_dim 64}}
  lowbit.rope %x, %p, %x {head_dim = 64 : i64, freq_base = 1.0e4 : f64} : memref<96xf32>, i32, memref<96xf32>
  return
}

// -----

func.func @rope_base(%x: memref<64xf32>, %p: i32) {
  // expected-error @below {{freq_base must be greater than 1}}
  lowbit.rope %x, %p, %x {head_dim = 64 : i64, freq_base = 0.5 : f64} : memref<64xf32>, i32, memref<64xf32>
  return
}

// -----

func.func @rope_dim(%x: memref<64xf32>, %p: i32) {
  // expected-error @below {{head_dim must be positive, got 0}}
  lowbit.rope %x, %p, %x {head_dim = 0 : i64, freq_base = 1.0e4 : f64} : memref<64xf32>, i32, memref<64xf32>
  return
}

// -----

func.func @kv_width(%k: memref<64xf32>, %c: memref<16x128xf32>, %p: i32) {
  // expected-error @below {{cache rows have 128 elements but x has 64}}
  lowbit.kv_store %k, %c, %p : memref<64xf32>, memref<16x128xf32>, i32
  return
}

// -----

func.func @attn_groups(%q: memref<192xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{num_heads 3 is not a multiple of num_kv_heads 2}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<192xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<192xf32>
  return
}

// -----

func.func @attn_q(%q: memref<256xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{q rows have 256 elements, expected num_heads * head_dim = 512}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<256xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<256xf32>
  return
}

// -----

func.func @attn_cache(%q: memref<512xf32>, %c: memref<16x64xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{cache rows have 64 elements, expected num_kv_heads * head_dim = 128}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x64xf32>, memref<16x64xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

func.func @attn_kv_types(%q: memref<512xf32>, %k: memref<16x128xf32>, %v: memref<8x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{k_cache and v_cache types differ}}
  lowbit.attention %q, %k, %v, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf32>, memref<8x128xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

// One cache float16, the other float32.
func.func @attn_kv_elem_types(%q: memref<512xf32>, %k: memref<16x128xf16>, %v: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{k_cache and v_cache types differ}}
  lowbit.attention %q, %k, %v, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf16>, memref<16x128xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

// Caches of bf16 (or any type but f32 / f16 / i8 Q8_0 bytes) are not a KV cache type.
func.func @kv_store_bf16(%k: memref<128xf32>, %c: memref<16x128xbf16>, %p: i32) {
  // expected-error @below {{operand #1 must be 2D memref of 32-bit float or 16-bit float or 8-bit signless integer values}}
  lowbit.kv_store %k, %c, %p : memref<128xf32>, memref<16x128xbf16>, i32
  return
}

// -----

func.func @attn_scratch(%q: memref<512xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<8xf32>) {
  // expected-error @below {{scratch has 8 elements but the context is 16}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<8xf32>, memref<512xf32>
  return
}

// -----

func.func @attn_heads(%q: memref<512xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{num_kv_heads must be positive, got 0}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 0 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

func.func @swiglu_len(%g: memref<64xf32>, %u: memref<32xf32>) {
  // expected-error @below {{gate has 64 elements but up has 32}}
  lowbit.swiglu %g, %u, %g : memref<64xf32>, memref<32xf32>, memref<64xf32>
  return
}

// -----

func.func @add_len(%a: memref<64xf32>, %b: memref<64xf32>, %o: memref<16xf32>) {
  // expected-error @below {{lhs has 64 elements but out has 16}}
  lowbit.add %a, %b, %o : memref<64xf32>, memref<64xf32>, memref<16xf32>
  return
}

// -----

func.func @attn_out_shape(%q: memref<2x512xf32>, %o: memref<512xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{q and out shapes differ}}
  lowbit.attention %q, %c, %c, %p, %s, %o {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<2x512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<512xf32>
  return
}

// -----

func.func @attn_rows(%q: memref<32x512xf32>, %c: memref<16x128xf32>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{32 query rows exceed the context of 16}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<32x512xf32>, memref<16x128xf32>, memref<16x128xf32>, i32, memref<16xf32>, memref<32x512xf32>
  return
}

// -----

func.func @buffer_empty() {
  // expected-error @below {{buffer 'b' must have a positive size}}
  %b = lowbit.buffer {name = "b"} : memref<0xi8>
  return
}

// -----

func.func @buffer_dynamic() {
  // expected-error @below {{buffer must have a static shape, got 'memref<?xi8>'}}
  %b = lowbit.buffer {name = "b"} : memref<?xi8>
  return
}

// -----

func.func @buffer_unnamed() {
  // expected-error @below {{buffer name must not be empty}}
  %b = lowbit.buffer {name = ""} : memref<64xi8>
  return
}

// -----

// expected-error @below {{format q2_k requires block size 256, got 512}}
func.func @bad_q2_k_block(%w: !lowbit.packed<q2_k, 8x512, block = 512>) { return }

// -----

// expected-error @below {{format tq2_0 requires scale layout f16_after_codes, got f16_per_block}}
func.func @bad_tq2_0_scales(%w: !lowbit.packed<tq2_0, 8x512, scales = f16_per_block>) { return }

// -----

// expected-error @below {{row length 384 is not a multiple of the tq2_0 block size 256}}
func.func @bad_tq2_0_row(%w: !lowbit.packed<tq2_0, 8x384>) { return }

// -----

func.func @embedding_q2_k(%t: !lowbit.packed<q2_k, 512x512>, %tok: i32, %x: memref<512xf32>) {
  // expected-error @below {{embedding tables in q2_k are not supported (expected f32, f16 or q8_0)}}
  lowbit.embedding %t, %tok, %x : !lowbit.packed<q2_k, 512x512>, i32, memref<512xf32>
  return
}

// -----

func.func @quantize_groups(%x: memref<512xf32>, %q: memref<512xi8>, %s: memref<16xf32>) {
  // expected-error @below {{unknown activation groups 'blocks32' (expected q2_0c_lanes)}}
  lowbit.quantize %x, %q, %s {groups = "blocks32"} : memref<512xf32>, memref<512xi8>, memref<16xf32>
  return
}

// -----

func.func @quantize_k(%x: memref<256xf32>, %q: memref<256xi8>, %s: memref<8xf32>) {
  // expected-error @below {{K = 256 is not a multiple of 512 (the q2_0c_lanes groups)}}
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<256xf32>, memref<256xi8>, memref<8xf32>
  return
}

// -----

func.func @quantize_q_shape(%x: memref<512xf32>, %q: memref<1024xi8>, %s: memref<16xf32>) {
  // expected-error @below {{q has shape 'memref<1024xi8>' but the activations are 'memref<512xf32>'}}
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<512xf32>, memref<1024xi8>, memref<16xf32>
  return
}

// -----

func.func @quantize_steps(%x: memref<2x512xf32>, %q: memref<2x512xi8>, %s: memref<2x32xf32>) {
  // expected-error @below {{steps must hold K / 32 = 16 floats per row, got 'memref<2x32xf32>'}}
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<2x512xf32>, memref<2x512xi8>, memref<2x32xf32>
  return
}

// -----

func.func @norm_quantize_gamma(%x: memref<1024xf32>, %g: !lowbit.packed<f32, 1x64>, %q: memref<1024xi8>, %s: memref<32xf32>) {
  // expected-error @below {{gamma has 64 entries but a row of x has 1024 (the norm is over whole rows)}}
  lowbit.rms_norm_quantize %x, %g, %q, %s {eps = 1.0e-05 : f32, groups = "q2_0c_lanes"} : memref<1024xf32>, !lowbit.packed<f32, 1x64>, memref<1024xi8>, memref<32xf32>
  return
}

// -----

func.func @qmatmul_format(%q: memref<512xi8>, %s: memref<16xf32>, %w: !lowbit.packed<q8_0, 8x512>, %y: memref<8xf32>) {
  // expected-error @below {{weights must be q2_0c, got q8_0}}
  lowbit.qmatmul %q, %s, %w, %y : memref<512xi8>, memref<16xf32>, !lowbit.packed<q8_0, 8x512>, memref<8xf32>
  return
}

// -----

func.func @qmatmul_n(%q: memref<512xi8>, %s: memref<16xf32>, %w: !lowbit.packed<q2_0c, 8x512>, %y: memref<16xf32>) {
  // expected-error @below {{out has N = 16 but the weight has 8 rows}}
  lowbit.qmatmul %q, %s, %w, %y : memref<512xi8>, memref<16xf32>, !lowbit.packed<q2_0c, 8x512>, memref<16xf32>
  return
}

// -----

func.func @rms_norm_shape(%x: memref<4x512xf32>, %g: !lowbit.packed<f32, 1x512>, %o: memref<2x1024xf32>) {
  // expected-error @below {{x and out must have the same shape}}
  lowbit.rms_norm %x, %g, %o {eps = 1.0e-05 : f32} : memref<4x512xf32>, !lowbit.packed<f32, 1x512>, memref<2x1024xf32>
  return
}

// -----

func.func @quantize_dynamic(%x: memref<?xf32>, %q: memref<?xi8>, %s: memref<16xf32>) {
  // expected-error @below {{activations, q and steps must have static shapes}}
  lowbit.quantize %x, %q, %s {groups = "q2_0c_lanes"} : memref<?xf32>, memref<?xi8>, memref<16xf32>
  return
}

// -----

func.func @qmatmul_rank(%q: memref<2x512xi8>, %s: memref<2x16xf32>, %w: !lowbit.packed<q2_0c, 8x512>, %y: memref<8xf32>) {
  // expected-error @below {{must have the same rank and rows}}
  lowbit.qmatmul %q, %s, %w, %y : memref<2x512xi8>, memref<2x16xf32>, !lowbit.packed<q2_0c, 8x512>, memref<8xf32>
  return
}

// -----

// Parser errors of !lowbit.packed.
// expected-error @below {{unknown packed weight format 'int4' (expected f32, f16, q2_0c, q8_0, q2_k or tq2_0)}}
func.func @unknown_format_list(%w: !lowbit.packed<int4, 8x512>) { return }

// -----

// expected-error @below {{unknown scale layout 'f32_per_row'}}
func.func @unknown_scales(%w: !lowbit.packed<q2_0c, 8x512, scales = f32_per_row>) { return }

// -----

// expected-error @below {{unknown packed type parameter 'rows' (expected block, scales or tile_rows)}}
func.func @unknown_param_list(%w: !lowbit.packed<q2_0c, 8x512, rows = 8>) { return }

// -----

// A Q8_0 (i8) cache row is 34 bytes per 32 elements: 128 elements need 136.
func.func @kv_store_q8_0_row(%k: memref<128xf32>, %c: memref<16x128xi8>, %p: i32) {
  // expected-error @below {{Q8_0 cache rows have 128 bytes but x's 128 elements need 136}}
  lowbit.kv_store %k, %c, %p : memref<128xf32>, memref<16x128xi8>, i32
  return
}

// -----

func.func @kv_store_q8_0_length(%k: memref<48xf32>, %c: memref<16x51xi8>, %p: i32) {
  // expected-error @below {{a Q8_0 (i8) cache needs x's length to be a multiple of 32, got 48}}
  lowbit.kv_store %k, %c, %p : memref<48xf32>, memref<16x51xi8>, i32
  return
}

// -----

// Q8_0 blocks must not straddle heads.
func.func @attn_q8_0_head_dim(%q: memref<384xf32>, %c: memref<16x102xi8>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{a Q8_0 (i8) cache needs head_dim to be a multiple of 32, got 48}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 48 : i64} : memref<384xf32>, memref<16x102xi8>, memref<16x102xi8>, i32, memref<16xf32>, memref<384xf32>
  return
}

// -----

func.func @attn_q8_0_row(%q: memref<512xf32>, %c: memref<16x128xi8>, %p: i32, %s: memref<16xf32>) {
  // expected-error @below {{Q8_0 cache rows have 128 bytes, expected num_kv_heads * head_dim / 32 * 34 = 136}}
  lowbit.attention %q, %c, %c, %p, %s, %q {num_heads = 8 : i64, num_kv_heads = 2 : i64, head_dim = 64 : i64} : memref<512xf32>, memref<16x128xi8>, memref<16x128xi8>, i32, memref<16xf32>, memref<512xf32>
  return
}
