/* Reading values out of a PGresult: every number arrives as decimal text. */
#include <stdio.h>
#include <stdlib.h>

#include "store_internal.h"

int64_t mx_pg_int64(const PGresult *result, int row, int column) {
    return strtoll(PQgetvalue(result, row, column), NULL, 10);
}

void mx_pg_text(char *dst, size_t size, const PGresult *result, int row, int column) {
    snprintf(dst, size, "%s", PQgetvalue(result, row, column));
}
