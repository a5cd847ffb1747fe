/* GET /: the landing page, compiled into the binary from web/. */
#include <string.h>

#include "mondux/embedded.h"
#include "render.h"

void mx_api_landing_page(const struct mx_request *request, struct mx_response *response) {
    (void)request;
    for (unsigned i = 0; i < mx_web_files_count; i++) {
        if (strcmp(mx_web_files[i].name, "index.html") == 0) {
            mx_api_response_free(response);
            response->http_status = 200;
            response->content_type = "text/html; charset=utf-8";
            response->body = (char *)mx_web_files[i].bytes;
            response->body_size = mx_web_files[i].size;
            response->body_is_static = 1;
            return;
        }
    }
    mx_api_error(MX_NOT_FOUND, response);
}
