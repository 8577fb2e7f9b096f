/*
 * The core's board-file keys: one table for [board], one for the core keys
 * of [partition NAME], each entry naming its key and the function that
 * parses and stores its value. A key's index in its table is its
 * enum omvi_board_key / omvi_part_key, which also indexes the lines the
 * keys were set on (duplicates, and where a later check points).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef void (*board_set_fn)(omvi_board_parse *c, const char *key, const char *value);

typedef struct board_key_def {
    const char *name;
    int required;
    board_set_fn set;
} board_key_def;

static void set_str(omvi_board_parse *c, char **dst, const char *value)
{
    if (!(*dst = omvi_strdup(value)))
        omvi_bp_nomem(c);
}

/* A comma list into a new array; errors name the section (@p label, "[board]") and the key. */
static int split_in(omvi_board_parse *c, const char *label, const char *key, const char *value, char ***items,
                    size_t *n)
{
    size_t bad = 0;
    int r = omvi_split_list(value, items, n, &bad);
    if (r == -2)
        omvi_bp_nomem(c);
    else if (r == -1)
        omvi_bp_fail(c, omvi_bp_line(c), "%s %s: empty item %zu in the list", label, key, bad + 1);
    return r;
}

static int split(omvi_board_parse *c, const char *key, const char *value, char ***items, size_t *n)
{
    return split_in(c, "[board]", key, value, items, n);
}

static void set_name(omvi_board_parse *c, const char *key, const char *value)
{
    (void)key;
    set_str(c, &omvi_bp_board(c)->name, value);
}

void omvi_board_set_ids(omvi_board_parse *c, const char *label, const char *key, const char *value,
                        struct omv_usb_id **out, size_t *n_out)
{
    char **items;
    size_t n;
    if (split_in(c, label, key, value, &items, &n) != 0)
        return;
    struct omv_usb_id *ids = calloc(n, sizeof *ids);
    if (!ids)
        omvi_bp_nomem(c);
    for (size_t i = 0; ids && i < n; i++) {
        if (omvi_parse_usb_id(items[i], &ids[i]) != 0) {
            omvi_bp_fail(c, omvi_bp_line(c), "%s %s: '%s' is not a VID:PID pair (use hex, like 37C5:96E3)", label,
                         key, items[i]);
            free(ids);
            ids = NULL;
        }
    }
    omvi_free_list(items, n);
    *out = ids;
    *n_out = ids ? n : 0;
}

static void set_boot_ids(omvi_board_parse *c, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    omvi_board_set_ids(c, "[board]", key, value, &b->boot_ids, &b->n_boot_ids);
}

static void set_app_ids(omvi_board_parse *c, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    omvi_board_set_ids(c, "[board]", key, value, &b->app_ids, &b->n_app_ids);
}

/* A list of plugin names (transport, entry): at most @p max, each a valid name, none twice. */
void omvi_board_set_plugins(omvi_board_parse *c, const char *label, const char *key, const char *value, size_t max,
                            char ***out, size_t *n)
{
    if (split_in(c, label, key, value, out, n) != 0)
        return;
    if (*n > max) {
        omvi_bp_fail(c, omvi_bp_line(c), "%s %s: at most %zu plugins", label, key, max);
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!omvi_valid_plugin_name((*out)[i])) {
            omvi_bp_fail(c, omvi_bp_line(c), "%s %s: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')", label,
                         key, (*out)[i]);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp((*out)[i], (*out)[j]) == 0) {
                omvi_bp_fail(c, omvi_bp_line(c), "%s %s: '%s' is listed twice", label, key, (*out)[i]);
                return;
            }
    }
}

/* One or more bootloader transports: the camera is flashed through whichever
 * bootloader shows up (the IDE watches for both the same way). */
static void set_transport(omvi_board_parse *c, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    omvi_board_set_plugins(c, "[board]", key, value, OMVI_MAX_TRANSPORTS, &b->transports, &b->n_transports);
}

/* One or more ways into the bootloader, tried in order. */
static void set_entry(omvi_board_parse *c, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    omvi_board_set_plugins(c, "[board]", key, value, OMVI_MAX_ENTRIES, &b->entries, &b->n_entries);
}

static void set_flash_order(omvi_board_parse *c, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    if (split(c, key, value, &b->flash_order.names, &b->flash_order.n) == 0)
        b->flash_order.line = omvi_bp_line(c);
}

static void set_file_name(omvi_board_parse *c, const char *key, const char *value, char **dst, const char *what)
{
    if (!omvi_valid_file_name(value)) {
        omvi_bp_fail(c, omvi_bp_line(c), "[board] %s: '%s' must be a %s name without '/'", key, value, what);
        return;
    }
    set_str(c, dst, value);
}

static void set_firmware_list(omvi_board_parse *c, const char *key, const char *value)
{
    set_file_name(c, key, value, &omvi_bp_board(c)->firmware_list, "file");
}

static void set_firmware_dir(omvi_board_parse *c, const char *key, const char *value)
{
    set_file_name(c, key, value, &omvi_bp_board(c)->firmware_dir, "folder");
}

static void set_arch(omvi_board_parse *c, const char *key, const char *value)
{
    if (!omvi_valid_arch(value)) {
        omvi_bp_fail(c, omvi_bp_line(c),
                     "[board] %s: '%s' must be 1 to %d printable ASCII characters (the firmware's OMV_BOARD_ARCH)",
                     key, value, OMVI_ARCH_MAX);
        return;
    }
    set_str(c, &omvi_bp_board(c)->arch, value);
}

static void set_filesystem(omvi_board_parse *c, const char *key, const char *value)
{
    (void)key;
    set_str(c, &omvi_bp_board(c)->filesystem_name, value);
}

static void set_ms(omvi_board_parse *c, const char *key, const char *value, uint64_t min, uint32_t *dst)
{
    uint64_t v;
    if (omvi_parse_uint(value, UINT32_MAX - 1, &v) != 0 || v < min) {
        omvi_bp_fail(c, omvi_bp_line(c), "[board] %s: '%s' is not a number of milliseconds (%llu to 4294967294)",
                     key, value, (unsigned long long)min);
        return;
    }
    *dst = (uint32_t)v;
}

static void set_wait_ms(omvi_board_parse *c, const char *key, const char *value)
{
    set_ms(c, key, value, 0, &omvi_bp_board(c)->wait_ms);
}

static void set_poll_ms(omvi_board_parse *c, const char *key, const char *value)
{
    set_ms(c, key, value, 1, &omvi_bp_board(c)->poll_ms);
}

static void set_retries(omvi_board_parse *c, const char *key, const char *value)
{
    uint64_t v;
    if (omvi_parse_uint(value, 100, &v) != 0)
        omvi_bp_fail(c, omvi_bp_line(c), "[board] %s: '%s' is not a number of retries (0 to 100)", key, value);
    else
        omvi_bp_board(c)->retries = (uint32_t)v;
}

static void set_confirm_ms(omvi_board_parse *c, const char *key, const char *value)
{
    set_ms(c, key, value, 0, &omvi_bp_board(c)->confirm_ms);
}

static const board_key_def board_keys[OMVI_BK_COUNT] = {
    [OMVI_BK_NAME] = {"name", 1, set_name},
    [OMVI_BK_BOOT_IDS] = {"bootloader_ids", 1, set_boot_ids},
    [OMVI_BK_APP_IDS] = {"app_ids", 0, set_app_ids},
    [OMVI_BK_TRANSPORT] = {"transport", 1, set_transport},
    [OMVI_BK_ENTRY] = {"entry", 0, set_entry},
    [OMVI_BK_FLASH_ORDER] = {"flash_order", 1, set_flash_order},
    [OMVI_BK_FIRMWARE_LIST] = {"firmware_list", 0, set_firmware_list},
    [OMVI_BK_FIRMWARE_DIR] = {"firmware_dir", 0, set_firmware_dir},
    [OMVI_BK_ARCH] = {"arch", 0, set_arch},
    [OMVI_BK_FILESYSTEM] = {"filesystem", 0, set_filesystem},
    [OMVI_BK_WAIT_MS] = {"wait_ms", 0, set_wait_ms},
    [OMVI_BK_POLL_MS] = {"poll_ms", 0, set_poll_ms},
    [OMVI_BK_RETRIES] = {"retries", 0, set_retries},
    [OMVI_BK_CONFIRM_MS] = {"confirm_ms", 0, set_confirm_ms},
};

const char *omvi_board_key_name(enum omvi_board_key k) { return board_keys[k].name; }
int omvi_board_key_required(enum omvi_board_key k) { return board_keys[k].required; }

void omvi_board_key(omvi_board_parse *c, const char *name, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    int line = omvi_bp_line(c);
    int k = 0;
    while (k < OMVI_BK_COUNT && strcmp(board_keys[k].name, name) != 0)
        k++;
    if (k == OMVI_BK_COUNT) {
        const char *names[OMVI_BK_COUNT];
        for (int i = 0; i < OMVI_BK_COUNT; i++)
            names[i] = board_keys[i].name;
        char keys[256];
        omvi_join(names, OMVI_BK_COUNT, keys, sizeof keys);
        omvi_bp_fail(c, line, "[board] unknown key '%s' (keys: %s)", name, keys);
        return;
    }
    if (b->key_lines[k]) {
        omvi_bp_fail(c, line, "[board] duplicate key '%s' (first at line %d)", name, b->key_lines[k]);
        return;
    }
    b->key_lines[k] = line;
    if (!*value) {
        omvi_bp_fail(c, line, "[board] %s: empty value", name);
        return;
    }
    board_keys[k].set(c, name, value);
}

/* ---- [partition NAME] ----------------------------------------------------- */

typedef void (*part_set_fn)(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value);

static void set_size(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    uint64_t v;
    if (omvi_parse_size(value, &v) != 0)
        omvi_bp_fail(c, omvi_bp_line(c), "[partition %s] %s: '%s' is not a size (use 123, 0x1000, 64K, 3M)", p->name,
                     key, value);
    else if (v == 0)
        omvi_bp_fail(c, omvi_bp_line(c), "[partition %s] %s: must be greater than 0", p->name, key);
    else
        p->info.size = v;
}

static int parse_flag(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value, int *out)
{
    if (omvi_parse_bool(value, out) == 0)
        return 0;
    omvi_bp_fail(c, omvi_bp_line(c),
                 "[partition %s] %s: '%s' is not a yes/no value (use yes, no, true, false, on, off, 1, 0)", p->name,
                 key, value);
    return -1;
}

static void set_read_only(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    parse_flag(c, p, key, value, &p->info.read_only);
}

static void set_readable(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    parse_flag(c, p, key, value, &p->info.readable);
}

static void set_image(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    omv_board *b = omvi_bp_board(c);
    if (!omvi_valid_file_name(value)) {
        omvi_bp_fail(c, omvi_bp_line(c), "[partition %s] %s: '%s' must be a file name without '/'", p->name, key,
                     value);
        return;
    }
    for (omvi_partition *q = b->parts; q < p; q++) {
        if (q->image && strcmp(q->image, value) == 0) {
            omvi_bp_fail(c, omvi_bp_line(c), "[partition %s] %s: '%s' is already the image of [partition %s]",
                         p->name, key, value, q->name);
            return;
        }
    }
    set_str(c, &p->image, value);
    p->info.image = p->image;
}

static void set_timeout(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    uint64_t v;
    if (omvi_parse_uint(value, UINT32_MAX, &v) != 0)
        omvi_bp_fail(c, omvi_bp_line(c),
                     "[partition %s] %s: '%s' is not a number of milliseconds (0 to 4294967295)", p->name, key, value);
    else
        p->info.timeout_ms = (uint32_t)v;
}

/* A size, 0 allowed (skip_give_up = 0: compare the whole image). */
static void set_give_up(omvi_board_parse *c, omvi_partition *p, const char *key, const char *value)
{
    if (omvi_parse_size(value, &p->skip_give_up) != 0)
        omvi_bp_fail(c, omvi_bp_line(c), "[partition %s] %s: '%s' is not a size (use 0, 0x10000, 64K, 1M)", p->name,
                     key, value);
}

static const struct {
    const char *name;
    part_set_fn set;
} part_keys[OMVI_PK_COUNT] = {
    [OMVI_PK_SIZE] = {"size", set_size},
    [OMVI_PK_READ_ONLY] = {"read_only", set_read_only},
    [OMVI_PK_READABLE] = {"readable", set_readable},
    [OMVI_PK_IMAGE] = {"image", set_image},
    [OMVI_PK_TIMEOUT_MS] = {"timeout_ms", set_timeout},
    [OMVI_PK_SKIP_GIVE_UP] = {"skip_give_up", set_give_up},
};

const char *omvi_part_key_name(enum omvi_part_key k) { return part_keys[k].name; }

void omvi_part_key_names(char *buf, size_t len)
{
    const char *names[OMVI_PK_COUNT];
    for (int i = 0; i < OMVI_PK_COUNT; i++)
        names[i] = part_keys[i].name;
    omvi_join(names, OMVI_PK_COUNT, buf, len);
}

void omvi_partition_key(omvi_board_parse *c, omvi_partition *p, const char *name, const char *value)
{
    int line = omvi_bp_line(c);
    int k = 0;
    while (k < OMVI_PK_COUNT && strcmp(part_keys[k].name, name) != 0)
        k++;
    char label[64];
    snprintf(label, sizeof label, "[partition %s]", p->name);
    if (k == OMVI_PK_COUNT) {
        /* A transport's partition option (dfu: alt), checked once the transports are loaded. */
        omvi_board_keep_raw(c, &p->opts, &p->n_opts, label, name, value);
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
    part_keys[k].set(c, p, name, value);
}
