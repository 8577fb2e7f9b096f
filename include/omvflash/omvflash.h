/*
 * libomvflash: flash OpenMV cameras described by board files.
 *
 * The library knows no protocol. It loads a board file, resolves a plan
 * (which partitions, which image files, in which order), loads the board's
 * transport plugin, checks everything that can be checked before a byte is
 * sent, drives the plugin, and reports what happens as events.
 *
 * There is no global state: every call works on the objects it is given, so
 * several cameras can be flashed from several threads at once.
 */
#ifndef OMVFLASH_OMVFLASH_H
#define OMVFLASH_OMVFLASH_H

#include <stddef.h>
#include <stdint.h>

#include "plugin.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Library version. */
#define OMVFLASH_VERSION "0.1.0"

/* ---- Cancellation ---------------------------------------------------------- */

/**
 * A request to stop (opaque), shared by whoever asks (a signal handler, a UI
 * thread) and the library calls it is handed to (omv_request.cancel,
 * omv_watcher_open()). Backed by a lock-free C11 atomic: any thread may ask
 * and read at any time, without a data race.
 */
typedef struct omv_cancel omv_cancel;

/** A new, not yet requested cancel; free it with omv_cancel_free(). @return NULL when out of memory. */
omv_cancel *omv_cancel_new(void);
/** Free @p c; no call may be using it any more. NULL is a no-op. */
void omv_cancel_free(omv_cancel *c);
/**
 * Ask every call using @p c to stop as soon as possible (they return
 * OMV_E_CANCELLED). Async-signal-safe: may be called from a signal handler.
 * There is no way back: use a new object for the next run. NULL is a no-op.
 */
void omv_cancel_request(omv_cancel *c);
/** Non-zero once omv_cancel_request() was called on @p c (0 for NULL). Async-signal-safe. */
int omv_cancel_requested(const omv_cancel *c);

/* ---- Boards ------------------------------------------------------------------ */

/** A loaded, validated board file (opaque). */
typedef struct omv_board omv_board;

/* [profile NAME]: other ways to flash a board (omv_board_select_profile()). */
#include "board_profiles.h"

/**
 * Load and validate a board file. Every syntax error, unknown section or key
 * and malformed value fails with OMV_E_BOARD and a message "FILE:LINE: ...".
 * Plugin-specific sections are checked later, when the plugin is known
 * (omv_flash() and omv_board_check_plugins()).
 * @param path  path of the INI file.
 * @param out   receives the board; free it with omv_board_free().
 * @return OMV_OK, OMV_E_BOARD, OMV_E_NOMEM.
 */
omv_status omv_board_load(const char *path, omv_board **out, omv_error *err);

/**
 * Load the plugins @p board names (its transport and every [action NAME]
 * plugin) and check the board's plugin sections against the options each
 * plugin declares: unknown keys and malformed values fail with OMV_E_BOARD
 * ("FILE:LINE: ..."), plugin problems with OMV_E_PLUGIN. Every [profile NAME]
 * that does not refuse is checked the same way, with its own transports.
 * Touches no device.
 * @param plugin_dir  extra directory searched first; may be NULL.
 */
omv_status omv_board_check_plugins(const omv_board *board, const char *plugin_dir, omv_error *err);

/** Free a board returned by omv_board_load(). NULL is a no-op. */
void omv_board_free(omv_board *board);

/** The board's human name ("OpenMV AE3"). */
const char *omv_board_name(const omv_board *board);

/** Path the board was loaded from. */
const char *omv_board_path(const omv_board *board);

/** Name of the transport plugin the board uses ("dfu"). */
const char *omv_board_transport(const omv_board *board);

/**
 * The board's folder in an OpenMV release zip ("OPENMV4"): the board file's
 * `firmware_dir` key, the name the firmware build gives the board's target.
 * @return the folder name, or NULL when the board file names none (or
 *         @p board is NULL). Valid until omv_board_free().
 */
const char *omv_board_firmware_dir(const omv_board *board);

/**
 * The string the board's application firmware reports as its architecture
 * (debug protocol v1 ARCH_STR, before " [") and carries as a NUL-terminated
 * literal in its image ("OMV4 H7 1024"): the board file's `arch` key, 1 to 63
 * printable ASCII characters.
 * @return the arch string, or NULL when the board file names none (or
 *         @p board is NULL). Valid until omv_board_free().
 */
const char *omv_board_arch(const omv_board *board);

/** One partition as the board file declares it (the core's keys). */
typedef struct omv_partition_info {
    const char *name;        /**< "HP" */
    uint64_t size;           /**< bytes */
    int read_only;           /**< never written */
    int readable;            /**< can be read back (--read, --verify) */
    const char *image;       /**< default image file name, or NULL */
    uint32_t timeout_ms;     /**< per-request timeout, 0 = transport default */
} omv_partition_info;

/** Number of partitions the board declares. */
size_t omv_board_partition_count(const omv_board *board);

/** Partition @p i (0 .. count-1) in board-file order. */
const omv_partition_info *omv_board_partition(const omv_board *board, size_t i);

/**
 * The text of key @p key of partition @p i that is not one of the core's
 * (a transport's partition option, e.g. dfu's `alt`), as the board file
 * gives it; NULL when the partition does not set it. Checked against the
 * transports' declarations only by omv_board_check_plugins() and omv_flash().
 * Valid until omv_board_free().
 */
const char *omv_board_partition_option(const omv_board *board, size_t i, const char *key);

/**
 * The command-line shorthands the board's plugins offer (transports, entry
 * plugins, actions; struct omv_shorthand): @p found gets each flag ("mode"),
 * its metavar, its help line and the plugin and option it sets. Loads the
 * plugins (searching @p plugin_dir first). For omvflashd --help --board.
 * @return OMV_OK, OMV_E_PLUGIN, OMV_E_BOARD (bad plugin options).
 */
omv_status omv_board_shorthands(const omv_board *board, const char *plugin_dir,
                                void (*found)(void *user, const char *flag, const char *metavar, const char *help,
                                              const char *plugin, const char *option),
                                void *user, omv_error *err);

/** A NAME=FILE pair from --image or --read. */
typedef struct omv_image_spec {
    const char *partition;
    const char *path;
} omv_image_spec;

/** Sentinel for omv_request.wait_ms: use the board file's wait_ms. */
#define OMV_WAIT_DEFAULT UINT32_MAX

/** Sentinel for omv_request.retries: use the board file's `retries` (default 2). */
#define OMV_RETRIES_DEFAULT UINT32_MAX

/** What to do; zero-initialise and fill what you need. */
typedef struct omv_request {
    /**
     * The board's default images (--firmware): a directory, or an OpenMV
     * release zip (stable: one folder per target, the board's is its
     * firmware_dir; development: the files at its top), streamed, never
     * extracted. A directory with a subdirectory named firmware_dir is read
     * from there. NULL if none.
     */
    const char *firmware_dir;
    /** Explicit images (--image NAME=FILE); when given, only these are written. */
    const omv_image_spec *images;
    size_t n_images;
    /** Partitions to read into files (--read NAME=FILE). */
    const omv_image_spec *reads;
    size_t n_reads;
    /** Read each written partition back and compare (--verify). */
    int verify;
    /** Resolve and report the plan, touch no device beyond listing it (--dry-run). */
    int dry_run;
    /** Leave the device in its bootloader at the end (--no-reset). */
    int no_reset;
    /** Select the device by serial number (--serial); NULL for any. */
    const char *serial;
    /** Select the device by port path (--port); NULL for any. */
    const char *port_path;
    /** How long to wait for the bootloader (--wait); OMV_WAIT_DEFAULT for the board's value. */
    uint32_t wait_ms;
    /** Extra plugin directory searched first (besides $OMVFLASH_PLUGIN_PATH); may be NULL. */
    const char *plugin_dir;
    /** When non-NULL and requested, stop as soon as possible with OMV_E_CANCELLED. */
    const omv_cancel *cancel;
    /**
     * Board actions to run (--action NAME), in order, after the device is
     * opened and before any image is written. Each action's `restore`
     * partitions are written afterwards from @p images or @p firmware_dir
     * (a firmware dir then does not mean a full flash).
     */
    const char *const *actions;
    size_t n_actions;
    /** Skip re-writing the actions' `restore` partitions (--no-restore). */
    int no_restore;
    /**
     * KEY=VALUE overrides for the options of the requested actions (--set,
     * --key FILE = key_file=FILE). A key no requested action declares is a
     * usage error.
     */
    const omv_image_spec *settings;
    size_t n_settings;
    /** Erase the board's filesystem partition first (--erase-filesystem). */
    int erase_filesystem;
    /**
     * Command-line shorthands the board's plugins declare (struct
     * omv_shorthand): FLAG=VALUE pairs (`--mode fast` is {"mode", "fast"}),
     * applied like --set OPTION=VALUE to the plugin declaring FLAG. A flag
     * no loaded plugin declares, or a value its option does not allow, is a
     * usage error (OMV_E_USAGE) naming the flags or values there are.
     */
    const omv_image_spec *shorthands;
    size_t n_shorthands;
    /**
     * Other board files (may be NULL; @p n_known_boards of them): the arch
     * strings they name (omv_board_arch()) tell which camera an image was
     * built for, so an image for another board is refused with
     * OMV_E_MISMATCH naming that board. Images are checked for @p board's own
     * arch string whether or not this is set.
     */
    const omv_board *const *known_boards;
    size_t n_known_boards;
    /** Write images built for another board anyway (--force); each is reported as a warning. */
    int force;
    /**
     * Write only what changed (--skip-unchanged): before writing a partition,
     * read back the range the image covers and compare it, then ask the
     * transport to write only the parts that differ (it widens them to what
     * its bootloader needs: whole erase units, block 0). A part whose
     * read-back fails is written. A partition that reads back identical is
     * not written at all. Needs a transport that can read: the run is
     * refused with OMV_E_UNSUPPORTED before any write when the bootloader
     * that answers cannot. --verify still reads back everything written.
     */
    int skip_unchanged;
    /**
     * How often a partition write that failed in a way that may not repeat
     * (omv_error.retriable: an I/O error, a timeout, a device status such as
     * errWRITE) is written again from its start, after bringing the device
     * back to idle (the transport's recover()) or, when the camera left the
     * bus or the transport has no recover(), opening it again (waiting as
     * long as for the first open). A camera that does not come back ends the
     * retries. Permanent failures are never retried. Each retry is an
     * OMV_EV_RETRY event; when every attempt failed the run ends with the
     * last attempt's error. OMV_RETRIES_DEFAULT: the board's `retries`;
     * 0 (a zero-initialised request): no retries.
     */
    uint32_t retries;
    /**
     * Do not wait for the camera to come back after the reset (--no-confirm).
     * By default a run that resets the camera ends only once the camera is back
     * in application mode and said who it is (omv_identify(); the board's
     * confirm_ms), else it fails with OMV_E_BOOT. no_reset implies it.
     */
    int no_confirm;
} omv_request;

/** Kinds of events omv_flash() reports. */
typedef enum omv_event_type {
    OMV_EV_PLAN = 1,      /**< one per planned step, before any device I/O: step, partition, file, total,
                               sha256, check */
    OMV_EV_WAITING,       /**< waiting for the device: total = wait in ms; message = what the user must do
                               (omv_board_wait_message()) or NULL */
    OMV_EV_DEVICE,        /**< device opened: device */
    OMV_EV_STEP_START,    /**< step begins: step, partition, file, total, index, count */
    OMV_EV_PROGRESS,      /**< done of total bytes of the current step */
    OMV_EV_STEP_DONE,     /**< step finished: step, partition, total, elapsed_ms */
    OMV_EV_LOG,           /**< message at level */
    OMV_EV_CONFIRM,       /**< a destructive step needs confirmation: message */
    OMV_EV_ERROR,         /**< failure: status, message, error (with the device's status, where, retriable) */
    OMV_EV_FINISHED,      /**< the run ended: status (also the exit code), elapsed_ms */
    /**
     * omv_request.skip_unchanged: a write step compared the partition with
     * its image: partition, file, total = image bytes, done = bytes found
     * different (or not readable), skipped = bytes found the same. Between
     * the step's OMV_EV_STEP_START and OMV_EV_STEP_DONE.
     */
    OMV_EV_COMPARED,
    /**
     * A write step failed and is tried again from its start: partition,
     * file, attempt (1 for the first retry), retries (how many are allowed),
     * status, message and error (the failure being retried). Between the
     * step's OMV_EV_STEP_START and its OMV_EV_STEP_DONE or the run's
     * OMV_EV_ERROR.
     */
    OMV_EV_RETRY,
} omv_event_type;

/** An event; fields not listed for its type are zero/NULL. */
typedef struct omv_event {
    omv_event_type type;
    const char *step;          /**< "write", "verify", "read", "reset", ... */
    const char *partition;     /**< partition name */
    const char *file;          /**< image or output file */
    uint64_t done;
    uint64_t total;
    int index;                 /**< 1-based step number */
    int count;                 /**< number of steps */
    uint64_t elapsed_ms;
    const struct omv_device_info *device;
    enum omv_log_level level;
    const char *message;
    omv_status status;
    /** OMV_EV_ERROR, OMV_EV_RETRY: the whole error record (device status, block, offset, retriable); NULL otherwise. */
    const omv_error *error;
    /** OMV_EV_PLAN, OMV_EV_STEP_START, OMV_EV_STEP_DONE of a write or verify: the image's SHA-256 (hex). */
    const char *sha256;
    /**
     * Same events: what is known about the image's target. "arch": it carries
     * the board's arch string (omv_board_arch()); "unchecked": it carries no
     * known board's (ROMFS, Wi-Fi blobs); "forced": it carries another
     * board's and is written because of omv_request.force.
     */
    const char *check;
    /**
     * OMV_EV_STEP_DONE of a write: image bytes not written because the
     * device already held them (omv_request.skip_unchanged; 0 otherwise).
     * OMV_EV_COMPARED: bytes found the same.
     */
    uint64_t skipped;
    /** OMV_EV_RETRY: which retry this is (1-based) and how many the run allows. */
    int attempt;
    int retries;
    /**
     * OMV_EV_FINISHED of a run whose boot was confirmed: what the camera said
     * once back in application mode (firmware version, arch or USB id); NULL
     * otherwise.
     */
    const struct omv_app_info *app;
} omv_event;

/** Receives events; called from the thread running omv_flash(). */
typedef void (*omv_event_fn)(void *user, const omv_event *ev);

/**
 * Receives confirmation requests (OMV_EV_CONFIRM); return non-zero to
 * accept. NULL means "refuse": destructive actions then fail with
 * OMV_E_CANCELLED unless the caller accepted them up front.
 */
typedef int (*omv_confirm_fn)(void *user, const char *what);

/** Callbacks for omv_flash(); all may be NULL. */
typedef struct omv_callbacks {
    omv_event_fn event;
    omv_confirm_fn confirm;
    void *user;
    /**
     * Non-zero to receive OMV_LOG_DEBUG messages as OMV_EV_LOG events. When
     * zero (the default) debug messages are dropped before being formatted,
     * so plugins may log freely per block at no cost.
     */
    int log_debug;
} omv_callbacks;

/**
 * Run @p req against @p board: resolve the plan (req->firmware_dir may be a
 * directory or an OpenMV release zip, read in place), check images (exist, not
 * empty, fit their partitions, no read-only target, not built for another
 * board: OMV_E_MISMATCH unless req->force), load the transport
 * plugin, wait for and open the device, check the device's partition names
 * against the board, then write, verify, read and reset as asked.
 * Nothing is sent to the device until all checks passed.
 * @return OMV_OK or the failure's status (also in @p err, with context).
 */
omv_status omv_flash(const omv_board *board, const omv_request *req, const omv_callbacks *cb,
                     omv_error *err);

/**
 * Describe the actions @p board declares: for each, @p found gets the action
 * name, its plugin, the plugin's one-line description and the partitions it
 * restores afterwards (comma separated, "" for none). Loads each plugin.
 * @return OMV_OK, OMV_E_PLUGIN, OMV_E_BOARD (bad options in the board file).
 */
omv_status omv_list_actions(const omv_board *board, const char *plugin_dir,
                            void (*found)(void *user, const char *action, const char *plugin,
                                          const char *description, const char *restores),
                            void *user, omv_error *err);

/**
 * List attached devices matching any of @p boards (app or bootloader ids).
 * For each device found, @p found gets the device and the board's name.
 * Loads each board's transport plugin (searching @p plugin_dir first).
 * @return OMV_OK, OMV_E_PLUGIN, OMV_E_IO.
 */
omv_status omv_list_devices(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                            void (*found)(void *user, const char *board_name,
                                          const struct omv_device_info *dev),
                            void *user, omv_error *err);

/** Longest device key, including the terminating NUL. */
#define OMV_DEVICE_KEY_MAX 112

/**
 * The key that tells one attached device from another, the same way in
 * omv_list_devices(), omv_watcher_scan() and omvflashd --watch: its USB port
 * path ("1-2.3": the physical socket, whatever runs on it, application or
 * bootloader), or, for a device without one, "VVVV:PPPP:SERIAL".
 * @p key gets it (at most @p size bytes; OMV_DEVICE_KEY_MAX is enough).
 */
void omv_device_key(const struct omv_device_info *dev, char *key, size_t size);

/**
 * omv_list_devices() that also reports the plugins' log messages to @p cb
 * (OMV_EV_LOG events; may be NULL): e.g. a camera that cannot be opened to
 * read its serial number, with the reason (permission denied: the udev
 * rules) and the fix. Only cb->event and cb->user are used.
 * @return OMV_OK, OMV_E_PLUGIN, OMV_E_IO.
 */
omv_status omv_list_devices_cb(const omv_board *const *boards, size_t n_boards, const char *plugin_dir,
                               const omv_callbacks *cb,
                               void (*found)(void *user, const char *board_name,
                                             const struct omv_device_info *dev),
                               void *user, omv_error *err);

/* Watching for cameras, limiting concurrent jobs, naming ports: fleet.h. */
#include "fleet.h"

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_OMVFLASH_H */
