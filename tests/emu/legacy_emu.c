#include "legacy_emu.h"

#include <glib.h>
#include <string.h>

typedef enum { PH_GONE, PH_BOOTLOADER, PH_APP, PH_DFU } phase_t;

struct cdc_cam {
    cdc_cam_cfg_t cfg;
    char tag[24];
    char app_serial[64];
    tty_hub_t *hub;
    legacy_bl_t *bl;           /* NULL for DFU-era cameras */
    app_cam_t app;
    legacy_stats_t stats;

    phase_t phase;
    bool unplugged;            /* fault: gone for good */
    emu_tty_t *tty;
    guint timer;               /* window or re-enumeration */
    guint pump_timer;
    GQueue packets;            /* GBytes *, waiting while the bootloader is busy */
    gint64 busy_until;
    uint8_t pending_reply[16];
    size_t pending_reply_len;
};

#define CLOG(c, ...) legacy_log((c)->tag, (c)->cfg.verbose, __VA_ARGS__)

static void appear_bootloader(cdc_cam_t *c, bool hotplug);
static void appear_app(cdc_cam_t *c, bool hotplug);

static void cancel_timer(guint *t)
{
    if (*t) {
        g_source_remove(*t);
        *t = 0;
    }
}

static void drop_packets(cdc_cam_t *c)
{
    GBytes *b;
    while ((b = g_queue_pop_head(&c->packets)))
        g_bytes_unref(b);
    cancel_timer(&c->pump_timer);
    c->pending_reply_len = 0;
}

static void leave(cdc_cam_t *c, const char *why)
{
    CLOG(c, "%s leaves the bus: %s",
         c->phase == PH_BOOTLOADER ? "legacy bootloader" : "application", why);
    cancel_timer(&c->timer);
    drop_packets(c);
    tty_remove(c->tty);
    c->tty = NULL;
    c->phase = PH_GONE;
}

/* ---- timers ------------------------------------------------------------------ */

static gboolean boot_app_cb(gpointer p)
{
    cdc_cam_t *c = p;
    c->timer = 0;
    appear_app(c, true);
    return G_SOURCE_REMOVE;
}

static gboolean boot_bootloader_cb(gpointer p)
{
    cdc_cam_t *c = p;
    c->timer = 0;
    appear_bootloader(c, true);
    return G_SOURCE_REMOVE;
}

typedef struct {
    cdc_cam_t *c;
    bool forced;
} dfu_enter_t;

static gboolean boot_dfu_cb(gpointer p)
{
    dfu_enter_t *d = p;
    d->c->timer = 0;
    d->c->phase = PH_DFU;
    if (d->c->cfg.enter_dfu)
        d->c->cfg.enter_dfu(d->c->cfg.user, d->forced);
    return G_SOURCE_REMOVE;
}

/* The host wrote to flash: with --boot-fails the firmware no longer starts. */
static bool flashed(const cdc_cam_t *c)
{
    return c->stats.flash_programs || c->stats.qspi_programs || c->stats.erases ||
           c->stats.qspi_erases;
}

/* The bootloader jumps to the application (RESET or window expired). */
static void bootloader_to_app(cdc_cam_t *c, const char *why)
{
    leave(c, why);
    if (c->cfg.boot_fails && flashed(c)) {
        /* --boot-fails: the new firmware faults at once and the camera resets
         * into its bootloader, which listens again (and so on). */
        c->stats.boot_failures++;
        CLOG(c, "--boot-fails: the application does not start; the bootloader comes back");
        c->timer = g_timeout_add((guint)c->cfg.reenum_ms, boot_bootloader_cb, c);
        return;
    }
    if (c->cfg.app_mode)
        c->timer = g_timeout_add((guint)c->cfg.reenum_ms, boot_app_cb, c);
    else
        CLOG(c, "--no-app: the firmware does not enumerate, the camera stays gone");
}

static gboolean window_cb(gpointer p)
{
    cdc_cam_t *c = p;
    c->timer = 0;
    if (c->phase == PH_BOOTLOADER && !c->bl->connected) {
        c->stats.windows_missed++;
        bootloader_to_app(c, "no START within the listening window");
    }
    return G_SOURCE_REMOVE;
}

/* ---- bootloader packets ------------------------------------------------------ */

static gboolean pump_cb(gpointer p);

static void pump(cdc_cam_t *c)
{
    while (c->phase == PH_BOOTLOADER) {
        gint64 now = g_get_monotonic_time();
        if (c->busy_until > now) {
            if (!c->pump_timer) {
                guint ms = (guint)((c->busy_until - now + 999) / 1000);
                c->pump_timer = g_timeout_add(ms, pump_cb, c);
            }
            return;
        }
        if (c->pending_reply_len) {
            /* A reply computed at the end of a long command leaves when it ends. */
            tty_send(c->tty, c->pending_reply, c->pending_reply_len);
            c->pending_reply_len = 0;
        }
        GBytes *b = g_queue_pop_head(&c->packets);
        if (!b)
            return;
        gsize len;
        const uint8_t *d = g_bytes_get_data(b, &len);
        lbl_result_t r = legacy_bl_packet(c->bl, d, len, (uint64_t)now);
        g_bytes_unref(b);
        if (r.unplug) {
            c->unplugged = true;
            leave(c, "unplugged (fault)");
            return;
        }
        if (r.busy_us) {
            c->busy_until = g_get_monotonic_time() + (gint64)r.busy_us;
            memcpy(c->pending_reply, r.reply, r.reply_len);
            c->pending_reply_len = r.reply_len;
        } else if (r.reply_len)
            tty_send(c->tty, r.reply, r.reply_len);
        if (r.jump_to_app) {
            bootloader_to_app(c, "RESET command");
            return;
        }
    }
}

static gboolean pump_cb(gpointer p)
{
    cdc_cam_t *c = p;
    c->pump_timer = 0;
    pump(c);
    return G_SOURCE_REMOVE;
}

/* ---- application packets ------------------------------------------------------ */

static void app_packet(cdc_cam_t *c, const uint8_t *d, size_t len)
{
    app_result_t r = app_cam_packet(&c->app, d, len, tty_baud(c->tty), tty_dtr(c->tty));
    if (r.reply_len)
        tty_send(c->tty, r.reply, r.reply_len);
    if (r.action == APP_NONE)
        return;
    bool forced = r.action == APP_RESET_TO_BL;
    leave(c, forced ? "reset to bootloader" : "reset");
    if (c->bl) {
        /* G1 firmware: 0x0E is a plain reset too (OpenMV's MicroPython board
         * config of that era maps entering the bootloader to a system reset). */
        c->stats.app_resets++;
        c->timer = g_timeout_add((guint)c->cfg.reenum_ms, boot_bootloader_cb, c);
    } else {
        c->stats.app_resets++;
        dfu_enter_t *e = g_new0(dfu_enter_t, 1);
        e->c = c;
        e->forced = forced;
        c->timer = g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)c->cfg.reenum_ms, boot_dfu_cb, e,
                                      g_free);
    }
}

/* One host write = one cdc_acm transfer: 64-byte packets, the last one short;
 * a transfer that is a multiple of 64 ends with a ZLP only if the host OS
 * adds one (macOS, --zlp). Linux's cdc_acm does not. */
static void on_transfer(emu_tty_t *t, const uint8_t *data, size_t len, void *user)
{
    (void)t;
    cdc_cam_t *c = user;
    c->stats.transfers++;
    c->stats.bytes_in += len;
    size_t npk = (len + LBL_PACKET - 1) / LBL_PACKET;
    bool zlp = c->cfg.zlp && len % LBL_PACKET == 0;
    if (zlp)
        c->stats.zlps++;
    for (size_t i = 0; i < npk + (zlp ? 1 : 0) && c->phase != PH_GONE; i++) {
        size_t off = i * LBL_PACKET, n = off < len ? len - off : 0;
        if (n > LBL_PACKET)
            n = LBL_PACKET;
        if (c->phase == PH_APP)
            app_packet(c, data + off, n);
        else if (c->phase == PH_BOOTLOADER) {
            g_queue_push_tail(&c->packets, g_bytes_new(data + off, n));
            pump(c);
        }
    }
}

/* ---- appear -------------------------------------------------------------------- */

static void appear_bootloader(cdc_cam_t *c, bool hotplug)
{
    if (c->unplugged)
        return;
    legacy_bl_boot(c->bl);
    tty_usb_ids_t ids = {0x1209, 0xABD1, 0x0200, "OpenMV", "OpenMV Virtual Comm Port in FS Mode",
                         "000000000011", c->cfg.port};
    c->tty = tty_add(c->hub, &ids, c->tag, hotplug, on_transfer, c);
    if (!c->tty) {
        c->phase = PH_GONE;
        return;
    }
    c->phase = PH_BOOTLOADER;
    c->busy_until = 0;
    c->stats.bootloader_entries++;
    c->stats.appearances++;
    CLOG(c, "legacy bootloader V%d listening on %s for %ld ms", c->cfg.bl_version,
         tty_name(c->tty), c->cfg.window_ms);
    c->timer = g_timeout_add((guint)c->cfg.window_ms, window_cb, c);
}

static void appear_app(cdc_cam_t *c, bool hotplug)
{
    if (c->unplugged)
        return;
    app_cam_boot(&c->app);
    tty_usb_ids_t ids = {0x1209, 0xABD1, 0x0200, "OpenMV", "OpenMV Virtual Comm Port in FS Mode",
                         c->app_serial, c->cfg.port};
    if (!c->bl) {
        ids.vid = c->cfg.dfu_cam->vid;
        ids.pid = camera_model_app_pid(c->cfg.dfu_cam);
    }
    c->tty = tty_add(c->hub, &ids, c->tag, hotplug, on_transfer, c);
    if (!c->tty) {
        c->phase = PH_GONE;
        return;
    }
    c->phase = PH_APP;
    c->stats.appearances++;
    CLOG(c, "application running (debug protocol v%d) on %s", c->cfg.app_mode, tty_name(c->tty));
}

static gboolean first_appear_cb(gpointer p)
{
    cdc_cam_t *c = p;
    c->timer = 0;
    if (c->cfg.start_in_app)
        appear_app(c, true);
    else
        appear_bootloader(c, true);
    return G_SOURCE_REMOVE;
}

bool cdc_cam_start(cdc_cam_t *c)
{
    if (!c->bl && !c->cfg.start_in_app) {
        c->phase = PH_DFU; /* its openmv_dfu device is on the bus (omvemu_presence.c) */
        return true;
    }
    if (c->cfg.no_appear)
        return true;
    if (c->cfg.appear_after_ms > 0) {
        c->timer = g_timeout_add((guint)c->cfg.appear_after_ms, first_appear_cb, c);
        return true;
    }
    if (c->cfg.start_in_app)
        appear_app(c, false);
    else
        appear_bootloader(c, false);
    return c->phase != PH_GONE;
}

void cdc_cam_dfu_left(cdc_cam_t *c)
{
    if (c->phase != PH_DFU)
        return;
    c->phase = PH_GONE;
    c->timer = g_timeout_add((guint)c->cfg.reenum_ms, boot_app_cb, c);
}

void cdc_cam_power_off(cdc_cam_t *c)
{
    if (c->phase == PH_APP)
        leave(c, "port power off");
    cancel_timer(&c->timer); /* an application about to boot does not */
    c->phase = PH_DFU;
}

/* The application's identity: the camera's arch and type, --arch and
 * --fw-version when given, its USB id and the bootloader's version. */
static void app_init(cdc_cam_t *c, const cdc_cam_cfg_t *cfg)
{
    const app_model_t *m = app_model_find(cfg->legacy ? cfg->legacy->family : cfg->dfu_cam->id);
    app_identity_t id = {
        .arch = cfg->arch ? cfg->arch : m ? m->arch : "OMV ?",
        .board_type = m ? m->board_type : "?",
        .uid = c->app_serial,
        .fw_version = {4, 5, 9},   /* G1 firmware: v4.5.9 and older */
        .bl_version = {1, 0, 3},   /* the openmv_dfu header omvemu serves */
        .vid = 0x1209,
        .pid = 0xABD1,
        .cpu_id = m ? m->cpu_id : 0,
    };
    if (cfg->legacy) {
        memset(id.bl_version, 0, sizeof(id.bl_version)); /* no header in the legacy bootloader */
    } else {
        id.vid = cfg->dfu_cam->vid;
        id.pid = camera_model_app_pid(cfg->dfu_cam);
        /* protocol v1 up to v4.8.x, v2 from v5.0.0 */
        uint32_t v[3] = {cfg->app_mode == 2 ? 5 : 4, cfg->app_mode == 2 ? 0 : 8,
                         cfg->app_mode == 2 ? 0 : 1};
        memcpy(id.fw_version, v, sizeof(v));
    }
    if (cfg->fw_version_set)
        memcpy(id.fw_version, cfg->fw_version, sizeof(id.fw_version));
    app_cam_init(&c->app, cfg->app_mode, c->tag, &id, cfg->verbose);
}

cdc_cam_t *cdc_cam_new(const cdc_cam_cfg_t *cfg, tty_hub_t *hub)
{
    cdc_cam_t *c = g_new0(cdc_cam_t, 1);
    c->cfg = *cfg;
    c->hub = hub;
    g_queue_init(&c->packets);
    snprintf(c->tag, sizeof(c->tag), "%s", cfg->tag);
    snprintf(c->app_serial, sizeof(c->app_serial), "%s", cfg->app_serial);
    if (cfg->legacy) {
        c->bl = legacy_bl_new(cfg->legacy, cfg->bl_version, c->tag, &cfg->timing, cfg->faults,
                              cfg->nfaults, &c->stats, cfg->verbose);
        if (!c->bl) {
            g_free(c);
            return NULL;
        }
    }
    if (cfg->app_mode)
        app_init(c, cfg);
    return c;
}

void cdc_cam_free(cdc_cam_t *c)
{
    if (!c)
        return;
    cancel_timer(&c->timer);
    drop_packets(c);
    legacy_bl_free(c->bl);
    g_free(c);
}

bool cdc_cam_dump(cdc_cam_t *c, const char *dir, char *err, size_t errlen)
{
    return c->bl ? legacy_bl_dump(c->bl, dir, err, errlen) : true;
}

void cdc_cam_sum_stats(const cdc_cam_t *c, legacy_stats_t *ls, app_stats_t *as)
{
    uint64_t *d = (uint64_t *)ls;
    const uint64_t *s = (const uint64_t *)&c->stats;
    for (size_t i = 0; i < sizeof(*ls) / sizeof(uint64_t); i++)
        d[i] += s[i];
    /* A bootloader that got START stays until RESET or a power cycle. */
    ls->left_in_bootloader += c->bl && c->phase == PH_BOOTLOADER && c->bl->connected;
    d = (uint64_t *)as;
    s = (const uint64_t *)&c->app.stats;
    for (size_t i = 0; i < sizeof(*as) / sizeof(uint64_t); i++)
        d[i] += s[i];
}

char *cdc_stats_json(const legacy_stats_t *ls, const app_stats_t *as, const tty_stats_t *ts)
{
#define U(x) (unsigned long long)(x)
    return g_strdup_printf(
        ",\"transfers\":%llu,\"packets\":%llu,\"zlps\":%llu,\"bytes_in\":%llu,"
        "\"cmd_start\":%llu,\"cmd_reset\":%llu,\"cmd_erase\":%llu,\"cmd_write\":%llu,"
        "\"cmd_layout\":%llu,\"cmd_qspi_erase\":%llu,\"cmd_qspi_write\":%llu,"
        "\"cmd_qspi_layout\":%llu,\"cmd_qspi_memtest\":%llu,\"cmd_unknown\":%llu,"
        "\"ignored_halted\":%llu,\"bytes_written\":%llu,\"flash_programs\":%llu,"
        "\"qspi_bytes_written\":%llu,\"qspi_programs\":%llu,\"erases\":%llu,"
        "\"qspi_erases\":%llu,\"unerased_writes\":%llu,\"bootloader_sector_erased\":%llu,"
        "\"zlp_misparsed\":%llu,\"replies_dropped\":%llu,\"halts\":%llu,"
        "\"windows_missed\":%llu,\"app_resets\":%llu,\"bootloader_entries\":%llu,"
        "\"qspi_busy_dropped\":%llu,\"qspi_erase_aborted\":%llu,\"left_in_bootloader\":%llu,"
        "\"appearances\":%llu,\"unframed_bytes\":%llu,\"dtr_changes\":%llu,"
        "\"legacy_busy_us\":%llu,\"v1_commands\":%llu,\"v1_resets\":%llu,"
        "\"v2_packets\":%llu,\"v2_syncs\":%llu,\"v2_boots\":%llu,\"v2_resets\":%llu,"
        "\"v2_bad_crc\":%llu,\"v2_bad_seq\":%llu,\"app_ignored_repl\":%llu,"
        "\"v1_version\":%llu,\"v1_arch\":%llu,\"v2_version\":%llu,\"v2_sys_info\":%llu,"
        "\"v2_acks\":%llu",
        U(ls->transfers), U(ls->packets), U(ls->zlps), U(ls->bytes_in), U(ls->cmd_start),
        U(ls->cmd_reset), U(ls->cmd_erase), U(ls->cmd_write), U(ls->cmd_layout),
        U(ls->cmd_qspi_erase), U(ls->cmd_qspi_write), U(ls->cmd_qspi_layout),
        U(ls->cmd_qspi_memtest), U(ls->cmd_unknown), U(ls->ignored_halted),
        U(ls->bytes_written), U(ls->flash_programs), U(ls->qspi_bytes_written),
        U(ls->qspi_programs), U(ls->erases), U(ls->qspi_erases), U(ls->unerased_writes),
        U(ls->bootloader_sector_erased), U(ls->zlp_misparsed), U(ls->replies_dropped),
        U(ls->halts), U(ls->windows_missed), U(ls->app_resets), U(ls->bootloader_entries),
        U(ls->qspi_busy_dropped), U(ls->qspi_erase_aborted), U(ls->left_in_bootloader),
        U(ls->appearances), U(ts->unframed_bytes), U(ts->dtr_changes), U(ls->device_busy_us),
        U(as->v1_commands), U(as->v1_resets), U(as->v2_packets), U(as->v2_syncs),
        U(as->v2_boots), U(as->v2_resets), U(as->v2_bad_crc), U(as->v2_bad_seq),
        U(as->v1_ignored_repl + as->v2_ignored_repl), U(as->v1_version), U(as->v1_arch),
        U(as->v2_version), U(as->v2_sys_info), U(as->v2_acks));
#undef U
}
