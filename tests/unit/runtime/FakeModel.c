/* FakeModel.c - a stand-in model library for the runtime tests: the ABI of a
 * hyc-compiled library (desc, decode, prefill, set_parallel) around a cheap,
 * deterministic "model" whose logits depend on every token in its KV cache.
 *
 * Built twice: as libhy_fake.so (symbols hy_fake_*, loaded with
 * hy_model_open_dir) and into the test binaries with -DFAKE_STATIC (symbols
 * fake_static_*, opened with hy_model_open_static_ex). */
#include <stdatomic.h>
#include <string.h>

#include "hy/hy_abi.h"

#ifdef FAKE_STATIC
#define FAKE(x) fake_static_##x
#define FAKE_API
#else
#define FAKE(x) hy_fake_##x
#define FAKE_API __attribute__((visibility("default")))
#endif

#include "FakeModel.h"

FAKE_API hy_model_desc_t FAKE(desc) = {
    HY_ABI_VERSION, FAKE_VOCAB, 8, 1, 1, 1, 8, 8, FAKE_CTX, FAKE_WEIGHTS,
    64,             FAKE_CTX * 4, FAKE_BOS, FAKE_EOS, 0 /* hash: below */, 0};

FAKE_API void FAKE(fill_weights)(uint8_t *out) {
  for (int i = 0; i < FAKE_WEIGHTS; ++i) out[i] = (uint8_t)(i * 7 + 3);
}

/* The runtime's weights fingerprint (FNV-1a over 64-bit words). */
__attribute__((constructor)) static void fake_init(void) {
  uint8_t w[FAKE_WEIGHTS];
  FAKE(fill_weights)(w);
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < FAKE_WEIGHTS; i += 8) {
    uint64_t word;
    memcpy(&word, w + i, 8);
    h = (h ^ word) * 0x100000001b3ull;
  }
  FAKE(desc).weights_hash = (int64_t)h;
}

static hy_parallel_for_fn fake_parallel_for;
static void *fake_pool;
FAKE_API atomic_long FAKE(parallel_tasks);
FAKE_API atomic_long FAKE(prefill_calls);

FAKE_API void FAKE(set_parallel)(hy_parallel_for_fn fn, void *pool) {
  fake_parallel_for = fn;
  fake_pool = pool;
}

struct fake_job {
  uint32_t h;
  float *logits;
};

enum { FAKE_CHUNKS = 8 };

static int32_t fake_fill(void *ctx, int32_t chunk) {
  const struct fake_job *j = ctx;
  for (int i = chunk * (FAKE_VOCAB / FAKE_CHUNKS);
       i < (chunk + 1) * (FAKE_VOCAB / FAKE_CHUNKS); ++i)
    j->logits[i] =
        (float)(((j->h ^ ((uint32_t)i * 2654435761u)) >> 8) % 1000) / 1000.0f;
  atomic_fetch_add(&FAKE(parallel_tasks), 1);
  return 0;
}

static uint32_t fake_state(const uint8_t *weights, const int32_t *cache,
                           int32_t pos) {
  uint32_t h = 2166136261u;
  for (int32_t p = 0; p <= pos; ++p) h = (h ^ (uint32_t)cache[p]) * 16777619u;
  return (h ^ weights[pos % FAKE_WEIGHTS]) * 16777619u;
}

static void fake_logits(const uint8_t *weights, const int32_t *cache,
                        int32_t pos, float *logits) {
  struct fake_job j = {fake_state(weights, cache, pos), logits};
  if (fake_parallel_for) {
    fake_parallel_for(fake_pool, fake_fill, &j, FAKE_CHUNKS);
  } else {
    for (int c = 0; c < FAKE_CHUNKS; ++c) fake_fill(&j, c);
  }
  logits[FAKE_NEXT(j.h, pos)] = 5.0f;
}

FAKE_API int32_t FAKE(decode)(const uint8_t *weights, uint8_t *arena,
                              uint8_t *kv, int32_t token, int32_t pos,
                              float *logits) {
  if (token < 0 || token >= FAKE_VOCAB) return HY_DECODE_BAD_TOKEN;
  if (pos < 0 || pos >= FAKE_CTX) return HY_DECODE_BAD_POSITION;
  if (token == FAKE_ERROR_TOKEN) return 42;
  int32_t *cache = (int32_t *)kv;
  cache[pos] = token;
  arena[pos % 64] = (uint8_t)token;
  fake_logits(weights, cache, pos, logits);
  return HY_DECODE_OK;
}

FAKE_API int32_t FAKE(prefill)(const uint8_t *weights, uint8_t *arena,
                               uint8_t *kv, const int32_t *tokens, int32_t n,
                               int32_t pos0, float *logits) {
  if (n < 1 || n > FAKE_CTX) return HY_DECODE_BAD_COUNT;
  if (pos0 < 0 || pos0 > FAKE_CTX - n) return HY_DECODE_BAD_POSITION;
  for (int32_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= FAKE_VOCAB) return HY_DECODE_BAD_TOKEN;
  atomic_fetch_add(&FAKE(prefill_calls), 1);
  int32_t *cache = (int32_t *)kv;
  for (int32_t i = 0; i < n; ++i) {
    if (tokens[i] == FAKE_ERROR_TOKEN) return 42;
    cache[pos0 + i] = tokens[i];
    arena[(pos0 + i) % 64] = (uint8_t)tokens[i];
  }
  fake_logits(weights, cache, pos0 + n - 1, logits);
  return HY_DECODE_OK;
}
