/* Threads for the requests that wait for the database (transfers, history, creations, anything
 * with an Idempotency-Key): they run here, so that the few HTTP threads never wait and keep
 * serving every other connection meanwhile. Jobs run in the order they came; one that is still
 * queued after MX_WORKERS_MAX_WAIT_SECONDS is refused by the expiry thread instead, so nothing
 * waits without end behind workers that are all stuck. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct job {
    struct job *next;
    void (*run)(void *arg, int expired);
    void *arg;
    long long queued_ns; /* CLOCK_MONOTONIC */
};

struct mx_workers {
    pthread_mutex_t lock;
    pthread_cond_t queued;
    pthread_cond_t stop_signal; /* for the expiry thread's sleep (CLOCK_MONOTONIC) */
    struct job *head, *tail;    /* oldest first */
    int stopping;
    unsigned count;
    pthread_t *threads;
    pthread_t expiry;
    int expiry_started;
};

#define NS_PER_S    1000000000LL
#define MAX_WAIT_NS (MX_WORKERS_MAX_WAIT_SECONDS * NS_PER_S)

/* Nanoseconds, not rounded: a job is never refused before its full wait. */
static long long monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * NS_PER_S + now.tv_nsec;
}

/* The oldest job, taken off the queue; the caller holds the lock and knows there is one. */
static struct job *take_head(struct mx_workers *workers) {
    struct job *job = workers->head;
    workers->head = job->next;
    if (workers->head == NULL)
        workers->tail = NULL;
    return job;
}

/* Takes the job at the queue's head and runs it (expired: to refuse it) without the lock, which
 * the caller holds before and after. */
static void run_head(struct mx_workers *workers, int expired) {
    struct job *job = take_head(workers);
    pthread_mutex_unlock(&workers->lock);
    job->run(job->arg, expired);
    free(job);
    pthread_mutex_lock(&workers->lock);
}

static void *worker_main(void *arg) {
    struct mx_workers *workers = arg;
    pthread_mutex_lock(&workers->lock);
    for (;;) {
        while (workers->head == NULL && !workers->stopping)
            pthread_cond_wait(&workers->queued, &workers->lock);
        if (workers->head == NULL)
            break; /* stopping, and nothing is left to do */
        run_head(workers, 0);
    }
    pthread_mutex_unlock(&workers->lock);
    return NULL;
}

/* Refuses the jobs that have waited too long, each when its time is up. The queue is in arrival
 * order, so they are at its head; it sleeps until the head's deadline, or a second at most (a
 * new job does not wake it, and its deadline is at least that far). */
static void *expiry_main(void *arg) {
    struct mx_workers *workers = arg;
    pthread_mutex_lock(&workers->lock);
    while (!workers->stopping) {
        long long now = monotonic_ns();
        while (workers->head != NULL && now - workers->head->queued_ns >= MAX_WAIT_NS) {
            run_head(workers, 1);
            now = monotonic_ns();
        }
        long long wake = now + NS_PER_S;
        if (workers->head != NULL && workers->head->queued_ns + MAX_WAIT_NS < wake)
            wake = workers->head->queued_ns + MAX_WAIT_NS;
        struct timespec until = {.tv_sec = (time_t)(wake / NS_PER_S),
                                 .tv_nsec = (long)(wake % NS_PER_S)};
        while (!workers->stopping &&
               pthread_cond_timedwait(&workers->stop_signal, &workers->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&workers->lock);
    return NULL;
}

mx_status mx_workers_start(unsigned count, struct mx_workers **out) {
    struct mx_workers *workers = calloc(1, sizeof *workers);
    if (workers == NULL)
        return MX_INTERNAL;
    workers->threads = calloc(count, sizeof *workers->threads);
    if (workers->threads == NULL) {
        free(workers);
        return MX_INTERNAL;
    }
    pthread_mutex_init(&workers->lock, NULL);
    pthread_cond_init(&workers->queued, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&workers->stop_signal, &attributes);
    pthread_condattr_destroy(&attributes);
    for (; workers->count < count; workers->count++) {
        if (pthread_create(&workers->threads[workers->count], NULL, worker_main, workers) != 0) {
            mx_workers_stop(workers);
            return MX_INTERNAL;
        }
    }
    if (pthread_create(&workers->expiry, NULL, expiry_main, workers) != 0) {
        mx_workers_stop(workers);
        return MX_INTERNAL;
    }
    workers->expiry_started = 1;
    *out = workers;
    return MX_OK;
}

mx_status mx_workers_submit(struct mx_workers *workers, void (*run)(void *arg, int expired),
                            void *arg) {
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        return MX_INTERNAL;
    *job = (struct job){.run = run, .arg = arg, .queued_ns = monotonic_ns()};
    pthread_mutex_lock(&workers->lock);
    if (workers->tail != NULL)
        workers->tail->next = job;
    else
        workers->head = job;
    workers->tail = job;
    pthread_cond_signal(&workers->queued);
    pthread_mutex_unlock(&workers->lock);
    return MX_OK;
}

void mx_workers_stop(struct mx_workers *workers) {
    if (workers == NULL)
        return;
    pthread_mutex_lock(&workers->lock);
    workers->stopping = 1;
    pthread_cond_broadcast(&workers->queued);
    pthread_cond_broadcast(&workers->stop_signal);
    pthread_mutex_unlock(&workers->lock);
    if (workers->expiry_started)
        pthread_join(workers->expiry, NULL);
    for (unsigned i = 0; i < workers->count; i++)
        pthread_join(workers->threads[i], NULL);
    pthread_cond_destroy(&workers->stop_signal);
    pthread_cond_destroy(&workers->queued);
    pthread_mutex_destroy(&workers->lock);
    free(workers->threads);
    free(workers);
}
