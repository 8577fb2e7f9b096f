/*
 * Plan resolution and image checks (steps 1 and 2 of omv_flash): firmware
 * dir with and without firmware.lst, explicit images, reads, and every
 * refusal with its exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "test_util.h"

#define D TEST_TMP_DIR

static omv_board *board;

static int setup(void **state)
{
    (void)state;
    omv_error err;
    tu_fresh_dir(D);
    return omv_board_load("boards/good/fake.ini", &board, &err) == OMV_OK ? 0 : -1;
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
    return 0;
}

static omv_status resolve(const omv_request *req, omvi_plan *plan, omv_error *err)
{
    memset(err, 0, sizeof *err);
    return omvi_plan_resolve(board, req, plan, err);
}

/* "write FIRMWARE, verify FIRMWARE, reset" */
static void plan_str(const omvi_plan *p, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        const omvi_step *s = &p->steps[i];
        off += (size_t)snprintf(buf + off, len - off, "%s%s%s%s", i ? ", " : "", omvi_step_name(s->kind),
                                s->kind == OMVI_STEP_RESET ? "" : " ",
                                s->kind == OMVI_STEP_RESET ? "" : board->parts[s->part].name);
    }
}

static void expect_plan(const omv_request *req, const char *want)
{
    omvi_plan plan;
    omv_error err;
    omv_status st = resolve(req, &plan, &err);
    if (st != OMV_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(st, OMV_OK);
    char got[1024];
    plan_str(&plan, got, sizeof got);
    assert_string_equal(got, want);
    omvi_plan_free(&plan);
}

static void expect_error(const omv_request *req, omv_status code, const char *want)
{
    omvi_plan plan;
    omv_error err;
    assert_int_equal(resolve(req, &plan, &err), code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.msg, want);
    assert_null(plan.steps);
}

static void test_dir_without_list(void **state)
{
    (void)state;
    tu_write_pattern(D "/firmware.bin", 5000, 1);
    tu_write_pattern(D "/romfs0.img", 300, 2);
    omv_request req = {.firmware_dir = D};
    expect_plan(&req, "write FIRMWARE, write ROMFS0, reset");
    req.verify = 1;
    req.no_reset = 1;
    expect_plan(&req, "write FIRMWARE, verify FIRMWARE, write ROMFS0, verify ROMFS0");
    omvi_plan plan;
    omv_error err;
    assert_int_equal(resolve(&req, &plan, &err), OMV_OK);
    assert_string_equal(plan.steps[0].path, D "/firmware.bin");
    assert_int_equal(plan.steps[0].size, 5000);
    assert_int_equal(plan.steps[3].size, 300);
    omvi_plan_free(&plan);
}

static void test_dir_missing_image(void **state)
{
    (void)state;
    tu_write_pattern(D "/firmware.bin", 5000, 1);
    omv_request req = {.firmware_dir = D "/"};
    expect_error(&req, OMV_E_IMAGE,
                 D "/romfs0.img (image of partition ROMFS0): No such file or directory; to flash only "
                   "some partitions, give them as --image NAME=FILE");
    omv_request req2 = {.firmware_dir = D "/nope"};
    expect_error(&req2, OMV_E_IMAGE, "--firmware: " D "/nope: No such file or directory");
}

static void test_firmware_list(void **state)
{
    (void)state;
    tu_write_pattern(D "/firmware.bin", 5000, 1);
    tu_write_pattern(D "/romfs0.img", 300, 2);
    tu_write_pattern(D "/noread.bin", 30, 2);
    omv_request req = {.firmware_dir = D, .no_reset = 1};
    /* only what the list names, in the board's flash order, then the rest in list order */
    tu_write_text(D "/firmware.lst", "# comment\n\n  romfs0.img  \r\nfirmware.bin # trailing comment\n");
    expect_plan(&req, "write FIRMWARE, write ROMFS0");
    tu_write_text(D "/firmware.lst", "firmware.bin\n");
    expect_plan(&req, "write FIRMWARE");
    tu_write_text(D "/firmware.lst", "noread.bin\nfirmware.bin\n");
    req.verify = 1;
    expect_plan(&req, "write FIRMWARE, verify FIRMWARE, write NOREAD");
}

static void test_firmware_list_errors(void **state)
{
    (void)state;
    tu_write_pattern(D "/firmware.bin", 5000, 1);
    omv_request req = {.firmware_dir = D};
    tu_write_text(D "/firmware.lst", "firmware.bin\n\n# the ROMFS\nromfs0.img\n");
    expect_error(&req, OMV_E_IMAGE,
                 D "/firmware.lst:4: " D "/romfs0.img: No such file or directory");
    tu_write_text(D "/firmware.lst", "firmware.bin\nbootloader.bin\n");
    expect_error(&req, OMV_E_IMAGE,
                 D "/firmware.lst:2: 'bootloader.bin' is not the image of any partition of Fake Camera "
                   "(images: firmware.bin, romfs0.img, noread.bin)");
    tu_write_text(D "/firmware.lst", "firmware.bin\nfirmware.bin\n");
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst:2: 'firmware.bin' is listed twice (first at line 1)");
    tu_write_text(D "/firmware.lst", "# nothing\n");
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst lists no images");
    tu_write_text(D "/firmware.lst", "sub/firmware.bin\n");
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst:1: 'sub/firmware.bin' must be a file name without '/'");
}

static void test_image_checks(void **state)
{
    (void)state;
    tu_write_pattern(D "/fw.bin", 65537, 1);
    tu_write(D "/empty.bin", "", 0);
    omv_image_spec big[] = {{"FIRMWARE", D "/fw.bin"}};
    omv_request req = {.images = big, .n_images = 1};
    expect_error(&req, OMV_E_IMAGE, D "/fw.bin is 65537 bytes but partition FIRMWARE holds 65536");
    omv_image_spec empty[] = {{"ROMFS0", D "/empty.bin"}};
    req.images = empty;
    expect_error(&req, OMV_E_IMAGE, D "/empty.bin (image for ROMFS0) is empty");
    omv_image_spec missing[] = {{"ROMFS0", D "/missing.bin"}};
    req.images = missing;
    expect_error(&req, OMV_E_IMAGE, D "/missing.bin (image for ROMFS0): No such file or directory");
    omv_image_spec dir[] = {{"ROMFS0", D}};
    req.images = dir;
    expect_error(&req, OMV_E_IMAGE, D " (image for ROMFS0) is a directory, not a regular file");
    /* a FIFO is refused at once, never waited on */
    mkfifo(D "/fifo.bin", 0600);
    omv_image_spec fifo[] = {{"ROMFS0", D "/fifo.bin"}};
    req.images = fifo;
    expect_error(&req, OMV_E_IMAGE, D "/fifo.bin (image for ROMFS0) is a FIFO, not a regular file");
    /* the plan keeps what it checked: the write compares the file with it */
    omv_image_spec ok[] = {{"ROMFS0", D "/empty.bin"}};
    tu_write_pattern(D "/empty.bin", 300, 1);
    req.images = ok;
    omvi_plan plan;
    omv_error err;
    assert_int_equal(resolve(&req, &plan, &err), OMV_OK);
    struct stat st;
    assert_int_equal(stat(D "/empty.bin", &st), 0);
    assert_int_equal(plan.steps[0].snap.size, 300);
    assert_true(plan.steps[0].snap.ino == st.st_ino && plan.steps[0].snap.dev == st.st_dev);
    assert_true(plan.steps[0].snap.mtime.tv_nsec == st.st_mtim.tv_nsec);
    omvi_plan_free(&plan);
}

/* firmware.lst is an input like the board file: refused unless a regular
 * file of a sane size; a UTF-8 BOM (Windows editors) is not part of a name. */
static void test_firmware_list_file(void **state)
{
    (void)state;
    tu_write_pattern(D "/firmware.bin", 5000, 1);
    tu_write_pattern(D "/romfs0.img", 300, 2);
    omv_request req = {.firmware_dir = D, .no_reset = 1};
    tu_write_text(D "/firmware.lst", "\xEF\xBB\xBF" "firmware.bin\r\nromfs0.img\r\n");
    expect_plan(&req, "write FIRMWARE, write ROMFS0");
    unlink(D "/firmware.lst");
    mkdir(D "/firmware.lst", 0700);
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst is a directory, not a regular file");
    rmdir(D "/firmware.lst");
    mkfifo(D "/firmware.lst", 0600);
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst is a FIFO, not a regular file");
    unlink(D "/firmware.lst");
    tu_write_sparse(D "/firmware.lst", 65537);
    expect_error(&req, OMV_E_IMAGE, D "/firmware.lst is 65537 bytes; more than 65536 is not one");
}

static void test_ae3_oversized(void **state)
{
    (void)state;
    omv_board *ae3;
    omv_error err;
    assert_int_equal(omv_board_load(BOARDS_DIR "/ae3.ini", &ae3, &err), OMV_OK);
    tu_write_sparse(D "/romfs0.img", 26000000);
    omv_image_spec im[] = {{"ROMFS0", D "/romfs0.img"}};
    omv_request req = {.images = im, .n_images = 1};
    omvi_plan plan;
    assert_int_equal(omvi_plan_resolve(ae3, &req, &plan, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, D "/romfs0.img is 26000000 bytes but partition ROMFS0 holds 25165824");
    /* exactly full is fine */
    tu_write_sparse(D "/romfs0.img", 25165824);
    assert_int_equal(omvi_plan_resolve(ae3, &req, &plan, &err), OMV_OK);
    omvi_plan_free(&plan);
    omv_board_free(ae3);
}

static void test_explicit_images(void **state)
{
    (void)state;
    tu_write_pattern(D "/a.bin", 100, 1);
    tu_write_pattern(D "/b.bin", 100, 1);
    tu_write_pattern(D "/firmware.bin", 100, 1); /* a firmware dir is ignored when images are given */
    omv_image_spec im[] = {{"FS", D "/a.bin"}, {"FIRMWARE", D "/b.bin"}};
    omv_request req = {.images = im, .n_images = 2, .firmware_dir = D, .verify = 1};
    expect_plan(&req, "write FS, verify FS, write FIRMWARE, verify FIRMWARE, reset");
    omv_image_spec ro[] = {{"BOOT", D "/a.bin"}};
    omv_request r2 = {.images = ro, .n_images = 1};
    expect_error(&r2, OMV_E_READONLY, "partition BOOT is read-only: refusing to write " D "/a.bin to it");
    omv_image_spec unk[] = {{"HP", D "/a.bin"}};
    r2.images = unk;
    expect_error(&r2, OMV_E_USAGE,
                 "Fake Camera has no partition 'HP' (partitions: BOOT, FIRMWARE, ROMFS0, FS, NOREAD)");
    omv_image_spec twice[] = {{"FS", D "/a.bin"}, {"FS", D "/b.bin"}};
    r2.images = twice;
    r2.n_images = 2;
    expect_error(&r2, OMV_E_USAGE, "partition FS is given more than one image");
}

static void test_reads(void **state)
{
    (void)state;
    omv_image_spec rd[] = {{"BOOT", D "/boot.bin"}, {"FS", D "/fs.bin"}};
    omv_request req = {.reads = rd, .n_reads = 2};
    expect_plan(&req, "read BOOT, read FS, reset");
    omvi_plan plan;
    omv_error err;
    assert_int_equal(resolve(&req, &plan, &err), OMV_OK);
    assert_int_equal(plan.steps[0].size, 4096); /* the partition's size */
    omvi_plan_free(&plan);
    omv_image_spec nr[] = {{"NOREAD", D "/x.bin"}};
    omv_request r2 = {.reads = nr, .n_reads = 1};
    expect_error(&r2, OMV_E_UNSUPPORTED,
                 "partition NOREAD cannot be read back (readable = no in boards/good/fake.ini)");
    omv_image_spec nodir[] = {{"FS", D "/no/such/dir/fs.bin"}};
    r2.reads = nodir;
    expect_error(&r2, OMV_E_IMAGE,
                 D "/no/such/dir/fs.bin: cannot write to " D "/no/such/dir: No such file or directory");
    omv_image_spec unk[] = {{"XX", D "/x.bin"}};
    r2.reads = unk;
    expect_error(&r2, OMV_E_USAGE,
                 "Fake Camera has no partition 'XX' (partitions: BOOT, FIRMWARE, ROMFS0, FS, NOREAD)");
}

/* Reads run first: --read FS=old --image FS=new saves what the camera held. */
static void test_reads_before_writes(void **state)
{
    (void)state;
    tu_write_pattern(D "/new.bin", 100, 1);
    omv_image_spec im[] = {{"FS", D "/new.bin"}};
    omv_image_spec rd[] = {{"FS", D "/old.bin"}};
    omv_request req = {.images = im, .n_images = 1, .reads = rd, .n_reads = 1, .verify = 1,
                       .erase_filesystem = 1};
    expect_plan(&req, "read FS, erase FS, write FS, verify FS, reset");
}

/* Outputs are compared as files, not as names; links, devices and FIFOs are
 * never written through or replaced; an output may not be an input. */
static void test_output_identity(void **state)
{
    (void)state;
    mkdir(D "/sub", 0700);
    omv_image_spec same[] = {{"BOOT", D "/b.bin"}, {"FS", D "/sub/../b.bin"}};
    omv_request req = {.reads = same, .n_reads = 2};
    expect_error(&req, OMV_E_USAGE,
                 D "/b.bin (--read BOOT) and " D "/sub/../b.bin (--read FS) are the same file: each read needs "
                   "its own output");
    tu_write_pattern(D "/a.bin", 10, 1);
    assert_int_equal(link(D "/a.bin", D "/hard.bin"), 0);
    omv_image_spec hard[] = {{"BOOT", D "/a.bin"}, {"FS", D "/hard.bin"}};
    req.reads = hard;
    expect_error(&req, OMV_E_USAGE,
                 D "/a.bin (--read BOOT) and " D "/hard.bin (--read FS) are the same file: each read needs its "
                   "own output");
    assert_int_equal(symlink(D "/a.bin", D "/link.bin"), 0);
    omv_image_spec lnk[] = {{"FS", D "/link.bin"}};
    req.reads = lnk;
    req.n_reads = 1;
    expect_error(&req, OMV_E_IMAGE,
                 D "/link.bin is a symbolic link: --read writes only regular files (it never follows a link or "
                   "writes into a device); name a regular file or a new one");
    omv_image_spec dev[] = {{"FS", "/dev/null"}};
    req.reads = dev;
    expect_error(&req, OMV_E_IMAGE,
                 "/dev/null is a character device: --read writes only regular files (it never follows a link "
                 "or writes into a device); name a regular file or a new one");
    omv_image_spec im[] = {{"FIRMWARE", D "/./a.bin"}};
    req.reads = &hard[1]; /* FS -> hard.bin: the same file as the image a.bin */
    req.images = im;
    req.n_images = 1;
    expect_error(&req, OMV_E_USAGE,
                 D "/./a.bin is the image for FIRMWARE and also the output of --read FS=" D
                   "/hard.bin: reading would replace it before it is written");
}

static void test_nothing_to_do(void **state)
{
    (void)state;
    omv_request req = {0};
    expect_error(&req, OMV_E_USAGE,
                 "nothing to do: give a firmware directory, images (NAME=FILE) or partitions to read");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_dir_without_list, fresh),
        cmocka_unit_test_setup(test_dir_missing_image, fresh),
        cmocka_unit_test_setup(test_firmware_list, fresh),
        cmocka_unit_test_setup(test_firmware_list_errors, fresh),
        cmocka_unit_test_setup(test_image_checks, fresh),
        cmocka_unit_test_setup(test_ae3_oversized, fresh),
        cmocka_unit_test_setup(test_explicit_images, fresh),
        cmocka_unit_test_setup(test_reads, fresh),
        cmocka_unit_test_setup(test_reads_before_writes, fresh),
        cmocka_unit_test_setup(test_output_identity, fresh),
        cmocka_unit_test_setup(test_firmware_list_file, fresh),
        cmocka_unit_test_setup(test_nothing_to_do, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
