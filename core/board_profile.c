/*
 * omv_board_select_profile(): the board as one of its [profile NAME]
 * sections describes it, built as a board of its own, so that everything
 * that takes a board (plan, plugins, the wait, --dry-run, --list-devices)
 * works on it unchanged. What the profile does not set is the board's;
 * partitions it does not reach are left out (indexes renumbered); a
 * profile with its own transport takes only its own partition options and
 * no entry plugins or actions (they belong to the board's bootloader).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct derive {
    const omv_board *b;
    const omvi_profile *p;
    omv_board *out;
    long *map;          /* board partition index -> profile board index, -1 when left out */
    int failed;
} derive;

static char *sdup(derive *d, const char *s)
{
    char *r = s ? omvi_strdup(s) : NULL;
    if (s && !r)
        d->failed = 1;
    return r;
}

static void *dup_mem(derive *d, const void *src, size_t n, size_t size)
{
    if (!n)
        return NULL;
    void *r = malloc(n * size);
    if (!r)
        d->failed = 1;
    else
        memcpy(r, src, n * size);
    return r;
}

static char **dup_list(derive *d, char *const *v, size_t n)
{
    char **r = n ? calloc(n, sizeof *r) : NULL;
    if (n && !r)
        d->failed = 1;
    for (size_t i = 0; r && i < n; i++)
        r[i] = sdup(d, v[i]);
    return r;
}

static omvi_raw_option *dup_raw(derive *d, const omvi_raw_option *v, size_t n)
{
    omvi_raw_option *r = n ? calloc(n, sizeof *r) : NULL;
    if (n && !r)
        d->failed = 1;
    for (size_t i = 0; r && i < n; i++) {
        r[i].key = sdup(d, v[i].key);
        r[i].value = sdup(d, v[i].value);
        r[i].line = v[i].line;
    }
    return r;
}

/* A partition list renumbered for the profile board (partitions left out are dropped). */
static void map_list(derive *d, const omvi_part_list *src, omvi_part_list *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->line = src->line;
    if (!src->n)
        return;
    dst->names = calloc(src->n, sizeof *dst->names);
    dst->index = calloc(src->n, sizeof *dst->index);
    if (!dst->names || !dst->index) {
        d->failed = 1;
        return;
    }
    for (size_t i = 0; i < src->n; i++) {
        long to = d->map[src->index[i]];
        if (to < 0)
            continue;
        dst->names[dst->n] = sdup(d, src->names[i]);
        dst->index[dst->n++] = (size_t)to;
    }
}

static int listed(const omvi_part_list *l, size_t part)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->index[i] == part)
            return 1;
    return 0;
}

static void copy_partition(derive *d, size_t from, omvi_partition *q)
{
    const omvi_partition *src = &d->b->parts[from];
    const omvi_profile_part *pp = &d->p->parts[from];
    q->info = src->info;
    q->name = sdup(d, src->name);
    q->image = sdup(d, pp->image ? pp->image : src->image);
    q->line = src->line;
    q->skip_give_up = src->skip_give_up;
    memcpy(q->key_lines, src->key_lines, sizeof q->key_lines);
    q->info.name = q->name;
    q->info.image = q->image;
    if (pp->size)
        q->info.size = pp->size;
    if (pp->timeout_line)
        q->info.timeout_ms = pp->timeout_ms;
    if (listed(&d->p->writable, from)) {
        q->info.read_only = 0;
        q->guarded = 1;
    }
    /* A profile with its own transport takes only its own partition options:
     * the board's belong to the board's transports. */
    if (d->p->n_transports) {
        q->opts = dup_raw(d, pp->opts, pp->n_opts);
        q->n_opts = pp->n_opts;
        if (pp->n_opts) {
            char where[96];
            snprintf(where, sizeof where, "profile %s", d->p->name);
            q->opts_where = sdup(d, where);
        }
        return;
    }
    q->opts = dup_raw(d, src->opts, src->n_opts);
    q->n_opts = q->opts ? src->n_opts : 0;
    for (size_t i = 0; i < pp->n_opts && !d->failed; i++) {
        omvi_raw_option *o = NULL;
        for (size_t k = 0; k < q->n_opts; k++)
            if (strcmp(q->opts[k].key, pp->opts[i].key) == 0)
                o = &q->opts[k];
        if (!o) {
            omvi_raw_option *v = realloc(q->opts, (q->n_opts + 1) * sizeof *v);
            if (!v) {
                d->failed = 1;
                return;
            }
            q->opts = v;
            o = &v[q->n_opts++];
            o->key = sdup(d, pp->opts[i].key);
        } else {
            free(o->value);
        }
        o->value = sdup(d, pp->opts[i].value);
        o->line = pp->opts[i].line;
    }
}

static void copy_partitions(derive *d)
{
    const omv_board *b = d->b;
    omv_board *o = d->out;
    if (!(d->map = malloc((b->n_parts ? b->n_parts : 1) * sizeof *d->map)) ||
        !(o->parts = calloc(b->n_parts ? b->n_parts : 1, sizeof *o->parts))) {
        d->failed = 1;
        return;
    }
    for (size_t i = 0; i < b->n_parts; i++) {
        int keep = !d->p->partitions.n || listed(&d->p->partitions, i);
        d->map[i] = keep ? (long)o->n_parts : -1;
        if (keep)
            copy_partition(d, i, &o->parts[o->n_parts++]);
    }
}

static void copy_section(derive *d, const omvi_plugin_section *s)
{
    omv_board *o = d->out;
    omvi_plugin_section *v = realloc(o->psections, (o->n_psections + 1) * sizeof *v);
    if (!v) {
        d->failed = 1;
        return;
    }
    o->psections = v;
    omvi_plugin_section *q = &v[o->n_psections++];
    memset(q, 0, sizeof *q);
    q->title = sdup(d, s->title);
    q->plugin = sdup(d, s->plugin);
    q->line = s->line;
    q->plugin_line = s->plugin_line;
    q->opts = dup_raw(d, s->opts, s->n_opts);
    q->n_opts = q->opts ? s->n_opts : 0;
    map_list(d, &s->order, &q->order);
}

/* The plugin sections of the profile board's transports and entry plugins. */
static void copy_sections(derive *d)
{
    const omv_board *b = d->b;
    omv_board *o = d->out;
    for (size_t i = 0; i < b->n_psections && !d->failed; i++) {
        int used = 0;
        for (size_t t = 0; t < o->n_transports; t++)
            used |= strcmp(o->transports[t], b->psections[i].title) == 0;
        for (size_t e = 0; e < o->n_entries; e++)
            used |= strcmp(o->entries[e], b->psections[i].title) == 0;
        if (used)
            copy_section(d, &b->psections[i]);
    }
}

static void copy_board_keys(derive *d)
{
    const omv_board *b = d->b;
    const omvi_profile *p = d->p;
    omv_board *o = d->out;
    o->path = sdup(d, b->path);
    o->name = sdup(d, b->name);
    o->board_line = b->board_line;
    memcpy(o->key_lines, b->key_lines, sizeof o->key_lines);
    const struct omv_usb_id *ids = p->n_boot_ids ? p->boot_ids : b->boot_ids;
    o->n_boot_ids = p->n_boot_ids ? p->n_boot_ids : b->n_boot_ids;
    o->boot_ids = dup_mem(d, ids, o->n_boot_ids, sizeof *ids);
    o->n_app_ids = b->n_app_ids;
    o->app_ids = dup_mem(d, b->app_ids, b->n_app_ids, sizeof *b->app_ids);
    o->n_transports = p->n_transports ? p->n_transports : b->n_transports;
    o->transports = dup_list(d, p->n_transports ? p->transports : b->transports, o->n_transports);
    if (p->n_boot_ids)
        o->key_lines[OMVI_BK_BOOT_IDS] = p->key_lines[OMVI_PRK_BOOT_IDS];
    if (p->flash_order.n)
        o->key_lines[OMVI_BK_FLASH_ORDER] = p->key_lines[OMVI_PRK_FLASH_ORDER];
    if (p->n_transports) {
        o->key_lines[OMVI_BK_TRANSPORT] = p->key_lines[OMVI_PRK_TRANSPORT];
        o->key_lines[OMVI_BK_ENTRY] = 0;
    } else {
        o->n_entries = b->n_entries;
        o->entries = dup_list(d, b->entries, b->n_entries);
    }
    o->firmware_list = sdup(d, b->firmware_list);
    o->firmware_dir = sdup(d, b->firmware_dir);
    o->arch = sdup(d, b->arch);
    o->wait_ms = p->key_lines[OMVI_PRK_WAIT_MS] ? p->wait_ms : b->wait_ms;
    o->poll_ms = b->poll_ms;
    o->retries = b->retries;
    o->confirm_ms = b->confirm_ms;
    o->profile = sdup(d, p->name);
    o->profile_line = p->line;
    o->wait_message = sdup(d, p->message);
}

static void copy_rest(derive *d)
{
    const omv_board *b = d->b;
    omv_board *o = d->out;
    map_list(d, d->p->flash_order.n ? &d->p->flash_order : &b->flash_order, &o->flash_order);
    o->filesystem = b->filesystem >= 0 ? d->map[b->filesystem] : -1;
    if (o->filesystem >= 0)
        o->filesystem_name = sdup(d, b->filesystem_name);
    copy_sections(d);
}

static omv_status find_profile(const omv_board *b, const char *name, const omvi_profile **out, omv_error *err)
{
    char names[256] = "";
    for (size_t i = 0; i < b->n_profiles; i++) {
        if (strcmp(b->profiles[i].name, name) == 0) {
            *out = &b->profiles[i];
            return OMV_OK;
        }
        omvi_join_add(names, sizeof names, b->profiles[i].name);
    }
    return omv_error_set(err, OMV_E_USAGE, "%s has no profile '%s' (%s: %s)", b->name, name, b->path,
                         names[0] ? names : "no [profile NAME] sections");
}

omv_status omv_board_select_profile(const omv_board *b, const char *name, omv_board **out, omv_error *err)
{
    if (!b || !name || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_select_profile: board, name and out are required");
    *out = NULL;
    if (b->profile)
        return omv_error_set(err, OMV_E_USAGE, "%s is already the view of its profile '%s'", b->name, b->profile);
    const omvi_profile *p = NULL;
    omv_status st = find_profile(b, name, &p, err);
    if (st != OMV_OK)
        return st;
    if (p->refuse)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "%s, profile %s: %s", b->name, p->name, p->refuse);
    derive d = {.b = b, .p = p, .out = calloc(1, sizeof(omv_board))};
    if (!d.out)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    copy_board_keys(&d);
    copy_partitions(&d);
    if (!d.failed)
        copy_rest(&d);
    free(d.map);
    if (d.failed) {
        omv_board_free(d.out);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    *out = d.out;
    return OMV_OK;
}

size_t omv_board_profile_count(const omv_board *b) { return b ? b->n_profiles : 0; }
const char *omv_board_profile_name(const omv_board *b, size_t i) { return b && i < b->n_profiles ? b->profiles[i].name : NULL; }
const char *omv_board_profile(const omv_board *b) { return b ? b->profile : NULL; }
const char *omv_board_wait_message(const omv_board *b) { return b ? b->wait_message : NULL; }
