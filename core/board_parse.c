/*
 * Board files: the strict INI reader (ini_strict.c) hands every section
 * header and key line here with its line number; this file knows the
 * sections ([board], [partition NAME], [action NAME], a plugin's [NAME]) and
 * routes keys to board_keys.c (the core's keys) or keeps them as text for
 * the plugins. Every error reads "FILE:LINE: what is wrong".
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum sect_kind { S_NONE, S_BOARD, S_PART, S_PLUGIN, S_ACTION, S_PROFILE };

struct omvi_board_parse {
    omv_board *b;
    int line;
    omv_status failed;     /* OMV_OK while no error */
    omv_error *err;
    enum sect_kind kind;
    size_t idx;            /* partition / plugin section / action index */
};

void omvi_bp_fail(omvi_board_parse *c, int line, const char *fmt, ...)
{
    if (c->failed != OMV_OK)
        return;
    char msg[OMV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = OMV_E_BOARD;
    omv_error_set(c->err, OMV_E_BOARD, "%s:%d: %s", c->b->path, line, msg);
}

void omvi_bp_nomem(omvi_board_parse *c)
{
    if (c->failed != OMV_OK)
        return;
    c->failed = OMV_E_NOMEM;
    omv_error_set(c->err, OMV_E_NOMEM, "%s: out of memory", c->b->path);
}

omv_board *omvi_bp_board(omvi_board_parse *c) { return c->b; }
int omvi_bp_line(const omvi_board_parse *c) { return c->line; }

/* Grow *arr (of *n elements of size sz) by one zeroed element. */
static void *push(void **arr, size_t *n, size_t sz)
{
    void *p = realloc(*arr, (*n + 1) * sz);
    if (!p)
        return NULL;
    *arr = p;
    memset((char *)p + *n * sz, 0, sz);
    return (char *)p + (*n)++ * sz;
}

static omvi_plugin_section *find_psec(omvi_plugin_section *v, size_t n, const char *title)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].title, title) == 0)
            return &v[i];
    return NULL;
}

/* ---- section headers ------------------------------------------------------ */

static void begin_partition(omvi_board_parse *c, const char *name)
{
    omv_board *b = c->b;
    if (!*name) {
        omvi_bp_fail(c, c->line, "[partition] needs a name: [partition NAME]");
        return;
    }
    if (!omvi_valid_partition_name(name)) {
        omvi_bp_fail(c, c->line, "[partition %s]: partition name '%s' must be 1 to 32 letters, digits or '_'", name,
                     name);
        return;
    }
    long dup = omvi_board_find(b, name);
    if (dup >= 0) {
        omvi_bp_fail(c, c->line, "duplicate section [partition %s] (first at line %d)", name, b->parts[dup].line);
        return;
    }
    omvi_partition *p = push((void **)&b->parts, &b->n_parts, sizeof *p);
    if (!p || !(p->name = omvi_strdup(name))) {
        omvi_bp_nomem(c);
        return;
    }
    p->line = c->line;
    p->info.name = p->name;
    p->info.readable = 1;
    c->kind = S_PART;
    c->idx = b->n_parts - 1;
}

static void begin_action(omvi_board_parse *c, const char *name)
{
    omv_board *b = c->b;
    if (!*name) {
        omvi_bp_fail(c, c->line, "[action] needs a name: [action NAME]");
        return;
    }
    if (!omvi_valid_plugin_name(name)) {
        omvi_bp_fail(c, c->line, "[action %s]: action name '%s' may only contain a-z, 0-9, '_' and '-'", name, name);
        return;
    }
    omvi_plugin_section *dup = find_psec(b->actions, b->n_actions, name);
    if (dup) {
        omvi_bp_fail(c, c->line, "duplicate section [action %s] (first at line %d)", name, dup->line);
        return;
    }
    omvi_plugin_section *s = push((void **)&b->actions, &b->n_actions, sizeof *s);
    if (!s || !(s->title = omvi_strdup(name))) {
        omvi_bp_nomem(c);
        return;
    }
    s->line = c->line;
    c->kind = S_ACTION;
    c->idx = b->n_actions - 1;
}

/* [dfu]: a plugin's options; checked against the plugin once it is loaded. */
static void begin_plugin_section(omvi_board_parse *c, const char *title)
{
    omv_board *b = c->b;
    omvi_plugin_section *dup = find_psec(b->psections, b->n_psections, title);
    if (dup) {
        omvi_bp_fail(c, c->line, "duplicate section [%s] (first at line %d)", title, dup->line);
        return;
    }
    omvi_plugin_section *s = push((void **)&b->psections, &b->n_psections, sizeof *s);
    if (!s || !(s->title = omvi_strdup(title)) || !(s->plugin = omvi_strdup(title))) {
        omvi_bp_nomem(c);
        return;
    }
    s->line = s->plugin_line = c->line;
    c->kind = S_PLUGIN;
    c->idx = b->n_psections - 1;
}

static omv_status on_section(void *user, const char *title, int line, omv_error *err)
{
    (void)err;
    omvi_board_parse *c = user;
    c->line = line;
    size_t fl = strcspn(title, " \t");
    const char *rest = title + fl;
    while (isspace((unsigned char)*rest))
        rest++;
    if (strcmp(title, "board") == 0) {
        if (c->b->board_line)
            omvi_bp_fail(c, line, "duplicate section [board] (first at line %d)", c->b->board_line);
        c->b->board_line = line;
        c->kind = S_BOARD;
    } else if (fl == 9 && strncmp(title, "partition", fl) == 0) {
        begin_partition(c, rest);
    } else if (fl == 6 && strncmp(title, "action", fl) == 0) {
        begin_action(c, rest);
    } else if (fl == 7 && strncmp(title, "profile", fl) == 0) {
        omvi_profile_begin(c, rest);
        c->kind = S_PROFILE;
        c->idx = c->b->n_profiles ? c->b->n_profiles - 1 : 0;
    } else if (*rest || !omvi_valid_plugin_name(title)) {
        omvi_bp_fail(c, line,
                     "unknown section [%s] (expected [board], [partition NAME], [profile NAME], [action NAME] or a "
                     "plugin's [NAME])",
                     title);
    } else {
        begin_plugin_section(c, title);
    }
    return c->failed;
}

/* ---- keys of plugin sections ------------------------------------------------ */

/* Partition names of a core key in a plugin section (flash_order, restore, recovers). */
static void part_list_key(omvi_board_parse *c, omvi_part_list *l, const char *label, const char *name,
                          const char *value)
{
    if (l->line) {
        omvi_bp_fail(c, c->line, "%s duplicate key '%s' (first at line %d)", label, name, l->line);
        return;
    }
    size_t bad = 0;
    int r = omvi_split_list(value, &l->names, &l->n, &bad);
    if (r == -2) {
        omvi_bp_nomem(c);
        return;
    }
    if (r != 0 || l->n == 0) {
        omvi_bp_fail(c, c->line, "%s %s: empty partition name in '%s'", label, name, value);
        return;
    }
    l->line = c->line;
}

static void action_plugin_key(omvi_board_parse *c, omvi_plugin_section *s, const char *label, const char *value)
{
    if (s->plugin) {
        omvi_bp_fail(c, c->line, "%s duplicate key 'plugin' (first at line %d)", label, s->plugin_line);
        return;
    }
    if (!*value || !omvi_valid_plugin_name(value)) {
        omvi_bp_fail(c, c->line, "%s plugin: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')", label, value);
        return;
    }
    s->plugin_line = c->line;
    if (!(s->plugin = omvi_strdup(value)))
        omvi_bp_nomem(c);
}

/* Keep "key = value" for the plugin; a key given twice is an error now. */
static void keep_raw(omvi_board_parse *c, omvi_raw_option **opts, size_t *n, const char *label, const char *name,
                     const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*opts)[i].key, name) == 0) {
            omvi_bp_fail(c, c->line, "%s duplicate key '%s' (first at line %d)", label, name, (*opts)[i].line);
            return;
        }
    }
    if (!*value) {
        omvi_bp_fail(c, c->line, "%s %s: empty value", label, name);
        return;
    }
    omvi_raw_option *o = push((void **)opts, n, sizeof *o);
    if (!o || !(o->key = omvi_strdup(name)) || !(o->value = omvi_strdup(value))) {
        omvi_bp_nomem(c);
        return;
    }
    o->line = c->line;
}

void omvi_board_keep_raw(omvi_board_parse *c, omvi_raw_option **opts, size_t *n, const char *label,
                         const char *name, const char *value)
{
    keep_raw(c, opts, n, label, name, value);
}

/* A key of [NAME] or [action NAME]: the core's own (plugin, flash_order,
 * restore, recovers) or the plugin's, kept for it. */
static void plugin_section_key(omvi_board_parse *c, omvi_plugin_section *s, int action, const char *name,
                               const char *value)
{
    char label[96];
    snprintf(label, sizeof label, action ? "[action %s]" : "[%s]", s->title);
    if (action && strcmp(name, "plugin") == 0)
        action_plugin_key(c, s, label, value);
    else if (!action && strcmp(name, "flash_order") == 0)
        part_list_key(c, &s->order, label, name, value);
    else if (action && strcmp(name, "restore") == 0)
        part_list_key(c, &s->restore, label, name, value);
    else if (action && strcmp(name, "recovers") == 0)
        part_list_key(c, &s->recovers, label, name, value);
    else
        keep_raw(c, &s->opts, &s->n_opts, label, name, value);
}

static omv_status on_key(void *user, const char *name, const char *value, int line, omv_error *err)
{
    (void)err;
    omvi_board_parse *c = user;
    c->line = line;
    switch (c->kind) {
    case S_NONE:
        omvi_bp_fail(c, line, "key '%s' outside any section (start with [board])", name);
        break;
    case S_BOARD:
        omvi_board_key(c, name, value);
        break;
    case S_PART:
        omvi_partition_key(c, &c->b->parts[c->idx], name, value);
        break;
    case S_PLUGIN:
        plugin_section_key(c, &c->b->psections[c->idx], 0, name, value);
        break;
    case S_ACTION:
        plugin_section_key(c, &c->b->actions[c->idx], 1, name, value);
        break;
    case S_PROFILE:
        omvi_profile_key(c, &c->b->profiles[c->idx], name, value);
        break;
    }
    return c->failed;
}

omv_status omv_board_load(const char *path, omv_board **out, omv_error *err)
{
    if (!path || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_load: path and out are required");
    *out = NULL;
    omv_board *b = calloc(1, sizeof *b);
    if (!b || !(b->path = omvi_strdup(path))) {
        free(b);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    }
    b->wait_ms = 10000;
    b->confirm_ms = 10000;
    b->poll_ms = OMVI_DEFAULT_POLL_MS;
    b->retries = OMVI_DEFAULT_RETRIES;
    b->filesystem = -1;
    omvi_board_parse c = {.b = b, .err = err};
    static const omvi_ini_ops ops = {.section = on_section, .key = on_key, .what = " (board file)"};
    omv_status st = omvi_ini_parse(path, OMV_E_BOARD, &ops, &c, err);
    if (st == OMV_OK)
        omvi_board_check(&c);
    st = st != OMV_OK ? st : c.failed;
    if (st != OMV_OK) {
        omv_board_free(b);
        return st;
    }
    *out = b;
    return OMV_OK;
}
