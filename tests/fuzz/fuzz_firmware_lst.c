/*
 * libFuzzer harness: firmware.lst parsing, through the plan (core/plan.c,
 * omvi_plan_resolve) exactly as omv_flash() runs it for --firmware DIR.
 * Once per process: load a board (tests/fuzz/fuzz_board.ini: two partitions
 * with images a.bin, b.bin and firmware_list = firmware.lst) and create a
 * firmware dir holding both images. Per input: the input becomes
 * DIR/firmware.lst and the plan is resolved with dry_run; no plugin is ever
 * loaded (the plan does not load plugins).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef FUZZ_BOARD
#error "FUZZ_BOARD must name the board file"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static omv_board *board;
static char dir[256];
static char lst[300];

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();
}

static void setup(void)
{
    omv_error err;
    if (omv_board_load(FUZZ_BOARD, &board, &err) != OMV_OK) {
        fprintf(stderr, "fuzz_firmware_lst: %s\n", err.msg);
        abort();
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/omvfuzz-fwlst.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    char p[300];
    static const uint8_t img[100] = {1, 2, 3};
    snprintf(p, sizeof p, "%s/a.bin", dir);
    write_file(p, img, sizeof img);
    snprintf(p, sizeof p, "%s/b.bin", dir);
    write_file(p, img, 10);
    snprintf(p, sizeof p, "%s/big.bin", dir); /* larger than partition B */
    static uint8_t big[5000];
    write_file(p, big, sizeof big);
    snprintf(p, sizeof p, "%s/empty.bin", dir);
    write_file(p, img, 0);
    snprintf(lst, sizeof lst, "%s/firmware.lst", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!board)
        setup();
    write_file(lst, data, size);
    omv_request req;
    memset(&req, 0, sizeof req);
    req.firmware_dir = dir;
    req.dry_run = 1;
    req.wait_ms = OMV_WAIT_DEFAULT;
    req.verify = size > 0 && (data[0] & 1);
    omvi_plan plan = {0};
    omv_error err;
    omv_error_clear(&err);
    omv_status st = omvi_plan_resolve(board, &req, &plan, &err);
    if (st == OMV_OK) {
        for (size_t i = 0; i < plan.n; i++)
            if (plan.steps[i].kind == OMVI_STEP_WRITE && plan.steps[i].size == 0)
                __builtin_trap(); /* an empty image must never be planned */
    } else if (strchr(err.msg, '\n')) {
        __builtin_trap();
    }
    omvi_plan_free(&plan);
    return 0;
}
