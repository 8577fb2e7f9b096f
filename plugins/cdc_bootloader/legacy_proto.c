/*
 * Legacy OpenMV USB-CDC bootloader: pure protocol code (see legacy_proto.h).
 */
#include "legacy_proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void leg_put_u32(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
    out[3] = (uint8_t)(v >> 24);
}

uint32_t leg_get_u32(const uint8_t *in)
{
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}

size_t leg_encode_cmd(uint8_t *out, uint32_t code)
{
    leg_put_u32(out, code);
    return 4;
}

size_t leg_encode_erase(uint8_t *out, uint32_t code, uint32_t sector)
{
    leg_put_u32(out, code);
    leg_put_u32(out + 4, sector);
    return 8;
}

size_t leg_encode_fast_erase(uint8_t *out, uint32_t code, uint32_t sector, size_t packet_size)
{
    if (packet_size < 8 || packet_size > LEG_MAX_PACKET)
        return 0;
    leg_put_u32(out, code);
    leg_put_u32(out + 4, sector);
    memset(out + 8, 0, packet_size - 8);
    leg_put_u32(out + packet_size, LEG_CMD_FLASH_LAYOUT);
    return packet_size + 4;
}

size_t leg_encode_write(uint8_t *out, uint32_t code, const uint8_t *data, size_t len)
{
    leg_put_u32(out, code);
    if (len)
        memcpy(out + 4, data, len);
    size_t padded = (len + 3) & ~(size_t)3;
    memset(out + 4 + len, 0xFF, padded - len);
    return 4 + padded;
}

size_t leg_append_layout_query(uint8_t *out, size_t len)
{
    leg_put_u32(out + len, LEG_CMD_FLASH_LAYOUT);
    return len + 4;
}

size_t leg_chunk_size(enum leg_mode mode, size_t safe_chunk, size_t fast_chunk)
{
    return mode == LEG_MODE_FAST ? fast_chunk : safe_chunk;
}

uint64_t leg_packet_count(uint64_t image_size, size_t chunk)
{
    if (!chunk)
        return 0;
    return (image_size + chunk - 1) / chunk;
}

size_t leg_image_packet(uint8_t *out, uint32_t code, const uint8_t *image, uint64_t image_size, size_t chunk,
                        uint64_t index)
{
    if (!chunk || index >= leg_packet_count(image_size, chunk))
        return 0;
    uint64_t off = index * chunk;
    uint64_t left = image_size - off;
    size_t n = left < chunk ? (size_t)left : chunk;
    return leg_encode_write(out, code, image + off, n);
}

int leg_decode_version(const uint8_t *reply, size_t len)
{
    if (len < LEG_VERSION_REPLY)
        return 0;
    uint32_t v = leg_get_u32(reply);
    if (v >= 0xABCD0001u && v <= 0xABCD0003u)
        return (int)(v - 0xABCD0000u);
    return 0;
}

int leg_decode_flash_layout(const uint8_t *reply, size_t len, struct leg_flash_layout *out)
{
    if (len < LEG_LAYOUT_REPLY)
        return -1;
    out->fs_first = leg_get_u32(reply);
    out->fw_first = leg_get_u32(reply + 4);
    out->last = leg_get_u32(reply + 8);
    return 0;
}

int leg_decode_qspi_layout(const uint8_t *reply, size_t len, struct leg_qspi_layout *out)
{
    if (len < LEG_LAYOUT_REPLY)
        return -1;
    out->first = leg_get_u32(reply);
    out->last = leg_get_u32(reply + 4);
    out->block_size = leg_get_u32(reply + 8);
    return 0;
}

int leg_flash_layout_valid(const struct leg_flash_layout *l)
{
    int nonzero = l->fs_first || l->fw_first || l->last;
    return nonzero && l->fs_first <= 1023 && l->fw_first <= 1023 && l->last <= 1023;
}

static int parse_num(const char **p, uint32_t *out)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(*p, &end, 10);
    if (errno || v > 0xFFFFFFFFul)
        return -1;
    *p = end;
    while (isspace((unsigned char)**p))
        (*p)++;
    *out = (uint32_t)v;
    return 0;
}

int leg_parse_range(const char *text, struct leg_range *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    uint32_t a, b;
    if (parse_num(&p, &a) != 0)
        return -1;
    if (*p == '-') {
        p++;
        if (parse_num(&p, &b) != 0)
            return -1;
    } else {
        b = a;
    }
    if (*p || a > b)
        return -1;
    out->present = 1;
    out->first = a;
    out->last = b;
    return 0;
}

void leg_format_range(const struct leg_range *r, char *buf, size_t cap)
{
    if (!r->present)
        snprintf(buf, cap, "none");
    else
        snprintf(buf, cap, "%u-%u", (unsigned)r->first, (unsigned)r->last);
}

enum leg_mcu leg_parse_mcu(const char *text)
{
    static const struct {
        const char *name;
        enum leg_mcu mcu;
    } names[] = {{"stm32f4", LEG_MCU_F4}, {"stm32f7", LEG_MCU_F7}, {"stm32h7", LEG_MCU_H7}};
    if (!text)
        return LEG_MCU_NONE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t k = 0;
        while (names[i].name[k] && tolower((unsigned char)text[k]) == names[i].name[k])
            k++;
        if (!names[i].name[k] && !text[k])
            return names[i].mcu;
    }
    return LEG_MCU_NONE;
}

const char *leg_mcu_name(enum leg_mcu mcu)
{
    switch (mcu) {
    case LEG_MCU_F4: return "stm32f4";
    case LEG_MCU_F7: return "stm32f7";
    case LEG_MCU_H7: return "stm32h7";
    case LEG_MCU_NONE: break;
    }
    return "none";
}

uint32_t leg_sector_count(enum leg_mcu mcu)
{
    switch (mcu) {
    case LEG_MCU_F4:
    case LEG_MCU_F7: return 12;
    case LEG_MCU_H7: return 16;
    case LEG_MCU_NONE: break;
    }
    return 0;
}

/* docs/protocols.md §2.3 (sector maps; FW boot/src/ports/stm32/stm32_flash.c):
 * F4: 16K x4, 64K, 128K x7;  F7: 32K x4, 128K, 256K x7;  H7: 128K x16 (two banks of 8). */
uint32_t leg_sector_size(enum leg_mcu mcu, uint32_t sector)
{
    if (sector >= leg_sector_count(mcu))
        return 0;
    switch (mcu) {
    case LEG_MCU_F4: return sector < 4 ? 16u * 1024 : sector == 4 ? 64u * 1024 : 128u * 1024;
    case LEG_MCU_F7: return sector < 4 ? 32u * 1024 : sector == 4 ? 128u * 1024 : 256u * 1024;
    case LEG_MCU_H7: return 128u * 1024;
    case LEG_MCU_NONE: break;
    }
    return 0;
}

uint32_t leg_sector_offset(enum leg_mcu mcu, uint32_t sector)
{
    uint32_t off = 0;
    for (uint32_t s = 0; s < sector && s < leg_sector_count(mcu); s++)
        off += leg_sector_size(mcu, s);
    return off;
}

uint64_t leg_range_bytes(enum leg_mcu mcu, const struct leg_range *r)
{
    if (!r->present || r->last >= leg_sector_count(mcu))
        return 0;
    uint64_t total = 0;
    for (uint32_t s = r->first; s <= r->last; s++)
        total += leg_sector_size(mcu, s);
    return total;
}
