/* sampler.c - seeded, reproducible token sampling: repetition penalty,
 * temperature, top-k, top-p, min-p. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hy_internal.h"

struct hy_sampler {
  const hy_model_t *model;
  hy_sampler_state_t state;
};

void hy_sampler_options_init(hy_sampler_options_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->temperature = 0.8f;
  o->top_k = 40;
  o->top_p = 0.95f;
  o->min_p = 0.05f;
  o->repetition_penalty = 1.0f;
  o->repetition_last_n = 64;
  o->seed = 0;
}

/* ---- xoshiro256** seeded through splitmix64 (public-domain algorithms) ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4]) {
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(uint64_t s[4]) {
  return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

void hy_sampler_state_seed(hy_sampler_state_t *s, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; ++i) s->rng[i] = splitmix64(&x);
}

hy_status_t hy_sampler_state_check(const hy_sampler_options_t *o) {
  if (!(o->temperature == o->temperature) || !(o->top_p == o->top_p) ||
      !(o->min_p == o->min_p) ||
      !(o->repetition_penalty == o->repetition_penalty))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "sampler option is NaN");
  if (o->top_k < 0 || o->top_p < 0.0f || o->min_p < 0.0f || o->min_p > 1.0f ||
      o->repetition_penalty <= 0.0f || o->repetition_last_n < 0)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "sampler options out of range (top_k %d >= 0, top_p "
                        "%g >= 0, min_p %g in [0, 1], repetition_penalty %g "
                        "> 0, repetition_last_n %d >= 0)",
                        o->top_k, (double)o->top_p, (double)o->min_p,
                        (double)o->repetition_penalty, o->repetition_last_n);
  return HY_OK;
}

hy_status_t hy_sampler_state_init(hy_sampler_state_t *s, int32_t n_vocab,
                                  const hy_sampler_options_t *opt) {
  memset(s, 0, sizeof *s);
  s->n_vocab = n_vocab;
  if (opt)
    s->opt = *opt;
  else
    hy_sampler_options_init(&s->opt);
  s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
  s->seen = calloc((size_t)n_vocab, sizeof *s->seen);
  if (!s->cand || !s->seen) {
    hy_sampler_state_free(s);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY,
                        "cannot allocate sampler scratch for %d tokens",
                        n_vocab);
  }
  hy_sampler_state_seed(s, s->opt.seed);
  return HY_OK;
}

void hy_sampler_state_free(hy_sampler_state_t *s) {
  free(s->cand);
  free(s->seen);
  s->cand = NULL;
  s->seen = NULL;
}

/* Descending by logit, then ascending id, so equal logits order the same way
 * everywhere. */
static int cand_before(const hy_candidate_t *a, const hy_candidate_t *b) {
  return a->logit != b->logit ? a->logit > b->logit : a->id < b->id;
}

/* Min-heap (worst candidate on top) of the best k seen so far. */
static void sift_down(hy_candidate_t *h, size_t n, size_t i) {
  hy_candidate_t v = h[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && cand_before(&h[c], &h[c + 1])) ++c;
    if (!cand_before(&v, &h[c])) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

/* Moves the best k of c[0..n) to c[0..k), sorted best first. */
static void select_top(hy_candidate_t *c, size_t n, size_t k) {
  if (k > n) k = n;
  for (size_t i = k / 2; i-- > 0;) sift_down(c, k, i);
  for (size_t i = k; i < n; ++i) {
    if (cand_before(&c[i], &c[0])) {
      hy_candidate_t t = c[0];
      c[0] = c[i];
      c[i] = t;
      sift_down(c, k, 0);
    }
  }
  /* Heap sort the k winners: repeatedly move the worst to the back. */
  for (size_t m = k; m > 1; --m) {
    hy_candidate_t t = c[0];
    c[0] = c[m - 1];
    c[m - 1] = t;
    sift_down(c, m - 1, 0);
  }
}

int32_t hy_sampler_state_sample(hy_sampler_state_t *s, const float *logits,
                                const int32_t *history, size_t n_history) {
  const hy_sampler_options_t *o = &s->opt;
  const size_t nv = (size_t)s->n_vocab;
  hy_candidate_t *c = s->cand;
  for (size_t i = 0; i < nv; ++i) {
    c[i].logit = logits[i];
    c[i].id = (int32_t)i;
  }

  /* Repetition penalty over the distinct tokens of the recent history. */
  if (o->repetition_penalty != 1.0f && history && n_history) {
    size_t from = n_history > (size_t)o->repetition_last_n
                      ? n_history - (size_t)o->repetition_last_n
                      : 0;
    if (++s->stamp == 0) {
      memset(s->seen, 0, nv * sizeof *s->seen);
      s->stamp = 1;
    }
    for (size_t i = from; i < n_history; ++i) {
      int32_t id = history[i];
      if (id < 0 || (size_t)id >= nv || s->seen[id] == s->stamp) continue;
      s->seen[id] = s->stamp;
      float l = c[id].logit;
      c[id].logit = l > 0 ? l / o->repetition_penalty
                          : l * o->repetition_penalty;
    }
  }

  size_t best = 0;
  for (size_t i = 1; i < nv; ++i)
    if (cand_before(&c[i], &c[best])) best = i;
  if (o->temperature <= 0.0f) return c[best].id;

  /* Temperature: weights w = exp((l - l_max) / T), in double. */
  const double inv_t = 1.0 / (double)o->temperature;
  const float lmax = c[best].logit;
  size_t n = nv;

  /* top-k (and, for top-p, a sorted head). min-p only removes candidates
   * below a fixed ratio to the best, which no other step changes, so it is
   * applied to the survivors of top-k/top-p exactly as if it ran last. */
  int need_sorted = o->top_p < 1.0f;
  if (o->top_k > 0 && (size_t)o->top_k < n) {
    select_top(c, n, (size_t)o->top_k);
    n = (size_t)o->top_k;
  } else if (need_sorted) {
    select_top(c, n, n);
  }

  double total = 0;
  for (size_t i = 0; i < n; ++i) total += exp(((double)c[i].logit - lmax) * inv_t);

  if (need_sorted) {
    double target = (double)o->top_p * total, cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += exp(((double)c[i].logit - lmax) * inv_t);
      if (cum >= target) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }

  /* min-p and the draw. */
  const double min_w = (double)o->min_p; /* relative to w_max = 1 */
  double kept = 0;
  for (size_t i = 0; i < n; ++i) {
    double w = exp(((double)c[i].logit - lmax) * inv_t);
    if (w < min_w) w = 0;
    kept += w;
  }
  double u = next_unit(s->rng) * kept, cum = 0;
  int32_t last = c[0].id;
  for (size_t i = 0; i < n; ++i) {
    double w = exp(((double)c[i].logit - lmax) * inv_t);
    if (w < min_w) continue;
    cum += w;
    last = c[i].id;
    if (u < cum) return c[i].id;
  }
  return last; /* rounding at the very end of the range */
}

/* ---- public sampler ---------------------------------------------------------- */

hy_status_t hy_sampler_create(const hy_model_t *model,
                              const hy_sampler_options_t *options,
                              hy_sampler_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_sampler_create: out is NULL");
  *out = NULL;
  if (!model)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_sampler_create: model is NULL");
  hy_status_t st;
  if (options && (st = hy_sampler_state_check(options)) != HY_OK) return st;
  hy_sampler_t *s = calloc(1, sizeof *s);
  if (!s) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  s->model = model;
  if ((st = hy_sampler_state_init(&s->state, (int32_t)model->desc.n_vocab,
                                  options)) != HY_OK) {
    free(s);
    return st;
  }
  *out = s;
  return HY_OK;
}

void hy_sampler_release(hy_sampler_t *sampler) {
  if (!sampler) return;
  hy_sampler_state_free(&sampler->state);
  free(sampler);
}

hy_status_t hy_sampler_reset(hy_sampler_t *sampler, uint64_t seed) {
  if (!sampler)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_sampler_reset: sampler is NULL");
  hy_sampler_state_seed(&sampler->state, seed);
  return HY_OK;
}

hy_status_t hy_sampler_sample(hy_sampler_t *sampler, const float *logits,
                              size_t n_logits, const int32_t *history,
                              size_t n_history, int32_t *token) {
  if (!sampler || !logits || !token || (!history && n_history))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_sampler_sample: sampler, logits and token must "
                        "not be NULL (history only when n_history is 0)");
  if (n_logits < (size_t)sampler->state.n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_sampler_sample: %zu logits, the model has %d",
                        n_logits, sampler->state.n_vocab);
  *token = hy_sampler_state_sample(&sampler->state, logits, history, n_history);
  return HY_OK;
}
