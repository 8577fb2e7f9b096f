#include "descriptors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t put(uint8_t *out, size_t cap, const uint8_t *src, size_t n)
{
    size_t k = n < cap ? n : cap;
    memcpy(out, src, k);
    return k;
}

const char *desc_manufacturer(const camera_model_t *cam)
{
    return cam->usb ? cam->usb->manufacturer : "OpenMV";
}

const char *desc_product(const camera_model_t *cam)
{
    return cam->usb ? cam->usb->product : "OpenMV Camera (DFU Mode)";
}

uint16_t desc_bcd_device(const camera_model_t *cam)
{
    return cam->usb ? cam->usb->bcd_device : DESC_BCD_DEVICE;
}

uint16_t desc_bcd_usb(const camera_model_t *cam)
{
    return cam->usb ? cam->usb->bcd_usb : 0x0200;
}

size_t desc_device(const camera_model_t *cam, uint8_t *out, size_t cap)
{
    uint16_t usb = desc_bcd_usb(cam), dev = desc_bcd_device(cam);
    const uint8_t d[18] = {
        18, 0x01, usb & 0xFF, usb >> 8, /* bcdUSB (2.00; the F4 ROM says 1.00) */
        0x00, 0x00, 0x00, 64,          /* class 0/0/0, EP0 64 bytes */
        cam->vid & 0xFF, cam->vid >> 8, cam->pid & 0xFF, cam->pid >> 8,
        dev & 0xFF, dev >> 8,
        1, 2, 3,                       /* iManufacturer, iProduct, iSerialNumber */
        1,                             /* one configuration */
    };
    return put(out, cap, d, sizeof(d));
}

size_t desc_dfu_functional(const camera_model_t *cam, uint8_t *out, size_t cap)
{
    /* openmv_dfu: bmAttributes 0x07 (download, upload, manifestation tolerant;
     * no WillDetach), detach 1000 ms, 4096-byte transfers, DFU 1.1. */
    const usb_identity_t def = {NULL, NULL, 0, 0, 0, 0, 0x07, 1000, EMU_XFER_SIZE, 0x0101};
    const usb_identity_t *u = cam->usb ? cam->usb : &def;
    const uint8_t f[9] = {9, 0x21, u->dfu_attributes, u->detach_timeout_ms & 0xFF,
                          u->detach_timeout_ms >> 8, u->transfer_size & 0xFF,
                          u->transfer_size >> 8, u->bcd_dfu & 0xFF, u->bcd_dfu >> 8};
    return put(out, cap, f, sizeof(f));
}

size_t desc_config(const camera_model_t *cam, uint8_t *out, size_t cap)
{
    uint8_t c[9 + 9 * EMU_MAX_PARTS + 9];
    size_t total = 9 + 9 * cam->nparts + 9, n = 0;
    uint8_t attr = cam->usb ? cam->usb->config_attributes : 0x80;
    uint8_t power = cam->usb ? cam->usb->max_power_2ma : 250; /* 500 mA */
    const uint8_t head[9] = {9, 0x02, total & 0xFF, total >> 8, 1, 1, 0, attr, power};
    memcpy(c, head, 9);
    n = 9;
    /* One interface, one alt setting per partition, DFU-mode class FE/01/02;
     * alt k names itself with string 4+k. */
    for (size_t k = 0; k < cam->nparts; k++) {
        const uint8_t alt[9] = {9, 0x04, 0, (uint8_t)k, 0, 0xFE, 0x01, 0x02, (uint8_t)(4 + k)};
        memcpy(c + n, alt, 9);
        n += 9;
    }
    /* TinyUSB puts the functional descriptor after the last alt. */
    n += desc_dfu_functional(cam, c + n, 9);
    return put(out, cap, c, n);
}

size_t desc_string(const camera_model_t *cam, const char *serial, unsigned index, uint8_t *out,
                   size_t cap)
{
    uint8_t s[2 + 2 * 126];
    const char *str;
    if (index == 0) {
        const uint8_t lang[4] = {4, 0x03, 0x09, 0x04};
        return put(out, cap, lang, 4);
    }
    if (index == 1)
        str = desc_manufacturer(cam);
    else if (index == 2)
        str = desc_product(cam);
    else if (index == 3)
        str = serial;
    else if (index - 4 < cam->nparts)
        str = cam->parts[index - 4].name;
    else
        return 0;
    size_t len = strlen(str);
    if (len > 126) /* a string descriptor holds at most 126 UTF-16 units */
        len = 126;
    s[0] = (uint8_t)(2 + 2 * len);
    s[1] = 0x03;
    for (size_t i = 0; i < len; i++) {
        s[2 + 2 * i] = (uint8_t)str[i];
        s[3 + 2 * i] = 0;
    }
    return put(out, cap, s, s[0]);
}

char *desc_sysfs_hex(const camera_model_t *cam)
{
    uint8_t buf[18 + 9 + 9 * EMU_MAX_PARTS + 9];
    size_t n = desc_device(cam, buf, sizeof(buf));
    n += desc_config(cam, buf + n, sizeof(buf) - n);
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    return hex;
}
