/* AttentionShim.h - internal to the kernel archives: the argument checks and
 * halide_buffer_t setup behind every hyk_attention_<isa> entry point
 * (AttentionShim.c), used by the per-ISA entry point files. */
#ifndef HYK_SCHEDULES_ATTENTION_ATTENTIONSHIM_H
#define HYK_SCHEDULES_ATTENTION_ATTENTIONSHIM_H

#include <stdint.h>

#include "hyk/kernels.h"

struct halide_buffer_t;

/* An AOT-compiled attention pipeline: (q, k, v, pos0, group, out) as
 * declared by AttentionGenerator.cpp (group = heads / kv_heads). */
typedef int (*hyk_attention_pipeline)(struct halide_buffer_t *q,
                                      struct halide_buffer_t *k,
                                      struct halide_buffer_t *v, int32_t pos0,
                                      int32_t group,
                                      struct halide_buffer_t *out);

/* Checks hyk_attention_<isa>[_f16|_q8_0]'s arguments, describes the memory
 * to Halide (the caches as `cache_bits`-bit floats: 32 or 16; 8: Q8_0 bytes,
 * head_dim / 32 * 34 per head; what the pipelines were generated for) and
 * runs `decode` (tokens == 1) or `prefill`. Hidden: not part of the ABI. */
__attribute__((visibility("hidden"))) int32_t
hyk_run_attention(hyk_attention_pipeline decode, hyk_attention_pipeline prefill,
                  int cache_bits, const float *q, const void *k_cache,
                  const void *v_cache, float *out, int64_t tokens, int64_t pos0,
                  int64_t heads, int64_t kv_heads, int64_t head_dim);

/* Defines hyk_attention_<isa>, hyk_attention_<isa>_f16 and
 * hyk_attention_<isa>_q8_0 (hyk/kernels.h) over the pipelines
 * attention_{decode,prefill}[_f16|_q8_0]_<isa>, whose headers the including
 * file has included. */
#define HYK_ATTENTION_ENTRY_POINTS(isa)                                        \
  int32_t hyk_attention_##isa(const float *q, const float *k_cache,           \
                              const float *v_cache, float *out,               \
                              int64_t tokens, int64_t pos0, int64_t heads,    \
                              int64_t kv_heads, int64_t head_dim) {           \
    return hyk_run_attention(attention_decode_##isa,                          \
                             attention_prefill_##isa, 32, q, k_cache,         \
                             v_cache, out, tokens, pos0, heads, kv_heads,     \
                             head_dim);                                       \
  }                                                                           \
  int32_t hyk_attention_##isa##_f16(                                          \
      const float *q, const uint16_t *k_cache, const uint16_t *v_cache,       \
      float *out, int64_t tokens, int64_t pos0, int64_t heads,                \
      int64_t kv_heads, int64_t head_dim) {                                   \
    return hyk_run_attention(attention_decode_f16_##isa,                      \
                             attention_prefill_f16_##isa, 16, q, k_cache,     \
                             v_cache, out, tokens, pos0, heads, kv_heads,     \
                             head_dim);                                       \
  }                                                                           \
  int32_t hyk_attention_##isa##_q8_0(                                         \
      const float *q, const uint8_t *k_cache, const uint8_t *v_cache,         \
      float *out, int64_t tokens, int64_t pos0, int64_t heads,                \
      int64_t kv_heads, int64_t head_dim) {                                   \
    return hyk_run_attention(attention_decode_q8_0_##isa,                     \
                             attention_prefill_q8_0_##isa, 8, q, k_cache,     \
                             v_cache, out, tokens, pos0, heads, kv_heads,     \
                             head_dim);                                       \
  }

#endif /* HYK_SCHEDULES_ATTENTION_ATTENTIONSHIM_H */
