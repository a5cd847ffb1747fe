/* Threads for the requests that wait for the database (transfers, history, creations, anything
 * with an Idempotency-Key): they run here, so that the few HTTP threads never wait and keep
 * serving every other connection meanwhile. Jobs run in the order they came. */
#include "workers.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
    struct job *next;
    void (*run)(void *arg);
    void *arg;
};

struct mx_workers {
    pthread_mutex_t lock;
    pthread_cond_t queued;
    struct job *head, *tail;
    int stopping;
    unsigned count;
    pthread_t *threads;
};

static void *worker_main(void *arg) {
    struct mx_workers *workers = arg;
    pthread_mutex_lock(&workers->lock);
    for (;;) {
        while (workers->head == NULL && !workers->stopping)
            pthread_cond_wait(&workers->queued, &workers->lock);
        struct job *job = workers->head;
        if (job == NULL)
            break; /* stopping, and nothing is left to do */
        workers->head = job->next;
        if (workers->head == NULL)
            workers->tail = NULL;
        pthread_mutex_unlock(&workers->lock);
        job->run(job->arg);
        free(job);
        pthread_mutex_lock(&workers->lock);
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
    for (; workers->count < count; workers->count++) {
        if (pthread_create(&workers->threads[workers->count], NULL, worker_main, workers) != 0) {
            mx_workers_stop(workers);
            return MX_INTERNAL;
        }
    }
    *out = workers;
    return MX_OK;
}

mx_status mx_workers_submit(struct mx_workers *workers, void (*run)(void *arg), void *arg) {
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        return MX_INTERNAL;
    *job = (struct job){NULL, run, arg};
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
    pthread_mutex_unlock(&workers->lock);
    for (unsigned i = 0; i < workers->count; i++)
        pthread_join(workers->threads[i], NULL);
    pthread_cond_destroy(&workers->queued);
    pthread_mutex_destroy(&workers->lock);
    free(workers->threads);
    free(workers);
}
