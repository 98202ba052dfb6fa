/* hy.h - the hy runtime's public C API: load a hyc-compiled model, decode.
 *
 * Ownership: objects returned through `**out` are owned by the caller and
 * freed with the matching *_release (which accepts NULL). A context keeps a
 * reference to its model: release contexts before their model.
 * Thread-safety: a model may be shared by threads once opened; a context is
 * used by one thread at a time. hy_last_error() is per thread.
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

typedef enum hy_status_t {
  HY_OK = 0,
  HY_ERR_INVALID_ARGUMENT = 1, /**< a NULL handle, a wrong size, a bad id */
  HY_ERR_IO = 2,               /**< a file could not be opened or mapped */
  HY_ERR_ABI_MISMATCH = 3,     /**< library built for another ABI version */
  HY_ERR_CORRUPT = 4,          /**< weights blob of the wrong size or hash */
  HY_ERR_OUT_OF_MEMORY = 5,
  HY_ERR_CONTEXT_FULL = 6,     /**< every position of the KV cache is used */
  HY_ERR_INTERNAL = 7,         /**< the library reported an unexpected error */
} hy_status_t;

typedef struct hy_model hy_model_t;
typedef struct hy_context hy_context_t;

/** Message of the last failed call on this thread ("" if none). */
HY_API const char *hy_last_error(void);

/** Opens a model whose library is linked into the program: `desc` and
 *  `decode` are the library's hy_<name>_desc and hy_<name>_decode;
 *  `weights_path` is its weights blob (memory-mapped, read-only). */
HY_API hy_status_t hy_model_open_static(const hy_model_desc_t *desc,
                                        hy_decode_fn decode,
                                        const char *weights_path,
                                        hy_model_t **out);

/** Opens the model hyc wrote to `dir`: dlopens dir/libhy_<name>.so and maps
 *  dir/<name>.weights (name from dir/hy_model.name). */
HY_API hy_status_t hy_model_open_dir(const char *dir, hy_model_t **out);

HY_API void hy_model_release(hy_model_t *model);

/** The model's constant description (valid while the model is open). */
HY_API const hy_model_desc_t *hy_model_desc(const hy_model_t *model);

/** Creates a decoding context: allocates the activation arena and the KV
 *  cache once; decoding allocates nothing. */
HY_API hy_status_t hy_context_create(hy_model_t *model, hy_context_t **out);
HY_API void hy_context_release(hy_context_t *ctx);

/** Forgets every position: the next decode is at position 0. */
HY_API hy_status_t hy_context_reset(hy_context_t *ctx);

/** Number of positions decoded so far. */
HY_API int32_t hy_context_position(const hy_context_t *ctx);

/** Decodes `token` at the next position and writes n_vocab logits to
 *  `logits` (`n_logits` floats of caller memory, at least n_vocab).
 *  HY_ERR_CONTEXT_FULL when all n_ctx positions are used. */
HY_API hy_status_t hy_decode(hy_context_t *ctx, int32_t token, float *logits,
                             size_t n_logits);

/** Index of the largest of `n` logits (the first on ties); -1 if n == 0. */
HY_API int32_t hy_argmax(const float *logits, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* HY_H_ */
