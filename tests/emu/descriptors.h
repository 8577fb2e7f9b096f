/* USB descriptors of the openmv_dfu bootloader (docs/protocols.md §3.1). */
#ifndef OMVEMU_DESCRIPTORS_H
#define OMVEMU_DESCRIPTORS_H

#include "camera_models.h"

#define DESC_BCD_DEVICE 0x0103 /* bootloader 1.0.3 */

size_t desc_device(const camera_model_t *cam, uint8_t *out, size_t cap);
size_t desc_config(const camera_model_t *cam, uint8_t *out, size_t cap);
size_t desc_dfu_functional(const camera_model_t *cam, uint8_t *out, size_t cap);
/* String descriptor `index` (0 = language list). Returns 0 if none. */
size_t desc_string(const camera_model_t *cam, const char *serial, unsigned index, uint8_t *out,
                   size_t cap);
/* Identity strings and numbers (cam->usb, or the openmv_dfu ones). */
const char *desc_manufacturer(const camera_model_t *cam);
const char *desc_product(const camera_model_t *cam);
uint16_t desc_bcd_device(const camera_model_t *cam);
uint16_t desc_bcd_usb(const camera_model_t *cam);
/* Device + config descriptors as hex, i.e. the sysfs "descriptors" file. */
char *desc_sysfs_hex(const camera_model_t *cam);

#endif
