/*
 * omv_entry plugin internals shared by omv_entry_plugin.c (options, list,
 * enter) and entry_identify.c (identify): the options and the port helpers.
 */
#ifndef OMV_ENTRY_PLUGIN_H
#define OMV_ENTRY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <omvflash/plugin.h>

#include "omv_serial.h"

#define ENTRY_MAX_PORTS 16
#define ENTRY_MAX_EXCLUDE 8

enum entry_proto { PROTO_AUTO, PROTO_V1, PROTO_V2 };

/** The [omv_entry] options (the core checked their ranges and choices). */
struct entry_options {
    enum entry_proto protocol;
    uint32_t baud;
    int forced;
    uint32_t sync_timeout_ms, delay_ms, write_timeout_ms, reply_timeout_ms;
    char exclude[ENTRY_MAX_EXCLUDE][64];
    size_t n_exclude;
};

/** One camera in application mode, its port open at the options' baud rate. */
struct entry_port {
    const struct omv_host *host;
    const struct entry_options *o;
    struct sp_port *port;
    const char *name;
    struct omv_device_info info;
};

/** Load the options. @return OMV_OK, OMV_E_BOARD (exclude_serials too long). */
omv_status entry_options_load(const struct omv_host *host, struct entry_options *o, omv_error *err);

/**
 * The one camera matching @p match, its port opened (release it with
 * omv_serial_close(p->port)); @p ports holds the listing, which p->name points into.
 * @return OMV_OK; OMV_E_NO_DEVICE; OMV_E_MULTIPLE; what omv_serial_open() returns.
 */
omv_status entry_open_one(const struct omv_host *host, const struct entry_options *o, const struct omv_match *match,
                          struct omv_serial_port ports[ENTRY_MAX_PORTS], struct entry_port *p, omv_error *err);

/** Write @p len bytes as one command. @return OMV_OK, OMV_E_TIMEOUT, OMV_E_IO. */
omv_status entry_send(const struct entry_port *p, const uint8_t *buf, size_t len, const char *what, omv_error *err);

/** Protocol v2: SYNC and wait for its ACK. @return OMV_OK; OMV_E_TIMEOUT (no ACK: not a v2 camera); OMV_E_IO. */
omv_status entry_v2_sync(const struct entry_port *p, omv_error *err);

/* entry_identify.c */
omv_status entry_identify(void *pctx, const struct omv_host *host, const struct omv_match *match,
                          struct omv_app_info *out, omv_error *err);

#endif
