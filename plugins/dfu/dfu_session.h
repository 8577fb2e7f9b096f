/*
 * Internal interfaces of the dfu plugin: options, the session object, and the
 * functions each source file provides to the ops table in dfu_plugin.c.
 */
#ifndef OMV_DFU_SESSION_H
#define OMV_DFU_SESSION_H

#include <libusb.h>
#include <stdint.h>

#include "dfu_status.h"
#include "omvflash/plugin.h"

/** The [dfu] board-file options, parsed. */
struct dfu_options {
    uint32_t transfer_size;      /**< bytes per DNLOAD/UPLOAD block */
    uint32_t control_timeout_ms; /**< ordinary requests */
    uint32_t status_timeout_ms;  /**< GETSTATUS that completes a block */
    uint32_t poll_ms;            /**< re-enumeration interval in open() */
    uint32_t detach_timeout_ms;  /**< DETACH wValue; 0 = device's wDetachTimeOut */
    char bootloader_partition[64];
};

/** One open DFU device. Owns its libusb context; nothing is process-wide. */
struct dfu_session {
    const struct omv_host *host;
    libusb_context *ctx;
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
omv_status dfu_options_load(const struct omv_host *host, struct dfu_options *opt, omv_error *err);
omv_status dfu_check_host(const struct omv_host *host, omv_error *err);

/* dfu_session.c: the session-level ops. */
omv_status dfu_op_list(const struct omv_host *host, const struct omv_match *match, omv_device_found_fn found,
                       void *user, omv_error *err);
omv_status dfu_op_open(const struct omv_host *host, const struct omv_match *match, uint32_t wait_ms,
                       void **session, struct omv_device_info *info, omv_error *err);
omv_status dfu_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err);
omv_status dfu_op_finish(void *session, int reset, omv_error *err);
void dfu_op_close(void *session);

/**
 * Bring the device's state machine to dfuIDLE (GETSTATUS; CLRSTATUS on
 * dfuERROR; ABORT on the other idle/sync states).
 */
omv_status dfu_session_to_idle(struct dfu_session *s, omv_error *err);

/** Select alt setting @p alt ("SET_INTERFACE"), mapping failures to omv errors. */
omv_status dfu_session_set_alt(struct dfu_session *s, unsigned alt, const char *name, omv_error *err);

/**
 * Map a libusb failure of step @p what to an omv error: NO_DEVICE/IO →
 * OMV_E_IO "…: device disconnected", TIMEOUT → OMV_E_TIMEOUT, ACCESS →
 * OMV_E_ACCESS, anything else → OMV_E_IO with the libusb name.
 */
omv_status dfu_usb_fail(omv_error *err, int r, unsigned timeout_ms, const char *what);

/** dfu_usb_fail() that also records a disconnection in @p s. */
omv_status dfu_session_fail(struct dfu_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what);

/* dfu_hotplug.c: the optional hot-plug op. */
omv_status dfu_op_hotplug(const struct omv_host *host, const struct omv_match *match, struct omv_hotplug *watch,
                          omv_error *err);

/* dfu_transfer.c: the data ops. */
omv_status dfu_op_write(void *session, const struct omv_target *target, const struct omv_source *src,
                        omv_error *err);
omv_status dfu_op_read(void *session, const struct omv_target *target, uint64_t length,
                       const struct omv_sink *sink, omv_error *err);

#endif /* OMV_DFU_SESSION_H */
