/*
 * USB CDC-ACM serial ports through libserialport, shared by the cdc_bootloader
 * transport and the omv_entry plugin (both compile this file; no global state).
 *
 * Writes are ONE write() call per buffer: on a CDC-ACM tty each write() becomes
 * one USB transfer that the host controller cuts into max-size packets, and the
 * legacy bootloader treats each packet as one command, so a command must never
 * be split across two write() calls (nor two commands merged into one packet).
 */
#ifndef OMV_SERIAL_H
#define OMV_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/plugin.h>

struct sp_port;

/** One port found by omv_serial_list(). */
struct omv_serial_port {
    char name[128];               /**< "/dev/ttyACM0" */
    struct omv_device_info info;  /**< vid, pid, serial, port_path, manufacturer, product */
};

/** Return non-zero to keep @p info (called after the VID:PID and match filters). */
typedef int (*omv_serial_keep_fn)(void *user, const struct omv_device_info *info);

/**
 * USB serial ports whose VID:PID is in match->ids, that match match->serial and
 * match->port_path when set, and that @p keep accepts (NULL = all). Writes up to
 * @p max to @p out and the total to *count. Ports that vanish while being
 * listed, and half-removed ports whose USB serial can no longer be read, are
 * skipped (a camera resetting into or out of its bootloader): never an error.
 * @return OMV_OK (also when there is no /sys/class/tty), OMV_E_IO when
 *         /sys/class/tty cannot be read, OMV_E_NOMEM.
 */
omv_status omv_serial_list(const struct omv_match *match, omv_serial_keep_fn keep, void *user,
                           struct omv_serial_port *out, size_t max, size_t *count, omv_error *err);

/** "serial X at port P (/dev/ttyACM0)" list for OMV_E_MULTIPLE messages. */
void omv_serial_describe(const struct omv_serial_port *ports, size_t n, char *buf, size_t cap);

/**
 * Open @p name read/write at @p baud, 8N1, no flow control, DTR (and RTS) on,
 * for exclusive use (TIOCEXCL) until omv_serial_close().
 * @return OMV_OK; OMV_E_ACCESS (permission); OMV_E_BUSY (another program has
 *         it for exclusive use); OMV_E_NO_DEVICE (port vanished); OMV_E_IO otherwise.
 */
omv_status omv_serial_open(const char *name, uint32_t baud, struct sp_port **out, omv_error *err);

/** Close and free; NULL is a no-op. */
void omv_serial_close(struct sp_port *port);

/** Drop whatever the device sent that was not read yet. */
void omv_serial_flush_input(struct sp_port *port);

/**
 * Write @p len bytes in ONE write() call, waiting up to @p timeout_ms for the
 * port to accept it.
 * @return 0; -1 device gone (EIO/ENODEV/hang-up); -2 timeout; -3 short write
 *         (framing broken); -4 other error. @p why gets a short reason.
 */
int omv_serial_write(struct sp_port *port, const uint8_t *buf, size_t len, uint32_t timeout_ms, char *why,
                     size_t why_cap);

/**
 * Read until @p len bytes arrived or @p timeout_ms passed.
 * @return bytes read (< len on timeout), or -1 when the device is gone.
 */
long omv_serial_read(struct sp_port *port, uint8_t *buf, size_t len, uint32_t timeout_ms);

/**
 * Wait @p ms for the device to hang up, reading nothing: a wait the protocol
 * asks for (a sector erase with no reply) that still notices an unplug at
 * once instead of at the next command.
 * @return 0 when the time passed with the port still there; -1 when the
 *         device is gone.
 */
int omv_serial_wait_gone(struct sp_port *port, uint32_t ms);

#endif /* OMV_SERIAL_H */
