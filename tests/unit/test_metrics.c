/* The /metrics counters: what is counted shows up, in Prometheus text format, with closed label
 * sets whatever the input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/metrics.h"
#include "unit_run.h"

static char *render(void) {
    size_t size = 0;
    char *text = mx_metrics_render(NULL, &size);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), size);
    return text;
}

static int contains(const char *text, const char *line) {
    return strstr(text, line) != NULL;
}

static const char deposit_route[] = "/api/accounts/{n}/deposit";

START_TEST(requests_are_counted_by_route_method_and_status) {
    mx_metrics_request(deposit_route, "PUT", 200, 800);
    mx_metrics_request(deposit_route, "PUT", 200, 1200);
    mx_metrics_request(deposit_route, "POST", 409, 3000);
    mx_metrics_request(NULL, "BREW", 404, 10);
    mx_metrics_request(deposit_route, "PUT", 599, 10);
    char *text = render();
    ck_assert(contains(text, "mondux_http_requests_total{route=\"/api/accounts/{n}/deposit\","
                             "method=\"PUT\",status=\"200\"} 2\n"));
    ck_assert(contains(text, "{route=\"/api/accounts/{n}/deposit\",method=\"POST\","
                             "status=\"409\"} 1\n"));
    ck_assert(contains(text, "{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"));
    ck_assert(contains(text, "method=\"PUT\",status=\"other\"} 1\n"));
    /* 800 us is within 0.001 s; 1200 within 0.0025; all five within +Inf. */
    ck_assert(contains(text, "mondux_http_request_duration_seconds_bucket{le=\"0.000500\"} 2\n"));
    ck_assert(contains(text, "mondux_http_request_duration_seconds_bucket{le=\"0.001000\"} 3\n"));
    ck_assert(contains(text, "mondux_http_request_duration_seconds_bucket{le=\"0.002500\"} 4\n"));
    ck_assert(contains(text, "mondux_http_request_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
    ck_assert(contains(text, "mondux_http_request_duration_seconds_sum 0.005020\n"));
    ck_assert(contains(text, "mondux_http_request_duration_seconds_count 5\n"));
    ck_assert(contains(text, "# TYPE mondux_http_requests_total counter\n"));
    free(text);
}
END_TEST

static unsigned three(void) {
    return 3;
}

START_TEST(database_events_money_and_in_flight_are_shown) {
    mx_metrics_db(MX_METRICS_DB_CONNECT);
    mx_metrics_db(MX_METRICS_DB_UNAVAILABLE);
    mx_metrics_db(MX_METRICS_DB_UNAVAILABLE);
    mx_metrics_db(MX_METRICS_DB_EVENT_COUNT); /* not an event: ignored */
    mx_metrics_money(MX_METRICS_DEPOSIT, 1234);
    mx_metrics_money(MX_METRICS_DEPOSIT, 1);
    mx_metrics_money(MX_METRICS_TRANSFER, 9007199254740991);
    mx_metrics_money(MX_METRICS_WITHDRAWAL, 0); /* nothing moved: not counted */
    mx_metrics_set_in_flight_source(three);
    mx_metrics_batch(MX_METRICS_BATCH_MOVES, 5);
    mx_metrics_batch(MX_METRICS_BATCH_MOVES, 3);
    mx_metrics_batch(MX_METRICS_BATCH_READS, 0); /* an empty batch is no batch */
    char *text = render();
    ck_assert(contains(text, "mondux_db_events_total{kind=\"connect\"} 1\n"));
    ck_assert(contains(text, "mondux_db_events_total{kind=\"unavailable\"} 2\n"));
    ck_assert(contains(text, "mondux_db_events_total{kind=\"error\"} 0\n"));
    ck_assert(contains(text, "mondux_money_moved_cents_total{kind=\"deposit\"} 1235\n"));
    ck_assert(
        contains(text, "mondux_money_moved_cents_total{kind=\"transfer\"} 9007199254740991\n"));
    ck_assert(contains(text, "mondux_money_operations_total{kind=\"deposit\"} 2\n"));
    ck_assert(contains(text, "mondux_money_operations_total{kind=\"withdrawal\"} 0\n"));
    ck_assert(contains(text, "mondux_http_requests_in_flight 3\n"));
    ck_assert(contains(text, "mondux_db_batches_total{kind=\"moves\"} 2\n"));
    ck_assert(contains(text, "mondux_db_batched_operations_total{kind=\"moves\"} 8\n"));
    ck_assert(contains(text, "mondux_db_batches_total{kind=\"reads\"} 0\n"));
    free(text);
}
END_TEST

START_TEST(process_figures_show_in_the_standard_names_and_unknown_ones_not_at_all) {
    const struct mx_metrics_process process = {.cpu_us = 2500001,
                                               .resident_bytes = 8192,
                                               .virtual_bytes = -1, /* not told */
                                               .open_fds = 7,
                                               .max_fds = 1024,
                                               .start_time_us = 1700000000250000};
    size_t size = 0;
    char *text = mx_metrics_render(&process, &size);
    ck_assert_ptr_nonnull(text);
    ck_assert(contains(text, "# TYPE process_cpu_seconds_total counter\n"
                             "process_cpu_seconds_total 2.500001\n"));
    ck_assert(contains(text, "# TYPE process_resident_memory_bytes gauge\n"
                             "process_resident_memory_bytes 8192\n"));
    ck_assert(contains(text, "\nprocess_open_fds 7\n"));
    ck_assert(contains(text, "\nprocess_max_fds 1024\n"));
    ck_assert(contains(text, "# TYPE process_start_time_seconds gauge\n"
                             "process_start_time_seconds 1700000000.250000\n"));
    ck_assert(!contains(text, "process_virtual_memory_bytes"));
    free(text);
    /* Without the figures, no process_* family at all. */
    text = render();
    ck_assert(!contains(text, "process_"));
    free(text);
}
END_TEST

START_TEST(version_and_database_connections_are_shown) {
    char *text = render();
    ck_assert(contains(text, "# TYPE mondux_build_info gauge\nmondux_build_info{version=\""));
    ck_assert(contains(text, "mondux_db_connections_open 0\n"));
    free(text);
    mx_metrics_db_connection(+1);
    mx_metrics_db_connection(+1);
    mx_metrics_db_connection(-1);
    mx_metrics_db_connection(+1);
    text = render();
    ck_assert(contains(text, "# TYPE mondux_db_connections_open gauge\n"
                             "mondux_db_connections_open 2\n"));
    ck_assert(!contains(text, "mondux_db_pool_slots"));
    free(text);
}
END_TEST

int main(void) {
    Suite *s = suite_create("metrics");
    /* Each test in its own process (Check's default fork mode), so counters start at zero. */
    TCase *requests = tcase_create("requests");
    tcase_add_test(requests, requests_are_counted_by_route_method_and_status);
    suite_add_tcase(s, requests);
    TCase *others = tcase_create("others");
    tcase_add_test(others, database_events_money_and_in_flight_are_shown);
    suite_add_tcase(s, others);
    TCase *process = tcase_create("process");
    tcase_add_test(process, process_figures_show_in_the_standard_names_and_unknown_ones_not_at_all);
    suite_add_tcase(s, process);
    TCase *gauges = tcase_create("gauges");
    tcase_add_test(gauges, version_and_database_connections_are_shown);
    suite_add_tcase(s, gauges);
    return mx_unit_run(s);
}
