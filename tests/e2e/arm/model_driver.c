/* model_driver.c - runs a hyc-compiled model library through its own ABI
 * entry points (hy/hy_abi.h, no runtime in between) and dumps its logits.
 *
 *   model_driver DIR --prompt ID,ID,... --steps N --dump PREFIX
 *                [--prompt-logits prefill|decode|once]
 *
 * DIR is a `hyc compile` output directory: the driver dlopens
 * DIR/libhy_NAME.so (NAME from DIR/hy_model.name), memory-maps
 * DIR/NAME.weights and checks it against hy_NAME_desc. Then:
 *   - prompt logits (--prompt-logits prefill, the default): for i = 1..P,
 *     hy_NAME_prefill(prompt[0..i), pos0 0) and the logits of token i-1
 *     (each call recomputes the prefix, so every prompt position is checked
 *     and prefill runs for every length 1..P; the last call leaves the KV
 *     cache holding the whole prompt). P(P+1)/2 token steps: for big models
 *     --prompt-logits decode feeds tokens 0..P-2 to hy_NAME_decode instead
 *     and then prefills the whole prompt once (2P-1 steps); --prompt-logits
 *     once only prefills the whole prompt once and dumps the logits of its
 *     last token alone (PREFIX.logits then starts at step P-1:
 *     compare_logits.py --logits-from P-1);
 *   - N greedy steps: feed the argmax of the last logits to hy_NAME_decode
 *     at the next position.
 * PREFIX.tokens (the P + N fed token ids) and PREFIX.logits (P + N rows of
 * n_vocab little-endian float32) are what tests/e2e/compare_logits.py reads.
 * Prints the timings; exits non-zero on any error.
 *
 * Built twice by tests/e2e/arm: for aarch64 (run under qemu-aarch64) and
 * for the host, so both builds of one model go through the same code. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hy/hy_abi.h"

static int fail(const char *what, const char *detail) {
  fprintf(stderr, "model_driver: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  return 1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int32_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return (int32_t)best;
}

/* Parses "1,2,3" into at most `cap` ids; returns the count or -1. */
static int parse_ids(const char *s, int32_t *out, int cap) {
  int n = 0;
  while (*s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || n == cap || v < 0 || v > INT32_MAX)
      return -1;
    out[n++] = (int32_t)v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',')
      return -1;
  }
  return n;
}

int main(int argc, char **argv) {
  const char *dir = NULL, *prompt_arg = NULL, *prefix = NULL;
  int decode_prompt = 0, prompt_once = 0;
  long steps = -1;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--prompt") && i + 1 < argc)
      prompt_arg = argv[++i];
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
      steps = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
      prefix = argv[++i];
    else if (!strcmp(argv[i], "--prompt-logits") && i + 1 < argc &&
             (!strcmp(argv[i + 1], "prefill") || !strcmp(argv[i + 1], "decode") ||
              !strcmp(argv[i + 1], "once"))) {
      decode_prompt = !strcmp(argv[i + 1], "decode");
      prompt_once = !strcmp(argv[++i], "once");
    }
    else if (!dir && argv[i][0] != '-')
      dir = argv[i];
    else
      return fail("bad argument", argv[i]);
  }
  if (!dir || !prompt_arg || !prefix || steps < 0)
    return fail("usage", "model_driver DIR --prompt ID,ID,... --steps N --dump PREFIX "
                         "[--prompt-logits prefill|decode|once]");

  /* The model's name, library and weights. */
  char path[4096], name[256] = "";
  snprintf(path, sizeof path, "%s/hy_model.name", dir);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(name, sizeof name, f))
    return fail("cannot read", path);
  fclose(f);
  name[strcspn(name, "\r\n")] = 0;

  snprintf(path, sizeof path, "%s/libhy_%s.so", dir, name);
  double t0 = now_ms();
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fail("dlopen failed", dlerror());
  char sym[512];
  snprintf(sym, sizeof sym, "hy_%s_desc", name);
  const hy_model_desc_t *desc = (const hy_model_desc_t *)dlsym(lib, sym);
  snprintf(sym, sizeof sym, "hy_%s_decode", name);
  hy_decode_fn decode = (hy_decode_fn)(uintptr_t)dlsym(lib, sym);
  snprintf(sym, sizeof sym, "hy_%s_prefill", name);
  hy_prefill_fn prefill = (hy_prefill_fn)(uintptr_t)dlsym(lib, sym);
  if (!desc || !decode || !prefill)
    return fail("the library lacks hy_NAME_desc/_decode/_prefill", name);
  if (desc->abi_version != HY_ABI_VERSION)
    return fail("ABI version mismatch", NULL);

  snprintf(path, sizeof path, "%s/%s.weights", dir, name);
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0)
    return fail("cannot open", path);
  if ((int64_t)st.st_size != desc->weights_bytes)
    return fail("weights size does not match the library's descriptor", path);
  const uint8_t *weights = (const uint8_t *)mmap(
      NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (weights == MAP_FAILED)
    return fail("cannot mmap", path);
  close(fd);

  const int64_t vocab = desc->n_vocab;
  uint8_t *arena = aligned_alloc(64, (size_t)((desc->arena_bytes + 63) / 64 * 64));
  uint8_t *kv = aligned_alloc(64, (size_t)((desc->kv_bytes + 63) / 64 * 64));
  float *logits = malloc((size_t)vocab * sizeof(float));
  int32_t *tokens = malloc((size_t)desc->n_ctx * sizeof(int32_t));
  if (!arena || !kv || !logits || !tokens)
    return fail("out of memory", NULL);
  memset(arena, 0, (size_t)desc->arena_bytes);
  memset(kv, 0, (size_t)desc->kv_bytes);
  const double load_ms = now_ms() - t0;

  const int n_prompt = parse_ids(prompt_arg, tokens, (int)desc->n_ctx);
  if (n_prompt <= 0)
    return fail("bad --prompt (ids, comma-separated, at most n_ctx)", prompt_arg);
  if (n_prompt + steps > desc->n_ctx)
    return fail("prompt + steps exceed the library's context (n_ctx)", NULL);

  char out_path[4096];
  snprintf(out_path, sizeof out_path, "%s.logits", prefix);
  FILE *lf = fopen(out_path, "wb");
  snprintf(out_path, sizeof out_path, "%s.tokens", prefix);
  FILE *tf = fopen(out_path, "w");
  if (!lf || !tf)
    return fail("cannot write the dump files", prefix);

  /* Prompt: the logits of every prompt position; the last call is the real
   * prefill of the whole prompt. */
  double prefix_ms = 0, prefill_ms = 0;
  for (int i = prompt_once ? n_prompt : 1; i <= n_prompt; ++i) {
    t0 = now_ms();
    int32_t rc = decode_prompt && i < n_prompt
                     ? decode(weights, arena, kv, tokens[i - 1], i - 1, logits)
                     : prefill(weights, arena, kv, tokens, i, 0, logits);
    const double ms = now_ms() - t0;
    if (i < n_prompt)
      prefix_ms += ms;
    else
      prefill_ms = ms;
    if (rc != HY_DECODE_OK) {
      fprintf(stderr, "model_driver: prefill of %d tokens returned %d\n", i, rc);
      return 1;
    }
    for (int t = prompt_once ? 0 : i - 1; t < i; ++t)
      fprintf(tf, "%d\n", tokens[t]);
    fwrite(logits, sizeof(float), (size_t)vocab, lf);
  }

  /* Greedy decode. */
  t0 = now_ms();
  for (long s = 0; s < steps; ++s) {
    const int32_t pos = n_prompt + (int32_t)s;
    tokens[pos] = argmax(logits, vocab);
    int32_t rc = decode(weights, arena, kv, tokens[pos], pos, logits);
    if (rc != HY_DECODE_OK) {
      fprintf(stderr, "model_driver: decode at position %d returned %d\n", pos, rc);
      return 1;
    }
    fprintf(tf, "%d\n", tokens[pos]);
    fwrite(logits, sizeof(float), (size_t)vocab, lf);
  }
  const double decode_ms = now_ms() - t0;
  if (fclose(lf) != 0 || fclose(tf) != 0)
    return fail("cannot write the dump files", prefix);

  printf("model %s: vocab %lld, layers %lld, n_ctx %lld; load %.1f ms\n", name,
         (long long)vocab, (long long)desc->n_layer, (long long)desc->n_ctx, load_ms);
  printf("prefill %d tokens: %.1f ms (%s 1..%d: %.1f ms)\n", n_prompt,
         prefill_ms, decode_prompt ? "decoded tokens" : "prefixes", n_prompt - 1,
         prefix_ms);
  printf("decode %ld steps: %.1f ms (%.1f tokens/s)\n", steps, decode_ms,
         steps && decode_ms > 0 ? 1e3 * (double)steps / decode_ms : 0.0);
  printf("greedy tokens:");
  for (long s = 0; s < steps; ++s)
    printf(" %d", tokens[n_prompt + s]);
  printf("\n");
  munmap((void *)weights, (size_t)st.st_size);
  free(tokens);
  free(logits);
  free(kv);
  free(arena);
  dlclose(lib);
  return 0;
}
