/* Fuzz target: the route table's matcher (mx_route in src/http/router.c).
 *
 * Input: "METHOD PATH" (split at the first space), or just a PATH, asked with GET. The path is
 * what libmicrohttpd hands over: decoded, any bytes but NUL.
 *
 * Properties: the status is OK, NOT_FOUND or METHOD_NOT_ALLOWED, with a handler exactly when OK;
 * a found path's pattern (OK or 405) with its {n} replaced by the capture is the path itself (so
 * the capture is a substring of the path with no '/', at most MX_ROUTE_CAPTURE_MAX bytes, or ""
 * when the segment was longer); whether a path is found does not depend on the method, and every
 * method that finds it finds the same pattern; a 405's Allow list names only methods that are
 * answered OK on that path, never the method asked, and every method that is OK (but HEAD) is in
 * it. */
#include "fuzz.h"
#include "http/router.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
#define METHOD_COUNT (sizeof methods / sizeof methods[0])

/* 1 if word is one of allow's ", "-separated words. */
static int allow_lists(const char *allow, const char *word) {
    size_t length = strlen(word);
    for (const char *p = allow; *p != '\0';) {
        size_t item = strcspn(p, ",");
        if (item == length && strncmp(p, word, length) == 0)
            return 1;
        p += item;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

static void check_match(const char *method, const char *path, const struct mx_route_match *m) {
    FUZZ_CHECK(m->status == MX_OK || m->status == MX_NOT_FOUND ||
                   m->status == MX_METHOD_NOT_ALLOWED,
               "status is OK, NOT_FOUND or METHOD_NOT_ALLOWED");
    FUZZ_CHECK((m->handler != NULL) == (m->status == MX_OK), "a handler exactly when OK");
    if (m->status == MX_METHOD_NOT_ALLOWED) {
        FUZZ_CHECK(m->allow[0] != '\0', "a 405 names the methods allowed");
        FUZZ_CHECK(!allow_lists(m->allow, method), "a 405 does not allow the method asked");
    }
    if (m->status == MX_NOT_FOUND)
        return;
    size_t capture_length = strnlen(m->capture, sizeof m->capture);
    FUZZ_CHECK(capture_length <= MX_ROUTE_CAPTURE_MAX, "capture is NUL-terminated and short");
    FUZZ_CHECK(strchr(m->capture, '/') == NULL, "capture holds no '/'");
    FUZZ_CHECK(strstr(path, m->capture) != NULL, "capture is a substring of the path");
    /* A path that is found (OK or 405) has its pattern (router.h), and it fits the path. */
    FUZZ_CHECK(m->pattern != NULL && m->pattern[0] == '/', "a found path has its pattern");
    const char *hole = strstr(m->pattern, "{n}");
    if (hole == NULL) {
        FUZZ_CHECK(strcmp(m->pattern, path) == 0, "a literal pattern is the path");
        FUZZ_CHECK(m->capture[0] == '\0', "a literal pattern captures nothing");
        return;
    }
    size_t head = (size_t)(hole - m->pattern), tail = strlen(hole + 3), length = strlen(path);
    FUZZ_CHECK(length > head + tail, "the {n} segment is not empty");
    FUZZ_CHECK(strncmp(path, m->pattern, head) == 0, "path starts as the pattern does");
    FUZZ_CHECK(strcmp(path + length - tail, hole + 3) == 0, "path ends as the pattern does");
    size_t segment = length - head - tail;
    FUZZ_CHECK(memchr(path + head, '/', segment) == NULL, "the {n} segment holds no '/'");
    if (segment <= MX_ROUTE_CAPTURE_MAX)
        FUZZ_CHECK(capture_length == segment && memcmp(path + head, m->capture, segment) == 0,
                   "the capture is the {n} segment");
    else
        FUZZ_CHECK(capture_length == 0, "a segment too long to be a number captures \"\"");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *input = fuzz_strndup(data, size);
    const char *method = "GET", *path = input;
    char *space = strchr(input, ' ');
    if (space != NULL) {
        *space = '\0';
        method = input;
        path = space + 1;
    }

    struct mx_route_match asked;
    memset(&asked, 0xa5, sizeof asked); /* no field may be read before mx_route writes it */
    mx_route(method, path, &asked);
    check_match(method, path, &asked);

    struct mx_route_match by[METHOD_COUNT];
    for (size_t i = 0; i < METHOD_COUNT; i++) {
        memset(&by[i], 0xa5, sizeof by[i]);
        mx_route(methods[i], path, &by[i]);
        check_match(methods[i], path, &by[i]);
        FUZZ_CHECK((by[i].status == MX_NOT_FOUND) == (asked.status == MX_NOT_FOUND),
                   "whether a path is found does not depend on the method");
        if (strcmp(methods[i], method) == 0)
            FUZZ_CHECK(by[i].status == asked.status && by[i].handler == asked.handler,
                       "the same question gets the same answer");
    }
    for (size_t i = 0; i < METHOD_COUNT; i++) {
        for (size_t j = 0; j < METHOD_COUNT; j++) {
            if (by[i].status == MX_OK && by[j].status == MX_OK)
                FUZZ_CHECK(strcmp(by[i].pattern, by[j].pattern) == 0 &&
                               strcmp(by[i].capture, by[j].capture) == 0,
                           "every method finds the same route pattern");
            if (by[i].status == MX_OK && by[j].status == MX_METHOD_NOT_ALLOWED)
                FUZZ_CHECK(allow_lists(by[j].allow, methods[i]),
                           "Allow names every method that is answered");
        }
        if (by[i].status != MX_METHOD_NOT_ALLOWED)
            continue;
        /* Every method Allow names is one that is answered. */
        for (size_t k = 0; k < METHOD_COUNT; k++) {
            if (allow_lists(by[i].allow, methods[k]))
                FUZZ_CHECK(by[k].status == MX_OK, "Allow names only methods that are answered");
        }
    }
    free(input);
    return 0;
}
