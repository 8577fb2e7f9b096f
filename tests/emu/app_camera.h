/* An OpenMV camera running its application: the USB debug protocol v1
 * (docs/protocols.md §1.4) or protocol v2 (§1.5), only as far as a flasher needs it:
 * answer enough to be recognised, and reset into the bootloader. */
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
    uint64_t v1_commands, v1_resets, v1_ignored_repl;
    uint64_t v2_packets, v2_syncs, v2_boots, v2_resets, v2_bad_crc, v2_bad_seq, v2_naks,
        v2_ignored_repl;
} app_stats_t;

typedef struct {
    int proto;               /* 1 or 2 */
    char tag[24];
    bool verbose;
    char arch[64];           /* ARCH_STR reply */
    uint32_t fw_version[3];
    /* v1 */
    uint32_t skip;           /* host->device data-phase bytes still to skip */
    /* v2 */
    uint8_t acc[4096 + 16];
    size_t acc_len;
    uint8_t seq;             /* device sequence counter */
    app_stats_t stats;
} app_cam_t;

typedef struct {
    uint8_t reply[256];
    size_t reply_len;
    app_action_t action;
} app_result_t;

void app_cam_init(app_cam_t *a, int proto, const char *tag, const char *arch_prefix,
                  const char *uid, bool verbose);
/* The application (re)starts. */
void app_cam_boot(app_cam_t *a);
/* One USB OUT packet; baud and dtr are the port's current line state. */
app_result_t app_cam_packet(app_cam_t *a, const uint8_t *pkt, size_t len, uint32_t baud, bool dtr);

/* Protocol v2 CRCs (docs/protocols.md §1.5): MSB-first, no reflection, no final XOR. */
uint16_t omv_crc16(const uint8_t *p, size_t n);
uint32_t omv_crc32(const uint8_t *p, size_t n);

#endif
