/*
 * Directories as releases (release.c, release_dir.c): the same interface as
 * zips, regular files only, FIFOs refused without blocking, images that
 * change while they are read reported, and paths that are neither a
 * directory nor a zip refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "release.h"
#include "test_util.h"
#include "test_zip_util.h"

#define TMP TEST_TMP_DIR

static void names_cb(void *user, const char *name, uint64_t size)
{
    char *acc = user;
    size_t n = strlen(acc);
    snprintf(acc + n, 512 - n, "%s%s=%llu", n ? "," : "", name, (unsigned long long)size);
}

static void write_pattern(const char *path, size_t size, unsigned seed)
{
    uint8_t *b = malloc(size ? size : 1);
    assert_non_null(b);
    for (size_t i = 0; i < size; i++)
        b[i] = tz_pattern_byte(i, seed);
    tu_write(path, b, size);
    free(b);
}

static omvi_release *open_ok(const char *path)
{
    omvi_release *r = NULL;
    omv_error err = {0};
    if (omvi_release_open(path, &r, &err) != OMV_OK)
        fail_msg("%s: %s", path, err.msg);
    return r;
}

static void test_flat_directory(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    write_pattern(TMP "/firmware.bin", 10000, 1);
    write_pattern(TMP "/romfs0.img", 300, 2);
    tu_write_text(TMP "/.hidden", "x");
    assert_int_equal(mkfifo(TMP "/fifo.bin", 0600), 0);
    assert_int_equal(symlink("firmware.bin", TMP "/link.bin"), 0);
    assert_int_equal(mkdir(TMP "/sub", 0700), 0);
    omvi_release *r = open_ok(TMP);
    assert_int_equal(omvi_release_kind_of(r), OMVI_RELEASE_DIR);
    assert_null(omvi_release_name_target(r));
    assert_int_equal(omvi_release_folder_count(r), 1);
    assert_string_equal(omvi_release_folder_at(r, 0), "sub");
    const char *f = "x";
    omv_error err = {0};
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4", &f, &err), OMV_OK);
    assert_string_equal(f, "");
    assert_int_equal(omvi_release_board_folder(r, NULL, &f, &err), OMV_OK);
    assert_string_equal(f, "");
    /* regular files (links followed), sorted; no dot files, FIFOs or folders */
    char acc[512] = "";
    assert_int_equal(omvi_release_list(r, "", names_cb, acc, &err), OMV_OK);
    assert_string_equal(acc, "firmware.bin=10000,link.bin=10000,romfs0.img=300");
    uint64_t size = 0;
    assert_int_equal(omvi_release_stat(r, "", "romfs0.img", &size, NULL, &err), OMV_OK);
    assert_int_equal(size, 300);
    /* a FIFO planted as an image: refused at once, not waited on */
    assert_int_equal(omvi_release_stat(r, "", "fifo.bin", &size, NULL, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/fifo.bin is a FIFO, not a regular file");
    assert_int_equal(omvi_release_stat(r, "", "sub", &size, NULL, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/sub is a directory, not a regular file");
    assert_int_equal(omvi_release_stat(r, "", "missing.bin", &size, NULL, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/missing.bin: No such file or directory");
    assert_int_equal(omvi_release_stat(r, "", "../x", &size, NULL, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP ": '../x' is not a plain file name");

    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "", "firmware.bin", NULL, &s, &err), OMV_OK);
    assert_string_equal(omvi_release_stream_label(s), TMP "/firmware.bin");
    const struct omv_source *src = omvi_release_stream_source(s);
    assert_int_equal(src->size, 10000);
    uint8_t buf[3000];
    uint64_t done = 0;
    while (done < src->size) {
        size_t got = 0;
        assert_int_equal(src->read(src->ctx, buf, sizeof buf, &got, &err), OMV_OK);
        for (size_t i = 0; i < got; i++)
            assert_int_equal(buf[i], tz_pattern_byte(done + i, 1));
        done += got;
    }
    size_t got = 1;
    assert_int_equal(src->read(src->ctx, buf, sizeof buf, &got, &err), OMV_OK);
    assert_int_equal(got, 0);
    omvi_release_stream_close(s);
    omvi_release_close(r);
}

static void test_board_subfolder(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    /* an unzipped stable release: DIR/OPENMV4/firmware.bin */
    assert_int_equal(mkdir(TMP "/OPENMV4", 0700), 0);
    assert_int_equal(mkdir(TMP "/OPENMV4P", 0700), 0);
    write_pattern(TMP "/OPENMV4/firmware.bin", 5000, 3);
    omvi_release *r = open_ok(TMP);
    assert_int_equal(omvi_release_folder_count(r), 2);
    const char *f = NULL;
    omv_error err = {0};
    assert_int_equal(omvi_release_board_folder(r, "OPENMV4", &f, &err), OMV_OK);
    assert_string_equal(f, "OPENMV4");
    assert_int_equal(omvi_release_board_folder(r, "OPENMV_AE3", &f, &err), OMV_OK);
    assert_string_equal(f, "");
    char acc[512] = "";
    assert_int_equal(omvi_release_list(r, "OPENMV4", names_cb, acc, &err), OMV_OK);
    assert_string_equal(acc, "firmware.bin=5000");
    assert_int_equal(omvi_release_list(r, "NOPE", names_cb, acc, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/NOPE: No such file or directory");
    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "OPENMV4", "firmware.bin", NULL, &s, &err), OMV_OK);
    assert_string_equal(omvi_release_stream_label(s), TMP "/OPENMV4/firmware.bin");
    omvi_release_stream_close(s);
    omvi_release_close(r);
}

/* Read @p first bytes, let @p change alter the file, then read the rest. */
static omv_status read_while(const char *name, size_t first, void (*change)(const char *path),
                             omv_error *err)
{
    omvi_release *r = open_ok(TMP);
    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "", name, NULL, &s, err), OMV_OK);
    const struct omv_source *src = omvi_release_stream_source(s);
    uint8_t *buf = malloc(src->size);
    size_t got = 0;
    assert_int_equal(src->read(src->ctx, buf, first, &got, err), OMV_OK);
    change(tu_join(TMP, name));
    omv_status st = src->read(src->ctx, buf, src->size - first, &got, err);
    free(buf);
    omvi_release_stream_close(s);
    omvi_release_close(r);
    return st;
}

static void shrink(const char *path) { assert_int_equal(truncate(path, 4000), 0); }

static void grow(const char *path)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("12345", f);
    fclose(f);
}

static void rewrite_same_size(const char *path)
{
    /* same size, new contents: only the modification time tells */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fputc('Z', f);
    fclose(f);
    struct timespec t[2] = {sb.st_atim, sb.st_mtim};
    t[1].tv_nsec = (t[1].tv_nsec + 1000) % 1000000000; /* differ even on coarse clocks */
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void test_changed_while_read(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    write_pattern(TMP "/fw.bin", 10000, 1);
    omv_error err = {0};
    assert_int_equal(read_while("fw.bin", 5000, shrink, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/fw.bin: file shrank while being read (ends at 5000, "
                                 "expected 10000 bytes)");
    write_pattern(TMP "/fw.bin", 10000, 1);
    assert_int_equal(read_while("fw.bin", 5000, rewrite_same_size, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/fw.bin changed while it was being read (it was modified (same "
                                 "size, new modification time)): the bytes read are not one "
                                 "consistent file");
    write_pattern(TMP "/fw.bin", 10000, 1);
    assert_int_equal(read_while("fw.bin", 5000, grow, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/fw.bin changed while it was being read (its size went from "
                                 "10000 to 10005 bytes): the bytes read are not one consistent file");
}

/* Checked once (the snapshot), opened again later: it must be the same file. */
static void test_snapshot(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    write_pattern(TMP "/fw.bin", 10000, 1);
    omvi_release *r = open_ok(TMP);
    uint64_t size = 0;
    omvi_file_id snap;
    omv_error err = {0};
    assert_int_equal(omvi_release_stat(r, "", "fw.bin", &size, &snap, &err), OMV_OK);
    assert_int_equal(size, 10000);
    assert_int_equal(snap.size, 10000);
    omvi_release_stream *s = NULL;
    assert_int_equal(omvi_release_stream_open(r, "", "fw.bin", &snap, &s, &err), OMV_OK);
    omvi_release_stream_close(s);
    /* a download still running: the file grew */
    grow(TMP "/fw.bin");
    assert_int_equal(omvi_release_stream_open(r, "", "fw.bin", &snap, &s, &err), OMV_E_IMAGE);
    assert_null(s);
    assert_string_equal(err.msg, TMP "/fw.bin changed after it was checked (its size went from 10000 "
                                 "to 10005 bytes): run again once the file is complete");
    /* another file of the same size and time put in its place */
    write_pattern(TMP "/fw.bin", 10000, 1);
    assert_int_equal(omvi_release_stat(r, "", "fw.bin", &size, &snap, &err), OMV_OK);
    write_pattern(TMP "/other.bin", 10000, 3);
    struct timespec t[2] = {snap.mtime, snap.mtime};
    assert_int_equal(utimensat(AT_FDCWD, TMP "/other.bin", t, 0), 0);
    assert_int_equal(rename(TMP "/other.bin", TMP "/fw.bin"), 0);
    assert_int_equal(omvi_release_stream_open(r, "", "fw.bin", &snap, &s, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/fw.bin changed after it was checked (another file was put in "
                                 "its place): run again once the file is complete");
    omvi_release_close(r);
}

static void test_not_a_release(void **state)
{
    (void)state;
    tu_fresh_dir(TMP);
    omvi_release *r = NULL;
    omv_error err = {0};
    assert_int_equal(omvi_release_open(TMP "/missing", &r, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/missing: No such file or directory");
    assert_int_equal(mkfifo(TMP "/pipe", 0600), 0);
    assert_int_equal(omvi_release_open(TMP "/pipe", &r, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/pipe is a FIFO, neither a directory nor a zip file");
    tu_write_text(TMP "/firmware.bin", "not a zip archive at all, just some bytes\n");
    assert_int_equal(omvi_release_open(TMP "/firmware.bin", &r, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, TMP "/firmware.bin: not a zip archive (no end-of-central-directory "
                                 "record: truncated, or another format)");
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_directory),
        cmocka_unit_test(test_board_subfolder),
        cmocka_unit_test(test_changed_while_read),
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_not_a_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
