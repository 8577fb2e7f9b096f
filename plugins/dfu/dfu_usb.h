/*
 * Finding DFU devices with libusb: match by VID:PID, DFU interface, port path
 * and serial; read strings; describe the DFU interface; claim it.
 */
#ifndef OMV_DFU_USB_H
#define OMV_DFU_USB_H

#include <libusb.h>
#include <stddef.h>

#include "dfu_status.h"
#include "omvflash/plugin.h"

/** Most matching devices one scan reports in detail (the total is still counted). */
#define DFU_USB_MAX_FOUND 16

/** One device that matched the ids (and the port path, when given). */
struct dfu_usb_found {
    libusb_device *dev;        /**< referenced */
    libusb_device_handle *h;   /**< open when the scan was asked to keep handles and open succeeded */
    struct omv_device_info info;
    uint8_t iface;             /**< DFU interface number */
    int open_error;            /**< libusb_open() result when it failed, else 0 */
    int unverified;            /**< a serial filter was given but the device could not be opened to check it */
};

/**
 * Enumerate @p ctx and collect the devices matching @p m into @p out
 * (at most @p max; *total counts them all). Devices are opened to read their
 * strings; with @p keep_open the handles stay open in out[i].h.
 * @return 0, or a negative LIBUSB_ERROR_* when the bus cannot be enumerated.
 */
int dfu_usb_scan(libusb_context *ctx, const struct omv_match *m, struct dfu_usb_found *out, size_t max,
                 size_t *n_out, size_t *total, int keep_open);

/** Release what dfu_usb_scan() collected (handles that are not NULL are closed). */
void dfu_usb_found_free(struct dfu_usb_found *f, size_t n);

/** Describe the DFU interface of @p dev from its cached configuration descriptor. @return 0 or LIBUSB_ERROR_*. */
int dfu_usb_layout(libusb_device *dev, struct dfu_layout *layout);

/** Read string descriptor @p idx as UTF-8 (first LANGID). @return 0 or LIBUSB_ERROR_*. */
int dfu_usb_string(libusb_device_handle *h, uint8_t idx, char *out, size_t n);

/**
 * The transport list() op of a plugin on libusb (dfu, dfuse): scan @p ctx
 * for @p match and report each device to @p found. A device that cannot be
 * opened is reported without its serial and with a warning naming
 * @p plugin (with @p udev_hint when it is a permission problem); one whose
 * identity cannot be verified is skipped with a warning.
 * @return OMV_OK; OMV_E_USAGE without ids or callback; OMV_E_IO when the bus
 *         cannot be enumerated.
 */
omv_status dfu_usb_list(libusb_context *ctx, const char *plugin, const char *udev_hint,
                        const struct omv_host *host, const struct omv_match *match, omv_device_found_fn found,
                        void *user, omv_error *err);

/** "37C5:96E3" */
void dfu_usb_format_ids(const struct omv_match *m, char *out, size_t n);

#endif /* OMV_DFU_USB_H */
