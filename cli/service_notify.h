/*
 * systemd service notifications for watch mode (omvflashd@.service is
 * Type=notify with WatchdogSec=): READY once watching, STATUS lines saying
 * what it does, WATCHDOG pings, STOPPING at the first signal, all through
 * libsystemd's sd_notify(). Only when started by systemd (NOTIFY_SOCKET set):
 * otherwise service_notify_open() returns NULL and every call is a no-op.
 *
 * Pings come only from the watch main loop (service_watchdog() once per
 * iteration), never from a thread of their own: a main loop that hangs (a
 * scan that never returns, a deadlock) stops pinging, and systemd kills and
 * restarts the service.
 */
#ifndef OMVFLASHD_SERVICE_NOTIFY_H
#define OMVFLASHD_SERVICE_NOTIFY_H

#include <stdint.h>

struct service_notify;

/** NULL unless systemd waits for notifications (NOTIFY_SOCKET); NULL also when out of memory. */
struct service_notify *service_notify_open(void);

/** Tell systemd the service is up (READY=1) and what it does (STATUS). */
void service_ready(struct service_notify *n, const char *status);

/** STATUS=@p status, sent only when it differs from the last one. */
void service_status(struct service_notify *n, const char *status);

/** WATCHDOG=1 if half the watchdog interval passed since the last ping (no-op without WatchdogSec=). */
void service_watchdog(struct service_notify *n);

/**
 * Milliseconds until the next ping is due (UINT32_MAX without a watchdog):
 * the main loop waits no longer than this.
 */
uint32_t service_watchdog_due_ms(const struct service_notify *n);

/** STOPPING=1 with @p status: the first signal arrived. */
void service_stopping(struct service_notify *n, const char *status);

/** Free @p n. NULL is a no-op. */
void service_notify_close(struct service_notify *n);

#endif
