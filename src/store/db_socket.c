/* A libpq connection's socket on the event loop: the one place that knows how to follow it. */
#include "db_internal.h"

void db_socket_unwatch(struct db_socket *socket, struct mx_loop *loop) {
    if (socket->watched)
        mx_loop_io_remove(loop, &socket->io);
    socket->watched = 0;
}

int db_socket_watch(struct db_socket *socket, struct mx_loop *loop, PGconn *pg, unsigned events,
                    int connecting, mx_loop_io_fn *fn, void *arg) {
    int fd = PQsocket(pg);
    if (fd < 0)
        return -1;
    /* While connecting, libpq closes its socket when a host fails or is not the one wanted (the
     * next host of a multi-host URL) and opens another -- often under the same number, which epoll
     * has forgotten with the closed one. So every step of a connection watches afresh. */
    if (socket->watched && (connecting || socket->io.fd != fd))
        db_socket_unwatch(socket, loop);
    if (!socket->watched) {
        if (mx_loop_io_add(loop, &socket->io, fd, events, fn, arg) != 0)
            return -1;
        socket->watched = 1;
        return 0;
    }
    return mx_loop_io_change(loop, &socket->io, events);
}
