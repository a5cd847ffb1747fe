/* idle_conns — open many HTTP connections to a server and hold them, for scripts/bench's memory
 * check (peak RSS with 1,000 open connections).
 *
 *   idle_conns HOST PORT COUNT HOLD_SECONDS [PATH]
 *
 * Opens COUNT TCP connections to HOST:PORT (an IPv4 address). With PATH, sends one keep-alive
 * "GET PATH" on each and reads its whole answer, so that every connection has served a request
 * and sits idle the way a keep-alive client leaves it. Then prints "ready OPENED ANSWERED_2XX"
 * on stdout, holds the connections HOLD_SECONDS, checks how many the server kept open, prints
 * "held N" and closes them all. Exit status 0 when all COUNT were opened (and answered 2xx, with
 * PATH), 1 otherwise. Built by bench/run with the C compiler alone: libc, no other library. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Reads one HTTP/1.1 response with a Content-Length body; its status, or -1. */
static int read_response(int fd) {
    char buffer[16384];
    size_t have = 0;
    for (;;) {
        ssize_t got = recv(fd, buffer + have, sizeof buffer - 1 - have, 0);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        buffer[have] = '\0';
        char *end = strstr(buffer, "\r\n\r\n");
        if (end == NULL) {
            if (have >= sizeof buffer - 1)
                return -1;
            continue;
        }
        int status = 0;
        if (sscanf(buffer, "HTTP/1.%*d %d", &status) != 1)
            return -1;
        size_t length = 0;
        for (char *line = strstr(buffer, "\r\n"); line != NULL && line < end;
             line = strstr(line + 2, "\r\n")) {
            if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
                length = strtoul(line + 2 + 15, NULL, 10);
        }
        size_t header = (size_t)(end + 4 - buffer);
        size_t body = have - header;
        while (body < length) {
            char sink[4096];
            size_t want = length - body < sizeof sink ? length - body : sizeof sink;
            got = recv(fd, sink, want, 0);
            if (got <= 0)
                return -1;
            body += (size_t)got;
        }
        return status;
    }
}

/* Still open: nothing to read (or data, which would be odd), rather than end of file or error. */
static int still_open(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) < 0)
        return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP))
        return 0;
    if (p.revents & POLLIN) {
        char c;
        return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: idle_conns HOST PORT COUNT HOLD_SECONDS [PATH]\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int count = atoi(argv[3]);
    int hold = atoi(argv[4]);
    const char *path = argc == 6 ? argv[5] : NULL;
    if (port <= 0 || port > 65535 || count <= 0 || hold < 0) {
        fprintf(stderr, "idle_conns: bad arguments\n");
        return 2;
    }
    /* One descriptor per connection, and a few more. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)count + 64) {
        limit.rlim_cur = limit.rlim_max;
        if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (rlim_t)count + 64) {
            fprintf(stderr, "idle_conns: descriptor limit %lu is below %d\n",
                    (unsigned long)limit.rlim_max, count + 64);
            return 1;
        }
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: HOST must be an IPv4 address, not %s\n", host);
        return 2;
    }
    int *fds = calloc((size_t)count, sizeof *fds);
    if (fds == NULL)
        return 1;
    int opened = 0, answered = 0;
    struct timeval timeout = {.tv_sec = 10};
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            fprintf(stderr, "idle_conns: socket: %s\n", strerror(errno));
            break;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            fprintf(stderr, "idle_conns: connect #%d: %s\n", i + 1, strerror(errno));
            close(fd);
            break;
        }
        fds[opened++] = fd;
    }
    if (path != NULL) {
        /* All requests first, then all answers: the server works on them concurrently. */
        char request[2048];
        int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path,
                         host, port);
        if (n < 0 || (size_t)n >= sizeof request)
            return 2;
        for (int i = 0; i < opened; i++) {
            if (send(fds[i], request, (size_t)n, MSG_NOSIGNAL) != n)
                fprintf(stderr, "idle_conns: send #%d failed\n", i + 1);
        }
        for (int i = 0; i < opened; i++) {
            int status = read_response(fds[i]);
            if (status >= 200 && status <= 299)
                answered++;
            else if (answered + 5 > i) /* say it for the first few only */
                fprintf(stderr, "idle_conns: connection #%d answered %d\n", i + 1, status);
        }
    }
    printf("ready %d %d\n", opened, answered);
    fflush(stdout);
    sleep((unsigned)hold);
    int held = 0;
    for (int i = 0; i < opened; i++)
        held += still_open(fds[i]);
    printf("held %d\n", held);
    fflush(stdout);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    return opened == count && (path == NULL || answered == count) ? 0 : 1;
}
