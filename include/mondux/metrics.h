/* Counters and gauges for GET /metrics (Prometheus text format 0.0.4). Every layer counts what it
 * alone sees: src/http the requests, src/store the database's troubles, its connections and the
 * money that moved; the process's own figures come from src/platform at render time. All
 * functions are lock-free and thread-safe; the counters live as long as the process. */
#ifndef MONDUX_METRICS_H
#define MONDUX_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* One answered request. route is the route table's pattern (a static string, borrowed for the
 * life of the process) or NULL when no route matched; method as sent; duration in microseconds. */
void mx_metrics_request(const char *route, const char *method, unsigned http_status,
                        uint64_t duration_us);

/* Requests being served right now (the HTTP layer's own count, read at render time). */
void mx_metrics_set_in_flight_source(unsigned (*read)(void));

typedef enum mx_metrics_db_event {
    MX_METRICS_DB_UNAVAILABLE, /* a statement or connect failed for a passing reason (503) */
    MX_METRICS_DB_ERROR,       /* any other failure (500) */
    MX_METRICS_DB_CONNECT,     /* a connection was (re)opened */
    MX_METRICS_DB_FAILOVER,    /* ... to another server than the connection before it */
    MX_METRICS_DB_READ_ONLY,   /* a server refused a write or readiness as read-only: left */
    MX_METRICS_DB_EVENT_COUNT
} mx_metrics_db_event;

void mx_metrics_db(mx_metrics_db_event event);

typedef enum mx_metrics_money_kind {
    MX_METRICS_DEPOSIT,
    MX_METRICS_WITHDRAWAL,
    MX_METRICS_TRANSFER,
    MX_METRICS_CAPTURE,
    MX_METRICS_MONEY_KIND_COUNT
} mx_metrics_money_kind;

/* A connection to PostgreSQL opened (change +1) or closed (-1). */
void mx_metrics_db_connection(int change);

/* Money that moved for good (committed), in cents (positive). */
void mx_metrics_money(mx_metrics_money_kind kind, int64_t cents);

typedef enum mx_metrics_batch_kind {
    MX_METRICS_BATCH_MOVES,
    MX_METRICS_BATCH_READS,
    MX_METRICS_BATCH_KIND_COUNT
} mx_metrics_batch_kind;

/* One statement sent for operations operations of several requests (group commit). */
void mx_metrics_batch(mx_metrics_batch_kind kind, unsigned operations);

/* What the operating system says of this process, read at render time (src/platform); -1 for a
 * figure it would not tell. */
struct mx_metrics_process {
    int64_t cpu_us;         /* user and system CPU time */
    int64_t resident_bytes; /* resident set size */
    int64_t virtual_bytes;  /* virtual memory size */
    int64_t open_fds;       /* open file descriptors */
    int64_t max_fds;        /* the soft limit on them (RLIMIT_NOFILE) */
    int64_t start_time_us;  /* when the process started, since the Unix epoch */
};

/* The whole exposition, with process's figures (borrowed; NULL: none): a new malloc'd,
 * NUL-terminated text (free it), its length in *size; NULL when out of memory. */
char *mx_metrics_render(const struct mx_metrics_process *process, size_t *size);

#endif
