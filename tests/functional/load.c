/* The operations of a load test (load.h). */
#include "load.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ft_op *ft_op_add(struct ft_op_list *list) {
    if (list->count == list->cap) {
        int cap = list->cap == 0 ? 1024 : list->cap * 2;
        struct ft_op *bigger = realloc(list->ops, (size_t)cap * sizeof *bigger);
        if (bigger == NULL)
            return NULL;
        list->ops = bigger;
        list->cap = cap;
    }
    struct ft_op *op = &list->ops[list->count++];
    memset(op, 0, sizeof *op);
    return op;
}

struct ft_response *ft_op_send(CURL *curl, const char *base_url, char (*accounts)[FT_ACCOUNT_SIZE],
                               struct ft_op *op) {
    char path[256], body[256], key_header[80];
    const char *headers[2] = {NULL, NULL};
    if (op->key[0] != '\0') {
        snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", op->key);
        headers[0] = key_header;
    }
    op->attempts++;
    if (op->kind == FT_OP_TRANSFER) {
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}",
                 accounts[op->account], accounts[op->to], op->sum);
        return ft_http_on_with_headers(curl, base_url, "POST", "/api/transfers", body, strlen(body),
                                       headers);
    }
    snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, accounts[op->account],
             op->kind == FT_OP_DEPOSIT ? "deposit" : "withdraw", op->sum);
    return ft_http_on_with_headers(curl, base_url, "PUT", path, NULL, 0, headers);
}

int ft_op_succeeded(const struct ft_response *r, const struct ft_op *op,
                    char (*accounts)[FT_ACCOUNT_SIZE]) {
    if (op->kind == FT_OP_TRANSFER)
        return r->status == 201 && json_is_integer(json_object_get(r->json, "id")) &&
               json_integer_value(json_object_get(r->json, "sum")) == op->sum;
    const char *number = json_string_value(json_object_get(r->json, "account_number"));
    return r->status == 200 && json_is_integer(json_object_get(r->json, "balance")) &&
           number != NULL && strcmp(number, accounts[op->account]) == 0;
}

void ft_note_failure(struct ft_failures *f, const struct ft_op *op, const struct ft_response *r,
                     const char *why) {
    if (f->count++ >= 3)
        return;
    size_t used = strlen(f->text);
    snprintf(f->text + used, sizeof f->text - used,
             "\n  %s: op sum %" PRId64 " key '%s': %s -> %ld %s%.200s", why, op->sum, op->key,
             r != NULL ? r->what : "?", r != NULL ? r->status : -1, r != NULL ? r->curl_error : "",
             r != NULL ? r->body : "(out of memory)");
}
