/* A streamed answer's unsent text (outbox.h). */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

void outbox_append(struct outbox *box, const char *bytes, size_t n) {
    if (box->failed)
        return;
    if (box->used + n > box->size) {
        size_t size = (box->used + n) * 2;
        char *text = realloc(box->text, size);
        if (text == NULL) {
            box->failed = 1;
            return;
        }
        box->text = text;
        box->size = size;
    }
    memcpy(box->text + box->used, bytes, n);
    box->used += n;
}

void outbox_append_text(struct outbox *box, const char *text) {
    outbox_append(box, text, strlen(text));
}

size_t outbox_take(struct outbox *box, char *buffer, size_t size) {
    size_t n = box->used - box->sent < size ? box->used - box->sent : size;
    memcpy(buffer, box->text + box->sent, n);
    box->sent += n;
    if (box->sent == box->used)
        box->sent = box->used = 0;
    return n;
}

int outbox_empty(const struct outbox *box) {
    return box->sent == box->used;
}

void outbox_free(struct outbox *box) {
    free(box->text);
    *box = (struct outbox){0};
}
