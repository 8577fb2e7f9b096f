/* Device discovery on libusb; see dfu_usb.h. */
#include "dfu_usb.h"
#include "dfu_requests.h"

#include <stdio.h>
#include <string.h>

/* Find the first DFU interface in a parsed configuration. @return 1 found. */
static int find_dfu_iface(const struct libusb_config_descriptor *cfg, uint8_t *iface)
{
    for (int i = 0; i < cfg->bNumInterfaces; i++) {
        const struct libusb_interface *in = &cfg->interface[i];
        for (int a = 0; a < in->num_altsetting; a++) {
            const struct libusb_interface_descriptor *d = &in->altsetting[a];
            if (d->bInterfaceClass == DFU_INTERFACE_CLASS && d->bInterfaceSubClass == DFU_INTERFACE_SUBCLASS) {
                *iface = d->bInterfaceNumber;
                return 1;
            }
        }
    }
    return 0;
}

static int get_config(libusb_device *dev, struct libusb_config_descriptor **cfg)
{
    int r = libusb_get_active_config_descriptor(dev, cfg);
    if (r < 0)
        r = libusb_get_config_descriptor(dev, 0, cfg);
    return r;
}

int dfu_usb_layout(libusb_device *dev, struct dfu_layout *layout)
{
    memset(layout, 0, sizeof *layout);
    struct libusb_config_descriptor *cfg = NULL;
    int r = get_config(dev, &cfg);
    if (r < 0)
        return r;
    uint8_t iface = 0;
    if (!find_dfu_iface(cfg, &iface)) {
        libusb_free_config_descriptor(cfg);
        return LIBUSB_ERROR_NOT_FOUND;
    }
    layout->found = 1;
    layout->iface = iface;
    /* libusb files class-specific descriptors under the interface descriptor
     * they follow (or under the configuration when they precede all
     * interfaces); openmv_dfu puts the functional descriptor after the last alt. */
    if (cfg->extra_length > 0)
        dfu_find_func_desc(cfg->extra, (size_t)cfg->extra_length, &layout->func);
    for (int i = 0; i < cfg->bNumInterfaces; i++) {
        const struct libusb_interface *in = &cfg->interface[i];
        for (int a = 0; a < in->num_altsetting; a++) {
            const struct libusb_interface_descriptor *d = &in->altsetting[a];
            if (d->bInterfaceNumber != iface || d->bInterfaceClass != DFU_INTERFACE_CLASS ||
                d->bInterfaceSubClass != DFU_INTERFACE_SUBCLASS)
                continue;
            if (layout->n_alts < DFU_MAX_ALTS) {
                struct dfu_alt *al = &layout->alts[layout->n_alts++];
                al->alt = d->bAlternateSetting;
                al->protocol = d->bInterfaceProtocol;
                al->istring = d->iInterface;
            }
            if (!layout->func.present && d->extra_length > 0)
                dfu_find_func_desc(d->extra, (size_t)d->extra_length, &layout->func);
        }
    }
    libusb_free_config_descriptor(cfg);
    return 0;
}

int dfu_usb_string(libusb_device_handle *h, uint8_t idx, char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    if (idx == 0)
        return 0;
    uint8_t buf[255];
    uint16_t langid = 0x0409;
    int r = libusb_get_string_descriptor(h, 0, 0, buf, sizeof buf);
    if (r < 0)
        return r;
    if (dfu_parse_langid(buf, (size_t)r, &langid) < 0)
        langid = 0x0409;
    r = libusb_get_string_descriptor(h, idx, langid, buf, sizeof buf);
    if (r < 0)
        return r;
    return dfu_parse_string_desc(buf, (size_t)r, out, n) < 0 ? LIBUSB_ERROR_IO : 0;
}

static int ids_match(const struct omv_match *m, uint16_t vid, uint16_t pid)
{
    for (size_t i = 0; i < m->n_ids; i++)
        if (m->ids[i].vid == vid && m->ids[i].pid == pid)
            return 1;
    return 0;
}

void dfu_usb_format_ids(const struct omv_match *m, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n_ids && o < n; i++) {
        int w = snprintf(out + o, n - o, "%s%04X:%04X", i ? ", " : "", m->ids[i].vid, m->ids[i].pid);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* Read manufacturer, product and serial into @p info. @return 0 or the first LIBUSB_ERROR_NO_DEVICE. */
static int read_strings(libusb_device_handle *h, const struct libusb_device_descriptor *dd,
                        struct omv_device_info *info)
{
    int r = dfu_usb_string(h, dd->iSerialNumber, info->serial, sizeof info->serial);
    if (r == LIBUSB_ERROR_NO_DEVICE)
        return r;
    r = dfu_usb_string(h, dd->iManufacturer, info->manufacturer, sizeof info->manufacturer);
    if (r == LIBUSB_ERROR_NO_DEVICE)
        return r;
    r = dfu_usb_string(h, dd->iProduct, info->product, sizeof info->product);
    return r == LIBUSB_ERROR_NO_DEVICE ? r : 0;
}

static int port_skipped(const struct omv_match *m, const char *port)
{
    for (size_t i = 0; port[0] && m->skip_ports && i < m->n_skip_ports; i++)
        if (m->skip_ports[i] && strcmp(m->skip_ports[i], port) == 0)
            return 1;
    return 0;
}

int dfu_usb_scan(libusb_context *ctx, const struct omv_match *m, struct dfu_usb_found *out, size_t max,
                 size_t *n_out, size_t *total, int keep_open)
{
    *n_out = 0;
    *total = 0;
    libusb_device **list = NULL;
    ssize_t cnt = libusb_get_device_list(ctx, &list);
    if (cnt < 0)
        return (int)cnt;
    for (ssize_t i = 0; i < cnt; i++) {
        libusb_device *dev = list[i];
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(dev, &dd) < 0 || !ids_match(m, dd.idVendor, dd.idProduct))
            continue;
        struct libusb_config_descriptor *cfg = NULL;
        uint8_t iface = 0;
        if (get_config(dev, &cfg) < 0)
            continue;
        int is_dfu = find_dfu_iface(cfg, &iface);
        libusb_free_config_descriptor(cfg);
        if (!is_dfu)
            continue;

        struct dfu_usb_found f;
        memset(&f, 0, sizeof f);
        f.iface = iface;
        f.info.vid = dd.idVendor;
        f.info.pid = dd.idProduct;
        snprintf(f.info.mode, sizeof f.info.mode, "bootloader");
        uint8_t ports[8];
        int np = libusb_get_port_numbers(dev, ports, (int)sizeof ports);
        if (np < 0 || dfu_format_port_path(libusb_get_bus_number(dev), ports, np, f.info.port_path,
                                           sizeof f.info.port_path) < 0)
            f.info.port_path[0] = '\0';
        if (m->port_path && m->port_path[0] && strcmp(m->port_path, f.info.port_path) != 0)
            continue;
        if (port_skipped(m, f.info.port_path))
            continue; /* another session owns it: do not open it */

        int r = libusb_open(dev, &f.h);
        if (r < 0) {
            f.h = NULL;
            if (r == LIBUSB_ERROR_NO_DEVICE)
                continue; /* left while we looked */
            f.open_error = r;
            f.unverified = m->serial && m->serial[0];
        } else {
            r = read_strings(f.h, &dd, &f.info);
            if (r == LIBUSB_ERROR_NO_DEVICE ||
                (m->serial && m->serial[0] && strcmp(m->serial, f.info.serial) != 0)) {
                libusb_close(f.h);
                continue;
            }
            if (!keep_open) {
                libusb_close(f.h);
                f.h = NULL;
            }
        }
        (*total)++;
        if (*n_out < max) {
            f.dev = libusb_ref_device(dev);
            out[(*n_out)++] = f;
        } else if (f.h) {
            libusb_close(f.h);
        }
    }
    libusb_free_device_list(list, 1);
    return 0;
}

void dfu_usb_found_free(struct dfu_usb_found *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].h)
            libusb_close(f[i].h);
        if (f[i].dev)
            libusb_unref_device(f[i].dev);
        f[i].h = NULL;
        f[i].dev = NULL;
    }
}

omv_status dfu_usb_list(libusb_context *ctx, const char *plugin, const char *udev_hint,
                        const struct omv_host *host, const struct omv_match *match, omv_device_found_fn found,
                        void *user, omv_error *err)
{
    if (!ctx || !match || !match->ids || match->n_ids == 0 || !found)
        return omv_error_set(err, OMV_E_USAGE, "%s list: no USB ids to match", plugin);
    struct dfu_usb_found f[DFU_USB_MAX_FOUND];
    size_t n = 0, total = 0;
    int r = dfu_usb_scan(ctx, match, f, DFU_USB_MAX_FOUND, &n, &total, 0);
    if (r < 0)
        return omv_error_set(err, OMV_E_IO, "cannot enumerate USB devices: %s", dfu_usb_error_name(r));
    for (size_t i = 0; i < n; i++) {
        if (f[i].unverified) {
            host->log(host, OMV_LOG_WARN, "%s: %04X:%04X at %s cannot be opened to read its serial (%s)", plugin,
                      f[i].info.vid, f[i].info.pid, f[i].info.port_path, dfu_usb_error_name(f[i].open_error));
            continue;
        }
        if (f[i].open_error)
            host->log(host, OMV_LOG_WARN, "%s: %04X:%04X at port %s cannot be opened, so its serial is unknown: %s",
                      plugin, f[i].info.vid, f[i].info.pid, f[i].info.port_path,
                      f[i].open_error == LIBUSB_ERROR_ACCESS ? udev_hint : dfu_usb_error_name(f[i].open_error));
        found(user, &f[i].info);
    }
    if (total > n)
        host->log(host, OMV_LOG_WARN, "%s: %zu more matching devices not listed", plugin, total - n);
    dfu_usb_found_free(f, n);
    return OMV_OK;
}
