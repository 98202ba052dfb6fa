/* EntryPointsX86.c - hyk_gemv_<format>_{avx2,avx512} (hyk/kernels.h) over the
 * x86 Halide pipelines; compiled into libhyk_x86.a only. */
#include "GemvShim.h"

#include <stddef.h>

#include "gemv_q2_0c_avx2.h"
#include "gemv_q2_0c_avx512.h"
#include "gemv_q8_0_avx2.h"
#include "gemv_q8_0_avx512.h"
#include "gemm_q2_0c_avx512.h"
#include "gemv_q2_0c_a8_avx512.h"
#include "gemm_q2_0c_a8_avx512.h"
#include "gemv_q8_0_a8_avx512.h"
#include "gemv_q8_0_a8_avx2.h"
#include "gemv_q2_0c_a8q_avx512.h"
#include "PointwiseShim.h"
#include "rms_norm_avx2.h"
#include "quantize_avx512.h"
#include "quantize_avx2.h"
#include "rms_norm_quantize_avx2.h"
#include "gemv_q2_0c_a8q_avx2.h"
#include "gemm_q2_0c_a8q_avx2.h"
#include "gemv_q2_0c_r8_a8q_avx2.h"
#include "gemm_q2_0c_r8_a8q_avx2.h"
#include "rms_norm_quantize_avx512.h"
#include "rms_norm_avx512.h"
#include "rope_avx2.h"
#include "rope_avx512.h"
#include "swiglu_avx2.h"
#include "swiglu_avx512.h"
#include "gemv_q2_k_avx2.h"
#include "gemv_q2_k_avx512.h"
#include "gemv_tq2_0_avx2.h"
#include "gemv_tq2_0_avx512.h"
#include "gemm_q2_0c_a8q_avx512.h"
#include "gemv_q2_0c_r8_a8q_avx512.h"
#include "gemm_q2_0c_r8_a8q_avx512.h"

#include "AttentionShim.h"
#include "attention_decode_avx2.h"
#include "attention_decode_avx512.h"
#include "attention_prefill_avx2.h"
#include "attention_decode_f16_avx2.h"
#include "attention_prefill_f16_avx2.h"
#include "attention_prefill_avx512.h"
#include "attention_decode_f16_avx512.h"
#include "attention_prefill_f16_avx512.h"
#include "attention_decode_q8_0_avx2.h"
#include "attention_prefill_q8_0_avx2.h"
#include "attention_decode_q8_0_avx512.h"
#include "attention_prefill_q8_0_avx512.h"

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

/* Q2_0C x pre-quantized int8 activations, plain rows and Q2_0C/r8, decode
 * and prefill, for one ISA (the same generators; vpdpbusd on avx512,
 * vpmaddubsw + vpmaddwd on avx2). */
#define HYK_A8Q_ENTRY_POINTS(isa)                                                    \
  int32_t hyk_gemv_q2_0c_a8q_##isa(const uint8_t *w, const int8_t *xq, const float *xs, \
                                   float *y, int64_t n, int64_t k) {                 \
    return hyk_run_q2_0c_quantized(gemv_q2_0c_a8q_##isa, w, xq, xs, y, n, k, 1, 1, 1); \
  }                                                                                  \
  int32_t hyk_gemm_q2_0c_a8q_##isa(const uint8_t *w, const int8_t *xq, const float *xs, \
                                   float *y, int64_t n, int64_t k, int64_t m) {      \
    return hyk_run_q2_0c_quantized(gemm_q2_0c_a8q_##isa, w, xq, xs, y, n, k, m, 2, 1); \
  }                                                                                  \
  int32_t hyk_gemv_q2_0c_r8_a8q_##isa(const uint8_t *w, const int8_t *xq,            \
                                      const float *xs, float *y, int64_t n, int64_t k) { \
    return hyk_run_q2_0c_quantized(gemv_q2_0c_r8_a8q_##isa, w, xq, xs, y, n, k, 1, 1,   \
                                   HYK_Q2_0C_R8_ROWS);                               \
  }                                                                                  \
  int32_t hyk_gemm_q2_0c_r8_a8q_##isa(const uint8_t *w, const int8_t *xq,            \
                                      const float *xs, float *y, int64_t n, int64_t k, \
                                      int64_t m) {                                   \
    return hyk_run_q2_0c_quantized(gemm_q2_0c_r8_a8q_##isa, w, xq, xs, y, n, k, m, 2,   \
                                   HYK_Q2_0C_R8_ROWS);                               \
  }

HYK_A8Q_ENTRY_POINTS(avx2)
HYK_A8Q_ENTRY_POINTS(avx512)

#define HYK_Q8_0_A8_ENTRY_POINT(isa)                                                  \
  int32_t hyk_gemv_q8_0_a8_##isa(const uint8_t *w, const float *x, float *y, int64_t n,   \
                                 int64_t k) {                                          \
    return hyk_run_gemv(gemv_q8_0_a8_##isa, w, x, y, n, k, HYK_Q8_0_BLOCK_WEIGHTS,      \
                        HYK_Q8_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_Q8_0);              \
  }
HYK_Q8_0_A8_ENTRY_POINT(avx2)
HYK_Q8_0_A8_ENTRY_POINT(avx512)

/* ggml's 2-bit formats, one entry point per format and ISA (GemvShim.h). */
HYK_K2_ENTRY_POINT(q2_k, Q2_K, avx2)
HYK_K2_ENTRY_POINT(q2_k, Q2_K, avx512)
HYK_K2_ENTRY_POINT(tq2_0, TQ2_0, avx2)
HYK_K2_ENTRY_POINT(tq2_0, TQ2_0, avx512)

HYK_ATTENTION_ENTRY_POINTS(avx2)
HYK_ATTENTION_ENTRY_POINTS(avx512)

HYK_POINTWISE_ENTRY_POINTS(avx2)
HYK_POINTWISE_ENTRY_POINTS(avx512)

/* The int8-activation rounding, as the a8q kernels expect it. */
#define HYK_QUANTIZE_ENTRY_POINTS(isa)                                               \
  int32_t hyk_quantize_##isa(const float *x, int8_t *q, float *steps, int64_t rows,  \
                             int64_t k) {                                            \
    return hyk_run_quantize(quantize_##isa, x, NULL, q, steps, rows, k, 0.0f);       \
  }                                                                                  \
  int32_t hyk_rms_norm_quantize_##isa(const float *x, const float *gamma, int8_t *q, \
                                      float *steps, int64_t rows, int64_t k, float eps) { \
    if (gamma == NULL)                                                               \
      return HYK_ERR_NULL_POINTER;                                                   \
    return hyk_run_quantize(rms_norm_quantize_##isa, x, gamma, q, steps, rows, k, eps); \
  }

HYK_QUANTIZE_ENTRY_POINTS(avx2)
HYK_QUANTIZE_ENTRY_POINTS(avx512)
