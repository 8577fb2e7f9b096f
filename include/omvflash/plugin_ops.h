/*
 * omvflash plugin ABI: the operations of each kind of plugin, op by op
 * (see plugin.h for the ABI as a whole: loading, contexts, threading,
 * errors, cancellation).
 */
#ifndef OMVFLASH_PLUGIN_OPS_H
#define OMVFLASH_PLUGIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "plugin_types.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct omv_host;

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
     * --read/--verify with OMV_E_UNSUPPORTED before any step runs (before
     * opening the device when no transport of the board can read).
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
     * --erase-filesystem with OMV_E_UNSUPPORTED before any step runs (before
     * opening the device when no transport of the board can erase).
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

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_PLUGIN_OPS_H */
