/* What the mondux executable does. Each returns the process's exit status. */
#ifndef MONDUX_COMMANDS_H
#define MONDUX_COMMANDS_H

#include "config.h"

#define MX_EXIT_RUNTIME 1 /* the database or the system failed us */
#define MX_EXIT_CONFIG  2 /* invalid configuration or arguments */

/* Loads the configuration and applies its log level: 1, or 0 having said why (exit 2). */
int mx_command_config(struct mx_config *config);

/* Serves HTTP until SIGTERM or SIGINT (serve.c). */
int mx_serve(void);

#endif
