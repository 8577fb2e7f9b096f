/* DFU class requests; see dfu_requests.h. */
#include "dfu_requests.h"

#define DFU_OUT (LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE) /* 0x21 */
#define DFU_IN (LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE)   /* 0xA1 */

const char *dfu_usb_error_name(int r)
{
    if (r == DFU_ERR_SHORT_STATUS)
        return "short GETSTATUS reply";
    return libusb_error_name(r);
}

int dfu_req_detach(libusb_device_handle *h, uint8_t iface, uint16_t wtimeout, unsigned timeout_ms)
{
    return libusb_control_transfer(h, DFU_OUT, DFU_DETACH, wtimeout, iface, NULL, 0, timeout_ms);
}

int dfu_req_dnload(libusb_device_handle *h, uint8_t iface, uint16_t block, const uint8_t *data, uint16_t len,
                   unsigned timeout_ms)
{
    /* libusb takes a non-const buffer for both directions; OUT data is only read. */
    return libusb_control_transfer(h, DFU_OUT, DFU_DNLOAD, block, iface, (unsigned char *)(uintptr_t)data, len,
                                   timeout_ms);
}

int dfu_req_upload(libusb_device_handle *h, uint8_t iface, uint16_t block, uint8_t *data, uint16_t len,
                   unsigned timeout_ms)
{
    return libusb_control_transfer(h, DFU_IN, DFU_UPLOAD, block, iface, data, len, timeout_ms);
}

int dfu_req_getstatus(libusb_device_handle *h, uint8_t iface, struct dfu_status *st, unsigned timeout_ms)
{
    uint8_t buf[DFU_STATUS_LEN];
    int r = libusb_control_transfer(h, DFU_IN, DFU_GETSTATUS, 0, iface, buf, sizeof buf, timeout_ms);
    if (r < 0)
        return r;
    return dfu_parse_status(buf, (size_t)r, st) == 0 ? 0 : DFU_ERR_SHORT_STATUS;
}

int dfu_req_clrstatus(libusb_device_handle *h, uint8_t iface, unsigned timeout_ms)
{
    return libusb_control_transfer(h, DFU_OUT, DFU_CLRSTATUS, 0, iface, NULL, 0, timeout_ms);
}

int dfu_req_getstate(libusb_device_handle *h, uint8_t iface, uint8_t *state, unsigned timeout_ms)
{
    int r = libusb_control_transfer(h, DFU_IN, DFU_GETSTATE, 0, iface, state, 1, timeout_ms);
    if (r < 0)
        return r;
    return r == 1 ? 0 : LIBUSB_ERROR_IO;
}

int dfu_req_abort(libusb_device_handle *h, uint8_t iface, unsigned timeout_ms)
{
    return libusb_control_transfer(h, DFU_OUT, DFU_ABORT, 0, iface, NULL, 0, timeout_ms);
}
