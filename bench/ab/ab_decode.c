/* ab_decode.c - hyc-ab-decode: paired decode A/B of two compiled models in
 * one process.
 *
 * The VMs we measure on drift by 5-15% between minutes, so two libraries
 * benchmarked one after the other (hyc bench, even alternated) cannot show a
 * 2-3% difference. This tool opens both libraries in the same process and
 * alternates short segments of greedy decode steps between them (A then B
 * in odd rounds, B then A in even ones): each round's B/A ratio compares two
 * segments taken a fraction of a second apart, and the median of those
 * ratios over many rounds is what a change is judged by. Each context is
 * reset before it would pass --positions, so both decode the same range of
 * positions (0..127 by default, like tg128).
 *
 *   hyc-ab-decode DIR_A DIR_B [--threads N] [--rounds R] [--steps S]
 *                 [--positions P] [--no-mmap | --no-mmap-a | --no-mmap-b]
 *
 * Prints one line per round (tokens/s of each, B/A), then the medians and
 * the median ratio with its quartiles. Exit 0; 1 when a library cannot be
 * opened or a decode fails (naming the directory); 2 for a bad command line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hy/hy.h"

typedef struct side {
  const char *dir;
  hy_model_t *model;
  hy_context_t *ctx;
  float *logits;
  size_t n_vocab;
  int32_t start; /* the token decoded at position 0 */
  int32_t token; /* the next token to decode (greedy continuation) */
} side_t;

typedef struct options {
  const char *dir[2];
  long threads, rounds, steps, positions;
  int no_mmap[2]; /* per side: weights read into huge-page memory */
} options_t;

static void usage(FILE *f) {
  fprintf(f,
          "usage: hyc-ab-decode DIR_A DIR_B [options]\n"
          "  DIR_A, DIR_B     directories written by hyc compile (the same model shape)\n"
          "  --threads N      decode threads of each model (default 2)\n"
          "  --rounds R       alternations (default 40)\n"
          "  --steps S        decode steps per segment (default 16)\n"
          "  --positions P    reset a context before it passes P positions (default 128)\n"
          "  --no-mmap        read both weights files into huge-page memory\n"
          "  --no-mmap-a, --no-mmap-b\n"
          "                   only A's / only B's (e.g. one library, mapped against huge pages)\n");
}

static int parse_long(const char *flag, const char *text, long lo, long hi, long *out) {
  char *end = NULL;
  errno = 0;
  long v = text ? strtol(text, &end, 10) : 0;
  if (!text || *text == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
    fprintf(stderr, "hyc-ab-decode: error: %s needs an integer in [%ld, %ld], got '%s'\n",
            flag, lo, hi, text ? text : "(nothing)");
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_args(int argc, char **argv, options_t *o) {
  int n_dirs = 0;
  o->threads = 2;
  o->rounds = 40;
  o->steps = 16;
  o->positions = 128;
  o->no_mmap[0] = o->no_mmap[1] = 0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--threads")) {
      if (!parse_long(a, v, 1, 256, &o->threads)) return 0;
      ++i;
    } else if (!strcmp(a, "--rounds")) {
      if (!parse_long(a, v, 1, 100000, &o->rounds)) return 0;
      ++i;
    } else if (!strcmp(a, "--steps")) {
      if (!parse_long(a, v, 1, 1 << 20, &o->steps)) return 0;
      ++i;
    } else if (!strcmp(a, "--positions")) {
      if (!parse_long(a, v, 1, 1 << 24, &o->positions)) return 0;
      ++i;
    } else if (!strcmp(a, "--no-mmap")) {
      o->no_mmap[0] = o->no_mmap[1] = 1;
    } else if (!strcmp(a, "--no-mmap-a")) {
      o->no_mmap[0] = 1;
    } else if (!strcmp(a, "--no-mmap-b")) {
      o->no_mmap[1] = 1;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "hyc-ab-decode: error: unknown option '%s'\n", a);
      return 0;
    } else if (n_dirs < 2) {
      o->dir[n_dirs++] = a;
    } else {
      fprintf(stderr, "hyc-ab-decode: error: a third directory '%s' (A/B takes two)\n", a);
      return 0;
    }
  }
  if (n_dirs != 2) {
    fprintf(stderr, "hyc-ab-decode: error: need two library directories, got %d\n", n_dirs);
    return 0;
  }
  if (o->steps > o->positions) {
    fprintf(stderr,
            "hyc-ab-decode: error: --steps %ld does not fit in --positions %ld\n",
            o->steps, o->positions);
    return 0;
  }
  return 1;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int open_side(side_t *s, int which, const options_t *o) {
  const char *dir = o->dir[which];
  memset(s, 0, sizeof *s);
  s->dir = dir;
  hy_model_options_t mo;
  hy_model_options_init(&mo);
  mo.n_threads = (int32_t)o->threads;
  mo.no_mmap = o->no_mmap[which];
  if (hy_model_open_dir_ex(dir, &mo, &s->model) != HY_OK) {
    fprintf(stderr, "hyc-ab-decode: error: %s: %s\n", dir, hy_last_error());
    return 0;
  }
  hy_model_info_t info;
  if (hy_model_info(s->model, &info) != HY_OK ||
      hy_context_create(s->model, &s->ctx) != HY_OK) {
    fprintf(stderr, "hyc-ab-decode: error: %s: %s\n", dir, hy_last_error());
    return 0;
  }
  if (o->positions > info.n_ctx) {
    fprintf(stderr, "hyc-ab-decode: error: %s: --positions %ld exceeds its context of %d\n",
            dir, o->positions, info.n_ctx);
    return 0;
  }
  s->n_vocab = (size_t)info.n_vocab;
  s->logits = malloc(s->n_vocab * sizeof *s->logits);
  if (!s->logits) {
    fprintf(stderr, "hyc-ab-decode: error: %s: out of memory for %zu logits\n", dir,
            s->n_vocab);
    return 0;
  }
  s->start = s->token = info.bos_id >= 0 ? info.bos_id : 1;
  return 1;
}

static void close_side(side_t *s) {
  free(s->logits);
  hy_context_release(s->ctx);
  hy_model_release(s->model);
}

/* One segment of greedy decode steps; its tokens/s, or -1 on an error. */
static double segment(side_t *s, long steps, long positions) {
  if (hy_context_position(s->ctx) + steps > positions) {
    hy_context_reset(s->ctx);
    s->token = s->start;
  }
  double t0 = now_s();
  for (long i = 0; i < steps; ++i) {
    if (hy_decode(s->ctx, s->token, s->logits, s->n_vocab) != HY_OK) {
      fprintf(stderr, "hyc-ab-decode: error: %s: decode at position %d: %s\n", s->dir,
              hy_context_position(s->ctx), hy_last_error());
      return -1;
    }
    s->token = hy_argmax(s->logits, s->n_vocab);
  }
  return (double)steps / (now_s() - t0);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n) (sorts v), linear between order statistics. */
static double quantile(double *v, long n, double q) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double at = q * (double)(n - 1);
  long lo = (long)at;
  long hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (at - (double)lo) * (v[hi] - v[lo]);
}

int main(int argc, char **argv) {
  options_t o;
  if (!parse_args(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  side_t side[2];
  memset(side, 0, sizeof side);
  int ok = open_side(&side[0], 0, &o) && open_side(&side[1], 1, &o);
  if (ok && side[0].n_vocab != side[1].n_vocab) {
    fprintf(stderr, "hyc-ab-decode: error: %s has %zu vocabulary entries, %s %zu\n",
            o.dir[0], side[0].n_vocab, o.dir[1], side[1].n_vocab);
    ok = 0;
  }
  double *tps[2] = {malloc((size_t)o.rounds * sizeof(double)),
                    malloc((size_t)o.rounds * sizeof(double))};
  double *ratio = malloc((size_t)o.rounds * sizeof(double));
  if (ok && (!tps[0] || !tps[1] || !ratio)) {
    fprintf(stderr, "hyc-ab-decode: error: out of memory for %ld rounds\n", o.rounds);
    ok = 0;
  }
  /* Warm-up: one untimed segment each (page faults, the pools' threads). */
  for (int s = 0; ok && s < 2; ++s)
    ok = segment(&side[s], o.steps, o.positions) > 0;
  for (long r = 0; ok && r < o.rounds; ++r) {
    int first = r % 2; /* A first in rounds 1, 3, ...; B first in 2, 4, ... */
    for (int k = 0; ok && k < 2; ++k) {
      int s = k == 0 ? first : 1 - first;
      double v = segment(&side[s], o.steps, o.positions);
      ok = v > 0;
      tps[s][r] = v;
    }
    if (!ok) break;
    ratio[r] = tps[1][r] / tps[0][r];
    printf("round %ld: A %.2f tokens/s, B %.2f tokens/s, B/A %.4f\n", r + 1, tps[0][r],
           tps[1][r], ratio[r]);
    fflush(stdout);
  }
  if (ok) {
    double med_a = quantile(tps[0], o.rounds, 0.5), med_b = quantile(tps[1], o.rounds, 0.5);
    double p25 = quantile(ratio, o.rounds, 0.25), p50 = quantile(ratio, o.rounds, 0.5),
           p75 = quantile(ratio, o.rounds, 0.75);
    printf("A %s: median %.2f tokens/s\nB %s: median %.2f tokens/s\n", o.dir[0], med_a,
           o.dir[1], med_b);
    printf("B/A over %ld rounds of %ld steps: median %.4f (p25 %.4f, p75 %.4f)\n", o.rounds,
           o.steps, p50, p25, p75);
  }
  free(tps[0]);
  free(tps[1]);
  free(ratio);
  for (int s = 1; s >= 0; --s)
    if (side[s].model) close_side(&side[s]);
  return ok ? 0 : 1;
}
