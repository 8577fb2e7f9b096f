/* cmocka tests of the DfuSe memory-layout parser (dfuse_layout.c) on the
 * interface strings real devices report and on every malformed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dfuse_layout.h"

#define K 1024u
#define RWE (DFUSE_MEM_READABLE | DFUSE_MEM_ERASABLE | DFUSE_MEM_WRITEABLE)

static void expect_run(const dfuse_layout *l, size_t i, uint32_t start, uint32_t size,
                       uint32_t count, uint8_t caps)
{
    assert_true(i < l->n_runs);
    assert_int_equal(l->runs[i].start, start);
    assert_int_equal(l->runs[i].sector_size, size);
    assert_int_equal(l->runs[i].count, count);
    assert_int_equal(l->runs[i].caps, caps);
}

static void test_stm32f4_rom(void **state)
{
    (void)state;
    dfuse_layout l;
    char err[256] = "";
    assert_int_equal(dfuse_layout_parse("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
                                        &l, err, sizeof(err)), 0);
    assert_string_equal(l.name, "Internal Flash");
    assert_int_equal(l.n_runs, 3);
    expect_run(&l, 0, 0x08000000, 16 * K, 4, RWE);
    expect_run(&l, 1, 0x08010000, 64 * K, 1, RWE);
    expect_run(&l, 2, 0x08020000, 128 * K, 7, RWE);
}

static void test_f42x_dual_bank_and_option_bytes(void **state)
{
    (void)state;
    dfuse_layout l;
    assert_int_equal(dfuse_layout_parse("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg,"
                                        "04*016Kg,01*064Kg,07*128Kg", &l, NULL, 0), 0);
    assert_int_equal(l.n_runs, 6);
    expect_run(&l, 3, 0x08100000, 16 * K, 4, RWE);
    expect_run(&l, 5, 0x08120000, 128 * K, 7, RWE);
    /* Two zones; a blank unit means bytes; 'e' = readable + writeable. */
    assert_int_equal(dfuse_layout_parse("@Option Bytes  /0x1FFFC000/01*016 e/0x1FFEC000/01*016 e",
                                        &l, NULL, 0), 0);
    assert_string_equal(l.name, "Option Bytes");
    assert_int_equal(l.n_runs, 2);
    expect_run(&l, 0, 0x1FFFC000, 16, 1, DFUSE_MEM_READABLE | DFUSE_MEM_WRITEABLE);
    expect_run(&l, 1, 0x1FFEC000, 16, 1, DFUSE_MEM_READABLE | DFUSE_MEM_WRITEABLE);
}

static void test_h7_rom_and_arduino(void **state)
{
    (void)state;
    dfuse_layout l;
    assert_int_equal(dfuse_layout_parse("@Internal Flash   /0x08000000/16*128Kg", &l, NULL, 0), 0);
    assert_string_equal(l.name, "Internal Flash");
    expect_run(&l, 0, 0x08000000, 128 * K, 16, RWE);
    assert_int_equal(dfuse_layout_parse("@Internal Flash  2MB   /0x08000000/01*128Ka,15*128Kg",
                                        &l, NULL, 0), 0);
    assert_string_equal(l.name, "Internal Flash  2MB");
    expect_run(&l, 0, 0x08000000, 128 * K, 1, DFUSE_MEM_READABLE);
    expect_run(&l, 1, 0x08020000, 128 * K, 15, RWE);
    assert_int_equal(dfuse_layout_parse("@Ext RAW  Flash 16MB   /0x90000000/4096*4Kg", &l, NULL, 0),
                     0);
    expect_run(&l, 0, 0x90000000, 4 * K, 4096, RWE);
    /* An empty alt: a zone of zero sectors has no runs. */
    assert_int_equal(dfuse_layout_parse("@Ext File Flash  0MB   /0x00000000/0*4Kg", &l, NULL, 0), 0);
    assert_string_equal(l.name, "Ext File Flash  0MB");
    assert_int_equal(l.n_runs, 0);
}

static void test_units_and_letters(void **state)
{
    (void)state;
    dfuse_layout l;
    assert_int_equal(dfuse_layout_parse("@Q/0x90000000/2*1Mg,3*512Bd,1*7a,1*9 b,1*2Kc,1*1Kf",
                                        &l, NULL, 0), 0);
    assert_int_equal(l.n_runs, 6);
    expect_run(&l, 0, 0x90000000, 1024 * K, 2, RWE);
    expect_run(&l, 1, 0x90200000, 512, 3, DFUSE_MEM_WRITEABLE);
    expect_run(&l, 2, 0x90200600, 7, 1, DFUSE_MEM_READABLE); /* no unit before the letter */
    expect_run(&l, 3, 0x90200607, 9, 1, DFUSE_MEM_ERASABLE);
    expect_run(&l, 4, 0x90200610, 2 * K, 1, DFUSE_MEM_READABLE | DFUSE_MEM_ERASABLE);
    expect_run(&l, 5, 0x90200E10, 1 * K, 1, DFUSE_MEM_ERASABLE | DFUSE_MEM_WRITEABLE);
    /* A device's name with control characters cannot break a message line. */
    assert_int_equal(dfuse_layout_parse("@O \n01e/0x1FFEC000/01*6 e", &l, NULL, 0), 0);
    assert_string_equal(l.name, "O ?01e");
    char err[256];
    assert_int_equal(dfuse_layout_check(&l, 0x1FFEC000, 7, 0, err, sizeof(err)), -1);
    assert_string_equal(err, "O ?01e: address 0x1ffec006 is outside its memory layout");
    /* Up to the very last byte of the address space. */
    assert_int_equal(dfuse_layout_parse("@Top/0xFFFF0000/1*64Kg", &l, NULL, 0), 0);
    expect_run(&l, 0, 0xFFFF0000, 64 * K, 1, RWE);
}

static void expect_error(const char *s, const char *msg)
{
    dfuse_layout l;
    char err[256] = "";
    assert_int_equal(dfuse_layout_parse(s, &l, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
    assert_null(strchr(err, '\n'));
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "memory layout: offset 0: expected '@', got end of string: not a DfuSe "
                     "memory layout");
    expect_error("Internal Flash", "memory layout: offset 0: expected '@', got 'I': not a DfuSe "
                                   "memory layout");
    expect_error("@Internal Flash", "memory layout: offset 0: no '/' after the name: not a DfuSe "
                                    "memory layout");
    expect_error("@   /0x08000000/1*1Kg", "memory layout: offset 0: empty memory name");
    expect_error("@F/08000000/1*1Kg",
                 "memory layout: offset 3: expected a hex address like 0x08000000, got '0'");
    expect_error("@F/0x/1*1Kg", "memory layout: offset 5: no hex digits after 0x");
    expect_error("@F/0x123456789/1*1Kg", "memory layout: offset 13: address has more than 8 hex digits");
    expect_error("@F/0x08000000", "memory layout: offset 13: expected '/' after the address, got "
                                  "end of string");
    expect_error("@F/0x08000000/", "memory layout: offset 14: expected a decimal sector count, got "
                                   "end of string");
    expect_error("@F/0x08000000/04+016Kg",
                 "memory layout: offset 16: expected '*' after the count 4, got '+'");
    expect_error("@F/0x08000000/04*Kg", "memory layout: offset 17: expected a decimal sector size, "
                                        "got 'K'");
    expect_error("@F/0x08000000/1234567890*1Kg",
                 "memory layout: offset 23: sector count has more than 9 digits");
    expect_error("@F/0x08000000/04*016Qg",
                 "memory layout: offset 20: unknown size unit 'Q' (B, K, M or a blank)");
    expect_error("@F/0x08000000/04*016Kx", "memory layout: offset 21: unknown memory type 'x' (a..g)");
    expect_error("@F/0x08000000/04*016KG", "memory layout: offset 21: unknown memory type 'G' (a..g)");
    expect_error("@F/0x08000000/1*0Kg", "memory layout: offset 19: sector size 0 bytes is not usable");
    expect_error("@F/0xFFFF0000/2*64Kg", "memory layout: offset 14: 2 sectors of 65536 bytes from "
                                         "0xffff0000 pass the end of the 32-bit address space");
    expect_error("@F/0x08000000/04*016Kg;", "memory layout: offset 22: unexpected ';' after the "
                                            "last run");
    expect_error("@F/0x08000000/1*16Kg/0x08002000/1*16Kg",
                 "memory layout: offset 38: memory at 0x08000000 and at 0x08002000 overlaps");
    expect_error("@F/0x08000000/04*016Kg\x01",
                 "memory layout: offset 22: unexpected 0x01 after the last run");
    char long_name[100];
    snprintf(long_name, sizeof(long_name), "@%070d/0x0/1*1Kg", 7);
    expect_error(long_name, "memory layout: offset 0: memory name longer than 63 characters");
    char many[512] = "@F/0x0/";
    for (int i = 0; i < 33; i++)
        strcat(many, i ? ",1*1Kg" : "1*1Kg");
    expect_error(many, "memory layout: offset 199: more than 32 runs");
}

static void test_find_walk_check(void **state)
{
    (void)state;
    dfuse_layout l;
    dfuse_sector s;
    char err[256] = "";
    assert_int_equal(dfuse_layout_parse("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
                                        &l, NULL, 0), 0);
    assert_int_equal(dfuse_layout_find(&l, 0x08012345, &s), 1);
    assert_int_equal(s.start, 0x08010000);
    assert_int_equal(s.size, 64 * K);
    assert_int_equal(dfuse_layout_find(&l, 0x0807FFFF, &s), 1);
    assert_int_equal(s.start, 0x08060000);
    assert_int_equal(dfuse_layout_find(&l, 0x08100000, &s), 0);
    assert_int_equal(dfuse_layout_find(&l, 0x07FFFFFF, &s), 0);

    /* 100000 bytes at 0x08010000: the 64 KB sector and the first 128 KB one. */
    uint64_t cur = 0x08010000, end = cur + 100000;
    assert_int_equal(dfuse_layout_walk(&l, &cur, end, &s), 1);
    assert_int_equal(s.start, 0x08010000);
    assert_int_equal(dfuse_layout_walk(&l, &cur, end, &s), 1);
    assert_int_equal(s.start, 0x08020000);
    assert_int_equal(dfuse_layout_walk(&l, &cur, end, &s), 0);
    assert_int_equal(dfuse_layout_check(&l, 0x08010000, 100000, RWE, err, sizeof(err)), 2);
    /* A range starting mid-sector and one byte long touches one sector. */
    assert_int_equal(dfuse_layout_check(&l, 0x08004001, 1, RWE, NULL, 0), 1);
    assert_int_equal(dfuse_layout_check(&l, 0x08004001, 0, RWE, NULL, 0), 1);
    assert_int_equal(dfuse_layout_check(&l, 0x08000000, 1024 * K, RWE, NULL, 0), 12);
    assert_int_equal(dfuse_layout_check(&l, 0x08000000, 1024 * K + 1, RWE, err, sizeof(err)), -1);
    assert_string_equal(err, "Internal Flash: address 0x08100000 is outside its memory layout");
    assert_int_equal(dfuse_layout_check(&l, 0x07FFFF00, 512, RWE, err, sizeof(err)), -1);
    assert_string_equal(err, "Internal Flash: address 0x07ffff00 is outside its memory layout");
    assert_int_equal(dfuse_layout_check(&l, 0xFFFFFFFF, 2, RWE, err, sizeof(err)), -1);
    assert_string_equal(err, "Internal Flash: address 0xffffffff is outside its memory layout");

    /* The Arduino's bootloader sector: readable only. */
    assert_int_equal(dfuse_layout_parse("@Internal Flash  2MB   /0x08000000/01*128Ka,15*128Kg",
                                        &l, NULL, 0), 0);
    assert_int_equal(dfuse_layout_check(&l, 0x08040000, 1835008, RWE, NULL, 0), 14);
    assert_int_equal(dfuse_layout_check(&l, 0x08000000, 4096, DFUSE_MEM_READABLE, NULL, 0), 1);
    assert_int_equal(dfuse_layout_check(&l, 0x0801F000, 8192, DFUSE_MEM_ERASABLE, err,
                                        sizeof(err)), -1);
    assert_string_equal(err, "Internal Flash  2MB: sector 0x08000000 (131072 bytes) is r--, "
                             "needs -e-");
    /* Gaps between zones are outside. */
    assert_int_equal(dfuse_layout_parse("@Option Bytes  /0x1FFFC000/01*016 e/0x1FFEC000/01*016 e",
                                        &l, NULL, 0), 0);
    assert_int_equal(dfuse_layout_check(&l, 0x1FFEC000, 16, DFUSE_MEM_WRITEABLE, NULL, 0), 1);
    assert_int_equal(dfuse_layout_check(&l, 0x1FFEC000, 17, DFUSE_MEM_WRITEABLE, err,
                                        sizeof(err)), -1);
    assert_string_equal(err, "Option Bytes: address 0x1ffec010 is outside its memory layout");
    char caps[4];
    assert_string_equal(dfuse_caps_str(RWE, caps), "rew");
    assert_string_equal(dfuse_caps_str(0, caps), "---");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stm32f4_rom),
        cmocka_unit_test(test_f42x_dual_bank_and_option_bytes),
        cmocka_unit_test(test_h7_rom_and_arduino),
        cmocka_unit_test(test_units_and_letters),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_find_walk_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
