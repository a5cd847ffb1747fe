/* apply_batch (db/functions.sql), called directly with SQL so that one batch is sure to hold every
 * case at once: each operation gets the answer it would have got alone, in arrival order; a hot
 * account is one row update; keyed operations store their outcome with their effect and replay
 * it; an account held elsewhere refuses only its own operations. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* One batch; its answer as "ord:outcome[+replayed]:balance:other_balance" per operation. */
#define BATCH_ANSWER                                                                               \
    "SELECT string_agg(concat_ws(':', o_ord, o_outcome || CASE WHEN o_replayed THEN '+r'"          \
    " ELSE '' END, coalesce(o_balance::text, '-'), coalesce(o_other_balance::text, '-')), ' '"     \
    " ORDER BY o_ord) FROM apply_batch($1, $2, $3, $4, NULL, NULL, NULL, NULL, $5, $6, $7, NULL, " \
    "$8)"

struct batch {
    const char *kinds, *accounts, *others, *amounts, *clients, *keys, *fingerprints;
};

static char *run_batch(const struct batch *b, const char *skip_locked) {
    return strdup(ft_sql_text(BATCH_ANSWER, b->kinds, b->accounts, b->others, b->amounts,
                              b->clients, b->keys, b->fingerprints, skip_locked,
                              (const char *)NULL));
}

/* The same on a connection of its own, for when the harness's holds a row lock. */
static char *run_batch_elsewhere(const struct batch *b, const char *skip_locked, char sqlstate[6]) {
    char conninfo[512];
    ft_conninfo(ft_db(), conninfo, sizeof conninfo);
    PGconn *pg = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    const char *params[8] = {b->kinds,   b->accounts, b->others,       b->amounts,
                             b->clients, b->keys,     b->fingerprints, skip_locked};
    PGresult *result = PQexecParams(pg, BATCH_ANSWER, 8, NULL, params, NULL, NULL, 0);
    char *answer = NULL;
    sqlstate[0] = '\0';
    if (PQresultStatus(result) == PGRES_TUPLES_OK)
        answer = strdup(PQgetvalue(result, 0, 0));
    else
        snprintf(sqlstate, 6, "%s", PQresultErrorField(result, PG_DIAG_SQLSTATE));
    PQclear(result);
    PQfinish(pg);
    return answer;
}

static void assert_answer(char *answer, const char *expected) {
    ck_assert_msg(answer != NULL && strcmp(answer, expected) == 0,
                  "batch answered\n  %s\nnot\n  %s", answer != NULL ? answer : "(error)", expected);
    free(answer);
}

#define LIST(...) ("{" __VA_ARGS__ "}")
/* Room for a list of n account numbers: each with its comma, and the braces. */
#define LIST_SIZE(n) ((n) * (FT_ACCOUNT_SIZE + 1) + 2)

START_TEST(one_batch_gives_each_operation_the_answer_it_would_get_alone_in_arrival_order) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], c[FT_ACCOUNT_SIZE], d[FT_ACCOUNT_SIZE],
        e[FT_ACCOUNT_SIZE], unknown[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_move(a, "deposit", 1000);
    ft_create_account(b);
    ft_move(b, "deposit", 100);
    ft_create_account(c);
    ft_move(c, "deposit", 10);
    ft_create_account(d);
    ft_move(d, "deposit", FT_MAX_SAFE_CENTS - 5000);
    ft_create_account_with_overdraft(e, 100);
    ft_mistype(a, unknown);
    char accounts[LIST_SIZE(12)], others[LIST_SIZE(12)];
    /* 1 a+500, 2 b-80, 3 unknown+1, 4 b-50 (20 left: refused), 5 c-11 (floor), 6 b+5,
     * 7 d+6000 (ceiling), 8 e-60 (overdraft), 9 a->b 300, 10 c->a 11 (floor), 11 a->unknown,
     * 12 e->b 41 (overdraft: -60-41 < -100) */
    snprintf(accounts, sizeof accounts, "{%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s}", a, b, unknown, b,
             c, b, d, e, a, c, a, e);
    snprintf(others, sizeof others, "{NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,%s,%s,%s,%s}", b, a,
             unknown, b);
    struct batch batch = {
        LIST("deposit,withdraw,deposit,withdraw,withdraw,deposit,deposit,withdraw,transfer,"
             "transfer,transfer,transfer"),
        accounts,
        others,
        LIST("500,80,1,50,11,5,6000,60,300,11,1,41"),
        LIST("NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL"),
        LIST("NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL"),
        LIST("NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL")};
    assert_answer(run_batch(&batch, "false"),
                  "1:ok:1500:- 2:ok:20:- 3:account_not_found:-:- 4:insufficient_funds:-:- "
                  "5:insufficient_funds:-:- 6:ok:25:- 7:balance_limit_exceeded:-:- 8:ok:-60:- "
                  "9:ok:1200:325 10:insufficient_funds:-:- 11:account_not_found:-:- "
                  "12:insufficient_funds:-:-");
    ck_assert_int_eq(ft_balance(a), 1200);
    ck_assert_int_eq(ft_balance(b), 325);
    ck_assert_int_eq(ft_balance(c), 10);
    ck_assert_int_eq(ft_balance(d), FT_MAX_SAFE_CENTS - 5000);
    ck_assert_int_eq(ft_balance(e), -60);
    /* b's journal: each move with the balance it left, in arrival order. */
    ck_assert_str_eq(ft_sql_text("SELECT string_agg(j.kind || j.amount_cents || '>' ||"
                                 " j.balance_after_cents, ',' ORDER BY j.id)"
                                 " FROM entries j JOIN accounts x ON x.id = j.account_id"
                                 " WHERE x.account_number = $1",
                                 b, (const char *)NULL),
                     "deposit100>100,withdrawal-80>20,deposit5>25,transfer_in300>325");
    ft_assert_ledger_invariants();
}
END_TEST

/* Eight deposits and withdrawals on one account in one batch: one row update, eight entries. */
START_TEST(many_operations_on_one_hot_account_are_one_row_update_and_their_entries) {
    char hot[FT_ACCOUNT_SIZE];
    ft_create_account(hot);
    char accounts[LIST_SIZE(8)];
    snprintf(accounts, sizeof accounts, "{%s,%s,%s,%s,%s,%s,%s,%s}", hot, hot, hot, hot, hot, hot,
             hot, hot);
    const char *nulls = LIST("NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL");
    ft_sql_exec("BEGIN", (const char *)NULL);
    const char *answer =
        ft_sql_text(BATCH_ANSWER,
                    LIST("deposit,deposit,withdraw,withdraw,deposit,withdraw,deposit,"
                         "deposit"),
                    accounts, nulls, LIST("10,20,25,6,1,1,3,4"), nulls, nulls, nulls, "false",
                    (const char *)NULL);
    ck_assert_str_eq(answer, "1:ok:10:- 2:ok:30:- 3:ok:5:- 4:insufficient_funds:-:- 5:ok:6:- "
                             "6:ok:5:- 7:ok:8:- 8:ok:12:-");
    ck_assert_int_eq(ft_sql_int64("SELECT n_tup_upd FROM pg_stat_xact_user_tables"
                                  " WHERE relname = 'accounts'",
                                  (const char *)NULL),
                     1);
    ck_assert_int_eq(ft_sql_int64("SELECT n_tup_ins FROM pg_stat_xact_user_tables"
                                  " WHERE relname = 'entries'",
                                  (const char *)NULL),
                     7);
    ft_sql_exec("COMMIT", (const char *)NULL);
    ck_assert_int_eq(ft_balance(hot), 12);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(keyed_operations_store_their_outcome_with_the_effect_and_replay_it) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], fresh[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_move(a, "deposit", 100);
    ft_create_account(b);
    /* A number nobody has: a valid one made from a's by changing its first digits. */
    ft_mistype(a, fresh);
    char accounts[LIST_SIZE(5)], others[LIST_SIZE(5)];
    /* 1 deposit k1, 2 withdraw too much k2 (refused: stored too), 3 transfer k3, 4 the same
     * request as 1 in the same batch (a replay), 5 unkeyed deposit. */
    snprintf(accounts, sizeof accounts, "{%s,%s,%s,%s,%s}", a, a, a, a, b);
    snprintf(others, sizeof others, "{NULL,NULL,%s,NULL,NULL}", b);
    struct batch batch = {LIST("deposit,withdraw,transfer,deposit,deposit"),
                          accounts,
                          others,
                          LIST("50,1000,30,50,7"),
                          LIST("teller,teller,teller,teller,NULL"),
                          LIST("k1,k2,k3,k1,NULL"),
                          LIST("f1,f2,f3,f1,NULL")};
    assert_answer(run_batch(&batch, "false"),
                  "1:ok:150:- 2:insufficient_funds:-:- 3:ok:120:30 4:ok+r:150:- 5:ok:37:-");
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM idempotency_keys WHERE client = 'teller'"
                                  " AND key IN ('k1', 'k2', 'k3')",
                                  (const char *)NULL),
                     3);
    /* Sent again: every keyed one is its stored outcome, and nothing moves but the unkeyed. */
    assert_answer(run_batch(&batch, "false"), "1:ok+r:150:- 2:insufficient_funds+r:-:- "
                                              "3:ok+r:120:30 4:ok+r:150:- 5:ok:44:-");
    ck_assert_int_eq(ft_balance(a), 120);
    ck_assert_int_eq(ft_balance(b), 44);
    /* The same key for another request, or by another client. */
    char one[LIST_SIZE(1)];
    snprintf(one, sizeof one, "{%s}", a);
    struct batch other_request = {LIST("deposit"), one,        LIST("NULL"), LIST("51"),
                                  LIST("teller"),  LIST("k1"), LIST("f9")};
    assert_answer(run_batch(&other_request, "false"), "1:key_reused:-:-");
    struct batch other_client = {LIST("deposit"), one,        LIST("NULL"), LIST("50"),
                                 LIST("ops"),     LIST("k1"), LIST("f1")};
    assert_answer(run_batch(&other_client, "false"), "1:ok:170:-");
    /* A create with a key: replayed with its own number, whatever number the retry drew. */
    char create_number[LIST_SIZE(1)], retry_number[LIST_SIZE(1)];
    snprintf(create_number, sizeof create_number, "{%s}", fresh);
    snprintf(retry_number, sizeof retry_number, "{%s}", b); /* taken: were it used, number_taken */
    struct batch create = {LIST("create"), create_number, LIST("NULL"), LIST("500"),
                           LIST("teller"), LIST("k4"),    LIST("f4")};
    ck_assert_str_eq(
        ft_sql_text(
            "SELECT o_outcome || o_number || ':' || o_overdraft"
            " FROM apply_batch($1, $2, $3, $4, NULL, NULL, NULL, NULL, $5, $6, $7, NULL, false)",
            create.kinds, create.accounts, create.others, create.amounts, create.clients,
            create.keys, create.fingerprints, (const char *)NULL),
        ft_sql_text("SELECT 'ok' || $1 || ':500'", fresh, (const char *)NULL));
    create.accounts = retry_number;
    ck_assert_str_eq(
        ft_sql_text(
            "SELECT o_outcome || o_replayed || o_number"
            " FROM apply_batch($1, $2, $3, $4, NULL, NULL, NULL, NULL, $5, $6, $7, NULL, false)",
            create.kinds, create.accounts, create.others, create.amounts, create.clients,
            create.keys, create.fingerprints, (const char *)NULL),
        ft_sql_text("SELECT 'oktrue' || $1", fresh, (const char *)NULL));
    /* Without a key, a taken number is the caller's to draw again; nothing is made. */
    struct batch taken = {LIST("create"), retry_number, LIST("NULL"), LIST("0"),
                          LIST("NULL"),   LIST("NULL"), LIST("NULL")};
    assert_answer(run_batch(&taken, "false"), "1:number_taken:-:-");
    ft_assert_ledger_invariants();
}
END_TEST

/* A key stored by the older code path, with its rendered answer, replays as its outcome. */
START_TEST(a_key_stored_with_a_rendered_answer_replays_as_its_outcome) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_sql_exec("INSERT INTO idempotency_keys (client, key, fingerprint, http_status, body)"
                " VALUES ('', 'old', 'f', 409, '{\"error\": \"insufficient funds\","
                " \"code\": \"insufficient_funds\"}')",
                (const char *)NULL);
    char one[LIST_SIZE(1)];
    snprintf(one, sizeof one, "{%s}", a);
    struct batch batch = {LIST("withdraw"), one,         LIST("NULL"), LIST("5"),
                          LIST("\"\""),     LIST("old"), LIST("f")};
    assert_answer(run_batch(&batch, "false"), "1:insufficient_funds+r:-:-");
}
END_TEST

/* An account another session holds: waited for 5 s at most, then the whole call fails and changes
 * nothing; called again with skip_locked, only that account's operations are refused. */
START_TEST(an_account_held_elsewhere_refuses_only_its_own_operations) {
    char held[FT_ACCOUNT_SIZE], free_one[FT_ACCOUNT_SIZE];
    ft_create_account(held);
    ft_create_account(free_one);
    char accounts[LIST_SIZE(3)];
    snprintf(accounts, sizeof accounts, "{%s,%s,%s}", free_one, held, free_one);
    struct batch batch = {LIST("deposit,deposit,deposit"), accounts,
                          LIST("NULL,NULL,NULL"),          LIST("1,2,3"),
                          LIST("NULL,NULL,NULL"),          LIST("NULL,NULL,NULL"),
                          LIST("NULL,NULL,NULL")};
    ft_hold_account(held);
    char sqlstate[6];
    char *answer = run_batch_elsewhere(&batch, "false", sqlstate);
    ck_assert_msg(answer == NULL, "answered %s while the account was held", answer);
    ck_assert_str_eq(sqlstate, "55P03");
    assert_answer(run_batch_elsewhere(&batch, "true", sqlstate), "1:ok:1:- 2:busy:-:- 3:ok:4:-");
    ft_release_account();
    ck_assert_int_eq(ft_balance(held), 0);
    ck_assert_int_eq(ft_balance(free_one), 4);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(an_empty_batch_answers_nothing) {
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM apply_batch('{}', '{}', '{}', '{}', '{}',"
                                  " '{}', '{}', '{}', '{}', '{}', '{}', '{}', false)",
                                  (const char *)NULL),
                     0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("batch");
    FT_ADD_TEST(s, one_batch_gives_each_operation_the_answer_it_would_get_alone_in_arrival_order);
    FT_ADD_TEST(s, many_operations_on_one_hot_account_are_one_row_update_and_their_entries);
    FT_ADD_TEST(s, keyed_operations_store_their_outcome_with_the_effect_and_replay_it);
    FT_ADD_TEST(s, a_key_stored_with_a_rendered_answer_replays_as_its_outcome);
    FT_ADD_TEST(s, an_account_held_elsewhere_refuses_only_its_own_operations);
    FT_ADD_TEST(s, an_empty_batch_answers_nothing);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
