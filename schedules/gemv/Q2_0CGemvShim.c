/* Q2_0CGemvShim.c - the ISA-independent half of the flat C entry points
 * (hyk/kernels.h) over the AOT-compiled Halide GEMV pipelines: argument
 * checks and buffer descriptors (hyk_run_gemv), the generic runners for
 * generated pipelines and the status messages. The per-ISA entry points
 * (hyk_gemv_<format>_<isa>) live in EntryPoints<Arch>.c, so each kernel
 * archive compiles only its own ISA's pipelines.
 *
 * Each entry point validates its arguments, describes the caller's memory with
 * halide_buffer_t / halide_dimension_t descriptors on the stack (no allocation,
 * no copy) and runs the pipeline. */
#include "GemvShim.h"

#include <stddef.h>
#include <stdint.h>

#include "HalideRuntime.h"

void hyk_init_buffer(halide_buffer_t *buf, void *host, uint8_t type_code,
                     uint8_t bits, int32_t dimensions, halide_dimension_t *dim) {
  buf->device = 0;
  buf->device_interface = NULL;
  buf->host = (uint8_t *)host;
  buf->flags = 0;
  buf->type.code = type_code;
  buf->type.bits = bits;
  buf->type.lanes = 1;
  buf->dimensions = dimensions;
  buf->dim = dim;
  buf->padding = NULL;
}

void hyk_init_dim(halide_dimension_t *dim, int32_t extent, int32_t stride) {
  dim->min = 0;
  dim->extent = extent;
  dim->stride = stride;
  dim->flags = 0;
}

/* The checks and descriptors shared by the GEMV (m = 1, rank-1 x and y) and
 * the GEMM (rank-2 x (k x m) and y (n x m)) entry points. */
static int32_t hyk_run_blocked(hyk_gemv_pipeline pipeline, const uint8_t *w,
                               const float *x, float *y, int64_t n, int64_t k,
                               int64_t m, int32_t rank, int64_t block_weights,
                               int64_t block_bytes, int32_t not_blocked_status) {
  if (w == NULL || x == NULL || y == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  if (n <= 0 || k <= 0 || m <= 0) {
    return HYK_ERR_BAD_SHAPE;
  }
  if (k % block_weights != 0) {
    return not_blocked_status;
  }
  /* Halide buffers have int32 extents/strides and (without the large_buffers
   * target feature) must each span fewer than 2^31 bytes. */
  const int64_t row_bytes = k / block_weights * block_bytes;
  if (k > INT32_MAX / (int64_t)sizeof(float) ||
      n > INT32_MAX / (int64_t)sizeof(float) || n > INT32_MAX / row_bytes ||
      m > INT32_MAX / (k * (int64_t)sizeof(float)) ||
      m > INT32_MAX / (n * (int64_t)sizeof(float))) {
    return HYK_ERR_TOO_LARGE;
  }

  halide_dimension_t w_dim[2], x_dim[2], y_dim[2];
  hyk_init_dim(&w_dim[0], (int32_t)row_bytes, 1);
  hyk_init_dim(&w_dim[1], (int32_t)n, (int32_t)row_bytes);
  hyk_init_dim(&x_dim[0], (int32_t)k, 1);
  hyk_init_dim(&x_dim[1], (int32_t)m, (int32_t)k);
  hyk_init_dim(&y_dim[0], (int32_t)n, 1);
  hyk_init_dim(&y_dim[1], (int32_t)m, (int32_t)n);

  /* The pipeline only reads w and x; halide_buffer_t has no const host pointer.
   */
  halide_buffer_t w_buf, x_buf, y_buf;
  hyk_init_buffer(&w_buf, (void *)(uintptr_t)w, halide_type_uint, 8, 2, w_dim);
  hyk_init_buffer(&x_buf, (void *)(uintptr_t)x, halide_type_float, 32, rank,
                  x_dim);
  hyk_init_buffer(&y_buf, (void *)y, halide_type_float, 32, rank, y_dim);

  return pipeline(&w_buf, &x_buf, &y_buf) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

int32_t hyk_run_gemv(hyk_gemv_pipeline pipeline, const uint8_t *w,
                     const float *x, float *y, int64_t n, int64_t k,
                     int64_t block_weights, int64_t block_bytes,
                     int32_t not_blocked_status) {
  return hyk_run_blocked(pipeline, w, x, y, n, k, 1, 1, block_weights,
                         block_bytes, not_blocked_status);
}

int32_t hyk_run_gemm(hyk_gemv_pipeline pipeline, const uint8_t *w,
                     const float *x, float *y, int64_t n, int64_t k, int64_t m,
                     int64_t block_weights, int64_t block_bytes,
                     int32_t not_blocked_status) {
  return hyk_run_blocked(pipeline, w, x, y, n, k, m, 2, block_weights,
                         block_bytes, not_blocked_status);
}

int32_t hyk_run_q2_0c_quantized(hyk_gemv_q_pipeline pipeline, const uint8_t *w,
                                const int8_t *xq, const float *xs, float *y,
                                int64_t n, int64_t k, int64_t m, int32_t rank,
                                int32_t interleave) {
  if (w == NULL || xq == NULL || xs == NULL || y == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  if (n <= 0 || k <= 0 || m <= 0) {
    return HYK_ERR_BAD_SHAPE;
  }
  if (k % HYK_Q2_0C_BLOCK_WEIGHTS != 0) {
    return HYK_ERR_K_NOT_BLOCKED;
  }
  /* Row-interleaved layout (Q2_0C/rR): w is n / R tiles of R rows. */
  const int64_t r = interleave > 1 ? interleave : 1;
  if (n % r != 0) {
    return HYK_ERR_N_NOT_INTERLEAVED;
  }
  const int64_t row_bytes = k / HYK_Q2_0C_BLOCK_WEIGHTS * HYK_Q2_0C_BLOCK_BYTES;
  const int64_t groups = k / 32;
  if (k > INT32_MAX / (int64_t)sizeof(float) ||
      n > INT32_MAX / (int64_t)sizeof(float) || n > INT32_MAX / row_bytes ||
      m > INT32_MAX / k || m > INT32_MAX / (n * (int64_t)sizeof(float))) {
    return HYK_ERR_TOO_LARGE;
  }
  halide_dimension_t w_dim[2], q_dim[2], s_dim[2], y_dim[2];
  hyk_init_dim(&w_dim[0], (int32_t)(row_bytes * r), 1);
  hyk_init_dim(&w_dim[1], (int32_t)(n / r), (int32_t)(row_bytes * r));
  hyk_init_dim(&q_dim[0], (int32_t)k, 1);
  hyk_init_dim(&q_dim[1], (int32_t)m, (int32_t)k);
  hyk_init_dim(&s_dim[0], (int32_t)groups, 1);
  hyk_init_dim(&s_dim[1], (int32_t)m, (int32_t)groups);
  hyk_init_dim(&y_dim[0], (int32_t)n, 1);
  hyk_init_dim(&y_dim[1], (int32_t)m, (int32_t)n);
  halide_buffer_t w_buf, q_buf, s_buf, y_buf;
  hyk_init_buffer(&w_buf, (void *)(uintptr_t)w, halide_type_uint, 8, 2, w_dim);
  hyk_init_buffer(&q_buf, (void *)(uintptr_t)xq, halide_type_int, 8, rank, q_dim);
  hyk_init_buffer(&s_buf, (void *)(uintptr_t)xs, halide_type_float, 32, rank, s_dim);
  hyk_init_buffer(&y_buf, (void *)y, halide_type_float, 32, rank, y_dim);
  return pipeline(&w_buf, &q_buf, &s_buf, &y_buf) == 0 ? HYK_OK : HYK_ERR_KERNEL;
}

int32_t hyk_gemv_run_q2_0c(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                           const float *x, float *y, int64_t n, int64_t k) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_gemv((hyk_gemv_pipeline)pipeline, w, x, y, n, k,
                      HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED);
}

int32_t hyk_gemv_run_q8_0(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                          const float *x, float *y, int64_t n, int64_t k) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_gemv((hyk_gemv_pipeline)pipeline, w, x, y, n, k,
                      HYK_Q8_0_BLOCK_WEIGHTS, HYK_Q8_0_BLOCK_BYTES,
                      HYK_ERR_K_NOT_BLOCKED_Q8_0);
}

int32_t hyk_gemv_run_q2_k(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                          const float *x, float *y, int64_t n, int64_t k) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_gemv((hyk_gemv_pipeline)pipeline, w, x, y, n, k, HYK_K2_BLOCK_WEIGHTS,
                      HYK_Q2_K_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256);
}

int32_t hyk_gemv_run_tq2_0(hyk_gemv_pipeline_fn pipeline, const uint8_t *w,
                           const float *x, float *y, int64_t n, int64_t k) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_gemv((hyk_gemv_pipeline)pipeline, w, x, y, n, k, HYK_K2_BLOCK_WEIGHTS,
                      HYK_TQ2_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256);
}

int32_t hyk_gemv_run_q2_0c_a8q(hyk_gemv_q_pipeline_fn pipeline, const uint8_t *w,
                               const int8_t *xq, const float *xs, float *y, int64_t n,
                               int64_t k) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_q2_0c_quantized((hyk_gemv_q_pipeline)pipeline, w, xq, xs, y, n, k, 1, 1, 1);
}

int32_t hyk_gemm_run_q2_0c_a8q(hyk_gemv_q_pipeline_fn pipeline, const uint8_t *w,
                               const int8_t *xq, const float *xs, float *y, int64_t n,
                               int64_t k, int64_t m) {
  if (pipeline == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  return hyk_run_q2_0c_quantized((hyk_gemv_q_pipeline)pipeline, w, xq, xs, y, n, k, m, 2, 1);
}

const char *hyk_status_message(int32_t status) {
  switch (status) {
  case HYK_OK:
    return "success";
  case HYK_ERR_NULL_POINTER:
    return "a required pointer argument is NULL";
  case HYK_ERR_BAD_SHAPE:
    return "a dimension (n or k) is not positive";
  case HYK_ERR_K_NOT_BLOCKED:
    return "K is not a multiple of the Q2_0C block size (512)";
  case HYK_ERR_K_NOT_BLOCKED_Q8_0:
    return "K is not a multiple of the Q8_0 block size (32)";
  case HYK_ERR_K_NOT_BLOCKED_256:
    return "K is not a multiple of the Q2_K / TQ2_0 block size (256)";
  case HYK_ERR_N_NOT_INTERLEAVED:
    return "N is not a multiple of the weight layout's row interleave";
  case HYK_ERR_NO_MEMORY:
    return "a kernel could not allocate its scratch memory";
  case HYK_ERR_TOO_LARGE:
    return "a buffer exceeds the kernels' 2^31-1 byte limit";
  case HYK_ERR_KERNEL:
    return "the Halide kernel reported an error (see stderr)";
  default:
    return "unknown hyk status code";
  }
}
