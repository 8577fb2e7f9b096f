/* The AE3 MRAM recovery key block (docs/protocols.md §3.6): pure, testable without USB. */
#ifndef OMV_MRAM_KEY_H
#define OMV_MRAM_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/status.h>

/** Size of the block the bootloader expects on the RECOVERY alt: one DFU block. */
#define MRAM_KEY_BLOCK_SIZE 4096u
/** Length of the key proper at the start of the block; the rest is zero. */
#define MRAM_KEY_LEN 16u

/** Fill @p block (MRAM_KEY_BLOCK_SIZE bytes) with the key followed by zeros. */
void mram_key_build(uint8_t block[MRAM_KEY_BLOCK_SIZE]);

/**
 * Check a key file made elsewhere (e.g. by flash_recovery_key.py) against the
 * built-in block. @return OMV_OK, or OMV_E_IMAGE naming the file and the
 * first differing byte (or the size / read problem).
 */
omv_status mram_key_check_file(const char *path, omv_error *err);

#endif
