/* Fuzz target: the Idempotency-Key check (mx_idempotency_key_is_valid).
 *
 * Properties: valid exactly when the key is 1..MX_IDEMPOTENCY_KEY_MAX bytes, each printable
 * ASCII (0x20..0x7E) (counted here by an independent loop); and a valid key stays valid with its
 * last byte dropped (if any remain), invalid with one more byte when it is already the longest. */
#include "fuzz.h"
#include "mondux/idempotency_key.h"

static int oracle(const char *key) {
    size_t length = strlen(key);
    if (length < 1 || length > MX_IDEMPOTENCY_KEY_MAX)
        return 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *key = fuzz_strndup(data, size);
    int valid = mx_idempotency_key_is_valid(key);
    FUZZ_CHECK(valid == oracle(key), "valid exactly when 1..255 printable ASCII bytes");
    size_t length = strlen(key);
    if (valid && length > 1) {
        key[length - 1] = '\0';
        FUZZ_CHECK(mx_idempotency_key_is_valid(key), "a prefix of a valid key is valid");
    }
    free(key);
    if (valid && length == MX_IDEMPOTENCY_KEY_MAX) {
        char longer[MX_IDEMPOTENCY_KEY_MAX + 2];
        memcpy(longer, data, MX_IDEMPOTENCY_KEY_MAX);
        longer[MX_IDEMPOTENCY_KEY_MAX] = 'k';
        longer[MX_IDEMPOTENCY_KEY_MAX + 1] = '\0';
        FUZZ_CHECK(!mx_idempotency_key_is_valid(longer), "a key one byte too long is invalid");
    }
    FUZZ_CHECK(!mx_idempotency_key_is_valid(NULL), "no key is not a valid key");
    return 0;
}
