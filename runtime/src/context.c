/* context.c - decoding contexts: KV cache, decode, prefill, generation with
 * streaming, stop conditions and cancellation. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hy_internal.h"
#include "unicode.h"

struct hy_context {
  hy_model_t *model;
  uint8_t *arena;
  uint8_t *kv;       /* kv_bytes of anonymous mapping (kv_map_bytes) */
  size_t kv_map_bytes;
  float *logits;     /* n_vocab: the last decoded position's logits */
  int logits_valid;
  int32_t *tokens;   /* n_ctx: what the KV cache holds */
  int32_t pos;
  atomic_int cancel;
  hy_sampler_state_t sampler;
  char *pending;     /* generated text not yet streamed */
  size_t pending_cap;
  int32_t max_stop_bytes;
};

void hy_context_options_init(hy_context_options_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->max_stop_bytes = 256;
}

/* The KV cache: an anonymous private mapping, zero-filled by the kernel page
 * by page as positions are first written, so a context only holds the
 * memory of the positions it has used (a 2048-position cache of the full
 * HY model is 268 MB; a 640-token run touches under a third of it). Page
 * aligned, so also 64-byte aligned. */
static uint8_t *map_kv(int64_t bytes, size_t *mapped) {
  size_t n = ((size_t)bytes + 4095) & ~(size_t)4095;
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  *mapped = n;
  return p;
}

static void *alloc64(int64_t bytes) {
  size_t n = ((size_t)bytes + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, n);
  if (p) memset(p, 0, n);
  return p;
}

hy_status_t hy_context_create_ex(hy_model_t *model,
                                 const hy_context_options_t *options,
                                 hy_context_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_create: out is NULL");
  *out = NULL;
  if (!model)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_create: model is NULL");
  hy_context_options_t o;
  if (options)
    o = *options;
  else
    hy_context_options_init(&o);
  if (o.max_stop_bytes < 1 || o.max_stop_bytes > (1 << 20))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_create: max_stop_bytes %d outside [1, 2^20]",
                        o.max_stop_bytes);
  const hy_model_desc_t *d = &model->desc;
  hy_context_t *c = calloc(1, sizeof *c);
  if (!c) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  c->model = model;
  c->max_stop_bytes = o.max_stop_bytes;
  /* A token's bytes are appended to the pending text while up to
   * max_stop_bytes - 1 bytes (a possible stop-string start) and 3 bytes (an
   * unfinished UTF-8 character) are still held. */
  size_t max_token = model->tok ? model->tok->max_token_bytes : 0;
  c->pending_cap = (size_t)o.max_stop_bytes + max_token + 8;
  c->arena = alloc64(d->arena_bytes);
  c->kv = map_kv(d->kv_bytes, &c->kv_map_bytes);
  c->logits = alloc64(d->n_vocab * (int64_t)sizeof(float));
  c->tokens = calloc((size_t)d->n_ctx, sizeof *c->tokens);
  c->pending = malloc(c->pending_cap);
  hy_status_t s = HY_OK;
  if (!c->arena || !c->kv || !c->logits || !c->tokens || !c->pending ||
      (s = hy_sampler_state_init(&c->sampler, (int32_t)d->n_vocab, NULL)) !=
          HY_OK) {
    hy_context_release(c);
    return s != HY_OK ? s
                      : hy_set_error(HY_ERR_OUT_OF_MEMORY,
                                     "cannot allocate a context (%lld arena + "
                                     "%lld KV bytes)",
                                     (long long)d->arena_bytes,
                                     (long long)d->kv_bytes);
  }
  *out = c;
  return HY_OK;
}

hy_status_t hy_context_create(hy_model_t *model, hy_context_t **out) {
  return hy_context_create_ex(model, NULL, out);
}

void hy_context_release(hy_context_t *ctx) {
  if (!ctx) return;
  free(ctx->arena);
  if (ctx->kv) munmap(ctx->kv, ctx->kv_map_bytes);
  free(ctx->logits);
  free(ctx->tokens);
  free(ctx->pending);
  hy_sampler_state_free(&ctx->sampler);
  free(ctx);
}

hy_status_t hy_context_reset(hy_context_t *ctx) {
  if (!ctx)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_reset: ctx is NULL");
  ctx->pos = 0;
  ctx->logits_valid = 0;
  atomic_store(&ctx->cancel, 0);
  return HY_OK;
}

int32_t hy_context_position(const hy_context_t *ctx) {
  return ctx ? ctx->pos : -1;
}

hy_status_t hy_context_tokens(const hy_context_t *ctx, const int32_t **tokens,
                              size_t *n) {
  if (!ctx || !tokens || !n)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_tokens: ctx, tokens and n must not be NULL");
  *tokens = ctx->tokens;
  *n = (size_t)ctx->pos;
  return HY_OK;
}

hy_status_t hy_context_rewind(hy_context_t *ctx, int32_t position) {
  if (!ctx)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_rewind: ctx is NULL");
  if (position < 0 || position > ctx->pos)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_rewind: position %d outside [0, %d]",
                        position, ctx->pos);
  if (position != ctx->pos) ctx->logits_valid = 0;
  ctx->pos = position;
  return HY_OK;
}

hy_status_t hy_context_keep_prefix(hy_context_t *ctx, const int32_t *tokens,
                                   size_t n, size_t *n_kept) {
  if (!ctx || !n_kept || (!tokens && n))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_keep_prefix: ctx and n_kept must not be "
                        "NULL, nor tokens when n > 0");
  size_t k = 0, limit = n ? n - 1 : 0;
  while (k < limit && k < (size_t)ctx->pos && ctx->tokens[k] == tokens[k]) ++k;
  if (k != (size_t)ctx->pos) ctx->logits_valid = 0;
  ctx->pos = (int32_t)k;
  *n_kept = k;
  return HY_OK;
}

hy_status_t hy_context_logits(const hy_context_t *ctx, const float **logits,
                              size_t *n) {
  if (!ctx || !logits || !n)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_logits: ctx, logits and n must not be NULL");
  if (!ctx->logits_valid)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_context_logits: nothing decoded since the last "
                        "reset or rewind");
  *logits = ctx->logits;
  *n = (size_t)ctx->model->desc.n_vocab;
  return HY_OK;
}

hy_status_t hy_context_cancel(hy_context_t *ctx) {
  if (!ctx)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_cancel: ctx is NULL");
  atomic_store(&ctx->cancel, 1);
  return HY_OK;
}

/* Consumes a cancel request. */
static int take_cancel(hy_context_t *ctx) {
  return atomic_exchange(&ctx->cancel, 0) != 0;
}

/* ---- decode and prefill --------------------------------------------------- */

static hy_status_t check_token(const hy_context_t *ctx, const char *fn,
                               int32_t token) {
  if (token < 0 || token >= ctx->model->desc.n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "%s: token %d outside the vocabulary [0, %lld)", fn,
                        token, (long long)ctx->model->desc.n_vocab);
  return HY_OK;
}

/* One step into ctx->logits; the caller checked the token and the room. */
static hy_status_t step(hy_context_t *ctx, int32_t token) {
  const hy_model_t *m = ctx->model;
  int32_t rc = m->decode(m->weights, ctx->arena, ctx->kv, token, ctx->pos,
                         ctx->logits);
  if (rc != HY_DECODE_OK) {
    ctx->logits_valid = 0;
    return hy_set_error(HY_ERR_INTERNAL,
                        "model library decode failed with status %d "
                        "(token %d, position %d)",
                        rc, token, ctx->pos);
  }
  ctx->tokens[ctx->pos++] = token;
  ctx->logits_valid = 1;
  return HY_OK;
}

hy_status_t hy_decode(hy_context_t *ctx, int32_t token, float *logits,
                      size_t n_logits) {
  if (!ctx || !logits)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_decode: ctx and logits must not be NULL");
  const hy_model_desc_t *d = &ctx->model->desc;
  if ((int64_t)n_logits < d->n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_decode: logits holds %zu floats, the model has %lld",
                        n_logits, (long long)d->n_vocab);
  hy_status_t s = check_token(ctx, "hy_decode", token);
  if (s != HY_OK) return s;
  if (ctx->pos >= d->n_ctx)
    return hy_set_error(HY_ERR_CONTEXT_FULL,
                        "hy_decode: context full (%lld positions)",
                        (long long)d->n_ctx);
  if ((s = step(ctx, token)) != HY_OK) return s;
  memcpy(logits, ctx->logits, (size_t)d->n_vocab * sizeof(float));
  return HY_OK;
}

/* Prompt tokens per call of the library's batched prefill: bounds how long a
 * cancel request waits. */
enum { PREFILL_CHUNK = 128 };

static hy_status_t prefill(hy_context_t *ctx, const int32_t *tokens, size_t n) {
  const hy_model_t *m = ctx->model;
  for (size_t done = 0; done < n;) {
    if (take_cancel(ctx))
      return hy_set_error(HY_ERR_CANCELLED,
                          "cancelled after %zu of %zu prompt tokens", done, n);
    size_t chunk = n - done < PREFILL_CHUNK ? n - done : PREFILL_CHUNK;
    if (!m->prefill || chunk == 1) {
      chunk = 1;
      hy_status_t s = step(ctx, tokens[done]);
      if (s != HY_OK) return s;
    } else {
      int32_t rc = m->prefill(m->weights, ctx->arena, ctx->kv, tokens + done,
                              (int32_t)chunk, ctx->pos, ctx->logits);
      if (rc != HY_DECODE_OK) {
        ctx->logits_valid = 0;
        return hy_set_error(HY_ERR_INTERNAL,
                            "model library prefill failed with status %d "
                            "(%zu tokens at position %d)",
                            rc, chunk, ctx->pos);
      }
      memcpy(ctx->tokens + ctx->pos, tokens + done, chunk * sizeof *tokens);
      ctx->pos += (int32_t)chunk;
      ctx->logits_valid = 1;
    }
    done += chunk;
  }
  return HY_OK;
}

static hy_status_t check_prompt(const hy_context_t *ctx, const char *fn,
                                const int32_t *tokens, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    hy_status_t s = check_token(ctx, fn, tokens[i]);
    if (s != HY_OK) return s;
  }
  int64_t room = ctx->model->desc.n_ctx - ctx->pos;
  if ((int64_t)n > room)
    return hy_set_error(HY_ERR_CONTEXT_FULL,
                        "%s: %zu tokens do not fit: %lld of %lld positions "
                        "are free",
                        fn, n, (long long)room,
                        (long long)ctx->model->desc.n_ctx);
  return HY_OK;
}

hy_status_t hy_prefill(hy_context_t *ctx, const int32_t *tokens, size_t n,
                       float *logits, size_t n_logits) {
  if (!ctx || !tokens || n == 0)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_prefill: ctx and tokens must not be NULL, n > 0");
  const hy_model_desc_t *d = &ctx->model->desc;
  if (logits && (int64_t)n_logits < d->n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_prefill: logits holds %zu floats, the model has "
                        "%lld",
                        n_logits, (long long)d->n_vocab);
  if (!logits && n_logits)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_prefill: logits is NULL but n_logits is %zu",
                        n_logits);
  hy_status_t s = check_prompt(ctx, "hy_prefill", tokens, n);
  if (s != HY_OK) return s;
  if ((s = prefill(ctx, tokens, n)) != HY_OK) return s;
  if (logits) memcpy(logits, ctx->logits, (size_t)d->n_vocab * sizeof(float));
  return HY_OK;
}

int32_t hy_argmax(const float *logits, size_t n) {
  if (!logits || n == 0) return -1;
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return (int32_t)best;
}

/* ---- generation --------------------------------------------------------------- */

void hy_generate_options_init(hy_generate_options_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  hy_sampler_options_init(&o->sampling);
  o->stop_at_eog = 1;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int contains(const int32_t *ids, size_t n, int32_t id) {
  for (size_t i = 0; i < n; ++i)
    if (ids[i] == id) return 1;
  return 0;
}

/* Where the first stop string starts in text[0..n), or -1. */
static long find_stop(const hy_generate_options_t *o, const char *text,
                      size_t n) {
  long first = -1;
  for (size_t k = 0; k < o->n_stop_strings; ++k) {
    const char *s = o->stop_strings[k];
    size_t len = strlen(s);
    for (size_t at = 0; at + len <= n && (first < 0 || (long)at < first); ++at)
      if (memcmp(text + at, s, len) == 0) {
        first = (long)at;
        break;
      }
  }
  return first;
}

/* How many bytes at the end of text[0..n) could begin a stop string. */
static size_t stop_prefix_tail(const hy_generate_options_t *o, const char *text,
                               size_t n) {
  size_t hold = 0;
  for (size_t k = 0; k < o->n_stop_strings; ++k) {
    const char *s = o->stop_strings[k];
    size_t len = strlen(s);
    for (size_t l = len - 1 < n ? len - 1 : n; l > hold; --l)
      if (memcmp(text + n - l, s, l) == 0) {
        hold = l;
        break;
      }
  }
  return hold;
}

typedef struct gen_state {
  hy_context_t *ctx;
  const hy_generate_options_t *o;
  size_t pending;
} gen_state_t;

/* Streams pending[0..n) and keeps the rest. */
static int32_t flush(gen_state_t *g, int32_t token, size_t n) {
  int32_t stop = 0;
  if (g->o->on_token)
    stop = g->o->on_token(g->o->user_data, token, g->ctx->pending, n);
  memmove(g->ctx->pending, g->ctx->pending + n, g->pending - n);
  g->pending -= n;
  return stop;
}

hy_status_t hy_generate(hy_context_t *ctx, const int32_t *prompt,
                        size_t n_prompt, const hy_generate_options_t *options,
                        hy_generate_result_t *result) {
  hy_generate_result_t local;
  hy_generate_result_t *r = result ? result : &local;
  memset(r, 0, sizeof *r);
  r->stop_token = -1;
  if (!ctx || (!prompt && n_prompt))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_generate: ctx is NULL, or prompt is NULL with "
                        "n_prompt > 0");
  hy_generate_options_t defaults;
  hy_generate_options_init(&defaults);
  const hy_generate_options_t *o = options ? options : &defaults;
  hy_status_t s;
  if ((s = hy_sampler_state_check(&o->sampling)) != HY_OK) return s;
  if (o->max_tokens < 0 || (!o->stop_tokens && o->n_stop_tokens) ||
      (!o->stop_strings && o->n_stop_strings) ||
      (!o->tokens_out && o->tokens_capacity))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_generate: max_tokens < 0, or a NULL array with a "
                        "nonzero count");
  for (size_t k = 0; k < o->n_stop_strings; ++k) {
    size_t len = o->stop_strings[k] ? strlen(o->stop_strings[k]) : 0;
    if (len == 0 || len > (size_t)ctx->max_stop_bytes)
      return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                          "hy_generate: stop string %zu is NULL, empty or "
                          "longer than max_stop_bytes (%d)",
                          k, ctx->max_stop_bytes);
  }
  if (o->n_stop_strings && !ctx->model->tok)
    return hy_set_error(HY_ERR_UNSUPPORTED,
                        "hy_generate: stop strings need the tokenizer file");
  if (n_prompt == 0 && !ctx->logits_valid)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_generate: no prompt and nothing decoded to "
                        "continue from");
  if (n_prompt && (s = check_prompt(ctx, "hy_generate", prompt, n_prompt)) !=
                      HY_OK) {
    if (s == HY_ERR_CONTEXT_FULL) r->stop_reason = HY_STOP_CONTEXT_FULL;
    return s;
  }

  double t0 = now_seconds();
  if (n_prompt) {
    int32_t pos0 = ctx->pos;
    s = prefill(ctx, prompt, n_prompt);
    r->n_prompt = ctx->pos - pos0;
    if (s != HY_OK) {
      if (s == HY_ERR_CANCELLED) r->stop_reason = HY_STOP_CANCELLED;
      r->prompt_seconds = now_seconds() - t0;
      return s;
    }
  }
  double t1 = now_seconds();
  r->prompt_seconds = t1 - t0;

  ctx->sampler.opt = o->sampling;
  hy_sampler_state_seed(&ctx->sampler, o->sampling.seed);
  const int32_t *eog = NULL;
  size_t n_eog = 0;
  if (o->stop_at_eog) hy_model_eog(ctx->model, &eog, &n_eog);
  const hy_tokenizer_t *tok = ctx->model->tok;
  gen_state_t g = {ctx, o, 0};
  const int64_t n_ctx = ctx->model->desc.n_ctx;

  for (;;) {
    if (take_cancel(ctx)) {
      r->stop_reason = HY_STOP_CANCELLED;
      s = hy_set_error(HY_ERR_CANCELLED, "hy_generate: cancelled after %d tokens",
                       r->n_generated);
      break;
    }
    if (o->max_tokens > 0 && r->n_generated >= o->max_tokens) {
      r->stop_reason = HY_STOP_MAX_TOKENS;
      break;
    }
    int32_t token = hy_sampler_state_sample(&ctx->sampler, ctx->logits,
                                            ctx->tokens, (size_t)ctx->pos);
    if (contains(eog, n_eog, token) ||
        contains(o->stop_tokens, o->n_stop_tokens, token)) {
      r->stop_reason = HY_STOP_EOG;
      r->stop_token = token;
      break;
    }
    if ((size_t)r->n_generated < o->tokens_capacity)
      o->tokens_out[r->n_generated] = token;
    r->n_generated++;

    /* The token's text joins the held-back text; stream what is final. */
    if (tok) {
      size_t len = tok->offsets[token + 1] - tok->offsets[token];
      memcpy(ctx->pending + g.pending, tok->text + tok->offsets[token], len);
      g.pending += len;
    }
    long at = find_stop(o, ctx->pending, g.pending);
    if (at >= 0) {
      g.pending = (size_t)at; /* drop the stop string and what follows */
      flush(&g, token, g.pending);
      r->stop_reason = HY_STOP_STRING;
      break;
    }
    size_t ready = hy_utf8_complete_prefix((const uint8_t *)ctx->pending,
                                           g.pending);
    size_t hold = stop_prefix_tail(o, ctx->pending, g.pending);
    if (g.pending - hold < ready) ready = g.pending - hold;
    if (flush(&g, token, ready) != 0) {
      r->stop_reason = HY_STOP_CALLBACK;
      break;
    }
    if (o->max_tokens > 0 && r->n_generated >= o->max_tokens) {
      r->stop_reason = HY_STOP_MAX_TOKENS;
      break;
    }
    if (ctx->pos >= n_ctx) {
      r->stop_reason = HY_STOP_CONTEXT_FULL;
      s = hy_set_error(HY_ERR_CONTEXT_FULL,
                       "hy_generate: context full (%lld positions) after %d "
                       "tokens",
                       (long long)n_ctx, r->n_generated);
      break;
    }
    if ((s = step(ctx, token)) != HY_OK) break;
  }
  if (g.pending > 0 && r->stop_reason != HY_STOP_STRING &&
      r->stop_reason != HY_STOP_CALLBACK)
    flush(&g, -1, g.pending);
  g.pending = 0;
  r->generate_seconds = now_seconds() - t1;
  return s;
}
