/* PointwiseShim.h - internal to the kernel archives: the argument checks and
 * halide_buffer_t setup behind hyk_rms_norm_<isa>, hyk_rope_<isa> and
 * hyk_swiglu_<isa> (PointwiseShim.c), used by the per-ISA entry point files. */
#ifndef HYK_SCHEDULES_POINTWISE_POINTWISESHIM_H
#define HYK_SCHEDULES_POINTWISE_POINTWISESHIM_H

#include <stdint.h>

#include "hyk/kernels.h"

struct halide_buffer_t;

/* The AOT-compiled pipelines, as PointwiseGenerators.cpp declares them. */
typedef int (*hyk_rms_norm_pipeline)(struct halide_buffer_t *x,
                                     struct halide_buffer_t *gamma, float eps,
                                     struct halide_buffer_t *y);
typedef int (*hyk_rope_pipeline)(struct halide_buffer_t *x,
                                 struct halide_buffer_t *table,
                                 struct halide_buffer_t *y);
typedef int (*hyk_swiglu_pipeline)(struct halide_buffer_t *gate,
                                   struct halide_buffer_t *up,
                                   struct halide_buffer_t *y);
typedef int (*hyk_quantize_pipeline)(struct halide_buffer_t *x,
                                     struct halide_buffer_t *gamma, float eps,
                                     struct halide_buffer_t *q,
                                     struct halide_buffer_t *steps);

/* Check the arguments (hyk/kernels.h), describe the memory and run the
 * pipeline. Hidden: not part of the ABI. */
__attribute__((visibility("hidden"))) int32_t
hyk_run_rms_norm(hyk_rms_norm_pipeline pipeline, const float *x, const float *gamma,
                 float *y, int64_t groups, int64_t group_size, float eps);
__attribute__((visibility("hidden"))) int32_t
hyk_run_rope(hyk_rope_pipeline pipeline, const float *x, float *y, int64_t heads,
             int64_t head_dim, int64_t pos, double freq_base);
__attribute__((visibility("hidden"))) int32_t
hyk_run_swiglu(hyk_swiglu_pipeline pipeline, const float *gate, const float *up,
               float *y, int64_t n);
/* gamma NULL: the plain quantize pipeline (no norm; eps unused). */
__attribute__((visibility("hidden"))) int32_t
hyk_run_quantize(hyk_quantize_pipeline pipeline, const float *x, const float *gamma,
                 int8_t *q, float *steps, int64_t rows, int64_t k, float eps);

/* Defines hyk_rms_norm_<isa>, hyk_rope_<isa> and hyk_swiglu_<isa> over the
 * pipelines rms_norm_<isa>, rope_<isa> and swiglu_<isa>, whose headers the
 * including file has included. */
#define HYK_POINTWISE_ENTRY_POINTS(isa)                                            \
  int32_t hyk_rms_norm_##isa(const float *x, const float *gamma, float *y,         \
                             int64_t groups, int64_t group_size, float eps) {      \
    return hyk_run_rms_norm(rms_norm_##isa, x, gamma, y, groups, group_size, eps); \
  }                                                                                \
  int32_t hyk_rope_##isa(const float *x, float *y, int64_t heads, int64_t head_dim, \
                         int64_t pos, double freq_base) {                          \
    return hyk_run_rope(rope_##isa, x, y, heads, head_dim, pos, freq_base);        \
  }                                                                                \
  int32_t hyk_swiglu_##isa(const float *gate, const float *up, float *y,           \
                           int64_t n) {                                            \
    return hyk_run_swiglu(swiglu_##isa, gate, up, y, n);                           \
  }

#endif /* HYK_SCHEDULES_POINTWISE_POINTWISESHIM_H */
