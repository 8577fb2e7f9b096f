/*
 * omvflash plugin ABI: the data types plugins and the core exchange (see
 * plugin.h, which includes this file, for the ABI as a whole: loading,
 * contexts, threading, errors, cancellation).
 */
#ifndef OMVFLASH_PLUGIN_TYPES_H
#define OMVFLASH_PLUGIN_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
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

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_PLUGIN_TYPES_H */
