/*
 * omvflash plugin ABI, version 1.
 *
 * A plugin is a shared object (omvflash_<name>.so) exporting one symbol,
 * OMV_PLUGIN_ENTRY_SYMBOL, of type omv_plugin_entry_fn. The core calls it once
 * after dlopen() and checks the descriptor it returns before using anything
 * else in it: abi_version must equal OMV_PLUGIN_ABI_VERSION and size must be
 * at least sizeof(struct omv_plugin) of the ABI the core was built with.
 *
 * Plugins talk to the core only through this header: the core hands them a
 * struct omv_host (logging, progress, cancellation, board-file options, clock,
 * sleep, and for action plugins the board's transport) and receives results as
 * omv_status codes plus an omv_error message. Plugins keep no process-wide
 * mutable state: everything lives in the session object they return from
 * open(), so several cameras can be driven at once from different threads.
 *
 * Threading: all calls on one session come from one thread at a time. Calls
 * on different sessions may run concurrently.
 *
 * Errors: every operation that returns omv_status fills @p err on failure
 * with a one-line message that names the device and the step ("block 12:
 * errWRITE (status 0x03), state dfuERROR"). The core prefixes its own context
 * ("write HP: ..."). Operations never print and never exit().
 */
#ifndef OMVFLASH_PLUGIN_H
#define OMVFLASH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version implemented by this header. Bumped on any incompatible change. */
#define OMV_PLUGIN_ABI_VERSION 1u

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

/** What a plugin is for. */
enum omv_plugin_kind {
    /** Talks to a bootloader: finds devices, writes and reads partitions. */
    OMV_PLUGIN_TRANSPORT = 1,
    /** Runs an extra step (e.g. MRAM init) using the board's transport through the host. */
    OMV_PLUGIN_ACTION = 2,
    /** Finds cameras running their application and resets them into their bootloader. */
    OMV_PLUGIN_ENTRY = 3,
};

/** Log levels for omv_host.log. */
enum omv_log_level {
    OMV_LOG_ERROR = 0,
    OMV_LOG_WARN = 1,
    OMV_LOG_INFO = 2,
    OMV_LOG_DEBUG = 3,
};

/** A USB vendor/product id pair. */
struct omv_usb_id {
    uint16_t vid;
    uint16_t pid;
};

/**
 * Which device to talk to. The core builds it from the board file and the
 * command line; the plugin matches devices against it.
 */
struct omv_match {
    /** Bootloader-mode ids from the board file (bootloader_ids); n_ids >= 1. */
    const struct omv_usb_id *ids;
    size_t n_ids;
    /** Serial number the device must report, or NULL for any. */
    const char *serial;
    /** Physical port path ("1-2.3", libusb bus-port numbers), or NULL for any. */
    const char *port_path;
    /**
     * Port paths whose devices list() must neither open nor report: another
     * session of this process owns them (omvflashd --watch is flashing a
     * camera there, and a second handle on a device mid-transfer is unsafe).
     * NULL / 0 for none; only list() looks at it. A plugin that ignores it
     * still works (the core drops what it reports there) but opens the device.
     */
    const char *const *skip_ports;
    size_t n_skip_ports;
};

/** What a plugin reports about a device it found or opened. */
struct omv_device_info {
    uint16_t vid;
    uint16_t pid;
    char serial[64];        /**< iSerialNumber string, "" if none */
    char port_path[32];     /**< "1-2.3" style bus-port path, "" if unknown */
    char manufacturer[64];  /**< iManufacturer string, "" if none */
    char product[128];      /**< iProduct string, "" if none */
    char mode[32];          /**< what the plugin sees: "bootloader", "app", ... */
    char bootloader_version[16]; /**< "1.0.3", or "" when the device does not tell */
};

/** One partition as the device itself reports it (DFU: one alt setting). */
struct omv_dev_partition {
    unsigned index;   /**< device-side number (DFU alt setting) */
    char name[64];    /**< device-side name (DFU alt interface string) */
};

/**
 * A partition the core resolved from the board file and matched, by name,
 * against what the device reported. Passed to write() and read().
 */
struct omv_target {
    const char *name;     /**< partition name ("HP"), same on board and device */
    unsigned index;       /**< device-side number from partitions() */
    uint64_t size;        /**< partition size in bytes from the board file */
    uint32_t timeout_ms;  /**< longest the device may take to answer one request on this partition */
};

/**
 * A stream of image bytes the plugin pulls from (the core streams files; it
 * never loads an image whole).
 */
struct omv_source {
    void *ctx;
    /** Total number of bytes the stream will deliver. */
    uint64_t size;
    /**
     * Read up to @p len bytes into @p buf. Sets *got to the number read;
     * *got < len only at the end of the stream.
     * @return OMV_OK, or OMV_E_IMAGE with @p err filled when the file cannot be read.
     */
    omv_status (*read)(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err);
};

/** Where read() delivers partition bytes. */
struct omv_sink {
    void *ctx;
    /**
     * Consume @p len bytes. @return OMV_OK, or an error (e.g. OMV_E_VERIFY
     * when the sink compares against an image, OMV_E_IMAGE on a write error)
     * which makes read() stop and return that error.
     */
    omv_status (*write)(void *ctx, const uint8_t *buf, size_t len, omv_error *err);
};

/** Type of a board-file option a plugin declares. */
enum omv_option_type {
    OMV_OPT_UINT = 1,   /**< unsigned integer: decimal, 0x hex, or with K/M suffix (KiB/MiB) */
    OMV_OPT_STRING = 2, /**< any text */
    OMV_OPT_BOOL = 3,   /**< yes/no, true/false, on/off, 1/0 */
};

/**
 * One option a plugin accepts in its board-file section ([dfu] for the dfu
 * plugin, [action NAME] for an action). The core rejects any key not declared
 * here and any value that does not parse as @p type, naming file:line, before
 * the plugin is called.
 */
struct omv_option_spec {
    const char *key;             /**< key name; NULL terminates the table */
    enum omv_option_type type;
    const char *default_value;   /**< value used when the board file omits the key; never NULL */
    const char *help;            /**< one line for docs and --help */
};

struct omv_host;

/** What a planned step does with a partition (omv_run_step.op). */
enum omv_run_op {
    OMV_RUN_WRITE = 1,  /**< write an image */
    OMV_RUN_ERASE = 2,  /**< --erase-filesystem */
    OMV_RUN_READ = 3,   /**< --read */
    OMV_RUN_VERIFY = 4, /**< --verify: read back and compare */
};

/** One step of a run, as the core planned it before any device was opened. */
struct omv_run_step {
    enum omv_run_op op;
    const char *partition; /**< board partition name */
    const char *file;      /**< image or output file; NULL for an erase */
    uint64_t size;         /**< bytes to write or read (0 for an erase, or an image not found) */
    /**
     * Non-zero for a write of a full flash (--firmware DIR) that the user did
     * not name: a transport that cannot carry it out makes the core skip it
     * (with a warning) instead of failing the run.
     */
    int optional;
    /**
     * Filled by the transport in open() when it cannot carry this step out:
     * one line saying why ("" otherwise). The core uses it as the warning for
     * a skipped optional step.
     */
    char cannot[192];
};

/** The run's plan as a transport sees it in open() (omv_host.run_plan). */
struct omv_run_plan {
    struct omv_run_step *steps;
    size_t n_steps;
    /** Non-zero: the run ends by resetting the device into its application; 0: --no-reset. */
    int reset_at_end;
};

/**
 * Callback used by list() for every device found.
 */
typedef void (*omv_device_found_fn)(void *user, const struct omv_device_info *dev);

/**
 * A hot-plug watch started by omv_transport_ops.hotplug(): the plugin fills
 * all three members; the caller calls wait() any number of times, then
 * close() once. Used from one thread at a time.
 */
struct omv_hotplug {
    void *ctx;  /**< plugin-private */

    /**
     * Wait up to @p timeout_ms for a device matching the watch's ids to arrive
     * or leave. A change that happened since the watch started or since the
     * previous wait() returned OMV_OK makes it return at once. Spurious
     * OMV_OK returns are allowed: the caller just scans again with list().
     * Wakes within ~100 ms when host->cancelled() becomes true.
     * @return OMV_OK        something changed (scan again);
     *         OMV_E_TIMEOUT nothing changed within @p timeout_ms;
     *         OMV_E_CANCELLED, OMV_E_IO.
     */
    omv_status (*wait)(void *ctx, uint32_t timeout_ms, omv_error *err);

    /** Stop watching and free everything; never fails. */
    void (*close)(void *ctx);
};

/**
 * Operations of a transport plugin. Every member is required unless it says
 * it may be NULL.
 */
struct omv_transport_ops {
    /**
     * Enumerate the devices currently attached that match @p match (ids only;
     * serial/port_path filters apply when set) and call @p found for each.
     * Must not claim or change the devices. Used by --list-devices and
     * --dry-run. Never waits.
     * @return OMV_OK (also when nothing was found), OMV_E_IO when the bus
     *         cannot be enumerated.
     */
    omv_status (*list)(const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);

    /**
     * Wait up to @p wait_ms for exactly one device matching @p match, open and
     * claim it, bring it to an idle state ready for transfers, fill @p info,
     * and return a session in *session. The plugin keeps @p host for the
     * session's lifetime (it outlives the session). Should poll briskly
     * (tens of ms) so a bootloader with a short listening window is caught,
     * and must honour host->cancelled().
     * @return OMV_OK;
     *         OMV_E_NO_DEVICE  nothing matched within @p wait_ms;
     *         OMV_E_MULTIPLE   more than one device matched (message lists their serials);
     *         OMV_E_ACCESS     the device exists but cannot be opened (permissions);
     *         OMV_E_IO, OMV_E_DEVICE, OMV_E_TIMEOUT while preparing it;
     *         OMV_E_CANCELLED.
     */
    omv_status (*open)(const struct omv_host *host, const struct omv_match *match, uint32_t wait_ms,
                       void **session, struct omv_device_info *info, omv_error *err);

    /**
     * Report the partitions the device offers (DFU: every alt setting with its
     * interface string). Writes at most @p max entries to @p out and the total
     * number to *count. The core matches board partitions to these by name
     * and refuses to transfer anything if a name is missing.
     * @return OMV_OK, OMV_E_IO.
     */
    omv_status (*partitions)(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err);

    /**
     * Write @p src (src->size bytes, > 0, <= target->size: the core checked)
     * to the start of @p target, pulling the bytes in transfer-sized pieces,
     * reporting host->progress() as it goes, and waiting until the device has
     * committed the last byte. Leaves the session ready for the next write or
     * read.
     * @return OMV_OK;
     *         OMV_E_DEVICE    the device reported an error status (message decodes it and names the block);
     *         OMV_E_IO        transfer failure or the device vanished;
     *         OMV_E_TIMEOUT   no answer within target->timeout_ms;
     *         OMV_E_IMAGE     the source failed;
     *         OMV_E_CANCELLED.
     */
    omv_status (*write)(void *session, const struct omv_target *target, const struct omv_source *src,
                        omv_error *err);

    /**
     * Read @p length bytes from the start of @p target into @p sink, or, when
     * @p length is 0, the whole partition until the device signals its end.
     * Protocol framing (e.g. an end-of-data marker) is never passed to the sink.
     * May be NULL when the protocol cannot read (the core then refuses
     * --read/--verify with OMV_E_UNSUPPORTED).
     * @return OMV_OK; OMV_E_DEVICE, OMV_E_IO, OMV_E_TIMEOUT, OMV_E_CANCELLED;
     *         whatever the sink returned.
     */
    omv_status (*read)(void *session, const struct omv_target *target, uint64_t length,
                       const struct omv_sink *sink, omv_error *err);

    /**
     * Erase @p target (at least its first erase unit, so that a filesystem on
     * it is invalidated) for --erase-filesystem. May be NULL: the core then
     * writes one block of zeros, which makes the openmv_dfu bootloader erase
     * the containing unit (the IDE's way).
     * @return OMV_OK; OMV_E_DEVICE, OMV_E_IO, OMV_E_TIMEOUT, OMV_E_CANCELLED.
     */
    omv_status (*erase)(void *session, const struct omv_target *target, omv_error *err);

    /**
     * End the session's work on the device. With @p reset, make the device
     * leave its bootloader and start the application (DFU: DETACH, then USB
     * reset); a device that disappears while doing so has succeeded. Without
     * @p reset, leave it in the bootloader.
     * @return OMV_OK, OMV_E_IO, OMV_E_DEVICE.
     */
    omv_status (*finish)(void *session, int reset, omv_error *err);

    /** Release the device and free the session. Never fails; NULL is a no-op. */
    void (*close)(void *session);

    /**
     * Start watching for devices matching @p match (ids only; serial and
     * port_path are ignored) arriving and leaving, so that a caller waiting
     * for cameras (omvflashd --watch) wakes as soon as one is plugged in
     * instead of polling list(). Changes are recorded from the moment this
     * returns: a caller that calls list() right after and then waits misses
     * nothing. The plugin copies @p match, keeps @p host (it outlives the
     * watch) and owns what it needs (dfu: its own libusb context);
     * nothing is process-wide.
     * May be NULL, and may fail with OMV_E_UNSUPPORTED when the platform
     * cannot report hot-plug: the caller then polls list() (the portable
     * path, every ~100 ms).
     * @return OMV_OK with @p watch filled; OMV_E_UNSUPPORTED; OMV_E_IO;
     *         OMV_E_NOMEM.
     */
    omv_status (*hotplug)(const struct omv_host *host, const struct omv_match *match,
                          struct omv_hotplug *watch, omv_error *err);
};

/** Operations of an action plugin. */
struct omv_action_ops {
    /**
     * Check inputs and ask for confirmation before any device is opened, so
     * that a bad key file or a refused confirmation costs no device I/O.
     * host->partition_write is NULL here. Before destroying data an action
     * must call host->confirm() here (preferred) or in run().
     * May be NULL.
     * @return OMV_OK, or any status with @p err filled (the run stops).
     */
    omv_status (*prepare)(const struct omv_host *host, omv_error *err);

    /**
     * Run the action. The plugin reaches the device only through
     * host->partition_write(); it never opens a device itself.
     * @return OMV_OK or any status with @p err filled.
     */
    omv_status (*run)(const struct omv_host *host, omv_error *err);
};

/**
 * Operations of an entry plugin: it speaks the protocol of the camera's
 * running application (e.g. OpenMV's debug protocol over USB CDC) just far
 * enough to make it reboot into its bootloader. The core calls it before
 * waiting for the bootloader when a camera is found in application mode.
 */
struct omv_entry_ops {
    /**
     * Enumerate cameras in application mode matching @p match (ids = the
     * board's app_ids; port_path filter when set; serial filter when set,
     * although app and bootloader serials may differ) and call @p found for
     * each (mode "app"). Never waits, never changes the devices.
     * @return OMV_OK (also when nothing was found), OMV_E_IO.
     */
    omv_status (*list)(const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);

    /**
     * Make the one application-mode camera matching @p match reboot into its
     * bootloader, and return as soon as the request was delivered (the
     * device then disappears and its bootloader enumerates). Does not wait
     * for the bootloader.
     * @return OMV_OK; OMV_E_NO_DEVICE (none attached), OMV_E_MULTIPLE,
     *         OMV_E_ACCESS, OMV_E_IO, OMV_E_TIMEOUT (the firmware did not answer).
     */
    omv_status (*enter)(const struct omv_host *host, const struct omv_match *match, omv_error *err);
};

/**
 * Services the core offers a plugin. Passed to list(), open() and run(); it
 * stays valid until the session is closed. Members marked "may be NULL" are
 * absent in some contexts; all others are always set.
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

    /** Non-zero once the user asked to stop; long loops check it and return OMV_E_CANCELLED. */
    int (*cancelled)(const struct omv_host *host);

    /**
     * Value of option @p key from the plugin's board-file section, or the
     * default the plugin declared. NULL if the plugin did not declare @p key.
     * The string lives as long as the host.
     */
    const char *(*option_str)(const struct omv_host *host, const char *key);

    /** Option @p key parsed as OMV_OPT_UINT or OMV_OPT_BOOL (1/0); 0 if undeclared. */
    uint64_t (*option_uint)(const struct omv_host *host, const char *key);

    /** Monotonic clock in milliseconds. */
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

    /**
     * Action plugins only (NULL for transports): write @p len bytes from
     * @p data to the board partition named @p name through the board's
     * transport session, allowing @p timeout_ms per device request (0 = the
     * partition's own timeout). Same results as omv_transport_ops.write.
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
     * Returns NULL when there is no plan (list(), --list-devices, actions).
     * Added to ABI 1 after its first release: a plugin reads it only when
     * host->size covers it. The plan stays valid until the session closes.
     */
    struct omv_run_plan *(*run_plan)(const struct omv_host *host);
};

/**
 * The descriptor a plugin's entry function returns. It must be a static
 * const object: the core keeps the pointer until it unloads the plugin.
 */
struct omv_plugin {
    uint32_t abi_version;   /**< must be OMV_PLUGIN_ABI_VERSION */
    uint32_t size;          /**< sizeof(struct omv_plugin) the plugin was built with */
    const char *name;       /**< must equal the name the plugin was loaded by ("dfu") */
    const char *version;    /**< plugin version text, e.g. "0.1.0" */
    const char *description; /**< one line */
    enum omv_plugin_kind kind;
    /** Board-file options the plugin accepts, terminated by {NULL}; may be NULL for none. */
    const struct omv_option_spec *options;
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
