/* The event loop: one thread waits on descriptors, deadlines and signals, and calls back.
 *
 * It knows neither HTTP nor SQL. The HTTP server and the database connections hand it their
 * descriptors, deadlines and callbacks; main wires them. Everything a callback touches belongs
 * to the loop's thread, so nothing here locks.
 *
 * One turn: wait (epoll) until a descriptor is ready, the earliest deadline passes or a signal
 * comes -> call the ready descriptors' callbacks -> call the expired timers' callbacks -> call
 * every "before wait" hook (where batches are sent and libmicrohttpd's timeout is read). */
#ifndef MONDUX_LOOP_H
#define MONDUX_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct mx_loop;

/* What a descriptor waits for, and what it got (ERROR: hang-up or error, always reported). */
enum {
    MX_LOOP_READ = 1u << 0,
    MX_LOOP_WRITE = 1u << 1,
    MX_LOOP_ERROR = 1u << 2,
};

typedef void mx_loop_io_fn(void *arg, unsigned events);
typedef void mx_loop_fn(void *arg);

/* A watched descriptor. The caller owns the struct (usually inside its own state) and keeps it
 * until mx_loop_io_remove; the fields are the loop's. */
struct mx_loop_io {
    int fd;
    unsigned events;
    mx_loop_io_fn *fn;
    void *arg;
};

/* A deadline. Owned by the caller like mx_loop_io; zero-initialised means "not armed". */
struct mx_loop_timer {
    uint64_t deadline_ns; /* on the loop's monotonic clock */
    size_t slot;          /* 1 + its place in the loop's heap; 0 when not armed */
    mx_loop_fn *fn;
    void *arg;
};

/* Called before each wait, in the order added. */
struct mx_loop_hook {
    mx_loop_fn *fn;
    void *arg;
    struct mx_loop_hook *next;
};

/* NULL when the kernel refuses an epoll descriptor or memory runs out. */
struct mx_loop *mx_loop_new(void);
/* Closes the loop's own descriptors (not the watched ones) and restores the signal mask. */
void mx_loop_free(struct mx_loop *loop);

/* 0 on success, -1 with errno set. */
int mx_loop_io_add(struct mx_loop *loop, struct mx_loop_io *io, int fd, unsigned events,
                   mx_loop_io_fn *fn, void *arg);
int mx_loop_io_change(struct mx_loop *loop, struct mx_loop_io *io, unsigned events);
/* Safe from inside any callback, the io's own included: an event of this turn that was not yet
 * delivered to it is dropped. Call it before closing the descriptor. */
void mx_loop_io_remove(struct mx_loop *loop, struct mx_loop_io *io);

/* Arms (or re-arms) a timer to fire once, after_ms from the start of this turn. 0 on success,
 * -1 when memory runs out. */
int mx_loop_timer_set(struct mx_loop *loop, struct mx_loop_timer *timer, uint64_t after_ms,
                      mx_loop_fn *fn, void *arg);
void mx_loop_timer_cancel(struct mx_loop *loop, struct mx_loop_timer *timer);
int mx_loop_timer_armed(const struct mx_loop_timer *timer);

/* Blocks signo for the whole process and delivers it as an event of the loop instead (signalfd).
 * Call before other threads start, so that they inherit the mask. 0 or -1 with errno. */
int mx_loop_on_signal(struct mx_loop *loop, int signo, mx_loop_fn *fn, void *arg);

void mx_loop_before_wait(struct mx_loop *loop, struct mx_loop_hook *hook, mx_loop_fn *fn,
                         void *arg);
/* Takes a hook out again; not from inside a hook. */
void mx_loop_forget(struct mx_loop *loop, struct mx_loop_hook *hook);

/* The next wait does not sleep: something made work that the hooks of one more turn must see. */
void mx_loop_again(struct mx_loop *loop);

/* The monotonic time at the start of this turn, in nanoseconds. */
uint64_t mx_loop_now_ns(const struct mx_loop *loop);

/* Runs turns until mx_loop_stop; 0 then, or -1 if epoll_wait failed for good. */
int mx_loop_run(struct mx_loop *loop);
/* The current turn is the last one. */
void mx_loop_stop(struct mx_loop *loop);

#endif
