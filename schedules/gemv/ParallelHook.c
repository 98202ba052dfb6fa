/* ParallelHook.c - lets the hy runtime's thread pool run the Halide kernels'
 * parallel loops (hyk_set_parallel in hyk/kernels.h) and take prefetch hints
 * (hyk_set_prefetch).
 *
 * Halide calls halide_do_par_for(user_context, task, min, size, closure) for
 * every parallel loop; once a pool is installed, that call is forwarded to the
 * pool's parallel_for, which runs task(min + i) for i in [0, size). */
#include "hyk/kernels.h"

#include <stddef.h>
#include <stdint.h>

#include "HalideRuntime.h"

static hyk_parallel_for_fn hyk_pool_parallel_for;
static void *hyk_pool;

struct hyk_par_closure {
  halide_task_t task;
  void *user_context;
  int min;
  uint8_t *closure;
};

static int32_t hyk_run_one(void *ctx, int32_t index) {
  const struct hyk_par_closure *c = (const struct hyk_par_closure *)ctx;
  return c->task(c->user_context, c->min + index, c->closure);
}

static int hyk_do_par_for(void *user_context, halide_task_t task, int min,
                          int size, uint8_t *closure) {
  struct hyk_par_closure c = {task, user_context, min, closure};
  return (int)hyk_pool_parallel_for(hyk_pool, hyk_run_one, &c, size);
}

void hyk_set_parallel(hyk_parallel_for_fn parallel_for, void *pool) {
  if (parallel_for == NULL) {
    halide_set_custom_do_par_for(halide_default_do_par_for);
    hyk_pool_parallel_for = NULL;
    hyk_pool = NULL;
    return;
  }
  hyk_pool_parallel_for = parallel_for;
  hyk_pool = pool;
  halide_set_custom_do_par_for(hyk_do_par_for);
}

static hyk_prefetch_fn hyk_pool_prefetch;
static void *hyk_prefetch_pool;

void hyk_set_prefetch(hyk_prefetch_fn prefetch, void *pool) {
  hyk_pool_prefetch = prefetch;
  hyk_prefetch_pool = prefetch ? pool : NULL;
}

void hyk_prefetch_hint(const void *data, int64_t bytes) {
  if (hyk_pool_prefetch) hyk_pool_prefetch(hyk_prefetch_pool, data, bytes);
}
