/* Q2_0CI8mmGemm.c - the Q2_0C prefill GEMM for AArch64 CPUs with the int8
 * matrix multiply extension (FEAT_I8MM: smmla), hyk_gemm_q2_0c_neon_i8mm in
 * hyk/kernels.h. Hand-written with the ACLE NEON intrinsics (arm_neon.h):
 * Halide 21 has no i8mm target feature. Compiled by clang-22 with
 * -march=armv8.2-a+dotprod+i8mm into libhyk_arm64.a; hyk_gemm_q2_0c_neon
 * (EntryPointsNeon.c) calls it only when the CPU reports HWCAP2_I8MM.
 *
 * Numerics: those of the other Q2_0C kernels (ActivationDigits.h: 24-bit
 * activation integers per 512-block as three int8 digits, exact int32 dot
 * products, combined in float per block), so each output row agrees with
 * hyk_gemv_q2_0c_neon to float32 summation order.
 *
 * SMMLA multiplies a 2x8 int8 matrix by the transpose of another into a 2x2
 * int32 tile: here 2 weight rows x 8 weights by 2 activation rows x the same
 * 8 positions. The 8 positions need not be consecutive, only the same on both
 * sides: 16 packed bytes of a row hold 64 weights, byte j codes 4j..4j+3, and
 * shifting by 2t and masking gives lane j = weight 4j + t; such a vector's low
 * and high halves are the groups (t, h) = weights 4(8h + l) + t, l < 8. The
 * activations are packed once per call in that order: for each 64-weight
 * chunk, group g = 2t + h, then activation row, 8 bytes. A task computes 4
 * weight rows x 4 activation rows at a time: 12 int32 accumulators (2 x 2
 * tiles x 3 digits), folded into 4 float accumulators after each block. */
#include "hyk/kernels.h"

#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "HalideRuntime.h"

#include "../common/ActivationDigits.h"

#define HYK_I8MM_ROWS 4     /* weight rows per register tile */
#define HYK_I8MM_TASK_ROWS 16 /* weight rows per parallel task */

struct hyk_i8mm_args {
  const uint8_t *w;
  const int8_t *act; /* [digit][k/8 groups][mpad rows][8] */
  const float *step; /* [mpad rows][k/512] */
  float *y;          /* m x n */
  int64_t n, k, m, mpad;
};

/* x (m rows of k) into digits in the permuted order above; rows m..mpad-1
 * stay zero (calloc). */
static void hyk_i8mm_pack(const float *x, int64_t m, int64_t k, int64_t mpad, int8_t *act,
                          float *step) {
  const int64_t nb = k / HYK_Q2_0C_BLOCK_WEIGHTS, groups = k / 8;
  int8_t t[HYK_ACT_DIGITS][HYK_ACT_BLOCK];
  for (int64_t r = 0; r < m; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      step[r * nb + b] = hyk_block_digits(x + r * k + b * HYK_Q2_0C_BLOCK_WEIGHTS, t);
      for (int d = 0; d < HYK_ACT_DIGITS; ++d)
        for (int c = 0; c < HYK_ACT_BLOCK / 64; ++c)   /* 64-weight chunks */
          for (int g = 0; g < 8; ++g)                   /* g = 2 shift + half */
            for (int l = 0; l < 8; ++l) {
              const int i = c * 64 + 4 * (8 * (g & 1) + l) + (g >> 1);
              const int64_t G = b * (HYK_ACT_BLOCK / 8) + c * 8 + g;
              act[((d * groups + G) * mpad + r) * 8 + l] = t[d][i];
            }
    }
}

/* Weight rows n0..n0+3 (clamped to n-1: extra rows are computed, not
 * stored) against activation rows m0..m0+3. */
static void hyk_i8mm_tile(const struct hyk_i8mm_args *a, int64_t n0, int64_t m0) {
  const int64_t n = a->n, k = a->k, m = a->m, mpad = a->mpad;
  const int64_t nb = k / HYK_Q2_0C_BLOCK_WEIGHTS, groups = k / 8;
  const int64_t row_bytes = nb * HYK_Q2_0C_BLOCK_BYTES;
  const uint8_t *rows[HYK_I8MM_ROWS];
  for (int i = 0; i < HYK_I8MM_ROWS; ++i)
    rows[i] = a->w + (n0 + i < n ? n0 + i : n - 1) * row_bytes;
  const int8x16_t lut = {-3, -1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const uint8x16_t three = vdupq_n_u8(3);
  /* facc[p][q]: weight rows n0+2p, +1 x activation rows m0+2q, +1, lanes
   * (r0,a0) (r0,a1) (r1,a0) (r1,a1). */
  float32x4_t facc[2][2] = {{vdupq_n_f32(0), vdupq_n_f32(0)}, {vdupq_n_f32(0), vdupq_n_f32(0)}};
  const int64_t dstride = groups * mpad * 8;
  for (int64_t b = 0; b < nb; ++b) {
    int32x4_t acc[2][2][HYK_ACT_DIGITS];
    for (int p = 0; p < 2; ++p)
      for (int q = 0; q < 2; ++q)
        for (int d = 0; d < HYK_ACT_DIGITS; ++d)
          acc[p][q][d] = vdupq_n_s32(0);
    for (int c = 0; c < HYK_Q2_0C_BLOCK_WEIGHTS / 64; ++c) {
      uint8x16_t qs[HYK_I8MM_ROWS];
      for (int i = 0; i < HYK_I8MM_ROWS; ++i)
        qs[i] = vld1q_u8(rows[i] + b * HYK_Q2_0C_BLOCK_BYTES + 2 + 16 * c);
      const int8_t *ag = a->act + ((b * (HYK_ACT_BLOCK / 8) + c * 8) * mpad + m0) * 8;
      for (int t = 0; t < 4; ++t) {
        int8x16_t lv[HYK_I8MM_ROWS];
        for (int i = 0; i < HYK_I8MM_ROWS; ++i)
          lv[i] = vqtbl1q_s8(lut, vandq_u8(vshlq_u8(qs[i], vdupq_n_s8((int8_t)(-2 * t))), three));
        for (int h = 0; h < 2; ++h) {
          int8x16_t wv[2];
          for (int p = 0; p < 2; ++p)
            wv[p] = h ? vcombine_s8(vget_high_s8(lv[2 * p]), vget_high_s8(lv[2 * p + 1]))
                      : vcombine_s8(vget_low_s8(lv[2 * p]), vget_low_s8(lv[2 * p + 1]));
          const int8_t *ap = ag + (int64_t)(2 * t + h) * mpad * 8;
          for (int d = 0; d < HYK_ACT_DIGITS; ++d)
            for (int q = 0; q < 2; ++q) {
              const int8x16_t av = vld1q_s8(ap + d * dstride + 16 * q);
              for (int p = 0; p < 2; ++p)
                acc[p][q][d] = vmmlaq_s32(acc[p][q][d], wv[p], av);
            }
        }
      }
    }
    for (int p = 0; p < 2; ++p) {
      const float d0 = hyk_half_bytes_to_float(rows[2 * p] + b * HYK_Q2_0C_BLOCK_BYTES);
      const float d1 = hyk_half_bytes_to_float(rows[2 * p + 1] + b * HYK_Q2_0C_BLOCK_BYTES);
      const float32x4_t dv = {d0, d0, d1, d1};
      for (int q = 0; q < 2; ++q) {
        const float s0 = a->step[(m0 + 2 * q) * nb + b];
        const float s1 = a->step[(m0 + 2 * q + 1) * nb + b];
        const float32x4_t sv = {s0, s1, s0, s1};
        float32x4_t f = vcvtq_f32_s32(acc[p][q][0]);
        f = vmlaq_n_f32(vcvtq_f32_s32(acc[p][q][1]), f, 256.0f);
        f = vmlaq_n_f32(vcvtq_f32_s32(acc[p][q][2]), f, 256.0f);
        facc[p][q] = vmlaq_f32(facc[p][q], f, vmulq_f32(dv, sv));
      }
    }
  }
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 2; ++q)
      for (int lane = 0; lane < 4; ++lane) {
        const int64_t r = n0 + 2 * p + lane / 2, mr = m0 + 2 * q + lane % 2;
        if (r < n && mr < m)
          a->y[mr * n + r] = facc[p][q][lane];
      }
}

static int hyk_i8mm_task(void *user_context, int index, uint8_t *closure) {
  (void)user_context;
  const struct hyk_i8mm_args *a = (const struct hyk_i8mm_args *)closure;
  const int64_t r0 = (int64_t)index * HYK_I8MM_TASK_ROWS;
  for (int64_t n0 = r0; n0 < r0 + HYK_I8MM_TASK_ROWS && n0 < a->n; n0 += HYK_I8MM_ROWS)
    for (int64_t m0 = 0; m0 < a->m; m0 += 4)
      hyk_i8mm_tile(a, n0, m0);
  return 0;
}

int32_t hyk_gemm_q2_0c_neon_i8mm(const uint8_t *w, const float *x, float *y, int64_t n,
                                 int64_t k, int64_t m) {
  const int32_t status = hyk_q2_0c_check_args(w, x, y, n, k, m);
  if (status != HYK_OK)
    return status;
  const int64_t mpad = (m + 3) / 4 * 4;
  const size_t act_bytes = (size_t)HYK_ACT_DIGITS * (size_t)k * (size_t)mpad;
  int8_t *act = (int8_t *)calloc(act_bytes + (size_t)(mpad * (k / HYK_Q2_0C_BLOCK_WEIGHTS)) *
                                                 sizeof(float), 1);
  if (act == NULL)
    return HYK_ERR_NO_MEMORY;
  float *step = (float *)(void *)(act + act_bytes);
  hyk_i8mm_pack(x, m, k, mpad, act, step);
  struct hyk_i8mm_args args = {w, act, step, y, n, k, m, mpad};
  const int tasks = (int)((n + HYK_I8MM_TASK_ROWS - 1) / HYK_I8MM_TASK_ROWS);
  const int rc = halide_do_par_for(NULL, hyk_i8mm_task, 0, tasks, (uint8_t *)&args);
  free(act);
  return rc == 0 ? HYK_OK : HYK_ERR_KERNEL;
}
