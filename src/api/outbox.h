/* The text a streamed answer has made and not yet sent: appended to, and taken as the HTTP layer
 * asks for it (mx_stream). */
#ifndef MONDUX_API_OUTBOX_H
#define MONDUX_API_OUTBOX_H

#include <stddef.h>

struct outbox {
    char *text;
    size_t used, sent, size;
    int failed; /* out of memory: what was appended since is lost */
};

void outbox_append(struct outbox *box, const char *bytes, size_t n);
void outbox_append_text(struct outbox *box, const char *text);

/* Copies up to size bytes not yet sent into buffer: how many. Once all is sent, the box is empty
 * again (its room kept). */
size_t outbox_take(struct outbox *box, char *buffer, size_t size);

/* Whether nothing is left to send. */
int outbox_empty(const struct outbox *box);

void outbox_free(struct outbox *box);

#endif
