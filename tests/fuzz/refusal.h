/* The property every refusal of a body reader holds, whatever the bytes: it names the status it
 * returned, its sentence (if not the status table's) is printable ASCII, and its field is one
 * that may be echoed, or none. */
#ifndef MONDUX_FUZZ_REFUSAL_H
#define MONDUX_FUZZ_REFUSAL_H

#include "api/refusal.h"
#include "fuzz.h"

static inline void fuzz_check_refusal(const struct mx_api_refusal *why, mx_status status) {
    FUZZ_CHECK(why->status == status, "the refusal names the status returned");
    FUZZ_CHECK(why->field[0] == '\0' || mx_api_echoable(why->field), "an echoable field or none");
    for (const char *p = why->message; *p != '\0'; p++)
        FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e, "the sentence is printable ASCII");
}

#endif
