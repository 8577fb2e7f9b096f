#define _POSIX_C_SOURCE 200809L
/* The recovery key block must be exactly the 16 + 4080 bytes of docs/protocols.md §3.6:
 * asserted against the literal, not against the generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mram_key.h"

static const uint8_t fact_sheet_key[16] = {0x15, 0x9E, 0x7D, 0x42, 0x96, 0x1A, 0x71, 0xEB,
                                           0x73, 0xA3, 0x26, 0x29, 0x2B, 0x08, 0x09, 0x0E};

static void test_block_is_key_then_zeros(void **state)
{
    (void)state;
    uint8_t block[MRAM_KEY_BLOCK_SIZE];
    memset(block, 0xAA, sizeof block);
    mram_key_build(block);
    assert_int_equal(sizeof block, 4096);
    assert_memory_equal(block, fact_sheet_key, 16);
    for (size_t i = 16; i < sizeof block; i++)
        assert_int_equal(block[i], 0);
}

static char *write_tmp(const uint8_t *data, size_t n)
{
    char *path = strdup("/tmp/mramkeyXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_good_key_file_accepted(void **state)
{
    (void)state;
    uint8_t block[4096] = {0};
    memcpy(block, fact_sheet_key, 16);
    char *p = write_tmp(block, sizeof block);
    omv_error err;
    omv_error_clear(&err);
    assert_int_equal(mram_key_check_file(p, &err), OMV_OK);
    unlink(p);
    free(p);
}

static void test_wrong_byte_names_offset(void **state)
{
    (void)state;
    uint8_t block[4096] = {0};
    memcpy(block, fact_sheet_key, 16);
    block[3] = 0x41;
    char *p = write_tmp(block, sizeof block);
    omv_error err;
    omv_error_clear(&err);
    assert_int_equal(mram_key_check_file(p, &err), OMV_E_IMAGE);
    assert_non_null(strstr(err.msg, "byte 3 is 0x41, expected 0x42"));
    unlink(p);
    free(p);
}

static void test_short_file_refused(void **state)
{
    (void)state;
    char *p = write_tmp(fact_sheet_key, 16);
    omv_error err;
    omv_error_clear(&err);
    assert_int_equal(mram_key_check_file(p, &err), OMV_E_IMAGE);
    assert_non_null(strstr(err.msg, "is 16 bytes, expected 4096"));
    unlink(p);
    free(p);
}

static void test_missing_file_refused(void **state)
{
    (void)state;
    omv_error err;
    omv_error_clear(&err);
    assert_int_equal(mram_key_check_file("/nonexistent/key.bin", &err), OMV_E_IMAGE);
    assert_non_null(strstr(err.msg, "/nonexistent/key.bin: No such file or directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_is_key_then_zeros),
        cmocka_unit_test(test_good_key_file_accepted),
        cmocka_unit_test(test_wrong_byte_names_offset),
        cmocka_unit_test(test_short_file_refused),
        cmocka_unit_test(test_missing_file_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
