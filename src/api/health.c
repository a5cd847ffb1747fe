/* GET /healthz: the process is up and serving (it does not ask the database). */
#include "render.h"

void mx_api_healthz(const struct mx_request *request, struct mx_response *response) {
    (void)request;
    mx_api_render_json(response, 200, json_pack("{s:s}", "status", "ok"));
}
