/* unicode.c - UTF-8 decoding and code point class lookups for the tokenizer. */
#include "unicode.h"

static int in_ranges(const hy_urange_t *r, size_t n, uint32_t cp,
                     uint32_t *cls) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cp < r[mid].first) {
      hi = mid;
    } else if (cp > r[mid].last) {
      lo = mid + 1;
    } else {
      *cls = r[mid].cls;
      return 1;
    }
  }
  return 0;
}

int hy_uclass(uint32_t cp) {
  if (cp < 0x80) {
    /* ASCII fast path (same answers as the table). */
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return HY_UCLASS_L;
    if (cp >= '0' && cp <= '9') return HY_UCLASS_N;
    if (cp <= 0x20 || cp == 0x7F) return HY_UCLASS_OTHER;
    if (cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' ||
        cp == '^' || cp == '`' || cp == '|' || cp == '~')
      return HY_UCLASS_S;
    return HY_UCLASS_P;
  }
  uint32_t cls;
  return in_ranges(hy_uclass_ranges, hy_uclass_n_ranges, cp, &cls)
             ? (int)cls
             : HY_UCLASS_OTHER;
}

int hy_uspace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  uint32_t cls;
  return in_ranges(hy_uwhite_ranges, hy_uwhite_n_ranges, cp, &cls);
}

size_t hy_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
  uint8_t b = s[0];
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((b & 0xE0) == 0xC0) {
    len = 2, v = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3, v = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4, v = b & 0x07, min = 0x10000;
  } else {
    *cp = 0xFFFFFFFFu;
    return 1;
  }
  if (len > n) {
    *cp = 0xFFFFFFFFu;
    return 1;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFFFFFFu;
      return 1;
    }
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = 0xFFFFFFFFu;
    return 1;
  }
  *cp = v;
  return len;
}

size_t hy_utf8_complete_prefix(const uint8_t *s, size_t n) {
  /* Look at most 3 bytes back for the lead byte of an unfinished sequence. */
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t b = s[n - back];
    if ((b & 0xC0) == 0x80) continue; /* continuation byte */
    size_t need = (b & 0xE0) == 0xC0   ? 2
                  : (b & 0xF0) == 0xE0 ? 3
                  : (b & 0xF8) == 0xF0 ? 4
                                       : 1;
    return need > back ? n - back : n;
  }
  return n;
}
