/*
 * omvflash public API, part 2: running a fleet. A device watcher (the
 * board's plugins loaded once, scanned again and again), a queue that limits
 * how many cameras are flashed at once, and slot files that name USB ports.
 * Included by omvflash.h; include that one.
 */
#ifndef OMVFLASH_FLEET_H
#define OMVFLASH_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "omvflash.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A device watcher (opaque): the board's plugins loaded once, for scanning
 * the attached cameras again and again (omvflashd --watch) without a
 * dlopen per scan. Use it from one thread at a time; flash the devices it
 * finds with omv_flash() (port_path set), from any thread.
 */
typedef struct omv_watcher omv_watcher;

/**
 * Load @p board's transport plugins and its entry plugin once and start a
 * hot-plug watch on every transport that offers one (plugin op `hotplug`).
 * @param plugin_dir  extra directory searched first; may be NULL.
 * @param cb          receives OMV_EV_LOG events from the plugins (e.g. a
 *                    device that cannot be opened); may be NULL. Copied.
 * @param cancel      when non-NULL and requested, omv_watcher_wait() returns
 *                    OMV_E_CANCELLED within ~100 ms. It must outlive the watcher.
 * @param out         receives the watcher; free it with omv_watcher_close().
 * @return OMV_OK, OMV_E_PLUGIN, OMV_E_BOARD (bad plugin options), OMV_E_NOMEM.
 */
omv_status omv_watcher_open(const omv_board *board, const char *plugin_dir, const omv_callbacks *cb,
                            const omv_cancel *cancel, omv_watcher **out, omv_error *err);

/**
 * Non-zero when omv_watcher_wait() is woken by hot-plug events (every
 * transport of the board has a working hot-plug op); zero when it simply
 * sleeps, so the caller polls with omv_watcher_scan() (the portable path).
 */
int omv_watcher_hotplug(const omv_watcher *w);

/**
 * Report every device of the board attached now, in bootloader mode (its
 * transports' list()) or application mode (the entry plugin's list(), and
 * app ids a transport recognises): @p found gets each device once (one per
 * port path; devices without a port path are told apart by VID:PID and
 * serial), dev->mode saying "bootloader", "app", ... Never waits, never
 * claims or changes a device.
 * @param busy_ports  port paths being flashed now (@p n_busy of them; may be
 *                    NULL): their devices are neither opened (a second handle
 *                    on a camera mid-transfer is unsafe) nor reported.
 * @return OMV_OK (also when nothing is attached), OMV_E_IO, OMV_E_NOMEM.
 */
omv_status omv_watcher_scan(omv_watcher *w, const char *const *busy_ports, size_t n_busy,
                            void (*found)(void *user, const struct omv_device_info *dev), void *user,
                            omv_error *err);

/**
 * Wait up to @p timeout_ms for a change worth a new scan: with hot-plug, a
 * device with one of the board's ids arrived or left (returns early); without,
 * it sleeps @p timeout_ms.
 * @return OMV_OK (scan again: something changed, or may have);
 *         OMV_E_TIMEOUT (hot-plug: nothing changed);
 *         OMV_E_CANCELLED (the cancel was requested), OMV_E_IO.
 */
omv_status omv_watcher_wait(omv_watcher *w, uint32_t timeout_ms, omv_error *err);

/** Stop the hot-plug watches, unload the plugins, free @p w. NULL is a no-op. */
void omv_watcher_close(omv_watcher *w);

/**
 * Ask the one camera of @p board running its application who it is, without
 * resetting it: firmware version, identity string (debug protocol v1
 * ARCH_STR), the USB id it reports, the protocol that answered (struct
 * omv_app_info). The camera is chosen by req->port_path / req->serial when
 * set; only those, req->plugin_dir, req->wait_ms (how long to wait for it to
 * appear in application mode; OMV_WAIT_DEFAULT = the board's wait_ms) and
 * req->cancel are used. The board's entry plugins are asked in order; the
 * first one that sees the camera and can identify it answers.
 * @return OMV_OK; OMV_E_NO_DEVICE (no camera in application mode appeared);
 *         OMV_E_MULTIPLE; OMV_E_UNSUPPORTED (no entry plugin of the board can
 *         identify); OMV_E_TIMEOUT (the firmware did not answer); OMV_E_ACCESS,
 *         OMV_E_BUSY, OMV_E_IO, OMV_E_DEVICE, OMV_E_CANCELLED, OMV_E_PLUGIN,
 *         OMV_E_BOARD.
 */
omv_status omv_identify(const omv_board *board, const omv_request *req, const omv_callbacks *cb,
                        struct omv_app_info *out, omv_error *err);

/**
 * Which of @p boards is the attached camera (omvflashd --board auto)? Waits
 * up to req->wait_ms (OMV_WAIT_DEFAULT: 10 s) for a camera any board
 * recognises, in its bootloader or its application (req->port_path and
 * req->serial narrow the search; req->plugin_dir and req->cancel are used
 * too), then picks its board: by the USB id it shows when only one board
 * names that id; else, when it runs its application, by the arch string the
 * firmware reports (omv_identify() through the first candidate board's entry
 * plugins; the camera is not reset). Logs the choice through @p cb (may be
 * NULL). Nothing is written or reset.
 * @param n_boards  at most 64.
 * @param index     receives the chosen board's position in @p boards.
 * @param dev       receives the camera (may be NULL), e.g. its port path to
 *                  flash exactly that camera.
 * @return OMV_OK; OMV_E_NO_DEVICE (no camera appeared); OMV_E_MULTIPLE
 *         (several cameras: the message lists them); OMV_E_AMBIGUOUS (several
 *         boards name its id and it cannot tell which: the message lists
 *         them); OMV_E_BOARD (its firmware reports an arch no board names);
 *         omv_identify()'s errors; OMV_E_USAGE, OMV_E_PLUGIN, OMV_E_IO,
 *         OMV_E_CANCELLED.
 */
omv_status omv_detect_board(const omv_board *const *boards, size_t n_boards, const omv_request *req,
                            const omv_callbacks *cb, size_t *index, struct omv_device_info *dev, omv_error *err);

/* ---- Bounded parallelism (omvflashd --watch --jobs N) ------------------ */

/**
 * A first-come-first-served admission queue (opaque): at most `limit` jobs
 * (cameras being flashed) run at once, the others wait in arrival order.
 * Jobs are named by a key, e.g. the camera's port path. It does no I/O and
 * starts no thread; use it from one thread at a time.
 */
typedef struct omv_job_queue omv_job_queue;

/** Longest job key, including the terminating NUL. */
#define OMV_JOB_KEY_MAX 128

/**
 * Create a queue.
 * @param limit  most jobs running at once; 0 = no limit (nobody waits).
 * @param out    receives the queue; free it with omv_job_queue_free().
 * @return OMV_OK, OMV_E_USAGE (out NULL), OMV_E_NOMEM.
 */
omv_status omv_job_queue_new(unsigned limit, omv_job_queue **out, omv_error *err);

/** Free @p q. NULL is a no-op. */
void omv_job_queue_free(omv_job_queue *q);

/**
 * A job arrives. It runs at once (*started = 1) when fewer than `limit` run
 * and nobody is waiting; otherwise it waits behind every job that arrived
 * before it (*started = 0) and @p position (may be NULL) receives its
 * 1-based place among the waiting.
 * @return OMV_OK; OMV_E_USAGE for a NULL, empty or too long key or a key
 *         already queued or running; OMV_E_NOMEM.
 */
omv_status omv_job_queue_submit(omv_job_queue *q, const char *key, int *started, size_t *position,
                                omv_error *err);

/**
 * Start the next waiting job if there is room: copies its key into @p key
 * (@p key_size bytes, OMV_JOB_KEY_MAX is enough; may be NULL), counts it as
 * running and returns 1. Returns 0 when `limit` jobs run or nobody waits.
 * Call it until it returns 0 whenever a job was removed.
 */
int omv_job_queue_next(omv_job_queue *q, char *key, size_t key_size);

/**
 * Forget job @p key: a running job finished (its place goes to the next
 * waiting one through omv_job_queue_next()), or a waiting one left.
 * @return 1 when @p key was queued or running, else 0.
 */
int omv_job_queue_remove(omv_job_queue *q, const char *key);

/** Number of running jobs (0 for NULL). */
size_t omv_job_queue_running(const omv_job_queue *q);

/** Number of waiting jobs (0 for NULL). */
size_t omv_job_queue_waiting(const omv_job_queue *q);

/** 1-based place of waiting job @p key; 0 when it is not waiting. */
size_t omv_job_queue_position(const omv_job_queue *q, const char *key);

/* ---- Slots: names for the USB ports of a production line ---------------- */

/**
 * A loaded slots file (opaque): a name for each physical USB port, matched
 * by port path (struct omv_device_info.port_path, "1-2.3"), which stays the
 * same for a hub socket however often cameras come and go. Read-only after
 * loading: may be shared between threads.
 */
typedef struct omv_slots omv_slots;

/** Longest slot name, including the terminating NUL. */
#define OMV_SLOT_NAME_MAX 32

/**
 * Load a slots file: INI sections `[slot NAME]`, each with one key
 * `port = PATH` (a Linux USB port path, BUS-PORT[.PORT]..., e.g. 1-2.3).
 * NAME is 1 to 31 letters, digits, '_', '-' or '.'. An unknown section or
 * key, a slot without port, a name or port given twice, a malformed line and
 * a file without any slot fail with "FILE:LINE: ...".
 * @param out  receives the slots; free them with omv_slots_free().
 * @return OMV_OK, OMV_E_CONFIG (also an unreadable file), OMV_E_USAGE (NULL
 *         arguments), OMV_E_NOMEM.
 */
omv_status omv_slots_load(const char *path, omv_slots **out, omv_error *err);

/** Free @p slots. NULL is a no-op. */
void omv_slots_free(omv_slots *slots);

/**
 * Name of the slot on USB port @p port_path, or NULL when no slot names it
 * (also for NULL @p slots, or a NULL or empty @p port_path).
 */
const char *omv_slots_lookup(const omv_slots *slots, const char *port_path);

/** Port path of slot @p name, or NULL when there is no such slot. */
const char *omv_slots_port(const omv_slots *slots, const char *name);

/** Number of slots (0 for NULL). */
size_t omv_slots_count(const omv_slots *slots);

/** Name of slot @p i (0 .. count-1, file order), or NULL beyond the end. */
const char *omv_slots_name_at(const omv_slots *slots, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* OMVFLASH_FLEET_H */
