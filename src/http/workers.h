/* A fixed set of threads that run jobs which may block (workers.c). */
#ifndef MONDUX_HTTP_WORKERS_H
#define MONDUX_HTTP_WORKERS_H

#include "mondux/status.h"

struct mx_workers;

/* Starts count threads. On MX_OK *out is new (mx_workers_stop releases it). */
mx_status mx_workers_start(unsigned count, struct mx_workers **out);

/* Queues run(arg) for the next free thread; MX_INTERNAL (nothing queued) when out of memory. */
mx_status mx_workers_submit(struct mx_workers *workers, void (*run)(void *arg), void *arg);

/* Runs what is queued, then ends the threads and frees workers (NULL is fine). */
void mx_workers_stop(struct mx_workers *workers);

#endif
