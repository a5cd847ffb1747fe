/* Where the database is and how its outcomes read: the connection settings (from the
 * configuration, kept for every connection), opening a connection (blocking, for migrations and
 * the commands; or started, for the event loop's db.c), and the one map from a result to what it
 * means. */
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "mondux/log.h"
#include "mondux/metrics.h"

static struct mx_store_params params_copy;

mx_status mx_store_check_conninfo(const char *conninfo, char **error) {
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &message);
    if (options == NULL) {
        const char *reason = message != NULL ? message : "out of memory\n";
        *error = strdup(reason);
        if (*error != NULL) {
            size_t n = strlen(*error);
            if (n > 0 && (*error)[n - 1] == '\n')
                (*error)[n - 1] = '\0';
        }
        PQfreemem(message);
        return MX_INVALID_REQUEST;
    }
    PQconninfoFree(options);
    return MX_OK;
}

mx_status mx_store_init(const struct mx_store_params *params) {
    memset(&params_copy, 0, sizeof params_copy);
    for (int i = 0; i < MX_STORE_MAX_PARAMS && params->keywords[i] != NULL; i++) {
        params_copy.keywords[i] = strdup(params->keywords[i]);
        params_copy.values[i] = strdup(params->values[i]);
        if (params_copy.keywords[i] == NULL || params_copy.values[i] == NULL)
            return MX_INTERNAL;
    }
    return MX_OK;
}

void mx_store_shutdown(void) {
    for (int i = 0; i < MX_STORE_MAX_PARAMS; i++) {
        free((char *)params_copy.keywords[i]);
        free((char *)params_copy.values[i]);
    }
    memset(&params_copy, 0, sizeof params_copy);
}

PGconn *mx_conn_open(void) {
    return PQconnectdbParams(params_copy.keywords, params_copy.values, 1);
}

PGconn *mx_conn_start(void) {
    return PQconnectStartParams(params_copy.keywords, params_copy.values, 1);
}

unsigned mx_conn_start_timeout_ms(PGconn *pg) {
    PQconninfoOption *options = PQconninfo(pg);
    long seconds = 0;
    unsigned hosts = 1;
    for (PQconninfoOption *o = options; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "connect_timeout") == 0)
            seconds = strtol(o->val, NULL, 10);
        else if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) {
            unsigned listed = 1;
            for (const char *c = o->val; *c != '\0'; c++)
                listed += *c == ',';
            if (listed > hosts)
                hosts = listed;
        }
    }
    PQconninfoFree(options);
    if (seconds <= 0)
        return 0;
    if (seconds < 2) /* libpq's own minimum */
        seconds = 2;
    if (seconds > 3600)
        seconds = 3600;
    return (unsigned)seconds * 1000u * hosts;
}

enum db_outcome db_classify(PGconn *pg, const PGresult *result) {
    ExecStatusType status = result != NULL ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        return DB_OK;
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    if (pg == NULL || PQstatus(pg) == CONNECTION_BAD || state == NULL)
        return DB_GONE;
    /* 25006: a read-only server (a standby, or one made read-only for a switchover): nothing was
     * written, and the primary is elsewhere. */
    if (strcmp(state, "25006") == 0)
        return DB_READ_ONLY;
    /* 40001 serialization failure, 40P01 deadlock, 55P03 a lock wait that ran out. */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return DB_SOFT;
    /* Class 08 (connection), 57P01-03 (shutdown, crash, starting up), 53 (out of resources, e.g.
     * too many connections): they pass with time. */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
        strncmp(state, "53", 2) == 0)
        return DB_GONE;
    return DB_HARD;
}

void mx_conn_say_failure(PGconn *conn, const PGresult *result, const char *what) {
    const char *sqlstate = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    const char *message = result != NULL ? PQresultErrorMessage(result)
                                         : (conn != NULL ? PQerrorMessage(conn) : "no connection");
    mx_log(MX_LOG_ERROR, "database %s failed (%s): %s", what,
           sqlstate != NULL ? sqlstate : "no sqlstate", message);
}

mx_status mx_conn_failure_status(PGconn *conn, const PGresult *result, const char *what) {
    int passing = db_classify(conn, result) == DB_GONE;
    mx_metrics_db(passing ? MX_METRICS_DB_UNAVAILABLE : MX_METRICS_DB_ERROR);
    mx_conn_say_failure(conn, result, what);
    return passing ? MX_UNAVAILABLE : MX_INTERNAL;
}
