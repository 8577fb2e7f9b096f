/*
 * libFuzzer harness: the board-file loader (core/board_load.c, inih, every
 * value parser). The input is the whole INI file, handed over as a memfd
 * (/proc/self/fd/N) so no disk I/O happens per run. A successful load is
 * walked through the public accessors so every field is touched.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("board.ini", 0);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    omv_board *b = NULL;
    omv_error err;
    omv_error_clear(&err);
    omv_status st = omv_board_load(path, &b, &err);
    if (st == OMV_OK) {
        volatile size_t sink = strlen(omv_board_name(b)) + strlen(omv_board_path(b)) +
                               strlen(omv_board_transport(b));
        for (size_t i = 0; i < omv_board_partition_count(b); i++) {
            const omv_partition_info *p = omv_board_partition(b, i);
            sink += strlen(p->name) + (p->image ? strlen(p->image) : 0) + (size_t)p->size;
            (void)omvi_board_find(b, p->name);
            (void)omv_board_partition_option(b, i, "alt");
        }
        (void)omvi_board_transport_section(b);
        char names[512];
        omvi_board_part_names(b, names, sizeof names);
        sink += strlen(names);
        (void)sink;
    } else {
        /* Every failure is a one-line, NUL-terminated message. */
        if (memchr(err.msg, '\0', sizeof err.msg) == NULL || strchr(err.msg, '\n'))
            __builtin_trap();
        if (st != OMV_E_BOARD && st != OMV_E_NOMEM)
            __builtin_trap();
    }
    omv_board_free(b);
    close(fd);
    return 0;
}
