/* The functional-test harness; see harness.h for the process model. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(MX_BINARY) || !defined(MX_SOURCE_DIR)
#error "MX_BINARY (the path of mondux) and MX_SOURCE_DIR must be defined by the build"
#endif

#define MAX_SQL_PARAMS 8
#define MAX_SERVERS    16
#define MAX_ENV        512

extern char **environ;

static char pg_host[256];
static char pg_port[16];
static char pg_user[64];
static char current_db[64];
static int in_run; /* Check is running tests: failures go through ck_assert */
static struct ft_server *default_server;

/* Servers started by some process of this test run, so that the one that started them can kill
 * them when a test fails half-way (Check's forked children leave through exit()). */
static struct {
    struct ft_server *server;
    pid_t owner;
} servers[MAX_SERVERS];

/* The process that ran ft_init: the main() of the suite. Databases and temp dirs carry its pid in
 * their names, so that it can remove what a failed test left behind: Check's forked children
 * leave through _exit() after a failed assertion (and Check then kills their process group, which
 * takes the servers they started with it). */
static pid_t run_pid;

/* This process's connection to current_db; a forked child must not use its parent's. */
static PGconn *sql_conn;
static pid_t sql_conn_pid;
static char sql_conn_db[64];

/* ---- failures ------------------------------------------------------------------------------ */

void ft_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("functional test harness: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_FAILURE);
}

static void harness_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void harness_fail(const char *fmt, ...) {
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!in_run)
        ft_die("%s", message);
    ck_abort_msg("%s", message);
    abort(); /* not reached: ck_abort_msg leaves the test */
}

/* ---- time and files ------------------------------------------------------------------------ */

int ft_is_timestamp(const char *text) {
    const char *shape = "dddd-dd-ddTdd:dd:ddZ";
    if (text == NULL || strlen(text) != strlen(shape))
        return 0;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != shape[i])
            return 0;
    }
    return 1;
}

double ft_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void ft_pause_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        continue;
}

/* The whole of path, NUL-terminated (new); "" when it cannot be read. */
static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    size_t size = 0, cap = 4096;
    char *data = malloc(cap);
    if (data == NULL)
        ft_die("out of memory");
    if (file != NULL) {
        size_t got;
        while ((got = fread(data + size, 1, cap - size - 1, file)) > 0) {
            size += got;
            if (cap - size - 1 == 0) {
                cap *= 2;
                char *bigger = realloc(data, cap);
                if (bigger == NULL)
                    ft_die("out of memory");
                data = bigger;
            }
        }
        fclose(file);
    }
    data[size] = '\0';
    return data;
}

static void make_temp_dir(char *dir, size_t size, const char *prefix) {
    snprintf(dir, size, "/tmp/%s_%ld_XXXXXX", prefix, (long)run_pid);
    if (mkdtemp(dir) == NULL)
        harness_fail("mkdtemp %s: %s", dir, strerror(errno));
}

/* ---- the run ------------------------------------------------------------------------------- */

static void at_exit(void) {
    ft_cleanup();
}

static void init_common(void) {
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
        ft_die("curl_global_init failed");
    signal(SIGPIPE, SIG_IGN);
    run_pid = getpid();
    atexit(at_exit);
}

void ft_init(void) {
    const char *names[3] = {"MX_TEST_PGHOST", "MX_TEST_PGPORT", "MX_TEST_PGUSER"};
    const char *values[3];
    for (int i = 0; i < 3; i++) {
        values[i] = getenv(names[i]);
        if (values[i] == NULL || values[i][0] == '\0')
            ft_die("%s is not set. The functional tests need a running PostgreSQL: run them "
                   "through scripts/test, or start one (scripts/lib/pg-cluster up DIR PORT) and "
                   "export MX_TEST_PGHOST (its socket directory), MX_TEST_PGPORT and "
                   "MX_TEST_PGUSER (a superuser). Failing rather than skipping.",
                   names[i]);
    }
    ft_init_with_cluster(values[0], values[1], values[2]);
}

static int initialised;

void ft_init_with_cluster(const char *host, const char *port, const char *user) {
    snprintf(pg_host, sizeof pg_host, "%s", host);
    snprintf(pg_port, sizeof pg_port, "%s", port);
    snprintf(pg_user, sizeof pg_user, "%s", user);
    if (!initialised)
        init_common();
    initialised = 1;
}

int ft_run_suite(Suite *suite) {
    SRunner *runner = srunner_create(suite);
    fflush(NULL);
    in_run = 1;
    srunner_run_all(runner, CK_ENV);
    in_run = 0;
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed;
}

static void drop_leftover_dbs(void);
static void remove_leftover_dirs(void);

int ft_main(Suite *suite, int with_server, enum ft_db_config how, const char *const *server_env) {
    if (!initialised)
        ft_init();
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    struct ft_server *server = NULL;
    if (with_server) {
        server = ft_server_start(how, db, server_env);
        ft_set_default_server(server);
    }
    int failed = ft_run_suite(suite);
    int server_failed = 0;
    if (server != NULL) {
        int status = ft_server_stop(server);
        if (status != 0) {
            fprintf(stderr, "FAILED: mondux did not exit with status 0 after SIGTERM (%d)\n",
                    status);
            server_failed = 1;
        }
    }
    ft_db_drop(db);
    ft_cleanup();
    curl_global_cleanup();
    return failed == 0 && !server_failed ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void remove_server_files(struct ft_server *server) {
    unlink(server->out_path);
    unlink(server->err_path);
    rmdir(server->dir);
}

void ft_cleanup(void) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i].server == NULL || servers[i].owner != getpid())
            continue;
        struct ft_server *server = servers[i].server;
        if (server->exit_status == -1) {
            kill(server->pid, SIGKILL);
            waitpid(server->pid, NULL, 0);
        }
        remove_server_files(server);
        free(server);
        servers[i].server = NULL;
    }
    if (sql_conn != NULL && sql_conn_pid == getpid())
        PQfinish(sql_conn);
    sql_conn = NULL;
    if (getpid() == run_pid && pg_host[0] != '\0') {
        drop_leftover_dbs();
        remove_leftover_dirs();
    }
}

/* ---- SQL ----------------------------------------------------------------------------------- */

static void quiet_notices(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static PGconn *sql_connect(const char *dbname) {
    const char *keywords[] = {"host", "port", "user", "dbname", "application_name", NULL};
    const char *values[] = {pg_host, pg_port, pg_user, dbname, "mx_ft_harness", NULL};
    PGconn *conn = PQconnectdbParams(keywords, values, 0);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        char message[1024];
        snprintf(message, sizeof message, "%s",
                 conn != NULL ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        harness_fail("cannot connect to database %s (host=%s port=%s user=%s): %s", dbname, pg_host,
                     pg_port, pg_user, message);
    }
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    return conn;
}

void ft_sql_disconnect(void) {
    if (sql_conn != NULL && sql_conn_pid == getpid())
        PQfinish(sql_conn);
    sql_conn = NULL;
}

static PGconn *current_conn(void) {
    if (current_db[0] == '\0')
        harness_fail("no current database (ft_use_db was not called)");
    if (sql_conn != NULL && sql_conn_pid != getpid())
        sql_conn = NULL; /* the parent's: leave it alone, it shares the socket */
    if (sql_conn != NULL && strcmp(sql_conn_db, current_db) != 0)
        ft_sql_disconnect();
    if (sql_conn == NULL) {
        sql_conn = sql_connect(current_db);
        sql_conn_pid = getpid();
        snprintf(sql_conn_db, sizeof sql_conn_db, "%s", current_db);
    }
    return sql_conn;
}

static int collect_params(va_list ap, const char **params) {
    int count = 0;
    const char *param;
    while ((param = va_arg(ap, const char *)) != NULL) {
        if (count == MAX_SQL_PARAMS)
            harness_fail("too many SQL parameters");
        params[count++] = param;
    }
    return count;
}

/* The NULL-terminated text parameters after sql, into params; their count. A macro, since the
 * variadic list belongs to the function that uses it. */
#define COLLECT_PARAMS(sql, params)                                                                \
    __extension__({                                                                                \
        va_list ap_;                                                                               \
        va_start(ap_, sql);                                                                        \
        int count_ = collect_params(ap_, params);                                                  \
        va_end(ap_);                                                                               \
        count_;                                                                                    \
    })

static int result_ok(const PGresult *result) {
    ExecStatusType status = PQresultStatus(result);
    return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

/* Runs sql on the current database; retries once on a fresh connection if the cached one died
 * (a database restart). Returns a new result, never a failed one. */
static PGresult *sql_run(const char *sql, int count, const char **params) {
    PGconn *conn = current_conn();
    PGresult *result = PQexecParams(conn, sql, count, NULL, params, NULL, NULL, 0);
    if (!result_ok(result) && PQstatus(conn) == CONNECTION_BAD) {
        PQclear(result);
        ft_sql_disconnect();
        conn = current_conn();
        result = PQexecParams(conn, sql, count, NULL, params, NULL, NULL, 0);
    }
    if (!result_ok(result)) {
        char message[1024];
        snprintf(message, sizeof message, "%s", PQresultErrorMessage(result));
        PQclear(result);
        harness_fail("SQL failed: %s\n  %s", sql, message);
    }
    return result;
}

int64_t ft_sql_int64(const char *sql, ...) {
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PGresult *result = sql_run(sql, count, params);
    if (PQntuples(result) < 1 || PQnfields(result) < 1) {
        PQclear(result);
        harness_fail("SQL returned no value: %s", sql);
    }
    int64_t value = PQgetisnull(result, 0, 0) ? 0 : strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    PQclear(result);
    return value;
}

const char *ft_sql_text(const char *sql, ...) {
    static char text[1024];
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PGresult *result = sql_run(sql, count, params);
    if (PQntuples(result) < 1 || PQnfields(result) < 1) {
        PQclear(result);
        harness_fail("SQL returned no value: %s", sql);
    }
    snprintf(text, sizeof text, "%s", PQgetvalue(result, 0, 0));
    PQclear(result);
    return text;
}

void ft_sql_exec(const char *sql, ...) {
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PQclear(sql_run(sql, count, params));
}

int ft_sql_try(char sqlstate[6], const char *sql, ...) {
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PGresult *result = PQexecParams(current_conn(), sql, count, NULL, params, NULL, NULL, 0);
    int ok = result_ok(result);
    const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    snprintf(sqlstate, 6, "%s", ok || state == NULL ? "" : state);
    PQclear(result);
    return ok ? 0 : -1;
}

int64_t ft_sql_admin_int64(const char *sql, ...) {
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PGconn *conn = sql_connect("postgres");
    PGresult *result = PQexecParams(conn, sql, count, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) < 1) {
        char message[1024];
        snprintf(message, sizeof message, "%s", PQresultErrorMessage(result));
        PQclear(result);
        PQfinish(conn);
        harness_fail("SQL (on postgres) failed: %s\n  %s", sql, message);
    }
    int64_t value = PQgetisnull(result, 0, 0) ? 0 : strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    PQclear(result);
    PQfinish(conn);
    return value;
}

int64_t ft_end_service_sessions(void) {
    return ft_sql_admin_int64("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                              " FROM pg_stat_activity"
                              " WHERE datname = $1 AND application_name = 'mondux'",
                              ft_db(), (const char *)NULL);
}

void ft_sql_admin_exec(const char *sql, ...) {
    const char *params[MAX_SQL_PARAMS];
    int count = COLLECT_PARAMS(sql, params);
    PGconn *conn = sql_connect("postgres");
    PGresult *result = PQexecParams(conn, sql, count, NULL, params, NULL, NULL, 0);
    if (!result_ok(result)) {
        char message[1024];
        snprintf(message, sizeof message, "%s", PQresultErrorMessage(result));
        PQclear(result);
        PQfinish(conn);
        harness_fail("SQL (on postgres) failed: %s\n  %s", sql, message);
    }
    PQclear(result);
    PQfinish(conn);
}

/* ---- databases ----------------------------------------------------------------------------- */

void ft_db_create(char *name_out, size_t size) {
    unsigned random_part = 0;
    FILE *urandom = fopen("/dev/urandom", "rb");
    if (urandom == NULL || fread(&random_part, sizeof random_part, 1, urandom) != 1)
        random_part = (unsigned)time(NULL) ^ (unsigned)clock();
    if (urandom != NULL)
        fclose(urandom);
    char name[64], sql[128];
    snprintf(name, sizeof name, "mx_ft_%ld_%08x", (long)run_pid, random_part);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
    ft_sql_admin_exec(sql, (const char *)NULL);
    snprintf(name_out, size, "%s", name);
}

/* Drops every database of this run; best effort, without the asserting helpers (at exit). */
static void drop_leftover_dbs(void) {
    const char *keywords[] = {"host", "port", "user", "dbname", NULL};
    const char *values[] = {pg_host, pg_port, pg_user, "postgres", NULL};
    char prefix[64];
    snprintf(prefix, sizeof prefix, "mx_ft_%ld_", (long)run_pid);
    PGconn *conn = PQconnectdbParams(keywords, values, 0);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, quiet_notices, NULL);
        const char *params[1] = {prefix};
        PGresult *names =
            PQexecParams(conn, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", 1,
                         NULL, params, NULL, NULL, 0);
        for (int i = 0; PQresultStatus(names) == PGRES_TUPLES_OK && i < PQntuples(names); i++) {
            char sql[160];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)",
                     PQgetvalue(names, i, 0));
            PQclear(PQexec(conn, sql));
        }
        PQclear(names);
    }
    PQfinish(conn);
}

/* Removes the temp dirs of this run (they hold only files). */
static void remove_leftover_dirs(void) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "/tmp/mx_ft_*_%ld_*", (long)run_pid);
    glob_t dirs;
    if (glob(pattern, GLOB_ONLYDIR, NULL, &dirs) == 0) {
        for (size_t i = 0; i < dirs.gl_pathc; i++) {
            char files_pattern[128];
            snprintf(files_pattern, sizeof files_pattern, "%s/*", dirs.gl_pathv[i]);
            glob_t files;
            if (glob(files_pattern, 0, NULL, &files) == 0) {
                for (size_t j = 0; j < files.gl_pathc; j++)
                    unlink(files.gl_pathv[j]);
            }
            globfree(&files);
            rmdir(dirs.gl_pathv[i]);
        }
    }
    globfree(&dirs);
}

void ft_db_drop(const char *name) {
    char sql[160];
    if (strcmp(name, sql_conn_db) == 0)
        ft_sql_disconnect();
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    ft_sql_admin_exec(sql, (const char *)NULL);
}

const char *ft_db(void) {
    return current_db;
}

void ft_use_db(const char *name) {
    snprintf(current_db, sizeof current_db, "%s", name);
}

const char *ft_pg_host(void) {
    return pg_host;
}

const char *ft_pg_port(void) {
    return pg_port;
}

const char *ft_pg_user(void) {
    return pg_user;
}

void ft_conninfo(const char *dbname, char *out, size_t size) {
    snprintf(out, size, "host=%s port=%s user=%s dbname=%s", pg_host, pg_port, pg_user, dbname);
}

/* Percent-encodes text for a URI query value. */
static void uri_escape(const char *text, char *out, size_t size) {
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && used + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.') {
            out[used++] = (char)*p;
        } else {
            out[used++] = '%';
            out[used++] = hex[*p >> 4];
            out[used++] = hex[*p & 15];
        }
    }
    out[used] = '\0';
}

void ft_conninfo_uri(const char *dbname, char *out, size_t size) {
    char host[512];
    uri_escape(pg_host, host, sizeof host);
    snprintf(out, size, "postgresql://%s@/%s?host=%s&port=%s", pg_user, dbname, host, pg_port);
}

/* ---- processes ----------------------------------------------------------------------------- */

struct env_list {
    char *entries[MAX_ENV];
    int count;
};

static int is_config_variable(const char *entry) {
    static const char *const names[] = {
        "PORT=", "HOST=", "DATABASE_URL=", "API_DB=", "API_DB_", "MX_"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strncmp(entry, names[i], strlen(names[i])) == 0)
            return 1;
    }
    return 0;
}

/* Sets NAME=value in list (copied), replacing an earlier NAME. */
static void env_put(struct env_list *list, const char *entry) {
    const char *equals = strchr(entry, '=');
    if (equals == NULL)
        harness_fail("environment entry without '=': %s", entry);
    size_t name_length = (size_t)(equals - entry) + 1;
    char *copy = strdup(entry);
    if (copy == NULL)
        harness_fail("out of memory");
    for (int i = 0; i < list->count; i++) {
        if (strncmp(list->entries[i], entry, name_length) == 0) {
            free(list->entries[i]);
            list->entries[i] = copy;
            return;
        }
    }
    if (list->count == MAX_ENV - 1)
        harness_fail("environment too large");
    list->entries[list->count++] = copy;
    list->entries[list->count] = NULL;
}

static void env_putf(struct env_list *list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void env_putf(struct env_list *list, const char *fmt, ...) {
    char entry[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(entry, sizeof entry, fmt, ap);
    va_end(ap);
    env_put(list, entry);
}

static void env_free(struct env_list *list) {
    for (int i = 0; i < list->count; i++)
        free(list->entries[i]);
    list->count = 0;
}

/* This process's environment without any configuration variable, then how's database settings,
 * then env. */
static void build_env(struct env_list *list, enum ft_db_config how, const char *dbname,
                      const char *const *env) {
    list->count = 0;
    list->entries[0] = NULL;
    for (char **e = environ; *e != NULL; e++) {
        if (!is_config_variable(*e))
            env_put(list, *e);
    }
    env_put(list, "PORT=0");
    char conninfo[1024];
    switch (how) {
    case FT_DATABASE_URL:
        ft_conninfo(dbname, conninfo, sizeof conninfo);
        env_putf(list, "DATABASE_URL=%s", conninfo);
        break;
    case FT_DATABASE_URL_URI:
        ft_conninfo_uri(dbname, conninfo, sizeof conninfo);
        env_putf(list, "DATABASE_URL=%s", conninfo);
        break;
    case FT_API_DB_VARS:
        env_putf(list, "API_DB=%s", dbname);
        env_putf(list, "API_DB_USER=%s", pg_user);
        env_put(list, "API_DB_PASSWORD=unused-with-trust-auth");
        env_putf(list, "API_DB_HOST=%s", pg_host);
        env_putf(list, "API_DB_PORT=%s", pg_port);
        break;
    case FT_NO_DB_CONFIG:
        break;
    }
    for (; env != NULL && *env != NULL; env++)
        env_put(list, *env);
}

/* fork + execve with stdout and stderr to files; only async-signal-safe calls in the child. */
static pid_t spawn(const char *const *argv, char *const *envp, const char *out_path,
                   const char *err_path) {
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        harness_fail("fork: %s", strerror(errno));
    if (pid > 0)
        return pid;

    /* Die with whoever started us, even if it is killed by a timeout. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    execve(argv[0], (char *const *)argv, envp);
    static const char message[] = "functional test harness: execve failed\n";
    (void)!write(2, message, sizeof message - 1);
    _exit(127);
}

static int decode_status(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

/* Waits up to timeout_s for pid; SIGKILLs it after that. Returns the waitpid status, or -1 for
 * a timeout. */
static int wait_bounded(pid_t pid, int timeout_s, int *raw_status) {
    double deadline = ft_now() + timeout_s * ft_timeout_scale();
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            *raw_status = status;
            return 0;
        }
        if (got < 0 && errno != EINTR)
            harness_fail("waitpid %ld: %s", (long)pid, strerror(errno));
        if (ft_now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, raw_status, 0);
            return -1;
        }
        ft_pause_ms(10);
    }
}

int ft_run_program(const char *const *argv, enum ft_db_config how, const char *dbname,
                   const char *const *env, char **out, char **err, int timeout_s) {
    char dir[64], out_path[96], err_path[96];
    make_temp_dir(dir, sizeof dir, "mx_ft_run");
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    struct env_list list;
    build_env(&list, how, dbname, env);
    const char *wrapped[FT_WRAPPED_ARGV_MAX];
    pid_t pid = spawn(ft_wrap_argv(argv, wrapped), list.entries, out_path, err_path);
    env_free(&list);
    int raw = 0;
    int timed_out = wait_bounded(pid, timeout_s, &raw) != 0;
    *out = read_file(out_path);
    *err = read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    rmdir(dir);
    return timed_out ? -1 : decode_status(raw);
}

/* ---- servers ------------------------------------------------------------------------------- */

struct ft_server *ft_server_spawn(enum ft_db_config how, const char *dbname,
                                  const char *const *env) {
    struct ft_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        harness_fail("out of memory");
    server->exit_status = -1;
    make_temp_dir(server->dir, sizeof server->dir, "mx_ft_srv");
    snprintf(server->out_path, sizeof server->out_path, "%s/stdout.log", server->dir);
    snprintf(server->err_path, sizeof server->err_path, "%s/stderr.log", server->dir);

    int slot = -1;
    for (int i = 0; i < MAX_SERVERS && slot < 0; i++) {
        if (servers[i].server == NULL)
            slot = i;
    }
    if (slot < 0)
        harness_fail("too many servers at once");

    struct env_list list;
    build_env(&list, how, dbname, env);
    const char *argv[] = {MX_BINARY, NULL};
    const char *wrapped[FT_WRAPPED_ARGV_MAX];
    server->pid =
        spawn(ft_wrap_argv(argv, wrapped), list.entries, server->out_path, server->err_path);
    env_free(&list);
    servers[slot].server = server;
    servers[slot].owner = getpid();
    return server;
}

char *ft_server_stderr(const struct ft_server *server) {
    return read_file(server->err_path);
}

/* Reaps server if it has exited; 1 if it has. */
static int server_exited(struct ft_server *server) {
    if (server->exit_status != -1)
        return 1;
    int status = 0;
    if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
        server->exit_status = status;
        return 1;
    }
    return 0;
}

void ft_server_await(struct ft_server *server) {
    double deadline = ft_now() + FT_READY_TIMEOUT_S * ft_timeout_scale();
    for (;;) {
        char *log = read_file(server->err_path);
        const char *line = strstr(log, FT_LISTENING_PREFIX);
        const char *end = line != NULL ? strchr(line, '\n') : NULL;
        if (end != NULL) {
            const char *digits = line + strlen(FT_LISTENING_PREFIX);
            char *after = NULL;
            long port = strtol(digits, &after, 10);
            int exact = after != digits && after == end && port > 0 && port < 65536;
            char copy[256];
            snprintf(copy, sizeof copy, "%.*s", (int)(end - line), line);
            free(log);
            if (!exact)
                harness_fail("mondux's listening line is not '" FT_LISTENING_PREFIX "<port>': '%s'",
                             copy);
            server->port = (int)port;
            snprintf(server->base_url, sizeof server->base_url, "http://127.0.0.1:%d",
                     server->port);
            return;
        }
        if (server_exited(server)) {
            int status = server->exit_status;
            char tail[3000];
            size_t length = strlen(log);
            snprintf(tail, sizeof tail, "%s", length > 2900 ? log + length - 2900 : log);
            free(log);
            harness_fail("mondux exited (%s %d) before listening; its stderr:\n%s",
                         WIFEXITED(status) ? "status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
        }
        free(log);
        if (ft_now() > deadline)
            harness_fail("mondux did not print '" FT_LISTENING_PREFIX "<port>' within %.0f s",
                         FT_READY_TIMEOUT_S * ft_timeout_scale());
        ft_pause_ms(20);
    }
}

struct ft_server *ft_server_start(enum ft_db_config how, const char *dbname,
                                  const char *const *env) {
    struct ft_server *server = ft_server_spawn(how, dbname, env);
    ft_server_await(server);
    return server;
}

static void forget_server(struct ft_server *server) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i].server == server)
            servers[i].server = NULL;
    }
    if (default_server == server)
        default_server = NULL;
    remove_server_files(server);
    free(server);
}

int ft_server_wait_exit(struct ft_server *server, int timeout_s, char **out, char **err) {
    int raw = server->exit_status;
    int timed_out = 0;
    if (raw == -1)
        timed_out = wait_bounded(server->pid, timeout_s, &raw) != 0;
    server->exit_status = raw;
    int result = timed_out ? -1 : decode_status(raw);
    if (result != 0) {
        char *log = ft_server_stderr(server);
        size_t length = strlen(log);
        const char *tail = length > 6000 ? log + length - 6000 : log;
        if (timed_out)
            fprintf(stderr, "mondux (pid %ld) did not exit within %d s; killed\n",
                    (long)server->pid, timeout_s);
        else if (WIFEXITED(raw))
            fprintf(stderr, "mondux (pid %ld) exited with status %d\n", (long)server->pid,
                    WEXITSTATUS(raw));
        else
            fprintf(stderr, "mondux (pid %ld) was killed by signal %d\n", (long)server->pid,
                    WTERMSIG(raw));
        fprintf(stderr, "---- mondux stderr (end) ----\n%s---- end ----\n", tail);
        free(log);
    }
    if (out != NULL)
        *out = read_file(server->out_path);
    if (err != NULL)
        *err = read_file(server->err_path);
    forget_server(server);
    return result;
}

int ft_server_stop(struct ft_server *server) {
    if (server->exit_status == -1 && !server_exited(server))
        kill(server->pid, SIGTERM);
    return ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, NULL);
}

int ft_migration_count(void) {
    glob_t found;
    int count = 0;
    if (glob(MX_SOURCE_DIR "/db/migrations/*.sql", 0, NULL, &found) == 0)
        count = (int)found.gl_pathc;
    globfree(&found);
    return count;
}

void ft_set_default_server(struct ft_server *server) {
    default_server = server;
}

struct ft_server *ft_default_server(void) {
    return default_server;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

struct buffer {
    char *data;
    size_t size;
    size_t cap;
};

static int buffer_append(struct buffer *b, const char *data, size_t size) {
    if (b->size + size + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 1024 : b->cap;
        while (b->size + size + 1 > cap)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (bigger == NULL)
            return 0;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, size);
    b->size += size;
    b->data[b->size] = '\0';
    return 1;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    return buffer_append(user, data, size * count) ? size * count : 0;
}

/* Keeps the header block of the final response only (not that of a "100 Continue"). */
static size_t on_header(char *data, size_t size, size_t count, void *user) {
    struct buffer *b = user;
    if (size * count >= 5 && strncmp(data, "HTTP/", 5) == 0)
        b->size = 0;
    return buffer_append(b, data, size * count) ? size * count : 0;
}

static char *buffer_take(struct buffer *b) {
    if (b->data == NULL && !buffer_append(b, "", 0))
        return NULL;
    return b->data;
}

/* 1 if one of the header lines (a NULL-terminated list; may be NULL) is a name header. */
static int names_header(const char *const *lines, const char *name) {
    size_t length = strlen(name);
    for (; lines != NULL && *lines != NULL; lines++) {
        if (strncasecmp(*lines, name, length) == 0 &&
            ((*lines)[length] == ':' || (*lines)[length] == ';'))
            return 1;
    }
    return 0;
}

struct ft_response *ft_http_on(CURL *curl, const char *base_url, const char *method,
                               const char *path, const char *body, size_t body_size) {
    return ft_http_on_with_headers(curl, base_url, method, path, body, body_size, NULL);
}

struct ft_response *ft_http_on_with_headers(CURL *curl, const char *base_url, const char *method,
                                            const char *path, const char *body, size_t body_size,
                                            const char *const *extra_headers) {
    struct ft_response *response = calloc(1, sizeof *response);
    if (response == NULL)
        return NULL;
    snprintf(response->what, sizeof response->what, "%s %s", method, path);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base_url, path);

    struct buffer headers = {0}, data = {0};
    struct curl_slist *request_headers = NULL;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    /* A HEAD answer has headers only: without NOBODY curl would wait for the announced body. */
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)(10 * ft_timeout_scale()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)(60 * ft_timeout_scale()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &data);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, response->curl_error);
    if (body != NULL) {
        if (!names_header(extra_headers, "Content-Type"))
            request_headers = curl_slist_append(request_headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_size);
    }
    /* No "Expect: 100-continue" dance: the whole request goes out at once, as browsers send it. */
    request_headers = curl_slist_append(request_headers, "Expect:");
    for (; extra_headers != NULL && *extra_headers != NULL; extra_headers++)
        request_headers = curl_slist_append(request_headers, *extra_headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, request_headers);

    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    } else {
        response->status = 0;
        if (response->curl_error[0] == '\0')
            snprintf(response->curl_error, sizeof response->curl_error, "%s",
                     curl_easy_strerror(code));
    }
    /* The error buffer must not outlive this call in the handle. */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(request_headers);

    response->body_size = data.size;
    response->body = buffer_take(&data);
    response->headers = buffer_take(&headers);
    if (response->body_size > 0)
        response->json = json_loadb(response->body, response->body_size, 0, NULL);
    return response;
}

struct ft_response *ft_http_with_headers(const char *method, const char *path, const char *body,
                                         const char *const *headers) {
    if (default_server == NULL)
        harness_fail("no default server for %s %s", method, path);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        harness_fail("curl_easy_init failed");
    struct ft_response *response =
        ft_http_on_with_headers(curl, default_server->base_url, method, path, body,
                                body != NULL ? strlen(body) : 0, headers);
    curl_easy_cleanup(curl);
    if (response == NULL)
        harness_fail("out of memory");
    return response;
}

struct ft_response *ft_http(const char *method, const char *path, const char *body) {
    return ft_http_with_headers(method, path, body, NULL);
}

struct ft_response *ft_http_keyed(const char *method, const char *path, const char *body,
                                  const char *key) {
    if (key == NULL)
        return ft_http_with_headers(method, path, body, NULL);
    size_t size = strlen("Idempotency-Key: ") + strlen(key) + 1;
    char *line = malloc(size);
    if (line == NULL)
        harness_fail("out of memory");
    snprintf(line, size, "Idempotency-Key: %s", key);
    const char *headers[] = {line, NULL};
    struct ft_response *response = ft_http_with_headers(method, path, body, headers);
    free(line);
    return response;
}

struct ft_response *ft_http_after_outage(const char *method, const char *path, const char *body,
                                         int timeout_s) {
    double deadline = ft_now() + timeout_s * ft_timeout_scale();
    for (;;) {
        struct ft_response *response = ft_http(method, path, body);
        if (response->status != 503 || ft_now() > deadline)
            return response;
        ft_response_free(response);
        ft_pause_ms(100);
    }
}

void ft_response_free(struct ft_response *response) {
    if (response == NULL)
        return;
    free(response->headers);
    free(response->body);
    json_decref(response->json);
    free(response);
}

const char *ft_header(const struct ft_response *response, const char *name, char *out,
                      size_t size) {
    size_t name_length = strlen(name);
    for (const char *line = response->headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) > name_length && strncasecmp(line, name, name_length) == 0 &&
            line[name_length] == ':') {
            const char *value = line + name_length + 1;
            while (value < end && (*value == ' ' || *value == '\t'))
                value++;
            const char *value_end = end;
            while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
                value_end--;
            snprintf(out, size, "%.*s", (int)(value_end - value), value);
            return out;
        }
        line = *end != '\0' ? end + 2 : end;
    }
    return NULL;
}

const char *ft_code(const struct ft_response *response) {
    const char *code = json_string_value(json_object_get(response->json, "code"));
    return code != NULL ? code : "";
}

int ft_is_replayed(const struct ft_response *response) {
    char value[16];
    return ft_header(response, "Idempotent-Replayed", value, sizeof value) != NULL &&
           strcmp(value, "true") == 0;
}

int ft_is_503(const struct ft_response *response, const char *code) {
    char retry_after[32];
    return response->status == 503 && strcmp(ft_code(response), code) == 0 &&
           ft_header(response, "Retry-After", retry_after, sizeof retry_after) != NULL &&
           retry_after[0] != '\0';
}

/* ---- a request on a thread of its own ------------------------------------------------------ */

struct ft_call {
    pthread_t thread;
    char base_url[64];
    char *method, *path, *body, *key_line;
    struct ft_response *response;
    atomic_int done;
};

static void *call_run(void *arg) {
    struct ft_call *call = arg;
    const char *headers[] = {call->key_line, NULL};
    CURL *curl = curl_easy_init();
    if (curl != NULL)
        call->response =
            ft_http_on_with_headers(curl, call->base_url, call->method, call->path, call->body,
                                    call->body != NULL ? strlen(call->body) : 0, headers);
    curl_easy_cleanup(curl);
    atomic_store(&call->done, 1);
    return NULL;
}

struct ft_call *ft_call_start(const char *method, const char *path, const char *body,
                              const char *key) {
    if (default_server == NULL)
        harness_fail("no default server for %s %s", method, path);
    struct ft_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        harness_fail("out of memory");
    snprintf(call->base_url, sizeof call->base_url, "%s", default_server->base_url);
    call->method = strdup(method);
    call->path = strdup(path);
    call->body = body != NULL ? strdup(body) : NULL;
    if (key != NULL) {
        size_t size = strlen("Idempotency-Key: ") + strlen(key) + 1;
        call->key_line = malloc(size);
        if (call->key_line != NULL)
            snprintf(call->key_line, size, "Idempotency-Key: %s", key);
    }
    if (call->method == NULL || call->path == NULL || (body != NULL && call->body == NULL) ||
        (key != NULL && call->key_line == NULL))
        harness_fail("out of memory");
    atomic_init(&call->done, 0);
    if (pthread_create(&call->thread, NULL, call_run, call) != 0)
        harness_fail("cannot start a thread for %s %s", method, path);
    return call;
}

int ft_call_done(const struct ft_call *call) {
    return atomic_load(&call->done);
}

int ft_call_await(const struct ft_call *call, double timeout_s) {
    double deadline = ft_now() + timeout_s * ft_timeout_scale();
    while (!ft_call_done(call) && ft_now() < deadline)
        ft_pause_ms(10);
    return ft_call_done(call);
}

struct ft_response *ft_call_finish(struct ft_call *call) {
    pthread_join(call->thread, NULL);
    struct ft_response *response = call->response;
    free(call->method);
    free(call->path);
    free(call->body);
    free(call->key_line);
    free(call);
    if (response == NULL)
        harness_fail("out of memory (or curl_easy_init failed)");
    return response;
}

/* ---- assertions ---------------------------------------------------------------------------- */

/* A short description of a response for failure messages (static buffer). */
static const char *describe(const struct ft_response *r) {
    static char text[1024];
    if (r->status == 0)
        snprintf(text, sizeof text, "%s: no response (%s)", r->what, r->curl_error);
    else
        snprintf(text, sizeof text, "%s -> %ld, body: %.600s", r->what, r->status, r->body);
    return text;
}

void ft_assert_status(const struct ft_response *response, long status) {
    if (response->status != status)
        harness_fail("expected status %ld; %s", status, describe(response));
}

void ft_assert_json(const struct ft_response *response) {
    char type[256];
    if (ft_header(response, "Content-Type", type, sizeof type) == NULL)
        harness_fail("no Content-Type; %s", describe(response));
    if (strncasecmp(type, "application/json", 16) != 0 || (type[16] != '\0' && type[16] != ';'))
        harness_fail("Content-Type is '%s', not application/json; %s", type, describe(response));
    if (!json_is_object(response->json))
        harness_fail("the body is not a JSON object; %s", describe(response));
    if (response->body[response->body_size - 1] != '\n')
        harness_fail("the JSON body does not end with a newline; %s", describe(response));
}

void ft_assert_error(const struct ft_response *response, long status, const char *code,
                     const char *message) {
    ft_assert_status(response, status);
    ft_assert_json(response);
    const char *got_code = json_string_value(json_object_get(response->json, "code"));
    const char *got_error = json_string_value(json_object_get(response->json, "error"));
    if (got_code == NULL || strcmp(got_code, code) != 0)
        harness_fail("expected \"code\": \"%s\"; %s", code, describe(response));
    if (got_error == NULL || got_error[0] == '\0')
        harness_fail("expected a non-empty \"error\" string; %s", describe(response));
    if (message != NULL && strcmp(got_error, message) != 0)
        harness_fail("expected \"error\": \"%s\"; %s", message, describe(response));
}

void ft_assert_error_field(const struct ft_response *response, const char *field) {
    json_t *got = json_object_get(response->json, "field");
    if (field == NULL && got != NULL)
        harness_fail("expected no \"field\"; %s", describe(response));
    if (field != NULL && (!json_is_string(got) || strcmp(json_string_value(got), field) != 0))
        harness_fail("expected \"field\": \"%s\"; %s", field, describe(response));
}

void ft_assert_not_replayed(const struct ft_response *response) {
    char value[64];
    if (ft_header(response, "Idempotent-Replayed", value, sizeof value) != NULL)
        harness_fail("a first answer carries Idempotent-Replayed: %s; %s", value,
                     describe(response));
}

void ft_expect_error(const char *method, const char *path, const char *body, const char *key,
                     long status, const char *code, const char *message) {
    struct ft_response *r =
        key != NULL ? ft_http_keyed(method, path, body, key) : ft_http(method, path, body);
    ft_assert_error(r, status, code, message);
    ft_response_free(r);
}

void ft_assert_replay_of(const struct ft_response *first, const struct ft_response *replay) {
    char value[64], first_location[512], replay_location[512];
    ft_assert_not_replayed(first);
    if (replay->status != first->status)
        harness_fail("the replay's status is %ld, the first answer's %ld; %s", replay->status,
                     first->status, describe(replay));
    if (replay->body_size != first->body_size ||
        memcmp(replay->body, first->body, first->body_size) != 0)
        harness_fail("the replay's body differs from the first answer's:\n  first:  %.500s\n  "
                     "replay: %.500s",
                     first->body, replay->body);
    if (ft_header(replay, "Idempotent-Replayed", value, sizeof value) == NULL ||
        strcmp(value, "true") != 0)
        harness_fail("a replay without 'Idempotent-Replayed: true'; %s", describe(replay));
    const char *a = ft_header(first, "Location", first_location, sizeof first_location);
    const char *b = ft_header(replay, "Location", replay_location, sizeof replay_location);
    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
        harness_fail("the replay's Location is '%s', the first answer's '%s'; %s",
                     b != NULL ? b : "(none)", a != NULL ? a : "(none)", describe(replay));
}

int64_t ft_json_int(const struct ft_response *response, const char *name) {
    json_t *value = json_object_get(response->json, name);
    if (!json_is_integer(value))
        harness_fail("expected an integer \"%s\"; %s", name, describe(response));
    return (int64_t)json_integer_value(value);
}

const char *ft_json_str(const struct ft_response *response, const char *name) {
    const char *value = json_string_value(json_object_get(response->json, name));
    if (value == NULL)
        harness_fail("expected a string \"%s\"; %s", name, describe(response));
    return value;
}

/* ---- the bank ------------------------------------------------------------------------------ */

void ft_create_account(char number[FT_ACCOUNT_SIZE]) {
    struct ft_response *r = ft_http("POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

int64_t ft_move(const char *number, const char *op, int64_t sum) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, number, op, sum);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    int64_t balance = ft_json_int(r, "balance");
    ft_response_free(r);
    return balance;
}

int64_t ft_balance(const char *number) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/balance", number);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    int64_t balance = ft_json_int(r, "balance");
    ft_response_free(r);
    return balance;
}

void ft_create_account_with_overdraft(char number[FT_ACCOUNT_SIZE], int64_t overdraft_limit_cents) {
    char body[96];
    snprintf(body, sizeof body, "{\"overdraft_limit\": %" PRId64 "}", overdraft_limit_cents);
    struct ft_response *r = ft_http("POST", "/api/accounts", body);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    if (ft_json_int(r, "overdraft_limit") != overdraft_limit_cents)
        harness_fail("created with overdraft_limit %" PRId64 "; %s", overdraft_limit_cents,
                     describe(r));
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

int64_t ft_transfer(const char *from, const char *to, int64_t sum) {
    char body[256];
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}", from,
             to, sum);
    struct ft_response *r = ft_http("POST", "/api/transfers", body);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    int64_t id = ft_json_int(r, "id");
    ft_response_free(r);
    return id;
}

struct ft_snapshot ft_snapshot(const char *number) {
    const char *param = number != NULL ? number : "";
    struct ft_snapshot s;
    s.balance_cents = ft_sql_int64(
        "SELECT coalesce((SELECT balance_cents FROM accounts WHERE account_number = $1), -1)",
        param, (const char *)NULL);
    s.entries = ft_sql_int64("SELECT count(*) FROM entries e JOIN accounts a ON a.id = "
                             "e.account_id WHERE a.account_number = $1",
                             param, (const char *)NULL);
    s.accounts = ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL);
    s.all_entries = ft_sql_int64("SELECT count(*) FROM entries", (const char *)NULL);
    s.total_cents =
        ft_sql_int64("SELECT coalesce(sum(balance_cents), 0) FROM accounts", (const char *)NULL);
    return s;
}

void ft_assert_unchanged(const struct ft_snapshot *before, const char *number) {
    struct ft_snapshot now = ft_snapshot(number);
    if (now.balance_cents != before->balance_cents || now.entries != before->entries ||
        now.accounts != before->accounts || now.all_entries != before->all_entries ||
        now.total_cents != before->total_cents)
        harness_fail("the database changed: balance %" PRId64 " -> %" PRId64 ", entries %" PRId64
                     " -> %" PRId64 ", accounts %" PRId64 " -> %" PRId64 ", all entries %" PRId64
                     " -> %" PRId64 ", total %" PRId64 " -> %" PRId64,
                     before->balance_cents, now.balance_cents, before->entries, now.entries,
                     before->accounts, now.accounts, before->all_entries, now.all_entries,
                     before->total_cents, now.total_cents);
}

void ft_mistype(const char *number, char out[FT_ACCOUNT_SIZE]) {
    snprintf(out, FT_ACCOUNT_SIZE, "%s", number);
    size_t middle = strlen(out) / 2;
    if (out[middle] >= '0' && out[middle] <= '9')
        out[middle] = (char)('0' + (out[middle] - '0' + 1) % 10);
}

/* ---- the ledger's invariants --------------------------------------------------------------- */

/* Each query lists the offenders of one invariant as text, one row each; none is the rule. */
static const struct {
    const char *rule;
    const char *sql;
} invariants[] = {
    {"every balance is the sum of its journal",
     "SELECT a.account_number || ': balance ' || a.balance_cents || ', journal ' || "
     "coalesce(j.total, 0) FROM accounts a LEFT JOIN (SELECT account_id, sum(amount_cents) AS "
     "total FROM entries GROUP BY account_id) j ON j.account_id = a.id "
     "WHERE a.balance_cents <> coalesce(j.total, 0)"},
    {"every balance is within -overdraft_limit..2^53-1",
     "SELECT account_number || ': balance ' || balance_cents || ', overdraft limit ' || "
     "overdraft_limit_cents FROM accounts WHERE balance_cents < -overdraft_limit_cents OR "
     "balance_cents > 9007199254740991"},
    {"every balance_after is the running sum of its account's journal",
     "SELECT 'entry ' || id || ': balance_after ' || balance_after_cents || ', running sum ' || "
     "running FROM (SELECT id, balance_after_cents, sum(amount_cents) OVER (PARTITION BY "
     "account_id ORDER BY id) AS running FROM entries) x WHERE running <> balance_after_cents"},
    {"every entry's kind, sign and transfer_id agree",
     "SELECT 'entry ' || id || ': ' || kind || ' ' || amount_cents || ', transfer ' || "
     "coalesce(transfer_id::text, 'none') FROM entries WHERE NOT ("
     "(kind = 'deposit' AND amount_cents > 0 AND transfer_id IS NULL) OR "
     "(kind = 'withdrawal' AND amount_cents < 0 AND transfer_id IS NULL) OR "
     "(kind = 'transfer_in' AND amount_cents > 0 AND transfer_id IS NOT NULL) OR "
     "(kind = 'transfer_out' AND amount_cents < 0 AND transfer_id IS NOT NULL) OR "
     "(kind = 'capture' AND amount_cents < 0 AND transfer_id IS NULL AND hold_id IS NOT NULL) OR "
     "(kind IN ('freeze', 'unfreeze', 'close') AND amount_cents = 0 AND transfer_id IS NULL))"},
    {"no account's available balance is below minus its overdraft limit",
     "SELECT account_number || ': balance ' || balance_cents || ', held ' || (SELECT held_cents "
     "FROM pending_holds(id, now())) || "
     "', overdraft limit ' || overdraft_limit_cents FROM accounts "
     "WHERE balance_cents - (SELECT held_cents FROM pending_holds(id, now())) < "
     "-overdraft_limit_cents"},
    {"a captured hold has its one capture entry of minus what it took, no other hold has one",
     "SELECT 'hold ' || h.id || ' ' || h.status || ' captured ' || h.captured_cents || ' of ' || "
     "h.amount_cents || ': ' || count(e.id) || ' entries summing to ' || "
     "coalesce(sum(e.amount_cents), 0) FROM holds h LEFT JOIN entries e ON e.hold_id = h.id "
     "GROUP BY h.id HAVING h.captured_cents > h.amount_cents OR count(e.id) <> CASE h.status "
     "WHEN 'captured' THEN 1 ELSE 0 END OR coalesce(sum(e.amount_cents), 0) <> -h.captured_cents "
     "OR bool_or(e.kind <> 'capture' OR e.account_id <> h.account_id)"},
    {"no transfer links accounts of two currencies",
     "SELECT 'transfer ' || t.id || ': ' || f.currency || ' to ' || a.currency FROM transfers t "
     "JOIN accounts f ON f.id = t.from_account_id JOIN accounts a ON a.id = t.to_account_id "
     "WHERE f.currency <> a.currency"},
    {"every entry, hold, void and account is one change-feed event that tells it as it is",
     "SELECT 'entry ' || e.id || ': ' || count(v.id) || ' events' FROM entries e LEFT JOIN events "
     "v ON v.entry_id = e.id AND v.account_id = e.account_id AND v.type = e.kind AND "
     "v.amount_cents = e.amount_cents AND v.balance_after_cents = e.balance_after_cents "
     "GROUP BY e.id HAVING count(v.id) <> 1 "
     "UNION ALL SELECT 'hold ' || h.id || ' ' || h.status || ': ' || count(v.id) || "
     "' hold or void events' FROM holds h LEFT JOIN events v ON v.hold_id = h.id AND "
     "v.account_id = h.account_id AND v.hold_amount_cents = h.amount_cents AND v.type IN "
     "('hold', 'void') GROUP BY h.id HAVING count(v.id) <> CASE h.status WHEN 'voided' THEN 2 "
     "ELSE 1 END "
     "UNION ALL SELECT 'account ' || a.account_number || ': ' || count(v.id) || ' open events' "
     "FROM accounts a LEFT JOIN events v ON v.account_id = a.id AND v.type = 'open' "
     "GROUP BY a.id HAVING count(v.id) <> 1"},
    {"no two events share a feed position, and none is numbered past the last one given",
     "SELECT 'position ' || position || ' of ' || (SELECT last_position FROM event_sequencer) "
     "FROM events WHERE position > (SELECT last_position FROM event_sequencer) "
     "UNION ALL SELECT 'position ' || position || ' twice' FROM events WHERE position IS NOT NULL "
     "GROUP BY position HAVING count(*) > 1"},
    {"a closed account has no pending hold",
     "SELECT a.account_number || ': closed, holding ' || (SELECT held_cents FROM "
     "pending_holds(a.id, now())) FROM accounts a "
     "WHERE a.status = 'closed' AND (SELECT held_cents FROM pending_holds(a.id, now())) <> 0"},
    {"a closed account is empty, and its close is its last entry",
     "SELECT a.account_number || ': ' || a.status || ', balance ' || a.balance_cents || "
     "', last entry ' || coalesce(l.kind, 'none') FROM accounts a LEFT JOIN LATERAL (SELECT "
     "kind FROM entries e WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1) l ON true "
     "WHERE a.status = 'closed' AND (a.balance_cents <> 0 OR l.kind IS DISTINCT FROM 'close')"},
    {"an account's status is what its last status entry made it",
     "SELECT a.account_number || ': ' || a.status || ' after ' || coalesce(l.kind, 'none') "
     "FROM accounts a LEFT JOIN LATERAL (SELECT kind FROM entries e WHERE e.account_id = a.id "
     "AND e.kind IN ('freeze', 'unfreeze', 'close') ORDER BY e.id DESC LIMIT 1) l ON true "
     "WHERE a.status <> CASE l.kind WHEN 'freeze' THEN 'frozen' WHEN 'close' THEN 'closed' "
     "ELSE 'active' END"},
    {"every transfer has exactly its two legs",
     "SELECT 'transfer ' || t.id || ' of ' || t.amount_cents || ': ' || count(e.id) || "
     "' legs summing to ' || coalesce(sum(e.amount_cents), 0) FROM transfers t LEFT JOIN entries "
     "e ON e.transfer_id = t.id GROUP BY t.id HAVING count(e.id) <> 2 OR t.amount_cents <= 0 OR "
     "t.from_account_id = t.to_account_id OR count(e.id) FILTER (WHERE e.kind = 'transfer_out' "
     "AND e.account_id = t.from_account_id AND e.amount_cents = -t.amount_cents) <> 1 OR "
     "count(e.id) FILTER (WHERE e.kind = 'transfer_in' AND e.account_id = t.to_account_id AND "
     "e.amount_cents = t.amount_cents) <> 1"},
    {"the transfer legs sum to zero",
     "SELECT 'all legs sum to ' || sum(amount_cents) FROM entries WHERE transfer_id IS NOT NULL "
     "HAVING sum(amount_cents) <> 0"},
    {"a stored outcome is a success with one effect, or no change or a 404/409 refusal with none",
     "SELECT 'key ' || quote_literal(key) || ': ' || coalesce(outcome, 'status ' || "
     "coalesce(http_status::text, 'NULL')) || ', effects ' || "
     "num_nonnulls(account_id, entry_id, transfer_id, hold_id, released_hold_id, limit_account_id) "
     "|| ', body ' "
     "|| coalesce(body, 'NULL') FROM idempotency_keys WHERE NOT coalesce("
     "(outcome = 'ok' AND num_nonnulls(account_id, entry_id, transfer_id, hold_id, "
     "released_hold_id, limit_account_id) = 1) "
     "OR (outcome IN ('unchanged', 'account_not_found', 'insufficient_funds', "
     "'balance_limit_exceeded', 'account_frozen', 'account_closed', 'account_not_empty', "
     "'hold_not_found', 'hold_not_pending', 'currency_mismatch', 'duplicate_reference') AND "
     "num_nonnulls(account_id, "
     "entry_id, transfer_id, "
     "hold_id, released_hold_id, limit_account_id) = 0) "
     "OR (http_status BETWEEN 200 AND 299 AND num_nonnulls(account_id, entry_id, transfer_id) = 1) "
     "OR (http_status IN (404, 409) AND num_nonnulls(account_id, entry_id, transfer_id) = 0 AND "
     "(body::jsonb ->> 'code') IN ('account_not_found', 'insufficient_funds', "
     "'balance_limit_exceeded')), false)"},
    {"no effect is referenced by two keys",
     "SELECT what || ' ' || id || ' referenced by ' || n || ' keys' FROM ("
     "SELECT 'account' AS what, account_id AS id, count(*) AS n FROM idempotency_keys WHERE "
     "account_id IS NOT NULL GROUP BY account_id UNION ALL "
     "SELECT 'entry', entry_id, count(*) FROM idempotency_keys WHERE entry_id IS NOT NULL "
     "GROUP BY entry_id UNION ALL "
     "SELECT 'transfer', transfer_id, count(*) FROM idempotency_keys WHERE transfer_id IS NOT "
     "NULL GROUP BY transfer_id UNION ALL "
     "SELECT 'hold', hold_id, count(*) FROM idempotency_keys WHERE hold_id IS NOT NULL "
     "GROUP BY hold_id UNION ALL "
     "SELECT 'released hold', released_hold_id, count(*) FROM idempotency_keys WHERE "
     "released_hold_id IS NOT NULL GROUP BY released_hold_id) x WHERE n > 1"},
    /* These compare a rendered answer with its effect; a stored outcome has none to compare. */
    {"a stored deposit/withdrawal answer agrees with its entry",
     "SELECT 'key ' || quote_literal(k.key) || ': body ' || k.body || ' vs entry ' || e.id || "
     "' (' || e.kind || ' on ' || a.account_number || ', balance after ' || "
     "e.balance_after_cents || ')' FROM idempotency_keys k JOIN entries e ON e.id = k.entry_id "
     "JOIN accounts a ON a.id = e.account_id WHERE e.kind NOT IN ('deposit', 'withdrawal', "
     "'freeze', 'unfreeze', 'close', 'capture') OR "
     "(k.body IS NOT NULL AND (k.http_status <> 200 OR (k.body::jsonb ->> 'balance') IS DISTINCT "
     "FROM "
     "e.balance_after_cents::text OR (k.body::jsonb ->> 'account_number') IS DISTINCT FROM "
     "a.account_number))"},
    {"a stored transfer answer agrees with its transfer and legs",
     "SELECT 'key ' || quote_literal(k.key) || ': body ' || k.body || ', Location ' || "
     "coalesce(k.location, 'none') || ' vs transfer ' || t.id || ' of ' || t.amount_cents || "
     "' from ' || f.account_number || ' (after ' || coalesce(o.balance_after_cents::text, '?') || "
     "') to ' || d.account_number || ' (after ' || coalesce(i.balance_after_cents::text, '?') || "
     "')' FROM idempotency_keys k JOIN transfers t ON t.id = k.transfer_id "
     "JOIN accounts f ON f.id = t.from_account_id JOIN accounts d ON d.id = t.to_account_id "
     "LEFT JOIN entries o ON o.transfer_id = t.id AND o.kind = 'transfer_out' "
     "LEFT JOIN entries i ON i.transfer_id = t.id AND i.kind = 'transfer_in' "
     "WHERE k.body IS NOT NULL AND (k.http_status <> 201 OR (k.body::jsonb ->> 'id') IS DISTINCT "
     "FROM t.id::text OR "
     "(k.body::jsonb ->> 'from') IS DISTINCT FROM f.account_number OR "
     "(k.body::jsonb ->> 'to') IS DISTINCT FROM d.account_number OR "
     "(k.body::jsonb ->> 'sum') IS DISTINCT FROM t.amount_cents::text OR "
     "(k.body::jsonb ->> 'from_balance') IS DISTINCT FROM o.balance_after_cents::text OR "
     "(k.body::jsonb ->> 'to_balance') IS DISTINCT FROM i.balance_after_cents::text OR "
     "k.location IS DISTINCT FROM '/api/transfers/' || t.id)"},
    {"a stored creation answer agrees with its account",
     "SELECT 'key ' || quote_literal(k.key) || ': status ' || k.http_status || ', body ' || "
     "k.body || ', Location ' || coalesce(k.location, 'none') || ' vs account ' || "
     "a.account_number FROM idempotency_keys k JOIN accounts a ON a.id = k.account_id "
     "WHERE k.body IS NOT NULL AND (k.http_status NOT IN (200, 201) OR (k.body::jsonb ->> "
     "'account_number') IS DISTINCT "
     "FROM a.account_number OR (k.body::jsonb ->> 'overdraft_limit') IS DISTINCT FROM "
     "a.overdraft_limit_cents::text OR (k.http_status = 201 AND k.location IS DISTINCT FROM "
     "'/api/accounts/' || a.account_number))"},
};

void ft_hold_account(const char *number) {
    ft_sql_exec("BEGIN", (const char *)NULL);
    ft_sql_exec("SELECT 1 FROM accounts WHERE account_number = $1 FOR UPDATE", number,
                (const char *)NULL);
}

void ft_release_account(void) {
    ft_sql_exec("COMMIT", (const char *)NULL);
}

/* A new connection each time: the harness's own may be inside the transaction that holds the
 * lock, with a frozen view. */
static int64_t lock_waiters(void) {
    return ft_sql_admin_int64("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND "
                              "wait_event_type = 'Lock' AND application_name <> 'mx_ft_harness'",
                              ft_db(), (const char *)NULL);
}

int ft_await_lock_waiters(int64_t count, double timeout_s) {
    double deadline = ft_now() + timeout_s;
    while (lock_waiters() < count) {
        if (ft_now() > deadline)
            return 0;
        ft_pause_ms(20);
    }
    return 1;
}

void ft_assert_ledger_invariants(void) {
    for (size_t i = 0; i < sizeof invariants / sizeof invariants[0]; i++) {
        PGresult *result = sql_run(invariants[i].sql, 0, NULL);
        int rows = PQntuples(result);
        if (rows == 0) {
            PQclear(result);
            continue;
        }
        char offenders[3000] = "";
        size_t used = 0;
        for (int row = 0; row < rows && row < 5 && used < sizeof offenders; row++)
            used += (size_t)snprintf(offenders + used, sizeof offenders - used, "\n  %s",
                                     PQgetvalue(result, row, 0));
        PQclear(result);
        harness_fail("ledger invariant broken: %s (%d offenders):%s", invariants[i].rule, rows,
                     offenders);
    }
}

/* ---- a slower mondux: under a wrapper (scripts/valgrind) ------------------------------------ */

double ft_timeout_scale(void) {
    const char *text = getenv("MX_TEST_TIMEOUT_SCALE");
    if (text == NULL || text[0] == '\0')
        return 1.0;
    char *end = NULL;
    double scale = strtod(text, &end);
    if (end == text || *end != '\0' || !(scale >= 1.0 && scale <= 100.0))
        ft_die("MX_TEST_TIMEOUT_SCALE must be a number from 1 to 100, not '%s'", text);
    return scale;
}

/* The first word of the wrapper as a path: itself when it has a '/', else found on PATH. */
static void find_program(const char *name, char *out, size_t size) {
    const char *path = getenv("PATH");
    if (strchr(name, '/') != NULL || path == NULL) {
        snprintf(out, size, "%s", name);
        return;
    }
    for (const char *dir = path; *dir != '\0';) {
        size_t length = strcspn(dir, ":");
        snprintf(out, size, "%.*s/%s", (int)length, dir, name);
        if (length > 0 && access(out, X_OK) == 0)
            return;
        dir += length;
        if (*dir == ':')
            dir++;
    }
    ft_die("MX_TEST_SERVER_WRAPPER: '%s' is not on PATH", name);
}

const char *const *ft_wrap_argv(const char *const *argv, const char **out) {
    /* The words live in a static copy of the variable, read afresh on each call (no threads). */
    static char words[4096], program[1024];
    const char *wrapper = getenv("MX_TEST_SERVER_WRAPPER");
    if (wrapper == NULL || wrapper[0] == '\0' || strcmp(argv[0], MX_BINARY) != 0)
        return argv;
    if (strlen(wrapper) >= sizeof words)
        ft_die("MX_TEST_SERVER_WRAPPER is too long");
    snprintf(words, sizeof words, "%s", wrapper);
    int count = 0;
    for (char *save = NULL, *word = strtok_r(words, " ", &save); word != NULL;
         word = strtok_r(NULL, " ", &save)) {
        if (count == FT_WRAPPED_ARGV_MAX - 1)
            ft_die("MX_TEST_SERVER_WRAPPER has too many words");
        out[count++] = word;
    }
    for (int i = 0; argv[i] != NULL; i++) {
        if (count == FT_WRAPPED_ARGV_MAX - 1)
            ft_die("MX_TEST_SERVER_WRAPPER and the arguments have too many words");
        out[count++] = argv[i];
    }
    out[count] = NULL;
    find_program(out[0], program, sizeof program);
    out[0] = program;
    return out;
}

/* ---- a PostgreSQL cluster of the suite's own ---------------------------------------------- */

#define FT_PG_CLUSTER MX_SOURCE_DIR "/scripts/lib/pg-cluster"

static struct ft_cluster own_cluster;
/* Every cluster made, for the removal at exit (the suite's own and the ones ft_cluster_up made). */
static struct ft_cluster *clusters[4];
static int cluster_count;

static void run_pg_cluster(struct ft_cluster *cluster, const char *command, const char *port) {
    const char *argv[] = {FT_PG_CLUSTER, command, cluster->dir, port, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 120);
    if (status != 0) {
        char message[2048];
        snprintf(message, sizeof message, "pg-cluster %s %s failed (%d): %.1500s", command,
                 cluster->dir, status, err);
        free(out);
        free(err);
        if (getpid() == cluster->owner)
            ft_die("%s", message);
        ck_abort_msg("%s", message);
    }
    free(out);
    free(err);
}

void ft_cluster_run(struct ft_cluster *cluster, const char *command) {
    run_pg_cluster(cluster, command, NULL);
}

void ft_own_cluster(const char *command) {
    run_pg_cluster(&own_cluster, command, NULL);
}

static void clusters_down_at_exit(void) {
    for (int i = 0; i < cluster_count; i++) {
        struct ft_cluster *cluster = clusters[i];
        if (cluster->dir[0] == '\0' || getpid() != cluster->owner)
            continue;
        const char *argv[] = {FT_PG_CLUSTER, "down", cluster->dir, NULL};
        char *out = NULL, *err = NULL;
        if (ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 120) != 0)
            fprintf(stderr, "pg-cluster down %s failed: %s", cluster->dir, err);
        free(out);
        free(err);
        cluster->dir[0] = '\0';
    }
}

/* A temp dir and a free port for cluster, owned by this process and removed at its exit. */
static void cluster_make(struct ft_cluster *cluster) {
    if (cluster_count == (int)(sizeof clusters / sizeof clusters[0]))
        ft_die("too many clusters of the suite's own");
    snprintf(cluster->dir, sizeof cluster->dir, "/tmp/mx_ft_pg_XXXXXX");
    if (mkdtemp(cluster->dir) == NULL)
        ft_die("mkdtemp failed");
    cluster->owner = getpid();
    if (cluster_count == 0)
        atexit(clusters_down_at_exit);
    clusters[cluster_count++] = cluster;
    snprintf(cluster->port, sizeof cluster->port, "%d", ft_free_port());
    snprintf(cluster->socket, sizeof cluster->socket, "%s/run", cluster->dir);
}

void ft_cluster_up(struct ft_cluster *cluster) {
    cluster_make(cluster);
    run_pg_cluster(cluster, "up", cluster->port);
}

int ft_free_port(void) {
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

void ft_init_with_own_cluster(const char *suite) {
    if (access(FT_PG_CLUSTER, X_OK) != 0)
        ft_die("%s is missing or not executable; the %s suite needs it to run its own "
               "PostgreSQL. Failing rather than skipping.",
               FT_PG_CLUSTER, suite);
    cluster_make(&own_cluster);
    ft_init_with_cluster(own_cluster.socket, own_cluster.port, "postgres");
    run_pg_cluster(&own_cluster, "up", own_cluster.port);
}

void ft_assert_config_refused(const char *assignment, const char *mention) {
    const char *argv[] = {MX_BINARY, NULL};
    const char *env[] = {assignment, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_DATABASE_URL, ft_db(), env, &out, &err, 20);
    ck_assert_msg(status == 2, "%s: exit status %d, not 2; stderr: '%s'", assignment, status, err);
    size_t length = strlen(err);
    ck_assert_msg(length > 1 && err[length - 1] == '\n' && strchr(err, '\n') == err + length - 1,
                  "%s: stderr is not exactly one line: '%s'", assignment, err);
    ck_assert_msg(mention == NULL || strstr(err, mention) != NULL,
                  "%s: stderr does not name %s: '%s'", assignment, mention, err);
    ck_assert_msg(strstr(err, FT_LISTENING_PREFIX) == NULL, "%s: it listened anyway", assignment);
    free(out);
    free(err);
}
