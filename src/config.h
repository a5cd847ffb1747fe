/* Configuration from the environment (12-factor); `mondux --help` prints the same table. */
#ifndef MONDUX_CONFIG_H
#define MONDUX_CONFIG_H

#include <stdio.h>

#include "mondux/http.h"
#include "mondux/log.h"
#include "mondux/store.h"

/* How many numeric variables there are (config.c has their table). */
#define MX_CONFIG_NUMBERS 12

struct mx_config {
    struct mx_http_config http;
    struct mx_store_params db; /* values borrowed from the environment */
    unsigned db_wait_seconds;
    unsigned db_connections;            /* the event loop's connections to the database */
    unsigned idempotency_ttl_seconds;   /* stored answers are kept at least this long */
    unsigned idempotency_sweep_seconds; /* between clean-ups; 0: no clean-up in the server */
    struct mx_api_keys *api_keys;       /* new, or NULL when none are configured */
    enum mx_log_level log_level;
    const char *currency;                          /* borrowed: MX_CURRENCY, or "EUR" */
    unsigned long long numbers[MX_CONFIG_NUMBERS]; /* every numeric variable as read, for the log */
};

/* Keys are kept at least a day (the Idempotency-Key contract), and at most a year. */
#define MX_IDEMPOTENCY_TTL_MIN 86400ULL
#define MX_IDEMPOTENCY_TTL_MAX (366ULL * 86400ULL)

/* Reads the environment into config, checking every variable: numbers against their ranges, HOST
 * for the shape of an address or a name (whether it resolves and can be bound is known once
 * mx_http_listen tried). 1 on success; 0 with a one-line reason in error. The config borrows
 * strings from the environment, so it must not change while config is used; the API keys it
 * parsed are its own (mx_config_free). */
int mx_config_load(struct mx_config *config, char *error, size_t error_size);

/* Logs the settings in use (never a secret) at debug level. */
void mx_config_log(const struct mx_config *config);

/* Releases what mx_config_load allocated. */
void mx_config_free(struct mx_config *config);

/* The variables, their ranges and defaults: the "Configuration" part of --help. */
void mx_config_print_variables(FILE *out);

#endif
