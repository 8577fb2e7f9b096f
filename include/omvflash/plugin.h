/*
 * omvflash plugin ABI, version 2.
 *
 * A plugin is a shared object (omvflash_<name>.so) exporting one symbol,
 * OMV_PLUGIN_ENTRY_SYMBOL, of type omv_plugin_entry_fn. It is one of three
 * kinds:
 *  - a transport speaks a bootloader's protocol: it finds devices, opens a
 *    session on one, writes, reads and erases partitions, and lets the device
 *    go (struct omv_transport_ops);
 *  - an entry plugin speaks a camera application's protocol just far enough
 *    to tell who it is and to reboot it into its bootloader
 *    (struct omv_entry_ops);
 *  - an action runs an extra step (e.g. memory initialisation) through the
 *    board's transport session, without knowing its protocol
 *    (struct omv_action_ops).
 * Plugins talk to the core only through this header. The core hands them a
 * struct omv_host (logging, progress, cancellation, the plugin's board-file
 * options and the board's partitions, a clock, sleeping, confirmation) and
 * receives results as omv_status codes plus an omv_error (status.h).
 *
 * The header is in three parts: this file (versions, the host's services,
 * the descriptor), plugin_types.h (the data exchanged) and plugin_ops.h (the
 * operations of each kind of plugin, op by op). Including this file is enough.
 *
 * ---- Loading ---------------------------------------------------------------
 * The core dlopen()s the file, calls the entry function once and checks the
 * descriptor before using anything else in it: abi_version must equal
 * OMV_PLUGIN_ABI_VERSION (a plugin built for ABI 1 is refused with a message
 * naming the file, its ABI and this one), size must be at least
 * sizeof(struct omv_plugin), name must be the name the plugin was loaded by,
 * kind the kind the board file asks for, and every required operation
 * non-NULL. It then resolves the plugin's options from the board file (and
 * --set), checks them against the option specs (types, ranges, choices:
 * errors name FILE:LINE), calls check() and finally init(). Only then are
 * the operations called. exit() is called before the file is unloaded.
 *
 * ---- Lifecycle and contexts ------------------------------------------------
 * init() returns a plugin context, passed to every operation that is not
 * bound to a session (list, open, hotplug, segments, identify, enter,
 * prepare, run): one libusb context, one serial-port enumerator, for as long
 * as the plugin is loaded. The core loads a plugin once per library call
 * that needs it: once per omv_flash() run, per omv_watcher (the whole of
 * omvflashd --watch), per omv_list_devices() call; within it a plugin never
 * needs to build and tear down its bus access per poll. Sessions (open() ..
 * close()) live inside one load of the plugin and are always closed before
 * exit().
 *
 * ---- Threading ---------------------------------------------------------------
 *  - init() and exit() are called on the thread that loads or unloads the
 *    plugin, never while another operation of the same plugin context runs.
 *  - list(), open(), hotplug() (and its watch's wait()), segments(),
 *    identify() and enter() may run on several threads at once against the
 *    same plugin context, and beside session operations on other threads:
 *    the plugin context must be safe for concurrent use (a libusb context
 *    is; a plugin that keeps mutable state in it locks it).
 *  - All operations on one session come from one thread at a time (not
 *    always the same thread). Different sessions may be used concurrently.
 *  - Host services are called by the plugin on the thread of the operation
 *    that is running, never from a thread the plugin started (a libusb event
 *    thread, a hot-plug callback): the core's callbacks run synchronously on
 *    that thread. The exceptions are cancelled() and now_ms(), which any
 *    thread may call at any time.
 *  - The found() callback of list() runs on the calling thread before list()
 *    returns.
 *
 * ---- Errors ------------------------------------------------------------------
 * Every operation that returns omv_status fills @p err on failure with
 * omv_error_set(): a one-line message that names the device and the step
 * ("block 12 (offset 0xC000): device reported errWRITE (0x03: write/program
 * failed), state dfuERROR"), plus, where known, the device's own status
 * (omv_error_device()), the block and offset (omv_error_block(),
 * omv_error_offset()) and whether trying again may help
 * (omv_error_retriable()). The core prefixes its own context ("write HP: ").
 * The status lists of the operations (plugin_ops.h) are complete: a plugin
 * returns nothing else.
 * OMV_E_NOMEM is always possible and not repeated per operation.
 * Operations never print and never exit().
 *
 * ---- Cancellation --------------------------------------------------------------
 * host->cancelled() becomes non-zero once the user asked to stop (a signal,
 * omv_cancel_request()). Loops that can take longer than ~100 ms check it and
 * return OMV_E_CANCELLED after leaving the device consistent (e.g. ABORT);
 * host->sleep_ms() wakes early and returns OMV_E_CANCELLED.
 */
#ifndef OMVFLASH_PLUGIN_H
#define OMVFLASH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "plugin_ops.h"
#include "plugin_types.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version implemented by this header. Bumped on any incompatible change. */
#define OMV_PLUGIN_ABI_VERSION 2u

/** Name of the one symbol every plugin exports. */
#define OMV_PLUGIN_ENTRY_SYMBOL "omv_plugin_entry"

/** File name of plugin NAME is OMV_PLUGIN_FILE_PREFIX NAME OMV_PLUGIN_FILE_SUFFIX. */
#define OMV_PLUGIN_FILE_PREFIX "omvflash_"
#define OMV_PLUGIN_FILE_SUFFIX ".so"

/** Mark the entry function exported even when built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define OMV_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define OMV_PLUGIN_EXPORT
#endif

/**
 * Services the core offers a plugin, passed to init(), check() and every
 * operation that is not bound to a session. The host outlives the plugin
 * context and every session opened with it. Members marked "may be NULL"
 * are absent in some contexts; all others are always set.
 */
struct omv_host {
    uint32_t abi_version;   /**< OMV_PLUGIN_ABI_VERSION of the core */
    uint32_t size;          /**< sizeof(struct omv_host) of the core */
    void *ctx;              /**< core-private; plugins must not touch it */

    /** Log a message (printf format) at @p level; the core decides what is shown. */
    void (*log)(const struct omv_host *host, enum omv_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /** Report progress of the current step: @p done of @p total bytes. Cheap; call per block. */
    void (*progress)(const struct omv_host *host, uint64_t done, uint64_t total);

    /** Non-zero once the user asked to stop; long loops check it and return OMV_E_CANCELLED. Any thread. */
    int (*cancelled)(const struct omv_host *host);

    /**
     * Value of option @p key from the plugin's board-file section (or --set),
     * or the default the plugin declared; spelled as in `choices` when it has
     * them. NULL if the plugin did not declare @p key or it is unset. The
     * string lives as long as the host.
     */
    const char *(*option_str)(const struct omv_host *host, const char *key);

    /** Option @p key parsed as OMV_OPT_UINT or OMV_OPT_BOOL (1/0); 0 if undeclared or unset. */
    uint64_t (*option_uint)(const struct omv_host *host, const char *key);

    /** Monotonic clock in milliseconds. Any thread. */
    uint64_t (*now_ms)(const struct omv_host *host);

    /**
     * Sleep @p ms milliseconds, waking early if the user cancels.
     * @return OMV_OK, or OMV_E_CANCELLED.
     */
    omv_status (*sleep_ms)(const struct omv_host *host, uint32_t ms);

    /**
     * Ask the user to accept a destructive step described in one line by
     * @p what. Returns OMV_OK when accepted (or --yes was given), OMV_E_CANCELLED
     * otherwise. Emitted as an event in --json mode.
     */
    omv_status (*confirm)(const struct omv_host *host, const char *what);

    /** Number of partitions the board declares. */
    size_t (*partition_count)(const struct omv_host *host);

    /**
     * Board partition @p i (0 .. partition_count()-1, board-file order) with
     * index OMV_INDEX_NONE, or NULL beyond the end. Lives as long as the host.
     */
    const struct omv_target *(*partition)(const struct omv_host *host, size_t i);

    /**
     * Value of partition option @p key (one of this plugin's
     * partition_options) of the board partition named @p partition: the
     * board file's, or the declared default; NULL when unset, or when
     * @p key or @p partition is unknown. Lives as long as the host.
     */
    const char *(*partition_option)(const struct omv_host *host, const char *partition, const char *key);

    /**
     * partition_option() parsed as its declared type (UINT, or BOOL as 1/0)
     * into *value. @return 1 when the option is set, 0 when unset (*value 0).
     */
    int (*partition_option_uint)(const struct omv_host *host, const char *partition, const char *key,
                                 uint64_t *value);

    /**
     * Action plugins only (NULL for transports and entry plugins, and in
     * prepare()): write @p len bytes from @p data to the board partition
     * named @p name through the board's transport session, allowing
     * @p timeout_ms per device request (0 = the partition's own timeout).
     * Same results as omv_transport_ops.write, with the transport's error
     * details (device status, block) kept.
     */
    omv_status (*partition_write)(const struct omv_host *host, const char *name, const uint8_t *data,
                                  size_t len, uint32_t timeout_ms, omv_error *err);

    /**
     * Transports, in open(): what the run will ask of the device, so that a
     * transport can refuse a request its protocol cannot carry out before it
     * changes the device's state (for example before a handshake after which
     * a bootloader no longer leaves by itself). Once a matching device is
     * there, the transport fills `cannot` of every step it cannot carry out;
     * if one of them is not optional, open() returns OMV_E_UNSUPPORTED with
     * that text as the message and leaves the device as it found it.
     * Returns NULL when there is no plan (list(), --list-devices, actions,
     * entry plugins). The plan stays valid until the session closes.
     */
    struct omv_run_plan *(*run_plan)(const struct omv_host *host);
};

/**
 * The descriptor a plugin's entry function returns. It must be a static
 * const object: the core keeps the pointer until it unloads the plugin.
 */
struct omv_plugin {
    uint32_t abi_version;   /**< must be OMV_PLUGIN_ABI_VERSION; first member in every ABI */
    uint32_t size;          /**< sizeof(struct omv_plugin) the plugin was built with; second in every ABI */
    const char *name;       /**< must equal the name the plugin was loaded by ("dfu") */
    const char *version;    /**< plugin version text, e.g. "0.1.0" */
    const char *description; /**< one line */
    enum omv_plugin_kind kind;
    /** Options of the plugin's board-file section, terminated by {NULL}; NULL for none. */
    const struct omv_option_spec *options;
    /**
     * Transports only: the keys this plugin reads in [partition NAME]
     * sections (dfu: `alt`), terminated by {NULL}; NULL for none. The core's
     * own partition keys (size, image, read_only, readable, timeout_ms) are
     * not repeated here. A key that no transport of the board declares is an
     * error naming FILE:LINE.
     */
    const struct omv_option_spec *partition_options;
    /** Command-line shorthands for some of `options`, terminated by {NULL}; NULL for none. */
    const struct omv_shorthand *shorthands;
    /**
     * Create the plugin context passed to the operations: bus access that
     * lives as long as the plugin is loaded. May be NULL (the context is
     * then NULL). Thread: the loading one.
     * Outputs: *plugin_ctx on success; on failure the plugin frees what it
     * made and exit() is not called.
     * @return OMV_OK; OMV_E_IO (e.g. libusb cannot be initialised); OMV_E_PLUGIN.
     */
    omv_status (*init)(const struct omv_host *host, void **plugin_ctx, omv_error *err);
    /** Free the plugin context. May be NULL. Called once, after every session is closed. Never fails. */
    void (*exit)(void *plugin_ctx);
    /**
     * Check the options together, after the core checked each one alone
     * (e.g. "chunk + 4 must stay below packet_size"), before init() and
     * before any device I/O, also for --dry-run and omv_board_check_plugins().
     * The core prefixes the message with FILE:LINE of the plugin's section.
     * May be NULL. Thread: the loading one.
     * @return OMV_OK; OMV_E_BOARD with @p err filled.
     */
    omv_status (*check)(const struct omv_host *host, omv_error *err);
    /** Required when kind == OMV_PLUGIN_TRANSPORT, NULL otherwise. */
    const struct omv_transport_ops *transport;
    /** Required when kind == OMV_PLUGIN_ACTION, NULL otherwise. */
    const struct omv_action_ops *action;
    /** Required when kind == OMV_PLUGIN_ENTRY, NULL otherwise. */
    const struct omv_entry_ops *entry;
};

/** Signature of the exported entry symbol. */
typedef const struct omv_plugin *(*omv_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_PLUGIN_H */
