/* omvemu's exit-time output: --stats (request counters of every camera as
 * one JSON line) and --dump (what each camera's memory holds). */
#define _GNU_SOURCE
#include "omvemu.h"

#include <errno.h>
#include <string.h>

bool emu_write_stats(const emu_t *e, const char *path)
{
    emu_stats_t s = {0};
    legacy_stats_t ls = {0};
    app_stats_t as = {0};
    uint64_t boot_failures = 0;
    for (size_t i = 0; i < e->ncams; i++) {
        boot_failures += e->cams[i].boot_failures;
        if (e->cams[i].cdc)
            cdc_cam_sum_stats(e->cams[i].cdc, &ls, &as);
    }
    boot_failures += ls.boot_failures;
    for (size_t i = 0; i < e->ncams; i++) {
        if (!e->cams[i].dfu)
            continue;
        const emu_stats_t *t = &e->cams[i].dfu->stats;
        s.control_transfers += t->control_transfers;
        s.dnload += t->dnload;
        s.dnload_zero += t->dnload_zero;
        s.getstatus += t->getstatus;
        s.upload += t->upload;
        s.clrstatus += t->clrstatus;
        s.abort += t->abort;
        s.detach += t->detach;
        s.setinterface += t->setinterface;
        s.resets += t->resets;
        s.blocks_written += t->blocks_written;
        s.device_busy_us += t->device_busy_us;
        s.dnload_dropped += t->dnload_dropped;
        s.hung += t->hung;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "omvemu: --stats %s: %s\n", path, strerror(errno));
        return false;
    }
#define U(x) (unsigned long long)(x)
    fprintf(f,
            "{\"control_transfers\":%llu,\"dnload\":%llu,\"dnload_zero\":%llu,\"getstatus\":%llu,"
            "\"upload\":%llu,\"clrstatus\":%llu,\"abort\":%llu,\"detach\":%llu,"
            "\"setinterface\":%llu,\"resets\":%llu,\"blocks_written\":%llu,"
            "\"device_busy_us\":%llu,\"dnload_dropped\":%llu,\"hung\":%llu,\"boot_failures\":%llu",
            U(s.control_transfers), U(s.dnload), U(s.dnload_zero), U(s.getstatus), U(s.upload),
            U(s.clrstatus), U(s.abort), U(s.detach), U(s.setinterface), U(s.resets),
            U(s.blocks_written), U(s.device_busy_us), U(s.dnload_dropped), U(s.hung),
            U(boot_failures));
#undef U
    dfu_device_t *devs[MAX_CAMERAS];
    for (size_t i = 0; i < e->ncams; i++)
        devs[i] = e->cams[i].dfu;
    char *dj = dfuse_stats_json(devs, e->ncams); /* DfuSe counters, if any */
    fputs(dj, f);
    g_free(dj);
    if (e->hub) { /* serial-port cameras: their counters go on the same line */
        tty_stats_t ts = tty_hub_stats(e->hub);
        char *j = cdc_stats_json(&ls, &as, &ts);
        fputs(j, f);
        g_free(j);
    }
    fputs("}\n", f);
    return fclose(f) == 0;
}

bool emu_dump_all(const emu_t *e)
{
    bool ok = true;
    for (size_t i = 0; i < e->ncams && ok; i++) {
        const camera_inst_t *c = &e->cams[i];
        char err[512];
        char *dir = e->ncams > 1 ? g_build_filename(e->dump_dir, c->serial_buf, NULL)
                                : g_strdup(e->dump_dir);
        if (e->ncams > 1 && g_mkdir_with_parents(e->dump_dir, 0755) < 0) {
            fprintf(stderr, "omvemu: --dump %s: %s\n", e->dump_dir, strerror(errno));
            ok = false;
        }
        if (ok && c->dfu) {
            g_mutex_lock(&c->usb->lock);
            ok = dfu_device_dump(c->dfu, dir, err, sizeof(err));
            g_mutex_unlock(&c->usb->lock);
            if (!ok)
                fprintf(stderr, "omvemu: %s\n", err);
        }
        if (ok && c->cdc && !(ok = cdc_cam_dump(c->cdc, dir, err, sizeof(err))))
            fprintf(stderr, "omvemu: %s\n", err);
        g_free(dir);
    }
    return ok;
}
