/* Raw HTTP for the tests: see raw_http.h. */
#include "raw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

double deadline_in(double seconds) {
    return ft_now() + seconds * ft_timeout_scale();
}

/* A non-blocking TCP connection to the server's port; asserting that it is established in time. */
int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        ck_assert_msg(errno == EINPROGRESS, "connect: %s", strerror(errno));
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int ready = poll(&p, 1, (int)(20000 * ft_timeout_scale()));
        int error = 0;
        socklen_t size = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        ck_assert_msg(ready == 1 && error == 0, "connect to port %d: %s", port,
                      ready == 1 ? strerror(error) : "timed out");
    }
    return fd;
}

/* Writes all of data before the deadline; 0 when the peer closed or the time ran out. */
int send_all(int fd, const char *data, size_t size, double deadline) {
    while (size > 0) {
        ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
        if (sent > 0) {
            data += sent;
            size -= (size_t)sent;
            continue;
        }
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        double left = deadline - ft_now();
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) < 0)
            return 0;
    }
    return 1;
}

/* The value of header name in head (case-insensitive), into out; NULL when absent. */
const char *raw_header(const char *head, const char *name, char *out, size_t size) {
    size_t length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, length) == 0 && start[length] == ':') {
            const char *value = start + length + 1;
            while (*value == ' ')
                value++;
            const char *end = strstr(value, "\r\n");
            snprintf(out, size, "%.*s", (int)(end != NULL ? end - value : (long)strlen(value)),
                     value);
            return out;
        }
    }
    return NULL;
}

/* Reads one answer from fd (a head, then Content-Length bytes of body) before the deadline. */
struct raw_response *read_response(int fd, double deadline) {
    struct raw_response *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    size_t size = 0, cap = 65536;
    char *data = malloc(cap + 1);
    ck_assert_ptr_nonnull(data);
    long body_length = -1;
    size_t head_length = 0;
    for (;;) {
        data[size] = '\0';
        if (body_length < 0) {
            char *end = strstr(data, "\r\n\r\n");
            if (end != NULL) {
                head_length = (size_t)(end - data) + 4;
                char value[32];
                *end = '\0';
                body_length = raw_header(data, "Content-Length", value, sizeof value) != NULL
                                  ? strtol(value, NULL, 10)
                                  : 0;
                *end = '\r';
            }
        }
        if (body_length >= 0 && size >= head_length + (size_t)body_length)
            break;
        if (size == cap) {
            cap *= 2;
            data = realloc(data, cap + 1);
            ck_assert_ptr_nonnull(data);
        }
        ssize_t got = recv(fd, data + size, cap - size, 0);
        if (got > 0) {
            size += (size_t)got;
            continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            break; /* closed: whatever arrived is all there is */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = deadline - ft_now();
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) < 0)
            break;
    }
    if (body_length >= 0 && size >= head_length + (size_t)body_length) {
        r->head = strndup(data, head_length);
        r->body = strndup(data + head_length, (size_t)body_length);
        ck_assert(r->head != NULL && r->body != NULL);
        if (strncmp(r->head, "HTTP/1.1 ", 9) == 0)
            r->status = atoi(r->head + 9);
        r->json = json_loadb(r->body, (size_t)body_length, 0, NULL);
    } else {
        r->head = strdup("");
        r->body = strndup(data, size);
    }
    free(data);
    return r;
}

void raw_free(struct raw_response *r) {
    if (r == NULL)
        return;
    free(r->head);
    free(r->body);
    json_decref(r->json);
    free(r);
}

/* Sends size bytes of request on a new connection and reads the answer. */
struct raw_response *exchange(int port, const char *request, size_t size) {
    int fd = connect_to(port);
    double deadline = deadline_in(30);
    ck_assert_msg(send_all(fd, request, size, deadline), "could not send the request");
    struct raw_response *r = read_response(fd, deadline);
    close(fd);
    return r;
}

/* Asserts an api.md error answer: status, JSON content type, the code and a message. */
void assert_raw_error(const struct raw_response *r, int status, const char *code,
                      const char *what) {
    char type[128];
    ck_assert_msg(r->status == status, "%s: status %d, not %d; head: %.300s body: %.300s", what,
                  r->status, status, r->head, r->body);
    ck_assert_msg(raw_header(r->head, "Content-Type", type, sizeof type) != NULL &&
                      strncmp(type, "application/json", 16) == 0,
                  "%s: not JSON: %s", what, r->head);
    const char *got = json_string_value(json_object_get(r->json, "code"));
    const char *message = json_string_value(json_object_get(r->json, "error"));
    ck_assert_msg(got != NULL && strcmp(got, code) == 0 && message != NULL && message[0] != '\0',
                  "%s: body %s, not code %s", what, r->body, code);
}
