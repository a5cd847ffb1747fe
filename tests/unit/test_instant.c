/* Instants as the API takes them (mondux/instant.h): RFC 3339 date-times and plain dates, taken to
 * UTC with their offset, and everything else refused. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "mondux/instant.h"
#include "unit_run.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const struct {
    const char *text, *utc;
    int64_t unix_us;
} accepted[] = {
    {"1970-01-01", "1970-01-01T00:00:00.000000Z", 0},
    {"2026-12-03", "2026-12-03T00:00:00.000000Z", INT64_C(1796256000000000)},
    {"2026-12-03T10:30:00Z", "2026-12-03T10:30:00.000000Z", INT64_C(1796293800000000)},
    {"2026-12-03t10:30:00z", "2026-12-03T10:30:00.000000Z", INT64_C(1796293800000000)},
    /* A day cut in another offset: 10:30 in India is 05:00 in UTC. */
    {"2026-12-03T10:30:00+05:30", "2026-12-03T05:00:00.000000Z", INT64_C(1796274000000000)},
    {"2026-12-03T10:30:00 05:30", "2026-12-03T05:00:00.000000Z", INT64_C(1796274000000000)},
    {"2026-12-02T23:30:00-01:00", "2026-12-03T00:30:00.000000Z", INT64_C(1796257800000000)},
    {"2026-12-03T00:00:00.5Z", "2026-12-03T00:00:00.500000Z", INT64_C(1796256000500000)},
    {"2026-12-03T00:00:00.000001Z", "2026-12-03T00:00:00.000001Z", INT64_C(1796256000000001)},
    {"2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59.999999Z", INT64_C(1709251199999999)},
    {"1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000000Z", INT64_C(-1000000)},
    {"0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z", INT64_C(-62135596800000000)},
    {"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
};

static const char *const refused[] = {
    "",
    "now",
    "yesterday",
    "2026-12-3",
    "2026-13-01",
    "2026-00-10",
    "2026-02-29",
    "2026-04-31",
    "0000-01-01",
    "2026-12-03T10:30:00",
    "2026-12-03 10:30:00Z",
    "2026-12-03T24:00:00Z",
    "2026-12-03T10:60:00Z",
    "2026-12-03T10:30:60Z",
    "2026-12-03T10:30:00.Z",
    "2026-12-03T10:30:00.1234567Z",
    "2026-12-03T10:30:00+0530",
    "2026-12-03T10:30:00+24:00",
    "2026-12-03T10:30:00Zjunk",
    "2026-12-03T10:30Z",
    "0001-01-01T00:00:00+00:01",
    "9999-12-31T23:59:59-00:01",
    "+2026-12-03",
    "2026-12-03T10:30:00+05:30:00",
};

START_TEST(an_rfc3339_instant_or_a_date_is_taken_to_utc_exactly) {
    struct mx_instant out;
    ck_assert_msg(mx_instant_parse(accepted[_i].text, &out), "refused %s", accepted[_i].text);
    ck_assert_str_eq(out.utc, accepted[_i].utc);
    ck_assert_int_eq(out.unix_us, accepted[_i].unix_us);
}
END_TEST

START_TEST(anything_else_is_refused) {
    struct mx_instant out;
    ck_assert_msg(!mx_instant_parse(refused[_i], &out), "accepted \"%s\"", refused[_i]);
}
END_TEST

START_TEST(no_text_is_refused) {
    struct mx_instant out;
    ck_assert(!mx_instant_parse(NULL, &out));
}
END_TEST

int main(void) {
    Suite *s = suite_create("instant");
    TCase *tc = tcase_create("instant");
    tcase_add_loop_test(tc, an_rfc3339_instant_or_a_date_is_taken_to_utc_exactly, 0,
                        (int)COUNT(accepted));
    tcase_add_loop_test(tc, anything_else_is_refused, 0, (int)COUNT(refused));
    tcase_add_test(tc, no_text_is_refused);
    suite_add_tcase(s, tc);
    return mx_unit_run(s);
}
