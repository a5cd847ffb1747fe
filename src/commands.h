/* What the mondux executable does: serve (the default), or an operator's command. Each returns
 * the process's exit status. */
#ifndef MONDUX_COMMANDS_H
#define MONDUX_COMMANDS_H

#include "config.h"

#define MX_EXIT_RUNTIME 1 /* the database or the system failed us, or `check` found a fault */
#define MX_EXIT_CONFIG  2 /* invalid configuration or arguments */

/* Loads the configuration and applies its log level: 1, or 0 having said why (exit 2). */
int mx_command_config(struct mx_config *config);

/* Serves HTTP until SIGTERM or SIGINT (serve.c). */
int mx_serve(void);

/* Applies the migrations the database lacks, and exits. */
int mx_command_migrate(void);

/* Verifies the ledger: every balance the sum of its journal, every transfer two matching legs. */
int mx_command_check(void);

/* Prints a new API key "id:secret" for MX_API_KEYS, or "id:secret:scope" when scope is not NULL. */
int mx_command_gen_key(const char *id, const char *scope);

#endif
