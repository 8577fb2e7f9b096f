/* --fault for DfuSe cameras: faults are armed by address, not by partition and
 * block, because DfuSe hosts choose addresses:
 *     KIND@[write:|erase:|read:]0xADDR[*N|*]
 * `write:` (the default) fires on the data DNLOAD whose bytes contain ADDR,
 * `erase:` on the page/mass erase of the sector containing ADDR, `read:` on the
 * UPLOAD containing ADDR (upload-short only). KIND and the repeat count have
 * the grammar of faults.c, which parses them. */
#include "dfuse_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ops[] = {"write:", "erase:", "read:"};

bool dfuse_fault_syntax(const char *spec)
{
    const char *at = strrchr(spec, '@');
    if (!at)
        return false;
    at++;
    if (!strncmp(at, "0x", 2) || !strncmp(at, "0X", 2))
        return true;
    for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
        if (!strncmp(at, ops[i], strlen(ops[i])))
            return true;
    return false;
}

bool dfuse_fault_parse(const char *spec, fault_t *f, char *err, size_t errlen)
{
    char buf[128], op[8] = "write";
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "fault spec too long: %s", spec);
        return false;
    }
    strcpy(buf, spec);
    char *at = strrchr(buf, '@');
    if (!at) {
        snprintf(err, errlen, "bad --fault '%s': expected KIND@0xADDR", spec);
        return false;
    }
    *at = '\0';
    char *where = at + 1, *star = strchr(where, '*');
    if (star)
        *star++ = '\0';
    for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
        if (!strncmp(where, ops[i], strlen(ops[i]))) {
            snprintf(op, sizeof(op), "%.*s", (int)strlen(ops[i]) - 1, ops[i]);
            where += strlen(ops[i]);
        }
    char *end = NULL;
    unsigned long long addr = strtoull(where, &end, 16);
    if (strncmp(where, "0x", 2) && strncmp(where, "0X", 2))
        end = where;
    if (end == where || *end || addr > 0xFFFFFFFFull) {
        snprintf(err, errlen, "bad --fault '%s': expected a hex address like 0x08040000 after '@'",
                 spec);
        return false;
    }
    /* KIND and repeat count: faults.c's grammar, reused as is. */
    char inner[160];
    snprintf(inner, sizeof(inner), "%s@x:0%s%s", buf, star ? "*" : "", star ? star : "");
    char inner_err[256];
    if (!fault_parse(inner, f, inner_err, sizeof(inner_err))) {
        snprintf(err, errlen,
                 "bad --fault '%s': KIND must be a DFU status name (errTARGET..errSTALLEDPKT), "
                 "stall, unplug, busy, slow=MS, stuck or upload-short, and a repeat '*' or '*N'",
                 spec);
        return false;
    }
    bool read = !strcmp(op, "read");
    if (read != (f->kind == FAULT_UPLOAD_SHORT)) {
        snprintf(err, errlen, "bad --fault '%s': upload-short goes with read:ADDR, and read: "
                              "takes only upload-short", spec);
        return false;
    }
    f->alt = DFUSE_FAULT_ALT;
    snprintf(f->part_name, sizeof(f->part_name), "%s", op);
    f->block = (unsigned)addr;
    return true;
}

const fault_t *dfuse_fault_take(dfu_device_t *d, fault_kind_t kind, const char *op,
                                uint32_t addr, uint32_t len)
{
    for (size_t i = 0; i < d->nfaults; i++) {
        fault_t *f = &d->faults[i];
        if (f->alt != DFUSE_FAULT_ALT || f->kind != kind || f->remaining == 0 ||
            strcmp(f->part_name, op) != 0)
            continue;
        if (f->block < addr || (uint64_t)f->block >= (uint64_t)addr + (len ? len : 1))
            continue;
        if (f->remaining > 0)
            f->remaining--;
        return f;
    }
    return NULL;
}
