/* The counters behind GET /metrics, kept in fixed arrays of atomics: counting costs a few
 * relaxed additions and never a lock or an allocation on the request path. */
#ifndef MX_VERSION
#error "MX_VERSION must be defined by the build (the project's version)"
#endif
#include "mondux/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Label values are kept to small closed sets, so the exposition stays small whatever clients
 * send: routes come from the route table, methods and statuses from these lists. */
#define MAX_ROUTES 32
static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "other"};
#define METHOD_COUNT (sizeof methods / sizeof methods[0])
static const unsigned statuses[] = {200, 201, 304, 400, 401, 404, 405, 409,
                                    413, 414, 422, 431, 500, 503, 0 /* other */};
#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])

/* Upper bounds of the latency buckets, in microseconds; +Inf is implied. */
static const uint64_t bucket_us[] = {500,   1000,   2500,   5000,   10000,   25000,
                                     50000, 100000, 250000, 500000, 1000000, 2500000};
#define BUCKET_COUNT (sizeof bucket_us / sizeof bucket_us[0])

static const char *const db_event_names[MX_METRICS_DB_EVENT_COUNT] = {
    "unavailable", "error", "connect", "failover", "read_only"};
static const char *const money_kind_names[MX_METRICS_MONEY_KIND_COUNT] = {"deposit", "withdrawal",
                                                                          "transfer", "capture"};

/* Slot 0 is "no route"; slots 1.. are claimed by the first request of each route. */
static _Atomic(const char *) route_names[MAX_ROUTES + 1];
static atomic_uint_fast64_t requests[MAX_ROUTES + 1][METHOD_COUNT][STATUS_COUNT];
static atomic_uint_fast64_t latency_buckets[BUCKET_COUNT + 1];
static atomic_uint_fast64_t latency_sum_us;
static atomic_uint_fast64_t db_events[MX_METRICS_DB_EVENT_COUNT];
static atomic_uint_fast64_t money_cents[MX_METRICS_MONEY_KIND_COUNT];
static atomic_uint_fast64_t money_operations[MX_METRICS_MONEY_KIND_COUNT];
static atomic_uint_fast64_t batches[MX_METRICS_BATCH_KIND_COUNT];
static atomic_uint_fast64_t batched_operations[MX_METRICS_BATCH_KIND_COUNT];
static const char *const batch_kind_names[MX_METRICS_BATCH_KIND_COUNT] = {"moves", "reads"};
static unsigned (*_Atomic in_flight_source)(void);
static atomic_int_fast64_t db_connections_open;

static size_t route_slot(const char *route) {
    if (route == NULL)
        return 0;
    for (size_t i = 1; i <= MAX_ROUTES; i++) {
        const char *seen = atomic_load_explicit(&route_names[i], memory_order_acquire);
        if (seen == route)
            return i;
        if (seen == NULL) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&route_names[i], &expected, route) ||
                expected == route)
                return i;
        }
    }
    return 0; /* more routes than slots: counted as unrouted rather than lost */
}

static size_t method_index(const char *method) {
    for (size_t i = 0; i + 1 < METHOD_COUNT; i++)
        if (strcmp(methods[i], method) == 0)
            return i;
    return METHOD_COUNT - 1;
}

static size_t status_index(unsigned http_status) {
    for (size_t i = 0; i + 1 < STATUS_COUNT; i++)
        if (statuses[i] == http_status)
            return i;
    return STATUS_COUNT - 1;
}

void mx_metrics_request(const char *route, const char *method, unsigned http_status,
                        uint64_t duration_us) {
    atomic_fetch_add_explicit(
        &requests[route_slot(route)][method_index(method)][status_index(http_status)], 1,
        memory_order_relaxed);
    size_t bucket = 0;
    while (bucket < BUCKET_COUNT && duration_us > bucket_us[bucket])
        bucket++;
    atomic_fetch_add_explicit(&latency_buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us, duration_us, memory_order_relaxed);
}

void mx_metrics_set_in_flight_source(unsigned (*read)(void)) {
    atomic_store(&in_flight_source, read);
}

void mx_metrics_db(mx_metrics_db_event event) {
    if ((unsigned)event < MX_METRICS_DB_EVENT_COUNT)
        atomic_fetch_add_explicit(&db_events[event], 1, memory_order_relaxed);
}

void mx_metrics_db_connection(int change) {
    atomic_fetch_add_explicit(&db_connections_open, change, memory_order_relaxed);
}

void mx_metrics_money(mx_metrics_money_kind kind, int64_t cents) {
    if ((unsigned)kind >= MX_METRICS_MONEY_KIND_COUNT || cents <= 0)
        return;
    atomic_fetch_add_explicit(&money_cents[kind], (uint_fast64_t)cents, memory_order_relaxed);
    atomic_fetch_add_explicit(&money_operations[kind], 1, memory_order_relaxed);
}

void mx_metrics_batch(mx_metrics_batch_kind kind, unsigned operations) {
    if ((unsigned)kind >= MX_METRICS_BATCH_KIND_COUNT || operations == 0)
        return;
    atomic_fetch_add_explicit(&batches[kind], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&batched_operations[kind], operations, memory_order_relaxed);
}

/* A growing text buffer; on allocation failure it stays failed and render returns NULL. */
struct text {
    char *bytes;
    size_t length, capacity;
    int failed;
};

static void append(struct text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void append(struct text *text, const char *format, ...) {
    for (int attempt = 0; attempt < 2 && !text->failed; attempt++) {
        va_list args;
        va_start(args, format);
        size_t room = text->capacity - text->length;
        int n = vsnprintf(text->bytes + text->length, room, format, args);
        va_end(args);
        if (n < 0) {
            text->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            text->length += (size_t)n;
            return;
        }
        size_t capacity = text->capacity * 2 + (size_t)n + 1;
        char *grown = realloc(text->bytes, capacity);
        if (grown == NULL) {
            text->failed = 1;
            return;
        }
        text->bytes = grown;
        text->capacity = capacity;
    }
}

static uint64_t load(atomic_uint_fast64_t *counter) {
    return (uint64_t)atomic_load_explicit(counter, memory_order_relaxed);
}

/* Microseconds as seconds with six decimals, without floating point. */
static void append_seconds(struct text *text, uint64_t us) {
    append(text, "%llu.%06llu", (unsigned long long)(us / 1000000),
           (unsigned long long)(us % 1000000));
}

static void render_requests(struct text *text) {
    append(text, "# HELP mondux_http_requests_total HTTP requests answered, by route, method and "
                 "status.\n# TYPE mondux_http_requests_total counter\n");
    for (size_t r = 0; r <= MAX_ROUTES; r++) {
        const char *route = r == 0 ? "unmatched" : atomic_load(&route_names[r]);
        if (route == NULL)
            continue;
        for (size_t m = 0; m < METHOD_COUNT; m++)
            for (size_t s = 0; s < STATUS_COUNT; s++) {
                uint64_t count = load(&requests[r][m][s]);
                if (count == 0)
                    continue;
                char status[12];
                if (statuses[s] != 0)
                    snprintf(status, sizeof status, "%u", statuses[s]);
                else
                    snprintf(status, sizeof status, "other");
                /* Route patterns are our own text: no quote or backslash to escape. */
                append(text,
                       "mondux_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} "
                       "%llu\n",
                       route, methods[m], status, (unsigned long long)count);
            }
    }
}

static void render_latency(struct text *text) {
    append(text, "# HELP mondux_http_request_duration_seconds Time from a request's first byte "
                 "to its answer.\n# TYPE mondux_http_request_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= BUCKET_COUNT; b++) {
        cumulative += load(&latency_buckets[b]);
        append(text, "mondux_http_request_duration_seconds_bucket{le=\"");
        if (b < BUCKET_COUNT)
            append_seconds(text, bucket_us[b]);
        else
            append(text, "+Inf");
        append(text, "\"} %llu\n", (unsigned long long)cumulative);
    }
    append(text, "mondux_http_request_duration_seconds_sum ");
    append_seconds(text, load(&latency_sum_us));
    /* The count is the +Inf bucket: the same requests, so the two always agree. */
    append(text, "\nmondux_http_request_duration_seconds_count %llu\n",
           (unsigned long long)cumulative);
}

/* One unlabelled sample of the client libraries' standard process_* family, when known. */
static void append_process_figure(struct text *text, const char *name, const char *type,
                                  const char *help, int64_t value) {
    if (value < 0)
        return;
    append(text, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name,
           (long long)value);
}

static void append_process_seconds(struct text *text, const char *name, const char *type,
                                   const char *help, int64_t us) {
    if (us < 0)
        return;
    append(text, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    append_seconds(text, (uint64_t)us);
    append(text, "\n");
}

/* The names, types and HELP texts every Prometheus client library uses, so dashboards made for
 * any process work unchanged. */
static void render_process(struct text *text, const struct mx_metrics_process *process) {
    append_process_seconds(text, "process_cpu_seconds_total", "counter",
                           "Total user and system CPU time spent in seconds.", process->cpu_us);
    append_process_figure(text, "process_resident_memory_bytes", "gauge",
                          "Resident memory size in bytes.", process->resident_bytes);
    append_process_figure(text, "process_virtual_memory_bytes", "gauge",
                          "Virtual memory size in bytes.", process->virtual_bytes);
    append_process_figure(text, "process_open_fds", "gauge", "Number of open file descriptors.",
                          process->open_fds);
    append_process_figure(text, "process_max_fds", "gauge",
                          "Maximum number of open file descriptors.", process->max_fds);
    append_process_seconds(text, "process_start_time_seconds", "gauge",
                           "Start time of the process since unix epoch in seconds.",
                           process->start_time_us);
}

static void render_db_connections(struct text *text) {
    int64_t open = (int64_t)atomic_load_explicit(&db_connections_open, memory_order_relaxed);
    append(text,
           "# HELP mondux_db_connections_open Connections to PostgreSQL open now (at most "
           "MX_DB_CONNECTIONS).\n# TYPE mondux_db_connections_open gauge\n"
           "mondux_db_connections_open %lld\n",
           (long long)(open > 0 ? open : 0));
}

char *mx_metrics_render(const struct mx_metrics_process *process, size_t *size) {
    struct text text = {malloc(8192), 0, 8192, 0};
    if (text.bytes == NULL)
        return NULL;
    text.bytes[0] = '\0';
    render_requests(&text);
    render_latency(&text);

    unsigned (*read_in_flight)(void) = atomic_load(&in_flight_source);
    append(&text,
           "# HELP mondux_http_requests_in_flight Requests being served now.\n"
           "# TYPE mondux_http_requests_in_flight gauge\nmondux_http_requests_in_flight %u\n",
           read_in_flight != NULL ? read_in_flight() : 0U);
    append(&text, "# HELP mondux_db_events_total Database connects and failed statements, by "
                  "kind.\n# TYPE mondux_db_events_total counter\n");
    for (int e = 0; e < MX_METRICS_DB_EVENT_COUNT; e++)
        append(&text, "mondux_db_events_total{kind=\"%s\"} %llu\n", db_event_names[e],
               (unsigned long long)load(&db_events[e]));
    append(&text, "# HELP mondux_money_moved_cents_total Cents moved by committed operations, by "
                  "kind.\n# TYPE mondux_money_moved_cents_total counter\n");
    for (int k = 0; k < MX_METRICS_MONEY_KIND_COUNT; k++)
        append(&text, "mondux_money_moved_cents_total{kind=\"%s\"} %llu\n", money_kind_names[k],
               (unsigned long long)load(&money_cents[k]));
    append(&text, "# HELP mondux_money_operations_total Committed money movements, by kind.\n"
                  "# TYPE mondux_money_operations_total counter\n");
    for (int k = 0; k < MX_METRICS_MONEY_KIND_COUNT; k++)
        append(&text, "mondux_money_operations_total{kind=\"%s\"} %llu\n", money_kind_names[k],
               (unsigned long long)load(&money_operations[k]));
    append(&text, "# HELP mondux_db_batches_total Statements sent for several requests' operations "
                  "at once (group commit), by kind.\n# TYPE mondux_db_batches_total counter\n");
    for (int k = 0; k < MX_METRICS_BATCH_KIND_COUNT; k++)
        append(&text, "mondux_db_batches_total{kind=\"%s\"} %llu\n", batch_kind_names[k],
               (unsigned long long)load(&batches[k]));
    append(&text, "# HELP mondux_db_batched_operations_total Operations those statements carried, "
                  "by kind.\n# TYPE mondux_db_batched_operations_total counter\n");
    for (int k = 0; k < MX_METRICS_BATCH_KIND_COUNT; k++)
        append(&text, "mondux_db_batched_operations_total{kind=\"%s\"} %llu\n", batch_kind_names[k],
               (unsigned long long)load(&batched_operations[k]));
    render_db_connections(&text);
    append(&text,
           "# HELP mondux_build_info The version of mondux serving, as a label; always 1.\n"
           "# TYPE mondux_build_info gauge\nmondux_build_info{version=\"%s\"} 1\n",
           MX_VERSION);
    if (process != NULL)
        render_process(&text, process);
    if (text.failed) {
        free(text.bytes);
        return NULL;
    }
    *size = text.length;
    return text.bytes;
}
