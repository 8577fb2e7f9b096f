/*
 * [profile NAME] sections, once the whole board file is parsed: their
 * partition lists resolved (partitions, writable, flash_order), their
 * NAME.KEY keys sorted per partition, and the rules that make the board a
 * profile describes as valid as one written out by hand: every partition it
 * writes exists, is within its partitions, has an image and is writable
 * there (a read-only one only when the profile lists it in `writable`).
 * Errors read "FILE:LINE: [profile NAME] ...".
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int in_set(const omvi_profile *p, size_t part)
{
    if (!p->partitions.n)
        return 1;
    for (size_t i = 0; i < p->partitions.n; i++)
        if (p->partitions.index[i] == part)
            return 1;
    return 0;
}

static int listed(const omvi_part_list *l, size_t part)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->index[i] == part)
            return 1;
    return 0;
}

/* Every partition of @p l (key @p key) must be one this profile reaches. */
static int check_in_set(omvi_board_parse *c, const omvi_profile *p, const omvi_part_list *l, const char *key)
{
    const omv_board *b = omvi_bp_board(c);
    for (size_t i = 0; i < l->n; i++) {
        if (in_set(p, l->index[i]))
            continue;
        omvi_bp_fail(c, l->line ? l->line : p->line,
                     "[profile %s] %s: partition '%s' is not one of this profile's partitions (line %d)", p->name, key,
                     b->parts[l->index[i]].name, p->partitions.line);
        return -1;
    }
    return 0;
}

/* A refusal is all a refusing profile says. */
static int check_refusing(omvi_board_parse *c, const omvi_profile *p)
{
    for (int k = 0; k < OMVI_PRK_COUNT; k++) {
        if (k == OMVI_PRK_MESSAGE || k == OMVI_PRK_REFUSE || !p->key_lines[k])
            continue;
        omvi_bp_fail(c, p->key_lines[k], "[profile %s] %s: a profile that refuses (line %d) has no other keys than "
                     "message", p->name, omvi_profile_key_name((enum omvi_profile_key)k), p->key_lines[OMVI_PRK_REFUSE]);
        return -1;
    }
    if (p->n_part_keys) {
        omvi_bp_fail(c, p->part_keys[0].line, "[profile %s] %s: a profile that refuses (line %d) has no other keys "
                     "than message", p->name, p->part_keys[0].key, p->key_lines[OMVI_PRK_REFUSE]);
        return -1;
    }
    return 0;
}

static int add_opt(omvi_board_parse *c, omvi_profile_part *pp, const char *key, const char *value, int line)
{
    omvi_raw_option *v = realloc(pp->opts, (pp->n_opts + 1) * sizeof *v);
    if (!v) {
        omvi_bp_nomem(c);
        return -1;
    }
    pp->opts = v;
    omvi_raw_option *o = &v[pp->n_opts];
    o->key = omvi_strdup(key);
    o->value = omvi_strdup(value);
    o->line = line;
    if (!o->key || !o->value) {
        free(o->key);
        free(o->value);
        omvi_bp_nomem(c);
        return -1;
    }
    pp->n_opts++;
    return 0;
}

/* NAME.KEY for a core key: image, size, timeout_ms. @return 1 when @p key is one, -1 on error, 0 otherwise. */
static int core_part_key(omvi_board_parse *c, const omvi_profile *p, omvi_profile_part *pp, const char *full,
                         const char *key, const omvi_raw_option *r)
{
    uint64_t v;
    if (strcmp(key, "image") == 0) {
        if (!omvi_valid_file_name(r->value)) {
            omvi_bp_fail(c, r->line, "[profile %s] %s: '%s' must be a file name without '/'", p->name, full, r->value);
            return -1;
        }
        pp->image_line = r->line;
        return (pp->image = omvi_strdup(r->value)) ? 1 : (omvi_bp_nomem(c), -1);
    }
    if (strcmp(key, "size") == 0) {
        if (omvi_parse_size(r->value, &v) != 0 || v == 0) {
            omvi_bp_fail(c, r->line, "[profile %s] %s: '%s' is not a size greater than 0 (use 123, 0x1000, 64K, 3M)",
                         p->name, full, r->value);
            return -1;
        }
        pp->size = v;
        pp->size_line = r->line;
        return 1;
    }
    if (strcmp(key, "timeout_ms") == 0) {
        if (omvi_parse_uint(r->value, UINT32_MAX, &v) != 0) {
            omvi_bp_fail(c, r->line, "[profile %s] %s: '%s' is not a number of milliseconds (0 to 4294967295)",
                         p->name, full, r->value);
            return -1;
        }
        pp->timeout_ms = (uint32_t)v;
        pp->timeout_line = r->line;
        return 1;
    }
    if (strcmp(key, "read_only") == 0 || strcmp(key, "readable") == 0) {
        omvi_bp_fail(c, r->line, "[profile %s] %s: set %s in [partition %.*s]; a profile lets read-only partitions "
                     "be written with 'writable ='", p->name, full, key, (int)(strchr(full, '.') - full), full);
        return -1;
    }
    return 0;
}

/* Sort the profile's NAME.KEY keys onto its partitions. */
static int sort_part_keys(omvi_board_parse *c, omvi_profile *p)
{
    omv_board *b = omvi_bp_board(c);
    if (!(p->parts = calloc(b->n_parts ? b->n_parts : 1, sizeof *p->parts))) {
        omvi_bp_nomem(c);
        return -1;
    }
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; i < p->n_part_keys; i++) {
        const omvi_raw_option *r = &p->part_keys[i];
        const char *dot = strchr(r->key, '.');
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)(dot - r->key), r->key);
        long idx = omvi_board_find(b, part);
        if (idx < 0) {
            omvi_bp_fail(c, r->line, "[profile %s] %s: no partition named '%s' (partitions: %s)", p->name, r->key,
                         part, names);
            return -1;
        }
        if (!in_set(p, (size_t)idx)) {
            omvi_bp_fail(c, r->line, "[profile %s] %s: partition '%s' is not one of this profile's partitions "
                         "(line %d)", p->name, r->key, part, p->partitions.line);
            return -1;
        }
        int k = core_part_key(c, p, &p->parts[idx], r->key, dot + 1, r);
        if (k < 0 || (k == 0 && add_opt(c, &p->parts[idx], dot + 1, r->value, r->line) != 0))
            return -1;
    }
    return 0;
}

static const char *image_of(const omv_board *b, const omvi_profile *p, size_t part)
{
    return p->parts[part].image ? p->parts[part].image : b->parts[part].image;
}

/* Two partitions of the profile may not share an image file. */
static int check_images(omvi_board_parse *c, const omvi_profile *p)
{
    const omv_board *b = omvi_bp_board(c);
    for (size_t i = 0; i < b->n_parts; i++) {
        if (!in_set(p, i) || !p->parts[i].image)
            continue;
        for (size_t j = 0; j < b->n_parts; j++) {
            if (j == i || !in_set(p, j) || !image_of(b, p, j) || strcmp(image_of(b, p, j), p->parts[i].image) != 0)
                continue;
            omvi_bp_fail(c, p->parts[i].image_line, "[profile %s] %s.image: '%s' is already the image of partition %s",
                         p->name, b->parts[i].name, p->parts[i].image, b->parts[j].name);
            return -1;
        }
    }
    return 0;
}

/* writable: read-only partitions of the board, which this profile may write. */
static int check_writable(omvi_board_parse *c, omvi_profile *p)
{
    const omv_board *b = omvi_bp_board(c);
    char what[96];
    snprintf(what, sizeof what, "[profile %s] writable", p->name);
    if (omvi_board_resolve(c, &p->writable, what, OMVI_PL_ONCE) != 0 || check_in_set(c, p, &p->writable, "writable"))
        return -1;
    for (size_t i = 0; i < p->writable.n; i++) {
        const omvi_partition *q = &b->parts[p->writable.index[i]];
        if (q->info.read_only)
            continue;
        omvi_bp_fail(c, p->writable.line, "[profile %s] writable: partition '%s' is not read-only (writable names "
                     "the read-only partitions this profile may write)", p->name, q->name);
        return -1;
    }
    return 0;
}

/* What a full flash under the profile writes: its own flash_order, else the board's, within its partitions. */
static int check_flash_order(omvi_board_parse *c, omvi_profile *p)
{
    const omv_board *b = omvi_bp_board(c);
    char what[96];
    snprintf(what, sizeof what, "[profile %s] flash_order", p->name);
    for (size_t i = 0; !p->flash_order.n && i < b->flash_order.n; i++) {
        if (in_set(p, b->flash_order.index[i]))
            continue;
        omvi_bp_fail(c, p->partitions.line, "[profile %s] partitions: leaves out '%s', which [board] flash_order "
                     "writes (give the profile its own flash_order)", p->name, b->flash_order.names[i]);
        return -1;
    }
    if (!p->flash_order.n)
        return 0;
    if (omvi_board_resolve(c, &p->flash_order, what, OMVI_PL_ONCE) != 0 ||
        check_in_set(c, p, &p->flash_order, "flash_order") != 0)
        return -1;
    for (size_t i = 0; i < p->flash_order.n; i++) {
        size_t part = p->flash_order.index[i];
        const char *n = b->parts[part].name;
        if (b->parts[part].info.read_only && !listed(&p->writable, part)) {
            omvi_bp_fail(c, p->flash_order.line, "%s: partition '%s' is read-only (add it to writable to let this "
                         "profile write it)", what, n);
            return -1;
        }
        if (!image_of(b, p, part)) {
            omvi_bp_fail(c, p->flash_order.line, "%s: partition '%s' has no image (add %s.image = FILE)", what, n, n);
            return -1;
        }
    }
    return 0;
}

static int check_one(omvi_board_parse *c, omvi_profile *p)
{
    if (p->key_lines[OMVI_PRK_REFUSE])
        return check_refusing(c, p);
    char what[96];
    snprintf(what, sizeof what, "[profile %s] partitions", p->name);
    if (omvi_board_resolve(c, &p->partitions, what, OMVI_PL_ONCE) != 0)
        return -1;
    if (sort_part_keys(c, p) != 0 || check_images(c, p) != 0 || check_writable(c, p) != 0)
        return -1;
    return check_flash_order(c, p);
}

int omvi_profiles_check(omvi_board_parse *c)
{
    omv_board *b = omvi_bp_board(c);
    for (size_t i = 0; i < b->n_profiles; i++) {
        omvi_profile *p = &b->profiles[i];
        int any = p->n_part_keys > 0;
        for (int k = 0; k < OMVI_PRK_COUNT; k++)
            any |= p->key_lines[k] != 0;
        if (!any) {
            omvi_bp_fail(c, p->line, "[profile %s] is empty (give it keys, or refuse = WHY)", p->name);
            return -1;
        }
        if (check_one(c, p) != 0)
            return -1;
    }
    return 0;
}
