/*
 * The segments op: ST DfuSe ".dfu" files as container images. Each element
 * of the file goes to the board partition (`address`, `size`) that holds its
 * address range, at its own offset there; the core checks every segment
 * against the partition and writes each as its own step. The file is read
 * once, in order, its suffix CRC checked on the way (dfuse_file.h).
 *
 * The suffix's VID:PID names the device the file is for, and the core
 * refuses it for any other. One exception, documented in the README: the
 * OpenMV firmware build stamped 2341:035B (the Portenta's bootloader) into
 * the .dfu of every Arduino board, Nicla Vision and Giga included, so that
 * id is taken as "any Arduino bootloader" (2341:FFFF); the address check
 * against the board's partitions still applies.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dfuse_file.h"
#include "dfuse_session.h"

/* The suffix id OpenMV's build gave every Arduino board's .dfu. */
#define ARDUINO_VID 0x2341u
#define ARDUINO_PORTENTA_BL_PID 0x035Bu

/* A forward-only read of the core's source, the first bytes served again from @p head. */
struct stream {
    const struct omv_source *src;
    uint8_t head[DFUSE_PREFIX_LEN];
    size_t head_len, head_pos;
    omv_error *err;
    omv_status failed; /* what the source said when a read failed */
};

static int next_bytes(void *ctx, void *buf, size_t len)
{
    struct stream *st = ctx;
    uint8_t *out = buf;
    while (len && st->head_pos < st->head_len) {
        *out++ = st->head[st->head_pos++];
        len--;
    }
    while (len) {
        size_t got = 0;
        omv_status r = st->src->read(st->src->ctx, out, len, &got, st->err);
        if (r == OMV_OK && got == 0)
            r = omv_error_set(st->err, OMV_E_IMAGE, "the image ended early");
        if (r != OMV_OK) {
            st->failed = r;
            return -1;
        }
        out += got;
        len -= got;
    }
    return 0;
}

/* The board partition whose [address, address + size) holds the element; alt-matching ones first. */
static const struct omv_target *holder(const struct omv_host *host, const dfuse_element *e, uint64_t *offset)
{
    const struct omv_target *best = NULL;
    int best_alt = 0;
    for (size_t i = 0; i < host->partition_count(host); i++) {
        const struct omv_target *p = host->partition(host, i);
        uint64_t addr, alt = 0;
        if (!p || !host->partition_option_uint(host, p->name, "address", &addr))
            continue;
        host->partition_option_uint(host, p->name, "alt", &alt);
        if (e->address < addr || (uint64_t)e->address + e->size > addr + p->size)
            continue;
        if (!best || (!best_alt && alt == e->alt)) {
            best = p;
            best_alt = alt == e->alt;
            *offset = e->address - addr;
        }
    }
    return best;
}

static omv_status to_segments(const struct omv_host *host, const dfuse_file *f, struct omv_segment *out, size_t max,
                              size_t *count, omv_error *err)
{
    if (f->n_elements > max)
        return omv_error_set(err, OMV_E_UNSUPPORTED, "DfuSe file with %zu elements; at most %zu are supported",
                             f->n_elements, max);
    for (size_t i = 0; i < f->n_elements; i++) {
        const dfuse_element *e = &f->elements[i];
        uint64_t offset = 0;
        const struct omv_target *p = e->size ? holder(host, e, &offset) : NULL;
        if (!e->size)
            return omv_error_set(err, OMV_E_IMAGE, "DfuSe element %zu (alt %u, 0x%08" PRIX32 ") is empty", i + 1,
                                 e->alt, e->address);
        if (!p)
            return omv_error_set(err, OMV_E_IMAGE,
                                 "DfuSe element %zu (alt %u): 0x%08" PRIX32 "..0x%08" PRIX64
                                 " lies outside every partition of the board",
                                 i + 1, e->alt, e->address, (uint64_t)e->address + e->size);
        struct omv_segment *g = &out[i];
        snprintf(g->partition, sizeof g->partition, "%s", p->name);
        g->offset = offset;
        g->image_offset = e->offset;
        g->length = e->size;
    }
    *count = f->n_elements;
    return OMV_OK;
}

omv_status dfuse_op_segments(void *pctx, const struct omv_host *host, const struct omv_source *image,
                             struct omv_segment *out, size_t max, size_t *count, struct omv_usb_id *device,
                             omv_error *err)
{
    (void)pctx;
    if (!host || !image || !count || !device)
        return omv_error_set(err, OMV_E_USAGE, "dfuse segments: bad arguments");
    *count = 0;
    struct stream st = {.src = image, .err = err};
    if (image->size < DFUSE_PREFIX_LEN + DFU_SUFFIX_LEN)
        return OMV_OK;
    if (next_bytes(&st, st.head, sizeof st.head) != 0)
        return st.failed;
    if (memcmp(st.head, "DfuSe", 5) != 0)
        return OMV_OK; /* not a DfuSe file: a plain image */
    st.head_len = sizeof st.head;
    dfuse_file f;
    char why[256];
    if (dfuse_file_parse_stream(next_bytes, &st, image->size, &f, why, sizeof why) != 0) {
        if (st.failed != OMV_OK)
            return st.failed;
        return omv_error_set(err, OMV_E_IMAGE, "DfuSe file: %s", why);
    }
    omv_status r = to_segments(host, &f, out, max, count, err);
    if (r == OMV_OK) {
        device->vid = f.suffix.vendor;
        device->pid = f.suffix.product;
        if (device->vid == ARDUINO_VID && device->pid == ARDUINO_PORTENTA_BL_PID)
            device->pid = DFU_SUFFIX_WILDCARD;
        host->log(host, OMV_LOG_DEBUG, "dfuse: DfuSe file, %zu elements, for %04X:%04X", f.n_elements,
                  f.suffix.vendor, f.suffix.product);
    } else {
        *count = 0;
    }
    dfuse_file_free(&f);
    return r;
}
