/*
 * Plugin loader: good plugin, a plugin built for ABI 1, no entry symbol, name
 * mismatch, NULL ops, too-small descriptor, wrong kind, not an ELF file, bad
 * names, not found, bad option tables; plus the board's plugin sections
 * checked against option specs (types, ranges, choices).
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

#define CTX "boards/x.ini:9: transport plugin"
#define P(name) TEST_PLUGIN_DIR "/omvflash_" name ".so"

static omv_status load(const char *name, enum omv_plugin_kind kind, omvi_plugin *p, omv_error *err)
{
    char ctx[256];
    snprintf(ctx, sizeof ctx, CTX " '%s'", name);
    return omvi_plugin_load(name, kind, TEST_PLUGIN_DIR, ctx, p, err);
}

static void expect_fail(const char *name, enum omv_plugin_kind kind, const char *msg)
{
    omvi_plugin p;
    omv_error err = {0};
    assert_int_equal(load(name, kind, &p, &err), OMV_E_PLUGIN);
    assert_null(p.dl);
    assert_string_equal(err.msg, msg);
}

static void test_good(void **state)
{
    (void)state;
    omvi_plugin p;
    omv_error err = {0};
    assert_int_equal(load("good", OMV_PLUGIN_TRANSPORT, &p, &err), OMV_OK);
    assert_non_null(p.dl);
    assert_string_equal(p.desc->name, "good");
    assert_string_equal(p.path, P("good"));
    assert_non_null(p.desc->transport->open);
    omvi_plugin_unload(&p);
    assert_null(p.dl);
    omvi_plugin_unload(&p); /* twice is harmless */
}

static void test_bad_abi(void **state)
{
    (void)state;
    expect_fail("badabi", OMV_PLUGIN_TRANSPORT,
                CTX " 'badabi': " P("badabi") " was built for plugin ABI 1, but this omvflash supports only ABI 2: "
                    "rebuild the plugin against the installed omvflash headers");
}

static void test_no_symbol(void **state)
{
    (void)state;
    expect_fail("nosym", OMV_PLUGIN_TRANSPORT,
                CTX " 'nosym': " P("nosym") " does not export omv_plugin_entry (not an omvflash plugin?)");
}

static void test_wrong_name(void **state)
{
    (void)state;
    expect_fail("wrongname", OMV_PLUGIN_TRANSPORT,
                CTX " 'wrongname': file calls itself plugin 'other' (" P("wrongname") ")");
}

static void test_null_ops(void **state)
{
    (void)state;
    expect_fail("nullops", OMV_PLUGIN_TRANSPORT,
                CTX " 'nullops': required operations are NULL: list, open (" P("nullops") ")");
}

static void test_small(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof want, CTX " 'small': descriptor is 16 bytes, ABI 2 needs at least %zu (%s)",
             sizeof(struct omv_plugin), P("small"));
    expect_fail("small", OMV_PLUGIN_TRANSPORT, want);
}

static void test_wrong_kind(void **state)
{
    (void)state;
    expect_fail("act", OMV_PLUGIN_TRANSPORT,
                CTX " 'act': is an action plugin, not a transport plugin (" P("act") ")");
    expect_fail("good", OMV_PLUGIN_ACTION,
                CTX " 'good': is a transport plugin, not an action plugin (" P("good") ")");
}

static void test_bad_tables(void **state)
{
    (void)state;
    expect_fail("badshort", OMV_PLUGIN_TRANSPORT,
                CTX " 'badshort': shorthand --turbo sets option 'turbo', which it does not declare (" P("badshort") ")");
    expect_fail("badspec", OMV_PLUGIN_TRANSPORT,
                CTX " 'badspec': option 'speed' has choices but is not a string (" P("badspec") ")");
}

static void test_garbage(void **state)
{
    (void)state;
    omvi_plugin p;
    omv_error err = {0};
    assert_int_equal(load("garbage", OMV_PLUGIN_TRANSPORT, &p, &err), OMV_E_PLUGIN);
    const char *want = CTX " 'garbage': cannot load " P("garbage") ": ";
    assert_memory_equal(err.msg, want, strlen(want)); /* then dlerror()'s text */
}

static void test_bad_names(void **state)
{
    (void)state;
    expect_fail("a/b", OMV_PLUGIN_TRANSPORT,
                CTX " 'a/b': 'a/b' is not a plugin name (use a-z, 0-9, '_' and '-')");
    expect_fail("..", OMV_PLUGIN_TRANSPORT,
                CTX " '..': '..' is not a plugin name (use a-z, 0-9, '_' and '-')");
    expect_fail("../../x", OMV_PLUGIN_TRANSPORT,
                CTX " '../../x': '../../x' is not a plugin name (use a-z, 0-9, '_' and '-')");
    expect_fail("", OMV_PLUGIN_TRANSPORT,
                CTX " '': '' is not a plugin name (use a-z, 0-9, '_' and '-')");
    expect_fail("Good", OMV_PLUGIN_TRANSPORT,
                CTX " 'Good': 'Good' is not a plugin name (use a-z, 0-9, '_' and '-')");
}

static void test_not_found(void **state)
{
    (void)state;
    setenv("OMVFLASH_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b", 1);
    char want[2048], own[512];
    assert_true(omvi_builtin_plugin_dir(own, sizeof own) > 0);
    snprintf(want, sizeof want,
             CTX " 'nosuch': omvflash_nosuch.so not found in %s, /nonexistent/a, /nonexistent/b, %s",
             TEST_PLUGIN_DIR, own);
    expect_fail("nosuch", OMV_PLUGIN_TRANSPORT, want);
    /* found through $OMVFLASH_PLUGIN_PATH when no plugin_dir is given */
    setenv("OMVFLASH_PLUGIN_PATH", "/nonexistent/a:" TEST_PLUGIN_DIR, 1);
    omvi_plugin p;
    omv_error err = {0};
    assert_int_equal(omvi_plugin_load("good", OMV_PLUGIN_TRANSPORT, NULL, "x", &p, &err), OMV_OK);
    omvi_plugin_unload(&p);
    unsetenv("OMVFLASH_PLUGIN_PATH");
}

/* ---- board plugin sections against option specs ------------------------- */

static const char *tmp(const char *name) { return tu_join(TEST_TMP_DIR, name); }

static omv_status check_board_text(const char *extra, omv_error *err)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[board]\nname = T\nbootloader_ids = 1:2\ntransport = good\nflash_order = FW\n\n"
             "[partition FW]\nsize = 1K\nimage = fw.bin\n%s",
             extra);
    tu_write_text(tmp("b.ini"), text);
    omv_board *b = NULL;
    omv_status st = omv_board_load(tmp("b.ini"), &b, err);
    assert_int_equal(st, OMV_OK);
    st = omv_board_check_plugins(b, TEST_PLUGIN_DIR, err);
    omv_board_free(b);
    return st;
}

static void test_options(void **state)
{
    (void)state;
    tu_fresh_dir(TEST_TMP_DIR);
    omv_error err = {0};
    assert_int_equal(check_board_text("", &err), OMV_OK);
    assert_int_equal(check_board_text("\n[good]\nspeed = 0x40\nmode = SLOW\nsafe = no\n", &err), OMV_OK);
    assert_int_equal(check_board_text("\n[good]\nspeed = 40\ncolour = red\n", &err), OMV_E_BOARD);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:13: [good] unknown key 'colour' (plugin 'good' accepts: speed, mode, safe)", tmp("b.ini"));
    assert_string_equal(err.msg, want);
    assert_int_equal(check_board_text("\n[good]\nspeed = fast\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want,
             "%s:12: [good] speed: 'fast' is not an unsigned number (use 123, 0x1000, 64K, 3M)",
             tmp("b.ini"));
    assert_string_equal(err.msg, want);
    /* ranges and choices are the core's to check, with the line */
    assert_int_equal(check_board_text("\n[good]\nspeed = 101\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want, "%s:12: [good] speed: 101 is out of range (a number from 1 to 100)", tmp("b.ini"));
    assert_string_equal(err.msg, want);
    assert_int_equal(check_board_text("\n[good]\nspeed = 0\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want, "%s:12: [good] speed: 0 is out of range (a number from 1 to 100)", tmp("b.ini"));
    assert_string_equal(err.msg, want);
    assert_int_equal(check_board_text("\n[good]\nmode = medium\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want, "%s:12: [good] mode: 'medium' is not allowed (one of fast, slow)", tmp("b.ini"));
    assert_string_equal(err.msg, want);
    assert_int_equal(check_board_text("\n[good]\nsafe = perhaps\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want,
             "%s:12: [good] safe: 'perhaps' is not a yes/no value (use yes, no, true, false, on, off, 1, 0)",
             tmp("b.ini"));
    assert_string_equal(err.msg, want);
    /* actions: loaded by name, kind checked, options checked */
    assert_int_equal(check_board_text("\n[action init]\nplugin = act\nspeed = 2\n", &err), OMV_OK);
    assert_int_equal(check_board_text("\n[action init]\nplugin = act\nbogus = 2\n", &err), OMV_E_BOARD);
    snprintf(want, sizeof want,
             "%s:13: [action init] unknown key 'bogus' (plugin 'act' accepts: speed, mode, safe)",
             tmp("b.ini"));
    assert_string_equal(err.msg, want);
    assert_int_equal(check_board_text("\n[action init]\nplugin = good\n", &err), OMV_E_PLUGIN);
    snprintf(want, sizeof want,
             "%s:12: action plugin 'good': is a transport plugin, not an action plugin (%s)", tmp("b.ini"),
             P("good"));
    assert_string_equal(err.msg, want);
}

static void test_transport_line_in_errors(void **state)
{
    (void)state;
    tu_fresh_dir(TEST_TMP_DIR);
    tu_write_text(tmp("c.ini"), "[board]\nname = T\nbootloader_ids = 1:2\ntransport = dfux\nflash_order = FW\n"
                                "[partition FW]\nsize = 1K\nimage = fw.bin\n");
    omv_board *b = NULL;
    omv_error err = {0};
    assert_int_equal(omv_board_load(tmp("c.ini"), &b, &err), OMV_OK);
    setenv("OMVFLASH_PLUGIN_PATH", "", 1);
    assert_int_equal(omv_board_check_plugins(b, TEST_PLUGIN_DIR, &err), OMV_E_PLUGIN);
    char want[2048], own[512];
    assert_true(omvi_builtin_plugin_dir(own, sizeof own) > 0);
    snprintf(want, sizeof want, "%s:4: transport plugin 'dfux': omvflash_dfux.so not found in %s, %s",
             tmp("c.ini"), TEST_PLUGIN_DIR, own);
    assert_string_equal(err.msg, want);
    unsetenv("OMVFLASH_PLUGIN_PATH");
    omv_board_free(b);
}

int main(void)
{
    unsetenv("OMVFLASH_PLUGIN_PATH");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),       cmocka_unit_test(test_bad_abi),
        cmocka_unit_test(test_no_symbol),  cmocka_unit_test(test_wrong_name),
        cmocka_unit_test(test_null_ops),   cmocka_unit_test(test_small),
        cmocka_unit_test(test_wrong_kind), cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_bad_names),  cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_options),    cmocka_unit_test(test_transport_line_in_errors),
        cmocka_unit_test(test_bad_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
