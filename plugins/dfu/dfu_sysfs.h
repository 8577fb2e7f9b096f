/* Pre-check in sysfs for a device with one of the match's VID:PIDs. */
#ifndef OMV_DFU_SYSFS_H
#define OMV_DFU_SYSFS_H

#include <omvflash/plugin.h>

/**
 * 0 when sysfs is readable and lists no USB device with one of @p m's ids
 * and a DFU-mode interface; 1 otherwise (a candidate exists, or sysfs cannot
 * tell: scan with libusb).
 */
int dfu_sysfs_may_match(const struct omv_match *m);

#endif
