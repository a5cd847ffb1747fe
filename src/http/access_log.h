/* One JSON object per request on stdout (JSON Lines), for log shippers. */
#ifndef MONDUX_HTTP_ACCESS_LOG_H
#define MONDUX_HTTP_ACCESS_LOG_H

#include <stddef.h>
#include <time.h>

struct mx_access_entry {
    const char *method;
    const char *path; /* client-chosen: JSON-escaped, cut to a bounded length */
    unsigned status;  /* 0: the client went away before an answer */
    const struct timespec *started;
    const char *request_id;
    const char *client;     /* the API key's id, or "" */
    const char *peer;       /* the client's "address:port", or "" */
    const char *user_agent; /* client-chosen like path; "" when none was sent */
    size_t bytes_sent;      /* the answer's body (0 for HEAD) */
};

/* Writes {"time","request_id","method","path","status","duration_us","client","peer",
 * "user_agent","bytes_sent"} and a newline.
 * Thread-safe: each line is written whole. */
void mx_access_log(const struct mx_access_entry *entry);

#endif
