/* status.c - per-thread last error message and status names. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hy_internal.h"

static _Thread_local char last_error[1024];

const char *hy_last_error(void) { return last_error; }

hy_status_t hy_set_error(hy_status_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

const char *hy_status_string(hy_status_t status) {
  switch (status) {
    case HY_OK: return "HY_OK";
    case HY_ERR_INVALID_ARGUMENT: return "HY_ERR_INVALID_ARGUMENT";
    case HY_ERR_IO: return "HY_ERR_IO";
    case HY_ERR_ABI_MISMATCH: return "HY_ERR_ABI_MISMATCH";
    case HY_ERR_CORRUPT: return "HY_ERR_CORRUPT";
    case HY_ERR_OUT_OF_MEMORY: return "HY_ERR_OUT_OF_MEMORY";
    case HY_ERR_CONTEXT_FULL: return "HY_ERR_CONTEXT_FULL";
    case HY_ERR_INTERNAL: return "HY_ERR_INTERNAL";
    case HY_ERR_BUFFER_TOO_SMALL: return "HY_ERR_BUFFER_TOO_SMALL";
    case HY_ERR_UNSUPPORTED: return "HY_ERR_UNSUPPORTED";
    case HY_ERR_CANCELLED: return "HY_ERR_CANCELLED";
  }
  return "HY_ERR_UNKNOWN";
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
