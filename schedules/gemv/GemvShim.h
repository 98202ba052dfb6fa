/* GemvShim.h - internal to the kernel archives: the shared argument checks
 * and halide_buffer_t setup behind every hyk_gemv_* entry point
 * (Q2_0CGemvShim.c), used by the per-ISA entry point files. */
#ifndef HYK_SCHEDULES_GEMV_GEMVSHIM_H
#define HYK_SCHEDULES_GEMV_GEMVSHIM_H

#include <stdint.h>

#include "hyk/kernels.h"

struct halide_buffer_t;
struct halide_dimension_t;

/* hyk_init_buffer: a host-memory halide_buffer_t over `host` (no device,
 * lanes 1) of the given element type, over the caller's `dim` array.
 * hyk_init_dim: one dimension of it, min 0. Both are shared by the shims. */
__attribute__((visibility("hidden"))) void
hyk_init_buffer(struct halide_buffer_t *buf, void *host, uint8_t type_code,
                uint8_t bits, int32_t dimensions, struct halide_dimension_t *dim);
__attribute__((visibility("hidden"))) void
hyk_init_dim(struct halide_dimension_t *dim, int32_t extent, int32_t stride);

/* An AOT-compiled GEMV pipeline: (w, x, y) as declared by the generators. */
typedef int (*hyk_gemv_pipeline)(struct halide_buffer_t *w,
                                 struct halide_buffer_t *x,
                                 struct halide_buffer_t *y);

/* Checks the arguments of y[0..n) = W x for a block-quantized format whose
 * rows are k/block_weights blocks of block_bytes bytes, describes the memory
 * to Halide and runs `pipeline`. Returns HYK_OK or a HYK_ERR_* code
 * (not_blocked_status when k is not a multiple of block_weights). Hidden: not
 * part of the kernel ABI. */
__attribute__((visibility("hidden"))) int32_t
hyk_run_gemv(hyk_gemv_pipeline pipeline, const uint8_t *w, const float *x,
             float *y, int64_t n, int64_t k, int64_t block_weights,
             int64_t block_bytes, int32_t not_blocked_status);

/* The same for Y[m][n] = X[m] W^T over m rows of activations, through a
 * GEMM pipeline (w, x (k x m), y (n x m)). */
__attribute__((visibility("hidden"))) int32_t
hyk_run_gemm(hyk_gemv_pipeline pipeline, const uint8_t *w, const float *x,
             float *y, int64_t n, int64_t k, int64_t m, int64_t block_weights,
             int64_t block_bytes, int32_t not_blocked_status);

/* A pipeline over pre-quantized activations: (w, xq, xs, y). */
typedef int (*hyk_gemv_q_pipeline)(struct halide_buffer_t *w,
                                   struct halide_buffer_t *xq,
                                   struct halide_buffer_t *xs,
                                   struct halide_buffer_t *y);

/* Checks and runs one: Q2_0C weights (plain rows for interleave <= 1, else
 * the row-interleaved layout Q2_0C/r<interleave>), m rows of k int8
 * activations with k/32 steps each (rank 1 for the GEMV, 2 for the GEMM). */
__attribute__((visibility("hidden"))) int32_t
hyk_run_q2_0c_quantized(hyk_gemv_q_pipeline pipeline, const uint8_t *w,
                        const int8_t *xq, const float *xs, float *y, int64_t n,
                        int64_t k, int64_t m, int32_t rank, int32_t interleave);

/* hyk_gemv_<fmt>_<isa> over the Halide pipeline gemv_<fmt>_<isa> for ggml's
 * 2-bit formats (fmt q2_k or tq2_0, FMT Q2_K or TQ2_0; hyk/kernels.h). */
#define HYK_K2_ENTRY_POINT(fmt, FMT, isa)                                        \
  int32_t hyk_gemv_##fmt##_##isa(const uint8_t *w, const float *x, float *y,    \
                                 int64_t n, int64_t k) {                        \
    return hyk_run_gemv(gemv_##fmt##_##isa, w, x, y, n, k, HYK_K2_BLOCK_WEIGHTS, \
                        HYK_##FMT##_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256);    \
  }

#endif /* HYK_SCHEDULES_GEMV_GEMVSHIM_H */
