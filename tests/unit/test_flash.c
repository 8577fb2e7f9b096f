/*
 * omv_flash() against the fake transport plugin (plugins/fake_transport.c),
 * which records every call in $OMV_FAKE_DIR/calls.log and keeps written bytes
 * in part_NAME.bin. Proves the order of steps, that a dry run opens nothing,
 * that a mismatching device is refused before any write, that verify reports
 * the first differing offset, that reads are atomic, and that the device is
 * always released.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "internal.h"
#include "test_util.h"

#define D TEST_TMP_DIR
#define FW D "/fw"
#define DEV D "/dev"

static omv_board *board;

typedef struct rec {
    char text[8192];
    int progress;
    int debug_logs;
    omv_status finished;
    int n_finished;
} rec;

static void on_event(void *user, const omv_event *ev)
{
    rec *r = user;
    char line[1200] = "";
    switch (ev->type) {
    case OMV_EV_PLAN:
        snprintf(line, sizeof line, "plan %d/%d %s %s %llu", ev->index, ev->count, ev->step,
                 ev->partition ? ev->partition : "-", (unsigned long long)ev->total);
        break;
    case OMV_EV_WAITING: snprintf(line, sizeof line, "waiting %llu", (unsigned long long)ev->total); break;
    case OMV_EV_DEVICE: snprintf(line, sizeof line, "device %s", ev->device->serial); break;
    case OMV_EV_STEP_START:
        snprintf(line, sizeof line, "start %d/%d %s %s", ev->index, ev->count, ev->step,
                 ev->partition ? ev->partition : "-");
        break;
    case OMV_EV_PROGRESS:
        r->progress++;
        assert_true(ev->done <= ev->total);
        assert_non_null(ev->step);
        return;
    case OMV_EV_STEP_DONE:
        snprintf(line, sizeof line, "done %s %s", ev->step, ev->partition ? ev->partition : "-");
        break;
    case OMV_EV_LOG:
        if (ev->level == OMV_LOG_DEBUG) {
            r->debug_logs++;
            return;
        }
        snprintf(line, sizeof line, "log%d %s", (int)ev->level, ev->message);
        break;
    case OMV_EV_CONFIRM: snprintf(line, sizeof line, "confirm %s", ev->message); break;
    case OMV_EV_ERROR: snprintf(line, sizeof line, "error %d %s", (int)ev->status, ev->message); break;
    case OMV_EV_RETRY: snprintf(line, sizeof line, "retry %d/%d %s", ev->attempt, ev->retries, ev->message); break;
    case OMV_EV_COMPARED:
        snprintf(line, sizeof line, "compared %s %llu/%llu", ev->partition, (unsigned long long)ev->done,
                 (unsigned long long)ev->total);
        break;
    case OMV_EV_FINISHED:
        snprintf(line, sizeof line, "finished %d", (int)ev->status);
        r->finished = ev->status;
        r->n_finished++;
        break;
    }
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%s\n", line);
}

static int setup(void **state)
{
    (void)state;
    omv_error err;
    if (omv_board_load("boards/good/fake.ini", &board, &err) != OMV_OK)
        return -1;
    setenv("OMV_FAKE_DIR", DEV, 1);
    unsetenv("OMVFLASH_PLUGIN_PATH");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    omv_board_free(board);
    return 0;
}

static int fresh(void **state)
{
    (void)state;
    tu_fresh_dir(D);
    tu_fresh_dir(FW);
    tu_fresh_dir(DEV);
    tu_write_pattern(FW "/firmware.bin", 5000, 1);
    tu_write_pattern(FW "/romfs0.img", 2048, 9);
    return 0;
}

static char *calls(void)
{
    char *c = tu_read(DEV "/calls.log", NULL);
    return c ? c : calloc(1, 1);
}

static omv_status run(omv_request *req, rec *r, omv_error *err, int debug)
{
    memset(r, 0, sizeof *r);
    r->finished = -1;
    omv_callbacks cb = {.event = on_event, .user = r, .log_debug = debug};
    req->plugin_dir = TEST_PLUGIN_DIR;
    memset(err, 0, sizeof *err);
    omv_status st = omv_flash(board, req, &cb, err);
    assert_int_equal(r->n_finished, 1);
    assert_int_equal(r->finished, st);
    return st;
}

static void test_full_flash_with_verify(void **state)
{
    (void)state;
    omv_request req = {.firmware_dir = FW, .verify = 1, .wait_ms = OMV_WAIT_DEFAULT};
    rec r;
    omv_error err;
    omv_status st = run(&req, &r, &err, 0);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    assert_string_equal(r.text,
                        "plan 1/5 write FIRMWARE 5000\n"
                        "plan 2/5 verify FIRMWARE 5000\n"
                        "plan 3/5 write ROMFS0 2048\n"
                        "plan 4/5 verify ROMFS0 2048\n"
                        "plan 5/5 reset - 0\n"
                        "waiting 1234\n"
                        "device FAKE0001\n"
                        "start 1/5 write FIRMWARE\n"
                        "done write FIRMWARE\n"
                        "start 2/5 verify FIRMWARE\n"
                        "done verify FIRMWARE\n"
                        "start 3/5 write ROMFS0\n"
                        "done write ROMFS0\n"
                        "start 4/5 verify ROMFS0\n"
                        "done verify ROMFS0\n"
                        "start 5/5 reset -\n"
                        "done reset -\n"
                        "log2 boot not confirmed: Fake Camera names no entry plugin that can identify the camera\n"
                        "finished 0\n");
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\n"
                           "open serial=- label=hello block=1000\n"
                           "partitions\n"
                           "write FIRMWARE 1 5000\n"
                           "read FIRMWARE 1 5000\n"
                           "write ROMFS0 2 2048\n"
                           "read ROMFS0 2 2048\n"
                           "finish reset=1\n"
                           "close\n"
                           "exit fake\n");
    free(c);
    assert_true(tu_same_file(FW "/firmware.bin", DEV "/part_FIRMWARE.bin"));
    assert_true(tu_same_file(FW "/romfs0.img", DEV "/part_ROMFS0.bin"));
    assert_true(r.progress >= 5 + 5 + 3 + 3);
    assert_int_equal(r.debug_logs, 0); /* nobody asked for debug: none delivered */
}

static void test_no_reset_debug_and_serial(void **state)
{
    (void)state;
    omv_image_spec im[] = {{"FS", FW "/romfs0.img"}};
    omv_request req = {.images = im, .n_images = 1, .no_reset = 1, .wait_ms = 77, .serial = "ABC"};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 1), OMV_OK);
    assert_true(r.debug_logs >= 3);
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\n"
                           "open serial=ABC label=hello block=1000\n"
                           "partitions\n"
                           "write FS 3 2048\n"
                           "finish reset=0\n"
                           "close\n"
                           "exit fake\n");
    free(c);
}

static void test_dry_run_opens_nothing(void **state)
{
    (void)state;
    omv_request req = {.firmware_dir = FW, .dry_run = 1};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_OK);
    assert_string_equal(r.text, "plan 1/3 write FIRMWARE 5000\n"
                                "plan 2/3 write ROMFS0 2048\n"
                                "plan 3/3 reset - 0\n"
                                "log2 device attached now: 37C5:9FFF serial FAKE0001 on port 9-9 (bootloader)\n"
                                "finished 0\n");
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\nlist ids=1 first=37C5:9FFF\nexit fake\n");
    free(c);
    tu_write_text(DEV "/config", "present=0\n");
    assert_int_equal(run(&req, &r, &err, 0), OMV_OK);
    assert_non_null(strstr(r.text, "log2 dry run: no device attached now\n"));
    assert_false(tu_exists(DEV "/part_FIRMWARE.bin"));
}

static void test_mismatch_refused_before_write(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "partitions=BOOTLOADER:0,FIRMWARE:1,FILESYSTEM:2\n");
    omv_request req = {.firmware_dir = FW, .wait_ms = OMV_WAIT_DEFAULT};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_MISMATCH);
    assert_string_equal(err.msg, "device has no partition 'ROMFS0' (device offers: BOOTLOADER, FIRMWARE, "
                                 "FILESYSTEM): wrong board file?");
    /* refused before any step: the camera goes back to its application */
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\n"
                           "open serial=- label=hello block=1000\n"
                           "partitions\n"
                           "finish reset=1\n"
                           "close\n"
                           "exit fake\n");
    free(c);
    assert_non_null(strstr(r.text, "error 8 device has no partition 'ROMFS0'"));
    /* ... unless the user asked to stay in the bootloader */
    req.no_reset = 1;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_MISMATCH);
    c = calls();
    assert_non_null(strstr(c, "finish reset=0\n"));
    free(c);
    assert_null(strstr(r.text, "start "));
}

static void test_alt_hint_differs(void **state)
{
    (void)state;
    /* device numbers differ from the board's alt hints; names rule */
    tu_write_text(DEV "/config", "partitions=BOOT:0,FIRMWARE:7,ROMFS0:2,FS:3,NOREAD:4,EXTRA:5\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_OK);
    assert_non_null(strstr(r.text, "log1 device offers partition 'EXTRA' (5) that boards/good/fake.ini does "
                                    "not declare\n"));
    char *c = calls();
    assert_non_null(strstr(c, "write FIRMWARE 7 5000\n"));
    free(c);
}

static void test_missing_unplanned_partition_warns(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "partitions=BOOT:0,FIRMWARE:1,ROMFS0:2\n");
    omv_image_spec im[] = {{"FIRMWARE", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_OK);
    assert_non_null(strstr(r.text, "log1 boards/good/fake.ini declares partition 'FS' but the device does "
                                    "not offer it (device offers: BOOT, FIRMWARE, ROMFS0)\n"));
}

static void test_verify_failure_names_offset(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "corrupt=FIRMWARE:0x1234\n");
    omv_request req = {.firmware_dir = FW, .verify = 1, .wait_ms = OMV_WAIT_DEFAULT};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_VERIFY);
    unsigned char want_img = (unsigned char)((0x1234 * 7 + 1) & 0xFF);
    char want[512];
    snprintf(want, sizeof want,
             "verify FIRMWARE (" FW "/firmware.bin): read-back differs from " FW
             "/firmware.bin at offset 0x1234 (device 0x%02X, image 0x%02X)",
             want_img ^ 0xFF, want_img);
    assert_string_equal(err.msg, want);
    char *c = calls();
    /* stopped at the failure; the device is left in its bootloader and released */
    assert_string_equal(c, "init fake label=hello\n"
                           "open serial=- label=hello block=1000\n"
                           "partitions\n"
                           "write FIRMWARE 1 5000\n"
                           "read FIRMWARE 1 5000\n"
                           "finish reset=0\n"
                           "close\n"
                           "exit fake\n");
    free(c);
}

/* Files in @p dir whose name starts with @p prefix (temporary outputs left behind). */
static int leftovers(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_read_is_atomic(void **state)
{
    (void)state;
    tu_write_pattern(DEV "/part_FS.bin", 16384, 5);
    omv_image_spec rd[] = {{"FS", D "/fs.bin"}};
    omv_request req = {.reads = rd, .n_reads = 1, .wait_ms = OMV_WAIT_DEFAULT};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_OK);
    assert_true(tu_same_file(D "/fs.bin", DEV "/part_FS.bin"));
    assert_int_equal(leftovers(D, "fs.bin."), 0);
    struct stat st;
    assert_int_equal(stat(D "/fs.bin", &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* a partition may hold secrets */
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\n"
                           "open serial=- label=hello block=1000\n"
                           "partitions\n"
                           "read FS 3 16384\n"
                           "finish reset=1\n"
                           "close\n"
                           "exit fake\n");
    free(c);
    /* a failing read leaves neither the file nor a .partial behind */
    tu_write_text(DEV "/config", "fail_read=FS:9000\n");
    omv_image_spec rd2[] = {{"FS", D "/fs2.bin"}};
    req.reads = rd2;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_IO);
    assert_string_equal(err.msg, "read FS into " D "/fs2.bin: fake I/O error at offset 9000");
    assert_false(tu_exists(D "/fs2.bin"));
    assert_int_equal(leftovers(D, "fs2.bin"), 0); /* no temporary file either */
}

static void test_no_device(void **state)
{
    (void)state;
    tu_write_text(DEV "/config", "present=0\n");
    omv_request req = {.firmware_dir = FW, .wait_ms = 5};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_NO_DEVICE);
    assert_string_equal(err.msg, "no bootloader of Fake Camera (37C5:9FFF) appeared within 5 ms (fake: no fake device "
                                 "is attached)");
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\nexit fake\n");
    free(c);
}

static void test_checks_before_plugin(void **state)
{
    (void)state;
    /* a bad image fails before the plugin is even loaded: no calls at all */
    omv_image_spec im[] = {{"BOOT", FW "/firmware.bin"}};
    omv_request req = {.images = im, .n_images = 1};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_READONLY);
    assert_false(tu_exists(DEV "/calls.log"));
    assert_string_equal(r.text, "error 13 partition BOOT is read-only: refusing to write " FW
                                "/firmware.bin to it\nfinished 13\n");
}

static void test_cancelled(void **state)
{
    (void)state;
    omv_cancel *cancel = omv_cancel_new();
    assert_non_null(cancel);
    assert_int_equal(omv_cancel_requested(cancel), 0);
    omv_cancel_request(cancel);
    assert_int_equal(omv_cancel_requested(cancel), 1);
    omv_request req = {.firmware_dir = FW, .cancel = cancel};
    rec r;
    omv_error err;
    assert_int_equal(run(&req, &r, &err, 0), OMV_E_CANCELLED);
    omv_cancel_free(cancel);
    /* the plugins were started and stopped; no device was looked for */
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\nexit fake\n");
    free(c);
}

static void test_bad_plugin_option(void **state)
{
    (void)state;
    tu_write_text(D "/b.ini", "[board]\nname = F\nbootloader_ids = 1:2\ntransport = fake\nflash_order = P\n"
                              "[fake]\nblock = big\n[partition P]\nsize = 64K\nimage = firmware.bin\n");
    omv_board *b;
    omv_error err;
    assert_int_equal(omv_board_load(D "/b.ini", &b, &err), OMV_OK);
    omv_request req = {.firmware_dir = FW, .plugin_dir = TEST_PLUGIN_DIR};
    assert_int_equal(omv_flash(b, &req, NULL, &err), OMV_E_BOARD);
    assert_string_equal(err.msg, D "/b.ini:7: [fake] block: 'big' is not an unsigned number (use 123, "
                                   "0x1000, 64K, 3M)");
    assert_false(tu_exists(DEV "/calls.log"));
    omv_board_free(b);
}

static void found_dev(void *user, const char *board_name, const struct omv_device_info *dev)
{
    char *out = user;
    size_t used = strlen(out);
    snprintf(out + used, 512 - used, "%s %s %04X:%04X\n", board_name, dev->port_path, dev->vid, dev->pid);
}

/* A camera in application mode is rebooted by the entry plugin, and the
 * flash goes through whichever of the board's bootloaders answers (fakeb),
 * narrowed to that bootloader's own flash_order. */
static void test_entry_then_second_transport(void **state)
{
    (void)state;
    omv_board *multi = NULL;
    omv_error err;
    assert_int_equal(omv_board_load("boards/good/fake_multi.ini", &multi, &err), OMV_OK);
    tu_write_text(DEV "/config", "present_fake=0\npresent_fakeb=after_enter\napp=1\n");
    omv_request req = {.firmware_dir = FW, .wait_ms = 2000};
    rec r;
    memset(&r, 0, sizeof r);
    r.finished = -1;
    omv_callbacks cb = {.event = on_event, .user = &r};
    req.plugin_dir = TEST_PLUGIN_DIR;
    omv_status st = omv_flash(multi, &req, &cb, &err);
    omv_board_free(multi);
    if (st != OMV_OK)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    char *c = calls();
    /* entered first, then opened by the second transport */
    char *enter = strstr(c, "enter fakeentry\n");
    char *opened = strstr(c, "opened by fakeb");
    assert_non_null(enter);
    assert_non_null(opened);
    assert_true(enter < opened);
    assert_non_null(strstr(c, "write FIRMWARE"));
    assert_null(strstr(c, "write ROMFS0"));
    assert_non_null(strstr(r.text, "cannot write ROMFS0"));
    /* the reset booted the application, which the entry plugin then identified: the boot is confirmed */
    char *finish = strstr(c, "finish reset=1\n");
    assert_non_null(finish);
    assert_non_null(strstr(finish, "identify fakeentry\n"));
    assert_non_null(strstr(r.text, "log2 camera back in application mode: firmware 9.9.9\nfinished 0\n"));
    free(c);
}

static void test_list_devices(void **state)
{
    (void)state;
    const omv_board *boards[] = {board, board};
    char out[512] = "";
    omv_error err;
    assert_int_equal(omv_list_devices(boards, 2, TEST_PLUGIN_DIR, found_dev, out, &err), OMV_OK);
    /* listed with bootloader and app ids; the same device reported twice is shown once */
    assert_string_equal(out, "Fake Camera 9-9 37C5:9FFF\n");
    char *c = calls();
    assert_string_equal(c, "init fake label=hello\nlist ids=2 first=37C5:9FFF\nexit fake\n"
                           "init fake label=hello\nlist ids=2 first=37C5:9FFF\nexit fake\n");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_full_flash_with_verify, fresh),
        cmocka_unit_test_setup(test_no_reset_debug_and_serial, fresh),
        cmocka_unit_test_setup(test_dry_run_opens_nothing, fresh),
        cmocka_unit_test_setup(test_mismatch_refused_before_write, fresh),
        cmocka_unit_test_setup(test_alt_hint_differs, fresh),
        cmocka_unit_test_setup(test_missing_unplanned_partition_warns, fresh),
        cmocka_unit_test_setup(test_verify_failure_names_offset, fresh),
        cmocka_unit_test_setup(test_read_is_atomic, fresh),
        cmocka_unit_test_setup(test_no_device, fresh),
        cmocka_unit_test_setup(test_checks_before_plugin, fresh),
        cmocka_unit_test_setup(test_cancelled, fresh),
        cmocka_unit_test_setup(test_bad_plugin_option, fresh),
        cmocka_unit_test_setup(test_list_devices, fresh),
        cmocka_unit_test_setup(test_entry_then_second_transport, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
