/* HTTP written and read by hand on plain TCP sockets, for the tests whose bytes matter: limits,
 * malformed requests. Asserting (Check) like the harness; not thread-safe beyond the harness's own
 * rules. Returned pointers are new. */
#ifndef MX_FT_RAW_HTTP_H
#define MX_FT_RAW_HTTP_H

#include <jansson.h>
#include <stddef.h>

struct raw_response {
    int status;   /* 0 when no complete answer came */
    char *head;   /* status line and headers */
    char *body;   /* NUL-terminated */
    json_t *json; /* the body parsed, or NULL */
};

/* Monotonic seconds from now, scaled by MX_TEST_TIMEOUT_SCALE. */
double deadline_in(double seconds);

/* A non-blocking TCP connection to the server's port on the loopback; asserting that it is
 * established in time. */
int connect_to(int port);

/* Writes all of data before the deadline; 0 when the peer closed or the time ran out. */
int send_all(int fd, const char *data, size_t size, double deadline);

/* The value of header name in head (case-insensitive), into out; NULL when absent. */
const char *raw_header(const char *head, const char *name, char *out, size_t size);

/* Reads one answer from fd (a head, then Content-Length bytes of body) before the deadline. */
struct raw_response *read_response(int fd, double deadline);

void raw_free(struct raw_response *r);

/* Sends size bytes of request on a new connection and reads the answer. */
struct raw_response *exchange(int port, const char *request, size_t size);

/* Asserts an api.md error answer: status, JSON content type, the code and a message. */
void assert_raw_error(const struct raw_response *r, int status, const char *code, const char *what);

#endif
