/*
 * [profile NAME] sections: another way to flash the board (the camera's ROM
 * bootloader instead of its own, say), or a refusal that names the tool to
 * use. Keys come from one table like [board]'s; "PART.KEY" keys give one
 * partition's keys under the profile (its image, size, timeout_ms, or a
 * partition option of the profile's transport such as an address). The
 * core gives none of them a protocol meaning. omv_board_select_profile()
 * (board_profile.c) turns a profile into a board of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef void (*profile_set_fn)(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key,
                               const char *value);

static void set_message(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key, const char *value)
{
    (void)label;
    (void)key;
    if (!(p->message = omvi_strdup(value)))
        omvi_bp_nomem(c);
}

static void set_refuse(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key, const char *value)
{
    (void)label;
    (void)key;
    if (!(p->refuse = omvi_strdup(value)))
        omvi_bp_nomem(c);
}

static void set_boot_ids(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key, const char *value)
{
    omvi_board_set_ids(c, label, key, value, &p->boot_ids, &p->n_boot_ids);
}

static void set_transport(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key,
                          const char *value)
{
    omvi_board_set_plugins(c, label, key, value, OMVI_MAX_TRANSPORTS, &p->transports, &p->n_transports);
}

static void set_list(omvi_board_parse *c, omvi_part_list *l, const char *label, const char *key, const char *value)
{
    size_t bad = 0;
    int r = omvi_split_list(value, &l->names, &l->n, &bad);
    if (r == -2)
        omvi_bp_nomem(c);
    else if (r != 0)
        omvi_bp_fail(c, omvi_bp_line(c), "%s %s: empty item %zu in the list", label, key, bad + 1);
    else
        l->line = omvi_bp_line(c);
}

static void set_flash_order(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key,
                            const char *value)
{
    set_list(c, &p->flash_order, label, key, value);
}

static void set_writable(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key, const char *value)
{
    set_list(c, &p->writable, label, key, value);
}

static void set_partitions(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key,
                           const char *value)
{
    set_list(c, &p->partitions, label, key, value);
}

static void set_wait_ms(omvi_board_parse *c, omvi_profile *p, const char *label, const char *key, const char *value)
{
    uint64_t v;
    if (omvi_parse_uint(value, UINT32_MAX - 1, &v) != 0)
        omvi_bp_fail(c, omvi_bp_line(c), "%s %s: '%s' is not a number of milliseconds (0 to 4294967294)", label, key,
                     value);
    else
        p->wait_ms = (uint32_t)v;
}

static const struct {
    const char *name;
    profile_set_fn set;
} profile_keys[OMVI_PRK_COUNT] = {
    [OMVI_PRK_MESSAGE] = {"message", set_message},
    [OMVI_PRK_REFUSE] = {"refuse", set_refuse},
    [OMVI_PRK_BOOT_IDS] = {"bootloader_ids", set_boot_ids},
    [OMVI_PRK_TRANSPORT] = {"transport", set_transport},
    [OMVI_PRK_FLASH_ORDER] = {"flash_order", set_flash_order},
    [OMVI_PRK_WRITABLE] = {"writable", set_writable},
    [OMVI_PRK_PARTITIONS] = {"partitions", set_partitions},
    [OMVI_PRK_WAIT_MS] = {"wait_ms", set_wait_ms},
};

void omvi_profile_begin(omvi_board_parse *c, const char *name)
{
    omv_board *b = omvi_bp_board(c);
    int line = omvi_bp_line(c);
    if (!*name) {
        omvi_bp_fail(c, line, "[profile] needs a name: [profile NAME]");
        return;
    }
    if (!omvi_valid_plugin_name(name)) {
        omvi_bp_fail(c, line, "[profile %s]: profile name '%s' may only contain a-z, 0-9, '_' and '-'", name, name);
        return;
    }
    for (size_t i = 0; i < b->n_profiles; i++) {
        if (strcmp(b->profiles[i].name, name) == 0) {
            omvi_bp_fail(c, line, "duplicate section [profile %s] (first at line %d)", name, b->profiles[i].line);
            return;
        }
    }
    omvi_profile *v = realloc(b->profiles, (b->n_profiles + 1) * sizeof *v);
    if (!v) {
        omvi_bp_nomem(c);
        return;
    }
    b->profiles = v;
    omvi_profile *p = &v[b->n_profiles];
    memset(p, 0, sizeof *p);
    if (!(p->name = omvi_strdup(name))) {
        omvi_bp_nomem(c);
        return;
    }
    p->line = line;
    b->n_profiles++;
}

/* "PART.KEY = VALUE": kept as text (with its line) until the partitions are known. */
static void part_key(omvi_board_parse *c, omvi_profile *p, const char *label, const char *name, const char *value)
{
    const char *dot = strchr(name, '.');
    if (dot == name || !dot[1] || strchr(dot + 1, '.')) {
        omvi_bp_fail(c, omvi_bp_line(c), "%s '%s': a partition's key is written NAME.KEY (e.g. FIRMWARE.image)",
                     label, name);
        return;
    }
    omvi_board_keep_raw(c, &p->part_keys, &p->n_part_keys, label, name, value);
}

void omvi_profile_key(omvi_board_parse *c, omvi_profile *p, const char *name, const char *value)
{
    int line = omvi_bp_line(c);
    char label[96];
    snprintf(label, sizeof label, "[profile %s]", p->name);
    if (strchr(name, '.')) {
        part_key(c, p, label, name, value);
        return;
    }
    int k = 0;
    while (k < OMVI_PRK_COUNT && strcmp(profile_keys[k].name, name) != 0)
        k++;
    if (k == OMVI_PRK_COUNT) {
        const char *names[OMVI_PRK_COUNT];
        for (int i = 0; i < OMVI_PRK_COUNT; i++)
            names[i] = profile_keys[i].name;
        char keys[256];
        omvi_join(names, OMVI_PRK_COUNT, keys, sizeof keys);
        omvi_bp_fail(c, line, "%s unknown key '%s' (keys: %s; and PARTITION.KEY for one partition)", label, name,
                     keys);
        return;
    }
    if (p->key_lines[k]) {
        omvi_bp_fail(c, line, "%s duplicate key '%s' (first at line %d)", label, name, p->key_lines[k]);
        return;
    }
    p->key_lines[k] = line;
    if (!*value) {
        omvi_bp_fail(c, line, "%s %s: empty value", label, name);
        return;
    }
    profile_keys[k].set(c, p, label, name, value);
}

int omvi_profiles_use_transport(const omv_board *b, const char *plugin)
{
    for (size_t i = 0; i < b->n_profiles; i++)
        for (size_t t = 0; t < b->profiles[i].n_transports; t++)
            if (strcmp(b->profiles[i].transports[t], plugin) == 0)
                return 1;
    return 0;
}

const char *omvi_profile_key_name(enum omvi_profile_key k) { return profile_keys[k].name; }

void omvi_profile_free(omvi_profile *p, size_t n_parts)
{
    free(p->name);
    free(p->message);
    free(p->refuse);
    free(p->boot_ids);
    omvi_free_list(p->transports, p->n_transports);
    omvi_part_list_free(&p->flash_order);
    omvi_part_list_free(&p->writable);
    omvi_part_list_free(&p->partitions);
    omvi_raw_options_free(p->part_keys, p->n_part_keys);
    for (size_t i = 0; p->parts && i < n_parts; i++) {
        free(p->parts[i].image);
        omvi_raw_options_free(p->parts[i].opts, p->parts[i].n_opts);
    }
    free(p->parts);
}
