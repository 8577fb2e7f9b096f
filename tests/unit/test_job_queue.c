/* The --jobs admission queue: never more than the limit running, first come first served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static omv_job_queue *new_queue(unsigned limit)
{
    omv_job_queue *q = NULL;
    omv_error err = {0};
    assert_int_equal(omv_job_queue_new(limit, &q, &err), OMV_OK);
    assert_non_null(q);
    return q;
}

/* Submit @p key and check whether it started and its place in the queue. */
static void submit(omv_job_queue *q, const char *key, int want_started, size_t want_pos)
{
    int started = -1;
    size_t pos = 99;
    omv_error err = {0};
    assert_int_equal(omv_job_queue_submit(q, key, &started, &pos, &err), OMV_OK);
    assert_int_equal(started, want_started);
    assert_int_equal(pos, want_pos);
}

static void expect_next(omv_job_queue *q, const char *want)
{
    char key[OMV_JOB_KEY_MAX];
    if (!want) {
        assert_int_equal(omv_job_queue_next(q, key, sizeof key), 0);
        return;
    }
    assert_int_equal(omv_job_queue_next(q, key, sizeof key), 1);
    assert_string_equal(key, want);
}

static void test_limit_and_order(void **state)
{
    (void)state;
    omv_job_queue *q = new_queue(2);
    submit(q, "1-1", 1, 0);
    submit(q, "1-2", 1, 0);
    submit(q, "1-3", 0, 1);
    submit(q, "1-4", 0, 2);
    submit(q, "1-5", 0, 3);
    assert_int_equal(omv_job_queue_running(q), 2);
    assert_int_equal(omv_job_queue_waiting(q), 3);
    expect_next(q, NULL);                      /* full */
    assert_int_equal(omv_job_queue_position(q, "1-4"), 2);
    assert_int_equal(omv_job_queue_position(q, "1-1"), 0); /* running */
    assert_int_equal(omv_job_queue_remove(q, "1-2"), 1);   /* finished */
    assert_int_equal(omv_job_queue_position(q, "1-4"), 2); /* not started yet: next() does that */
    /* a newcomer does not overtake the waiting ones, even with a free place */
    submit(q, "1-6", 0, 4);
    expect_next(q, "1-3");
    expect_next(q, NULL);
    assert_int_equal(omv_job_queue_position(q, "1-4"), 1);
    assert_int_equal(omv_job_queue_remove(q, "1-4"), 1);   /* left while waiting */
    assert_int_equal(omv_job_queue_position(q, "1-5"), 1);
    assert_int_equal(omv_job_queue_remove(q, "1-1"), 1);
    assert_int_equal(omv_job_queue_remove(q, "1-3"), 1);
    expect_next(q, "1-5");
    expect_next(q, "1-6");
    expect_next(q, NULL);
    assert_int_equal(omv_job_queue_running(q), 2);
    assert_int_equal(omv_job_queue_waiting(q), 0);
    assert_int_equal(omv_job_queue_remove(q, "1-4"), 0);   /* already gone */
    omv_job_queue_free(q);
}

static void test_no_limit(void **state)
{
    (void)state;
    omv_job_queue *q = new_queue(0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "1-%d", i);
        submit(q, key, 1, 0);
    }
    assert_int_equal(omv_job_queue_running(q), 100);
    expect_next(q, NULL);
    omv_job_queue_free(q);
}

/* Many arrivals and departures: the limit always holds and starts follow arrival order. */
static void test_churn(void **state)
{
    (void)state;
    omv_job_queue *q = new_queue(3);
    char key[16];
    int next_start = 0, started;
    size_t pos;
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(omv_job_queue_submit(q, key, &started, &pos, NULL), OMV_OK);
        if (started)
            assert_int_equal(i, next_start++);
        assert_true(omv_job_queue_running(q) <= 3);
        if (i % 2) { /* the oldest running one finishes */
            snprintf(key, sizeof key, "k%d", next_start - 3 >= 0 ? next_start - 3 : 0);
            omv_job_queue_remove(q, key);
            char got[OMV_JOB_KEY_MAX];
            while (omv_job_queue_next(q, got, sizeof got)) {
                snprintf(key, sizeof key, "k%d", next_start++);
                assert_string_equal(got, key);
            }
        }
        assert_true(omv_job_queue_running(q) <= 3);
    }
    omv_job_queue_free(q);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    omv_job_queue *q = new_queue(1);
    int started;
    omv_error err = {0};
    assert_int_equal(omv_job_queue_submit(q, "", &started, NULL, &err), OMV_E_USAGE);
    assert_int_equal(omv_job_queue_submit(q, NULL, &started, NULL, &err), OMV_E_USAGE);
    assert_int_equal(omv_job_queue_submit(q, "a", &started, NULL, &err), OMV_OK);
    assert_int_equal(omv_job_queue_submit(q, "a", &started, NULL, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "omv_job_queue_submit: 'a' is already queued or running");
    char longkey[OMV_JOB_KEY_MAX + 1];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[OMV_JOB_KEY_MAX] = '\0';
    assert_int_equal(omv_job_queue_submit(q, longkey, &started, NULL, &err), OMV_E_USAGE);
    assert_int_equal(omv_job_queue_new(1, NULL, &err), OMV_E_USAGE);
    assert_int_equal(omv_job_queue_running(NULL), 0);
    assert_int_equal(omv_job_queue_next(NULL, NULL, 0), 0);
    omv_job_queue_free(q);
    omv_job_queue_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_order),
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
