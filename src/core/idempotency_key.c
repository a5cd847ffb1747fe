/* What an Idempotency-Key may be: short printable ASCII, so that it is stored, logged and compared
 * as the client wrote it. */
#include "mondux/idempotency_key.h"

#include <stddef.h>

int mx_idempotency_key_is_valid(const char *key) {
    if (key == NULL)
        return 0;
    size_t length = 0;
    for (const char *p = key; *p != '\0'; p++, length++) {
        if (length == MX_IDEMPOTENCY_KEY_MAX || *p < 0x20 || *p > 0x7e)
            return 0;
    }
    return length > 0;
}
