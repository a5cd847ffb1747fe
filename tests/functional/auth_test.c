/* API keys (MX_API_KEYS, MX_API_KEYS_FILE): with keys configured, every request under /api needs
 * exactly one "Authorization: Bearer <secret>" of a known key, else 401 unauthorized with
 * WWW-Authenticate, before anything else happens; /healthz, /readyz, /metrics and the page stay
 * open; a key of scope read may only GET and HEAD there, one of scope teller may not change an
 * account's status, anything else is 403 forbidden before anything happens; Idempotency-Keys are
 * scoped per key; secrets never reach a log; a bad configuration exits 2 without showing a secret;
 * without keys the server says so once at start-up. The suite's server has the five keys below. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TELLER_SECRET "Tq7-vLx2Rm9zKw4bNp3s"
#define OPS_SECRET    "Zr8!Hc5~Yd1qWf6eGj0u"
#define AUDIT_SECRET  "Au5=Kd2jPq8xVt3mWc7r"
#define CLERK_SECRET  "Ck3+Rw8nLb5vQz1hTy6d"
#define BOSS_SECRET   "Bs9_Mf4kXp2cWn7gJr5t"
#define API_KEYS                                                                                   \
    "MX_API_KEYS=teller:" TELLER_SECRET ",ops:" OPS_SECRET ":all,audit:" AUDIT_SECRET              \
    ":read,clerk:" CLERK_SECRET ":teller,boss:" BOSS_SECRET ":admin"
#define READ_REFUSAL "this API key's scope is read: it may only GET and HEAD"
#define TELLER_REFUSAL                                                                             \
    "this API key's scope is teller: it may read and move money, but not freeze, unfreeze or "     \
    "close an account or change its overdraft limit"
#define BEARER(s) "Authorization: Bearer " s
#define NO_KEY    NULL

/* ---- helpers ------------------------------------------------------------------------------- */

/* method path (body may be NULL) on the default server with "Authorization: <authorization>"
 * (none when NULL) and an optional extra header line (NULL for none). */
static struct ft_response *request_as(const char *authorization, const char *method,
                                      const char *path, const char *body, const char *extra) {
    char line[512];
    const char *headers[3] = {NULL, NULL, NULL};
    int n = 0;
    if (authorization != NULL) {
        snprintf(line, sizeof line, "%s", authorization);
        headers[n++] = line;
    }
    if (extra != NULL)
        headers[n++] = extra;
    return ft_http_with_headers(method, path, body, headers);
}

/* Asserts the 401 of api.md's access control: the code, and the Bearer challenge. */
static void assert_unauthorized(struct ft_response *r) {
    char challenge[256];
    ft_assert_error(r, 401, "unauthorized", NULL);
    ck_assert_msg(ft_header(r, "WWW-Authenticate", challenge, sizeof challenge) != NULL,
                  "%s: a 401 without WWW-Authenticate", r->what);
    ck_assert_msg(strncmp(challenge, "Bearer", 6) == 0 &&
                      (challenge[6] == '\0' || challenge[6] == ' '),
                  "%s: WWW-Authenticate is '%s', not a Bearer challenge", r->what, challenge);
    ck_assert_str_eq(challenge, "Bearer realm=\"mondux\"");
}

/* A new account made with the teller's key. */
static void teller_account(char number[FT_ACCOUNT_SIZE]) {
    struct ft_response *r = request_as(BEARER(TELLER_SECRET), "POST", "/api/accounts", NULL, NULL);
    ft_assert_status(r, 201);
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

/* Two new accounts of the teller's, the first holding 700. */
static void two_accounts_one_holding_700(char a[FT_ACCOUNT_SIZE], char b[FT_ACCOUNT_SIZE]) {
    char path[256];
    teller_account(a);
    teller_account(b);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=700", a);
    struct ft_response *r = request_as(BEARER(TELLER_SECRET), "PUT", path, NULL, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
}

/* The rows a request that was done leaves, which a refused one must not. */
struct done_rows {
    int64_t accounts, idempotency_keys, transfers;
};

static struct done_rows done_rows(void) {
    return (struct done_rows){
        ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL),
        ft_sql_int64("SELECT count(*) FROM idempotency_keys", (const char *)NULL),
        ft_sql_int64("SELECT count(*) FROM transfers", (const char *)NULL)};
}

static void assert_no_rows_added(const struct done_rows *before) {
    struct done_rows now = done_rows();
    ck_assert_int_eq(now.accounts, before->accounts);
    ck_assert_int_eq(now.idempotency_keys, before->idempotency_keys);
    ck_assert_int_eq(now.transfers, before->transfers);
}

static int count_lines(const char *text) {
    int lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

/* Asserts that text shows none of the secrets, whole or as their first 12 characters. */
static void assert_no_secret(const char *what, const char *text, const char *const *secrets) {
    for (; *secrets != NULL; secrets++) {
        /* The precision says the cut is meant: the prefix, not a truncated copy. */
        char prefix[13];
        snprintf(prefix, sizeof prefix, "%.*s", (int)sizeof prefix - 1, *secrets);
        ck_assert_msg(strstr(text, prefix) == NULL, "%s shows the secret '%s':\n%s", what, *secrets,
                      text);
    }
}

/* Runs mondux with env until it exits (it must, its configuration being invalid). */
static int run_mondux(const char *const *env, char **out, char **err) {
    const char *argv[] = {MX_BINARY, NULL};
    return ft_run_program(argv, FT_DATABASE_URL, ft_db(), env, out, err, 20);
}

/* A new temp dir named so that the suite's main process removes it even when the test fails
 * half-way (the harness removes /tmp/mx_ft_*_<its pid>_*; tests run in its forked children). */
static void make_test_dir(char *dir, size_t size, const char *what) {
    snprintf(dir, size, "/tmp/mx_ft_%s_%ld_XXXXXX", what, (long)getppid());
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

/* Writes text to a new file in dir; the path into out. */
static void write_file(const char *dir, const char *name, const char *text, char *out,
                       size_t size) {
    snprintf(out, size, "%s/%s", dir, name);
    FILE *file = fopen(out, "w");
    ck_assert_ptr_nonnull(file);
    ck_assert_int_ge(fputs(text, file), 0);
    ck_assert_int_eq(fclose(file), 0);
}

/* ---- the rule ------------------------------------------------------------------------------ */

START_TEST(api_request_without_a_key_is_401_unauthorized_with_www_authenticate) {
    char n[FT_ACCOUNT_SIZE], path[256];
    teller_account(n);
    const char *requests[][2] = {
        {"POST", "/api/accounts"},
        {"POST", "/api/accounts/create"},
        {"GET", "/api/accounts/{n}"},
        {"GET", "/api/accounts/{n}/balance"},
        {"HEAD", "/api/accounts/{n}/balance"},
        {"PUT", "/api/accounts/{n}/deposit?sum=5"},
        {"POST", "/api/accounts/{n}/withdraw?sum=5"},
        {"GET", "/api/accounts/{n}/transactions"},
        {"POST", "/api/transfers"},
        {"GET", "/api/transfers/1"},
        /* Checked before routing: no route, a wrong method, the bare prefix, all 401. */
        {"GET", "/api/nothing"},
        {"DELETE", "/api/accounts"},
        {"GET", "/api"},
        {"GET", "/api/"},
    };
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        const char *slot = strstr(requests[i][1], "{n}");
        if (slot != NULL)
            snprintf(path, sizeof path, "%.*s%s%s", (int)(slot - requests[i][1]), requests[i][1], n,
                     slot + 3);
        else
            snprintf(path, sizeof path, "%s", requests[i][1]);
        struct ft_response *r = request_as(NO_KEY, requests[i][0], path, NULL, NULL);
        if (strcmp(requests[i][0], "HEAD") == 0) {
            char challenge[256];
            ft_assert_status(r, 401);
            ck_assert_ptr_nonnull(ft_header(r, "WWW-Authenticate", challenge, sizeof challenge));
        } else {
            assert_unauthorized(r);
        }
        ft_response_free(r);
    }
}
END_TEST

START_TEST(wrong_or_malformed_authorization_is_401_unauthorized) {
    const char *authorizations[] = {
        BEARER("not-the-secret-at-all"),
        BEARER(TELLER_SECRET "x"),                   /* one character more */
        "Authorization: Bearer Tq7-vLx2Rm9zKw4bNp3", /* one character less */
        BEARER("teller"),                            /* the id is not the secret */
        BEARER("teller:" TELLER_SECRET),             /* nor is the configuration entry */
        "Authorization: Basic dGVsbGVyOlRxNy12THgyUm05ekt3NGJOcDNz",
        "Authorization: Token " TELLER_SECRET,
        "Authorization: " TELLER_SECRET,
        "Authorization: Bearer",
        "Authorization: Bearer" TELLER_SECRET,
        "Authorization;",
    };
    for (size_t i = 0; i < sizeof authorizations / sizeof authorizations[0]; i++) {
        struct ft_response *r = request_as(authorizations[i], "POST", "/api/accounts", NULL, NULL);
        ck_assert_msg(r->status == 401, "'%s' got %ld, not 401", authorizations[i], r->status);
        assert_unauthorized(r);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(bearer_scheme_is_case_insensitive) {
    /* RFC 7235: the auth-scheme is a case-insensitive token. */
    const char *authorizations[] = {"Authorization: bearer " TELLER_SECRET,
                                    "Authorization: BEARER " TELLER_SECRET,
                                    "Authorization: bEaReR " OPS_SECRET};
    for (size_t i = 0; i < sizeof authorizations / sizeof authorizations[0]; i++) {
        struct ft_response *r = request_as(authorizations[i], "POST", "/api/accounts", NULL, NULL);
        ck_assert_msg(r->status == 201, "'%s' got %ld, not 201", authorizations[i], r->status);
        ft_response_free(r);
    }
    /* The secret itself is not. */
    char lowered[64];
    snprintf(lowered, sizeof lowered, "Authorization: Bearer %s", TELLER_SECRET);
    for (char *p = lowered + strlen("Authorization: Bearer "); *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    struct ft_response *r = request_as(lowered, "POST", "/api/accounts", NULL, NULL);
    assert_unauthorized(r);
    ft_response_free(r);
}
END_TEST

START_TEST(two_authorization_headers_are_401_even_when_both_are_right) {
    const char *pairs[][2] = {{BEARER(TELLER_SECRET), BEARER(TELLER_SECRET)},
                              {BEARER(TELLER_SECRET), BEARER(OPS_SECRET)},
                              {BEARER(TELLER_SECRET), "authorization: Bearer wrong-wrong-wrong"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct ft_response *r = request_as(pairs[i][0], "POST", "/api/accounts", NULL, pairs[i][1]);
        assert_unauthorized(r);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(the_right_key_opens_every_api_route) {
    const char *keys[] = {BEARER(TELLER_SECRET), BEARER(OPS_SECRET)};
    for (size_t k = 0; k < 2; k++) {
        const char *key = keys[k];
        char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
        struct ft_response *r = request_as(key, "POST", "/api/accounts", "{}", NULL);
        ft_assert_status(r, 201);
        snprintf(a, sizeof a, "%s", ft_json_str(r, "account_number"));
        ft_response_free(r);
        r = request_as(key, "POST", "/api/accounts/create", NULL, NULL);
        ft_assert_status(r, 200);
        snprintf(b, sizeof b, "%s", ft_json_str(r, "account_number"));
        ft_response_free(r);

        const struct {
            const char *method, *suffix;
            long status;
        } on_a[] = {
            {"PUT", "/deposit?sum=1000", 200},
            {"POST", "/deposit?sum=10", 200},
            {"PUT", "/withdraw?sum=5", 200},
            {"POST", "/withdraw?sum=5", 200},
            {"GET", "", 200},
            {"GET", "/balance", 200},
            {"HEAD", "/balance", 200},
            {"GET", "/transactions?limit=2", 200},
            {"DELETE", "/deposit", 405},
        };
        for (size_t i = 0; i < sizeof on_a / sizeof on_a[0]; i++) {
            snprintf(path, sizeof path, "/api/accounts/%s%s", a, on_a[i].suffix);
            r = request_as(key, on_a[i].method, path, NULL, NULL);
            ft_assert_status(r, on_a[i].status);
            ft_response_free(r);
        }
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 100}", a, b);
        r = request_as(key, "POST", "/api/transfers", body, NULL);
        ft_assert_status(r, 201);
        snprintf(path, sizeof path, "/api/transfers/%lld", (long long)ft_json_int(r, "id"));
        ft_response_free(r);
        r = request_as(key, "GET", path, NULL, NULL);
        ft_assert_status(r, 200);
        ft_response_free(r);
        /* Past the key, routing answers as usual. */
        r = request_as(key, "GET", "/api/nothing", NULL, NULL);
        ft_assert_error(r, 404, "not_found", NULL);
        ft_response_free(r);
        snprintf(path, sizeof path, "/api/accounts/%s/balance", a);
        r = request_as(key, "GET", path, NULL, NULL);
        ft_assert_status(r, 200);
        ck_assert_int_eq(ft_json_int(r, "balance"), 1000 + 10 - 5 - 5 - 100);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(health_readiness_metrics_and_the_page_need_no_key) {
    const char *open_paths[] = {"/healthz", "/readyz",     "/metrics",
                                "/",        "/teller.css", "/teller.js"};
    for (size_t i = 0; i < sizeof open_paths / sizeof open_paths[0]; i++) {
        struct ft_response *r = request_as(NO_KEY, "GET", open_paths[i], NULL, NULL);
        ft_assert_status(r, 200);
        ft_response_free(r);
        /* A wrong key there is not looked at either. */
        r = request_as(BEARER("wrong-wrong-wrong-wrong"), "GET", open_paths[i], NULL, NULL);
        ft_assert_status(r, 200);
        ft_response_free(r);
    }
    /* Only /api and what is under it is guarded: a path that merely starts with "/api" is not. */
    const char *not_api[] = {"/apiary", "/api-docs", "/apix/accounts", "/nothing"};
    for (size_t i = 0; i < sizeof not_api / sizeof not_api[0]; i++) {
        struct ft_response *r = request_as(NO_KEY, "GET", not_api[i], NULL, NULL);
        ft_assert_error(r, 404, "not_found", NULL);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(a_refused_request_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    two_accounts_one_holding_700(a, b);
    struct ft_response *r = NULL;
    struct ft_snapshot before = ft_snapshot(a);
    struct done_rows rows_before = done_rows();

    const char *authorizations[] = {NULL, BEARER("wrong-wrong-wrong-wrong"),
                                    BEARER(TELLER_SECRET "x")};
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 100}", a, b);
    for (size_t i = 0; i < sizeof authorizations / sizeof authorizations[0]; i++) {
        const char *key = "Idempotency-Key: refused-401-key";
        snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
        struct ft_response *refused[5];
        refused[0] = request_as(authorizations[i], "PUT", path, NULL, key);
        snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", a);
        refused[1] = request_as(authorizations[i], "POST", path, NULL, NULL);
        refused[2] = request_as(authorizations[i], "POST", "/api/accounts", "{}", NULL);
        refused[3] = request_as(authorizations[i], "POST", "/api/accounts/create", NULL, NULL);
        refused[4] = request_as(authorizations[i], "POST", "/api/transfers", body, NULL);
        for (int j = 0; j < 5; j++) {
            assert_unauthorized(refused[j]);
            ft_response_free(refused[j]);
        }
    }
    ft_assert_unchanged(&before, a);
    assert_no_rows_added(&rows_before);
    /* The key a refused request carried was not taken: with the right key it is a first answer. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
    r = request_as(BEARER(TELLER_SECRET), "PUT", path, NULL, "Idempotency-Key: refused-401-key");
    ft_assert_status(r, 200);
    ft_assert_not_replayed(r);
    ck_assert_int_eq(ft_json_int(r, "balance"), 705);
    ft_response_free(r);
}
END_TEST

START_TEST(a_read_key_may_get_and_head_and_anything_else_is_403_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    two_accounts_one_holding_700(a, b);
    struct ft_response *r = NULL;

    /* Reading: every GET and HEAD route answers as for any key. */
    const char *reads[][2] = {
        {"GET", ""}, {"GET", "/balance"}, {"HEAD", "/balance"}, {"GET", "/transactions?limit=2"}};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", a, reads[i][1]);
        r = request_as(BEARER(AUDIT_SECRET), reads[i][0], path, NULL, NULL);
        ft_assert_status(r, 200);
        ft_response_free(r);
    }
    snprintf(path, sizeof path, "/api/accounts/%s/balance", a);
    r = request_as(BEARER(AUDIT_SECRET), "GET", path, NULL, NULL);
    ck_assert_int_eq(ft_json_int(r, "balance"), 700);
    ft_response_free(r);
    r = request_as(BEARER(AUDIT_SECRET), "GET", "/api/nothing", NULL, NULL);
    ft_assert_error(r, 404, "not_found", NULL);
    ft_response_free(r);

    struct ft_snapshot before = ft_snapshot(a);
    struct done_rows rows_before = done_rows();
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 100}", a, b);
    /* Refused before routing and before the input is looked at: a bad sum, no route and a method
     * no route has are 403 too, not 400, 404 or 405. */
    const struct {
        const char *method, *suffix, *body;
    } writes[] = {
        {"PUT", "/deposit?sum=5", NULL},   {"POST", "/deposit?sum=5", NULL},
        {"PUT", "/withdraw?sum=5", NULL},  {"POST", "/withdraw?sum=5", NULL},
        {"PUT", "/deposit?sum=abc", NULL}, {"DELETE", "", NULL},
        {"POST", "/nothing", "{}"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", a, writes[i].suffix);
        r = request_as(BEARER(AUDIT_SECRET), writes[i].method, path, writes[i].body,
                       "Idempotency-Key: refused-403-key");
        char challenge[256];
        ft_assert_error(r, 403, "forbidden", READ_REFUSAL);
        ck_assert_msg(ft_header(r, "WWW-Authenticate", challenge, sizeof challenge) == NULL,
                      "%s: a 403 with WWW-Authenticate", r->what);
        ft_response_free(r);
    }
    const char *elsewhere[][3] = {{"POST", "/api/accounts", "{}"},
                                  {"POST", "/api/accounts/create", NULL},
                                  {"POST", "/api/transfers", body},
                                  {"OPTIONS", "/api/accounts", NULL},
                                  {"PATCH", "/api", NULL}};
    for (size_t i = 0; i < sizeof elsewhere / sizeof elsewhere[0]; i++) {
        r = request_as(BEARER(AUDIT_SECRET), elsewhere[i][0], elsewhere[i][1], elsewhere[i][2],
                       "Idempotency-Key: refused-403-key");
        ft_assert_error(r, 403, "forbidden", READ_REFUSAL);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, a);
    assert_no_rows_added(&rows_before);

    /* A key of scope all (written or not) still moves money. */
    const char *full[] = {BEARER(TELLER_SECRET), BEARER(OPS_SECRET)};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
        r = request_as(full[i], "PUT", path, NULL, NULL);
        ft_assert_status(r, 200);
        ck_assert_int_eq(ft_json_int(r, "balance"), 705 + 5 * (int64_t)i);
        ft_response_free(r);
    }
}
END_TEST

/* An account's status is the admin's: a teller key reads, opens accounts and moves money, and its
 * freeze, unfreeze or close is 403 before anything happens; admin and all keys may. */
START_TEST(a_teller_key_moves_money_but_only_an_admin_key_changes_an_accounts_status) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    two_accounts_one_holding_700(a, b);
    struct ft_response *r = NULL;

    r = request_as(BEARER(CLERK_SECRET), "POST", "/api/accounts", "{}", NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=100", a);
    r = request_as(BEARER(CLERK_SECRET), "PUT", path, NULL, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 600);
    ft_response_free(r);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 100}", a, b);
    r = request_as(BEARER(CLERK_SECRET), "POST", "/api/transfers", body, NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s", a);
    r = request_as(BEARER(CLERK_SECRET), "GET", path, NULL, NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "active");
    ft_response_free(r);

    struct ft_snapshot before = ft_snapshot(a);
    struct done_rows rows_before = done_rows();
    const char *changes[] = {"freeze", "unfreeze", "close"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/%s", a, changes[i]);
        r = request_as(BEARER(CLERK_SECRET), "POST", path, NULL, "Idempotency-Key: clerk-403");
        ft_assert_error(r, 403, "forbidden", TELLER_REFUSAL);
        ft_response_free(r);
        r = request_as(BEARER(AUDIT_SECRET), "POST", path, NULL, NULL);
        ft_assert_error(r, 403, "forbidden", READ_REFUSAL);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, a);
    assert_no_rows_added(&rows_before);
    ck_assert_str_eq(
        ft_sql_text("SELECT status FROM accounts WHERE account_number = $1", a, (const char *)NULL),
        "active");

    /* admin, all, and a key with no scope written: each may. */
    const char *may[] = {BEARER(BOSS_SECRET), BEARER(OPS_SECRET), BEARER(TELLER_SECRET)};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/%s", a, i % 2 == 0 ? "freeze" : "unfreeze");
        r = request_as(may[i], "POST", path, NULL, NULL);
        ft_assert_status(r, 200);
        ck_assert_str_eq(ft_json_str(r, "status"), i % 2 == 0 ? "frozen" : "active");
        ft_response_free(r);
    }
    /* The teller key may read the frozen account, and its deposit meets the freeze, not a 403. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
    r = request_as(BEARER(CLERK_SECRET), "PUT", path, NULL, NULL);
    ft_assert_error(r, 409, "account_frozen", NULL);
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(idempotency_keys_are_scoped_per_api_key) {
    const char *key = "Idempotency-Key: shared-by-two-clients";
    /* The same key creating an account for each client: two accounts, neither a replay. */
    struct ft_response *teller =
        request_as(BEARER(TELLER_SECRET), "POST", "/api/accounts", "{}", key);
    struct ft_response *ops = request_as(BEARER(OPS_SECRET), "POST", "/api/accounts", "{}", key);
    ft_assert_status(teller, 201);
    ft_assert_status(ops, 201);
    ft_assert_not_replayed(teller);
    ft_assert_not_replayed(ops);
    ck_assert_str_ne(ft_json_str(teller, "account_number"), ft_json_str(ops, "account_number"));
    /* Each client's retry replays its own answer, never the other's. */
    struct ft_response *again =
        request_as(BEARER(TELLER_SECRET), "POST", "/api/accounts", "{}", key);
    ft_assert_replay_of(teller, again);
    ft_response_free(again);
    again = request_as(BEARER(OPS_SECRET), "POST", "/api/accounts", "{}", key);
    ft_assert_replay_of(ops, again);
    ft_response_free(again);

    /* The same key on different requests by two clients is no reuse (no 422): each moves money
     * once, and each replays its own. */
    char a[FT_ACCOUNT_SIZE], path[256];
    snprintf(a, sizeof a, "%s", ft_json_str(teller, "account_number"));
    const char *deposit_key = "Idempotency-Key: deposit-by-two-clients";
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", a);
    struct ft_response *first_teller =
        request_as(BEARER(TELLER_SECRET), "PUT", path, NULL, deposit_key);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=250", a);
    struct ft_response *first_ops = request_as(BEARER(OPS_SECRET), "PUT", path, NULL, deposit_key);
    ft_assert_status(first_teller, 200);
    ft_assert_status(first_ops, 200);
    ck_assert_int_eq(ft_json_int(first_teller, "balance"), 100);
    ck_assert_int_eq(ft_json_int(first_ops, "balance"), 350);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=250", a);
    again = request_as(BEARER(OPS_SECRET), "PUT", path, NULL, deposit_key);
    ft_assert_replay_of(first_ops, again);
    ft_response_free(again);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", a);
    again = request_as(BEARER(TELLER_SECRET), "PUT", path, NULL, deposit_key);
    ft_assert_replay_of(first_teller, again);
    ft_response_free(again);
    /* Within one client the key still guards against reuse. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=250", a);
    again = request_as(BEARER(TELLER_SECRET), "PUT", path, NULL, deposit_key);
    ft_assert_error(again, 422, "idempotency_key_reused", NULL);
    ft_response_free(again);

    ck_assert_int_eq(ft_snapshot(a).balance_cents, 350);
    ck_assert_int_eq(ft_snapshot(a).entries, 2);
    ft_assert_ledger_invariants();
    ft_response_free(first_teller);
    ft_response_free(first_ops);
    ft_response_free(teller);
    ft_response_free(ops);
}
END_TEST

/* ---- logs and configuration ---------------------------------------------------------------- */

START_TEST(access_log_names_the_client_and_no_secret_reaches_the_logs) {
    const char *env[] = {API_KEYS, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    const char *wrong = "Wv3-WRONG-guess-Tq7-vLx2";
    char wrong_header[128];
    snprintf(wrong_header, sizeof wrong_header, "Authorization: Bearer %s", wrong);
    const struct {
        const char *authorization, *extra, *method, *path, *client;
        long status;
    } requests[] = {
        {BEARER(TELLER_SECRET), NULL, "POST", "/api/accounts", "teller", 201},
        {BEARER(OPS_SECRET), NULL, "POST", "/api/accounts", "ops", 201},
        {"Authorization: bearer " OPS_SECRET, NULL, "GET", "/api/nothing", "ops", 404},
        {wrong_header, NULL, "POST", "/api/accounts", "", 401},
        {BEARER(TELLER_SECRET "x"), NULL, "POST", "/api/accounts", "", 401},
        {BEARER(TELLER_SECRET), BEARER(OPS_SECRET), "POST", "/api/accounts", "", 401},
        {BEARER(AUDIT_SECRET), NULL, "POST", "/api/accounts", "audit", 403},
        {NULL, NULL, "GET", "/healthz", "", 200},
        {BEARER(TELLER_SECRET), NULL, "GET", "/metrics", "", 200},
    };
    enum { COUNT = sizeof requests / sizeof requests[0] };
    char ids[COUNT][128];
    for (size_t i = 0; i < COUNT; i++) {
        struct ft_response *r = request_as(requests[i].authorization, requests[i].method,
                                           requests[i].path, NULL, requests[i].extra);
        ft_assert_status(r, requests[i].status);
        ck_assert_ptr_nonnull(ft_header(r, "X-Request-Id", ids[i], sizeof ids[i]));
        ft_response_free(r);
    }
    kill(server->pid, SIGTERM);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, &err), 0);
    const char *secrets[] = {TELLER_SECRET, OPS_SECRET, AUDIT_SECRET, wrong, NULL};
    assert_no_secret("stdout", out, secrets);
    assert_no_secret("stderr", err, secrets);
    ck_assert_msg(count_lines(out) == COUNT, "expected %d access-log lines:\n%s", COUNT, out);
    for (size_t i = 0; i < COUNT; i++) {
        int found = 0;
        for (const char *line = out; *line != '\0';) {
            const char *end = strchr(line, '\n');
            json_t *entry = json_loadb(line, (size_t)(end - line), 0, NULL);
            ck_assert_msg(json_is_object(entry), "not a JSON line: %.*s", (int)(end - line), line);
            if (strcmp(json_string_value(json_object_get(entry, "request_id")), ids[i]) == 0) {
                found++;
                ck_assert_msg(strcmp(json_string_value(json_object_get(entry, "client")),
                                     requests[i].client) == 0,
                              "%s %s: client '%s' in the log, not '%s'", requests[i].method,
                              requests[i].path, json_string_value(json_object_get(entry, "client")),
                              requests[i].client);
                ck_assert_int_eq(json_integer_value(json_object_get(entry, "status")),
                                 requests[i].status);
            }
            json_decref(entry);
            line = end + 1;
        }
        ck_assert_msg(found == 1, "%d log lines with request id %s:\n%s", found, ids[i], out);
    }
    free(out);
    free(err);
}
END_TEST

START_TEST(invalid_api_key_configuration_exits_2_with_one_line_that_shows_no_secret) {
    char dir[64];
    make_test_dir(dir, sizeof dir, "keys");
    char good_file[128], bad_file[128], empty_file[128], missing_file[128];
    char good_file_env[160], bad_file_env[160], empty_file_env[160], missing_file_env[160];
    write_file(dir, "good", "teller:Kp4-Secret-InFile-01\n", good_file, sizeof good_file);
    snprintf(good_file_env, sizeof good_file_env, "MX_API_KEYS_FILE=%s", good_file);
    write_file(dir, "bad",
               "# the second line is missing its colon\nteller:Kp4-Secret-InFile-01\n"
               "opsSecretWithoutId-InFile-02\n",
               bad_file, sizeof bad_file);
    write_file(dir, "empty", "# nothing but a comment\n\n", empty_file, sizeof empty_file);
    snprintf(missing_file, sizeof missing_file, "%s/missing", dir);
    snprintf(bad_file_env, sizeof bad_file_env, "MX_API_KEYS_FILE=%s", bad_file);
    snprintf(empty_file_env, sizeof empty_file_env, "MX_API_KEYS_FILE=%s", empty_file);
    snprintf(missing_file_env, sizeof missing_file_env, "MX_API_KEYS_FILE=%s", missing_file);

    const char *secrets[] = {"Kp4-Secret-Inline-03", "opsSecretWithoutId-InFile-02",
                             "Kp4-Secret-InFile-01", "short-Secret15c",
                             "LLLLLLLLLLLLLLLL",     NULL};
    const char *cases[][3] = {
        /* both ways at once */
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03", good_file_env, NULL},
        {"MX_API_KEYS=Kp4-Secret-Inline-03", NULL, NULL},         /* no id */
        {"MX_API_KEYS=:Kp4-Secret-Inline-03", NULL, NULL},        /* empty id */
        {"MX_API_KEYS=tel ler:Kp4-Secret-Inline-03", NULL, NULL}, /* a space in the id */
        {"MX_API_KEYS=tel/ler:Kp4-Secret-Inline-03", NULL, NULL}, /* a '/' in the id */
        /* an id of 33 characters */
        {"MX_API_KEYS=abcdefghijklmnopqrstuvwxyz0123456:Kp4-Secret-Inline-03", NULL, NULL},
        {"MX_API_KEYS=teller:short-Secret15c", NULL, NULL},          /* a secret of 15 */
        {"MX_API_KEYS=teller:", NULL, NULL},                         /* no secret */
        {"MX_API_KEYS=teller:Kp4-Secret Inline-03", NULL, NULL},     /* a space in the secret */
        {"MX_API_KEYS=teller:Kp4-Secret:Inline-03", NULL, NULL},     /* a colon in the secret */
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03\x01", NULL, NULL}, /* a control character */
        /* two keys with one id */
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03,teller:Kp4-Secret-InFile-01", NULL, NULL},
        {"MX_API_KEYS=,", NULL, NULL}, /* no key at all */
        {bad_file_env, NULL, NULL},
        {empty_file_env, NULL, NULL},
        {missing_file_env, NULL, NULL},
        {NULL, NULL, NULL}, /* filled in below: a secret of 129 characters */
    };
    char long_secret[160];
    size_t prefix = strlen("MX_API_KEYS=teller:");
    memcpy(long_secret, "MX_API_KEYS=teller:", prefix);
    memset(long_secret + prefix, 'L', 129);
    long_secret[prefix + 129] = '\0';
    size_t count = sizeof cases / sizeof cases[0];
    cases[count - 1][0] = long_secret;
    for (size_t i = 0; i < count; i++) {
        const char *env[] = {cases[i][0], cases[i][1], NULL};
        char *out = NULL, *err = NULL;
        int status = run_mondux(env, &out, &err);
        ck_assert_msg(status == 2, "case %zu (%s): exit status %d, not 2; stderr: '%s'", i,
                      cases[i][0], status, err);
        size_t length = strlen(err);
        ck_assert_msg(count_lines(err) == 1 && length > 1 && err[length - 1] == '\n',
                      "case %zu (%s): stderr is not exactly one line: '%s'", i, cases[i][0], err);
        ck_assert_msg(strstr(err, FT_LISTENING_PREFIX) == NULL, "case %zu: it listened anyway", i);
        assert_no_secret("stderr", err, secrets);
        assert_no_secret("stdout", out, secrets);
        free(out);
        free(err);
    }
    unlink(good_file);
    unlink(bad_file);
    unlink(empty_file);
    rmdir(dir);
}
END_TEST

START_TEST(an_unknown_scope_exits_2_with_one_line_naming_the_key_and_the_scopes_not_the_secret) {
    char dir[64];
    make_test_dir(dir, sizeof dir, "keys");
    char file[128], file_env[160];
    write_file(dir, "scoped",
               "teller:Kp4-Secret-InFile-01\nops:Kp4-Secret-InFile-02:read\n"
               "ops.night:Kp4-Secret-InFile-03:writer\n",
               file, sizeof file);
    snprintf(file_env, sizeof file_env, "MX_API_KEYS_FILE=%s", file);
    const char *secrets[] = {"Kp4-Secret-Inline-03", "Kp4-Secret-InFile-01", "Kp4-Secret-InFile-02",
                             "Kp4-Secret-InFile-03", NULL};
    const struct {
        const char *env, *id, *scope;
    } cases[] = {
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03:writer", "teller", "writer"},
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03:READ", "teller", "READ"},
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03:", "teller", NULL},
        {"MX_API_KEYS=teller:Kp4-Secret-Inline-03:read:all", "teller", "read:all"},
        {file_env, "ops.night", "writer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *env[] = {cases[i].env, NULL};
        char *out = NULL, *err = NULL, id[64];
        int status = run_mondux(env, &out, &err);
        ck_assert_msg(status == 2 && count_lines(err) == 1, "%s: exit %d; stderr: '%s'",
                      cases[i].env, status, err);
        snprintf(id, sizeof id, "API key \"%s\" has an unknown scope", cases[i].id);
        ck_assert_msg(strstr(err, id) != NULL &&
                          strstr(err, "it must be all, read, teller or admin") != NULL,
                      "%s: stderr does not name the key and the scopes: '%s'", cases[i].env, err);
        /* The rest of the entry is not quoted: it may be the tail of a secret with a colon. */
        ck_assert_msg(cases[i].scope == NULL || strstr(err, cases[i].scope) == NULL,
                      "%s: stderr quotes the scope: '%s'", cases[i].env, err);
        ck_assert_msg(strstr(err, FT_LISTENING_PREFIX) == NULL, "%s: it listened", cases[i].env);
        assert_no_secret("stderr", err, secrets);
        assert_no_secret("stdout", out, secrets);
        free(out);
        free(err);
    }
    unlink(file);
    rmdir(dir);
}
END_TEST

/* Serves with MX_API_KEYS_FILE holding contents, which must configure exactly the teller and ops
 * keys: both open /api, nothing else does, and neither secret reaches a log. */
static void serve_with_keys_file(const char *contents) {
    char dir[64];
    make_test_dir(dir, sizeof dir, "keys");
    char file[128], file_env[160];
    write_file(dir, "keys", contents, file, sizeof file);
    snprintf(file_env, sizeof file_env, "MX_API_KEYS_FILE=%s", file);
    const char *env[] = {file_env, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    const char *right[] = {BEARER(TELLER_SECRET), BEARER(OPS_SECRET)};
    for (size_t i = 0; i < 2; i++) {
        struct ft_response *r = request_as(right[i], "POST", "/api/accounts", NULL, NULL);
        ft_assert_status(r, 201);
        ft_response_free(r);
    }
    const char *wrong[] = {NULL, BEARER("# an indented comment"), BEARER("teller")};
    for (size_t i = 0; i < 3; i++) {
        struct ft_response *r = request_as(wrong[i], "POST", "/api/accounts", NULL, NULL);
        assert_unauthorized(r);
        ft_response_free(r);
    }
    kill(server->pid, SIGTERM);
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, &err), 0);
    ck_assert_msg(strstr(err, "no API keys") == NULL, "a warning about keys while there are:\n%s",
                  err);
    const char *secrets[] = {TELLER_SECRET, OPS_SECRET, NULL};
    assert_no_secret("stdout", out, secrets);
    assert_no_secret("stderr", err, secrets);
    free(out);
    free(err);
    unlink(file);
    rmdir(dir);
}

START_TEST(api_keys_file_with_comments_and_blank_lines_configures_the_keys) {
    serve_with_keys_file("# Mondu X API keys\n"
                         "\n"
                         "teller:" TELLER_SECRET "\n"
                         "   # an indented comment\n"
                         "   \n"
                         "ops:" OPS_SECRET "\n");
}
END_TEST

START_TEST(a_comment_in_the_api_keys_file_runs_to_the_end_of_its_line) {
    /* Commas, colons and spaces in a comment are the comment's, not key separators. */
    serve_with_keys_file("# one key per line, as <id>:<secret>; no spaces, commas or colons\n"
                         "teller:" TELLER_SECRET "\n"
                         "# ops: the operators' dashboard, rotated monthly\n"
                         "ops:" OPS_SECRET "\n");
}
END_TEST

START_TEST(the_longest_id_and_the_shortest_and_longest_secrets_are_accepted) {
    char secret128[129], keys[400], bearer[200];
    for (int i = 0; i < 128; i++)
        secret128[i] = (char)('!' + (i * 7) % 90); /* printable, no space */
    for (int i = 0; i < 128; i++)
        if (secret128[i] == ',' || secret128[i] == ':')
            secret128[i] = 'q';
    secret128[128] = '\0';
    const char *id32 = "abcdefghijklmnopqrstuvwxyz_.-012";
    const char *secret16 = "Sixteen-chars-16";
    snprintf(keys, sizeof keys, "MX_API_KEYS=%s:%s,short:%s", id32, secret128, secret16);
    const char *env[] = {keys, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    const char *secrets[] = {secret128, secret16};
    for (size_t i = 0; i < 2; i++) {
        snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", secrets[i]);
        struct ft_response *r = request_as(bearer, "POST", "/api/accounts", NULL, NULL);
        ft_assert_status(r, 201);
        ft_response_free(r);
    }
    kill(server->pid, SIGTERM);
    char *out = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, &out, NULL), 0);
    ck_assert_msg(strstr(out, "\"client\":\"abcdefghijklmnopqrstuvwxyz_.-012\"") != NULL &&
                      strstr(out, "\"client\":\"short\"") != NULL,
                  "the access log does not name both clients:\n%s", out);
    free(out);
}
END_TEST

START_TEST(without_api_keys_the_server_warns_once_at_start_up_and_api_is_open) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    struct ft_response *r = request_as(NO_KEY, "POST", "/api/accounts", NULL, NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    /* With no keys configured, whatever Authorization says is not looked at. */
    r = request_as(BEARER("anything-at-all-here"), "POST", "/api/accounts", NULL, NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    kill(server->pid, SIGTERM);
    char *err = NULL;
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, &err), 0);
    int warnings = 0;
    for (const char *p = strstr(err, "no API keys"); p != NULL; p = strstr(p + 1, "no API keys"))
        warnings++;
    ck_assert_msg(warnings == 1, "%d warnings mentioning 'no API keys' on stderr:\n%s", warnings,
                  err);
    /* Said at start-up: before the server listens. */
    ck_assert_msg(strstr(err, "no API keys") < strstr(err, FT_LISTENING_PREFIX),
                  "the warning comes after the listening line:\n%s", err);
    free(err);

    /* With keys, no such warning. */
    const char *env[] = {API_KEYS, NULL};
    server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ck_assert_int_eq(kill(server->pid, SIGTERM), 0);
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, &err), 0);
    ck_assert_msg(strstr(err, "no API keys") == NULL, "warned although keys are set:\n%s", err);
    free(err);
}
END_TEST

int main(void) {
    Suite *s = suite_create("auth");
    FT_ADD_TEST(s, api_request_without_a_key_is_401_unauthorized_with_www_authenticate);
    FT_ADD_TEST(s, wrong_or_malformed_authorization_is_401_unauthorized);
    FT_ADD_TEST(s, bearer_scheme_is_case_insensitive);
    FT_ADD_TEST(s, two_authorization_headers_are_401_even_when_both_are_right);
    FT_ADD_TEST(s, the_right_key_opens_every_api_route);
    FT_ADD_TEST(s, health_readiness_metrics_and_the_page_need_no_key);
    FT_ADD_TEST(s, a_refused_request_changes_nothing);
    FT_ADD_TEST(s, a_read_key_may_get_and_head_and_anything_else_is_403_and_changes_nothing);
    FT_ADD_TEST(s, a_teller_key_moves_money_but_only_an_admin_key_changes_an_accounts_status);
    FT_ADD_TEST(s, idempotency_keys_are_scoped_per_api_key);
    FT_ADD_TEST(s, access_log_names_the_client_and_no_secret_reaches_the_logs);
    FT_ADD_TEST(s, invalid_api_key_configuration_exits_2_with_one_line_that_shows_no_secret);
    FT_ADD_TEST(
        s, an_unknown_scope_exits_2_with_one_line_naming_the_key_and_the_scopes_not_the_secret);
    FT_ADD_TEST(s, api_keys_file_with_comments_and_blank_lines_configures_the_keys);
    FT_ADD_TEST(s, a_comment_in_the_api_keys_file_runs_to_the_end_of_its_line);
    FT_ADD_TEST(s, the_longest_id_and_the_shortest_and_longest_secrets_are_accepted);
    FT_ADD_TEST(s, without_api_keys_the_server_warns_once_at_start_up_and_api_is_open);
    const char *env[] = {API_KEYS, NULL};
    return ft_main(s, 1, FT_DATABASE_URL, env);
}
