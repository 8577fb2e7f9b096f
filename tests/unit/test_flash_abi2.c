/*
 * omv_flash() and the ABI 2 services, against the fake transport and entry
 * plugins (plugins/fake_transport.c, plugins/fake_entry.c), which record
 * every call in $OMV_FAKE_DIR/calls.log: plugin contexts started and stopped
 * once per run, command-line shorthands, erase through the transport,
 * container images split into segments, the core's wait (a camera that shows
 * up in application mode late, a second entry method, a permission error
 * that clears), structured errors in the error event, the ranges
 * --skip-unchanged hands to write(), retries, omv_identify().
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

#define D TEST_TMP_DIR
#define FW D "/fw"
#define DEV D "/dev"

static omv_error last_error; /* the error event's record */
static int n_errors;

static void on_event(void *user, const omv_event *ev)
{
    (void)user;
    if (ev->type == OMV_EV_ERROR) {
        assert_non_null(ev->error);
        last_error = *ev->error;
        n_errors++;
    }
}

static int fresh(void **state)
{
    (void)state;
    tu_fresh_dir(D);
    tu_fresh_dir(FW);
    tu_fresh_dir(DEV);
    tu_write_pattern(FW "/firmware.bin", 5000, 1);
    tu_write_pattern(FW "/romfs0.img", 2048, 9);
    setenv("OMV_FAKE_DIR", DEV, 1);
    unsetenv("OMVFLASH_PLUGIN_PATH");
    n_errors = 0;
    return 0;
}

static char *calls(void)
{
    char *c = tu_read(DEV "/calls.log", NULL);
    return c ? c : calloc(1, 1);
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static omv_status flash_board(const char *board_path, omv_request *req, omv_error *err)
{
    omv_board *b = NULL;
    assert_int_equal(omv_board_load(board_path, &b, err), OMV_OK);
    omv_callbacks cb = {.event = on_event};
    req->plugin_dir = TEST_PLUGIN_DIR;
    omv_status st = omv_flash(b, req, &cb, err);
    omv_board_free(b);
    return st;
}

/* One plugin context per run: init() before anything, exit() after the device was closed. */
static void test_context_lifecycle(void **state)
{
    (void)state;
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    /* The fake bootloader stays after the reset here (no app=1): not about confirming the boot. */
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 100, .no_confirm = 1};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake_multi.ini", &req, &err), OMV_OK);
    char *c = calls();
    assert_int_equal(count(c, "init fake "), 1);
    assert_int_equal(count(c, "init fakeb "), 1);
    assert_int_equal(count(c, "exit fake\n"), 1);
    assert_int_equal(count(c, "exit fakeb\n"), 1);
    assert_true(strstr(c, "init fake ") < strstr(c, "open "));
    assert_true(strstr(c, "close\n") < strstr(c, "exit fake"));
    free(c);
}

/* --FLAG VALUE sets the option of the plugin declaring FLAG; unknown flags and bad values are usage errors. */
static void test_shorthands(void **state)
{
    (void)state;
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_image_spec sh[] = {{"label", "fromcli"}};
    omv_request req = {.images = im, .n_images = 1, .shorthands = sh, .n_shorthands = 1, .wait_ms = 100};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_OK);
    char *c = calls();
    assert_non_null(strstr(c, "open serial=- label=fromcli block=1000\n"));
    free(c);
    omv_image_spec bad[] = {{"speed", "3"}};
    req.shorthands = bad;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "unknown option '--speed' (see --help; the plugins of Fake Camera add: --label)");
    omv_image_spec set[] = {{"block", "0"}};
    req.shorthands = NULL;
    req.n_shorthands = 0;
    req.settings = set;
    req.n_settings = 1;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "--set block=0: 0 is out of range (a number from 1 to 65536)");
}

/* A plugin's own check() of its options, named with FILE:LINE of its section. */
static void test_plugin_check(void **state)
{
    (void)state;
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_image_spec set[] = {{"label", "bad"}};
    omv_request req = {.images = im, .n_images = 1, .settings = set, .n_settings = 1, .dry_run = 1};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_BOARD);
    assert_string_equal(err.msg, "boards/good/fake.ini:12: [fake]: label must not be 'bad'");
    assert_false(tu_exists(DEV "/calls.log")); /* never started */
}

/* --erase-filesystem is the transport's erase() of the filesystem partition. */
static void test_erase(void **state)
{
    (void)state;
    omv_request req = {.erase_filesystem = 1, .no_reset = 1, .wait_ms = 100};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_OK);
    char *c = calls();
    assert_non_null(strstr(c, "partitions\nerase FS 3\nfinish reset=0\n"));
    free(c);
}

/* A container image: each segment written (and verified) at its own place, the rest of the file skipped. */
static void test_segments(void **state)
{
    (void)state;
    const char *head = "FAKESEGS FOR=37C5:9FFF\nFIRMWARE 0x100 10\nROMFS0 0 5\nEND\n";
    char img[128];
    size_t hl = strlen(head);
    memcpy(img, head, hl);
    memcpy(img + hl, "0123456789abcde", 15);
    tu_write(FW "/all.seg", img, hl + 15);
    tu_write_pattern(DEV "/part_FIRMWARE.bin", 512, 3);
    omv_image_spec im[] = {{"FIRMWARE", FW "/all.seg"}};
    omv_request req = {.images = im, .n_images = 1, .verify = 1, .wait_ms = 100};
    omv_error err;
    omv_status st = flash_board("boards/good/fake.ini", &req, &err);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    char *c = calls();
    /* the container's segments are written, then verified */
    assert_non_null(strstr(c, "write FIRMWARE 1 10 at 256\nwrite ROMFS0 2 5\nread FIRMWARE 1 10 at 256\n"
                              "read ROMFS0 2 5\n"));
    free(c);
    size_t len = 0;
    char *fw = tu_read(DEV "/part_FIRMWARE.bin", &len);
    assert_int_equal(len, 512);
    assert_memory_equal(fw + 0x100, "0123456789", 10);
    free(fw);
    char *rom = tu_read(DEV "/part_ROMFS0.bin", &len);
    assert_int_equal(len, 5);
    assert_memory_equal(rom, "abcde", 5);
    free(rom);
}

static void test_segments_refused(void **state)
{
    (void)state;
    /* a segment past its partition's end: refused before any device I/O */
    tu_write_text(FW "/big.seg", "FAKESEGS FOR=0:0\nFIRMWARE 0xFFFF 2\nEND\nxx");
    omv_image_spec im[] = {{"FIRMWARE", FW "/big.seg"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 100};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, FW "/big.seg: segment 1 (2 bytes at offset 0xFFFF) does not fit partition FIRMWARE "
                                    "(65536 bytes)");
    char *c = calls();
    assert_null(strstr(c, "open "));
    free(c);
    /* made for another device: refused once the device is known, nothing written */
    tu_write_text(FW "/other.seg", "FAKESEGS FOR=1234:5678\nFIRMWARE 0 2\nEND\nxx");
    im[0].path = FW "/other.seg";
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_MISMATCH);
    assert_string_equal(err.msg, FW "/other.seg is made for USB device 1234:5678, but the camera is 37C5:9FFF: "
                                    "nothing was written");
    c = calls();
    assert_null(strstr(c, "write "));
    free(c);
}

/* A camera that shows up in application mode only after the wait began is still reset into its bootloader. */
static void test_wait_enters_late_camera(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "present_fake=0\npresent_fakeb=after_enter\napp=1\napp_after=3\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 3000};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake_multi.ini", &req, &err), OMV_OK);
    char *c = calls();
    assert_non_null(strstr(c, "enter fakeentry\n"));
    assert_non_null(strstr(c, "write FIRMWARE 1 5000\n"));
    free(c);
}

/* Several entry methods: the next is tried when one gets no answer. */
static void test_second_entry_method(void **state)
{
    (void)state;
    tu_write_text(D "/two.ini", "[board]\nname = Two\napp_ids = 37C5:1FFF\nbootloader_ids = 37C5:9FFF\n"
                                "transport = fakeb\nentry = fakeentry, fakeentryb\nflash_order = FIRMWARE\n"
                                "[partition FIRMWARE]\nsize = 64K\nimage = firmware.bin\n");
    tu_write_text(DEV "/config", "present_fakeb=after_enter\napp=1\nenter_fakeentry=timeout\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 3000};
    omv_error err;
    assert_int_equal(flash_board(D "/two.ini", &req, &err), OMV_OK);
    char *c = calls();
    char *first = strstr(c, "enter timeout fakeentry\n"), *second = strstr(c, "enter fakeentryb\n");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    free(c);
}

/* A device that cannot be opened for a moment (udev applying permissions) is waited for. */
static void test_access_grace(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "access=3\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 3000};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_OK);
    /* ... but not for ever */
    tu_write_text(DEV "/config", "access=1000\n");
    tu_write_text(DEV "/access_count", "0\n");
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_ACCESS);
    assert_string_equal(err.msg, "fake device: permission denied");
}

/* The error event carries the whole record: device status, block, retriable. */
static void test_error_details(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "fail_write=FIRMWARE:7\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 100};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_DEVICE);
    assert_int_equal(n_errors, 1);
    assert_string_equal(last_error.msg, "write FIRMWARE (" FW "/firmware.bin): block 2: fake device status 7");
    assert_true(last_error.flags & OMV_ERRF_DEVICE_STATUS);
    assert_int_equal(last_error.device_status, 7);
    assert_string_equal(last_error.device_status_name, "errFAKE");
    assert_true(last_error.flags & OMV_ERRF_BLOCK);
    assert_int_equal(last_error.block, 2);
    assert_int_equal(last_error.retriable, 1);
}

/* An image of the bytes the fake transport serves for a partition never written (byte i = i & 0xFF). */
static void write_served_pattern(const char *path, size_t size)
{
    unsigned char *b = malloc(size);
    assert_non_null(b);
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)(i & 0xFF);
    tu_write(path, b, size);
    free(b);
}

static omv_status skip_unchanged_run(omv_error *err)
{
    omv_image_spec im[] = {{"FIRMWARE", FW "/same.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 100, .skip_unchanged = 1, .no_reset = 1};
    return flash_board("boards/good/fake.ini", &req, err);
}

/* --skip-unchanged: the read-back arrives in 1000-byte pieces, never aligned
 * to the 4 KiB comparison chunks; a differing byte makes its chunk a range of
 * the write, and a partition that reads back identical is not written. */
static void test_skip_unchanged_ranges(void **state)
{
    (void)state;
    omv_error err;
    write_served_pattern(FW "/same.bin", 20000);
    assert_int_equal(skip_unchanged_run(&err), OMV_OK);
    char *c = calls();
    assert_non_null(strstr(c, "read FIRMWARE 1 20000\nfinish reset=0\n"));
    assert_null(strstr(c, "write FIRMWARE"));
    free(c);
    tu_fresh_dir(DEV);
    tu_write_text(DEV "/config", "corrupt=FIRMWARE:9000\n");
    assert_int_equal(skip_unchanged_run(&err), OMV_OK);
    c = calls();
    assert_non_null(strstr(c, "read FIRMWARE 1 20000\nwrite FIRMWARE 1 20000 ranges 8192+4096\n"));
    free(c);
}

/* A read-back that fails 5000 bytes into every read(): the chunk it failed in
 * is written, the session is recovered, and reading goes on at the next chunk. */
static void test_skip_unchanged_read_fails(void **state)
{
    (void)state;
    omv_error err;
    write_served_pattern(FW "/same.bin", 20000);
    tu_write_text(DEV "/config", "fail_read=FIRMWARE:5000\n");
    assert_int_equal(skip_unchanged_run(&err), OMV_OK);
    char *c = calls();
    assert_non_null(strstr(c, "read FIRMWARE 1 20000\nrecover\nread FIRMWARE 1 11808 at 8192\nrecover\n"
                              "read FIRMWARE 1 3616 at 16384\nwrite FIRMWARE 1 20000 ranges 4096+4096,12288+4096\n"));
    free(c);
}

/* A write that fails retriably every time: the first attempt and
 * omv_request.retries more, each after recover(); then the last error. A
 * zero-initialised request does not retry. */
static void test_retries(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "fail_write=FIRMWARE:7\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1, .wait_ms = 100, .retries = 2};
    omv_error err;
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_DEVICE);
    char *c = calls();
    assert_int_equal(count(c, "write FIRMWARE"), 3);
    assert_int_equal(count(c, "recover\n"), 2);
    free(c);
    assert_string_equal(err.msg, "write FIRMWARE (" FW "/firmware.bin): block 2: fake device status 7");
    tu_fresh_dir(DEV);
    tu_write_text(DEV "/config", "fail_write=FIRMWARE:7\n");
    req.retries = OMV_RETRIES_DEFAULT; /* the board's: 2 when it does not say */
    assert_int_equal(flash_board("boards/good/fake.ini", &req, &err), OMV_E_DEVICE);
    c = calls();
    assert_int_equal(count(c, "write FIRMWARE"), 3);
    free(c);
}

static void test_identify(void **state)
{
    (void)state;
    omv_board *b = NULL;
    omv_error err;
    assert_int_equal(omv_board_load("boards/good/fake_multi.ini", &b, &err), OMV_OK);
    struct omv_app_info info;
    omv_request req = {.plugin_dir = TEST_PLUGIN_DIR, .wait_ms = 50};
    assert_int_equal(omv_identify(b, &req, NULL, &info, &err), OMV_E_NO_DEVICE);
    assert_string_equal(err.msg, "no camera of Fake Camera in application mode appeared within 50 ms");
    tu_write_text(DEV "/config", "app=1\narch=FAKE ARCH\n");
    assert_int_equal(omv_identify(b, &req, NULL, &info, &err), OMV_OK);
    assert_string_equal(info.firmware_version, "9.9.9");
    assert_string_equal(info.arch, "FAKE ARCH");
    assert_int_equal(info.protocol, 1);
    char *c = calls();
    assert_non_null(strstr(c, "identify fakeentry\n"));
    assert_null(strstr(c, "enter")); /* never reset */
    free(c);
    omv_board_free(b);
}

static void test_device_key(void **state)
{
    (void)state;
    struct omv_device_info d = {.vid = 0x37C5, .pid = 0x96E3, .serial = "ABC", .port_path = "1-2.3"};
    char key[OMV_DEVICE_KEY_MAX];
    omv_device_key(&d, key, sizeof key);
    assert_string_equal(key, "1-2.3");
    d.port_path[0] = '\0';
    omv_device_key(&d, key, sizeof key);
    assert_string_equal(key, "37c5:96e3:ABC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_context_lifecycle, fresh),
        cmocka_unit_test_setup(test_shorthands, fresh),
        cmocka_unit_test_setup(test_plugin_check, fresh),
        cmocka_unit_test_setup(test_erase, fresh),
        cmocka_unit_test_setup(test_segments, fresh),
        cmocka_unit_test_setup(test_segments_refused, fresh),
        cmocka_unit_test_setup(test_wait_enters_late_camera, fresh),
        cmocka_unit_test_setup(test_second_entry_method, fresh),
        cmocka_unit_test_setup(test_access_grace, fresh),
        cmocka_unit_test_setup(test_error_details, fresh),
        cmocka_unit_test_setup(test_skip_unchanged_ranges, fresh),
        cmocka_unit_test_setup(test_skip_unchanged_read_fails, fresh),
        cmocka_unit_test_setup(test_retries, fresh),
        cmocka_unit_test_setup(test_identify, fresh),
        cmocka_unit_test_setup(test_device_key, fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
