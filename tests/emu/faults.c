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

    if (strcmp(kind, "stall") == 0)
        f->kind = FAULT_STALL;
    else if (strcmp(kind, "unplug") == 0)
        f->kind = FAULT_UNPLUG;
    else if (strcmp(kind, "busy") == 0)
        f->kind = FAULT_BUSY;
    else if (strcmp(kind, "stuck") == 0)
        f->kind = FAULT_STUCK;
    else if (strcmp(kind, "upload-short") == 0)
        f->kind = FAULT_UPLOAD_SHORT;
    else if (strcmp(kind, "bitflip") == 0)
        f->kind = FAULT_BITFLIP;
    else if (strncmp(kind, "slow=", 5) == 0) {
        f->kind = FAULT_SLOW;
        if (!parse_uint(kind + 5, &f->slow_ms)) {
            snprintf(err, errlen, "bad --fault '%s': slow=MS needs a number of ms", spec);
            return false;
        }
    } else {
        f->kind = FAULT_STATUS;
        unsigned s;
        for (s = 1; s < sizeof(status_names) / sizeof(*status_names); s++)
            if (strcasecmp(kind, status_names[s]) == 0)
                break;
        if (s >= sizeof(status_names) / sizeof(*status_names)) {
            snprintf(err, errlen,
                     "bad --fault '%s': unknown kind '%s' (errTARGET..errSTALLEDPKT, stall, "
                     "unplug, busy, slow=MS, stuck, upload-short, bitflip)",
                     spec, kind);
            return false;
        }
        f->status = (uint8_t)s;
    }
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
