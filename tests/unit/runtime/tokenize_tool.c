/* tokenize_tool.c - test helper: tokenizes records with the runtime's tokenizer
 * and checks that decoding gives every record back.
 *
 *   hy-tokenize-tool FILE.tokenizer RECORDS IDS
 * RECORDS: u32 count, then count x {u32 len; bytes}; IDS (written): per record
 * {u32 n; i32 ids[n]} (special tokens are matched, like the `tokenizers`
 * package's added tokens). Prints the counts; exit 1 on a load error or a
 * record that does not round-trip. Little-endian host assumed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hy_internal.h"

static int read_all(const char *path, unsigned char **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *data = malloc(n > 0 ? (size_t)n : 1);
  *size = *data ? fread(*data, 1, (size_t)n, f) : 0;
  fclose(f);
  return *data && *size == (size_t)n;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s FILE.tokenizer RECORDS IDS\n", argv[0]);
    return 2;
  }
  hy_tokenizer_t *tok = NULL;
  if (hy_tokenizer_load(argv[1], 0, &tok) != HY_OK) {
    fprintf(stderr, "error: %s\n", hy_last_error());
    return 1;
  }
  unsigned char *data;
  size_t size;
  if (!read_all(argv[2], &data, &size) || size < 4) {
    fprintf(stderr, "error: cannot read %s\n", argv[2]);
    return 1;
  }
  FILE *out = fopen(argv[3], "wb");
  if (!out) {
    fprintf(stderr, "error: cannot write %s\n", argv[3]);
    return 1;
  }
  uint32_t count;
  memcpy(&count, data, 4);
  size_t at = 4, total = 0, cap = 1 << 16, failures = 0;
  int32_t *ids = malloc(cap * sizeof *ids);
  char *text = malloc(1 << 20);
  for (uint32_t r = 0; r < count; ++r) {
    uint32_t len;
    if (at + 4 > size) break;
    memcpy(&len, data + at, 4);
    at += 4;
    if (at + len > size || len >= (1u << 20)) break;
    const char *rec = (const char *)data + at;
    at += len;
    size_t n = 0;
    if (hy_tokenizer_encode(tok, rec, len, 1, ids, cap, &n) != HY_OK || n > cap) {
      fprintf(stderr, "error: record %u: %s\n", r, hy_last_error());
      return 1;
    }
    uint32_t n32 = (uint32_t)n;
    fwrite(&n32, 4, 1, out);
    fwrite(ids, sizeof *ids, n, out);
    total += n;
    size_t tl = 0;
    for (size_t i = 0; i < n; ++i) {
      size_t l = tok->offsets[ids[i] + 1] - tok->offsets[ids[i]];
      if (tl + l <= (1u << 20)) memcpy(text + tl, tok->text + tok->offsets[ids[i]], l);
      tl += l;
    }
    if (tl != len || memcmp(text, rec, len) != 0) {
      if (failures++ < 5) fprintf(stderr, "round trip failed: record %u\n", r);
    }
  }
  fclose(out);
  printf("records %u, tokens %zu, round-trip failures %zu\n", count, total, failures);
  free(ids);
  free(text);
  free(data);
  hy_tokenizer_release(tok);
  return failures ? 1 : 0;
}
