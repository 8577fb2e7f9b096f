/*
 * identify(): ask a camera running its application who it is, without
 * resetting it (docs/protocols.md §1.4, §1.5, §10.5).
 *  - Protocol v2 (firmware v5.0.0 and later): SYNC, then VERSION (protocol,
 *    bootloader and firmware versions) and SYS_INFO (chip id, the USB id the
 *    firmware gives itself). Replies ask for an ACK, and the firmware answers
 *    nothing else until it came; a host command's sequence number is the
 *    firmware's counter, which each reply advances. There is no arch string:
 *    the USB id is the identity.
 *  - Debug protocol v1: FW_VERSION (12 bytes) and ARCH_STR (64 bytes, "OMV4
 *    H7 1024 [H7:<chip id>]").
 */
#include <stdio.h>
#include <string.h>

#include "entry_plugin.h"
#include "entry_proto.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read exactly @p len reply bytes within the reply timeout. */
static omv_status read_reply(const struct entry_port *p, uint8_t *buf, size_t len, const char *what, omv_error *err)
{
    long r = omv_serial_read(p->port, buf, len, p->o->reply_timeout_ms);
    if (r < 0)
        return omv_error_set(err, OMV_E_IO, "%s on %s: the port went away", what, p->name);
    if ((size_t)r < len)
        return omv_error_set(err, OMV_E_TIMEOUT, "%s on %s: %ld of %zu reply bytes within %u ms", what, p->name, r,
                             len, (unsigned)p->o->reply_timeout_ms);
    return OMV_OK;
}

/* ---- debug protocol v1 ------------------------------------------------------ */

static omv_status identify_v1(const struct entry_port *p, struct omv_app_info *out, omv_error *err)
{
    uint8_t cmd[OMV_V1_CMD_LEN], ver[OMV_V1_FW_VERSION_LEN], arch[OMV_V1_ARCH_STR_LEN];
    omv_serial_flush_input(p->port);
    omv_v1_encode_len(cmd, OMV_V1_FW_VERSION, OMV_V1_FW_VERSION_LEN);
    omv_status st = entry_send(p, cmd, sizeof cmd, "debug FW_VERSION", err);
    if (st == OMV_OK)
        st = read_reply(p, ver, sizeof ver, "debug FW_VERSION", err);
    if (st != OMV_OK)
        return st;
    omv_v1_encode_len(cmd, OMV_V1_ARCH_STR, OMV_V1_ARCH_STR_LEN);
    st = entry_send(p, cmd, sizeof cmd, "debug ARCH_STR", err);
    if (st == OMV_OK)
        st = read_reply(p, arch, sizeof arch, "debug ARCH_STR", err);
    if (st != OMV_OK)
        return st;
    if (omv_v1_parse_arch(arch, sizeof arch, out->arch, sizeof out->arch, out->unique_id, sizeof out->unique_id) != 0)
        return omv_error_set(err, OMV_E_DEVICE, "%s: ARCH_STR reply holds no text (first bytes %02X %02X %02X %02X)",
                             p->name, arch[0], arch[1], arch[2], arch[3]);
    out->protocol = 1;
    snprintf(out->firmware_version, sizeof out->firmware_version, "%u.%u.%u", (unsigned)le32(ver),
             (unsigned)le32(ver + 4), (unsigned)le32(ver + 8));
    return OMV_OK;
}

/* ---- protocol v2 ------------------------------------------------------------- */

/*
 * Send @p opcode with sequence *seq and take its reply's payload (at most
 * @p cap bytes into @p payload, *len its length), ACKing it when it asks.
 * *seq becomes the sequence the next command must carry.
 */
static omv_status v2_ask(const struct entry_port *p, uint8_t opcode, uint8_t *seq, uint8_t *payload, size_t cap,
                         size_t *len, const char *what, omv_error *err)
{
    const struct omv_host *host = p->host;
    uint8_t pkt[16], buf[1024];
    size_t got = 0, total = 0;
    struct omv_v2_header h;
    size_t n = omv_v2_encode(pkt, *seq, 0, 0, opcode, NULL, 0);
    omv_status st = entry_send(p, pkt, n, what, err);
    if (st != OMV_OK)
        return st;
    uint64_t deadline = host->now_ms(host) + p->o->reply_timeout_ms;
    long at;
    while ((at = omv_v2_find_packet(buf, got, opcode, &h, &total)) < 0) {
        uint64_t now = host->now_ms(host);
        if (now >= deadline)
            return omv_error_set(err, OMV_E_TIMEOUT, "%s on %s: no reply within %u ms", what, p->name,
                                 (unsigned)p->o->reply_timeout_ms);
        if (got == sizeof buf)
            return omv_error_set(err, OMV_E_DEVICE, "%s on %s: %zu bytes without a valid reply", what, p->name, got);
        long r = omv_serial_read(p->port, buf + got, sizeof buf - got, (uint32_t)(deadline - now < 20 ? deadline - now : 20));
        if (r < 0)
            return omv_error_set(err, OMV_E_IO, "%s on %s: the port went away", what, p->name);
        got += (size_t)r;
    }
    if (h.flags & OMV_V2_FLAG_NAK)
        return omv_error_set(err, OMV_E_DEVICE, "%s on %s: the firmware answered NAK", what, p->name);
    *len = h.length < cap ? h.length : cap;
    memcpy(payload, buf + at + OMV_V2_HEADER_LEN, *len);
    *seq = (uint8_t)(h.seq + 1);
    if (!(h.flags & OMV_V2_FLAG_ACK_REQ))
        return OMV_OK;
    n = omv_v2_encode(pkt, h.seq, h.channel, OMV_V2_FLAG_ACK, opcode, NULL, 0);
    return entry_send(p, pkt, n, what, err);
}

static omv_status identify_v2(const struct entry_port *p, struct omv_app_info *out, omv_error *err)
{
    uint8_t seq = 0, v[16], si[96];
    size_t nv = 0, ns = 0;
    omv_status st = v2_ask(p, OMV_V2_OP_VERSION, &seq, v, sizeof v, &nv, "protocol v2 VERSION", err);
    if (st != OMV_OK)
        return st;
    if (nv < 9)
        return omv_error_set(err, OMV_E_DEVICE, "%s: VERSION reply of %zu bytes (want 16)", p->name, nv);
    st = v2_ask(p, OMV_V2_OP_SYS_INFO, &seq, si, sizeof si, &ns, "protocol v2 SYS_INFO", err);
    if (st != OMV_OK)
        return st;
    if (ns < 20)
        return omv_error_set(err, OMV_E_DEVICE, "%s: SYS_INFO reply of %zu bytes (want 76)", p->name, ns);
    out->protocol = 2;
    snprintf(out->bootloader_version, sizeof out->bootloader_version, "%u.%u.%u", v[3], v[4], v[5]);
    snprintf(out->firmware_version, sizeof out->firmware_version, "%u.%u.%u", v[6], v[7], v[8]);
    snprintf(out->unique_id, sizeof out->unique_id, "%08X%08X%08X", (unsigned)le32(si + 4), (unsigned)le32(si + 8),
             (unsigned)le32(si + 12));
    uint32_t usb = le32(si + 16);
    out->usb_id.vid = (uint16_t)(usb >> 16);
    out->usb_id.pid = (uint16_t)usb;
    return OMV_OK;
}

omv_status entry_identify(void *pctx, const struct omv_host *host, const struct omv_match *match,
                          struct omv_app_info *out, omv_error *err)
{
    (void)pctx;
    struct entry_options o;
    struct omv_serial_port ports[ENTRY_MAX_PORTS];
    struct entry_port p;
    memset(out, 0, sizeof *out);
    omv_status st = entry_options_load(host, &o, err);
    if (st == OMV_OK)
        st = entry_open_one(host, &o, match, ports, &p, err);
    if (st != OMV_OK)
        return st;
    out->device = p.info;
    st = o.protocol == PROTO_V1 ? OMV_E_TIMEOUT : entry_v2_sync(&p, err);
    if (st == OMV_OK) {
        st = identify_v2(&p, out, err);
    } else if (st == OMV_E_TIMEOUT && o.protocol != PROTO_V2) {
        omv_error_clear(err);
        st = identify_v1(&p, out, err);
    }
    omv_serial_close(p.port);
    if (st == OMV_OK)
        host->log(host, OMV_LOG_DEBUG, "%s: protocol v%u firmware %s%s%s", p.name, out->protocol,
                  out->firmware_version, out->arch[0] ? ", arch " : "", out->arch);
    return st;
}
