/*
 * Discovery: list() and open() on the plugin's libusb context. open() looks
 * once and never waits (the core polls it): it picks the one matching
 * device, claims its DFU interface and hands it to dfu_session_prepare().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"
#include "dfu_usb.h"

omv_status dfu_op_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                        omv_device_found_fn found, void *user, omv_error *err)
{
    struct dfu_plugin *pl = pctx;
    if (!pl)
        return omv_error_set(err, OMV_E_USAGE, "dfu list: no plugin context");
    return dfu_usb_list(pl->usb, "dfu", DFU_UDEV_HINT, host, match, found, user, err);
}

static void describe_match(const struct omv_match *m, char *out, size_t n)
{
    char ids[96];
    dfu_usb_format_ids(m, ids, sizeof ids);
    snprintf(out, n, "%s%s%s%s%s", ids, m->serial && m->serial[0] ? " serial " : "",
             m->serial && m->serial[0] ? m->serial : "", m->port_path && m->port_path[0] ? " at port " : "",
             m->port_path && m->port_path[0] ? m->port_path : "");
}

static omv_status multiple_error(omv_error *err, const struct omv_match *m, const struct dfu_usb_found *f, size_t n,
                                 size_t total)
{
    char ids[96], list[768] = "";
    for (size_t i = 0; i < n; i++) {
        char one[160];
        snprintf(one, sizeof one, "serial %s at port %s", f[i].info.serial[0] ? f[i].info.serial : "(unknown)",
                 f[i].info.port_path[0] ? f[i].info.port_path : "?");
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", one);
    }
    dfu_usb_format_ids(m, ids, sizeof ids);
    return omv_error_set(err, OMV_E_MULTIPLE, "%zu devices match %s: %s; choose one with --serial or --port", total,
                         ids, list);
}

/* Claim the DFU interface of the picked device and prepare the session; the session owns @p f's handle. */
static omv_status claim(const struct omv_host *host, struct dfu_plugin *pl, struct dfu_usb_found *f,
                        struct dfu_session **out, omv_error *err)
{
    struct dfu_session *s = calloc(1, sizeof *s);
    if (!s) {
        libusb_close(f->h);
        f->h = NULL;
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    s->host = host;
    s->pl = pl;
    s->h = f->h;
    s->iface = f->iface;
    s->opt = pl->opt;
    s->info = f->info;
    f->h = NULL;
    struct dfu_layout layout;
    int r = dfu_usb_layout(f->dev, &layout);
    omv_status st = OMV_OK;
    const char *port = s->info.port_path[0] ? s->info.port_path : "?";
    if (r < 0)
        st = dfu_session_fail(s, err, r, 0, "reading the configuration descriptor");
    if (st == OMV_OK) {
        libusb_set_auto_detach_kernel_driver(s->h, 1); /* LIBUSB_ERROR_NOT_SUPPORTED off Linux: harmless */
        r = libusb_claim_interface(s->h, s->iface);
    }
    if (st == OMV_OK && r == LIBUSB_ERROR_BUSY)
        /* usbfs lets one open file claim an interface: another program
         * (dfu-util, the OpenMV IDE, a second omvflashd) has the camera. */
        st = omv_error_set(err, OMV_E_BUSY,
                           "camera %04X:%04X at port %s is in use by another program (its DFU interface %u is "
                           "claimed: dfu-util, the OpenMV IDE or another omvflashd?); close it and try again",
                           s->info.vid, s->info.pid, port, s->iface);
    else if (st == OMV_OK && r == LIBUSB_ERROR_ACCESS)
        st = omv_error_set(err, OMV_E_ACCESS, "cannot claim DFU interface %u of %04X:%04X at %s: %s", s->iface,
                           s->info.vid, s->info.pid, port, DFU_UDEV_HINT);
    else if (st == OMV_OK && r < 0)
        st = dfu_session_fail(s, err, r, 0, "claiming the DFU interface");
    s->claimed = st == OMV_OK;
    if (st == OMV_OK)
        st = dfu_session_prepare(s, &layout, err);
    if (st != OMV_OK) {
        /* The device left meanwhile: nothing usable is here; the core looks again. */
        if (s->disconnected)
            st = omv_error_set(err, OMV_E_NO_DEVICE, "the device left while being opened (%s)", err->msg);
        dfu_session_free(s);
        return st;
    }
    *out = s;
    return OMV_OK;
}

/* Nothing openable was picked: the device that cannot be opened, if any, is the answer. */
static omv_status no_pick(const struct dfu_usb_found *f, size_t n, const struct omv_match *match, omv_error *err)
{
    char what[192];
    describe_match(match, what, sizeof what);
    for (size_t i = 0; i < n; i++) {
        if (!f[i].open_error)
            continue;
        if (f[i].open_error == LIBUSB_ERROR_ACCESS)
            return omv_error_set(err, OMV_E_ACCESS, "cannot open %s at port %s: %s", what, f[i].info.port_path,
                                 DFU_UDEV_HINT);
        return omv_error_set(err, OMV_E_IO, "cannot open %s at port %s: %s", what, f[i].info.port_path,
                             dfu_usb_error_name(f[i].open_error));
    }
    return omv_error_set(err, OMV_E_NO_DEVICE, "no DFU device %s is attached", what);
}

omv_status dfu_op_open(void *pctx, const struct omv_host *host, const struct omv_match *match, void **session,
                       struct omv_device_info *info, omv_error *err)
{
    struct dfu_plugin *pl = pctx;
    if (!pl || !match || !match->ids || match->n_ids == 0 || !session)
        return omv_error_set(err, OMV_E_USAGE, "dfu open: no USB ids to match");
    *session = NULL;
    if (host->cancelled(host))
        return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for the bootloader");
    struct dfu_usb_found f[DFU_USB_MAX_FOUND];
    size_t n = 0, total = 0;
    int r = dfu_usb_scan(pl->usb, match, f, DFU_USB_MAX_FOUND, &n, &total, 1);
    if (r < 0)
        return omv_error_set(err, OMV_E_IO, "cannot enumerate USB devices: %s", dfu_usb_error_name(r));
    size_t verified = 0;
    struct dfu_usb_found *pick = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].unverified && !verified++)
            pick = &f[i];
    }
    omv_status st;
    if (verified > 1) {
        st = multiple_error(err, match, f, n, total);
    } else if (pick && pick->h) {
        struct dfu_session *s = NULL;
        st = claim(host, pl, pick, &s, err);
        if (st == OMV_OK) {
            *session = s;
            if (info)
                *info = s->info;
            host->log(host, OMV_LOG_DEBUG, "dfu: opened %04X:%04X serial %s at %s, %zu alt settings%s%s", s->info.vid,
                      s->info.pid, s->info.serial, s->info.port_path, s->n_alts,
                      s->info.bootloader_version[0] ? ", bootloader " : "", s->info.bootloader_version);
        }
    } else {
        st = no_pick(f, n, match, err);
    }
    dfu_usb_found_free(f, n);
    return st;
}
