/* The functional-test harness: a fresh database, the real mondux binary on an ephemeral port, an
 * HTTP client (libcurl), JSON (jansson) and SQL (libpq) helpers for assertions.
 *
 * Process model. Each suite is one executable. Its main() creates a fresh database and starts the
 * shared mondux, then Check runs every test case in a forked child (CK_FORK), so a test may start
 * its own servers and threads freely. After the run, main() stops mondux with SIGTERM and fails
 * the executable unless mondux exited with status 0 (under AddressSanitizer a leak makes it
 * non-zero), then drops the database.
 *
 * Functions marked "asserting" report failures with Check's ck_assert inside a test and with a
 * message and exit(1) outside one. Returned pointers are *new* unless said otherwise. None of this
 * is thread-safe except ft_http_on() with a handle per thread and the ft_response functions. */
#ifndef MX_FT_HARNESS_H
#define MX_FT_HARNESS_H

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FT_MAX_SAFE_CENTS   INT64_C(9007199254740991) /* 2^53 - 1, api.md */
#define FT_ACCOUNT_SIZE     64                        /* room for any account number we handle */
#define FT_TEST_TIMEOUT_S   90.0
#define FT_READY_TIMEOUT_S  30
#define FT_STOP_TIMEOUT_S   30
#define FT_LISTENING_PREFIX "mondux: listening on http://127.0.0.1:"

/* Adds a test case named after its rule, holding the one test of that name. */
#define FT_ADD_TEST(suite, name)                                                                   \
    do {                                                                                           \
        TCase *ft_tc_ = tcase_create(#name);                                                       \
        tcase_set_timeout(ft_tc_, FT_TEST_TIMEOUT_S);                                              \
        tcase_add_test(ft_tc_, name);                                                              \
        suite_add_tcase((suite), ft_tc_);                                                          \
    } while (0)

/* How a server is told where its database is. */
enum ft_db_config {
    FT_DATABASE_URL,     /* DATABASE_URL=<keyword/value conninfo> */
    FT_DATABASE_URL_URI, /* DATABASE_URL=postgresql://... */
    FT_API_DB_VARS,      /* API_DB, API_DB_USER, API_DB_HOST, API_DB_PORT (original service) */
    FT_NO_DB_CONFIG      /* neither: the caller's env says everything */
};

/* ---- the run ----------------------------------------------------------------------------- */

/* Reads MX_TEST_PGHOST/PGPORT/PGUSER (exits with a clear message when one is missing), and
 * initialises libcurl. Call first. */
void ft_init(void);

/* Like ft_init, but for a suite that brings its own PostgreSQL: host is a socket directory. */
void ft_init_with_cluster(const char *host, const char *port, const char *user);

/* Runs the suite (the runner takes ownership of it); returns the number of failed tests. */
int ft_run_suite(Suite *suite);

/* The usual main(): ft_init (unless done), a fresh database made current, the shared server
 * configured as how (plus server_env) when with_server, the suite, then SIGTERM to the server --
 * failing unless it exits 0 -- and the database dropped. Returns main's exit status. */
int ft_main(Suite *suite, int with_server, enum ft_db_config how, const char *const *server_env);

/* Kills any server this process started and left running. In the suite's main process it also
 * drops every database and removes every temp dir of the run: a test that fails leaves through
 * _exit(), so what it made is cleaned up here. Registered with atexit by ft_init. */
void ft_cleanup(void);

/* Prints a message to stderr and exits 1; for main(), outside tests. */
void ft_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- databases --------------------------------------------------------------------------- */

/* Creates a fresh database "mx_ft_<pid of main>_<random>" and writes its name into name_out. The
 * main process's ft_cleanup drops it if nobody did before. Asserting. */
void ft_db_create(char *name_out, size_t size);

/* Drops a database, disconnecting whoever is still in it. Asserting. */
void ft_db_drop(const char *name);

/* The database of the shared server (borrowed); "" before ft_use_db. */
const char *ft_db(void);

/* Makes name the database ft_sql_* talk to (copied). */
void ft_use_db(const char *name);

/* libpq connection parameters of the cluster under test (borrowed). */
const char *ft_pg_host(void);
const char *ft_pg_port(void);
const char *ft_pg_user(void);

/* A keyword/value conninfo ("host=... port=... user=... dbname=...") for dbname, into out. */
void ft_conninfo(const char *dbname, char *out, size_t size);

/* A postgresql:// URI for dbname, into out. */
void ft_conninfo_uri(const char *dbname, char *out, size_t size);

/* Runs sql on the current database with text parameters (a NULL-terminated list) and returns
 * the first column of the first row as an integer (NULL counts as 0). Asserting. */
int64_t ft_sql_int64(const char *sql, ...) __attribute__((sentinel));

/* Like ft_sql_int64 but the value as text, in a static buffer (overwritten by the next call);
 * "" for NULL. */
const char *ft_sql_text(const char *sql, ...) __attribute__((sentinel));

/* Runs sql on the current database (or on "postgres" with ft_sql_admin_exec); the
 * parameter list is NULL-terminated. Asserting. */
void ft_sql_exec(const char *sql, ...) __attribute__((sentinel));
void ft_sql_admin_exec(const char *sql, ...) __attribute__((sentinel));

/* Like ft_sql_int64, on the "postgres" database over a new connection (sees no transaction of
 * the current one). */
int64_t ft_sql_admin_int64(const char *sql, ...) __attribute__((sentinel));

/* Ends every database session of the service on the current database (pg_terminate_backend,
 * as a crashed or restarted server would); how many there were. */
int64_t ft_end_service_sessions(void);

/* Runs sql like ft_sql_exec but does not assert: returns 0 when it succeeded, else -1 with the
 * SQLSTATE (5 characters, "" if none) in sqlstate. For statements the database must refuse. */
int ft_sql_try(char sqlstate[6], const char *sql, ...) __attribute__((sentinel));

/* Closes this process's cached connection to the current database (e.g. before a restart). */
void ft_sql_disconnect(void);

/* ---- servers ----------------------------------------------------------------------------- */

struct ft_server {
    pid_t pid;
    int port;
    int exit_status; /* waitpid status once reaped, else -1 */
    char dir[64];    /* temp dir holding the logs */
    char out_path[96];
    char err_path[96];
    char base_url[64]; /* "http://127.0.0.1:<port>" */
};

/* Starts mondux configured for dbname as how says, plus env (a NULL-terminated list of
 * "NAME=value" strings, which may override anything; may be NULL). Every other configuration
 * variable is removed from its environment. stdout and stderr go to files in a temp dir. Does not
 * wait: see ft_server_await. Asserting. */
struct ft_server *ft_server_spawn(enum ft_db_config how, const char *dbname,
                                  const char *const *env);

/* Waits (bounded) for the listening line and parses the port. Asserting. */
void ft_server_await(struct ft_server *server);

/* ft_server_spawn + ft_server_await. */
struct ft_server *ft_server_start(enum ft_db_config how, const char *dbname,
                                  const char *const *env);

/* Sends SIGTERM and waits (bounded) for the exit; SIGKILL after the deadline. Returns the exit
 * status (0..255), or -1 for a signal or a timeout; prints the server's stderr when it is not 0.
 * Frees server and its temp dir. */
int ft_server_stop(struct ft_server *server);

/* Waits (bounded) for a server that is exiting on its own; same result as ft_server_stop. When
 * out/err are not NULL they get the whole stdout/stderr of the server (free() them). */
int ft_server_wait_exit(struct ft_server *server, int timeout_s, char **out, char **err);

/* The number of migrations in db/migrations of the source tree. */
int ft_migration_count(void);

/* The server's stderr so far, NUL-terminated; free() it. */
char *ft_server_stderr(const struct ft_server *server);

/* The server the suite's tests talk to by default (borrowed), and its URL. */
void ft_set_default_server(struct ft_server *server);
struct ft_server *ft_default_server(void);

/* Runs argv (argv[0] a path) with env changes like ft_server_spawn, waits (bounded) and collects
 * its stdout and stderr. Returns the exit status, or -1 for a signal or a timeout. */
int ft_run_program(const char *const *argv, enum ft_db_config how, const char *dbname,
                   const char *const *env, char **out, char **err, int timeout_s);

/* ---- HTTP ---------------------------------------------------------------------------------- */

struct ft_response {
    long status; /* 0 when the request failed at the transport level, see curl_error */
    char *headers;
    char *body; /* NUL-terminated */
    size_t body_size;
    json_t *json; /* the body parsed, or NULL when it is not JSON */
    char curl_error[CURL_ERROR_SIZE];
    char what[160]; /* "METHOD path", for messages */
};

/* Sends method path (e.g. "/api/accounts/1/balance?x=1") to the default server, with body
 * (NULL for none) sent as application/json. HEAD is sent as a real HEAD (no body awaited). */
struct ft_response *ft_http(const char *method, const char *path, const char *body);

/* Like ft_http, plus request headers: a NULL-terminated list (may be NULL) of header lines sent
 * as given, in order ("Name: value"; curl's "Name;" sends the header with an empty value; the
 * same name twice sends it twice; a Content-Type here replaces application/json). Borrowed:
 * nothing is kept after the call. */
struct ft_response *ft_http_with_headers(const char *method, const char *path, const char *body,
                                         const char *const *headers);

/* Like ft_http with an "Idempotency-Key: key" header (none when key is NULL). */
struct ft_response *ft_http_keyed(const char *method, const char *path, const char *body,
                                  const char *key);

/* Same as ft_http, with a given curl handle (kept across requests, so one per thread) and base
 * URL, and a body of body_size bytes. Thread-safe when each thread has its own handle. Returns
 * NULL only when out of memory; never asserts. */
struct ft_response *ft_http_on(CURL *curl, const char *base_url, const char *method,
                               const char *path, const char *body, size_t body_size);

/* ft_http_on plus request headers as in ft_http_with_headers. Thread-safe like ft_http_on. */
struct ft_response *ft_http_on_with_headers(CURL *curl, const char *base_url, const char *method,
                                            const char *path, const char *body, size_t body_size,
                                            const char *const *headers);

/* Like ft_http, but sends again while the answer is 503 (which changes nothing), for up to
 * timeout_s seconds: for the moments after an outage, when the service may still be backing off
 * before it reconnects. Returns the last response. */
struct ft_response *ft_http_after_outage(const char *method, const char *path, const char *body,
                                         int timeout_s);

void ft_response_free(struct ft_response *response);

/* The value of a response header (case-insensitive name), copied into out; NULL when absent. */
const char *ft_header(const struct ft_response *response, const char *name, char *out, size_t size);

/* The "code" of an error body (borrowed), "" when there is none. Thread-safe. */
const char *ft_code(const struct ft_response *response);

/* 1 when the response carries "Idempotent-Replayed: true". Thread-safe. */
int ft_is_replayed(const struct ft_response *response);

/* 1 when the response is api.md's 503 with this code ("unavailable", "outcome_unknown") and a
 * non-empty Retry-After header. Thread-safe. */
int ft_is_503(const struct ft_response *response, const char *code);

/* ---- a request on a thread of its own ------------------------------------------------------ */

struct ft_call; /* opaque */

/* Sends method path body (with "Idempotency-Key: key" unless key is NULL) to the default server
 * from a new thread, so that the test can act while the request waits (hold a lock, signal the
 * server). Everything is copied. Asserting. */
struct ft_call *ft_call_start(const char *method, const char *path, const char *body,
                              const char *key);

/* 1 once the call has its answer (or a transport error). */
int ft_call_done(const struct ft_call *call);

/* Waits (bounded by timeout_s, times ft_timeout_scale) for the answer; 1 when it came. */
int ft_call_await(const struct ft_call *call, double timeout_s);

/* Waits for the thread (without a bound: release whatever the request waits for first), frees
 * call, and returns its response (new). Asserting. */
struct ft_response *ft_call_finish(struct ft_call *call);

/* ---- assertions on responses ------------------------------------------------------------- */

/* Asserts the status code. */
void ft_assert_status(const struct ft_response *response, long status);

/* Asserts Content-Type application/json and a JSON object body that ends with a newline. */
void ft_assert_json(const struct ft_response *response);

/* Asserts an api.md error: status, JSON, "code" == code, "error" a non-empty string, equal to
 * message unless that is NULL. */
void ft_assert_error(const struct ft_response *response, long status, const char *code,
                     const char *message);

/* Asserts an error's "field" member: the string field, or no such member when field is NULL. */
void ft_assert_error_field(const struct ft_response *response, const char *field);

/* Sends method path body (with an Idempotency-Key unless key is NULL) and asserts the answer is
 * that error, as ft_assert_error. */
void ft_expect_error(const char *method, const char *path, const char *body, const char *key,
                     long status, const char *code, const char *message);

/* Asserts that replay is the stored answer of first given again: the same status, the same
 * body byte for byte, the same Location (or none in both), and "Idempotent-Replayed: true" on
 * replay. Also asserts that first itself carries no Idempotent-Replayed header. */
void ft_assert_replay_of(const struct ft_response *first, const struct ft_response *replay);

/* Asserts that response carries no Idempotent-Replayed header (a first answer). */
void ft_assert_not_replayed(const struct ft_response *response);

/* The integer field name of the JSON body; asserting that it is an integer. */
int64_t ft_json_int(const struct ft_response *response, const char *name);

/* The string field name of the JSON body (borrowed from response); asserting. */
const char *ft_json_str(const struct ft_response *response, const char *name);

/* ---- the bank, through the API --------------------------------------------------------- */

/* POST /api/accounts on the default server; asserts 201 and writes the number. */
void ft_create_account(char number[FT_ACCOUNT_SIZE]);

/* PUT /api/accounts/<n>/<op>?sum=<sum>; asserts 200 and returns the balance. op is "deposit" or
 * "withdraw". */
int64_t ft_move(const char *number, const char *op, int64_t sum);

/* GET /api/accounts/<n>/balance; asserts 200. */
int64_t ft_balance(const char *number);

/* POST /api/accounts {"overdraft_limit": limit}; asserts 201, that the answer shows the limit,
 * and writes the number. */
void ft_create_account_with_overdraft(char number[FT_ACCOUNT_SIZE], int64_t overdraft_limit_cents);

/* POST /api/transfers {"from", "to", "sum"}; asserts 201 and returns the transfer's id. */
int64_t ft_transfer(const char *from, const char *to, int64_t sum);

/* ---- the bank, through SQL ----------------------------------------------------------------- */

struct ft_snapshot {
    int64_t balance_cents; /* of the account; -1 if it does not exist */
    int64_t entries;       /* of the account */
    int64_t accounts;      /* in the database */
    int64_t all_entries;   /* in the database */
    int64_t total_cents;   /* sum of all balances */
};

/* What the database holds about number (may be NULL) and overall. */
struct ft_snapshot ft_snapshot(const char *number);

/* Asserts that nothing changed since before. */
void ft_assert_unchanged(const struct ft_snapshot *before, const char *number);

/* Asserts the ledger's invariants over the whole current database (the contract's "Database"
 * section), reporting the first offenders of a broken one:
 * - every account's balance is the sum of its journal, and within -overdraft_limit..2^53-1;
 * - every entry's balance_after is the running sum of its account's journal, and its kind, the
 *   sign of its amount and its transfer_id agree;
 * - every transfer has exactly two legs, transfer_out of -sum on "from" and transfer_in of +sum on
 *   "to", and all legs together sum to zero;
 * - every stored idempotent outcome is a 2xx referencing exactly one effect, or a 404/409 refusal
 *   referencing none; no effect is referenced by two keys; and each stored 2xx body (and
 *   Location) agrees with the journal it references.
 * Run it when no request is in flight (at the end of concurrent tests). */
void ft_assert_ledger_invariants(void);

/* An account number that passes nothing: the same length as number with one digit changed. */
void ft_mistype(const char *number, char out[FT_ACCOUNT_SIZE]);

/* Locks number's row in a transaction of the harness's connection (BEGIN ... FOR UPDATE), so that
 * whatever the service does with that account waits; ft_release_account commits. */
void ft_hold_account(const char *number);
void ft_release_account(void);

/* Waits (bounded by timeout_s) until at least count of the service's database sessions in ft_db()
 * wait for a lock; 1 when they do, 0 at the deadline. */
int ft_await_lock_waiters(int64_t count, double timeout_s);

/* ---- time ---------------------------------------------------------------------------------- */

/* 1 if text (may be NULL) is a timestamp as the API writes them: "YYYY-MM-DDTHH:MM:SSZ". */
int ft_is_timestamp(const char *text);

/* Monotonic seconds. */
double ft_now(void);

/* Sleeps ms milliseconds; only ever used between polls of a bounded wait. */
void ft_pause_ms(long ms);

/* ---- a slower mondux: under a wrapper (scripts/valgrind) ---------------------------------- */

/* MX_TEST_TIMEOUT_SCALE (a number from 1 to 100, default 1): every wait of the harness for a
 * server -- start-up, exit, an HTTP answer, ft_http_after_outage, ft_run_program -- is that many
 * times longer, for a mondux slowed down by a wrapper. Check's own per-test timeout has
 * CK_TIMEOUT_MULTIPLIER for the same purpose. */
double ft_timeout_scale(void);

#define FT_WRAPPED_ARGV_MAX 64

/* MX_TEST_SERVER_WRAPPER: a command prefix, split on spaces (no quoting), run in front of mondux
 * wherever the harness starts it (ft_server_spawn, and ft_run_program when argv[0] is MX_BINARY),
 * e.g. "valgrind --error-exitcode=99 --leak-check=full". Its first word may be a path or a name
 * on PATH. Returns argv itself when the variable is unset or empty or argv[0] is something else;
 * otherwise out (of FT_WRAPPED_ARGV_MAX entries), filled with the wrapper's words, then argv,
 * then NULL, pointing into static storage valid until the next call. Not thread-safe. */
const char *const *ft_wrap_argv(const char *const *argv, const char **out);

/* ---- a PostgreSQL cluster of the suite's own (for suites that stop and start it) ----------- */

/* Instead of ft_init: starts a fresh cluster (scripts/lib/pg-cluster up) in a temp dir on a free
 * loopback port, and makes it the one the suite uses. The main process removes it at exit. Exits
 * with a message (failing, not skipping) when pg-cluster is missing or fails. */
void ft_init_with_own_cluster(const char *suite);

/* Runs "pg-cluster <command> <dir>" on that cluster, e.g. "stop" or "start". Asserting. */
void ft_own_cluster(const char *command);

/* Another cluster of the suite's own (a second server for a failover, say). */
struct ft_cluster {
    char dir[64];
    char port[16];
    char socket[96]; /* its socket directory: the host to connect to */
    pid_t owner;     /* the process that made it, which removes it at exit */
};

/* Makes and starts one like ft_init_with_own_cluster's, from the suite's main process (before
 * ft_main: a test's process ends without its atexit when an assertion fails). Fatal on failure. */
void ft_cluster_up(struct ft_cluster *cluster);

/* Runs "pg-cluster <command> <dir>" on it: asserting inside a test, fatal outside. */
void ft_cluster_run(struct ft_cluster *cluster, const char *command);

/* ---- configuration ------------------------------------------------------------------------ */

/* Runs mondux with one environment assignment (e.g. "PORT=abc") on top of a valid database
 * configuration and asserts it is refused as configuration: exit status 2, exactly one line on
 * stderr (containing mention, unless that is NULL), and no listening. Asserting. */
void ft_assert_config_refused(const char *assignment, const char *mention);

/* A loopback TCP port nobody listens on right now. */
int ft_free_port(void);

#endif
