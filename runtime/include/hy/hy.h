/* hy.h - the hy runtime's public C API: load a hyc-compiled model, tokenize,
 * decode, sample, generate, chat.
 *
 * Statuses: every fallible call returns hy_status_t (HY_OK == 0); on failure
 * hy_last_error() describes what went wrong. No call aborts on a caller's
 * mistake (NULL handles, wrong sizes, bad ids): those return
 * HY_ERR_INVALID_ARGUMENT. Outputs are only written on HY_OK unless a
 * function says otherwise.
 *
 * Ownership: objects returned through `**out` are owned by the caller and
 * freed with the matching *_release (which accepts NULL); on failure *out is
 * set to NULL. Contexts and
 * samplers keep a pointer to their model: release them before the model.
 * Pointers the runtime returns (token bytes, the context's logits and token
 * history) point into runtime memory and stay valid as long as the text says.
 * Strings and arrays passed in are only read during the call.
 *
 * Thread-safety: an opened model is immutable and may be used from any number
 * of threads at once (tokenize, detokenize, chat formatting, creating
 * contexts). A context or a sampler must be used by one thread at a time,
 * except hy_context_cancel(), which any thread may call at any time. Contexts
 * of one model decode concurrently and independently. hy_last_error() is per
 * thread.
 *
 * Memory: everything a context needs (arena, KV cache, logits, sampling
 * scratch, token history, stop-string buffer) is allocated by
 * hy_context_create; decoding, prefill, sampling and generation allocate
 * nothing. Tokenization allocates temporary memory only for unusually long
 * words. Weights are memory-mapped read-only.
 */
#ifndef HY_H_
#define HY_H_

#include <stddef.h>
#include <stdint.h>

#include "hy/hy_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HY_API __attribute__((visibility("default")))
#else
#define HY_API
#endif

/* ======================================================================== */
/* Statuses and errors                                                       */
/* ======================================================================== */

/** Append-only. */
typedef enum hy_status_t {
  HY_OK = 0,
  HY_ERR_INVALID_ARGUMENT = 1, /**< a NULL handle, a wrong size, a bad id */
  HY_ERR_IO = 2,               /**< a file could not be opened or mapped */
  HY_ERR_ABI_MISMATCH = 3,     /**< library built for another ABI version */
  HY_ERR_CORRUPT = 4,          /**< weights/tokenizer file damaged or foreign */
  HY_ERR_OUT_OF_MEMORY = 5,
  HY_ERR_CONTEXT_FULL = 6,     /**< every position of the KV cache is used */
  HY_ERR_INTERNAL = 7,         /**< the library reported an unexpected error */
  HY_ERR_BUFFER_TOO_SMALL = 8, /**< output buffer too small; the call reports
                                    the size it needs */
  HY_ERR_UNSUPPORTED = 9,      /**< the model lacks what the call needs (no
                                    tokenizer file, no chat template) */
  HY_ERR_CANCELLED = 10,       /**< hy_context_cancel() stopped the call */
} hy_status_t;

/** Message of the last failed call on this thread ("" if none yet). The
 *  string stays valid until the next failing call on this thread. */
HY_API const char *hy_last_error(void);

/** A static name for a status ("HY_OK", "HY_ERR_CONTEXT_FULL", ...). */
HY_API const char *hy_status_string(hy_status_t status);

/* ======================================================================== */
/* Models                                                                    */
/* ======================================================================== */

typedef struct hy_model hy_model_t;
typedef struct hy_context hy_context_t;
typedef struct hy_sampler hy_sampler_t;

typedef struct hy_model_options_t {
  /** Threads for the kernels' parallel loops, the calling thread included
   *  (1: no worker threads). 0 (default): the number of online CPUs. Takes
   *  effect only with libraries that export hy_<name>_set_parallel; models
   *  sharing one library (one static library, or one .so opened twice)
   *  share the pool of the first of them opened. */
  int32_t n_threads;
  /** Tokenizer file. NULL (default): hy_model_open_dir uses DIR/NAME.tokenizer,
   *  the static openers use the weights path with its ".weights" suffix
   *  replaced by ".tokenizer". A missing default file is not an error (the
   *  tokenizer calls then return HY_ERR_UNSUPPORTED); a missing explicit
   *  file, or any unreadable or corrupt one, is. */
  const char *tokenizer_path;
  /** Static libraries only: the library's optional entry points from
   *  hy_model.h, or NULL if it does not export them (hy_model_open_dir finds
   *  them itself). */
  hy_prefill_fn prefill;
  hy_set_parallel_fn set_parallel;
  /** Weights already in memory (a library compiled with --embed-weights
   *  exports them as hy_<name>_weights): used instead of a weights file, which
   *  may then be NULL. Not copied: must outlive the model. Size and
   *  fingerprint are checked against desc as for a file. hy_model_open_dir
   *  finds the embedded weights itself when DIR/NAME.weights does not exist. */
  const uint8_t *weights_data;
  /** Nonzero: read the weights file into private anonymous memory advised
   *  for transparent huge pages instead of mapping it (llama.cpp's
   *  --no-mmap). Decode streams every weight once per token, and through 2
   *  MiB pages it takes far fewer TLB misses: measured 1.12x faster decode
   *  on the full-size model here (bench/RESULTS.md). Costs reading the file
   *  at open, and the memory is no longer page cache the system can drop.
   *  0 (default): the file is mmapped. Ignored with weights_data. */
  int32_t no_mmap;
  /** Static libraries only: the optional hy_<name>_set_prefetch from
   *  hy_model.h, or NULL (hy_model_open_dir finds it itself). With it, the
   *  pool's idle threads prefetch the weights the next kernel reads (see
   *  hy_prefetch_fn in hy_abi.h); it takes effect only with set_parallel. */
  hy_set_prefetch_fn set_prefetch;
} hy_model_options_t;

/** Fills *options with the defaults. */
HY_API void hy_model_options_init(hy_model_options_t *options);

/** Opens a model whose library is linked into the program: `desc` and
 *  `decode` are the library's hy_<name>_desc and hy_<name>_decode;
 *  `weights_path` is its weights blob (memory-mapped, read-only; its size and
 *  fingerprint must match desc), or NULL with options->weights_data set. Checks desc->abi_version first. `options`
 *  may be NULL (defaults). */
HY_API hy_status_t hy_model_open_static_ex(const hy_model_desc_t *desc,
                                           hy_decode_fn decode,
                                           const char *weights_path,
                                           const hy_model_options_t *options,
                                           hy_model_t **out);

/** hy_model_open_static_ex with default options. */
HY_API hy_status_t hy_model_open_static(const hy_model_desc_t *desc,
                                        hy_decode_fn decode,
                                        const char *weights_path,
                                        hy_model_t **out);

/** Opens the model hyc wrote to `dir`: dlopens dir/libhy_<name>.so (name from
 *  dir/hy_model.name), checks its ABI version, maps dir/<name>.weights and
 *  loads dir/<name>.tokenizer. `options` may be NULL. */
HY_API hy_status_t hy_model_open_dir_ex(const char *dir,
                                        const hy_model_options_t *options,
                                        hy_model_t **out);
HY_API hy_status_t hy_model_open_dir(const char *dir, hy_model_t **out);

/** Frees the model (NULL is fine). Its contexts and samplers must be released
 *  first. */
HY_API void hy_model_release(hy_model_t *model);

/** The model's constant description (valid while the model is open), or NULL
 *  if model is NULL. */
HY_API const hy_model_desc_t *hy_model_desc(const hy_model_t *model);

typedef struct hy_model_info_t {
  int32_t n_vocab;
  int32_t n_ctx;          /**< positions a context holds */
  int32_t bos_id;         /**< -1 when the model has none */
  int32_t eos_id;         /**< -1 when the model has none */
  int32_t pad_id;         /**< -1 when the model has none */
  int32_t has_tokenizer;  /**< tokenize/detokenize available */
  int32_t has_chat;       /**< chat template available */
  int32_t has_prefill;    /**< the library has a batched prefill entry */
  int32_t has_parallel;   /**< the library routes its loops to our pool */
  int32_t n_threads;      /**< threads of that pool (1 without it) */
  /** Tokens that end generation (eos, end of turn, ...); owned by the model. */
  const int32_t *eog_ids;
  size_t n_eog;
} hy_model_info_t;

HY_API hy_status_t hy_model_info(const hy_model_t *model, hy_model_info_t *info);

/* ======================================================================== */
/* Tokenizer (needs the model's .tokenizer file)                             */
/* ======================================================================== */

/** hy_tokenize flags. */
enum {
  /** Match special tokens (control and user-defined tokens such as
   *  "<｜hy_User｜>") in the text; without it they are ordinary text. */
  HY_TOKENIZE_PARSE_SPECIAL = 1u << 0,
  /** Put the model's BOS token first (if it has one). */
  HY_TOKENIZE_ADD_BOS = 1u << 1,
};

/** Byte-level BPE with HY's pre-split. Writes up to `max_tokens` ids to
 *  `tokens` (NULL allowed when max_tokens is 0) and the full count to
 *  *n_tokens. HY_ERR_BUFFER_TOO_SMALL if they do not fit: call again with
 *  *n_tokens slots. `text` need not be NUL-terminated nor valid UTF-8. */
HY_API hy_status_t hy_tokenize(const hy_model_t *model, const char *text,
                               size_t text_len, uint32_t flags,
                               int32_t *tokens, size_t max_tokens,
                               size_t *n_tokens);

/** hy_detokenize flags. */
enum {
  /** Leave control tokens (bos, eos, chat markers...) out of the text. */
  HY_DETOKENIZE_SKIP_SPECIAL = 1u << 0,
};

/** The bytes the tokens stand for. Writes them plus a NUL to `text` and
 *  their count (without the NUL) to *text_len; HY_ERR_BUFFER_TOO_SMALL if
 *  `text_cap` < count + 1 (then *text_len is the count). Detokenizing what
 *  hy_tokenize made gives back the exact input bytes. */
HY_API hy_status_t hy_detokenize(const hy_model_t *model, const int32_t *tokens,
                                 size_t n_tokens, uint32_t flags, char *text,
                                 size_t text_cap, size_t *text_len);

/** The bytes of one token (not NUL-terminated; may be part of a UTF-8
 *  character). *bytes points into the model and is valid while it is open. */
HY_API hy_status_t hy_token_bytes(const hy_model_t *model, int32_t token,
                                  const char **bytes, size_t *len);

/** The id of the token whose bytes are exactly text[0..len), e.g. a special
 *  token's spelling. HY_ERR_INVALID_ARGUMENT if there is none. */
HY_API hy_status_t hy_token_find(const hy_model_t *model, const char *text,
                                 size_t len, int32_t *token);

/* ======================================================================== */
/* Contexts: KV cache, decode, prefill                                        */
/* ======================================================================== */

typedef struct hy_context_options_t {
  /** Longest stop string hy_generate accepts, in bytes (default 256). Sizes
   *  the stop-string buffer allocated with the context. */
  int32_t max_stop_bytes;
} hy_context_options_t;

HY_API void hy_context_options_init(hy_context_options_t *options);

/** Creates a decoding context: allocates the activation arena, the KV cache
 *  (desc->n_ctx positions) and all generation scratch once. `options` may be
 *  NULL. */
HY_API hy_status_t hy_context_create_ex(hy_model_t *model,
                                        const hy_context_options_t *options,
                                        hy_context_t **out);
HY_API hy_status_t hy_context_create(hy_model_t *model, hy_context_t **out);
HY_API void hy_context_release(hy_context_t *ctx);

/** Forgets every position: the next decode is at position 0. Also drops a
 *  pending cancel request. */
HY_API hy_status_t hy_context_reset(hy_context_t *ctx);

/** Number of positions decoded so far (-1 if ctx is NULL). */
HY_API int32_t hy_context_position(const hy_context_t *ctx);

/** The tokens in the KV cache, oldest first (*n == position). The pointer
 *  stays valid while the context lives; its contents change with decoding. */
HY_API hy_status_t hy_context_tokens(const hy_context_t *ctx,
                                     const int32_t **tokens, size_t *n);

/** Keeps only the first `position` positions (0 <= position <= current);
 *  decoding continues from there. The logits of hy_context_logits are stale
 *  until the next decode. */
HY_API hy_status_t hy_context_rewind(hy_context_t *ctx, int32_t position);

/** For reusing the KV cache across calls (chat turns): rewinds to the longest
 *  common prefix of the cache and tokens[0..n), but at most n - 1 positions so
 *  that at least one token remains to be decoded, and writes that count to
 *  *n_kept. Decode or prefill tokens[*n_kept..n) next. */
HY_API hy_status_t hy_context_keep_prefix(hy_context_t *ctx,
                                          const int32_t *tokens, size_t n,
                                          size_t *n_kept);

/** Logits of the last decoded position (n_vocab floats, owned by the
 *  context, overwritten by the next decode). HY_ERR_INVALID_ARGUMENT when
 *  nothing has been decoded since the last reset/rewind. */
HY_API hy_status_t hy_context_logits(const hy_context_t *ctx,
                                     const float **logits, size_t *n);

/** Asks the current (or, if none runs, the next) hy_prefill or hy_generate on
 *  this context to stop at the next token boundary; that call then returns
 *  HY_ERR_CANCELLED. Safe from any thread, including a streaming callback. */
HY_API hy_status_t hy_context_cancel(hy_context_t *ctx);

/** Decodes `token` at the next position and writes n_vocab logits to
 *  `logits` (`n_logits` floats of caller memory, at least n_vocab).
 *  HY_ERR_CONTEXT_FULL when all n_ctx positions are used. */
HY_API hy_status_t hy_decode(hy_context_t *ctx, int32_t token, float *logits,
                             size_t n_logits);

/** Decodes tokens[0..n) at the next n positions (the library's batched
 *  prefill when it has one, else one decode step per token). `logits` gets the
 *  last token's logits; it may be NULL (n_logits 0): they are kept in the
 *  context either way. Nothing is decoded and HY_ERR_CONTEXT_FULL is returned
 *  if the tokens do not fit. On HY_ERR_CANCELLED the position tells how many
 *  tokens were decoded. */
HY_API hy_status_t hy_prefill(hy_context_t *ctx, const int32_t *tokens,
                              size_t n, float *logits, size_t n_logits);

/** Index of the largest of `n` logits (the first on ties); -1 if n == 0 or
 *  logits is NULL. */
HY_API int32_t hy_argmax(const float *logits, size_t n);

/* ======================================================================== */
/* Sampling                                                                  */
/* ======================================================================== */

/** Applied in this order: repetition penalty, temperature, top-k, top-p,
 *  min-p, then a draw from the renormalized distribution with the sampler's
 *  seeded generator (xoshiro256**; same seed + same logits = same tokens on
 *  every platform). temperature <= 0 is greedy: the argmax after the
 *  repetition penalty, no random draw. */
typedef struct hy_sampler_options_t {
  float temperature;        /**< default 0.8; <= 0: greedy */
  int32_t top_k;            /**< keep the k most likely; default 40; 0: off */
  float top_p;              /**< keep the smallest head with mass >= top_p;
                                 default 0.95; >= 1: off */
  float min_p;              /**< drop p < min_p * p_max; default 0.05; 0: off */
  float repetition_penalty; /**< > 1 discourages recent tokens (logit / rp if
                                 positive, * rp if negative); default 1: off */
  int32_t repetition_last_n;/**< how many recent tokens count; default 64 */
  uint64_t seed;            /**< default 0 */
} hy_sampler_options_t;

HY_API void hy_sampler_options_init(hy_sampler_options_t *options);

/** A sampler for hand-written decode loops (hy_generate has its own). Its
 *  scratch (n_vocab entries) is allocated here; sampling allocates nothing.
 *  `options` may be NULL (defaults). */
HY_API hy_status_t hy_sampler_create(const hy_model_t *model,
                                     const hy_sampler_options_t *options,
                                     hy_sampler_t **out);
HY_API void hy_sampler_release(hy_sampler_t *sampler);

/** Restarts the random sequence from `seed`. */
HY_API hy_status_t hy_sampler_reset(hy_sampler_t *sampler, uint64_t seed);

/** Picks a token from `logits` (n_logits >= n_vocab; read only). `history`
 *  (may be NULL when n_history is 0) are the tokens so far, for the
 *  repetition penalty. */
HY_API hy_status_t hy_sampler_sample(hy_sampler_t *sampler, const float *logits,
                                     size_t n_logits, const int32_t *history,
                                     size_t n_history, int32_t *token);

/* ======================================================================== */
/* Generation                                                                */
/* ======================================================================== */

/** Why hy_generate stopped. Append-only. */
typedef enum hy_stop_reason_t {
  HY_STOP_NONE = 0,
  HY_STOP_EOG = 1,          /**< an end-of-generation / stop token */
  HY_STOP_STRING = 2,       /**< a stop string appeared in the text */
  HY_STOP_MAX_TOKENS = 3,
  HY_STOP_CALLBACK = 4,     /**< the callback returned nonzero */
  HY_STOP_CANCELLED = 5,    /**< hy_context_cancel (status HY_ERR_CANCELLED) */
  HY_STOP_CONTEXT_FULL = 6, /**< status HY_ERR_CONTEXT_FULL */
} hy_stop_reason_t;

/** Streaming callback: once per generated token with the text that became
 *  final with it (possibly empty: an unfinished UTF-8 character or a possible
 *  stop string is held back), and once more with token == -1 for text still
 *  held at the end. `text` is not NUL-terminated and is valid only during the
 *  call. Return 0 to go on, nonzero to stop (HY_STOP_CALLBACK). */
typedef int32_t (*hy_token_callback_t)(void *user_data, int32_t token,
                                       const char *text, size_t text_len);

typedef struct hy_generate_options_t {
  hy_sampler_options_t sampling;
  /** Stop after this many generated tokens; 0 (default): when the context is
   *  full. */
  int32_t max_tokens;
  /** Nonzero (default): the model's end-of-generation tokens stop. */
  int32_t stop_at_eog;
  /** More token ids that stop generation. */
  const int32_t *stop_tokens;
  size_t n_stop_tokens;
  /** Strings that stop generation when they appear in the generated text;
   *  the text from the stop string on is not streamed. Each at most
   *  max_stop_bytes (hy_context_options_t) long, none empty. */
  const char *const *stop_strings;
  size_t n_stop_strings;
  hy_token_callback_t on_token; /**< may be NULL */
  void *user_data;
  /** Optional: receives the generated ids (up to tokens_capacity). */
  int32_t *tokens_out;
  size_t tokens_capacity;
} hy_generate_options_t;

HY_API void hy_generate_options_init(hy_generate_options_t *options);

typedef struct hy_generate_result_t {
  hy_stop_reason_t stop_reason;
  int32_t n_prompt;       /**< prompt tokens decoded by this call */
  int32_t n_generated;    /**< tokens produced (the stop token excluded) */
  int32_t stop_token;     /**< the token that stopped it (HY_STOP_EOG), or -1 */
  double prompt_seconds;  /**< prefill time */
  double generate_seconds;/**< sampling + decoding time after the prompt */
} hy_generate_result_t;

/** Decodes `prompt` (appended at the current position; n_prompt may be 0 to
 *  continue from the last logits) and then samples and decodes tokens until
 *  a stop condition. Each generated token is decoded into the context before
 *  the next is sampled, except the token that ends generation (stop token,
 *  max_tokens, stop string, callback stop): pass it as the next prompt to
 *  continue. Returns HY_OK for the normal stops, HY_ERR_CANCELLED or
 *  HY_ERR_CONTEXT_FULL (nothing is decoded if the prompt itself does not fit)
 *  with *result filled in either case. `options` and `result` may be NULL. */
HY_API hy_status_t hy_generate(hy_context_t *ctx, const int32_t *prompt,
                               size_t n_prompt,
                               const hy_generate_options_t *options,
                               hy_generate_result_t *result);

/* ======================================================================== */
/* Chat (the model's chat template, from its tokenizer file)                 */
/* ======================================================================== */

typedef enum hy_chat_role_t {
  HY_ROLE_SYSTEM = 0,
  HY_ROLE_USER = 1,
  HY_ROLE_ASSISTANT = 2,
} hy_chat_role_t;

typedef struct hy_chat_message_t {
  hy_chat_role_t role;
  const char *content; /**< NUL-terminated UTF-8 */
} hy_chat_message_t;

typedef enum hy_thinking_t {
  /** Thinking unless the last user message starts with the model's no-think
   *  marker ("/no_think"); "/think" forces it on. */
  HY_THINKING_AUTO = 0,
  HY_THINKING_ON = 1,  /**< the model reasons in <think>...</think> first */
  HY_THINKING_OFF = 2, /**< the empty think block "<think>\n\n</think>\n" is
                            put after the generation prompt */
} hy_thinking_t;

typedef struct hy_chat_options_t {
  hy_thinking_t thinking;        /**< default HY_THINKING_AUTO */
  int32_t add_generation_prompt; /**< end with the assistant marker; default 1 */
  /** Drop "<think>...</think>" blocks from earlier assistant messages, as the
   *  model was trained (default 1). */
  int32_t strip_history_thinking;
} hy_chat_options_t;

HY_API void hy_chat_options_init(hy_chat_options_t *options);

/** Renders a conversation with the model's chat template (BOS, the system
 *  prompt, user and assistant turns, the generation prompt, the think block)
 *  to text, with the same size protocol as hy_detokenize. Messages may
 *  appear in any order; system messages are joined (blank line between) and
 *  put first. `options` may be NULL. HY_ERR_UNSUPPORTED if the model has no
 *  chat template. */
HY_API hy_status_t hy_chat_format(const hy_model_t *model,
                                  const hy_chat_message_t *messages,
                                  size_t n_messages,
                                  const hy_chat_options_t *options, char *text,
                                  size_t text_cap, size_t *text_len);

/** The same conversation as tokens: template markers become their special
 *  tokens, message contents are tokenized as plain text (a "<｜hy_User｜>"
 *  typed by a user stays text). Size protocol of hy_tokenize. */
HY_API hy_status_t hy_chat_tokenize(const hy_model_t *model,
                                    const hy_chat_message_t *messages,
                                    size_t n_messages,
                                    const hy_chat_options_t *options,
                                    int32_t *tokens, size_t max_tokens,
                                    size_t *n_tokens);

#ifdef __cplusplus
}
#endif

#endif /* HY_H_ */
