#include "app_camera.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legacy_camera.h" /* legacy_log */

#define LOG(a, ...) legacy_log((a)->tag, (a)->verbose, __VA_ARGS__)

uint16_t omv_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0xF94F) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint32_t omv_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x80000000u) ? (crc << 1) ^ 0xFA567D89u : crc << 1;
    }
    return crc;
}

/* OMV_BOARD_ARCH and OMV_BOARD_TYPE per camera: FW boards/<TARGET>/board_config.h
 * (omv_boardconfig.h before v5.0.0), the same at v4.5.9, v4.8.1 and v5.0.0.
 * cpu_id: ARM's CPUID layout with the core's part number (C24 Cortex-M4,
 * C27 Cortex-M7, D22 Cortex-M55); variant and revision are not modelled. */
static const app_model_t app_models[] = {
    {"m4", "OMV2 F4 256 JPEG", "M4", 0x410FC240u},
    {"m7", "OMV3 F7 512", "M7", 0x410FC270u},
    {"h7", "OMV4 H7 1024", "H7", 0x410FC270u},
    {"h7plus", "OMV4P H7 32768 SDRAM", "H7", 0x410FC270u},
    {"pt", "OPENMVPT 65536 SDRAM", "H7", 0x410FC270u},
    {"n6", "OpenMV N6", "N6", 0x410FD220u},
    {"ae3", "OPENMV AE3", "AE3", 0x410FD220u},
};

const app_model_t *app_model_find(const char *family)
{
    for (size_t i = 0; i < sizeof(app_models) / sizeof(app_models[0]); i++)
        if (!strcmp(app_models[i].family, family))
            return &app_models[i];
    return NULL;
}

bool app_parse_version(const char *s, uint32_t out[3])
{
    unsigned v[3];
    char tail;
    if (sscanf(s, "%u.%u.%u%c", &v[0], &v[1], &v[2], &tail) != 3)
        return false;
    for (int i = 0; i < 3; i++) {
        if (v[i] > 255) /* protocol v2 carries each part in one byte */
            return false;
        out[i] = v[i];
    }
    return true;
}

/* The UID words as the firmware orders them (high word first): the 24 hex
 * digits of the ARCH_STR reply and the USB serial, 8 per word. */
static void parse_uid(const char *uid, uint32_t out[3])
{
    for (int i = 0; i < 3; i++) {
        char w[9] = "";
        if (strlen(uid) >= (size_t)(8 * (i + 1)))
            memcpy(w, uid + 8 * i, 8);
        out[i] = (uint32_t)strtoul(w, NULL, 16);
    }
}

void app_cam_init(app_cam_t *a, int proto, const char *tag, const app_identity_t *id, bool verbose)
{
    memset(a, 0, sizeof(*a));
    a->proto = proto;
    snprintf(a->tag, sizeof(a->tag), "%s", tag);
    a->verbose = verbose;
    memcpy(a->fw_version, id->fw_version, sizeof(a->fw_version));
    memcpy(a->bl_version, id->bl_version, sizeof(a->bl_version));
    a->usb_id = (uint32_t)id->vid << 16 | id->pid;
    a->cpu_id = id->cpu_id;
    parse_uid(id->uid, a->dev_id);
    /* FW v4.8.1 common/usbdbg.c: snprintf(buffer, 64, "%s [%s:%08X%08X%08X]", arch, type,
     * uid words): cut to 63 characters like the firmware's 64-byte buffer */
    char full[96];
    snprintf(full, sizeof(full), "%.33s [%.9s:%08X%08X%08X]", id->arch, id->board_type,
             a->dev_id[0], a->dev_id[1], a->dev_id[2]);
    snprintf(a->arch, sizeof(a->arch), "%.63s", full);
    app_cam_boot(a);
}

void app_cam_boot(app_cam_t *a)
{
    a->skip = 0;
    a->acc_len = 0;
    a->seq = 0;
    a->await_ack = false;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- v1: header at the start of an OUT packet ------------------------------ */

static app_result_t v1_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud)
{
    app_result_t r = {0};
    if (a->skip) {
        size_t n = len < a->skip ? len : a->skip;
        a->skip -= (uint32_t)n;
        return r;
    }
    if (len < 6 || pkt[0] != 0x30)
        return r; /* REPL input / not a debug command */
    uint8_t op = pkt[1];
    uint32_t xlen = (uint32_t)pkt[2] | (uint32_t)pkt[3] << 8 | (uint32_t)pkt[4] << 16 |
                    (uint32_t)pkt[5] << 24;
    if (baud != APP_BAUD_SLOW && baud != APP_BAUD_FAST) {
        a->stats.v1_ignored_repl++;
        LOG(a, "app v1: 30 %02X ignored: the port is at %u baud, so it is the REPL (debug "
               "protocol needs 921600 or 12000000)", op, baud);
        return r;
    }
    a->stats.v1_commands++;
    switch (op) {
    case 0x0C:
    case 0x0E:
        a->stats.v1_resets++;
        r.action = op == 0x0C ? APP_RESET : APP_RESET_TO_BL;
        LOG(a, "app v1: %s", op == 0x0C ? "SYS_RESET (0x0C)" : "SYS_RESET_TO_BL (0x0E)");
        break;
    case 0x80:
        a->stats.v1_version++;
        for (int i = 0; i < 3; i++)
            put32(r.reply + 4 * i, a->fw_version[i]);
        r.reply_len = 12;
        LOG(a, "app v1: FW_VERSION -> %u.%u.%u", a->fw_version[0], a->fw_version[1],
            a->fw_version[2]);
        break;
    case 0x83:
        a->stats.v1_arch++;
        memset(r.reply, 0, 64);
        memcpy(r.reply, a->arch, strlen(a->arch));
        r.reply_len = 64;
        LOG(a, "app v1: ARCH_STR -> \"%s\"", a->arch);
        break;
    default:
        if (op & 0x80) {
            /* Other device->host commands: answer zeros of the asked length so a
             * host is not left waiting (the real firmware has real data). */
            r.reply_len = xlen < sizeof(r.reply) ? xlen : sizeof(r.reply);
            LOG(a, "app v1: opcode 0x%02X -> %zu zero bytes", op, r.reply_len);
        } else {
            /* Host->device data phase follows the header. */
            size_t inl = len - 6;
            a->skip = xlen > inl ? xlen - (uint32_t)inl : 0;
            LOG(a, "app v1: opcode 0x%02X (%u data bytes) ignored", op, xlen);
        }
        break;
    }
    return r;
}

app_result_t app_cam_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr)
{
    return a->proto == 2 ? app_v2_packet(a, pkt, len, baud, dtr) : v1_packet(a, pkt, len, baud);
}
