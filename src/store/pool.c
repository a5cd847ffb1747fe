/* The database connections the request threads share. However many threads serve HTTP, they never
 * hold more connections than the pool has, so the server stays within the database's
 * max_connections (100 by default) and a second server beside it still fits. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "mondux/metrics.h"
#include "store_internal.h"

/* How long a request waits for a connection to come free before it answers 503. Connections are
 * held for one statement or one short transaction, so a wait this long means the database is
 * stuck, not busy. */
#define POOL_WAIT_SECONDS 10

static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct mx_conn_slot *slots;
    struct mx_conn_slot **free_slots; /* a stack: the connection used last is warmest */
    unsigned size, free_count;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

mx_status mx_pool_init(unsigned size) {
    if (size == 0)
        return MX_INTERNAL;
    pool.slots = calloc(size, sizeof *pool.slots);
    pool.free_slots = calloc(size, sizeof *pool.free_slots);
    if (pool.slots == NULL || pool.free_slots == NULL) {
        mx_pool_close();
        return MX_INTERNAL;
    }
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.freed, &attributes);
    pthread_condattr_destroy(&attributes);
    pool.size = size;
    for (unsigned i = 0; i < size; i++)
        pool.free_slots[i] = &pool.slots[size - 1 - i];
    pool.free_count = size;
    mx_metrics_db_pool(pool.size, pool.free_count);
    return MX_OK;
}

struct mx_conn_slot *mx_pool_acquire(void) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += POOL_WAIT_SECONDS;
    pthread_mutex_lock(&pool.lock);
    int waited = 0;
    while (pool.free_count == 0) {
        waited = 1;
        if (pthread_cond_timedwait(&pool.freed, &pool.lock, &deadline) == ETIMEDOUT &&
            pool.free_count == 0)
            break;
    }
    struct mx_conn_slot *slot = pool.free_count > 0 ? pool.free_slots[--pool.free_count] : NULL;
    mx_metrics_db_pool(pool.size, pool.free_count);
    pthread_mutex_unlock(&pool.lock);
    if (waited)
        mx_metrics_db(slot != NULL ? MX_METRICS_DB_POOL_WAIT : MX_METRICS_DB_POOL_TIMEOUT);
    return slot;
}

void mx_pool_release(struct mx_conn_slot *slot) {
    pthread_mutex_lock(&pool.lock);
    pool.free_slots[pool.free_count++] = slot;
    mx_metrics_db_pool(pool.size, pool.free_count);
    pthread_cond_signal(&pool.freed);
    pthread_mutex_unlock(&pool.lock);
}

void mx_pool_close(void) {
    for (unsigned i = 0; pool.slots != NULL && i < pool.size; i++)
        mx_conn_slot_close(&pool.slots[i]);
    free(pool.slots);
    free(pool.free_slots);
    pool.slots = NULL;
    pool.free_slots = NULL;
    if (pool.size > 0)
        pthread_cond_destroy(&pool.freed);
    pool.size = pool.free_count = 0;
    mx_metrics_db_pool(0, 0);
}
