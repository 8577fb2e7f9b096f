/*
 * Slots files: good files load and look up both ways; every kind of bad file
 * fails with OMV_E_CONFIG and exactly the expected "FILE:LINE: ..." message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "test_util.h"

#define DIR TEST_TMP_DIR

static const char *write_slots(const char *name, const char *text)
{
    const char *path = tu_join(DIR, name);
    tu_write_text(path, text);
    return path;
}

static void test_good(void **state)
{
    (void)state;
    tu_fresh_dir(DIR);
    const char *path = write_slots("line.ini", "; production line 1\n"
                                               "[slot A1]\n"
                                               "port = 1-2.1\n"
                                               "\n"
                                               "[ slot  B-2.x ]   ; trailing comment\n"
                                               "  port=3-1.4.2.7.5.6   \n"
                                               "[slot c_3]\n"
                                               "# comment\n"
                                               "port = 1-3\n");
    omv_slots *s = NULL;
    omv_error err = {0};
    omv_status st = omv_slots_load(path, &s, &err);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    assert_int_equal(omv_slots_count(s), 3);
    assert_string_equal(omv_slots_name_at(s, 0), "A1");
    assert_string_equal(omv_slots_name_at(s, 1), "B-2.x");
    assert_string_equal(omv_slots_name_at(s, 2), "c_3");
    assert_null(omv_slots_name_at(s, 3));
    assert_string_equal(omv_slots_lookup(s, "1-2.1"), "A1");
    assert_string_equal(omv_slots_lookup(s, "3-1.4.2.7.5.6"), "B-2.x");
    assert_string_equal(omv_slots_lookup(s, "1-3"), "c_3");
    assert_null(omv_slots_lookup(s, "1-2"));     /* a prefix is another port */
    assert_null(omv_slots_lookup(s, "1-2.10"));
    assert_null(omv_slots_lookup(s, ""));
    assert_null(omv_slots_lookup(s, NULL));
    assert_null(omv_slots_lookup(NULL, "1-2.1"));
    assert_string_equal(omv_slots_port(s, "c_3"), "1-3");
    assert_null(omv_slots_port(s, "C_3"));
    assert_int_equal(omv_slots_count(NULL), 0);
    omv_slots_free(s);
    omv_slots_free(NULL);
}

/* Each bad file: the exact message (after the path). */
static void expect_bad(const char *text, const char *want)
{
    tu_fresh_dir(DIR);
    const char *path = write_slots("bad.ini", text);
    omv_slots *s = (omv_slots *)0x1;
    omv_error err = {0};
    assert_int_equal(omv_slots_load(path, &s, &err), OMV_E_CONFIG);
    assert_null(s);
    char full[1024];
    snprintf(full, sizeof full, "%s%s", path, want);
    assert_string_equal(err.msg, full);
    assert_int_equal(err.code, OMV_E_CONFIG);
}

static void test_bad(void **state)
{
    (void)state;
    expect_bad("", ": no [slot NAME] sections");
    expect_bad("; only a comment\n", ": no [slot NAME] sections");
    expect_bad("port = 1-1\n", ":1: key 'port' outside any section (start with [slot NAME])");
    expect_bad("[slots A]\nport = 1-1\n", ":1: unknown section [slots A] (expected [slot NAME])");
    expect_bad("[board]\n", ":1: unknown section [board] (expected [slot NAME])");
    expect_bad("[slot]\nport = 1-1\n", ":1: [slot]: a slot name is 1 to 31 letters, digits, '_', '-' or '.'");
    expect_bad("[slot A B]\nport = 1-1\n",
               ":1: [slot A B]: a slot name is 1 to 31 letters, digits, '_', '-' or '.'");
    expect_bad("[slot A\"1]\n", ":1: [slot A\"1]: a slot name is 1 to 31 letters, digits, '_', '-' or '.'");
    expect_bad("[slot A]\nport = 1-1\n[slot B]\nport = 1-2\n[slot A]\nport = 1-3\n",
               ":5: duplicate [slot A] (first at line 1)");
    expect_bad("[slot A]\nport = 1-1\n[slot B]\n\nport = 1-1\n", ":5: [slot B]: port 1-1 is already slot A (line 2)");
    expect_bad("[slot A]\n[slot B]\nport = 1-1\n", ":1: [slot A] has no 'port = PATH'");
    expect_bad("[slot A]\nport = 1-1\n[slot B]\n", ":3: [slot B] has no 'port = PATH'");
    expect_bad("[slot A]\nport = 1-1\nport = 1-2\n", ":3: [slot A]: port given twice (first at line 2)");
    expect_bad("[slot A]\nhub = 1-1\n", ":2: [slot A]: unknown key 'hub' (the only key is 'port')");
    expect_bad("[slot A]\nport = 1.2\n", ":2: [slot A]: port '1.2' is not a USB port path such as 1-2.3 "
                                         "(bus-port.port...; see omvflashd --list-devices)");
    expect_bad("[slot A]\nport = 1-2.\n", ":2: [slot A]: port '1-2.' is not a USB port path such as 1-2.3 "
                                          "(bus-port.port...; see omvflashd --list-devices)");
    expect_bad("[slot A]\nport = 1-1.1.1.1.1.1.1\n",
               ":2: [slot A]: port '1-1.1.1.1.1.1.1' is not a USB port path such as 1-2.3 "
               "(bus-port.port...; see omvflashd --list-devices)");
    expect_bad("[slot A]\nport =\n", ":2: [slot A]: port '' is not a USB port path such as 1-2.3 "
                                     "(bus-port.port...; see omvflashd --list-devices)");
    expect_bad("[slot A]\nport 1-1\n", ":2: syntax error: expected [section], key = value or a comment");
    expect_bad("[slot A\nport = 1-1\n", ":1: syntax error: section header has no closing ']'");
    expect_bad("[slot A] x\nport = 1-1\n", ":1: syntax error: unexpected text after ']'");
    expect_bad("[slot A]\n= 1-1\n", ":2: syntax error: missing key name before '='");
}

/* A NUL byte in a line (tu_write_text would stop at it). */
static void test_nul_byte(void **state)
{
    (void)state;
    tu_fresh_dir(DIR);
    static const char text[] = "[slot A]\nport = 1-1\0junk\n";
    const char *path = tu_join(DIR, "nul.ini");
    tu_write(path, text, sizeof text - 1);
    omv_slots *s = NULL;
    omv_error err = {0};
    assert_int_equal(omv_slots_load(path, &s, &err), OMV_E_CONFIG);
    char want[1024];
    snprintf(want, sizeof want, "%s:2: line contains a NUL byte", path);
    assert_string_equal(err.msg, want);
}

static void test_missing_file(void **state)
{
    (void)state;
    omv_slots *s = NULL;
    omv_error err = {0};
    assert_int_equal(omv_slots_load(DIR "/nonexistent.ini", &s, &err), OMV_E_CONFIG);
    assert_string_equal(err.msg, DIR "/nonexistent.ini: No such file or directory");
    assert_int_equal(omv_slots_load(NULL, &s, &err), OMV_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
