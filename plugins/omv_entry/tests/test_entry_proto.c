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

/* identify: FW_VERSION and ARCH_STR commands carry their reply length; the ARCH_STR reply splits in two. */
static void test_v1_identify(void **state)
{
    (void)state;
    uint8_t cmd[OMV_V1_CMD_LEN];
    static const uint8_t ver[] = {0x30, 0x80, 0x0C, 0, 0, 0}, arch[] = {0x30, 0x83, 0x40, 0, 0, 0};
    assert_int_equal(omv_v1_encode_len(cmd, OMV_V1_FW_VERSION, OMV_V1_FW_VERSION_LEN), 6);
    assert_memory_equal(cmd, ver, 6);
    omv_v1_encode_len(cmd, OMV_V1_ARCH_STR, OMV_V1_ARCH_STR_LEN);
    assert_memory_equal(cmd, arch, 6);
    uint8_t reply[64] = "OMV4 H7 1024 [H7:0123456789ABCDEF01234567]";
    char a[64], uid[32];
    assert_int_equal(omv_v1_parse_arch(reply, sizeof reply, a, sizeof a, uid, sizeof uid), 0);
    assert_string_equal(a, "OMV4 H7 1024");
    assert_string_equal(uid, "0123456789ABCDEF01234567");
    uint8_t bare[64] = "OMV2 F4 256 JPEG";
    assert_int_equal(omv_v1_parse_arch(bare, sizeof bare, a, sizeof a, uid, sizeof uid), 0);
    assert_string_equal(a, "OMV2 F4 256 JPEG");
    assert_string_equal(uid, "");
    uint8_t empty[64] = {0};
    assert_int_equal(omv_v1_parse_arch(empty, sizeof empty, a, sizeof a, uid, sizeof uid), -1);
}

/* identify: a v2 reply is found whole, with both CRCs right, after other packets and junk. */
static void test_v2_find_packet(void **state)
{
    (void)state;
    uint8_t buf[128], payload[16] = {1, 0, 2, 1, 0, 3, 5, 0, 0};
    size_t n = 0, total = 0;
    buf[n++] = 0x42; /* junk */
    n += omv_v2_encode(buf + n, 0, 0, OMV_V2_FLAG_ACK, OMV_V2_OP_SYNC, NULL, 0);
    size_t at = n;
    n += omv_v2_encode(buf + n, 0, 0, OMV_V2_FLAG_ACK_REQ, OMV_V2_OP_VERSION, payload, sizeof payload);
    struct omv_v2_header h;
    assert_int_equal(omv_v2_find_packet(buf, n, OMV_V2_OP_VERSION, &h, &total), (long)at);
    assert_int_equal(total, 10 + 16 + 4);
    assert_int_equal(h.flags, OMV_V2_FLAG_ACK_REQ);
    assert_int_equal(h.length, 16);
    /* not whole yet, or a payload CRC that does not match: not found */
    assert_int_equal(omv_v2_find_packet(buf, n - 1, OMV_V2_OP_VERSION, &h, &total), -1);
    buf[at + 12] ^= 1;
    assert_int_equal(omv_v2_find_packet(buf, n, OMV_V2_OP_VERSION, &h, &total), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16), cmocka_unit_test(test_crc32), cmocka_unit_test(test_v2_vectors),
        cmocka_unit_test(test_v2_payload), cmocka_unit_test(test_v1), cmocka_unit_test(test_sync_ack),
        cmocka_unit_test(test_v1_identify), cmocka_unit_test(test_v2_find_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
