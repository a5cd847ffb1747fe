/* sse_fanout — many subscribers of a Server-Sent Events stream at once, for scripts/bench's
 * fan-out figure (every subscriber gets every event of a deposit load).
 *
 *   sse_fanout [--seconds N] HOST PORT COUNT [PATH]
 *
 * Opens COUNT TCP connections to HOST:PORT (an IPv4 address) and sends on each
 * "GET PATH HTTP/1.1" with Accept: text/event-stream (PATH: /api/events/stream). Reads them all
 * with epoll, de-chunks the answers and splits them into blocks (separated by an empty line):
 * a block with a "data:" line is an event, counted, whose "id:" must be the subscriber's last id
 * plus one (a gap, a repeat or a step back is an error); the first block, an id without data, is
 * where the subscriber starts; comments (": keepalive") are skipped. Once every subscriber has
 * its first block it prints "ready CONNECTED" on stdout. It runs until SIGTERM or SIGINT (or N
 * seconds after ready), then drains: it goes on reading until no subscriber has received a byte
 * for 1 s (at most 30 s). Then it prints one line:
 *   done subscribers=… connected=… started=… open=… events_min=… events_max=… events_total=…
 *        first_id_min=… first_id_max=… last_id_min=… last_id_max=… window_s=… events_per_s=…
 *        late_s=… errors=… all_same=yes|no
 * events_per_s is events_total over window_s, the time from the first event any subscriber got
 * to the last; late_s is how long after the stop the last event came (0: before it); all_same says every subscriber got the same number of events up to the same last
 * id, with no error, and is still connected. Errors go to stderr (the first few in detail). Exit
 * status 0 when all_same, 1 otherwise. Built by bench/run with the C compiler alone: libc, no
 * other library. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX 4096 /* the answer's head, kept until its empty line */
#define LINE_KEEP 32    /* the start of an SSE line: enough for "id: " and a position */
#define DRAIN_QUIET_S 1.0
#define DRAIN_MAX_S 30.0

enum chunk_state { CHUNK_SIZE, CHUNK_EXT, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF, CHUNK_END };

struct subscriber {
    int fd;
    int open;                 /* the socket is still connected */
    char *head;               /* the answer's head, until it is complete (then NULL) */
    size_t head_used;
    int chunked;              /* Transfer-Encoding: chunked */
    enum chunk_state chunk;   /* where the de-chunker is */
    uint64_t chunk_left;      /* bytes of the current chunk still to come */
    char line[LINE_KEEP + 1]; /* the start of the current SSE line */
    size_t line_length;       /* its whole length so far */
    int block_data;           /* the current block has a data line */
    int block_id_given;
    int64_t block_id; /* its id line, if any */
    int started;      /* the first block (the start id) has come */
    int64_t first_id;
    int64_t last_id;
    uint64_t events;
    unsigned errors;
};

static volatile sig_atomic_t stop_asked;
static void on_stop(int signal_number) {
    (void)signal_number;
    stop_asked = 1;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned errors_told;
static void error_of(struct subscriber *s, int index, const char *what, int64_t id) {
    s->errors++;
    if (errors_told++ < 10)
        fprintf(stderr, "sse_fanout: subscriber #%d: %s (id %" PRId64 " after %" PRId64 ")\n",
                index + 1, what, id, s->last_id);
}

/* The end of a block: an event, the start, or nothing (a comment). */
static void end_block(struct subscriber *s, int index) {
    if (s->block_data) {
        if (!s->started)
            error_of(s, index, "an event before the start block", s->block_id);
        else if (!s->block_id_given)
            error_of(s, index, "an event without an id", -1);
        else if (s->block_id <= s->last_id)
            error_of(s, index, "an id repeated or going back", s->block_id);
        else if (s->block_id != s->last_id + 1)
            error_of(s, index, "a gap in the ids", s->block_id);
        if (s->block_id_given && s->block_id > s->last_id)
            s->last_id = s->block_id;
        s->events++;
    } else if (s->block_id_given) {
        if (!s->started) {
            s->started = 1;
            s->first_id = s->last_id = s->block_id;
        } else {
            error_of(s, index, "a second block without data", s->block_id);
        }
    }
    s->block_data = s->block_id_given = 0;
}

/* The end of an SSE line (its start in s->line, its whole length in s->line_length). */
static void end_line(struct subscriber *s, int index) {
    size_t n = s->line_length;
    if (n > 0 && n <= LINE_KEEP && s->line[n - 1] == '\r')
        n--; /* CR LF ends a line too */
    s->line[n < LINE_KEEP ? n : LINE_KEEP] = '\0';
    if (n == 0) {
        end_block(s, index);
    } else if (strncmp(s->line, "data:", 5) == 0) {
        s->block_data = 1;
    } else if (strncmp(s->line, "id:", 3) == 0) {
        char *end;
        long long id = strtoll(s->line + 3, &end, 10);
        s->block_id_given = 1;
        s->block_id = end == s->line + 3 ? -1 : (int64_t)id;
    }
    s->line_length = 0;
}

/* Bytes of the event stream, de-chunked. */
static void stream_bytes(struct subscriber *s, int index, const char *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (bytes[i] == '\n') {
            end_line(s, index);
            continue;
        }
        if (s->line_length < LINE_KEEP)
            s->line[s->line_length] = bytes[i];
        s->line_length++;
    }
}

/* Body bytes as they come off the socket: de-chunked when chunked. */
static void body_bytes(struct subscriber *s, int index, const char *bytes, size_t n) {
    if (!s->chunked) {
        stream_bytes(s, index, bytes, n);
        return;
    }
    size_t i = 0;
    while (i < n) {
        char c = bytes[i];
        switch (s->chunk) {
        case CHUNK_SIZE:
            i++;
            if (c >= '0' && c <= '9')
                s->chunk_left = s->chunk_left * 16 + (uint64_t)(c - '0');
            else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                s->chunk_left = s->chunk_left * 16 + (uint64_t)((c | 0x20) - 'a' + 10);
            else if (c == '\n')
                s->chunk = s->chunk_left > 0 ? CHUNK_DATA : CHUNK_END;
            else
                s->chunk = CHUNK_EXT; /* ";ext" or the CR */
            break;
        case CHUNK_EXT:
            i++;
            if (c == '\n')
                s->chunk = s->chunk_left > 0 ? CHUNK_DATA : CHUNK_END;
            break;
        case CHUNK_DATA: {
            size_t take = n - i < s->chunk_left ? n - i : (size_t)s->chunk_left;
            stream_bytes(s, index, bytes + i, take);
            i += take;
            s->chunk_left -= take;
            if (s->chunk_left == 0)
                s->chunk = CHUNK_DATA_CR;
            break;
        }
        case CHUNK_DATA_CR:
        case CHUNK_DATA_LF:
            i++;
            if (c == '\n') {
                s->chunk = CHUNK_SIZE;
                s->chunk_left = 0;
            } else if (c != '\r') {
                error_of(s, index, "a chunk not followed by CR LF", -1);
                s->chunk = CHUNK_END;
            }
            break;
        case CHUNK_END:
            return; /* the last chunk: the stream has ended (the socket closes next) */
        }
    }
}

/* The answer's head, until its empty line; then the rest as body. 0 when the answer is not a
 * 200 event stream. */
static int head_bytes(struct subscriber *s, int index, const char *bytes, size_t n) {
    size_t room = HEADER_MAX - 1 - s->head_used;
    size_t take = n < room ? n : room;
    memcpy(s->head + s->head_used, bytes, take);
    s->head_used += take;
    s->head[s->head_used] = '\0';
    char *end = strstr(s->head, "\r\n\r\n");
    if (end == NULL) {
        if (s->head_used >= HEADER_MAX - 1) {
            error_of(s, index, "an answer head longer than 4 KB", -1);
            return 0;
        }
        return 1;
    }
    int status = 0;
    if (sscanf(s->head, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
        if (errors_told < 10)
            fprintf(stderr, "sse_fanout: subscriber #%d: answered %d\n", index + 1, status);
        s->errors++;
        errors_told++;
        return 0;
    }
    for (char *line = strstr(s->head, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Transfer-Encoding:", 18) == 0 &&
            strstr(line + 2 + 18, "chunked") != NULL)
            s->chunked = 1;
    }
    size_t header = (size_t)(end + 4 - s->head);
    /* What came after the head in this read: bytes[] from (header - (head_used - take)). */
    size_t before = s->head_used - take;
    char *rest = NULL;
    size_t rest_n = 0;
    if (header - before < n) {
        rest = (char *)bytes + (header - before);
        rest_n = n - (header - before);
    }
    free(s->head);
    s->head = NULL;
    if (rest_n > 0)
        body_bytes(s, index, rest, rest_n);
    return 1;
}

static void close_subscriber(struct subscriber *s, int epoll_fd) {
    if (!s->open)
        return;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->open = 0;
}

/* Reads whatever subscriber index has; the time of the last byte in *last_byte, of the last event
 * in *last_event, of the first event in *first_event (0: none yet). */
static void read_subscriber(struct subscriber *all, int index, int epoll_fd, double *last_byte,
                            double *first_event, double *last_event) {
    static char buffer[65536];
    struct subscriber *s = &all[index];
    for (;;) {
        ssize_t got = recv(s->fd, buffer, sizeof buffer, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (!stop_asked && errors_told++ < 10)
                fprintf(stderr, "sse_fanout: subscriber #%d: the server closed the stream\n",
                        index + 1);
            close_subscriber(s, epoll_fd);
            return;
        }
        double t = now_s();
        *last_byte = t;
        uint64_t before = s->events;
        if (s->head != NULL) {
            if (!head_bytes(s, index, buffer, (size_t)got)) {
                close_subscriber(s, epoll_fd);
                return;
            }
        } else {
            body_bytes(s, index, buffer, (size_t)got);
        }
        if (s->events > before) {
            if (*first_event == 0)
                *first_event = t;
            *last_event = t;
        }
    }
}

static void usage(void) {
    fprintf(stderr, "usage: sse_fanout [--seconds N] HOST PORT COUNT [PATH]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int seconds = 0;
    int a = 1;
    if (a < argc && strcmp(argv[a], "--seconds") == 0) {
        if (a + 1 >= argc)
            usage();
        seconds = atoi(argv[a + 1]);
        a += 2;
    }
    if (argc - a < 3 || argc - a > 4)
        usage();
    const char *host = argv[a];
    int port = atoi(argv[a + 1]);
    int count = atoi(argv[a + 2]);
    const char *path = argc - a == 4 ? argv[a + 3] : "/api/events/stream";
    if (port <= 0 || port > 65535 || count <= 0 || seconds < 0) {
        fprintf(stderr, "sse_fanout: bad arguments\n");
        return 2;
    }
    /* One descriptor per connection, and a few more. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (rlim_t)count + 64) {
        limit.rlim_cur = limit.rlim_max;
        if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (rlim_t)count + 64) {
            fprintf(stderr, "sse_fanout: descriptor limit %lu is below %d\n",
                    (unsigned long)limit.rlim_max, count + 64);
            return 1;
        }
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "sse_fanout: HOST must be an IPv4 address, not %s\n", host);
        return 2;
    }
    struct sigaction stop = {.sa_handler = on_stop}; /* no SA_RESTART: epoll_wait returns */
    sigemptyset(&stop.sa_mask);
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char request[2048];
    int request_n = snprintf(request, sizeof request,
                             "GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", path);
    if (request_n < 0 || (size_t)request_n >= sizeof request)
        return 2;
    struct subscriber *all = calloc((size_t)count, sizeof *all);
    int epoll_fd = epoll_create1(0);
    if (all == NULL || epoll_fd < 0)
        return 1;
    int connected = 0;
    for (int i = 0; i < count; i++) {
        struct subscriber *s = &all[i];
        s->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (s->fd < 0) {
            fprintf(stderr, "sse_fanout: socket: %s\n", strerror(errno));
            break;
        }
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(s->fd, (struct sockaddr *)&address, sizeof address) != 0) {
            fprintf(stderr, "sse_fanout: connect #%d: %s\n", i + 1, strerror(errno));
            close(s->fd);
            break;
        }
        if (send(s->fd, request, (size_t)request_n, MSG_NOSIGNAL) != request_n) {
            fprintf(stderr, "sse_fanout: send #%d failed\n", i + 1);
            close(s->fd);
            break;
        }
        s->head = malloc(HEADER_MAX);
        if (s->head == NULL)
            return 1;
        s->last_id = -1;
        s->open = 1;
        /* Non-blocking from here on: all are read as they have something. */
        int flags = fcntl(s->fd, F_GETFL);
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
        if (flags < 0 || fcntl(s->fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
            epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->fd, &e) != 0) {
            fprintf(stderr, "sse_fanout: #%d: %s\n", i + 1, strerror(errno));
            close(s->fd);
            s->open = 0;
            break;
        }
        connected++;
    }

    /* Until every subscriber has its start (or is gone), then until told to stop, then the
     * drain. */
    struct epoll_event events[256];
    double last_byte = now_s(), first_event = 0, last_event = 0, ready_at = 0, stop_at = 0;
    int ready = 0;
    for (;;) {
        double t = now_s();
        if (!ready) {
            int started = 0, open = 0;
            for (int i = 0; i < connected; i++) {
                started += all[i].open && all[i].started;
                open += all[i].open;
            }
            if (started == open) { /* every subscriber still connected has its start */
                ready = 1;
                ready_at = t;
                printf("ready %d\n", started);
                fflush(stdout);
            } else if (stop_asked) {
                break;
            }
        }
        if (ready && stop_at == 0 &&
            (stop_asked || (seconds > 0 && t - ready_at >= (double)seconds)))
            stop_at = t;
        if (stop_at > 0 && (t - last_byte >= DRAIN_QUIET_S || t - stop_at >= DRAIN_MAX_S))
            break;
        int n = epoll_wait(epoll_fd, events, 256, 100);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "sse_fanout: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int k = 0; k < n; k++)
            read_subscriber(all, (int)events[k].data.u32, epoll_fd, &last_byte, &first_event,
                            &last_event);
    }

    int started = 0, open = 0;
    unsigned errors = 0;
    uint64_t events_min = UINT64_MAX, events_max = 0, events_total = 0;
    int64_t first_min = INT64_MAX, first_max = INT64_MIN, last_min = INT64_MAX, last_max = INT64_MIN;
    for (int i = 0; i < connected; i++) {
        struct subscriber *s = &all[i];
        started += s->started;
        open += s->open;
        errors += s->errors;
        events_total += s->events;
        if (s->events < events_min)
            events_min = s->events;
        if (s->events > events_max)
            events_max = s->events;
        if (s->started) {
            if (s->first_id < first_min)
                first_min = s->first_id;
            if (s->first_id > first_max)
                first_max = s->first_id;
            if (s->last_id < last_min)
                last_min = s->last_id;
            if (s->last_id > last_max)
                last_max = s->last_id;
        }
    }
    if (connected == 0)
        events_min = 0;
    if (started == 0)
        first_min = first_max = last_min = last_max = -1;
    double window = last_event > first_event ? last_event - first_event : 0;
    int all_same = connected == count && started == count && open == count && errors == 0 &&
                   events_min == events_max && last_min == last_max;
    printf("done subscribers=%d connected=%d started=%d open=%d events_min=%" PRIu64
           " events_max=%" PRIu64 " events_total=%" PRIu64 " first_id_min=%" PRId64
           " first_id_max=%" PRId64 " last_id_min=%" PRId64 " last_id_max=%" PRId64
           " window_s=%.3f events_per_s=%.0f late_s=%.3f errors=%u all_same=%s\n",
           count, connected, started, open, events_min, events_max, events_total, first_min,
           first_max, last_min, last_max, window, window > 0 ? (double)events_total / window : 0,
           stop_at > 0 && last_event > stop_at ? last_event - stop_at : 0, errors, all_same ? "yes" : "no");
    fflush(stdout);
    for (int i = 0; i < connected; i++) {
        if (all[i].open)
            close(all[i].fd);
        free(all[i].head);
    }
    free(all);
    close(epoll_fd);
    return all_same ? 0 : 1;
}
