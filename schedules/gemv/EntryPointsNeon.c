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

HYK_ATTENTION_ENTRY_POINTS(neon)
