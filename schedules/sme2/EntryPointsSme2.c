/* EntryPointsSme2.c - the aarch64-sme2 kernel ISA's entry points that are not
 * SME2 code: an SME2 CPU has NEON with dotprod, so the Q8_0 lm_head GEMV and
 * attention, and the Q2_K / TQ2_0 GEMVs run the neon Halide pipelines (libhyk_sme2.a carries all of
 * libhyk_arm64.a's members). The Q2_0C matmuls are SME2 (Q2_0CSme2.c). */
#include "hyk/kernels.h"

int32_t hyk_gemv_q8_0_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                           int64_t k) {
  return hyk_gemv_q8_0_neon(w, x, y, n, k);
}

int32_t hyk_gemv_q2_k_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                           int64_t k) {
  return hyk_gemv_q2_k_neon(w, x, y, n, k);
}

int32_t hyk_gemv_tq2_0_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k) {
  return hyk_gemv_tq2_0_neon(w, x, y, n, k);
}

int32_t hyk_attention_sme2(const float *q, const float *k_cache, const float *v_cache,
                           float *out, int64_t tokens, int64_t pos0, int64_t heads,
                           int64_t kv_heads, int64_t head_dim) {
  return hyk_attention_neon(q, k_cache, v_cache, out, tokens, pos0, heads, kv_heads,
                            head_dim);
}

int32_t hyk_attention_sme2_f16(const float *q, const uint16_t *k_cache,
                               const uint16_t *v_cache, float *out, int64_t tokens,
                               int64_t pos0, int64_t heads, int64_t kv_heads,
                               int64_t head_dim) {
  return hyk_attention_neon_f16(q, k_cache, v_cache, out, tokens, pos0, heads, kv_heads,
                                head_dim);
}

int32_t hyk_attention_sme2_q8_0(const float *q, const uint8_t *k_cache,
                                const uint8_t *v_cache, float *out, int64_t tokens,
                                int64_t pos0, int64_t heads, int64_t kv_heads,
                                int64_t head_dim) {
  return hyk_attention_neon_q8_0(q, k_cache, v_cache, out, tokens, pos0, heads, kv_heads,
                                 head_dim);
}

int32_t hyk_rms_norm_sme2(const float *x, const float *gamma, float *y, int64_t groups,
                          int64_t group_size, float eps) {
  return hyk_rms_norm_neon(x, gamma, y, groups, group_size, eps);
}

int32_t hyk_rope_sme2(const float *x, float *y, int64_t heads, int64_t head_dim, int64_t pos,
                      double freq_base) {
  return hyk_rope_neon(x, y, heads, head_dim, pos, freq_base);
}

int32_t hyk_swiglu_sme2(const float *gate, const float *up, float *y, int64_t n) {
  return hyk_swiglu_neon(gate, up, y, n);
}
