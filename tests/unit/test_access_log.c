/* The access log's lines as a log shipper reads them: one JSON object, its fields in one order,
 * each client-chosen text escaped, cut to its bound, and written with '?' for its bytes above 0x7F
 * when it is not UTF-8. The time and duration_us vary: their form is checked, then masked. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "unit_run.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* What mx_access_log wrote on stdout for entry. New; free it. */
static char *logged(const struct mx_access_entry *entry) {
    fflush(stdout);
    FILE *capture = tmpfile();
    ck_assert_ptr_nonnull(capture);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(capture), STDOUT_FILENO), 0);
    mx_access_log(entry);
    fflush(stdout);
    ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
    close(saved);
    long size = ftell(capture);
    ck_assert_int_ge(size, 0);
    char *text = calloc(1, (size_t)size + 1);
    rewind(capture);
    ck_assert_uint_eq(fread(text, 1, (size_t)size, capture), (size_t)size);
    fclose(capture);
    return text;
}

/* line with the time's value replaced by T and duration_us's by D, after checking their form:
 * "2024-05-01T12:00:00.000Z" and a count of microseconds. */
static char *masked(const char *line) {
    const char *head = "{\"time\":\"";
    ck_assert_msg(strncmp(line, head, strlen(head)) == 0, "no time first: %s", line);
    const char *stamp = line + strlen(head), *form = "dddd-dd-ddTdd:dd:dd.dddZ\"";
    for (size_t i = 0; form[i] != '\0'; i++)
        ck_assert_msg(form[i] == 'd' ? stamp[i] >= '0' && stamp[i] <= '9' : stamp[i] == form[i],
                      "time not as %s: %s", form, line);
    const char *duration = strstr(line, ",\"duration_us\":");
    ck_assert_ptr_nonnull(duration);
    duration += strlen(",\"duration_us\":");
    size_t digits = strspn(duration, "0123456789");
    ck_assert_uint_gt(digits, 0);
    size_t size = strlen(line) + 16;
    char *out = malloc(size);
    snprintf(out, size, "%sT\"%.*sD%s", head, (int)(duration - stamp - strlen(form)),
             stamp + strlen(form), duration + digits);
    return out;
}

static void assert_line(const struct mx_access_entry *entry, const char *expected) {
    char *line = logged(entry), *shape = masked(line);
    ck_assert_str_eq(shape, expected);
    free(shape);
    free(line);
}

/* The line of a GET of path with user agent agent, status 404, 52 bytes sent. */
static void assert_logged_as(const char *path, const char *agent, const char *logged_path,
                             const char *logged_agent) {
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    char expected[4096];
    snprintf(expected, sizeof expected,
             "{\"time\":\"T\",\"request_id\":\"r-1\",\"method\":\"GET\",\"path\":\"%s\","
             "\"status\":404,\"duration_us\":D,\"client\":\"\",\"peer\":\"127.0.0.1:4242\","
             "\"user_agent\":\"%s\",\"bytes_sent\":52}\n",
             logged_path, logged_agent);
    assert_line(&(struct mx_access_entry){"GET", path, 404, &started, "r-1", "", "127.0.0.1:4242",
                                          agent, 52},
                expected);
}

static const struct {
    const char *text, *logged;
} texts[] = {
    {"/healthz", "/healthz"},
    {"", ""},
    /* A quote, a backslash and a newline: none may end the string or the line. */
    {"/api/nothing\"\\\n", "/api/nothing\\\"\\\\\\n"},
    {"/c\b\f\r\t", "/c\\b\\f\\r\\t"},
    {"/c\x01\x1f\x7f", "/c\\u0001\\u001F\x7f"},
    /* UTF-8 stays as it is: two, three and four bytes. */
    {"/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
    /* Not UTF-8 anywhere: every byte above 0x7F of the text becomes '?', the good ones too. */
    {"/a\xff\xc3\xa9", "/a???"},
    /* '/' overlong in two, three and four bytes */
    {"/\xc0\xaf", "/??"},
    {"/\xe0\x80\xaf", "/???"},
    {"/\xf0\x80\x80\xaf", "/????"},
    {"/\xed\xa0\x80", "/???"},      /* a surrogate */
    {"/\xf4\x90\x80\x80", "/????"}, /* beyond U+10FFFF */
    {"/\xe2\x82", "/??"},           /* a sequence cut short */
    {"/\xe2\x82\"", "/??\\\""},     /* ... by a quote */
    {"/\x80\xc3\xa9", "/???"},      /* a continuation byte first */
    {"/\xf5\x80\x80\x80", "/????"}, /* a lead byte RFC 3629 forbids */
};

START_TEST(each_text_is_one_json_string) {
    assert_logged_as(texts[_i].text, "ua", texts[_i].logged, "ua");
    assert_logged_as("/", texts[_i].text, "/", texts[_i].logged);
}
END_TEST

START_TEST(path_and_user_agent_are_cut_at_256_bytes) {
    char long_text[301], cut[257];
    memset(long_text, 'a', 300);
    long_text[300] = '\0';
    memcpy(cut, long_text, 256);
    cut[256] = '\0';
    assert_logged_as(long_text, long_text, cut, cut);
    /* An "é" across the cut leaves half a character: not UTF-8, so it is written as '?'. */
    memcpy(long_text + 255, "\xc3\xa9", 2);
    cut[255] = '?';
    assert_logged_as(long_text, long_text, cut, cut);
}
END_TEST

START_TEST(method_is_cut_at_16_bytes_and_numbers_are_plain) {
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    assert_line(&(struct mx_access_entry){"PROPFINDPROPFINDX", "/x", 0, &started, "id", "key-1",
                                          "[::1]:80", "", 0},
                "{\"time\":\"T\",\"request_id\":\"id\",\"method\":\"PROPFINDPROPFIND\","
                "\"path\":\"/x\",\"status\":0,\"duration_us\":D,\"client\":\"key-1\","
                "\"peer\":\"[::1]:80\",\"user_agent\":\"\",\"bytes_sent\":0}\n");
}
END_TEST

static Suite *access_log_suite(void) {
    Suite *s = suite_create("access_log");
    TCase *tc = tcase_create("lines");
    tcase_add_loop_test(tc, each_text_is_one_json_string, 0, (int)COUNT(texts));
    tcase_add_test(tc, path_and_user_agent_are_cut_at_256_bytes);
    tcase_add_test(tc, method_is_cut_at_16_bytes_and_numbers_are_plain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return mx_unit_run(access_log_suite());
}
