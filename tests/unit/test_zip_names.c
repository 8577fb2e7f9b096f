/*
 * Entry-name rules (zip_names.c) and the raw central directory (zip_cdir.c),
 * without libzip's reading: names as bytes, clashes, escaping for messages,
 * and directories parsed from archives built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "release_zip.h"
#include "test_util.h"
#include "test_zip_util.h"

static void name_ok(const char *name)
{
    char why[128] = "";
    if (omvi_zip_name_check(name, strlen(name), why, sizeof why) != 0)
        fail_msg("'%s' refused: %s", name, why);
}

static void name_bad(const char *name, size_t len, const char *want)
{
    char why[128] = "";
    assert_int_equal(omvi_zip_name_check(name, len, why, sizeof why), -1);
    assert_string_equal(why, want);
}

static void test_names_accepted(void **state)
{
    (void)state;
    name_ok("OPENMV4/firmware.bin");
    name_ok("OPENMV4/");
    name_ok("firmware.bin");
    name_ok("CYW4343/cyw4343_7_45_98_102.bin");
    name_ok("firmware/OPENMV4/romfs0.img");
    name_ok("My Firmware/a b.bin");
    name_ok("a/.hidden");
    name_ok("a/..b");
    name_ok("...");
}

static void test_names_refused(void **state)
{
    (void)state;
    name_bad("", 0, "empty name");
    name_bad("/etc/passwd", 11, "absolute path");
    name_bad("/", 1, "absolute path");
    name_bad("../evil.bin", 11, "'..' path component (leaves the archive)");
    name_bad("OPENMV4/../../evil.bin", 22, "'..' path component (leaves the archive)");
    name_bad("OPENMV4/..", 10, "'..' path component (leaves the archive)");
    name_bad("..", 2, "'..' path component (leaves the archive)");
    name_bad("../", 3, "'..' path component (leaves the archive)");
    name_bad("./firmware.bin", 14, "'.' path component");
    name_bad("OPENMV4/./firmware.bin", 22, "'.' path component");
    name_bad("OPENMV4//firmware.bin", 21, "empty path component ('//')");
    name_bad("OPENMV4//", 9, "empty path component ('//')");
    name_bad("OPENMV4\\firmware.bin", 20, "backslash in the name (a Windows path separator)");
    name_bad("..\\evil.bin", 11, "backslash in the name (a Windows path separator)");
    name_bad("C:/Windows/x.bin", 16, "':' in the name (a drive letter or stream name)");
    name_bad("c:evil.bin", 10, "':' in the name (a drive letter or stream name)");
    name_bad("fw.bin:stream", 13, "':' in the name (a drive letter or stream name)");
    name_bad("fw\0.bin", 7, "NUL byte in the name");
    name_bad("fw.bin\0", 7, "NUL byte in the name");
    name_bad("fw\n.bin", 7, "control character 0x0A in the name");
    name_bad("\x1b[31mred", 8, "control character 0x1B in the name");
    name_bad("fw\x7f", 3, "control character 0x7F in the name");
    name_bad("caf\xc3\xa9.bin", 9, "non-ASCII byte 0xC3 in the name");
    char longname[1100];
    memset(longname, 'a', sizeof longname);
    name_bad(longname, 1025, "name longer than 1024 bytes");
    char why[8];
    assert_int_equal(omvi_zip_name_check(longname, 1024, why, sizeof why), 0);
    /* no buffer for the reason: still refused */
    assert_int_equal(omvi_zip_name_check("../x", 4, NULL, 0), -1);
}

static void test_name_escape(void **state)
{
    (void)state;
    char out[64];
    omvi_zip_name_escape("a\0b\x1b\\c\xff", 7, out, sizeof out);
    assert_string_equal(out, "a\\x00b\\x1B\\x5Cc\\xFF");
    omvi_zip_name_escape("abcdefghij", 10, out, 8);
    assert_string_equal(out, "abcd...");
    omvi_zip_name_escape("abc", 3, out, 4);
    assert_string_equal(out, "abc");
    omvi_zip_name_escape("abcd", 4, out, 4);
    assert_string_equal(out, "...");
    omvi_zip_name_escape("ab\x01" "cdef", 7, out, 8); /* an escape is never cut in half */
    assert_string_equal(out, "ab...");
}

static int clash(const char *const *names, size_t n, size_t *a, size_t *b)
{
    return omvi_zip_names_clash(names, n, a, b);
}

static void test_clashes(void **state)
{
    (void)state;
    size_t a = 99, b = 99;
    const char *none[] = {"OPENMV4/", "OPENMV4/firmware.bin", "OPENMV4/romfs0.img", "CYW4343/x.bin",
                          "firmware.bin", "OPENMV4P/firmware.bin"};
    assert_int_equal(clash(none, 6, &a, &b), 0);
    const char *dup[] = {"x.bin", "OPENMV4/firmware.bin", "OPENMV4/firmware.bin"};
    assert_int_equal(clash(dup, 3, &a, &b), 1);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    const char *casedup[] = {"OPENMV4/FIRMWARE.BIN", "a", "openmv4/firmware.bin"};
    assert_int_equal(clash(casedup, 3, &a, &b), 1);
    assert_int_equal(a, 0);
    assert_int_equal(b, 2);
    const char *file_dir[] = {"OPENMV4/sub/x.bin", "openmv4/SUB"};
    assert_int_equal(clash(file_dir, 2, &a, &b), 1);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    const char *file_direntry[] = {"OPENMV4", "OPENMV4/"};
    assert_int_equal(clash(file_direntry, 2, &a, &b), 1);
    const char *dirs_twice[] = {"OPENMV4/", "openmv4/"};
    assert_int_equal(clash(dirs_twice, 2, &a, &b), 1);
    assert_int_equal(clash(NULL, 0, &a, &b), 0);
}

/* ---- raw central directory --------------------------------------------- */

typedef struct mem {
    uint8_t *d;
    size_t n;
} mem;

static int mem_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    mem *m = ctx;
    if (off + len > m->n)
        return -1;
    memcpy(buf, m->d + off, len);
    return 0;
}

static mem load(const char *path)
{
    mem m;
    m.d = (uint8_t *)tu_read(path, &m.n);
    assert_non_null(m.d);
    return m;
}

#define TMP TEST_TMP_DIR

static void test_cdir_names_raw(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = tu_join(TMP, "names.zip");
    tz_entry e[] = {{"OPENMV4/", TZ_DIR, NULL, 0, 0},
                    {"OPENMV4/fXrmware.bin", TZ_DEFLATE, "abc", 3, 0},
                    {"romfs0.img", TZ_STORE, "xyz", 3, 0}};
    tz_write(p, e, 3);
    /* a NUL inside a name, in both headers: only the raw directory shows it */
    assert_int_equal(tz_patch(p, "fXrmware", "f\0rmware", 8, 2), 2);
    mem m = load(p);
    omvi_cdir cd;
    omv_error err = {0};
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_OK);
    assert_int_equal(cd.n, 3);
    assert_int_equal(cd.v[0].name_len, 8);
    assert_memory_equal(cd.v[0].name, "OPENMV4/", 8);
    assert_int_equal(cd.v[1].name_len, 20);
    assert_memory_equal(cd.v[1].name, "OPENMV4/f\0rmware.bin", 20);
    assert_memory_equal(cd.v[2].name, "romfs0.img", 10);
    omvi_zip_cdir_free(&cd);

    /* cut anywhere before the end record: no directory */
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n - 1, &cd, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "not a zip archive (no end-of-central-directory record: "
                                 "truncated, or another format)");
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, 10, &cd, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "not a zip archive (too short, truncated?)");
    free(m.d);
}

static void test_cdir_damaged(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = tu_join(TMP, "d.zip");
    tz_entry e[] = {{"a.bin", TZ_STORE, "abc", 3, 0}, {"b.bin", TZ_STORE, "def", 3, 0}};
    tz_write(p, e, 2);
    mem m = load(p);
    omvi_cdir cd;
    omv_error err = {0};
    /* the second central record's signature destroyed */
    uint8_t *rec = NULL;
    for (size_t i = m.n; i-- > 4;)
        if (memcmp(m.d + i, "PK\1\2", 4) == 0) {
            rec = m.d + i;
            break;
        }
    assert_non_null(rec);
    rec[0] = 'X';
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "corrupt central directory: record 2 of 2 is damaged");
    rec[0] = 'P';
    /* the end record claims a directory that does not end where it starts */
    uint8_t *eocd = m.d + m.n - 22;
    assert_memory_equal(eocd, "PK\5\6", 4);
    eocd[16] ^= 1; /* directory offset */
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_E_IMAGE);
    assert_non_null(strstr(err.msg, "corrupt central directory: "));
    assert_non_null(strstr(err.msg, "(truncated or extended archive?)"));
    eocd[16] ^= 1;
    /* 5000 entries claimed */
    eocd[8] = eocd[10] = 0x88;
    eocd[9] = eocd[11] = 0x13;
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "5000 entries (a release archive has at most 4096)");
    eocd[8] = eocd[10] = 2;
    eocd[9] = eocd[11] = 0;
    /* split archives */
    eocd[4] = 1;
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "multi-volume (split) zip archives are not supported");
    eocd[4] = 0;
    assert_int_equal(omvi_zip_cdir_read(mem_at, &m, m.n, &cd, &err), OMV_OK);
    omvi_zip_cdir_free(&cd);
    free(m.d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_accepted), cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_name_escape),    cmocka_unit_test(test_clashes),
        cmocka_unit_test(test_cdir_names_raw), cmocka_unit_test(test_cdir_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
