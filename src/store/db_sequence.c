/* The change feed's numbering rounds (sequence_events in db/functions.sql), as operations of the
 * loop: one 20 ms after moves commit, so that one round (and its commit) numbers the events of many
 * batches -- measured: rounds 2 ms apart cost transfers at 8 connections 29 % of their rate, 20 ms
 * apart nothing measurable -- and one every second besides, which finds the events of another
 * server that stopped before numbering them. A round that comes back full is followed by the next
 * at once. One runs at a time; with nothing to number a round writes nothing. */
#include "db_internal.h"

#define SEQUENCE_ROUND_EVENTS 10000
#define SEQUENCE_SOON_MS      20
#define SEQUENCE_IDLE_MS      1000

static void sequence_start(void *arg);

static void sequence_done(struct mx_db_op *op) {
    struct db_sequencer *s = op->arg;
    s->running = 0;
    int full = op->status == MX_OK && op->entry_count == SEQUENCE_ROUND_EVENTS;
    uint64_t next_ms = full ? 0 : s->wanted ? SEQUENCE_SOON_MS : SEQUENCE_IDLE_MS;
    s->soon = next_ms < SEQUENCE_IDLE_MS;
    s->wanted = 0;
    mx_loop_timer_set(db_loop(s->db), &s->timer, next_ms, sequence_start, s);
}

static void sequence_start(void *arg) {
    struct db_sequencer *s = arg;
    if (s->running)
        return;
    s->running = 1;
    s->wanted = 0;
    s->soon = 0;
    s->op.kind = MX_DB_SEQUENCE;
    s->op.limit = SEQUENCE_ROUND_EVENTS;
    s->op.done = sequence_done;
    s->op.arg = s;
    mx_db_submit(s->db, &s->op);
}

/* Moves have committed: their events want positions soon. */
static void moves_answered(void *arg) {
    struct db_sequencer *s = arg;
    if (s->running) {
        s->wanted = 1; /* the round under way may have started before these committed */
        return;
    }
    /* Sooner than the idle round, and never put off by the next batch. */
    if (!s->soon) {
        s->soon = 1;
        mx_loop_timer_set(db_loop(s->db), &s->timer, SEQUENCE_SOON_MS, sequence_start, s);
    }
}

void mx_db_sequence_events(struct mx_db *db) {
    struct db_sequencer *s = db_sequencer_of(db);
    s->db = db;
    db_on_moves_answered(db, moves_answered, s);
    mx_loop_timer_set(db_loop(db), &s->timer, 0, sequence_start, s);
}
