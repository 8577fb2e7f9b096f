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

size_t desc_device(const camera_model_t *cam, uint8_t *out, size_t cap)
{
    const uint8_t d[18] = {
        18, 0x01, 0x00, 0x02,          /* bcdUSB 2.00 */
        0x00, 0x00, 0x00, 64,          /* class 0/0/0, EP0 64 bytes */
        cam->vid & 0xFF, cam->vid >> 8, cam->pid & 0xFF, cam->pid >> 8,
        DESC_BCD_DEVICE & 0xFF, DESC_BCD_DEVICE >> 8,
        1, 2, 3,                       /* iManufacturer, iProduct, iSerialNumber */
        1,                             /* one configuration */
    };
    return put(out, cap, d, sizeof(d));
}

size_t desc_dfu_functional(uint8_t *out, size_t cap)
{
    /* bmAttributes 0x07: download, upload, manifestation tolerant; no WillDetach. */
    const uint8_t f[9] = {9, 0x21, 0x07, 1000 & 0xFF, 1000 >> 8,
                          EMU_XFER_SIZE & 0xFF, EMU_XFER_SIZE >> 8, 0x01, 0x01};
    return put(out, cap, f, sizeof(f));
}

size_t desc_config(const camera_model_t *cam, uint8_t *out, size_t cap)
{
    uint8_t c[9 + 9 * EMU_MAX_PARTS + 9];
    size_t total = 9 + 9 * cam->nparts + 9, n = 0;
    const uint8_t head[9] = {9, 0x02, total & 0xFF, total >> 8, 1, 1, 0, 0x80, 250 /* 500 mA */};
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
    n += desc_dfu_functional(c + n, 9);
    return put(out, cap, c, n);
}

size_t desc_string(const camera_model_t *cam, const char *serial, unsigned index, uint8_t *out,
                   size_t cap)
{
    uint8_t s[2 + 2 * 64];
    const char *str;
    if (index == 0) {
        const uint8_t lang[4] = {4, 0x03, 0x09, 0x04};
        return put(out, cap, lang, 4);
    }
    if (index == 1)
        str = "OpenMV";
    else if (index == 2)
        str = "OpenMV Camera (DFU Mode)";
    else if (index == 3)
        str = serial;
    else if (index - 4 < cam->nparts)
        str = cam->parts[index - 4].name;
    else
        return 0;
    size_t len = strlen(str);
    if (len > 63)
        len = 63;
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
