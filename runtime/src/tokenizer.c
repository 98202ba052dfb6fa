/* tokenizer.c - byte-level BPE with HY's pre-split: loading NAME.tokenizer,
 * encoding text to ids, decoding ids to bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hy_internal.h"
#include "unicode.h"

struct hy_merge_slot {
  int32_t left, right; /* left == -1: empty */
  int32_t rank, result;
};


/* ---- loading -------------------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p, *end;
  int failed;
} reader_t;

static int rd_need(reader_t *r, size_t n) {
  if (r->failed || (size_t)(r->end - r->p) < n) {
    r->failed = 1;
    return 0;
  }
  return 1;
}
static uint32_t rd_u32(reader_t *r) {
  if (!rd_need(r, 4)) return 0;
  uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
               (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return v;
}
static int32_t rd_i32(reader_t *r) { return (int32_t)rd_u32(r); }
static uint8_t rd_u8(reader_t *r) {
  if (!rd_need(r, 1)) return 0;
  return *r->p++;
}
static const uint8_t *rd_bytes(reader_t *r, size_t n) {
  if (!rd_need(r, n)) return NULL;
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static size_t pow2_at_least(size_t n) {
  size_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

static size_t hash_pair(int32_t a, int32_t b) {
  uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return (size_t)k;
}

static const struct hy_merge_slot *find_merge(const hy_tokenizer_t *t,
                                              int32_t a, int32_t b) {
  size_t i = hash_pair(a, b) & t->merge_mask;
  for (;;) {
    const struct hy_merge_slot *s = &t->merge_table[i];
    if (s->left < 0) return NULL;
    if (s->left == a && s->right == b) return s;
    i = (i + 1) & t->merge_mask;
  }
}

static const char *tok_bytes(const hy_tokenizer_t *t, int32_t id,
                             size_t *len) {
  *len = t->offsets[id + 1] - t->offsets[id];
  return t->text + t->offsets[id];
}

static int32_t find_token(const hy_tokenizer_t *t, const char *s, size_t n) {
  size_t i = (size_t)fnv1a((const uint8_t *)s, n) & t->vocab_mask;
  for (;;) {
    int32_t id = t->vocab_table[i];
    if (id < 0) return -1;
    size_t len;
    const char *b = tok_bytes(t, id, &len);
    if (len == n && memcmp(b, s, n) == 0) return id;
    i = (i + 1) & t->vocab_mask;
  }
}

void hy_tokenizer_release(hy_tokenizer_t *t) {
  if (!t) return;
  free(t->eog);
  free(t->types);
  free(t->offsets);
  free(t->text);
  free(t->merge_table);
  free(t->vocab_table);
  free(t->special);
  for (int i = 0; i < HY_CHAT_N_STRINGS; ++i) free(t->chat[i]);
  free(t);
}

static hy_status_t read_file(const char *path, uint8_t **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return hy_set_error(HY_ERR_IO, "cannot open tokenizer '%s': %s", path,
                        strerror(errno));
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return hy_set_error(HY_ERR_IO, "cannot size tokenizer '%s'", path);
  }
  if (n > (1l << 30)) {
    fclose(f);
    return hy_set_error(HY_ERR_CORRUPT, "tokenizer '%s' is over 1 GiB", path);
  }
  uint8_t *buf = malloc(n ? (size_t)n : 1);
  if (!buf) {
    fclose(f);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  if (got != (size_t)n) {
    free(buf);
    return hy_set_error(HY_ERR_IO, "cannot read tokenizer '%s'", path);
  }
  *data = buf;
  *size = (size_t)n;
  return HY_OK;
}

static size_t special_len(const hy_tokenizer_t *t, int32_t id) {
  return t->offsets[id + 1] - t->offsets[id];
}
static uint8_t special_byte(const hy_tokenizer_t *t, int32_t id, size_t k) {
  return (uint8_t)t->text[t->offsets[id] + k];
}

/* Byte order, a proper prefix first; equal bytes: lower id first. */
static int special_less(const hy_tokenizer_t *t, int32_t a, int32_t b) {
  size_t la, lb;
  const char *sa = tok_bytes(t, a, &la), *sb = tok_bytes(t, b, &lb);
  int c = memcmp(sa, sb, la < lb ? la : lb);
  if (c != 0) return c < 0;
  if (la != lb) return la < lb;
  return a < b;
}

/* Bottom-up merge sort of ids[0..n) by special_less (no qsort_r: its
 * signature differs between glibc, bionic and Darwin). */
static void sort_special(const hy_tokenizer_t *t, int32_t *ids,
                         int32_t *scratch, size_t n) {
  int32_t *src = ids, *dst = scratch;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi)
        dst[o++] = special_less(t, src[j], src[i]) ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    int32_t *tmp = src;
    src = dst;
    dst = tmp;
  }
  if (src != ids) memcpy(ids, src, n * sizeof *ids);
}

static hy_status_t corrupt(const char *path, const char *what) {
  return hy_set_error(HY_ERR_CORRUPT, "tokenizer '%s' is corrupt: %s", path,
                      what);
}

static hy_status_t parse(hy_tokenizer_t *t, const char *path,
                         const uint8_t *data, size_t size, int32_t n_vocab) {
  char msg[160];
  size_t magic_len = sizeof HY_TOKENIZER_FILE_MAGIC; /* with its NUL */
  if (size < magic_len + 8 ||
      memcmp(data, HY_TOKENIZER_FILE_MAGIC, magic_len) != 0)
    return corrupt(path, "not a hy tokenizer file (bad magic)");
  uint64_t stored = 0;
  for (int i = 0; i < 8; ++i)
    stored |= (uint64_t)data[size - 8 + (size_t)i] << (8 * i);
  reader_t r = {data + magic_len, data + size - 8, 0};
  uint32_t version = rd_u32(&r);
  if (version != HY_TOKENIZER_FILE_VERSION) {
    snprintf(msg, sizeof msg, "format version %u, this runtime reads %d",
             version, HY_TOKENIZER_FILE_VERSION);
    return corrupt(path, msg);
  }
  if (fnv1a(data, size - 8) != stored)
    return corrupt(path, "checksum mismatch");
  t->pre_split = rd_u32(&r);
  uint32_t n_tokens = rd_u32(&r), n_merges = rd_u32(&r);
  t->bos_id = rd_i32(&r);
  t->eos_id = rd_i32(&r);
  t->pad_id = rd_i32(&r);
  uint32_t n_eog = rd_u32(&r);
  if (r.failed) return corrupt(path, "truncated header");
  if (t->pre_split != HY_PRE_SPLIT_DEEPSEEK_V3) {
    snprintf(msg, sizeof msg, "unknown pre-split rules %u", t->pre_split);
    return corrupt(path, msg);
  }
  if (n_vocab > 0 && (int64_t)n_tokens != n_vocab) {
    snprintf(msg, sizeof msg, "%u tokens, but the model has a vocabulary of %d",
             n_tokens, n_vocab);
    return corrupt(path, msg);
  }
  if (n_tokens < 256 || n_tokens > INT32_MAX / 2)
    return corrupt(path, "token count out of range");
  t->n_tokens = (int32_t)n_tokens;
  int32_t nt = t->n_tokens;
  if (t->bos_id < -1 || t->bos_id >= nt || t->eos_id < -1 ||
      t->eos_id >= nt || t->pad_id < -1 || t->pad_id >= nt)
    return corrupt(path, "special token id out of range");
  if (n_eog > n_tokens) return corrupt(path, "too many end-of-generation ids");
  t->eog = malloc((n_eog ? n_eog : 1) * sizeof *t->eog);
  t->types = malloc(n_tokens);
  t->offsets = malloc(((size_t)n_tokens + 1) * sizeof *t->offsets);
  if (!t->eog || !t->types || !t->offsets)
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  for (uint32_t i = 0; i < n_eog; ++i) {
    int32_t id = rd_i32(&r);
    if (id < 0 || id >= nt) return corrupt(path, "end-of-generation id out of range");
    t->eog[i] = id;
  }
  t->n_eog = n_eog;

  /* Tokens: first pass measures, the bytes are copied into one blob. */
  const uint8_t *tokens_start = r.p;
  size_t total = 0;
  for (uint32_t i = 0; i < n_tokens; ++i) {
    t->types[i] = rd_u8(&r);
    uint32_t len = rd_u32(&r);
    if (!rd_bytes(&r, len)) break;
    if (len > t->max_token_bytes) t->max_token_bytes = len;
    total += len;
  }
  if (r.failed) return corrupt(path, "truncated token table");
  t->text = malloc(total ? total : 1);
  if (!t->text) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  reader_t r2 = {tokens_start, r.p, 0};
  uint32_t at = 0;
  for (uint32_t i = 0; i < n_tokens; ++i) {
    (void)rd_u8(&r2);
    uint32_t len = rd_u32(&r2);
    memcpy(t->text + at, rd_bytes(&r2, len), len);
    t->offsets[i] = at;
    at += len;
  }
  t->offsets[n_tokens] = at;

  /* Token bytes -> id (first id wins on duplicates). */
  size_t vcap = pow2_at_least((size_t)n_tokens * 2);
  t->vocab_table = malloc(vcap * sizeof *t->vocab_table);
  if (!t->vocab_table) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  t->vocab_mask = vcap - 1;
  for (size_t i = 0; i < vcap; ++i) t->vocab_table[i] = -1;
  for (int32_t id = 0; id < nt; ++id) {
    size_t len;
    const char *b = tok_bytes(t, id, &len);
    size_t i = (size_t)fnv1a((const uint8_t *)b, len) & t->vocab_mask;
    int dup = 0;
    while (t->vocab_table[i] >= 0) {
      size_t l2;
      const char *b2 = tok_bytes(t, t->vocab_table[i], &l2);
      if (l2 == len && memcmp(b, b2, len) == 0) {
        dup = 1;
        break;
      }
      i = (i + 1) & t->vocab_mask;
    }
    if (!dup) t->vocab_table[i] = id;
  }

  /* The 256 single-byte tokens BPE starts from (never special ones). */
  for (int b = 0; b < 256; ++b) t->byte_token[b] = -1;
  for (int32_t id = 0; id < nt; ++id) {
    size_t len;
    const char *s = tok_bytes(t, id, &len);
    if (len == 1 && !hy_token_is_special(t, id) &&
        t->byte_token[(uint8_t)s[0]] < 0)
      t->byte_token[(uint8_t)s[0]] = id;
  }
  for (int b = 0; b < 256; ++b)
    if (t->byte_token[b] < 0) {
      snprintf(msg, sizeof msg, "no token for byte 0x%02x", b);
      return corrupt(path, msg);
    }

  /* Merges (the first of duplicate pairs wins), each checked to spell its
   * result. */
  /* Load factor at most 2/3 (linear probing stays short with this hash);
   * the table is the tokenizer's largest allocation. */
  size_t mcap = pow2_at_least((size_t)n_merges + (size_t)n_merges / 2 + 1);
  t->merge_table = malloc(mcap * sizeof *t->merge_table);
  if (!t->merge_table) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  t->merge_mask = mcap - 1;
  for (size_t i = 0; i < mcap; ++i) t->merge_table[i].left = -1;
  for (uint32_t rank = 0; rank < n_merges; ++rank) {
    int32_t a = rd_i32(&r), b = rd_i32(&r), c = rd_i32(&r);
    if (r.failed) return corrupt(path, "truncated merge table");
    if (a < 0 || a >= nt || b < 0 || b >= nt || c < 0 || c >= nt)
      return corrupt(path, "merge id out of range");
    size_t la, lb, lc;
    const char *sa = tok_bytes(t, a, &la), *sb = tok_bytes(t, b, &lb),
               *sc = tok_bytes(t, c, &lc);
    if (lc != la + lb || memcmp(sc, sa, la) != 0 || memcmp(sc + la, sb, lb) != 0) {
      snprintf(msg, sizeof msg, "merge %u (%d %d -> %d) does not spell its result",
               rank, a, b, c);
      return corrupt(path, msg);
    }
    size_t i = hash_pair(a, b) & t->merge_mask;
    while (t->merge_table[i].left >= 0 &&
           !(t->merge_table[i].left == a && t->merge_table[i].right == b))
      i = (i + 1) & t->merge_mask;
    if (t->merge_table[i].left < 0) {
      t->merge_table[i].left = a;
      t->merge_table[i].right = b;
      t->merge_table[i].rank = (int32_t)rank;
      t->merge_table[i].result = c;
    }
  }

  /* Special tokens sorted by their bytes (ties: lower id first), for
   * leftmost-longest matching by binary search. 4 bytes a token: a byte
   * trie of HY's ~48k special tokens took megabytes. */
  size_t n_special = 0;
  for (int32_t id = 0; id < nt; ++id)
    if (hy_token_is_special(t, id) && t->offsets[id + 1] > t->offsets[id])
      ++n_special;
  t->special = malloc((n_special ? n_special : 1) * sizeof *t->special);
  int32_t *scratch = malloc((n_special ? n_special : 1) * sizeof *scratch);
  if (!t->special || !scratch) {
    free(scratch);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  n_special = 0;
  for (int32_t id = 0; id < nt; ++id) {
    if (!hy_token_is_special(t, id) || t->offsets[id + 1] == t->offsets[id])
      continue;
    t->special[n_special++] = id;
    uint8_t first = (uint8_t)t->text[t->offsets[id]];
    t->special_first[first >> 3] |= (uint8_t)(1u << (first & 7));
  }
  sort_special(t, t->special, scratch, n_special);
  free(scratch);
  t->n_special = n_special;

  /* The chat template's pieces. */
  uint32_t n_chat = rd_u32(&r);
  if (r.failed) return corrupt(path, "truncated chat section");
  if (n_chat != 0 && n_chat != HY_CHAT_N_STRINGS)
    return corrupt(path, "chat section has the wrong number of strings");
  for (uint32_t i = 0; i < n_chat; ++i) {
    uint32_t len = rd_u32(&r);
    const uint8_t *s = rd_bytes(&r, len);
    if (!s) return corrupt(path, "truncated chat section");
    t->chat[i] = malloc((size_t)len + 1);
    if (!t->chat[i]) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(t->chat[i], s, len);
    t->chat[i][len] = '\0';
    t->chat_len[i] = len;
    int32_t id = len ? find_token(t, (const char *)s, len) : -1;
    t->chat_token[i] = id >= 0 && hy_token_is_special(t, id) ? id : -1;
  }
  t->has_chat = n_chat != 0;
  if (r.p != r.end) return corrupt(path, "trailing bytes");
  return HY_OK;
}

hy_status_t hy_tokenizer_load(const char *path, int32_t n_vocab,
                              hy_tokenizer_t **out) {
  *out = NULL;
  uint8_t *data = NULL;
  size_t size = 0;
  hy_status_t s = read_file(path, &data, &size);
  if (s != HY_OK) return s;
  hy_tokenizer_t *t = calloc(1, sizeof *t);
  if (!t) {
    free(data);
    return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (int i = 0; i < HY_CHAT_N_STRINGS; ++i) t->chat_token[i] = -1;
  s = parse(t, path, data, size, n_vocab);
  free(data);
  if (s != HY_OK) {
    hy_tokenizer_release(t);
    return s;
  }
  *out = t;
  return HY_OK;
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef struct emitter {
  const hy_tokenizer_t *tok;
  int32_t *out;
  size_t cap;
  size_t *n;
  hy_status_t status;
} emitter_t;

static void emit(emitter_t *e, int32_t id) {
  if (*e->n < e->cap) e->out[*e->n] = id;
  ++*e->n;
}

typedef struct bpe_heap_entry {
  int32_t rank, pos;
} bpe_heap_entry_t;

static int heap_less(bpe_heap_entry_t a, bpe_heap_entry_t b) {
  return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos;
}
static void heap_push(bpe_heap_entry_t *h, size_t *n, bpe_heap_entry_t v) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!heap_less(v, h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = v;
}
static bpe_heap_entry_t heap_pop(bpe_heap_entry_t *h, size_t *n) {
  bpe_heap_entry_t top = h[0], last = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && heap_less(h[c + 1], h[c])) ++c;
    if (!heap_less(h[c], last)) break;
    h[i] = h[c];
    i = c;
  }
  if (*n) h[i] = last;
  return top;
}

/* Symbols of one word: a doubly linked list over the byte positions. */
typedef struct bpe_sym {
  int32_t id, prev, next, alive;
} bpe_sym_t;

enum { BPE_STACK_BYTES = 256 };

/* BPE over one pre-split piece: start from its bytes, repeatedly merge the
 * adjacent pair with the best rank (leftmost on ties). */
static void bpe_piece(emitter_t *e, const uint8_t *s, size_t n) {
  const hy_tokenizer_t *t = e->tok;
  if (n == 1) {
    emit(e, t->byte_token[s[0]]);
    return;
  }
  bpe_sym_t sym_stack[BPE_STACK_BYTES];
  bpe_heap_entry_t heap_stack[3 * BPE_STACK_BYTES];
  bpe_sym_t *sym = sym_stack;
  bpe_heap_entry_t *heap = heap_stack;
  void *block = NULL;
  if (n > BPE_STACK_BYTES) {
    block = malloc(n * (sizeof *sym + 3 * sizeof *heap));
    if (!block) {
      e->status = hy_set_error(HY_ERR_OUT_OF_MEMORY,
                               "out of memory tokenizing a %zu-byte word", n);
      return;
    }
    sym = block;
    heap = (bpe_heap_entry_t *)(sym + n);
  }
  size_t hn = 0;
  for (size_t i = 0; i < n; ++i) {
    sym[i].id = t->byte_token[s[i]];
    sym[i].prev = (int32_t)i - 1;
    sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
    sym[i].alive = 1;
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    const struct hy_merge_slot *m = find_merge(t, sym[i].id, sym[i + 1].id);
    if (m) heap_push(heap, &hn, (bpe_heap_entry_t){m->rank, (int32_t)i});
  }
  while (hn > 0) {
    bpe_heap_entry_t top = heap_pop(heap, &hn);
    bpe_sym_t *a = &sym[top.pos];
    if (!a->alive || a->next < 0) continue;
    bpe_sym_t *b = &sym[a->next];
    const struct hy_merge_slot *m = find_merge(t, a->id, b->id);
    if (!m || m->rank != top.rank) continue; /* stale: the pair changed */
    a->id = m->result;
    b->alive = 0;
    a->next = b->next;
    if (a->next >= 0) sym[a->next].prev = top.pos;
    if (a->prev >= 0) {
      const struct hy_merge_slot *pm = find_merge(t, sym[a->prev].id, a->id);
      if (pm) heap_push(heap, &hn, (bpe_heap_entry_t){pm->rank, a->prev});
    }
    if (a->next >= 0) {
      const struct hy_merge_slot *nm = find_merge(t, a->id, sym[a->next].id);
      if (nm) heap_push(heap, &hn, (bpe_heap_entry_t){nm->rank, top.pos});
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) emit(e, sym[i].id);
  free(block);
}

/* ---- the DeepSeek-V3 / hunyuan-dense pre-split ----------------------------------
 * Three regex splits applied in sequence, each keeping both its matches and
 * the text between them as pieces (the `tokenizers` "Isolated" behaviour):
 *   1. \p{N}{1,3}
 *   2. [一-龥぀-ゟ゠-ヿ]+
 *   3. [!-/:-@[-`{-~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
 *      | ' '?[\p{P}\p{S}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * with leftmost-first alternation (Oniguruma semantics, backtracking as
 * needed) and \s = White_Space. Each stage sees only its piece, so a
 * lookahead stops at the piece's end. */

typedef struct cursor {
  const uint8_t *s;
  size_t end;
} cursor_t;

static size_t next_cp(const cursor_t *c, size_t p, uint32_t *cp) {
  return hy_utf8_next(c->s + p, c->end - p, cp);
}

static int is_lm(uint32_t cp) {
  int k = hy_uclass(cp);
  return k == HY_UCLASS_L || k == HY_UCLASS_M;
}
static int is_ps(uint32_t cp) {
  int k = hy_uclass(cp);
  return k == HY_UCLASS_P || k == HY_UCLASS_S;
}
static int is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x3040 && cp <= 0x309F) ||
         (cp >= 0x30A0 && cp <= 0x30FF);
}
static int is_ascii_punct(uint32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
         (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}
static int is_ascii_letter(uint32_t cp) {
  return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
}

/* End of the run of code points satisfying pred from p. */
static size_t run_end(const cursor_t *c, size_t p, int (*pred)(uint32_t)) {
  while (p < c->end) {
    uint32_t cp;
    size_t l = next_cp(c, p, &cp);
    if (!pred(cp)) break;
    p += l;
  }
  return p;
}
static int is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/* Length of the stage-3 match at p, 0 if none starts there. */
static size_t match_general(const cursor_t *c, size_t p) {
  uint32_t c0, c1 = 0;
  size_t l0 = next_cp(c, p, &c0);
  int has1 = p + l0 < c->end;
  if (has1) next_cp(c, p + l0, &c1);
  int k0 = hy_uclass(c0);

  if (is_ascii_punct(c0) && has1 && is_ascii_letter(c1))
    return run_end(c, p + l0, is_ascii_letter) - p;

  if (!is_crlf(c0) && k0 != HY_UCLASS_L && k0 != HY_UCLASS_P &&
      k0 != HY_UCLASS_S && has1 && is_lm(c1))
    return run_end(c, p + l0, is_lm) - p;
  if (k0 == HY_UCLASS_L || k0 == HY_UCLASS_M) return run_end(c, p, is_lm) - p;

  if (c0 == ' ' && has1 && is_ps(c1))
    return run_end(c, run_end(c, p + l0, is_ps), is_crlf) - p;
  if (k0 == HY_UCLASS_P || k0 == HY_UCLASS_S)
    return run_end(c, run_end(c, p, is_ps), is_crlf) - p;

  if (!hy_uspace(c0)) return 0;
  /* Whitespace run [p, q); remember the last CR/LF and the last char. */
  size_t q = p, last_crlf_end = 0, last_start = p, n_chars = 0;
  while (q < c->end) {
    uint32_t cp;
    size_t l = next_cp(c, q, &cp);
    if (!hy_uspace(cp)) break;
    if (is_crlf(cp)) last_crlf_end = q + l;
    last_start = q;
    q += l;
    ++n_chars;
  }
  if (last_crlf_end) return last_crlf_end - p; /* \s*[\r\n]+ */
  if (q == c->end || n_chars == 1) return q - p; /* \s+(?!\S), else \s+ */
  return last_start - p; /* \s+(?!\S) backs off one char */
}

static void split_general(emitter_t *e, const uint8_t *s, size_t start,
                          size_t end) {
  cursor_t c = {s, end};
  size_t p = start, gap = start;
  while (p < end && e->status == HY_OK) {
    size_t m = match_general(&c, p);
    if (m) {
      if (gap < p) bpe_piece(e, s + gap, p - gap);
      bpe_piece(e, s + p, m);
      p += m;
      gap = p;
    } else {
      uint32_t cp;
      p += next_cp(&c, p, &cp);
    }
  }
  if (gap < end && e->status == HY_OK) bpe_piece(e, s + gap, end - gap);
}

static void split_cjk(emitter_t *e, const uint8_t *s, size_t start,
                      size_t end) {
  cursor_t c = {s, end};
  size_t p = start, gap = start;
  while (p < end) {
    uint32_t cp;
    size_t l = next_cp(&c, p, &cp);
    if (is_cjk(cp)) {
      if (gap < p) split_general(e, s, gap, p);
      size_t q = run_end(&c, p, is_cjk);
      split_general(e, s, p, q);
      p = gap = q;
    } else {
      p += l;
    }
  }
  if (gap < end) split_general(e, s, gap, end);
}

static void split_digits(emitter_t *e, const uint8_t *s, size_t start,
                         size_t end) {
  cursor_t c = {s, end};
  size_t p = start, gap = start;
  while (p < end) {
    uint32_t cp;
    size_t l = next_cp(&c, p, &cp);
    if (hy_uclass(cp) == HY_UCLASS_N) {
      if (gap < p) split_cjk(e, s, gap, p);
      size_t q = p + l;
      for (int k = 1; k < 3 && q < end; ++k) {
        size_t l2 = next_cp(&c, q, &cp);
        if (hy_uclass(cp) != HY_UCLASS_N) break;
        q += l2;
      }
      split_cjk(e, s, p, q);
      p = gap = q;
    } else {
      p += l;
    }
  }
  if (gap < end) split_cjk(e, s, gap, end);
}

/* Longest special token at s[0..n), or -1 (*len = its length). The sorted
 * ids are narrowed one byte at a time: after k bytes, [lo, hi) holds the
 * tokens that start with s[0..k); those exactly k long sort first. */
static int32_t match_special(const hy_tokenizer_t *t, const uint8_t *s,
                             size_t n, size_t *len) {
  if (!(t->special_first[s[0] >> 3] & (1u << (s[0] & 7)))) return -1;
  size_t lo = 0, hi = t->n_special;
  int32_t best = -1;
  for (size_t k = 0; k < n; ++k) {
    while (lo < hi && special_len(t, t->special[lo]) == k) ++lo;
    /* First token whose byte k is >= s[k], then first one > s[k]. */
    size_t a = lo, b = hi;
    while (a < b) {
      size_t mid = a + (b - a) / 2;
      if (special_byte(t, t->special[mid], k) < s[k]) a = mid + 1;
      else b = mid;
    }
    size_t c = a, d = hi;
    while (c < d) {
      size_t mid = c + (d - c) / 2;
      if (special_byte(t, t->special[mid], k) <= s[k]) c = mid + 1;
      else d = mid;
    }
    lo = a;
    hi = c;
    if (lo == hi) break;
    if (special_len(t, t->special[lo]) == k + 1) {
      best = t->special[lo];
      *len = k + 1;
    }
  }
  return best;
}

hy_status_t hy_tokenizer_encode(const hy_tokenizer_t *t, const char *text,
                                size_t len, int parse_special, int32_t *out,
                                size_t cap, size_t *n) {
  emitter_t e = {t, out, cap, n, HY_OK};
  const uint8_t *s = (const uint8_t *)text;
  size_t seg = 0;
  if (parse_special && t->n_special > 0) {
    for (size_t p = 0; p < len && e.status == HY_OK;) {
      size_t mlen = 0;
      int32_t id = match_special(t, s + p, len - p, &mlen);
      if (id >= 0) {
        if (seg < p) split_digits(&e, s, seg, p);
        emit(&e, id);
        p += mlen;
        seg = p;
      } else {
        ++p;
      }
    }
  }
  if (seg < len && e.status == HY_OK) split_digits(&e, s, seg, len);
  return e.status;
}

/* ---- public API ---------------------------------------------------------------------- */

static hy_status_t need_tokenizer(const hy_model_t *model, const char *fn) {
  if (!model)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (!model->tok)
    return hy_set_error(HY_ERR_UNSUPPORTED,
                        "%s: the model was opened without a tokenizer file",
                        fn);
  return HY_OK;
}

hy_status_t hy_tokenize(const hy_model_t *model, const char *text,
                        size_t text_len, uint32_t flags, int32_t *tokens,
                        size_t max_tokens, size_t *n_tokens) {
  hy_status_t s = need_tokenizer(model, "hy_tokenize");
  if (s != HY_OK) return s;
  if (!n_tokens || (!text && text_len) || (!tokens && max_tokens))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_tokenize: n_tokens is NULL, or text/tokens is "
                        "NULL with a nonzero length");
  if (flags & ~(uint32_t)(HY_TOKENIZE_PARSE_SPECIAL | HY_TOKENIZE_ADD_BOS))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_tokenize: unknown flags 0x%x", flags);
  const hy_tokenizer_t *t = model->tok;
  size_t n = 0;
  if ((flags & HY_TOKENIZE_ADD_BOS) && t->bos_id >= 0) {
    if (max_tokens > 0) tokens[0] = t->bos_id;
    n = 1;
  }
  if (text_len &&
      (s = hy_tokenizer_encode(t, text, text_len,
                               (flags & HY_TOKENIZE_PARSE_SPECIAL) != 0,
                               tokens, max_tokens, &n)) != HY_OK)
    return s;
  *n_tokens = n;
  if (n > max_tokens)
    return hy_set_error(HY_ERR_BUFFER_TOO_SMALL,
                        "hy_tokenize: %zu tokens do not fit in %zu", n,
                        max_tokens);
  return HY_OK;
}

hy_status_t hy_detokenize(const hy_model_t *model, const int32_t *tokens,
                          size_t n_tokens, uint32_t flags, char *text,
                          size_t text_cap, size_t *text_len) {
  hy_status_t s = need_tokenizer(model, "hy_detokenize");
  if (s != HY_OK) return s;
  if (!text_len || (!tokens && n_tokens) || (!text && text_cap))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_detokenize: text_len is NULL, or tokens/text is "
                        "NULL with a nonzero size");
  if (flags & ~(uint32_t)HY_DETOKENIZE_SKIP_SPECIAL)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_detokenize: unknown flags 0x%x", flags);
  const hy_tokenizer_t *t = model->tok;
  size_t total = 0;
  for (size_t i = 0; i < n_tokens; ++i) {
    int32_t id = tokens[i];
    if (id < 0 || id >= t->n_tokens)
      return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                          "hy_detokenize: token %d (at %zu) outside the "
                          "vocabulary [0, %d)",
                          id, i, t->n_tokens);
    if ((flags & HY_DETOKENIZE_SKIP_SPECIAL) && hy_token_is_special(t, id))
      continue;
    size_t len;
    const char *b = tok_bytes(t, id, &len);
    if (total + len < text_cap) memcpy(text + total, b, len);
    total += len;
  }
  *text_len = total;
  if (total + 1 > text_cap)
    return hy_set_error(HY_ERR_BUFFER_TOO_SMALL,
                        "hy_detokenize: %zu bytes (+ NUL) do not fit in %zu",
                        total, text_cap);
  text[total] = '\0';
  return HY_OK;
}

hy_status_t hy_token_bytes(const hy_model_t *model, int32_t token,
                           const char **bytes, size_t *len) {
  hy_status_t s = need_tokenizer(model, "hy_token_bytes");
  if (s != HY_OK) return s;
  if (!bytes || !len)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_token_bytes: bytes and len must not be NULL");
  if (token < 0 || token >= model->tok->n_tokens)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_token_bytes: token %d outside the vocabulary "
                        "[0, %d)",
                        token, model->tok->n_tokens);
  *bytes = tok_bytes(model->tok, token, len);
  return HY_OK;
}

hy_status_t hy_token_find(const hy_model_t *model, const char *text,
                          size_t len, int32_t *token) {
  hy_status_t s = need_tokenizer(model, "hy_token_find");
  if (s != HY_OK) return s;
  if (!token || (!text && len))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_token_find: token is NULL or text is NULL");
  int32_t id = find_token(model->tok, text ? text : "", len);
  if (id < 0)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_token_find: no token is spelled '%.*s'",
                        (int)(len > 200 ? 200 : len), text ? text : "");
  *token = id;
  return HY_OK;
}
