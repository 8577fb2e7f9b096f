/*
 * omvflash omv_entry plugin (kind OMV_PLUGIN_ENTRY): finds OpenMV cameras
 * running their application (USB CDC, the board's app_ids) and reboots them
 * into their bootloader over the debug protocol v1 or protocol v2
 * (fact sheet §1.3-1.5). The bootloader that comes up (legacy CDC or
 * openmv_dfu) is the transports' business, not this plugin's.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libserialport.h>

#include "entry_proto.h"
#include "omv_serial.h"

#define ENTRY_MAX_PORTS 16
#define ENTRY_MAX_EXCLUDE 8

static const struct omv_option_spec entry_options[] = {
    {"protocol", OMV_OPT_STRING, "auto",
     "auto (protocol v2 SYNC, falling back to debug protocol v1 when no ACK comes), v1 or v2"},
    {"baud", OMV_OPT_UINT, "921600", "line coding that switches the firmware's CDC port into debug/protocol mode"},
    {"reset_command", OMV_OPT_STRING, "plain",
     "v1: plain = SYS_RESET 0x0C (like the IDE), forced = SYS_RESET_TO_BL 0x0E (stays in openmv_dfu; older "
     "bootloaders did not leave a forced DFU mode after DETACH)"},
    {"sync_timeout_ms", OMV_OPT_UINT, "500", "how long auto/v2 waits for the ACK of SYNC before falling back to v1, ms"},
    {"delay_ms", OMV_OPT_UINT, "50", "v1: sleep before and after the reset command, ms (the IDE's 50 ms)"},
    {"write_timeout_ms", OMV_OPT_UINT, "1000", "longest the port may take to accept a command, ms"},
    {"exclude_serials", OMV_OPT_STRING, "000000000011, 000000000010",
     "serial numbers that are NOT applications (the legacy bootloader shares 1209:ABD1 with G1 applications)"},
    {NULL, 0, NULL, NULL},
};

enum entry_proto { PROTO_AUTO, PROTO_V1, PROTO_V2 };

struct entry_options {
    enum entry_proto protocol;
    uint32_t baud;
    int forced;
    uint32_t sync_timeout_ms, delay_ms, write_timeout_ms;
    char exclude[ENTRY_MAX_EXCLUDE][64];
    size_t n_exclude;
};

static omv_status check_host(const struct omv_host *host, omv_error *err)
{
    if (!host || host->abi_version != OMV_PLUGIN_ABI_VERSION || host->size < sizeof(struct omv_host))
        return omv_error_set(err, OMV_E_PLUGIN, "omv_entry: host ABI mismatch (plugin built for ABI %u)",
                             OMV_PLUGIN_ABI_VERSION);
    if (!host->log || !host->cancelled || !host->option_str || !host->option_uint || !host->now_ms ||
        !host->sleep_ms)
        return omv_error_set(err, OMV_E_PLUGIN, "omv_entry: host is missing a required service");
    return OMV_OK;
}

static omv_status get_uint(const struct omv_host *host, const char *key, uint64_t min, uint64_t max, uint32_t *out,
                           omv_error *err)
{
    uint64_t v = host->option_uint(host, key);
    if (v < min || v > max)
        return omv_error_set(err, OMV_E_BOARD, "[omv_entry] %s = %llu is out of range %llu..%llu", key,
                             (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    *out = (uint32_t)v;
    return OMV_OK;
}

static omv_status load_options(const struct omv_host *host, struct entry_options *o, omv_error *err)
{
    memset(o, 0, sizeof *o);
    const char *p = host->option_str(host, "protocol");
    if (p && strcasecmp(p, "auto") == 0)
        o->protocol = PROTO_AUTO;
    else if (p && strcasecmp(p, "v1") == 0)
        o->protocol = PROTO_V1;
    else if (p && strcasecmp(p, "v2") == 0)
        o->protocol = PROTO_V2;
    else
        return omv_error_set(err, OMV_E_BOARD, "[omv_entry] protocol = '%s': use auto, v1 or v2", p ? p : "");
    const char *r = host->option_str(host, "reset_command");
    if (r && strcasecmp(r, "plain") == 0)
        o->forced = 0;
    else if (r && strcasecmp(r, "forced") == 0)
        o->forced = 1;
    else
        return omv_error_set(err, OMV_E_BOARD, "[omv_entry] reset_command = '%s': use plain or forced", r ? r : "");
    omv_status st;
    if ((st = get_uint(host, "baud", 1, 100000000, &o->baud, err)) != OMV_OK ||
        (st = get_uint(host, "sync_timeout_ms", 1, 60000, &o->sync_timeout_ms, err)) != OMV_OK ||
        (st = get_uint(host, "delay_ms", 0, 60000, &o->delay_ms, err)) != OMV_OK ||
        (st = get_uint(host, "write_timeout_ms", 1, 60000, &o->write_timeout_ms, err)) != OMV_OK)
        return st;
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

static int keep_app(void *user, const struct omv_device_info *info)
{
    const struct entry_options *o = user;
    for (size_t i = 0; i < o->n_exclude; i++)
        if (strcmp(o->exclude[i], info->serial) == 0)
            return 0;
    return 1;
}

static omv_status find(const struct omv_host *host, const struct omv_match *match, struct entry_options *o,
                       struct omv_serial_port *ports, size_t *n, omv_error *err)
{
    omv_status st = check_host(host, err);
    if (st == OMV_OK)
        st = load_options(host, o, err);
    if (st == OMV_OK)
        st = omv_serial_list(match, keep_app, o, ports, ENTRY_MAX_PORTS, n, err);
    return st;
}

static omv_status entry_list(const struct omv_host *host, const struct omv_match *match, omv_device_found_fn found,
                             void *user, omv_error *err)
{
    struct entry_options o;
    struct omv_serial_port ports[ENTRY_MAX_PORTS];
    size_t n = 0;
    omv_status st = find(host, match, &o, ports, &n, err);
    if (st != OMV_OK)
        return st;
    for (size_t i = 0; i < n && i < ENTRY_MAX_PORTS; i++) {
        snprintf(ports[i].info.mode, sizeof ports[i].info.mode, "app");
        found(user, &ports[i].info);
    }
    return OMV_OK;
}

static omv_status send(const struct entry_options *o, struct sp_port *port, const char *name, const uint8_t *buf,
                       size_t len, const char *what, omv_error *err)
{
    char why[160];
    int r = omv_serial_write(port, buf, len, o->write_timeout_ms, why, sizeof why);
    if (r == 0)
        return OMV_OK;
    return omv_error_set(err, r == -2 ? OMV_E_TIMEOUT : OMV_E_IO, "%s on %s: %s", what, name, why);
}

/* Protocol v2: SYNC, and on its ACK SYS_BOOT (seq 0). Returns OMV_OK when sent,
 * OMV_E_TIMEOUT when no ACK came. */
static omv_status try_v2(const struct omv_host *host, const struct entry_options *o, struct sp_port *port,
                         const char *name, omv_error *err)
{
    uint8_t pkt[16], buf[512];
    size_t got = 0;
    omv_serial_flush_input(port);
    size_t n = omv_v2_encode(pkt, 0, 0, 0, OMV_V2_OP_SYNC, NULL, 0);
    omv_status st = send(o, port, name, pkt, n, "protocol v2 SYNC", err);
    if (st != OMV_OK)
        return st;
    uint64_t deadline = host->now_ms(host) + o->sync_timeout_ms;
    int acked = 0;
    while (!acked) {
        uint64_t now = host->now_ms(host);
        if (now >= deadline)
            break;
        if (got == sizeof buf) { /* keep the tail: a header may straddle */
            memmove(buf, buf + sizeof buf - OMV_V2_HEADER_LEN, OMV_V2_HEADER_LEN);
            got = OMV_V2_HEADER_LEN;
        }
        uint64_t left = deadline - now;
        long r = omv_serial_read(port, buf + got, sizeof buf - got, (uint32_t)(left < 20 ? left : 20));
        if (r < 0)
            return omv_error_set(err, OMV_E_IO, "%s went away while waiting for the ACK of SYNC", name);
        got += (size_t)r;
        acked = omv_v2_is_sync_ack(buf, got);
    }
    if (!acked)
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no protocol v2 ACK to SYNC within %u ms", name,
                             (unsigned)o->sync_timeout_ms);
    n = omv_v2_encode(pkt, 0, 0, 0, OMV_V2_OP_SYS_BOOT, NULL, 0);
    st = send(o, port, name, pkt, n, "protocol v2 SYS_BOOT", err);
    if (st == OMV_OK)
        host->log(host, OMV_LOG_INFO, "%s: protocol v2 camera: SYS_BOOT sent", name);
    return st;
}

static omv_status do_v1(const struct omv_host *host, const struct entry_options *o, struct sp_port *port,
                        const char *name, omv_error *err)
{
    uint8_t cmd[OMV_V1_CMD_LEN];
    omv_v1_encode(cmd, o->forced ? OMV_V1_SYS_RESET_TO_BL : OMV_V1_SYS_RESET);
    if (o->delay_ms && host->sleep_ms(host, o->delay_ms) != OMV_OK)
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    omv_status st = send(o, port, name, cmd, sizeof cmd, o->forced ? "debug SYS_RESET_TO_BL" : "debug SYS_RESET", err);
    if (st != OMV_OK)
        return st;
    if (o->delay_ms && host->sleep_ms(host, o->delay_ms) != OMV_OK)
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled");
    host->log(host, OMV_LOG_INFO, "%s: debug protocol v1 %s (0x%02X) sent", name,
              o->forced ? "SYS_RESET_TO_BL" : "SYS_RESET", o->forced ? OMV_V1_SYS_RESET_TO_BL : OMV_V1_SYS_RESET);
    return OMV_OK;
}

static omv_status entry_enter(const struct omv_host *host, const struct omv_match *match, omv_error *err)
{
    struct entry_options o;
    struct omv_serial_port ports[ENTRY_MAX_PORTS];
    size_t n = 0;
    omv_status st = find(host, match, &o, ports, &n, err);
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
    const char *name = ports[0].name;
    struct sp_port *port = NULL;
    if ((st = omv_serial_open(name, o.baud, &port, err)) != OMV_OK)
        return st;
    if (o.protocol != PROTO_V1) {
        st = try_v2(host, &o, port, name, err);
        if (st == OMV_OK || o.protocol == PROTO_V2 || st != OMV_E_TIMEOUT) {
            omv_serial_close(port);
            return st;
        }
        host->log(host, OMV_LOG_INFO, "%s: no protocol v2 answer within %u ms: using debug protocol v1", name,
                  (unsigned)o.sync_timeout_ms);
        omv_error_clear(err);
    }
    st = do_v1(host, &o, port, name, err);
    omv_serial_close(port);
    return st;
}

static const struct omv_entry_ops entry_ops = {
    .list = entry_list,
    .enter = entry_enter,
};

static const struct omv_plugin entry_plugin = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "omv_entry",
    .version = "0.1.0",
    .description = "resets OpenMV cameras running their application into their bootloader (debug protocol v1/v2)",
    .kind = OMV_PLUGIN_ENTRY,
    .options = entry_options,
    .transport = NULL,
    .action = NULL,
    .entry = &entry_ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void)
{
    return &entry_plugin;
}
