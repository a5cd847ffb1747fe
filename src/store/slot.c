/* The end of a slot's connection, in a file of its own: the pool (pool.c) closes the slots it
 * owns, connection.c the ones it holds, and so neither file calls the other back. */
#include "mondux/metrics.h"
#include "store_internal.h"

void mx_conn_slot_close(struct mx_conn_slot *slot) {
    if (slot->pg != NULL) {
        PQfinish(slot->pg);
        mx_metrics_db_connection(-1);
    }
    slot->pg = NULL;
}
