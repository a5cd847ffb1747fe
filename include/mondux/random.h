/* Random bytes from the operating system's CSPRNG. Declared here, with no dependency, so that
 * src/core can use it and still include nothing but the C library and its own headers; defined in
 * src/platform (random.c), the only code that asks the kernel. */
#ifndef MONDUX_RANDOM_H
#define MONDUX_RANDOM_H

#include <stddef.h>

/* Fills buffer[0..size) completely: 0, or -1 if the system refuses (buffer then unspecified).
 * Thread-safe; never blocks once the system's pool was seeded at boot. */
int mx_platform_random(void *buffer, size_t size);

#endif
