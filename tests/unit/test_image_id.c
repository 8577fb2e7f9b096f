/*
 * Image identity (image_id.c): SHA-256 against the FIPS 180-2 examples and
 * sha256sum, the arch-string scan at every chunking (the literal's NUL,
 * needles that are tails of others, matches across chunk boundaries), and
 * the second-pass check that what is written is what was checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image_id.h"
#include "test_util.h"

/* A source over memory that hands out at most @p chunk bytes per read. */
typedef struct msrc {
    struct omv_source src;
    const uint8_t *d;
    uint64_t pos;
    size_t chunk;
    uint64_t fail_at; /* reads fail once this many bytes were delivered (0 = never) */
} msrc;

static omv_status m_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    msrc *m = ctx;
    if (m->fail_at && m->pos >= m->fail_at)
        return omv_error_set(err, OMV_E_IMAGE, "read error at offset %llu", (unsigned long long)m->pos);
    uint64_t left = m->src.size - m->pos;
    size_t n = len < left ? len : (size_t)left;
    if (n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->d + m->pos, n);
    m->pos += n;
    *got = n;
    return OMV_OK;
}

static msrc mem_source(const void *d, uint64_t size, size_t chunk)
{
    msrc m = {{NULL, size, m_read, NULL}, d, 0, chunk, 0};
    return m;
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    omvi_image_id id;
    omv_error err = {0};
    msrc m = mem_source("abc", 3, 1);
    m.src.ctx = &m;
    assert_int_equal(omvi_image_identify(&m.src, NULL, NULL, &id, &err), OMV_OK);
    assert_int_equal(id.size, 3);
    assert_string_equal(id.sha256_hex,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    m = mem_source("", 0, 1);
    m.src.ctx = &m;
    assert_int_equal(omvi_image_identify(&m.src, NULL, NULL, &id, &err), OMV_OK);
    assert_string_equal(id.sha256_hex,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    m = mem_source(two, strlen(two), 7);
    m.src.ctx = &m;
    assert_int_equal(omvi_image_identify(&m.src, NULL, NULL, &id, &err), OMV_OK);
    assert_string_equal(id.sha256_hex,
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a's, read 64 KiB at a time */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    m = mem_source(a, 1000000, 1 << 20);
    m.src.ctx = &m;
    assert_int_equal(omvi_image_identify(&m.src, NULL, NULL, &id, &err), OMV_OK);
    assert_string_equal(id.sha256_hex,
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_int_equal(id.sha256[0], 0xcd);
    free(a);
}

static void test_identify_errors(void **state)
{
    (void)state;
    static uint8_t d[100000];
    omvi_image_id id;
    omv_error err = {0};
    msrc m = mem_source(d, sizeof d, 4096);
    m.src.ctx = &m;
    m.fail_at = 69632;
    assert_int_equal(omvi_image_identify(&m.src, "fw.zip:OPENMV4/firmware.bin", NULL, &id, &err),
                     OMV_E_IMAGE);
    assert_string_equal(err.msg, "fw.zip:OPENMV4/firmware.bin: read error at offset 69632");
    /* a source that claims more than it delivers */
    m = mem_source(d, sizeof d, 4096);
    m.src.ctx = &m;
    struct omv_source lying = m.src; /* m_read stops at m.src.size */
    lying.size = sizeof d + 10;
    assert_int_equal(omvi_image_identify(&lying, "x.bin", NULL, &id, &err), OMV_E_IMAGE);
    assert_string_equal(err.msg, "x.bin: ends after 100000 of its 100010 bytes");
}

/* ---- arch strings ---------------------------------------------------------- */

static const char *const ARCHES[] = {
    "OMV4 H7 1024",         /* OPENMV4 */
    "OMV4P H7 32768 SDRAM", /* OPENMV4P */
    "H7 1024",              /* a tail of the first */
    NULL,                   /* a board without an arch key keeps its place */
    "NICLAV H7 1024",       /* shares the tail too */
};
#define N_ARCHES (sizeof ARCHES / sizeof ARCHES[0])

/* Scan @p len bytes fed in pieces of @p piece; return the found mask. */
static unsigned scan_mask(const uint8_t *d, size_t len, size_t piece, uint64_t off[N_ARCHES])
{
    omvi_arch_scan s;
    omv_error err = {0};
    assert_int_equal(omvi_arch_scan_init(&s, ARCHES, N_ARCHES, &err), OMV_OK);
    for (size_t i = 0; i < len; i += piece)
        omvi_arch_scan_feed(&s, d + i, len - i < piece ? len - i : piece);
    unsigned mask = 0;
    for (size_t k = 0; k < N_ARCHES; k++)
        if (omvi_arch_scan_found(&s, k, off ? &off[k] : NULL))
            mask |= 1u << k;
    assert_int_equal(omvi_arch_scan_found(&s, N_ARCHES, NULL), 0);
    return mask;
}

/* Same answer for every way of cutting the stream. */
static unsigned scan_all_cuts(const uint8_t *d, size_t len, uint64_t off[N_ARCHES])
{
    unsigned want = scan_mask(d, len, len ? len : 1, off);
    for (size_t piece = 1; piece <= len; piece++) {
        uint64_t o[N_ARCHES] = {0};
        assert_int_equal(scan_mask(d, len, piece, o), want);
        for (size_t k = 0; k < N_ARCHES; k++)
            if (want & (1u << k))
                assert_int_equal(o[k], off[k]);
    }
    return want;
}

static void test_arch_literal_with_nul(void **state)
{
    (void)state;
    uint64_t off[N_ARCHES] = {0};
    /* an H7 Plus image: its literal, then other strings */
    static const char plus[] = "\x01\x02OMV4P H7 32768 SDRAM\0\0\0\0H7\0version 4.8.1\0";
    assert_int_equal(scan_all_cuts((const uint8_t *)plus, sizeof plus - 1, off), 1u << 1);
    assert_int_equal(off[1], 2);
    /* an H7 image: "OMV4 H7 1024" counts, its tail "H7 1024" does not */
    static const char h7[] = "\xff\xffOMV4 H7 1024\0\0\0\0";
    assert_int_equal(scan_all_cuts((const uint8_t *)h7, sizeof h7 - 1, off), 1u << 0);
    assert_int_equal(off[0], 2);
    /* ...unless "H7 1024" is a literal of its own somewhere else */
    static const char both[] = "OMV4 H7 1024\0...H7 1024\0";
    assert_int_equal(scan_all_cuts((const uint8_t *)both, sizeof both - 1, off), (1u << 0) | (1u << 2));
    assert_int_equal(off[0], 0);
    assert_int_equal(off[2], 16);
    /* a Nicla image does not count as an H7 one */
    static const char nicla[] = "NICLAV H7 1024\0";
    assert_int_equal(scan_all_cuts((const uint8_t *)nicla, sizeof nicla - 1, off), 1u << 4);
}

static void test_arch_without_nul(void **state)
{
    (void)state;
    uint64_t off[N_ARCHES] = {0};
    /* text that merely contains the words, or ends the stream without a NUL */
    static const char a[] = "OMV4 H7 1024 [H7:0123]\0OMV4 H7 10245\0OMV4 H7 1024";
    assert_int_equal(scan_all_cuts((const uint8_t *)a, sizeof a - 1, off), 0);
    /* the H7 Plus literal does not contain the H7 one */
    static const char b[] = "OMV4P H7 32768 SDRAM\0";
    assert_int_equal(scan_all_cuts((const uint8_t *)b, sizeof b - 1, off), 1u << 1);
    /* a NUL run and an empty stream */
    static const uint8_t zeros[200] = {0};
    assert_int_equal(scan_all_cuts(zeros, sizeof zeros, off), 0);
    assert_int_equal(scan_mask(zeros, 0, 1, off), 0);
}

static void test_arch_deep_in_stream(void **state)
{
    (void)state;
    /* 1 MiB of pattern with the literal straddling a 64 KiB boundary */
    size_t n = 1 << 20;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(0x21 + (i * 13) % 90); /* printable, never NUL */
    size_t at = 65536 - 5;
    memcpy(d + at, "OMV4 H7 1024", 12);
    d[at + 12] = 0;
    uint64_t off[N_ARCHES] = {0};
    static const size_t pieces[] = {1, 3, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        assert_int_equal(scan_mask(d, n, pieces[i], off), 1u << 0);
        assert_int_equal(off[0], at);
    }
    free(d);
}

static void test_arch_scan_init_errors(void **state)
{
    (void)state;
    omvi_arch_scan s;
    omv_error err = {0};
    const char *empty[] = {""};
    assert_int_equal(omvi_arch_scan_init(&s, empty, 1, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "arch string '' must be 1 to 63 bytes");
    char longer[80];
    memset(longer, 'A', 64);
    longer[64] = '\0';
    const char *l[] = {longer};
    assert_int_equal(omvi_arch_scan_init(&s, l, 1, &err), OMV_E_USAGE);
    longer[63] = '\0';
    assert_int_equal(omvi_arch_scan_init(&s, l, 1, &err), OMV_OK);
    const char *many[33] = {0};
    assert_int_equal(omvi_arch_scan_init(&s, many, 33, &err), OMV_E_USAGE);
    assert_string_equal(err.msg, "at most 32 arch strings per scan (33 given)");
    /* no needles: a scan that finds nothing */
    assert_int_equal(omvi_arch_scan_init(&s, NULL, 0, &err), OMV_OK);
    omvi_arch_scan_feed(&s, (const uint8_t *)"OMV4 H7 1024", 13);
    assert_int_equal(omvi_arch_scan_found(&s, 0, NULL), 0);
}

/* ---- the second pass --------------------------------------------------------- */

static void test_sha256_check_source(void **state)
{
    (void)state;
    static uint8_t d[50000];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)(i * 31);
    omvi_image_id id;
    omv_error err = {0};
    msrc m = mem_source(d, sizeof d, 4096);
    m.src.ctx = &m;
    assert_int_equal(omvi_image_identify(&m.src, NULL, NULL, &id, &err), OMV_OK);

    /* same bytes: every read passes, the last one included */
    m = mem_source(d, sizeof d, 4096);
    m.src.ctx = &m;
    omvi_sha256_check c;
    omvi_sha256_check_init(&c, &m.src, "fw.bin", id.sha256);
    assert_int_equal(c.src.size, sizeof d);
    uint8_t buf[4096];
    size_t got = 0;
    uint64_t done = 0;
    while (done < c.src.size) {
        assert_int_equal(c.src.read(c.src.ctx, buf, sizeof buf, &got, &err), OMV_OK);
        done += got;
    }
    assert_int_equal(c.src.read(c.src.ctx, buf, sizeof buf, &got, &err), OMV_OK);
    assert_int_equal(got, 0);

    /* one byte changed since the identity pass: the read that ends the image fails */
    d[40000] ^= 1;
    m = mem_source(d, sizeof d, 4096);
    m.src.ctx = &m;
    omvi_sha256_check_init(&c, &m.src, "fw.bin", id.sha256);
    done = 0;
    omv_status st = OMV_OK;
    while (st == OMV_OK && done < c.src.size) {
        st = c.src.read(c.src.ctx, buf, sizeof buf, &got, &err);
        if (st == OMV_OK)
            done += got;
    }
    assert_int_equal(st, OMV_E_IMAGE);
    assert_int_equal(done, 49152);
    char want[200];
    snprintf(want, sizeof want, "fw.bin: changed since it was checked (SHA-256 %.16s..., now ",
             id.sha256_hex);
    assert_memory_equal(err.msg, want, strlen(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),       cmocka_unit_test(test_identify_errors),
        cmocka_unit_test(test_arch_literal_with_nul), cmocka_unit_test(test_arch_without_nul),
        cmocka_unit_test(test_arch_deep_in_stream),  cmocka_unit_test(test_arch_scan_init_errors),
        cmocka_unit_test(test_sha256_check_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
