/*
 * [profile NAME] sections: what omv_board_select_profile() makes of a
 * profile (ids, transport, the partitions it reaches renumbered, its
 * per-partition keys, the read-only partition it may write), refusals and
 * unknown names, the plugin checks of every profile, and omv_flash() on a
 * profile's board through the fake transports: the message while waiting,
 * and a write of a partition the board keeps read-only only after a
 * confirmation, refused before any device I/O without one.
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
#define GOOD "boards/good/profiles.ini"

static omv_board *profile_ok(const omv_board *b, const char *name)
{
    omv_board *p = NULL;
    omv_error err = {0};
    omv_status st = omv_board_select_profile(b, name, &p, &err);
    if (st != OMV_OK)
        print_error("%s: %s\n", name, err.msg);
    assert_int_equal(st, OMV_OK);
    assert_non_null(p);
    return p;
}

static void test_select(void **state)
{
    (void)state;
    omv_board *b = tu_load_board(GOOD);
    assert_int_equal(omv_board_profile_count(b), 2);
    assert_string_equal(omv_board_profile_name(b, 0), "recover");
    assert_string_equal(omv_board_profile_name(b, 1), "vendor");
    assert_null(omv_board_profile_name(b, 2));
    assert_null(omv_board_profile(b));
    assert_null(omv_board_wait_message(b));
    omv_board *p = profile_ok(b, "recover");
    omv_board_free(b); /* the profile's board stands alone */
    assert_string_equal(omv_board_profile(p), "recover");
    assert_string_equal(omv_board_wait_message(p), "Fit the BOOT jumper, then plug the camera in");
    assert_string_equal(omv_board_name(p), "Profile Camera");
    assert_string_equal(omv_board_transport(p), "fakeb");
    assert_int_equal(p->n_boot_ids, 1);
    assert_int_equal(p->boot_ids[0].vid, 0x0483);
    assert_int_equal(p->boot_ids[0].pid, 0xDF11);
    assert_int_equal(p->n_entries, 0);
    assert_int_equal(p->wait_ms, 60000);
    assert_int_equal(p->retries, OMVI_DEFAULT_RETRIES);
    assert_int_equal(omv_board_profile_count(p), 0);
    /* BOOT, FIRMWARE, FS: ROMFS0 is out, FS renumbered */
    assert_int_equal(omv_board_partition_count(p), 3);
    assert_string_equal(omv_board_partition(p, 0)->name, "BOOT");
    assert_string_equal(omv_board_partition(p, 1)->name, "FIRMWARE");
    assert_string_equal(omv_board_partition(p, 2)->name, "FS");
    assert_int_equal(p->filesystem, 2);
    /* BOOT is writable here, behind a confirmation */
    assert_int_equal(omv_board_partition(p, 0)->read_only, 0);
    assert_int_equal(p->parts[0].guarded, 1);
    assert_int_equal(p->parts[1].guarded, 0);
    assert_string_equal(omv_board_partition(p, 0)->image, "boot.bin");
    assert_int_equal(omv_board_partition(p, 1)->size, 48 * 1024);
    assert_int_equal(omv_board_partition(p, 1)->timeout_ms, 900);
    assert_string_equal(omv_board_partition(p, 1)->image, "firmware.bin");
    /* only the profile's own partition options: its transport is another */
    assert_string_equal(omv_board_partition_option(p, 0, "alt"), "7");
    assert_string_equal(omv_board_partition_option(p, 0, "tag"), "b");
    assert_string_equal(omv_board_partition_option(p, 1, "alt"), "8");
    assert_null(omv_board_partition_option(p, 2, "alt"));
    assert_int_equal(p->flash_order.n, 2);
    assert_int_equal(p->flash_order.index[0], 0);
    assert_int_equal(p->flash_order.index[1], 1);
    /* the transport's section, not the board's */
    assert_int_equal(p->n_psections, 1);
    assert_string_equal(p->psections[0].title, "fakeb");
    omv_error err = {0};
    omv_board *again = NULL;
    assert_int_equal(omv_board_select_profile(p, "recover", &again, &err), OMV_E_USAGE);
    assert_null(again);
    omv_board_free(p);
}

static void test_refuse_and_unknown(void **state)
{
    (void)state;
    omv_board *b = tu_load_board(GOOD);
    omv_board *p = NULL;
    omv_error err = {0};
    assert_int_equal(omv_board_select_profile(b, "vendor", &p, &err), OMV_E_UNSUPPORTED);
    assert_null(p);
    assert_string_equal(err.msg, "Profile Camera, profile vendor: this camera is recovered with the vendor's own tool");
    assert_int_equal(omv_board_select_profile(b, "nope", &p, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "Profile Camera has no profile 'nope' (" GOOD ": recover, vendor)");
    omv_board_free(b);
    b = tu_load_board("boards/good/minimal.ini");
    assert_int_equal(omv_board_select_profile(b, "recover", &p, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "Minimal has no profile 'recover' (boards/good/minimal.ini: no [profile NAME] "
                                 "sections)");
    omv_board_free(b);
}

/* A profile's partition keys are checked by its own transports: the board's own ones pass. */
static void test_check_plugins(void **state)
{
    (void)state;
    omv_board *b = tu_load_board(GOOD);
    omv_error err = {0};
    omv_status st = omv_board_check_plugins(b, TEST_PLUGIN_DIR, &err);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    omv_board_free(b);
}

typedef struct rec {
    char text[8192];
    int confirms;
    int answer;
} rec;

static void on_event(void *user, const omv_event *ev)
{
    rec *r = user;
    char line[1400] = "";
    switch (ev->type) {
    case OMV_EV_PLAN:
        snprintf(line, sizeof line, "plan %s %s %llu", ev->step, ev->partition ? ev->partition : "-",
                 (unsigned long long)ev->total);
        break;
    case OMV_EV_WAITING:
        snprintf(line, sizeof line, "waiting %llu: %s", (unsigned long long)ev->total, ev->message ? ev->message : "-");
        break;
    case OMV_EV_CONFIRM: snprintf(line, sizeof line, "confirm %s", ev->message); break;
    case OMV_EV_STEP_DONE: snprintf(line, sizeof line, "done %s %s", ev->step, ev->partition ? ev->partition : "-"); break;
    case OMV_EV_ERROR: snprintf(line, sizeof line, "error %d %s", (int)ev->status, ev->message); break;
    case OMV_EV_LOG:
        if (ev->level != OMV_LOG_INFO || strncmp(ev->message, "profile ", 8) != 0)
            return;
        snprintf(line, sizeof line, "log %s", ev->message);
        break;
    default: return;
    }
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%s\n", line);
}

static int on_confirm(void *user, const char *what)
{
    rec *r = user;
    (void)what;
    r->confirms++;
    return r->answer;
}

static omv_status flash_profile(rec *r, int with_confirm, int dry_run, omv_error *err)
{
    tu_fresh_dir(D);
    tu_fresh_dir(FW);
    tu_fresh_dir(DEV);
    tu_write_pattern(FW "/boot.bin", 3000, 3);
    tu_write_pattern(FW "/firmware.bin", 5000, 1);
    setenv("OMV_FAKE_DIR", DEV, 1);
    omv_board *b = tu_load_board(GOOD);
    omv_board *p = profile_ok(b, "recover");
    omv_board_free(b);
    omv_request req = {.firmware_dir = FW, .wait_ms = OMV_WAIT_DEFAULT, .plugin_dir = TEST_PLUGIN_DIR,
                       .dry_run = dry_run};
    omv_callbacks cb = {.event = on_event, .confirm = with_confirm ? on_confirm : NULL, .user = r};
    memset(err, 0, sizeof *err);
    omv_status st = omv_flash(p, &req, &cb, err);
    omv_board_free(p);
    return st;
}

static const char *const confirm_line =
    "confirm profile recover writes BOOT (" FW "/boot.bin, 3000 bytes) of Profile Camera, which is read-only "
    "otherwise: if the write is interrupted or the image is not this camera's, it does not start until it is "
    "recovered again\n";

static void test_flash_confirmed(void **state)
{
    (void)state;
    rec r = {.answer = 1};
    omv_error err;
    omv_status st = flash_profile(&r, 1, 0, &err);
    if (st != OMV_OK)
        print_error("%s\n%s", err.msg, r.text);
    assert_int_equal(st, OMV_OK);
    assert_int_equal(r.confirms, 1);
    char want[2048];
    snprintf(want, sizeof want, "plan write BOOT 3000\nplan write FIRMWARE 5000\nplan reset - 0\n%s"
             "waiting 60000: Fit the BOOT jumper, then plug the camera in\n"
             "done write BOOT\ndone write FIRMWARE\ndone reset -\n", confirm_line);
    assert_string_equal(r.text, want);
    /* the profile's transport wrote the bytes, with its own options */
    char *calls = tu_read(DEV "/calls.log", NULL);
    assert_non_null(calls);
    assert_non_null(strstr(calls, "init fakeb label=rom\n"));
    assert_null(strstr(calls, "label=board"));
    free(calls);
    size_t n = 0;
    char *boot = tu_read(DEV "/part_BOOT.bin", &n);
    assert_non_null(boot);
    assert_int_equal(n, 3000);
    assert_int_equal((unsigned char)boot[0], 3);
    free(boot);
}

/* No confirm callback, or a refusal: nothing is opened. */
static void test_flash_not_confirmed(void **state)
{
    (void)state;
    for (int with = 0; with < 2; with++) {
        rec r = {.answer = 0};
        omv_error err;
        assert_int_equal(flash_profile(&r, with, 0, &err), OMV_E_CANCELLED);
        assert_string_equal(err.msg, "writing BOOT not confirmed (pass --yes to write it unattended)");
        assert_int_equal(r.confirms, with);
        assert_null(strstr(r.text, "waiting"));
        char *calls = tu_read(DEV "/calls.log", NULL);
        assert_true(!calls || !strstr(calls, "open"));
        free(calls);
    }
}

/* --dry-run shows the profile's plan and asks nothing. */
static void test_dry_run(void **state)
{
    (void)state;
    rec r = {.answer = 0};
    omv_error err;
    omv_status st = flash_profile(&r, 1, 1, &err);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    assert_int_equal(r.confirms, 0);
    assert_string_equal(r.text, "plan write BOOT 3000\nplan write FIRMWARE 5000\nplan reset - 0\n"
                                "log profile recover: waits for 0483:DF11 (fakeb): Fit the BOOT jumper, then plug "
                                "the camera in\n");
}

/* An image larger than the profile's size for its partition is refused before anything is asked. */
static void test_too_large(void **state)
{
    (void)state;
    rec r = {.answer = 1};
    tu_fresh_dir(D);
    tu_fresh_dir(FW);
    tu_fresh_dir(DEV);
    tu_write_pattern(FW "/boot.bin", 4097, 3);
    tu_write_pattern(FW "/firmware.bin", 5000, 1);
    omv_board *b = tu_load_board(GOOD);
    omv_board *p = profile_ok(b, "recover");
    omv_board_free(b);
    omv_request req = {.firmware_dir = FW, .wait_ms = OMV_WAIT_DEFAULT, .plugin_dir = TEST_PLUGIN_DIR};
    omv_callbacks cb = {.event = on_event, .confirm = on_confirm, .user = &r};
    omv_error err = {0};
    assert_int_equal(omv_flash(p, &req, &cb, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, FW "/boot.bin is 4097 bytes but partition BOOT holds 4096");
    assert_int_equal(r.confirms, 0);
    omv_board_free(p);
}

int main(void)
{
    unsetenv("OMVFLASH_PLUGIN_PATH");
    /* The fake transports log every call there, also check() and init(): never into the source tree. */
    tu_fresh_dir(D);
    setenv("OMV_FAKE_DIR", D, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),          cmocka_unit_test(test_refuse_and_unknown),
        cmocka_unit_test(test_check_plugins),   cmocka_unit_test(test_flash_confirmed),
        cmocka_unit_test(test_flash_not_confirmed), cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
