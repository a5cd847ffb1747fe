/* A list of the open connections and a thread that shuts down those stuck receiving a request.
 * The list is touched only when a connection opens or closes; the request path just swaps one
 * atomic. */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* A watch's state is one atomic, so that the watchdog cutting a connection and its thread
 * starting to serve the request cannot both win: >= 0, receiving since then (monotonic seconds);
 * or one of these. */
#define WATCH_SERVING (-1LL) /* a request is being served: the clock stands */
#define WATCH_CUT     (-2LL) /* the watchdog has shut the socket down */

struct mx_watch {
    int fd;
    atomic_llong state;
    struct mx_watch *prev, *next;
};

struct mx_watchdog {
    pthread_t thread;
    pthread_mutex_t lock; /* guards the list and stopping */
    pthread_cond_t wake;
    int stopping;
    long long timeout_seconds;
    struct mx_watch *head;
};

static long long monotonic_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec;
}

/* Shutting the socket down (not closing it: the fd stays libmicrohttpd's) makes its next read
 * fail, and libmicrohttpd then closes the connection in its own thread. The lock keeps the fd
 * from being closed and reused while we do it: watches are closed under it, before the socket.
 * Cuts every connection receiving since before `before`, if it still is when cut. */
static void cut_receiving(struct mx_watchdog *watchdog, long long before) {
    for (struct mx_watch *w = watchdog->head; w != NULL; w = w->next) {
        long long since = atomic_load(&w->state);
        if (since >= 0 && since < before &&
            atomic_compare_exchange_strong(&w->state, &since, WATCH_CUT))
            shutdown(w->fd, SHUT_RDWR);
    }
}

static void *watchdog_main(void *arg) {
    struct mx_watchdog *watchdog = arg;
    pthread_mutex_lock(&watchdog->lock);
    while (!watchdog->stopping) {
        cut_receiving(watchdog, monotonic_seconds() - watchdog->timeout_seconds);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        while (!watchdog->stopping &&
               pthread_cond_timedwait(&watchdog->wake, &watchdog->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&watchdog->lock);
    return NULL;
}

mx_status mx_watchdog_start(unsigned request_timeout_seconds, struct mx_watchdog **out) {
    struct mx_watchdog *watchdog = calloc(1, sizeof *watchdog);
    if (watchdog == NULL)
        return MX_INTERNAL;
    watchdog->timeout_seconds = request_timeout_seconds;
    /* The wait is measured on the monotonic clock, which a wall-clock jump cannot move. */
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    int cond_rc = pthread_cond_init(&watchdog->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&watchdog->lock, NULL);
    if (cond_rc != 0 || pthread_create(&watchdog->thread, NULL, watchdog_main, watchdog) != 0) {
        if (cond_rc == 0)
            pthread_cond_destroy(&watchdog->wake);
        pthread_mutex_destroy(&watchdog->lock);
        free(watchdog);
        return MX_INTERNAL;
    }
    *out = watchdog;
    return MX_OK;
}

void mx_watchdog_cut_receiving_longer_than(struct mx_watchdog *watchdog, long long seconds) {
    pthread_mutex_lock(&watchdog->lock);
    cut_receiving(watchdog, monotonic_seconds() - seconds);
    pthread_mutex_unlock(&watchdog->lock);
}

void mx_watchdog_stop(struct mx_watchdog *watchdog) {
    if (watchdog == NULL)
        return;
    pthread_mutex_lock(&watchdog->lock);
    watchdog->stopping = 1;
    pthread_cond_signal(&watchdog->wake);
    pthread_mutex_unlock(&watchdog->lock);
    pthread_join(watchdog->thread, NULL);
    pthread_cond_destroy(&watchdog->wake);
    pthread_mutex_destroy(&watchdog->lock);
    free(watchdog);
}

struct mx_watch *mx_watch_open(struct mx_watchdog *watchdog, int fd) {
    struct mx_watch *watch = calloc(1, sizeof *watch);
    if (watch == NULL)
        return NULL;
    watch->fd = fd;
    atomic_init(&watch->state, monotonic_seconds());
    pthread_mutex_lock(&watchdog->lock);
    watch->next = watchdog->head;
    if (watchdog->head != NULL)
        watchdog->head->prev = watch;
    watchdog->head = watch;
    pthread_mutex_unlock(&watchdog->lock);
    return watch;
}

void mx_watch_close(struct mx_watchdog *watchdog, struct mx_watch *watch) {
    if (watch == NULL)
        return;
    pthread_mutex_lock(&watchdog->lock);
    if (watch->prev != NULL)
        watch->prev->next = watch->next;
    else
        watchdog->head = watch->next;
    if (watch->next != NULL)
        watch->next->prev = watch->prev;
    pthread_mutex_unlock(&watchdog->lock);
    free(watch);
}

/* Moves a watch (receiving or served) to `to`, unless the watchdog has cut it; says whether it
 * did. */
static int leave_receiving(struct mx_watch *watch, long long to) {
    long long state = atomic_load(&watch->state);
    while (state != WATCH_CUT && !atomic_compare_exchange_weak(&watch->state, &state, to)) {
    }
    return state != WATCH_CUT;
}

void mx_watch_request_begins(struct mx_watch *watch) {
    if (watch == NULL)
        return;
    /* Only a clock that runs restarts: never one that stands (served) or a cut. */
    long long state = atomic_load(&watch->state);
    long long now = monotonic_seconds();
    while (state >= 0 && !atomic_compare_exchange_weak(&watch->state, &state, now)) {
    }
}

int mx_watch_serving(struct mx_watch *watch) {
    return watch == NULL || leave_receiving(watch, WATCH_SERVING);
}

void mx_watch_receiving(struct mx_watch *watch) {
    if (watch != NULL)
        (void)leave_receiving(watch, monotonic_seconds());
}
