/*
 * Board files, after parsing: required keys present, and every list of
 * partition names (flash_order, a transport's flash_order, an action's
 * restore and recovers, filesystem) resolved to partition indexes by one
 * function, with the rules of each list.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PL_WRITABLE OMVI_PL_WRITABLE
#define PL_NEEDS_IMAGE OMVI_PL_NEEDS_IMAGE
#define PL_ONCE OMVI_PL_ONCE

/* Resolve @p l (its key is @p what, e.g. "[board] flash_order"). @return 0 or -1 (error set). */
int omvi_board_resolve(omvi_board_parse *c, omvi_part_list *l, const char *what, unsigned rules)
{
    omv_board *b = omvi_bp_board(c);
    if (!l->n)
        return 0;
    if (!(l->index = calloc(l->n, sizeof *l->index))) {
        omvi_bp_nomem(c);
        return -1;
    }
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; i < l->n; i++) {
        const char *n = l->names[i];
        long idx = omvi_board_find(b, n);
        if (idx < 0) {
            omvi_bp_fail(c, l->line, "%s: no partition named '%s' (partitions: %s)", what, n, names);
            return -1;
        }
        for (size_t j = 0; (rules & PL_ONCE) && j < i; j++) {
            if (l->index[j] == (size_t)idx) {
                omvi_bp_fail(c, l->line, "%s: '%s' is listed twice", what, n);
                return -1;
            }
        }
        if ((rules & PL_WRITABLE) && b->parts[idx].info.read_only) {
            omvi_bp_fail(c, l->line, "%s: partition '%s' is read-only", what, n);
            return -1;
        }
        if ((rules & PL_NEEDS_IMAGE) && !b->parts[idx].image) {
            omvi_bp_fail(c, l->line, "%s: partition '%s' has no image (add image = FILE to [partition %s])", what, n,
                         n);
            return -1;
        }
        l->index[i] = (size_t)idx;
    }
    return 0;
}

static int check_required(omvi_board_parse *c)
{
    omv_board *b = omvi_bp_board(c);
    if (!b->board_line) {
        omvi_bp_fail(c, 1, "no [board] section");
        return -1;
    }
    for (int k = 0; k < OMVI_BK_COUNT; k++) {
        if (omvi_board_key_required((enum omvi_board_key)k) && !b->key_lines[k]) {
            omvi_bp_fail(c, b->board_line, "[board] is missing required key '%s'",
                         omvi_board_key_name((enum omvi_board_key)k));
            return -1;
        }
    }
    if (b->n_parts == 0) {
        omvi_bp_fail(c, b->board_line, "[board] declares no partitions (add [partition NAME] sections)");
        return -1;
    }
    for (size_t i = 0; i < b->n_parts; i++) {
        if (!b->parts[i].key_lines[OMVI_PK_SIZE]) {
            omvi_bp_fail(c, b->parts[i].line, "[partition %s] is missing required key 'size'", b->parts[i].name);
            return -1;
        }
    }
    for (size_t i = 0; i < b->n_actions; i++) {
        if (!b->actions[i].plugin) {
            omvi_bp_fail(c, b->actions[i].line, "[action %s] is missing required key 'plugin'", b->actions[i].title);
            return -1;
        }
    }
    return 0;
}

static int check_actions(omvi_board_parse *c)
{
    omv_board *b = omvi_bp_board(c);
    for (size_t i = 0; i < b->n_actions; i++) {
        omvi_plugin_section *a = &b->actions[i];
        char what[96];
        snprintf(what, sizeof what, "[action %s] restore", a->title);
        if (omvi_board_resolve(c, &a->restore, what, PL_WRITABLE) != 0)
            return -1;
        snprintf(what, sizeof what, "[action %s] recovers", a->title);
        if (omvi_board_resolve(c, &a->recovers, what, 0) != 0)
            return -1;
    }
    return 0;
}

static int is_listed(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* [NAME] sections belong to a transport or an entry plugin of the board; only a transport's has a flash_order. */
static int check_plugin_sections(omvi_board_parse *c)
{
    omv_board *b = omvi_bp_board(c);
    for (size_t i = 0; i < b->n_psections; i++) {
        omvi_plugin_section *ps = &b->psections[i];
        int transport = is_listed(b->transports, b->n_transports, ps->title) ||
                        omvi_profiles_use_transport(b, ps->title);
        if (!transport && !is_listed(b->entries, b->n_entries, ps->title)) {
            char plugins[256] = "";
            for (size_t t = 0; t < b->n_transports; t++)
                omvi_join_add(plugins, sizeof plugins, b->transports[t]);
            for (size_t t = 0; t < b->n_entries; t++)
                omvi_join_add(plugins, sizeof plugins, b->entries[t]);
            omvi_bp_fail(c, ps->line,
                         "unknown section [%s] (the board's transport and entry plugins are %s; each takes its options "
                         "in a section named after it)",
                         ps->title, plugins);
            return -1;
        }
        if (ps->order.n && !transport) {
            omvi_bp_fail(c, ps->order.line, "[%s] flash_order: only a transport's section may have one", ps->title);
            return -1;
        }
        char what[96];
        snprintf(what, sizeof what, "[%s] flash_order", ps->title);
        if (omvi_board_resolve(c, &ps->order, what, PL_WRITABLE) != 0)
            return -1;
    }
    return 0;
}

void omvi_board_check(omvi_board_parse *c)
{
    omv_board *b = omvi_bp_board(c);
    if (check_required(c) != 0 || check_actions(c) != 0)
        return;
    if (omvi_board_resolve(c, &b->flash_order, "[board] flash_order", PL_WRITABLE | PL_NEEDS_IMAGE | PL_ONCE) != 0)
        return;
    if (b->filesystem_name) {
        omvi_part_list fs = {.names = &b->filesystem_name, .n = 1, .line = b->key_lines[OMVI_BK_FILESYSTEM]};
        int r = omvi_board_resolve(c, &fs, "[board] filesystem", PL_WRITABLE);
        if (r == 0)
            b->filesystem = (long)fs.index[0];
        free(fs.index);
        if (r != 0)
            return;
    }
    if (check_plugin_sections(c) == 0)
        omvi_profiles_check(c);
}
