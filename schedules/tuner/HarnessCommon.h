/* HarnessCommon.h - what hyc tune's two timing harnesses (TuneHarness.c for
 * the matmuls, OpHarness.c for attention and the pointwise ops) share: the
 * seeded random numbers, the clock, the median sort and the guard bytes
 * around outputs. Header-only: each harness is one C file the tuner compiles
 * with the target's C driver. */
#ifndef HYK_SCHEDULES_TUNER_HARNESSCOMMON_H
#define HYK_SCHEDULES_TUNER_HARNESSCOMMON_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hyk/kernels.h"
#ifdef HYK_TUNE_RUNTIME_POOL
#include "hy_internal.h"
#endif

extern int halide_set_num_threads(int n);

/* xorshift64*, seeded by main() (g_rng ^= SEED * FNV prime). */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void) {
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545f4914f6cdd1dull;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* `threads` for the kernels' parallel loops: Halide's pool, or with
 * HYK_TUNE_RUNTIME_POOL the hy runtime's (runtime/src/pool.c, linked in),
 * through hyk_set_parallel as a compiled model does. 0, or 2 after printing
 * the harness's error line. */
static int start_threads(int threads) {
  halide_set_num_threads(threads);
#ifdef HYK_TUNE_RUNTIME_POOL
  hy_pool_t *pool = NULL;
  if (hy_pool_create(threads, &pool) != HY_OK) {
    printf("hyk-tune ERROR cannot start the runtime's thread pool (%d threads)\n", threads);
    return 2;
  }
  hyk_set_parallel(hy_pool_parallel_for, pool);
#endif
  return 0;
}

/* Bytes of SENTINEL on each side of an output: a kernel writing outside it
 * is caught. */
#define GUARD 64
#define SENTINEL 0xA5

#endif /* HYK_SCHEDULES_TUNER_HARNESSCOMMON_H */
