/*
 * Partition options: the keys of [partition NAME] that are not the core's
 * (dfu: alt) belong to the board's transports, which declare them
 * (omv_plugin.partition_options). Once the transports are loaded every such
 * key is checked here against every transport declaring it; a key none
 * declares is an error naming FILE:LINE. The core's schema names no protocol.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct omv_option_spec *spec_of(const struct omv_plugin *d, const char *key)
{
    for (size_t i = 0; d && d->partition_options && d->partition_options[i].key; i++)
        if (strcmp(d->partition_options[i].key, key) == 0)
            return &d->partition_options[i];
    return NULL;
}

/* "KEY (PLUGIN), ...": each transport's partition keys, e.g. "alt (dfu)" */
static void declared_keys(const struct omv_plugin *const *descs, size_t n, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t t = 0; t < n; t++) {
        for (size_t i = 0; descs[t]->partition_options && descs[t]->partition_options[i].key; i++) {
            char item[96];
            snprintf(item, sizeof item, "%s (%s)", descs[t]->partition_options[i].key, descs[t]->name);
            omvi_join_add(buf, len, item);
        }
    }
}

/* One key of one partition, against every transport that declares it. */
static omv_status check_key(const omv_board *b, const omvi_partition *p, const omvi_raw_option *r,
                            const struct omv_plugin *const *descs, size_t n, omv_error *err)
{
    int declared = 0;
    for (size_t t = 0; t < n; t++) {
        const struct omv_option_spec *s = spec_of(descs[t], r->key);
        if (!s)
            continue;
        declared = 1;
        char why[256], label[160];
        omvi_part_option_label(b, (size_t)(p - b->parts), r->key, label, sizeof label);
        if (omvi_option_value_check(s, r->value, NULL, NULL, why, sizeof why) != 0)
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s: %s (transport %s)", b->path, r->line, label, why,
                                 descs[t]->name);
    }
    if (declared)
        return OMV_OK;
    char core[128], more[512];
    omvi_part_key_names(core, sizeof core);
    declared_keys(descs, n, more, sizeof more);
    if (p->opts_where)
        return omv_error_set(err, OMV_E_BOARD, "%s:%d: [%s] %s.%s: unknown key '%s' (keys: %s%s%s)", b->path,
                             r->line, p->opts_where, p->name, r->key, r->key, "image, size, timeout_ms",
                             more[0] ? "; the profile's transports add: " : "", more);
    return omv_error_set(err, OMV_E_BOARD, "%s:%d: [partition %s] unknown key '%s' (keys: %s%s%s)", b->path, r->line,
                         p->name, r->key, core, more[0] ? "; the board's transports add: " : "", more);
}

/* OMV_OPTF_REQUIRED and OMV_OPTF_UNIQUE of one declared key, over all partitions. */
static omv_status check_across(const omv_board *b, const struct omv_plugin *d, const struct omv_option_spec *s,
                               omv_error *err)
{
    for (size_t i = 0; i < b->n_parts; i++) {
        const omvi_raw_option *r = omvi_board_part_option(b, i, s->key);
        if (!r && !s->default_value && (s->flags & OMV_OPTF_REQUIRED) && b->profile)
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: [profile %s] has no %s.%s (transport %s: %s)", b->path,
                                 b->profile_line, b->profile, b->parts[i].name, s->key, d->name,
                                 s->help ? s->help : "");
        if (!r && !s->default_value && (s->flags & OMV_OPTF_REQUIRED))
            return omv_error_set(err, OMV_E_BOARD, "%s:%d: [partition %s] is missing key '%s' (transport %s: %s)",
                                 b->path, b->parts[i].line, b->parts[i].name, s->key, d->name, s->help ? s->help : "");
        if (!r || !(s->flags & OMV_OPTF_UNIQUE))
            continue;
        uint64_t vi = 0, vj = 0;
        char why[160];
        omvi_option_value_check(s, r->value, &vi, NULL, why, sizeof why);
        for (size_t j = 0; j < i; j++) {
            const omvi_raw_option *q = omvi_board_part_option(b, j, s->key);
            if (!q)
                continue;
            omvi_option_value_check(s, q->value, &vj, NULL, why, sizeof why);
            int same = s->type == OMV_OPT_STRING ? strcmp(q->value, r->value) == 0 : vi == vj;
            char label[160];
            omvi_part_option_label(b, i, s->key, label, sizeof label);
            if (same)
                return omv_error_set(err, OMV_E_BOARD, "%s:%d: %s: %s is already used by [partition %s] (line %d)",
                                     b->path, r->line, label, r->value, b->parts[j].name, q->line);
        }
    }
    return OMV_OK;
}

omv_status omvi_partition_options_check(const omv_board *b, const struct omv_plugin *const *descs, size_t n,
                                        omv_error *err)
{
    for (size_t i = 0; i < b->n_parts; i++)
        for (size_t k = 0; k < b->parts[i].n_opts; k++) {
            omv_status st = check_key(b, &b->parts[i], &b->parts[i].opts[k], descs, n, err);
            if (st != OMV_OK)
                return st;
        }
    for (size_t t = 0; t < n; t++) {
        const struct omv_option_spec *specs = descs[t]->partition_options;
        for (size_t i = 0; specs && specs[i].key; i++) {
            char why[160];
            if (specs[i].default_value &&
                omvi_option_value_check(&specs[i], specs[i].default_value, NULL, NULL, why, sizeof why) != 0)
                return omv_error_set(err, OMV_E_PLUGIN, "plugin '%s': partition option '%s' has an invalid default: %s",
                                     descs[t]->name, specs[i].key, why);
            omv_status st = check_across(b, descs[t], &specs[i], err);
            if (st != OMV_OK)
                return st;
        }
    }
    return OMV_OK;
}

const char *omvi_partition_option(const omv_board *b, const struct omv_plugin *desc, const char *part,
                                  const char *key)
{
    const struct omv_option_spec *s = key ? spec_of(desc, key) : NULL;
    long idx = b && part ? omvi_board_find(b, part) : -1;
    if (!s || idx < 0)
        return NULL;
    const omvi_raw_option *r = omvi_board_part_option(b, (size_t)idx, key);
    const char *v = r ? r->value : s->default_value;
    const char *canon = v;
    char why[160];
    if (v && s->choices && omvi_option_value_check(s, v, NULL, &canon, why, sizeof why) != 0)
        return NULL;
    return canon;
}
