/* GET /, /teller.css, /teller.js: the teller page, compiled into the binary from web/; and GET
 * /openapi.yaml, the API's description from docs/ (see cmake/Embed.cmake), so nothing is read
 * from disk at run time. Each answer carries the file's entity tag, computed from its bytes at
 * build time; a request whose If-None-Match names that tag is answered 304 without a body, so a
 * client revalidates instead of downloading again. */
#include <string.h>

#include "mondux/embedded.h"
#include "render.h"

/* The page loads nothing but its own files: no inline script or style (so injected markup could
 * not run), no other origin, no plugins, and no page may frame it. */
static const char page_policy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

static const struct {
    const char *suffix;
    const char *content_type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
};

static const char *content_type_of(const char *name) {
    size_t length = strlen(name);
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++) {
        size_t suffix_length = strlen(content_types[i].suffix);
        if (length >= suffix_length &&
            strcmp(name + length - suffix_length, content_types[i].suffix) == 0)
            return content_types[i].content_type;
    }
    return "application/octet-stream";
}

static const struct mx_embedded_file *find_file(const char *name) {
    for (unsigned i = 0; i < mx_web_files_count; i++) {
        if (strcmp(mx_web_files[i].name, name) == 0)
            return &mx_web_files[i];
    }
    return NULL;
}

static const char *skip_blanks(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* RFC 9110 13.1.2: If-None-Match is "*" or a comma-separated list of entity tags, compared weakly
 * (a W/ prefix is ignored). A tag may itself hold commas, so the list is read tag by tag; anything
 * malformed counts as no match, and a full answer is always a safe one. */
static int none_match_names(const char *header, const char *etag) {
    size_t etag_length = strlen(etag);
    const char *p = skip_blanks(header);
    if (*p == '*')
        return *skip_blanks(p + 1) == '\0';
    while (*p != '\0') {
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return 0;
        const char *close = strchr(p + 1, '"');
        if (close == NULL)
            return 0;
        size_t length = (size_t)(close - p) + 1;
        if (length == etag_length && memcmp(p, etag, length) == 0)
            return 1;
        p = skip_blanks(close + 1);
        if (*p == ',')
            p = skip_blanks(p + 1);
        else if (*p != '\0')
            return 0;
    }
    return 0;
}

/* Answers with file (static), or 304 when the request's If-None-Match names its tag. */
static void answer_file(const struct mx_request *request, struct mx_response *response,
                        const struct mx_embedded_file *file, const char *content_type,
                        const char *policy) {
    mx_api_response_free(response);
    response->etag = file->etag;
    response->content_security_policy = policy;
    response->body_is_static = 1;
    const char *if_none_match = request->header(request, "If-None-Match", NULL);
    response->body = (char *)file->bytes;
    response->body_size = file->size;
    if (if_none_match != NULL && none_match_names(if_none_match, file->etag)) {
        /* The body stays: libmicrohttpd never sends one with a 304, but states its size as
         * Content-Length, which RFC 9110 (8.6) allows only if it is the size of the 200 answer. */
        response->http_status = 304;
        response->content_type = NULL;
        return;
    }
    response->http_status = 200;
    response->content_type = content_type;
}

void mx_api_web_file(const struct mx_request *request, struct mx_response *response) {
    /* The route names the file; the path is not trusted to. */
    const char *name = strcmp(request->route, "/") == 0 ? "index.html" : request->route + 1;
    const struct mx_embedded_file *file = find_file(name);
    if (file == NULL) {
        mx_api_error(MX_NOT_FOUND, response);
        return;
    }
    answer_file(request, response, file, content_type_of(file->name), page_policy);
}

/* application/yaml (RFC 9512) has no charset parameter: YAML in a media type is UTF-8. A browser
 * downloads rather than renders it, so it needs no Content-Security-Policy. */
void mx_api_openapi(const struct mx_request *request, struct mx_response *response) {
    answer_file(request, response, &mx_openapi_document[0], "application/yaml", NULL);
}
