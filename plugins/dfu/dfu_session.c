/*
 * Session-level ops: list, open (wait, claim, describe, bring to dfuIDLE,
 * read the bootloader header), partitions, finish, close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_session.h"
#include "dfu_sysfs.h"
#include "dfu_usb.h"

/* How long a device that exists but cannot be opened (EACCES) is retried:
 * udev applies permissions a few ms after the node appears. */
#define DFU_ACCESS_GRACE_MS 1000u

#define UDEV_HINT                                                                                            \
    "permission denied; install the omvflash udev rules (or add a rule granting your user access to "      \
    "the device) and replug the camera"

omv_status dfu_usb_fail(omv_error *err, int r, unsigned timeout_ms, const char *what)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE:
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected", what);
    case LIBUSB_ERROR_IO:
        return omv_error_set(err, OMV_E_IO, "%s: device disconnected (USB I/O error)", what);
    case LIBUSB_ERROR_TIMEOUT:
        return omv_error_set(err, OMV_E_TIMEOUT, "%s: no answer within %u ms", what, timeout_ms);
    case LIBUSB_ERROR_ACCESS:
        return omv_error_set(err, OMV_E_ACCESS, "%s: %s", what, UDEV_HINT);
    case LIBUSB_ERROR_PIPE:
        return omv_error_set(err, OMV_E_IO, "%s: request stalled (LIBUSB_ERROR_PIPE)", what);
    default:
        return omv_error_set(err, OMV_E_IO, "%s: %s", what, dfu_usb_error_name(r));
    }
}

omv_status dfu_session_fail(struct dfu_session *s, omv_error *err, int r, unsigned timeout_ms, const char *what)
{
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
        s->disconnected = 1;
    return dfu_usb_fail(err, r, timeout_ms, what);
}

/* libusb before 1.0.27 unlocks the handle's mutex twice when
 * libusb_set_interface_alt_setting() meets a device it already saw leave
 * (libusb/libusb#1199); libusb_close() then aborts on an assertion. */
static int set_alt_is_unsafe_on_gone_device(void)
{
    const struct libusb_version *v = libusb_get_version();
    unsigned ver = (unsigned)v->major << 16 | (unsigned)v->minor << 8 | (unsigned)v->micro;
    return ver < (1u << 16 | 0u << 8 | 27u);
}

omv_status dfu_session_set_alt(struct dfu_session *s, unsigned alt, const char *name, omv_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "selecting alt setting %u (%s)", alt, name ? name : "?");
    if (set_alt_is_unsafe_on_gone_device()) {
        /* A device libusb knows has left fails every transfer with NO_DEVICE:
         * find out with a harmless GETSTATE instead of tripping the bug. */
        uint8_t state;
        int q = dfu_req_getstate(s->h, s->iface, &state, s->opt.control_timeout_ms);
        if (q == LIBUSB_ERROR_NO_DEVICE || q == LIBUSB_ERROR_IO)
            return dfu_session_fail(s, err, q, s->opt.control_timeout_ms, what);
    }
    int r = libusb_set_interface_alt_setting(s->h, s->iface, (int)alt);
    if (r == 0)
        return OMV_OK;
    if (r == LIBUSB_ERROR_NOT_FOUND)
        return omv_error_set(err, OMV_E_MISMATCH, "%s: the device has no such alt setting", what);
    return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, what);
}

omv_status dfu_session_to_idle(struct dfu_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    const unsigned tmo = s->opt.control_timeout_ms;
    uint64_t start = host->now_ms(host);
    int cleared = 0;
    char desc[160];
    for (int step = 0; step < 16; step++) {
        struct dfu_status st;
        int r = dfu_req_getstatus(s->h, s->iface, &st, s->opt.status_timeout_ms);
        if (r < 0)
            return dfu_session_fail(s, err, r, s->opt.status_timeout_ms, "GETSTATUS while preparing the device");
        switch (st.state) {
        case DFU_STATE_IDLE:
            return OMV_OK;
        case DFU_STATE_ERROR:
            if (cleared)
                return omv_error_set(err, OMV_E_DEVICE,
                                     "device stays in dfuERROR (status %s, 0x%02X: %s) after CLRSTATUS",
                                     dfu_status_name(st.status), st.status, dfu_status_words(st.status));
            dfu_describe_status(desc, sizeof desc, st.status, st.state);
            host->log(host, OMV_LOG_INFO, "dfu: %s on open; sending CLRSTATUS", desc);
            r = dfu_req_clrstatus(s->h, s->iface, tmo);
            if (r < 0)
                return dfu_session_fail(s, err, r, tmo, "CLRSTATUS while preparing the device");
            cleared = 1;
            break;
        case DFU_STATE_DNBUSY:
        case DFU_STATE_MANIFEST: {
            /* Busy: wait as asked, bounded by the status timeout. */
            if (host->now_ms(host) - start > s->opt.status_timeout_ms)
                return omv_error_set(err, OMV_E_TIMEOUT, "device still in %s after %u ms while preparing it",
                                     dfu_state_name(st.state), s->opt.status_timeout_ms);
            uint32_t wait = st.poll_timeout ? st.poll_timeout : s->opt.poll_ms;
            if (host->sleep_ms(host, wait) != OMV_OK)
                return omv_error_set(err, OMV_E_CANCELLED, "cancelled while the device was busy");
            break;
        }
        case DFU_STATE_MANIFEST_WAIT_RESET:
            return omv_error_set(err, OMV_E_DEVICE,
                                 "device is in dfuMANIFEST-WAIT-RESET and accepts nothing until it is reset; "
                                 "replug it");
        case DFU_STATE_APP_IDLE:
        case DFU_STATE_APP_DETACH:
            return omv_error_set(err, OMV_E_DEVICE, "device is in %s (DFU run-time mode), not in its bootloader",
                                 dfu_state_name(st.state));
        default: /* dfuDNLOAD-SYNC, dfuDNLOAD-IDLE, dfuUPLOAD-IDLE, dfuMANIFEST-SYNC, unknown */
            host->log(host, OMV_LOG_INFO, "dfu: device is in %s on open; sending ABORT", dfu_state_name(st.state));
            r = dfu_req_abort(s->h, s->iface, tmo);
            if (r < 0)
                return dfu_session_fail(s, err, r, tmo, "ABORT while preparing the device");
            break;
        }
    }
    return omv_error_set(err, OMV_E_DEVICE, "device did not reach dfuIDLE while preparing it");
}

/* Read the 32-byte header at offset 0x1000 of the bootloader partition: UPLOAD
 * block 1 with wLength 32. Besides the version this "attaches" the session so
 * openmv_dfu stops its 1.5 s countdown. Problems other than a vanished device
 * only cost the version. */
static omv_status read_boot_header(struct dfu_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    const char *want = s->opt.bootloader_partition;
    if (!want[0])
        return OMV_OK;
    const struct omv_dev_partition *p = NULL;
    for (size_t i = 0; i < s->n_alts; i++)
        if (strcmp(s->alts[i].name, want) == 0)
            p = &s->alts[i];
    if (!p) {
        host->log(host, OMV_LOG_WARN, "dfu: bootloader_partition %s is not offered by the device; version unknown",
                  want);
        return OMV_OK;
    }
    omv_status st = dfu_session_set_alt(s, p->index, p->name, err);
    if (st != OMV_OK)
        return st;
    uint8_t hdr[DFU_BOOT_HEADER_LEN];
    const uint16_t block = (uint16_t)(DFU_BOOT_HEADER_OFFSET / s->opt.transfer_size);
    int r = dfu_req_upload(s->h, s->iface, block, hdr, sizeof hdr, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
        return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, "reading the bootloader header");
    if (r < 0) {
        host->log(host, OMV_LOG_WARN, "dfu: reading the bootloader header from %s failed (%s); version unknown",
                  want, dfu_usb_error_name(r));
        return dfu_session_to_idle(s, err);
    }
    if (dfu_parse_boot_header(hdr, (size_t)r, s->info.bootloader_version, sizeof s->info.bootloader_version))
        host->log(host, OMV_LOG_DEBUG, "dfu: bootloader version %s", s->info.bootloader_version);
    else
        host->log(host, OMV_LOG_DEBUG, "dfu: no bootloader header in %s (bootloader older than 1.0.1?)", want);
    r = dfu_req_abort(s->h, s->iface, s->opt.control_timeout_ms);
    if (r < 0)
        return dfu_session_fail(s, err, r, s->opt.control_timeout_ms, "ABORT after reading the bootloader header");
    return OMV_OK;
}

static void free_session(struct dfu_session *s)
{
    if (!s)
        return;
    if (s->h) {
        if (s->claimed)
            libusb_release_interface(s->h, s->iface);
        libusb_close(s->h);
    }
    if (s->ctx)
        libusb_exit(s->ctx);
    free(s->buf);
    free(s);
}

/*
 * Turn the one opened device into a session. On success *out owns ctx and the
 * handle. *vanished is set when the device left meanwhile (open() then keeps
 * polling); ownership of ctx/handle passes to the session in every case, and
 * the session is freed on failure.
 */
static omv_status prepare(const struct omv_host *host, const struct dfu_options *opt, libusb_context *ctx,
                          struct dfu_usb_found *f, struct dfu_session **out, int *vanished, omv_error *err)
{
    *vanished = 0;
    struct dfu_session *s = calloc(1, sizeof *s);
    if (!s) {
        libusb_close(f->h);
        libusb_unref_device(f->dev);
        libusb_exit(ctx);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    s->host = host;
    s->ctx = ctx;
    s->h = f->h;
    s->iface = f->iface;
    s->opt = *opt;
    s->info = f->info;
    f->h = NULL;

    struct dfu_layout layout;
    int r = dfu_usb_layout(f->dev, &layout);
    libusb_unref_device(f->dev);
    f->dev = NULL;
    omv_status st;
    if (r < 0) {
        st = dfu_session_fail(s, err, r, 0, "reading the configuration descriptor");
        goto fail;
    }
    s->func = layout.func;

    libusb_set_auto_detach_kernel_driver(s->h, 1); /* LIBUSB_ERROR_NOT_SUPPORTED off Linux: harmless */
    r = libusb_claim_interface(s->h, s->iface);
    if (r == LIBUSB_ERROR_BUSY) {
        /* usbfs lets one open file claim an interface: another program
         * (dfu-util, the OpenMV IDE, a second omvflashd) has the camera. */
        st = omv_error_set(err, OMV_E_BUSY,
                           "camera %04X:%04X at port %s is in use by another program (its DFU interface %u is "
                           "claimed: dfu-util, the OpenMV IDE or another omvflashd?); close it and try again",
                           s->info.vid, s->info.pid, s->info.port_path[0] ? s->info.port_path : "?", s->iface);
        goto fail;
    }
    if (r == LIBUSB_ERROR_ACCESS) {
        st = omv_error_set(err, OMV_E_ACCESS, "cannot claim DFU interface %u of %04X:%04X at %s: %s", s->iface,
                           s->info.vid, s->info.pid, s->info.port_path[0] ? s->info.port_path : "?", UDEV_HINT);
        goto fail;
    }
    if (r < 0) {
        st = dfu_session_fail(s, err, r, 0, "claiming the DFU interface");
        goto fail;
    }
    s->claimed = 1;

    for (size_t i = 0; i < layout.n_alts; i++) {
        struct omv_dev_partition *p = &s->alts[s->n_alts++];
        p->index = layout.alts[i].alt;
        r = dfu_usb_string(s->h, layout.alts[i].istring, p->name, sizeof p->name);
        if (r < 0) {
            st = dfu_session_fail(s, err, r, 0, "reading the alt setting names");
            goto fail;
        }
    }

    if (!s->func.present) {
        host->log(host, OMV_LOG_WARN, "dfu: device has no DFU functional descriptor; assuming transfer_size %u",
                  opt->transfer_size);
    } else if (s->func.transfer_size != opt->transfer_size) {
        st = omv_error_set(err, OMV_E_MISMATCH,
                           "device wTransferSize is %u but [dfu] transfer_size is %u: openmv_dfu computes the "
                           "address as start + block x %u, so blocks of another size would land at wrong "
                           "addresses; fix the board file",
                           s->func.transfer_size, opt->transfer_size, s->func.transfer_size);
        goto fail;
    }

    s->buf = malloc(opt->transfer_size);
    if (!s->buf) {
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
        goto fail;
    }
    st = dfu_session_to_idle(s, err);
    if (st == OMV_OK)
        st = read_boot_header(s, err);
    if (st != OMV_OK)
        goto fail;
    *out = s;
    return OMV_OK;

fail:
    *vanished = s->disconnected;
    free_session(s);
    return st;
}

/* A fresh libusb context (none is shared: no process-wide state) and one scan
 * of the bus for devices matching @p match; *ctx is the caller's to exit.
 * When sysfs shows no device with a matching VID:PID, no context is made:
 * *ctx stays NULL and *n is 0 (see dfu_sysfs.c for why that matters). */
static omv_status scan_fresh(const struct omv_match *match, struct dfu_usb_found *f, size_t *n, size_t *total,
                             int verify, libusb_context **ctx, omv_error *err)
{
    *ctx = NULL;
    *n = *total = 0;
    if (!dfu_sysfs_may_match(match))
        return OMV_OK;
    int r = libusb_init(ctx);
    if (r < 0)
        return omv_error_set(err, OMV_E_IO, "cannot initialise libusb: %s", dfu_usb_error_name(r));
    r = dfu_usb_scan(*ctx, match, f, DFU_USB_MAX_FOUND, n, total, verify);
    if (r < 0) {
        libusb_exit(*ctx);
        *ctx = NULL;
        return omv_error_set(err, OMV_E_IO, "cannot enumerate USB devices: %s", dfu_usb_error_name(r));
    }
    return OMV_OK;
}

omv_status dfu_op_list(const struct omv_host *host, const struct omv_match *match, omv_device_found_fn found,
                       void *user, omv_error *err)
{
    omv_status st = dfu_check_host(host, err);
    if (st != OMV_OK)
        return st;
    if (!match || !match->ids || match->n_ids == 0 || !found)
        return omv_error_set(err, OMV_E_USAGE, "dfu list: no USB ids to match");
    libusb_context *ctx = NULL;
    struct dfu_usb_found f[DFU_USB_MAX_FOUND];
    size_t n = 0, total = 0;
    st = scan_fresh(match, f, &n, &total, 0, &ctx, err);
    if (st != OMV_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (f[i].unverified) {
            host->log(host, OMV_LOG_WARN, "dfu: %04X:%04X at %s cannot be opened to read its serial (%s)",
                      f[i].info.vid, f[i].info.pid, f[i].info.port_path, dfu_usb_error_name(f[i].open_error));
            continue;
        }
        if (f[i].open_error)
            host->log(host, OMV_LOG_WARN, "dfu: %04X:%04X at port %s cannot be opened, so its serial is unknown: %s",
                      f[i].info.vid, f[i].info.pid, f[i].info.port_path,
                      f[i].open_error == LIBUSB_ERROR_ACCESS ? UDEV_HINT : dfu_usb_error_name(f[i].open_error));
        found(user, &f[i].info);
    }
    if (total > n)
        host->log(host, OMV_LOG_WARN, "dfu: %zu more matching devices not listed", total - n);
    dfu_usb_found_free(f, n);
    if (ctx)
        libusb_exit(ctx);
    return OMV_OK;
}

static void describe_match(const struct omv_match *m, char *out, size_t n)
{
    char ids[96];
    dfu_usb_format_ids(m, ids, sizeof ids);
    snprintf(out, n, "%s%s%s%s%s", ids, m->serial && m->serial[0] ? " serial " : "",
             m->serial && m->serial[0] ? m->serial : "", m->port_path && m->port_path[0] ? " at port " : "",
             m->port_path && m->port_path[0] ? m->port_path : "");
}

static omv_status multiple_error(omv_error *err, const struct omv_match *m, const struct dfu_usb_found *f,
                                 size_t n, size_t total)
{
    char ids[96], list[768];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof list; i++) {
        int w = snprintf(list + o, sizeof list - o, "%sserial %s at port %s", i ? ", " : "",
                         f[i].info.serial[0] ? f[i].info.serial : "(unknown)",
                         f[i].info.port_path[0] ? f[i].info.port_path : "?");
        if (w < 0)
            break;
        o += (size_t)w;
    }
    dfu_usb_format_ids(m, ids, sizeof ids);
    return omv_error_set(err, OMV_E_MULTIPLE, "%zu devices match %s: %s; choose one with --serial or --port",
                         total, ids, list);
}

omv_status dfu_op_open(const struct omv_host *host, const struct omv_match *match, uint32_t wait_ms,
                       void **session, struct omv_device_info *info, omv_error *err)
{
    omv_status st = dfu_check_host(host, err);
    if (st != OMV_OK)
        return st;
    if (!match || !match->ids || match->n_ids == 0 || !session)
        return omv_error_set(err, OMV_E_USAGE, "dfu open: no USB ids to match");
    *session = NULL;
    struct dfu_options opt;
    st = dfu_options_load(host, &opt, err);
    if (st != OMV_OK)
        return st;

    char what[192];
    describe_match(match, what, sizeof what);
    const uint64_t start = host->now_ms(host);
    uint64_t access_since = 0;
    int access_error = 0;
    char access_where[40] = "";
    for (unsigned attempt = 0;; attempt++) {
        if (host->cancelled(host))
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for %s", what);
        libusb_context *ctx = NULL;
        struct dfu_usb_found f[DFU_USB_MAX_FOUND];
        size_t n = 0, total = 0;
        omv_status sst = scan_fresh(match, f, &n, &total, 1, &ctx, err);
        if (sst != OMV_OK)
            return sst;
        size_t verified = 0;
        struct dfu_usb_found *pick = NULL, *blocked = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!f[i].unverified) {
                verified++;
                if (!pick)
                    pick = &f[i];
            }
            if (f[i].open_error && !blocked)
                blocked = &f[i];
        }
        if (verified > 1) {
            st = multiple_error(err, match, f, n, total);
            dfu_usb_found_free(f, n);
            libusb_exit(ctx);
            return st;
        }
        if (pick && pick->h) {
            host->log(host, OMV_LOG_DEBUG, "dfu: found %04X:%04X serial %s at %s after %u attempts", pick->info.vid,
                      pick->info.pid, pick->info.serial, pick->info.port_path, attempt + 1);
            struct dfu_session *s = NULL;
            int vanished = 0;
            struct dfu_usb_found one = *pick;
            pick->h = NULL;
            pick->dev = NULL;
            dfu_usb_found_free(f, n);
            st = prepare(host, &opt, ctx, &one, &s, &vanished, err); /* owns ctx from here */
            if (st == OMV_OK) {
                *session = s;
                if (info)
                    *info = s->info;
                host->log(host, OMV_LOG_DEBUG, "dfu: opened %04X:%04X serial %s at %s, %zu alt settings%s%s",
                          s->info.vid, s->info.pid, s->info.serial, s->info.port_path, s->n_alts,
                          s->info.bootloader_version[0] ? ", bootloader " : "", s->info.bootloader_version);
                return OMV_OK;
            }
            if (!vanished || host->now_ms(host) - start >= wait_ms)
                return st;
            host->log(host, OMV_LOG_DEBUG, "dfu: device left while being opened (%s); waiting again", err->msg);
            access_since = 0;
        } else {
            if (blocked && (blocked->unverified || pick == blocked)) {
                access_error = blocked->open_error;
                snprintf(access_where, sizeof access_where, "%s", blocked->info.port_path);
                if (!access_since)
                    access_since = host->now_ms(host);
            } else {
                access_since = 0;
            }
            dfu_usb_found_free(f, n);
            if (ctx)
                libusb_exit(ctx);
        }

        uint64_t now = host->now_ms(host);
        int expired = now - start >= wait_ms;
        if (access_since && (expired || now - access_since >= DFU_ACCESS_GRACE_MS)) {
            if (access_error == LIBUSB_ERROR_ACCESS)
                return omv_error_set(err, OMV_E_ACCESS, "cannot open %s at port %s: %s", what, access_where,
                                     UDEV_HINT);
            return omv_error_set(err, OMV_E_IO, "cannot open %s at port %s: %s", what, access_where,
                                 dfu_usb_error_name(access_error));
        }
        if (expired)
            return omv_error_set(err, OMV_E_NO_DEVICE, "no DFU device %s appeared within %u ms", what, wait_ms);
        uint64_t left = wait_ms - (now - start);
        uint32_t nap = opt.poll_ms < left ? opt.poll_ms : (uint32_t)left;
        if (host->sleep_ms(host, nap ? nap : 1) != OMV_OK)
            return omv_error_set(err, OMV_E_CANCELLED, "cancelled while waiting for %s", what);
    }
}

omv_status dfu_op_partitions(void *session, struct omv_dev_partition *out, size_t max, size_t *count,
                             omv_error *err)
{
    struct dfu_session *s = session;
    if (!s || !count || (max && !out))
        return omv_error_set(err, OMV_E_USAGE, "dfu partitions: bad arguments");
    for (size_t i = 0; i < s->n_alts && i < max; i++)
        out[i] = s->alts[i];
    *count = s->n_alts;
    return OMV_OK;
}

omv_status dfu_op_finish(void *session, int reset, omv_error *err)
{
    struct dfu_session *s = session;
    if (!s)
        return omv_error_set(err, OMV_E_USAGE, "dfu finish: no session");
    const struct omv_host *host = s->host;
    if (s->gone) {
        host->log(host, OMV_LOG_DEBUG, "dfu: device already left");
        return OMV_OK;
    }
    if (!reset) {
        if (s->claimed) {
            int r = libusb_release_interface(s->h, s->iface);
            s->claimed = 0;
            if (r < 0 && r != LIBUSB_ERROR_NO_DEVICE && r != LIBUSB_ERROR_NOT_FOUND)
                return dfu_session_fail(s, err, r, 0, "releasing the DFU interface");
        }
        return OMV_OK;
    }

    uint16_t wtimeout = (uint16_t)(s->opt.detach_timeout_ms ? s->opt.detach_timeout_ms
                                   : s->func.present      ? s->func.detach_timeout
                                                          : 1000);
    int r = dfu_req_detach(s->h, s->iface, wtimeout, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_IO) {
        /* openmv_dfu disconnects in DETACH's status stage: it left, as asked. */
        host->log(host, OMV_LOG_DEBUG, "dfu: device left on DETACH (%s): success", dfu_usb_error_name(r));
        s->gone = 1;
        return OMV_OK;
    }
    if (r < 0)
        host->log(host, OMV_LOG_DEBUG, "dfu: DETACH answered %s; resetting anyway", dfu_usb_error_name(r));
    /* Pre-1.0.2 bootloaders in forced mode only leave on a bus reset; the reset
     * also finishes devices without bitWillDetach. */
    r = libusb_reset_device(s->h);
    s->gone = 1;
    if (r == 0 || r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_IO) {
        host->log(host, OMV_LOG_DEBUG, "dfu: USB reset after DETACH: %s (device left: success)",
                  r ? dfu_usb_error_name(r) : "ok");
        return OMV_OK;
    }
    return omv_error_set(err, OMV_E_IO, "USB reset after DETACH failed: %s; replug the camera to start it",
                         dfu_usb_error_name(r));
}

void dfu_op_close(void *session)
{
    struct dfu_session *s = session;
    if (!s)
        return;
    if (s->gone)
        s->claimed = 0; /* nothing to release on a device that left */
    free_session(s);
}
