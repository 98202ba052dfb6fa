/* TunedGemvTest.c - GEMV variants generated from hyc tune's search spaces
 * against a scalar reference (test_tuned_variants.py builds and runs it).
 *
 * Plain C, built for x86-64 (native) and aarch64 (run under qemu). The driver
 * generates each sampled variant with the Halide generator (-f tv_<i>) and
 * writes TUNED_VARIANTS_INC, a list of
 *   HYK_VARIANT(symbol, format, isa, "generator params", fixed_n, fixed_k)
 * lines; every variant runs through hyk_gemv_run_<format's weights>, the path
 * tuned kernels take in compiled models. Format q2_0c_a8 (int8 activations)
 * is Q2_0C weights with x rounded as hyk/kernels.h documents; the reference
 * rounds x the same way. A variant with fixed_n / fixed_k (generated for one
 * shape, as hyc tune does for fixed-shape spaces) runs on that shape only,
 * and must reject another shape with a status (Halide's error handler set to
 * one that records instead of aborting), y untouched.
 *
 * Bound per row (reference accumulated in double):
 *   |y[n] - ref[n]| <= 1e-4 * sum_i |W[n,i] x_i| + 1e-6
 * (float32 accumulation; the i8dot kernels' 24-bit activations add ~1e-7 of
 * sum |W| |x|). w and x end right before a PROT_NONE page (reads past the end
 * fault), y sits between 64-byte sentinel zones and starts as NaN.
 * Prints one line per (variant, shape), "SKIPPED" for variants whose ISA this
 * CPU lacks, and "N passed, N failed, N skipped" last; exits 1 on a failure. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hyk/block_reference.h"
#include "hyk/kernels.h"

#define HYK_VARIANT(sym, format, isa, desc, fixed_n, fixed_k) \
  extern int sym(void *, void *, void *);
#include TUNED_VARIANTS_INC
#undef HYK_VARIANT

typedef struct {
  hyk_gemv_pipeline_fn fn;
  const char *format, *isa, *desc;
  int64_t fixed_n, fixed_k; /* 0: any */
} variant_t;

#define HYK_VARIANT(sym, format, isa, desc, fixed_n, fixed_k) \
  {(hyk_gemv_pipeline_fn)sym, format, isa, desc, fixed_n, fixed_k},
static const variant_t kVariants[] = {
#include TUNED_VARIANTS_INC
};
#undef HYK_VARIANT

static int g_passed, g_failed, g_skipped;

static int isa_supported(const char *isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
  if (!strcmp(isa, "avx2"))
    return avx2;
  if (!strcmp(isa, "avx512"))
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
  return 0;
#else
  return !strcmp(isa, "neon"); /* run under qemu -cpu max (dotprod) */
#endif
}

static uint64_t g_rng = 0x243f6a8885a308d3ull;
static uint64_t next_u64(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545f4914f6cdd1dull;
}

/* `bytes` of memory ending right before a PROT_NONE page. */
static uint8_t *guarded_alloc(size_t bytes, void **map, size_t *map_bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t pages = (bytes + page - 1) / page;
  *map_bytes = (pages + 1) * page;
  uint8_t *p = mmap(NULL, *map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  if (mprotect(p + pages * page, page, PROT_NONE) != 0)
    return NULL;
  *map = p;
  return p + pages * page - bytes;
}

typedef struct {
  const char *format;
  int64_t n, k;
} shape_t;

/* Halide's runtime (in the kernel archive) reports pipeline errors through
 * this handler; its default aborts. */
typedef void (*halide_error_handler_t)(void *user_context, const char *msg);
extern halide_error_handler_t halide_set_error_handler(halide_error_handler_t handler);
static char g_halide_error[512];
static void record_halide_error(void *user_context, const char *msg) {
  (void)user_context;
  snprintf(g_halide_error, sizeof g_halide_error, "%s", msg);
}

/* x as the int8-activation kernels see it (hyk/kernels.h): per group of 32
 * (elements 512 b + 256 h + 16 l + i), s = amax * (1 / 127) and q =
 * round-half-even(x * (127 / amax)) in float32; x becomes q * s. */
static void quantize_int8(const float *x, double *out, int64_t k) {
  for (int64_t b = 0; b < k / 512; ++b)
    for (int l = 0; l < 16; ++l) {
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i)
        amax = fmaxf(amax, fabsf(x[512 * b + 256 * (i / 16) + 16 * l + i % 16]));
      const float s = amax * (1.0f / 127), inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (int i = 0; i < 32; ++i) {
        const int64_t e = 512 * b + 256 * (i / 16) + 16 * l + i % 16;
        out[e] = (double)nearbyintf(x[e] * inv) * (double)s;
      }
    }
}

/* A finite fp16 scale of either sign, with a few zeros and subnormals. */
static uint16_t random_scale(void) {
  const uint64_t r = next_u64();
  uint16_t h = (r & 63) == 0   ? 0
               : (r & 63) == 1 ? (uint16_t)(1 + (r >> 8) % 0x3ff)
                               : (uint16_t)(((1 + (r >> 8) % 19) << 10) | ((r >> 16) & 0x3ff));
  return (uint16_t)(h | (((r >> 40) & 1) << 15));
}

/* A format name's weight blocks (q2_0c_a8 reads Q2_0C blocks). */
static hyk_ref_format kind_of(const char *format) {
  if (!strncmp(format, "q2_0c", 5))
    return HYK_REF_Q2_0C;
  if (!strcmp(format, "q2_k"))
    return HYK_REF_Q2_K;
  if (!strcmp(format, "tq2_0"))
    return HYK_REF_TQ2_0;
  return HYK_REF_Q8_0;
}

static int32_t run_variant(const variant_t *var, hyk_ref_format kind, const uint8_t *w, const float *x,
                           float *y, int64_t n, int64_t k) {
  switch (kind) {
  case HYK_REF_Q2_0C:
    return hyk_gemv_run_q2_0c(var->fn, w, x, y, n, k);
  case HYK_REF_Q2_K:
    return hyk_gemv_run_q2_k(var->fn, w, x, y, n, k);
  case HYK_REF_TQ2_0:
    return hyk_gemv_run_tq2_0(var->fn, w, x, y, n, k);
  default:
    return hyk_gemv_run_q8_0(var->fn, w, x, y, n, k);
  }
}

/* A fixed-shape variant called with another shape: a status, no abort, y
 * untouched (the flat runner's own checks pass: the buffers are consistent). */
static void check_rejects_other_shapes(const variant_t *var) {
  const hyk_ref_format kind = kind_of(var->format);
  const int64_t bw = hyk_ref_block_weights(kind), bb = hyk_ref_block_bytes(kind);
  const int64_t shapes[2][2] = {{var->fixed_n, var->fixed_k + bw},
                                {var->fixed_n + 1, var->fixed_k}};
  for (int i = 0; i < 2; ++i) {
    const int64_t n = shapes[i][0], k = shapes[i][1];
    uint8_t *w = calloc((size_t)(n * (k / bw) * bb), 1);
    float *x = calloc((size_t)k, sizeof(float));
    uint8_t *ystore = malloc((size_t)n * 4 + 128);
    if (!w || !x || !ystore) {
      printf("[FAIL] %s: out of memory\n", var->desc);
      g_failed++;
      free(w), free(x), free(ystore);
      continue;
    }
    memset(ystore, 0xA5, (size_t)n * 4 + 128);
    g_halide_error[0] = 0;
    halide_error_handler_t old = halide_set_error_handler(record_halide_error);
    int32_t st = run_variant(var, kind, w, x, (float *)(ystore + 64), n, k);
    halide_set_error_handler(old);
    int untouched = 1;
    for (int64_t j = 0; j < n * 4 + 128; ++j)
      untouched &= ystore[j] == 0xA5;
    const int ok = st == HYK_ERR_KERNEL && untouched && g_halide_error[0];
    printf("[%s] %s %s [%s] called with %lldx%lld: status %d, y %s, Halide: %s\n",
           ok ? "PASS" : "FAIL", var->format, var->isa, var->desc, (long long)n, (long long)k,
           st, untouched ? "untouched" : "WRITTEN", g_halide_error[0] ? g_halide_error : "-");
    if (ok)
      g_passed++;
    else
      g_failed++;
    free(w);
    free(x);
    free(ystore);
  }
}

static void run_shape(const shape_t *s) {
  const hyk_ref_format kind = kind_of(s->format);
  const int a8 = !strcmp(s->format, "q2_0c_a8");
  const int64_t bw = hyk_ref_block_weights(kind), bb = hyk_ref_block_bytes(kind);
  const int64_t row_bytes = s->k / bw * bb;
  void *wmap, *xmap;
  size_t wmap_bytes, xmap_bytes;
  uint8_t *w = guarded_alloc((size_t)(s->n * row_bytes), &wmap, &wmap_bytes);
  float *x = (float *)guarded_alloc((size_t)s->k * 4, &xmap, &xmap_bytes);
  double *ref = malloc((size_t)s->n * sizeof(double));
  double *mag = malloc((size_t)s->n * sizeof(double));
  double *xr = malloc((size_t)s->k * sizeof(double));
  uint8_t *ystore = malloc((size_t)s->n * 4 + 128);
  if (!w || !x || !ref || !mag || !xr || !ystore) {
    printf("[FAIL] %s %lldx%lld: out of memory\n", s->format, (long long)s->n, (long long)s->k);
    g_failed++;
    return;
  }
  for (int64_t b = 0; b < s->n * (s->k / bw); ++b) {
    uint8_t *blk = w + b * bb;
    for (int64_t j = 0; j < bb; ++j)
      blk[j] = (uint8_t)next_u64();
    /* The fp16 scales over the random bytes (Q2_K: d and dmin). */
    const int first = hyk_ref_scale_offset(kind);
    for (int at = first; at <= (kind == HYK_REF_Q2_K ? 82 : first); at += 2) {
      const uint16_t h = random_scale();
      blk[at] = (uint8_t)h;
      blk[at + 1] = (uint8_t)(h >> 8);
    }
  }
  for (int64_t i = 0; i < s->k; ++i)
    x[i] = (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  for (int64_t i = 0; i < s->k; ++i)
    xr[i] = x[i];
  if (a8)
    quantize_int8(x, xr, s->k);
  for (int64_t row = 0; row < s->n; ++row) {
    const uint8_t *wr = w + row * row_bytes;
    double acc = 0, m = 0;
    for (int64_t i = 0; i < s->k; ++i) {
      const double wv = hyk_ref_weight(kind, wr + (i / bw) * bb, i % bw, NULL);
      acc += wv * xr[i];
      m += fabs(wv * xr[i]);
    }
    ref[row] = acc;
    mag[row] = m;
  }
  for (size_t v = 0; v < sizeof kVariants / sizeof kVariants[0]; ++v) {
    const variant_t *var = &kVariants[v];
    if (strcmp(var->format, s->format) ||
        (var->fixed_n && (var->fixed_n != s->n || var->fixed_k != s->k)))
      continue;
    if (!isa_supported(var->isa)) {
      printf("[SKIPPED] %s %s [%s] %lldx%lld: this CPU lacks %s\n", var->format, var->isa,
             var->desc, (long long)s->n, (long long)s->k, var->isa);
      g_skipped++;
      continue;
    }
    memset(ystore, 0xA5, (size_t)s->n * 4 + 128);
    float *y = (float *)(ystore + 64);
    for (int64_t i = 0; i < s->n; ++i)
      y[i] = NAN;
    int32_t st = run_variant(var, kind, w, x, y, s->n, s->k);
    int ok = st == HYK_OK;
    for (int g = 0; g < 64 && ok; ++g)
      ok = ystore[g] == 0xA5 && ystore[64 + s->n * 4 + g] == 0xA5;
    double worst = 0;
    int64_t bad = -1;
    for (int64_t row = 0; row < s->n && ok; ++row) {
      double err = fabs(y[row] - ref[row]);
      if (!(err <= 1e-4 * mag[row] + 1e-6)) {
        ok = 0;
        bad = row;
      }
      if (mag[row] > 0 && err / mag[row] > worst)
        worst = err / mag[row];
    }
    printf("[%s] %s %s [%s] %lldx%lld: status %d, max err/sum|wx| %.2e%s\n", ok ? "PASS" : "FAIL",
           var->format, var->isa, var->desc, (long long)s->n, (long long)s->k, st, worst,
           bad >= 0 ? " (row out of bound)" : (ok ? "" : " (guard bytes or status)"));
    fflush(stdout);
    if (ok)
      g_passed++;
    else
      g_failed++;
  }
  munmap(wmap, wmap_bytes);
  munmap(xmap, xmap_bytes);
  free(ref);
  free(mag);
  free(xr);
  free(ystore);
}

int main(int argc, char **argv) {
  /* --full: the real lm_head (120818 x 2048 Q8_0; natively only, too slow
   * under qemu, where 4099 rows of the real K stand in). */
  int full = argc > 1 && !strcmp(argv[1], "--full");
  static const shape_t kShapes[] = {
      /* odd: single row, row counts off every tile size, several blocks */
      {"q2_0c", 1, 512},     {"q2_0c", 7, 1024},    {"q2_0c", 37, 1536},
      {"q2_0c", 130, 512},   {"q2_0c", 255, 2560},
      /* real HY-1.8B shapes: fused qkv, o, down, fused gate+up */
      {"q2_0c", 3072, 2048}, {"q2_0c", 2048, 2048}, {"q2_0c", 2048, 6144},
      {"q2_0c", 12288, 2048},
      /* the same for int8 activations */
      {"q2_0c_a8", 1, 512},  {"q2_0c_a8", 7, 1024}, {"q2_0c_a8", 37, 1536},
      {"q2_0c_a8", 130, 512}, {"q2_0c_a8", 255, 2560},
      {"q2_0c_a8", 3072, 2048}, {"q2_0c_a8", 2048, 2048}, {"q2_0c_a8", 2048, 6144},
      {"q2_0c_a8", 12288, 2048},
      {"q8_0", 1, 32},       {"q8_0", 9, 96},       {"q8_0", 33, 160},
      {"q8_0", 131, 2048},   {"q8_0", 4099, 2048},
      /* ggml's Q2_K and TQ2_0: odd, then HY's shapes */
      {"q2_k", 1, 256},      {"q2_k", 37, 768},     {"q2_k", 2048, 2048},
      {"q2_k", 2048, 6144},
      {"tq2_0", 1, 256},     {"tq2_0", 37, 768},    {"tq2_0", 2048, 2048},
      {"tq2_0", 2048, 6144},
  };
  for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i)
    run_shape(&kShapes[i]);
  if (full) {
    shape_t lm = {"q8_0", 120818, 2048};
    run_shape(&lm);
  }
  for (size_t v = 0; v < sizeof kVariants / sizeof kVariants[0]; ++v) {
    const variant_t *var = &kVariants[v];
    if (!var->fixed_n)
      continue;
    if (isa_supported(var->isa)) {
      check_rejects_other_shapes(var);
    } else {
      printf("[SKIPPED] %s %s [%s] other shapes: this CPU lacks %s\n", var->format, var->isa,
             var->desc, var->isa);
      g_skipped++;
    }
  }
  printf("%d passed, %d failed, %d skipped\n", g_passed, g_failed, g_skipped);
  return g_failed ? 1 : 0;
}
