/*
 * OpenMV application-mode protocols: CRCs and packets (see entry_proto.h).
 */
#include "entry_proto.h"

#include <stdio.h>
#include <string.h>

uint16_t omv_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0xF94F) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint32_t omv_crc32(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)data[i] << 24;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x80000000u) ? (crc << 1) ^ 0xFA567D89u : crc << 1;
    }
    return crc;
}

size_t omv_v1_encode(uint8_t *out, uint8_t opcode)
{
    out[0] = 0x30;
    out[1] = opcode;
    out[2] = out[3] = out[4] = out[5] = 0;
    return OMV_V1_CMD_LEN;
}

size_t omv_v1_encode_len(uint8_t *out, uint8_t opcode, uint32_t length)
{
    omv_v1_encode(out, opcode);
    for (int i = 0; i < 4; i++)
        out[2 + i] = (uint8_t)(length >> (8 * i));
    return OMV_V1_CMD_LEN;
}

int omv_v1_parse_arch(const uint8_t *reply, size_t len, char *arch, size_t arch_len, char *uid, size_t uid_len)
{
    char text[OMV_V1_ARCH_STR_LEN + 1];
    size_t n = 0;
    while (n < len && n < OMV_V1_ARCH_STR_LEN && reply[n] >= 0x20 && reply[n] < 0x7F) {
        text[n] = (char)reply[n];
        n++;
    }
    text[n] = '\0';
    arch[0] = uid[0] = '\0';
    if (!n)
        return -1;
    char *open = strstr(text, " [");
    if (open) {
        char *colon = strchr(open, ':');
        char *close = colon ? strchr(colon, ']') : NULL;
        if (close)
            snprintf(uid, uid_len, "%.*s", (int)(close - colon - 1), colon + 1);
        *open = '\0';
    }
    snprintf(arch, arch_len, "%s", text);
    return 0;
}

size_t omv_v2_encode(uint8_t *out, uint8_t seq, uint8_t channel, uint8_t flags, uint8_t opcode, const uint8_t *payload,
                     uint16_t len)
{
    out[0] = (uint8_t)(OMV_V2_SYNC_WORD & 0xFF);
    out[1] = (uint8_t)(OMV_V2_SYNC_WORD >> 8);
    out[2] = seq;
    out[3] = channel;
    out[4] = flags;
    out[5] = opcode;
    out[6] = (uint8_t)len;
    out[7] = (uint8_t)(len >> 8);
    uint16_t c16 = omv_crc16(out, 8);
    out[8] = (uint8_t)c16;
    out[9] = (uint8_t)(c16 >> 8);
    if (!len)
        return OMV_V2_HEADER_LEN;
    memcpy(out + OMV_V2_HEADER_LEN, payload, len);
    uint32_t c32 = omv_crc32(payload, len);
    uint8_t *p = out + OMV_V2_HEADER_LEN + len;
    p[0] = (uint8_t)c32;
    p[1] = (uint8_t)(c32 >> 8);
    p[2] = (uint8_t)(c32 >> 16);
    p[3] = (uint8_t)(c32 >> 24);
    return OMV_V2_HEADER_LEN + len + 4u;
}

long omv_v2_find_header(const uint8_t *buf, size_t len, struct omv_v2_header *out)
{
    for (size_t i = 0; i + OMV_V2_HEADER_LEN <= len; i++) {
        const uint8_t *h = buf + i;
        if (h[0] != (OMV_V2_SYNC_WORD & 0xFF) || h[1] != (OMV_V2_SYNC_WORD >> 8))
            continue;
        uint16_t crc = (uint16_t)(h[8] | h[9] << 8);
        if (omv_crc16(h, 8) != crc)
            continue;
        out->seq = h[2];
        out->channel = h[3];
        out->flags = h[4];
        out->opcode = h[5];
        out->length = (uint16_t)(h[6] | h[7] << 8);
        return (long)i;
    }
    return -1;
}

int omv_v2_is_sync_ack(const uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        struct omv_v2_header h;
        long at = omv_v2_find_header(buf + off, len - off, &h);
        if (at < 0)
            return 0;
        if (h.opcode == OMV_V2_OP_SYNC && (h.flags & OMV_V2_FLAG_ACK) && !(h.flags & OMV_V2_FLAG_NAK))
            return 1;
        off += (size_t)at + 1;
    }
    return 0;
}

long omv_v2_find_packet(const uint8_t *buf, size_t len, uint8_t opcode, struct omv_v2_header *out, size_t *total)
{
    size_t off = 0;
    while (off < len) {
        long at = omv_v2_find_header(buf + off, len - off, out);
        if (at < 0)
            return -1;
        size_t start = off + (size_t)at;
        size_t n = OMV_V2_HEADER_LEN + (out->length ? out->length + 4u : 0u);
        if (out->opcode == opcode && start + n <= len) {
            const uint8_t *p = buf + start + OMV_V2_HEADER_LEN;
            uint32_t c32 = out->length ? (uint32_t)p[out->length] | (uint32_t)p[out->length + 1] << 8 |
                                             (uint32_t)p[out->length + 2] << 16 | (uint32_t)p[out->length + 3] << 24
                                       : 0;
            if (!out->length || omv_crc32(p, out->length) == c32) {
                *total = n;
                return (long)start;
            }
        }
        off = start + 1;
    }
    return -1;
}
