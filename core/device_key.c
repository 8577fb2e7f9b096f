/*
 * The one answer to "is this the same device?": its USB port path (the
 * physical socket, whatever runs on it), or VID:PID:serial for a device
 * without one. omv_list_devices(), omv_watcher_scan() and omvflashd --watch
 * all use it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void omv_device_key(const struct omv_device_info *d, char *key, size_t size)
{
    if (!key || !size)
        return;
    if (!d)
        key[0] = '\0';
    else if (d->port_path[0])
        snprintf(key, size, "%.*s", (int)sizeof d->port_path, d->port_path);
    else
        snprintf(key, size, "%04x:%04x:%.*s", d->vid, d->pid, (int)sizeof d->serial, d->serial);
}

int omvi_seen_add(omvi_seen *s, const struct omv_device_info *dev)
{
    char key[OMV_DEVICE_KEY_MAX];
    omv_device_key(dev, key, sizeof key);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0)
            return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char(*v)[OMV_DEVICE_KEY_MAX] = realloc(s->keys, cap * sizeof *v);
        if (!v)
            return -1;
        s->keys = v;
        s->cap = cap;
    }
    memcpy(s->keys[s->n++], key, sizeof key);
    return 1;
}

void omvi_seen_free(omvi_seen *s)
{
    free(s->keys);
    memset(s, 0, sizeof *s);
}
