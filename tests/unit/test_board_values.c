/* Value parsers: sizes, numbers, booleans, VID:PID, lists, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "internal.h"

static void test_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(omvi_parse_size("123", &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(omvi_parse_size("0x1000", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(omvi_parse_size("64K", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(omvi_parse_size("3M", &v), 0);
    assert_int_equal(v, 3145728);
    assert_int_equal(omvi_parse_size("1400k", &v), 0);
    assert_int_equal(v, 1433600);
    assert_int_not_equal(omvi_parse_size("3Q", &v), 0);
    assert_int_not_equal(omvi_parse_size("", &v), 0);
    assert_int_not_equal(omvi_parse_size("0x", &v), 0);
    assert_int_not_equal(omvi_parse_size("-1", &v), 0);
    assert_int_not_equal(omvi_parse_size("1KK", &v), 0);
    assert_int_not_equal(omvi_parse_size("18446744073709551616", &v), 0);
    assert_int_not_equal(omvi_parse_size("17592186044416M", &v), 0); /* overflows after * 2^20 */
}

static void test_uint_bool(void **state)
{
    (void)state;
    uint64_t v;
    int b;
    assert_int_equal(omvi_parse_uint("255", 255, &v), 0);
    assert_int_not_equal(omvi_parse_uint("256", 255, &v), 0);
    assert_int_not_equal(omvi_parse_uint("1K", UINT64_MAX, &v), 0);
    assert_int_equal(omvi_parse_bool("Yes", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(omvi_parse_bool("OFF", &b), 0);
    assert_int_equal(b, 0);
    assert_int_not_equal(omvi_parse_bool("2", &b), 0);
}

static void test_usb_ids_and_names(void **state)
{
    (void)state;
    struct omv_usb_id id;
    assert_int_equal(omvi_parse_usb_id("37c5:96E3", &id), 0);
    assert_int_equal(id.vid, 0x37C5);
    assert_int_equal(id.pid, 0x96E3);
    assert_int_equal(omvi_parse_usb_id("1:2", &id), 0);
    assert_int_not_equal(omvi_parse_usb_id("37C5", &id), 0);
    assert_int_not_equal(omvi_parse_usb_id(":96E3", &id), 0);
    assert_int_not_equal(omvi_parse_usb_id("37C5:96E3:1", &id), 0);
    assert_int_not_equal(omvi_parse_usb_id("0x37C5:96E3", &id), 0);
    char **items;
    size_t n, bad;
    assert_int_equal(omvi_split_list(" HP ,HE,  ROMFS1", &items, &n, &bad), 0);
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "HP");
    assert_string_equal(items[2], "ROMFS1");
    omvi_free_list(items, n);
    assert_int_equal(omvi_split_list("A,,B", &items, &n, &bad), -1);
    assert_int_equal(bad, 1);
    assert_true(omvi_valid_plugin_name("dfu"));
    assert_true(omvi_valid_plugin_name("mram_init-2"));
    assert_false(omvi_valid_plugin_name("a/b"));
    assert_false(omvi_valid_plugin_name(".."));
    assert_false(omvi_valid_plugin_name("Dfu"));
    assert_false(omvi_valid_plugin_name(""));
    assert_true(omvi_valid_partition_name("SPI_FLASH"));
    assert_false(omvi_valid_partition_name("SPI-FLASH"));
    assert_true(omvi_valid_file_name("romfs0.img"));
    assert_false(omvi_valid_file_name(".."));
    assert_false(omvi_valid_file_name("a/b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_uint_bool),
        cmocka_unit_test(test_usb_ids_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
