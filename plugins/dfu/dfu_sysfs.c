/*
 * A cheap "could a matching DFU device be attached?" check that needs no libusb
 * context. While waiting for a bootloader the plugin polls every poll_ms;
 * creating a libusb context per poll also starts and stops libusb's udev
 * monitor each time, which costs a netlink socket per poll and, under
 * umockdev, races the emulator's uevent sender (it aborts when a monitor
 * socket vanishes between its glob() and connect(), and a stale monitor
 * socket then blocks every later libusb_init()). Reading the VID:PID and the
 * descriptors in sysfs answers "nothing there yet" without any of that, also
 * for devices that share a VID:PID but have no DFU interface (the legacy
 * OpenMV bootloader and G1 firmware are CDC devices on 1209:ABD1).
 */
#define _POSIX_C_SOURCE 200809L
#include "dfu_sysfs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#define SYSFS_USB_DEVICES "/sys/bus/usb/devices"

static int read_hex(const char *dir, const char *name, const char *attr, unsigned *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, attr);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%x", out) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

/* Does the device's sysfs `descriptors` (device descriptor, then the active
 * configuration, as the kernel exposes them) contain a DFU-mode interface
 * (class 0xFE, subclass 0x01)? 1 yes, 0 no, -1 cannot tell. */
static int has_dfu_interface(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/descriptors", SYSFS_USB_DEVICES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char d[4096];
    size_t n = fread(d, 1, sizeof d, f);
    fclose(f);
    if (n < 18 || d[0] != 18 || d[1] != 1)
        return -1;
    for (size_t off = d[0]; off + 2 <= n && d[off] >= 2; off += d[off]) {
        if (d[off + 1] == 4 && d[off] >= 9 && off + 9 <= n && d[off + 5] == 0xFE && d[off + 6] == 0x01)
            return 1;
    }
    return 0;
}

int dfu_sysfs_may_match(const struct omv_match *m)
{
    DIR *d = opendir(SYSFS_USB_DEVICES);
    if (!d)
        return 1; /* no sysfs (not Linux, or a sandbox): let libusb look */
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        unsigned vid, pid;
        if (e->d_name[0] == '.' || read_hex(SYSFS_USB_DEVICES, e->d_name, "idVendor", &vid) != 0 ||
            read_hex(SYSFS_USB_DEVICES, e->d_name, "idProduct", &pid) != 0)
            continue; /* interfaces and hubs' ports have no ids */
        int ids = 0;
        for (size_t i = 0; i < m->n_ids; i++)
            ids |= m->ids[i].vid == vid && m->ids[i].pid == pid;
        if (ids && has_dfu_interface(e->d_name) != 0)
            found = 1;
    }
    closedir(d);
    return found;
}
