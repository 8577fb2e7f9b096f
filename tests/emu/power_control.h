/* Port power control: the emulated hub's switchable port power, what uhubctl
 * drives on a real hub (a stand-in for it in tests of omvflashd --on-stuck).
 *
 * omvemu makes a FIFO and gives COMMAND its path in $OMVEMU_POWER. A line
 * written to it switches one port of the emulated bus (1-N):
 *   off PORT            the camera loses power: it leaves the bus at once
 *   on PORT             it gets power back: it boots and appears again
 *   cycle PORT [MS]     off, then on after MS ms (default 2000, uhubctl's -d)
 * PORT is a port path ("1-3") or a number ("3"). Bad lines are logged on
 * stderr and ignored. */
#ifndef OMVEMU_POWER_CONTROL_H
#define OMVEMU_POWER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#define OMVEMU_POWER_ENV "OMVEMU_POWER"

typedef struct power_ctl power_ctl_t;

/* Switch port @p port's power; returns false (with a message in @p err) when
 * the camera there cannot be power-cycled. */
typedef bool (*power_switch_fn)(void *user, unsigned port, bool on, char *err, size_t errlen);

/* Make the FIFO (in a fresh directory under $TMPDIR) and watch it from the
 * GLib main loop. NULL on failure (message on stderr). */
power_ctl_t *power_ctl_new(power_switch_fn fn, void *user);
const char *power_ctl_path(const power_ctl_t *p);
/* Stop watching; remove the FIFO and its directory. NULL is a no-op. */
void power_ctl_free(power_ctl_t *p);

#endif
