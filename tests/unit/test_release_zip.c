/*
 * Release zips through the release interface (release.c, release_zip.c):
 * archives built here with libzip in both OpenMV layouts, then broken on
 * purpose (hostile names, duplicates, encryption, compression methods,
 * links, sizes, truncation, corrupt data). Every refusal is asserted by its
 * exact message; every accepted entry by its streamed bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_id.h"
#include "internal.h"
#include "release.h"
#include "test_util.h"
#include "test_zip_util.h"

#define TMP TEST_TMP_DIR

static const char *zpath(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", TMP, name);
    return buf[k];
}

static omvi_release *open_ok(const char *path)
{
    omvi_release *r = NULL;
    omv_error err = {0};
    omv_status st = omvi_release_open(path, &r, &err);
    if (st != OMV_OK)
        fail_msg("%s: %s", path, err.msg);
    return r;
}

/* Opening @p path fails with OMV_E_IMAGE and exactly "PATH: @p tail". */
static void open_refused(const char *path, const char *tail)
{
    omvi_release *r = NULL;
    omv_error err = {0};
    assert_int_equal(omvi_release_open(path, &r, &err), OMV_E_IMAGE);
    assert_null(r);
    char want[1400];
    snprintf(want, sizeof want, "%s: %s", path, tail);
    assert_string_equal(err.msg, want);
    assert_null(strchr(err.msg, '\n'));
}

/* Stream FOLDER/NAME in @p chunk-byte reads; compare with pattern @p seed
 * (NO_COMPARE: bytes of a corrupt entry, not compared). */
#define NO_COMPARE 0xFFFFFFFFu
static omv_status stream_check(omvi_release *r, const char *folder, const char *name, size_t chunk,
                               uint64_t want_size, unsigned seed, uint64_t *read_ok, omv_error *err)
{
    omvi_release_stream *s = NULL;
    omv_status st = omvi_release_stream_open(r, folder, name, NULL, &s, err);
    if (st != OMV_OK)
        return st;
    const struct omv_source *src = omvi_release_stream_source(s);
    assert_int_equal(src->size, want_size);
    uint8_t *buf = malloc(chunk);
    assert_non_null(buf);
    uint64_t done = 0;
    while (done < src->size) {
        size_t got = 0;
        st = src->read(src->ctx, buf, chunk, &got, err);
        if (st != OMV_OK)
            break;
        assert_true(got == chunk || done + got == src->size);
        for (size_t i = 0; i < got && seed != NO_COMPARE; i++)
            if (buf[i] != tz_pattern_byte(done + i, seed))
                fail_msg("%s/%s: byte %llu differs", folder, name, (unsigned long long)(done + i));
        done += got;
    }
    free(buf);
    if (read_ok)
        *read_ok = done;
    omvi_release_stream_close(s);
    return st;
}

/* ---- layouts ------------------------------------------------------------ */

static void names_cb(void *user, const char *name, uint64_t size)
{
    char *acc = user;
    size_t n = strlen(acc);
    snprintf(acc + n, 512 - n, "%s%s=%llu", n ? "," : "", name, (unsigned long long)size);
}

static void test_stable_layout(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("firmware_v9.9.9.zip");
    /* as `zip -r firmware_<tag>.zip *` in the CI's firmware/ folder makes it */
    tz_entry e[] = {
        {"CYW4343/", TZ_DIR, NULL, 0, 0},
        {"CYW4343/cyw4343_btfw.bin", TZ_STORE, NULL, 1000, 3},
        {"OPENMV4/", TZ_DIR, NULL, 0, 0},
        {"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 300001, 5},
        {"OPENMV4/romfs0.img", TZ_STORE, NULL, 70000, 7},
        {"OPENMV4/bootloader.bin", TZ_DEFLATE, NULL, 4096, 10},
        {"OPENMV4P/firmware.bin", TZ_DEFLATE, NULL, 5000, 9},
        {"README.txt", TZ_STORE, "hello", 5, 0},
    };
    tz_write(p, e, sizeof e / sizeof e[0]);
    omvi_release *r = open_ok(p);
    assert_int_equal(omvi_release_kind_of(r), OMVI_RELEASE_ZIP_STABLE);
    assert_string_equal(omvi_release_path(r), p);
    assert_null(omvi_release_name_target(r));
    assert_int_equal(omvi_release_folder_count(r), 3);
    assert_string_equal(omvi_release_folder_at(r, 0), "CYW4343");
    assert_string_equal(omvi_release_folder_at(r, 1), "OPENMV4");
    assert_string_equal(omvi_release_folder_at(r, 2), "OPENMV4P");
    assert_null(omvi_release_folder_at(r, 3));

    const char *f = NULL;
    omv_error err = {0};
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4", &f, &err), OMV_OK);
    assert_string_equal(f, "OPENMV4");
    assert_int_equal(omvi_release_board_folder(r, "OPENMV_N6", &f, &err), OMV_E_IMAGE);
    char want[800];
    snprintf(want, sizeof want, "%s has no OPENMV_N6/ folder (folders: CYW4343, OPENMV4, OPENMV4P)", p);
    assert_string_equal(err.msg, want);
    assert_int_equal(omvi_release_board_folder(r, NULL, &f, &err), OMV_E_IMAGE);
    snprintf(want, sizeof want,
             "%s holds one folder per camera (CYW4343, OPENMV4, OPENMV4P), and the board file "
             "names none of them (firmware_dir)", p);
    assert_string_equal(err.msg, want);
    /* folder names are exact: openmv4 is not OPENMV4 */
    assert_int_equal(omvi_release_board_folder(r, "openmv4", &f, &err), OMV_E_IMAGE);

    char acc[512] = "";
    assert_int_equal(omvi_release_list(r, "OPENMV4", names_cb, acc, &err), OMV_OK);
    assert_string_equal(acc, "bootloader.bin=4096,firmware.bin=300001,romfs0.img=70000");
    acc[0] = '\0';
    assert_int_equal(omvi_release_list(r, "", names_cb, acc, &err), OMV_OK);
    assert_string_equal(acc, "README.txt=5");
    assert_int_equal(omvi_release_list(r, "OPENMV9", names_cb, acc, &err), OMV_E_IMAGE);

    uint64_t size = 0;
    assert_int_equal(omvi_release_stat(r, "OPENMV4", "romfs0.img", &size, NULL, &err), OMV_OK);
    assert_int_equal(size, 70000);
    assert_int_equal(omvi_release_stat(r, "OPENMV4", "romfs1.img", &size, NULL, &err), OMV_E_IMAGE);
    snprintf(want, sizeof want, "%s has no OPENMV4/romfs1.img", p);
    assert_string_equal(err.msg, want);
    assert_int_equal(omvi_release_stat(r, "OPENMV4", "../README.txt", &size, NULL, &err), OMV_E_IMAGE);

    /* deflated and stored, in odd-sized reads across the whole entry */
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 4093, 300001, 5, NULL, &err), OMV_OK);
    assert_int_equal(stream_check(r, "OPENMV4", "romfs0.img", 4096, 70000, 7, NULL, &err), OMV_OK);
    assert_int_equal(stream_check(r, "OPENMV4", "bootloader.bin", 1, 4096, 10, NULL, &err), OMV_OK);
    assert_int_equal(stream_check(r, "CYW4343", "cyw4343_btfw.bin", 100000, 1000, 3, NULL, &err), OMV_OK);

    /* two streams of one archive at once, and the label */
    omvi_release_stream *a = NULL, *b = NULL;
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "firmware.bin", NULL, &a, &err), OMV_OK);
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4P", "firmware.bin", NULL, &b, &err), OMV_OK);
    snprintf(want, sizeof want, "%s:OPENMV4/firmware.bin", p);
    assert_string_equal(omvi_release_stream_label(a), want);
    uint8_t x[3], y[3];
    size_t got;
    const struct omv_source *sa = omvi_release_stream_source(a), *sb = omvi_release_stream_source(b);
    assert_int_equal(sa->read(sa->ctx, x, 3, &got, &err), OMV_OK);
    assert_int_equal(sb->read(sb->ctx, y, 3, &got, &err), OMV_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x[i], tz_pattern_byte((uint64_t)i, 5));
        assert_int_equal(y[i], tz_pattern_byte((uint64_t)i, 9));
    }
    omvi_release_stream_close(a);
    omvi_release_stream_close(b);
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "nope.bin", NULL, &a, &err), OMV_E_IMAGE);
    assert_null(a);
    omvi_release_close(r);
}

static void test_development_layout(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("firmware_OPENMV4.zip");
    /* `zip -r -j firmware_<TARGET>.zip <TARGET>`: the files at the top */
    tz_entry e[] = {{"firmware.bin", TZ_DEFLATE, NULL, 20000, 11},
                    {"romfs0.img", TZ_DEFLATE, NULL, 9000, 12},
                    {"bootloader.bin", TZ_STORE, NULL, 100, 13}};
    tz_write(p, e, 3);
    omvi_release *r = open_ok(p);
    assert_int_equal(omvi_release_kind_of(r), OMVI_RELEASE_ZIP_DEVELOPMENT);
    assert_string_equal(omvi_release_name_target(r), "OPENMV4");
    assert_int_equal(omvi_release_folder_count(r), 0);
    const char *f = "x";
    omv_error err = {0};
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4", &f, &err), OMV_OK);
    assert_string_equal(f, "");
    /* the top serves any board: the name is evidence for the caller, not a rule here */
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4P", &f, &err), OMV_OK);
    assert_int_equal(omvi_release_board_folder(r, NULL, &f, &err), OMV_OK);
    char acc[512] = "";
    assert_int_equal(omvi_release_list(r, "", names_cb, acc, &err), OMV_OK);
    assert_string_equal(acc, "bootloader.bin=100,firmware.bin=20000,romfs0.img=9000");
    assert_int_equal(stream_check(r, "", "romfs0.img", 777, 9000, 12, NULL, &err), OMV_OK);
    omvi_release_close(r);

    /* a re-packed release: one more folder level, matched by its last component */
    p = zpath("mine.zip");
    tz_entry e2[] = {{"firmware_v9.9.9/OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 100, 1},
                     {"firmware_v9.9.9/OPENMV4P/firmware.bin", TZ_DEFLATE, NULL, 100, 1}};
    tz_write(p, e2, 2);
    r = open_ok(p);
    assert_int_equal(omvi_release_kind_of(r), OMVI_RELEASE_ZIP_STABLE);
    assert_null(omvi_release_name_target(r));
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4P", &f, &err), OMV_OK);
    assert_string_equal(f, "firmware_v9.9.9/OPENMV4P");
    omvi_release_close(r);

    /* two folders with the board's name: ambiguous */
    p = zpath("two.zip");
    tz_entry e3[] = {{"a/OPENMV4/firmware.bin", TZ_STORE, "x", 1, 0},
                     {"b/OPENMV4/firmware.bin", TZ_STORE, "y", 1, 0}};
    tz_write(p, e3, 2);
    r = open_ok(p);
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4", &f, &err), OMV_E_IMAGE);
    char want[600];
    snprintf(want, sizeof want, "%s has 2 folders named OPENMV4/ (folders: a/OPENMV4, b/OPENMV4)", p);
    assert_string_equal(err.msg, want);
    omvi_release_close(r);
}

/* The zip64 form of the end records, which archivers write for big archives. */
static void test_zip64_end_records(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("z64.zip");
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 3000, 5},
                    {"OPENMV4/romfs0.img", TZ_STORE, NULL, 200, 6}};
    tz_write(p, e, 2);
    tz_to_zip64(p);
    omvi_release *r = open_ok(p);
    assert_int_equal(omvi_release_kind_of(r), OMVI_RELEASE_ZIP_STABLE);
    omv_error err = {0};
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 1000, 3000, 5, NULL, &err), OMV_OK);
    assert_int_equal(stream_check(r, "OPENMV4", "romfs0.img", 1000, 200, 6, NULL, &err), OMV_OK);
    omvi_release_close(r);
    /* the locator pointing elsewhere */
    long loc = tz_find(p, "PK\6\7", 4);
    assert_true(loc > 0);
    tz_flip(p, loc + 8, 0x10);
    open_refused(p, "corrupt central directory: bad zip64 record");
}

/* ---- refused archives ----------------------------------------------------- */

/* An archive with one entry called @p name (patched in from @p placeholder
 * when the name cannot go through libzip's API as it is). */
static void one_entry(const char *path, const char *placeholder, const char *name, size_t len)
{
    tz_entry e[] = {{"OPENMV4/romfs0.img", TZ_STORE, "r", 1, 0},
                    {placeholder, TZ_DEFLATE, "abc", 3, 0}};
    tz_write(path, e, 2);
    if (name)
        assert_int_equal(tz_patch(path, placeholder, name, len, 2), 2);
}

static void test_zip_slip_refused(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("slip.zip");
    one_entry(p, "OPENMV4/../../evil.bin", NULL, 0);
    open_refused(p, "entry 'OPENMV4/../../evil.bin': '..' path component (leaves the archive)");
    one_entry(p, "/etc/cron.d/evil", NULL, 0);
    open_refused(p, "entry '/etc/cron.d/evil': absolute path");
    one_entry(p, "OPENMV4\\..\\evil.bin", NULL, 0);
    open_refused(p, "entry 'OPENMV4\\x5C..\\x5Cevil.bin': backslash in the name (a Windows path "
                    "separator)");
    one_entry(p, "C:/Windows/evil.bin", NULL, 0);
    open_refused(p, "entry 'C:/Windows/evil.bin': ':' in the name (a drive letter or stream name)");
    /* a NUL inside the name (libzip alone would show it as a space) */
    one_entry(p, "OPENMV4/firmwareXbin", "OPENMV4/firmware\0bin", 20);
    open_refused(p, "entry 'OPENMV4/firmware\\x00bin': NUL byte in the name");
    /* an ESC sequence is refused and shown escaped, never sent to the terminal */
    one_entry(p, "OPENMV4/XX31mred.bin", "OPENMV4/\x1b[31mred.bin", 20);
    open_refused(p, "entry 'OPENMV4/\\x1B[31mred.bin': control character 0x1B in the name");
}

static void test_duplicates_refused(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("dup.zip");
    /* libzip will not add a name twice: write a twin and rename it in place */
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, "new", 3, 0},
                    {"OPENMV4/firmwarX.bin", TZ_DEFLATE, "old", 3, 0}};
    tz_write(p, e, 2);
    assert_int_equal(tz_patch(p, "firmwarX", "firmware", 8, 2), 2);
    open_refused(p, "entry 'OPENMV4/firmware.bin': duplicate of entry 1");
    tz_entry c[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, "a", 1, 0},
                    {"OPENMV4/README", TZ_STORE, "b", 1, 0},
                    {"openmv4/FIRMWARE.BIN", TZ_DEFLATE, "c", 1, 0}};
    tz_write(p, c, 3);
    open_refused(p, "entry 'openmv4/FIRMWARE.BIN': differs only in case from 'OPENMV4/firmware.bin' "
                    "(entry 1): one path on a case-insensitive file system");
    tz_entry d[] = {{"OPENMV4", TZ_STORE, "a", 1, 0}, {"OPENMV4/firmware.bin", TZ_STORE, "b", 1, 0}};
    tz_write(p, d, 2);
    open_refused(p, "entry 'OPENMV4/firmware.bin': 'OPENMV4' (entry 1) would be both a file and a "
                    "folder");
}

static void test_entry_kinds_refused(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("kinds.zip");
    tz_entry aes[] = {{"OPENMV4/romfs0.img", TZ_STORE, "r", 1, 0},
                      {"OPENMV4/firmware.bin", TZ_AES, NULL, 5000, 1}};
    tz_write(p, aes, 2);
    open_refused(p, "entry 'OPENMV4/firmware.bin': encrypted (a release archive is never encrypted)");
    tz_entry pk[] = {{"OPENMV4/firmware.bin", TZ_PKWARE, NULL, 5000, 1}};
    tz_write(p, pk, 1);
    open_refused(p, "entry 'OPENMV4/firmware.bin': encrypted (a release archive is never encrypted)");
    tz_entry bz[] = {{"OPENMV4/firmware.bin", TZ_BZIP2, NULL, 5000, 2}};
    tz_write(p, bz, 1);
    open_refused(p, "entry 'OPENMV4/firmware.bin': compression method 12 (bzip2) is not supported "
                    "(only stored and deflated entries)");
    tz_entry ln[] = {{"OPENMV4/firmware.bin", TZ_SYMLINK, "/etc/shadow", 11, 0}};
    tz_write(p, ln, 1);
    open_refused(p, "entry 'OPENMV4/firmware.bin': a symbolic link (refused: a release holds only "
                    "files and folders)");
    tz_entry empty[] = {{"OPENMV4/", TZ_DIR, NULL, 0, 0}};
    tz_write(p, empty, 1);
    open_refused(p, "the archive holds no files");
}

/* Overwrite a little-endian u32 at @p off (an entry's recorded size). */
static void set_u32_le(const char *path, long off, uint32_t v)
{
    size_t n = 0;
    char *d = tu_read(path, &n);
    assert_non_null(d);
    assert_true((size_t)off + 4 <= n);
    for (int i = 0; i < 4; i++)
        d[off + i] = (char)(uint8_t)(v >> (8 * i));
    tu_write(path, d, n);
    free(d);
}

static void test_sizes_refused(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("sizes.zip");
    tz_entry e[] = {{"OPENMV4/romfs0.img", TZ_STORE, NULL, 1000, 2}};
    tz_write(p, e, 1);
    /* uncompressed size 1000 -> 1200 in the local header (offset 22) and the
     * central record (offset 24 from its signature): consistent, but a stored
     * entry's two sizes must agree */
    long cen = tz_find(p, "PK\1\2", 4);
    assert_true(cen > 0);
    set_u32_le(p, 22, 1200);
    set_u32_le(p, cen + 24, 1200);
    open_refused(p, "entry 'OPENMV4/romfs0.img': stored (uncompressed) but its sizes disagree: "
                    "1200 bytes recorded, 1000 stored");
    /* only the central record changed: libzip's consistency check */
    tz_write(p, e, 1);
    cen = tz_find(p, "PK\1\2", 4);
    set_u32_le(p, cen + 24, 1200);
    open_refused(p, "inconsistent zip archive (an entry's local header disagrees with the central "
                    "directory, or the archive is truncated)");
}

static void test_deflated_size_lies(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("lies.zip");
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 10000, 4}};
    omv_error err = {0};
    uint64_t ok = 0;
    char want[700];
    /* recorded 12000, the stream holds 10000: ends early */
    tz_write(p, e, 1);
    long cen = tz_find(p, "PK\1\2", 4);
    set_u32_le(p, 22, 12000);
    set_u32_le(p, cen + 24, 12000);
    omvi_release *r = open_ok(p);
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 4096, 12000, 4, &ok, &err), OMV_E_IMAGE);
    snprintf(want, sizeof want,
             "%s: entry 'OPENMV4/firmware.bin': ends after 10000 of the 12000 bytes the archive "
             "records (truncated)", p);
    assert_string_equal(err.msg, want);
    omvi_release_close(r);
    /* recorded 8000, the stream holds 10000: found when the last byte is read */
    tz_write(p, e, 1);
    cen = tz_find(p, "PK\1\2", 4);
    set_u32_le(p, 22, 8000);
    set_u32_le(p, cen + 24, 8000);
    r = open_ok(p);
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 4096, 8000, 4, &ok, &err), OMV_E_IMAGE);
    snprintf(want, sizeof want,
             "%s: entry 'OPENMV4/firmware.bin': holds more than the 8000 bytes the archive records "
             "(corrupt, or a wrong size recorded)", p);
    assert_string_equal(err.msg, want);
    assert_int_equal(ok, 8000 - 8000 % 4096); /* the reads before the last one succeeded */
    omvi_release_close(r);
}

static void test_truncated_archive(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("cut.zip");
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 50000, 1},
                    {"OPENMV4/romfs0.img", TZ_STORE, NULL, 5000, 2}};
    tz_write(p, e, 2);
    char *whole = NULL;
    size_t n = 0;
    whole = tu_read(p, &n);
    assert_non_null(whole);
    tz_truncate(p, n / 2);
    open_refused(p, "not a zip archive (no end-of-central-directory record: truncated, or another "
                    "format)");
    tz_truncate(p, 0);
    open_refused(p, "not a zip archive (too short, truncated?)");
    /* the end record is intact but the central directory lost its start */
    tu_write(p, whole, n);
    long cen = tz_find(p, "PK\1\2", 4);
    char *cut = malloc(n);
    memcpy(cut, whole, (size_t)cen - 100);
    memcpy(cut + cen - 100, whole + cen, n - (size_t)cen);
    tu_write(p, cut, n - 100);
    char tail[300];
    snprintf(tail, sizeof tail, "corrupt central directory: %ld bytes at offset %ld do not end at "
             "offset %ld (truncated or extended archive?)", (long)n - 22 - cen, cen, cen - 100 + ((long)n - 22 - cen));
    open_refused(p, tail);
    free(cut);
    free(whole);
}

static void test_crc_mismatch_stored(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("crc.zip");
    tz_entry e[] = {{"OPENMV4/romfs0.img", TZ_STORE, NULL, 20000, 6}};
    tz_write(p, e, 1);
    long data = 30 + (long)strlen("OPENMV4/romfs0.img");
    tz_flip(p, data + 10000, 0x01); /* one bit in the middle of the stored bytes */
    omvi_release *r = open_ok(p);  /* nothing tells before the data is read */
    omv_error err = {0};
    uint64_t ok = 0;
    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "romfs0.img", NULL, &s, &err), OMV_OK);
    const struct omv_source *src = omvi_release_stream_source(s);
    uint8_t buf[4096];
    size_t got = 0;
    omv_status st = OMV_OK;
    while (st == OMV_OK && ok < src->size) {
        st = src->read(src->ctx, buf, sizeof buf, &got, &err);
        if (st == OMV_OK)
            ok += got;
    }
    /* every read succeeded until the one that completes the image */
    assert_int_equal(st, OMV_E_IMAGE);
    assert_int_equal(ok, 16384);
    char want[700];
    snprintf(want, sizeof want,
             "%s: entry 'OPENMV4/romfs0.img': at its end: CRC-32 mismatch: the entry is corrupt "
             "(after 20000 of 20000 bytes)", p);
    assert_string_equal(err.msg, want);
    omvi_release_stream_close(s);

    /* the identity pass reads the whole entry, so it refuses it before any write */
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "romfs0.img", NULL, &s, &err), OMV_OK);
    omvi_image_id id;
    assert_int_equal(omvi_image_identify(omvi_release_stream_source(s), "romfs0.img", NULL, &id, &err),
                     OMV_E_IMAGE);
    assert_non_null(strstr(err.msg, "romfs0.img: "));
    assert_non_null(strstr(err.msg, "CRC-32 mismatch"));
    omvi_release_stream_close(s);
    omvi_release_close(r);
}

static void test_corrupt_deflate(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("inflate.zip");
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 200000, 8}};
    tz_write(p, e, 1);
    long data = 30 + (long)strlen("OPENMV4/firmware.bin");
    for (int i = 0; i < 16; i++)
        tz_flip(p, data + 200 + i, 0xA5);
    omvi_release *r = open_ok(p);
    omv_error err = {0};
    uint64_t ok = 0;
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 4096, 200000, NO_COMPARE, &ok, &err),
                     OMV_E_IMAGE);
    char want[300];
    snprintf(want, sizeof want, "%s: entry 'OPENMV4/firmware.bin': ", p);
    assert_memory_equal(err.msg, want, strlen(want));
    /* which symptom a damaged deflate stream shows depends on the damage */
    if (!strstr(err.msg, "corrupt compressed data") && !strstr(err.msg, "CRC-32 mismatch") &&
        !strstr(err.msg, "(corrupt, or a wrong size recorded)"))
        fail_msg("%s", err.msg);
    omvi_release_close(r);
}

/* Checked in one open, streamed in another: the same archive or refused; an
 * archive that changes while an entry is read fails that entry. */
static void test_archive_snapshot(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("snap.zip");
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 30000, 5}};
    tz_write(p, e, 1);
    omvi_release *r = open_ok(p);
    uint64_t size = 0;
    omvi_file_id snap;
    omv_error err = {0};
    assert_int_equal(omvi_release_stat(r, "OPENMV4", "firmware.bin", &size, &snap, &err), OMV_OK);
    omvi_release_close(r);
    r = open_ok(p); /* the same file: fine */
    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "firmware.bin", &snap, &s, &err), OMV_OK);
    omvi_release_stream_close(s);
    omvi_release_close(r);
    tz_entry e2[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, 30000, 7}};
    tz_write(p, e2, 1); /* downloaded again: another file */
    r = open_ok(p);
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "firmware.bin", &snap, &s, &err), OMV_E_IMAGE);
    char want[600];
    snprintf(want, sizeof want, "%s changed after it was checked (another archive, or rewritten): run "
             "again once the file is complete", p);
    assert_string_equal(err.msg, want);
    /* appended to while an entry is read: the read that ends the entry says so */
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "firmware.bin", NULL, &s, &err), OMV_OK);
    const struct omv_source *src = omvi_release_stream_source(s);
    uint8_t buf[20000];
    size_t got = 0;
    assert_int_equal(src->read(src->ctx, buf, 20000, &got, &err), OMV_OK);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    fputs("trailing bytes", f);
    fclose(f);
    assert_int_equal(src->read(src->ctx, buf, 20000, &got, &err), OMV_E_IMAGE);
    snprintf(want, sizeof want, "%s changed while entry 'OPENMV4/firmware.bin' was being read (size or "
             "modification time): the bytes read are not one consistent archive", p);
    assert_string_equal(err.msg, want);
    omvi_release_stream_close(s);
    omvi_release_close(r);
}

/* ---- 64 MiB entries: streamed, memory flat -------------------------------- */

static long vm_kb(const char *key)
{
    char *s = tu_read("/proc/self/status", NULL);
    assert_non_null(s);
    char *at = strstr(s, key);
    long v = at ? strtol(at + strlen(key), NULL, 10) : -1;
    free(s);
    return v;
}

static void test_64mib_streams_flat(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    const char *p = zpath("big.zip");
    const uint64_t big = 64ull * 1024 * 1024;
    tz_entry e[] = {{"OPENMV4/firmware.bin", TZ_DEFLATE, NULL, big, 2},
                    {"OPENMV4/romfs0.img", TZ_STORE, NULL, big, 3}};
    tz_write(p, e, 2);
    omvi_release *r = open_ok(p);
    omv_error err = {0};
    /* Peak RSS from here on (writing "5" to clear_refs resets VmHWM). */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int reset = f && fputs("5", f) >= 0;
    if (f)
        fclose(f);
    long before = vm_kb("VmRSS:");
    assert_int_equal(stream_check(r, "OPENMV4", "firmware.bin", 4096, big, 2, NULL, &err), OMV_OK);
    assert_int_equal(stream_check(r, "OPENMV4", "romfs0.img", 4096, big, 3, NULL, &err), OMV_OK);
    long peak = vm_kb("VmHWM:");
    print_message("64 MiB deflated + 64 MiB stored streamed: RSS %ld KiB before, peak %ld KiB "
                  "(+%ld KiB)%s\n", before, peak, peak - before, reset ? "" : " (peak not reset)");
#ifndef OMV_SANITIZE_BUILD
    /* Reading either entry whole would add 64 MiB; streaming adds libzip's and
     * zlib's buffers. (Sanitizer builds keep freed memory in quarantine.) */
    if (reset)
        assert_true(peak - before < 4 * 1024);
#endif
    omvi_release_close(r);
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_layout),      cmocka_unit_test(test_development_layout),
        cmocka_unit_test(test_zip64_end_records),
        cmocka_unit_test(test_zip_slip_refused),   cmocka_unit_test(test_duplicates_refused),
        cmocka_unit_test(test_entry_kinds_refused), cmocka_unit_test(test_sizes_refused),
        cmocka_unit_test(test_deflated_size_lies), cmocka_unit_test(test_truncated_archive),
        cmocka_unit_test(test_crc_mismatch_stored), cmocka_unit_test(test_corrupt_deflate),
        cmocka_unit_test(test_archive_snapshot),    cmocka_unit_test(test_64mib_streams_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
