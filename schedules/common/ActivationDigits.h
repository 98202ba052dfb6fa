/* ActivationDigits.h - the shared pieces of the hand-written Q2_0C kernels:
 * argument checks, and one 512-block of float activations as the 24-bit
 * integers of the int8-dot-product Q2_0C kernels, in plain C for the
 * hand-written kernels (schedules/sme2, schedules/gemm/Q2_0CI8mmGemm.c); the
 * Halide generators do the same in I8DotActivations.h (digits = 3):
 *   m = max |x| over the block, step = m * (1 / QMAX), QMAX = 8e6,
 *   q_i = round-half-even(x_i * (QMAX / m)) (0 when m = 0),
 *   q_i = 65536 t0_i + 256 t1_i + t2_i with balanced digits t in [-128, 127].
 * A block's dot product with int8 weights c is then
 *   step * ((D0 * 256 + D1) * 256 + D2),  D_j = sum_i c_i t_j,i  (exact int32). */
#ifndef HYK_SCHEDULES_COMMON_ACTIVATIONDIGITS_H
#define HYK_SCHEDULES_COMMON_ACTIVATIONDIGITS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hyk/kernels.h"

#define HYK_ACT_DIGITS 3
#define HYK_ACT_QMAX 8000000.0f
#define HYK_ACT_BLOCK 512

/* digits[j][i] = t_j of x[i] for i < HYK_ACT_BLOCK; returns the step. */
static inline float hyk_block_digits(const float *x, int8_t digits[HYK_ACT_DIGITS][HYK_ACT_BLOCK]) {
  float amax = 0.0f;
  for (int i = 0; i < HYK_ACT_BLOCK; ++i)
    amax = fmaxf(amax, fabsf(x[i]));
  const float inv = amax > 0.0f ? HYK_ACT_QMAX / amax : 0.0f;
  for (int i = 0; i < HYK_ACT_BLOCK; ++i) {
    int32_t rest = (int32_t)rintf(x[i] * inv);
    for (int j = HYK_ACT_DIGITS - 1; j >= 0; --j) {
      const int32_t t = j == 0 ? rest : ((rest + 128) & 255) - 128;
      rest = (rest - t) >> 8;
      digits[j][i] = (int8_t)t;
    }
  }
  return amax * (1.0f / HYK_ACT_QMAX);
}

/* The argument checks of a Q2_0C matmul entry point (n weight rows of k,
 * m activation rows), in the order and with the statuses of kernels.h; the
 * size limits are the Halide kernels' (int32 extents, task counts, indices). */
static inline int32_t hyk_q2_0c_check_args(const uint8_t *w, const float *x, const float *y,
                                           int64_t n, int64_t k, int64_t m) {
  if (w == NULL || x == NULL || y == NULL)
    return HYK_ERR_NULL_POINTER;
  if (n <= 0 || k <= 0 || m <= 0)
    return HYK_ERR_BAD_SHAPE;
  if (k % HYK_Q2_0C_BLOCK_WEIGHTS != 0)
    return HYK_ERR_K_NOT_BLOCKED;
  const int64_t row_bytes = k / HYK_Q2_0C_BLOCK_WEIGHTS * HYK_Q2_0C_BLOCK_BYTES;
  if (k > INT32_MAX / 4 || n > INT32_MAX / row_bytes || m > INT32_MAX / k ||
      m > INT32_MAX / n)
    return HYK_ERR_TOO_LARGE;
  return HYK_OK;
}

/* IEEE binary16 (little-endian bytes) -> float, exactly. */
static inline float hyk_half_bytes_to_float(const uint8_t *p) {
  const uint32_t h = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  union {
    uint32_t u;
    float f;
  } v;
  if (exp == 0) {
    const float f = (float)mant * 0x1p-24f;
    return sign ? -f : f;
  }
  v.u = exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112u) << 23) | (mant << 13));
  return v.f;
}

#endif /* HYK_SCHEDULES_COMMON_ACTIVATIONDIGITS_H */
