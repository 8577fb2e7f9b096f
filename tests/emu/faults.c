#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* DFU 1.1 status names, index = status code (docs/protocols.md §6.2). */
static const char *const status_names[] = {
    "OK", "errTARGET", "errFILE", "errWRITE", "errERASE", "errCHECK_ERASED", "errPROG",
    "errVERIFY", "errADDRESS", "errNOTDONE", "errFIRMWARE", "errVENDOR", "errUSBR", "errPOR",
    "errUNKNOWN", "errSTALLEDPKT",
};
static const char *const state_names[] = {
    "appIDLE", "appDETACH", "dfuIDLE", "dfuDNLOAD-SYNC", "dfuDNBUSY", "dfuDNLOAD-IDLE",
    "dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET", "dfuUPLOAD-IDLE", "dfuERROR",
};

const char *dfu_status_name(uint8_t s)
{
    return s < sizeof(status_names) / sizeof(*status_names) ? status_names[s] : "err?";
}

const char *dfu_state_name(uint8_t s)
{
    return s < sizeof(state_names) / sizeof(*state_names) ? state_names[s] : "state?";
}

static bool parse_uint(const char *s, unsigned *out)
{
    char *end = NULL;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > 0x7fffffffUL)
        return false;
    *out = (unsigned)v;
    return true;
}

/* KIND of --fault KIND@...: a DFU status name or one of the other kinds. */
static bool parse_kind(const char *kind, fault_t *f, const char *spec, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        fault_kind_t kind;
    } kinds[] = {{"stall", FAULT_STALL}, {"unplug", FAULT_UNPLUG}, {"busy", FAULT_BUSY},
                 {"stuck", FAULT_STUCK}, {"upload-short", FAULT_UPLOAD_SHORT}, {"bitflip", FAULT_BITFLIP}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
        if (strcmp(kind, kinds[k].name) == 0) {
            f->kind = kinds[k].kind;
            return true;
        }
    if (strncmp(kind, "slow=", 5) == 0) {
        f->kind = FAULT_SLOW;
        if (parse_uint(kind + 5, &f->slow_ms))
            return true;
        snprintf(err, errlen, "bad --fault '%s': slow=MS needs a number of ms", spec);
        return false;
    }
    f->kind = FAULT_STATUS;
    for (unsigned s = 1; s < sizeof(status_names) / sizeof(*status_names); s++)
        if (strcasecmp(kind, status_names[s]) == 0) {
            f->status = (uint8_t)s;
            return true;
        }
    snprintf(err, errlen,
             "bad --fault '%s': unknown kind '%s' (errTARGET..errSTALLEDPKT, stall, "
             "unplug, busy, slow=MS, stuck, upload-short, bitflip)",
             spec, kind);
    return false;
}

bool fault_parse(const char *spec, fault_t *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->alt = -1;
    f->remaining = 1;

    char buf[128];
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "fault spec too long: %s", spec);
        return false;
    }
    strcpy(buf, spec);

    char *at = strrchr(buf, '@');
    if (!at) {
        snprintf(err, errlen, "bad --fault '%s': expected KIND@PARTITION:BLOCK", spec);
        return false;
    }
    *at = '\0';
    char *kind = buf, *where = at + 1;

    /* Optional repeat count: "*N" (N shots) or "*" (every time). */
    char *star = strchr(where, '*');
    if (star) {
        *star = '\0';
        unsigned n;
        if (star[1] == '\0')
            f->remaining = -1;
        else if (parse_uint(star + 1, &n) && n > 0)
            f->remaining = (int)n;
        else {
            snprintf(err, errlen, "bad --fault '%s': repeat must be '*' or '*N' (N>0)", spec);
            return false;
        }
    }
    char *colon = strrchr(where, ':');
    if (!colon || colon == where || !parse_uint(colon + 1, &f->block)) {
        snprintf(err, errlen, "bad --fault '%s': expected PARTITION:BLOCK after '@'", spec);
        return false;
    }
    *colon = '\0';
    if (strlen(where) >= sizeof(f->part_name)) {
        snprintf(err, errlen, "bad --fault '%s': partition name too long", spec);
        return false;
    }
    strcpy(f->part_name, where);

    if (!parse_kind(kind, f, spec, err, errlen))
        return false;
    /* busy, stuck and unplug are permanent by nature. */
    if (f->kind == FAULT_BUSY || f->kind == FAULT_UNPLUG)
        f->remaining = 1;
    return true;
}

bool fault_resolve(fault_t *f, const camera_model_t *cam)
{
    f->alt = camera_model_find_partition(cam, f->part_name);
    return f->alt >= 0;
}

const fault_t *faults_take(fault_t *faults, size_t n, fault_kind_t kind, int alt, unsigned block)
{
    for (size_t i = 0; i < n; i++) {
        fault_t *f = &faults[i];
        if (f->kind != kind || f->alt != alt || f->block != block || f->remaining == 0)
            continue;
        if (f->remaining > 0)
            f->remaining--;
        return f;
    }
    return NULL;
}
