/* unicode.h - UTF-8 decoding and the code point classes the tokenizer's pre-split uses. */
#ifndef HY_UNICODE_H_
#define HY_UNICODE_H_

#include <stddef.h>
#include <stdint.h>

/* General category major classes (0: anything else). */
enum {
  HY_UCLASS_OTHER = 0,
  HY_UCLASS_L = 1, /* letters */
  HY_UCLASS_M = 2, /* marks */
  HY_UCLASS_N = 3, /* numbers */
  HY_UCLASS_P = 4, /* punctuation */
  HY_UCLASS_S = 5, /* symbols */
};

typedef struct hy_urange_t {
  uint32_t first, last;
  uint32_t cls;
} hy_urange_t;

extern const char hy_unicode_version[];
extern const hy_urange_t hy_uclass_ranges[];
extern const size_t hy_uclass_n_ranges;
extern const hy_urange_t hy_uwhite_ranges[];
extern const size_t hy_uwhite_n_ranges;

/* Class of code point cp (HY_UCLASS_*). */
int hy_uclass(uint32_t cp);
/* Nonzero if cp has the White_Space property. */
int hy_uspace(uint32_t cp);

/* Decodes the UTF-8 sequence at s[0..n) (n > 0): returns its length and sets
 * *cp. A malformed or truncated sequence counts as one byte with
 * *cp = 0xFFFFFFFF (which is in no class and not white space). */
size_t hy_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8
 * sequence that could still be completed by more bytes. */
size_t hy_utf8_complete_prefix(const uint8_t *s, size_t n);

#endif /* HY_UNICODE_H_ */
