/*
 * The board file as the core holds it (board_parse.c reads it, board_keys.c
 * knows the core's keys, board_check.c resolves names, board.c answers
 * questions about it). Internal to the core; included through internal.h.
 *
 * The core's schema names no protocol: [board] and the core keys of
 * [partition NAME] are its own; every other key of a [partition NAME]
 * section is kept as text with its line and checked later against the
 * partition options the board's transports declare (partition_options.c),
 * and the sections named after plugins ([dfu], [action NAME]) against the
 * options those plugins declare (plugin_options.c).
 */
#ifndef OMVFLASH_CORE_BOARD_H
#define OMVFLASH_CORE_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "omvflash/omvflash.h"

/** A "key = value" line kept as text for a plugin to check. */
typedef struct omvi_raw_option {
    char *key;
    char *value;
    int line;
} omvi_raw_option;

/** Partition names given in one key (flash_order = A, B), resolved to indexes once parsed. */
typedef struct omvi_part_list {
    char **names;
    size_t n;
    int line;          /**< where the key was set, 0 = not set */
    size_t *index;     /**< partition indexes, after omvi_board_check() */
} omvi_part_list;

/** A plugin's section: [dfu] (a transport's or an entry plugin's) or [action NAME]. */
typedef struct omvi_plugin_section {
    char *title;       /**< "dfu" or the action's NAME */
    char *plugin;      /**< plugin name (the title for [NAME] sections; plugin = for actions) */
    int line;          /**< header line */
    int plugin_line;   /**< line of "plugin =" (actions), else the header line */
    omvi_raw_option *opts;
    size_t n_opts;
    omvi_part_list restore;   /**< [action NAME]: partitions written again after the action */
    omvi_part_list recovers;  /**< [action NAME]: partitions whose refused writes this action repairs */
    omvi_part_list order;     /**< transport sections: this bootloader's own full-flash order */
} omvi_plugin_section;

/** Core keys of [partition NAME], in the order of their table (board_keys.c). */
enum omvi_part_key {
    OMVI_PK_SIZE,
    OMVI_PK_READ_ONLY,
    OMVI_PK_READABLE,
    OMVI_PK_IMAGE,
    OMVI_PK_TIMEOUT_MS,
    OMVI_PK_SKIP_GIVE_UP,
    OMVI_PK_COUNT
};

typedef struct omvi_partition {
    omv_partition_info info;   /**< public view; strings point at name/image below */
    char *name;
    char *image;
    int line;                  /**< header line */
    int key_lines[OMVI_PK_COUNT]; /**< line each core key was set on, 0 = unset */
    omvi_raw_option *opts;     /**< the other keys: the transports' partition options */
    size_t n_opts;
    /** skip_give_up: --skip-unchanged stops comparing after this many consecutive differing bytes; 0 = never */
    uint64_t skip_give_up;
    int guarded;               /**< read-only on the board, writable under the selected profile after a
                                    confirmation (its `writable` key) */
    char *opts_where;          /**< where opts were given when not in [partition NAME]: "profile recover"
                                    (messages then read "[profile recover] NAME.KEY"), else NULL */
} omvi_partition;

/** Keys of [profile NAME], in the order of their table (board_profile_keys.c). */
enum omvi_profile_key {
    OMVI_PRK_MESSAGE,
    OMVI_PRK_REFUSE,
    OMVI_PRK_BOOT_IDS,
    OMVI_PRK_TRANSPORT,
    OMVI_PRK_FLASH_ORDER,
    OMVI_PRK_WRITABLE,
    OMVI_PRK_PARTITIONS,
    OMVI_PRK_WAIT_MS,
    OMVI_PRK_COUNT
};

/** One partition's keys in a profile ("FIRMWARE.address = 0x08040000"): the core's and the transports'. */
typedef struct omvi_profile_part {
    char *image;               /**< NAME.image, or NULL */
    uint64_t size;             /**< NAME.size, 0 = the partition's */
    uint32_t timeout_ms;       /**< NAME.timeout_ms (valid when timeout_line) */
    int image_line, size_line, timeout_line;
    omvi_raw_option *opts;     /**< NAME.KEY for any other KEY: the profile's transports' partition options */
    size_t n_opts;
} omvi_profile_part;

/**
 * [profile NAME]: another way to flash the board (other bootloader ids,
 * transport, partitions, order), selected by name (omv_board_select_profile()),
 * or a refusal naming the tool to use instead. The core gives its keys no
 * protocol meaning.
 */
typedef struct omvi_profile {
    char *name;
    int line;                        /**< header line */
    int key_lines[OMVI_PRK_COUNT];   /**< line each key was set on, 0 = unset */
    char *message;                   /**< what the user must do while the core waits, or NULL */
    char *refuse;                    /**< why this profile cannot run and what to use instead, or NULL */
    struct omv_usb_id *boot_ids;
    size_t n_boot_ids;
    char **transports;
    size_t n_transports;
    omvi_part_list flash_order;
    omvi_part_list writable;         /**< read-only partitions this profile may write */
    omvi_part_list partitions;       /**< the partitions this profile reaches (n = 0: all) */
    uint32_t wait_ms;
    omvi_raw_option *part_keys;      /**< every NAME.KEY as written, in file order */
    size_t n_part_keys;
    omvi_profile_part *parts;        /**< NAME.KEY per board partition (n_parts entries), once the board is parsed */
} omvi_profile;

/** Keys of [board], in the order of their table (board_keys.c). */
enum omvi_board_key {
    OMVI_BK_NAME,
    OMVI_BK_BOOT_IDS,
    OMVI_BK_APP_IDS,
    OMVI_BK_TRANSPORT,
    OMVI_BK_FLASH_ORDER,
    OMVI_BK_FIRMWARE_LIST,
    OMVI_BK_FILESYSTEM,
    OMVI_BK_WAIT_MS,
    OMVI_BK_ENTRY,
    OMVI_BK_FIRMWARE_DIR,
    OMVI_BK_ARCH,
    OMVI_BK_POLL_MS,
    OMVI_BK_RETRIES,
    OMVI_BK_CONFIRM_MS,
    OMVI_BK_COUNT
};

/** Most bootloader transports, and most entry plugins, a board may list. */
#define OMVI_MAX_TRANSPORTS 4
#define OMVI_MAX_ENTRIES 4

/** Default of [board] poll_ms: how often the core looks for the bootloader while it waits. */
#define OMVI_DEFAULT_POLL_MS 20u
/** [board] retries when the board file does not say. */
#define OMVI_DEFAULT_RETRIES 2u

struct omv_board {
    char *path;
    char *name;
    int board_line;                 /**< 0 when [board] is missing */
    int key_lines[OMVI_BK_COUNT];   /**< per [board] key: line it was set on, 0 = unset */
    struct omv_usb_id *boot_ids;
    size_t n_boot_ids;
    struct omv_usb_id *app_ids;
    size_t n_app_ids;
    char **transports;              /**< every bootloader transport, tried together; [0] is the primary */
    size_t n_transports;
    char **entries;                 /**< entry plugins (app mode -> bootloader), tried in order */
    size_t n_entries;
    omvi_part_list flash_order;
    char *firmware_list;
    char *firmware_dir;             /**< folder of the board's images in a release zip, or NULL */
    char *arch;                     /**< the firmware's arch string (OMV_BOARD_ARCH), or NULL */
    char *filesystem_name;
    long filesystem;                /**< partition index or -1 */
    uint32_t wait_ms;
    uint32_t poll_ms;
    uint32_t retries;               /**< writes tried again after a retriable failure (default 2) */
    uint32_t confirm_ms;            /**< how long to wait for the application after the reset */
    omvi_partition *parts;
    size_t n_parts;
    omvi_plugin_section *psections; /**< [<plugin>] sections of transports and entry plugins */
    size_t n_psections;
    omvi_plugin_section *actions;
    size_t n_actions;
    omvi_profile *profiles;         /**< [profile NAME] sections */
    size_t n_profiles;
    char *profile;                  /**< the profile this board is the view of (omv_board_select_profile()), or NULL */
    int profile_line;               /**< that profile's header line */
    char *wait_message;             /**< that profile's message, said while the core waits for the device */
};

/* ---- board_keys.c ------------------------------------------------------- */

/** A parse in progress (board_parse.c); the key handlers report errors through it. */
typedef struct omvi_board_parse omvi_board_parse;

/** Record an error "FILE:LINE: message" (the first one wins). */
void omvi_bp_fail(omvi_board_parse *c, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void omvi_bp_nomem(omvi_board_parse *c);
/** The board being parsed, and the current line. */
omv_board *omvi_bp_board(omvi_board_parse *c);
int omvi_bp_line(const omvi_board_parse *c);

/** Keep "KEY = VALUE" as text in @p opts (a duplicate key or an empty value is an error). */
void omvi_board_keep_raw(omvi_board_parse *c, omvi_raw_option **opts, size_t *n, const char *label,
                         const char *name, const char *value);
/** "[board] KEY = VALUE" at the current line (unknown keys and duplicates are errors). */
void omvi_board_key(omvi_board_parse *c, const char *name, const char *value);
/** "KEY = VALUE" in [partition NAME]: core keys are parsed, others kept for the transports. */
void omvi_partition_key(omvi_board_parse *c, omvi_partition *p, const char *name, const char *value);
/** A VID:PID list (@p label "[board]" and @p key name the key in errors). */
void omvi_board_set_ids(omvi_board_parse *c, const char *label, const char *key, const char *value,
                        struct omv_usb_id **out, size_t *n_out);
/** A list of at most @p max plugin names, each valid, none twice. */
void omvi_board_set_plugins(omvi_board_parse *c, const char *label, const char *key, const char *value, size_t max,
                            char ***out, size_t *n);
/** Name of [board] key @p k, of core partition key @p k. */
const char *omvi_board_key_name(enum omvi_board_key k);
const char *omvi_part_key_name(enum omvi_part_key k);
/** "size, read_only, readable, image, timeout_ms, skip_give_up" */
void omvi_part_key_names(char *buf, size_t len);
/** Whether [board] key @p k must be present. */
int omvi_board_key_required(enum omvi_board_key k);

/* ---- board_profile_keys.c -------------------------------------------------- */

/** "[profile NAME]" begins at the current line. */
void omvi_profile_begin(omvi_board_parse *c, const char *name);
/** "KEY = VALUE" in the current [profile NAME] (@p p). */
void omvi_profile_key(omvi_board_parse *c, omvi_profile *p, const char *name, const char *value);
/** After parsing: each profile's lists resolved and their rules checked. @return 0 or -1 (error set). */
int omvi_profiles_check(omvi_board_parse *c);
/** Non-zero when some profile of @p b lists @p plugin as a transport. */
int omvi_profiles_use_transport(const omv_board *b, const char *plugin);
void omvi_profile_free(omvi_profile *p, size_t n_parts);
const char *omvi_profile_key_name(enum omvi_profile_key k);

/* ---- board_check.c ------------------------------------------------------- */

/** Resolve @p l against the board's partitions (rules: OMVI_PL_*); @p what names the key. @return 0 or -1. */
int omvi_board_resolve(omvi_board_parse *c, omvi_part_list *l, const char *what, unsigned rules);
enum {
    OMVI_PL_WRITABLE = 1u << 0,   /**< no read-only partition */
    OMVI_PL_NEEDS_IMAGE = 1u << 1, /**< every partition has image = */
    OMVI_PL_ONCE = 1u << 2,       /**< no partition twice */
};


/** After parsing: required keys, partition names resolved to indexes. */
void omvi_board_check(omvi_board_parse *c);

/* ---- board.c -------------------------------------------------------------- */

/** Index of the partition called @p name, or -1. */
long omvi_board_find(const omv_board *b, const char *name);
/** The section [@p name] of a transport or entry plugin, or NULL when the board has none. */
const omvi_plugin_section *omvi_board_plugin_section(const omv_board *b, const char *name);
/** The primary transport's section ([dfu]) or NULL. */
const omvi_plugin_section *omvi_board_transport_section(const omv_board *b);
/** "BOOT, HP, HE" into @p buf. */
void omvi_board_part_names(const omv_board *b, char *buf, size_t len);
/** Non-zero when some transport of @p b narrows a full flash to partitions that exclude @p part (its flash_order). */
int omvi_board_part_optional(const omv_board *b, size_t part);
/** The raw partition option @p key of partition @p part, or NULL. */
const omvi_raw_option *omvi_board_part_option(const omv_board *b, size_t part, const char *key);
void omvi_part_list_free(omvi_part_list *l);
void omvi_plugin_section_free(omvi_plugin_section *s);
void omvi_raw_options_free(omvi_raw_option *o, size_t n);
/** Where partition @p part's option @p key was given, for messages: "[partition FW] alt" or "[profile recover] FW.alt". */
void omvi_part_option_label(const omv_board *b, size_t part, const char *key, char *buf, size_t len);

#endif /* OMVFLASH_CORE_BOARD_H */
