/* Database outage: "the database being down is normal weather" (design.md). With its own private
 * PostgreSQL cluster (scripts/lib/pg-cluster), so stopping it disturbs no other suite: requests
 * answer 503 unavailable with Retry-After and change nothing, and when the database is back the
 * same mondux process serves again by itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

START_TEST(database_outage_is_503_unavailable_and_the_service_recovers_by_itself) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ck_assert_int_eq(ft_move(n, "deposit", 10), 10);

    ft_sql_disconnect();
    ft_own_cluster("stop");

    const char *requests[][2] = {
        {"PUT", "/deposit?sum=5"}, {"POST", "/withdraw?sum=5"}, {"GET", "/balance"}, {"GET", ""}};
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", n, requests[i][1]);
        struct ft_response *r = ft_http(requests[i][0], path, NULL);
        char retry_after[64];
        ft_assert_error(r, 503, "unavailable", NULL);
        ck_assert_msg(ft_header(r, "Retry-After", retry_after, sizeof retry_after) != NULL &&
                          retry_after[0] != '\0',
                      "%s: 503 without Retry-After", r->what);
        ft_response_free(r);
    }
    const char *creations[] = {"/api/accounts", "/api/accounts/create"};
    for (size_t i = 0; i < 2; i++) {
        ft_expect_error("POST", creations[i], NULL, NULL, 503, "unavailable", NULL);
    }
    /* The process itself still serves. */
    struct ft_response *health = ft_http("GET", "/healthz", NULL);
    ft_assert_status(health, 200);
    ft_response_free(health);

    ft_own_cluster("start");

    /* Bounded wait for the service to find the database again, without a restart. */
    snprintf(path, sizeof path, "/api/accounts/%s/balance", n);
    struct ft_response *r = ft_http_after_outage("GET", path, NULL, 30);
    ck_assert_msg(r->status == 200, "mondux did not recover within 30 s: %ld %s", r->status,
                  r->body);
    ck_assert_int_eq(ft_json_int(r, "balance"), 10);
    ft_response_free(r);
    struct ft_snapshot s = ft_snapshot(n);
    ck_assert_int_eq(s.balance_cents, 10);
    ck_assert_int_eq(s.entries, 1);
    ck_assert_int_eq(s.accounts, 1);

    /* And money moves again (a 503 in the service's back-off moment changes nothing). */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    r = ft_http_after_outage("PUT", path, NULL, 10);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 15);
    ft_response_free(r);
    ck_assert_int_eq(ft_snapshot(n).entries, 2);
}
END_TEST

int main(void) {
    ft_init_with_own_cluster("outage");

    Suite *s = suite_create("outage");
    FT_ADD_TEST(s, database_outage_is_503_unavailable_and_the_service_recovers_by_itself);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
