/* A loaded board: lookups, accessors of the public API, freeing. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

long omvi_board_find(const omv_board *b, const char *name)
{
    for (size_t i = 0; i < b->n_parts; i++)
        if (strcmp(b->parts[i].name, name) == 0)
            return (long)i;
    return -1;
}

void omvi_board_part_names(const omv_board *b, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < b->n_parts; i++)
        omvi_join_add(buf, len, b->parts[i].name);
}

const omvi_plugin_section *omvi_board_plugin_section(const omv_board *b, const char *name)
{
    for (size_t i = 0; b && name && i < b->n_psections; i++)
        if (strcmp(b->psections[i].title, name) == 0)
            return &b->psections[i];
    return NULL;
}

const omvi_plugin_section *omvi_board_transport_section(const omv_board *b)
{
    return b && b->n_transports ? omvi_board_plugin_section(b, b->transports[0]) : NULL;
}

int omvi_board_part_optional(const omv_board *b, size_t part)
{
    for (size_t t = 0; t < b->n_transports; t++) {
        const omvi_plugin_section *s = omvi_board_plugin_section(b, b->transports[t]);
        if (!s || !s->order.n)
            continue;
        int listed = 0;
        for (size_t k = 0; k < s->order.n; k++)
            listed |= s->order.index[k] == part;
        if (!listed)
            return 1;
    }
    return 0;
}

const omvi_raw_option *omvi_board_part_option(const omv_board *b, size_t part, const char *key)
{
    if (!b || part >= b->n_parts || !key)
        return NULL;
    const omvi_partition *p = &b->parts[part];
    for (size_t i = 0; i < p->n_opts; i++)
        if (strcmp(p->opts[i].key, key) == 0)
            return &p->opts[i];
    return NULL;
}

void omvi_part_option_label(const omv_board *b, size_t part, const char *key, char *buf, size_t len)
{
    const omvi_partition *p = &b->parts[part];
    if (p->opts_where)
        snprintf(buf, len, "[%s] %s.%s", p->opts_where, p->name, key);
    else
        snprintf(buf, len, "[partition %s] %s", p->name, key);
}

void omvi_part_list_free(omvi_part_list *l)
{
    omvi_free_list(l->names, l->n);
    free(l->index);
    memset(l, 0, sizeof *l);
}

void omvi_raw_options_free(omvi_raw_option *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(o[i].key);
        free(o[i].value);
    }
    free(o);
}

void omvi_plugin_section_free(omvi_plugin_section *s)
{
    free(s->title);
    free(s->plugin);
    omvi_raw_options_free(s->opts, s->n_opts);
    omvi_part_list_free(&s->restore);
    omvi_part_list_free(&s->recovers);
    omvi_part_list_free(&s->order);
}

void omv_board_free(omv_board *b)
{
    if (!b)
        return;
    free(b->path);
    free(b->name);
    free(b->boot_ids);
    free(b->app_ids);
    omvi_free_list(b->transports, b->n_transports);
    omvi_free_list(b->entries, b->n_entries);
    omvi_part_list_free(&b->flash_order);
    free(b->firmware_list);
    free(b->firmware_dir);
    free(b->arch);
    free(b->filesystem_name);
    for (size_t i = 0; i < b->n_parts; i++) {
        free(b->parts[i].name);
        free(b->parts[i].image);
        omvi_raw_options_free(b->parts[i].opts, b->parts[i].n_opts);
        free(b->parts[i].opts_where);
    }
    for (size_t i = 0; i < b->n_profiles; i++)
        omvi_profile_free(&b->profiles[i], b->n_parts);
    free(b->profiles);
    free(b->profile);
    free(b->wait_message);
    free(b->parts);
    for (size_t i = 0; i < b->n_psections; i++)
        omvi_plugin_section_free(&b->psections[i]);
    free(b->psections);
    for (size_t i = 0; i < b->n_actions; i++)
        omvi_plugin_section_free(&b->actions[i]);
    free(b->actions);
    free(b);
}

const char *omv_board_name(const omv_board *b) { return b ? b->name : NULL; }
const char *omv_board_path(const omv_board *b) { return b ? b->path : NULL; }
const char *omv_board_transport(const omv_board *b) { return b && b->n_transports ? b->transports[0] : NULL; }
const char *omv_board_firmware_dir(const omv_board *b) { return b ? b->firmware_dir : NULL; }
const char *omv_board_arch(const omv_board *b) { return b ? b->arch : NULL; }
size_t omv_board_partition_count(const omv_board *b) { return b ? b->n_parts : 0; }

const omv_partition_info *omv_board_partition(const omv_board *b, size_t i)
{
    return b && i < b->n_parts ? &b->parts[i].info : NULL;
}

const char *omv_board_partition_option(const omv_board *b, size_t i, const char *key)
{
    const omvi_raw_option *o = omvi_board_part_option(b, i, key);
    return o ? o->value : NULL;
}
