#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mondux/money.h"

/* Unset and empty mean the same: docker env files often carry empty values. */
static const char *env(const char *name) {
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* Reads an integer variable in [min, max]; 0 with a reason if it is not one. */
static int env_number(const char *name, unsigned long long fallback, unsigned long long min,
                      unsigned long long max, unsigned long long *out, char *error,
                      size_t error_size) {
    const char *text = env(name);
    uint64_t value = fallback;
    if (text != NULL && (!mx_parse_decimal(text, max, &value) || value < min)) {
        snprintf(error, error_size, "%s must be a whole number from %llu to %llu, not \"%s\"", name,
                 min, max, text);
        return 0;
    }
    *out = value;
    return 1;
}

static void add_param(struct mx_store_params *db, const char *keyword, const char *value) {
    int i = 0;
    while (db->keywords[i] != NULL)
        i++;
    if (value == NULL || i >= MX_STORE_MAX_PARAMS)
        return;
    db->keywords[i] = keyword;
    db->values[i] = value;
}

static int load_database(struct mx_config *config, char *error, size_t error_size) {
    struct mx_store_params *db = &config->db;
    memset(db, 0, sizeof *db);
    /* Defaults first: settings in DATABASE_URL override them. */
    add_param(db, "application_name", "mondux");
    add_param(db, "connect_timeout", "5");
    /* Over TCP, notice a database host that vanished within about half a minute rather than the
     * kernel's two hours: a request blocked on it would otherwise hold its worker thread. */
    add_param(db, "keepalives_idle", "15");
    add_param(db, "keepalives_interval", "5");
    add_param(db, "keepalives_count", "3");

    const char *url = env("DATABASE_URL");
    if (url != NULL) {
        char *reason = NULL;
        if (mx_store_check_conninfo(url, &reason) != MX_OK) {
            snprintf(error, error_size, "DATABASE_URL is not a valid connection string: %s",
                     reason != NULL ? reason : "unknown reason");
            free(reason);
            return 0;
        }
        add_param(db, "dbname", url);
        return 1;
    }
    /* The original's variables; whatever is unset falls back to libpq's PG* defaults. */
    unsigned long long port;
    if (!env_number("API_DB_PORT", 5432, 1, 65535, &port, error, error_size))
        return 0;
    add_param(db, "dbname", env("API_DB"));
    add_param(db, "user", env("API_DB_USER"));
    add_param(db, "password", env("API_DB_PASSWORD"));
    add_param(db, "host", env("API_DB_HOST"));
    add_param(db, "port", env("API_DB_PORT"));
    return 1;
}

/* The largest API key file we read: 64 keys of at most ~160 bytes, with room for comments. */
#define API_KEYS_FILE_MAX 65536

/* MX_API_KEYS holds the keys; MX_API_KEYS_FILE names a file that does (one per line), so they
 * need not sit in the environment, where `docker inspect` and /proc show them. */
static int load_api_keys(struct mx_config *config, char *error, size_t error_size) {
    const char *inline_keys = env("MX_API_KEYS");
    const char *path = env("MX_API_KEYS_FILE");
    if (inline_keys != NULL && path != NULL) {
        snprintf(error, error_size, "set MX_API_KEYS or MX_API_KEYS_FILE, not both");
        return 0;
    }
    if (inline_keys == NULL && path == NULL)
        return 1;
    char *text = NULL;
    if (path != NULL) {
        FILE *file = fopen(path, "r");
        text = file != NULL ? calloc(1, API_KEYS_FILE_MAX + 1) : NULL;
        size_t length = text != NULL ? fread(text, 1, API_KEYS_FILE_MAX + 1, file) : 0;
        int too_big = length > API_KEYS_FILE_MAX;
        int failed = file == NULL || text == NULL || ferror(file) || too_big;
        if (file != NULL)
            fclose(file);
        if (failed) {
            snprintf(error, error_size, "MX_API_KEYS_FILE %s cannot be read%s", path,
                     too_big ? " (larger than 64 KiB)" : "");
            free(text);
            return 0;
        }
        text[length] = '\0';
    }
    char reason[200];
    mx_status status = mx_api_keys_parse(text != NULL ? text : inline_keys, &config->api_keys,
                                         reason, sizeof reason);
    free(text);
    if (status != MX_OK) {
        snprintf(error, error_size, "%s: %s", path != NULL ? "MX_API_KEYS_FILE" : "MX_API_KEYS",
                 reason);
        return 0;
    }
    return 1;
}

static int load_log_level(struct mx_config *config, char *error, size_t error_size) {
    const char *level = env("MX_LOG_LEVEL");
    if (level == NULL || strcmp(level, "info") == 0 || strcmp(level, "debug") == 0) {
        config->http.access_log = 1;
        return 1;
    }
    if (strcmp(level, "warn") == 0 || strcmp(level, "error") == 0) {
        config->http.access_log = 0;
        return 1;
    }
    snprintf(error, error_size, "MX_LOG_LEVEL must be debug, info, warn or error, not \"%s\"",
             level);
    return 0;
}

/* HTTP threads never wait for the database, so one per core keeps every core busy without
 * threads taking turns (measured on 2 cores: balance reads at 64 connections 45k/s with 2
 * threads, 36k with 64). */
static unsigned long long default_threads(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : (cores > 256 ? 256 : (unsigned long long)cores);
}

int mx_config_load(struct mx_config *config, char *error, size_t error_size) {
    memset(config, 0, sizeof *config);
    unsigned long long port, threads, body_limit, max_connections, wait, ttl, sweep, url_limit,
        header_limit, idle_timeout, request_timeout, writers, readers, pool_size;
    if (!env_number("PORT", 5000, 0, 65535, &port, error, error_size) ||
        !env_number("MX_THREADS", default_threads(), 1, 256, &threads, error, error_size) ||
        !env_number("MX_BODY_LIMIT", 65536, 1, 64ULL << 20, &body_limit, error, error_size) ||
        !env_number("MX_MAX_CONNECTIONS", 4096, 1, 100000, &max_connections, error, error_size) ||
        !env_number("MX_URL_LIMIT", 8192, 256, 65536, &url_limit, error, error_size) ||
        !env_number("MX_HEADER_LIMIT", 16384, 1024, 65536, &header_limit, error, error_size) ||
        !env_number("MX_IDLE_TIMEOUT", 30, 1, 3600, &idle_timeout, error, error_size) ||
        !env_number("MX_REQUEST_TIMEOUT", 60, 1, 3600, &request_timeout, error, error_size) ||
        !env_number("MX_DB_WAIT", 30, 0, 3600, &wait, error, error_size) ||
        !env_number("MX_DB_CONNECTIONS", 16, 1, 1000, &pool_size, error, error_size) ||
        !env_number("MX_DB_WRITERS", 1, 0, 8, &writers, error, error_size) ||
        !env_number("MX_DB_READERS", 1, 0, 8, &readers, error, error_size) ||
        !env_number("MX_IDEMPOTENCY_TTL", MX_IDEMPOTENCY_TTL_MIN, MX_IDEMPOTENCY_TTL_MIN,
                    MX_IDEMPOTENCY_TTL_MAX, &ttl, error, error_size) ||
        !env_number("MX_IDEMPOTENCY_SWEEP", 600, 0, 86400, &sweep, error, error_size) ||
        !load_log_level(config, error, error_size) || !load_database(config, error, error_size) ||
        !load_api_keys(config, error, error_size))
        return 0;
    config->http.host = env("HOST") != NULL ? env("HOST") : "127.0.0.1";
    config->http.port = (unsigned)port;
    config->http.threads = (unsigned)threads;
    /* A waiting request needs a database connection: more workers than that would only queue. */
    config->http.workers = (unsigned)pool_size;
    config->http.body_limit = (size_t)body_limit;
    config->http.max_connections = (unsigned)max_connections;
    config->http.url_limit = (size_t)url_limit;
    config->http.header_limit = (size_t)header_limit;
    config->http.idle_timeout = (unsigned)idle_timeout;
    config->http.request_timeout = (unsigned)request_timeout;
    config->http.api_keys = config->api_keys;
    config->db_wait_seconds = (unsigned)wait;
    config->db.pool_size = (unsigned)pool_size;
    config->db_writers = (unsigned)writers;
    config->db_readers = (unsigned)readers;
    config->idempotency_ttl_seconds = (unsigned)ttl;
    config->idempotency_sweep_seconds = (unsigned)sweep;
    return 1;
}

void mx_config_free(struct mx_config *config) {
    mx_api_keys_free(config->api_keys);
    config->api_keys = NULL;
    config->http.api_keys = NULL;
}

void mx_config_print_help(FILE *out) {
    fputs("Usage: mondux [--help | --version]\n"
          "\n"
          "Mondu X: a bank-account ledger over HTTP/JSON, kept in PostgreSQL.\n"
          "Configuration comes from the environment (empty means unset):\n"
          "\n"
          "  PORT                port to listen on; 0 picks a free one     (default 5000)\n"
          "  HOST                address to listen on                      (default 127.0.0.1)\n"
          "  DATABASE_URL        libpq connection string or URI, e.g.\n"
          "                      postgresql://user:pass@host:5432/db (multi-host allowed)\n"
          "  API_DB              database name      } used only when DATABASE_URL is unset\n"
          "  API_DB_USER         user               } (the original service's variables);\n"
          "  API_DB_PASSWORD     password           } anything unset falls back to libpq's\n"
          "  API_DB_HOST         host or socket dir } PG* variables and defaults\n"
          "  API_DB_PORT         port               }\n"
          "  MX_THREADS          threads serving HTTP connections, 1-256 (default: one per\n"
          "                      CPU core)\n"
          "  MX_BODY_LIMIT       largest request body in bytes; larger is 413 (default 65536)\n"
          "  MX_MAX_CONNECTIONS  open HTTP connections at once              (default 4096)\n"
          "  MX_URL_LIMIT        longest request URL in bytes; longer is 414 (default 8192)\n"
          "  MX_HEADER_LIMIT     request headers in bytes, all together; more is 431\n"
          "                      (default 16384)\n"
          "  MX_IDLE_TIMEOUT     seconds a connection may stay silent       (default 30)\n"
          "  MX_REQUEST_TIMEOUT  seconds a request may take to arrive, headers and body,\n"
          "                      from its request line (default 60)\n"
          "  MX_API_KEYS         API keys \"id:secret,...\"; when set, /api needs\n"
          "                      \"Authorization: Bearer <secret>\" (401 otherwise)\n"
          "  MX_API_KEYS_FILE    a file of such keys, one per line (instead of MX_API_KEYS)\n"
          "  MX_DB_WAIT          seconds to wait for the database at start-up (default 30)\n"
          "  MX_DB_CONNECTIONS   database connections for the requests that wait for one\n"
          "                      (transfers, history, creations, Idempotency-Keys), each\n"
          "                      on a thread of its own, 1-1000; the server opens at most\n"
          "                      this many plus one per writer and reader (default 16)\n"
          "  MX_DB_WRITERS       connections sending deposits and withdrawals in batches\n"
          "                      (group commit), 0-8; 0: each request its own (default 1)\n"
          "  MX_DB_READERS       connections sending account reads in batches, 0-8 (default 1)\n"
          "  MX_LOG_LEVEL        debug|info: access log on stdout; warn|error: none\n"
          "                      (default info)\n"
          "  MX_IDEMPOTENCY_TTL  seconds an Idempotency-Key and its stored answer are kept,\n"
          "                      at least 86400 (default 86400)\n"
          "  MX_IDEMPOTENCY_SWEEP seconds between deletions of expired keys; 0: none, when\n"
          "                      something outside the server deletes them (default 600)\n"
          "\n"
          "Exit status: 0 after SIGTERM/SIGINT, 1 when the database or the port is unusable\n"
          "at start-up, 2 for invalid configuration.\n",
          out);
}
