/* Where a handler waits: later (struct mx_later), or elsewhere (mx_api_elsewhere). */
#include "mondux/api.h"

void mx_api_later_done(void *later_ptr, mx_status status) {
    struct mx_later *later = later_ptr;
    later->status = status;
    later->wake(later); /* the last touch: the HTTP layer may answer and free the request now */
}

int mx_api_elsewhere(const struct mx_request *request, struct mx_response *response) {
    if (request->can_block)
        return 0;
    response->elsewhere = 1;
    return 1;
}
