/* Pure DFU 1.1 decoding; see dfu_status.h. */
#include "dfu_status.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *words;
} status_table[] = {
    [DFU_STATUS_OK] = {"OK", "no error"},
    [DFU_STATUS_ERR_TARGET] = {"errTARGET", "file is not for this device"},
    [DFU_STATUS_ERR_FILE] = {"errFILE", "file or read failed device verification"},
    [DFU_STATUS_ERR_WRITE] = {"errWRITE", "write/program failed"},
    [DFU_STATUS_ERR_ERASE] = {"errERASE", "memory erase failed"},
    [DFU_STATUS_ERR_CHECK_ERASED] = {"errCHECK_ERASED", "memory erase check failed"},
    [DFU_STATUS_ERR_PROG] = {"errPROG", "program memory function failed"},
    [DFU_STATUS_ERR_VERIFY] = {"errVERIFY", "programmed memory failed verification"},
    [DFU_STATUS_ERR_ADDRESS] = {"errADDRESS", "address out of range"},
    [DFU_STATUS_ERR_NOTDONE] = {"errNOTDONE", "end of download before all data was received"},
    [DFU_STATUS_ERR_FIRMWARE] = {"errFIRMWARE", "firmware is corrupt, cannot leave DFU mode"},
    [DFU_STATUS_ERR_VENDOR] = {"errVENDOR", "vendor-specific error"},
    [DFU_STATUS_ERR_USBR] = {"errUSBR", "unexpected USB reset"},
    [DFU_STATUS_ERR_POR] = {"errPOR", "unexpected power-on reset"},
    [DFU_STATUS_ERR_UNKNOWN] = {"errUNKNOWN", "unknown error"},
    [DFU_STATUS_ERR_STALLEDPKT] = {"errSTALLEDPKT", "device stalled an unexpected request"},
};

static const char *const state_table[] = {
    [DFU_STATE_APP_IDLE] = "appIDLE",
    [DFU_STATE_APP_DETACH] = "appDETACH",
    [DFU_STATE_IDLE] = "dfuIDLE",
    [DFU_STATE_DNLOAD_SYNC] = "dfuDNLOAD-SYNC",
    [DFU_STATE_DNBUSY] = "dfuDNBUSY",
    [DFU_STATE_DNLOAD_IDLE] = "dfuDNLOAD-IDLE",
    [DFU_STATE_MANIFEST_SYNC] = "dfuMANIFEST-SYNC",
    [DFU_STATE_MANIFEST] = "dfuMANIFEST",
    [DFU_STATE_MANIFEST_WAIT_RESET] = "dfuMANIFEST-WAIT-RESET",
    [DFU_STATE_UPLOAD_IDLE] = "dfuUPLOAD-IDLE",
    [DFU_STATE_ERROR] = "dfuERROR",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *dfu_status_name(uint8_t status)
{
    return status < COUNT(status_table) ? status_table[status].name : "err?";
}

const char *dfu_status_words(uint8_t status)
{
    return status < COUNT(status_table) ? status_table[status].words : "status code outside DFU 1.1";
}

const char *dfu_state_name(uint8_t state)
{
    return state < COUNT(state_table) ? state_table[state] : "dfu?";
}

void dfu_describe_status(char *out, size_t n, uint8_t status, uint8_t state)
{
    if (!out || n == 0)
        return;
    char st[32];
    if (state < COUNT(state_table))
        snprintf(st, sizeof st, "%s", state_table[state]);
    else
        snprintf(st, sizeof st, "%u (not a DFU 1.1 state)", (unsigned)state);
    snprintf(out, n, "device reported %s (0x%02X: %s), state %s", dfu_status_name(status), (unsigned)status,
             dfu_status_words(status), st);
}

int dfu_parse_status(const uint8_t *buf, size_t len, struct dfu_status *out)
{
    if (!buf || !out || len != DFU_STATUS_LEN)
        return -1;
    out->status = buf[0];
    out->poll_timeout = (uint32_t)buf[1] | ((uint32_t)buf[2] << 8) | ((uint32_t)buf[3] << 16);
    out->state = buf[4];
    out->istring = buf[5];
    return 0;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Decode one functional descriptor at @p d (d[0] = bLength >= 7). */
static void decode_func(const uint8_t *d, struct dfu_func_desc *out)
{
    memset(out, 0, sizeof *out);
    out->present = 1;
    out->attributes = d[2];
    out->detach_timeout = le16(d + 3);
    out->transfer_size = le16(d + 5);
    out->bcd_dfu = d[0] >= 9 ? le16(d + 7) : 0;
}

int dfu_find_func_desc(const uint8_t *buf, size_t len, struct dfu_func_desc *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (buf && pos + 2 <= len) {
        uint8_t blen = buf[pos];
        if (blen < 2 || pos + blen > len)
            return -1;
        if (buf[pos + 1] == DFU_FUNC_DESC_TYPE && blen >= 7) {
            decode_func(buf + pos, out);
            return 1;
        }
        pos += blen;
    }
    return pos == len || !buf ? 0 : -1;
}

int dfu_parse_config(const uint8_t *cfg, size_t len, struct dfu_layout *out)
{
    if (!cfg || !out)
        return -1;
    memset(out, 0, sizeof *out);
    if (len < 9 || cfg[0] < 9 || cfg[1] != 0x02)
        return -1;
    size_t total = le16(cfg + 2);
    if (total < len)
        len = total;
    size_t pos = 0;
    int in_dfu = 0;
    while (pos + 2 <= len) {
        uint8_t blen = cfg[pos], type = cfg[pos + 1];
        if (blen < 2 || pos + blen > len)
            return -1;
        const uint8_t *d = cfg + pos;
        if (type == 0x04) { /* interface */
            if (blen < 9)
                return -1;
            in_dfu = d[5] == DFU_INTERFACE_CLASS && d[6] == DFU_INTERFACE_SUBCLASS &&
                     (!out->found || out->iface == d[2]);
            if (in_dfu) {
                if (!out->found) {
                    out->found = 1;
                    out->iface = d[2];
                }
                if (out->n_alts < DFU_MAX_ALTS) {
                    struct dfu_alt *a = &out->alts[out->n_alts++];
                    a->alt = d[3];
                    a->protocol = d[7];
                    a->istring = d[8];
                }
            }
        } else if (type == DFU_FUNC_DESC_TYPE && in_dfu && blen >= 7 && !out->func.present) {
            decode_func(d, &out->func);
        }
        pos += blen;
    }
    return pos == len ? 0 : -1;
}

int dfu_parse_string_desc(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
    if (!buf || !out || outlen == 0 || len < 2 || buf[1] != 0x03)
        return -1;
    size_t blen = buf[0] < len ? buf[0] : len;
    size_t o = 0;
    for (size_t i = 2; i + 1 < blen; i += 2) {
        unsigned c = (unsigned)buf[i] | ((unsigned)buf[i + 1] << 8);
        char tmp[3];
        size_t n;
        if (c < 0x80) {
            tmp[0] = (char)c;
            n = 1;
        } else if (c < 0x800) {
            tmp[0] = (char)(0xC0 | (c >> 6));
            tmp[1] = (char)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            tmp[0] = '?';
            n = 1;
        } else {
            tmp[0] = (char)(0xE0 | (c >> 12));
            tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[2] = (char)(0x80 | (c & 0x3F));
            n = 3;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
    return (int)o;
}

int dfu_parse_langid(const uint8_t *buf, size_t len, uint16_t *langid)
{
    if (!buf || !langid || len < 4 || buf[0] < 4 || buf[1] != 0x03)
        return -1;
    *langid = le16(buf + 2);
    return 0;
}

int dfu_parse_boot_header(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
    if (out && outlen)
        out[0] = '\0';
    if (!buf || len < 7)
        return 0;
    uint32_t magic = (uint32_t)buf[0] | ((uint32_t)buf[1] << 8) | ((uint32_t)buf[2] << 16) |
                     ((uint32_t)buf[3] << 24);
    if (magic != DFU_BOOT_HEADER_MAGIC)
        return 0;
    if (out && outlen)
        snprintf(out, outlen, "%u.%u.%u", (unsigned)buf[4], (unsigned)buf[5], (unsigned)buf[6]);
    return 1;
}

int dfu_format_port_path(uint8_t bus, const uint8_t *ports, int n_ports, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return -1;
    int w = snprintf(out, outlen, "%u", (unsigned)bus);
    if (w < 0 || (size_t)w >= outlen)
        return -1;
    size_t o = (size_t)w;
    for (int i = 0; i < n_ports; i++) {
        w = snprintf(out + o, outlen - o, "%c%u", i == 0 ? '-' : '.', (unsigned)ports[i]);
        if (w < 0 || (size_t)w >= outlen - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}
