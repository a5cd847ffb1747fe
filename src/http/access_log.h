/* One line per request on stdout. */
#ifndef MONDUX_HTTP_ACCESS_LOG_H
#define MONDUX_HTTP_ACCESS_LOG_H

#include <time.h>

/* Writes "<time> <method> <path> <status> <ms>ms id=<request id>". Control characters in the
 * (client-chosen) path are replaced so a request cannot forge log lines. Thread-safe. */
void mx_access_log(const char *method, const char *path, unsigned status,
                   const struct timespec *started, const char *request_id);

#endif
