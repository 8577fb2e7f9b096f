/* Protocol v2 of the running application (FW v5.0.0 protocol/omv_protocol.c,
 * docs/protocols.md §1.5), as far as a flasher needs it: SYNC, VERSION,
 * SYS_INFO, SYS_RESET, SYS_BOOT; anything else is NAKed.
 *
 * Replies go out as omv_protocol_send_packet() sends them with the default
 * configuration (CRC, sequence numbers and ACKs on): flag ACK_REQ, the
 * device's sequence number, which then advances; the device then waits for
 * the host's ACK of that opcode and sequence before it looks at anything
 * else (a SYNC found meanwhile still resets it; a NAK makes it send the
 * reply again with flag RTX). Not modelled: the device's own retransmission
 * after 500 ms without an ACK (it doubles the wait, gives up after 3 tries
 * and resets its protocol state). */
#include "app_camera.h"

#include <stdio.h>
#include <string.h>

#include "legacy_camera.h" /* legacy_log */

#define LOG(a, ...) legacy_log((a)->tag, (a)->verbose, __VA_ARGS__)

enum { F_ACK = 0x01, F_NAK = 0x02, F_RTX = 0x04, F_ACK_REQ = 0x08 };
enum { OP_SYNC = 0x00, OP_VERSION = 0x04, OP_SYS_RESET = 0x10, OP_SYS_BOOT = 0x11,
       OP_SYS_INFO = 0x12 };
#define HDR 10
#define MAX_PAYLOAD 4096

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void header_crc(uint8_t *h)
{
    put16(h + 8, omv_crc16(h, 8));
}

/* One packet at @p out: header, then payload and its CRC32 when plen > 0. */
static size_t build(uint8_t *out, uint8_t seq, uint8_t chan, uint8_t flags, uint8_t op,
                    const uint8_t *payload, uint16_t plen)
{
    out[0] = 0xAA;
    out[1] = 0xD5;
    out[2] = seq;
    out[3] = chan;
    out[4] = flags;
    out[5] = op;
    put16(out + 6, plen);
    header_crc(out);
    if (!plen)
        return HDR;
    memcpy(out + HDR, payload, plen);
    put32(out + HDR + plen, omv_crc32(payload, plen));
    return HDR + plen + 4;
}

static void emit(app_result_t *r, const uint8_t *p, size_t n)
{
    if (r->reply_len + n <= sizeof(r->reply)) {
        memcpy(r->reply + r->reply_len, p, n);
        r->reply_len += n;
    }
}

/* A reply that asks for the host's ACK (send_packet with flags 0). */
static void reply(app_cam_t *a, app_result_t *r, uint8_t chan, uint8_t op, const uint8_t *payload,
                  uint16_t plen)
{
    a->last_len = build(a->last, a->seq, chan, F_ACK_REQ, op, payload, plen);
    emit(r, a->last, a->last_len);
    a->await_ack = true;
    a->ack_op = op;
    a->ack_seq = a->seq;
    a->seq++;
}

/* PROTO_VERSION: omv_protocol_version_t, 16 bytes (protocol 1.0.2 at v5.0.0). */
static void version_reply(app_cam_t *a, app_result_t *r, uint8_t chan)
{
    uint8_t v[16] = {1, 0, 2};
    memcpy(v + 3, a->bl_version, 3);
    for (int i = 0; i < 3; i++)
        v[6 + i] = (uint8_t)a->fw_version[i];
    a->stats.v2_version++;
    reply(a, r, chan, OP_VERSION, v, sizeof(v));
    LOG(a, "app v2: VERSION -> protocol 1.0.2, bootloader %u.%u.%u, firmware %u.%u.%u",
        v[3], v[4], v[5], v[6], v[7], v[8]);
}

/* SYS_INFO: omv_protocol_sys_info_t, 76 bytes. No sensor, no capabilities, no
 * memory sizes are modelled (zeros; the firmware itself reports 0 KB flash/RAM). */
static void sys_info_reply(app_cam_t *a, app_result_t *r, uint8_t chan)
{
    uint8_t s[76] = {0};
    put32(s, a->cpu_id);
    for (int i = 0; i < 3; i++)
        put32(s + 4 + 4 * i, a->dev_id[i]);
    put32(s + 16, a->usb_id);
    a->stats.v2_sys_info++;
    reply(a, r, chan, OP_SYS_INFO, s, sizeof(s));
    LOG(a, "app v2: SYS_INFO -> usb_id %04X:%04X cpu_id 0x%08X", a->usb_id >> 16,
        a->usb_id & 0xFFFF, a->cpu_id);
}

/* A valid header (sync word, CRC16) of a complete packet at @p h, or 0. */
static size_t packet_at(const uint8_t *h, size_t avail)
{
    if (avail < HDR || h[0] != 0xAA || h[1] != 0xD5 || omv_crc16(h, 8) != (uint16_t)(h[8] | h[9] << 8))
        return 0;
    size_t plen = (size_t)(h[6] | h[7] << 8);
    if (plen > MAX_PAYLOAD)
        return 0;
    size_t total = HDR + (plen ? plen + 4 : 0);
    return total <= avail ? total : 0;
}

static void drop_bytes(app_cam_t *a, size_t at, size_t n)
{
    memmove(a->acc + at, a->acc + at + n, a->acc_len - at - n);
    a->acc_len -= n;
}

static bool is_sync(const uint8_t *h, size_t total)
{
    return h[5] == OP_SYNC && h[3] == 0 && total == HDR && !(h[4] & (F_ACK | F_NAK));
}

/* Waiting for the ACK of our last reply: look for it (or a SYNC) anywhere in
 * what arrived; the bytes before it stay for later, as in the firmware's
 * buffer. Returns false while it has not come. */
static bool wait_ack(app_cam_t *a, app_result_t *r, size_t *pos)
{
    size_t at = *pos;
    while (at + HDR <= a->acc_len) {
        const uint8_t *h = a->acc + at;
        size_t total = packet_at(h, a->acc_len - at);
        if (total && is_sync(h, total)) {
            a->await_ack = false; /* the SYNC is then processed like any other */
            *pos = at;
            return true;
        }
        if (!total || !(h[4] & (F_ACK | F_NAK)) || h[5] != a->ack_op || h[2] != a->ack_seq) {
            at++;
            continue;
        }
        bool acked = h[4] & F_ACK;
        drop_bytes(a, at, total);
        if (acked) {
            a->await_ack = false;
            a->stats.v2_acks++;
            LOG(a, "app v2: host ACKed opcode 0x%02X", a->ack_op);
            return true;
        }
        a->last[4] |= F_RTX;
        header_crc(a->last);
        emit(r, a->last, a->last_len);
        LOG(a, "app v2: host NAKed opcode 0x%02X: sent again (RTX)", a->ack_op);
    }
    return false;
}

/* One complete packet with a valid header CRC at @p h; may set r->action. */
static void handle(app_cam_t *a, app_result_t *r, const uint8_t *h)
{
    uint8_t seq = h[2], chan = h[3], flags = h[4], op = h[5];
    size_t plen = (size_t)(h[6] | h[7] << 8);
    a->stats.v2_packets++;
    if (plen) {
        const uint8_t *pc = h + HDR + plen;
        uint32_t c32 = (uint32_t)pc[0] | (uint32_t)pc[1] << 8 | (uint32_t)pc[2] << 16 |
                       (uint32_t)pc[3] << 24;
        if (omv_crc32(h + HDR, plen) != c32) {
            a->stats.v2_bad_crc++;
            LOG(a, "app v2: payload CRC32 mismatch (opcode 0x%02X) dropped", op);
            return;
        }
    }
    if (op == OP_SYNC && chan == 0 && !(flags & (F_ACK | F_NAK))) { /* reset, ACK, sequence 0 */
        a->stats.v2_syncs++;
        a->await_ack = false;
        a->seq = 0;
        uint8_t ack[HDR];
        emit(r, ack, build(ack, a->seq, chan, F_ACK, OP_SYNC, NULL, 0));
        a->seq = 0;
        LOG(a, "app v2: SYNC -> ACK");
        return;
    }
    if (flags & (F_ACK | F_NAK))
        return; /* an ACK nobody waits for: ignored, as the firmware does */
    if (seq != a->seq) {
        a->stats.v2_bad_seq++;
        LOG(a, "app v2: opcode 0x%02X with sequence %u, expected %u: dropped", op, seq, a->seq);
        return;
    }
    if (chan == 0 && (op == OP_SYS_RESET || op == OP_SYS_BOOT)) {
        if (op == OP_SYS_BOOT)
            a->stats.v2_boots++;
        else
            a->stats.v2_resets++;
        r->action = op == OP_SYS_BOOT ? APP_RESET_TO_BL : APP_RESET;
        LOG(a, "app v2: %s", op == OP_SYS_BOOT ? "SYS_BOOT (0x11)" : "SYS_RESET (0x10)");
    } else if (chan == 0 && op == OP_VERSION) {
        version_reply(a, r, chan);
    } else if (chan == 0 && op == OP_SYS_INFO) {
        sys_info_reply(a, r, chan);
    } else { /* outside this model: NAK it */
        a->stats.v2_naks++;
        uint8_t nak[HDR];
        emit(r, nak, build(nak, a->seq, chan, F_NAK, op, NULL, 0));
        a->seq++;
        LOG(a, "app v2: opcode 0x%02X not modelled -> NAK", op);
    }
}

app_result_t app_v2_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr)
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
        if (a->await_ack && !wait_ack(a, &r, &pos))
            break;
        while (pos + 1 < a->acc_len && !(a->acc[pos] == 0xAA && a->acc[pos + 1] == 0xD5))
            pos++;
        if (pos + HDR > a->acc_len)
            break;
        const uint8_t *h = a->acc + pos;
        if (omv_crc16(h, 8) != (uint16_t)(h[8] | h[9] << 8)) {
            a->stats.v2_bad_crc++;
            LOG(a, "app v2: header CRC16 mismatch, resyncing");
            pos++;
            continue;
        }
        size_t plen = (size_t)(h[6] | h[7] << 8);
        if (plen > MAX_PAYLOAD) {
            pos++;
            continue;
        }
        size_t total = HDR + (plen ? plen + 4 : 0);
        if (pos + total > a->acc_len)
            break;
        pos += total;
        handle(a, &r, h);
    }
    memmove(a->acc, a->acc + pos, a->acc_len - pos);
    a->acc_len -= pos;
    return r;
}
