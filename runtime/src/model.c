/* model.c - opening compiled models: ABI check, weights mapping, the tokenizer
 * file, and the thread pool lent to the library's kernels. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hy_internal.h"

/* ---- the pool registry ---------------------------------------------------------
 * A library's kernels have one parallel-for hook for the whole process (it
 * lives in the library's copy of the Halide runtime), so the pool belongs to
 * the library, not to a model: the first model opened on a library creates the
 * pool and installs it, later ones share it, the last one released uninstalls
 * and frees it. Libraries are told apart by their set_parallel entry point. */
enum { MAX_HOOKED_LIBRARIES = 64 };

static struct {
  hy_set_parallel_fn set_parallel;
  hy_set_prefetch_fn set_prefetch;
  hy_pool_t *pool;
  int refs;
} hooked[MAX_HOOKED_LIBRARIES];
static pthread_mutex_t hooked_mu = PTHREAD_MUTEX_INITIALIZER;

static hy_status_t attach_pool(hy_model_t *m, int32_t n_threads) {
  hy_status_t s = HY_OK;
  pthread_mutex_lock(&hooked_mu);
  int free_slot = -1;
  for (int i = 0; i < MAX_HOOKED_LIBRARIES; ++i) {
    if (hooked[i].refs > 0 && hooked[i].set_parallel == m->set_parallel) {
      hooked[i].refs++;
      m->pool = hooked[i].pool;
      pthread_mutex_unlock(&hooked_mu);
      return HY_OK;
    }
    if (hooked[i].refs == 0 && free_slot < 0) free_slot = i;
  }
  if (free_slot < 0) {
    /* Absurdly many distinct libraries: leave this one on its own pool. */
    m->set_parallel = NULL;
  } else if ((s = hy_pool_create(n_threads, &m->pool)) == HY_OK) {
    hooked[free_slot].set_parallel = m->set_parallel;
    hooked[free_slot].set_prefetch = m->set_prefetch;
    hooked[free_slot].pool = m->pool;
    hooked[free_slot].refs = 1;
    m->set_parallel(hy_pool_parallel_for, m->pool);
    if (m->set_prefetch) m->set_prefetch(hy_pool_prefetch, m->pool);
  }
  pthread_mutex_unlock(&hooked_mu);
  return s;
}

static void detach_pool(hy_model_t *m) {
  if (!m->pool) return;
  pthread_mutex_lock(&hooked_mu);
  for (int i = 0; i < MAX_HOOKED_LIBRARIES; ++i) {
    if (hooked[i].refs > 0 && hooked[i].pool == m->pool) {
      if (--hooked[i].refs == 0) {
        if (hooked[i].set_prefetch) hooked[i].set_prefetch(NULL, NULL);
        hooked[i].set_parallel(NULL, NULL);
        hy_pool_release(hooked[i].pool);
        hooked[i].set_parallel = NULL;
        hooked[i].set_prefetch = NULL;
        hooked[i].pool = NULL;
      }
      break;
    }
  }
  pthread_mutex_unlock(&hooked_mu);
  m->pool = NULL;
}

/* ---- opening ------------------------------------------------------------------ */

void hy_model_options_init(hy_model_options_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
}

/* hy_model_options_t.no_mmap: the file's bytes in private anonymous memory
 * advised for transparent huge pages, so that decode, which streams every
 * weight once per token, takes ~500x fewer TLB misses than through the 4 KiB
 * pages of a file mapping. The region is 2 MiB aligned (the unaligned head
 * and tail of a larger reservation are returned), so it can be released
 * with munmap(data, size) like a file mapping. */
static hy_status_t read_file_anonymous(int fd, const char *path, size_t n,
                                       const uint8_t **data) {
  const size_t huge = (size_t)2 << 20;
  size_t span = n + huge;
  uint8_t *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return hy_set_error(HY_ERR_OUT_OF_MEMORY,
                        "cannot allocate %zu bytes for the weights of '%s'", n,
                        path);
  uint8_t *p = (uint8_t *)(((uintptr_t)base + huge - 1) & ~(uintptr_t)(huge - 1));
  long page_size = sysconf(_SC_PAGESIZE);
  size_t page = page_size > 0 ? (size_t)page_size : 4096; /* 16 KiB on some Android */
  size_t pages = (n + page - 1) & ~(page - 1);
  if (p > base) munmap(base, (size_t)(p - base));
  if (base + span > p + pages) munmap(p + pages, (size_t)(base + span - (p + pages)));
#ifdef MADV_HUGEPAGE /* Linux; macOS has no such advice */
  (void)madvise(p, pages, MADV_HUGEPAGE); /* advice only: fine if refused */
#endif
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, p + done, n - done, (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      munmap(p, pages);
      return hy_set_error(HY_ERR_IO, "cannot read weights '%s': %s", path,
                          r < 0 ? strerror(e) : "file shrank while reading");
    }
    done += (size_t)r;
  }
  (void)mprotect(p, pages, PROT_READ); /* best effort: only ever read */
  *data = p;
  return HY_OK;
}

static hy_status_t map_file(const char *path, int no_mmap, const uint8_t **data,
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
  if (no_mmap) {
    hy_status_t s = read_file_anonymous(fd, path, (size_t)st.st_size, data);
    close(fd);
    if (s == HY_OK) *size = (size_t)st.st_size;
    return s;
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
  if (d->n_vocab > INT32_MAX || d->n_ctx > INT32_MAX ||
      d->bos_id >= d->n_vocab || d->eos_id >= d->n_vocab)
    return hy_set_error(HY_ERR_CORRUPT,
                        "model description is out of range (n_vocab %lld, "
                        "n_ctx %lld, bos %lld, eos %lld)",
                        (long long)d->n_vocab, (long long)d->n_ctx,
                        (long long)d->bos_id, (long long)d->eos_id);
  /* Before anything runs the library's code: a library compiled for a CPU
   * this one is not would die of an illegal instruction. */
  return hy_check_cpu_features(d->cpu_features);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Opens with a resolved tokenizer path (NULL: no tokenizer). */
static hy_status_t open_model(const hy_model_desc_t *desc, hy_decode_fn decode,
                              const char *weights_path,
                              const hy_model_options_t *o,
                              const char *tok_path, hy_model_t **out) {
  if (o->n_threads < 0 || o->n_threads > 1024)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open: n_threads %d outside [0, 1024]",
                        o->n_threads);
  hy_status_t s = check_desc(desc);
  if (s != HY_OK) return s;

  const uint8_t *data = NULL;
  size_t size = 0;
  int mapped = o->weights_data == NULL;
  if (!mapped) {
    /* Embedded or caller-provided: its size is the descriptor's by
     * construction; the fingerprint below still checks the bytes. */
    data = o->weights_data;
    size = (size_t)desc->weights_bytes;
    weights_path = "(in memory)";
  } else if ((s = map_file(weights_path, o->no_mmap, &data, &size)) != HY_OK) {
    return s;
  }
#define HY_UNMAP() \
  do {             \
    if (mapped) munmap((void *)data, size); \
  } while (0)
  if ((int64_t)size != desc->weights_bytes) {
    HY_UNMAP();
    return hy_set_error(HY_ERR_CORRUPT,
                        "weights '%s' have %zu bytes, the model expects %lld",
                        weights_path, size, (long long)desc->weights_bytes);
  }
  if ((int64_t)hy_weights_hash(data, size) != desc->weights_hash) {
    HY_UNMAP();
    return hy_set_error(HY_ERR_CORRUPT,
                        "weights '%s' do not match the model (hash mismatch): "
                        "the file is corrupt or belongs to another compile",
                        weights_path);
  }
  hy_model_t *m = calloc(1, sizeof *m);
  if (!m) {
    HY_UNMAP();
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
#undef HY_UNMAP
  m->desc = *desc;
  m->decode = decode;
  m->prefill = o->prefill;
  m->set_parallel = o->set_parallel;
  m->set_prefetch = o->set_prefetch;
  m->weights = data;
  m->weights_size = size;
  m->weights_mapped = mapped;
  m->eos_only[0] = (int32_t)desc->eos_id;
  if (tok_path &&
      (s = hy_tokenizer_load(tok_path, (int32_t)desc->n_vocab, &m->tok)) !=
          HY_OK) {
    hy_model_release(m);
    return s;
  }
  if (m->set_parallel) {
    int32_t n_threads = o->n_threads ? o->n_threads : hy_cpu_count();
    if ((s = attach_pool(m, n_threads)) != HY_OK) {
      hy_model_release(m);
      return s;
    }
  }
  *out = m;
  return HY_OK;
}

hy_status_t hy_model_open_static_ex(const hy_model_desc_t *desc,
                                    hy_decode_fn decode,
                                    const char *weights_path,
                                    const hy_model_options_t *options,
                                    hy_model_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_static: out is NULL");
  *out = NULL;
  hy_model_options_t defaults;
  hy_model_options_init(&defaults);
  const hy_model_options_t *o = options ? options : &defaults;
  if (!desc || !decode || (!weights_path && !o->weights_data))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_static: desc, decode and weights_path "
                        "(or options->weights_data) must not be NULL");
  /* The tokenizer: explicit path, or NAME.tokenizer beside NAME.weights. */
  const char *tok_path = o->tokenizer_path;
  char derived[4096];
  if (!tok_path && weights_path) {
    size_t n = strlen(weights_path);
    const char *suffix = ".weights";
    size_t sn = strlen(suffix);
    if (n > sn && strcmp(weights_path + n - sn, suffix) == 0 &&
        n - sn + sizeof ".tokenizer" <= sizeof derived) {
      memcpy(derived, weights_path, n - sn);
      memcpy(derived + n - sn, ".tokenizer", sizeof ".tokenizer");
      if (file_exists(derived)) tok_path = derived;
    }
  }
  return open_model(desc, decode, weights_path, o, tok_path, out);
}

hy_status_t hy_model_open_static(const hy_model_desc_t *desc,
                                 hy_decode_fn decode, const char *weights_path,
                                 hy_model_t **out) {
  return hy_model_open_static_ex(desc, decode, weights_path, NULL, out);
}

hy_status_t hy_model_open_dir_ex(const char *dir,
                                 const hy_model_options_t *options,
                                 hy_model_t **out) {
  if (!out)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_dir: out is NULL");
  *out = NULL;
  if (!dir)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_dir: dir is NULL");
  char path[4096], name[256];
  if ((size_t)snprintf(path, sizeof path, "%s/hy_model.name", dir) >=
      sizeof path)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_dir: path too long");
  FILE *f = fopen(path, "r");
  if (!f)
    return hy_set_error(
        HY_ERR_IO, "'%s' is not a hyc output directory (no hy_model.name): %s",
        dir, strerror(errno));
  int ok = fscanf(f, "%255s", name) == 1;
  fclose(f);
  if (!ok) return hy_set_error(HY_ERR_CORRUPT, "'%s' is empty", path);
  for (const char *c = name; *c; ++c)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
      return hy_set_error(HY_ERR_CORRUPT, "'%s': bad model name '%s'", path,
                          name);

  if ((size_t)snprintf(path, sizeof path, "%s/libhy_%s.so", dir, name) >=
      sizeof path)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_open_dir: path too long");
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl)
    return hy_set_error(HY_ERR_IO, "cannot load '%s': %s", path, dlerror());
  char sym[300];
  snprintf(sym, sizeof sym, "hy_%s_desc", name);
  const hy_model_desc_t *desc = dlsym(dl, sym);
  snprintf(sym, sizeof sym, "hy_%s_decode", name);
  hy_decode_fn decode = (hy_decode_fn)dlsym(dl, sym);
  if (!desc || !decode) {
    dlclose(dl);
    return hy_set_error(HY_ERR_CORRUPT,
                        "'%s' does not export hy_%s_desc/hy_%s_decode", path,
                        name, name);
  }
  hy_model_options_t o;
  if (options)
    o = *options;
  else
    hy_model_options_init(&o);
  /* Optional entry points: absent in libraries from older compilers. */
  snprintf(sym, sizeof sym, "hy_%s_prefill", name);
  o.prefill = (hy_prefill_fn)dlsym(dl, sym);
  snprintf(sym, sizeof sym, "hy_%s_set_parallel", name);
  o.set_parallel = (hy_set_parallel_fn)dlsym(dl, sym);
  snprintf(sym, sizeof sym, "hy_%s_set_prefetch", name);
  o.set_prefetch = (hy_set_prefetch_fn)dlsym(dl, sym);
  char tok_path[4096];
  const char *tok = o.tokenizer_path;
  if (!tok) {
    snprintf(tok_path, sizeof tok_path, "%s/%s.tokenizer", dir, name);
    if (file_exists(tok_path)) tok = tok_path;
  }
  snprintf(path, sizeof path, "%s/%s.weights", dir, name);
  if (!o.weights_data && !file_exists(path)) {
    /* Compiled with --embed-weights: the blob is inside the library. */
    snprintf(sym, sizeof sym, "hy_%s_weights", name);
    o.weights_data = (const uint8_t *)dlsym(dl, sym);
  }
  hy_status_t s = open_model(desc, decode, path, &o, tok, out);
  if (s != HY_OK) {
    dlclose(dl);
    return s;
  }
  (*out)->dl = dl;
  return HY_OK;
}

hy_status_t hy_model_open_dir(const char *dir, hy_model_t **out) {
  return hy_model_open_dir_ex(dir, NULL, out);
}

void hy_model_release(hy_model_t *model) {
  if (!model) return;
  detach_pool(model);
  hy_tokenizer_release(model->tok);
  if (model->weights_mapped) munmap((void *)model->weights, model->weights_size);
  if (model->dl) dlclose(model->dl);
  free(model);
}

void hy_model_eog(const hy_model_t *model, const int32_t **ids, size_t *n) {
  if (model->tok) {
    *ids = model->tok->eog;
    *n = model->tok->n_eog;
  } else {
    *ids = model->eos_only;
    *n = model->eos_only[0] >= 0 ? 1 : 0;
  }
}

const hy_model_desc_t *hy_model_desc(const hy_model_t *model) {
  if (!model) {
    hy_set_error(HY_ERR_INVALID_ARGUMENT, "hy_model_desc: model is NULL");
    return NULL;
  }
  return &model->desc;
}

hy_status_t hy_model_info(const hy_model_t *model, hy_model_info_t *info) {
  if (!model || !info)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_model_info: model and info must not be NULL");
  memset(info, 0, sizeof *info);
  const hy_model_desc_t *d = &model->desc;
  info->n_vocab = (int32_t)d->n_vocab;
  info->n_ctx = (int32_t)d->n_ctx;
  info->bos_id = (int32_t)d->bos_id;
  info->eos_id = (int32_t)d->eos_id;
  info->pad_id = -1;
  if (model->tok) {
    info->has_tokenizer = 1;
    info->has_chat = model->tok->has_chat;
    info->pad_id = model->tok->pad_id;
  }
  hy_model_eog(model, &info->eog_ids, &info->n_eog);
  info->has_prefill = model->prefill != NULL;
  info->has_parallel = model->pool != NULL;
  info->n_threads = hy_pool_threads(model->pool);
  return HY_OK;
}
