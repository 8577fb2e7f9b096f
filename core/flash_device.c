/*
 * omv_flash() and the device: wait for whichever bootloader of the board
 * answers (the core's wait loop, device_wait.c), then fit the plan to it
 * (what its transport cannot do, its own flash_order) and match the board's
 * partitions with the ones it offers, before any step runs.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

static int full_flash(const omvi_run *r)
{
    return !r->req->n_images && !r->req->n_actions && r->req->firmware_dir;
}

omv_status omvi_run_open_device(omvi_run *r)
{
    const omv_board *b = r->b;
    const omv_request *req = r->req;
    for (size_t t = 0; t < r->set.nt; t++) {
        omv_status st = omvi_plan_view_build(&r->views[t], &r->plan, b, req, full_flash(r), r->err);
        if (st != OMV_OK)
            return st;
        r->set.t[t].h.run_plan = &r->views[t].view;
    }
    uint32_t wait = req->wait_ms == OMV_WAIT_DEFAULT ? b->wait_ms : req->wait_ms;
    struct omv_match boot = {.ids = b->boot_ids, .n_ids = b->n_boot_ids, .serial = req->serial,
                             .port_path = req->port_path};
    struct omv_match app = {.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = req->port_path};
    omvi_wait_req wr = {.boot = &boot, .app = b->n_app_ids && r->set.ne ? &app : NULL, .wait_ms = wait, .cb = r->cb,
                        .cancel = req->cancel};
    omvi_emit(r->cb, &(omv_event){.type = OMV_EV_WAITING, .total = wait, .message = b->wait_message});
    omvi_wait_result got;
    omv_status st = omvi_wait_bootloader(&r->set, &wr, &got, r->err);
    if (st != OMV_OK)
        return st;
    r->session = got.session;
    r->info = got.info;
    r->active = got.active;
    r->h = &r->set.t[got.active].h;
    r->ops = omvi_tops(&r->set, got.active);
    omvi_emit(r->cb, &(omv_event){.type = OMV_EV_DEVICE, .device = &r->info});
    return OMV_OK;
}

/* Whether step @p s is in the answering bootloader's own flash_order (or it has none). */
static int in_transport_order(const omvi_run *r, const omvi_step *s)
{
    const omvi_plugin_section *sec = omvi_board_plugin_section(r->b, r->b->transports[r->active]);
    if ((s->kind != OMVI_STEP_WRITE && s->kind != OMVI_STEP_VERIFY) || !sec || !sec->order.n)
        return 1;
    for (size_t j = 0; j < sec->order.n; j++)
        if (sec->order.index[j] == s->part)
            return 1;
    return 0;
}

/* A full flash writes what the bootloader that answered can write: a
 * bootloader with its own flash_order (the legacy one cannot write ROMFS0)
 * narrows it, and so does what its transport said it cannot do. */
static void narrow_full_flash(omvi_run *r)
{
    size_t k = 0;
    size_t skipped = (size_t)-1; /* partition whose write was skipped: its verify goes too */
    const char *tname = r->b->transports[r->active];
    for (size_t i = 0; i < r->plan.n; i++) {
        omvi_step *s = &r->plan.steps[i];
        const char *why = s->kind == OMVI_STEP_WRITE ? omvi_plan_view_cannot(&r->views[r->active], i) : NULL;
        int keep = in_transport_order(r, s) && !why && !(s->kind == OMVI_STEP_VERIFY && s->part == skipped);
        if (keep) {
            r->plan.steps[k++] = *s;
            continue;
        }
        if (s->kind == OMVI_STEP_WRITE && !s->missing && why)
            omvi_log(r->cb, OMV_LOG_WARN, "%s: %s: %s not written", tname, why, s->path);
        else if (s->kind == OMVI_STEP_WRITE && !s->missing)
            omvi_log(r->cb, OMV_LOG_WARN, "%s (the bootloader that answered) cannot write %s: %s not written", tname,
                     r->b->parts[s->part].name, s->path);
        if (s->kind == OMVI_STEP_WRITE)
            skipped = s->part;
        free(s->path);
        free(s->entry);
    }
    r->plan.n = k;
}

/* An image made for one device (a container naming its USB id) goes to no other. */
static omv_status check_for_device(const omvi_run *r, const omvi_step *s)
{
    const struct omv_usb_id *want = &s->for_device;
    if (s->kind != OMVI_STEP_WRITE || (!want->vid && !want->pid))
        return OMV_OK;
    int vid_ok = want->vid == 0xFFFF || want->vid == r->info.vid;
    int pid_ok = want->pid == 0xFFFF || want->pid == r->info.pid;
    if (vid_ok && pid_ok)
        return OMV_OK;
    return omv_error_set(r->err, OMV_E_MISMATCH,
                         "%s is made for USB device %04X:%04X, but the camera is %04X:%04X: nothing was written",
                         s->path, want->vid, want->pid, r->info.vid, r->info.pid);
}

omv_status omvi_run_adapt_plan(omvi_run *r)
{
    const omv_board *b = r->b;
    if (full_flash(r))
        narrow_full_flash(r);
    int reads = 0, erases = 0, writes = 0;
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->missing)
            return omv_error_set(r->err, OMV_E_IMAGE,
                                 "%s (image of partition %s): No such file or directory; the %s bootloader that "
                                 "answered writes %s in a full flash",
                                 s->path, b->parts[s->part].name, b->transports[r->active], b->parts[s->part].name);
        omv_status st = check_for_device(r, s);
        if (st != OMV_OK)
            return st;
        reads |= s->kind == OMVI_STEP_READ || s->kind == OMVI_STEP_VERIFY;
        erases |= s->kind == OMVI_STEP_ERASE;
        writes |= s->kind == OMVI_STEP_WRITE;
    }
    if (writes && r->req->skip_unchanged && !r->ops->read)
        return omvi_refuse_skip(r->err, b->transports[r->active]);
    if (reads && !r->ops->read)
        return omv_error_set(r->err, OMV_E_UNSUPPORTED, "the %s bootloader cannot read partitions (needed for %s)",
                             b->transports[r->active], r->req->verify ? "verify" : "read");
    if (erases && !r->ops->erase)
        return omv_error_set(r->err, OMV_E_UNSUPPORTED,
                             "the %s bootloader cannot erase partitions (needed for --erase-filesystem)",
                             b->transports[r->active]);
    return OMV_OK;
}

static int in_plan(const omvi_run *r, size_t part)
{
    for (size_t i = 0; i < r->plan.n; i++)
        if (r->plan.steps[i].kind != OMVI_STEP_RESET && r->plan.steps[i].kind != OMVI_STEP_ACTION &&
            r->plan.steps[i].part == part)
            return 1;
    return 0;
}

static omv_status get_partitions(omvi_run *r)
{
    size_t cap = 32, count = 0;
    for (;;) {
        r->dev = calloc(cap, sizeof *r->dev);
        if (!r->dev)
            return omv_error_set(r->err, OMV_E_NOMEM, "out of memory");
        omv_status st = r->ops->partitions(r->session, r->dev, cap, &count, r->err);
        if (st != OMV_OK)
            return omv_error_prefix(r->err, "list device partitions");
        if (count <= cap)
            break;
        free(r->dev);
        r->dev = NULL;
        cap = count;
    }
    r->n_dev = count;
    for (size_t i = 0; i < r->n_dev; i++)
        r->dev[i].name[sizeof r->dev[i].name - 1] = '\0';
    return OMV_OK;
}

/* A partition the board declares but the device does not offer is worth a
 * warning, unless the bootloader has its own flash_order (legacy) that
 * leaves it out, or it is read-only. */
static int expected_on_device(const omvi_run *r, size_t i)
{
    const omvi_plugin_section *sec = omvi_board_plugin_section(r->b, r->b->transports[r->active]);
    if (r->b->parts[i].info.read_only)
        return 0;
    if (!sec || !sec->order.n)
        return 1;
    for (size_t k = 0; k < sec->order.n; k++)
        if (sec->order.index[k] == i)
            return 1;
    return 0;
}

omv_status omvi_run_device_partitions(omvi_run *r)
{
    const omv_board *b = r->b;
    omv_status st = get_partitions(r);
    if (st != OMV_OK)
        return st;
    char offers[1024] = "";
    for (size_t i = 0; i < r->n_dev; i++)
        omvi_join_add(offers, sizeof offers, r->dev[i].name);
    for (size_t i = 0; i < b->n_parts; i++)
        if (in_plan(r, i) && !omvi_run_dev_find(r, b->parts[i].name))
            return omv_error_set(r->err, OMV_E_MISMATCH,
                                 "device has no partition '%s' (device offers: %s): wrong board file?",
                                 b->parts[i].name, r->n_dev ? offers : "nothing");
    for (size_t i = 0; i < b->n_parts; i++) {
        if (!omvi_run_dev_find(r, b->parts[i].name) && expected_on_device(r, i))
            omvi_log(r->cb, OMV_LOG_WARN, "%s declares partition '%s' but the device does not offer it (device "
                     "offers: %s)", b->path, b->parts[i].name, r->n_dev ? offers : "nothing");
    }
    for (size_t i = 0; i < r->n_dev; i++)
        if (omvi_board_find(b, r->dev[i].name) < 0)
            omvi_log(r->cb, OMV_LOG_WARN, "device offers partition '%s' (%u) that %s does not declare",
                     r->dev[i].name, r->dev[i].index, b->path);
    return OMV_OK;
}
