/* What every command does first (commands.h). */
#include "commands.h"

#include "mondux/log.h"

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
