/*
 * Unit tests of the app-mode protocol encoder (entry_proto.c) against the
 * vectors of docs/protocols.md §1.4, §1.5 and of the SYNC ACK parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "entry_proto.h"

static void test_crc16(void **state)
{
    (void)state;
    static const uint8_t sync_hdr[] = {0xAA, 0xD5, 0, 0, 0, 0, 0, 0};
    assert_int_equal(omv_crc16(sync_hdr, 8), 0xACB0);
    static const uint8_t boot_hdr[] = {0xAA, 0xD5, 0, 0, 0, 0x11, 0, 0};
    assert_int_equal(omv_crc16(boot_hdr, 8), 0x2FCF);
    assert_int_equal(omv_crc16(NULL, 0), 0xFFFF);
    /* check value of this parameter set ("123456789", computed independently) */
    assert_int_equal(omv_crc16((const uint8_t *)"123456789", 9), 0xE541);
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(omv_crc32(NULL, 0), 0xFFFFFFFFu);
    assert_int_equal(omv_crc32((const uint8_t *)"123456789", 9), 0x41B403D3u);
}

static void test_v2_vectors(void **state)
{
    (void)state;
    uint8_t b[32];
    static const uint8_t sync[] = {0xAA, 0xD5, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xB0, 0xAC};
    assert_int_equal(omv_v2_encode(b, 0, 0, 0, OMV_V2_OP_SYNC, NULL, 0), 10);
    assert_memory_equal(b, sync, 10);
    static const uint8_t boot[] = {0xAA, 0xD5, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0xCF, 0x2F};
    assert_int_equal(omv_v2_encode(b, 0, 0, 0, OMV_V2_OP_SYS_BOOT, NULL, 0), 10);
    assert_memory_equal(b, boot, 10);
}

static void test_v2_payload(void **state)
{
    (void)state;
    uint8_t b[32];
    static const uint8_t pl[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    size_t n = omv_v2_encode(b, 3, 1, 0x08, 0x20, pl, sizeof pl);
    assert_int_equal(n, 10 + 9 + 4);
    assert_int_equal(b[6], 9);
    assert_int_equal(b[7], 0);
    assert_memory_equal(b + 10, pl, 9);
    static const uint8_t crc[] = {0xD3, 0x03, 0xB4, 0x41}; /* 0x41B403D3 LE */
    assert_memory_equal(b + 19, crc, 4);
    struct omv_v2_header h;
    assert_int_equal(omv_v2_find_header(b, n, &h), 0);
    assert_int_equal(h.seq, 3);
    assert_int_equal(h.channel, 1);
    assert_int_equal(h.flags, 0x08);
    assert_int_equal(h.opcode, 0x20);
    assert_int_equal(h.length, 9);
}

static void test_v1(void **state)
{
    (void)state;
    uint8_t b[6];
    static const uint8_t reset[] = {0x30, 0x0C, 0, 0, 0, 0};
    static const uint8_t to_bl[] = {0x30, 0x0E, 0, 0, 0, 0};
    assert_int_equal(omv_v1_encode(b, OMV_V1_SYS_RESET), 6);
    assert_memory_equal(b, reset, 6);
    omv_v1_encode(b, OMV_V1_SYS_RESET_TO_BL);
    assert_memory_equal(b, to_bl, 6);
}

static void test_sync_ack(void **state)
{
    (void)state;
    uint8_t b[64];
    /* a plain ACK of SYNC */
    size_t n = omv_v2_encode(b, 0, 0, OMV_V2_FLAG_ACK, OMV_V2_OP_SYNC, NULL, 0);
    static const uint8_t ack[] = {0xAA, 0xD5, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x46};
    assert_memory_equal(b, ack, 10);
    assert_true(omv_v2_is_sync_ack(b, n));
    /* truncated */
    assert_false(omv_v2_is_sync_ack(b, 9));
    /* bad CRC */
    b[8] ^= 1;
    assert_false(omv_v2_is_sync_ack(b, n));
    /* NAK */
    n = omv_v2_encode(b, 0, 0, OMV_V2_FLAG_NAK, OMV_V2_OP_SYNC, NULL, 0);
    assert_false(omv_v2_is_sync_ack(b, n));
    /* ACK of another opcode */
    n = omv_v2_encode(b, 0, 0, OMV_V2_FLAG_ACK, OMV_V2_OP_SYS_RESET, NULL, 0);
    assert_false(omv_v2_is_sync_ack(b, n));
    /* junk (REPL text, a v1 echo) before the ACK; a false sync word too */
    memcpy(b, ">>> \xAA\xD5zz", 8);
    n = 8 + omv_v2_encode(b + 8, 0, 0, OMV_V2_FLAG_ACK, OMV_V2_OP_SYNC,
                          NULL, 0);
    assert_true(omv_v2_is_sync_ack(b, n));
    /* an event packet first, then the ACK */
    n = omv_v2_encode(b, 5, 0, 0x20, 0x13, (const uint8_t *)"ev", 2);
    n += omv_v2_encode(b + n, 0, 0, OMV_V2_FLAG_ACK, OMV_V2_OP_SYNC, NULL, 0);
    assert_true(omv_v2_is_sync_ack(b, n));
    /* nothing */
    assert_false(omv_v2_is_sync_ack(b, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16), cmocka_unit_test(test_crc32), cmocka_unit_test(test_v2_vectors),
        cmocka_unit_test(test_v2_payload), cmocka_unit_test(test_v1), cmocka_unit_test(test_sync_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
