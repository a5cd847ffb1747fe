/* The event loop (src/loop.c): descriptors, deadlines, signals and hooks, each delivered once, in
 * order, on the loop's own thread -- with pipes and the loop's own clock, no database. */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mondux/loop.h"
#include "unit_run.h"

/* ---- descriptors ------------------------------------------------------------------------------
 */

struct reader {
    struct mx_loop *loop;
    struct mx_loop_io io;
    int fd;
    int calls;
    char got[16];
    struct reader *victim; /* removed (and its pipe closed) by this reader's callback */
};

static void read_then_stop(void *arg, unsigned events) {
    struct reader *reader = arg;
    ck_assert(events & MX_LOOP_READ);
    reader->calls++;
    ssize_t n = read(reader->fd, reader->got, sizeof reader->got - 1);
    ck_assert_int_gt(n, 0);
    reader->got[n] = '\0';
    if (reader->victim != NULL) {
        mx_loop_io_remove(reader->loop, &reader->victim->io);
        close(reader->victim->fd);
    }
    mx_loop_stop(reader->loop);
}

START_TEST(a_readable_descriptor_calls_back_with_read) {
    struct mx_loop *loop = mx_loop_new();
    ck_assert_ptr_nonnull(loop);
    int pipe_fds[2];
    ck_assert_int_eq(pipe(pipe_fds), 0);
    struct reader reader = {.loop = loop, .fd = pipe_fds[0]};
    ck_assert_int_eq(
        mx_loop_io_add(loop, &reader.io, pipe_fds[0], MX_LOOP_READ, read_then_stop, &reader), 0);
    ck_assert_int_eq(write(pipe_fds[1], "ping", 4), 4);
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(reader.calls, 1);
    ck_assert_str_eq(reader.got, "ping");
    mx_loop_io_remove(loop, &reader.io);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    mx_loop_free(loop);
}
END_TEST

/* Both pipes are ready in the same wait; whichever runs first removes the other, which must then
 * never be called (its struct may be gone). */
START_TEST(a_descriptor_removed_by_another_callback_of_the_same_turn_is_not_called) {
    struct mx_loop *loop = mx_loop_new();
    int a[2], b[2];
    ck_assert_int_eq(pipe(a), 0);
    ck_assert_int_eq(pipe(b), 0);
    struct reader first = {.loop = loop, .fd = a[0]}, second = {.loop = loop, .fd = b[0]};
    first.victim = &second;
    second.victim = &first;
    ck_assert_int_eq(mx_loop_io_add(loop, &first.io, a[0], MX_LOOP_READ, read_then_stop, &first),
                     0);
    ck_assert_int_eq(mx_loop_io_add(loop, &second.io, b[0], MX_LOOP_READ, read_then_stop, &second),
                     0);
    ck_assert_int_eq(write(a[1], "a", 1), 1);
    ck_assert_int_eq(write(b[1], "b", 1), 1);
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(first.calls + second.calls, 1);
    struct reader *survivor = first.calls == 1 ? &first : &second;
    mx_loop_io_remove(loop, &survivor->io);
    close(survivor->fd);
    close(a[1]);
    close(b[1]);
    mx_loop_free(loop);
}
END_TEST

struct writer {
    struct mx_loop *loop;
    struct mx_loop_io io;
    unsigned seen;
};

static void note_writable(void *arg, unsigned events) {
    struct writer *writer = arg;
    writer->seen = events;
    mx_loop_stop(writer->loop);
}

START_TEST(a_writable_descriptor_calls_back_with_write_only_when_asked) {
    struct mx_loop *loop = mx_loop_new();
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct writer writer = {.loop = loop};
    ck_assert_int_eq(mx_loop_io_add(loop, &writer.io, fds[1], 0, note_writable, &writer), 0);
    ck_assert_int_eq(mx_loop_io_change(loop, &writer.io, MX_LOOP_WRITE), 0);
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_uint_eq(writer.seen, MX_LOOP_WRITE);
    mx_loop_io_remove(loop, &writer.io);
    close(fds[0]);
    close(fds[1]);
    mx_loop_free(loop);
}
END_TEST

/* ---- deadlines --------------------------------------------------------------------------------
 */

struct timeline {
    struct mx_loop *loop;
    int order[8];
    int fired;
    int stop_after;
};

struct mark {
    struct timeline *timeline;
    struct mx_loop_timer timer;
    int id;
};

static void record(void *arg) {
    struct mark *mark = arg;
    struct timeline *timeline = mark->timeline;
    timeline->order[timeline->fired++] = mark->id;
    if (timeline->fired == timeline->stop_after)
        mx_loop_stop(timeline->loop);
}

START_TEST(timers_fire_once_each_earliest_first_and_a_cancelled_one_never) {
    struct mx_loop *loop = mx_loop_new();
    struct timeline timeline = {.loop = loop, .stop_after = 3};
    struct mark marks[4] = {
        {&timeline, {0}, 30}, {&timeline, {0}, 10}, {&timeline, {0}, 20}, {&timeline, {0}, 15}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(
            mx_loop_timer_set(loop, &marks[i].timer, (uint64_t)marks[i].id, record, &marks[i]), 0);
        ck_assert(mx_loop_timer_armed(&marks[i].timer));
    }
    mx_loop_timer_cancel(loop, &marks[3].timer);
    ck_assert(!mx_loop_timer_armed(&marks[3].timer));
    uint64_t start = mx_loop_now_ns(loop);
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(timeline.fired, 3);
    ck_assert_int_eq(timeline.order[0], 10);
    ck_assert_int_eq(timeline.order[1], 20);
    ck_assert_int_eq(timeline.order[2], 30);
    ck_assert(mx_loop_now_ns(loop) - start >= 30u * 1000000u);
    for (int i = 0; i < 4; i++)
        ck_assert(!mx_loop_timer_armed(&marks[i].timer));
    mx_loop_free(loop);
}
END_TEST

/* A timer that re-arms itself for 0 ms fires once per turn, so descriptors still get theirs. */
struct repeater {
    struct mx_loop *loop;
    struct mx_loop_timer timer;
    int fired;
};

static void fire_again(void *arg) {
    struct repeater *repeater = arg;
    repeater->fired++;
    mx_loop_timer_set(repeater->loop, &repeater->timer, 0, fire_again, repeater);
}

START_TEST(a_timer_rearmed_for_zero_ms_waits_for_the_next_turn) {
    struct mx_loop *loop = mx_loop_new();
    struct repeater repeater = {.loop = loop};
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct reader reader = {.loop = loop, .fd = fds[0]};
    ck_assert_int_eq(
        mx_loop_io_add(loop, &reader.io, fds[0], MX_LOOP_READ, read_then_stop, &reader), 0);
    ck_assert_int_eq(mx_loop_timer_set(loop, &repeater.timer, 0, fire_again, &repeater), 0);
    ck_assert_int_eq(write(fds[1], "x", 1), 1);
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(reader.calls, 1);
    ck_assert_int_le(repeater.fired, 2);
    mx_loop_timer_cancel(loop, &repeater.timer);
    mx_loop_io_remove(loop, &reader.io);
    close(fds[0]);
    close(fds[1]);
    mx_loop_free(loop);
}
END_TEST

/* Many timers in random order come out sorted: the heap keeps its order through cancels. */
START_TEST(a_thousand_timers_fire_in_deadline_order_after_cancelling_every_third) {
    struct mx_loop *loop = mx_loop_new();
    enum { COUNT = 1000 };
    static struct mx_loop_timer timers[COUNT];
    static uint64_t after[COUNT];
    uint32_t seed = 12345;
    for (int i = 0; i < COUNT; i++) {
        seed = seed * 1103515245u + 12345u;
        after[i] = (seed >> 16) % 50;
        memset(&timers[i], 0, sizeof timers[i]);
        ck_assert_int_eq(mx_loop_timer_set(loop, &timers[i], after[i], NULL, NULL), 0);
    }
    for (int i = 0; i < COUNT; i += 3)
        mx_loop_timer_cancel(loop, &timers[i]);
    /* Take them out by cancelling the earliest each time: the deadlines must not go down. */
    uint64_t last = 0;
    int left = 0;
    for (int i = 0; i < COUNT; i++)
        left += mx_loop_timer_armed(&timers[i]);
    ck_assert_int_eq(left, COUNT - (COUNT + 2) / 3);
    while (left-- > 0) {
        struct mx_loop_timer *earliest = NULL;
        for (int i = 0; i < COUNT; i++)
            if (mx_loop_timer_armed(&timers[i]) && timers[i].slot == 1)
                earliest = &timers[i];
        ck_assert_ptr_nonnull(earliest);
        ck_assert(earliest->deadline_ns >= last);
        for (int i = 0; i < COUNT; i++)
            if (mx_loop_timer_armed(&timers[i]))
                ck_assert(timers[i].deadline_ns >= earliest->deadline_ns);
        last = earliest->deadline_ns;
        mx_loop_timer_cancel(loop, earliest);
    }
    mx_loop_free(loop);
}
END_TEST

/* ---- signals, hooks -----------------------------------------------------------------------------
 */

struct stopper {
    struct mx_loop *loop;
    int signals;
    int hooks;
};

static void on_usr1(void *arg) {
    struct stopper *stopper = arg;
    stopper->signals++;
    mx_loop_stop(stopper->loop);
}

START_TEST(a_signal_taken_by_the_loop_is_an_event_not_an_interruption) {
    struct mx_loop *loop = mx_loop_new();
    struct stopper stopper = {.loop = loop};
    ck_assert_int_eq(mx_loop_on_signal(loop, SIGUSR1, on_usr1, &stopper), 0);
    ck_assert_int_eq(raise(SIGUSR1), 0); /* blocked now: pending until the loop reads it */
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(stopper.signals, 1);
    mx_loop_free(loop);
    /* The mask is as before: SIGUSR1 is no longer blocked. */
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    ck_assert_int_eq(sigismember(&now, SIGUSR1), 0);
}
END_TEST

static void count_hook(void *arg) {
    struct stopper *stopper = arg;
    if (++stopper->hooks < 3)
        mx_loop_again(stopper->loop); /* one more turn at once, though nothing else is due */
    else
        mx_loop_stop(stopper->loop);
}

START_TEST(a_hook_runs_before_every_wait_and_again_asks_for_a_turn_without_sleeping) {
    struct mx_loop *loop = mx_loop_new();
    struct stopper stopper = {.loop = loop};
    struct mx_loop_hook hook;
    mx_loop_before_wait(loop, &hook, count_hook, &stopper);
    /* With no descriptor and no timer, a wait without mx_loop_again would sleep forever. */
    ck_assert_int_eq(mx_loop_run(loop), 0);
    ck_assert_int_eq(stopper.hooks, 3);
    mx_loop_free(loop);
}
END_TEST

static Suite *loop_suite(void) {
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, a_readable_descriptor_calls_back_with_read);
    tcase_add_test(tc, a_descriptor_removed_by_another_callback_of_the_same_turn_is_not_called);
    tcase_add_test(tc, a_writable_descriptor_calls_back_with_write_only_when_asked);
    tcase_add_test(tc, timers_fire_once_each_earliest_first_and_a_cancelled_one_never);
    tcase_add_test(tc, a_timer_rearmed_for_zero_ms_waits_for_the_next_turn);
    tcase_add_test(tc, a_thousand_timers_fire_in_deadline_order_after_cancelling_every_third);
    tcase_add_test(tc, a_signal_taken_by_the_loop_is_an_event_not_an_interruption);
    tcase_add_test(tc, a_hook_runs_before_every_wait_and_again_asks_for_a_turn_without_sleeping);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return mx_unit_run(loop_suite());
}
