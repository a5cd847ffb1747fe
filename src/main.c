/* mondux: serve (no arguments), or an operator's command; see usage below. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mondux/log.h"

static void print_help(FILE *out) {
    fputs("Usage: mondux [-h | --help] [-V | --version] [COMMAND]\n"
          "\n"
          "Mondu X: a bank-account ledger over HTTP/JSON, kept in PostgreSQL.\n"
          "Without a command it serves HTTP until SIGTERM or SIGINT.\n"
          "\n"
          "Commands:\n"
          "  migrate              apply the database schema the database lacks, and exit\n"
          "  check                verify that every balance is the sum of its journal and\n"
          "                       every transfer has its two legs; print a report and\n"
          "                       exit 1 if not, else a one-line summary\n"
          "  gen-key ID [SCOPE]   print a new API key ID:SECRET[:SCOPE] (a random secret)\n"
          "                       for MX_API_KEYS or MX_API_KEYS_FILE; SCOPE is all (the\n"
          "                       default) or admin: all of /api; teller: every GET,\n"
          "                       new accounts, deposits, withdrawals, transfers and\n"
          "                       holds; read: only GET and HEAD\n"
          "\n"
          "Configuration comes from the environment (empty means unset):\n"
          "\n",
          out);
    mx_config_print_variables(out);
    fputs("\n"
          "Exit status: 0 after SIGTERM/SIGINT (or a command that succeeded), 1 when the\n"
          "database or the system fails at start-up (or check finds a fault), 2 for invalid\n"
          "configuration or arguments, a HOST or PORT that cannot be listened on included.\n",
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
    if (argc == 2 && strcmp(command, "migrate") == 0)
        return mx_command_migrate();
    if (argc == 2 && strcmp(command, "check") == 0)
        return mx_command_check();
    if ((argc == 3 || argc == 4) && strcmp(command, "gen-key") == 0)
        return mx_command_gen_key(argv[2], argc == 4 ? argv[3] : NULL);
    if (strcmp(command, "gen-key") == 0 && argc == 2)
        mx_log(MX_LOG_ERROR, "gen-key needs an ID (try --help)");
    else if (strcmp(command, "gen-key") == 0)
        mx_log(MX_LOG_ERROR, "gen-key takes an ID and at most one SCOPE (try --help)");
    else
        mx_log(MX_LOG_ERROR, "unknown argument \"%s\" (try --help)", command);
    return MX_EXIT_CONFIG;
}
