/* A handler's work handed to the database, and its answer rendered once it is done. */
#include "mondux/api.h"

static void later_done(struct mx_db_op *op) {
    struct mx_later *later = op->arg;
    later->wake(later); /* the HTTP layer calls finish and sends the answer */
}

void mx_api_submit(const struct mx_request *request, struct mx_response *response,
                   void (*finish)(struct mx_later *later, struct mx_response *response)) {
    struct mx_later *later = request->later;
    later->finish = finish;
    later->db = request->db;
    later->op.done = later_done;
    later->op.arg = later;
    if (later->op.client == NULL)
        later->op.client = request->client;
    mx_db_submit(request->db, &later->op);
    response->later = 1;
}
