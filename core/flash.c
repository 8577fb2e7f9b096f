/*
 * omv_flash(): plan, check, load the transport, then drive it. Nothing is
 * sent to a device before every check passed; once a device is open it is
 * always finished and closed, whatever happens.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

typedef omvi_run run;

static void emit(const run *r, omv_event ev) { omvi_emit(r->cb, &ev); }

static const char *step_file(const omvi_step *s) { return s->path; }

static const char *step_part(const run *r, const omvi_step *s)
{
    switch (s->kind) {
    case OMVI_STEP_RESET: return NULL;
    case OMVI_STEP_ACTION: return r->b->actions[s->part].title;
    default: return r->b->parts[s->part].name;
    }
}

/* ---- dry run ------------------------------------------------------------- */

typedef struct dry_ctx {
    const run *r;
    int found;
} dry_ctx;

static void dry_found(void *user, const struct omv_device_info *dev)
{
    dry_ctx *d = user;
    d->found++;
    omvi_log(d->r->cb, OMV_LOG_INFO, "device attached now: %04X:%04X serial %s on port %s (%s)",
             dev->vid, dev->pid, dev->serial[0] ? dev->serial : "(none)",
             dev->port_path[0] ? dev->port_path : "(unknown)", dev->mode[0] ? dev->mode : "?");
}

/* ---- device partitions ----------------------------------------------------- */

static int in_plan(const run *r, size_t part)
{
    for (size_t i = 0; i < r->plan.n; i++)
        if (r->plan.steps[i].kind != OMVI_STEP_RESET && r->plan.steps[i].kind != OMVI_STEP_ACTION &&
            r->plan.steps[i].part == part)
            return 1;
    return 0;
}

static omv_status get_partitions(run *r)
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

static omv_status check_partitions(run *r)
{
    const omv_board *b = r->b;
    char offers[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < r->n_dev && off < sizeof offers; i++) {
        int k = snprintf(offers + off, sizeof offers - off, "%s%s", i ? ", " : "", r->dev[i].name);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    for (size_t i = 0; i < b->n_parts; i++) {
        if (in_plan(r, i) && !omvi_run_dev_find(r, b->parts[i].name))
            return omv_error_set(r->err, OMV_E_MISMATCH,
                                 "device has no partition '%s' (device offers: %s): wrong board "
                                 "file?",
                                 b->parts[i].name, r->n_dev ? offers : "nothing");
    }
    const omvi_plugin_section *sec = omvi_board_plugin_section(b, b->transports[r->active]);
    for (size_t i = 0; i < b->n_parts; i++) {
        const struct omv_dev_partition *d = omvi_run_dev_find(r, b->parts[i].name);
        /* A bootloader with its own flash_order (legacy) is not expected to
         * offer the others; nor is a read-only partition worth a warning. */
        int expected = !b->parts[i].info.read_only;
        if (expected && sec && sec->n_order) {
            expected = 0;
            for (size_t k = 0; k < sec->n_order; k++)
                expected |= sec->order[k] == i;
        }
        if (!d && !expected)
            continue;
        if (!d)
            omvi_log(r->cb, OMV_LOG_WARN,
                     "%s declares partition '%s' but the device does not offer it (device offers: "
                     "%s)",
                     b->path, b->parts[i].name, r->n_dev ? offers : "nothing");
        else if (b->parts[i].info.index >= 0 && (unsigned)b->parts[i].info.index != d->index)
            omvi_log(r->cb, OMV_LOG_WARN,
                     "partition %s: %s says alt %d, the device numbers it %u; using %u",
                     b->parts[i].name, b->path, b->parts[i].info.index, d->index, d->index);
    }
    for (size_t i = 0; i < r->n_dev; i++)
        if (omvi_board_find(b, r->dev[i].name) < 0)
            omvi_log(r->cb, OMV_LOG_WARN, "device offers partition '%s' (%u) that %s does not declare",
                     r->dev[i].name, r->dev[i].index, b->path);
    return OMV_OK;
}

/* Load the requested actions' plugins and options before any device I/O, and
 * apply the --set/--key overrides to them. */
static omv_status load_actions(run *r)
{
    const omv_board *b = r->b;
    const omv_request *req = r->req;
    if (b->n_actions) {
        r->act_plugins = calloc(b->n_actions, sizeof *r->act_plugins);
        r->act_opts = calloc(b->n_actions, sizeof *r->act_opts);
        if (!r->act_plugins || !r->act_opts)
            return omv_error_set(r->err, OMV_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->plan.n; i++) {
        if (r->plan.steps[i].kind != OMVI_STEP_ACTION)
            continue;
        size_t k = r->plan.steps[i].part;
        const omvi_plugin_section *a = &b->actions[k];
        char context[1200], label[96];
        snprintf(context, sizeof context, "%s:%d: action plugin '%s'", b->path, a->plugin_line, a->plugin);
        omv_status st = omvi_plugin_load(a->plugin, OMV_PLUGIN_ACTION, req->plugin_dir, context,
                                         &r->act_plugins[k], r->err);
        if (st != OMV_OK)
            return st;
        omvi_log_plugin(r->cb, "action", &r->act_plugins[k]);
        snprintf(label, sizeof label, "[action %s]", a->title);
        st = omvi_options_resolve(b->path, label, a, r->act_plugins[k].desc, &r->act_opts[k], r->err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

/* --set KEY=VALUE (and --key, --mode) override the board-file options of
 * every loaded plugin that declares KEY: transports, entry, requested actions. */
static omv_status apply_settings(run *r)
{
    const omv_request *req = r->req;
    for (size_t i = 0; i < req->n_settings; i++) {
        const omv_image_spec *set = &req->settings[i];
        int applied = 0;
        omv_status st = OMV_OK;
        for (size_t t = 0; st == OMV_OK && t < r->nt; t++)
            st = omvi_options_override(&r->topts[t], r->tplugins[t].desc, set->partition, set->path, &applied,
                                       r->err);
        if (st == OMV_OK && r->eplugin.desc)
            st = omvi_options_override(&r->eopts, r->eplugin.desc, set->partition, set->path, &applied, r->err);
        for (size_t k = 0; st == OMV_OK && k < r->b->n_actions; k++)
            if (r->act_plugins[k].desc)
                st = omvi_options_override(&r->act_opts[k], r->act_plugins[k].desc, set->partition, set->path,
                                           &applied, r->err);
        if (st != OMV_OK)
            return st;
        if (!applied)
            return omv_error_set(r->err, OMV_E_USAGE,
                                 "setting '%s': no plugin of %s (transports, entry, requested actions) has such an "
                                 "option",
                                 set->partition, r->b->name);
    }
    return OMV_OK;
}

/* Every requested action's prepare() (key checks, confirmation) before the device is opened. */
static omv_status prepare_actions(run *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->kind != OMVI_STEP_ACTION || !r->act_plugins[s->part].desc->action->prepare)
            continue;
        omvi_host ah;
        omvi_host_init(&ah, r->cb, r->req->cancel, &r->act_opts[s->part]);
        omv_status st = r->act_plugins[s->part].desc->action->prepare(&ah.host, r->err);
        if (st != OMV_OK)
            return omv_error_prefix(r->err, "action %s", r->b->actions[s->part].title);
    }
    return OMV_OK;
}

static omv_status run_steps(run *r)
{
    int count = (int)r->plan.n;
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (r->h->host.cancelled(&r->h->host))
            return omv_error_set(r->err, OMV_E_CANCELLED, "cancelled before %s %s",
                                 omvi_step_name(s->kind), step_part(r, s) ? step_part(r, s) : "");
        const char *name = omvi_step_name(s->kind);
        r->started = 1;
        r->h->step = name;
        r->h->partition = step_part(r, s);
        r->h->file = step_file(s);
        r->h->index = (int)i + 1;
        r->h->count = count;
        uint64_t t0 = omvi_now_ms();
        emit(r, (omv_event){.type = OMV_EV_STEP_START,
                            .step = name,
                            .partition = r->h->partition,
                            .file = r->h->file,
                            .total = s->size,
                            .index = (int)i + 1,
                            .count = count});
        omv_status st = OMV_OK;
        if (s->kind != OMVI_STEP_RESET) {
            st = omvi_run_step(r, s);
        } else {
            st = r->ops->finish(r->session, 1, r->err);
            if (st != OMV_OK)
                omv_error_prefix(r->err, "reset");
            else
                r->ops->close(r->session), r->session = NULL;
        }
        if (st != OMV_OK)
            return st;
        emit(r, (omv_event){.type = OMV_EV_STEP_DONE,
                            .step = name,
                            .partition = r->h->partition,
                            .file = r->h->file,
                            .total = s->size,
                            .index = (int)i + 1,
                            .count = count,
                            .elapsed_ms = omvi_now_ms() - t0});
    }
    r->h->step = r->h->partition = r->h->file = NULL;
    if (r->session) { /* --no-reset: leave the device in its bootloader */
        omv_status st = r->ops->finish(r->session, 0, r->err);
        r->ops->close(r->session);
        r->session = NULL;
        if (st != OMV_OK)
            return omv_error_prefix(r->err, "finish");
    }
    return OMV_OK;
}

static int plan_reads(const run *r)
{
    for (size_t i = 0; i < r->plan.n; i++)
        if (r->plan.steps[i].kind == OMVI_STEP_VERIFY || r->plan.steps[i].kind == OMVI_STEP_READ)
            return 1;
    return 0;
}

/* Every transport of the board, and its entry plugin, loaded and checked
 * before any device I/O. */
static omv_status load_plugins(run *r)
{
    const omv_board *b = r->b;
    for (size_t t = 0; t < b->n_transports; t++) {
        omv_status st = omvi_load_board_plugin(b, b->transports[t], OMV_PLUGIN_TRANSPORT, r->req->plugin_dir,
                                               &r->tplugins[t], &r->topts[t], r->err);
        if (st != OMV_OK)
            return st;
        r->nt = t + 1;
        omvi_log_plugin(r->cb, "transport", &r->tplugins[t]);
        omvi_host_init(&r->thosts[t], r->cb, r->req->cancel, &r->topts[t]);
    }
    r->h = &r->thosts[0];
    r->ops = r->tplugins[0].desc->transport;
    if (b->entry) {
        omv_status st = omvi_load_board_plugin(b, b->entry, OMV_PLUGIN_ENTRY, r->req->plugin_dir, &r->eplugin,
                                               &r->eopts, r->err);
        if (st != OMV_OK)
            return st;
        omvi_log_plugin(r->cb, "entry", &r->eplugin);
        omvi_host_init(&r->ehost, r->cb, r->req->cancel, &r->eopts);
    }
    return OMV_OK;
}

typedef struct app_ctx {
    const run *r;
    int found;
    struct omv_device_info first;
} app_ctx;

static void app_found(void *user, const struct omv_device_info *dev)
{
    app_ctx *a = user;
    if (!a->found++)
        a->first = *dev;
}

/* A camera running its application is reset into its bootloader first (the
 * board's entry plugin speaks the application's protocol). */
static omv_status enter_bootloader(run *r)
{
    const omv_board *b = r->b;
    if (!b->entry || !b->n_app_ids)
        return OMV_OK;
    const struct omv_entry_ops *eops = r->eplugin.desc->entry;
    struct omv_match am = {.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = r->req->port_path};
    app_ctx a = {r, 0, {0}};
    omv_status st = eops->list(&r->ehost.host, &am, app_found, &a, r->err);
    if (st != OMV_OK)
        return omv_error_prefix(r->err, "look for cameras in application mode");
    if (a.found == 0)
        return OMV_OK;
    if (a.found > 1)
        return omv_error_set(r->err, OMV_E_MULTIPLE,
                             "%d cameras in application mode match %s; choose one with --port", a.found, b->name);
    omvi_log(r->cb, OMV_LOG_INFO, "camera in application mode (%04x:%04x, port %s): resetting it into its bootloader",
             a.first.vid, a.first.pid, a.first.port_path[0] ? a.first.port_path : "?");
    st = eops->enter(&r->ehost.host, &am, r->err);
    if (st != OMV_OK)
        return omv_error_prefix(r->err, "reset into the bootloader");
    return OMV_OK;
}

/* Wait for whichever bootloader answers. One transport: its own open() waits.
 * Several: each is asked once per round (wait 0) until the deadline, so a
 * bootloader with a short listening window is caught by whichever plugin
 * speaks it. */
static omv_status open_any(run *r, const struct omv_match *match, uint32_t wait)
{
    if (r->nt == 1)
        return r->ops->open(&r->h->host, match, wait, &r->session, &r->info, r->err);
    uint64_t deadline = omvi_now_ms() + wait;
    for (;;) {
        for (size_t t = 0; t < r->nt; t++) {
            omv_status st = r->tplugins[t].desc->transport->open(&r->thosts[t].host, match, 0, &r->session,
                                                                 &r->info, r->err);
            if (st == OMV_OK) {
                r->active = t;
                r->h = &r->thosts[t];
                r->ops = r->tplugins[t].desc->transport;
                return OMV_OK;
            }
            r->session = NULL;
            if (st != OMV_E_NO_DEVICE)
                return omv_error_prefix(r->err, "%s", r->b->transports[t]);
        }
        if (omvi_now_ms() >= deadline)
            return omv_error_set(r->err, OMV_E_NO_DEVICE, "no bootloader of %s (%s) appeared within %u ms", r->b->name,
                                 r->b->path, wait);
        if (r->thosts[0].host.sleep_ms(&r->thosts[0].host, 20) != OMV_OK)
            return omv_error_set(r->err, OMV_E_CANCELLED, "cancelled while waiting for the bootloader");
    }
}

static int full_flash(const run *r)
{
    return !r->req->n_images && !r->req->n_actions && r->req->firmware_dir;
}

/* A full flash writes what the bootloader that answered can write: a
 * bootloader with its own flash_order (the legacy one cannot write ROMFS0)
 * narrows it, and so does what its transport said it cannot do. */
static void adapt_plan(run *r)
{
    const omvi_plugin_section *sec = omvi_board_plugin_section(r->b, r->b->transports[r->active]);
    if (!full_flash(r))
        return;
    size_t k = 0;
    size_t skipped = (size_t)-1; /* partition whose write was skipped: its verify goes too */
    for (size_t i = 0; i < r->plan.n; i++) {
        omvi_step *s = &r->plan.steps[i];
        const char *why = s->kind == OMVI_STEP_WRITE ? omvi_plan_view_cannot(&r->views[r->active], i) : NULL;
        int keep = 1;
        if ((s->kind == OMVI_STEP_WRITE || s->kind == OMVI_STEP_VERIFY) && sec && sec->n_order) {
            keep = 0;
            for (size_t j = 0; !keep && j < sec->n_order; j++)
                keep = sec->order[j] == s->part;
        }
        if (why || (s->kind == OMVI_STEP_VERIFY && s->part == skipped))
            keep = 0;
        if (keep) {
            r->plan.steps[k++] = *s;
            continue;
        }
        const char *tname = r->b->transports[r->active];
        if (s->kind == OMVI_STEP_WRITE && !s->missing && why)
            omvi_log(r->cb, OMV_LOG_WARN, "%s: %s: %s not written", tname, why, s->path);
        else if (s->kind == OMVI_STEP_WRITE && !s->missing)
            omvi_log(r->cb, OMV_LOG_WARN, "%s (the bootloader that answered) cannot write %s: %s not written", tname,
                     r->b->parts[s->part].name, s->path);
        if (s->kind == OMVI_STEP_WRITE)
            skipped = s->part;
        free(s->path);
    }
    r->plan.n = k;
}

static omv_status flash(run *r)
{
    const omv_board *b = r->b;
    const omv_request *req = r->req;
    omv_status st = omvi_plan_resolve(b, req, &r->plan, r->err);
    if (st != OMV_OK)
        return st;
    st = load_plugins(r);
    if (st != OMV_OK)
        return st;
    st = load_actions(r);
    if (st == OMV_OK)
        st = apply_settings(r);
    if (st != OMV_OK)
        return st;
    if (req->verify) {
        for (size_t i = 0; i < r->plan.n; i++) {
            const omvi_step *s = &r->plan.steps[i];
            if (s->kind == OMVI_STEP_WRITE && !b->parts[s->part].info.readable)
                omvi_log(r->cb, OMV_LOG_WARN,
                         "partition %s cannot be read back (readable = no): not verified",
                         b->parts[s->part].name);
        }
    }
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->missing)
            omvi_log(r->cb, OMV_LOG_INFO, "%s not found: partition %s is written only if a bootloader that needs it answers",
                     s->path, b->parts[s->part].name);
        emit(r, (omv_event){.type = OMV_EV_PLAN,
                            .step = omvi_step_name(s->kind),
                            .partition = step_part(r, s),
                            .file = step_file(s),
                            .total = s->size,
                            .index = (int)i + 1,
                            .count = (int)r->plan.n});
    }
    struct omv_match match = {.ids = b->boot_ids,
                              .n_ids = b->n_boot_ids,
                              .serial = req->serial,
                              .port_path = req->port_path};
    if (req->dry_run) {
        dry_ctx d = {r, 0};
        for (size_t t = 0; t < r->nt; t++) {
            st = r->tplugins[t].desc->transport->list(&r->thosts[t].host, &match, dry_found, &d, r->err);
            if (st != OMV_OK)
                return omv_error_prefix(r->err, "list devices");
        }
        if (b->entry && b->n_app_ids) {
            struct omv_match am = {.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = req->port_path};
            st = r->eplugin.desc->entry->list(&r->ehost.host, &am, dry_found, &d, r->err);
            if (st != OMV_OK)
                return omv_error_prefix(r->err, "list devices");
        }
        if (!d.found)
            omvi_log(r->cb, OMV_LOG_INFO, "dry run: no device attached now");
        return OMV_OK;
    }
    st = prepare_actions(r);
    if (st != OMV_OK)
        return st;
    if (r->h->host.cancelled(&r->h->host))
        return omv_error_set(r->err, OMV_E_CANCELLED, "cancelled");
    st = enter_bootloader(r);
    if (st != OMV_OK)
        return st;
    uint32_t wait = req->wait_ms == OMV_WAIT_DEFAULT ? b->wait_ms : req->wait_ms;
    for (size_t t = 0; t < r->nt; t++) {
        st = omvi_plan_view_build(&r->views[t], &r->plan, b, req, full_flash(r), r->err);
        if (st != OMV_OK)
            return st;
        r->thosts[t].run_plan = &r->views[t].view;
    }
    emit(r, (omv_event){.type = OMV_EV_WAITING, .total = wait});
    st = open_any(r, &match, wait);
    if (st != OMV_OK) {
        r->session = NULL;
        return st;
    }
    emit(r, (omv_event){.type = OMV_EV_DEVICE, .device = &r->info});
    adapt_plan(r);
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->missing)
            return omv_error_set(r->err, OMV_E_IMAGE,
                                 "%s (image of partition %s): No such file or directory; the %s bootloader that "
                                 "answered writes %s in a full flash",
                                 s->path, b->parts[s->part].name, b->transports[r->active], b->parts[s->part].name);
    }
    if (!r->ops->read && plan_reads(r))
        return omv_error_set(r->err, OMV_E_UNSUPPORTED,
                             "the %s bootloader cannot read partitions (needed for %s)",
                             b->transports[r->active], req->verify ? "verify" : "read");
    st = get_partitions(r);
    if (st == OMV_OK)
        st = check_partitions(r);
    if (st == OMV_OK)
        st = run_steps(r);
    return st;
}

omv_status omv_flash(const omv_board *board, const omv_request *req, const omv_callbacks *cb,
                     omv_error *err)
{
    omv_error local;
    if (!err)
        err = &local;
    omv_error_clear(err);
    uint64_t t0 = omvi_now_ms();
    run r = {.b = board, .req = req, .cb = cb, .err = err};
    omv_status st;
    if (!board || !req)
        st = omv_error_set(err, OMV_E_USAGE, "omv_flash: board and request are required");
    else
        st = flash(&r);
    if (r.session) {
        /* Refused before any step: the device goes back to its application,
         * as it would had nothing been asked of it (unless --no-reset).
         * Failed mid-way: release it and leave it in its bootloader. */
        omv_error ignored;
        r.ops->finish(r.session, !r.started && !req->no_reset, &ignored);
        r.ops->close(r.session);
        r.session = NULL;
    }
    free(r.dev);
    for (size_t i = 0; board && i < board->n_actions && r.act_plugins; i++) {
        omvi_options_free(&r.act_opts[i]);
        omvi_plugin_unload(&r.act_plugins[i]);
    }
    free(r.act_plugins);
    free(r.act_opts);
    for (size_t t = 0; t < OMVI_MAX_TRANSPORTS; t++)
        omvi_plan_view_free(&r.views[t]);
    for (size_t t = 0; t < OMVI_MAX_TRANSPORTS; t++) {
        omvi_options_free(&r.topts[t]);
        omvi_plugin_unload(&r.tplugins[t]);
    }
    omvi_options_free(&r.eopts);
    omvi_plugin_unload(&r.eplugin);
    omvi_plan_free(&r.plan);
    if (st != OMV_OK) {
        omvi_emit(cb, &(omv_event){.type = OMV_EV_ERROR, .status = st, .message = err->msg});
    } else {
        omv_error_clear(err);
    }
    omvi_emit(cb, &(omv_event){.type = OMV_EV_FINISHED,
                               .status = st,
                               .elapsed_ms = omvi_now_ms() - t0});
    return st;
}
