/* AttentionShim.c - the ISA-independent half of hyk_attention_<isa>
 * (hyk/kernels.h): argument checks and halide_buffer_t descriptors over the
 * caller's q / cache / out memory (no allocation, no copy), then the decode
 * pipeline for one query or the prefill pipeline for several. */
#include "AttentionShim.h"
#include "GemvShim.h"

#include <stddef.h>
#include <stdint.h>

#include "HalideRuntime.h"

/* (d x heads x rows) elements of `bits`-bit floats, d fastest. The pipelines
 * only read q, k and v; halide_buffer_t has no const host pointer. */
static void hyk_attn_buffer(halide_buffer_t *buf, halide_dimension_t *dim,
                            const void *host, int bits, int32_t d,
                            int32_t heads, int32_t rows) {
  hyk_init_dim(&dim[0], d, 1);
  hyk_init_dim(&dim[1], heads, d);
  hyk_init_dim(&dim[2], rows, d * heads);
  hyk_init_buffer(buf, (void *)(uintptr_t)host, halide_type_float,
                  (uint8_t)bits, 3, dim);
}

/* A Q8_0 cache as (head_bytes x heads x rows) bytes, head_bytes fastest. */
static void hyk_q8_0_cache_buffer(halide_buffer_t *buf, halide_dimension_t *dim,
                                  const void *host, int32_t head_bytes,
                                  int32_t heads, int32_t rows) {
  hyk_init_dim(&dim[0], head_bytes, 1);
  hyk_init_dim(&dim[1], heads, head_bytes);
  hyk_init_dim(&dim[2], rows, head_bytes * heads);
  hyk_init_buffer(buf, (void *)(uintptr_t)host, halide_type_uint, 8, 3, dim);
}

int32_t hyk_run_attention(hyk_attention_pipeline decode,
                          hyk_attention_pipeline prefill, int cache_bits,
                          const float *q, const void *k_cache,
                          const void *v_cache, float *out, int64_t tokens,
                          int64_t pos0, int64_t heads, int64_t kv_heads,
                          int64_t head_dim) {
  if (q == NULL || k_cache == NULL || v_cache == NULL || out == NULL) {
    return HYK_ERR_NULL_POINTER;
  }
  if (tokens <= 0 || pos0 < 0 || heads <= 0 || kv_heads <= 0 ||
      head_dim <= 0 || heads % kv_heads != 0 ||
      head_dim % HYK_ATTENTION_HEAD_DIM_MULTIPLE != 0) {
    return HYK_ERR_BAD_SHAPE;
  }
  /* Every buffer must span < 2^31 bytes with int32 extents and strides
   * (the float16 cache's elements are smaller: float32's limit holds). */
  const int64_t limit = INT32_MAX / (int64_t)sizeof(float);
  if (head_dim > limit / heads || tokens > limit / (head_dim * heads) ||
      pos0 > limit - tokens || pos0 + tokens > limit / (head_dim * kv_heads)) {
    return HYK_ERR_TOO_LARGE;
  }
  if (cache_bits == 8 && head_dim % 32 != 0) {
    return HYK_ERR_BAD_SHAPE; /* Q8_0 blocks must not straddle heads */
  }
  halide_dimension_t qd[3], kd[3], vd[3], od[3];
  halide_buffer_t qb, kb, vb, ob;
  const int32_t d = (int32_t)head_dim, h = (int32_t)heads;
  const int32_t kvh = (int32_t)kv_heads, m = (int32_t)tokens;
  const int32_t rows = (int32_t)(pos0 + tokens);
  hyk_attn_buffer(&qb, qd, q, 32, d, h, m);
  if (cache_bits == 8) {
    /* Q8_0 rows: head_dim / 32 * 34 bytes per head (<= float32's 4 bytes
     * per element, so the limit above holds). */
    const int32_t head_bytes = d / 32 * 34;
    hyk_q8_0_cache_buffer(&kb, kd, k_cache, head_bytes, kvh, rows);
    hyk_q8_0_cache_buffer(&vb, vd, v_cache, head_bytes, kvh, rows);
  } else {
    hyk_attn_buffer(&kb, kd, k_cache, cache_bits, d, kvh, rows);
    hyk_attn_buffer(&vb, vd, v_cache, cache_bits, d, kvh, rows);
  }
  hyk_attn_buffer(&ob, od, out, 32, d, h, m);
  hyk_attention_pipeline run = tokens == 1 ? decode : prefill;
  return run(&qb, &kb, &vb, (int32_t)pos0, h / kvh, &ob) == 0 ? HYK_OK
                                                             : HYK_ERR_KERNEL;
}

/* ---- Tuned pipelines (hyk/kernels.h): one pipeline for both forms. ------- */

#define HYK_ATTENTION_RUNNER(name, bits, elem)                                       \
  int32_t name(hyk_attention_pipeline_fn pipeline, const float *q, const elem *k_cache, \
               const elem *v_cache, float *out, int64_t tokens, int64_t pos0,          \
               int64_t heads, int64_t kv_heads, int64_t head_dim) {                    \
    if (pipeline == NULL)                                                              \
      return HYK_ERR_NULL_POINTER;                                                     \
    hyk_attention_pipeline p = (hyk_attention_pipeline)pipeline;                       \
    return hyk_run_attention(p, p, bits, q, k_cache, v_cache, out, tokens, pos0, heads, \
                             kv_heads, head_dim);                                      \
  }
HYK_ATTENTION_RUNNER(hyk_attention_run, 32, float)
HYK_ATTENTION_RUNNER(hyk_attention_run_f16, 16, uint16_t)
HYK_ATTENTION_RUNNER(hyk_attention_run_q8_0, 8, uint8_t)
