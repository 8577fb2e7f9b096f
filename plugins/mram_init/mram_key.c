/* The AE3 MRAM recovery key: 16 fixed bytes + 4080 zero bytes (docs/protocols.md §3.6,
 * FW tools/flash_recovery_key.py). Built in so users need no Python. */
#define _POSIX_C_SOURCE 200809L
#include "mram_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t key[MRAM_KEY_LEN] = {
    0x15, 0x9E, 0x7D, 0x42, 0x96, 0x1A, 0x71, 0xEB, 0x73, 0xA3, 0x26, 0x29, 0x2B, 0x08, 0x09, 0x0E,
};

void mram_key_build(uint8_t block[MRAM_KEY_BLOCK_SIZE])
{
    memset(block, 0, MRAM_KEY_BLOCK_SIZE);
    memcpy(block, key, sizeof key);
}

omv_status mram_key_check_file(const char *path, omv_error *err)
{
    uint8_t want[MRAM_KEY_BLOCK_SIZE];
    uint8_t got[MRAM_KEY_BLOCK_SIZE + 1];
    mram_key_build(want);
    /* O_NONBLOCK: a FIFO or a terminal given as the key never blocks the
     * open; only a regular file is a key file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return omv_error_set(err, OMV_E_IMAGE, "key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return omv_error_set(err, OMV_E_IMAGE, "key file %s is not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return omv_error_set(err, OMV_E_NOMEM, "key file %s: out of memory", path);
    }
    size_t n = fread(got, 1, sizeof got, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr)
        return omv_error_set(err, OMV_E_IMAGE, "key file %s: read error", path);
    size_t common = n < MRAM_KEY_BLOCK_SIZE ? n : MRAM_KEY_BLOCK_SIZE;
    for (size_t i = 0; i < common; i++) {
        if (got[i] != want[i])
            return omv_error_set(err, OMV_E_IMAGE,
                                 "key file %s is not the AE3 MRAM recovery key: byte %zu is 0x%02X, expected 0x%02X",
                                 path, i, got[i], want[i]);
    }
    if (n != MRAM_KEY_BLOCK_SIZE)
        return omv_error_set(err, OMV_E_IMAGE, "key file %s is %s%zu bytes, expected %u (16-byte key + 4080 zero bytes)",
                             path, n > MRAM_KEY_BLOCK_SIZE ? "more than " : "", common, MRAM_KEY_BLOCK_SIZE);
    return OMV_OK;
}
