/* Emulated USB CDC-ACM serial ports on the umockdev testbed (docs/protocols.md
 * §12.2): a usb_device + cdc_acm interface + ttyACMn with the
 * `device` link libserialport needs, an ioctl handler that emulates the
 * TIOCM* modem-control ioctls a pty lacks, and the write-boundary channel
 * to write_shim.so that turns the pty byte stream back into USB transfers.
 * Everything runs in the GLib main loop except the ioctl handler (umockdev's
 * worker thread), which only touches the modem-line state under a lock. */
#ifndef OMVEMU_TTY_DEVICE_H
#define OMVEMU_TTY_DEVICE_H

#include "testbed.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tty_hub tty_hub_t;
typedef struct emu_tty emu_tty_t;

/* One host write (one cdc_acm transfer) arrived. */
typedef void (*tty_transfer_fn)(emu_tty_t *t, const uint8_t *data, size_t len, void *user);

typedef struct {
    uint16_t vid, pid, bcd_device;
    const char *manufacturer, *product, *serial;
    unsigned port;            /* root-hub port: syspath .../usb1/1-<port> */
} tty_usb_ids_t;

typedef struct {
    uint64_t transfers, bytes, unframed_bytes, dtr_changes, ioctls_passed, appearances;
} tty_stats_t;

tty_hub_t *tty_hub_new(emu_testbed_t *tb, bool verbose);
void tty_hub_free(tty_hub_t *h);
const char *tty_hub_sock_path(const tty_hub_t *h);
/* Sum over every port this hub ever created. */
tty_stats_t tty_hub_stats(const tty_hub_t *h);

/* Adds the device; with hotplug an "add" uevent follows. NULL on failure. */
emu_tty_t *tty_add(tty_hub_t *h, const tty_usb_ids_t *ids, const char *tag, bool hotplug,
                   tty_transfer_fn fn, void *user);
/* The device leaves the bus: the host's open port hangs up (pty master
 * closed), then sysfs entries go with "remove" uevents. t is invalid after. */
void tty_remove(emu_tty_t *t);

/* Device -> host bytes. */
void tty_send(emu_tty_t *t, const uint8_t *data, size_t len);
/* Line state as the host set it (termios of the pty, TIOCM* shim). */
uint32_t tty_baud(emu_tty_t *t);
bool tty_dtr(emu_tty_t *t);
const char *tty_name(const emu_tty_t *t);

#endif
