/*
 * omvflash: status codes and the error record shared by the library, the CLI
 * and every plugin.
 *
 * A status code is also the process exit code of omvflashd, so each failure
 * class a script may want to react to has its own number. The numbers are
 * part of the contract: never renumber, only append.
 */
#ifndef OMVFLASH_STATUS_H
#define OMVFLASH_STATUS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every library call and plugin operation; also the exit code of omvflashd. */
typedef enum omv_status {
    OMV_OK = 0,              /**< success */
    OMV_E_FAILED = 1,        /**< failure that fits no other class */
    OMV_E_USAGE = 2,         /**< bad command line or API arguments */
    OMV_E_BOARD = 3,         /**< board file missing or malformed (message names file:line) */
    OMV_E_PLUGIN = 4,        /**< plugin not found, bad name, missing symbol or ABI mismatch */
    OMV_E_IMAGE = 5,         /**< image file missing, unreadable, empty, too large, bad firmware.lst,
                                  a release zip refused (unsafe names, duplicates, encrypted, corrupt) */
    OMV_E_NO_DEVICE = 6,     /**< no matching device appeared within the wait time */
    OMV_E_MULTIPLE = 7,      /**< more than one device matches and none was chosen (--serial) */
    OMV_E_MISMATCH = 8,      /**< the device does not match the board file (alt names, layout), or an
                                  image was built for another board (its arch string) */
    OMV_E_DEVICE = 9,        /**< the device reported an error status (errWRITE, errADDRESS, ...) */
    OMV_E_IO = 10,           /**< USB/serial I/O failure or device gone mid-transfer */
    OMV_E_TIMEOUT = 11,      /**< the device stopped answering within the allowed time */
    OMV_E_VERIFY = 12,       /**< read-back differs from the image */
    OMV_E_READONLY = 13,     /**< a write to a read-only partition was requested */
    OMV_E_CANCELLED = 14,    /**< interrupted by the user (SIGINT/SIGTERM) */
    OMV_E_ACCESS = 15,       /**< permission denied opening the device (udev rules?) */
    OMV_E_NOMEM = 16,        /**< out of memory */
    OMV_E_UNSUPPORTED = 17,  /**< the plugin or device cannot do what was asked */
    OMV_E_CONFIG = 18,       /**< a daemon file is malformed (slots file: file:line) or cannot be
                                  written (--report, --metrics) */
    OMV_E_BUSY = 19,         /**< the camera is in use by another program (interface claimed, port locked) */
    OMV_E_BOOT = 20,         /**< after the reset the camera did not come back running its firmware: not
                                  back in application mode, back in (or never out of) its bootloader,
                                  or another board */
    OMV_E_AMBIGUOUS = 21,    /**< --board auto: the camera matches several board files and does not say
                                  which it is */
} omv_status;

/** Size of the message buffer in struct omv_error. */
#define OMV_ERROR_MSG_MAX 1024

/** Size of omv_error.device_status_name, including the NUL. */
#define OMV_ERROR_NAME_MAX 32

/** Bits of omv_error.flags: which of the optional details are known. */
enum omv_error_flag {
    OMV_ERRF_DEVICE_STATUS = 1u << 0, /**< device_status and device_status_name hold the device's own code */
    OMV_ERRF_BLOCK = 1u << 1,         /**< block holds the transfer block the failure happened at */
    OMV_ERRF_OFFSET = 1u << 2,        /**< offset holds the byte offset in the partition */
};

/**
 * An error record: a status code, a one-line human message, and what is
 * known beyond them (the device's own status code, where in the partition it
 * happened, whether trying again may help).
 *
 * Callers own the record; callees fill it on failure and leave it untouched
 * on success. omv_error_set() starts a new error (it clears the details and
 * sets `retriable` from the code); omv_error_device(), omv_error_block(),
 * omv_error_offset() and omv_error_retriable() add details afterwards.
 * Messages gain context as they travel up through omv_error_prefix(), which
 * keeps every detail:
 * "write HP: block 12 (offset 0xC000): device reported errWRITE (0x03), state dfuERROR".
 */
typedef struct omv_error {
    omv_status code;
    char msg[OMV_ERROR_MSG_MAX];
    unsigned flags;          /**< OMV_ERRF_* bits */
    /**
     * The device's own status code (USB DFU: bStatus) and its name in the
     * protocol's words ("errWRITE"), valid with OMV_ERRF_DEVICE_STATUS.
     */
    unsigned device_status;
    char device_status_name[OMV_ERROR_NAME_MAX];
    /** Transfer block number (valid with OMV_ERRF_BLOCK). */
    unsigned long long block;
    /** Byte offset in the partition (valid with OMV_ERRF_OFFSET). */
    unsigned long long offset;
    /**
     * Non-zero when the same request may succeed if tried again after
     * bringing the device back to idle or re-opening it: I/O errors,
     * timeouts, transient device statuses. Zero for failures that repeat
     * (an address out of range, a read-only target, a mismatch, bad
     * arguments) and for a cancel. omv_error_set() presets it: non-zero for
     * OMV_E_IO and OMV_E_TIMEOUT, zero otherwise; a plugin that knows better
     * says so with omv_error_retriable().
     */
    int retriable;
} omv_error;

/**
 * Set @p err (if not NULL) to @p code and a printf-style message, clearing
 * the details of any earlier error.
 * @return @p code, so a callee can write `return omv_error_set(err, ...)`.
 */
static inline omv_status omv_error_vset(omv_error *err, omv_status code, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;
static inline omv_status omv_error_vset(omv_error *err, omv_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        err->flags = 0;
        err->device_status = 0;
        err->device_status_name[0] = '\0';
        err->block = 0;
        err->offset = 0;
        err->retriable = code == OMV_E_IO || code == OMV_E_TIMEOUT;
    }
    return code;
}

/** printf-style wrapper of omv_error_vset(). */
static inline omv_status omv_error_set(omv_error *err, omv_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline omv_status omv_error_set(omv_error *err, omv_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    omv_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

/**
 * Record the device's own status code and its name (e.g. 3, "errWRITE") in
 * an error already set. Does nothing if @p err is NULL.
 * @return the error's code.
 */
static inline omv_status omv_error_device(omv_error *err, unsigned status, const char *name)
{
    if (!err)
        return OMV_E_FAILED;
    err->flags |= OMV_ERRF_DEVICE_STATUS;
    err->device_status = status;
    snprintf(err->device_status_name, sizeof err->device_status_name, "%s", name ? name : "");
    return err->code;
}

/** Record the transfer block an error already set happened at. @return the error's code. */
static inline omv_status omv_error_block(omv_error *err, unsigned long long block)
{
    if (!err)
        return OMV_E_FAILED;
    err->flags |= OMV_ERRF_BLOCK;
    err->block = block;
    return err->code;
}

/** Record the partition byte offset an error already set happened at. @return the error's code. */
static inline omv_status omv_error_offset(omv_error *err, unsigned long long offset)
{
    if (!err)
        return OMV_E_FAILED;
    err->flags |= OMV_ERRF_OFFSET;
    err->offset = offset;
    return err->code;
}

/** Say whether an error already set may go away when tried again. @return the error's code. */
static inline omv_status omv_error_retriable(omv_error *err, int retriable)
{
    if (!err)
        return OMV_E_FAILED;
    err->retriable = retriable != 0;
    return err->code;
}

/**
 * Prepend context to an error message ("write HP: " + old message), keeping
 * the code and every detail. Does nothing if @p err is NULL.
 * @return the error's code.
 */
static inline omv_status omv_error_prefix(omv_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline omv_status omv_error_prefix(omv_error *err, const char *fmt, ...)
{
    if (!err)
        return OMV_E_FAILED;
    char ctx[OMV_ERROR_MSG_MAX];
    char old[OMV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Using the result keeps -Wformat-truncation quiet: truncation is acceptable here. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", ctx, old) < 0)
        err->msg[0] = '\0';
    return err->code;
}

/** Reset @p err to OMV_OK with an empty message and no details. */
static inline void omv_error_clear(omv_error *err)
{
    if (err) {
        err->code = OMV_OK;
        err->msg[0] = '\0';
        err->flags = 0;
        err->device_status = 0;
        err->device_status_name[0] = '\0';
        err->block = 0;
        err->offset = 0;
        err->retriable = 0;
    }
}

/** A short stable name for a status code ("E_DEVICE"), used in JSON output. */
static inline const char *omv_status_name(omv_status s)
{
    switch (s) {
    case OMV_OK: return "OK";
    case OMV_E_FAILED: return "E_FAILED";
    case OMV_E_USAGE: return "E_USAGE";
    case OMV_E_BOARD: return "E_BOARD";
    case OMV_E_PLUGIN: return "E_PLUGIN";
    case OMV_E_IMAGE: return "E_IMAGE";
    case OMV_E_NO_DEVICE: return "E_NO_DEVICE";
    case OMV_E_MULTIPLE: return "E_MULTIPLE";
    case OMV_E_MISMATCH: return "E_MISMATCH";
    case OMV_E_DEVICE: return "E_DEVICE";
    case OMV_E_IO: return "E_IO";
    case OMV_E_TIMEOUT: return "E_TIMEOUT";
    case OMV_E_VERIFY: return "E_VERIFY";
    case OMV_E_READONLY: return "E_READONLY";
    case OMV_E_CANCELLED: return "E_CANCELLED";
    case OMV_E_ACCESS: return "E_ACCESS";
    case OMV_E_NOMEM: return "E_NOMEM";
    case OMV_E_UNSUPPORTED: return "E_UNSUPPORTED";
    case OMV_E_CONFIG: return "E_CONFIG";
    case OMV_E_BUSY: return "E_BUSY";
    case OMV_E_BOOT: return "E_BOOT";
    case OMV_E_AMBIGUOUS: return "E_AMBIGUOUS";
    }
    return "E_UNKNOWN";
}

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_STATUS_H */
