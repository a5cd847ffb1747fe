/* Files compiled into the binary (db/migrations, db/functions.sql, web/, docs/openapi.yaml); see
 * cmake/EmbedGenerate.cmake. */
#ifndef MONDUX_EMBEDDED_H
#define MONDUX_EMBEDDED_H

#include <stddef.h>

struct mx_embedded_file {
    const char *name;           /* file name without directory, e.g. "0001_init.sql" */
    const unsigned char *bytes; /* NUL-terminated copy of the contents */
    size_t size;                /* without the terminating NUL */
    const char *etag;           /* quoted HTTP entity tag computed from the bytes at build time */
};

/* Sorted by name. The tables are static and read-only. */
extern const struct mx_embedded_file mx_migrations[];
extern const unsigned mx_migrations_count;
extern const struct mx_embedded_file mx_functions[];
extern const unsigned mx_functions_count;
extern const struct mx_embedded_file mx_web_files[];
extern const unsigned mx_web_files_count;
/* One entry: the OpenAPI document the binary was built with, served at /openapi.yaml. */
extern const struct mx_embedded_file mx_openapi_document[];
extern const unsigned mx_openapi_document_count;

#endif
