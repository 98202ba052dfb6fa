/* NeonGemvTest.c - the AArch64 NEON GEMV kernels (hyk_gemv_{q2_0c,q8_0}_neon)
 * against a scalar reference written from the format definitions, and the
 * attention kernels (hyk_attention_neon[_f16|_q8_0]) against a float64 reference.
 * Built with -DHYK_TEST_SME2 (and linked with libhyk_sme2.a) it tests the SME2
 * Q2_0C kernels instead: hyk_gemv_q2_0c_sme2 on the same cases, and
 * hyk_gemm_q2_0c_sme2 on several activation rows (each row held to the GEMV
 * bound); ctest runs that build at two streaming vector lengths.
 *
 * Plain C (the GoogleTest libraries here are x86): cross-compiled for
 * aarch64-linux-gnu and run under qemu-aarch64 -cpu max by ctest. Prints one
 * line per case and ends with "N passed, N failed"; exits 1 on any failure.
 *
 * Accuracy bound, per output row n. The kernels (gemv_*_i8dot, built with
 * digits = 3) quantize each activation block b (512 weights for Q2_0C, 32 for
 * Q8_0) to 24-bit integers with step sx_b = max|x_b| / 8e6, multiply them on
 * exact int8 dot products and combine in float, so
 *   |y[n] - ref[n]| <= 1.01 * sum_i |W[n,i]| sx_b(i) + 1e-5 * sum_i |W[n,i] x_i|
 *                      + 1e-6
 * (half a step per activation, plus up to half a step more from the float32
 * rounding of x / sx_b near 8e6; the second term covers float32 rounding of
 * the digit combination and of the accumulation over blocks). ref is
 * accumulated in double. The test also reports the largest error relative to
 * sum |W x| over all rows of a case (~1e-6 when this was written).
 *
 * Memory discipline as in the x86 tests: w and x end right before a
 * PROT_NONE page (a read past their end faults), y sits between 64-byte
 * sentinel zones and starts as NaN (an unwritten row fails). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hyk/block_reference.h"
#include "hyk/kernels.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif

/* Largest |q| of the kernels' activation integers (I8DotActivations::qmax
 * for digits = 3, schedules/gemv/I8DotActivations.h). */
static const double kQMax = 8000000.0;

typedef int32_t (*gemv_fn)(const uint8_t *, const float *, float *, int64_t,
                           int64_t);

typedef int32_t (*gemm_fn)(const uint8_t *, const float *, float *, int64_t,
                           int64_t, int64_t);

typedef struct {
  const char *name;
  gemv_fn fn;
  gemm_fn gemm; /* several activation rows; NULL: none */
  int64_t block_weights, block_bytes;
  int32_t not_blocked;
  /* ggml's 2-bit formats (float kernels): 'K' Q2_K, 'T' TQ2_0; 0 for Q2_0C
   * and Q8_0 (told apart by the block size). */
  char k2;
} format_t;

#ifdef HYK_TEST_SME2
static const format_t kQ2_0C = {"q2_0c_sme2", hyk_gemv_q2_0c_sme2, hyk_gemm_q2_0c_sme2,
                                HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                                HYK_ERR_K_NOT_BLOCKED, 0};
#else
/* The GEMM through its HWCAP dispatcher, and each of its two kernels. */
static const format_t kQ2_0C = {"q2_0c", hyk_gemv_q2_0c_neon, hyk_gemm_q2_0c_neon,
                                HYK_Q2_0C_BLOCK_WEIGHTS, HYK_Q2_0C_BLOCK_BYTES,
                                HYK_ERR_K_NOT_BLOCKED, 0};
static const format_t kQ2_0CI8mm = {"q2_0c_i8mm", hyk_gemv_q2_0c_neon,
                                    hyk_gemm_q2_0c_neon_i8mm, HYK_Q2_0C_BLOCK_WEIGHTS,
                                    HYK_Q2_0C_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED, 0};
static const format_t kQ2_0CDotprod = {"q2_0c_dotprod", hyk_gemv_q2_0c_neon,
                                       hyk_gemm_q2_0c_neon_dotprod, HYK_Q2_0C_BLOCK_WEIGHTS,
                                       HYK_Q2_0C_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED, 0};
#endif
#ifdef HYK_TEST_SME2
/* The sme2 ISA's names of the neon Q8_0 and attention kernels. */
#define HYK_Q8_0_GEMV hyk_gemv_q8_0_sme2
#define HYK_ATTENTION hyk_attention_sme2
#define HYK_ATTENTION_F16 hyk_attention_sme2_f16
#define HYK_ATTENTION_Q8_0 hyk_attention_sme2_q8_0
#else
#define HYK_Q8_0_GEMV hyk_gemv_q8_0_neon
#define HYK_ATTENTION hyk_attention_neon
#define HYK_ATTENTION_F16 hyk_attention_neon_f16
#define HYK_ATTENTION_Q8_0 hyk_attention_neon_q8_0
#endif
static const format_t kQ8_0 = {"q8_0", HYK_Q8_0_GEMV, NULL,
                               HYK_Q8_0_BLOCK_WEIGHTS, HYK_Q8_0_BLOCK_BYTES,
                               HYK_ERR_K_NOT_BLOCKED_Q8_0, 0};
#ifdef HYK_TEST_SME2
static const format_t kQ2_K = {"q2_k_sme2", hyk_gemv_q2_k_sme2, NULL, HYK_K2_BLOCK_WEIGHTS,
                               HYK_Q2_K_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256, 'K'};
static const format_t kTQ2_0 = {"tq2_0_sme2", hyk_gemv_tq2_0_sme2, NULL, HYK_K2_BLOCK_WEIGHTS,
                                HYK_TQ2_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256, 'T'};
#else
static const format_t kQ2_K = {"q2_k", hyk_gemv_q2_k_neon, NULL, HYK_K2_BLOCK_WEIGHTS,
                               HYK_Q2_K_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256, 'K'};
static const format_t kTQ2_0 = {"tq2_0", hyk_gemv_tq2_0_neon, NULL, HYK_K2_BLOCK_WEIGHTS,
                                HYK_TQ2_0_BLOCK_BYTES, HYK_ERR_K_NOT_BLOCKED_256, 'T'};
#endif

static int g_passed, g_failed;

static void report(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", ok ? "[PASS]" : "[FAIL]");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  if (ok)
    g_passed++;
  else
    g_failed++;
}

/* ---- deterministic random numbers (xorshift64*) ------------------------- */
static uint64_t g_rng;
static uint32_t rnd(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_uniform(void) { /* [-1, 1) */
  return (float)((double)rnd() / 2147483648.0 - 1.0);
}

/* IEEE 754 binary16 -> double, from the format definition. */
/* ---- guarded memory ------------------------------------------------------ */
typedef struct {
  uint8_t *map, *data;
  size_t map_bytes;
} guarded_t;

/* Exactly `bytes` bytes ending right before a PROT_NONE page. */
static int guarded_alloc(guarded_t *g, size_t bytes) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t data_pages = (bytes + page - 1) / page;
  g->map_bytes = (data_pages + 1) * page;
  void *p = mmap(NULL, g->map_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 0;
  g->map = (uint8_t *)p;
  if (mprotect(g->map + data_pages * page, page, PROT_NONE) != 0) {
    munmap(g->map, g->map_bytes);
    return 0;
  }
  g->data = g->map + data_pages * page - bytes;
  return 1;
}
static void guarded_free(guarded_t *g) { munmap(g->map, g->map_bytes); }

enum { kGuardBytes = 64, kSentinel = 0xA5 };

/* y[0..n) between two sentinel zones, filled with NaN. */
static uint8_t *output_alloc(int64_t n) {
  uint8_t *s = (uint8_t *)malloc(2 * kGuardBytes + (size_t)n * sizeof(float));
  memset(s, kSentinel, 2 * kGuardBytes + (size_t)n * sizeof(float));
  const float nan = NAN;
  for (int64_t i = 0; i < n; ++i)
    memcpy(s + kGuardBytes + i * sizeof(float), &nan, sizeof(float));
  return s;
}
static float *output_y(uint8_t *s) { return (float *)(s + kGuardBytes); }
static int output_guards_intact(const uint8_t *s, int64_t n) {
  const size_t tail = kGuardBytes + (size_t)n * sizeof(float);
  for (size_t i = 0; i < kGuardBytes; ++i)
    if (s[i] != kSentinel || s[tail + i] != kSentinel)
      return 0;
  return 1;
}

/* ---- problems ------------------------------------------------------------- */
/* A random fp16 scale: normal halves in [2^-14, 2^4) of either sign, with
 * a few zeros and subnormals. */
static uint16_t random_scale(void) {
  uint16_t h;
  const uint32_t kind = rnd() % 64;
  if (kind == 0)
    h = 0;
  else if (kind == 1)
    h = (uint16_t)(1 + rnd() % 0x3ff);
  else
    h = (uint16_t)(((1 + rnd() % 19) << 10) | (rnd() & 0x3ff));
  if (rnd() & 1)
    h |= 0x8000;
  return h;
}

/* Activations with the shapes the kernels must handle: mostly uniform, some
 * blocks all zero, some with one large outlier, some tiny. */
static void fill_x(float *x, int64_t k, int64_t block) {
  for (int64_t b = 0; b < k / block; ++b) {
    const uint32_t kind = rnd() % 8;
    float *xb = x + b * block;
    for (int64_t i = 0; i < block; ++i)
      xb[i] = kind == 0 ? 0.0f : kind == 1 ? 1e-6f * rnd_uniform()
                                            : rnd_uniform();
    if (kind == 2)
      xb[rnd() % block] = 50.0f * (rnd() & 1 ? 1.0f : -1.0f);
  }
}

/* Weight (row n, index i) of a row, from the definitions
 * (hyk/block_reference.h); *mag the magnitude a float kernel's rounding
 * scales with. */
static double weight_at(const format_t *f, const uint8_t *row, int64_t i, double *mag) {
  const hyk_ref_format ref = f->k2 == 'K'                                  ? HYK_REF_Q2_K
                             : f->k2 == 'T'                                ? HYK_REF_TQ2_0
                             : f->block_weights == HYK_Q2_0C_BLOCK_WEIGHTS ? HYK_REF_Q2_0C
                                                                           : HYK_REF_Q8_0;
  return hyk_ref_weight(ref, row + (i / f->block_weights) * f->block_bytes,
                        i % f->block_weights, mag);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* y = W x for m activation rows (m = 1: the GEMV entry point, else the
 * format's GEMM), each row against the scalar reference. */
static void run_case_rows(const format_t *f, int64_t n, int64_t k, int64_t m) {
  g_rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(n * 7919 + k * 31 + m * 104729) ^
          (f->block_weights == HYK_Q2_0C_BLOCK_WEIGHTS ? 1u : 2u) ^ (uint64_t)f->k2;
  const int64_t nblocks = k / f->block_weights;
  const int64_t row_bytes = nblocks * f->block_bytes;
  guarded_t w, x;
  if (!guarded_alloc(&w, (size_t)(n * row_bytes)) ||
      !guarded_alloc(&x, (size_t)(k * m) * sizeof(float))) {
    report(0, "%s n=%lld k=%lld m=%lld: guarded allocation failed", f->name,
           (long long)n, (long long)k, (long long)m);
    return;
  }
  /* Random codes (and Q2_K sub-block scales); random fp16 scales where the
   * format keeps them: byte 0 (Q2_0C, Q8_0), 64 (TQ2_0), 80 and 82 (Q2_K). */
  for (int64_t r = 0; r < n * nblocks; ++r) {
    uint8_t *block = w.data + r * f->block_bytes;
    for (int64_t i = 0; i < f->block_bytes; ++i)
      block[i] = (uint8_t)rnd();
    const int at[2] = {f->k2 == 'K' ? 80 : f->k2 == 'T' ? 64 : 0, f->k2 == 'K' ? 82 : -1};
    for (int s = 0; s < 2; ++s)
      if (at[s] >= 0) {
        const uint16_t h = random_scale();
        block[at[s]] = (uint8_t)(h & 0xff);
        block[at[s] + 1] = (uint8_t)(h >> 8);
      }
  }
  float *xall = (float *)x.data;
  fill_x(xall, k * m, f->block_weights == HYK_Q2_0C_BLOCK_WEIGHTS ? 512
                     : f->k2                                      ? 256
                                                                  : 32);

  uint8_t *out = output_alloc(n * m);
  const double t0 = now_seconds();
  const int32_t status = m == 1 ? f->fn(w.data, xall, output_y(out), n, k)
                                : f->gemm(w.data, xall, output_y(out), n, k, m);
  const double seconds = now_seconds() - t0;
  const int guards = output_guards_intact(out, n * m);

  /* Activation steps per quantization block (the kernels' sx_b; none for
   * the float Q2_K / TQ2_0 kernels). */
  const int64_t qblock = f->block_weights == HYK_Q2_0C_BLOCK_WEIGHTS ? 512 : 32;
  const int64_t nq = k / qblock;
  double *step = (double *)malloc((size_t)(m * nq) * sizeof(double));
  double *wrow = (double *)malloc((size_t)k * sizeof(double));
  double *wmag = (double *)malloc((size_t)k * sizeof(double));
  for (int64_t mr = 0; mr < m; ++mr)
    for (int64_t b = 0; b < nq; ++b) {
      double amax = 0.0;
      for (int64_t i = 0; i < qblock; ++i)
        amax = fmax(amax, fabs((double)xall[mr * k + b * qblock + i]));
      step[mr * nq + b] = f->k2 ? 0.0 : amax / kQMax;
    }
  int64_t bad = 0, first_bad = -1;
  double worst_rel = 0.0, first_got = 0.0, first_want = 0.0, first_bound = 0.0;
  /* Each weight row decoded once, then against every activation row. */
  for (int64_t r = 0; r < n && status == HYK_OK; ++r) {
    const uint8_t *row = w.data + r * row_bytes;
    for (int64_t i = 0; i < k; ++i)
      wrow[i] = weight_at(f, row, i, &wmag[i]);
    for (int64_t mr = 0; mr < m; ++mr) {
      const float *xs = xall + mr * k;
      const double *sx = step + mr * nq;
      double acc = 0.0, mag = 0.0, quant = 0.0, mag2 = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        const double wi = wrow[i];
        acc += wi * xs[i];
        mag += fabs(wi * xs[i]);
        mag2 += wmag[i] * fabs(xs[i]);
        quant += fabs(wi) * sx[i / qblock];
      }
      float gotf;
      memcpy(&gotf, output_y(out) + mr * n + r, sizeof(float));
      const double got = gotf, err = fabs(got - acc);
      /* Float32 sums (K2: over 32 lanes, k / 32 terms each, of products whose
       * rounding scales with mag2) or the integer kernels' quantization. */
      const double bound = f->k2 ? ((double)k / 8 + 64) * 0x1p-24 * mag2 + 1e-30
                                 : 1.01 * quant + 1e-5 * mag + 1e-6;
      if (mag > 0.0 && err / mag > worst_rel)
        worst_rel = err / mag;
      if (!(err <= bound)) { /* also NaN: row not written */
        if (bad++ == 0) {
          first_bad = mr * n + r;
          first_got = got;
          first_want = acc;
          first_bound = bound;
        }
      }
    }
  }
  free(wrow);
  free(wmag);
  free(step);
  const int ok = status == HYK_OK && guards && bad == 0;
  if (ok)
    report(1, "%s n=%lld k=%lld m=%lld: max |err|/sum|Wx| %.2e (%.3f s)", f->name,
           (long long)n, (long long)k, (long long)m, worst_rel, seconds);
  else if (status != HYK_OK)
    report(0, "%s n=%lld k=%lld m=%lld: status %d (%s)", f->name, (long long)n,
           (long long)k, (long long)m, status, hyk_status_message(status));
  else
    report(0,
           "%s n=%lld k=%lld m=%lld: %lld outputs out of bounds (first: y[%lld] got "
           "%.9g want %.9g bound %.3g)%s",
           f->name, (long long)n, (long long)k, (long long)m, (long long)bad,
           (long long)first_bad, first_got, first_want, first_bound,
           guards ? "" : "; bytes around y were modified");
  free(out);
  guarded_free(&w);
  guarded_free(&x);
}

static void run_case(const format_t *f, int64_t n, int64_t k) {
  run_case_rows(f, n, k, 1);
}

/* Every argument error returns its status before touching y. */
static void run_errors(const format_t *f) {
  const int64_t n = 4, k = 4 * f->block_weights;
  uint8_t *w = (uint8_t *)calloc((size_t)(n * (k / f->block_weights) *
                                          f->block_bytes), 1);
  float *x = (float *)malloc((size_t)k * sizeof(float));
  for (int64_t i = 0; i < k; ++i)
    x[i] = 1.0f;
  uint8_t *out = output_alloc(n);
  float *y = output_y(out);
  struct {
    const char *what;
    int32_t got, want;
  } c[] = {
      {"k not blocked", f->fn(w, x, y, n, k + f->block_weights / 2),
       f->not_blocked},
      {"null w", f->fn(NULL, x, y, n, k), HYK_ERR_NULL_POINTER},
      {"null x", f->fn(w, NULL, y, n, k), HYK_ERR_NULL_POINTER},
      {"null y", f->fn(w, x, NULL, n, k), HYK_ERR_NULL_POINTER},
      {"n = 0", f->fn(w, x, y, 0, k), HYK_ERR_BAD_SHAPE},
      {"n < 0", f->fn(w, x, y, -1, k), HYK_ERR_BAD_SHAPE},
      {"k = 0", f->fn(w, x, y, n, 0), HYK_ERR_BAD_SHAPE},
      {"k < 0", f->fn(w, x, y, n, -f->block_weights), HYK_ERR_BAD_SHAPE},
      {"n >= 2^31", f->fn(w, x, y, (int64_t)1 << 31, k), HYK_ERR_TOO_LARGE},
      {"k huge", f->fn(w, x, y, 1, (int64_t)1 << 40), HYK_ERR_TOO_LARGE},
      {"w > 2^31 bytes", f->fn(w, x, y, 20000000, 2048 * 16),
       HYK_ERR_TOO_LARGE},
  };
  int bad = 0;
  char first[160] = "";
  for (size_t i = 0; i < sizeof c / sizeof c[0]; ++i)
    if (c[i].got != c[i].want && bad++ == 0)
      snprintf(first, sizeof first, " (first: %s gave %d, want %d)", c[i].what,
               c[i].got, c[i].want);
  int untouched = output_guards_intact(out, n);
  for (int64_t i = 0; i < n; ++i)
    untouched = untouched && isnan(y[i]);
  report(bad == 0 && untouched, "%s argument errors: %d of %zu statuses wrong%s%s",
         f->name, bad, sizeof c / sizeof c[0], first,
         untouched ? "" : "; y or its guards were written");
  free(out);
  free(x);
  free(w);
}

/* ---- attention -------------------------------------------------------------
 * hyk_attention_neon against a float64 reference written from kernels.h's
 * contract, with the bound AttentionTest.cpp derives for float32 math:
 * 2 (4 (D + 16) 2^-24 S + 2 (T + 32) 2^-24) max|v| per element, S the largest
 * sum_i |q_i k_ti| / sqrt(D). q and the caches end at a PROT_NONE page. */
/* Writes vals[0..n) (n % 32 == 0) as Q8_0 blocks (float16 step max|x| / 127,
 * then round(x / step) as int8) and replaces each value by d q, what the
 * kernel reads back. */
static void quantize_q8_0(float *vals, int64_t n, uint8_t *out) {
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i)
      amax = fmaxf(amax, fabsf(vals[32 * b + i]));
    const float d = amax / 127.0f;
    const _Float16 dh = (_Float16)d;
    memcpy(out + 34 * b, &dh, 2);
    for (int i = 0; i < 32; ++i) {
      const float qf = d == 0.0f ? 0.0f : roundf(vals[32 * b + i] / d);
      const int8_t q8 = (int8_t)fmaxf(-127.0f, fminf(127.0f, qf));
      memcpy(out + 34 * b + 2 + i, &q8, 1);
      vals[32 * b + i] = (float)dh * q8;
    }
  }
}

/* cache: 0 float32, 1 float16, 2 Q8_0 (head_dim % 32 == 0; else the kernel
 * must refuse the shape without writing). */
static void run_attention(int64_t heads, int64_t kvh, int64_t d, int64_t tokens,
                          int64_t pos0, int cache) {
  const int64_t qdim = heads * d, kvdim = kvh * d, rows = pos0 + tokens;
  const int f16 = cache == 1, q8 = cache == 2;
  if (q8 && d % 32 != 0) {
    float one = 1.0f;
    uint8_t blocks[34] = {0};
    uint8_t *o = output_alloc(1);
    report(HYK_ATTENTION_Q8_0(&one, blocks, blocks, output_y(o), 1, 0, 1, 1, d) ==
                   HYK_ERR_BAD_SHAPE && isnan(output_y(o)[0]),
           "attention (q8_0 cache) rejects head_dim %lld (not a multiple of 32) without "
           "writing", (long long)d);
    free(o);
    return;
  }
  const size_t cache_bytes = q8 ? (size_t)(rows * kvdim / 32 * 34)
                                : (size_t)(rows * kvdim) * (f16 ? 2 : 4);
  guarded_t q, k, v;
  /* The caches' values as float (rounded to float16 first for the _f16
   * kernel): what the reference reads. */
  float *kf = (float *)malloc((size_t)(rows * kvdim) * 4);
  float *vf = (float *)malloc((size_t)(rows * kvdim) * 4);
  if (!kf || !vf || !guarded_alloc(&q, (size_t)(tokens * qdim) * 4) ||
      !guarded_alloc(&k, cache_bytes) || !guarded_alloc(&v, cache_bytes)) {
    report(0, "attention h%lld: out of memory", (long long)heads);
    return;
  }
  float *qf = (float *)q.data;
  for (int64_t i = 0; i < tokens * qdim; ++i)
    qf[i] = 2.0f * rnd_uniform();
  for (int64_t i = 0; i < rows * kvdim; ++i) {
    kf[i] = 2.0f * rnd_uniform(), vf[i] = 2.0f * rnd_uniform();
    if (f16) {
      /* Round to nearest even (the conversion _Float16 does). */
      _Float16 kh = (_Float16)kf[i], vh = (_Float16)vf[i];
      memcpy(k.data + 2 * i, &kh, 2), memcpy(v.data + 2 * i, &vh, 2);
      kf[i] = (float)kh, vf[i] = (float)vh;
    } else if (!q8) {
      memcpy(k.data + 4 * i, &kf[i], 4), memcpy(v.data + 4 * i, &vf[i], 4);
    }
  }
  if (q8) {
    quantize_q8_0(kf, rows * kvdim, k.data);
    quantize_q8_0(vf, rows * kvdim, v.data);
  }
  uint8_t *o = output_alloc(tokens * qdim);
  const int32_t st =
      q8 ? HYK_ATTENTION_Q8_0(qf, k.data, v.data, output_y(o), tokens, pos0, heads, kvh, d)
      : f16 ? HYK_ATTENTION_F16(qf, (const uint16_t *)k.data,
                                   (const uint16_t *)v.data, output_y(o), tokens,
                                   pos0, heads, kvh, d)
          : HYK_ATTENTION(qf, (const float *)k.data, (const float *)v.data,
                               output_y(o), tokens, pos0, heads, kvh, d);
  const double eps = ldexp(1.0, -24);
  double *sc = (double *)malloc((size_t)rows * sizeof(double));
  int64_t bad = 0;
  double worst = 0.0;
  for (int64_t r = 0; r < tokens && st == HYK_OK; ++r) {
    const int64_t n = pos0 + r + 1;
    for (int64_t h = 0; h < heads; ++h) {
      const float *qh = qf + r * qdim + h * d;
      const int64_t kvo = (h / (heads / kvh)) * d;
      double smax = -INFINITY, sabs = 0.0, vmax = 0.0, sum = 0.0;
      for (int64_t t = 0; t < n; ++t) {
        double dot = 0.0, dabs = 0.0;
        for (int64_t i = 0; i < d; ++i) {
          dot += (double)qh[i] * kf[t * kvdim + kvo + i];
          dabs += fabs((double)qh[i] * kf[t * kvdim + kvo + i]);
          vmax = fmax(vmax, fabs((double)vf[t * kvdim + kvo + i]));
        }
        sc[t] = dot / sqrt((double)d);
        smax = fmax(smax, sc[t]);
        sabs = fmax(sabs, dabs / sqrt((double)d));
      }
      for (int64_t t = 0; t < n; ++t)
        sum += (sc[t] = exp(sc[t] - smax));
      const double bound =
          2.0 * (4.0 * (double)(d + 16) * eps * sabs + 2.0 * (double)(n + 32) * eps) * vmax;
      for (int64_t i = 0; i < d; ++i) {
        double acc = 0.0;
        for (int64_t t = 0; t < n; ++t)
          acc += sc[t] * vf[t * kvdim + kvo + i];
        const double err = fabs(output_y(o)[r * qdim + h * d + i] - acc / sum);
        worst = fmax(worst, err / bound);
        if (!(err <= bound))
          bad++;
      }
    }
  }
  report(st == HYK_OK && bad == 0 && output_guards_intact(o, tokens * qdim),
         "attention%s heads %lld kv %lld d %lld tokens %lld pos0 %lld: status %d, "
         "%lld outside the bound, worst error/bound %.3f",
         f16 ? " (f16 cache)" : q8 ? " (q8_0 cache)" : "", (long long)heads, (long long)kvh, (long long)d, (long long)tokens,
         (long long)pos0, st, (long long)bad, worst);
  free(sc);
  free(o);
  free(kf), free(vf);
  guarded_free(&q), guarded_free(&k), guarded_free(&v);
}

/* The GEMM's argument errors: statuses, and y untouched. */
static void run_gemm_errors(const format_t *f) {
  const int64_t n = 4, k = 1024, m = 3;
  uint8_t *w = (uint8_t *)calloc((size_t)(n * 2 * f->block_bytes), 1);
  float *x = (float *)calloc((size_t)(k * m), sizeof(float));
  uint8_t *out = output_alloc(n * m);
  float *y = output_y(out);
  struct {
    const char *what;
    int32_t got, want;
  } c[] = {
      {"k not blocked", f->gemm(w, x, y, n, k + 256, m), f->not_blocked},
      {"null w", f->gemm(NULL, x, y, n, k, m), HYK_ERR_NULL_POINTER},
      {"null x", f->gemm(w, NULL, y, n, k, m), HYK_ERR_NULL_POINTER},
      {"null y", f->gemm(w, x, NULL, n, k, m), HYK_ERR_NULL_POINTER},
      {"m = 0", f->gemm(w, x, y, n, k, 0), HYK_ERR_BAD_SHAPE},
      {"m < 0", f->gemm(w, x, y, n, k, -2), HYK_ERR_BAD_SHAPE},
      {"n = 0", f->gemm(w, x, y, 0, k, m), HYK_ERR_BAD_SHAPE},
      {"m * k >= 2^31", f->gemm(w, x, y, n, k, (int64_t)1 << 21), HYK_ERR_TOO_LARGE},
  };
  int bad = 0;
  char first[160] = "";
  for (size_t i = 0; i < sizeof c / sizeof c[0]; ++i)
    if (c[i].got != c[i].want && bad++ == 0)
      snprintf(first, sizeof first, " (first: %s gave %d, want %d)", c[i].what,
               c[i].got, c[i].want);
  int untouched = output_guards_intact(out, n * m);
  for (int64_t i = 0; i < n * m; ++i)
    untouched = untouched && isnan(y[i]);
  report(bad == 0 && untouched, "%s gemm argument errors: %d of %zu statuses wrong%s%s",
         f->name, bad, sizeof c / sizeof c[0], first,
         untouched ? "" : "; y or its guards were written");
  free(out);
  free(x);
  free(w);
}

/* ---- rms_norm, rope, swiglu ----------------------------------------------------
 * hyk_{rms_norm,rope,swiglu}_<isa> against float64 references from
 * hyk/kernels.h, out of place (guards around y) and in place (y == x); the
 * bounds are PointwiseTest.cpp's. */
#ifdef HYK_TEST_SME2
#define HYK_RMS_NORM hyk_rms_norm_sme2
#define HYK_ROPE hyk_rope_sme2
#define HYK_SWIGLU hyk_swiglu_sme2
#define HYK_PW_ISA "sme2"
#else
#define HYK_RMS_NORM hyk_rms_norm_neon
#define HYK_ROPE hyk_rope_neon
#define HYK_SWIGLU hyk_swiglu_neon
#define HYK_PW_ISA "neon"
#endif

/* which: 0 rms_norm (a groups of b), 1 rope (a heads of b at pos, base),
 * 2 swiglu (a elements). */
static void run_pointwise(int which, int64_t a, int64_t b, int64_t pos, double base) {
  static const char *names[] = {"rms_norm", "rope", "swiglu"};
  const int64_t n = which == 2 ? a : a * b;
  float *x = (float *)malloc((size_t)n * sizeof(float));
  float *u = (float *)malloc((size_t)n * sizeof(float));
  double *want = (double *)malloc((size_t)n * sizeof(double));
  double *mag = (double *)malloc((size_t)n * sizeof(double));
  g_rng = 0x51ED27ull ^ (uint64_t)(n * 131 + which);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = (which == 2 ? 12.0f : 1.0f) * rnd_uniform();
    u[i] = 2.0f * rnd_uniform();
  }
  double rel = 0.0;
  if (which == 0) {
    const float eps = 1e-5f;
    for (int64_t grp = 0; grp < a; ++grp) {
      double ss = 0.0;
      for (int64_t i = 0; i < b; ++i)
        ss += (double)x[grp * b + i] * x[grp * b + i];
      const double inv = 1.0 / sqrt(ss / (double)b + eps);
      for (int64_t i = 0; i < b; ++i) {
        want[grp * b + i] = x[grp * b + i] * inv * u[i];
        mag[grp * b + i] = fabs(want[grp * b + i]);
      }
    }
    rel = ((double)b / 8 + 16) * 0x1p-24;
  } else if (which == 1) {
    const int64_t half = b / 2;
    for (int64_t i = 0; i < half; ++i) {
      const double ang = (double)pos * pow(base, (double)i * -2.0 / (double)b);
      const double cs = (float)cos(ang), sn = (float)sin(ang);
      for (int64_t h = 0; h < a; ++h) {
        const double x0 = x[h * b + i], x1 = x[h * b + half + i];
        want[h * b + i] = x0 * cs - x1 * sn;
        want[h * b + half + i] = x1 * cs + x0 * sn;
        mag[h * b + i] = mag[h * b + half + i] = fabs(x0) + fabs(x1);
      }
    }
    rel = 4 * 0x1p-24;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      want[i] = x[i] / (1.0 + exp(-(double)x[i])) * u[i];
      mag[i] = fabs(want[i]);
    }
    rel = 64 * 0x1p-24;
  }
  uint8_t *out = output_alloc(n);
  float *y = output_y(out);
  const int32_t status = which == 0   ? HYK_RMS_NORM(x, u, y, a, b, 1e-5f)
                         : which == 1 ? HYK_ROPE(x, y, a, b, pos, base)
                                      : HYK_SWIGLU(x, u, y, n);
  int64_t bad = 0;
  for (int64_t i = 0; status == HYK_OK && i < n; ++i)
    if (!(fabs(y[i] - want[i]) <= rel * mag[i] + 1e-30))
      ++bad;
  /* In place: the same floats. */
  const int32_t status2 = which == 0   ? HYK_RMS_NORM(x, u, x, a, b, 1e-5f)
                          : which == 1 ? HYK_ROPE(x, x, a, b, pos, base)
                                       : HYK_SWIGLU(x, u, x, n);
  int64_t differ = 0;
  for (int64_t i = 0; status2 == HYK_OK && i < n; ++i)
    differ += memcmp(&x[i], &y[i], sizeof(float)) != 0;
  const int guards = output_guards_intact(out, n);
  report(status == HYK_OK && status2 == HYK_OK && bad == 0 && differ == 0 && guards,
         "%s_%s %lld x %lld pos %lld: status %d/%d, %lld out of bounds, %lld differ in "
         "place%s",
         names[which], HYK_PW_ISA, (long long)a, (long long)b, (long long)pos, status,
         status2, (long long)bad, (long long)differ, guards ? "" : ", guards hit");
  free(out);
  free(mag);
  free(want);
  free(u);
  free(x);
}

static void run_pointwise_all(void) {
  static const int64_t norms[][2] = {{1, 2048}, {16, 128}, {3, 7}, {5, 33}};
  for (size_t i = 0; i < sizeof norms / sizeof norms[0]; ++i)
    run_pointwise(0, norms[i][0], norms[i][1], 0, 0.0);
  run_pointwise(1, 16, 128, 4095, 1.1e6);
  run_pointwise(1, 8, 64, 300, 1e4);
  run_pointwise(1, 3, 6, 2, 1e4);
  run_pointwise(2, 6144, 0, 0, 0.0);
  run_pointwise(2, 31, 0, 0, 0.0);
  float one = 1.0f;
  uint8_t *o = output_alloc(1);
  report(HYK_ROPE(&one, output_y(o), 1, 3, 0, 1e4) == HYK_ERR_BAD_SHAPE &&
             HYK_RMS_NORM(&one, &one, output_y(o), 0, 1, 1e-5f) == HYK_ERR_BAD_SHAPE &&
             HYK_SWIGLU(&one, NULL, output_y(o), 1) == HYK_ERR_NULL_POINTER &&
             isnan(output_y(o)[0]),
         "pointwise (%s) argument errors return their status without writing", HYK_PW_ISA);
  free(o);
}

#ifdef HYK_TEST_SME2
#include <sys/prctl.h>
#ifndef HWCAP2_SME2
#define HWCAP2_SME2 (1UL << 37)
#endif
#ifndef PR_SME_GET_VL
#define PR_SME_GET_VL 64
#endif

int main(void) {
  /* Without SME2 the kernels would die of SIGILL: say why instead. */
  const int sme2 = (getauxval(AT_HWCAP2) & HWCAP2_SME2) != 0;
  report(sme2, "CPU reports sme2 (HWCAP2), needed by the sme2 kernels");
  if (sme2) {
    printf("streaming vector length: %d bytes\n", prctl(PR_SME_GET_VL) & 0xffff);
    static const int64_t ns[] = {1, 3, 7, 8, 9, 17, 63, 65, 257};
    static const int64_t k_q2[] = {512, 1024, 2560};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; ++i)
      for (size_t j = 0; j < 3; ++j)
        run_case(&kQ2_0C, ns[i], k_q2[j]);
    /* Several activation rows: partial tiles on both sides (tile heights are
     * 4 to 64 rows), and prefill chunks of the real shapes. */
    static const int64_t ms[] = {2, 5, 16, 17, 33};
    static const int64_t gn[] = {1, 7, 16, 65};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
      for (size_t j = 0; j < sizeof gn / sizeof gn[0]; ++j)
        run_case_rows(&kQ2_0C, gn[j], 1024, ms[i]);
    /* HY-1.8B projection shapes (n, k) and the tiny test model's: decode,
     * and a prefill chunk of m rows (few for the big shapes: the float64
     * reference runs under emulation too). */
    static const int64_t real_q2[][3] = {
        {2048, 2048, 5}, {3072, 2048, 3}, {2048, 6144, 2}, {768, 512, 16}};
    for (size_t i = 0; i < sizeof real_q2 / sizeof real_q2[0]; ++i) {
      run_case(&kQ2_0C, real_q2[i][0], real_q2[i][1]);
      run_case_rows(&kQ2_0C, real_q2[i][0], real_q2[i][1], real_q2[i][2]);
    }
    run_errors(&kQ2_0C);
    run_gemm_errors(&kQ2_0C);
    /* The neon kernels under their sme2 names (EntryPointsSme2.c). */
    run_case(&kQ8_0, 257, 2080);
    run_case(&kQ2_K, 65, 768);
    run_case(&kTQ2_0, 65, 768);
    for (int cache = 0; cache <= 2; ++cache) {
      run_attention(16, 4, 128, 1, 700, cache);
      run_attention(8, 2, 64, 32, 0, cache);
    }    run_pointwise_all();
  }
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
#else
int main(void) {
  /* Without dotprod the kernels would die of SIGILL: say why instead. */
  const int dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  report(dotprod, "CPU reports asimddp (sdot), needed by the neon kernels");
  if (dotprod) {
    static const int64_t ns[] = {1, 3, 7, 8, 9, 17, 63, 65, 257, 1000};
    static const int64_t k_q2[] = {512, 1024, 1536, 2560};
    static const int64_t k_q8[] = {32, 96, 512, 2080};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; ++i)
      for (size_t j = 0; j < 4; ++j)
        run_case(&kQ2_0C, ns[i], k_q2[j]);
    /* HY-1.8B projection shapes (n, k), and the tiny test model's. */
    static const int64_t real_q2[][2] = {
        {2048, 2048}, {512, 2048}, {6144, 2048}, {2048, 6144}, {768, 512}};
    for (size_t i = 0; i < sizeof real_q2 / sizeof real_q2[0]; ++i)
      run_case(&kQ2_0C, real_q2[i][0], real_q2[i][1]);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; ++i)
      for (size_t j = 0; j < 4; ++j)
        run_case(&kQ8_0, ns[i], k_q8[j]);
    /* A slice of the HY lm_head (vocab rows x 2048) and the tiny model's. */
    run_case(&kQ8_0, 8191, 2048);
    run_case(&kQ8_0, 512, 512);
    run_errors(&kQ2_0C);
    run_errors(&kQ8_0);
    /* ggml's Q2_K and TQ2_0 (float GEMVs): odd row counts, K of 1 to 9
     * blocks, and HY's 2048 x 2048 and 2048 x 6144 (hyc convert --to q2_k). */
    static const format_t *k2s[] = {&kQ2_K, &kTQ2_0};
    for (size_t f = 0; f < 2; ++f) {
      static const int64_t k_k2[] = {256, 768, 2304};
      for (size_t i = 0; i < sizeof ns / sizeof ns[0]; ++i)
        for (size_t j = 0; j < 3; ++j)
          run_case(k2s[f], ns[i], k_k2[j]);
      run_case(k2s[f], 2048, 2048);
      run_case(k2s[f], 512, 6144);
      run_errors(k2s[f]);
    }
    /* Prefill GEMMs: partial 4 x 4 tiles, the real shapes with a few rows
     * (the float64 reference runs under emulation too). The i8mm kernel only
     * where the CPU has it (qemu -cpu max does). */
    const int i8mm = (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
    report(i8mm, "CPU reports i8mm (HWCAP2): the smmla GEMM is tested");
    const format_t *gemms[] = {&kQ2_0C, &kQ2_0CI8mm, &kQ2_0CDotprod};
    for (size_t f = i8mm ? 0 : 2; f < 3; ++f) {
      static const int64_t ms[] = {2, 3, 4, 5, 9, 16};
      static const int64_t gn[] = {1, 3, 4, 17, 65};
      for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        for (size_t j = 0; j < sizeof gn / sizeof gn[0]; ++j)
          run_case_rows(gemms[f], gn[j], 1024, ms[i]);
      run_case_rows(gemms[f], 2048, 2048, 5);
      run_case_rows(gemms[f], 768, 512, 16);
      run_gemm_errors(gemms[f]);
    }
  }
  /* Attention needs only NEON: decode (one query, past the 256-position
   * split blocks) and prefill chunks (causal within the chunk), HY's 16 x 128
   * heads and the tiny model's 8 x 64. */
  for (int cache = 0; cache <= 2; ++cache) {
    run_attention(8, 2, 64, 1, 0, cache);
    run_attention(16, 4, 128, 1, 700, cache);
    run_attention(8, 2, 64, 32, 0, cache);
    run_attention(16, 4, 128, 32, 300, cache);
    run_attention(6, 3, 48, 7, 9, cache);
  }
  {
    float one = 1.0f;
    uint8_t *o = output_alloc(1);
    report(HYK_ATTENTION(&one, &one, &one, output_y(o), 1, 0, 1, 1, 24) ==
                   HYK_ERR_BAD_SHAPE && isnan(output_y(o)[0]),
           "attention rejects head_dim 24 (not a multiple of 16) without writing");
    free(o);
  }
  run_pointwise_all();
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
#endif
