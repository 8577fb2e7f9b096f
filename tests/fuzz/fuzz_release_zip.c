/*
 * libFuzzer harness: a whole release zip (core/zip_cdir.c, core/zip_names.c,
 * core/release_zip.c on libzip). The input is the archive, opened from
 * memory; when it is accepted, every file is streamed to its end. Traps on
 * broken contracts: a multi-line or unnamed error, an accepted entry name
 * that the name rules refuse, a stream that delivers more or fewer bytes
 * than its size without failing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stream_whole(omvi_zip *z, size_t i)
{
    omvi_zip_stream *s = NULL;
    omv_error err;
    if (omvi_zip_stream_open(z, i, &s, &err) != OMV_OK) {
        if (strchr(err.msg, '\n') || strncmp(err.msg, "fuzz.zip: ", 10) != 0)
            __builtin_trap();
        return;
    }
    const struct omv_source *src = omvi_zip_stream_source(s);
    if (src->size != omvi_zip_file_size(z, i))
        __builtin_trap();
    static uint8_t buf[4096];
    uint64_t done = 0;
    /* cap the work per input: a tiny archive may claim a huge entry */
    while (done < src->size && done < (1u << 20)) {
        size_t got = 0;
        omv_status st = src->read(src->ctx, buf, sizeof buf, &got, &err);
        if (st != OMV_OK) {
            if (st != OMV_E_IMAGE || strchr(err.msg, '\n') || strncmp(err.msg, "fuzz.zip: ", 10) != 0)
                __builtin_trap();
            break;
        }
        if (got == 0 || got > sizeof buf || (got < sizeof buf && done + got != src->size))
            __builtin_trap(); /* short only at the end, never empty before it */
        done += got;
    }
    omvi_zip_stream_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    omvi_zip *z = NULL;
    omv_error err;
    omv_status st = omvi_zip_open_buffer(data, size, "fuzz.zip", &z, &err);
    if (st != OMV_OK) {
        if ((st != OMV_E_IMAGE && st != OMV_E_NOMEM) || strchr(err.msg, '\n') ||
            strncmp(err.msg, "fuzz.zip: ", 10) != 0)
            __builtin_trap();
        return 0;
    }
    size_t n = omvi_zip_file_count(z);
    if (n == 0)
        __builtin_trap(); /* an archive without files is refused */
    for (size_t i = 0; i < n; i++) {
        const char *p = omvi_zip_file_path(z, i);
        if (omvi_zip_name_check(p, strlen(p), NULL, 0) != 0 || p[strlen(p) - 1] == '/')
            __builtin_trap();
        if (i && strcmp(omvi_zip_file_path(z, i - 1), p) >= 0)
            __builtin_trap(); /* sorted, no repeats */
        if (omvi_zip_find(z, p) != (long)i)
            __builtin_trap();
        stream_whole(z, i);
    }
    omvi_zip_close(z);
    return 0;
}
