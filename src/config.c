#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mondux/money.h"

/* Every numeric variable, with its range: read by one function, printed by --help from here. */
enum number {
    N_PORT,
    N_API_DB_PORT,
    N_BODY_LIMIT,
    N_MAX_CONNECTIONS,
    N_URL_LIMIT,
    N_HEADER_LIMIT,
    N_IDLE_TIMEOUT,
    N_REQUEST_TIMEOUT,
    N_DB_WAIT,
    N_DB_CONNECTIONS,
    N_IDEMPOTENCY_TTL,
    N_IDEMPOTENCY_SWEEP,
    N_COUNT
};

_Static_assert(N_COUNT == MX_CONFIG_NUMBERS, "MX_CONFIG_NUMBERS counts the numeric variables");

struct number_spec {
    const char *name;
    unsigned long long min, max;
    unsigned long long fallback; /* unless the variable's help names another default */
};

static const struct number_spec numbers[N_COUNT] = {
    [N_PORT] = {"PORT", 0, 65535, 5000},
    [N_API_DB_PORT] = {"API_DB_PORT", 1, 65535, 5432},
    [N_BODY_LIMIT] = {"MX_BODY_LIMIT", 1, 64ULL << 20, 65536},
    [N_MAX_CONNECTIONS] = {"MX_MAX_CONNECTIONS", 1, 100000, 4096},
    [N_URL_LIMIT] = {"MX_URL_LIMIT", 256, 65536, 8192},
    [N_HEADER_LIMIT] = {"MX_HEADER_LIMIT", 1024, 65536, 16384},
    [N_IDLE_TIMEOUT] = {"MX_IDLE_TIMEOUT", 1, 3600, 30},
    [N_REQUEST_TIMEOUT] = {"MX_REQUEST_TIMEOUT", 1, 3600, 60},
    [N_DB_WAIT] = {"MX_DB_WAIT", 0, 3600, 30},
    [N_DB_CONNECTIONS] = {"MX_DB_CONNECTIONS", 1, 64, 2},
    [N_IDEMPOTENCY_TTL] = {"MX_IDEMPOTENCY_TTL", MX_IDEMPOTENCY_TTL_MIN, MX_IDEMPOTENCY_TTL_MAX,
                           MX_IDEMPOTENCY_TTL_MIN},
    [N_IDEMPOTENCY_SWEEP] = {"MX_IDEMPOTENCY_SWEEP", 0, 86400, 600},
};

/* Unset and empty mean the same: docker env files often carry empty values. */
static const char *env(const char *name) {
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

/* Reads every numeric variable into values; 0 with a reason for the first out of its range. */
static int load_numbers(unsigned long long values[N_COUNT], char *error, size_t error_size) {
    for (int i = 0; i < N_COUNT; i++) {
        const struct number_spec *spec = &numbers[i];
        const char *text = env(spec->name);
        uint64_t value = spec->fallback;
        if (text != NULL && (!mx_parse_decimal(text, spec->max, &value) || value < spec->min)) {
            snprintf(error, error_size, "%s must be a whole number from %llu to %llu, not \"%s\"",
                     spec->name, spec->min, spec->max, text);
            return 0;
        }
        values[i] = value;
    }
    return 1;
}

/* A host name as RFC 1123 allows: dot-separated labels of letters, digits and inner hyphens. */
static int is_host_name(const char *host) {
    size_t length = strlen(host), label = 0;
    if (length > 253)
        return 0;
    for (size_t i = 0; i <= length; i++) {
        char c = host[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || host[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int load_host(struct mx_config *config, char *error, size_t error_size) {
    const char *host = env("HOST") != NULL ? env("HOST") : "127.0.0.1";
    unsigned char address[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, address) != 1 && inet_pton(AF_INET6, host, address) != 1 &&
        !is_host_name(host)) {
        snprintf(error, error_size,
                 "HOST must be an IPv4 address, an IPv6 address (without brackets) or a host "
                 "name, not \"%s\"",
                 host);
        return 0;
    }
    config->http.host = host;
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
     * kernel's two hours: a batch in flight on it would otherwise wait that long for its answer. */
    add_param(db, "keepalives_idle", "15");
    add_param(db, "keepalives_interval", "5");
    add_param(db, "keepalives_count", "3");
    /* Data (or a connection request) unacknowledged for 4 s: the host is gone. This is also what
     * moves a connection on from a dead host to the next one of a multi-host DATABASE_URL well
     * within connect_timeout, which libpq does not apply on the event loop. */
    add_param(db, "tcp_user_timeout", "4000");

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
    config->log_level = MX_LOG_INFO;
    if (level != NULL && !mx_log_level_parse(level, &config->log_level)) {
        snprintf(error, error_size, "MX_LOG_LEVEL must be debug, info, warn or error, not \"%s\"",
                 level);
        return 0;
    }
    /* The access log is a line per request at info. */
    config->http.access_log = config->log_level <= MX_LOG_INFO;
    return 1;
}

/* MX_CURRENCY: three capital letters (whether the database knows them is checked once it is
 * reached). */
static int load_currency(struct mx_config *config, char *error, size_t error_size) {
    const char *code = env("MX_CURRENCY");
    config->currency = code != NULL ? code : "EUR";
    int ok = strlen(config->currency) == 3;
    for (int i = 0; ok && i < 3; i++)
        ok = config->currency[i] >= 'A' && config->currency[i] <= 'Z';
    if (!ok)
        snprintf(error, error_size,
                 "MX_CURRENCY must be an ISO 4217 code of three capital letters, e.g. EUR, not "
                 "\"%.16s\"",
                 config->currency);
    return ok;
}

int mx_config_load(struct mx_config *config, char *error, size_t error_size) {
    memset(config, 0, sizeof *config);
    unsigned long long *n = config->numbers;
    if (!load_numbers(n, error, error_size) || !load_host(config, error, error_size) ||
        !load_log_level(config, error, error_size) || !load_database(config, error, error_size) ||
        !load_api_keys(config, error, error_size) || !load_currency(config, error, error_size))
        return 0;
    config->http.port = (unsigned)n[N_PORT];
    config->http.body_limit = (size_t)n[N_BODY_LIMIT];
    config->http.max_connections = (unsigned)n[N_MAX_CONNECTIONS];
    config->http.url_limit = (size_t)n[N_URL_LIMIT];
    config->http.header_limit = (size_t)n[N_HEADER_LIMIT];
    config->http.idle_timeout = (unsigned)n[N_IDLE_TIMEOUT];
    config->http.request_timeout = (unsigned)n[N_REQUEST_TIMEOUT];
    config->http.api_keys = config->api_keys;
    config->http.currency = config->currency;
    config->db_wait_seconds = (unsigned)n[N_DB_WAIT];
    config->db_connections = (unsigned)n[N_DB_CONNECTIONS];
    config->idempotency_ttl_seconds = (unsigned)n[N_IDEMPOTENCY_TTL];
    config->idempotency_sweep_seconds = (unsigned)n[N_IDEMPOTENCY_SWEEP];
    return 1;
}

void mx_config_log(const struct mx_config *config) {
    if (!mx_log_enabled(MX_LOG_DEBUG))
        return;
    char line[1024];
    size_t used = (size_t)snprintf(line, sizeof line, "settings: HOST=%s", config->http.host);
    for (int i = 0; i < N_COUNT && used < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, " %s=%llu", numbers[i].name,
                                 config->numbers[i]);
    mx_log(MX_LOG_DEBUG, "%s; %zu API keys; database from %s", line,
           mx_api_keys_count(config->api_keys),
           env("DATABASE_URL") != NULL ? "DATABASE_URL" : "API_DB* and PG*");
}

void mx_config_free(struct mx_config *config) {
    mx_api_keys_free(config->api_keys);
    config->api_keys = NULL;
    config->http.api_keys = NULL;
}

/* One variable of --help: what it means, then its range and default, from the number table for a
 * numeric one. */
struct variable_help {
    const char *name;
    int number;           /* an enum number, or -1 */
    const char *fallback; /* the default in words; NULL: the number's own, or none */
    const char *meaning;  /* lines of at most 56 characters, each ending in \n */
};

static const struct variable_help variables[] = {
    {"PORT", N_PORT, NULL, "port to listen on; 0 picks a free one\n"},
    {"HOST", -1, "127.0.0.1", "address or host name to listen on (0.0.0.0: all of IPv4)\n"},
    {"DATABASE_URL", -1, NULL,
     "libpq connection string or URI, e.g.\n"
     "postgresql://user:pass@host:5432/db (multi-host allowed)\n"},
    {"API_DB", -1, NULL,
     "database name, used only when DATABASE_URL is unset\n"
     "(the original service's variables, as are the next\n"
     "four); anything unset falls back to libpq's PG*\n"
     "variables and defaults\n"},
    {"API_DB_USER", -1, NULL, "user\n"},
    {"API_DB_PASSWORD", -1, NULL, "password\n"},
    {"API_DB_HOST", -1, NULL, "host or socket directory\n"},
    {"API_DB_PORT", N_API_DB_PORT, "libpq's", "port\n"},
    {"MX_BODY_LIMIT", N_BODY_LIMIT, NULL, "largest request body in bytes; larger is 413\n"},
    {"MX_MAX_CONNECTIONS", N_MAX_CONNECTIONS, NULL, "open HTTP connections at once\n"},
    {"MX_URL_LIMIT", N_URL_LIMIT, NULL, "longest request URL in bytes; longer is 414\n"},
    {"MX_HEADER_LIMIT", N_HEADER_LIMIT, NULL,
     "request headers in bytes, all together; more is 431\n"},
    {"MX_IDLE_TIMEOUT", N_IDLE_TIMEOUT, NULL, "seconds a connection may stay silent\n"},
    {"MX_REQUEST_TIMEOUT", N_REQUEST_TIMEOUT, NULL,
     "seconds a request may take to arrive, headers and body,\n"
     "from its request line\n"},
    {"MX_API_KEYS", -1, NULL,
     "API keys \"id:secret[:scope],...\" (see mondux gen-key);\n"
     "when set, /api needs \"Authorization: Bearer <secret>\"\n"
     "(else 401); scope all (the default) or admin: all of /api;\n"
     "teller: all but freeze, unfreeze, close and PATCH; read:\n"
     "only GET and HEAD (else 403)\n"},
    {"MX_API_KEYS_FILE", -1, NULL, "a file of such keys, one per line (instead of MX_API_KEYS)\n"},
    {"MX_DB_WAIT", N_DB_WAIT, NULL, "seconds to wait for the database at start-up\n"},
    {"MX_CURRENCY", -1, "EUR",
     "the ISO 4217 currency of a new account that names none\n"
     "(the original routes' accounts among them)\n"},
    {"MX_DB_CONNECTIONS", N_DB_CONNECTIONS, NULL,
     "database connections: each loop turn's requests go out\n"
     "as one batch per kind, each batch on a free connection,\n"
     "so one commits while the next is sent\n"},
    {"MX_LOG_LEVEL", -1, "info",
     "debug, info, warn or error: the diagnostics on stderr of\n"
     "that level and the more severe ones, and at info and\n"
     "debug the access log on stdout; the listening line is\n"
     "printed at every level\n"},
    {"MX_IDEMPOTENCY_TTL", N_IDEMPOTENCY_TTL, NULL,
     "seconds an Idempotency-Key and its stored answer are kept\n"},
    {"MX_IDEMPOTENCY_SWEEP", N_IDEMPOTENCY_SWEEP, NULL,
     "seconds between deletions of expired keys; 0: none, when\n"
     "something outside the server deletes them\n"},
};

#define HELP_INDENT 23

void mx_config_print_variables(FILE *out) {
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
        const struct variable_help *v = &variables[i];
        fprintf(out, "  %-*s", HELP_INDENT - 2, v->name);
        for (const char *line = v->meaning; *line != '\0';) {
            size_t length = strcspn(line, "\n");
            fprintf(out, "%*s%.*s\n", line == v->meaning ? 0 : HELP_INDENT, "", (int)length, line);
            line += length + (line[length] == '\n');
        }
        const struct number_spec *spec = v->number >= 0 ? &numbers[v->number] : NULL;
        if (spec != NULL && v->fallback != NULL)
            fprintf(out, "%*s(%llu-%llu, default %s)\n", HELP_INDENT, "", spec->min, spec->max,
                    v->fallback);
        else if (spec != NULL)
            fprintf(out, "%*s(%llu-%llu, default %llu)\n", HELP_INDENT, "", spec->min, spec->max,
                    spec->fallback);
        else if (v->fallback != NULL)
            fprintf(out, "%*s(default %s)\n", HELP_INDENT, "", v->fallback);
    }
}
