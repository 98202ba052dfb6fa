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
 * rounds x the same way. Format q2_0c_a8q is the same over pre-quantized
 * activations (generator gemv_q2_0c_a8q_vnni, run by hyk_gemv_run_q2_0c_a8q):
 * this program rounds x into int8 q and steps itself, written from that
 * documentation. Format gemm_q2_0c_a8q is the prefill GEMM over m such rows
 * (generator gemm_q2_0c_a8q_vnni, run by hyk_gemm_run_q2_0c_a8q), checked
 * per (row, token). A variant with fixed_n / fixed_k (generated for one
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
  int64_t m; /* activation rows (GEMM); 0 means 1 */
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
static void quantize_int8(const float *x, double *out, int8_t *q, float *steps, int64_t k) {
  for (int64_t b = 0; b < k / 512; ++b)
    for (int l = 0; l < 16; ++l) {
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i)
        amax = fmaxf(amax, fabsf(x[512 * b + 256 * (i / 16) + 16 * l + i % 16]));
      const float s = amax * (1.0f / 127), inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      steps[16 * b + l] = s;
      for (int i = 0; i < 32; ++i) {
        const int64_t e = 512 * b + 256 * (i / 16) + 16 * l + i % 16;
        q[e] = (int8_t)nearbyintf(x[e] * inv);
        out[e] = (double)q[e] * (double)s;
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
  if (!strncmp(format, "gemm_", 5))
    format += 5;
  if (!strncmp(format, "q2_0c", 5))
    return HYK_REF_Q2_0C;
  if (!strcmp(format, "q2_k"))
    return HYK_REF_Q2_K;
  if (!strcmp(format, "tq2_0"))
    return HYK_REF_TQ2_0;
  return HYK_REF_Q8_0;
}

/* xq / xs: x's int8 q and steps, read by the q2_0c_a8q variants only; m:
 * rows of x (GEMM variants; 1 for the rest). */
static int32_t run_variant(const variant_t *var, hyk_ref_format kind, const uint8_t *w, const float *x,
                           const int8_t *xq, const float *xs, float *y, int64_t n, int64_t k,
                           int64_t m) {
  if (!strcmp(var->format, "gemm_q2_0c_a8q"))
    return hyk_gemm_run_q2_0c_a8q((hyk_gemv_q_pipeline_fn)(void (*)(void))var->fn, w, xq, xs, y,
                                  n, k, m);
  if (!strcmp(var->format, "q2_0c_a8q"))
    return hyk_gemv_run_q2_0c_a8q((hyk_gemv_q_pipeline_fn)(void (*)(void))var->fn, w, xq, xs, y,
                                  n, k);
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
    const int64_t m = 2; /* a GEMM variant gets two rows; the rest ignore m */
    float *x = calloc((size_t)(k * m), sizeof(float));
    int8_t *xq = calloc((size_t)(k * m), 1);
    float *xs = calloc((size_t)(k / 32 * m) + 1, sizeof(float));
    uint8_t *ystore = malloc((size_t)(n * m) * 4 + 128);
    if (!w || !x || !xq || !xs || !ystore) {
      printf("[FAIL] %s: out of memory\n", var->desc);
      g_failed++;
      free(w), free(x), free(xq), free(xs), free(ystore);
      continue;
    }
    memset(ystore, 0xA5, (size_t)(n * m) * 4 + 128);
    g_halide_error[0] = 0;
    halide_error_handler_t old = halide_set_error_handler(record_halide_error);
    int32_t st = run_variant(var, kind, w, x, xq, xs, (float *)(ystore + 64), n, k, m);
    halide_set_error_handler(old);
    int untouched = 1;
    for (int64_t j = 0; j < n * m * 4 + 128; ++j)
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
    free(xq);
    free(xs);
    free(ystore);
  }
}

static void run_shape(const shape_t *s) {
  const hyk_ref_format kind = kind_of(s->format);
  const int a8 = strstr(s->format, "q2_0c_a8") != NULL;
  const int64_t rows = s->m > 1 ? s->m : 1, ny = s->n * rows;
  const int64_t bw = hyk_ref_block_weights(kind), bb = hyk_ref_block_bytes(kind);
  const int64_t row_bytes = s->k / bw * bb;
  void *wmap, *xmap;
  size_t wmap_bytes, xmap_bytes;
  uint8_t *w = guarded_alloc((size_t)(s->n * row_bytes), &wmap, &wmap_bytes);
  float *x = (float *)guarded_alloc((size_t)(s->k * rows) * 4, &xmap, &xmap_bytes);
  double *ref = malloc((size_t)ny * sizeof(double));
  double *mag = malloc((size_t)ny * sizeof(double));
  double *xr = malloc((size_t)(s->k * rows) * sizeof(double));
  int8_t *xq = malloc((size_t)(s->k * rows));
  float *xs = malloc((size_t)(s->k / 32 * rows) * sizeof(float) + 4);
  uint8_t *ystore = malloc((size_t)ny * 4 + 128);
  if (!w || !x || !ref || !mag || !xr || !xq || !xs || !ystore) {
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
  for (int64_t i = 0; i < s->k * rows; ++i)
    x[i] = (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  for (int64_t i = 0; i < s->k * rows; ++i)
    xr[i] = x[i];
  if (a8)
    for (int64_t t = 0; t < rows; ++t)
      quantize_int8(x + t * s->k, xr + t * s->k, xq + t * s->k, xs + t * (s->k / 32), s->k);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t row = 0; row < s->n; ++row) {
      const uint8_t *wr = w + row * row_bytes;
      const double *xt = xr + t * s->k;
      double acc = 0, m = 0;
      for (int64_t i = 0; i < s->k; ++i) {
        const double wv = hyk_ref_weight(kind, wr + (i / bw) * bb, i % bw, NULL);
        acc += wv * xt[i];
        m += fabs(wv * xt[i]);
      }
      ref[t * s->n + row] = acc;
      mag[t * s->n + row] = m;
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
    memset(ystore, 0xA5, (size_t)ny * 4 + 128);
    float *y = (float *)(ystore + 64);
    for (int64_t i = 0; i < ny; ++i)
      y[i] = NAN;
    int32_t st = run_variant(var, kind, w, x, xq, xs, y, s->n, s->k, rows);
    int ok = st == HYK_OK;
    for (int g = 0; g < 64 && ok; ++g)
      ok = ystore[g] == 0xA5 && ystore[64 + ny * 4 + g] == 0xA5;
    double worst = 0;
    int64_t bad = -1;
    for (int64_t row = 0; row < ny && ok; ++row) {
      double err = fabs(y[row] - ref[row]);
      if (!(err <= 1e-4 * mag[row] + 1e-6)) {
        ok = 0;
        bad = row;
      }
      if (mag[row] > 0 && err / mag[row] > worst)
        worst = err / mag[row];
    }
    printf("[%s] %s %s [%s] %lldx%lldx%lld: status %d, max err/sum|wx| %.2e%s\n",
           ok ? "PASS" : "FAIL", var->format, var->isa, var->desc, (long long)s->n,
           (long long)s->k, (long long)rows, st, worst,
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
  free(xq);
  free(xs);
  free(ystore);
}

int main(int argc, char **argv) {
  /* --full: the real lm_head (120818 x 2048 Q8_0; natively only, too slow
   * under qemu, where 4099 rows of the real K stand in). */
  int full = argc > 1 && !strcmp(argv[1], "--full");
  static const shape_t kShapes[] = {
      /* odd: single row, row counts off every tile size, several blocks */
      {"q2_0c", 1, 512, 1},     {"q2_0c", 7, 1024, 1},    {"q2_0c", 37, 1536, 1},
      {"q2_0c", 130, 512, 1},   {"q2_0c", 255, 2560, 1},
      /* real HY-1.8B shapes: fused qkv, o, down, fused gate+up */
      {"q2_0c", 3072, 2048, 1}, {"q2_0c", 2048, 2048, 1}, {"q2_0c", 2048, 6144, 1},
      {"q2_0c", 12288, 2048, 1},
      /* int8 activations, quantized beforehand (tuned gemv_q2_0c_a8 on avx512) */
      {"q2_0c_a8q", 1, 512, 1},  {"q2_0c_a8q", 7, 1024, 1}, {"q2_0c_a8q", 37, 1536, 1},
      {"q2_0c_a8q", 130, 512, 1}, {"q2_0c_a8q", 255, 2560, 1},
      {"q2_0c_a8q", 3072, 2048, 1}, {"q2_0c_a8q", 2048, 2048, 1}, {"q2_0c_a8q", 2048, 6144, 1},
      {"q2_0c_a8q", 12288, 2048, 1},
      /* the prefill GEMM over m rows: odd, then HY's shapes at its chunk of 32 */
      {"gemm_q2_0c_a8q", 1, 512, 1}, {"gemm_q2_0c_a8q", 7, 1024, 3},
      {"gemm_q2_0c_a8q", 130, 512, 5}, {"gemm_q2_0c_a8q", 255, 2560, 32},
      {"gemm_q2_0c_a8q", 3072, 2048, 32}, {"gemm_q2_0c_a8q", 2048, 6144, 32},
      {"q8_0", 1, 32, 1},       {"q8_0", 9, 96, 1},       {"q8_0", 33, 160, 1},
      {"q8_0", 131, 2048, 1},   {"q8_0", 4099, 2048, 1},
      /* ggml's Q2_K and TQ2_0: odd, then HY's shapes */
      {"q2_k", 1, 256, 1},      {"q2_k", 37, 768, 1},     {"q2_k", 2048, 2048, 1},
      {"q2_k", 2048, 6144, 1},
      {"tq2_0", 1, 256, 1},     {"tq2_0", 37, 768, 1},    {"tq2_0", 2048, 2048, 1},
      {"tq2_0", 2048, 6144, 1},
  };
  for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; ++i)
    run_shape(&kShapes[i]);
  if (full) {
    shape_t lm = {"q8_0", 120818, 2048, 1};
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
