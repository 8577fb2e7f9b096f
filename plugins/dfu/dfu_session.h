/*
 * Internal interfaces of the dfu plugin: options, the plugin context, the
 * session object, and the functions each source file provides to the ops
 * table in dfu_plugin.c.
 */
#ifndef OMV_DFU_SESSION_H
#define OMV_DFU_SESSION_H

#include <libusb.h>
#include <stdint.h>

#include "dfu_status.h"
#include "omvflash/plugin.h"

/** The [dfu] board-file options (the core checked their ranges). */
struct dfu_options {
    uint32_t transfer_size;      /**< bytes per DNLOAD/UPLOAD block */
    uint32_t control_timeout_ms; /**< ordinary requests */
    uint32_t status_timeout_ms;  /**< GETSTATUS that completes a block */
    uint32_t detach_timeout_ms;  /**< DETACH wValue; 0 = device's wDetachTimeOut */
    char bootloader_partition[64];
};

/**
 * The plugin context (init() .. exit()): one libusb context for every list,
 * open and hot-plug watch of this load of the plugin, so waiting for a
 * bootloader costs no context (and no udev monitor) per poll. libusb
 * contexts are thread-safe; nothing else here changes after init().
 */
struct dfu_plugin {
    libusb_context *usb;
    struct dfu_options opt;
};

/** One open DFU device. */
struct dfu_session {
    const struct omv_host *host;
    struct dfu_plugin *pl;
    libusb_device_handle *h;
    uint8_t iface;
    int claimed;
    int gone;         /**< the device has left (after DETACH or during manifestation) */
    int disconnected; /**< a request failed with LIBUSB_ERROR_NO_DEVICE or _IO */
    struct dfu_options opt;
    struct dfu_func_desc func;
    size_t n_alts;
    struct omv_dev_partition alts[DFU_MAX_ALTS];
    struct omv_device_info info;
    uint8_t *buf; /**< transfer buffer, opt.transfer_size bytes */
};

/* dfu_plugin.c */
/** Whether trying again may help after the device reported @p status (DFU bStatus). */
int dfu_status_retriable(uint8_t status);

/* dfu_open.c: discovery and opening. */
omv_status dfu_op_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);
omv_status dfu_op_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                       struct omv_device_info *info, omv_error *err);

/* dfu_session.c: the session-level ops and helpers. */
omv_status dfu_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err);
omv_status dfu_op_recover(void *session, omv_error *err);
omv_status dfu_op_finish(void *session, int reset, omv_error *err);
void dfu_op_close(void *session);
/** Free a session and everything it holds (the device released). */
void dfu_session_free(struct dfu_session *s);
/** The session's first steps once the device is claimed: alt names, transfer size, dfuIDLE, header. */
omv_status dfu_session_prepare(struct dfu_session *s, const struct dfu_layout *layout, omv_error *err);

/**
 * Bring the device's state machine to dfuIDLE (GETSTATUS; CLRSTATUS on
 * dfuERROR; ABORT on the other idle/sync states).
 */
omv_status dfu_session_to_idle(struct dfu_session *s, omv_error *err);

/** Select alt setting @p alt ("SET_INTERFACE"), mapping failures to omv errors. */
omv_status dfu_session_set_alt(struct dfu_session *s, unsigned alt, const char *name, omv_error *err);

/** The device's alt for @p target: its index, or OMV_E_MISMATCH when the device offers none. */
omv_status dfu_session_target(struct dfu_session *s, const struct omv_target *target, omv_error *err);

/**
 * Map a libusb failure of step @p what to an omv error: NO_DEVICE/IO →
 * OMV_E_IO "…: device disconnected", TIMEOUT → OMV_E_TIMEOUT, ACCESS →
 * OMV_E_ACCESS, anything else → OMV_E_IO with the libusb name.
 */
omv_status dfu_usb_fail(omv_error *err, int r, unsigned timeout_ms, const char *what);

/** dfu_usb_fail() that also records a disconnection in @p s. */
omv_status dfu_session_fail(struct dfu_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what);

/** The message for a device that exists but cannot be opened (EACCES). */
#define DFU_UDEV_HINT                                                                                        \
    "permission denied; install the omvflash udev rules (or add a rule granting your user access to "      \
    "the device) and replug the camera"

/* dfu_hotplug.c: the optional hot-plug op. */
omv_status dfu_op_hotplug(void *pctx, const struct omv_host *host, const struct omv_match *match,
                          struct omv_hotplug *watch, omv_error *err);

/* dfu_write.c: write and erase. */
omv_status dfu_op_write(void *session, const struct omv_target *target, struct omv_write *w, omv_error *err);
omv_status dfu_op_erase(void *session, const struct omv_target *target, omv_error *err);

/* dfu_read.c */
omv_status dfu_op_read(void *session, const struct omv_target *target, uint64_t offset, uint64_t length,
                       const struct omv_sink *sink, omv_error *err);
/** After a stalled request: GETSTATUS to learn why, report it (block @p block), clear the error. */
omv_status dfu_decode_stall(struct dfu_session *s, const char *req, uint32_t block, omv_error *err);
/** A failed DNLOAD/UPLOAD (not a stall) as an error naming the block. */
omv_status dfu_request_failed(struct dfu_session *s, const struct omv_target *t, const char *req, int r,
                              uint32_t block, unsigned tmo, omv_error *err);

#endif /* OMV_DFU_SESSION_H */
