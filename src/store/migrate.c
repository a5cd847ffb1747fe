/* Brings the database up to the schema compiled into this binary: the stored functions
 * (db/functions.sql, every time), then each numbered schema file not yet recorded. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mondux/log.h"
#include "mondux/embedded.h"
#include "store_internal.h"

/* Runs one parameterised statement; MX_OK or the failure status. *out_rows gets the row count. */
static mx_status run(PGconn *pg, const char *sql, const char *param, int *out_rows) {
    const char *params[1] = {param};
    PGresult *result = PQexecParams(pg, sql, param != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
    ExecStatusType rs = PQresultStatus(result);
    mx_status status = MX_OK;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
        status = mx_conn_failure_status(pg, result, "migration");
    else if (out_rows != NULL)
        *out_rows = PQntuples(result);
    PQclear(result);
    return status;
}

/* A file holds several statements, so it goes through the simple-query protocol. It is fixed
 * text compiled into the binary, never built from input. */
static mx_status run_file(PGconn *pg, const struct mx_embedded_file *file) {
    mx_status status = MX_OK;
    PGresult *result = PQexec(pg, (const char *)file->bytes);
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK)
        status = mx_conn_failure_status(pg, result, file->name);
    PQclear(result);
    return status;
}

/* Applies one migration file unless schema_migrations says it is there already. */
static mx_status apply(PGconn *pg, const struct mx_embedded_file *file) {
    char version[128];
    size_t length = strcspn(file->name, ".");
    if (length >= sizeof version)
        return MX_INTERNAL;
    memcpy(version, file->name, length);
    version[length] = '\0';

    int rows = 0;
    mx_status status = run(pg, mx_sql_migration_applied, version, &rows);
    if (status != MX_OK || rows > 0)
        return status;
    status = run_file(pg, file);
    if (status == MX_OK)
        status = run(pg, mx_sql_migration_record, version, NULL);
    if (status == MX_OK)
        mx_log(MX_LOG_INFO, "applied migration %s", version);
    return status;
}

/* Before 0001_baseline.sql the schema came as five files, never released; a database they made
 * (scripts/run's, say) is the baseline exactly, so their five records become its one. A database
 * with only some of them is from a build older still: refused, not guessed at. */
static mx_status adopt_pre_baseline(PGconn *pg) {
    int rows = 0;
    mx_status status = run(pg, mx_sql_migration_pre_baseline_count, NULL, &rows);
    if (status != MX_OK || rows == 0)
        return status;
    status = run(pg, mx_sql_migration_pre_baseline_adopt, NULL, &rows);
    if (status == MX_OK && rows != 1) {
        mx_log(MX_LOG_ERROR, "the database has only part of an unreleased development schema "
                             "(schema_migrations); create it afresh");
        return MX_INTERNAL;
    }
    if (status == MX_OK)
        mx_log(MX_LOG_INFO, "recorded the database's schema as 0001_baseline");
    return status;
}

static PGconn *connect_waiting(unsigned wait_seconds, int (*stop_requested)(void)) {
    time_t deadline = time(NULL) + (time_t)wait_seconds;
    int said_waiting = 0;
    for (;;) {
        PGconn *pg = mx_conn_open();
        if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
            return pg;
        if (stop_requested != NULL && stop_requested()) {
            PQfinish(pg);
            return NULL;
        }
        if (!said_waiting && wait_seconds > 0) {
            mx_log(MX_LOG_INFO, "waiting up to %u s for the database", wait_seconds);
            said_waiting = 1;
        }
        if (time(NULL) >= deadline) {
            (void)mx_conn_failure_status(pg, NULL, "connect");
            PQfinish(pg);
            return NULL;
        }
        PQfinish(pg);
        struct timespec pause = {0, 250000000L};
        nanosleep(&pause, NULL);
    }
}

mx_status mx_store_migrate(unsigned wait_seconds, int (*stop_requested)(void)) {
    PGconn *pg = connect_waiting(wait_seconds, stop_requested);
    if (pg == NULL)
        return MX_UNAVAILABLE;

    /* One transaction: the advisory lock makes a second instance wait here until the first has
     * committed, after which it finds every migration recorded. */
    mx_status status = run(pg, "BEGIN", NULL, NULL);
    if (status == MX_OK) /* "already exists, skipping" is expected when another instance won */
        status = run(pg, mx_sql_migration_quiet, NULL, NULL);
    if (status == MX_OK)
        status = run(pg, mx_sql_migration_lock, NULL, NULL);
    /* The functions first: the tables' constraints use the balance rule they define. */
    if (status == MX_OK)
        status = run(pg, mx_sql_migration_no_body_checks, NULL, NULL);
    for (unsigned i = 0; status == MX_OK && i < mx_functions_count; i++)
        status = run_file(pg, &mx_functions[i]);
    if (status == MX_OK)
        status = run(pg, mx_sql_migration_table, NULL, NULL);
    if (status == MX_OK)
        status = adopt_pre_baseline(pg);
    for (unsigned i = 0; status == MX_OK && i < mx_migrations_count; i++)
        status = apply(pg, &mx_migrations[i]);
    if (status == MX_OK)
        status = run(pg, "COMMIT", NULL, NULL);
    PQfinish(pg);
    return status;
}

mx_status mx_store_knows_currency(const char *code) {
    PGconn *pg = connect_waiting(0, NULL);
    if (pg == NULL)
        return MX_UNAVAILABLE;
    int rows = 0;
    mx_status status = run(pg, mx_sql_currency_known, code, &rows);
    PQfinish(pg);
    return status != MX_OK ? status : rows == 1 ? MX_OK : MX_INVALID_REQUEST;
}
