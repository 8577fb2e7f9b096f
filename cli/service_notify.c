/* systemd notifications through libsystemd's sd_notify() (see service_notify.h). */
#define _POSIX_C_SOURCE 200809L
#include "service_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

struct service_notify {
    uint64_t interval_ms;   /* ping every half of WATCHDOG_USEC; 0 = no watchdog */
    uint64_t last_ping_ms;
    char status[256];       /* last STATUS sent */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct service_notify *service_notify_open(void)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    if (!sock || !*sock)
        return NULL; /* not started by systemd (or not as Type=notify) */
    struct service_notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    /* sd_watchdog_enabled() checks WATCHDOG_PID too: a watchdog meant for
     * another process (our parent's) is not ours to feed. */
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        n->interval_ms = usec / 2000u;
        if (n->interval_ms == 0)
            n->interval_ms = 1;
    }
    n->last_ping_ms = mono_ms();
    return n;
}

static void send_state(struct service_notify *n, const char *head, const char *status)
{
    char msg[320];
    snprintf(n->status, sizeof n->status, "%s", status);
    snprintf(msg, sizeof msg, "%sSTATUS=%s", head, n->status);
    sd_notify(0, msg);
}

void service_ready(struct service_notify *n, const char *status)
{
    if (!n)
        return;
    send_state(n, "READY=1\n", status);
    n->last_ping_ms = mono_ms();
}

void service_status(struct service_notify *n, const char *status)
{
    if (n && strcmp(n->status, status) != 0)
        send_state(n, "", status);
}

void service_watchdog(struct service_notify *n)
{
    if (!n || !n->interval_ms)
        return;
    uint64_t now = mono_ms();
    if (now - n->last_ping_ms < n->interval_ms)
        return;
    sd_notify(0, "WATCHDOG=1");
    n->last_ping_ms = now;
}

uint32_t service_watchdog_due_ms(const struct service_notify *n)
{
    if (!n || !n->interval_ms)
        return UINT32_MAX;
    uint64_t since = mono_ms() - n->last_ping_ms;
    return since >= n->interval_ms ? 0 : (uint32_t)(n->interval_ms - since);
}

void service_stopping(struct service_notify *n, const char *status)
{
    if (n)
        send_state(n, "STOPPING=1\n", status);
}

void service_notify_close(struct service_notify *n)
{
    free(n);
}
