/* Sparse storage of one memory (internal flash, QSPI, MRAM, ...) with the
 * erase/program semantics of the real part. Pages are allocated lazily so a
 * 32 MB QSPI costs nothing until written; unwritten bytes read as 0xFF. */
#ifndef OMVEMU_FLASH_MEMORY_H
#define OMVEMU_FLASH_MEMORY_H

#include "camera_models.h"

typedef struct flash_memory flash_memory_t;

flash_memory_t *flash_memory_new(const memory_desc_t *desc);
void flash_memory_free(flash_memory_t *m);

/* addr is absolute (memory base included); caller checks bounds. */
void flash_memory_read(const flash_memory_t *m, uint32_t addr, uint8_t *out, size_t len);

/* Raw preset (--load, bootloader header): overwrite, no erase/AND rules. */
void flash_memory_preset(flash_memory_t *m, uint32_t addr, const uint8_t *data, size_t len);

/* One DFU block write as the bootloader does it: implicit erase of the erase
 * unit that starts at addr (if any), then program with the memory's padding
 * and AND/overwrite rule. xfer_buf is the device's whole transfer buffer
 * (EMU_XFER_SIZE bytes, data at its start) because MRAM's round-up copies
 * stale bytes from it. Returns the number of erase units erased. */
unsigned flash_memory_write_block(flash_memory_t *m, uint32_t addr, const uint8_t *xfer_buf,
                                  size_t len, uint32_t limit);

/* Whole-chip erase of [addr, addr+len): back to 0xFF (pages are freed, so a
 * 32 MB erase costs nothing). addr and len are multiples of 4096. */
void flash_memory_blank(flash_memory_t *m, uint32_t addr, size_t len);

#endif
