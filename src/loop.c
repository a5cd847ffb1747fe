/* The event loop (include/mondux/loop.h): epoll for descriptors, a binary heap of deadlines, and
 * a signalfd for the signals it was asked to take. */
#include "mondux/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* Events taken from the kernel per wait; more simply wait for the next turn. */
#define EVENTS_PER_WAIT 64
#define SIGNALS_MAX     8

struct signal_handler {
    int signo;
    mx_loop_fn *fn;
    void *arg;
};

struct mx_loop {
    int epoll_fd;
    uint64_t now_ns;
    int stopping;
    int again;
    int firing; /* in fire_timers: a timer armed now is due next turn at the earliest */

    /* Deadlines: a min-heap on deadline_ns; each timer knows its slot, so cancelling is O(log n).
     */
    struct mx_loop_timer **heap;
    size_t timers, heap_capacity;

    struct mx_loop_hook *hooks;

    /* The events of the wait being dispatched, so that a removed io loses its undelivered ones. */
    struct epoll_event events[EVENTS_PER_WAIT];
    int ready, next_ready;

    int signal_fd;
    sigset_t signals, mask_before;
    struct signal_handler handlers[SIGNALS_MAX];
    unsigned handler_count;
    struct mx_loop_io signal_io;
};

static uint64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

struct mx_loop *mx_loop_new(void) {
    struct mx_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) {
        free(loop);
        return NULL;
    }
    loop->signal_fd = -1;
    sigemptyset(&loop->signals);
    loop->now_ns = monotonic_ns();
    return loop;
}

void mx_loop_free(struct mx_loop *loop) {
    if (loop == NULL)
        return;
    if (loop->signal_fd >= 0) {
        /* Taken, not left pending: unblocked, a SIGTERM that came while stopping would kill the
         * process on its way out. */
        struct signalfd_siginfo info;
        while (read(loop->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        }
        close(loop->signal_fd);
        sigprocmask(SIG_SETMASK, &loop->mask_before, NULL);
    }
    close(loop->epoll_fd);
    free(loop->heap);
    free(loop);
}

/* ---- descriptors ------------------------------------------------------------------------------
 */

static uint32_t epoll_events(unsigned events) {
    return ((events & MX_LOOP_READ) ? EPOLLIN : 0u) | ((events & MX_LOOP_WRITE) ? EPOLLOUT : 0u);
}

int mx_loop_io_add(struct mx_loop *loop, struct mx_loop_io *io, int fd, unsigned events,
                   mx_loop_io_fn *fn, void *arg) {
    *io = (struct mx_loop_io){fd, events, fn, arg};
    struct epoll_event event = {.events = epoll_events(events), .data.ptr = io};
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

int mx_loop_io_change(struct mx_loop *loop, struct mx_loop_io *io, unsigned events) {
    if (io->events == events)
        return 0;
    struct epoll_event event = {.events = epoll_events(events), .data.ptr = io};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, io->fd, &event) != 0)
        return -1;
    io->events = events;
    return 0;
}

void mx_loop_io_remove(struct mx_loop *loop, struct mx_loop_io *io) {
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
    for (int i = loop->next_ready; i < loop->ready; i++)
        if (loop->events[i].data.ptr == io)
            loop->events[i].data.ptr = NULL;
    io->fd = -1;
}

/* ---- deadlines --------------------------------------------------------------------------------
 */

static void heap_place(struct mx_loop *loop, size_t at, struct mx_loop_timer *timer) {
    loop->heap[at] = timer;
    timer->slot = at + 1;
}

static void heap_up(struct mx_loop *loop, size_t at) {
    struct mx_loop_timer *timer = loop->heap[at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (loop->heap[parent]->deadline_ns <= timer->deadline_ns)
            break;
        heap_place(loop, at, loop->heap[parent]);
        at = parent;
    }
    heap_place(loop, at, timer);
}

static void heap_down(struct mx_loop *loop, size_t at) {
    struct mx_loop_timer *timer = loop->heap[at];
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= loop->timers)
            break;
        if (child + 1 < loop->timers &&
            loop->heap[child + 1]->deadline_ns < loop->heap[child]->deadline_ns)
            child++;
        if (timer->deadline_ns <= loop->heap[child]->deadline_ns)
            break;
        heap_place(loop, at, loop->heap[child]);
        at = child;
    }
    heap_place(loop, at, timer);
}

int mx_loop_timer_armed(const struct mx_loop_timer *timer) {
    return timer->slot != 0;
}

void mx_loop_timer_cancel(struct mx_loop *loop, struct mx_loop_timer *timer) {
    if (timer->slot == 0)
        return;
    size_t at = timer->slot - 1;
    timer->slot = 0;
    struct mx_loop_timer *last = loop->heap[--loop->timers];
    if (at == loop->timers)
        return;
    heap_place(loop, at, last);
    heap_up(loop, at);
    heap_down(loop, last->slot - 1);
}

int mx_loop_timer_set(struct mx_loop *loop, struct mx_loop_timer *timer, uint64_t after_ms,
                      mx_loop_fn *fn, void *arg) {
    mx_loop_timer_cancel(loop, timer);
    if (loop->timers == loop->heap_capacity) {
        size_t capacity = loop->heap_capacity != 0 ? 2 * loop->heap_capacity : 64;
        struct mx_loop_timer **heap = realloc(loop->heap, capacity * sizeof *heap);
        if (heap == NULL)
            return -1;
        loop->heap = heap;
        loop->heap_capacity = capacity;
    }
    timer->deadline_ns = loop->now_ns + after_ms * 1000000u + (loop->firing ? 1u : 0u);
    timer->fn = fn;
    timer->arg = arg;
    heap_place(loop, loop->timers++, timer);
    heap_up(loop, loop->timers - 1);
    return 0;
}

/* Fires every timer due at the start of this turn. One that a callback arms again, even for
 * 0 ms, waits for the next turn, so a repeating timer cannot starve the descriptors. */
static void fire_timers(struct mx_loop *loop) {
    loop->firing = 1;
    while (loop->timers > 0 && loop->heap[0]->deadline_ns <= loop->now_ns) {
        struct mx_loop_timer *timer = loop->heap[0];
        mx_loop_timer_cancel(loop, timer);
        timer->fn(timer->arg);
    }
    loop->firing = 0;
}

/* Milliseconds epoll_wait may sleep: until the earliest deadline (rounded up, so a timer never
 * wakes the loop just before it is due), forever without one, 0 when asked for another turn. */
static int wait_ms(const struct mx_loop *loop) {
    if (loop->again || loop->stopping)
        return 0;
    if (loop->timers == 0)
        return -1;
    uint64_t now = monotonic_ns(), due = loop->heap[0]->deadline_ns;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999999u) / 1000000u;
    return ms > 86400000u ? 86400000 : (int)ms;
}

/* ---- signals ----------------------------------------------------------------------------------
 */

static void on_signal_fd(void *arg, unsigned events) {
    (void)events;
    struct mx_loop *loop = arg;
    struct signalfd_siginfo info;
    while (read(loop->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        for (unsigned i = 0; i < loop->handler_count; i++)
            if (loop->handlers[i].signo == (int)info.ssi_signo)
                loop->handlers[i].fn(loop->handlers[i].arg);
    }
}

int mx_loop_on_signal(struct mx_loop *loop, int signo, mx_loop_fn *fn, void *arg) {
    if (loop->handler_count == SIGNALS_MAX) {
        errno = ENOSPC;
        return -1;
    }
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signo);
    sigset_t before;
    if (sigprocmask(SIG_BLOCK, &one, &before) != 0)
        return -1;
    if (loop->signal_fd < 0)
        loop->mask_before = before;
    sigaddset(&loop->signals, signo);
    int fd = signalfd(loop->signal_fd, &loop->signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (loop->signal_fd < 0) {
        loop->signal_fd = fd;
        if (mx_loop_io_add(loop, &loop->signal_io, fd, MX_LOOP_READ, on_signal_fd, loop) != 0)
            return -1;
    }
    loop->handlers[loop->handler_count++] = (struct signal_handler){signo, fn, arg};
    return 0;
}

/* ---- turns ------------------------------------------------------------------------------------
 */

void mx_loop_before_wait(struct mx_loop *loop, struct mx_loop_hook *hook, mx_loop_fn *fn,
                         void *arg) {
    *hook = (struct mx_loop_hook){fn, arg, NULL};
    struct mx_loop_hook **end = &loop->hooks;
    while (*end != NULL)
        end = &(*end)->next;
    *end = hook;
}

void mx_loop_forget(struct mx_loop *loop, struct mx_loop_hook *hook) {
    for (struct mx_loop_hook **at = &loop->hooks; *at != NULL; at = &(*at)->next)
        if (*at == hook) {
            *at = hook->next;
            return;
        }
}

void mx_loop_again(struct mx_loop *loop) {
    loop->again = 1;
}

uint64_t mx_loop_now_ns(const struct mx_loop *loop) {
    return loop->now_ns;
}

void mx_loop_stop(struct mx_loop *loop) {
    loop->stopping = 1;
}

static unsigned loop_events(uint32_t events) {
    return ((events & EPOLLIN) ? MX_LOOP_READ : 0u) | ((events & EPOLLOUT) ? MX_LOOP_WRITE : 0u) |
           ((events & (EPOLLERR | EPOLLHUP)) ? MX_LOOP_ERROR : 0u);
}

int mx_loop_run(struct mx_loop *loop) {
    while (!loop->stopping) {
        for (struct mx_loop_hook *hook = loop->hooks; hook != NULL; hook = hook->next)
            hook->fn(hook->arg);
        int timeout = wait_ms(loop);
        loop->again = 0;
        int ready = epoll_wait(loop->epoll_fd, loop->events, EVENTS_PER_WAIT, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        loop->now_ns = monotonic_ns();
        loop->ready = ready;
        for (loop->next_ready = 0; loop->next_ready < loop->ready;) {
            struct epoll_event *event = &loop->events[loop->next_ready++];
            struct mx_loop_io *io = event->data.ptr;
            if (io != NULL)
                io->fn(io->arg, loop_events(event->events));
        }
        loop->ready = loop->next_ready = 0;
        fire_timers(loop);
    }
    return 0;
}
