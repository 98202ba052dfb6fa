/* hyk/kernels.h - flat C ABI of the hyc kernel library (libhyk_<target>.a).
 *
 * The model libraries produced by hyc call these entry points directly; each
 * one validates its arguments, describes the caller's memory to the Halide
 * pipeline behind it (no allocation, no copies) and runs it. Each archive
 * holds only its own architecture's variants: libhyk_x86.a the _avx2 and
 * _avx512 ones, libhyk_arm64.a the _neon ones, libhyk_sme2.a the _neon
 * and the _sme2 ones.
 *
 * All functions are thread-safe. Multithreading happens inside a call, on the
 * Halide runtime's thread pool (size: HL_NUM_THREADS, default = CPU count).
 */
#ifndef HYK_KERNELS_H
#define HYK_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes: 0 on success, a negative HYK_ERR_* code otherwise. ---- */
#define HYK_OK 0
#define HYK_ERR_NULL_POINTER (-1) /* a required pointer argument is NULL */
#define HYK_ERR_BAD_SHAPE (-2)    /* a dimension is <= 0 */
#define HYK_ERR_K_NOT_BLOCKED                                                  \
  (-3) /* k is not a multiple of HYK_Q2_0C_BLOCK_WEIGHTS */
#define HYK_ERR_TOO_LARGE                                                      \
  (-4) /* a buffer exceeds the 2^31-1 byte limit of the kernels */
#define HYK_ERR_KERNEL (-5) /* the Halide pipeline reported an error */
#define HYK_ERR_K_NOT_BLOCKED_Q8_0                                             \
  (-6) /* k is not a multiple of HYK_Q8_0_BLOCK_WEIGHTS */
#define HYK_ERR_NO_MEMORY (-7) /* a kernel's scratch allocation failed */
#define HYK_ERR_K_NOT_BLOCKED_256                                              \
  (-8) /* k is not a multiple of 256 (the Q2_K / TQ2_0 block size) */
#define HYK_ERR_N_NOT_INTERLEAVED                                              \
  (-9) /* n is not a multiple of a row-interleaved layout's tile rows */
/* Note: the argument checks make pipeline errors impossible for valid memory.
 * Should one still happen, the Halide runtime's default error handler prints
 * it and aborts; HYK_ERR_KERNEL is only returned if the embedding program has
 * installed a returning handler with halide_set_error_handler(). */

/* ---- Q2_0C weight format ----------------------------------------------------
 * A row of K weights (K a multiple of 512) is K/512 consecutive 130-byte blocks
 * { fp16 d (little-endian); uint8 qs[128]; }. Weight i of a block has code
 * c = (qs[i/4] >> (2*(i%4))) & 3 and value (2c - 3) * d. Rows are consecutive:
 * row n starts at byte n * (K/512) * 130. */
#define HYK_Q2_0C_BLOCK_WEIGHTS 512
#define HYK_Q2_0C_BLOCK_BYTES 130

/* y[0..n) = W x for W in Q2_0C (n rows of k weights, n * k/512 * 130 bytes at
 * w, no alignment required; each of w, x, y must span < 2^31 bytes), x[0..k)
 * and y float32; y must not overlap w or x. The _avx2 variant needs
 * AVX2+FMA+F16C and computes in float32. The _avx512 variant needs the
 * AVX-512 of Zen 4 / Sapphire Rapids (F/CD/BW/DQ/VL, VNNI, BF16, VBMI/VBMI2,
 * BITALG, VPOPCNTDQ, IFMA) and runs the products on vpdpbusd after turning
 * each 512-block of x into 24-bit integers (three int8 digits, as the NEON
 * variant below), so it agrees with the float kernels to rounding.
 * Returns HYK_OK or a negative HYK_ERR_* code (y is untouched on argument
 * errors). */
int32_t hyk_gemv_q2_0c_avx2(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k);
int32_t hyk_gemv_q2_0c_avx512(const uint8_t *w, const float *x, float *y,
                              int64_t n, int64_t k);
/* AArch64 (libhyk_arm64.a): needs NEON + dotprod (ARMv8.2 sdot). It runs the
 * products on int8 dot products after turning each 512-block of x into
 * 24-bit integers (three int8 digits; step 1/8e6 of the block's largest |x|,
 * about float32's own precision), so it agrees with the float kernels to
 * rounding (~1e-6 relative to sum |w x|). */
int32_t hyk_gemv_q2_0c_neon(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k);
/* AArch64 prefill (libhyk_arm64.a): y (m x n) = x (m x k) W^T for m
 * activation rows, row-major, each row's result as hyk_gemv_q2_0c_neon's up to
 * float32 summation order. hyk_gemm_q2_0c_neon picks by the CPU's HWCAP2 at
 * run time: with I8MM the smmla kernel (_i8mm: 4 weight rows x 4 activation
 * rows per register tile; allocates 3 k x m bytes of scratch), otherwise one
 * dotprod GEMV per row (_dotprod). _i8mm needs FEAT_I8MM (SIGILL without). */
int32_t hyk_gemm_q2_0c_neon(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k, int64_t m);
int32_t hyk_gemm_q2_0c_neon_i8mm(const uint8_t *w, const float *x, float *y,
                                 int64_t n, int64_t k, int64_t m);
int32_t hyk_gemm_q2_0c_neon_dotprod(const uint8_t *w, const float *x, float *y,
                                    int64_t n, int64_t k, int64_t m);
/* AArch64 SME2 (libhyk_sme2.a): the same contract and the same 24-bit
 * activation digits as the NEON variant, with the 2-bit codes expanded by
 * LUTI2 from ZT0 and the products on SME2's multi-vector SDOT into ZA, in
 * streaming mode (schedules/sme2/Q2_0CSme2.c). Needs FEAT_SME2. Allocates
 * 3 k bytes of scratch per call (HYK_ERR_NO_MEMORY if that fails). */
int32_t hyk_gemv_q2_0c_sme2(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k);
/* y (m x n) = x (m x k) W^T for m activation rows, row-major, each row's
 * result as hyk_gemv_q2_0c_sme2's up to float32 summation order; the products
 * are int8 outer products (SMOPA) into ZA tiles. Scratch: 3 k x m bytes,
 * m rounded up to the tile height. */
int32_t hyk_gemm_q2_0c_sme2(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k, int64_t m);

/* Prefill: y[i][0..n) = W x[i] for the m rows x[0..m) of k floats (row-major
 * m x k at x, m x n at y), the same weights and contract as above. It reads W
 * once for all rows and runs the products on vpdpbusd with the activations
 * quantized like hyk_gemv_q2_0c_avx512's, per row; needs the same CPU. */
int32_t hyk_gemm_q2_0c_avx512(const uint8_t *w, const float *x, float *y,
                              int64_t n, int64_t k, int64_t m);

/* Int8 activations (kernel families gemv_q2_0c_a8 / gemm_q2_0c_a8): the same
 * contracts and CPU as the two above, but x is first rounded to int8 with one
 * scale per group of 32 elements (ggml Q8_0's activation precision):
 *   block b = elements [512 b, 512 b + 512); group (b, l), l < 16, = the 32
 *   elements 512 b + 256 h + 16 l + i (h < 2, i < 16);
 *   with m = max |x| over the group, s = m * (1.0f / 127) and q =
 *   round-half-even(x * (127.0f / m)), all in float32 (q = 0 for an all-zero
 *   group), and x is replaced by q * s.
 * y is then W (q s) up to float32 summation order. tests/e2e/reference.py
 * models exactly this (--activations int8). */
int32_t hyk_gemv_q2_0c_a8_avx512(const uint8_t *w, const float *x, float *y,
                                 int64_t n, int64_t k);
int32_t hyk_gemm_q2_0c_a8_avx512(const uint8_t *w, const float *x, float *y,
                                 int64_t n, int64_t k, int64_t m);
/* The same products with the activations already quantized by the caller
 * (the compiled code's lowbit.quantize / lowbit.rms_norm_quantize): xq holds
 * the int8 q of each of the k (per row: m rows of k) elements, xs the step s
 * of each group of 32, group 16 b + l being the group (b, l) defined above
 * (k / 32 floats per row). With q and s rounded as above, the results equal
 * hyk_gemv_q2_0c_a8_avx512's / hyk_gemm_q2_0c_a8_avx512's on x. */
int32_t hyk_gemv_q2_0c_a8q_avx512(const uint8_t *w, const int8_t *xq,
                                  const float *xs, float *y, int64_t n,
                                  int64_t k);
int32_t hyk_gemm_q2_0c_a8q_avx512(const uint8_t *w, const int8_t *xq,
                                  const float *xs, float *y, int64_t n,
                                  int64_t k, int64_t m);
/* That quantization as kernels (schedules/pointwise): rows of k floats
 * (k a multiple of 512, else HYK_ERR_K_NOT_BLOCKED) to q (rows x k int8) and
 * steps (rows x k / 32 floats), q = round-half-even(x * (127 / m)) (0 for an
 * all-zero group), s = m * (1.0f / 127) with m the group's max |x|;
 * rms_norm_quantize first normalizes each row as hyk_rms_norm_<isa> with one
 * group per row (x / sqrt(mean(x^2) + eps) * gamma, never stored). */
int32_t hyk_quantize_avx512(const float *x, int8_t *q, float *steps, int64_t rows,
                            int64_t k);
int32_t hyk_rms_norm_quantize_avx512(const float *x, const float *gamma, int8_t *q,
                                     float *steps, int64_t rows, int64_t k, float eps);
/* The same kernels for AVX2 (x86-64-avx2 with --activations int8): the
 * same contracts, rounding and accuracy bound (the integer products on
 * vpmaddubsw + vpmaddwd instead of vpdpbusd, exact either way; tested
 * against the double reference, not against the avx512 kernels). The r8
 * forms follow below with their layout. */
int32_t hyk_gemv_q2_0c_a8q_avx2(const uint8_t *w, const int8_t *xq, const float *xs,
                                float *y, int64_t n, int64_t k);
int32_t hyk_gemm_q2_0c_a8q_avx2(const uint8_t *w, const int8_t *xq, const float *xs,
                                float *y, int64_t n, int64_t k, int64_t m);
int32_t hyk_quantize_avx2(const float *x, int8_t *q, float *steps, int64_t rows, int64_t k);
int32_t hyk_rms_norm_quantize_avx2(const float *x, const float *gamma, int8_t *q,
                                   float *steps, int64_t rows, int64_t k, float eps);

/* ---- Q2_0C/r8: Q2_0C rows interleaved in tiles of 8 -------------------------
 * The same bytes as Q2_0C, regrouped for kernels that compute 8 rows at once
 * (hyc's lowbit-pack-weights writes it; the compiled library's weights blob
 * holds it). n must be a multiple of 8; with nb = k / 512 blocks per row,
 * tile t (rows 8t .. 8t+7) occupies bytes [t T, (t+1) T), T = 8 * nb * 130:
 *   - first the 8 * nb fp16 scales: scale of row 8t + r, block b at
 *     byte 2 (8 b + r) of the tile;
 *   - then the 8 * nb code runs of 128 bytes (each a block's qs[128]): row
 *     8t + r, block b at byte 16 nb + 128 (8 b + r) of the tile.
 * So a tile is one contiguous stream in the order the kernel reads it, and
 * the code runs are 64-byte aligned whenever the tile is (when 16 nb is a
 * multiple of 64, i.e. k a multiple of 2048, and w is 64-byte aligned). */
#define HYK_Q2_0C_R8_ROWS 8

/* hyk_gemv/gemm_q2_0c_a8q_avx512 over Q2_0C/r8 weights: the same contract
 * and the same results, bit for bit; HYK_ERR_N_NOT_INTERLEAVED when n is not
 * a multiple of 8. */
int32_t hyk_gemv_q2_0c_r8_a8q_avx512(const uint8_t *w, const int8_t *xq,
                                     const float *xs, float *y, int64_t n,
                                     int64_t k);
int32_t hyk_gemm_q2_0c_r8_a8q_avx512(const uint8_t *w, const int8_t *xq,
                                     const float *xs, float *y, int64_t n,
                                     int64_t k, int64_t m);
int32_t hyk_gemv_q2_0c_r8_a8q_avx2(const uint8_t *w, const int8_t *xq, const float *xs,
                                   float *y, int64_t n, int64_t k);
int32_t hyk_gemm_q2_0c_r8_a8q_avx2(const uint8_t *w, const int8_t *xq, const float *xs,
                                   float *y, int64_t n, int64_t k, int64_t m);
/* ---- Q8_0 weight format -----------------------------------------------------
 * A row of K weights (K a multiple of 32) is K/32 consecutive 34-byte blocks
 * { fp16 d (little-endian); int8 qs[32]; }; weight i is qs[i] * d. */
#define HYK_Q8_0_BLOCK_WEIGHTS 32
#define HYK_Q8_0_BLOCK_BYTES 34

/* y[0..n) = W x for W in Q8_0; the same contract as the Q2_0C entry points. */
int32_t hyk_gemv_q8_0_avx2(const uint8_t *w, const float *x, float *y,
                           int64_t n, int64_t k);
int32_t hyk_gemv_q8_0_avx512(const uint8_t *w, const float *x, float *y,
                             int64_t n, int64_t k);
/* Int8 activations (kernel family gemv_q8_0_a8; the same CPU as the _avx512
 * Q2_0C kernels): x is first rounded per Q8_0 block of 32 consecutive values,
 * s = m * (1.0f / 127) and q = round-half-even(x * (127.0f / m)) in float32
 * with m = max |x| over the block (q = 0 for an all-zero block), as ggml's
 * Q8_0; y = W (q s) up to
 * float32 summation order. */
int32_t hyk_gemv_q8_0_a8_avx512(const uint8_t *w, const float *x, float *y,
                                int64_t n, int64_t k);
/* The same rounding and contract on AVX2 (vpmaddubsw). */
int32_t hyk_gemv_q8_0_a8_avx2(const uint8_t *w, const float *x, float *y, int64_t n,
                              int64_t k);
/* ---- ggml's Q2_K and TQ2_0 ----------------------------------------------------
 * Rows of K weights (K a multiple of 256) in blocks of 256. The 64 code bytes
 * of a block hold the 2-bit code c of element 128 h + 32 j + l (h < 2, j < 4,
 * l < 32) in bits 2j..2j+1 of byte 32 h + l.
 *   Q2_K  (84 bytes) { u8 scales[16]; u8 qs[64]; fp16 d; fp16 dmin; }:
 *         with s = scales[e / 16], weight e = d (s & 15) c - dmin (s >> 4)
 *   TQ2_0 (66 bytes) { u8 qs[64]; fp16 d; }: weight = (c - 1) d
 * y[0..n) = W x in float32 (float products, no activation rounding); the
 * contract of the Q2_0C entry points, with HYK_ERR_K_NOT_BLOCKED_256. */
#define HYK_K2_BLOCK_WEIGHTS 256
#define HYK_Q2_K_BLOCK_BYTES 84
#define HYK_TQ2_0_BLOCK_BYTES 66
int32_t hyk_gemv_q2_k_avx2(const uint8_t *w, const float *x, float *y, int64_t n,
                           int64_t k);
int32_t hyk_gemv_q2_k_avx512(const uint8_t *w, const float *x, float *y, int64_t n,
                             int64_t k);
int32_t hyk_gemv_tq2_0_avx2(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k);
int32_t hyk_gemv_tq2_0_avx512(const uint8_t *w, const float *x, float *y,
                              int64_t n, int64_t k);
/* The same for AArch64 NEON (float32 products), and under the aarch64-sme2
 * target's names (forwarding to the neon kernels). */
int32_t hyk_gemv_q2_k_neon(const uint8_t *w, const float *x, float *y, int64_t n,
                           int64_t k);
int32_t hyk_gemv_tq2_0_neon(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k);
int32_t hyk_gemv_q2_k_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                           int64_t k);
int32_t hyk_gemv_tq2_0_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k);

/* AArch64 NEON + dotprod; x as 24-bit integers per 32-block, as above. */
int32_t hyk_gemv_q8_0_neon(const uint8_t *w, const float *x, float *y,
                           int64_t n, int64_t k);
/* aarch64-sme2 (libhyk_sme2.a): the neon kernel under the target's name. */
int32_t hyk_gemv_q8_0_sme2(const uint8_t *w, const float *x, float *y,
                           int64_t n, int64_t k);

/* ---- Attention -------------------------------------------------------------
 * Causal grouped-query attention of `tokens` queries at positions pos0 ..
 * pos0 + tokens - 1 over a float32 KV cache (float16: the _f16 forms
 * below): for query row r, head h (of `heads`, head_dim floats each; KV head
 * h / (heads / kv_heads)),
 *   out[r][h] = sum_{t <= pos0 + r} softmax_t(q[r][h] . k[t][h/G] / sqrt(D)) v[t][h/G]
 * q and out are tokens x (heads * head_dim) floats, row-major; k_cache and
 * v_cache have rows of kv_heads * head_dim floats, of which rows 0 .. pos0 +
 * tokens - 1 are read (row pos0 + r must already hold query r's own key and
 * value). head_dim must be a multiple of HYK_ATTENTION_HEAD_DIM_MULTIPLE and
 * heads a multiple of kv_heads (else HYK_ERR_BAD_SHAPE); out must not overlap
 * the inputs. One query runs the decode pipeline (split over the KV length
 * in blocks of 256 positions, then merged), several the prefill one (the
 * heads x queries in parallel). Float32 math; agrees with a float64
 * reference to rounding. Each ISA's variant needs the CPU features of that
 * ISA's GEMV above. */
#define HYK_ATTENTION_HEAD_DIM_MULTIPLE 16
int32_t hyk_attention_avx2(const float *q, const float *k_cache,
                           const float *v_cache, float *out, int64_t tokens,
                           int64_t pos0, int64_t heads, int64_t kv_heads,
                           int64_t head_dim);
int32_t hyk_attention_avx512(const float *q, const float *k_cache,
                             const float *v_cache, float *out, int64_t tokens,
                             int64_t pos0, int64_t heads, int64_t kv_heads,
                             int64_t head_dim);
int32_t hyk_attention_neon(const float *q, const float *k_cache,
                           const float *v_cache, float *out, int64_t tokens,
                           int64_t pos0, int64_t heads, int64_t kv_heads,
                           int64_t head_dim);
/* The same over a float16 KV cache (IEEE binary16 bit patterns, as written
 * by a round-to-nearest-even conversion from float32): each element is
 * widened to float32 exactly as it is read; the math is the float32 math
 * above, so the result is the float32 result for the rounded cache. */
int32_t hyk_attention_avx2_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads,
                               int64_t kv_heads, int64_t head_dim);
int32_t hyk_attention_avx512_f16(const float *q, const uint16_t *k_cache,
                                 const uint16_t *v_cache, float *out,
                                 int64_t tokens, int64_t pos0, int64_t heads,
                                 int64_t kv_heads, int64_t head_dim);
int32_t hyk_attention_neon_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads,
                               int64_t kv_heads, int64_t head_dim);
/* The same over a Q8_0 KV cache: each row's kv_heads * head_dim elements as
 * ggml Q8_0 blocks (a little-endian float16 step d, then 32 int8 q; element
 * d q), 34 bytes per 32 elements, so a row is kv_heads * head_dim / 32 * 34
 * bytes. head_dim must be a multiple of 32 here (no block straddles two
 * heads; else HYK_ERR_BAD_SHAPE). Each element is dequantized to float32 as
 * it is read; the math is the float32 math above. */
int32_t hyk_attention_avx2_q8_0(const float *q, const uint8_t *k_cache,
                                const uint8_t *v_cache, float *out,
                                int64_t tokens, int64_t pos0, int64_t heads,
                                int64_t kv_heads, int64_t head_dim);
int32_t hyk_attention_avx512_q8_0(const float *q, const uint8_t *k_cache,
                                  const uint8_t *v_cache, float *out,
                                  int64_t tokens, int64_t pos0, int64_t heads,
                                  int64_t kv_heads, int64_t head_dim);
int32_t hyk_attention_neon_q8_0(const float *q, const uint8_t *k_cache,
                                const uint8_t *v_cache, float *out,
                                int64_t tokens, int64_t pos0, int64_t heads,
                                int64_t kv_heads, int64_t head_dim);
/* aarch64-sme2 (libhyk_sme2.a): the neon pipelines under the target's name. */
int32_t hyk_attention_sme2(const float *q, const float *k_cache,
                           const float *v_cache, float *out, int64_t tokens,
                           int64_t pos0, int64_t heads, int64_t kv_heads,
                           int64_t head_dim);
int32_t hyk_attention_sme2_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads,
                               int64_t kv_heads, int64_t head_dim);
int32_t hyk_attention_sme2_q8_0(const float *q, const uint8_t *k_cache,
                                const uint8_t *v_cache, float *out,
                                int64_t tokens, int64_t pos0, int64_t heads,
                                int64_t kv_heads, int64_t head_dim);

/* ---- The ops between the matmuls (schedules/pointwise) -------------------------
 * hyk_rms_norm_<isa>: for each of `groups` consecutive groups of group_size
 * floats, y = x / sqrt(mean(x^2) + eps) * gamma (gamma: group_size floats).
 * hyk_rope_<isa>: NEOX rotary embedding of `heads` heads of head_dim floats
 * (even, <= 2048) at position pos >= 0: for i < head_dim / 2, with
 * a = (float)(pos * freq_base^(-2 i / head_dim)) computed in float64,
 * y[i] = x[i] cos a - x[i + half] sin a, y[i + half] = x[i + half] cos a + x[i] sin a.
 * hyk_swiglu_<isa>: y = gate / (1 + exp(-gate)) * up over n floats.
 * y may be x (or gate, or up): all three run in place. Float32 math; exp is
 * Halide's (within a few ulp of libm's). HYK_ERR_BAD_SHAPE for a size <= 0,
 * an odd head_dim, pos < 0, eps < 0 or freq_base <= 0; y untouched on any
 * error. */
#define HYK_POINTWISE_DECLARE(isa)                                                   \
  int32_t hyk_rms_norm_##isa(const float *x, const float *gamma, float *y,           \
                             int64_t groups, int64_t group_size, float eps);         \
  int32_t hyk_rope_##isa(const float *x, float *y, int64_t heads, int64_t head_dim,   \
                         int64_t pos, double freq_base);                             \
  int32_t hyk_swiglu_##isa(const float *gate, const float *up, float *y, int64_t n);
HYK_POINTWISE_DECLARE(avx2)
HYK_POINTWISE_DECLARE(avx512)
HYK_POINTWISE_DECLARE(neon)
/* aarch64-sme2: the neon pipelines under the target's names. */
HYK_POINTWISE_DECLARE(sme2)

/* ---- Tuned schedules ----------------------------------------------------------
 * hyc compile generates a kernel again when the tuning database gives it a
 * non-default schedule; such a Halide pipeline (w, x, y halide_buffer_t*, as
 * declared by the generator) is run through these, with the same argument
 * checks and contract as the fixed entry points above. */
typedef int (*hyk_gemv_pipeline_fn)(void *w, void *x, void *y);
int32_t hyk_gemv_run_q2_0c(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                           const float *x, float *y, int64_t n, int64_t k);
int32_t hyk_gemv_run_q8_0(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                          const float *x, float *y, int64_t n, int64_t k);
int32_t hyk_gemv_run_q2_k(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                          const float *x, float *y, int64_t n, int64_t k);
int32_t hyk_gemv_run_tq2_0(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                           const float *x, float *y, int64_t n, int64_t k);
/* A tuned gemv_q2_0c_a8 (AVX-512 VNNI): generator gemv_q2_0c_a8q_vnni, whose
 * pipeline takes (w, xq, xstep, y) and reads activations quantized by the
 * caller, as hyk_gemv_q2_0c_a8q_avx512 does (same contract, plain rows). */
typedef int (*hyk_gemv_q_pipeline_fn)(void *w, void *xq, void *xstep, void *y);
int32_t hyk_gemv_run_q2_0c_a8q(hyk_gemv_q_pipeline_fn pipeline, const uint8_t *w,
                               const int8_t *xq, const float *xs, float *y, int64_t n,
                               int64_t k);
/* A tuned gemm_q2_0c_a8 (the AVX-512 prefill GEMM): generator
 * gemm_q2_0c_a8q_vnni over m rows of pre-quantized activations, the contract
 * of hyk_gemm_q2_0c_a8q_avx512 (plain rows). */
int32_t hyk_gemm_run_q2_0c_a8q(hyk_gemv_q_pipeline_fn pipeline, const uint8_t *w,
                               const int8_t *xq, const float *xs, float *y, int64_t n,
                               int64_t k, int64_t m);

/* Tuned attention and pointwise kernels: a pipeline generated from
 * attention_decode / attention_prefill (with k.type = v.type = float32,
 * float16 or uint8), rms_norm, rope, swiglu, quantize or rms_norm_quantize
 * with a database schedule, run with the argument checks and contract of the
 * matching fixed entry point (hyk_attention_<isa>[_f16|_q8_0],
 * hyk_rms_norm_<isa>, ...), the pipeline first. An attention pipeline serves
 * both one query and several (a decode pipeline accepts only tokens == 1:
 * HYK_ERR_KERNEL otherwise). HYK_ERR_NULL_POINTER for a null pipeline. */
typedef int (*hyk_attention_pipeline_fn)(void *q, void *k, void *v, int32_t pos0,
                                         int32_t group, void *out);
int32_t hyk_attention_run(hyk_attention_pipeline_fn pipeline, const float *q,
                          const float *k_cache, const float *v_cache, float *out,
                          int64_t tokens, int64_t pos0, int64_t heads, int64_t kv_heads,
                          int64_t head_dim);
int32_t hyk_attention_run_f16(hyk_attention_pipeline_fn pipeline, const float *q,
                              const uint16_t *k_cache, const uint16_t *v_cache, float *out,
                              int64_t tokens, int64_t pos0, int64_t heads, int64_t kv_heads,
                              int64_t head_dim);
int32_t hyk_attention_run_q8_0(hyk_attention_pipeline_fn pipeline, const float *q,
                               const uint8_t *k_cache, const uint8_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads, int64_t kv_heads,
                               int64_t head_dim);
typedef int (*hyk_rms_norm_pipeline_fn)(void *x, void *gamma, float eps, void *y);
int32_t hyk_rms_norm_run(hyk_rms_norm_pipeline_fn pipeline, const float *x, const float *gamma,
                         float *y, int64_t groups, int64_t group_size, float eps);
/* rope and swiglu pipelines: (x, table, y) and (gate, up, y). */
int32_t hyk_rope_run(hyk_gemv_pipeline_fn pipeline, const float *x, float *y, int64_t heads,
                     int64_t head_dim, int64_t pos, double freq_base);
int32_t hyk_swiglu_run(hyk_gemv_pipeline_fn pipeline, const float *gate, const float *up,
                       float *y, int64_t n);
typedef int (*hyk_quantize_pipeline_fn)(void *x, void *gamma, float eps, void *q,
                                        void *steps);
int32_t hyk_quantize_run(hyk_quantize_pipeline_fn pipeline, const float *x, int8_t *q,
                         float *steps, int64_t rows, int64_t k);
int32_t hyk_rms_norm_quantize_run(hyk_quantize_pipeline_fn pipeline, const float *x,
                                  const float *gamma, int8_t *q, float *steps, int64_t rows,
                                  int64_t k, float eps);

/* ---- Thread pool -------------------------------------------------------------
 * By default the kernels' parallel loops run on Halide's own thread pool.
 * hyk_set_parallel routes them to a caller's pool instead: parallel_for(pool,
 * task, ctx, n) must run task(ctx, i) for every i in [0, n) and return 0 if
 * all returned 0 (else one nonzero result). (NULL, NULL) restores Halide's
 * pool. Process-wide; call it only while no kernel is running. The signature
 * matches hy_parallel_for_fn in the runtime's hy_abi.h. */
typedef int32_t (*hyk_task_fn)(void *task_ctx, int32_t index);
typedef int32_t (*hyk_parallel_for_fn)(void *pool, hyk_task_fn task,
                                       void *task_ctx, int32_t n);
void hyk_set_parallel(hyk_parallel_for_fn parallel_for, void *pool);

/* ---- Prefetch hints ------------------------------------------------------------
 * hyk_set_prefetch installs a caller's hint function (hy_prefetch_fn in the
 * runtime's hy_abi.h); hyk_prefetch_hint(data, bytes) forwards to it, and does
 * nothing when none is installed. A compiled model calls it before each
 * matrix-vector product with the weights of the next one, so that a pool's
 * idle threads can prefetch them. Process-wide, like hyk_set_parallel. */
typedef void (*hyk_prefetch_fn)(void *pool, const void *data, int64_t bytes);
void hyk_set_prefetch(hyk_prefetch_fn prefetch, void *pool);
void hyk_prefetch_hint(const void *data, int64_t bytes);

/* A static, human-readable description of a status code (never NULL). */
const char *hyk_status_message(int32_t status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HYK_KERNELS_H */
