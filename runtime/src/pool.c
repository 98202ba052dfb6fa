/* pool.c - the runtime's thread pool: a fork-join parallel-for that model
 * libraries route their kernels' parallel loops through (hy_abi.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hy_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define HY_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define HY_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define HY_CPU_RELAX() ((void)0)
#endif

/* How long an idle thread spins before it sleeps on a condition variable.
 * Kernels issue many short loops per token; a short spin saves the wake-up
 * latency between them without burning a core when decoding stops. */
enum { SPIN_ITERATIONS = 1 << 14 };

/* Task order: each of the T threads (the submitter is 0, worker w is w + 1)
 * owns a contiguous share of the loop's n tasks, [t n / T, (t + 1) n / T),
 * and runs it front to back; a thread whose share is done takes tasks from
 * the back of the share with the most left. The kernels' tasks are
 * consecutive row blocks of a weight matrix, so each thread streams one
 * long contiguous range (what the hardware prefetchers follow best) rather
 * than every T-th block, and the load still evens out at the end. A share is
 * one 64-bit word, front in the low half and end in the high half, changed
 * only by compare-and-swap, so its owner and a thief never take the same
 * task.
 *
 * One loop at a time per pool: the submitting thread holds `submit` (trylock:
 * a second submitter, or a task submitting a nested loop, runs its loop
 * inline). The loop's state lives on the submitter's stack and is published
 * through `current`; workers that wake up take task indices from it until none
 * are left. Nobody waits for a worker that has not started: if workers are
 * slow to be scheduled (more threads than free cores), the submitter simply
 * runs the tasks itself. A worker announces itself in `active` before it
 * reads `current` (both sequentially consistent), so once the submitter has
 * cleared `current` and seen `active` reach 0, no worker can still touch the
 * loop's state and the submitter may return.
 *
 * Sleeping is the slow path: the mutex and condition variables are touched
 * only when a thread actually sleeps (`sleepers`, `waiting`), so the
 * hundreds of loops of a decode step, with every thread spinning between
 * them, cost a few atomic operations each. The counters follow the usual
 * pattern: a sleeper announces itself (under the mutex) before it checks the
 * condition, a signaler changes the condition before it reads the counter,
 * all sequentially consistent, so either the sleeper sees the change or the
 * signaler sees the sleeper.
 *
 * Idle prefetch (hy_pool_prefetch): a model library names the weights its
 * next kernel will read; a thread with nothing to do (a worker between loops,
 * the submitter waiting for the last tasks of its loop) pulls the front of
 * its own share of them into its cache, up to `prefetch_cap` bytes. Thread t
 * starts the next loop at task t n / T, i.e. at byte t bytes / T of a weight
 * matrix split into equal row blocks, so that is where its prefetch starts.
 * Decode reads every weight once per token: bandwidth the idle threads would
 * leave unused during the serial steps between matrix-vector products. */
/* One thread's share of the current loop, alone on its cache line. */
typedef struct share {
  _Atomic uint64_t range; /* front | end << 32 */
  char pad[64 - sizeof(uint64_t)];
} share_t;

typedef struct job {
  hy_task_fn task;
  void *task_ctx;
  int32_t n;
  atomic_int done;
  atomic_int status;
} job_t;

typedef struct worker_arg {
  struct hy_pool *pool;
  int32_t self; /* this worker's share: 1 + its index */
} worker_arg_t;

struct hy_pool {
  int32_t n_workers;
  pthread_t *threads;
  worker_arg_t *args;
  share_t *shares; /* n_workers + 1, reset by each loop */
  pthread_mutex_t submit;
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* generation changed or stop */
  pthread_cond_t done_cv; /* a job's last task finished, or active hit 0 */
  int stop;
  _Atomic(job_t *) current;
  atomic_int active;
  atomic_uint generation;
  atomic_long jobs; /* loops that ran on the pool (for tests and stats) */
  atomic_int sleepers; /* workers that may be in (or entering) work_cv */
  atomic_int waiting;  /* 1 while the submitter may be in done_cv */
  /* The prefetch hint: base and bytes under a sequence lock (hint_gen is
   * odd while they change). Only prefetch instructions ever use them, which
   * never fault, so even a torn read (two threads hinting at once) is
   * harmless; the lock keeps it from being the rule. */
  _Atomic(const char *) hint_base;
  _Atomic int64_t hint_bytes;
  atomic_uint hint_gen;
  _Atomic int64_t prefetch_cap; /* bytes per thread and hint; 0: off */
  /* Thread t's progress through the hint (t = 0: whoever holds `submit`). */
  struct prefetch_cursor *cursors;
};

/* A thread's progress through the current hint, alone on its cache line. */
typedef struct prefetch_cursor {
  _Alignas(64) unsigned gen;
  const char *next, *end;
  _Atomic long lines; /* requested so far; written by its thread only */
} prefetch_cursor_t;

enum { PREFETCH_LINE = 64, PREFETCH_STEP = 4 /* lines per idle iteration */ };

/* Half the L2 (a share must not evict itself), within [64 KiB, 1 MiB];
 * 256 KiB where sysfs does not tell. */
static int64_t default_prefetch_cap(void) {
  int64_t l2 = 0;
  for (int i = 0; i < 8 && l2 == 0; ++i) {
    char path[96], buf[32];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    int level = fgets(buf, sizeof buf, f) ? atoi(buf) : 0;
    fclose(f);
    if (level != 2) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!(f = fopen(path, "r"))) break;
    if (fgets(buf, sizeof buf, f)) {
      char *unit;
      long long v = strtoll(buf, &unit, 10);
      l2 = v * (*unit == 'M' ? 1 << 20 : *unit == 'K' ? 1 << 10 : 1);
    }
    fclose(f);
  }
  int64_t cap = l2 > 0 ? l2 / 2 : 256 << 10;
  return cap < 64 << 10 ? 64 << 10 : cap > 1 << 20 ? 1 << 20 : cap;
}

/* One idle step of thread t: the next few lines of its share of the hint.
 * 0 when there is nothing (left) to prefetch. */
static int prefetch_step(hy_pool_t *p, int32_t t, prefetch_cursor_t *c) {
  unsigned gen = atomic_load(&p->hint_gen);
  if (gen != c->gen && !(gen & 1)) {
    const char *base = atomic_load(&p->hint_base);
    const int64_t bytes = atomic_load(&p->hint_bytes);
    c->gen = gen;
    c->next = c->end = NULL;
    /* A hint replaced while being read is skipped (the next one comes soon). */
    if (base == NULL || atomic_load(&p->hint_gen) != gen) return 0;
    const int32_t count = p->n_workers + 1;
    int64_t len = bytes / count;
    const int64_t cap = atomic_load_explicit(&p->prefetch_cap, memory_order_relaxed);
    if (len > cap) len = cap;
    c->next = base + bytes * t / count;
    c->end = c->next + len;
  }
  if (c->next >= c->end) return 0;
  for (int l = 0; l < PREFETCH_STEP; ++l)
    __builtin_prefetch(c->next + l * PREFETCH_LINE, 0, 2);
  c->next += PREFETCH_STEP * PREFETCH_LINE;
  atomic_store_explicit(&c->lines,
                        atomic_load_explicit(&c->lines, memory_order_relaxed) + PREFETCH_STEP,
                        memory_order_relaxed);
  return 1;
}

void hy_pool_prefetch(void *pool, const void *data, int64_t bytes) {
  hy_pool_t *p = pool;
  if (!p || p->n_workers == 0 ||
      atomic_load_explicit(&p->prefetch_cap, memory_order_relaxed) == 0)
    return;
  if (!data || bytes <= 0) data = NULL, bytes = 0;
  atomic_fetch_add(&p->hint_gen, 1);
  atomic_store(&p->hint_base, (const char *)data);
  atomic_store(&p->hint_bytes, bytes);
  atomic_fetch_add(&p->hint_gen, 1);
}

long hy_pool_prefetched_lines(const hy_pool_t *p) {
  long lines = 0;
  for (int32_t t = 0; p && t <= p->n_workers; ++t)
    lines += atomic_load_explicit(&p->cursors[t].lines, memory_order_relaxed);
  return lines;
}

void hy_pool_set_prefetch_cap(hy_pool_t *p, int64_t bytes) {
  if (p) atomic_store(&p->prefetch_cap, bytes < 0 ? 0 : bytes);
}

int32_t hy_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (n > 1024 ? 1024 : (int32_t)n);
}

/* Wakes the submitter if it sleeps; call after changing `done`/`active`. */
static void signal_done(hy_pool_t *p) {
  if (atomic_load(&p->waiting) == 0) return;
  pthread_mutex_lock(&p->mu);
  pthread_cond_broadcast(&p->done_cv);
  pthread_mutex_unlock(&p->mu);
}

static uint64_t pack_range(uint32_t front, uint32_t end) {
  return (uint64_t)front | (uint64_t)end << 32;
}

/* The next task of share s: its front (own == 1) or its back; -1 if empty. */
static int take(share_t *s, int own) {
  uint64_t r = atomic_load_explicit(&s->range, memory_order_acquire);
  for (;;) {
    const uint32_t front = (uint32_t)r, end = (uint32_t)(r >> 32);
    if (front >= end) return -1;
    const uint64_t next = own ? pack_range(front + 1, end) : pack_range(front, end - 1);
    if (atomic_compare_exchange_weak_explicit(&s->range, &r, next,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      return (int)(own ? front : end - 1);
  }
}

/* A task from the back of the fullest other share, or -1 when all are empty. */
static int steal(share_t *shares, int32_t count, int32_t self) {
  for (;;) {
    int32_t best = -1;
    uint32_t most = 0;
    for (int32_t t = 0; t < count; ++t) {
      if (t == self) continue;
      const uint64_t r = atomic_load_explicit(&shares[t].range, memory_order_relaxed);
      const uint32_t front = (uint32_t)r, end = (uint32_t)(r >> 32);
      if (end > front && end - front > most) {
        most = end - front;
        best = t;
      }
    }
    if (best < 0) return -1;
    const int i = take(&shares[best], 0);
    if (i >= 0) return i;
  }
}

/* Runs tasks of j as thread `self` until none are left; p: the pool whose
 * done_cv to signal after the last task (NULL for the submitter). */
static void run_tasks(hy_pool_t *p, hy_pool_t *pool, job_t *j, int32_t self) {
  share_t *shares = pool->shares;
  const int32_t count = pool->n_workers + 1;
  for (;;) {
    int i = take(&shares[self], 1);
    if (i < 0) i = steal(shares, count, self);
    if (i < 0) break;
    int32_t rc = j->task(j->task_ctx, i);
    if (rc != 0) {
      int expected = 0;
      atomic_compare_exchange_strong(&j->status, &expected, rc);
    }
    if (atomic_fetch_add(&j->done, 1) + 1 == j->n && p) signal_done(p);
  }
}

static void *worker_main(void *arg) {
  hy_pool_t *p = ((worker_arg_t *)arg)->pool;
  const int32_t self = ((worker_arg_t *)arg)->self;
  unsigned seen = 0;
  prefetch_cursor_t *cursor = &p->cursors[self];
  for (;;) {
    unsigned g = atomic_load_explicit(&p->generation, memory_order_acquire);
    for (int spin = 0; g == seen && spin < SPIN_ITERATIONS; ++spin) {
      if (!prefetch_step(p, self, cursor)) HY_CPU_RELAX();
      g = atomic_load_explicit(&p->generation, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&p->mu);
      atomic_fetch_add(&p->sleepers, 1);
      while (!p->stop && (g = atomic_load(&p->generation)) == seen)
        pthread_cond_wait(&p->work_cv, &p->mu);
      atomic_fetch_sub(&p->sleepers, 1);
      int stop = p->stop;
      pthread_mutex_unlock(&p->mu);
      if (stop) return NULL;
    }
    seen = g;
    atomic_fetch_add(&p->active, 1);
    job_t *j = atomic_load(&p->current);
    if (j) run_tasks(p, p, j, self);
    if (atomic_fetch_sub(&p->active, 1) == 1) signal_done(p);
  }
}

hy_status_t hy_pool_create(int32_t n_threads, hy_pool_t **out) {
  *out = NULL;
  if (n_threads < 1 || n_threads > 1024)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "thread count %d outside [1, 1024]", n_threads);
  hy_pool_t *p = calloc(1, sizeof *p);
  if (!p) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  pthread_mutex_init(&p->submit, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  p->shares = aligned_alloc(64, (size_t)n_threads * sizeof *p->shares);
  if (!p->shares) {
    hy_pool_release(p);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (int32_t t = 0; t < n_threads; ++t) atomic_init(&p->shares[t].range, 0);
  atomic_init(&p->prefetch_cap, default_prefetch_cap());
  p->cursors = aligned_alloc(64, (size_t)n_threads * sizeof *p->cursors);
  if (!p->cursors) {
    hy_pool_release(p);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  memset(p->cursors, 0, (size_t)n_threads * sizeof *p->cursors);
  if (n_threads > 1) {
    p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
    p->args = calloc((size_t)n_threads - 1, sizeof *p->args);
    if (!p->threads || !p->args) {
      hy_pool_release(p);
      return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int32_t i = 0; i < n_threads - 1; ++i) {
      p->args[i].pool = p;
      p->args[i].self = i + 1;
      if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
        hy_pool_release(p);
        return hy_set_error(HY_ERR_OUT_OF_MEMORY,
                            "cannot start thread %d of the pool", i + 1);
      }
      p->n_workers++;
    }
  }
  *out = p;
  return HY_OK;
}

void hy_pool_release(hy_pool_t *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (int32_t i = 0; i < p->n_workers; ++i) pthread_join(p->threads[i], NULL);
  free(p->threads);
  free(p->args);
  free(p->shares);
  free(p->cursors);
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->done_cv);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->submit);
  free(p);
}

int32_t hy_pool_threads(const hy_pool_t *p) { return p ? p->n_workers + 1 : 1; }

long hy_pool_jobs(const hy_pool_t *p) { return p ? atomic_load(&p->jobs) : 0; }

static int32_t run_inline(hy_task_fn task, void *task_ctx, int32_t n) {
  int32_t status = 0;
  for (int32_t i = 0; i < n; ++i) {
    int32_t rc = task(task_ctx, i);
    if (rc != 0 && status == 0) status = rc;
  }
  return status;
}

int32_t hy_pool_parallel_for(void *pool, hy_task_fn task, void *task_ctx,
                             int32_t n) {
  hy_pool_t *p = pool;
  if (n <= 0) return 0;
  if (!p || p->n_workers == 0 || n == 1 ||
      pthread_mutex_trylock(&p->submit) != 0)
    return run_inline(task, task_ctx, n);

  job_t j;
  j.task = task;
  j.task_ctx = task_ctx;
  j.n = n;
  atomic_init(&j.done, 0);
  /* The shares, before `current` publishes the loop (no worker touches them
   * while none is published: the previous loop's workers have all let go). */
  const int32_t count = p->n_workers + 1;
  for (int32_t t = 0; t < count; ++t)
    atomic_store_explicit(&p->shares[t].range,
                          pack_range((uint32_t)((int64_t)n * t / count),
                                     (uint32_t)((int64_t)n * (t + 1) / count)),
                          memory_order_relaxed);
  atomic_init(&j.status, 0);
  atomic_store(&p->current, &j);
  atomic_fetch_add(&p->generation, 1);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
  }
  atomic_fetch_add(&p->jobs, 1);

  run_tasks(NULL, p, &j, 0); /* the submitter works too; it needs no signal */

  /* Wait for tasks other threads took, then for them to let go of j. */
  for (int phase = 0; phase < 2; ++phase) {
    int finished = 0;
    for (int spin = 0; spin < SPIN_ITERATIONS; ++spin) {
      if ((finished = phase == 0 ? atomic_load(&j.done) == n
                                 : atomic_load(&p->active) == 0))
        break;
      if (phase == 1 || !prefetch_step(p, 0, &p->cursors[0])) HY_CPU_RELAX();
    }
    if (!finished) {
      pthread_mutex_lock(&p->mu);
      atomic_store(&p->waiting, 1);
      while (phase == 0 ? atomic_load(&j.done) != n
                        : atomic_load(&p->active) != 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
      atomic_store(&p->waiting, 0);
      pthread_mutex_unlock(&p->mu);
    }
    if (phase == 0) atomic_store(&p->current, NULL);
  }
  int32_t status = atomic_load_explicit(&j.status, memory_order_relaxed);
  pthread_mutex_unlock(&p->submit);
  return status;
}
