/* Sparse NOR-flash store for the legacy CDC bootloader model: explicit erase
 * (by sector or block), AND programming, and an "old contents" state so a
 * host that programs without erasing first is caught. Pages are 4 KB and
 * allocated lazily: a 32 MB QSPI costs nothing until it is written. */
#ifndef OMVEMU_LEGACY_FLASH_H
#define OMVEMU_LEGACY_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct legacy_flash legacy_flash_t;

/* Every byte starts as "old contents" (a deterministic non-0xFF pattern
 * seeded by `seed`): the camera had firmware and a filesystem before. */
legacy_flash_t *lflash_new(uint32_t base, uint32_t size, uint8_t seed);
void lflash_free(legacy_flash_t *f);

/* Sets [addr, addr+len) to 0xFF; the range must be inside the memory. */
void lflash_erase(legacy_flash_t *f, uint32_t addr, uint32_t len);
/* stored = stored AND data. Returns the number of target bytes that were not
 * erased (!= 0xFF) before: > 0 means the host programmed unerased flash. */
size_t lflash_program(legacy_flash_t *f, uint32_t addr, const uint8_t *data, size_t len);
void lflash_read(const legacy_flash_t *f, uint32_t addr, uint8_t *out, size_t len);
bool lflash_contains(const legacy_flash_t *f, uint32_t addr, uint32_t len);

#endif
