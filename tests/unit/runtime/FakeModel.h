/* FakeModel.h - constants and entry points of the runtime tests' stand-in model library. */
#ifndef HY_TESTS_FAKEMODEL_H_
#define HY_TESTS_FAKEMODEL_H_

#include "hy/hy_abi.h"

/* Same vocabulary size and special ids as the tiny synthetic HY model, so
 * the fake model can borrow its tokenizer file. */
enum {
  FAKE_VOCAB = 512,
  FAKE_CTX = 16,
  FAKE_WEIGHTS = 4096,
  FAKE_BOS = 506,
  FAKE_EOS = 507,
  FAKE_EOS_AT = 12,        /* from this position on, the best token is EOS */
  FAKE_ERROR_TOKEN = 499,  /* decoding it makes the library fail (status 42) */
};

/* The token the fake model favours after position pos (logit 5, others < 1). */
#define FAKE_NEXT(h, pos) \
  ((pos) + 1 >= FAKE_EOS_AT ? FAKE_EOS : (int32_t)(1 + (h) % 400))

#ifdef __cplusplus
extern "C" {
#endif
#ifdef FAKE_STATIC
extern hy_model_desc_t fake_static_desc;
void fake_static_fill_weights(uint8_t *out);
void fake_static_set_parallel(hy_parallel_for_fn fn, void *pool);
int32_t fake_static_decode(const uint8_t *weights, uint8_t *arena, uint8_t *kv,
                           int32_t token, int32_t pos, float *logits);
int32_t fake_static_prefill(const uint8_t *weights, uint8_t *arena, uint8_t *kv,
                            const int32_t *tokens, int32_t n, int32_t pos0,
                            float *logits);
#endif
#ifdef __cplusplus
}
#endif

#endif /* HY_TESTS_FAKEMODEL_H_ */
