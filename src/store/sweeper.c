/* Deletes stored idempotent answers once they are older than the configured time to live, in
 * small batches, from a thread of its own with its own database connection. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mondux/log.h"
#include "store_internal.h"

/* Rows per DELETE: short transactions that never hold up the requests for long. */
#define SWEEP_BATCH      "1000"
#define SWEEP_BATCH_ROWS 1000

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running;
    int stopping;
    char ttl[24];
    unsigned interval_seconds;
} sweeper = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Deletes batches until one comes back short; a failure waits for the next round. */
static void sweep_once(void) {
    unsigned long removed = 0;
    for (;;) {
        const char *params[2] = {sweeper.ttl, SWEEP_BATCH};
        PGresult *result = NULL;
        if (mx_conn_exec(MX_STMT_IDEMPOTENCY_SWEEP, params, &result) != MX_OK)
            break;
        int rows = atoi(PQcmdTuples(result));
        PQclear(result);
        removed += (unsigned long)rows;
        pthread_mutex_lock(&sweeper.lock);
        int stopping = sweeper.stopping;
        pthread_mutex_unlock(&sweeper.lock);
        if (rows < SWEEP_BATCH_ROWS || stopping)
            break;
    }
    if (removed > 0)
        mx_log(MX_LOG_INFO, "removed %lu expired idempotency keys", removed);
}

static void *sweeper_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&sweeper.lock);
    while (!sweeper.stopping) {
        pthread_mutex_unlock(&sweeper.lock);
        sweep_once();
        pthread_mutex_lock(&sweeper.lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)sweeper.interval_seconds;
        while (!sweeper.stopping &&
               pthread_cond_timedwait(&sweeper.wake, &sweeper.lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&sweeper.lock);
    mx_conn_close_thread();
    return NULL;
}

mx_status mx_store_sweeper_start(unsigned ttl_seconds, unsigned interval_seconds) {
    if (interval_seconds == 0)
        return MX_OK;
    snprintf(sweeper.ttl, sizeof sweeper.ttl, "%u", ttl_seconds);
    sweeper.interval_seconds = interval_seconds;
    sweeper.stopping = 0;
    /* The deadline is measured on the monotonic clock, which a wall-clock jump cannot move. */
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return MX_INTERNAL;
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&sweeper.wake, &attributes);
    pthread_condattr_destroy(&attributes);
    if (rc != 0)
        return MX_INTERNAL;
    if (pthread_create(&sweeper.thread, NULL, sweeper_main, NULL) != 0) {
        pthread_cond_destroy(&sweeper.wake);
        return MX_INTERNAL;
    }
    sweeper.running = 1;
    return MX_OK;
}

void mx_store_sweeper_stop(void) {
    if (!sweeper.running)
        return;
    pthread_mutex_lock(&sweeper.lock);
    sweeper.stopping = 1;
    pthread_cond_signal(&sweeper.wake);
    pthread_mutex_unlock(&sweeper.lock);
    pthread_join(sweeper.thread, NULL);
    pthread_cond_destroy(&sweeper.wake);
    sweeper.running = 0;
}
