/* The operator's commands: migrate, check, gen-key (commands.h). */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "mondux/embedded.h"
#include "mondux/log.h"
#include "mondux/store.h"

int mx_command_config(struct mx_config *config) {
    char error[256];
    if (!mx_config_load(config, error, sizeof error)) {
        mx_log(MX_LOG_ERROR, "%s", error);
        mx_config_free(config);
        return 0;
    }
    mx_log_set_level(config->log_level);
    mx_config_log(config);
    return 1;
}

/* The configuration and a store for a command that only talks to the database. */
static int open_store(struct mx_config *config) {
    if (!mx_command_config(config))
        return MX_EXIT_CONFIG;
    if (mx_store_init(&config->db) != MX_OK) {
        mx_log(MX_LOG_ERROR, "out of memory");
        mx_config_free(config);
        return MX_EXIT_RUNTIME;
    }
    return 0;
}

static int close_store(struct mx_config *config, int exit_code) {
    mx_store_shutdown();
    mx_config_free(config);
    return exit_code;
}

int mx_command_migrate(void) {
    struct mx_config config;
    int exit_code = open_store(&config);
    if (exit_code != 0)
        return exit_code;
    mx_status status = mx_store_migrate(config.db_wait_seconds, NULL);
    if (status == MX_OK)
        printf("mondux: the database schema is up to date (%u migrations)\n", mx_migrations_count);
    else
        mx_log(MX_LOG_ERROR, "%s",
               status == MX_UNAVAILABLE ? "cannot reach the database"
                                        : "cannot bring the database schema up to date");
    return close_store(&config, status == MX_OK ? 0 : MX_EXIT_RUNTIME);
}

static void print_fault(void *arg, const struct mx_check_fault *fault) {
    (void)arg;
    if (fault->transfer_id == 0)
        printf("account %s: balance %" PRId64 ", but its journal sums to %s\n", fault->account,
               fault->balance_cents, fault->journal_cents);
    else
        printf("transfer %" PRId64 " of %" PRId64 " from %s to %s: %" PRId64
               " journal entries, not its two legs\n",
               fault->transfer_id, fault->balance_cents, fault->account, fault->to, fault->legs);
}

int mx_command_check(void) {
    struct mx_config config;
    int exit_code = open_store(&config);
    if (exit_code != 0)
        return exit_code;
    struct mx_check_totals totals;
    mx_status status = mx_store_check(&totals, print_fault, NULL);
    if (status != MX_OK) {
        mx_log(MX_LOG_ERROR, "%s",
               status == MX_UNAVAILABLE ? "cannot reach the database"
                                        : "cannot read the ledger (has `mondux migrate` run?)");
        return close_store(&config, MX_EXIT_RUNTIME);
    }
    if (totals.bad_balances == 0 && totals.bad_transfers == 0) {
        printf("ok: %" PRId64 " accounts, each balance the sum of its journal (%" PRId64
               " entries); %" PRId64 " transfers, each with its two legs\n",
               totals.accounts, totals.entries, totals.transfers);
        return close_store(&config, 0);
    }
    printf("faults: %" PRId64 " of %" PRId64 " balances differ from their journals, %" PRId64
           " of %" PRId64 " transfers lack their two legs%s\n",
           totals.bad_balances, totals.accounts, totals.bad_transfers, totals.transfers,
           totals.bad_balances > MX_CHECK_REPORT_MAX || totals.bad_transfers > MX_CHECK_REPORT_MAX
               ? " (only the first 100 of each are listed)"
               : "");
    return close_store(&config, MX_EXIT_RUNTIME);
}

/* 256 random bits, as hex: within every rule a secret must keep. */
#define SECRET_BYTES 32

int mx_command_gen_key(const char *id, const char *scope) {
    if (!mx_api_key_id_is_valid(id, strlen(id))) {
        mx_log(MX_LOG_ERROR, "gen-key: ID must be 1 to %d of A-Z a-z 0-9 _ . -, not \"%s\"",
               MX_API_KEY_ID_MAX, id);
        return MX_EXIT_CONFIG;
    }
    if (scope != NULL && mx_api_scope_find(scope, strlen(scope)) == NULL) {
        char names[64];
        mx_api_scope_names(names, sizeof names);
        mx_log(MX_LOG_ERROR, "gen-key: SCOPE must be %s, not \"%.32s\"", names, scope);
        return MX_EXIT_CONFIG;
    }
    unsigned char random[SECRET_BYTES];
    size_t got = 0;
    while (got < sizeof random) {
        ssize_t n = getrandom(random + got, sizeof random - got, 0);
        if (n < 0 && errno != EINTR) {
            mx_log(MX_LOG_ERROR, "gen-key: getrandom: %s", strerror(errno));
            return MX_EXIT_RUNTIME;
        }
        got += n > 0 ? (size_t)n : 0;
    }
    char line[MX_API_KEY_ID_MAX + 1 + 2 * SECRET_BYTES + 1 + 32 + 1];
    int used = snprintf(line, sizeof line, "%s:", id);
    for (size_t i = 0; i < sizeof random; i++)
        used += snprintf(line + used, sizeof line - (size_t)used, "%02x", random[i]);
    if (scope != NULL)
        snprintf(line + used, sizeof line - (size_t)used, ":%s", scope);
    /* What MX_API_KEYS would make of it: never print a key the server would refuse. */
    struct mx_api_keys *keys = NULL;
    char reason[200];
    if (mx_api_keys_parse(line, &keys, reason, sizeof reason) != MX_OK) {
        mx_log(MX_LOG_ERROR, "gen-key: %s", reason);
        return MX_EXIT_RUNTIME;
    }
    mx_api_keys_free(keys);
    printf("%s\n", line);
    return 0;
}
