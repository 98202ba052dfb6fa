/* hy_abi.h - the versioned ABI between hyc-compiled model libraries and the hy runtime.
 *
 * The compiler emits code against this header only; the runtime checks
 * `abi_version` before it calls anything in a model library. Append-only:
 * a change to an existing field or signature bumps HY_ABI_VERSION.
 */
#ifndef HY_ABI_H_
#define HY_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version a library was compiled for (hy_model_desc_t.abi_version). */
#define HY_ABI_VERSION 1

/** Constant description of a compiled model, exported by the library as
 *  `const hy_model_desc_t hy_<name>_desc`. Every field is int64_t so that the
 *  compiler can emit it as a flat array of i64. */
typedef struct hy_model_desc_t {
  int64_t abi_version;   /**< HY_ABI_VERSION the library was built for */
  int64_t n_vocab;       /**< logits per step */
  int64_t n_embd;        /**< hidden size */
  int64_t n_layer;
  int64_t n_head;
  int64_t n_head_kv;
  int64_t head_dim;
  int64_t n_ff;
  int64_t n_ctx;         /**< positions the KV cache holds */
  int64_t weights_bytes; /**< exact size of the weights blob */
  int64_t arena_bytes;   /**< activation arena one decode step needs */
  int64_t kv_bytes;      /**< KV cache bytes for n_ctx positions */
  int64_t bos_id;        /**< -1 when the model has none */
  int64_t eos_id;        /**< -1 when the model has none */
  int64_t weights_hash;  /**< FNV-1a 64 of the weights blob (as int64) */
  /** CPU features the library's code needs (HY_CPU_* bits; 0 in libraries
   *  from compilers before the field was named: nothing is checked). The
   *  runtime refuses to open a model whose features this CPU lacks
   *  (HY_ERR_UNSUPPORTED) rather than let it die of an illegal instruction. */
  int64_t cpu_features;
} hy_model_desc_t;

/** hy_model_desc_t.cpu_features bits. x86-64: */
#define HY_CPU_AVX2 (1ll << 0)
#define HY_CPU_FMA (1ll << 1)
#define HY_CPU_F16C (1ll << 2)
#define HY_CPU_AVX512F (1ll << 3)
#define HY_CPU_AVX512CD (1ll << 4)
#define HY_CPU_AVX512BW (1ll << 5)
#define HY_CPU_AVX512DQ (1ll << 6)
#define HY_CPU_AVX512VL (1ll << 7)
#define HY_CPU_AVX512VNNI (1ll << 8)
#define HY_CPU_AVX512BF16 (1ll << 9)
#define HY_CPU_AVX512VBMI (1ll << 10)
#define HY_CPU_AVX512VBMI2 (1ll << 11)
#define HY_CPU_AVX512BITALG (1ll << 12)
#define HY_CPU_AVX512VPOPCNTDQ (1ll << 13)
#define HY_CPU_AVX512IFMA (1ll << 14)
/** AArch64: */
#define HY_CPU_ASIMDDP (1ll << 32)
#define HY_CPU_I8MM (1ll << 33)
#define HY_CPU_BF16 (1ll << 34)
#define HY_CPU_SME2 (1ll << 35)

/** Status codes returned by a library's decode entry point. */
enum {
  HY_DECODE_OK = 0,
  HY_DECODE_BAD_TOKEN = 1,    /**< token outside [0, n_vocab) */
  HY_DECODE_BAD_POSITION = 2, /**< pos outside [0, n_ctx) (prefill: pos0 + n > n_ctx) */
  HY_DECODE_BAD_COUNT = 3,    /**< prefill: n outside [1, n_ctx] */
};

/** One decode step, exported as `hy_<name>_decode`: embeds `token` at
 *  position `pos`, appends its keys/values to `kv_cache` (kv_bytes, 64-byte
 *  aligned), and writes n_vocab logits. `arena` (arena_bytes, 64-byte
 *  aligned) is scratch. Not thread-safe per (arena, kv_cache) pair. */
typedef int32_t (*hy_decode_fn)(const uint8_t *weights, uint8_t *arena,
                                uint8_t *kv_cache, int32_t token, int32_t pos,
                                float *logits);

/* A library exports only hy_<name>_ symbols: desc, decode, prefill,
 * set_parallel, set_prefetch and, when compiled with --embed-weights, the read-only array
 * hy_<name>_weights (weights_bytes bytes, 64-byte aligned). */

/** Prefill, exported as `hy_<name>_prefill`: the n tokens at positions
 *  pos0 .. pos0+n-1 (appended to the KV cache), logits of the last one only.
 *  Same buffers and threading rules as hy_decode_fn. */
typedef int32_t (*hy_prefill_fn)(const uint8_t *weights, uint8_t *arena,
                                 uint8_t *kv_cache, const int32_t *tokens,
                                 int32_t n, int32_t pos0, float *logits);

/** Thread-pool hook (optional export `hy_<name>_set_parallel`; feature-
 *  detected by the runtime, so adding it needs no ABI version bump).
 *
 *  The runtime lends the library a parallel-for: `parallel_for(pool, task,
 *  task_ctx, n)` runs task(task_ctx, i) for every i in [0, n), on any threads,
 *  in any order, and returns when all have finished: 0 if every task returned
 *  0, otherwise one of the nonzero task results. It may be called from several
 *  threads at once and from inside a task (it then runs the tasks inline).
 *  The library routes the parallel loops of its kernels through it (Halide's
 *  halide_do_par_for); `set_parallel(NULL, NULL)` restores the kernels' own
 *  thread pool. The runtime calls set_parallel only while no decode or prefill
 *  of that library is running. */
typedef int32_t (*hy_task_fn)(void *task_ctx, int32_t index);
typedef int32_t (*hy_parallel_for_fn)(void *pool, hy_task_fn task,
                                      void *task_ctx, int32_t n);
typedef void (*hy_set_parallel_fn)(hy_parallel_for_fn parallel_for,
                                   void *pool);

/** Prefetch hook (optional export `hy_<name>_set_prefetch`, feature-detected
 *  like set_parallel). Before each matrix-vector product of a decode step the
 *  library calls `prefetch(pool, data, bytes)` with the weights of the next
 *  one; the pool's idle threads (between parallel loops, or waiting for the
 *  last tasks of one) pull the front of their shares of those bytes into
 *  their caches. A hint: it never changes results, `data` is only read by
 *  prefetch instructions, and a pool may ignore it. `set_prefetch(NULL, NULL)`
 *  uninstalls it. Same calling rules as set_parallel. */
typedef void (*hy_prefetch_fn)(void *pool, const void *data, int64_t bytes);
typedef void (*hy_set_prefetch_fn)(hy_prefetch_fn prefetch, void *pool);

#ifdef __cplusplus
}
#endif

#endif /* HY_ABI_H_ */
