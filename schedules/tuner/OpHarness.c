/* OpHarness.c - the timing harness `hyc tune` links with every candidate of
 * an attention or pointwise kernel (TuneHarness.c is the matmuls').
 *
 * One executable per candidate: this file, the candidate pipeline (generated
 * by the kernel's Halide generator with -f hyk_tune_candidate, -no_runtime)
 * and the target's kernel archive (Halide runtime, the hyk_<op>_run runners
 * and the prebuilt default entry point). Built by the tuner with one of
 *   HYK_TUNE_OP_ATTENTION (and HYK_TUNE_CACHE_BITS 32, 16 or 8: a float32,
 *                       float16 or Q8_0 KV cache), HYK_TUNE_OP_RMS_NORM,
 *                       HYK_TUNE_OP_ROPE, HYK_TUNE_OP_SWIGLU,
 *                       HYK_TUNE_OP_QUANTIZE or HYK_TUNE_OP_RMS_NORM_QUANTIZE
 *   HYK_TUNE_DEFAULT    the prebuilt default kernel, e.g. hyk_rope_avx512
 *   HYK_TUNE_RUNTIME_POOL  (optional) parallel loops on the hy runtime's pool
 *
 * Usage: harness N K REPS WARMUP THREADS SEED POOL POOL_BYTES M KV_HEADS POS
 *   the shape as lowbit-select-kernels keys the kernel (Tuner.h): attention
 *   N query heads of K floats over KV_HEADS KV heads, M queries at positions
 *   POS .. POS + M - 1 (the cache holds POS + M rows); rms_norm N groups of
 *   K; rope N heads of K at position POS; swiglu K elements; quantize and
 *   rms_norm_quantize N rows of K. POOL is ignored ("-"); POOL_BYTES > 0
 *   gives attention that many bytes of KV-cache copies to cycle through (each
 *   timed call reads its cache from memory, as a decode step's 32 layers
 *   do); the pointwise ops run on one hot copy, as in a decode step.
 *   Random inputs: floats in [-1, 1], float16 and Q8_0 caches of similar
 *   magnitude. The default is checked against a double-precision scalar
 *   reference of the op's definition (hyk/kernels.h), the candidate against
 *   the default, outputs between sentinel bytes and prefilled with NaN:
 *     floats: |cand - default| <= 2e-4 * magnitude + 1e-6 per element, the
 *       magnitude being the sum of the absolute terms (float sums in another
 *       order differ by rounding only);
 *     int8 q: within 1 of the default, steps within 1e-5 relative (a norm
 *       summed in another order can move a value across a rounding edge).
 *   Each timed sample runs the kernel enough times to last >= 20 us (the
 *   pointwise ops take a microsecond or two); candidate and default
 *   interleaved, REPS samples each, medians per call.
 * Prints one line:
 *   hyk-tune ok cand_us=<median> default_us=<median> cand_min_us=<min> reps=<R> ...
 * or "hyk-tune MISMATCH ..." / "hyk-tune ERROR ..." and exits non-zero. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "HarnessCommon.h"
#include "hyk/block_reference.h"
#include "hyk/kernels.h"

#ifndef HYK_TUNE_DEFAULT
#error "define HYK_TUNE_DEFAULT (the prebuilt default kernel)"
#endif


static float uniform(void) { /* [-1, 1) */
  return (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
/* A random finite float16: exponent 2^(e - 15) for e in [lo, hi], any sign. */
static __attribute__((unused)) uint16_t random_half(int lo, int hi) {
  uint64_t r = next_u64();
  return (uint16_t)(((lo + r % (uint64_t)(hi - lo + 1)) << 10) | ((r >> 8) & 0x3ff) |
                    ((r >> 20) & 1) << 15);
}



/* An output of `bytes` between two GUARD-byte sentinel runs. */
static uint8_t *guarded(int64_t bytes) {
  uint8_t *p = malloc((size_t)bytes + 2 * GUARD);
  if (p)
    memset(p, SENTINEL, (size_t)bytes + 2 * GUARD);
  return p;
}
static int guards_intact(const uint8_t *store, int64_t bytes) {
  for (int g = 0; g < GUARD; ++g)
    if (store[g] != SENTINEL || store[GUARD + bytes + g] != SENTINEL)
      return 0;
  return 1;
}
static void fill_nan(float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = NAN;
}

/* ---- The op: inputs, the two calls, the reference ------------------------ */

static int64_t g_n, g_k, g_m, g_kv, g_pos;
static double g_worst; /* largest |cand - default| / bound seen */

#if defined(HYK_TUNE_OP_ATTENTION)
#if HYK_TUNE_CACHE_BITS == 32
typedef float cache_t;
#define RUNNER hyk_attention_run
#elif HYK_TUNE_CACHE_BITS == 16
typedef uint16_t cache_t;
#define RUNNER hyk_attention_run_f16
#elif HYK_TUNE_CACHE_BITS == 8
typedef uint8_t cache_t;
#define RUNNER hyk_attention_run_q8_0
#else
#error "HYK_TUNE_CACHE_BITS must be 32, 16 or 8"
#endif
extern int hyk_tune_candidate(void *q, void *k, void *v, int32_t pos0, int32_t group, void *out);
static float *g_q;
static uint8_t *g_caches; /* copies x (k then v), each g_cache_bytes */
static int64_t g_cache_bytes, g_copies = 1, g_copy;
static int64_t g_out_floats;

/* Bytes of one cache row (kv heads x head_dim elements). */
static int64_t row_bytes(void) {
  return HYK_TUNE_CACHE_BITS == 8 ? g_kv * g_k / 32 * 34 : g_kv * g_k * HYK_TUNE_CACHE_BITS / 8;
}
/* Element i of KV head j of row t of a cache, as double. */
static double cache_at(const uint8_t *c, int64_t t, int64_t j, int64_t i) {
  const uint8_t *row = c + t * row_bytes();
#if HYK_TUNE_CACHE_BITS == 32
  float v;
  memcpy(&v, row + 4 * (j * g_k + i), 4);
  return v;
#elif HYK_TUNE_CACHE_BITS == 16
  const uint8_t *at = row + 2 * (j * g_k + i);
  return hyk_ref_half((uint16_t)(at[0] | at[1] << 8));
#else
  const int64_t e = j * g_k + i;
  return hyk_ref_weight(HYK_REF_Q8_0, row + e / 32 * 34, e % 32, NULL);
#endif
}
static void fill_cache(uint8_t *c, int64_t bytes) {
#if HYK_TUNE_CACHE_BITS == 32
  for (int64_t i = 0; i < bytes / 4; ++i) {
    float v = uniform();
    memcpy(c + 4 * i, &v, 4);
  }
#elif HYK_TUNE_CACHE_BITS == 16
  for (int64_t i = 0; i < bytes / 2; ++i) {
    uint16_t h = random_half(10, 14); /* 2^-5 .. ~1 */
    c[2 * i] = (uint8_t)h, c[2 * i + 1] = (uint8_t)(h >> 8);
  }
#else
  for (int64_t b = 0; b < bytes / 34; ++b) {
    uint16_t h = random_half(6, 8); /* steps 2^-9 .. 2^-7: |element| < ~1 */
    c[34 * b] = (uint8_t)h, c[34 * b + 1] = (uint8_t)(h >> 8);
    for (int i = 0; i < 32; ++i)
      c[34 * b + 2 + i] = (uint8_t)(int8_t)((int)(next_u64() % 255) - 127);
  }
#endif
}
static int setup(int64_t pool_bytes) {
  g_out_floats = g_m * g_n * g_k;
  g_q = malloc((size_t)g_out_floats * sizeof(float));
  g_cache_bytes = (g_pos + g_m) * row_bytes();
  if (pool_bytes > 2 * g_cache_bytes)
    g_copies = pool_bytes / (2 * g_cache_bytes);
  g_caches = malloc((size_t)(g_copies * 2 * g_cache_bytes));
  if (!g_q || !g_caches)
    return 0;
  for (int64_t i = 0; i < g_out_floats; ++i)
    g_q[i] = uniform();
  fill_cache(g_caches, 2 * g_cache_bytes);
  for (int64_t c = 1; c < g_copies; ++c)
    memcpy(g_caches + c * 2 * g_cache_bytes, g_caches, (size_t)(2 * g_cache_bytes));
  return 1;
}
static int64_t out_bytes(void) { return g_out_floats * 4; }
static int32_t call(int candidate, void *out) {
  const uint8_t *k = g_caches + g_copy * 2 * g_cache_bytes, *v = k + g_cache_bytes;
  g_copy = (g_copy + 1) % g_copies;
  if (candidate)
    return RUNNER(hyk_tune_candidate, g_q, (const cache_t *)k, (const cache_t *)v, out, g_m,
                  g_pos, g_n, g_kv, g_k);
  return HYK_TUNE_DEFAULT(g_q, (const cache_t *)k, (const cache_t *)v, out, g_m, g_pos, g_n,
                          g_kv, g_k);
}
/* Checks y (default or candidate) against the reference; *why on failure. */
static int check(const void *yd_, const void *yc_, char *why, size_t len) {
  const float *yd = yd_, *yc = yc_;
  const double scale = 1.0 / sqrt((double)g_k);
  const int64_t group = g_n / g_kv;
  double *s = malloc((size_t)(g_pos + g_m) * sizeof(double));
  if (!s)
    return snprintf(why, len, "ERROR out of memory"), 0;
  for (int64_t r = 0; r < g_m; ++r)
    for (int64_t h = 0; h < g_n; ++h) {
      const float *q = g_q + (r * g_n + h) * g_k;
      const int64_t j = h / group, npos = g_pos + r + 1;
      double mx = -INFINITY, sum = 0;
      for (int64_t t = 0; t < npos; ++t) {
        double dot = 0;
        for (int64_t i = 0; i < g_k; ++i)
          dot += (double)q[i] * cache_at(g_caches, t, j, i);
        s[t] = dot * scale;
        mx = fmax(mx, s[t]);
      }
      for (int64_t t = 0; t < npos; ++t)
        sum += (s[t] = exp(s[t] - mx));
      for (int64_t i = 0; i < g_k; ++i) {
        double ref = 0, mag = 0;
        for (int64_t t = 0; t < npos; ++t) {
          double term = s[t] / sum * cache_at(g_caches + g_cache_bytes, t, j, i);
          ref += term;
          mag += fabs(term);
        }
        const int64_t at = (r * g_n + h) * g_k + i;
        const double bound = 2e-4 * mag + 1e-6;
        if (!(fabs(yd[at] - ref) <= bound)) {
          snprintf(why, len, "ERROR the default kernel disagrees with the scalar reference at "
                   "query %lld, head %lld, element %lld: %.9g vs %.9g", (long long)r,
                   (long long)h, (long long)i, yd[at], ref);
          return free(s), 0;
        }
        if (!(fabs(yc[at] - yd[at]) <= bound)) {
          snprintf(why, len, "MISMATCH query %lld, head %lld, element %lld: candidate %.9g, "
                   "default %.9g, bound %.3g", (long long)r, (long long)h, (long long)i,
                   yc[at], yd[at], bound);
          return free(s), 0;
        }
        g_worst = fmax(g_worst, fabs(yc[at] - yd[at]) / bound);
      }
    }
  free(s);
  return 1;
}
static int shape_ok(void) {
  return g_kv > 0 && g_n % g_kv == 0 && g_m >= 1 && g_pos >= 0 &&
         g_k % (HYK_TUNE_CACHE_BITS == 8 ? 32 : 16) == 0;
}

#elif defined(HYK_TUNE_OP_RMS_NORM) || defined(HYK_TUNE_OP_ROPE) || defined(HYK_TUNE_OP_SWIGLU)
static float *g_x, *g_x2; /* rms_norm: x, gamma; rope: x; swiglu: gate, up */
#define kEps 1e-6f    /* rms_norm's */
#define kBase 10000.0 /* rope's */
#if defined(HYK_TUNE_OP_RMS_NORM)
extern int hyk_tune_candidate(void *x, void *gamma, float eps, void *y);
#else
extern int hyk_tune_candidate(void *a, void *b, void *y);
#endif
static int64_t floats(void) { return g_n * g_k; }
static int setup(int64_t pool_bytes) {
  (void)pool_bytes;
  g_x = malloc((size_t)floats() * sizeof(float));
  g_x2 = malloc((size_t)floats() * sizeof(float));
  if (!g_x || !g_x2)
    return 0;
  for (int64_t i = 0; i < floats(); ++i)
    g_x[i] = uniform(), g_x2[i] = uniform();
  return 1;
}
static int64_t out_bytes(void) { return floats() * 4; }
static int32_t call(int candidate, void *y) {
#if defined(HYK_TUNE_OP_RMS_NORM)
  return candidate ? hyk_rms_norm_run(hyk_tune_candidate, g_x, g_x2, y, g_n, g_k, kEps)
                   : HYK_TUNE_DEFAULT(g_x, g_x2, y, g_n, g_k, kEps);
#elif defined(HYK_TUNE_OP_ROPE)
  return candidate ? hyk_rope_run(hyk_tune_candidate, g_x, y, g_n, g_k, g_pos, kBase)
                   : HYK_TUNE_DEFAULT(g_x, y, g_n, g_k, g_pos, kBase);
#else
  return candidate ? hyk_swiglu_run(hyk_tune_candidate, g_x, g_x2, y, g_k)
                   : HYK_TUNE_DEFAULT(g_x, g_x2, y, g_k);
#endif
}
static int check(const void *yd_, const void *yc_, char *why, size_t len) {
  const float *yd = yd_, *yc = yc_;
  for (int64_t r = 0; r < g_n; ++r) {
    const float *x = g_x + r * g_k;
    (void)x;
#if defined(HYK_TUNE_OP_RMS_NORM)
    double ss = 0;
    for (int64_t i = 0; i < g_k; ++i)
      ss += (double)x[i] * x[i];
    const double inv = 1.0 / sqrt(ss / (double)g_k + kEps);
#endif
    for (int64_t i = 0; i < g_k; ++i) {
      double ref, mag;
#if defined(HYK_TUNE_OP_RMS_NORM)
      ref = x[i] * inv * g_x2[i];
      mag = fabs(ref);
#elif defined(HYK_TUNE_OP_ROPE)
      /* The angle in float64, the table rounded to float32 (hyk/kernels.h). */
      const int64_t half = g_k / 2, j = i % half;
      const double a = (double)g_pos * pow(kBase, (double)j * -2.0 / (double)g_k);
      const double c = (float)cos(a), s = (float)sin(a);
      const double xp = x[i < half ? i + half : i - half];
      ref = x[i] * c + (i < half ? -xp : xp) * s;
      mag = fabs(x[i] * c) + fabs(xp * s);
#else
      const double g = g_x[i], u = g_x2[i];
      ref = g / (1.0 + exp(-g)) * u;
      mag = fabs(ref);
#endif
      const int64_t at = r * g_k + i;
      const double bound = 2e-5 * mag + 1e-6;
      if (!(fabs(yd[at] - ref) <= bound)) {
        snprintf(why, len, "ERROR the default kernel disagrees with the scalar reference at "
                 "row %lld, element %lld: %.9g vs %.9g", (long long)r, (long long)i, yd[at], ref);
        return 0;
      }
      if (!(fabs(yc[at] - yd[at]) <= bound)) {
        snprintf(why, len, "MISMATCH row %lld, element %lld: candidate %.9g, default %.9g, "
                 "bound %.3g", (long long)r, (long long)i, yc[at], yd[at], bound);
        return 0;
      }
      g_worst = fmax(g_worst, fabs(yc[at] - yd[at]) / bound);
    }
  }
  return 1;
}
static int shape_ok(void) {
#if defined(HYK_TUNE_OP_ROPE)
  return g_k % 2 == 0 && g_pos >= 0;
#elif defined(HYK_TUNE_OP_SWIGLU)
  return g_n == 1;
#else
  return 1;
#endif
}

#elif defined(HYK_TUNE_OP_QUANTIZE) || defined(HYK_TUNE_OP_RMS_NORM_QUANTIZE)
extern int hyk_tune_candidate(void *x, void *gamma, float eps, void *q, void *steps);
static float *g_x, *g_gamma;
#define kEps 1e-6f /* rms_norm_quantize's */
/* The output: q (N x K int8), then steps (N x K / 32 floats). */
static int64_t out_bytes(void) { return g_n * g_k + g_n * (g_k / 32) * 4; }
static int setup(int64_t pool_bytes) {
  (void)pool_bytes;
  g_x = malloc((size_t)(g_n * g_k) * sizeof(float));
  g_gamma = malloc((size_t)g_k * sizeof(float));
  if (!g_x || !g_gamma)
    return 0;
  for (int64_t i = 0; i < g_n * g_k; ++i)
    g_x[i] = uniform();
  for (int64_t i = 0; i < g_k; ++i)
    g_gamma[i] = uniform();
  return 1;
}
static int32_t call(int candidate, void *out) {
  int8_t *q = out;
  float *steps = (float *)(q + g_n * g_k);
#if defined(HYK_TUNE_OP_QUANTIZE)
  return candidate ? hyk_quantize_run(hyk_tune_candidate, g_x, q, steps, g_n, g_k)
                   : HYK_TUNE_DEFAULT(g_x, q, steps, g_n, g_k);
#else
  return candidate
             ? hyk_rms_norm_quantize_run(hyk_tune_candidate, g_x, g_gamma, q, steps, g_n, g_k, kEps)
             : HYK_TUNE_DEFAULT(g_x, g_gamma, q, steps, g_n, g_k, kEps);
#endif
}
static int check(const void *d_, const void *c_, char *why, size_t len) {
  const int8_t *qd = d_, *qc = c_;
  const float *sd = (const float *)(qd + g_n * g_k), *sc = (const float *)(qc + g_n * g_k);
  double *v = malloc((size_t)g_k * sizeof(double));
  if (!v)
    return snprintf(why, len, "ERROR out of memory"), 0;
  for (int64_t r = 0; r < g_n; ++r) {
    const float *x = g_x + r * g_k;
#if defined(HYK_TUNE_OP_RMS_NORM_QUANTIZE)
    double ss = 0;
    for (int64_t i = 0; i < g_k; ++i)
      ss += (double)x[i] * x[i];
    const double inv = 1.0 / sqrt(ss / (double)g_k + kEps);
    for (int64_t i = 0; i < g_k; ++i)
      v[i] = x[i] * inv * g_gamma[i];
#else
    for (int64_t i = 0; i < g_k; ++i)
      v[i] = x[i];
#endif
    /* Group g = 16 b + l holds elements 512 b + 256 h + 16 l + i (h < 2, i < 16). */
    for (int64_t g = 0; g < g_k / 32; ++g) {
      int64_t e[32];
      double amax = 0;
      for (int i = 0; i < 32; ++i) {
        e[i] = 512 * (g / 16) + 256 * (i / 16) + 16 * (g % 16) + i % 16;
        amax = fmax(amax, fabs(v[e[i]]));
      }
      const int64_t s_at = r * (g_k / 32) + g;
      const double step = amax / 127.0;
      if (!(fabs(sd[s_at] - step) <= 1e-5 * step + 1e-30) ||
          !(fabs(sc[s_at] - sd[s_at]) <= 1e-5 * step + 1e-30)) {
        snprintf(why, len, "%s row %lld, group %lld: step candidate %.9g, default %.9g, "
                 "reference %.9g", fabs(sd[s_at] - step) <= 1e-5 * step + 1e-30 ? "MISMATCH"
                 : "ERROR the default kernel's step disagrees with the reference at",
                 (long long)r, (long long)g, sc[s_at], sd[s_at], step);
        return free(v), 0;
      }
      for (int i = 0; i < 32; ++i) {
        const int64_t at = r * g_k + e[i];
        const double ref = amax > 0 ? nearbyint(v[e[i]] * 127.0 / amax) : 0.0;
        if (!(fabs(qd[at] - ref) <= 1.0)) {
          snprintf(why, len, "ERROR the default kernel disagrees with the scalar reference at "
                   "row %lld, element %lld: q %d vs %.0f", (long long)r, (long long)e[i],
                   qd[at], ref);
          return free(v), 0;
        }
        if (abs(qc[at] - qd[at]) > 1) {
          snprintf(why, len, "MISMATCH row %lld, element %lld: q candidate %d, default %d",
                   (long long)r, (long long)e[i], qc[at], qd[at]);
          return free(v), 0;
        }
        g_worst = fmax(g_worst, (double)abs(qc[at] - qd[at]));
      }
    }
  }
  free(v);
  return 1;
}
static int shape_ok(void) { return g_k % HYK_Q2_0C_BLOCK_WEIGHTS == 0; }

#else
#error "define one of HYK_TUNE_OP_ATTENTION, _RMS_NORM, _ROPE, _SWIGLU, _QUANTIZE, _RMS_NORM_QUANTIZE"
#endif

/* ---- Check, then time ------------------------------------------------------ */

/* One sample: `inner` calls of candidate or default, microseconds per call. */
static double sample(int candidate, void *y, int inner) {
  double t0 = now_us();
  for (int i = 0; i < inner; ++i)
    call(candidate, y);
  return (now_us() - t0) / inner;
}

int main(int argc, char **argv) {
  if (argc != 12) {
    fprintf(stderr, "usage: %s N K REPS WARMUP THREADS SEED POOL|- POOL_BYTES M KV_HEADS POS\n",
            argv[0]);
    return 2;
  }
  g_n = atoll(argv[1]), g_k = atoll(argv[2]);
  const int reps = atoi(argv[3]), warmup = atoi(argv[4]), threads = atoi(argv[5]);
  g_rng ^= (uint64_t)atoll(argv[6]) * 0x100000001b3ull;
  const int64_t pool_bytes = atoll(argv[8]);
  g_m = atoll(argv[9]), g_kv = atoll(argv[10]), g_pos = atoll(argv[11]);
  if (g_n <= 0 || g_k <= 0 || g_m < 1 || reps < 1 || warmup < 0 || threads < 1 || !shape_ok()) {
    printf("hyk-tune ERROR bad arguments\n");
    return 2;
  }
  if (start_threads(threads) != 0)
    return 2;
  if (!setup(pool_bytes)) {
    printf("hyk-tune ERROR out of memory\n");
    return 2;
  }
  const int64_t bytes = out_bytes();
  uint8_t *dstore = guarded(bytes), *cstore = guarded(bytes);
  if (!dstore || !cstore) {
    printf("hyk-tune ERROR out of memory\n");
    return 2;
  }
  void *yd = dstore + GUARD, *yc = cstore + GUARD;
  if (bytes % 4 == 0) {
    fill_nan(yd, bytes / 4);
    fill_nan(yc, bytes / 4);
  }
  int32_t sd = call(0, yd), sc = call(1, yc);
  if (sd != HYK_OK || sc != HYK_OK) {
    printf("hyk-tune ERROR status default %d candidate %d (%s)\n", sd, sc,
           hyk_status_message(sc != HYK_OK ? sc : sd));
    return 3;
  }
  if (!guards_intact(cstore, bytes) || !guards_intact(dstore, bytes)) {
    printf("hyk-tune MISMATCH a kernel wrote outside its output (%lld bytes)\n",
           (long long)bytes);
    return 3;
  }
  char why[512];
  if (!check(yd, yc, why, sizeof why)) {
    printf("hyk-tune %s\n", why);
    return 3;
  }

  for (int i = 0; i < warmup; ++i)
    call(1, yc), call(0, yd);
  /* Calls per sample: enough for >= 20 us, from the default's time. */
  double one = sample(0, yd, 1);
  int inner = one >= 20.0 ? 1 : (int)fmin(10000.0, ceil(20.0 / fmax(one, 0.01)));
  double *tc = malloc(sizeof(double) * (size_t)reps), *td = malloc(sizeof(double) * (size_t)reps);
  if (!tc || !td) {
    printf("hyk-tune ERROR out of memory\n");
    return 2;
  }
  for (int i = 0; i < reps; ++i)
    for (int half = 0; half < 2; ++half) {
      /* Alternate which one goes first, so neither always follows the other. */
      int cand = (half == 0) == (i % 2 == 0);
      (cand ? tc : td)[i] = sample(cand, cand ? yc : yd, inner);
    }
  qsort(tc, (size_t)reps, sizeof(double), cmp_double);
  qsort(td, (size_t)reps, sizeof(double), cmp_double);
#ifdef HYK_TUNE_OP_ATTENTION
  const long long copies = (long long)g_copies;
#else
  const long long copies = 1;
#endif
  printf("hyk-tune ok cand_us=%.3f default_us=%.3f cand_min_us=%.3f reps=%d copies=%lld "
         "calls_per_sample=%d max_err_over_bound=%.3g\n",
         tc[reps / 2], td[reps / 2], tc[0], reps, copies, inner, g_worst);
  return 0;
}
