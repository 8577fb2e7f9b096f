/*
 * omvflash omv_entry plugin (kind OMV_PLUGIN_ENTRY): finds OpenMV cameras
 * running their application (USB CDC, the board's app_ids), tells who they
 * are (entry_identify.c) and reboots them into their bootloader over the
 * debug protocol v1 or protocol v2 (docs/protocols.md §1.3-1.5). The
 * bootloader that comes up (legacy CDC or openmv_dfu) is the transports'
 * business, not this plugin's.
 */
#include <stdio.h>
#include <string.h>

#include <libserialport.h>

#include "entry_plugin.h"
#include "entry_proto.h"

static const char *const protocols[] = {"auto", "v1", "v2", NULL};
static const char *const reset_commands[] = {"plain", "forced", NULL};

static const struct omv_option_spec entry_options[] = {
    {"protocol", OMV_OPT_STRING, "auto",
     "auto (protocol v2 SYNC, falling back to debug protocol v1 when no ACK comes), v1 or v2", 0, 0, protocols, 0},
    {"baud", OMV_OPT_UINT, "921600", "line coding that switches the firmware's CDC port into debug/protocol mode", 1,
     100000000, NULL, 0},
    {"reset_command", OMV_OPT_STRING, "plain",
     "v1: plain = SYS_RESET 0x0C (like the IDE), forced = SYS_RESET_TO_BL 0x0E (stays in openmv_dfu; older "
     "bootloaders did not leave a forced DFU mode after DETACH)", 0, 0, reset_commands, 0},
    {"sync_timeout_ms", OMV_OPT_UINT, "500", "how long auto/v2 waits for the ACK of SYNC before falling back to v1, ms",
     1, 60000, NULL, 0},
    {"delay_ms", OMV_OPT_UINT, "50", "v1: sleep before and after the reset command, ms (the IDE's 50 ms)", 0, 60000,
     NULL, 0},
    {"write_timeout_ms", OMV_OPT_UINT, "1000", "longest the port may take to accept a command, ms", 1, 60000, NULL,
     0},
    {"reply_timeout_ms", OMV_OPT_UINT, "1000", "identify: longest the firmware may take to answer a question, ms", 1,
     60000, NULL, 0},
    {"exclude_serials", OMV_OPT_STRING, "000000000011, 000000000010",
     "serial numbers that are NOT applications (the legacy bootloader shares 1209:ABD1 with G1 applications)", 0, 0,
     NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

omv_status entry_options_load(const struct omv_host *host, struct entry_options *o, omv_error *err)
{
    memset(o, 0, sizeof *o);
    const char *p = host->option_str(host, "protocol"); /* spelled as in the choices */
    o->protocol = strcmp(p, "v1") == 0 ? PROTO_V1 : strcmp(p, "v2") == 0 ? PROTO_V2 : PROTO_AUTO;
    o->forced = strcmp(host->option_str(host, "reset_command"), "forced") == 0;
    o->baud = (uint32_t)host->option_uint(host, "baud");
    o->sync_timeout_ms = (uint32_t)host->option_uint(host, "sync_timeout_ms");
    o->delay_ms = (uint32_t)host->option_uint(host, "delay_ms");
    o->write_timeout_ms = (uint32_t)host->option_uint(host, "write_timeout_ms");
    o->reply_timeout_ms = (uint32_t)host->option_uint(host, "reply_timeout_ms");
    const char *x = host->option_str(host, "exclude_serials");
    for (const char *q = x ? x : ""; *q;) {
        while (*q == ',' || *q == ' ' || *q == '\t')
            q++;
        if (!*q)
            break;
        size_t n = strcspn(q, ", \t");
        if (o->n_exclude >= ENTRY_MAX_EXCLUDE || n >= sizeof o->exclude[0])
            return omv_error_set(err, OMV_E_BOARD, "[omv_entry] exclude_serials: at most %d serials of up to %zu "
                                 "characters", ENTRY_MAX_EXCLUDE, sizeof o->exclude[0] - 1);
        memcpy(o->exclude[o->n_exclude], q, n);
        o->exclude[o->n_exclude++][n] = '\0';
        q += n;
    }
    return OMV_OK;
}

/* Cross-option check before anything runs: the serial list must fit. */
static omv_status entry_check(const struct omv_host *host, omv_error *err)
{
    struct entry_options o;
    return entry_options_load(host, &o, err);
}

static int keep_app(void *user, const struct omv_device_info *info)
{
    const struct entry_options *o = user;
    for (size_t i = 0; i < o->n_exclude; i++)
        if (strcmp(o->exclude[i], info->serial) == 0)
            return 0;
    return 1;
}

static omv_status entry_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                             omv_device_found_fn found, void *user, omv_error *err)
{
    (void)pctx;
    struct entry_options o;
    struct omv_serial_port ports[ENTRY_MAX_PORTS];
    size_t n = 0;
    omv_status st = entry_options_load(host, &o, err);
    if (st == OMV_OK)
        st = omv_serial_list(match, keep_app, &o, ports, ENTRY_MAX_PORTS, &n, err);
    for (size_t i = 0; st == OMV_OK && i < n && i < ENTRY_MAX_PORTS; i++) {
        snprintf(ports[i].info.mode, sizeof ports[i].info.mode, "app");
        found(user, &ports[i].info);
    }
    return st;
}

omv_status entry_open_one(const struct omv_host *host, const struct entry_options *o, const struct omv_match *match,
                          struct omv_serial_port ports[ENTRY_MAX_PORTS], struct entry_port *p, omv_error *err)
{
    size_t n = 0;
    memset(p, 0, sizeof *p);
    omv_status st = omv_serial_list(match, keep_app, (void *)o, ports, ENTRY_MAX_PORTS, &n, err);
    if (st != OMV_OK)
        return st;
    if (n == 0)
        return omv_error_set(err, OMV_E_NO_DEVICE, "no camera in application mode is attached");
    if (n > 1) {
        char list[1024];
        omv_serial_describe(ports, n < ENTRY_MAX_PORTS ? n : ENTRY_MAX_PORTS, list, sizeof list);
        return omv_error_set(err, OMV_E_MULTIPLE, "%zu cameras in application mode: %s; choose one with --port", n,
                             list);
    }
    p->host = host;
    p->o = o;
    p->name = ports[0].name;
    p->info = ports[0].info;
    snprintf(p->info.mode, sizeof p->info.mode, "app");
    return omv_serial_open(p->name, o->baud, &p->port, err);
}

omv_status entry_send(const struct entry_port *p, const uint8_t *buf, size_t len, const char *what, omv_error *err)
{
    char why[160];
    int r = omv_serial_write(p->port, buf, len, p->o->write_timeout_ms, why, sizeof why);
    if (r == 0)
        return OMV_OK;
    return omv_error_set(err, r == -2 ? OMV_E_TIMEOUT : OMV_E_IO, "%s on %s: %s", what, p->name, why);
}

omv_status entry_v2_sync(const struct entry_port *p, omv_error *err)
{
    const struct omv_host *host = p->host;
    uint8_t pkt[16], buf[512];
    size_t got = 0;
    omv_serial_flush_input(p->port);
    size_t n = omv_v2_encode(pkt, 0, 0, 0, OMV_V2_OP_SYNC, NULL, 0);
    omv_status st = entry_send(p, pkt, n, "protocol v2 SYNC", err);
    if (st != OMV_OK)
        return st;
    uint64_t deadline = host->now_ms(host) + p->o->sync_timeout_ms;
    for (uint64_t now = host->now_ms(host); now < deadline; now = host->now_ms(host)) {
        if (got == sizeof buf) { /* keep the tail: a header may straddle */
            memmove(buf, buf + sizeof buf - OMV_V2_HEADER_LEN, OMV_V2_HEADER_LEN);
            got = OMV_V2_HEADER_LEN;
        }
        uint64_t left = deadline - now;
        long r = omv_serial_read(p->port, buf + got, sizeof buf - got, (uint32_t)(left < 20 ? left : 20));
        if (r < 0)
            return omv_error_set(err, OMV_E_IO, "%s went away while waiting for the ACK of SYNC", p->name);
        got += (size_t)r;
        if (omv_v2_is_sync_ack(buf, got))
            return OMV_OK;
    }
    return omv_error_set(err, OMV_E_TIMEOUT, "%s: no protocol v2 ACK to SYNC within %u ms", p->name,
                         (unsigned)p->o->sync_timeout_ms);
}

/* Protocol v2: SYNC, and on its ACK SYS_BOOT (seq 0). OMV_E_TIMEOUT when no ACK came. */
static omv_status try_v2(const struct entry_port *p, omv_error *err)
{
    uint8_t pkt[16];
    omv_status st = entry_v2_sync(p, err);
    if (st != OMV_OK)
        return st;
    size_t n = omv_v2_encode(pkt, 0, 0, 0, OMV_V2_OP_SYS_BOOT, NULL, 0);
    st = entry_send(p, pkt, n, "protocol v2 SYS_BOOT", err);
    if (st == OMV_OK)
        p->host->log(p->host, OMV_LOG_INFO, "%s: protocol v2 camera: SYS_BOOT sent", p->name);
    return st;
}

static omv_status do_v1(const struct entry_port *p, omv_error *err)
{
    const struct omv_host *host = p->host;
    const struct entry_options *o = p->o;
    uint8_t cmd[OMV_V1_CMD_LEN];
    omv_v1_encode(cmd, o->forced ? OMV_V1_SYS_RESET_TO_BL : OMV_V1_SYS_RESET);
    if (o->delay_ms && host->sleep_ms(host, o->delay_ms) != OMV_OK)
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    omv_status st = entry_send(p, cmd, sizeof cmd, o->forced ? "debug SYS_RESET_TO_BL" : "debug SYS_RESET", err);
    if (st != OMV_OK)
        return st;
    if (o->delay_ms && host->sleep_ms(host, o->delay_ms) != OMV_OK)
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    host->log(host, OMV_LOG_INFO, "%s: debug protocol v1 %s (0x%02X) sent", p->name,
              o->forced ? "SYS_RESET_TO_BL" : "SYS_RESET", o->forced ? OMV_V1_SYS_RESET_TO_BL : OMV_V1_SYS_RESET);
    return OMV_OK;
}

static omv_status entry_enter(void *pctx, const struct omv_host *host, const struct omv_match *match, omv_error *err)
{
    (void)pctx;
    struct entry_options o;
    struct omv_serial_port ports[ENTRY_MAX_PORTS];
    struct entry_port p;
    omv_status st = entry_options_load(host, &o, err);
    if (st == OMV_OK)
        st = entry_open_one(host, &o, match, ports, &p, err);
    if (st != OMV_OK)
        return st;
    if (o.protocol != PROTO_V1) {
        st = try_v2(&p, err);
        if (st == OMV_OK || o.protocol == PROTO_V2 || st != OMV_E_TIMEOUT) {
            omv_serial_close(p.port);
            return st;
        }
        host->log(host, OMV_LOG_INFO, "%s: no protocol v2 answer within %u ms: using debug protocol v1", p.name,
                  (unsigned)o.sync_timeout_ms);
        omv_error_clear(err);
    }
    st = do_v1(&p, err);
    omv_serial_close(p.port);
    return st;
}

static const struct omv_entry_ops entry_ops = {
    .list = entry_list,
    .enter = entry_enter,
    .identify = entry_identify,
};

static const struct omv_plugin entry_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "omv_entry",
    .version = "0.2.0",
    .description = "identifies OpenMV cameras running their application and resets them into their bootloader "
                   "(debug protocol v1/v2)",
    .kind = OMV_PLUGIN_ENTRY,
    .options = entry_options,
    .check = entry_check,
    .entry = &entry_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &entry_plugin;
}
