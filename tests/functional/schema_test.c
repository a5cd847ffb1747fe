/* The schema the server brings a database to: an empty one gets the baseline, described column by
 * column; one made before the baseline (five unreleased migration files) keeps its accounts and
 * is recorded as the baseline; one with only part of those files is refused and left alone. */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PRE_BASELINE_SCHEMA MX_SOURCE_DIR "/tests/functional/data/pre_baseline_schema.sql"

/* A valid account number for 14 digits x: the two ISO 7064 MOD 97-10 check digits appended. */
static void account_number_for(int64_t x, char out[FT_ACCOUNT_SIZE]) {
    snprintf(out, FT_ACCOUNT_SIZE, "%016lld", (long long)(x * 100 + 98 - (x * 100) % 97));
}

/* A fresh database made current, holding the schema of the five files, as scripts/run's cluster
 * held it before the baseline: loaded with psql's protocol (several statements in one go). */
static void create_pre_baseline_database(char *name, size_t size) {
    ft_db_create(name, size);
    ft_use_db(name);
    FILE *file = fopen(PRE_BASELINE_SCHEMA, "rb");
    ck_assert_msg(file != NULL, "cannot open %s", PRE_BASELINE_SCHEMA);
    static char sql[64 * 1024];
    size_t length = fread(sql, 1, sizeof sql - 1, file);
    ck_assert_msg(feof(file), "%s is larger than this test reads", PRE_BASELINE_SCHEMA);
    fclose(file);
    sql[length] = '\0';
    char conninfo[512];
    ft_conninfo(name, conninfo, sizeof conninfo);
    PGconn *pg = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    PGresult *result = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(result) == PGRES_COMMAND_OK, "loading %s: %s", PRE_BASELINE_SCHEMA,
                  PQerrorMessage(pg));
    PQclear(result);
    PQfinish(pg);
}

/* An account as the old service made it: its row, then a deposit through the old batch function
 * (which took the ceiling as its third argument). */
static void old_account_with(const char *number, const char *cents) {
    ft_sql_exec("INSERT INTO accounts (account_number) VALUES ($1)", number, (const char *)NULL);
    ft_sql_exec("SELECT * FROM move_batch(ARRAY[$1::text], ARRAY[$2::bigint], 9007199254740991)",
                number, cents, (const char *)NULL);
}

/* Every file of db/migrations, as schema_migrations records them. */
#define ALL_VERSIONS                                                                               \
    "0001_baseline,0002_stored_outcomes,0003_account_status,0004_holds,0005_overdraft_changes,"    \
    "0006_currencies,0007_references,0008_events"

static const char *versions(void) {
    return ft_sql_text("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations",
                       (const char *)NULL);
}

START_TEST(an_empty_database_gets_the_baseline_and_every_table_and_column_is_described) {
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, NULL);
    ck_assert_str_eq(versions(), ALL_VERSIONS);
    ck_assert_int_eq(ft_migration_count(), 8);
    const char *undescribed =
        ft_sql_text("SELECT coalesce(string_agg(c.relname || coalesce('.' || a.attname, ''), ' '),"
                    " '') FROM pg_class c"
                    " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
                    " AND NOT a.attisdropped"
                    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
                    " AND c.relname <> 'schema_migrations'"
                    " AND (obj_description(c.oid, 'pg_class') IS NULL"
                    " OR (a.attnum IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))",
                    (const char *)NULL);
    ck_assert_msg(undescribed[0] == '\0', "without COMMENT ON: %s", undescribed);
    /* The balance ceiling is written once: in cents_ceiling(), which everything else calls. */
    ck_assert_str_eq(ft_sql_text("SELECT cents_ceiling()::text", (const char *)NULL),
                     "9007199254740991");
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM pg_constraint"
                                  " WHERE connamespace = 'public'::regnamespace"
                                  " AND pg_get_constraintdef(oid) LIKE '%9007199254740991%'",
                                  (const char *)NULL),
                     0);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_db_drop(db);
}
END_TEST

START_TEST(a_database_made_before_the_baseline_keeps_its_accounts_and_is_recorded_as_it) {
    char db[64];
    create_pre_baseline_database(db, sizeof db);
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    account_number_for(12345678901234, a);
    account_number_for(22345678901234, b);
    old_account_with(a, "1234");
    old_account_with(b, "10");

    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, NULL);
    ft_set_default_server(server);
    char *err = ft_server_stderr(server);
    ck_assert_msg(strstr(err, "recorded the database's schema as 0001_baseline") != NULL,
                  "stderr: %s", err);
    ck_assert_msg(strstr(err, "applied migration 0001") == NULL, "stderr: %s", err);
    free(err);
    ck_assert_str_eq(versions(), ALL_VERSIONS);
    ck_assert_int_eq(ft_balance(a), 1234);
    ck_assert_int_eq(ft_move(a, "deposit", 100), 1334);
    ck_assert_int_eq(ft_move(b, "withdraw", 10), 0);
    ft_transfer(a, b, 334);
    ck_assert_int_eq(ft_balance(a), 1000);
    ck_assert_int_eq(ft_balance(b), 334);
    /* The old functions are gone: the batch ones apply_batch replaced, and those that took the
     * ceiling from the caller. */
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM pg_proc WHERE proname IN"
                                  " ('move_batch', 'move_batch_in_order', 'idempotency_claim')"
                                  " OR proname = 'transfer_funds' AND pronargs <> 3",
                                  (const char *)NULL),
                     0);
    ft_assert_ledger_invariants();
    ck_assert_int_eq(ft_server_stop(server), 0);

    /* A second start finds nothing to do. */
    server = ft_server_start(FT_DATABASE_URL, db, NULL);
    err = ft_server_stderr(server);
    ck_assert_msg(strstr(err, "recorded") == NULL && strstr(err, "applied migration") == NULL,
                  "stderr: %s", err);
    free(err);
    ck_assert_str_eq(versions(), ALL_VERSIONS);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_db_drop(db);
}
END_TEST

START_TEST(a_database_with_part_of_the_old_schema_is_refused_and_left_as_it_was) {
    char db[64];
    create_pre_baseline_database(db, sizeof db);
    ft_sql_exec("DELETE FROM schema_migrations WHERE version = '0005_batch_lock_timeout'",
                (const char *)NULL);
    const char *before = versions();
    char *kept = strdup(before);
    struct ft_server *server = ft_server_spawn(FT_DATABASE_URL, db, NULL);
    char *out = NULL, *err = NULL;
    int status = ft_server_wait_exit(server, 30, &out, &err);
    ck_assert_msg(status == 1, "exit status %d; stderr: %s", status, err);
    ck_assert_msg(strstr(err, "only part of an unreleased development schema") != NULL,
                  "stderr: %s", err);
    ck_assert_str_eq(versions(), kept);
    free(kept);
    free(out);
    free(err);
    ft_db_drop(db);
}
END_TEST

int main(void) {
    Suite *s = suite_create("schema");
    FT_ADD_TEST(s, an_empty_database_gets_the_baseline_and_every_table_and_column_is_described);
    FT_ADD_TEST(s, a_database_made_before_the_baseline_keeps_its_accounts_and_is_recorded_as_it);
    FT_ADD_TEST(s, a_database_with_part_of_the_old_schema_is_refused_and_left_as_it_was);
    return ft_main(s, 0, FT_DATABASE_URL, NULL);
}
