/* hy_internal.h - runtime-internal types and helpers shared by the runtime's sources. */
#ifndef HY_INTERNAL_H_
#define HY_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "hy/hy.h"
#include "hy/hy_tokenizer_file.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors (status.c) ---------------------------------------------------- */

/** Records a formatted message as this thread's last error; returns status. */
hy_status_t hy_set_error(hy_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** The weights fingerprint the compiler stores in hy_model_desc_t. */
uint64_t hy_weights_hash(const uint8_t *data, size_t size);

/* ---- CPU features (cpu.c) -------------------------------------------------- */

/* HY_OK if this CPU has every HY_CPU_* feature in `needed`; otherwise
 * HY_ERR_UNSUPPORTED with a message naming the missing ones (cpu.c). */
hy_status_t hy_check_cpu_features(int64_t needed);

/* ---- thread pool (pool.c) -------------------------------------------------- */

typedef struct hy_pool hy_pool_t;

/** A pool of n_threads - 1 workers (the caller is the n-th). */
hy_status_t hy_pool_create(int32_t n_threads, hy_pool_t **out);
void hy_pool_release(hy_pool_t *pool);
int32_t hy_pool_threads(const hy_pool_t *pool);
/** Loops that ran on the pool's workers so far (not the inline ones). */
long hy_pool_jobs(const hy_pool_t *pool);
/** hy_parallel_for_fn over a hy_pool_t (see hy_abi.h). Runs the tasks inline
 *  when the pool is busy (another thread's loop, or a nested call). */
int32_t hy_pool_parallel_for(void *pool, hy_task_fn task, void *task_ctx,
                             int32_t n);
/** hy_prefetch_fn over a hy_pool_t: the weights the next loop will read
 *  (idle threads prefetch the front of their shares). */
void hy_pool_prefetch(void *pool, const void *data, int64_t bytes);
/** Bytes per thread an idle thread prefetches of one hint (0: off; the
 *  default is half the L2 within [64 KiB, 1 MiB]). */
void hy_pool_set_prefetch_cap(hy_pool_t *pool, int64_t bytes);
/** Cache lines the idle threads have requested so far (for tests). */
long hy_pool_prefetched_lines(const hy_pool_t *pool);
/** Online CPUs (at least 1). */
int32_t hy_cpu_count(void);

/* ---- tokenizer (tokenizer.c) ------------------------------------------------- */

typedef struct hy_tokenizer {
  uint32_t pre_split;
  int32_t n_tokens;
  int32_t bos_id, eos_id, pad_id;
  int32_t *eog;
  size_t n_eog;
  /* token i: bytes text + offsets[i], length offsets[i+1] - offsets[i] */
  uint8_t *types;
  uint32_t *offsets;
  char *text;
  size_t max_token_bytes;
  int32_t byte_token[256];
  /* merges as an open-addressing table keyed by (left, right) */
  struct hy_merge_slot *merge_table;
  size_t merge_mask;
  /* token bytes -> id, open addressing (normal tokens first) */
  int32_t *vocab_table;
  size_t vocab_mask;
  /* the special tokens' ids sorted by their bytes, for leftmost-longest
   * matching; special_first: bitmap of the bytes they start with */
  int32_t *special;
  size_t n_special;
  uint8_t special_first[32];
  /* chat template pieces (HY_CHAT_*), NUL-terminated; has_chat = 0 if none */
  int has_chat;
  char *chat[HY_CHAT_N_STRINGS];
  size_t chat_len[HY_CHAT_N_STRINGS];
  int32_t chat_token[HY_CHAT_N_STRINGS]; /* single special token, or -1 */
} hy_tokenizer_t;

/** Loads and validates a tokenizer file; n_vocab (if > 0) must match its
 *  token count. */
hy_status_t hy_tokenizer_load(const char *path, int32_t n_vocab,
                              hy_tokenizer_t **out);
void hy_tokenizer_release(hy_tokenizer_t *tok);

/** Appends the ids of text[0..len) to out[*n..cap) (counting past cap). */
hy_status_t hy_tokenizer_encode(const hy_tokenizer_t *tok, const char *text,
                                size_t len, int parse_special, int32_t *out,
                                size_t cap, size_t *n);

static inline int hy_token_is_special(const hy_tokenizer_t *tok, int32_t id) {
  uint8_t t = tok->types[id];
  return t == HY_TOKEN_TYPE_CONTROL || t == HY_TOKEN_TYPE_USER_DEFINED;
}

/* ---- models and contexts ----------------------------------------------------- */

struct hy_model {
  hy_model_desc_t desc;
  hy_decode_fn decode;
  hy_prefill_fn prefill;         /* NULL: loop over decode */
  hy_set_parallel_fn set_parallel; /* NULL: the kernels use their own pool */
  hy_set_prefetch_fn set_prefetch; /* NULL: the library gives no hints */
  hy_pool_t *pool;               /* shared per set_parallel (see model.c) */
  const uint8_t *weights;
  size_t weights_size;
  int weights_mapped; /* 1: weights are our mmap; 0: memory of the caller/library */
  void *dl; /* dlopen handle when opened from a directory */
  hy_tokenizer_t *tok; /* NULL without a tokenizer file */
  int32_t eos_only[1]; /* end-of-generation ids without a tokenizer */
};

/** The tokens that end generation (the tokenizer's list, else desc eos). */
void hy_model_eog(const hy_model_t *model, const int32_t **ids, size_t *n);

/* ---- sampling (sampler.c) ------------------------------------------------------ */

typedef struct hy_candidate {
  float logit;
  int32_t id;
} hy_candidate_t;

/** A sampler's state and scratch; embedded in contexts and in hy_sampler_t. */
typedef struct hy_sampler_state {
  hy_sampler_options_t opt;
  uint64_t rng[4];
  int32_t n_vocab;
  hy_candidate_t *cand; /* n_vocab */
  uint32_t *seen;       /* n_vocab stamps for the repetition penalty */
  uint32_t stamp;
} hy_sampler_state_t;

hy_status_t hy_sampler_state_init(hy_sampler_state_t *s, int32_t n_vocab,
                                  const hy_sampler_options_t *opt);
void hy_sampler_state_free(hy_sampler_state_t *s);
void hy_sampler_state_seed(hy_sampler_state_t *s, uint64_t seed);
hy_status_t hy_sampler_state_check(const hy_sampler_options_t *opt);
int32_t hy_sampler_state_sample(hy_sampler_state_t *s, const float *logits,
                                const int32_t *history, size_t n_history);

#ifdef __cplusplus
}
#endif

#endif /* HY_INTERNAL_H_ */
