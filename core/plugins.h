/*
 * Plugins as the core holds them: the loaded file (plugin_loader.c), its
 * options checked against its specs (plugin_options.c, partition_options.c),
 * the host the core hands it (host_services.c), and a board's plugins loaded
 * and started together (board_plugins.c). Internal to the core; included
 * through internal.h.
 */
#ifndef OMVFLASH_CORE_PLUGINS_H
#define OMVFLASH_CORE_PLUGINS_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "omvflash/omvflash.h"
#include "omvflash/plugin.h"

/* ---- loading (plugin_loader.c, plugin_trust.c) ----------------------------- */

typedef struct omvi_plugin {
    void *dl;
    const struct omv_plugin *desc;
    char *path;
} omvi_plugin;

/**
 * The plugin directory that belongs to this libomvflash (self_dir.c): the
 * configured relative path (lib/ -> lib/omvflash/plugins) from the directory
 * of the file holding the core, as a real path when it exists. Searched after
 * the request's plugin dir and $OMVFLASH_PLUGIN_PATH.
 * @return its length, or 0 (@p out "") when it cannot be found or does not fit.
 */
size_t omvi_builtin_plugin_dir(char *out, size_t n);

/**
 * Load plugin @p name of @p kind and check its descriptor (ABI, size, name,
 * kind, required operations, option tables). @p context starts every error
 * message ("boards/ae3.ini:9: transport plugin 'dfu'").
 * @return OMV_OK or OMV_E_PLUGIN (OMV_E_NOMEM).
 */
omv_status omvi_plugin_load(const char *name, enum omv_plugin_kind kind, const char *plugin_dir,
                            const char *context, omvi_plugin *out, omv_error *err);
/**
 * Whether the plugin file @p file may be loaded (plugin_trust.c): regular,
 * owned by root or the effective user, neither it nor its directory
 * writable by group or others, every directory above owned likewise and
 * not writable by others unless sticky. @p real (at least PATH_MAX bytes)
 * receives its real path, the one to dlopen().
 * @return OMV_OK or OMV_E_PLUGIN ("CONTEXT: refusing to load PATH: ...").
 */
omv_status omvi_plugin_trusted(const char *file, const char *context, char *real, size_t real_len, omv_error *err);
/** dlclose and free; safe on a zeroed struct. */
void omvi_plugin_unload(omvi_plugin *p);
/** "transport", "entry", "action". */
const char *omvi_plugin_kind_name(enum omv_plugin_kind k);

/* ---- option values (plugin_options.c) -------------------------------------- */

/** One resolved option: the board's value, a --set override, or the plugin's default. */
typedef struct omvi_option {
    const struct omv_option_spec *spec;
    char *value;         /**< owned copy (choices: spelled as the spec), NULL when unset */
    uint64_t number;     /**< parsed value for UINT/BOOL */
} omvi_option;

typedef struct omvi_options {
    omvi_option *v;
    size_t n;
} omvi_options;

/**
 * Check @p value against @p spec (type, min/max, choices). On success
 * *number gets the parsed value (UINT/BOOL) and *canonical (may be NULL)
 * the spelling to keep (a choice as the spec spells it, else @p value).
 * @return 0, or -1 with @p why ("must be at least 1 (1 to 65535)") filled.
 */
int omvi_option_value_check(const struct omv_option_spec *spec, const char *value, uint64_t *number,
                            const char **canonical, char *why, size_t why_len);
/** "a number from 1 to 65535", "one of safe, fast", "a yes/no value", "text" for messages and --help. */
void omvi_option_allowed(const struct omv_option_spec *spec, char *buf, size_t len);

/**
 * Check @p sec (may be NULL: no section) against the options @p plugin
 * declares and resolve every one. Errors name "FILE:LINE: LABEL key: ...";
 * a required option that is missing points at @p line (the section header,
 * or the line that names the plugin when there is no section).
 * @return OMV_OK, OMV_E_BOARD, OMV_E_PLUGIN (a bad default), OMV_E_NOMEM.
 */
omv_status omvi_options_resolve(const char *board_path, const char *label, int line,
                                const omvi_plugin_section *sec, const struct omv_plugin *plugin,
                                omvi_options *out, omv_error *err);
void omvi_options_free(omvi_options *o);
/**
 * Replace option @p key's value (a --set or a command-line shorthand,
 * described in messages as @p what: "--set mode=x", "--mode x"). Sets
 * *applied when @p o has the key; OMV_E_USAGE when the value is not allowed.
 */
omv_status omvi_options_override(omvi_options *o, const char *key, const char *value, const char *what,
                                 int *applied, omv_error *err);
const omvi_option *omvi_options_find(const omvi_options *o, const char *key);

/* ---- partition options (partition_options.c) ------------------------------ */

/**
 * Check every non-core key of every [partition NAME] of @p b against the
 * partition options the transports @p descs declare: a key none declares is
 * an error (FILE:LINE, listing the keys there are), a value that does not
 * fit every spec declaring it too, and so are a missing required key and a
 * value given twice for a unique one.
 * @return OMV_OK, OMV_E_BOARD, OMV_E_PLUGIN (a bad default).
 */
omv_status omvi_partition_options_check(const omv_board *b, const struct omv_plugin *const *descs, size_t n,
                                        omv_error *err);
/** Value of partition option @p key of partition @p part as @p desc declares it (default when unset), or NULL. */
const char *omvi_partition_option(const omv_board *b, const struct omv_plugin *desc, const char *part,
                                  const char *key);

/* ---- cancellation (cancel.c) ------------------------------------------------ */

/** Non-zero once omv_cancel_request() was called on @p c (NULL: never). Any thread. */
int omvi_cancelled(const omv_cancel *c);

/* ---- the host (host_services.c) ---------------------------------------------- */

typedef struct omvi_host {
    struct omv_host host;            /**< handed to plugins; host.ctx points here */
    const omv_callbacks *cb;
    const omv_cancel *cancel;
    const omvi_options *opts;
    const omv_board *board;
    const struct omv_plugin *desc;   /**< the plugin served: its partition options */
    struct omv_target *targets;      /**< the board's partitions as host->partition() hands them */
    /* current step, copied into progress events */
    const char *step;
    const char *partition;
    const char *file;
    int index;
    int count;
    uint64_t last_done;
    /* action plugins: the transport session partition_write() goes through */
    const struct omv_transport_ops *transport;
    void *session;
    const struct omv_dev_partition *dev_parts;
    size_t n_dev_parts;
    /* transports: the run's plan as open() sees it (omv_host.run_plan), or NULL */
    struct omv_run_plan *run_plan;
} omvi_host;

/** Fill @p h for plugin @p desc of board @p b with options @p opts (partition_write NULL). */
omv_status omvi_host_init(omvi_host *h, const omv_callbacks *cb, const omv_cancel *cancel, const omvi_options *opts,
                          const omv_board *b, const struct omv_plugin *desc, omv_error *err);
void omvi_host_free(omvi_host *h);
/** Actions: partition_write() through the transport session @p session. */
void omvi_host_enable_partition_write(omvi_host *h, const struct omv_transport_ops *ops, void *session,
                                      const struct omv_dev_partition *dev_parts, size_t n_dev_parts);
/** Emit @p ev to the callbacks (no-op without an event function). */
void omvi_emit(const omv_callbacks *cb, const omv_event *ev);
/** Log through the callbacks (formats only when someone listens at @p level). */
void omvi_log(const omv_callbacks *cb, enum omv_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/** Whether a message at @p level would reach anyone. */
int omvi_log_wanted(const omv_callbacks *cb, enum omv_log_level level);
uint64_t omvi_now_ms(void);
/** Sleep @p ms in slices, waking early on @p cancel. @return OMV_OK or OMV_E_CANCELLED. */
omv_status omvi_sleep_ms(const omv_cancel *cancel, uint32_t ms);

/* ---- a board's plugins (board_plugins.c) ------------------------------------- */

/** A plugin loaded for a board: the file, its options, its host, its context. Never moved once loaded. */
typedef struct omvi_bplugin {
    omvi_plugin p;
    omvi_options opts;
    omvi_host h;
    void *ctx;              /**< what init() returned */
    int started;            /**< init() succeeded: exit() is due */
    char label[96];         /**< "[dfu]", "[action mram_init]" */
    int line;               /**< its section's header, or the board line naming it */
} omvi_bplugin;

/**
 * Load plugin @p name of @p kind for board @p b and resolve its options from
 * @p sec (NULL: none); @p line and @p label place it in messages.
 */
omv_status omvi_bplugin_load(omvi_bplugin *bp, const omv_board *b, const char *name, enum omv_plugin_kind kind,
                             const omvi_plugin_section *sec, int line, const char *label, const char *plugin_dir,
                             const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err);
/** check() (errors prefixed with FILE:LINE of the section), then init(). */
omv_status omvi_bplugin_start(omvi_bplugin *bp, const omv_board *b, omv_error *err);
/** exit() if started, unload, free; safe on a zeroed or half-loaded one. */
void omvi_bplugin_close(omvi_bplugin *bp);

/** Action @p i of @p b ([action NAME]) loaded with its section's options, not started. */
omv_status omvi_action_load(omvi_bplugin *bp, const omv_board *b, size_t i, const char *plugin_dir,
                            const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err);

/** Every bootloader transport of a board and its entry plugins, loaded together. */
typedef struct omvi_plugin_set {
    const omv_board *b;
    omvi_bplugin t[OMVI_MAX_TRANSPORTS];
    size_t nt;
    omvi_bplugin e[OMVI_MAX_ENTRIES];
    size_t ne;
} omvi_plugin_set;

/**
 * Load the transports and entry plugins of @p b, resolve their options and
 * check the board's partition options against the transports' declarations.
 * Nothing is started: apply overrides, then omvi_plugin_set_start().
 */
omv_status omvi_plugin_set_load(omvi_plugin_set *s, const omv_board *b, const char *plugin_dir,
                                const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err);
/** check() and init() every plugin of the set. */
omv_status omvi_plugin_set_start(omvi_plugin_set *s, omv_error *err);
void omvi_plugin_set_close(omvi_plugin_set *s);
/** Load and start in one go (no overrides). */
omv_status omvi_plugin_set_open(omvi_plugin_set *s, const omv_board *b, const char *plugin_dir,
                                const omv_callbacks *cb, const omv_cancel *cancel, omv_error *err);

/** omv_transport_ops of transport @p i / omv_entry_ops of entry @p i. */
static inline const struct omv_transport_ops *omvi_tops(const omvi_plugin_set *s, size_t i)
{
    return s->t[i].p.desc->transport;
}
static inline const struct omv_entry_ops *omvi_eops(const omvi_plugin_set *s, size_t i)
{
    return s->e[i].p.desc->entry;
}

/* ---- waiting for the bootloader (device_wait.c) ------------------------------ */

/**
 * One look of a wait: OMV_OK (or any status but OMV_E_NO_DEVICE) ends the
 * wait with that status; OMV_E_NO_DEVICE means "not yet".
 */
typedef omv_status (*omvi_look_fn)(void *user, omv_error *err);

/**
 * The core's one wait: @p look right away, then every @p poll_ms until it
 * answers or @p wait_ms passed (it looks at least once).
 * @return what @p look returned; OMV_E_NO_DEVICE when the time is up (@p err
 *         as the last look left it); OMV_E_CANCELLED.
 */
omv_status omvi_poll(uint32_t wait_ms, uint32_t poll_ms, const omv_cancel *cancel, omvi_look_fn look, void *user,
                     omv_error *err);

/**
 * One look of omv_identify() with every entry plugin of @p s that can
 * identify: OMV_E_NO_DEVICE when no camera matching @p m is in application
 * mode; OMV_E_UNSUPPORTED when none can identify.
 */
omv_status omvi_identify_look(omvi_plugin_set *s, const struct omv_match *m, struct omv_app_info *out,
                              omv_error *err);

typedef struct omvi_wait_req {
    const struct omv_match *boot;  /**< bootloader ids, serial, port */
    const struct omv_match *app;   /**< app ids and port, or NULL: no camera is reset into its bootloader */
    uint32_t wait_ms;
    const omv_callbacks *cb;
    const omv_cancel *cancel;
} omvi_wait_req;

typedef struct omvi_wait_result {
    size_t active;                 /**< the transport whose bootloader answered */
    void *session;
    struct omv_device_info info;
} omvi_wait_result;

/**
 * Wait up to req->wait_ms for a bootloader of the board on any transport of
 * @p set (started), resetting a camera found in application mode meanwhile.
 * @return OMV_OK with @p out filled; OMV_E_NO_DEVICE; OMV_E_CANCELLED;
 *         whatever open() or an entry plugin returned (prefixed with its name).
 */
omv_status omvi_wait_bootloader(omvi_plugin_set *set, const omvi_wait_req *req, omvi_wait_result *out,
                                omv_error *err);

/* ---- devices seen in one scan (device_key.c) -------------------------------- */

/** The keys (omv_device_key()) of the devices a scan reported so far. */
typedef struct omvi_seen {
    char (*keys)[OMV_DEVICE_KEY_MAX];
    size_t n, cap;
} omvi_seen;

/** Remember @p dev. @return 1 when it is new, 0 when its key was seen already, -1 out of memory. */
int omvi_seen_add(omvi_seen *s, const struct omv_device_info *dev);
void omvi_seen_free(omvi_seen *s);

#endif /* OMVFLASH_CORE_PLUGINS_H */
