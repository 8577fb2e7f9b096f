/* The 32 MB QSPI NOR chip behind the legacy bootloader's QSPIF_* commands
 * (H7 Plus, Pure Thermal) and the waits the bootloader's own driver gives it
 * (OpenMV firmware history, bootloader qspif.c up to its removal in Oct 2024):
 *
 *  - a 64 KB block erase is polled for at most 2000 ms (BLOCK_ERASE_TIMEOUT);
 *    the driver then returns and the receive callback takes the next packet
 *    while the chip may still be erasing;
 *  - a page program is polled for at most 5000 ms (HAL_QSPI_TIMEOUT);
 *  - a NOR chip that is busy ignores every command but Read Status: the
 *    write-enable poll still passes (WEL stays set during an erase), so the
 *    erase or program that follows is silently dropped, and the driver then
 *    waits on the status of the operation that is still running.
 *
 * Erases take effect when they end. When the bootloader jumps to the
 * application (RESET) the firmware's flash driver resets the chip at start-up
 * (MicroPython's mp_spiflash_init sends Enable Reset + Reset), which ends an
 * erase still running: the block keeps what it held (a real chip is left in
 * an undefined, partly erased state). */
#ifndef OMVEMU_LEGACY_QSPI_H
#define OMVEMU_LEGACY_QSPI_H

#include "legacy_flash.h"

#include <stdbool.h>
#include <stdint.h>

#define LQSPI_ERASE_POLL_US 2000000u   /* qspif.c BLOCK_ERASE_TIMEOUT */
#define LQSPI_CMD_POLL_US 5000000u     /* qspif.c HAL_QSPI_TIMEOUT */

typedef struct {
    legacy_flash_t *mem;
    uint64_t busy_until_us;    /* the chip finishes its current operation then */
    bool erase_pending;        /* a block erase is running; it takes effect when it ends */
    uint32_t erase_addr, erase_len;
} lqspi_chip_t;

/* What one command did: how long the bootloader's callback waited for the
 * chip, and whether the chip ignored the command because it was busy. */
typedef struct {
    uint64_t wait_us;
    bool dropped;
} lqspi_op_t;

/* A running erase whose time is up takes effect (call before looking at mem). */
void lqspi_settle(lqspi_chip_t *q, uint64_t now_us);

/* QSPIF_ERASE of [addr, addr+len) arriving at now_us; the chip needs erase_us. */
lqspi_op_t lqspi_erase(lqspi_chip_t *q, uint32_t addr, uint32_t len, uint64_t erase_us, uint64_t now_us);

/* One page program at now_us; *unerased counts target bytes that were not
 * erased (0 when dropped). */
lqspi_op_t lqspi_program(lqspi_chip_t *q, uint32_t addr, const uint8_t *data, uint32_t len,
                         uint64_t program_us, uint64_t now_us, size_t *unerased);

/* The application starts at now_us and resets the chip: true if that cut an
 * erase short (the block keeps its old contents). */
bool lqspi_app_reset(lqspi_chip_t *q, uint64_t now_us);

#endif
