/* The Idempotency-Key a client sends with a request that creates an account or moves money. */
#ifndef MONDUX_IDEMPOTENCY_KEY_H
#define MONDUX_IDEMPOTENCY_KEY_H

#define MX_IDEMPOTENCY_KEY_MAX 255

/* 1 if key is 1..MX_IDEMPOTENCY_KEY_MAX printable ASCII characters (0x20..0x7E), else 0 (NULL
 * included). Thread-safe. */
int mx_idempotency_key_is_valid(const char *key);

#endif
