/* What every fuzz target shares: the libFuzzer entry points, and a check that aborts with a
 * message (an abort is what libFuzzer and the replay driver report as a finding). */
#ifndef MONDUX_FUZZ_H
#define MONDUX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Not assert(): it must hold in release builds (NDEBUG) too. */
#define FUZZ_CHECK(condition, what)                                                                \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what,       \
                    #condition);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a C string: a new malloc'd copy with a NUL after it (an embedded NUL ends the
 * string early, as it would for the code under test). Aborts when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#endif
