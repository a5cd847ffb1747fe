/* A fixed set of threads that run jobs which may block (workers.c). */
#ifndef MONDUX_HTTP_WORKERS_H
#define MONDUX_HTTP_WORKERS_H

#include "mondux/status.h"

struct mx_workers;

/* Starts count threads (and one that refuses the jobs that waited too long). On MX_OK *out is new
 * (mx_workers_stop releases it). */
mx_status mx_workers_start(unsigned count, struct mx_workers **out);

/* A job still waiting for a thread after this long is not run but refused: its client had better
 * retry than wait on (every thread is stuck, e.g. on a database that does not answer). */
#define MX_WORKERS_MAX_WAIT_SECONDS 10

/* Queues run(arg, 0) for the next free thread -- or, once it has waited
 * MX_WORKERS_MAX_WAIT_SECONDS, run(arg, 1) on another thread, which must only refuse it, quickly.
 * MX_INTERNAL (nothing queued) when out of memory. */
mx_status mx_workers_submit(struct mx_workers *workers, void (*run)(void *arg, int expired),
                            void *arg);

/* Runs what is queued, then ends the threads and frees workers (NULL is fine). */
void mx_workers_stop(struct mx_workers *workers);

#endif
