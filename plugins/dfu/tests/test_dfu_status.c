/* cmocka unit tests of the pure DFU decoding in dfu_status.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_status.h"

/* AE3 openmv_dfu configuration descriptor as TinyUSB's TUD_DFU_DESCRIPTOR lays
 * it out (docs/protocols.md §3.1): configuration, interface 0 with alts 0..7 (class
 * FE/01/02, iInterface 4+k), then the functional descriptor after the last alt
 * (bmAttributes 0x07, wDetachTimeOut 1000, wTransferSize 4096, bcdDFU 0x0101). */
static const uint8_t ae3_config[] = {
    0x09, 0x02, 0x5A, 0x00, 0x01, 0x01, 0x00, 0x80, 0xFA,
    0x09, 0x04, 0x00, 0x00, 0x00, 0xFE, 0x01, 0x02, 0x04,
    0x09, 0x04, 0x00, 0x01, 0x00, 0xFE, 0x01, 0x02, 0x05,
    0x09, 0x04, 0x00, 0x02, 0x00, 0xFE, 0x01, 0x02, 0x06,
    0x09, 0x04, 0x00, 0x03, 0x00, 0xFE, 0x01, 0x02, 0x07,
    0x09, 0x04, 0x00, 0x04, 0x00, 0xFE, 0x01, 0x02, 0x08,
    0x09, 0x04, 0x00, 0x05, 0x00, 0xFE, 0x01, 0x02, 0x09,
    0x09, 0x04, 0x00, 0x06, 0x00, 0xFE, 0x01, 0x02, 0x0A,
    0x09, 0x04, 0x00, 0x07, 0x00, 0xFE, 0x01, 0x02, 0x0B,
    0x09, 0x21, 0x07, 0xE8, 0x03, 0x00, 0x10, 0x01, 0x01,
};

/* String descriptors 4..11 of the AE3 bootloader: the partition names. */
static const uint8_t s_boot[] = {0x0A, 0x03, 'B', 0, 'O', 0, 'O', 0, 'T', 0};
static const uint8_t s_hp[] = {0x06, 0x03, 'H', 0, 'P', 0};
static const uint8_t s_he[] = {0x06, 0x03, 'H', 0, 'E', 0};
static const uint8_t s_romfs1[] = {0x0E, 0x03, 'R', 0, 'O', 0, 'M', 0, 'F', 0, 'S', 0, '1', 0};
static const uint8_t s_toc[] = {0x08, 0x03, 'T', 0, 'O', 0, 'C', 0};
static const uint8_t s_rwfs[] = {0x0A, 0x03, 'R', 0, 'W', 0, 'F', 0, 'S', 0};
static const uint8_t s_romfs0[] = {0x0E, 0x03, 'R', 0, 'O', 0, 'M', 0, 'F', 0, 'S', 0, '0', 0};
static const uint8_t s_recovery[] = {0x12, 0x03, 'R', 0, 'E', 0, 'C', 0, 'O', 0, 'V', 0, 'E', 0, 'R', 0, 'Y', 0};

static void test_status_names(void **state)
{
    (void)state;
    static const char *const names[] = {"OK",         "errTARGET", "errFILE",    "errWRITE",      "errERASE",
                                        "errCHECK_ERASED", "errPROG", "errVERIFY", "errADDRESS", "errNOTDONE",
                                        "errFIRMWARE", "errVENDOR", "errUSBR",   "errPOR",        "errUNKNOWN",
                                        "errSTALLEDPKT"};
    for (unsigned i = 0; i < 16; i++) {
        assert_string_equal(dfu_status_name((uint8_t)i), names[i]);
        assert_non_null(dfu_status_words((uint8_t)i));
        assert_true(strlen(dfu_status_words((uint8_t)i)) > 3);
    }
    assert_string_equal(dfu_status_words(DFU_STATUS_ERR_WRITE), "write/program failed");
    assert_string_equal(dfu_status_words(DFU_STATUS_ERR_ADDRESS), "address out of range");
    assert_string_equal(dfu_status_name(0x10), "err?");
    assert_string_equal(dfu_status_name(0xFF), "err?");
}

static void test_state_names(void **state)
{
    (void)state;
    static const char *const names[] = {"appIDLE",          "appDETACH",   "dfuIDLE",
                                        "dfuDNLOAD-SYNC",   "dfuDNBUSY",   "dfuDNLOAD-IDLE",
                                        "dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET",
                                        "dfuUPLOAD-IDLE",   "dfuERROR"};
    for (unsigned i = 0; i < 11; i++)
        assert_string_equal(dfu_state_name((uint8_t)i), names[i]);
    assert_string_equal(dfu_state_name(11), "dfu?");
}

static void test_describe_status(void **state)
{
    (void)state;
    char buf[160];
    dfu_describe_status(buf, sizeof buf, 0x03, 10);
    assert_string_equal(buf, "device reported errWRITE (0x03: write/program failed), state dfuERROR");
    dfu_describe_status(buf, sizeof buf, 0x08, 10);
    assert_string_equal(buf, "device reported errADDRESS (0x08: address out of range), state dfuERROR");
    dfu_describe_status(buf, sizeof buf, 0x42, 99);
    assert_string_equal(buf, "device reported err? (0x42: status code outside DFU 1.1), state 99 (not a DFU 1.1 state)");
    /* Truncation stays NUL-terminated. */
    dfu_describe_status(buf, 10, 0x03, 10);
    assert_int_equal(strlen(buf), 9);
}

static void test_parse_status(void **state)
{
    (void)state;
    struct dfu_status st;
    const uint8_t busy[] = {0x00, 0x34, 0x12, 0x01, 0x04, 0x00};
    assert_int_equal(dfu_parse_status(busy, sizeof busy, &st), 0);
    assert_int_equal(st.status, 0);
    assert_int_equal(st.poll_timeout, 0x011234); /* 24-bit little-endian */
    assert_int_equal(st.state, DFU_STATE_DNBUSY);
    assert_int_equal(st.istring, 0);

    const uint8_t fail[] = {0x03, 0x00, 0x00, 0x00, 0x0A, 0x07};
    assert_int_equal(dfu_parse_status(fail, sizeof fail, &st), 0);
    assert_int_equal(st.status, DFU_STATUS_ERR_WRITE);
    assert_int_equal(st.poll_timeout, 0);
    assert_int_equal(st.state, DFU_STATE_ERROR);
    assert_int_equal(st.istring, 7);

    const uint8_t max[] = {0x00, 0xFF, 0xFF, 0xFF, 0x05, 0x00};
    assert_int_equal(dfu_parse_status(max, sizeof max, &st), 0);
    assert_int_equal(st.poll_timeout, 0xFFFFFF);

    assert_int_equal(dfu_parse_status(busy, 5, &st), -1);
    assert_int_equal(dfu_parse_status(busy, 0, &st), -1);
    assert_int_equal(dfu_parse_status(NULL, 6, &st), -1);
}

static void test_parse_config_ae3(void **state)
{
    (void)state;
    struct dfu_layout l;
    assert_int_equal(sizeof ae3_config, 0x5A);
    assert_int_equal(dfu_parse_config(ae3_config, sizeof ae3_config, &l), 0);
    assert_true(l.found);
    assert_int_equal(l.iface, 0);
    assert_int_equal(l.n_alts, 8);
    for (unsigned k = 0; k < 8; k++) {
        assert_int_equal(l.alts[k].alt, k);
        assert_int_equal(l.alts[k].istring, 4 + k);
        assert_int_equal(l.alts[k].protocol, DFU_PROTOCOL_DFU_MODE);
    }
    assert_true(l.func.present);
    assert_int_equal(l.func.attributes, DFU_ATTR_CAN_DNLOAD | DFU_ATTR_CAN_UPLOAD | DFU_ATTR_MANIFEST_TOLERANT);
    assert_false(l.func.attributes & DFU_ATTR_WILL_DETACH);
    assert_int_equal(l.func.detach_timeout, 1000);
    assert_int_equal(l.func.transfer_size, 4096);
    assert_int_equal(l.func.bcd_dfu, 0x0101);
}

static void test_parse_config_other_interfaces(void **state)
{
    (void)state;
    /* A composite device: CDC interfaces 0/1 (one carries a class-specific
     * descriptor of type 0x24), DFU run-time interface 2 with a 7-byte (DFU
     * 1.0) functional descriptor. The CDC descriptors must not be taken for DFU. */
    const uint8_t cfg[] = {
        0x09, 0x02, 0x37, 0x00, 0x03, 0x01, 0x00, 0x80, 0x32,
        0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x00,
        0x05, 0x24, 0x00, 0x10, 0x01,
        0x07, 0x05, 0x81, 0x03, 0x08, 0x00, 0x10,
        0x09, 0x04, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00,
        0x09, 0x04, 0x02, 0x00, 0x00, 0xFE, 0x01, 0x01, 0x05,
        0x07, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x04,
    };
    struct dfu_layout l;
    assert_int_equal(sizeof cfg, 0x37);
    assert_int_equal(dfu_parse_config(cfg, sizeof cfg, &l), 0);
    assert_true(l.found);
    assert_int_equal(l.iface, 2);
    assert_int_equal(l.n_alts, 1);
    assert_int_equal(l.alts[0].protocol, DFU_PROTOCOL_RUNTIME);
    assert_int_equal(l.alts[0].istring, 5);
    assert_true(l.func.present);
    assert_int_equal(l.func.attributes, 0x0B);
    assert_int_equal(l.func.detach_timeout, 255);
    assert_int_equal(l.func.transfer_size, 1024);
    assert_int_equal(l.func.bcd_dfu, 0);
}

static void test_parse_config_malformed(void **state)
{
    (void)state;
    struct dfu_layout l;
    uint8_t bad[sizeof ae3_config];
    memcpy(bad, ae3_config, sizeof bad);
    bad[18] = 0; /* bLength 0 of alt 1: would loop forever if not caught */
    assert_int_equal(dfu_parse_config(bad, sizeof bad, &l), -1);
    /* Cut in the middle of a descriptor. */
    assert_int_equal(dfu_parse_config(ae3_config, 40, &l), -1);
    /* Not a configuration descriptor. */
    assert_int_equal(dfu_parse_config(ae3_config + 9, sizeof ae3_config - 9, &l), -1);
    /* No DFU interface: valid, nothing found. */
    const uint8_t cdc[] = {0x09, 0x02, 0x12, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
                           0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x00};
    assert_int_equal(dfu_parse_config(cdc, sizeof cdc, &l), 0);
    assert_false(l.found);
    assert_int_equal(l.n_alts, 0);
}

static void test_find_func_desc(void **state)
{
    (void)state;
    struct dfu_func_desc f;
    /* libusb hands the bytes after the last alt's interface descriptor as "extra". */
    assert_int_equal(dfu_find_func_desc(ae3_config + 81, 9, &f), 1);
    assert_int_equal(f.transfer_size, 4096);
    assert_int_equal(f.detach_timeout, 1000);
    /* Whole configuration works too. */
    assert_int_equal(dfu_find_func_desc(ae3_config, sizeof ae3_config, &f), 1);
    assert_int_equal(f.bcd_dfu, 0x0101);
    /* Absent. */
    assert_int_equal(dfu_find_func_desc(ae3_config, 81, &f), 0);
    assert_false(f.present);
    /* Malformed run. */
    const uint8_t junk[] = {0x00, 0x21, 0x07};
    assert_int_equal(dfu_find_func_desc(junk, sizeof junk, &f), -1);
    const uint8_t overrun[] = {0x09, 0x21, 0x07, 0xE8};
    assert_int_equal(dfu_find_func_desc(overrun, sizeof overrun, &f), -1);
}

static void test_alt_names(void **state)
{
    (void)state;
    static const struct {
        const uint8_t *d;
        size_t n;
        const char *name;
    } alts[] = {
        {s_boot, sizeof s_boot, "BOOT"},   {s_hp, sizeof s_hp, "HP"},
        {s_he, sizeof s_he, "HE"},         {s_romfs1, sizeof s_romfs1, "ROMFS1"},
        {s_toc, sizeof s_toc, "TOC"},      {s_rwfs, sizeof s_rwfs, "RWFS"},
        {s_romfs0, sizeof s_romfs0, "ROMFS0"}, {s_recovery, sizeof s_recovery, "RECOVERY"},
    };
    struct dfu_layout l;
    assert_int_equal(dfu_parse_config(ae3_config, sizeof ae3_config, &l), 0);
    for (size_t k = 0; k < l.n_alts; k++) {
        char name[64];
        /* iInterface 4+k resolves to string descriptor 4+k = alts[k]. */
        assert_int_equal(l.alts[k].istring - 4, k);
        assert_int_equal(dfu_parse_string_desc(alts[k].d, alts[k].n, name, sizeof name),
                         (int)strlen(alts[k].name));
        assert_string_equal(name, alts[k].name);
    }
}

static void test_string_desc(void **state)
{
    (void)state;
    char out[16];
    /* "é€" → UTF-8 C3 A9 E2 82 AC */
    const uint8_t uni[] = {0x06, 0x03, 0xE9, 0x00, 0xAC, 0x20};
    assert_int_equal(dfu_parse_string_desc(uni, sizeof uni, out, sizeof out), 5);
    assert_memory_equal(out, "\xC3\xA9\xE2\x82\xAC", 6);
    /* Truncated to the output buffer, still terminated. */
    char small[4];
    assert_int_equal(dfu_parse_string_desc(s_recovery, sizeof s_recovery, small, sizeof small), 3);
    assert_string_equal(small, "REC");
    /* bLength larger than the bytes we got: use what we got. */
    assert_int_equal(dfu_parse_string_desc(s_recovery, 6, out, sizeof out), 2);
    assert_string_equal(out, "RE");
    /* A surrogate half is not valid UCS-2 text. */
    const uint8_t sur[] = {0x04, 0x03, 0x3D, 0xD8};
    assert_int_equal(dfu_parse_string_desc(sur, sizeof sur, out, sizeof out), 1);
    assert_string_equal(out, "?");
    /* Wrong type. */
    const uint8_t notstr[] = {0x06, 0x02, 'H', 0, 'P', 0};
    assert_int_equal(dfu_parse_string_desc(notstr, sizeof notstr, out, sizeof out), -1);

    uint16_t lang = 0;
    const uint8_t s0[] = {0x04, 0x03, 0x09, 0x04};
    assert_int_equal(dfu_parse_langid(s0, sizeof s0, &lang), 0);
    assert_int_equal(lang, 0x0409);
    assert_int_equal(dfu_parse_langid(s0, 2, &lang), -1);
}

static void test_boot_header(void **state)
{
    (void)state;
    uint8_t hdr[32] = {0xAD, 0x10, 0x07, 0xB0, 1, 0, 3};
    char v[16];
    assert_int_equal(dfu_parse_boot_header(hdr, sizeof hdr, v, sizeof v), 1);
    assert_string_equal(v, "1.0.3");
    hdr[5] = 12;
    assert_int_equal(dfu_parse_boot_header(hdr, sizeof hdr, v, sizeof v), 1);
    assert_string_equal(v, "1.12.3");
    /* Erased flash (pre-1.0.1 bootloader): no magic, empty version. */
    uint8_t ff[32];
    memset(ff, 0xFF, sizeof ff);
    assert_int_equal(dfu_parse_boot_header(ff, sizeof ff, v, sizeof v), 0);
    assert_string_equal(v, "");
    /* The 4-zero EOF frame is not a header. */
    const uint8_t eof[4] = {0};
    assert_int_equal(dfu_parse_boot_header(eof, sizeof eof, v, sizeof v), 0);
    assert_string_equal(v, "");
}

static void test_port_path(void **state)
{
    (void)state;
    char p[32];
    const uint8_t ports[] = {2, 3, 14};
    assert_int_equal(dfu_format_port_path(1, ports, 2, p, sizeof p), 0);
    assert_string_equal(p, "1-2.3");
    assert_int_equal(dfu_format_port_path(3, ports, 3, p, sizeof p), 0);
    assert_string_equal(p, "3-2.3.14");
    assert_int_equal(dfu_format_port_path(1, ports, 1, p, sizeof p), 0);
    assert_string_equal(p, "1-2");
    assert_int_equal(dfu_format_port_path(4, ports, 0, p, sizeof p), 0);
    assert_string_equal(p, "4");
    assert_int_equal(dfu_format_port_path(1, ports, 3, p, 6), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_describe_status),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_parse_config_ae3),
        cmocka_unit_test(test_parse_config_other_interfaces),
        cmocka_unit_test(test_parse_config_malformed),
        cmocka_unit_test(test_find_func_desc),
        cmocka_unit_test(test_alt_names),
        cmocka_unit_test(test_string_desc),
        cmocka_unit_test(test_boot_header),
        cmocka_unit_test(test_port_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
