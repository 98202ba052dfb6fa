/* model.c - the hy runtime: opening compiled models, contexts, decoding. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hy/hy.h"
#include "hy_internal.h"

struct hy_model {
  hy_model_desc_t desc;
  hy_decode_fn decode;
  const uint8_t *weights;
  size_t weights_size;
  void *dl; /* dlopen handle when opened from a directory */
};

struct hy_context {
  hy_model_t *model;
  uint8_t *arena;
  uint8_t *kv;
  int32_t pos;
};

static _Thread_local char last_error[1024];

const char *hy_last_error(void) { return last_error; }

hy_status_t hy_set_error(hy_status_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

uint64_t hy_weights_hash(const uint8_t *data, size_t size) {
  /* FNV-1a over little-endian 64-bit words, then the tail bytes: the
   * compiler computes the same value when it writes the blob. */
  uint64_t h = 0xcbf29ce484222325ull;
  const uint64_t prime = 0x100000001b3ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    memcpy(&w, data + i, 8);
    h = (h ^ w) * prime;
  }
  for (; i < size; ++i) h = (h ^ data[i]) * prime;
  return h;
}

static hy_status_t map_file(const char *path, const uint8_t **data,
                            size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hy_set_error(HY_ERR_IO, "cannot open weights '%s': %s", path,
                        strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return hy_set_error(HY_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
  }
  if (st.st_size == 0) {
    close(fd);
    return hy_set_error(HY_ERR_CORRUPT, "weights '%s' are empty", path);
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED)
    return hy_set_error(HY_ERR_IO, "cannot map '%s': %s", path, strerror(e));
  *data = p;
  *size = (size_t)st.st_size;
  return HY_OK;
}

static hy_status_t check_desc(const hy_model_desc_t *d) {
  if (d->abi_version != HY_ABI_VERSION)
    return hy_set_error(HY_ERR_ABI_MISMATCH,
                        "model library was built for ABI version %lld, this "
                        "runtime implements version %d",
                        (long long)d->abi_version, HY_ABI_VERSION);
  if (d->n_vocab <= 0 || d->n_ctx <= 0 || d->arena_bytes <= 0 ||
      d->kv_bytes <= 0 || d->weights_bytes <= 0)
    return hy_set_error(HY_ERR_CORRUPT,
                        "model description has a non-positive size");
  return HY_OK;
}

hy_status_t hy_model_open_static(const hy_model_desc_t *desc,
                                 hy_decode_fn decode, const char *weights_path,
                                 hy_model_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_model_open_static: out is NULL");
  *out = NULL;
  if (!desc || !decode || !weights_path)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_static: desc, decode and weights_path "
                        "must not be NULL");
  hy_status_t s = check_desc(desc);
  if (s != HY_OK) return s;
  const uint8_t *data;
  size_t size;
  if ((s = map_file(weights_path, &data, &size)) != HY_OK) return s;
  if ((int64_t)size != desc->weights_bytes) {
    munmap((void *)data, size);
    return hy_set_error(HY_ERR_CORRUPT,
                        "weights '%s' have %zu bytes, the model expects %lld",
                        weights_path, size, (long long)desc->weights_bytes);
  }
  if ((int64_t)hy_weights_hash(data, size) != desc->weights_hash) {
    munmap((void *)data, size);
    return hy_set_error(HY_ERR_CORRUPT,
                        "weights '%s' do not match the model (hash mismatch): "
                        "the file is corrupt or belongs to another compile",
                        weights_path);
  }
  hy_model_t *m = calloc(1, sizeof *m);
  if (!m) {
    munmap((void *)data, size);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  m->desc = *desc;
  m->decode = decode;
  m->weights = data;
  m->weights_size = size;
  *out = m;
  return HY_OK;
}

hy_status_t hy_model_open_dir(const char *dir, hy_model_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_model_open_dir: out is NULL");
  *out = NULL;
  if (!dir)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_model_open_dir: dir is NULL");
  char path[4096], name[256];
  snprintf(path, sizeof path, "%s/hy_model.name", dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return hy_set_error(HY_ERR_IO,
                        "'%s' is not a hyc output directory (no hy_model.name): %s",
                        dir, strerror(errno));
  int ok = fscanf(f, "%255s", name) == 1;
  fclose(f);
  if (!ok) return hy_set_error(HY_ERR_CORRUPT, "'%s' is empty", path);
  for (const char *c = name; *c; ++c)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
      return hy_set_error(HY_ERR_CORRUPT, "'%s': bad model name '%s'", path, name);

  snprintf(path, sizeof path, "%s/libhy_%s.so", dir, name);
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) return hy_set_error(HY_ERR_IO, "cannot load '%s': %s", path, dlerror());
  char sym[300];
  snprintf(sym, sizeof sym, "hy_%s_desc", name);
  const hy_model_desc_t *desc = dlsym(dl, sym);
  snprintf(sym, sizeof sym, "hy_%s_decode", name);
  hy_decode_fn decode = (hy_decode_fn)dlsym(dl, sym);
  if (!desc || !decode) {
    dlclose(dl);
    return hy_set_error(HY_ERR_CORRUPT, "'%s' does not export hy_%s_desc/hy_%s_decode",
                        path, name, name);
  }
  snprintf(path, sizeof path, "%s/%s.weights", dir, name);
  hy_status_t s = hy_model_open_static(desc, decode, path, out);
  if (s != HY_OK) {
    dlclose(dl);
    return s;
  }
  (*out)->dl = dl;
  return HY_OK;
}

void hy_model_release(hy_model_t *model) {
  if (!model) return;
  munmap((void *)model->weights, model->weights_size);
  if (model->dl) dlclose(model->dl);
  free(model);
}

const hy_model_desc_t *hy_model_desc(const hy_model_t *model) {
  if (!model) {
    hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_model_desc: model is NULL");
    return NULL;
  }
  return &model->desc;
}

static void *alloc64(int64_t bytes) {
  size_t n = ((size_t)bytes + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, n);
  if (p) memset(p, 0, n);
  return p;
}

hy_status_t hy_context_create(hy_model_t *model, hy_context_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_create: out is NULL");
  *out = NULL;
  if (!model)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_create: model is NULL");
  hy_context_t *c = calloc(1, sizeof *c);
  if (c) {
    c->arena = alloc64(model->desc.arena_bytes);
    c->kv = alloc64(model->desc.kv_bytes);
  }
  if (!c || !c->arena || !c->kv) {
    hy_context_release(c);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY,
                        "cannot allocate a context (%lld arena + %lld KV bytes)",
                        (long long)model->desc.arena_bytes,
                        (long long)model->desc.kv_bytes);
  }
  c->model = model;
  *out = c;
  return HY_OK;
}

void hy_context_release(hy_context_t *ctx) {
  if (!ctx) return;
  free(ctx->arena);
  free(ctx->kv);
  free(ctx);
}

hy_status_t hy_context_reset(hy_context_t *ctx) {
  if (!ctx) return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_context_reset: ctx is NULL");
  ctx->pos = 0;
  return HY_OK;
}

int32_t hy_context_position(const hy_context_t *ctx) { return ctx ? ctx->pos : -1; }

hy_status_t hy_decode(hy_context_t *ctx, int32_t token, float *logits,
                      size_t n_logits) {
  if (!ctx || !logits)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_decode: ctx and logits must not be NULL");
  const hy_model_desc_t *d = &ctx->model->desc;
  if ((int64_t)n_logits < d->n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_decode: logits holds %zu floats, the model has %lld",
                        n_logits, (long long)d->n_vocab);
  if (token < 0 || token >= d->n_vocab)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_decode: token %d outside the vocabulary [0, %lld)",
                        token, (long long)d->n_vocab);
  if (ctx->pos >= d->n_ctx)
    return hy_set_error(HY_ERR_CONTEXT_FULL,
                        "hy_decode: context full (%lld positions)", (long long)d->n_ctx);
  int32_t rc = ctx->model->decode(ctx->model->weights, ctx->arena, ctx->kv, token,
                                  ctx->pos, logits);
  if (rc != HY_DECODE_OK)
    return hy_set_error(HY_ERR_INTERNAL, "model library decode failed with status %d", rc);
  ctx->pos++;
  return HY_OK;
}

int32_t hy_argmax(const float *logits, size_t n) {
  if (!logits || n == 0) return -1;
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return (int32_t)best;
}
