/*
 * Confirm boot: a bootloader that accepted every byte says nothing about
 * whether the camera runs them. After the reset the camera must come back in
 * application mode on the same USB port within the board's confirm_ms and
 * say who it is (debug protocol v1: version and arch string; protocol v2:
 * version and USB id, its identity). A camera that does not come back, that
 * comes back in its bootloader (the new firmware does not start), that never
 * left it (a legacy bootloader halted on a command it could not carry out
 * ignores RESET), or that reports another board's identity fails the run
 * with OMV_E_BOOT.
 */
#include <string.h>

#include "flash_run.h"

typedef struct confirm_ctx {
    omvi_plugin_set *set;
    struct omv_match app, boot;
    struct omv_app_info *out;
    int looks;         /* looks so far */
    int boot_now;      /* a bootloader of the board was on the port at the last look */
    int boot_gone;     /* it was absent at some look */
    int boot_back;     /* it was there again after being absent */
} confirm_ctx;

static void count_found(void *user, const struct omv_device_info *dev)
{
    (void)dev;
    ++*(int *)user;
}

/* Is a bootloader of the board on the port now? */
static int bootloader_there(confirm_ctx *c)
{
    int n = 0;
    omv_error ignored;
    for (size_t t = 0; t < c->set->nt; t++)
        omvi_tops(c->set, t)->list(c->set->t[t].ctx, &c->set->t[t].h.host, &c->boot, count_found, &n, &ignored);
    return n > 0;
}

static omv_status confirm_look(void *user, omv_error *err)
{
    confirm_ctx *c = user;
    omv_status st = omvi_identify_look(c->set, &c->app, c->out, err);
    if (st != OMV_E_NO_DEVICE)
        return st;
    int there = bootloader_there(c);
    c->boot_gone |= !there;
    c->boot_back |= there && c->boot_gone;
    c->boot_now = there;
    c->looks++;
    return OMV_E_NO_DEVICE;
}

static int app_id_of_board(const omv_board *b, struct omv_usb_id id)
{
    for (size_t i = 0; i < b->n_app_ids; i++)
        if (b->app_ids[i].vid == id.vid && b->app_ids[i].pid == id.pid)
            return 1;
    return 0;
}

/* The camera answered: is it the board's? */
static omv_status check_identity(const omvi_run *r)
{
    const struct omv_app_info *a = &r->app;
    const omv_board *b = r->b;
    if (b->arch && a->arch[0] && strcmp(a->arch, b->arch) != 0)
        return omv_error_set(r->err, OMV_E_BOOT,
                             "confirm boot: the camera came back reporting arch '%s' (firmware %s), not %s's '%s': "
                             "it runs another board's firmware",
                             a->arch, a->firmware_version[0] ? a->firmware_version : "?", b->name, b->arch);
    if ((a->usb_id.vid || a->usb_id.pid) && !app_id_of_board(b, a->usb_id))
        return omv_error_set(r->err, OMV_E_BOOT,
                             "confirm boot: the camera came back as %04X:%04X (firmware %s), not an application id of %s",
                             a->usb_id.vid, a->usb_id.pid, a->firmware_version[0] ? a->firmware_version : "?", b->name);
    return OMV_OK;
}

/* Not back in application mode within the time: say where it is. */
static omv_status not_back(const omvi_run *r, const confirm_ctx *c, uint32_t wait)
{
    const char *port = r->info.port_path[0] ? r->info.port_path : "?";
    if (c->boot_now && !c->boot_gone)
        return omv_error_set(r->err, OMV_E_BOOT,
                             "confirm boot: the camera on port %s is still in its bootloader %u ms after the reset: "
                             "it did not leave (a bootloader that halted ignores the reset); its firmware is not "
                             "what was sent",
                             port, wait);
    if (c->boot_back)
        return omv_error_set(r->err, OMV_E_BOOT,
                             "confirm boot: the camera on port %s came back in its bootloader, not in application "
                             "mode, within %u ms: the new firmware does not start",
                             port, wait);
    return omv_error_set(r->err, OMV_E_BOOT,
                         "confirm boot: the camera on port %s did not come back in application mode within %u ms "
                         "([board] confirm_ms)",
                         port, wait);
}

omv_status omvi_run_confirm(omvi_run *r)
{
    const omv_board *b = r->b;
    int can = 0;
    for (size_t e = 0; e < r->set.ne; e++)
        can |= omvi_eops(&r->set, e)->identify != NULL;
    if (!can || !b->n_app_ids) {
        omvi_log(r->cb, OMV_LOG_INFO, "boot not confirmed: %s names no entry plugin that can identify the camera",
                 b->name);
        return OMV_OK;
    }
    const char *port = r->info.port_path[0] ? r->info.port_path : NULL;
    confirm_ctx c = {.set = &r->set, .out = &r->app};
    c.app = (struct omv_match){.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = port,
                               .serial = port ? NULL : r->req->serial};
    c.boot = (struct omv_match){.ids = b->boot_ids, .n_ids = b->n_boot_ids, .port_path = port,
                                .serial = port ? NULL : r->req->serial};
    uint32_t wait = b->confirm_ms;
    omvi_log(r->cb, OMV_LOG_INFO, "waiting up to %.1f s for the camera to come back in application mode",
             (double)wait / 1000.0);
    omv_status st = omvi_poll(wait, b->poll_ms, r->req->cancel, confirm_look, &c, r->err);
    if (st == OMV_E_NO_DEVICE)
        return not_back(r, &c, wait);
    if (st == OMV_E_TIMEOUT)
        return omv_error_set(r->err, OMV_E_BOOT, "confirm boot: %s", r->err->msg);
    if (st != OMV_OK)
        return st;
    st = check_identity(r);
    if (st == OMV_OK) {
        r->confirmed = 1;
        omvi_log(r->cb, OMV_LOG_INFO, "camera back in application mode: firmware %s%s%s",
                 r->app.firmware_version[0] ? r->app.firmware_version : "?", r->app.arch[0] ? ", arch " : "",
                 r->app.arch);
    }
    return st;
}
