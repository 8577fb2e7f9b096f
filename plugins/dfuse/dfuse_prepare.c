/*
 * Preparing a claimed DfuSe device: the alt settings and the memory layouts
 * their interface strings state (ST UM0424), the transfer size, dfuIDLE, the
 * command list (UPLOAD block 0), and which board partitions (`address`,
 * `alt`) the device's memory holds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_requests.h"
#include "dfu_usb.h"
#include "dfuse_session.h"

/* Read every alt setting's interface string and parse its memory layout. */
static omv_status read_alts(struct dfuse_session *s, const struct dfu_layout *layout, omv_error *err)
{
    const struct omv_host *host = s->host;
    for (size_t i = 0; i < layout->n_alts; i++) {
        struct dfuse_alt *a = &s->alts[s->n_alts++];
        a->alt = layout->alts[i].alt;
        int r = dfu_usb_string(s->h, layout->alts[i].istring, a->text, sizeof a->text);
        if (r < 0)
            return dfuse_usb_fail(s, err, r, 0, "reading the alt setting names");
        char why[192];
        a->has_layout = dfuse_layout_parse(a->text, &a->layout, why, sizeof why) == 0;
        if (!a->has_layout)
            host->log(host, OMV_LOG_DEBUG, "dfuse: alt %u (\"%s\") has no memory layout: %s", a->alt, a->text, why);
    }
    return OMV_OK;
}

static omv_status pick_transfer_size(struct dfuse_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    if (s->func.present && s->func.bcd_dfu && s->func.bcd_dfu != 0x011A)
        host->log(host, OMV_LOG_WARN, "dfuse: device reports bcdDFU %04X, not DfuSe's 011A", s->func.bcd_dfu);
    if (!s->func.present || !s->func.transfer_size) {
        s->xfer = s->opt.transfer_size ? s->opt.transfer_size : 2048;
        host->log(host, OMV_LOG_WARN, "dfuse: device states no wTransferSize; using %u-byte blocks", s->xfer);
    } else if (s->opt.transfer_size && s->opt.transfer_size != s->func.transfer_size) {
        /* Data block n lands at pointer + (n - 2) x wTransferSize: other sizes land elsewhere. */
        return omv_error_set(err, OMV_E_MISMATCH,
                             "device wTransferSize is %u but [dfuse] transfer_size is %u: DfuSe places block n at "
                             "pointer + (n - 2) x %u, so blocks of another size would land at wrong addresses; fix "
                             "the board file",
                             s->func.transfer_size, s->opt.transfer_size, s->func.transfer_size);
    } else {
        s->xfer = s->func.transfer_size;
    }
    s->buf = malloc(s->xfer);
    return s->buf ? OMV_OK : omv_error_set(err, OMV_E_NOMEM, "out of memory");
}

/* UPLOAD block 0 lists the commands the bootloader knows (ROM: 00 21 41 92; Arduino: 00 21 41). */
static omv_status read_commands(struct dfuse_session *s, omv_error *err)
{
    int r = dfu_req_upload(s->h, s->iface, 0, s->commands, sizeof s->commands, s->opt.control_timeout_ms);
    if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
        return dfuse_usb_fail(s, err, r, s->opt.control_timeout_ms, "reading the command list");
    if (r < 0) {
        s->host->log(s->host, OMV_LOG_DEBUG, "dfuse: no command list (%s)", dfu_usb_error_name(r));
        return dfuse_to_idle(s, err);
    }
    s->n_commands = (size_t)r;
    return dfuse_abort(s, "reading the command list", err);
}

const dfuse_layout *dfuse_alt_layout(const struct dfuse_session *s, unsigned alt)
{
    for (size_t i = 0; i < s->n_alts; i++)
        if (s->alts[i].alt == alt)
            return s->alts[i].has_layout ? &s->alts[i].layout : NULL;
    return NULL;
}

/* Board partition @p p as the device holds it, or 0 (with a debug line) when it does not. */
static int map_partition(struct dfuse_session *s, const struct omv_target *p, struct dfuse_part *out)
{
    const struct omv_host *host = s->host;
    uint64_t addr = 0, alt = 0, pad = 0;
    if (!host->partition_option_uint(host, p->name, "address", &addr))
        return 0;
    host->partition_option_uint(host, p->name, "alt", &alt);
    host->partition_option_uint(host, p->name, "pad_to", &pad);
    const dfuse_layout *l = dfuse_alt_layout(s, (unsigned)alt);
    char why[192];
    if (!l) {
        host->log(host, OMV_LOG_DEBUG, "dfuse: partition %s: the device has no alt %u with a memory layout",
                  p->name, (unsigned)alt);
        return 0;
    }
    if (dfuse_layout_check(l, (uint32_t)addr, p->size, 0, why, sizeof why) < 0) {
        host->log(host, OMV_LOG_DEBUG, "dfuse: partition %s (0x%08" PRIX64 ", %" PRIu64 " bytes): %s", p->name, addr,
                  p->size, why);
        return 0;
    }
    snprintf(out->name, sizeof out->name, "%s", p->name);
    out->address = (uint32_t)addr;
    out->alt = (unsigned)alt;
    out->size = p->size;
    out->pad_to = (uint32_t)pad;
    return 1;
}

static omv_status map_partitions(struct dfuse_session *s, omv_error *err)
{
    const struct omv_host *host = s->host;
    size_t n = host->partition_count(host);
    s->parts = calloc(n ? n : 1, sizeof *s->parts);
    if (!s->parts)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct omv_target *p = host->partition(host, i);
        if (p && map_partition(s, p, &s->parts[s->n_parts]))
            s->n_parts++;
    }
    return OMV_OK;
}

const struct dfuse_part *dfuse_find_part(const struct dfuse_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_parts; i++)
        if (strcmp(s->parts[i].name, name) == 0)
            return &s->parts[i];
    return NULL;
}

/*
 * READ_UNPROTECT (0x92), only when the user asked for it and confirmed: the
 * ROM mass-erases the flash, removes read protection and resets; with BOOT0
 * still set it comes back as the ROM, which the core's wait opens again
 * (the command is sent once per load of the plugin).
 */
static omv_status read_unprotect(struct dfuse_session *s, omv_error *err)
{
    if (!s->opt.read_unprotect || atomic_load(&s->pl->unprotected))
        return OMV_OK;
    if (!dfuse_has_command(s, DFUSE_CMD_READ_UNPROTECT))
        return omv_error_set(err, OMV_E_UNSUPPORTED, "read_unprotect: this bootloader does not list command 0x92");
    omv_status st = s->host->confirm(s->host, "read unprotect: the chip erases its whole flash and removes its "
                                              "read protection");
    if (st != OMV_OK)
        return st;
    atomic_store(&s->pl->unprotected, 1);
    const uint8_t cmd[1] = {DFUSE_CMD_READ_UNPROTECT};
    st = dfuse_dnload_wait(s, 0, cmd, sizeof cmd, s->opt.mass_erase_timeout_ms, "read unprotect", UINT64_MAX, err);
    if (st != OMV_OK && !s->disconnected)
        return st;
    s->gone = 1;
    return omv_error_set(err, OMV_E_NO_DEVICE, "read protection removed; the chip resets");
}

omv_status dfuse_session_prepare(struct dfuse_session *s, const struct dfu_layout *layout, omv_error *err)
{
    s->func = layout->func;
    omv_status st = read_alts(s, layout, err);
    if (st == OMV_OK)
        st = pick_transfer_size(s, err);
    if (st == OMV_OK)
        st = dfuse_to_idle(s, err);
    if (st == OMV_OK)
        st = read_commands(s, err);
    if (st == OMV_OK)
        st = read_unprotect(s, err);
    if (st == OMV_OK)
        st = map_partitions(s, err);
    return st;
}

void dfuse_session_free(struct dfuse_session *s)
{
    if (!s)
        return;
    if (s->h) {
        if (s->claimed && !s->gone)
            libusb_release_interface(s->h, s->iface);
        libusb_close(s->h);
    }
    free(s->parts);
    free(s->buf);
    free(s);
}
