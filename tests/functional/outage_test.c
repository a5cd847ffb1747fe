/* Database outage: "the database being down is normal weather" (design.md). With its own private
 * PostgreSQL cluster (scripts/lib/pg-cluster), so stopping it disturbs no other suite: requests
 * answer 503 unavailable with Retry-After and change nothing, and when the database is back the
 * same mondux process serves again by itself. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define PG_CLUSTER MX_SOURCE_DIR "/scripts/lib/pg-cluster"

static char cluster_dir[64];
static pid_t cluster_owner;

/* Runs pg-cluster with a command; asserting that it succeeds. */
static void pg_cluster(const char *command, const char *port) {
    const char *argv[] = {PG_CLUSTER, command, cluster_dir, port, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 120);
    if (status != 0) {
        char message[2048];
        snprintf(message, sizeof message, "pg-cluster %s %s failed (%d): %.1500s", command,
                 cluster_dir, status, err);
        free(out);
        free(err);
        if (getpid() == cluster_owner)
            ft_die("%s", message);
        ck_abort_msg("%s", message);
    }
    free(out);
    free(err);
}

static void cluster_down_at_exit(void) {
    if (cluster_dir[0] == '\0' || getpid() != cluster_owner)
        return;
    const char *argv[] = {PG_CLUSTER, "down", cluster_dir, NULL};
    char *out = NULL, *err = NULL;
    if (ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 120) != 0)
        fprintf(stderr, "pg-cluster down %s failed: %s", cluster_dir, err);
    free(out);
    free(err);
    cluster_dir[0] = '\0';
}

/* A loopback port that nobody listens on right now. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, size) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &size) != 0)
        ft_die("cannot find a free port");
    close(fd);
    return ntohs(address.sin_port);
}

START_TEST(database_outage_is_503_unavailable_and_the_service_recovers_by_itself) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ck_assert_int_eq(ft_move(n, "deposit", 10), 10);

    ft_sql_disconnect();
    pg_cluster("stop", NULL);

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
        struct ft_response *r = ft_http("POST", creations[i], NULL);
        ft_assert_error(r, 503, "unavailable", NULL);
        ft_response_free(r);
    }
    /* The process itself still serves. */
    struct ft_response *health = ft_http("GET", "/healthz", NULL);
    ft_assert_status(health, 200);
    ft_response_free(health);

    pg_cluster("start", NULL);

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
    if (access(PG_CLUSTER, X_OK) != 0)
        ft_die("%s is missing or not executable; the outage suite needs it to run its own "
               "PostgreSQL. Failing rather than skipping.",
               PG_CLUSTER);
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/mx_ft_pg_XXXXXX");
    if (mkdtemp(cluster_dir) == NULL)
        ft_die("mkdtemp failed");
    cluster_owner = getpid();
    atexit(cluster_down_at_exit);

    char port[16], socket_dir[96];
    snprintf(port, sizeof port, "%d", free_port());
    snprintf(socket_dir, sizeof socket_dir, "%s/run", cluster_dir);
    ft_init_with_cluster(socket_dir, port, "postgres");
    pg_cluster("up", port);

    Suite *s = suite_create("outage");
    FT_ADD_TEST(s, database_outage_is_503_unavailable_and_the_service_recovers_by_itself);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
