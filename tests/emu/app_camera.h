/* An OpenMV camera running its application: the USB debug protocol v1
 * (docs/protocols.md §1.4) or protocol v2 (§1.5), only as far as a flasher
 * needs it: tell its firmware version and identity, and reset into the
 * bootloader. */
#ifndef OMVEMU_APP_CAMERA_H
#define OMVEMU_APP_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APP_BAUD_SLOW 921600u
#define APP_BAUD_FAST 12000000u

typedef enum {
    APP_NONE,
    APP_RESET,          /* v1 0x0C, v2 SYS_RESET 0x10: plain reset (bootloader with window) */
    APP_RESET_TO_BL,    /* v1 0x0E, v2 SYS_BOOT 0x11: G2+ magic word -> forced bootloader */
} app_action_t;

typedef struct {
    uint64_t v1_commands, v1_resets, v1_ignored_repl, v1_version, v1_arch;
    uint64_t v2_packets, v2_syncs, v2_boots, v2_resets, v2_bad_crc, v2_bad_seq, v2_naks,
        v2_ignored_repl, v2_version, v2_sys_info, v2_acks;
} app_stats_t;

/* What the firmware says about itself (FW boards/<TARGET>/board_config.h,
 * common/usbdbg.c, protocol/omv_protocol.c at v4.8.1 / v5.0.0). */
typedef struct {
    const char *arch;        /* OMV_BOARD_ARCH, e.g. "OMV4 H7 1024" */
    const char *board_type;  /* OMV_BOARD_TYPE, e.g. "H7" */
    const char *uid;         /* the chip id as 24 hex digits (also the USB serial) */
    uint32_t fw_version[3];  /* major, minor, patch */
    uint8_t bl_version[3];   /* v2 VERSION: the bootloader header's version */
    uint16_t vid, pid;       /* v2 SYS_INFO usb_id: the application's USB id */
    uint32_t cpu_id;         /* v2 SYS_INFO cpu_id: the core's CPUID register */
} app_identity_t;

/* Per camera family ("h7", "ae3", ...): arch, board type and CPUID; NULL if unknown. */
typedef struct {
    const char *family, *arch, *board_type;
    uint32_t cpu_id;
} app_model_t;
const app_model_t *app_model_find(const char *family);

/* "4.8.1" -> {4, 8, 1}; false unless three numbers 0..255 separated by dots. */
bool app_parse_version(const char *s, uint32_t out[3]);

typedef struct {
    int proto;               /* 1 or 2 */
    char tag[24];
    bool verbose;
    char arch[64];           /* ARCH_STR reply text: "<arch> [<type>:<uid>]" */
    uint32_t fw_version[3];
    uint8_t bl_version[3];
    uint32_t usb_id, cpu_id, dev_id[3];
    /* v1 */
    uint32_t skip;           /* host->device data-phase bytes still to skip */
    /* v2 */
    uint8_t acc[4096 + 16];
    size_t acc_len;
    uint8_t seq;             /* device sequence counter */
    bool await_ack;          /* a reply with ACK_REQ is out: only its ACK/NAK or SYNC count */
    uint8_t ack_op, ack_seq;
    uint8_t last[128];       /* that reply, resent (flag RTX) on a NAK */
    size_t last_len;
    app_stats_t stats;
} app_cam_t;

typedef struct {
    uint8_t reply[256];
    size_t reply_len;
    app_action_t action;
} app_result_t;

void app_cam_init(app_cam_t *a, int proto, const char *tag, const app_identity_t *id, bool verbose);
/* The application (re)starts. */
void app_cam_boot(app_cam_t *a);
/* One USB OUT packet; baud and dtr are the port's current line state. */
app_result_t app_cam_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr);

/* Protocol v2 (app_proto_v2.c): app_cam_packet() for proto 2. */
app_result_t app_v2_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr);

/* Protocol v2 CRCs (docs/protocols.md §1.5): MSB-first, no reflection, no final XOR. */
uint16_t omv_crc16(const uint8_t *p, size_t n);
uint32_t omv_crc32(const uint8_t *p, size_t n);

#endif
