/* mondux: serve, or print the help or the version. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mondux/log.h"

static void print_help(FILE *out) {
    fputs("Usage: mondux [-h | --help] [-V | --version]\n"
          "\n"
          "Mondu X: a bank-account ledger over HTTP/JSON, kept in PostgreSQL.\n"
          "It serves HTTP until SIGTERM or SIGINT.\n"
          "\n"
          "Configuration comes from the environment (empty means unset):\n"
          "\n",
          out);
    mx_config_print_variables(out);
    fputs("\n"
          "Exit status: 0 after SIGTERM/SIGINT, 1 when the database or the system fails at\n"
          "start-up, 2 for invalid configuration or arguments, a HOST or PORT that cannot be\n"
          "listened on included.\n",
          out);
}

int main(int argc, char **argv) {
    /* A server started in the background of a script inherits SIGINT ignored; ignored, it would
     * never reach sigwait. Whatever the parent left, these two stop the process. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);

    const char *command = argc > 1 ? argv[1] : NULL;
    if (command == NULL)
        return mx_serve();
    if (argc == 2 && (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0)) {
        print_help(stdout);
        return 0;
    }
    if (argc == 2 && (strcmp(command, "-V") == 0 || strcmp(command, "--version") == 0)) {
        printf("mondux %s\n", MX_VERSION);
        return 0;
    }
    mx_log(MX_LOG_ERROR, "unknown argument \"%s\" (try --help)", command);
    return MX_EXIT_CONFIG;
}
