/* The listening socket, made before anything else starts (http.h: mx_http_listen), so that a HOST
 * or PORT that cannot be used is known at once, not after waiting for the database. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mondux/http.h"

/* Why bind() refused, in the words of the variable to change. */
static const char *bind_hint(int error) {
    switch (error) {
    case EADDRINUSE:
        return " (another program listens on PORT)";
    case EADDRNOTAVAIL:
        return " (HOST is not an address of this machine)";
    case EACCES:
        return " (a PORT below 1024 needs privileges)";
    default:
        return "";
    }
}

mx_status mx_http_listen(const char *host, unsigned port, struct mx_http_listener *out, char *error,
                         size_t error_size) {
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) {
        snprintf(error, error_size, "HOST %s does not resolve: %s", host, gai_strerror(rc));
        return MX_INVALID_REQUEST;
    }
    int is_ipv6 = found->ai_family == AF_INET6;
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(error, error_size, "cannot make a socket to listen on: %s", strerror(errno));
        freeaddrinfo(found);
        return MX_INTERNAL;
    }
    /* As libmicrohttpd sets them on a socket of its own: a restart may bind at once while the
     * previous run's connections linger in TIME_WAIT, and an IPv6 HOST serves IPv6 only. */
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (is_ipv6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    int bound = bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
    freeaddrinfo(found);
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (!bound || getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
        int reason = errno;
        snprintf(error, error_size, "cannot listen on HOST %s, PORT %u: %s%s", host, port,
                 strerror(reason), bind_hint(reason));
        close(fd);
        return MX_INVALID_REQUEST;
    }
    out->fd = fd;
    out->is_ipv6 = is_ipv6;
    out->port = is_ipv6 ? ntohs(((struct sockaddr_in6 *)&address)->sin6_port)
                        : ntohs(((struct sockaddr_in *)&address)->sin_port);
    return MX_OK;
}
