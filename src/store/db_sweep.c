/* The clean-up of expired Idempotency-Keys, as a deadline of the loop: every interval, batches of
 * at most SWEEP_BATCH_ROWS deletions, one after another until one comes back short -- short
 * transactions that never hold up the requests for long. */
#include "db_internal.h"
#include "mondux/log.h"

#define SWEEP_BATCH_ROWS 1000

static void sweep_start(void *arg);

static void sweep_done(struct mx_db_op *op) {
    struct db_sweep *sweep = op->arg;
    sweep->running = 0;
    if (op->status == MX_OK)
        sweep->removed += op->entry_count;
    if (op->status == MX_OK && op->entry_count == SWEEP_BATCH_ROWS) {
        sweep_start(sweep); /* more to go: the next batch at once */
        return;
    }
    if (sweep->removed > 0)
        mx_log(MX_LOG_INFO, "removed %lu expired idempotency keys", sweep->removed);
    sweep->removed = 0;
    mx_loop_timer_set(db_loop(sweep->db), &sweep->timer, sweep->interval_seconds * 1000ull,
                      sweep_start, sweep);
}

static void sweep_start(void *arg) {
    struct db_sweep *sweep = arg;
    if (sweep->running)
        return;
    sweep->running = 1;
    sweep->op.kind = MX_DB_SWEEP;
    sweep->op.amount = (int64_t)sweep->ttl_seconds;
    sweep->op.limit = SWEEP_BATCH_ROWS;
    sweep->op.done = sweep_done;
    sweep->op.arg = sweep;
    mx_db_submit(sweep->db, &sweep->op);
}

void mx_db_sweep_keys(struct mx_db *db, unsigned ttl_seconds, unsigned interval_seconds) {
    struct db_sweep *sweep = db_sweep_of(db);
    sweep->db = db;
    sweep->ttl_seconds = ttl_seconds;
    sweep->interval_seconds = interval_seconds;
    if (interval_seconds > 0) /* the first round at start-up */
        mx_loop_timer_set(db_loop(db), &sweep->timer, 0, sweep_start, sweep);
}
