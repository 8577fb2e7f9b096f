/*
 * Board loader: golden tests. boards/good/NAME.ini load and their values are
 * asserted; each boards/bad/X.ini fails with OMV_E_BOARD and exactly the one
 * line in boards/bad/X.expected. Every shipped boards/NAME.ini loads.
 * OMV_UPDATE_GOLDEN=1 rewrites the .expected files (review the diff!).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "test_util.h"

static void test_minimal(void **state)
{
    (void)state;
    omv_board *b = tu_load_board("boards/good/minimal.ini");
    assert_string_equal(omv_board_name(b), "Minimal");
    assert_string_equal(omv_board_path(b), "boards/good/minimal.ini");
    assert_string_equal(omv_board_transport(b), "dfu");
    assert_int_equal(b->n_boot_ids, 1);
    assert_int_equal(b->boot_ids[0].vid, 0x1234);
    assert_int_equal(b->boot_ids[0].pid, 0x5678);
    assert_int_equal(b->n_app_ids, 0);
    assert_int_equal(b->wait_ms, 10000);
    assert_null(b->firmware_list);
    assert_null(omv_board_firmware_dir(b));
    assert_null(omv_board_arch(b));
    assert_int_equal(b->filesystem, -1);
    assert_int_equal(omv_board_partition_count(b), 1);
    const omv_partition_info *p = omv_board_partition(b, 0);
    assert_string_equal(p->name, "FW");
    assert_null(omv_board_partition_option(b, 0, "alt"));
    assert_int_equal(p->size, 4096);
    assert_int_equal(p->read_only, 0);
    assert_int_equal(p->readable, 1);
    assert_string_equal(p->image, "fw.bin");
    assert_int_equal(p->timeout_ms, 0);
    assert_null(omv_board_partition(b, 1));
    assert_null(omvi_board_transport_section(b));
    omv_board_free(b);
}

static void test_full(void **state)
{
    (void)state;
    omv_board *b = tu_load_board("boards/good/full.ini");
    assert_string_equal(omv_board_name(b), "Full Board");
    assert_string_equal(omv_board_transport(b), "good");
    assert_int_equal(b->n_boot_ids, 2);
    assert_int_equal(b->boot_ids[0].vid, 0x37C5);
    assert_int_equal(b->boot_ids[0].pid, 0x96E3);
    assert_int_equal(b->boot_ids[1].vid, 0x1209);
    assert_int_equal(b->boot_ids[1].pid, 0xABD1);
    assert_int_equal(b->n_app_ids, 1);
    assert_int_equal(b->app_ids[0].pid, 0x16E3);
    assert_int_equal(b->flash_order.n, 2);
    assert_int_equal(b->flash_order.index[0], 0);
    assert_int_equal(b->flash_order.index[1], 1);
    assert_string_equal(b->firmware_list, "list.txt");
    assert_string_equal(omv_board_firmware_dir(b), "OPENMV4");
    assert_string_equal(omv_board_arch(b), "OMV4P H7 32768 SDRAM");
    assert_int_equal(b->filesystem, 2);
    assert_int_equal(b->wait_ms, 256);
    assert_int_equal(omv_board_partition_count(b), 4);
    const omv_partition_info *a = omv_board_partition(b, 0);
    assert_string_equal(a->name, "A");
    /* keys the core does not know are kept as text for the transports */
    assert_string_equal(omv_board_partition_option(b, 0, "alt"), "3");
    assert_int_equal(a->size, 4096);
    assert_int_equal(a->timeout_ms, 500);
    const omv_partition_info *pb = omv_board_partition(b, 1);
    assert_string_equal(omv_board_partition_option(b, 1, "alt"), "0");
    assert_int_equal(pb->size, 2 * 1024 * 1024);
    assert_string_equal(pb->image, "b.img");
    assert_int_equal(pb->readable, 0);
    const omv_partition_info *c = omv_board_partition(b, 2);
    assert_int_equal(c->size, 12 * 1024);
    assert_null(c->image);
    const omv_partition_info *d = omv_board_partition(b, 3);
    assert_string_equal(d->name, "D_2");
    assert_string_equal(omv_board_partition_option(b, 3, "alt"), "255");
    assert_null(omv_board_partition_option(b, 3, "size")); /* a core key is not a partition option */
    assert_int_equal(d->size, 1);
    assert_int_equal(d->read_only, 1);
    assert_int_equal(d->readable, 0);
    /* the transport's section is kept raw, with line numbers */
    const omvi_plugin_section *s = omvi_board_transport_section(b);
    assert_non_null(s);
    assert_int_equal(s->line, 16);
    assert_int_equal(s->n_opts, 3);
    assert_string_equal(s->opts[0].key, "speed");
    assert_string_equal(s->opts[0].value, "64K");
    assert_int_equal(s->opts[0].line, 17);
    assert_string_equal(s->opts[1].key, "mode");
    assert_string_equal(s->opts[1].value, "slow");
    /* actions too */
    assert_int_equal(b->n_actions, 1);
    assert_string_equal(b->actions[0].title, "init");
    assert_string_equal(b->actions[0].plugin, "act");
    assert_int_equal(b->actions[0].n_opts, 1);
    omv_board_free(b);
}

static void test_crlf(void **state)
{
    (void)state;
    omv_board *b = tu_load_board("boards/good/crlf.ini");
    assert_string_equal(omv_board_name(b), "CRLF Board");
    assert_int_equal(omv_board_partition(b, 0)->size, 1024 * 1024);
    assert_string_equal(omv_board_partition(b, 0)->image, "p.bin");
    omv_board_free(b);
}

/*
 * Each DIR/X.ini fails with OMV_E_BOARD and exactly the line in
 * DIR/X.expected: at omv_board_load() (boards/bad), or only once the
 * board's plugins are known, at omv_board_check_plugins() (boards/bad_plugin:
 * partition options, plugin options and checks). @return how many files.
 */
static int check_goldens(const char *dir, int with_plugins)
{
    int update = getenv("OMV_UPDATE_GOLDEN") != NULL;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0, failed = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        char ini[512], exp_path[512];
        snprintf(ini, sizeof ini, "%s/%s", dir, e->d_name);
        snprintf(exp_path, sizeof exp_path, "%s/%.*s.expected", dir, (int)(len - 4), e->d_name);
        omv_board *b = NULL;
        omv_error err = {0};
        omv_status st = omv_board_load(ini, &b, &err);
        if (with_plugins && st == OMV_OK) {
            st = omv_board_check_plugins(b, TEST_PLUGIN_DIR, &err);
            omv_board_free(b);
            b = NULL;
        }
        n++;
        if (st != OMV_E_BOARD || b) {
            print_error("%s: expected OMV_E_BOARD, got %d (%s)\n", ini, st, err.msg);
            failed++;
            omv_board_free(b);
            continue;
        }
        if (update) {
            char line[1100];
            snprintf(line, sizeof line, "%s\n", err.msg);
            tu_write_text(exp_path, line);
            continue;
        }
        char *want = tu_read(exp_path, NULL);
        if (!want) {
            print_error("%s: missing %s (got: %s)\n", ini, exp_path, err.msg);
            failed++;
            continue;
        }
        want[strcspn(want, "\n")] = '\0';
        if (strcmp(want, err.msg) != 0) {
            print_error("%s:\n  want: %s\n  got:  %s\n", ini, want, err.msg);
            failed++;
        }
        free(want);
    }
    closedir(d);
    assert_int_equal(failed, 0);
    return n;
}

static void test_bad_goldens(void **state)
{
    (void)state;
    assert_true(check_goldens("boards/bad", 0) >= 50);
    assert_true(check_goldens("boards/bad_plugin", 1) >= 8);
}

static void test_missing_file(void **state)
{
    (void)state;
    omv_board *b = NULL;
    omv_error err = {0};
    assert_int_equal(omv_board_load("boards/good/nope.ini", &b, &err), OMV_E_BOARD);
    assert_null(b);
    assert_string_equal(err.msg, "boards/good/nope.ini (board file): No such file or directory");
}

/* Each shipped board names its release folder and arch string: the firmware
 * build's target and its OMV_BOARD_ARCH (docs/protocols.md section 10). */
static void check_release_identity(const char *file, const omv_board *b)
{
    static const struct {
        const char *file, *dir, *arch;
    } want[] = {
        {"ae3.ini", "OPENMV_AE3", "OPENMV AE3"},
        {"h7.ini", "OPENMV4", "OMV4 H7 1024"},
        {"h7plus.ini", "OPENMV4P", "OMV4P H7 32768 SDRAM"},
        {"m4.ini", "OPENMV2", "OMV2 F4 256 JPEG"},
        {"m7.ini", "OPENMV3", "OMV3 F7 512"},
        {"n6.ini", "OPENMV_N6", "OpenMV N6"},
        {"pt.ini", "OPENMVPT", "OPENMVPT 65536 SDRAM"},
        {"portenta_h7.ini", "ARDUINO_PORTENTA_H7", "PORTENTA H7 8192 SDRAM"},
        {"nicla_vision.ini", "ARDUINO_NICLA_VISION", "NICLAV H7 1024"},
        {"giga.ini", "ARDUINO_GIGA", "GIGA H7 8192 SDRAM"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strcmp(file, want[i].file) != 0)
            continue;
        assert_string_equal(omv_board_firmware_dir(b), want[i].dir);
        assert_string_equal(omv_board_arch(b), want[i].arch);
        return;
    }
    fail_msg("shipped board %s has no expected release folder/arch in this test", file);
}

static void test_shipped_boards(void **state)
{
    (void)state;
    DIR *d = opendir(BOARDS_DIR);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        omv_board *b = tu_load_board(tu_join(BOARDS_DIR, e->d_name));
        /* every shipped board: FIRMWARE/ROMFS0-style flash order, a filesystem */
        assert_true(b->n_boot_ids >= 1);
        assert_true(b->n_app_ids >= 1);
        assert_true(b->filesystem >= 0);
        if (strcmp(omv_board_transport(b), "dfuse") == 0) {
            /* the Arduino boards: bootloader 2341:03xx, OpenMV firmware 2341:04xx */
            assert_int_equal(b->boot_ids[0].vid, 0x2341);
            assert_int_equal(b->boot_ids[0].pid & 0xFF00, 0x0300);
            assert_int_equal(b->app_ids[0].pid, b->boot_ids[0].pid + 0x100);
        } else {
            assert_string_equal(omv_board_transport(b), "dfu");
            assert_int_equal(b->boot_ids[0].vid, 0x37C5);
            assert_int_equal(b->boot_ids[0].pid & 0xF000, 0x9000);
            assert_int_equal(b->app_ids[0].pid, b->boot_ids[0].pid - 0x8000); /* 37C5:92xx <-> 37C5:12xx */
        }
        check_release_identity(e->d_name, b);
        omv_board_free(b);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 10);
}

static void test_ae3(void **state)
{
    (void)state;
    omv_board *b = tu_load_board(BOARDS_DIR "/ae3.ini");
    assert_string_equal(omv_board_name(b), "OpenMV AE3");
    assert_int_equal(omv_board_partition_count(b), 8);
    static const char *names[] = {"BOOT", "HP", "HE", "ROMFS1", "TOC", "RWFS", "ROMFS0", "RECOVERY"};
    for (size_t i = 0; i < 8; i++) {
        char alt[8];
        snprintf(alt, sizeof alt, "%zu", i);
        assert_string_equal(omv_board_partition(b, i)->name, names[i]);
        assert_string_equal(omv_board_partition_option(b, i, "alt"), alt);
    }
    assert_int_equal(omv_board_partition(b, 1)->size, 3145728);
    assert_int_equal(omv_board_partition(b, 2)->size, 1433600);
    assert_int_equal(omv_board_partition(b, 6)->size, 25165824);
    assert_int_equal(omv_board_partition(b, 0)->read_only, 1);
    assert_int_equal(omv_board_partition(b, 4)->read_only, 1);
    assert_int_equal(omv_board_partition(b, 7)->readable, 0);
    assert_int_equal(omv_board_partition(b, 7)->timeout_ms, 120000);
    assert_int_equal(b->flash_order.n, 4);
    static const char *order[] = {"HP", "HE", "ROMFS1", "ROMFS0"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(b->parts[b->flash_order.index[i]].name, order[i]);
    assert_string_equal(b->parts[b->filesystem].name, "RWFS");
    assert_string_equal(b->firmware_list, "firmware.lst");
    assert_int_equal(b->boot_ids[0].pid, 0x96E3);
    assert_int_equal(b->app_ids[0].pid, 0x16E3);
    omv_board_free(b);
}

static void test_h7plus_and_n6(void **state)
{
    (void)state;
    omv_board *b = tu_load_board(BOARDS_DIR "/h7plus.ini");
    assert_string_equal(b->parts[b->filesystem].name, "SPI_FLASH");
    assert_int_equal(omv_board_partition(b, 2)->size, 1835008);
    assert_int_equal(omv_board_partition(b, 4)->size, 8388608);
    omv_board_free(b);
    b = tu_load_board(BOARDS_DIR "/n6.ini");
    assert_int_equal(omv_board_partition(b, 1)->size, 3670016);
    assert_string_equal(b->parts[b->filesystem].name, "FILESYSTEM");
    omv_board_free(b);
    b = tu_load_board(BOARDS_DIR "/m4.ini");
    assert_int_equal(omv_board_partition(b, 2)->size, 851968);
    omv_board_free(b);
}

int main(void)
{
    /* The fake transports log their check() and init() calls there, not into the source tree. */
    tu_fresh_dir(TEST_TMP_DIR);
    setenv("OMV_FAKE_DIR", TEST_TMP_DIR, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),       cmocka_unit_test(test_full),
        cmocka_unit_test(test_crlf),          cmocka_unit_test(test_bad_goldens),
        cmocka_unit_test(test_missing_file),  cmocka_unit_test(test_shipped_boards),
        cmocka_unit_test(test_ae3),           cmocka_unit_test(test_h7plus_and_n6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
