/* hyk/block_reference.h - the weight block formats of hyk/kernels.h decoded
 * element by element in double precision, straight from their definitions:
 * the scalar reference that the kernel tests (tests/unit/kernels) and hyc
 * tune's timing harness (schedules/tuner/TuneHarness.c) check kernels
 * against. Header-only, for test and tuning programs; the kernels never use
 * it. */
#ifndef HYK_BLOCK_REFERENCE_H
#define HYK_BLOCK_REFERENCE_H

#include <math.h>
#include <stdint.h>

#include "hyk/kernels.h"

typedef enum {
  HYK_REF_Q2_0C, /* { fp16 d; u8 qs[128] }, weight (2c - 3) d */
  HYK_REF_Q8_0,  /* { fp16 d; i8 qs[32] }, weight q d */
  HYK_REF_Q2_K,  /* { u8 scales[16]; u8 qs[64]; fp16 d; fp16 dmin } */
  HYK_REF_TQ2_0, /* { u8 qs[64]; fp16 d }, weight (c - 1) d */
} hyk_ref_format;

/* An IEEE binary16 value as double (subnormals, infinities and NaN too). */
static inline double hyk_ref_half(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double v = e == 0    ? ldexp((double)m, -24)
                   : e == 31 ? (m ? NAN : INFINITY)
                             : ldexp((double)(m | 0x400), e - 25);
  return (h & 0x8000) ? -v : v;
}

static inline int64_t hyk_ref_block_weights(hyk_ref_format f) {
  return f == HYK_REF_Q2_0C ? HYK_Q2_0C_BLOCK_WEIGHTS
         : f == HYK_REF_Q8_0 ? HYK_Q8_0_BLOCK_WEIGHTS
                             : HYK_K2_BLOCK_WEIGHTS;
}

static inline int64_t hyk_ref_block_bytes(hyk_ref_format f) {
  return f == HYK_REF_Q2_0C  ? HYK_Q2_0C_BLOCK_BYTES
         : f == HYK_REF_Q8_0 ? HYK_Q8_0_BLOCK_BYTES
         : f == HYK_REF_Q2_K ? HYK_Q2_K_BLOCK_BYTES
                             : HYK_TQ2_0_BLOCK_BYTES;
}

/* Byte offset of the block's fp16 scale d (Q2_K: dmin follows at +2). */
static inline int hyk_ref_scale_offset(hyk_ref_format f) {
  return f == HYK_REF_Q2_K ? 80 : f == HYK_REF_TQ2_0 ? 64 : 0;
}

/* Weight j of block `blk`. *mag (if not NULL) receives the magnitude a float
 * kernel's rounding scales with: |weight|, and for Q2_K the sum of its two
 * terms' magnitudes (d (s & 15) c and dmin (s >> 4) can nearly cancel). */
static inline double hyk_ref_weight(hyk_ref_format f, const uint8_t *blk, int64_t j,
                                    double *mag) {
  const int at = hyk_ref_scale_offset(f);
  const double d = hyk_ref_half((uint16_t)(blk[at] | (blk[at + 1] << 8)));
  double w;
  if (f == HYK_REF_Q2_0C) {
    w = (2 * ((blk[2 + j / 4] >> (2 * (j % 4))) & 3) - 3) * d;
  } else if (f == HYK_REF_Q8_0) {
    w = (int8_t)blk[2 + j] * d;
  } else {
    /* Element 128 h + 32 s + l: bits 2s of code byte 32 h + l. */
    const uint8_t *qs = blk + (f == HYK_REF_Q2_K ? 16 : 0);
    const int c = (qs[32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3;
    if (f == HYK_REF_TQ2_0) {
      w = (c - 1) * d;
    } else {
      const double dmin = hyk_ref_half((uint16_t)(blk[82] | (blk[83] << 8)));
      const int sc = blk[j / 16];
      w = d * (sc & 15) * c - dmin * (sc >> 4);
      if (mag)
        *mag = fabs(d * (sc & 15) * c) + fabs(dmin * (sc >> 4));
      return w;
    }
  }
  if (mag)
    *mag = fabs(w);
  return w;
}

#endif /* HYK_BLOCK_REFERENCE_H */
