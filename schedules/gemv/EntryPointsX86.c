/* EntryPointsX86.c - hyk_gemv_<format>_{avx2,avx512} (hyk/kernels.h) over the
 * x86 Halide pipelines; compiled into libhyk_x86.a only. */
#include "GemvShim.h"

#include "gemv_q2_0c_avx2.h"
#include "gemv_q2_0c_avx512.h"
#include "gemv_q8_0_avx2.h"
#include "gemv_q8_0_avx512.h"
#include "gemm_q2_0c_avx512.h"
#include "gemv_q2_0c_a8_avx512.h"
#include "gemm_q2_0c_a8_avx512.h"
#include "gemv_q8_0_a8_avx512.h"

#include "AttentionShim.h"
#include "attention_decode_avx2.h"
#include "attention_decode_avx512.h"
#include "attention_prefill_avx2.h"
#include "attention_decode_f16_avx2.h"
#include "attention_prefill_f16_avx2.h"
#include "attention_prefill_avx512.h"
#include "attention_decode_f16_avx512.h"
#include "attention_prefill_f16_avx512.h"

int32_t hyk_gemv_q2_0c_avx2(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q2_0c_avx2, w, x, y, n, k, HYK_Q2_0C_BLOCK_WEIGHTS,
                      HYK_Q2_0C_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_q2_0c_avx512(const uint8_t *w, const float *x, float *y,
                              int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q2_0c_avx512, w, x, y, n, k,
                      HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_q8_0_avx2(const uint8_t *w, const float *x, float *y,
                           int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q8_0_avx2, w, x, y, n, k, HYK_Q8_0_BLOCK_WEIGHTS,
                      HYK_Q8_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_Q8_0);
}

int32_t hyk_gemv_q8_0_avx512(const uint8_t *w, const float *x, float *y,
                             int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q8_0_avx512, w, x, y, n, k, HYK_Q8_0_BLOCK_WEIGHTS,
                      HYK_Q8_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_Q8_0);
}

int32_t hyk_gemm_q2_0c_avx512(const uint8_t *w, const float *x, float *y,
                              int64_t n, int64_t k, int64_t m) {
  return hyk_run_gemm(gemm_q2_0c_avx512, w, x, y, n, k, m,
                      HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_q2_0c_a8_avx512(const uint8_t *w, const float *x, float *y,
                                 int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q2_0c_a8_avx512, w, x, y, n, k,
                      HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemm_q2_0c_a8_avx512(const uint8_t *w, const float *x, float *y,
                                 int64_t n, int64_t k, int64_t m) {
  return hyk_run_gemm(gemm_q2_0c_a8_avx512, w, x, y, n, k, m,
                      HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_q8_0_a8_avx512(const uint8_t *w, const float *x, float *y,
                                int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q8_0_a8_avx512, w, x, y, n, k, HYK_Q8_0_BLOCK_WEIGHTS,
                      HYK_Q8_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_Q8_0);
}

int32_t hyk_attention_avx2(const float *q, const float *k_cache,
                           const float *v_cache, float *out, int64_t tokens,
                           int64_t pos0, int64_t heads, int64_t kv_heads,
                           int64_t head_dim) {
  return hyk_run_attention(attention_decode_avx2, attention_prefill_avx2, 32,
                           q, k_cache, v_cache, out, tokens, pos0, heads,
                           kv_heads, head_dim);
}

int32_t hyk_attention_avx2_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads,
                               int64_t kv_heads, int64_t head_dim) {
  return hyk_run_attention(attention_decode_f16_avx2,
                           attention_prefill_f16_avx2, 16, q, k_cache,
                           v_cache, out, tokens, pos0, heads, kv_heads,
                           head_dim);
}

int32_t hyk_attention_avx512(const float *q, const float *k_cache,
                             const float *v_cache, float *out, int64_t tokens,
                             int64_t pos0, int64_t heads, int64_t kv_heads,
                             int64_t head_dim) {
  return hyk_run_attention(attention_decode_avx512, attention_prefill_avx512, 32,
                           q, k_cache, v_cache, out, tokens, pos0, heads,
                           kv_heads, head_dim);
}

int32_t hyk_attention_avx512_f16(const float *q, const uint16_t *k_cache,
                                 const uint16_t *v_cache, float *out,
                                 int64_t tokens, int64_t pos0, int64_t heads,
                                 int64_t kv_heads, int64_t head_dim) {
  return hyk_run_attention(attention_decode_f16_avx512,
                           attention_prefill_f16_avx512, 16, q, k_cache,
                           v_cache, out, tokens, pos0, heads, kv_heads,
                           head_dim);
}
