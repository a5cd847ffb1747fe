/* The operator's commands: `mondux migrate`, `mondux check` and `mondux gen-key`, run as an
 * operator runs them, against a database of their own. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int count_lines(const char *text) {
    int lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

/* Runs `mondux <command> [argument]` configured for dbname (NULL: env says everything). */
static int run_command(const char *command, const char *argument, const char *dbname,
                       const char *const *env, char **out, char **err) {
    const char *argv[] = {MX_BINARY, command, argument, NULL};
    return ft_run_program(argv, dbname != NULL ? FT_DATABASE_URL : FT_NO_DB_CONFIG, dbname, env,
                          out, err, 30);
}

static const char *const unreachable[] = {
    "DATABASE_URL=host=127.0.0.1 port=1 user=nobody dbname=nothing", "MX_DB_WAIT=0", NULL};

START_TEST(help_lists_the_commands) {
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(run_command("--help", NULL, NULL, NULL, &out, &err), 0);
    const char *commands[] = {"  migrate ", "  check ", "  gen-key ID "};
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(strstr(out, commands[i]) != NULL, "--help does not list '%s':\n%s",
                      commands[i], out);
    free(out);
    free(err);
}
END_TEST

START_TEST(migrate_applies_the_schema_to_an_empty_database_and_exits_0_each_time) {
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    for (int run = 0; run < 2; run++) {
        char *out = NULL, *err = NULL;
        int status = run_command("migrate", NULL, db, NULL, &out, &err);
        ck_assert_msg(status == 0, "run %d: exit %d; stderr: %s", run, status, err);
        ck_assert_msg(strstr(out, "up to date") != NULL, "stdout: %s", out);
        ck_assert_msg(strstr(err, FT_LISTENING_PREFIX) == NULL, "it served: %s", err);
        free(out);
        free(err);
        ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM schema_migrations", (const char *)NULL),
                         ft_migration_count());
    }
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL), 0);
    ft_sql_disconnect();
    ft_db_drop(db);
}
END_TEST

/* A script's `mondux migrate &` starts with SIGINT ignored; Ctrl-C or kill -INT must still end
 * it, as they end any command, even while it waits for the database. */
START_TEST(migrate_waiting_for_the_database_ends_on_a_sigint_it_inherited_ignored) {
    char err_path[] = "/tmp/mx_ft_migrate_XXXXXX";
    int err_fd = mkstemp(err_path);
    ck_assert_int_ge(err_fd, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_IGN);
        dup2(err_fd, 2);
        char *argv[] = {MX_BINARY, "migrate", NULL};
        char *envp[] = {"DATABASE_URL=host=127.0.0.1 port=1 user=nobody dbname=nothing",
                        "MX_DB_WAIT=300", NULL};
        execve(MX_BINARY, argv, envp);
        _exit(127);
    }
    double deadline = ft_now() + FT_READY_TIMEOUT_S * ft_timeout_scale();
    int waiting = 0;
    while (!waiting && ft_now() < deadline) {
        char text[512] = "";
        ssize_t n = pread(err_fd, text, sizeof text - 1, 0);
        waiting = n > 0 && strstr(text, "waiting up to 300 s for the database") != NULL;
        if (!waiting)
            ft_pause_ms(20);
    }
    ck_assert_msg(waiting, "mondux migrate never said it was waiting for the database");
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    int status = 0, ended = 0;
    deadline = ft_now() + FT_STOP_TIMEOUT_S * ft_timeout_scale();
    while (!(ended = waitpid(pid, &status, WNOHANG) == pid) && ft_now() < deadline)
        ft_pause_ms(20);
    if (!ended)
        kill(pid, SIGKILL);
    close(err_fd);
    unlink(err_path);
    ck_assert_msg(ended, "mondux migrate went on waiting after SIGINT");
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %d, not SIGINT",
                  status);
}
END_TEST

START_TEST(migrate_and_check_exit_1_with_a_message_when_the_database_cannot_be_reached) {
    const char *commands[] = {"migrate", "check"};
    for (size_t i = 0; i < 2; i++) {
        char *out = NULL, *err = NULL;
        int status = run_command(commands[i], NULL, NULL, unreachable, &out, &err);
        ck_assert_msg(status == 1, "%s: exit %d; stderr: %s", commands[i], status, err);
        ck_assert_msg(strstr(err, "cannot reach the database") != NULL, "%s: stderr: %s",
                      commands[i], err);
        free(out);
        free(err);
    }
}
END_TEST

/* A database with a little of everything: two accounts, deposits, a withdrawal, a transfer. */
struct ledger {
    char db[64];
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    int64_t transfer_id;
};

static void make_ledger(struct ledger *l) {
    ft_db_create(l->db, sizeof l->db);
    ft_use_db(l->db);
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, l->db, NULL);
    ft_set_default_server(server);
    ft_create_account(l->a);
    ft_create_account(l->b);
    ft_move(l->a, "deposit", 1000);
    ft_move(l->a, "withdraw", 100);
    ft_move(l->b, "deposit", 5);
    l->transfer_id = ft_transfer(l->a, l->b, 250);
    ck_assert_int_eq(ft_server_stop(server), 0);
}

static void drop_ledger(struct ledger *l) {
    ft_sql_disconnect();
    ft_db_drop(l->db);
}

START_TEST(check_on_a_sound_ledger_prints_one_summary_line_and_exits_0) {
    struct ledger l;
    make_ledger(&l);
    char *out = NULL, *err = NULL;
    int status = run_command("check", NULL, l.db, NULL, &out, &err);
    ck_assert_msg(status == 0, "exit %d; stdout: %s; stderr: %s", status, out, err);
    ck_assert_msg(count_lines(out) == 1 && strncmp(out, "ok: 2 accounts", 14) == 0 &&
                      strstr(out, "(5 entries)") != NULL && strstr(out, " 1 transfers") != NULL,
                  "not a one-line summary of 2 accounts, 5 entries and 1 transfer: %s", out);
    free(out);
    free(err);
    drop_ledger(&l);
}
END_TEST

START_TEST(check_reports_a_balance_changed_behind_its_journal_and_exits_1) {
    struct ledger l;
    make_ledger(&l);
    ft_sql_exec("UPDATE accounts SET balance_cents = balance_cents + 7 WHERE account_number = $1",
                l.b, (const char *)NULL);
    char *out = NULL, *err = NULL;
    int status = run_command("check", NULL, l.db, NULL, &out, &err);
    ck_assert_msg(status == 1, "exit %d; stdout: %s; stderr: %s", status, out, err);
    char expected[320];
    snprintf(expected, sizeof expected, "account %s: balance 262, but its journal sums to 255\n",
             l.b);
    ck_assert_msg(strstr(out, expected) != NULL, "no '%s' in: %s", expected, out);
    ck_assert_msg(strstr(out, l.a) == NULL, "the sound account is reported too: %s", out);
    ck_assert_msg(strstr(out, "1 of 2 balances differ") != NULL &&
                      strstr(out, "0 of 1 transfers") != NULL,
                  "summary: %s", out);
    free(out);
    free(err);
    drop_ledger(&l);
}
END_TEST

START_TEST(check_reports_a_transfer_with_one_leg_and_exits_1) {
    struct ledger l;
    make_ledger(&l);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)l.transfer_id);
    /* The journal refuses deletions (a trigger); a superuser's replica role skips triggers. Its
     * balance is put back too, so that only the missing leg is wrong. */
    ft_sql_exec("SET session_replication_role = replica", (const char *)NULL);
    ft_sql_exec("DELETE FROM entries WHERE transfer_id = $1 AND kind = 'transfer_in'", id,
                (const char *)NULL);
    ft_sql_exec("RESET session_replication_role", (const char *)NULL);
    ft_sql_exec("UPDATE accounts SET balance_cents = balance_cents - 250 WHERE account_number = $1",
                l.b, (const char *)NULL);
    char *out = NULL, *err = NULL;
    int status = run_command("check", NULL, l.db, NULL, &out, &err);
    ck_assert_msg(status == 1, "exit %d; stdout: %s; stderr: %s", status, out, err);
    char expected[320];
    snprintf(expected, sizeof expected,
             "transfer %s of 250 from %s to %s: 1 journal entries, not its two legs\n", id, l.a,
             l.b);
    ck_assert_msg(strstr(out, expected) != NULL, "no '%s' in: %s", expected, out);
    ck_assert_msg(strstr(out, "0 of 2 balances differ") != NULL &&
                      strstr(out, "1 of 1 transfers lack") != NULL,
                  "summary: %s", out);
    free(out);
    free(err);
    drop_ledger(&l);
}
END_TEST

START_TEST(gen_key_prints_a_key_that_mx_api_keys_accepts) {
    char *first = NULL, *second = NULL, *err = NULL;
    ck_assert_int_eq(run_command("gen-key", "teller.1", NULL, NULL, &first, &err), 0);
    free(err);
    ck_assert_int_eq(run_command("gen-key", "teller.1", NULL, NULL, &second, &err), 0);
    free(err);
    ck_assert_msg(count_lines(first) == 1 && strncmp(first, "teller.1:", 9) == 0,
                  "not one line 'teller.1:<secret>': '%s'", first);
    ck_assert_msg(strcmp(first, second) != 0, "two runs printed the same key: %s", first);
    first[strlen(first) - 1] = '\0';
    const char *secret = first + 9;
    ck_assert_int_ge(strlen(secret), 32);

    char keys[256], authorization[256];
    snprintf(keys, sizeof keys, "MX_API_KEYS=%s", first);
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", secret);
    const char *env[] = {keys, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    const char *headers[] = {authorization, NULL};
    struct ft_response *r = ft_http_with_headers("POST", "/api/accounts", "{}", headers);
    ft_assert_status(r, 201);
    ft_response_free(r);
    r = ft_http("POST", "/api/accounts", "{}");
    ft_assert_status(r, 401);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(server), 0);
    free(first);
    free(second);
}
END_TEST

/* `mondux gen-key id [scope]`'s one line, its newline cut; exits 0 or fails the test. */
static char *gen_key(const char *id, const char *scope) {
    const char *argv[] = {MX_BINARY, "gen-key", id, scope, NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 20);
    ck_assert_msg(status == 0 && count_lines(out) == 1, "gen-key %s %s: exit %d, stdout '%s'", id,
                  scope != NULL ? scope : "", status, out);
    free(err);
    out[strlen(out) - 1] = '\0';
    return out;
}

/* The secret of a gen-key line: between the first colon and the next one, or the end. */
static void secret_of(const char *line, char *out, size_t size) {
    const char *secret = strchr(line, ':') + 1;
    snprintf(out, size, "%.*s", (int)strcspn(secret, ":"), secret);
}

START_TEST(gen_key_with_a_scope_prints_it_and_a_server_gives_the_key_that_scope) {
    char *read = gen_key("audit", "read");
    char *all = gen_key("ops", "all");
    char *plain = gen_key("teller", NULL);
    ck_assert_msg(strncmp(read, "audit:", 6) == 0 && strlen(read) == 6 + 64 + 5 &&
                      strcmp(read + 6 + 64, ":read") == 0,
                  "not 'audit:<64 hex digits>:read': '%s'", read);
    ck_assert_msg(strncmp(all, "ops:", 4) == 0 && strcmp(all + 4 + 64, ":all") == 0,
                  "not 'ops:<64 hex digits>:all': '%s'", all);
    ck_assert_msg(strchr(plain + 7, ':') == NULL, "a scope without one asked for: '%s'", plain);

    char keys[512], secret[3][80], bearer[3][128];
    snprintf(keys, sizeof keys, "MX_API_KEYS=%s,%s,%s", read, all, plain);
    const char *lines[] = {read, all, plain};
    for (int i = 0; i < 3; i++) {
        secret_of(lines[i], secret[i], sizeof secret[i]);
        snprintf(bearer[i], sizeof bearer[i], "Authorization: Bearer %.100s", secret[i]);
    }
    const char *env[] = {keys, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    /* The keys of scope all, written or not, create and deposit; the read key reads only. */
    char account[FT_ACCOUNT_SIZE], path[256];
    const char *as_plain[] = {bearer[2], NULL}, *as_all[] = {bearer[1], NULL};
    const char *as_read[] = {bearer[0], NULL};
    struct ft_response *r = ft_http_with_headers("POST", "/api/accounts", "{}", as_plain);
    ft_assert_status(r, 201);
    snprintf(account, sizeof account, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=300", account);
    r = ft_http_with_headers("PUT", path, NULL, as_all);
    ft_assert_status(r, 200);
    ft_response_free(r);
    r = ft_http_with_headers("POST", path, NULL, as_read);
    ft_assert_error(r, 403, "forbidden", "this API key's scope is read: it may only GET and HEAD");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/balance", account);
    r = ft_http_with_headers("GET", path, NULL, as_read);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 300);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(server), 0);
    free(read);
    free(all);
    free(plain);
}
END_TEST

START_TEST(gen_key_refuses_an_id_mx_api_keys_would_refuse_and_a_scope_it_would) {
    const char *ids[] = {"bad id", "a:b", "a,b", "", "abcdefghijabcdefghijabcdefghijabc"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char *out = NULL, *err = NULL;
        int status = run_command("gen-key", ids[i], NULL, NULL, &out, &err);
        ck_assert_msg(status == 2 && out[0] == '\0' && count_lines(err) == 1 &&
                          strstr(err, "ID must be 1 to 32 of A-Z a-z 0-9 _ . -") != NULL,
                      "gen-key '%s': exit %d, stdout '%s', stderr '%s'", ids[i], status, out, err);
        free(out);
        free(err);
    }
    const char *scopes[] = {"write", "READ", "", "read:all", "all,read"};
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        const char *argv[] = {MX_BINARY, "gen-key", "teller", scopes[i], NULL};
        char *out = NULL, *err = NULL;
        int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 20);
        ck_assert_msg(status == 2 && out[0] == '\0' && count_lines(err) == 1 &&
                          strstr(err, "SCOPE must be all, read, teller or admin") != NULL,
                      "gen-key teller '%s': exit %d, stdout '%s', stderr '%s'", scopes[i], status,
                      out, err);
        free(out);
        free(err);
    }
    const char *argv[] = {MX_BINARY, "gen-key", "teller", "read", "all", NULL};
    char *out = NULL, *err = NULL;
    int status = ft_run_program(argv, FT_NO_DB_CONFIG, NULL, NULL, &out, &err, 20);
    ck_assert_msg(status == 2 && out[0] == '\0' && strstr(err, "at most one SCOPE") != NULL,
                  "gen-key teller read all: exit %d, stdout '%s', stderr '%s'", status, out, err);
    free(out);
    free(err);
}
END_TEST

int main(void) {
    Suite *s = suite_create("commands");
    FT_ADD_TEST(s, help_lists_the_commands);
    FT_ADD_TEST(s, migrate_applies_the_schema_to_an_empty_database_and_exits_0_each_time);
    FT_ADD_TEST(s, migrate_and_check_exit_1_with_a_message_when_the_database_cannot_be_reached);
    FT_ADD_TEST(s, migrate_waiting_for_the_database_ends_on_a_sigint_it_inherited_ignored);
    FT_ADD_TEST(s, check_on_a_sound_ledger_prints_one_summary_line_and_exits_0);
    FT_ADD_TEST(s, check_reports_a_balance_changed_behind_its_journal_and_exits_1);
    FT_ADD_TEST(s, check_reports_a_transfer_with_one_leg_and_exits_1);
    FT_ADD_TEST(s, gen_key_prints_a_key_that_mx_api_keys_accepts);
    FT_ADD_TEST(s, gen_key_with_a_scope_prints_it_and_a_server_gives_the_key_that_scope);
    FT_ADD_TEST(s, gen_key_refuses_an_id_mx_api_keys_would_refuse_and_a_scope_it_would);
    return ft_main(s, 0, FT_DATABASE_URL, NULL);
}
