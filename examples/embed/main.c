/* main.c - embedding a hyc-compiled model: the model's static library plus
 * the hy runtime, one chat turn generated greedily and streamed to stdout.
 *
 *   embed_demo [-w NAME.weights] [-n N] PROMPT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hy/hy.h"
#include "hy_model.h"

/* hy_<name>_<what> for the model this program was built against. */
#define HY_CAT3_(a, b, c) a##b##c
#define HY_CAT3(a, b, c) HY_CAT3_(a, b, c)
#define HY_MODEL_SYM(what) HY_CAT3(hy_, HY_MODEL_NAME, what)

static int32_t print_text(void *user, int32_t token, const char *text,
                          size_t len) {
  (void)token;
  int *ends_in_newline = user;
  if (len) {
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    *ends_in_newline = text[len - 1] == '\n';
  }
  return 0; /* keep going */
}

static int die(const char *what) {
  fprintf(stderr, "embed_demo: %s: %s\n", what, hy_last_error());
  return 1;
}

int main(int argc, char **argv) {
  const char *weights = HY_MODEL_WEIGHTS, *prompt = NULL;
  int max_tokens = 64;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
      weights = argv[++i];
    } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      max_tokens = atoi(argv[++i]);
    } else {
      prompt = argv[i];
    }
  }
  if (!prompt || max_tokens <= 0) {
    fprintf(stderr, "usage: %s [-w NAME.weights] [-n N] PROMPT\n", argv[0]);
    return 2;
  }

  /* The library is linked in: hand its entry points to the runtime. The
   * tokenizer file is found next to the weights (NAME.tokenizer). */
  hy_model_options_t mo;
  hy_model_options_init(&mo);
#ifdef HY_MODEL_HAS_PREFILL
  mo.prefill = HY_MODEL_SYM(_prefill);
#endif
#ifdef HY_MODEL_HAS_SET_PARALLEL
  mo.set_parallel = HY_MODEL_SYM(_set_parallel);
#endif
#ifdef HY_MODEL_HAS_SET_PREFETCH
  mo.set_prefetch = HY_MODEL_SYM(_set_prefetch);
#endif
  hy_model_t *model = NULL;
  if (hy_model_open_static_ex(&HY_MODEL_SYM(_desc), HY_MODEL_SYM(_decode),
                              weights, &mo, &model) != HY_OK)
    return die("cannot open the model");

  hy_context_t *ctx = NULL;
  if (hy_context_create(model, &ctx) != HY_OK) {
    hy_model_release(model);
    return die("cannot create a context");
  }

  /* One user turn through the model's chat template. */
  hy_chat_message_t msg = {HY_ROLE_USER, prompt};
  int32_t tokens[1024];
  size_t n = 0;
  hy_status_t s = hy_chat_tokenize(model, &msg, 1, NULL, tokens,
                                   sizeof tokens / sizeof tokens[0], &n);
  if (s == HY_OK) {
    hy_generate_options_t go;
    hy_generate_options_init(&go);
    go.sampling.temperature = 0.0f; /* greedy */
    go.max_tokens = max_tokens;
    int ends_in_newline = 1;
    go.on_token = print_text;
    go.user_data = &ends_in_newline;
    hy_generate_result_t r;
    s = hy_generate(ctx, tokens, n, &go, &r);
    if (s == HY_OK || s == HY_ERR_CONTEXT_FULL) {
      if (!ends_in_newline) putchar('\n');
      fprintf(stderr,
              "embed_demo: prompt %d tokens, generated %d tokens (%.1f "
              "tokens/s)\n",
              r.n_prompt, r.n_generated,
              r.generate_seconds > 0 ? r.n_generated / r.generate_seconds : 0.0);
      s = HY_OK;
    }
  }
  int rc = s == HY_OK ? 0 : die("generation failed");
  hy_context_release(ctx);
  hy_model_release(model);
  return rc;
}
