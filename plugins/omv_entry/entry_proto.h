/*
 * OpenMV application-mode protocols, just enough to reboot a camera into its
 * bootloader, and to ask who it is (docs/protocols.md §1.4, §1.5). Pure: no
 * I/O, no global state.
 */
#ifndef OMV_ENTRY_PROTO_H
#define OMV_ENTRY_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Debug protocol v1 (firmware < v5.0.0): 6-byte header 0x30, opcode, uint32 LE length. */
#define OMV_V1_SYS_RESET 0x0Cu
#define OMV_V1_SYS_RESET_TO_BL 0x0Eu
#define OMV_V1_FW_VERSION 0x80u    /* 12-byte reply: major, minor, patch (uint32 LE) */
#define OMV_V1_ARCH_STR 0x83u      /* 64-byte reply: "OMV4 H7 1024 [H7:<24 hex digits>]", NUL-terminated */
#define OMV_V1_FW_VERSION_LEN 12u
#define OMV_V1_ARCH_STR_LEN 64u
#define OMV_V1_CMD_LEN 6u

/* Protocol v2 (v5.0.0+). */
#define OMV_V2_SYNC_WORD 0xD5AAu
#define OMV_V2_HEADER_LEN 10u
#define OMV_V2_FLAG_ACK 0x01u
#define OMV_V2_FLAG_NAK 0x02u
#define OMV_V2_FLAG_ACK_REQ 0x08u
#define OMV_V2_OP_SYNC 0x00u
#define OMV_V2_OP_VERSION 0x04u   /* 16-byte reply: protocol, bootloader, firmware versions (3 bytes each) */
#define OMV_V2_OP_SYS_INFO 0x12u  /* reply: cpu_id, dev_id[3], usb_id (VID << 16 | PID), ... (uint32 LE) */
#define OMV_V2_OP_SYS_RESET 0x10u
#define OMV_V2_OP_SYS_BOOT 0x11u

/** CRC16: poly 0xF94F, init 0xFFFF, MSB-first, no final xor. */
uint16_t omv_crc16(const uint8_t *data, size_t len);

/** CRC32: poly 0xFA567D89, init 0xFFFFFFFF, MSB-first, no final xor. */
uint32_t omv_crc32(const uint8_t *data, size_t len);

/** The 6-byte v1 command `30 OP 00 00 00 00`. Returns 6. */
size_t omv_v1_encode(uint8_t *out, uint8_t opcode);
/** The 6-byte v1 command with a data phase of @p length bytes: `30 OP <length LE32>`. Returns 6. */
size_t omv_v1_encode_len(uint8_t *out, uint8_t opcode, uint32_t length);

/**
 * Split an ARCH_STR reply ("OMV4 H7 1024 [H7:0123456789ABCDEF01234567]",
 * NUL-terminated within @p len bytes) into the arch string before " [" and
 * the hex digits after ':' up to ']' (the chip's unique id; "" when absent).
 * @return 0, or -1 when the reply holds no printable text.
 */
int omv_v1_parse_arch(const uint8_t *reply, size_t len, char *arch, size_t arch_len, char *uid, size_t uid_len);

/**
 * A v2 packet: header (sync, seq, channel, flags, opcode, length, CRC16 of the
 * first 8 bytes) and, when @p len > 0, the payload and its CRC32 (all LE).
 * @p out must hold 10 + len + 4 bytes. Returns the packet length.
 */
size_t omv_v2_encode(uint8_t *out, uint8_t seq, uint8_t channel, uint8_t flags, uint8_t opcode, const uint8_t *payload,
                     uint16_t len);

/** One decoded v2 header. */
struct omv_v2_header {
    uint8_t seq, channel, flags, opcode;
    uint16_t length;
};

/**
 * Look for a valid v2 header (sync word + correct CRC16) in @p buf. Returns its
 * offset and fills @p out, or -1 when none is complete. Bytes before a sync
 * word, or a sync word with a bad CRC, are skipped.
 */
long omv_v2_find_header(const uint8_t *buf, size_t len, struct omv_v2_header *out);

/** Non-zero if @p buf holds a valid ACK (not NAK) of PROTO_SYNC. */
int omv_v2_is_sync_ack(const uint8_t *buf, size_t len);

/**
 * Look for a complete packet with opcode @p opcode (valid header CRC16 and,
 * with a payload, valid CRC32) in @p buf: its offset, its header in @p out
 * and its whole length in *total; -1 when none is complete yet.
 */
long omv_v2_find_packet(const uint8_t *buf, size_t len, uint8_t opcode, struct omv_v2_header *out, size_t *total);

#endif /* OMV_ENTRY_PROTO_H */
