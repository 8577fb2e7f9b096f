/* umockdev plumbing: the fake sysfs/dev tree the preloaded client sees. */
#ifndef OMVEMU_TESTBED_H
#define OMVEMU_TESTBED_H

#include "camera_models.h"

#include <stdbool.h>
#include <umockdev.h>

typedef struct {
    UMockdevTestbed *tb;
    char *root;
} emu_testbed_t;

emu_testbed_t *emu_testbed_new(void);
/* Removes the testbed and its $UMOCKDEV_DIR; safe on every exit path. */
void emu_testbed_free(emu_testbed_t *t);

/* Device node /dev/bus/usb/001/<devnum>; syspath .../usb1/1-<port>. */
char *emu_devnode(unsigned devnum);
char *emu_syspath(unsigned port);

/* The handler must be attached before the device is added (umockdev #173). */
bool emu_testbed_attach(emu_testbed_t *t, unsigned devnum, UMockdevIoctlBase *handler);
bool emu_testbed_add(emu_testbed_t *t, const camera_model_t *cam, const char *serial,
                     unsigned port, unsigned devnum, bool send_uevent);
void emu_testbed_remove(emu_testbed_t *t, unsigned port);

#endif
