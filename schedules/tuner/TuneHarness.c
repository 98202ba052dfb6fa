/* TuneHarness.c - the timing harness `hyc tune` links with every candidate.
 *
 * One executable per candidate: this file, the candidate pipeline (generated
 * by the kernel's Halide generator with -f hyk_tune_candidate, -no_runtime)
 * and the target's kernel archive (Halide runtime, hyk_gemv_run_<format> and
 * the prebuilt default entry point). Built by the tuner with the target's C
 * driver and these macros:
 *   HYK_TUNE_FORMAT_Q2_0C, _Q2_0C_A8, _Q2_0C_A8Q, _GEMM_Q2_0C_A8Q, _Q8_0, _Q8_0_A8,
 *   _Q2_K or _TQ2_0
 *                       the kernel family's format (_a8: x rounded to int8
 *                       per group of 32 as hyk/kernels.h documents, the
 *                       reference rounds x the same way; _a8q: the same
 *                       rounding done once by HYK_TUNE_QUANTIZE before
 *                       the calls, which take the int8 q and steps, as the
 *                       compiled code's lowbit.qmatmul does; _gemm_q2_0c_a8q:
 *                       the prefill GEMM over M such rows of x at once)
 *   HYK_TUNE_DEFAULT    the prebuilt default kernel, e.g. hyk_gemv_q2_0c_avx512
 *   HYK_TUNE_QUANTIZE   (the _a8q formats) the ISA's rounding kernel, e.g.
 *                       hyk_quantize_avx2
 *   HYK_TUNE_RUNTIME_POOL  (optional) run the kernels' parallel loops on the hy
 *                       runtime's thread pool (runtime/src/pool.c, linked in),
 *                       through hyk_set_parallel as a compiled model does,
 *                       instead of Halide's own pool
 *
 * Usage: harness N K REPS WARMUP THREADS SEED POOL POOL_BYTES M [POOL_AT]
 *   M: activation rows (tokens) per call: 1 for a GEMV, the chunk for a GEMM.
 *   Random valid weights of the real shape (finite fp16 scales, random codes)
 *   and activations in [-1, 1]. First the default kernel is checked against a
 *   double-precision scalar reference and the candidate against the default:
 *     |y_cand[n] - y_default[n]| <= 1e-4 * sum_i |W[n,i] x_i| + 1e-6
 *   (both are float32 accumulations of the same products), with y between
 *   sentinel bytes and prefilled with NaN (an unwritten row fails). Then
 *   WARMUP calls of each and REPS timed calls of candidate and default,
 *   interleaved (so load changes on a shared machine hit both alike), each
 *   call on the next W-sized window of the weight pool (weights come from
 *   memory, as in a decode step, rather than from cache). POOL is a file of
 *   POOL_BYTES of random valid blocks of this format, shared by every run of
 *   one tuning session (the first run writes it, under a temporary name then
 *   renamed; the others map it, which costs ~50 ms where copying W to fill
 *   twice a 480 MiB L3 cost ~0.6 s a run); "-" means no pool: one copy of W
 *   (under an emulator, where times mean nothing). The check and the first
 *   call use the window at byte POOL_AT (default 0), the calls after it the
 *   windows that follow, wrapping at the pool's end; the line printed ends
 *   with pool_next, the byte at which the next run should start (hyc tune
 *   passes it on, so a session's runs walk the pool instead of all rereading
 *   its first windows).
 * Prints one line:
 *   hyk-tune ok cand_us=<median> default_us=<median> cand_min_us=<min> reps=<R>
 *     copies=<windows> max_rel_err=<e> pool_next=<byte>
 * or "hyk-tune MISMATCH ..." / "hyk-tune ERROR ..." and exits non-zero. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "HarnessCommon.h"
#include "hyk/block_reference.h"
#include "hyk/kernels.h"

#if defined(HYK_TUNE_FORMAT_Q2_0C_A8)
#define HYK_TUNE_FORMAT_Q2_0C 1
#define HYK_TUNE_INT8_X 1
#elif defined(HYK_TUNE_FORMAT_Q2_0C_A8Q)
#define HYK_TUNE_FORMAT_Q2_0C 1
#define HYK_TUNE_INT8_X 1
#define HYK_TUNE_PREQUANTIZED 1
#elif defined(HYK_TUNE_FORMAT_GEMM_Q2_0C_A8Q)
#define HYK_TUNE_FORMAT_Q2_0C 1
#define HYK_TUNE_INT8_X 1
#define HYK_TUNE_PREQUANTIZED 1
#define HYK_TUNE_GEMM 1
#elif defined(HYK_TUNE_FORMAT_Q8_0_A8)
#define HYK_TUNE_FORMAT_Q8_0 1
#define HYK_TUNE_INT8_X_Q8_0 1
#endif
#if defined(HYK_TUNE_FORMAT_Q2_0C)
#define REF_FORMAT HYK_REF_Q2_0C
#define RUN_PIPELINE hyk_gemv_run_q2_0c
#elif defined(HYK_TUNE_FORMAT_Q8_0)
#define REF_FORMAT HYK_REF_Q8_0
#define RUN_PIPELINE hyk_gemv_run_q8_0
#elif defined(HYK_TUNE_FORMAT_Q2_K)
#define REF_FORMAT HYK_REF_Q2_K
#define RUN_PIPELINE hyk_gemv_run_q2_k
#elif defined(HYK_TUNE_FORMAT_TQ2_0)
#define REF_FORMAT HYK_REF_TQ2_0
#define RUN_PIPELINE hyk_gemv_run_tq2_0
#else
#error "define HYK_TUNE_FORMAT_Q2_0C, _Q2_0C_A8, _Q2_0C_A8Q, _Q8_0, _Q8_0_A8, _Q2_K or _TQ2_0"
#endif
#define BLOCK_WEIGHTS hyk_ref_block_weights(REF_FORMAT)
#define BLOCK_BYTES hyk_ref_block_bytes(REF_FORMAT)
#define SCALE_AT hyk_ref_scale_offset(REF_FORMAT)
#ifndef HYK_TUNE_DEFAULT
#error "define HYK_TUNE_DEFAULT (the prebuilt default kernel)"
#endif


/* The candidate, generated with -f hyk_tune_candidate, and the default, both
 * called as (w, x, y, n, k, m): y (m x n) = x (m x k) W^T, m = 1 but for a
 * GEMM. Over pre-quantized activations they read the q and steps of x that
 * main() computes once. */
#if defined(HYK_TUNE_PREQUANTIZED) && !defined(HYK_TUNE_QUANTIZE)
#error "the _a8q formats need HYK_TUNE_QUANTIZE (the ISA's hyk_quantize_<isa>)"
#endif
#ifdef HYK_TUNE_PREQUANTIZED
extern int hyk_tune_candidate(void *w, void *xq, void *xstep, void *y);
static int8_t *g_xq;
static float *g_xs;
static int32_t call_default(const uint8_t *w, const float *x, float *y, int64_t n, int64_t k,
                            int64_t m) {
  (void)x;
#ifdef HYK_TUNE_GEMM
  return HYK_TUNE_DEFAULT(w, g_xq, g_xs, y, n, k, m);
#else
  (void)m;
  return HYK_TUNE_DEFAULT(w, g_xq, g_xs, y, n, k);
#endif
}
static int32_t call_candidate(const uint8_t *w, const float *x, float *y, int64_t n,
                              int64_t k, int64_t m) {
  (void)x;
#ifdef HYK_TUNE_GEMM
  return hyk_gemm_run_q2_0c_a8q(hyk_tune_candidate, w, g_xq, g_xs, y, n, k, m);
#else
  (void)m;
  return hyk_gemv_run_q2_0c_a8q(hyk_tune_candidate, w, g_xq, g_xs, y, n, k);
#endif
}
#else
extern int hyk_tune_candidate(void *w, void *x, void *y);
static int32_t call_default(const uint8_t *w, const float *x, float *y, int64_t n, int64_t k,
                            int64_t m) {
  (void)m;
  return HYK_TUNE_DEFAULT(w, x, y, n, k);
}
static int32_t call_candidate(const uint8_t *w, const float *x, float *y, int64_t n,
                              int64_t k, int64_t m) {
  (void)m;
  return RUN_PIPELINE(hyk_tune_candidate, w, x, y, n, k);
}
#endif


/* One row's weight i as double (hyk/block_reference.h). */
static double weight(const uint8_t *row, int64_t i) {
  return hyk_ref_weight(REF_FORMAT, row + (i / BLOCK_WEIGHTS) * BLOCK_BYTES, i % BLOCK_WEIGHTS,
                        NULL);
}

/* nblocks random valid blocks: a finite fp16 scale (normal, exponent
 * 2^-10 .. 2^1, random sign), then random codes. */
static uint16_t random_scale(void) {
  uint64_t r = next_u64();
  return (uint16_t)(((5 + r % 12) << 10) | ((r >> 8) & 0x3ff) | ((r >> 20) & 1) << 15);
}

static void fill_blocks(uint8_t *w, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b) {
    uint8_t *blk = w + b * BLOCK_BYTES;
    for (int j = 0; j < BLOCK_BYTES; j += 8) {
      uint64_t v = next_u64();
      for (int t = 0; t < 8 && j + t < BLOCK_BYTES; ++t)
        blk[j + t] = (uint8_t)(v >> (8 * t));
    }
    /* The scales over the random bytes (Q2_K: d and dmin). */
    for (int at = SCALE_AT; at <= (REF_FORMAT == HYK_REF_Q2_K ? 82 : SCALE_AT); at += 2) {
      uint16_t h = random_scale();
      blk[at] = (uint8_t)h;
      blk[at + 1] = (uint8_t)(h >> 8);
    }
  }
}

/* Maps the weight pool `path` (writing it first when it does not exist yet)
 * read-only; *bytes is its size, a multiple of BLOCK_BYTES. NULL on error. */
static const uint8_t *map_pool(const char *path, int64_t want, int64_t *bytes) {
  want -= want % BLOCK_BYTES;
  if (access(path, F_OK) != 0) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    /* Allocated, not just sized: a full disk fails here, not as SIGBUS. */
    if (fd < 0 || posix_fallocate(fd, 0, (off_t)want) != 0) {
      if (fd >= 0)
        close(fd), unlink(tmp);
      return NULL;
    }
    uint8_t *p = mmap(NULL, (size_t)want, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
      unlink(tmp);
      return NULL;
    }
    fill_blocks(p, want / BLOCK_BYTES);
    munmap(p, (size_t)want);
    if (rename(tmp, path) != 0) {
      unlink(tmp);
      return NULL;
    }
  }
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < BLOCK_BYTES ||
      st.st_size % BLOCK_BYTES != 0) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  *bytes = (int64_t)st.st_size;
  return p == MAP_FAILED ? NULL : (const uint8_t *)p;
}




#if defined(HYK_TUNE_INT8_X) || defined(HYK_TUNE_INT8_X_Q8_0)
/* kernels.h's int8 rounding of the 32 activations x[e[0..31]] into xr:
 * m = max |x|, s = m * (1.0f/127), q = round-half-even(x * (127.0f / m)). */
static void round_group_int8(const float *x, const int64_t e[32], double *xr) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i)
    amax = fmaxf(amax, fabsf(x[e[i]]));
  float s = amax * (1.0f / 127.0f), inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < 32; ++i)
    xr[e[i]] = (double)nearbyintf(x[e[i]] * inv) * (double)s;
}
#endif

int main(int argc, char **argv) {
  if (argc != 10 && argc != 11) {
    fprintf(stderr, "usage: %s N K REPS WARMUP THREADS SEED POOL|- POOL_BYTES M [POOL_AT]\n",
            argv[0]);
    return 2;
  }
  const int64_t n = atoll(argv[1]), k = atoll(argv[2]);
  const int reps = atoi(argv[3]), warmup = atoi(argv[4]), threads = atoi(argv[5]);
  g_rng ^= (uint64_t)atoll(argv[6]) * 0x100000001b3ull;
  const char *pool_path = argv[7];
  const int64_t pool_want = atoll(argv[8]);
  const int64_t m = atoll(argv[9]);
  const int64_t pool_at = argc > 10 ? atoll(argv[10]) : 0;
#ifdef HYK_TUNE_GEMM
  const int m_ok = m >= 1 && m <= 4096;
#else
  const int m_ok = m == 1;
#endif
  if (n <= 0 || k <= 0 || k % BLOCK_WEIGHTS || reps < 1 || warmup < 0 || threads < 1 || !m_ok) {
    printf("hyk-tune ERROR bad arguments\n");
    return 2;
  }
  if (start_threads(threads) != 0)
    return 2;

  const int64_t row_bytes = k / BLOCK_WEIGHTS * BLOCK_BYTES;
  const int64_t w_bytes = n * row_bytes;
  /* The weights: windows of the shared pool when it holds at least one,
   * else one copy of our own. */
  int64_t copies = 1, pool_bytes = 0;
  const uint8_t *w = NULL;
  if (strcmp(pool_path, "-") != 0 && pool_want >= w_bytes) {
    w = map_pool(pool_path, pool_want, &pool_bytes);
    if (!w) {
      printf("hyk-tune ERROR cannot write or map the weight pool %s (%lld bytes)\n", pool_path,
             (long long)pool_want);
      return 2;
    }
    copies = pool_bytes / w_bytes;
  }
  /* The run's first window: the one at byte POOL_AT (where the previous
   * run of this pool stopped), so that the runs of a session walk the whole
   * pool in turn. Starting every run at window 0 (as before 2026-12-07) had
   * each run read the windows the previous runs had just read, still in a
   * large L3 (260 MB on the Intel VM: GEMVs timed at twice DRAM speed). */
  int64_t copy = pool_at > 0 && copies > 1 ? (pool_at / w_bytes) % copies : 0;
  if (!w) {
    uint8_t *own = malloc((size_t)w_bytes);
    if (own)
      fill_blocks(own, n * (k / BLOCK_WEIGHTS));
    w = own;
  }
  const int64_t ny = n * m; /* outputs: m rows of n */
  float *x = malloc((size_t)(k * m) * sizeof(float));
  uint8_t *yc_store = malloc((size_t)ny * 4 + 2 * GUARD);
  uint8_t *yd_store = malloc((size_t)ny * 4 + 2 * GUARD);
  if (!w || !x || !yc_store || !yd_store) {
    printf("hyk-tune ERROR out of memory (%lld bytes of weights)\n", (long long)w_bytes);
    return 2;
  }
  for (int64_t i = 0; i < k * m; ++i)
    x[i] = (float)((double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0);

  /* The reference's activations: x itself, or for the int8-activation
   * kernels x rounded as hyk/kernels.h documents (groups of 32 = elements
   * 512 b + 256 h + 16 l + i; s = max|x| / 127, q = round-half-even(x * 127 /
   * max), all in float32). */
  double *xr = malloc((size_t)(k * m) * sizeof(double));
  for (int64_t i = 0; i < k * m; ++i)
    xr[i] = x[i];
#ifdef HYK_TUNE_INT8_X
  for (int64_t t = 0; t < m; ++t)
    for (int64_t b = 0; b < k / 512; ++b)
      for (int l = 0; l < 16; ++l) {
        int64_t e[32];
        for (int i = 0; i < 32; ++i)
          e[i] = 512 * b + 256 * (i / 16) + 16 * l + i % 16;
        round_group_int8(x + t * k, e, xr + t * k);
      }
#endif
#ifdef HYK_TUNE_INT8_X_Q8_0
  /* Q8_0's int8 activations: one scale per block of 32 consecutive values. */
  for (int64_t b = 0; b < k / 32; ++b) {
    int64_t e[32];
    for (int i = 0; i < 32; ++i)
      e[i] = 32 * b + i;
    round_group_int8(x, e, xr);
  }
#endif
#ifdef HYK_TUNE_PREQUANTIZED
  g_xq = malloc((size_t)(k * m));
  g_xs = malloc((size_t)(k / 32 * m) * sizeof(float));
  int32_t sq = g_xq && g_xs ? HYK_TUNE_QUANTIZE(x, g_xq, g_xs, m, k) : HYK_ERR_NO_MEMORY;
  if (sq != HYK_OK) {
    printf("hyk-tune ERROR quantizing x: status %d (%s)\n", sq, hyk_status_message(sq));
    return 3;
  }
#endif
  float *yc = (float *)(yc_store + GUARD), *yd = (float *)(yd_store + GUARD);
  memset(yc_store, SENTINEL, (size_t)ny * 4 + 2 * GUARD);
  memset(yd_store, SENTINEL, (size_t)ny * 4 + 2 * GUARD);
  for (int64_t i = 0; i < ny; ++i)
    yc[i] = yd[i] = NAN;

  const uint8_t *w0 = w + copy * w_bytes; /* the window the check reads */
  int32_t sd = call_default(w0, x, yd, n, k, m);
  int32_t sc = call_candidate(w0, x, yc, n, k, m);
  if (sd != HYK_OK || sc != HYK_OK) {
    printf("hyk-tune ERROR status default %d candidate %d (%s)\n", sd, sc,
           hyk_status_message(sc != HYK_OK ? sc : sd));
    return 3;
  }
  for (int g = 0; g < GUARD; ++g)
    if (yc_store[g] != SENTINEL || yc_store[GUARD + ny * 4 + g] != SENTINEL) {
      printf("hyk-tune MISMATCH the candidate wrote outside y[0..%lld)\n", (long long)ny);
      return 3;
    }
  double worst = 0;
  for (int64_t t = 0; t < m; ++t)
    for (int64_t row = 0; row < n; ++row) {
      const uint8_t *wr = w0 + row * row_bytes;
      const double *xt = xr + t * k;
      const int64_t at = t * n + row;
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < k; ++i) {
        double p = weight(wr, i) * xt[i];
        ref += p;
        mag += fabs(p);
      }
      double bound = 1e-4 * mag + 1e-6;
      if (!(fabs(yd[at] - ref) <= bound)) {
        printf("hyk-tune ERROR the default kernel disagrees with the scalar reference at "
               "row %lld, token %lld: %.9g vs %.9g\n", (long long)row, (long long)t, yd[at], ref);
        return 3;
      }
      if (!(fabs(yc[at] - yd[at]) <= bound)) {
        printf("hyk-tune MISMATCH row %lld, token %lld: candidate %.9g, default %.9g, "
               "bound %.3g\n", (long long)row, (long long)t, yc[at], yd[at], bound);
        return 3;
      }
      double rel = fabs(yc[at] - yd[at]) / (mag + 1e-30);
      if (rel > worst)
        worst = rel;
    }

  double *tc = malloc(sizeof(double) * (size_t)reps), *td = malloc(sizeof(double) * (size_t)reps);
  copy = (copy + 1) % copies;
  for (int i = 0; i < warmup; ++i) {
    call_candidate(w + copy * w_bytes, x, yc, n, k, m);
    copy = (copy + 1) % copies;
    call_default(w + copy * w_bytes, x, yd, n, k, m);
    copy = (copy + 1) % copies;
  }
  for (int i = 0; i < reps; ++i) {
    /* Alternate which one goes first, so neither always follows the other. */
    for (int half = 0; half < 2; ++half) {
      int cand = (half == 0) == (i % 2 == 0);
      double t0 = now_us();
      if (cand)
        call_candidate(w + copy * w_bytes, x, yc, n, k, m);
      else
        call_default(w + copy * w_bytes, x, yd, n, k, m);
      double t = now_us() - t0;
      (cand ? tc : td)[i] = t;
      copy = (copy + 1) % copies;
    }
  }
  qsort(tc, (size_t)reps, sizeof(double), cmp_double);
  qsort(td, (size_t)reps, sizeof(double), cmp_double);
  printf("hyk-tune ok cand_us=%.3f default_us=%.3f cand_min_us=%.3f reps=%d copies=%lld "
         "max_rel_err=%.3g pool_next=%lld\n",
         tc[reps / 2], td[reps / 2], tc[0], reps, (long long)copies, worst,
         (long long)(copy * w_bytes));
  return 0;
}
