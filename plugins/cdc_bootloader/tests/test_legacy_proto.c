/*
 * Unit tests of the legacy CDC bootloader encoder/decoder (legacy_proto.c):
 * exact bytes, chunk sizes per mode, 0xFF padding, packet sizes, fast erase,
 * layouts, sector ranges and the STM32 sector maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "legacy_proto.h"

static void test_simple_commands(void **state)
{
    (void)state;
    uint8_t b[8];
    assert_int_equal(leg_encode_cmd(b, LEG_CMD_START), 4);
    static const uint8_t start[] = {0x01, 0x00, 0xCD, 0xAB};
    assert_memory_equal(b, start, 4);
    leg_encode_cmd(b, LEG_CMD_RESET);
    static const uint8_t reset[] = {0x02, 0x00, 0xCD, 0xAB};
    assert_memory_equal(b, reset, 4);
    leg_encode_cmd(b, LEG_CMD_FLASH_LAYOUT);
    static const uint8_t layout[] = {0x10, 0x00, 0xCD, 0xAB};
    assert_memory_equal(b, layout, 4);
    leg_encode_cmd(b, LEG_CMD_QSPI_LAYOUT);
    static const uint8_t qlayout[] = {0x10, 0x10, 0xCD, 0xAB};
    assert_memory_equal(b, qlayout, 4);
}

static void test_erase(void **state)
{
    (void)state;
    uint8_t b[8];
    assert_int_equal(leg_encode_erase(b, LEG_CMD_ERASE, 7), 8);
    static const uint8_t e7[] = {0x04, 0x00, 0xCD, 0xAB, 0x07, 0x00, 0x00, 0x00};
    assert_memory_equal(b, e7, 8);
    leg_encode_erase(b, LEG_CMD_QSPI_ERASE, 0x1FF);
    static const uint8_t q[] = {0x04, 0x10, 0xCD, 0xAB, 0xFF, 0x01, 0x00, 0x00};
    assert_memory_equal(b, q, 8);
}

static void test_fast_erase_is_68_bytes(void **state)
{
    (void)state;
    uint8_t b[LEG_MAX_PACKET + 4];
    memset(b, 0xEE, sizeof b);
    size_t n = leg_encode_fast_erase(b, LEG_CMD_ERASE, 5, 64);
    assert_int_equal(n, 68);
    static const uint8_t head[] = {0x04, 0x00, 0xCD, 0xAB, 0x05, 0x00, 0x00, 0x00};
    assert_memory_equal(b, head, 8);
    for (size_t i = 8; i < 64; i++)
        assert_int_equal(b[i], 0);
    /* the second USB packet: exactly one FLASH_LAYOUT command */
    static const uint8_t tail[] = {0x10, 0x00, 0xCD, 0xAB};
    assert_memory_equal(b + 64, tail, 4);
    assert_int_equal(b[68], 0xEE);
    /* high-speed: 512 + 4 */
    assert_int_equal(leg_encode_fast_erase(b, LEG_CMD_ERASE, 5, 512), 516);
    assert_memory_equal(b + 512, tail, 4);
    assert_int_equal(leg_encode_fast_erase(b, LEG_CMD_ERASE, 5, 4), 0);
}

static void test_write_padding(void **state)
{
    (void)state;
    uint8_t data[64], b[80];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i + 1);
    /* full safe chunk: 4 + 56 = 60 */
    assert_int_equal(leg_encode_write(b, LEG_CMD_WRITE, data, 56), 60);
    static const uint8_t w[] = {0x08, 0x00, 0xCD, 0xAB};
    assert_memory_equal(b, w, 4);
    assert_memory_equal(b + 4, data, 56);
    /* 5 bytes -> padded to 8 with 0xFF */
    memset(b, 0, sizeof b);
    assert_int_equal(leg_encode_write(b, LEG_CMD_WRITE, data, 5), 12);
    assert_memory_equal(b + 4, data, 5);
    assert_int_equal(b[9], 0xFF);
    assert_int_equal(b[10], 0xFF);
    assert_int_equal(b[11], 0xFF);
    /* already a multiple of 4: no padding */
    assert_int_equal(leg_encode_write(b, LEG_CMD_WRITE, data, 8), 12);
    /* QSPI write code */
    leg_encode_write(b, LEG_CMD_QSPI_WRITE, data, 4);
    static const uint8_t qw[] = {0x08, 0x10, 0xCD, 0xAB, 1, 2, 3, 4};
    assert_memory_equal(b, qw, 8);
}

/* Cut an image of every size 1..300 into packets: content, padding, sizes. */
static void check_image(size_t size, enum leg_mode mode)
{
    uint8_t img[300], pkt[80], back[400];
    for (size_t i = 0; i < size; i++)
        img[i] = (uint8_t)(i * 7 + 3);
    size_t chunk = leg_chunk_size(mode, 56, 60);
    assert_int_equal(chunk, mode == LEG_MODE_SAFE ? 56 : 60);
    uint64_t count = leg_packet_count(size, chunk);
    assert_int_equal(count, (size + chunk - 1) / chunk);
    size_t off = 0;
    for (uint64_t i = 0; i < count; i++) {
        size_t n = leg_image_packet(pkt, LEG_CMD_WRITE, img, size, chunk, i);
        assert_true(n >= 8 && n % 4 == 0);
        if (mode == LEG_MODE_SAFE)
            assert_true(n <= 60); /* never a full 64-byte packet in safe mode */
        else
            assert_true(n <= 64);
        if (i + 1 < count)
            assert_int_equal(n, 4 + chunk);
        assert_int_equal(leg_get_u32(pkt), LEG_CMD_WRITE);
        memcpy(back + off, pkt + 4, n - 4);
        off += n - 4;
    }
    assert_int_equal(leg_image_packet(pkt, LEG_CMD_WRITE, img, size, chunk, count), 0);
    /* the stream is the image then 0xFF up to a multiple of 4 */
    assert_int_equal(off, (size + 3) & ~(size_t)3);
    assert_memory_equal(back, img, size);
    for (size_t i = size; i < off; i++)
        assert_int_equal(back[i], 0xFF);
}

static void test_image_packets(void **state)
{
    (void)state;
    for (size_t size = 1; size <= 300; size++) {
        check_image(size, LEG_MODE_SAFE);
        check_image(size, LEG_MODE_FAST);
    }
}

static void test_fast_write_is_full_packet(void **state)
{
    (void)state;
    uint8_t img[120], pkt[80];
    memset(img, 0xA5, sizeof img);
    assert_int_equal(leg_image_packet(pkt, LEG_CMD_WRITE, img, sizeof img, 60, 0), 64);
    assert_int_equal(leg_image_packet(pkt, LEG_CMD_WRITE, img, sizeof img, 56, 0), 60);
    /* zlp workaround: 64 + FLASH_LAYOUT = 68 */
    size_t n = leg_image_packet(pkt, LEG_CMD_WRITE, img, sizeof img, 60, 0);
    assert_int_equal(leg_append_layout_query(pkt, n), 68);
    assert_int_equal(leg_get_u32(pkt + 64), LEG_CMD_FLASH_LAYOUT);
}

static void test_version(void **state)
{
    (void)state;
    uint8_t r[4];
    leg_put_u32(r, 0xABCD0001);
    assert_int_equal(leg_decode_version(r, 4), 1);
    leg_put_u32(r, 0xABCD0002);
    assert_int_equal(leg_decode_version(r, 4), 2);
    leg_put_u32(r, 0xABCD0003);
    assert_int_equal(leg_decode_version(r, 4), 3);
    leg_put_u32(r, 0xABCD0004);
    assert_int_equal(leg_decode_version(r, 4), 0);
    leg_put_u32(r, 0xABCD0000);
    assert_int_equal(leg_decode_version(r, 4), 0);
    assert_int_equal(leg_decode_version(r, 3), 0);
}

static void test_layouts(void **state)
{
    (void)state;
    static const uint8_t h7[] = {1, 0, 0, 0, 2, 0, 0, 0, 15, 0, 0, 0};
    struct leg_flash_layout l;
    assert_int_equal(leg_decode_flash_layout(h7, 12, &l), 0);
    assert_int_equal(l.fs_first, 1);
    assert_int_equal(l.fw_first, 2);
    assert_int_equal(l.last, 15);
    assert_true(leg_flash_layout_valid(&l));
    assert_int_equal(leg_decode_flash_layout(h7, 11, &l), -1);
    struct leg_flash_layout zero = {0, 0, 0}, big = {1, 4, 1024};
    assert_false(leg_flash_layout_valid(&zero));
    assert_false(leg_flash_layout_valid(&big));
    static const uint8_t q[] = {0, 0, 0, 0, 0xFF, 0x01, 0, 0, 0x00, 0x00, 0x01, 0x00};
    struct leg_qspi_layout ql;
    assert_int_equal(leg_decode_qspi_layout(q, 12, &ql), 0);
    assert_int_equal(ql.first, 0);
    assert_int_equal(ql.last, 511);
    assert_int_equal(ql.block_size, 65536);
}

static void test_ranges(void **state)
{
    (void)state;
    struct leg_range r;
    assert_int_equal(leg_parse_range("2-15", &r), 0);
    assert_true(r.present);
    assert_int_equal(r.first, 2);
    assert_int_equal(r.last, 15);
    assert_int_equal(leg_parse_range(" 4 - 11 ", &r), 0);
    assert_int_equal(r.first, 4);
    assert_int_equal(r.last, 11);
    assert_int_equal(leg_parse_range("1", &r), 0);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 1);
    assert_int_equal(leg_parse_range("", &r), 0);
    assert_false(r.present);
    assert_int_equal(leg_parse_range("   ", &r), 0);
    assert_false(r.present);
    assert_int_equal(leg_parse_range("15-2", &r), -1);
    assert_int_equal(leg_parse_range("2-", &r), -1);
    assert_int_equal(leg_parse_range("a-b", &r), -1);
    assert_int_equal(leg_parse_range("2-15x", &r), -1);
    assert_int_equal(leg_parse_range("-3", &r), -1);
    char buf[16];
    leg_parse_range("0-511", &r);
    leg_format_range(&r, buf, sizeof buf);
    assert_string_equal(buf, "0-511");
}

static void test_sector_maps(void **state)
{
    (void)state;
    struct leg_range r;
    assert_int_equal(leg_parse_mcu("stm32h7"), LEG_MCU_H7);
    assert_int_equal(leg_parse_mcu("STM32F4"), LEG_MCU_F4);
    assert_int_equal(leg_parse_mcu("stm32f7"), LEG_MCU_F7);
    assert_int_equal(leg_parse_mcu("stm32"), LEG_MCU_NONE);
    assert_int_equal(leg_parse_mcu(""), LEG_MCU_NONE);
    /* H7: 2-15 = 14 x 128 KB */
    leg_parse_range("2-15", &r);
    assert_int_equal(leg_range_bytes(LEG_MCU_H7, &r), 14u * 128 * 1024);
    assert_int_equal(leg_sector_offset(LEG_MCU_H7, 2), 0x40000);
    /* M4 (F427): sector 4 = 64 KB at 0x10000, 5-11 = 128 KB */
    leg_parse_range("4-11", &r);
    assert_int_equal(leg_range_bytes(LEG_MCU_F4, &r), 64u * 1024 + 7u * 128 * 1024);
    assert_int_equal(leg_sector_offset(LEG_MCU_F4, 4), 0x10000);
    assert_int_equal(leg_sector_size(LEG_MCU_F4, 1), 16 * 1024);
    /* M7 (F765): sector 4 = 128 KB at 0x20000, 5-11 = 256 KB */
    assert_int_equal(leg_range_bytes(LEG_MCU_F7, &r), 128u * 1024 + 7u * 256 * 1024);
    assert_int_equal(leg_sector_offset(LEG_MCU_F7, 4), 0x20000);
    assert_int_equal(leg_sector_size(LEG_MCU_F7, 3), 32 * 1024);
    /* filesystem sectors 1-3 on the M4/M7, 1-1 on the H7 */
    leg_parse_range("1-3", &r);
    assert_int_equal(leg_range_bytes(LEG_MCU_F4, &r), 48u * 1024);
    assert_int_equal(leg_range_bytes(LEG_MCU_F7, &r), 96u * 1024);
    /* out of the map */
    leg_parse_range("4-12", &r);
    assert_int_equal(leg_range_bytes(LEG_MCU_F7, &r), 0);
    assert_int_equal(leg_sector_size(LEG_MCU_H7, 16), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_commands),  cmocka_unit_test(test_erase),
        cmocka_unit_test(test_fast_erase_is_68_bytes), cmocka_unit_test(test_write_padding),
        cmocka_unit_test(test_image_packets),    cmocka_unit_test(test_fast_write_is_full_packet),
        cmocka_unit_test(test_version),          cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_ranges),           cmocka_unit_test(test_sector_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
