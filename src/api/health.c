/* GET /healthz, GET /readyz and GET /metrics: what operators and orchestrators ask. */

#include "render.h"

#include "mondux/metrics.h"
#include "mondux/platform.h"

/* The process is up and serving; it does not ask the database, so a database outage never gets
 * a healthy process restarted. */
void mx_api_healthz(const struct mx_request *request, struct mx_response *response) {
    (void)request;
    mx_api_render_json(response, 200, json_pack("{s:s}", "status", "ok"));
}

/* Ready to serve money: the database answers now (a load balancer sends traffic elsewhere
 * meanwhile). */
static void render_ready(struct mx_later *later, struct mx_response *response) {
    if (later->op.status != MX_OK) {
        mx_api_error(MX_UNAVAILABLE, response);
        return;
    }
    mx_api_render_json(response, 200, json_pack("{s:s}", "status", "ready"));
}

void mx_api_readyz(const struct mx_request *request, struct mx_response *response) {
    request->later->op.kind = MX_DB_PING;
    mx_api_submit(request, response, render_ready);
}

/* Prometheus text format, version 0.0.4. */
void mx_api_metrics(const struct mx_request *request, struct mx_response *response) {
    (void)request;
    struct mx_metrics_process process;
    mx_platform_process(&process);
    size_t size = 0;
    char *text = mx_metrics_render(&process, &size);
    if (text == NULL) {
        mx_api_error(MX_INTERNAL, response);
        return;
    }
    mx_api_response_free(response);
    response->http_status = 200;
    response->content_type = "text/plain; version=0.0.4; charset=utf-8";
    response->body = text;
    response->body_size = size;
    response->body_is_static = 0;
}
