/* omvflashd --watch: the port table (see watch.c for the states). Main thread only. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "watch_internal.h"

static void key_of(const struct omv_device_info *d, char *key, size_t n)
{
    if (d->port_path[0])
        snprintf(key, n, "%s", d->port_path);
    else
        snprintf(key, n, "%04x:%04x:%s", d->vid, d->pid, d->serial);
}

static struct port_entry *find_port(struct watch *w, const char *key)
{
    for (size_t i = 0; i < w->n_ports; i++)
        if (strcmp(w->ports[i].key, key) == 0)
            return &w->ports[i];
    return NULL;
}

static struct port_entry *add_port(struct watch *w, const char *key)
{
    if (w->n_ports == w->cap_ports) {
        size_t cap = w->cap_ports ? 2 * w->cap_ports : 16;
        struct port_entry *v = realloc(w->ports, cap * sizeof *v);
        if (!v)
            return NULL;
        w->ports = v;
        w->cap_ports = cap;
    }
    struct port_entry *p = &w->ports[w->n_ports++];
    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", key);
    return p;
}

static void remove_port(struct watch *w, size_t i)
{
    w->ports[i] = w->ports[--w->n_ports];
}

static int may_start(const struct watch *w)
{
    return !*w->stop && (!w->o->max_devices || w->started < w->o->max_devices);
}

/* Start a worker for @p d on @p p (new or reused entry). */
static void start_on(struct watch *w, struct port_entry *p, const struct omv_device_info *d)
{
    pthread_mutex_lock(&w->lock);
    watch_emit_appeared(w, d);
    pthread_mutex_unlock(&w->lock);
    struct worker *k = watch_worker_start(w, d);
    if (!k) {
        pthread_mutex_lock(&w->lock);
        watch_emit_note(w, "watch_error", "cannot start a worker (out of memory or threads); camera skipped");
        pthread_mutex_unlock(&w->lock);
        p->state = PORT_DONE;
        return;
    }
    snprintf(p->port, sizeof p->port, "%s", d->port_path);
    snprintf(p->serial, sizeof p->serial, "%s", d->serial);
    p->state = PORT_BUSY;
    p->wk = k;
    w->started++;
    w->busy++;
}

static int wanted(const struct watch *w, const struct omv_device_info *d)
{
    if (w->o->port && strcmp(w->o->port, d->port_path) != 0)
        return 0;
    if (w->o->serial && strcmp(w->o->serial, d->serial) != 0)
        return 0;
    return 1;
}

void watch_on_scan(void *user, const struct omv_device_info *dev)
{
    struct watch *w = user;
    if (w->n_scan < WATCH_MAX_SCAN)
        w->scan[w->n_scan++] = *dev;
    else
        w->scan_overflow = 1;
}

/* Apply one scan's result to the table. */
void watch_update(struct watch *w)
{
    uint64_t now = watch_now_ms();
    for (size_t i = 0; i < w->n_ports; i++)
        w->ports[i].seen = 0;
    for (size_t s = 0; s < w->n_scan; s++) {
        const struct omv_device_info *d = &w->scan[s];
        if (!wanted(w, d))
            continue;
        char key[128];
        key_of(d, key, sizeof key);
        struct port_entry *p = find_port(w, key);
        if (p) {
            p->seen = 1;
            if (p->state != PORT_REBOOTING)
                continue; /* BUSY: its own re-enumeration; DONE: already handled */
            int app = strcmp(d->mode, "bootloader") != 0;
            if (app || !d->serial[0] || !p->serial[0] || strcmp(d->serial, p->serial) == 0) {
                p->state = PORT_DONE; /* the flashed camera, back */
                continue;
            }
            if (may_start(w))
                start_on(w, p, d); /* another camera's bootloader on that port */
            continue;
        }
        if (!may_start(w))
            continue;
        p = add_port(w, key);
        if (!p)
            continue;
        p->seen = 1;
        start_on(w, p, d);
    }
    for (size_t i = 0; i < w->n_ports;) {
        struct port_entry *p = &w->ports[i];
        int gone = !p->seen && (p->state == PORT_DONE || (p->state == PORT_REBOOTING && now >= p->deadline));
        if (gone)
            remove_port(w, i);
        else
            i++;
    }
}

/* Collect finished workers. @return how many finished. */
int watch_reap(struct watch *w)
{
    int n = 0;
    for (size_t i = 0; i < w->n_ports; i++) {
        struct port_entry *p = &w->ports[i];
        if (p->state != PORT_BUSY || !p->wk)
            continue;
        pthread_mutex_lock(&w->lock);
        int fin = p->wk->finished;
        pthread_mutex_unlock(&w->lock);
        if (!fin)
            continue;
        pthread_join(p->wk->th, NULL);
        struct worker *k = p->wk;
        w->handled++;
        w->last = k->st;
        if (k->st == OMV_OK)
            w->succeeded++;
        else
            w->failed++;
        if (k->out.serial[0])
            snprintf(p->serial, sizeof p->serial, "%s", k->out.serial); /* the bootloader's serial */
        if (k->st == OMV_OK && !k->req.no_reset) {
            p->state = PORT_REBOOTING;
            p->deadline = watch_now_ms() + WATCH_REBOOT_MS;
        } else {
            p->state = PORT_DONE;
        }
        p->wk = NULL;
        watch_worker_free(k);
        w->busy--;
        n++;
    }
    return n;
}
