/*
 * Plugin options: a plugin's board-file section checked against the options
 * it declares (struct omv_option_spec: type, range, choices, required),
 * resolved with defaults, overridden by --set and command-line shorthands,
 * and handed out through the host (option_str/uint). The plugin never sees a
 * value its spec does not allow.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void omvi_option_allowed(const struct omv_option_spec *s, char *buf, size_t len)
{
    buf[0] = '\0';
    switch (s->type) {
    case OMV_OPT_UINT:
        if (s->max)
            snprintf(buf, len, "a number from %llu to %llu", (unsigned long long)s->min, (unsigned long long)s->max);
        else
            snprintf(buf, len, "a number from %llu (123, 0x1000, 64K, 3M)", (unsigned long long)s->min);
        return;
    case OMV_OPT_BOOL:
        snprintf(buf, len, "yes or no");
        return;
    case OMV_OPT_STRING:
        if (!s->choices) {
            snprintf(buf, len, "text");
            return;
        }
        char list[256] = "";
        for (size_t i = 0; s->choices[i]; i++)
            omvi_join_add(list, sizeof list, s->choices[i]);
        snprintf(buf, len, "one of %s", list);
        return;
    }
}

static int check_uint(const struct omv_option_spec *s, const char *value, uint64_t *number, char *why, size_t n)
{
    char allowed[96];
    omvi_option_allowed(s, allowed, sizeof allowed);
    if (omvi_parse_size(value, number) != 0) {
        snprintf(why, n, "'%s' is not an unsigned number (use 123, 0x1000, 64K, 3M)", value);
        return -1;
    }
    if (*number < s->min || (s->max && *number > s->max)) {
        snprintf(why, n, "%s is out of range (%s)", value, allowed);
        return -1;
    }
    return 0;
}

int omvi_option_value_check(const struct omv_option_spec *s, const char *value, uint64_t *number,
                            const char **canonical, char *why, size_t why_len)
{
    uint64_t num = 0;
    const char *canon = value;
    int b;
    switch (s->type) {
    case OMV_OPT_UINT:
        if (check_uint(s, value, &num, why, why_len) != 0)
            return -1;
        break;
    case OMV_OPT_BOOL:
        if (omvi_parse_bool(value, &b) != 0) {
            snprintf(why, why_len, "'%s' is not a yes/no value (use yes, no, true, false, on, off, 1, 0)", value);
            return -1;
        }
        num = (uint64_t)b;
        break;
    case OMV_OPT_STRING:
        if (s->choices) {
            canon = NULL;
            for (size_t i = 0; !canon && s->choices[i]; i++)
                if (strcasecmp(s->choices[i], value) == 0)
                    canon = s->choices[i];
            if (!canon) {
                char allowed[160];
                omvi_option_allowed(s, allowed, sizeof allowed);
                snprintf(why, why_len, "'%s' is not allowed (%s)", value, allowed);
                return -1;
            }
        }
        break;
    default:
        snprintf(why, why_len, "has an unknown type");
        return -1;
    }
    if (number)
        *number = num;
    if (canonical)
        *canonical = canon;
    return 0;
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
        if (strcmp(o->v[i].spec->key, key) == 0)
            return &o->v[i];
    return NULL;
}

static const struct omv_option_spec *find_spec(const struct omv_option_spec *specs, const char *key)
{
    for (size_t j = 0; specs && specs[j].key; j++)
        if (strcmp(specs[j].key, key) == 0)
            return &specs[j];
    return NULL;
}

/* Every key of the section declared and allowed. */
static omv_status check_section(const char *board_path, const char *label, const omvi_plugin_section *sec,
                                const struct omv_plugin *plugin, omv_error *err)
{
    for (size_t i = 0; sec && i < sec->n_opts; i++) {
        const omvi_raw_option *r = &sec->opts[i];
        const struct omv_option_spec *s = find_spec(plugin->options, r->key);
        if (!s) {
            char keys[512] = "";
            for (size_t j = 0; plugin->options && plugin->options[j].key; j++)
                omvi_join_add(keys, sizeof keys, plugin->options[j].key);
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s unknown key '%s' (plugin '%s' accepts: %s)", board_path,
                                 r->line, label, r->key, plugin->name, keys[0] ? keys : "no options");
        }
        char why[256];
        if (omvi_option_value_check(s, r->value, NULL, NULL, why, sizeof why) != 0)
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s %s: %s", board_path, r->line, label, r->key, why);
    }
    return OMV_OK;
}

/* Option @p s's value: the section's, else its default (NULL: unset). */
static omv_status resolve_one(const char *board_path, const char *label, int line, const omvi_plugin_section *sec,
                              const struct omv_plugin *plugin, const struct omv_option_spec *s, omvi_option *o,
                              omv_error *err)
{
    const char *value = s->default_value;
    for (size_t i = 0; sec && i < sec->n_opts; i++)
        if (strcmp(sec->opts[i].key, s->key) == 0)
            value = sec->opts[i].value;
    o->spec = s;
    if (!value && (s->flags & OMV_OPTF_REQUIRED)) {
        char allowed[160];
        omvi_option_allowed(s, allowed, sizeof allowed);
        return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s is missing required key '%s' (%s: %s)", board_path, line,
                             label, s->key, allowed, s->help ? s->help : "");
    }
    if (!value)
        return OMV_OK;
    char why[256];
    const char *canon;
    if (omvi_option_value_check(s, value, &o->number, &canon, why, sizeof why) != 0)
        return omv_error_set(err, OMV_E_PLUGIN, "plugin '%s': option '%s' has an invalid default: %s", plugin->name,
                             s->key, why);
    if (!(o->value = omvi_strdup(canon)))
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    return OMV_OK;
}

omv_status omvi_options_resolve(const char *board_path, const char *label, int line, const omvi_plugin_section *sec,
                                const struct omv_plugin *plugin, omvi_options *out, omv_error *err)
{
    out->v = NULL;
    out->n = 0;
    omv_status st = check_section(board_path, label, sec, plugin, err);
    if (st != OMV_OK)
        return st;
    size_t n = 0;
    while (plugin->options && plugin->options[n].key)
        n++;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) {
        st = resolve_one(board_path, label, sec ? sec->line : line, sec, plugin, &plugin->options[j], &out->v[j], err);
        out->n = j + 1;
        if (st != OMV_OK) {
            omvi_options_free(out);
            return st;
        }
    }
    return OMV_OK;
}

omv_status omvi_options_override(omvi_options *o, const char *key, const char *value, const char *what,
                                 int *applied, omv_error *err)
{
    for (size_t i = 0; i < o->n; i++) {
        const struct omv_option_spec *s = o->v[i].spec;
        if (strcmp(s->key, key) != 0)
            continue;
        uint64_t num;
        const char *canon;
        char why[256];
        if (omvi_option_value_check(s, value, &num, &canon, why, sizeof why) != 0)
            return omv_error_set(err, OMV_E_USAGE, "%s: %s", what, why);
        char *copy = omvi_strdup(canon);
        if (!copy)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        free(o->v[i].value);
        o->v[i].value = copy;
        o->v[i].number = num;
        *applied = 1;
    }
    return OMV_OK;
}
