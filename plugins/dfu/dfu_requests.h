/*
 * The seven DFU 1.1 class requests as thin libusb wrappers. Each returns what
 * libusb_control_transfer returns (bytes transferred, or a negative
 * LIBUSB_ERROR_*), except where noted. No retries, no sleeps.
 */
#ifndef OMV_DFU_REQUESTS_H
#define OMV_DFU_REQUESTS_H

#include <libusb.h>
#include <stdint.h>

#include "dfu_status.h"

/** Returned by dfu_req_getstatus() when the reply is not 6 bytes long. */
#define DFU_ERR_SHORT_STATUS (-1000)

/** Name of a libusb error code or DFU_ERR_SHORT_STATUS ("LIBUSB_ERROR_PIPE"). */
const char *dfu_usb_error_name(int r);

int dfu_req_detach(libusb_device_handle *h, uint8_t iface, uint16_t wtimeout, unsigned timeout_ms);
int dfu_req_dnload(libusb_device_handle *h, uint8_t iface, uint16_t block, const uint8_t *data, uint16_t len,
                   unsigned timeout_ms);
int dfu_req_upload(libusb_device_handle *h, uint8_t iface, uint16_t block, uint8_t *data, uint16_t len,
                   unsigned timeout_ms);
/** @return 0 with @p st filled, a negative LIBUSB_ERROR_*, or DFU_ERR_SHORT_STATUS. */
int dfu_req_getstatus(libusb_device_handle *h, uint8_t iface, struct dfu_status *st, unsigned timeout_ms);
int dfu_req_clrstatus(libusb_device_handle *h, uint8_t iface, unsigned timeout_ms);
/** @return 0 with @p state filled, or a negative LIBUSB_ERROR_*. */
int dfu_req_getstate(libusb_device_handle *h, uint8_t iface, uint8_t *state, unsigned timeout_ms);
int dfu_req_abort(libusb_device_handle *h, uint8_t iface, unsigned timeout_ms);

#endif /* OMV_DFU_REQUESTS_H */
