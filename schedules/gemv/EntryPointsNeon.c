/* EntryPointsNeon.c - hyk_gemv_<format>_neon (hyk/kernels.h) over the AArch64
 * Halide pipelines built from the int8-dot-product generators
 * (gemv_*_i8dot, target arm-64-linux-arm_dot_prod); compiled into
 * libhyk_arm64.a only. */
#include "GemvShim.h"

#include "gemv_q2_0c_neon.h"
#include "gemv_q8_0_neon.h"

#include "AttentionShim.h"
#include "attention_decode_neon.h"
#include "attention_prefill_neon.h"
#include "attention_decode_f16_neon.h"
#include "attention_prefill_f16_neon.h"

int32_t hyk_gemv_q2_0c_neon(const uint8_t *w, const float *x, float *y,
                            int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q2_0c_neon, w, x, y, n, k, HYK_Q2_0C_BLOCK_WEIGHTS,
                      HYK_Q2_0C_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_q8_0_neon(const uint8_t *w, const float *x, float *y,
                           int64_t n, int64_t k) {
  return hyk_run_gemv(gemv_q8_0_neon, w, x, y, n, k, HYK_Q8_0_BLOCK_WEIGHTS,
                      HYK_Q8_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_Q8_0);
}

int32_t hyk_attention_neon(const float *q, const float *k_cache,
                           const float *v_cache, float *out, int64_t tokens,
                           int64_t pos0, int64_t heads, int64_t kv_heads,
                           int64_t head_dim) {
  return hyk_run_attention(attention_decode_neon, attention_prefill_neon, 32,
                           q, k_cache, v_cache, out, tokens, pos0, heads,
                           kv_heads, head_dim);
}

int32_t hyk_attention_neon_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out,
                               int64_t tokens, int64_t pos0, int64_t heads,
                               int64_t kv_heads, int64_t head_dim) {
  return hyk_run_attention(attention_decode_f16_neon,
                           attention_prefill_f16_neon, 16, q, k_cache,
                           v_cache, out, tokens, pos0, heads, kv_heads,
                           head_dim);
}
