/* mx_platform_random with getrandom(2): the kernel's CSPRNG, without a descriptor to keep open. */
#include "mondux/random.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

int mx_platform_random(void *buffer, size_t size) {
    unsigned char *bytes = buffer;
    size_t filled = 0;
    /* A read of more than 256 bytes may return fewer, or be cut short by a signal. */
    while (filled < size) {
        ssize_t got = getrandom(bytes + filled, size - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        filled += (size_t)got;
    }
    return 0;
}
