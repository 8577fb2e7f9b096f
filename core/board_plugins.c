/*
 * A board's plugins as one set: its transports and entry plugins loaded,
 * their options resolved and checked (with the board's partition options,
 * which the transports declare), then started (check(), init()) and finally
 * stopped (exit()) and unloaded. Used by omv_flash(), omv_watcher,
 * omv_list_devices(), omv_identify() and omv_board_check_plugins(), so a
 * board file is checked the same way whatever reads it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void log_loaded(const omv_callbacks *cb, const omvi_bplugin *bp)
{
    const struct omv_plugin *d = bp->p.desc;
    omvi_log(cb, OMV_LOG_DEBUG, "%s plugin %s %s loaded from %s", omvi_plugin_kind_name(d->kind), d->name,
             d->version ? d->version : "", bp->p.path);
}

omv_status omvi_bplugin_load(omvi_bplugin *bp, const omv_board *b, const char *name, enum omv_plugin_kind kind,
                             const omvi_plugin_section *sec, int line, const char *label, const char *plugin_dir,
                             const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err)
{
    memset(bp, 0, sizeof *bp);
    char context[1200];
    snprintf(context, sizeof context, "%s:%d: %s plugin '%s'", b->path, line, omvi_plugin_kind_name(kind), name);
    omv_status st = omvi_plugin_load(name, kind, plugin_dir, context, &bp->p, err);
    if (st != OMV_OK)
        return st;
    log_loaded(cb, bp);
    snprintf(bp->label, sizeof bp->label, "%s", label);
    bp->line = sec ? sec->line : line;
    st = omvi_options_resolve(b->path, label, line, sec, bp->p.desc, &bp->opts, err);
    if (st == OMV_OK)
        st = omvi_host_init(&bp->h, cb, cancel, &bp->opts, b, bp->p.desc, err);
    return st;
}

omv_status omvi_bplugin_start(omvi_bplugin *bp, const omv_board *b, omv_error *err)
{
    const struct omv_plugin *d = bp->p.desc;
    if (d->check) {
        omv_status st = d->check(&bp->h.host, err);
        if (st != OMV_OK) {
            omv_error_prefix(err, "%s:%d: %s", b->path, bp->line, bp->label);
            return st;
        }
    }
    if (d->init) {
        omv_status st = d->init(&bp->h.host, &bp->ctx, err);
        if (st != OMV_OK)
            return omv_error_prefix(err, "%s plugin %s", omvi_plugin_kind_name(d->kind), d->name);
    }
    bp->started = 1;
    return OMV_OK;
}

void omvi_bplugin_close(omvi_bplugin *bp)
{
    if (bp->started && bp->p.desc->exit)
        bp->p.desc->exit(bp->ctx);
    bp->started = 0;
    bp->ctx = NULL;
    omvi_host_free(&bp->h);
    omvi_options_free(&bp->opts);
    omvi_plugin_unload(&bp->p);
}

omv_status omvi_plugin_set_load(omvi_plugin_set *s, const omv_board *b, const char *plugin_dir,
                                const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err)
{
    memset(s, 0, sizeof *s);
    s->b = b;
    char label[96];
    for (size_t t = 0; t < b->n_transports; t++) {
        const char *name = b->transports[t];
        snprintf(label, sizeof label, "[%s]", name);
        s->nt = t + 1;
        omv_status st = omvi_bplugin_load(&s->t[t], b, name, OMV_PLUGIN_TRANSPORT, omvi_board_plugin_section(b, name),
                                          b->key_lines[OMVI_BK_TRANSPORT], label, plugin_dir, cb, cancel, err);
        if (st != OMV_OK)
            return st;
    }
    for (size_t e = 0; e < b->n_entries; e++) {
        const char *name = b->entries[e];
        snprintf(label, sizeof label, "[%s]", name);
        s->ne = e + 1;
        omv_status st = omvi_bplugin_load(&s->e[e], b, name, OMV_PLUGIN_ENTRY, omvi_board_plugin_section(b, name),
                                          b->key_lines[OMVI_BK_ENTRY], label, plugin_dir, cb, cancel, err);
        if (st != OMV_OK)
            return st;
    }
    const struct omv_plugin *descs[OMVI_MAX_TRANSPORTS];
    for (size_t t = 0; t < s->nt; t++)
        descs[t] = s->t[t].p.desc;
    return omvi_partition_options_check(b, descs, s->nt, err);
}

omv_status omvi_plugin_set_start(omvi_plugin_set *s, omv_error *err)
{
    for (size_t t = 0; t < s->nt; t++) {
        omv_status st = omvi_bplugin_start(&s->t[t], s->b, err);
        if (st != OMV_OK)
            return st;
    }
    for (size_t e = 0; e < s->ne; e++) {
        omv_status st = omvi_bplugin_start(&s->e[e], s->b, err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

void omvi_plugin_set_close(omvi_plugin_set *s)
{
    for (size_t e = s->ne; e > 0; e--)
        omvi_bplugin_close(&s->e[e - 1]);
    for (size_t t = s->nt; t > 0; t--)
        omvi_bplugin_close(&s->t[t - 1]);
    s->nt = s->ne = 0;
}

omv_status omvi_plugin_set_open(omvi_plugin_set *s, const omv_board *b, const char *plugin_dir,
                                const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err)
{
    omv_status st = omvi_plugin_set_load(s, b, plugin_dir, cb, cancel, err);
    if (st == OMV_OK)
        st = omvi_plugin_set_start(s, err);
    if (st != OMV_OK)
        omvi_plugin_set_close(s);
    return st;
}

/* Action @p i of @p b loaded with its section's options (not started). */
omv_status omvi_action_load(omvi_bplugin *bp, const omv_board *b, size_t i, const char *plugin_dir,
                            const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err)
{
    const omvi_plugin_section *a = &b->actions[i];
    char label[96];
    snprintf(label, sizeof label, "[action %s]", a->title);
    return omvi_bplugin_load(bp, b, a->plugin, OMV_PLUGIN_ACTION, a, a->plugin_line, label, plugin_dir, cb, cancel,
                             err);
}

static omv_status check_plugins(const omv_board *b, const char *plugin_dir, omv_error *err)
{
    omvi_plugin_set s;
    omv_status st = omvi_plugin_set_load(&s, b, plugin_dir, NULL, NULL, err);
    for (size_t t = 0; st == OMV_OK && t < s.nt; t++)
        if (s.t[t].p.desc->check)
            st = omvi_bplugin_start(&s.t[t], b, err); /* check() and init(); nothing is opened */
    for (size_t e = 0; st == OMV_OK && e < s.ne; e++)
        if (s.e[e].p.desc->check)
            st = omvi_bplugin_start(&s.e[e], b, err);
    omvi_plugin_set_close(&s);
    for (size_t i = 0; st == OMV_OK && i < b->n_actions; i++) {
        omvi_bplugin a;
        st = omvi_action_load(&a, b, i, plugin_dir, NULL, NULL, err);
        if (st == OMV_OK && a.p.desc->check)
            st = omvi_bplugin_start(&a, b, err);
        omvi_bplugin_close(&a);
    }
    return st;
}

omv_status omv_board_check_plugins(const omv_board *b, const char *plugin_dir, omv_error *err)
{
    if (!b)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_check_plugins: no board");
    omv_status st = check_plugins(b, plugin_dir, err);
    /* Every profile that can run is a board of its own, checked the same way. */
    for (size_t i = 0; st == OMV_OK && i < b->n_profiles; i++) {
        if (b->profiles[i].refuse)
            continue;
        omv_board *pb = NULL;
        st = omv_board_select_profile(b, b->profiles[i].name, &pb, err);
        if (st == OMV_OK)
            st = check_plugins(pb, plugin_dir, err);
        omv_board_free(pb);
    }
    return st;
}

/* Shorthands of one loaded plugin to @p found. */
static void report_shorthands(const omvi_bplugin *bp,
                              void (*found)(void *, const char *, const char *, const char *, const char *,
                                            const char *),
                              void *user)
{
    const struct omv_plugin *d = bp->p.desc;
    for (size_t i = 0; d->shorthands && d->shorthands[i].flag; i++) {
        const struct omv_shorthand *sh = &d->shorthands[i];
        found(user, sh->flag, sh->metavar ? sh->metavar : "VALUE", sh->help ? sh->help : "", d->name, sh->option);
    }
}

omv_status omv_board_shorthands(const omv_board *b, const char *plugin_dir,
                                void (*found)(void *user, const char *flag, const char *metavar, const char *help,
                                              const char *plugin, const char *option),
                                void *user, omv_error *err)
{
    if (!b || !found)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_shorthands: board and callback are required");
    omvi_plugin_set s;
    omv_status st = omvi_plugin_set_load(&s, b, plugin_dir, NULL, NULL, err);
    for (size_t t = 0; st == OMV_OK && t < s.nt; t++)
        report_shorthands(&s.t[t], found, user);
    for (size_t e = 0; st == OMV_OK && e < s.ne; e++)
        report_shorthands(&s.e[e], found, user);
    omvi_plugin_set_close(&s);
    for (size_t i = 0; st == OMV_OK && i < b->n_actions; i++) {
        omvi_bplugin a;
        st = omvi_action_load(&a, b, i, plugin_dir, NULL, NULL, err);
        if (st == OMV_OK)
            report_shorthands(&a, found, user);
        omvi_bplugin_close(&a);
    }
    return st;
}
