/* PointwiseShim.c - the ISA-independent half of hyk_rms_norm_<isa>,
 * hyk_rope_<isa> and hyk_swiglu_<isa> (hyk/kernels.h): argument checks,
 * halide_buffer_t descriptors over the caller's memory, and rope's angle
 * table. */
#include "PointwiseShim.h"
#include "GemvShim.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "HalideRuntime.h"

/* Elements any one buffer may hold: int32 extents and strides, < 2^31 bytes. */
static const int64_t kMaxFloats = INT32_MAX / (int64_t)sizeof(float);

/* `inner` floats (outer == 0: a vector, dim[1] unused), or `outer` rows of them. */
static void hyk_float_buffer(halide_buffer_t *buf, halide_dimension_t *dim,
                             const float *host, int32_t inner, int32_t outer) {
  hyk_init_dim(&dim[0], inner, 1);
  if (outer > 0)
    hyk_init_dim(&dim[1], outer, inner);
  /* The pipelines only read their inputs; halide_buffer_t has no const host. */
  hyk_init_buffer(buf, (void *)(uintptr_t)host, halide_type_float, 32,
                  outer > 0 ? 2 : 1, dim);
}

int32_t hyk_run_rms_norm(hyk_rms_norm_pipeline pipeline, const float *x,
                         const float *gamma, float *y, int64_t groups,
                         int64_t group_size, float eps) {
  if (x == NULL || gamma == NULL || y == NULL)
    return HYK_ERR_NULL_POINTER;
  if (groups <= 0 || group_size <= 0 || !(eps >= 0.0f))
    return HYK_ERR_BAD_SHAPE;
  if (group_size > kMaxFloats / groups)
    return HYK_ERR_TOO_LARGE;
  halide_dimension_t xd[2], gd[1], yd[2];
  halide_buffer_t xb, gb, yb;
  hyk_float_buffer(&xb, xd, x, (int32_t)group_size, (int32_t)groups);
  hyk_float_buffer(&gb, gd, gamma, (int32_t)group_size, 0);
  hyk_float_buffer(&yb, yd, y, (int32_t)group_size, (int32_t)groups);
  return pipeline(&xb, &gb, eps, &yb) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

/* The angle table of one (position, base, head_dim): cos then sin of
 * pos * base^(-2i / head_dim) for i < head_dim / 2, in float64 and rounded
 * to float32 (what lowbit.rope defines). The compiled model calls rope twice
 * per layer at the same position, so the last table is kept per thread. */
enum { kMaxRopeHalf = 1024 };
static _Thread_local struct {
  int64_t pos, head_dim;
  double base;
  float table[2 * kMaxRopeHalf];
} rope_cache = {-1, 0, 0.0, {0}};

static const float *rope_table(int64_t pos, int64_t head_dim, double base) {
  if (rope_cache.pos != pos || rope_cache.head_dim != head_dim ||
      rope_cache.base != base) {
    const int64_t half = head_dim / 2;
    for (int64_t i = 0; i < half; ++i) {
      const double angle = (double)pos * pow(base, (double)i * -2.0 / (double)head_dim);
      rope_cache.table[i] = (float)cos(angle);
      rope_cache.table[half + i] = (float)sin(angle);
    }
    rope_cache.pos = pos;
    rope_cache.head_dim = head_dim;
    rope_cache.base = base;
  }
  return rope_cache.table;
}

int32_t hyk_run_rope(hyk_rope_pipeline pipeline, const float *x, float *y, int64_t heads,
                     int64_t head_dim, int64_t pos, double freq_base) {
  if (x == NULL || y == NULL)
    return HYK_ERR_NULL_POINTER;
  if (heads <= 0 || head_dim <= 0 || head_dim % 2 != 0 || pos < 0 ||
      !(freq_base > 0.0))
    return HYK_ERR_BAD_SHAPE;
  if (head_dim > 2 * kMaxRopeHalf || heads > kMaxFloats / head_dim)
    return HYK_ERR_TOO_LARGE;
  halide_dimension_t xd[2], td[2], yd[2];
  halide_buffer_t xb, tb, yb;
  hyk_float_buffer(&xb, xd, x, (int32_t)head_dim, (int32_t)heads);
  hyk_float_buffer(&tb, td, rope_table(pos, head_dim, freq_base), (int32_t)(head_dim / 2), 2);
  hyk_float_buffer(&yb, yd, y, (int32_t)head_dim, (int32_t)heads);
  return pipeline(&xb, &tb, &yb) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

int32_t hyk_run_swiglu(hyk_swiglu_pipeline pipeline, const float *gate, const float *up,
                       float *y, int64_t n) {
  if (gate == NULL || up == NULL || y == NULL)
    return HYK_ERR_NULL_POINTER;
  if (n <= 0)
    return HYK_ERR_BAD_SHAPE;
  if (n > kMaxFloats)
    return HYK_ERR_TOO_LARGE;
  halide_dimension_t gd[1], ud[1], yd[1];
  halide_buffer_t gb, ub, yb;
  hyk_float_buffer(&gb, gd, gate, (int32_t)n, 0);
  hyk_float_buffer(&ub, ud, up, (int32_t)n, 0);
  hyk_float_buffer(&yb, yd, y, (int32_t)n, 0);
  return pipeline(&gb, &ub, &yb) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

int32_t hyk_run_quantize(hyk_quantize_pipeline pipeline, const float *x, const float *gamma,
                         int8_t *q, float *steps, int64_t rows, int64_t k, float eps) {
  if (x == NULL || q == NULL || steps == NULL)
    return HYK_ERR_NULL_POINTER;
  if (rows <= 0 || k <= 0 || !(eps >= 0.0f))
    return HYK_ERR_BAD_SHAPE;
  if (k % HYK_Q2_0C_BLOCK_WEIGHTS != 0)
    return HYK_ERR_K_NOT_BLOCKED;
  if (k > kMaxFloats / rows)
    return HYK_ERR_TOO_LARGE;
  halide_dimension_t xd[2], gd[1], qd[2], sd[2];
  halide_buffer_t xb, gb, qb, sb;
  hyk_float_buffer(&xb, xd, x, (int32_t)k, (int32_t)rows);
  /* Without a norm the pipeline never reads gamma: describe x instead. */
  hyk_float_buffer(&gb, gd, gamma ? gamma : x, (int32_t)k, 0);
  hyk_init_dim(&qd[0], (int32_t)k, 1);
  hyk_init_dim(&qd[1], (int32_t)rows, (int32_t)k);
  hyk_init_buffer(&qb, q, halide_type_int, 8, 2, qd);
  hyk_float_buffer(&sb, sd, steps, (int32_t)(k / 32), (int32_t)rows);
  return pipeline(&xb, &gb, eps, &qb, &sb) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

/* ---- Tuned pipelines (hyk/kernels.h) -------------------------------------- */

int32_t hyk_rms_norm_run(hyk_rms_norm_pipeline_fn pipeline, const float *x, const float *gamma,
                         float *y, int64_t groups, int64_t group_size, float eps) {
  if (pipeline == NULL)
    return HYK_ERR_NULL_POINTER;
  return hyk_run_rms_norm((hyk_rms_norm_pipeline)pipeline, x, gamma, y, groups, group_size,
                          eps);
}

int32_t hyk_rope_run(hyk_gemv_pipeline_fn pipeline, const float *x, float *y, int64_t heads,
                     int64_t head_dim, int64_t pos, double freq_base) {
  if (pipeline == NULL)
    return HYK_ERR_NULL_POINTER;
  return hyk_run_rope((hyk_rope_pipeline)pipeline, x, y, heads, head_dim, pos, freq_base);
}

int32_t hyk_swiglu_run(hyk_gemv_pipeline_fn pipeline, const float *gate, const float *up,
                       float *y, int64_t n) {
  if (pipeline == NULL)
    return HYK_ERR_NULL_POINTER;
  return hyk_run_swiglu((hyk_swiglu_pipeline)pipeline, gate, up, y, n);
}

int32_t hyk_quantize_run(hyk_quantize_pipeline_fn pipeline, const float *x, int8_t *q,
                         float *steps, int64_t rows, int64_t k) {
  if (pipeline == NULL)
    return HYK_ERR_NULL_POINTER;
  return hyk_run_quantize((hyk_quantize_pipeline)pipeline, x, NULL, q, steps, rows, k, 0.0f);
}

int32_t hyk_rms_norm_quantize_run(hyk_quantize_pipeline_fn pipeline, const float *x,
                                  const float *gamma, int8_t *q, float *steps, int64_t rows,
                                  int64_t k, float eps) {
  if (pipeline == NULL || gamma == NULL)
    return HYK_ERR_NULL_POINTER;
  return hyk_run_quantize((hyk_quantize_pipeline)pipeline, x, gamma, q, steps, rows, k, eps);
}
