/* The legacy OpenMV USB-CDC bootloader, independent of
 * umockdev: it takes one USB OUT packet (= one command) and returns the
 * device's reply and how long the receive callback kept the device busy. */
#ifndef OMVEMU_LEGACY_CAMERA_H
#define OMVEMU_LEGACY_CAMERA_H

#include "camera_models.h"
#include "legacy_flash.h"
#include "legacy_qspi.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LBL_PACKET 64u          /* full-speed bulk packet = flash buffer size */
#define LBL_QSPI_PAGE 256u
#define LBL_QSPI_BLOCK 65536u
#define LBL_QSPI_SIZE 0x02000000u

enum {
    LBL_START = 0xABCD0001u,
    LBL_RESET = 0xABCD0002u,
    LBL_ERASE = 0xABCD0004u,
    LBL_WRITE = 0xABCD0008u,
    LBL_LAYOUT = 0xABCD0010u,
    LBL_QSPI_ERASE = 0xABCD1004u,
    LBL_QSPI_WRITE = 0xABCD1008u,
    LBL_QSPI_LAYOUT = 0xABCD1010u,
    LBL_QSPI_MEMTEST = 0xABCD1020u,
};

/* [legacy] group of --model FILE; microseconds, all 0 by default. */
typedef struct {
    uint64_t erase_us_16k, erase_us_32k, erase_us_64k, erase_us_128k, erase_us_256k;
    uint64_t program_us_per_64;   /* one 64-byte flash buffer program */
    uint64_t qspi_erase_us;       /* one 64 KB QSPI block */
    uint64_t qspi_program_us;     /* one 256-byte QSPI page */
    uint64_t qspi_memtest_us;     /* QSPIF_MEMTEST (whole chip) */
    uint64_t packet_us;           /* receive-callback overhead per packet */
} legacy_timing_t;

bool legacy_timing_load(const char *path, legacy_timing_t *t, char *err, size_t errlen);

/* Faults (--fault SPEC for a legacy camera); see README. */
typedef enum {
    LF_UNPLUG_AT,     /* unplug@FIRMWARE:OFFSET, unplug@QSPI:OFFSET, unplug-at:OFFSET */
    LF_UNPLUG_ERASE,  /* unplug-erase@SECTOR */
    LF_DROP_LAYOUT,   /* drop-layout-reply:N[*K|*], stall-reply[:N] */
} lfault_kind_t;

typedef struct {
    lfault_kind_t kind;
    bool qspi;          /* LF_UNPLUG_AT in QSPI */
    uint32_t value;     /* offset, sector, or first FLASH_LAYOUT number (1-based) */
    int count;          /* LF_DROP_LAYOUT: replies dropped, -1 = all */
    bool fired;
} lfault_t;

bool legacy_fault_parse(const char *spec, lfault_t *out, char *err, size_t errlen);
/* True for SPECs only legacy cameras understand (so omvemu can route them). */
bool legacy_fault_syntax(const char *spec);

typedef struct {
    uint64_t transfers, packets, zlps, bytes_in;
    uint64_t cmd_start, cmd_reset, cmd_erase, cmd_write, cmd_layout;
    uint64_t cmd_qspi_erase, cmd_qspi_write, cmd_qspi_layout, cmd_qspi_memtest, cmd_unknown;
    uint64_t ignored_halted;      /* packets received after the bootloader died */
    uint64_t bytes_written, flash_programs, qspi_bytes_written, qspi_programs;
    uint64_t erases, qspi_erases, unerased_writes, bootloader_sector_erased;
    uint64_t zlp_misparsed, replies_dropped, halts;
    uint64_t qspi_busy_dropped;   /* QSPI erases/programs the busy chip ignored */
    uint64_t qspi_erase_aborted;  /* erases cut short by the application's chip reset */
    uint64_t left_in_bootloader;  /* at exit: got START and no RESET (it never leaves by itself) */
    uint64_t windows_missed, app_resets, bootloader_entries, appearances, unframed_bytes;
    uint64_t device_busy_us;
    uint64_t boot_failures;       /* --boot-fails: bootloader left, the application did not start */
} legacy_stats_t;

typedef struct {
    uint8_t reply[16];
    size_t reply_len;
    uint64_t busy_us;   /* the receive callback ran this long: later packets wait */
    bool jump_to_app;   /* RESET: the bootloader leaves */
    bool unplug;        /* fault: the device vanishes now */
} lbl_result_t;

typedef struct {
    const legacy_model_t *m;
    int version;                 /* 1, 2, 3 */
    char tag[24];
    bool verbose;
    legacy_timing_t timing;
    lfault_t *faults;
    size_t nfaults;

    legacy_flash_t *flash, *qspi;
    lqspi_chip_t qchip;          /* the QSPI chip's busy state (qchip.mem == qspi) */

    /* bootloader RAM state: reset on every boot */
    bool connected, halted;
    uint32_t ptr;
    uint8_t buf[LBL_PACKET];
    size_t idx;
    uint32_t qptr;
    uint8_t qbuf[LBL_QSPI_PAGE];
    size_t qidx;
    uint8_t rx[LBL_PACKET];      /* the USB RX buffer: bytes of earlier packets stay */
    unsigned layouts_seen;       /* FLASH_LAYOUTs since omvemu started (not reset at boot) */

    /* what the host did to the memories (for --dump) */
    bool fw_written, fs_touched, qspi_touched, bootloader_damaged;
    uint32_t fw_end, qspi_end;
    char *erase_log;             /* g_malloc'd text, one line per erase */
    char damage[256];

    legacy_stats_t *stats;       /* owned by the caller (shared with app/tty counters) */
} legacy_bl_t;

legacy_bl_t *legacy_bl_new(const legacy_model_t *m, int version, const char *tag,
                           const legacy_timing_t *timing, lfault_t *faults, size_t nfaults,
                           legacy_stats_t *stats, bool verbose);
void legacy_bl_free(legacy_bl_t *b);

/* The bootloader (re)starts: RAM state cleared, QSPI pointer back to 0. */
void legacy_bl_boot(legacy_bl_t *b);

/* One USB OUT packet (len 0 = zero-length packet), taken by the receive
 * callback at now_us (monotonic; the QSPI chip's busy time runs on it). */
lbl_result_t legacy_bl_packet(legacy_bl_t *b, const uint8_t *pkt, size_t len, uint64_t now_us);

/* Sector geometry: false if the sector number does not exist on this MCU. */
bool legacy_sector_geometry(const legacy_model_t *m, uint32_t sector, uint32_t *addr,
                            uint32_t *size);

/* FIRMWARE.bin, FILESYSTEM.bin, QSPI.bin (V3), erase.log, BOOTLOADER_DAMAGED.
 * An erase still running completes first (the chip finishes it on its own). */
bool legacy_bl_dump(legacy_bl_t *b, const char *dir, char *err, size_t errlen);

void legacy_log(const char *tag, bool verbose, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
