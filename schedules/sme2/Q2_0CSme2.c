/* Q2_0CSme2.c - the Q2_0C matmuls of the aarch64-sme2 target (hyk/kernels.h:
 * hyk_gemv_q2_0c_sme2, hyk_gemm_q2_0c_sme2), written with the ACLE SME2
 * intrinsics (arm_sme.h) that clang lowers to LLVM's llvm.aarch64.sme.*
 * intrinsics. Compiled by clang-22 for armv9-a+sme2 into libhyk_sme2.a only.
 *
 * Numerics: as the NEON and AVX-512 Q2_0C kernels. Each 512-block b of an
 * activation row becomes 24-bit integers q_i with step s_b, written as three
 * balanced int8 digits t0, t1, t2 (schedules/common/ActivationDigits.h). A
 * row's block sum is then
 *   d * s_b * ((D0 * 256 + D1) * 256 + D2),   D_j = sum_i (2c_i - 3) t_j,i
 * with each D_j an exact int32 dot product of 512 int8 pairs.
 *
 * The weights are expanded in streaming mode: ZT0 holds the four levels
 * {-3, -1, 1, 3} and LUTI2 turns one vector of packed bytes (4 codes each,
 * lowest bits first, the Q2_0C order) into four vectors of int8 weights.
 *   GEMV (decode, one activation row): multi-vector SDOT into ZA array
 *     vectors (one vector group per digit), read back once per block.
 *   GEMM (prefill, m rows): int8 outer products (SMOPA) into three 32-bit ZA
 *     tiles (one per digit) for a tile of T = SVL/32 weight rows x T
 *     activation rows. The weight operand needs, per 32-bit lane, 4
 *     consecutive weights of one row: T rows' packed bytes go into the fourth
 *     tile as horizontal slices and come out as vertical slices (4 bytes of
 *     each row), LUTI2 expands those and a 4-way UZP regroups them by
 *     k-group. The activations are packed k-group-major beforehand.
 * Everything is vector-length agnostic (SVL 128 to 2048 bits).
 *
 * Threads: the row tiles are spread over halide_do_par_for, i.e. over the
 * runtime's pool once hyk_set_parallel installed it. Each task enters
 * streaming mode with fresh ZA and ZT0 state (__arm_locally_streaming,
 * __arm_new), so a task never inherits another's state. */
#include "hyk/kernels.h"

#include <arm_sme.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "HalideRuntime.h"

#include "../common/ActivationDigits.h"

#define HYK_Q2_0C_BLOCK_QS 128 /* packed bytes per block */

/* ZT0 (512 bits) as 16 32-bit entries: LUTI2 reads entry c's low byte. */
static const int32_t hyk_sme2_levels[16] = {-3, -1, 1, 3};

/* The fp16 block scale, callable in streaming mode without a mode switch. */
static inline __attribute__((always_inline)) float hyk_half_to_float(const uint8_t *p)
    __arm_streaming_compatible {
  return hyk_half_bytes_to_float(p);
}

/* One activation row x[0..k) into digits and steps (ActivationDigits.h).
 * Digit j of entry i goes to act[((j * k/4 + i/4) * mpad + row) * 4 + i%4]
 * (k-group major, then row; with mpad = 1 that is digit-major, plain order),
 * the step of block b to step[row * k/512 + b]. */
static void hyk_sme2_quantize_row(const float *x, int64_t k, int64_t row, int64_t mpad,
                                  int8_t *act, float *step) {
  const int64_t groups = k / 4, nb = k / HYK_Q2_0C_BLOCK_WEIGHTS;
  int8_t t[HYK_ACT_DIGITS][HYK_ACT_BLOCK];
  for (int64_t b = 0; b < nb; ++b) {
    step[row * nb + b] = hyk_block_digits(x + b * HYK_Q2_0C_BLOCK_WEIGHTS, t);
    for (int j = 0; j < HYK_ACT_DIGITS; ++j)
      for (int i = 0; i < HYK_Q2_0C_BLOCK_WEIGHTS; ++i) {
        const int64_t e = b * HYK_Q2_0C_BLOCK_WEIGHTS + i;
        act[((j * groups + e / 4) * mpad + row) * 4 + e % 4] = t[j][i];
      }
  }
}

/* ((D0 * 256 + D1) * 256 + D2) in float, the digits' exact int32 sums. */
static inline __attribute__((always_inline)) svfloat32_t hyk_sme2_combine(svint32_t d0, svint32_t d1,
                                    svint32_t d2) __arm_streaming {
  const svbool_t p = svptrue_b32();
  svfloat32_t s = svcvt_f32_s32_x(p, d0);
  s = svmla_n_f32_x(p, svcvt_f32_s32_x(p, d1), s, 256.0f);
  return svmla_n_f32_x(p, svcvt_f32_s32_x(p, d2), s, 256.0f);
}

static inline __attribute__((always_inline)) svint32_t hyk_sme2_sum4(svint32x4_t v) __arm_streaming {
  const svbool_t p = svptrue_b32();
  return svadd_s32_x(p, svadd_s32_x(p, svget4(v, 0), svget4(v, 1)),
                     svadd_s32_x(p, svget4(v, 2), svget4(v, 3)));
}

/* Four int8 vectors of activations from a (zero beyond `limit`). */
static inline __attribute__((always_inline)) svint8x4_t hyk_sme2_load4(const int8_t *a, uint64_t off,
                                 uint64_t limit) __arm_streaming {
  const uint64_t s = svcntb();
  return svcreate4(svld1_s8(svwhilelt_b8_u64(off, limit), a + off),
                   svld1_s8(svwhilelt_b8_u64(off + s, limit), a + off + s),
                   svld1_s8(svwhilelt_b8_u64(off + 2 * s, limit), a + off + 2 * s),
                   svld1_s8(svwhilelt_b8_u64(off + 3 * s, limit), a + off + 3 * s));
}

/* ---- GEMV ----------------------------------------------------------------- */

struct hyk_sme2_gemv_args {
  const uint8_t *w;
  const int8_t *act; /* HYK_ACT_DIGITS x k */
  const float *step; /* k/512 */
  float *y;
  int64_t n, k, rows_per_task;
};

__arm_locally_streaming __arm_new("za", "zt0") static void
hyk_sme2_gemv_rows(const struct hyk_sme2_gemv_args *a, int64_t r0, int64_t r1) {
  svldr_zt(0, hyk_sme2_levels);
  const uint64_t s = svcntb();
  const int64_t k = a->k, nb = k / HYK_Q2_0C_BLOCK_WEIGHTS;
  const int64_t row_bytes = nb * HYK_Q2_0C_BLOCK_BYTES;
  const svbool_t p32 = svptrue_b32();
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t *row = a->w + r * row_bytes;
    svfloat32_t acc = svdup_n_f32(0.0f);
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t *qs = row + b * HYK_Q2_0C_BLOCK_BYTES + 2;
      const uint64_t base = (uint64_t)b * HYK_Q2_0C_BLOCK_WEIGHTS;
      const uint64_t end = base + HYK_Q2_0C_BLOCK_WEIGHTS;
      for (uint64_t c = 0; c < HYK_Q2_0C_BLOCK_QS; c += s) {
        /* s packed bytes -> 4 s weights (codes past the block load as zero
         * bytes, expand to -3, and meet zero activations). */
        svuint8_t codes = svld1_u8(svwhilelt_b8_u64(c, HYK_Q2_0C_BLOCK_QS), qs + c);
        svint8x4_t wv = svluti2_lane_zt_s8_x4(0, codes, 0);
        const uint64_t off = base + 4 * c;
        svdot_za32_s8_vg1x4(0, wv, hyk_sme2_load4(a->act, off, end));
        svdot_za32_s8_vg1x4(1, wv, hyk_sme2_load4(a->act + k, off, end));
        svdot_za32_s8_vg1x4(2, wv, hyk_sme2_load4(a->act + 2 * k, off, end));
      }
      svfloat32_t blk = hyk_sme2_combine(hyk_sme2_sum4(svread_za32_s32_vg1x4(0)),
                                         hyk_sme2_sum4(svread_za32_s32_vg1x4(1)),
                                         hyk_sme2_sum4(svread_za32_s32_vg1x4(2)));
      /* Zero just the three vector groups for the next block (ZA starts
       * zeroed: __arm_new). Zeroing all of ZA instead costs SVL^2/8 bytes of
       * stores per row and block. */
      const svint32_t zero = svdup_n_s32(0);
      const svint32x4_t zero4 = svcreate4(zero, zero, zero, zero);
      svwrite_za32_s32_vg1x4(0, zero4);
      svwrite_za32_s32_vg1x4(1, zero4);
      svwrite_za32_s32_vg1x4(2, zero4);
      const float scale = hyk_half_to_float(qs - 2) * a->step[b];
      acc = svmla_n_f32_x(p32, acc, blk, scale);
    }
    a->y[r] = svaddv_f32(p32, acc);
  }
}

static int hyk_sme2_gemv_task(void *user_context, int index, uint8_t *closure) {
  (void)user_context;
  const struct hyk_sme2_gemv_args *a = (const struct hyk_sme2_gemv_args *)closure;
  const int64_t r0 = (int64_t)index * a->rows_per_task;
  const int64_t r1 = r0 + a->rows_per_task < a->n ? r0 + a->rows_per_task : a->n;
  hyk_sme2_gemv_rows(a, r0, r1);
  return 0;
}

/* ---- GEMM ----------------------------------------------------------------- */

struct hyk_sme2_gemm_args {
  const uint8_t *w;
  const int8_t *act; /* HYK_ACT_DIGITS x k/4 x mpad x 4 */
  const float *step; /* m x k/512 */
  float *y;          /* m x n */
  int64_t n, k, m, mpad;
};

/* Weight rows [n0, n0 + T) against every activation row. */
__arm_locally_streaming __arm_new("za", "zt0") static void
hyk_sme2_gemm_tile(const struct hyk_sme2_gemm_args *a, int64_t n0) {
  svldr_zt(0, hyk_sme2_levels);
  const uint64_t s = svcntb(), t = s / 4;
  const int64_t n = a->n, k = a->k, m = a->m, mpad = a->mpad;
  const int64_t groups = k / 4, nb = k / HYK_Q2_0C_BLOCK_WEIGHTS;
  const int64_t row_bytes = nb * HYK_Q2_0C_BLOCK_BYTES;
  const uint64_t nt = (uint64_t)(n - n0) < t ? (uint64_t)(n - n0) : t;
  const svbool_t p8 = svptrue_b8(), p32 = svptrue_b32();
  const svbool_t pn = svwhilelt_b32_u64(0, nt);
  float dvec[64]; /* t <= 64 (SVL <= 2048 bits) */
  for (int64_t m0 = 0; m0 < m; m0 += (int64_t)t) {
    const uint64_t mt = (uint64_t)(m - m0) < t ? (uint64_t)(m - m0) : t;
    for (uint64_t j = 0; j < mt; ++j)
      svst1_f32(pn, a->y + (m0 + (int64_t)j) * n + n0, svdup_n_f32(0.0f));
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t *blk0 = a->w + n0 * row_bytes + b * HYK_Q2_0C_BLOCK_BYTES;
      /* Tiles za0.s-za2.s (the digits' accumulators; the 64-bit tile mask
       * of za<t>.s is 0x11 << t). Tile 3 is overwritten by the loads. */
      svzero_mask_za(0x77);
      for (uint64_t c = 0; c < HYK_Q2_0C_BLOCK_QS; c += s) {
        /* Tile 3, row i: bytes c .. c+s of weight row n0+i's block (rows past
         * n stay zero and only produce outputs that are never stored). */
        const svbool_t pc = svwhilelt_b32_u64(c / 4, HYK_Q2_0C_BLOCK_QS / 4);
        for (uint64_t i = 0; i < nt; ++i)
          svld1_hor_za32(3, (uint32_t)i, pc, blk0 + i * row_bytes + 2 + c);
        const uint64_t slices = (HYK_Q2_0C_BLOCK_QS - c) / 4 < t ? (HYK_Q2_0C_BLOCK_QS - c) / 4 : t;
        for (uint64_t j = 0; j < slices; ++j) {
          /* Vertical slice j: 4 packed bytes (16 codes, k-groups 4j..4j+3 of
           * this chunk) of each row; expanded, lane i*4+g holds row i's
           * k-group g; UZP by 4 makes vector g hold k-group g of every row. */
          svuint8_t v = svreinterpret_u8_s32(
              svread_ver_za32_s32_m(svdup_n_s32(0), p32, 3, (uint32_t)j));
          svint8x4_t e = svluti2_lane_zt_s8_x4(0, v, 0);
          svint32x4_t g = svuzp_s32_x4(svcreate4(
              svreinterpret_s32_s8(svget4(e, 0)), svreinterpret_s32_s8(svget4(e, 1)),
              svreinterpret_s32_s8(svget4(e, 2)), svreinterpret_s32_s8(svget4(e, 3))));
          const int64_t g0 = b * (HYK_Q2_0C_BLOCK_WEIGHTS / 4) + (int64_t)(c + 4 * j);
          const int8_t *a0 = a->act + (g0 * mpad + m0) * 4;
          const int64_t dstride = groups * mpad * 4, gstride = mpad * 4;
#define HYK_SME2_MOPA(q)                                                                 \
  do {                                                                                   \
    svint8_t wq = svreinterpret_s8_s32(svget4(g, q));                                    \
    svmopa_za32_s8_m(0, p8, p8, wq, svld1_s8(p8, a0 + (q) * gstride));                   \
    svmopa_za32_s8_m(1, p8, p8, wq, svld1_s8(p8, a0 + (q) * gstride + dstride));         \
    svmopa_za32_s8_m(2, p8, p8, wq, svld1_s8(p8, a0 + (q) * gstride + 2 * dstride));     \
  } while (0)
          HYK_SME2_MOPA(0);
          HYK_SME2_MOPA(1);
          HYK_SME2_MOPA(2);
          HYK_SME2_MOPA(3);
#undef HYK_SME2_MOPA
        }
      }
      /* Column j of the tiles: weight rows n0.. against activation row m0+j. */
      for (uint64_t i = 0; i < nt; ++i)
        dvec[i] = hyk_half_to_float(blk0 + i * row_bytes);
      const svfloat32_t d = svld1_f32(pn, dvec);
      const svint32_t z = svdup_n_s32(0);
      for (uint64_t j = 0; j < mt; ++j) {
        svfloat32_t blk = hyk_sme2_combine(svread_ver_za32_s32_m(z, p32, 0, (uint32_t)j),
                                           svread_ver_za32_s32_m(z, p32, 1, (uint32_t)j),
                                           svread_ver_za32_s32_m(z, p32, 2, (uint32_t)j));
        float *yr = a->y + (m0 + (int64_t)j) * n + n0;
        const float sx = a->step[(m0 + (int64_t)j) * nb + b];
        svst1_f32(pn, yr, svmla_f32_x(p32, svld1_f32(pn, yr), blk, svmul_n_f32_x(p32, d, sx)));
      }
    }
  }
}

static int hyk_sme2_gemm_task(void *user_context, int index, uint8_t *closure) {
  (void)user_context;
  const struct hyk_sme2_gemm_args *a = (const struct hyk_sme2_gemm_args *)closure;
  hyk_sme2_gemm_tile(a, (int64_t)index * (int64_t)(svcntsb() / 4));
  return 0;
}

/* ---- Entry points -------------------------------------------------------- */

int32_t hyk_gemv_q2_0c_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k) {
  int32_t status = hyk_q2_0c_check_args(w, x, y, n, k, 1);
  if (status != HYK_OK)
    return status;
  int8_t *act = (int8_t *)malloc((size_t)(HYK_ACT_DIGITS * k) +
                                 (size_t)(k / HYK_Q2_0C_BLOCK_WEIGHTS) * sizeof(float));
  if (act == NULL)
    return HYK_ERR_NO_MEMORY;
  float *step = (float *)(void *)(act + HYK_ACT_DIGITS * k);
  hyk_sme2_quantize_row(x, k, 0, 1, act, step);
  const int64_t per_task = 16;
  struct hyk_sme2_gemv_args args = {w, act, step, y, n, k, per_task};
  const int tasks = (int)((n + per_task - 1) / per_task);
  int rc = halide_do_par_for(NULL, hyk_sme2_gemv_task, 0, tasks, (uint8_t *)&args);
  free(act);
  return rc == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

int32_t hyk_gemm_q2_0c_sme2(const uint8_t *w, const float *x, float *y, int64_t n,
                            int64_t k, int64_t m) {
  int32_t status = hyk_q2_0c_check_args(w, x, y, n, k, m);
  if (status != HYK_OK)
    return status;
  const int64_t t = (int64_t)(svcntsb() / 4);
  const int64_t mpad = (m + t - 1) / t * t;
  const size_t act_bytes = (size_t)HYK_ACT_DIGITS * (size_t)k * (size_t)mpad;
  int8_t *act = (int8_t *)calloc(act_bytes + (size_t)(m * (k / HYK_Q2_0C_BLOCK_WEIGHTS)) *
                                                 sizeof(float), 1);
  if (act == NULL)
    return HYK_ERR_NO_MEMORY;
  float *step = (float *)(void *)(act + act_bytes);
  for (int64_t r = 0; r < m; ++r)
    hyk_sme2_quantize_row(x + r * k, k, r, mpad, act, step);
  struct hyk_sme2_gemm_args args = {w, act, step, y, n, k, m, mpad};
  const int tasks = (int)((n + t - 1) / t);
  int rc = halide_do_par_for(NULL, hyk_sme2_gemm_task, 0, tasks, (uint8_t *)&args);
  free(act);
  return rc == 0 ? HYK_OK : HYK_ERR_KERNEL;
}
