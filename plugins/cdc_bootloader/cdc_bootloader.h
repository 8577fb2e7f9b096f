/*
 * cdc_bootloader transport plugin: the legacy OpenMV USB-CDC bootloader.
 * Internal header shared by cdc_plugin.c, cdc_session.c and cdc_write.c.
 */
#ifndef OMV_CDC_BOOTLOADER_H
#define OMV_CDC_BOOTLOADER_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/plugin.h>

#include "legacy_proto.h"
#include "omv_serial.h"

#define CDC_MAX_SERIALS 8

/* Device-side partition numbers reported by partitions(). The protocol has
 * none; these equal the openmv_dfu alt numbers of the same names on the
 * M4/M7/H7/H7 Plus/PT (FILESYSTEM 1, FIRMWARE 2, SPI_FLASH 3), so a board file
 * serving both bootloaders gets no "alt differs" warning. */
enum { CDC_PART_FILESYSTEM = 1, CDC_PART_FIRMWARE = 2, CDC_PART_SPI_FLASH = 3 };

/** [cdc_bootloader] options, parsed and checked. */
struct cdc_options {
    char serials[CDC_MAX_SERIALS][64];
    size_t n_serials;
    uint32_t baud;
    enum leg_mode mode;
    enum leg_mcu mcu;
    uint32_t packet_size, hs_packet_size;
    uint32_t safe_chunk, fast_chunk, fast_batch;
    uint32_t safe_write_delay_ms, safe_erase_delay_ms;
    uint32_t start_write_timeout_ms, start_read_timeout_ms, start_stall_ms;
    uint32_t reset_delay_ms, reset_leave_ms, write_timeout_ms, reply_timeout_ms;
    struct leg_range fw, fs, qspi;
    uint32_t qspi_block_size, qspi_page_size;
    uint32_t qspi_erase_delay_ms;   /* least time from a QSPI block erase to the next QSPI command */
    uint32_t qspi_erase_timeout_ms; /* the bootloader stops waiting for a block erase after this */
    int layout_check;
    int zlp_workaround;
};

/** One open legacy bootloader. */
struct cdc_session {
    const struct omv_host *host;
    struct cdc_options opt;
    struct sp_port *port;
    char port_name[128];
    struct omv_device_info info;
    int version;                 /* 1..3 */
    int high_speed;              /* serial 000000000010: 512-byte packets */
    uint32_t packet;             /* packet size in use */
    uint32_t safe_chunk, fast_chunk;
    struct leg_range fw, fs;     /* ranges in use (device layout or board) */
    int have_layout;             /* V2+: FLASH_LAYOUT answered */
    struct leg_flash_layout layout;
    int have_qspi;               /* V3 with a non-zero QSPI layout */
    struct leg_qspi_layout qspi;
    int qspi_written;            /* the QSPI write pointer moved: only a reboot rewinds it */
    uint64_t qspi_idle_ms;       /* host->now_ms() from which the QSPI chip is surely idle */
    int fw_touched;              /* a FIRMWARE write began */
    int reset_on_finish;         /* refused after START with nothing written: do not leave it parked */
};

/* cdc_plugin.c */
/* The options, and those that must agree with each other checked (E_BOARD). */
omv_status cdc_options_load(const struct omv_host *host, struct cdc_options *opt, omv_error *err);
int cdc_is_bootloader_serial(const struct cdc_options *opt, const char *serial);

/* cdc_session.c */
omv_status cdc_op_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);
omv_status cdc_op_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                       struct omv_device_info *info, omv_error *err);
omv_status cdc_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err);
omv_status cdc_op_finish(void *session, int reset, omv_error *err);
void cdc_op_close(void *session);
/* Write one command (one write() call); maps failures to E_IO/E_TIMEOUT with @p what as context. */
omv_status cdc_send(struct cdc_session *s, const uint8_t *buf, size_t len, const char *what, omv_error *err);
/* Wait for a 12-byte layout reply (a barrier); -> E_TIMEOUT / E_IO / E_DEVICE. */
omv_status cdc_wait_layout(struct cdc_session *s, uint32_t timeout_ms, const char *what, omv_error *err);
/* Re-synchronise after a failed fast write: drain, START, read the version. */
omv_status cdc_resync(struct cdc_session *s, omv_error *err);

/* cdc_plan.c */
/* The run's plan (omv_host.run_plan), or NULL (no plan, or a core without it). */
struct omv_run_plan *cdc_run_plan(const struct omv_host *host);
/* Before START: fill `cannot` of every step this bootloader cannot do;
 * E_UNSUPPORTED for a required one, E_IMAGE for a firmware too large. */
omv_status cdc_check_plan(const struct omv_host *host, const struct cdc_options *opt, omv_error *err);
/* After the layouts: a SPI_FLASH step needs a V3 bootloader with QSPI. */
omv_status cdc_check_caught(const struct cdc_session *s, omv_error *err);

/* cdc_write.c */
omv_status cdc_op_write(void *session, const struct omv_target *target, struct omv_write *w, omv_error *err);
omv_status cdc_op_erase(void *session, const struct omv_target *target, omv_error *err);

#endif /* OMV_CDC_BOOTLOADER_H */
