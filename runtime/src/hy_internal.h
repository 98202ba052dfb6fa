/* hy_internal.h - runtime-internal helpers shared by the runtime's sources. */
#ifndef HY_INTERNAL_H_
#define HY_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "hy/hy.h"

/** Records a formatted message as this thread's last error; returns status. */
hy_status_t hy_set_error(hy_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** The weights fingerprint the compiler stores in hy_model_desc_t. */
uint64_t hy_weights_hash(const uint8_t *data, size_t size);

#endif /* HY_INTERNAL_H_ */
