/*
 * Legacy OpenMV USB-CDC bootloader ("internal" bootloader of firmware <= v4.5.9):
 * pure protocol code. No I/O, no allocation, no global state: command
 * encoding, packetising an image into WRITE packets per mode, reply and
 * layout decoding, sector-range parsing and the STM32 sector maps.
 *
 * Wire facts (docs/protocols.md §2.1-2.3: the legacy bootloader's
 * usbd_cdc_interface.c in the OpenMV firmware's history, and the OpenMV IDE): every USB OUT packet is exactly
 * one command: a uint32 LE command code, then that command's payload (the
 * rest of the packet). There is no length field and no address: WRITE data
 * is appended at a write pointer that START resets to the application start.
 */
#ifndef OMV_LEGACY_PROTO_H
#define OMV_LEGACY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define LEG_CMD_START 0xABCD0001u
#define LEG_CMD_RESET 0xABCD0002u
#define LEG_CMD_ERASE 0xABCD0004u
#define LEG_CMD_WRITE 0xABCD0008u
#define LEG_CMD_FLASH_LAYOUT 0xABCD0010u
#define LEG_CMD_QSPI_ERASE 0xABCD1004u
#define LEG_CMD_QSPI_WRITE 0xABCD1008u
#define LEG_CMD_QSPI_LAYOUT 0xABCD1010u
#define LEG_CMD_QSPI_MEMTEST 0xABCD1020u

/** Bytes of a START reply (bootloader version) and of a layout reply. */
#define LEG_VERSION_REPLY 4u
#define LEG_LAYOUT_REPLY 12u

/** Largest packet the protocol knows (high-speed build). */
#define LEG_MAX_PACKET 512u

/** Safe mode never fills a packet; fast mode does (and uses barriers). */
enum leg_mode { LEG_MODE_SAFE = 0, LEG_MODE_FAST = 1 };

/** MCU families with a legacy bootloader (their sector maps differ). */
enum leg_mcu { LEG_MCU_NONE = 0, LEG_MCU_F4, LEG_MCU_F7, LEG_MCU_H7 };

/** An inclusive range of sectors (or QSPI blocks); empty when !present. */
struct leg_range {
    int present;
    uint32_t first;
    uint32_t last;
};

/** FLASH_LAYOUT reply: {fs_first, fw_first, last}. */
struct leg_flash_layout {
    uint32_t fs_first;
    uint32_t fw_first;
    uint32_t last;
};

/** QSPIF_LAYOUT reply: {first_block, last_block, block_size}; all zero = no QSPI. */
struct leg_qspi_layout {
    uint32_t first;
    uint32_t last;
    uint32_t block_size;
};

void leg_put_u32(uint8_t *out, uint32_t v);
uint32_t leg_get_u32(const uint8_t *in);

/** A command without payload (START, RESET, FLASH_LAYOUT, QSPIF_LAYOUT): 4 bytes. */
size_t leg_encode_cmd(uint8_t *out, uint32_t code);

/** ERASE or QSPIF_ERASE of one sector/block: 8 bytes. */
size_t leg_encode_erase(uint8_t *out, uint32_t code, uint32_t sector);

/**
 * Fast-mode erase (§2.7): code + sector + zero padding up to @p packet_size,
 * then a FLASH_LAYOUT code, all in ONE write of packet_size + 4 bytes (68 on
 * a full-speed device). The USB stack cuts it into a full packet (the erase;
 * padding ignored by the device) and a 4-byte packet (the layout query whose
 * 12-byte reply only comes once the erase finished: a barrier).
 * @p out must hold packet_size + 4 bytes. Returns 0 when packet_size < 8 or
 * > LEG_MAX_PACKET.
 */
size_t leg_encode_fast_erase(uint8_t *out, uint32_t code, uint32_t sector, size_t packet_size);

/**
 * One WRITE (or QSPIF_WRITE) packet: code + @p len data bytes, padded with
 * 0xFF to a multiple of 4. @p out must hold 4 + len + 3 bytes.
 * Returns the packet length.
 */
size_t leg_encode_write(uint8_t *out, uint32_t code, const uint8_t *data, size_t len);

/**
 * Append a FLASH_LAYOUT code after a packet of @p len bytes already in @p out
 * (the ZLP workaround: a max-size write never ends a transfer).
 * Returns the new length.
 */
size_t leg_append_layout_query(uint8_t *out, size_t len);

/** Bytes of image data per WRITE packet for @p mode. */
size_t leg_chunk_size(enum leg_mode mode, size_t safe_chunk, size_t fast_chunk);

/** Number of WRITE packets needed for @p image_size bytes in chunks of @p chunk. */
uint64_t leg_packet_count(uint64_t image_size, size_t chunk);

/**
 * Packet @p index of an image held in @p image (@p image_size bytes), cut into
 * chunks of @p chunk bytes: encodes it into @p out (4 + chunk + 3 bytes) and
 * returns its length; 0 when @p index is past the end.
 */
size_t leg_image_packet(uint8_t *out, uint32_t code, const uint8_t *image, uint64_t image_size, size_t chunk,
                        uint64_t index);

/** Bootloader version 1..3 from a START reply (0xABCD0001..3), 0 if it is not one. */
int leg_decode_version(const uint8_t *reply, size_t len);

/** Decode a 12-byte FLASH_LAYOUT reply. Returns 0, or -1 if @p len < 12. */
int leg_decode_flash_layout(const uint8_t *reply, size_t len, struct leg_flash_layout *out);

/** Decode a 12-byte QSPIF_LAYOUT reply. Returns 0, or -1 if @p len < 12. */
int leg_decode_qspi_layout(const uint8_t *reply, size_t len, struct leg_qspi_layout *out);

/** The IDE's plausibility rule for a layout: some value non-zero and all <= 1023. */
int leg_flash_layout_valid(const struct leg_flash_layout *l);

/**
 * Parse "FIRST-LAST" (or a single "N"); "" (or only blanks) is an empty range.
 * Returns 0, or -1 when malformed or FIRST > LAST.
 */
int leg_parse_range(const char *text, struct leg_range *out);

/** Format a range as "2-15" (or "none"). */
void leg_format_range(const struct leg_range *r, char *buf, size_t cap);

/** MCU from "stm32f4" / "stm32f7" / "stm32h7" (case-insensitive), LEG_MCU_NONE otherwise. */
enum leg_mcu leg_parse_mcu(const char *text);
const char *leg_mcu_name(enum leg_mcu mcu);

/** Number of internal-flash sectors of the MCU's map (F4/F7: 12, H7: 16). */
uint32_t leg_sector_count(enum leg_mcu mcu);

/** Size in bytes of sector @p sector of @p mcu, 0 if it does not exist. */
uint32_t leg_sector_size(enum leg_mcu mcu, uint32_t sector);

/** Offset of sector @p sector from the start of flash (0x08000000). */
uint32_t leg_sector_offset(enum leg_mcu mcu, uint32_t sector);

/** Total bytes of the sectors of @p r, 0 when empty or out of the map. */
uint64_t leg_range_bytes(enum leg_mcu mcu, const struct leg_range *r);

#endif /* OMV_LEGACY_PROTO_H */
