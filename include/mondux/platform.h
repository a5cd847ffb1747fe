/* What the operating system tells of this process (src/platform, the only code that reads /proc).
 * Thread-safe; each call reads afresh. */
#ifndef MONDUX_PLATFORM_H
#define MONDUX_PLATFORM_H

#include "mondux/metrics.h"

/* Fills every figure of out, each -1 where the system would not tell it (no /proc, say). */
void mx_platform_process(struct mx_metrics_process *out);

#endif
