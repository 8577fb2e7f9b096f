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
 * The status lists below are complete: a plugin returns nothing else.
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

/** What a plugin is for. */
enum omv_plugin_kind {
    /** Talks to a bootloader: finds devices, writes, reads and erases partitions. */
    OMV_PLUGIN_TRANSPORT = 1,
    /** Runs an extra step (e.g. MRAM init) using the board's transport through the host. */
    OMV_PLUGIN_ACTION = 2,
    /** Finds cameras running their application, tells who they are, resets them into their bootloader. */
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
    /** USB ids to match (bootloader ids for a transport's open(), app ids for an entry plugin); n_ids >= 1. */
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
    /**
     * What the plugin sees. The core and omvflashd look for the word
     * "bootloader" in it ("bootloader", "legacy bootloader") to tell a
     * bootloader from an application ("app").
     */
    char mode[32];
    char bootloader_version[16]; /**< "1.0.3", or "" when the device does not tell */
};

/** One partition as the device itself reports it (DFU: one alt setting). */
struct omv_dev_partition {
    unsigned index;   /**< the plugin's own number for it (DFU: the alt setting), given back in omv_target.index */
    char name[64];    /**< device-side name; the core matches it with the board partition of the same name */
};

/** omv_target.index of a partition not (yet) matched with a device partition. */
#define OMV_INDEX_NONE ((unsigned)-1)

/**
 * A board partition, as the core hands it to a transport: the board file's
 * values, and the device partition of the same name once a session is open.
 * Partition keys the plugin declared (omv_plugin.partition_options, e.g.
 * dfu's `alt`) are read with host->partition_option().
 */
struct omv_target {
    const char *name;     /**< partition name ("HP"), same on board and device */
    unsigned index;       /**< omv_dev_partition.index of the device partition of this name; OMV_INDEX_NONE before */
    uint64_t size;        /**< partition size in bytes from the board file */
    uint32_t timeout_ms;  /**< longest the device may take to answer one request on it; 0 = the plugin's default */
    int read_only;        /**< the board never writes it */
    int readable;         /**< the board allows reading it back */
};

/**
 * A stream of image bytes the plugin pulls from, in order (the core streams
 * files and zip entries; it never loads an image whole). Used from the
 * thread of the operation it was passed to.
 */
struct omv_source {
    void *ctx;
    /** Total number of bytes the stream delivers. */
    uint64_t size;
    /**
     * Read up to @p len bytes into @p buf. Sets *got to the number read;
     * *got < len only at the end of the stream.
     * @return OMV_OK, or OMV_E_IMAGE with @p err filled when the image cannot be read.
     */
    omv_status (*read)(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err);
    /**
     * Pass over the next @p n bytes without delivering them (the stream may
     * not be seekable: a zip entry is decompressed and dropped). Forward
     * only; never NULL.
     * @return OMV_OK; OMV_E_IMAGE when the image cannot be read or ends first.
     */
    omv_status (*skip)(void *ctx, uint64_t n, omv_error *err);
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

/** A byte range: @p length bytes from @p offset. */
struct omv_range {
    uint64_t offset;
    uint64_t length;
};

/**
 * One write request (omv_transport_ops.write): the image, where it goes in
 * the partition, and which parts of it the core wants on the device.
 */
struct omv_write {
    /** The image: src->size bytes (> 0), byte 0 first. */
    const struct omv_source *src;
    /** Partition offset of the image's byte 0 (0 for a plain image; a segment of a container may go elsewhere). */
    uint64_t offset;
    /**
     * The parts of the image the core wants written, in image coordinates:
     * sorted, disjoint, non-empty, inside [0, src->size). NULL (n_ranges 0)
     * means all of it. The plugin may write more than asked, never less:
     * what its protocol needs (the whole erase unit a range touches, a block
     * the bootloader must always get). It takes the bytes of everything it
     * writes from @p src, in order, and skip()s the rest.
     */
    const struct omv_range *ranges;
    size_t n_ranges;
    /** Out: image bytes the plugin sent, ranges widened to what it wrote (0 on entry). */
    uint64_t written;
};

/** Type of a board-file option a plugin declares. */
enum omv_option_type {
    OMV_OPT_UINT = 1,   /**< unsigned integer: decimal, 0x hex, or with K/M suffix (KiB/MiB) */
    OMV_OPT_STRING = 2, /**< any text, or one of `choices` */
    OMV_OPT_BOOL = 3,   /**< yes/no, true/false, on/off, 1/0 */
};

/** omv_option_spec.flags */
enum omv_option_flag {
    /** The board file must set it (a spec with a NULL default and no this flag is simply unset). */
    OMV_OPTF_REQUIRED = 1u << 0,
    /** Partition options: no two partitions of the board may have the same value (DFU: alt). */
    OMV_OPTF_UNIQUE = 1u << 1,
};

/**
 * One option a plugin accepts, in its board-file section ([dfu] for the dfu
 * plugin, [action NAME] for an action) or, for a transport's
 * partition_options, in every [partition NAME] section. The core rejects any
 * key no plugin declares, and any value that does not parse as @p type, lies
 * outside min..max or is not one of @p choices, naming FILE:LINE, before the
 * plugin is called (also for --dry-run, and for --set and command-line
 * shorthands, which fail with a usage error instead). Plugins therefore never
 * range-check their options themselves.
 */
struct omv_option_spec {
    const char *key;             /**< key name; NULL terminates the table */
    enum omv_option_type type;
    /**
     * Value used when the board file omits the key. NULL: no default (the
     * option is unset: option_str() returns NULL, option_uint() 0; with
     * OMV_OPTF_REQUIRED the board must set it).
     */
    const char *default_value;
    const char *help;            /**< one line for docs and --help */
    /** OMV_OPT_UINT: values below @p min are refused; when @p max is not 0, so are values above it. */
    uint64_t min, max;
    /**
     * OMV_OPT_STRING: the accepted values, NULL-terminated; matched
     * ignoring case, and handed to the plugin spelled as here. NULL: any text.
     */
    const char *const *choices;
    unsigned flags;              /**< OMV_OPTF_* */
};

/**
 * A command-line shorthand a plugin offers for one of its options:
 * `--FLAG VALUE` is `--set OPTION=VALUE` (omvflashd; the library takes them
 * as omv_request.shorthands). omvflashd --help --board FILE lists them. The
 * value is checked against the option's spec; a bad value is a usage error
 * naming the choices or the range.
 */
struct omv_shorthand {
    const char *flag;     /**< "mode" for --mode; NULL terminates the table; never a name omvflashd uses itself */
    const char *option;   /**< the option it sets, declared in omv_plugin.options */
    const char *metavar;  /**< "safe|fast", "FILE": for --help */
    const char *help;     /**< one line for --help */
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

/** Callback used by list() for every device found; runs on list()'s thread. */
typedef void (*omv_device_found_fn)(void *user, const struct omv_device_info *dev);

/**
 * A hot-plug watch started by omv_transport_ops.hotplug(): the plugin fills
 * all three members; the caller calls wait() any number of times, then
 * close() once, from one thread at a time.
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
     *         OMV_E_TIMEOUT nothing changed within @p timeout_ms (err untouched);
     *         OMV_E_CANCELLED;
     *         OMV_E_IO      the event source failed (the caller falls back to polling).
     */
    omv_status (*wait)(void *ctx, uint32_t timeout_ms, omv_error *err);

    /** Stop watching and free everything; never fails. */
    void (*close)(void *ctx);
};

/**
 * One piece of a container image (omv_transport_ops.segments): @p length
 * bytes from @p image_offset of the image file go to @p partition at
 * @p offset.
 */
struct omv_segment {
    char partition[64];     /**< board partition name */
    uint64_t offset;        /**< partition offset of its first byte */
    uint64_t image_offset;  /**< where its bytes start in the image file */
    uint64_t length;        /**< > 0 */
};

/**
 * Operations of a transport plugin. Every member is required unless it says
 * it may be NULL. "Session operations" take the session open() returned;
 * the others take the plugin context init() returned (NULL when the plugin
 * has no init()).
 */
struct omv_transport_ops {
    /**
     * Enumerate the devices attached now that match @p match (ids; serial,
     * port_path and skip_ports when set) and call @p found for each. Must
     * not claim or change the devices; may open them briefly to read their
     * strings. Never waits. Used by --list-devices, --dry-run, --watch.
     * Thread: any (see Threading).
     * @return OMV_OK (also when nothing was found);
     *         OMV_E_IO     the bus cannot be enumerated;
     *         OMV_E_USAGE  @p match has no ids.
     * A device that cannot be opened to read its serial is reported without
     * it (and with a warning through host->log()), unless a serial filter is
     * set, when it is skipped.
     */
    omv_status (*list)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);

    /**
     * Look once for exactly one device matching @p match (bootloader ids,
     * serial and port_path when set), open and claim it, bring it to an
     * idle state ready for transfers, and return a session. Never waits for
     * a device to appear: the core owns the wait, calling open() every
     * poll_ms (board key) until its deadline, and looks for the camera in
     * application mode meanwhile. The plugin keeps @p host (it outlives the
     * session).
     * A transport that must refuse part of the run (host->run_plan()) does
     * so here, before it changes the device's state.
     * Thread: any.
     * Ownership: *session belongs to the core until it calls close().
     * Outputs: on success *session and *info are set. On failure *session
     * is NULL, *info is unspecified, and the device is left as it was found
     * (or, for a failure after it was claimed, released).
     * @return OMV_OK;
     *         OMV_E_NO_DEVICE  nothing usable matches now, or the device left
     *                          while being opened: the core looks again;
     *         OMV_E_MULTIPLE   more than one device matches (the message lists them: serials, ports);
     *         OMV_E_ACCESS     the device exists but cannot be opened (permissions; the core
     *                          retries for a second while udev applies its rules);
     *         OMV_E_BUSY       another program has the device (interface claimed, port locked);
     *         OMV_E_MISMATCH   the device is not what the board file says (e.g. a transfer size);
     *         OMV_E_UNSUPPORTED a required step of host->run_plan() is beyond this protocol;
     *         OMV_E_IMAGE      an image of host->run_plan() cannot fit the device;
     *         OMV_E_DEVICE     the device reports an error state it cannot leave;
     *         OMV_E_IO, OMV_E_TIMEOUT while preparing it;
     *         OMV_E_CANCELLED;
     *         OMV_E_USAGE      @p match has no ids.
     */
    omv_status (*open)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                       void **session, struct omv_device_info *info, omv_error *err);

    /**
     * Report the partitions the device offers (DFU: every alt setting with
     * its interface string). Writes at most @p max entries to @p out and the
     * total number to *count; the core calls again with a larger array when
     * *count > max. The core matches board partitions to these by name and
     * refuses to transfer anything if a planned one is missing.
     * Thread: the session's. Outputs on failure: unspecified.
     * @return OMV_OK; OMV_E_IO.
     */
    omv_status (*partitions)(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err);

    /**
     * Write the image of @p w to @p target: w->src->size bytes at partition
     * offset w->offset (the core checked they fit), or only the ranges it
     * lists (widened as the protocol needs), pulling the bytes in order and
     * skipping the rest, reporting host->progress() as it goes, and waiting
     * until the device has committed the last byte. Sets w->written. Leaves
     * the session ready for the next operation.
     * Thread: the session's.
     * Outputs on failure: w->written is what was sent before the failure;
     * the device holds a partly written partition; the error's block and
     * offset say where it failed when known, and `retriable` whether
     * recover() (or a re-open) and a new write may succeed.
     * @return OMV_OK;
     *         OMV_E_DEVICE      the device reported an error status (the error carries it);
     *         OMV_E_IO          transfer failure or the device vanished;
     *         OMV_E_TIMEOUT     no answer within target->timeout_ms (or the plugin's default);
     *         OMV_E_IMAGE       the source failed;
     *         OMV_E_UNSUPPORTED this bootloader cannot write this partition, this size,
     *                           at this offset, or only ranges of it;
     *         OMV_E_MISMATCH    the device does not offer the partition;
     *         OMV_E_CANCELLED;
     *         OMV_E_USAGE       bad arguments.
     */
    omv_status (*write)(void *session, const struct omv_target *target, struct omv_write *w, omv_error *err);

    /**
     * Read @p length bytes from partition offset @p offset of @p target
     * into @p sink, or, when @p length is 0, from @p offset to where the
     * device signals the partition's end. Protocol framing (an end-of-data
     * marker) is never passed to the sink.
     * May be NULL when the protocol cannot read: the core then refuses
     * --read/--verify with OMV_E_UNSUPPORTED before opening the device.
     * Thread: the session's. Outputs on failure: the sink got a prefix of
     * the data. The session stays usable unless the device left.
     * @return OMV_OK;
     *         OMV_E_DEVICE, OMV_E_IO, OMV_E_TIMEOUT, OMV_E_CANCELLED;
     *         OMV_E_UNSUPPORTED  the range cannot be read (e.g. beyond what block numbers reach);
     *         OMV_E_MISMATCH     the device does not offer the partition;
     *         whatever the sink returned;
     *         OMV_E_USAGE        bad arguments.
     */
    omv_status (*read)(void *session, const struct omv_target *target, uint64_t offset, uint64_t length,
                       const struct omv_sink *sink, omv_error *err);

    /**
     * Erase @p target for --erase-filesystem: at least its first erase unit,
     * so that a filesystem on it no longer mounts (the plugin knows how its
     * bootloader erases; openmv_dfu erases a unit when a block lands on its
     * first address, so the dfu plugin writes one block of zeros there).
     * May be NULL when the protocol cannot erase: the core then refuses
     * --erase-filesystem with OMV_E_UNSUPPORTED before opening the device.
     * Thread: the session's. Outputs on failure: the partition's first unit
     * may be partly erased.
     * @return OMV_OK;
     *         OMV_E_DEVICE, OMV_E_IO, OMV_E_TIMEOUT, OMV_E_CANCELLED;
     *         OMV_E_UNSUPPORTED  this bootloader cannot erase this partition;
     *         OMV_E_MISMATCH     the device does not offer the partition.
     */
    omv_status (*erase)(void *session, const struct omv_target *target, omv_error *err);

    /**
     * After a retriable failure of write(), read() or erase(), bring the
     * session back to the state open() left it in (DFU: GETSTATUS, then
     * CLRSTATUS or ABORT until dfuIDLE), so the core can try again.
     * May be NULL: the core then closes the session and opens the device
     * again.
     * Thread: the session's.
     * @return OMV_OK          ready for the next operation;
     *         OMV_E_NO_DEVICE the device has left (it re-enumerated): close
     *                         the session and open() again;
     *         OMV_E_DEVICE    it stays in an error state; OMV_E_IO, OMV_E_TIMEOUT.
     */
    omv_status (*recover)(void *session, omv_error *err);

    /**
     * End the session's work on the device. With @p reset, make the device
     * leave its bootloader and start the application (DFU: DETACH, then USB
     * reset); a device that disappears while doing so has succeeded. Without
     * @p reset, leave it in the bootloader (released). Called at most once;
     * close() follows.
     * Thread: the session's.
     * @return OMV_OK; OMV_E_IO; OMV_E_DEVICE.
     */
    omv_status (*finish)(void *session, int reset, omv_error *err);

    /** Release the device and free the session. Never fails; NULL is a no-op. Thread: the session's. */
    void (*close)(void *session);

    /**
     * Start watching for devices matching @p match (ids only; serial and
     * port_path are ignored) arriving and leaving, so that a caller waiting
     * for cameras (omvflashd --watch) wakes as soon as one is plugged in
     * instead of polling list(). Changes are recorded from the moment this
     * returns: a caller that calls list() right after and then waits misses
     * nothing. The plugin copies @p match and keeps @p host (it outlives the
     * watch). Several watches may exist at once.
     * May be NULL, and may fail with OMV_E_UNSUPPORTED when the platform
     * cannot report hot-plug: the caller then polls list().
     * Thread: any; the watch is then used from one thread at a time.
     * Outputs on failure: @p watch untouched.
     * @return OMV_OK with @p watch filled; OMV_E_UNSUPPORTED; OMV_E_IO;
     *         OMV_E_USAGE (@p match has no ids).
     */
    omv_status (*hotplug)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                          struct omv_hotplug *watch, omv_error *err);

    /**
     * Recognise a container image format this transport owns (e.g. a file
     * with several pieces, each for its own address) and say where each
     * piece goes, in board partitions and offsets (read with
     * host->partition() and host->partition_option()). Reads @p image from
     * its start as far as it needs (e.g. to check a checksum at its end).
     * The core calls it for every image it is about to plan, before any
     * device is opened, checks that every segment fits its partition, and
     * writes (and verifies) each segment as its own step.
     * May be NULL: every image is plain (written whole at offset 0).
     * Thread: any.
     * Outputs: at most @p max segments in @p out, their number in *count
     * (0: not a container this plugin knows; the image is plain); in
     * @p device the USB id the image is meant for (0:0 = any, 0xFFFF
     * matches any one half): the core refuses to write it to another
     * device. On failure *count is 0.
     * @return OMV_OK;
     *         OMV_E_IMAGE  it is this plugin's format but malformed, or
     *                      names an address outside every partition (the
     *                      message says which part and why);
     *         OMV_E_UNSUPPORTED  it has more than @p max segments.
     */
    omv_status (*segments)(void *plugin_ctx, const struct omv_host *host, const struct omv_source *image,
                           struct omv_segment *out, size_t max, size_t *count, struct omv_usb_id *device,
                           omv_error *err);
};

/** Operations of an action plugin. */
struct omv_action_ops {
    /**
     * Check inputs and ask for confirmation before any device is opened, so
     * that a bad key file or a refused confirmation costs no device I/O.
     * host->partition_write is NULL here. Before destroying data an action
     * must call host->confirm() here (preferred) or in run().
     * May be NULL. Thread: the run's.
     * @return OMV_OK; OMV_E_CANCELLED (not confirmed); OMV_E_IMAGE, OMV_E_USAGE
     *         (bad inputs); any other status with @p err filled stops the run.
     */
    omv_status (*prepare)(void *plugin_ctx, const struct omv_host *host, omv_error *err);

    /**
     * Run the action. The plugin reaches the device only through
     * host->partition_write(); it never opens a device itself.
     * Thread: the run's.
     * @return OMV_OK, or any status with @p err filled (typically what
     *         partition_write() returned, with the plugin's context).
     */
    omv_status (*run)(void *plugin_ctx, const struct omv_host *host, omv_error *err);
};

/** What a camera running its application says about itself (omv_entry_ops.identify). */
struct omv_app_info {
    struct omv_device_info device;  /**< the camera, as list() reports it */
    /** Version of the application protocol that answered (OpenMV: 1 = debug protocol, 2 = protocol v2). */
    unsigned protocol;
    char firmware_version[16];      /**< "4.5.9" */
    /**
     * The board identity string the firmware reports (OpenMV debug protocol
     * v1: ARCH_STR before " [", e.g. "OMV4 H7 1024"); "" when it reports
     * none (protocol v2: the USB id is the identity).
     */
    char arch[64];
    char unique_id[32];             /**< the chip's unique id as hex digits, "" when not reported */
    struct omv_usb_id usb_id;       /**< the USB id the firmware reports for itself; 0:0 when not reported */
    char bootloader_version[16];    /**< the bootloader version the firmware reports, "" when not reported */
};

/**
 * Operations of an entry plugin: it speaks the protocol of the camera's
 * running application (e.g. OpenMV's debug protocol over USB CDC) just far
 * enough to tell who it is and to make it reboot into its bootloader. While
 * the core waits for a bootloader it also lists the board's cameras in
 * application mode with every entry plugin of the board and asks the first
 * one that sees the camera to enter().
 */
struct omv_entry_ops {
    /**
     * Enumerate cameras in application mode matching @p match (ids = the
     * board's app_ids; port_path filter when set; serial filter when set,
     * although app and bootloader serials may differ) and call @p found for
     * each (mode "app"). Never waits, never changes the devices.
     * Thread: any.
     * @return OMV_OK (also when nothing was found), OMV_E_IO, OMV_E_USAGE.
     */
    omv_status (*list)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                       omv_device_found_fn found, void *user, omv_error *err);

    /**
     * Make the one application-mode camera matching @p match reboot into its
     * bootloader, and return as soon as the request was delivered (the
     * device then disappears and its bootloader enumerates). Does not wait
     * for the bootloader.
     * Thread: any.
     * @return OMV_OK;
     *         OMV_E_NO_DEVICE   none attached (or it left meanwhile);
     *         OMV_E_MULTIPLE    several match (the message lists them);
     *         OMV_E_ACCESS, OMV_E_BUSY  the port cannot be opened;
     *         OMV_E_IO;
     *         OMV_E_TIMEOUT     the firmware did not answer (another entry plugin of the board may);
     *         OMV_E_CANCELLED.
     */
    omv_status (*enter)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                        omv_error *err);

    /**
     * Ask the one application-mode camera matching @p match who it is
     * (firmware version, identity string, USB id, protocol) without
     * resetting it or changing its state, for --board auto and for
     * confirming that a flashed camera booted its new firmware.
     * May be NULL: the plugin cannot tell.
     * Thread: any.
     * Outputs: @p out filled on success (fields the firmware does not report
     * are "" or 0); unspecified on failure.
     * @return OMV_OK;
     *         OMV_E_NO_DEVICE, OMV_E_MULTIPLE, OMV_E_ACCESS, OMV_E_BUSY, OMV_E_IO;
     *         OMV_E_TIMEOUT     the firmware did not answer;
     *         OMV_E_DEVICE      it answered, but not as the protocol says (the message has the bytes);
     *         OMV_E_CANCELLED.
     */
    omv_status (*identify)(void *plugin_ctx, const struct omv_host *host, const struct omv_match *match,
                           struct omv_app_info *out, omv_error *err);
};

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
