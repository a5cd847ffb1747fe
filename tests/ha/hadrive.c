/* hadrive — the load of scripts/test-ha: client threads moving money through a load balancer while
 * the test breaks things behind it, each operation resent with its Idempotency-Key until it gets a
 * definitive answer, and a record of everything each client saw.
 *
 *   hadrive BASE_URL OUT STATUS STOP [THREADS [ACCOUNTS]]
 *
 * It opens ACCOUNTS accounts (default 16) and funds each with one keyed deposit, then runs THREADS
 * client threads (default 32) until the file STOP exists; each finishes the operation it is on
 * (to a definitive answer or the bound) before it exits. Every operation is a deposit, a
 * withdrawal or a transfer with a sum no other operation sends, so its journal entries name it;
 * one in 50 is a withdrawal far above any balance, which must be refused (409) and leave nothing.
 *
 * Definitive: a 2xx, or a 4xx other than 409 idempotency_key_in_use. Anything else (a 503 of the
 * service, a 5xx of the proxy, no HTTP answer at all, the key still in use) is resent, same
 * request, same key, every 100 ms, for at most 60 s from the operation's first send.
 *
 * OUT gets one line per event, tab-separated, times in seconds since the epoch (CLOCK_REALTIME):
 *   A  number  account_number                 an account opened
 *   O  n  key  kind  sum  from  to  status  attempts  replayed  t_first  t_final
 *      kind is deposit, withdrawal or transfer; from/to are account indexes (to -1 unless a
 *      transfer); status is the definitive answer's, 0 if none came within the bound
 *   E  t  n  what                                  a non-definitive answer of op n at time t;
 *      what: unavailable, outcome_unknown, other_503 (a 503 of the service with another code),
 *      proxy_503 (haproxy's own: no server up), proxy_5xx, in_use, transport, curl_resent
 *      (libcurl sent the request again by itself on a new connection: see on_debug)
 * STATUS is rewritten every 200 ms: "acks errors t_last_ack t_last_error now".
 * Exit status: 0 when every operation got a definitive answer, 1 if one did not, 2 on a setup
 * error. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ACCOUNTS   256
#define OP_BOUND_S     60.0
#define RETRY_SLEEP_US 100000
#define FUND_SUM       INT64_C(1000000000000) /* 10^10.00 per account, plus its index */
#define REFUSED_BASE   INT64_C(50000000000000)

static const char *base_url;
static char accounts[MAX_ACCOUNTS][17];
static int n_accounts = 16;
static atomic_int stopping;
static atomic_long next_op;
static atomic_long acks, errors, unresolved;
static _Atomic double last_ack, last_error;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static char run_id[32];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
    char data[4096];
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata) {
    struct buf *b = userdata;
    size_t len = size * n, room = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, ptr, len < room ? len : room);
    b->len += len < room ? len : room;
    b->data[b->len] = '\0';
    return size * n;
}

static __thread int *replayed_flag;
static __thread int resent_flag;

/* libcurl resends a request by itself, once, when a connection it reused dies before any answer
 * ("Connection died, retrying a fresh connect"); haproxy closes a client's keep-alive connection
 * that way when the replica behind it died mid-request. It says so only in its verbose text. */
static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *userdata) {
    (void)curl;
    (void)userdata;
    if (type == CURLINFO_TEXT && size >= 15 && memmem(data, size, "Connection died", 15) != NULL)
        resent_flag++;
    return 0;
}
static size_t on_header(char *ptr, size_t size, size_t n, void *userdata) {
    (void)userdata;
    size_t len = size * n;
    if (len >= 26 && strncasecmp(ptr, "Idempotent-Replayed: true", 25) == 0 && replayed_flag)
        *replayed_flag = 1;
    return len;
}

/* The value of "name" in a flat JSON object, into dst; "" when absent. */
static void json_str(const char *body, const char *name, char *dst, size_t size) {
    char pat[64];
    dst[0] = '\0';
    snprintf(pat, sizeof pat, "\"%s\"", name);
    const char *at = strstr(body, pat);
    if (at == NULL)
        return;
    at += strlen(pat);
    while (*at == ' ' || *at == ':')
        at++;
    if (*at++ != '"')
        return;
    size_t i = 0;
    while (*at != '\0' && *at != '"' && i + 1 < size)
        dst[i++] = *at++;
    dst[i] = '\0';
}

/* One request; the HTTP status (0: no answer), the body in b. */
static long send_once(CURL *curl, const char *method, const char *path, const char *body,
                      const char *key, struct buf *b, int *replayed) {
    char url[512], key_header[128];
    struct curl_slist *headers = NULL;
    snprintf(url, sizeof url, "%s%s", base_url, path);
    b->len = 0;
    b->data[0] = '\0';
    *replayed = 0;
    replayed_flag = replayed;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        headers = curl_slist_append(headers, "Content-Type: application/json");
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    if (key != NULL) {
        snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
        headers = curl_slist_append(headers, key_header);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    resent_flag = 0;
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

enum kind { DEPOSIT, WITHDRAWAL, TRANSFER };
static const char *kind_name[] = {"deposit", "withdrawal", "transfer"};

struct op {
    long n;
    enum kind kind;
    int64_t sum;
    int from, to;
};

/* What a non-definitive answer was; NULL when the answer is definitive. */
static const char *non_definitive(long status, const struct buf *b) {
    char code[64];
    if (status == 0)
        return "transport";
    json_str(b->data, "code", code, sizeof code);
    if (status == 503) {
        if (strcmp(code, "unavailable") == 0)
            return "unavailable";
        if (strcmp(code, "outcome_unknown") == 0)
            return "outcome_unknown";
        return code[0] != '\0' ? "other_503" : "proxy_503";
    }
    if (status >= 500)
        return "proxy_5xx";
    if (status == 409 && strcmp(code, "idempotency_key_in_use") == 0)
        return "in_use";
    return NULL;
}

static void record_event(double t, long n, const char *what) {
    pthread_mutex_lock(&out_lock);
    fprintf(out, "E\t%.6f\t%ld\t%s\n", t, n, what);
    pthread_mutex_unlock(&out_lock);
}

/* Sends op until a definitive answer or the bound; records it. The final status, 0 if none. */
static long run_op(CURL *curl, const struct op *op) {
    char key[64], path[128], body[256];
    struct buf b;
    const char *method = "POST", *req_body = NULL;
    snprintf(key, sizeof key, "ha-%s-%ld", run_id, op->n);
    if (op->kind == TRANSFER) {
        snprintf(path, sizeof path, "/api/transfers");
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}",
                 accounts[op->from], accounts[op->to], op->sum);
        req_body = body;
    } else {
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, accounts[op->from],
                 op->kind == DEPOSIT ? "deposit" : "withdraw", op->sum);
        method = "PUT";
    }
    double first = now(), t = first;
    long status = 0;
    int attempts = 0, replayed = 0;
    for (;;) {
        attempts++;
        status = send_once(curl, method, path, req_body, key, &b, &replayed);
        t = now();
        for (int i = 0; i < resent_flag; i++) {
            atomic_fetch_add(&errors, 1);
            record_event(t, op->n, "curl_resent");
        }
        const char *what = non_definitive(status, &b);
        if (what == NULL)
            break;
        atomic_fetch_add(&errors, 1);
        atomic_store(&last_error, t);
        record_event(t, op->n, what);
        if (t - first > OP_BOUND_S) {
            status = 0;
            atomic_fetch_add(&unresolved, 1);
            break;
        }
        usleep(RETRY_SLEEP_US);
    }
    if (status >= 200 && status < 300) {
        atomic_fetch_add(&acks, 1);
        atomic_store(&last_ack, t);
    }
    pthread_mutex_lock(&out_lock);
    fprintf(out, "O\t%ld\t%s\t%s\t%" PRId64 "\t%d\t%d\t%ld\t%d\t%d\t%.6f\t%.6f\n", op->n, key,
            kind_name[op->kind], op->sum, op->from, op->to, status, attempts, replayed, first, t);
    pthread_mutex_unlock(&out_lock);
    return status;
}

static void *client(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u ^ (unsigned)time(NULL);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return NULL;
    while (!atomic_load(&stopping)) {
        struct op op;
        op.n = atomic_fetch_add(&next_op, 1);
        op.from = (int)(rand_r(&seed) % (unsigned)n_accounts);
        op.to = -1;
        op.sum = 1000 + op.n;
        int r = (int)(rand_r(&seed) % 100);
        if (r < 2) {
            op.kind = WITHDRAWAL; /* refused: more than any balance */
            op.sum = REFUSED_BASE + op.n;
        } else if (r < 35) {
            op.kind = DEPOSIT;
        } else if (r < 65) {
            op.kind = WITHDRAWAL;
        } else {
            op.kind = TRANSFER;
            op.to = (op.from + 1 + (int)(rand_r(&seed) % (unsigned)(n_accounts - 1))) % n_accounts;
        }
        run_op(curl, &op);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static void write_status(const char *path) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return;
    fprintf(f, "%ld %ld %.6f %.6f %.6f\n", atomic_load(&acks), atomic_load(&errors),
            atomic_load(&last_ack), atomic_load(&last_error), now());
    fclose(f);
    rename(tmp, path);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: hadrive BASE_URL OUT STATUS STOP [THREADS [ACCOUNTS]]\n");
        return 2;
    }
    base_url = argv[1];
    int threads = argc > 5 ? atoi(argv[5]) : 32;
    if (argc > 6)
        n_accounts = atoi(argv[6]);
    if (threads < 1 || threads > 1024 || n_accounts < 2 || n_accounts > MAX_ACCOUNTS) {
        fprintf(stderr, "hadrive: bad THREADS or ACCOUNTS\n");
        return 2;
    }
    out = fopen(argv[2], "w");
    if (out == NULL) {
        perror(argv[2]);
        return 2;
    }
    snprintf(run_id, sizeof run_id, "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    curl_global_init(CURL_GLOBAL_ALL);
    CURL *curl = curl_easy_init();
    struct buf b;
    int replayed;
    /* Accounts, while everything is up (retried: an extra account would be harmless). */
    for (int i = 0; i < n_accounts; i++) {
        double deadline = now() + OP_BOUND_S;
        long status;
        while ((status = send_once(curl, "POST", "/api/accounts", NULL, NULL, &b, &replayed)) !=
                   201 &&
               now() < deadline)
            usleep(RETRY_SLEEP_US);
        json_str(b.data, "account_number", accounts[i], sizeof accounts[i]);
        if (status != 201 || strlen(accounts[i]) != 16) {
            fprintf(stderr, "hadrive: could not open an account: %ld %s\n", status, b.data);
            return 2;
        }
        fprintf(out, "A\t%d\t%s\n", i, accounts[i]);
    }
    atomic_store(&next_op, 1);
    for (int i = 0; i < n_accounts; i++) {
        struct op op = {atomic_fetch_add(&next_op, 1), DEPOSIT, FUND_SUM + i, i, -1};
        if (run_op(curl, &op) != 200) {
            fprintf(stderr, "hadrive: could not fund account %s\n", accounts[i]);
            return 2;
        }
    }
    curl_easy_cleanup(curl);
    fflush(out);
    fprintf(stderr, "hadrive: %d accounts funded; %d clients on %s\n", n_accounts, threads,
            base_url);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[i], NULL, client, (void *)(uintptr_t)(i + 1)) != 0) {
            fprintf(stderr, "hadrive: pthread_create failed\n");
            return 2;
        }
    while (access(argv[4], F_OK) != 0) {
        write_status(argv[3]);
        usleep(200000);
    }
    atomic_store(&stopping, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    write_status(argv[3]);
    fclose(out);
    free(tids);
    curl_global_cleanup();
    fprintf(stderr,
            "hadrive: stopped: %ld operations acknowledged, %ld non-definitive answers, %ld "
            "without a definitive answer\n",
            atomic_load(&acks), atomic_load(&errors), atomic_load(&unresolved));
    return atomic_load(&unresolved) ? 1 : 0;
}
