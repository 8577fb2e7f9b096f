/*
 * omv_flash(), before any device I/O: the board's plugins and the requested
 * actions loaded (the board file's plugin errors first), --set and
 * command-line shorthands applied (usage errors name what exists), the
 * plugins started once the plan stands, what no transport can do refused,
 * --dry-run's listing, and the actions' own checks.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

static int action_requested(const omvi_run *r, size_t k)
{
    return r->actions && r->actions[k].p.desc;
}

/* Every loaded plugin of the run in turn: transports, entry plugins, requested actions. */
static omvi_bplugin *loaded(omvi_run *r, size_t i)
{
    if (i < r->set.nt)
        return &r->set.t[i];
    i -= r->set.nt;
    if (i < r->set.ne)
        return &r->set.e[i];
    i -= r->set.ne;
    for (size_t k = 0; r->actions && k < r->b->n_actions; k++)
        if (r->actions[k].p.desc && i-- == 0)
            return &r->actions[k];
    return NULL;
}

/* --set KEY=VALUE: every loaded plugin that declares KEY takes it. */
static omv_status apply_set(omvi_run *r, const omv_image_spec *set)
{
    int applied = 0;
    char what[256];
    snprintf(what, sizeof what, "--set %s=%s", set->partition, set->path);
    for (size_t i = 0; loaded(r, i); i++) {
        omv_status st = omvi_options_override(&loaded(r, i)->opts, set->partition, set->path, what, &applied, r->err);
        if (st != OMV_OK)
            return st;
    }
    if (!applied)
        return omv_error_set(r->err, OMV_E_USAGE,
                             "setting '%s': no plugin of %s (transports, entry, requested actions) has such an option",
                             set->partition, r->b->name);
    return OMV_OK;
}

static const struct omv_shorthand *find_shorthand(const struct omv_plugin *d, const char *flag)
{
    for (size_t i = 0; d->shorthands && d->shorthands[i].flag; i++)
        if (strcmp(d->shorthands[i].flag, flag) == 0)
            return &d->shorthands[i];
    return NULL;
}

/* A flag no loaded plugin declares: an action that was not requested may. */
static omv_status unknown_shorthand(omvi_run *r, const char *flag)
{
    char flags[256] = "";
    for (size_t i = 0; loaded(r, i); i++) {
        const struct omv_plugin *d = loaded(r, i)->p.desc;
        for (size_t k = 0; d->shorthands && d->shorthands[k].flag; k++) {
            char f[64];
            snprintf(f, sizeof f, "--%s", d->shorthands[k].flag);
            omvi_join_add(flags, sizeof flags, f);
        }
    }
    for (size_t k = 0; k < r->b->n_actions; k++) {
        if (action_requested(r, k))
            continue;
        omvi_bplugin a;
        omv_error ignored;
        int has = omvi_action_load(&a, r->b, k, r->req->plugin_dir, NULL, NULL, &ignored) == OMV_OK &&
                  find_shorthand(a.p.desc, flag);
        omvi_bplugin_close(&a);
        if (has)
            return omv_error_set(r->err, OMV_E_USAGE, "--%s belongs to action %s: add --action %s", flag,
                                 r->b->actions[k].title, r->b->actions[k].title);
    }
    return omv_error_set(r->err, OMV_E_USAGE, "unknown option '--%s' (see --help; the plugins of %s add: %s)", flag,
                         r->b->name, flags[0] ? flags : "nothing");
}

/* --FLAG VALUE: the option of the plugin declaring FLAG (a transport's, an entry plugin's, a requested action's). */
static omv_status apply_shorthand(omvi_run *r, const omv_image_spec *sh)
{
    int found = 0;
    char what[256];
    snprintf(what, sizeof what, "--%s", sh->partition);
    for (size_t i = 0; loaded(r, i); i++) {
        omvi_bplugin *bp = loaded(r, i);
        const struct omv_shorthand *d = find_shorthand(bp->p.desc, sh->partition);
        if (!d)
            continue;
        found = 1;
        int applied = 0;
        omv_status st = omvi_options_override(&bp->opts, d->option, sh->path, what, &applied, r->err);
        if (st != OMV_OK)
            return st;
    }
    return found ? OMV_OK : unknown_shorthand(r, sh->partition);
}

/* The requested actions' plugins, by name (an unknown name is the plan's to report). */
static omv_status load_actions(omvi_run *r)
{
    const omv_board *b = r->b;
    if (!b->n_actions)
        return OMV_OK;
    r->actions = calloc(b->n_actions, sizeof *r->actions);
    if (!r->actions)
        return omv_error_set(r->err, OMV_E_NOMEM, "out of memory");
    for (size_t i = 0; r->req->actions && i < r->req->n_actions; i++) {
        for (size_t k = 0; k < b->n_actions; k++) {
            if (!r->req->actions[i] || strcmp(b->actions[k].title, r->req->actions[i]) != 0 || r->actions[k].p.desc)
                continue;
            omv_status st = omvi_action_load(&r->actions[k], b, k, r->req->plugin_dir, r->cb, r->req->cancel, r->err);
            if (st != OMV_OK)
                return st;
        }
    }
    return OMV_OK;
}

omv_status omvi_run_load_plugins(omvi_run *r)
{
    const omv_request *req = r->req;
    omv_status st = omvi_plugin_set_load(&r->set, r->b, req->plugin_dir, r->cb, req->cancel, r->err);
    if (st == OMV_OK)
        st = load_actions(r);
    for (size_t i = 0; st == OMV_OK && req->settings && i < req->n_settings; i++)
        st = apply_set(r, &req->settings[i]);
    for (size_t i = 0; st == OMV_OK && req->shorthands && i < req->n_shorthands; i++)
        st = apply_shorthand(r, &req->shorthands[i]);
    return st;
}

omv_status omvi_run_start_plugins(omvi_run *r)
{
    omv_status st = omvi_plugin_set_start(&r->set, r->err);
    for (size_t k = 0; st == OMV_OK && r->actions && k < r->b->n_actions; k++)
        if (r->actions[k].p.desc)
            st = omvi_bplugin_start(&r->actions[k], r->b, r->err);
    r->h = &r->set.t[0].h;
    r->ops = omvi_tops(&r->set, 0);
    return st;
}

void omvi_run_free_actions(omvi_run *r)
{
    for (size_t k = 0; r->actions && k < r->b->n_actions; k++)
        omvi_bplugin_close(&r->actions[k]);
    free(r->actions);
    r->actions = NULL;
}

omv_status omvi_run_check_capabilities(omvi_run *r)
{
    int reads = 0, erases = 0, writes = 0, can_read = 0, can_erase = 0;
    for (size_t i = 0; i < r->plan.n; i++) {
        reads |= r->plan.steps[i].kind == OMVI_STEP_READ || r->plan.steps[i].kind == OMVI_STEP_VERIFY;
        erases |= r->plan.steps[i].kind == OMVI_STEP_ERASE;
        writes |= r->plan.steps[i].kind == OMVI_STEP_WRITE;
    }
    for (size_t t = 0; t < r->set.nt; t++) {
        can_read |= omvi_tops(&r->set, t)->read != NULL;
        can_erase |= omvi_tops(&r->set, t)->erase != NULL;
    }
    if (reads && !can_read)
        return omv_error_set(r->err, OMV_E_UNSUPPORTED, "the %s bootloader cannot read partitions (needed for %s)",
                             r->b->transports[0], r->req->verify ? "verify" : "read");
    if (erases && !can_erase)
        return omv_error_set(r->err, OMV_E_UNSUPPORTED, "the %s bootloader cannot erase partitions (needed for "
                             "--erase-filesystem)", r->b->transports[0]);
    if (writes && r->req->skip_unchanged && !can_read)
        return omvi_refuse_skip(r->err, r->b->transports[0]);
    return OMV_OK;
}

typedef struct dry_ctx {
    const omv_callbacks *cb;
    int found;
} dry_ctx;

static void dry_found(void *user, const struct omv_device_info *dev)
{
    dry_ctx *d = user;
    d->found++;
    omvi_log(d->cb, OMV_LOG_INFO, "device attached now: %04X:%04X serial %s on port %s (%s)", dev->vid, dev->pid,
             dev->serial[0] ? dev->serial : "(none)", dev->port_path[0] ? dev->port_path : "(unknown)",
             dev->mode[0] ? dev->mode : "?");
}

omv_status omvi_run_dry_list(omvi_run *r)
{
    const omv_board *b = r->b;
    omvi_plugin_set *s = &r->set;
    struct omv_match match = {.ids = b->boot_ids, .n_ids = b->n_boot_ids, .serial = r->req->serial,
                              .port_path = r->req->port_path};
    struct omv_match am = {.ids = b->app_ids, .n_ids = b->n_app_ids, .port_path = r->req->port_path};
    dry_ctx d = {r->cb, 0};
    omv_status st = OMV_OK;
    for (size_t t = 0; st == OMV_OK && t < s->nt; t++)
        st = omvi_tops(s, t)->list(s->t[t].ctx, &s->t[t].h.host, &match, dry_found, &d, r->err);
    for (size_t e = 0; st == OMV_OK && b->n_app_ids && e < s->ne; e++)
        st = omvi_eops(s, e)->list(s->e[e].ctx, &s->e[e].h.host, &am, dry_found, &d, r->err);
    if (st != OMV_OK)
        return omv_error_prefix(r->err, "list devices");
    if (!d.found)
        omvi_log(r->cb, OMV_LOG_INFO, "dry run: no device attached now");
    return OMV_OK;
}

omv_status omvi_run_prepare_actions(omvi_run *r)
{
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        omvi_bplugin *a = s->kind == OMVI_STEP_ACTION ? &r->actions[s->part] : NULL;
        if (!a || !a->p.desc->action->prepare)
            continue;
        omv_status st = a->p.desc->action->prepare(a->ctx, &a->h.host, r->err);
        if (st != OMV_OK)
            return omv_error_prefix(r->err, "action %s", r->b->actions[s->part].title);
    }
    return OMV_OK;
}
