/* EntryPointsNeon.c - hyk_gemv_<format>_neon (hyk/kernels.h) over the AArch64
 * Halide pipelines built from the int8-dot-product generators
 * (gemv_*_i8dot, target arm-64-linux-arm_dot_prod); compiled into
 * libhyk_arm64.a only. */
#include "GemvShim.h"

#include <stddef.h>
#if defined(__APPLE__)
#include <sys/sysctl.h>
#else
#include <sys/auxv.h>
#endif

#include "gemv_q2_0c_neon.h"
#include "gemv_q8_0_neon.h"
#include "gemv_q2_k_neon.h"
#include "gemv_tq2_0_neon.h"
#include "PointwiseShim.h"
#include "rms_norm_neon.h"
#include "rope_neon.h"
#include "swiglu_neon.h"

#include "AttentionShim.h"
#include "attention_decode_neon.h"
#include "attention_prefill_neon.h"
#include "attention_decode_f16_neon.h"
#include "attention_prefill_f16_neon.h"
#include "attention_decode_q8_0_neon.h"
#include "attention_prefill_q8_0_neon.h"

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

#if defined(__APPLE__)
/* macOS names each CPU feature in sysctl hw.optional.arm.FEAT_*. */
static int cpu_has_i8mm(void) {
  int value = 0;
  size_t size = sizeof value;
  return sysctlbyname("hw.optional.arm.FEAT_I8MM", &value, &size, NULL, 0) == 0 &&
         value != 0;
}
#else
/* Linux arm64 hwcaps (asm/hwcap.h; older sysroots lack the name). */
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
/* getauxval reads the process's auxiliary vector: cheap next to a GEMM, and
 * no shared state between threads. */
static int cpu_has_i8mm(void) { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }
#endif

int32_t hyk_gemm_q2_0c_neon_dotprod(const uint8_t *w, const float *x, float *y,
                                    int64_t n, int64_t k, int64_t m) {
  if (x == NULL || y == NULL)
    return HYK_ERR_NULL_POINTER;
  if (m <= 0)
    return HYK_ERR_BAD_SHAPE;
  if (m > INT32_MAX / (k > 0 ? k : 1) || m > INT32_MAX / (n > 0 ? n : 1))
    return HYK_ERR_TOO_LARGE;
  /* Row 0 validates w, n and k before anything is written. */
  for (int64_t r = 0; r < m; ++r) {
    const int32_t status = hyk_gemv_q2_0c_neon(w, x + r * k, y + r * n, n, k);
    if (status != HYK_OK)
      return status;
  }
  return HYK_OK;
}

int32_t hyk_gemm_q2_0c_neon(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k, int64_t m) {
  return cpu_has_i8mm() ? hyk_gemm_q2_0c_neon_i8mm(w, x, y, n, k, m)
             : hyk_gemm_q2_0c_neon_dotprod(w, x, y, n, k, m);
}

/* ggml's Q2_K and TQ2_0: the float GEMVs (K2GemvGenerator.cpp) for NEON. */
HYK_K2_ENTRY_POINT(q2_k, Q2_K, neon)
HYK_K2_ENTRY_POINT(tq2_0, TQ2_0, neon)

HYK_ATTENTION_ENTRY_POINTS(neon)

HYK_POINTWISE_ENTRY_POINTS(neon)
