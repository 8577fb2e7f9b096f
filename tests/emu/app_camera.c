#include "app_camera.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "legacy_camera.h" /* legacy_log */

#define LOG(a, ...) legacy_log((a)->tag, (a)->verbose, __VA_ARGS__)

uint16_t omv_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0xF94F) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint32_t omv_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x80000000u) ? (crc << 1) ^ 0xFA567D89u : crc << 1;
    }
    return crc;
}

void app_cam_init(app_cam_t *a, int proto, const char *tag, const char *arch_prefix,
                  const char *uid, bool verbose)
{
    memset(a, 0, sizeof(*a));
    a->proto = proto;
    snprintf(a->tag, sizeof(a->tag), "%s", tag);
    a->verbose = verbose;
    /* G1 (legacy) cameras ran <= v4.5.9; the exact version does not matter here. */
    a->fw_version[0] = 4;
    a->fw_version[1] = 5;
    a->fw_version[2] = 9;
    /* "OMV4 H7 1024 [H7:<uid>]": the tag in brackets is the prefix's second word. */
    char mcu[16] = "?";
    const char *sp = strchr(arch_prefix, ' ');
    if (sp) {
        size_t n = strcspn(sp + 1, " ");
        snprintf(mcu, sizeof(mcu), "%.*s", (int)(n < sizeof(mcu) - 1 ? n : sizeof(mcu) - 1), sp + 1);
    }
    snprintf(a->arch, sizeof(a->arch), "%.24s [%s:%.24s]", arch_prefix, mcu, uid);
    app_cam_boot(a);
}

void app_cam_boot(app_cam_t *a)
{
    a->skip = 0;
    a->acc_len = 0;
    a->seq = 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- v1: header at the start of an OUT packet ------------------------------ */

static app_result_t v1_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud)
{
    app_result_t r = {0};
    if (a->skip) {
        size_t n = len < a->skip ? len : a->skip;
        a->skip -= (uint32_t)n;
        return r;
    }
    if (len < 6 || pkt[0] != 0x30)
        return r; /* REPL input / not a debug command */
    uint8_t op = pkt[1];
    uint32_t xlen = (uint32_t)pkt[2] | (uint32_t)pkt[3] << 8 | (uint32_t)pkt[4] << 16 |
                    (uint32_t)pkt[5] << 24;
    if (baud != APP_BAUD_SLOW && baud != APP_BAUD_FAST) {
        a->stats.v1_ignored_repl++;
        LOG(a, "app v1: 30 %02X ignored: the port is at %u baud, so it is the REPL (debug "
               "protocol needs 921600 or 12000000)", op, baud);
        return r;
    }
    a->stats.v1_commands++;
    switch (op) {
    case 0x0C:
    case 0x0E:
        a->stats.v1_resets++;
        r.action = op == 0x0C ? APP_RESET : APP_RESET_TO_BL;
        LOG(a, "app v1: %s", op == 0x0C ? "SYS_RESET (0x0C)" : "SYS_RESET_TO_BL (0x0E)");
        break;
    case 0x80:
        for (int i = 0; i < 3; i++)
            put32(r.reply + 4 * i, a->fw_version[i]);
        r.reply_len = 12;
        LOG(a, "app v1: FW_VERSION -> %u.%u.%u", a->fw_version[0], a->fw_version[1],
            a->fw_version[2]);
        break;
    case 0x83:
        memset(r.reply, 0, 64);
        memcpy(r.reply, a->arch, strlen(a->arch));
        r.reply_len = 64;
        LOG(a, "app v1: ARCH_STR -> \"%s\"", a->arch);
        break;
    default:
        if (op & 0x80) {
            /* Other device->host commands: answer zeros of the asked length so a
             * host is not left waiting (the real firmware has real data). */
            r.reply_len = xlen < sizeof(r.reply) ? xlen : sizeof(r.reply);
            LOG(a, "app v1: opcode 0x%02X -> %zu zero bytes", op, r.reply_len);
        } else {
            /* Host->device data phase follows the header. */
            size_t inl = len - 6;
            a->skip = xlen > inl ? xlen - (uint32_t)inl : 0;
            LOG(a, "app v1: opcode 0x%02X (%u data bytes) ignored", op, xlen);
        }
        break;
    }
    return r;
}

/* ---- v2: packets in a byte stream ------------------------------------------ */

static size_t v2_build(uint8_t *out, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op)
{
    out[0] = 0xAA;
    out[1] = 0xD5;
    out[2] = seq;
    out[3] = chan;
    out[4] = flags;
    out[5] = op;
    out[6] = 0;
    out[7] = 0;
    uint16_t c = omv_crc16(out, 8);
    out[8] = (uint8_t)c;
    out[9] = (uint8_t)(c >> 8);
    return 10;
}

/* One complete, CRC-checked v2 packet: SYNC, the two resets on channel 0,
 * or a NAK for anything else; a packet out of sequence is dropped. */
static void v2_handle(app_cam_t *a, app_result_t *r, uint8_t seq, uint8_t chan, uint8_t op)
{
    if (op == 0x00) { /* PROTO_SYNC: reset state, ACK, sequence back to 0 */
        a->stats.v2_syncs++;
        a->seq = 0;
        r->reply_len += v2_build(r->reply + r->reply_len, a->seq, chan, 0x01, 0x00);
        LOG(a, "app v2: SYNC -> ACK");
        return;
    }
    if (seq != a->seq) {
        a->stats.v2_bad_seq++;
        LOG(a, "app v2: opcode 0x%02X with sequence %u, expected %u: dropped", op, seq, a->seq);
        return;
    }
    if (chan == 0 && (op == 0x10 || op == 0x11)) {
        if (op == 0x11)
            a->stats.v2_boots++;
        else
            a->stats.v2_resets++;
        r->action = op == 0x11 ? APP_RESET_TO_BL : APP_RESET;
        LOG(a, "app v2: %s", op == 0x11 ? "SYS_BOOT (0x11)" : "SYS_RESET (0x10)");
        return;
    }
    /* Anything else is outside this model: NAK it. */
    a->stats.v2_naks++;
    if (r->reply_len + 10 <= sizeof(r->reply))
        r->reply_len += v2_build(r->reply + r->reply_len, a->seq, chan, 0x02, op);
    a->seq++;
    LOG(a, "app v2: opcode 0x%02X not modelled -> NAK", op);
}

static app_result_t v2_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud,
                              bool dtr)
{
    app_result_t r = {0};
    if (baud != APP_BAUD_SLOW || !dtr) {
        if (len) {
            a->stats.v2_ignored_repl++;
            LOG(a, "app v2: %zu bytes ignored: protocol v2 needs 921600 baud and DTR (port at "
                   "%u baud, DTR %s): REPL", len, baud, dtr ? "on" : "off");
        }
        a->acc_len = 0;
        return r;
    }
    if (a->acc_len + len > sizeof(a->acc))
        a->acc_len = 0; /* garbage: start over */
    if (len)
        memcpy(a->acc + a->acc_len, pkt, len);
    a->acc_len += len;

    size_t pos = 0;
    while (r.action == APP_NONE) {
        while (pos + 1 < a->acc_len && !(a->acc[pos] == 0xAA && a->acc[pos + 1] == 0xD5))
            pos++;
        if (pos + 10 > a->acc_len)
            break;
        const uint8_t *h = a->acc + pos;
        uint16_t crc = (uint16_t)(h[8] | h[9] << 8);
        if (omv_crc16(h, 8) != crc) {
            a->stats.v2_bad_crc++;
            LOG(a, "app v2: header CRC16 mismatch, resyncing");
            pos++;
            continue;
        }
        size_t plen = (size_t)(h[6] | h[7] << 8);
        size_t total = 10 + (plen ? plen + 4 : 0);
        if (plen > 4096) {
            pos++;
            continue;
        }
        if (pos + total > a->acc_len)
            break;
        uint8_t seq = h[2], chan = h[3], op = h[5];
        bool ok = true;
        if (plen) {
            const uint8_t *pc = h + 10 + plen;
            uint32_t c32 = (uint32_t)pc[0] | (uint32_t)pc[1] << 8 | (uint32_t)pc[2] << 16 |
                           (uint32_t)pc[3] << 24;
            ok = omv_crc32(h + 10, plen) == c32;
        }
        pos += total;
        a->stats.v2_packets++;
        if (!ok) {
            a->stats.v2_bad_crc++;
            LOG(a, "app v2: payload CRC32 mismatch (opcode 0x%02X) dropped", op);
            continue;
        }
        v2_handle(a, &r, seq, chan, op);
    }
    memmove(a->acc, a->acc + pos, a->acc_len - pos);
    a->acc_len -= pos;
    return r;
}

app_result_t app_cam_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr)
{
    return a->proto == 2 ? v2_packet(a, pkt, len, baud, dtr) : v1_packet(a, pkt, len, baud);
}
