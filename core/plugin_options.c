/*
 * A plugin's board-file section checked against the options the plugin
 * declares, and the resolved values the host hands out (option_str/uint).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int parse_typed(enum omv_option_type t, const char *v, uint64_t *num)
{
    int b;
    switch (t) {
    case OMV_OPT_UINT:
        return omvi_parse_size(v, num);
    case OMV_OPT_BOOL:
        if (omvi_parse_bool(v, &b) != 0)
            return -1;
        *num = (uint64_t)b;
        return 0;
    case OMV_OPT_STRING:
        *num = 0;
        return 0;
    }
    return -1;
}

static const char *type_hint(enum omv_option_type t)
{
    switch (t) {
    case OMV_OPT_UINT: return "is not an unsigned number (use 123, 0x1000, 64K, 3M)";
    case OMV_OPT_BOOL: return "is not a yes/no value (use yes, no, true, false, on, off, 1, 0)";
    case OMV_OPT_STRING: return "is not text";
    }
    return "has an unknown type";
}

void omvi_options_free(omvi_options *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].value);
    free(o->v);
    o->v = NULL;
    o->n = 0;
}

const omvi_option *omvi_options_find(const omvi_options *o, const char *key)
{
    if (!o || !key)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].key, key) == 0)
            return &o->v[i];
    return NULL;
}

omv_status omvi_options_resolve(const char *board_path, const char *label,
                                const omvi_plugin_section *sec, const struct omv_plugin *plugin,
                                omvi_options *out, omv_error *err)
{
    out->v = NULL;
    out->n = 0;
    const struct omv_option_spec *specs = plugin->options;
    size_t n = 0;
    while (specs && specs[n].key)
        n++;
    /* every key in the section must be declared and well-formed */
    for (size_t i = 0; sec && i < sec->n_opts; i++) {
        const omvi_raw_option *r = &sec->opts[i];
        const struct omv_option_spec *s = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(specs[j].key, r->key) == 0)
                s = &specs[j];
        if (!s) {
            char keys[512] = "";
            size_t off = 0;
            for (size_t j = 0; j < n && off < sizeof keys; j++) {
                int k = snprintf(keys + off, sizeof keys - off, "%s%s", j ? ", " : "",
                                 specs[j].key);
                if (k < 0)
                    break;
                off += (size_t)k;
            }
            return omv_error_set(err, OMV_E_BOARD,
                                 "%s:%d: %s unknown key '%s' (plugin '%s' accepts: %s)", board_path,
                                 r->line, label, r->key, plugin->name, n ? keys : "no options");
        }
        uint64_t num;
        if (parse_typed(s->type, r->value, &num) != 0)
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s %s: '%s' %s", board_path, r->line,
                                 label, r->key, r->value, type_hint(s->type));
    }
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) {
        const char *value = specs[j].default_value;
        for (size_t i = 0; sec && i < sec->n_opts; i++)
            if (strcmp(sec->opts[i].key, specs[j].key) == 0)
                value = sec->opts[i].value;
        omvi_option *o = &out->v[out->n];
        o->key = specs[j].key;
        if (!value || parse_typed(specs[j].type, value, &o->number) != 0) {
            omvi_options_free(out);
            return omv_error_set(err, OMV_E_PLUGIN,
                                 "plugin '%s': option '%s' has an invalid default '%s'",
                                 plugin->name, specs[j].key, value ? value : "(null)");
        }
        if (!(o->value = omvi_strdup(value))) {
            omvi_options_free(out);
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        }
        out->n++;
    }
    return OMV_OK;
}

omv_status omvi_options_override(omvi_options *o, const struct omv_plugin *plugin, const char *key,
                                 const char *value, int *applied, omv_error *err)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->v[i].key, key) != 0)
            continue;
        enum omv_option_type t = OMV_OPT_STRING;
        for (size_t j = 0; plugin->options && plugin->options[j].key; j++)
            if (strcmp(plugin->options[j].key, key) == 0)
                t = plugin->options[j].type;
        uint64_t num;
        if (parse_typed(t, value, &num) != 0)
            return omv_error_set(err, OMV_E_USAGE, "%s=%s: '%s' %s", key, value, value, type_hint(t));
        char *copy = omvi_strdup(value);
        if (!copy)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        free(o->v[i].value);
        o->v[i].value = copy;
        o->v[i].number = num;
        *applied = 1;
    }
    return OMV_OK;
}

omv_status omvi_load_board_plugin(const omv_board *b, const char *name, enum omv_plugin_kind kind,
                                  const char *plugin_dir, omvi_plugin *plugin, omvi_options *opts,
                                  omv_error *err)
{
    int entry = kind == OMV_PLUGIN_ENTRY;
    char context[1200];
    snprintf(context, sizeof context, "%s:%d: %s plugin '%s'", b->path,
             b->key_lines[entry ? OMVI_BK_ENTRY : OMVI_BK_TRANSPORT], entry ? "entry" : "transport", name);
    omv_status st = omvi_plugin_load(name, kind, plugin_dir, context, plugin, err);
    if (st != OMV_OK)
        return st;
    char label[96];
    snprintf(label, sizeof label, "[%s]", name);
    st = omvi_options_resolve(b->path, label, omvi_board_plugin_section(b, name), plugin->desc, opts, err);
    if (st != OMV_OK)
        omvi_plugin_unload(plugin);
    return st;
}

omv_status omvi_load_transport(const omv_board *b, const char *plugin_dir, omvi_plugin *plugin,
                               omvi_options *opts, omv_error *err)
{
    return omvi_load_board_plugin(b, b->transport, OMV_PLUGIN_TRANSPORT, plugin_dir, plugin, opts, err);
}

omv_status omv_board_check_plugins(const omv_board *b, const char *plugin_dir, omv_error *err)
{
    if (!b)
        return omv_error_set(err, OMV_E_USAGE, "omv_board_check_plugins: no board");
    omvi_plugin p;
    omvi_options o;
    omv_status st = OMV_OK;
    for (size_t t = 0; t <= b->n_transports; t++) {
        const char *name = t < b->n_transports ? b->transports[t] : b->entry;
        if (!name)
            continue;
        st = omvi_load_board_plugin(b, name, t < b->n_transports ? OMV_PLUGIN_TRANSPORT : OMV_PLUGIN_ENTRY,
                                    plugin_dir, &p, &o, err);
        if (st != OMV_OK)
            return st;
        omvi_options_free(&o);
        omvi_plugin_unload(&p);
    }
    for (size_t i = 0; i < b->n_actions; i++) {
        const omvi_plugin_section *a = &b->actions[i];
        char context[1200];
        snprintf(context, sizeof context, "%s:%d: action plugin '%s'", b->path, a->plugin_line,
                 a->plugin);
        st = omvi_plugin_load(a->plugin, OMV_PLUGIN_ACTION, plugin_dir, context, &p, err);
        if (st != OMV_OK)
            return st;
        char label[96];
        snprintf(label, sizeof label, "[action %s]", a->title);
        st = omvi_options_resolve(b->path, label, a, p.desc, &o, err);
        omvi_options_free(&o);
        omvi_plugin_unload(&p);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}
