/* macos_embedded_weights.c - test_macos_link.py's program for a library
 * compiled with --embed-weights: opens the model from the blob symbol
 * hy_<name>_weights that the library defines (weights_data, no path) and
 * decodes one token. Only linked here (for macOS); never run. */
#include <stdio.h>

#include "hy/hy.h"
#include "hy_model.h"

#define HY_CAT3_(a, b, c) a##b##c
#define HY_CAT3(a, b, c) HY_CAT3_(a, b, c)
#define HY_MODEL_SYM(what) HY_CAT3(hy_, HY_MODEL_NAME, what)

int main(void) {
  hy_model_options_t mo;
  hy_model_options_init(&mo);
  mo.weights_data = HY_MODEL_SYM(_weights);
  mo.prefill = HY_MODEL_SYM(_prefill);
  mo.set_parallel = HY_MODEL_SYM(_set_parallel);
  mo.set_prefetch = HY_MODEL_SYM(_set_prefetch);
  hy_model_t *model = NULL;
  if (hy_model_open_static_ex(&HY_MODEL_SYM(_desc), HY_MODEL_SYM(_decode), NULL, &mo,
                              &model) != HY_OK) {
    fprintf(stderr, "cannot open the model: %s\n", hy_last_error());
    return 1;
  }
  hy_context_t *ctx = NULL;
  int rc = hy_context_create(model, &ctx) == HY_OK ? 0 : 1;
  hy_context_release(ctx);
  hy_model_release(model);
  return rc;
}
