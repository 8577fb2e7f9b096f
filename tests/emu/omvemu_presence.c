/* omvemu: cameras appearing on and leaving the emulated bus, on the main
 * loop (umockdev's worker thread only schedules), and port power switching
 * (power_control.c): what a hub does to a real camera. */
#define _GNU_SOURCE
#include "omvemu.h"

/* Hosts notice a vanished device only after the hub reports the port change
 * (hub interrupt polling, then the kernel and udev): model that lag so a host
 * that resets right after DETACH meets ENODEV on its open fd, as on hardware,
 * rather than racing libusb's hot-plug thread. */
#define DISCONNECT_NOTICE_MS 20

/* The camera comes back on a new device number, as the kernel gives a
 * re-enumerated device: handles on the old node keep getting ENODEV. The
 * old node stays allocated (an open host fd may still point at it). */
static void reenumerate(camera_inst_t *c, const char *what)
{
    emu_t *e = c->emu;
    if (!c->retired)
        c->retired = g_ptr_array_new_with_free_func((GDestroyNotify)usbfs_dev_free);
    g_ptr_array_add(c->retired, c->usb);
    c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, emu_on_leave, c);
    c->devnum = e->next_devnum++;
    c->present = c->removed = false;
    if (c->devnum > 127 || !emu_testbed_attach(e->tb, c->devnum, c->usb->handler) || !emu_appear(c, true))
        fprintf(stderr, "omvemu: the camera on port 1-%u could not appear %s\n", c->port, what);
}

/* A DfuSe camera that reset or detached comes back as the same bootloader. */
static gboolean dfuse_reappear(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    dfuse_session_reset(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    reenumerate(c, "again (DfuSe re-enumeration)");
    return G_SOURCE_REMOVE;
}

/* A DfuSe camera's delayed event (the Arduino board reset after leaving). */
static gboolean dfuse_timer_due(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    const char *why = dfuse_timer(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    if (why)
        usbfs_dev_leave(c->usb, why);
    return G_SOURCE_REMOVE;
}

/* Called from umockdev's worker thread: g_timeout_add is thread-safe. */
void emu_dfuse_schedule(void *user, unsigned ms)
{
    g_timeout_add(ms, dfuse_timer_due, user);
}

static gboolean reboot_into_bootloader(gpointer p)
{
    emu_enter_dfu(p, false);
    return G_SOURCE_REMOVE;
}

/* --boot-fails on an openmv_dfu camera that was written to: the application
 * faults at once and the camera resets; its bootloader enumerates again,
 * with the normal window (and after that window, again). */
static bool boot_fails_now(camera_inst_t *c)
{
    if (!c->boot_fails || c->cam->dfuse || c->dfu->stats.blocks_written == 0)
        return false;
    c->boot_failures++;
    emu_log(c->dfu, "--boot-fails: the new firmware does not start; the bootloader comes back");
    g_timeout_add((guint)c->reenum_ms, reboot_into_bootloader, c);
    return true;
}

static gboolean remove_idle(gpointer p)
{
    camera_inst_t *c = p;
    if (c->present && !c->removed) {
        emu_testbed_remove(c->emu->tb, c->port);
        c->removed = true;
        emu_log(c->dfu, "removed from the bus (remove uevent sent)");
        if (c->powered_off || c->dfu->unplugged)
            return G_SOURCE_REMOVE; /* no power, or unplugged: nothing boots until it comes back */
        if (boot_fails_now(c))
            return G_SOURCE_REMOVE; /* --boot-fails: the bootloader comes back instead */
        if (c->cdc)
            cdc_cam_dfu_left(c->cdc); /* the bootloader jumped to the application */
        if (c->dfu->dfuse && c->dfu->dfuse->reappear_ms >= 0) /* re-enumerates as itself */
            g_timeout_add((guint)c->dfu->dfuse->reappear_ms, dfuse_reappear, c);
    }
    return G_SOURCE_REMOVE;
}

/* May run in umockdev's worker thread: defer testbed changes to the main loop. */
void emu_on_leave(emu_usbdev_t *dev, void *user)
{
    (void)dev;
    g_timeout_add(DISCONNECT_NOTICE_MS, remove_idle, user);
}

static gboolean window_expired(gpointer p)
{
    camera_inst_t *c = p;
    g_mutex_lock(&c->usb->lock);
    bool attached = c->dfu->attached;
    g_mutex_unlock(&c->usb->lock);
    if (!attached)
        usbfs_dev_leave(c->usb, "no DNLOAD/UPLOAD within the bootloader window");
    return G_SOURCE_REMOVE;
}

bool emu_appear(camera_inst_t *c, bool hotplug)
{
    if (!emu_testbed_add(c->emu->tb, c->cam, c->serial_buf, c->port, c->devnum, hotplug))
        return false;
    c->present = true;
    emu_log(c->dfu, "appeared as 001/%03u %04x:%04x serial %s%s", c->devnum, c->cam->vid, c->cam->pid,
            c->serial_buf, hotplug ? " (hot-plug)" : "");
    if (!c->forced)
        g_timeout_add((guint)c->window_ms, window_expired, c);
    return true;
}

/* --app-mode on a DFU-era camera: the application reset into openmv_dfu.
 * A second entry in one run re-arms the device model like a power cycle. */
void emu_enter_dfu(void *user, bool forced)
{
    camera_inst_t *c = user;
    if (c->present) {
        g_mutex_lock(&c->usb->lock);
        c->usb->gone = false;
        c->usb->leave_notified = false;
        dfu_device_power_on(c->dfu);
        g_mutex_unlock(&c->usb->lock);
        c->present = c->removed = false;
    }
    c->forced = forced;
    if (!emu_appear(c, true))
        fprintf(stderr, "omvemu: the openmv_dfu device could not appear\n");
}

gboolean emu_appear_timeout(gpointer p)
{
    if (!emu_appear(p, true))
        fprintf(stderr, "omvemu: hot-plug of the device failed\n");
    return G_SOURCE_REMOVE;
}

/* Power back on once the camera has left the bus: a fresh boot into its
 * bootloader on a new device number (errors, a hang and `busy`/`stuck`
 * faults cleared, the flash keeps what was written), like a DfuSe
 * re-enumeration. */
static gboolean power_on_when_gone(gpointer p)
{
    camera_inst_t *c = p;
    if (c->present && !c->removed)
        return G_SOURCE_CONTINUE; /* its removal (DISCONNECT_NOTICE_MS) has not run yet */
    g_mutex_lock(&c->usb->lock);
    dfu_device_power_on(c->dfu);
    g_mutex_unlock(&c->usb->lock);
    reenumerate(c, "after power on");
    return G_SOURCE_REMOVE;
}

bool emu_port_power(void *user, unsigned port, bool on, char *err, size_t errlen)
{
    emu_t *e = user;
    camera_inst_t *c = NULL;
    for (size_t i = 0; i < e->ncams && !c; i++)
        if (e->cams[i].port == port)
            c = &e->cams[i];
    if (!c) {
        snprintf(err, errlen, "no camera on port 1-%u", port);
        return false;
    }
    if (c->legacy || c->dfu->dfuse) {
        snprintf(err, errlen, "port 1-%u: power switching is modelled for openmv_dfu cameras only", port);
        return false;
    }
    emu_log(c->dfu, "port power %s", on ? "on" : "off");
    if (!on) {
        c->powered_off = true;
        if (c->cdc)
            cdc_cam_power_off(c->cdc); /* its application leaves too; power on boots the bootloader */
        if (c->present && !c->removed)
            usbfs_dev_leave(c->usb, "port power off");
    } else if (c->powered_off) {
        c->powered_off = false;
        g_timeout_add(DISCONNECT_NOTICE_MS, power_on_when_gone, c);
    }
    return true;
}
