/*
 * Internal interfaces of the dfuse transport plugin: options, the plugin
 * context, the session object, and what each source file provides.
 *
 * The DFU 1.1 request layer (class requests, descriptors, device discovery)
 * is the dfu plugin's: dfu_requests.c, dfu_status.c and dfu_usb.c are built
 * into this plugin too. Everything DfuSe-specific (addresses, the special
 * commands, memory layouts, leaving) is here.
 */
#ifndef OMV_DFUSE_SESSION_H
#define OMV_DFUSE_SESSION_H

#include <libusb.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dfu_status.h"
#include "dfuse_layout.h"
#include "omvflash/plugin.h"

/* DfuSe special commands: DNLOAD wBlockNum 0, first byte (ST AN3156, UM0424). */
#define DFUSE_CMD_GET_COMMANDS 0x00
#define DFUSE_CMD_SET_ADDRESS 0x21
#define DFUSE_CMD_ERASE 0x41
#define DFUSE_CMD_READ_UNPROTECT 0x92
/* The first data block: blocks 0 and 1 are commands/reserved; data block n
 * lands at pointer + (n - 2) x wTransferSize. */
#define DFUSE_FIRST_BLOCK 2u

/** The [dfuse] board-file options (the core checked their ranges). */
struct dfuse_options {
    uint32_t transfer_size;      /**< 0 = the device's wTransferSize */
    uint32_t control_timeout_ms; /**< ordinary requests */
    uint32_t status_timeout_ms;  /**< longest one command may keep the device busy */
    uint32_t mass_erase_timeout_ms;
    uint64_t leave_address;      /**< jump target set before leaving */
    int has_leave_address;
    int mass_erase;              /**< erase all flash once before the first write (asked by the user) */
    int read_unprotect;          /**< send READ_UNPROTECT (asked by the user, confirmed) */
};

/** The plugin context: one libusb context per load of the plugin. */
struct dfuse_plugin {
    libusb_context *usb;
    struct dfuse_options opt;
    atomic_int unprotected; /**< READ_UNPROTECT was sent in this load (the chip then comes back) */
};

/** One alt setting of the device, with its memory layout when it has one. */
struct dfuse_alt {
    unsigned alt;
    char text[256];      /**< the interface string */
    int has_layout;      /**< text parsed as a DfuSe memory layout */
    dfuse_layout layout;
};

/** A board partition the device can hold: its address and alt. */
struct dfuse_part {
    char name[64];
    uint32_t address;
    unsigned alt;
    uint64_t size;
    uint32_t pad_to;     /**< pad the last chunk with 0xFF to a multiple of this (0 = no) */
};

/** One open DfuSe device. */
struct dfuse_session {
    const struct omv_host *host;
    struct dfuse_plugin *pl;
    libusb_device_handle *h;
    uint8_t iface;
    int claimed;
    int gone;          /**< the device has left (after leaving) */
    int disconnected;  /**< a request failed with LIBUSB_ERROR_NO_DEVICE or _IO */
    int cur_alt;       /**< alt setting selected now, -1 = unknown */
    int mass_erased;   /**< a mass erase ran in this session: no page erases */
    int page_erase;    /**< the command being waited for is a page erase */
    int wrote;         /**< something was written in this session */
    uint32_t first_write; /**< address of the first write (default jump target) */
    struct dfuse_options opt;
    struct dfu_func_desc func;
    uint32_t xfer;     /**< transfer size in use */
    uint8_t commands[16];  /**< what UPLOAD block 0 listed */
    size_t n_commands;
    size_t n_alts;
    struct dfuse_alt alts[DFU_MAX_ALTS];
    size_t n_parts;
    struct dfuse_part *parts;
    struct omv_device_info info;
    uint8_t *buf;      /**< transfer buffer, xfer bytes */
};

/* dfuse_open.c: discovery, opening, preparing. */
omv_status dfuse_op_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                         omv_device_found_fn found, void *user, omv_error *err);
omv_status dfuse_op_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                         struct omv_device_info *info, omv_error *err);

/* dfuse_prepare.c: what open() does once the interface is claimed. */
omv_status dfuse_session_prepare(struct dfuse_session *s, const struct dfu_layout *layout, omv_error *err);
/** Free a session and everything it holds (the device released). */
void dfuse_session_free(struct dfuse_session *s);
/** The board partition named @p name that the device holds, or NULL. */
const struct dfuse_part *dfuse_find_part(const struct dfuse_session *s, const char *name);
/** The layout of alt @p alt, or NULL when it has none. */
const dfuse_layout *dfuse_alt_layout(const struct dfuse_session *s, unsigned alt);

/* dfuse_cmd.c: requests with DfuSe semantics. */
/** Map a libusb failure of step @p what to an omv error, recording a disconnection. */
omv_status dfuse_usb_fail(struct dfuse_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what);
/** GETSTATUS; CLRSTATUS on dfuERROR; ABORT on the other states; until dfuIDLE. */
omv_status dfuse_to_idle(struct dfuse_session *s, omv_error *err);
/** SET_INTERFACE to @p alt unless it is selected already. */
omv_status dfuse_select_alt(struct dfuse_session *s, unsigned alt, omv_error *err);
/**
 * DNLOAD @p len bytes of @p data as block @p block, then GETSTATUS (sleeping
 * bwPollTimeout between polls, nothing else) until the device is back in
 * dfuDNLOAD-IDLE. @p where names the step in errors ("erase 0x08040000").
 * @p offset is the partition offset the error reports (or UINT64_MAX).
 */
omv_status dfuse_dnload_wait(struct dfuse_session *s, uint16_t block, const uint8_t *data, uint16_t len,
                             unsigned tmo, const char *where, uint64_t offset, omv_error *err);
omv_status dfuse_set_address(struct dfuse_session *s, uint32_t addr, omv_error *err);
omv_status dfuse_erase_page(struct dfuse_session *s, uint32_t addr, unsigned tmo, uint64_t offset, omv_error *err);
omv_status dfuse_mass_erase(struct dfuse_session *s, omv_error *err);
/** ABORT back to dfuIDLE (after downloads or uploads). */
omv_status dfuse_abort(struct dfuse_session *s, const char *after, omv_error *err);
/** Whether UPLOAD block 0 listed command @p cmd. */
int dfuse_has_command(const struct dfuse_session *s, uint8_t cmd);
/** Whether trying again may help after the device reported @p status. */
int dfuse_status_retriable(uint8_t status);

/* dfuse_write.c */
omv_status dfuse_op_write(void *session, const struct omv_target *target, struct omv_write *w, omv_error *err);
omv_status dfuse_op_erase(void *session, const struct omv_target *target, omv_error *err);

/* dfuse_read.c */
omv_status dfuse_op_read(void *session, const struct omv_target *target, uint64_t offset, uint64_t length,
                         const struct omv_sink *sink, omv_error *err);
/** UPLOAD @p len bytes at @p addr into @p out (SET_ADDRESS, ABORT, UPLOAD block 2.., ABORT). */
omv_status dfuse_read_at(struct dfuse_session *s, uint32_t addr, uint8_t *out, uint32_t len, omv_error *err);

/* dfuse_segments.c: .dfu files as container images. */
omv_status dfuse_op_segments(void *pctx, const struct omv_host *host, const struct omv_source *image,
                             struct omv_segment *out, size_t max, size_t *count, struct omv_usb_id *device,
                             omv_error *err);

/* dfuse_finish.c: partitions, recover, finish (leave), close. */
omv_status dfuse_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                               omv_error *err);
omv_status dfuse_op_recover(void *session, omv_error *err);
omv_status dfuse_op_finish(void *session, int reset, omv_error *err);
void dfuse_op_close(void *session);

/** The message for a device that exists but cannot be opened (EACCES). */
#define DFUSE_UDEV_HINT                                                                                      \
    "permission denied; install the omvflash udev rules (or add a rule granting your user access to "      \
    "the device) and replug the board"

#endif /* OMV_DFUSE_SESSION_H */
