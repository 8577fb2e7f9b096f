#include "testbed.h"

#include "descriptors.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

emu_testbed_t *emu_testbed_new(void)
{
    emu_testbed_t *t = g_new0(emu_testbed_t, 1);
    t->tb = umockdev_testbed_new(); /* creates $TMPDIR/umockdev.XXXXXX, sets $UMOCKDEV_DIR */
    if (!t->tb) {
        g_free(t);
        return NULL;
    }
    t->root = umockdev_testbed_get_root_dir(t->tb);
    return t;
}

static void rm_rf(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir) {
        const char *name;
        while ((name = g_dir_read_name(dir))) {
            char *child = g_build_filename(path, name, NULL);
            if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                rm_rf(child);
            else
                g_unlink(child);
            g_free(child);
        }
        g_dir_close(dir);
    }
    g_rmdir(path);
}

void emu_testbed_free(emu_testbed_t *t)
{
    if (!t)
        return;
    if (t->tb)
        g_object_unref(t->tb); /* normally removes the root dir itself */
    if (t->root && g_file_test(t->root, G_FILE_TEST_EXISTS))
        rm_rf(t->root); /* belt and braces: never leave umockdev.XXXXXX behind */
    g_free(t->root);
    g_free(t);
}

char *emu_devnode(unsigned devnum)
{
    return g_strdup_printf("/dev/bus/usb/001/%03u", devnum);
}

char *emu_syspath(unsigned port)
{
    return g_strdup_printf("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%u", port);
}

bool emu_testbed_attach(emu_testbed_t *t, unsigned devnum, UMockdevIoctlBase *handler)
{
    char *node = emu_devnode(devnum);
    GError *e = NULL;
    bool ok = umockdev_testbed_attach_ioctl(t->tb, node, handler, &e);
    if (!ok) {
        fprintf(stderr, "omvemu: cannot attach ioctl handler to %s: %s\n", node,
                e ? e->message : "?");
        g_clear_error(&e);
    }
    g_free(node);
    return ok;
}

bool emu_testbed_add(emu_testbed_t *t, const camera_model_t *cam, const char *serial,
                     unsigned port, unsigned devnum, bool send_uevent)
{
    char *hex = desc_sysfs_hex(cam);
    char *sys = emu_syspath(port);
    /* Everything libusb's sysfs enumeration reads: busnum/devnum/speed/
     * bConfigurationValue/descriptors (it never asks EP0 for these), plus
     * the usual identity attributes and udev properties. */
    char *rec = g_strdup_printf(
        "P: %s\n"
        "N: bus/usb/001/%03u\n"
        "E: SUBSYSTEM=usb\n"
        "E: DEVTYPE=usb_device\n"
        "E: DRIVER=usb\n"
        "E: BUSNUM=001\n"
        "E: DEVNUM=%03u\n"
        "E: DEVNAME=/dev/bus/usb/001/%03u\n"
        "E: PRODUCT=%x/%x/%x\n"
        "E: ID_VENDOR_ID=%04x\n"
        "E: ID_MODEL_ID=%04x\n"
        "E: ID_SERIAL_SHORT=%s\n"
        "A: busnum=1\\n\n"
        "A: devnum=%u\\n\n"
        "A: speed=%u\\n\n"
        "A: bConfigurationValue=1\\n\n"
        "A: bNumConfigurations=1\\n\n"
        "A: bNumInterfaces= 1\\n\n"
        "A: bDeviceClass=00\\n\n"
        "A: idVendor=%04x\\n\n"
        "A: idProduct=%04x\\n\n"
        "A: bcdDevice=%04x\\n\n"
        "A: manufacturer=%s\\n\n"
        "A: product=%s\\n\n"
        "A: serial=%s\\n\n"
        "A: version=%2x.%02x\\n\n"
        "H: descriptors=%s\n",
        sys + 4 /* strip "/sys" */, devnum, devnum, devnum, cam->vid, cam->pid,
        desc_bcd_device(cam), cam->vid, cam->pid, serial, devnum, cam->speed_mbps, cam->vid,
        cam->pid, desc_bcd_device(cam), desc_manufacturer(cam), desc_product(cam), serial,
        desc_bcd_usb(cam) >> 8, desc_bcd_usb(cam) & 0xFF, hex);
    GError *e = NULL;
    bool ok = umockdev_testbed_add_from_string(t->tb, rec, &e);
    if (!ok) {
        fprintf(stderr, "omvemu: cannot add device: %s\n", e ? e->message : "?");
        g_clear_error(&e);
    } else if (send_uevent) {
        /* Hot-plug: reaches a running libusb only when we are under the preload. */
        umockdev_testbed_uevent(t->tb, sys, "add");
    }
    g_free(rec);
    g_free(sys);
    g_free(hex);
    return ok;
}

void emu_testbed_remove(emu_testbed_t *t, unsigned port)
{
    char *sys = emu_syspath(port);
    /* uevent first: it is built from the device's sysfs entry. */
    umockdev_testbed_uevent(t->tb, sys, "remove");
    umockdev_testbed_remove_device(t->tb, sys);
    g_free(sys);
}
