/* cmocka tests of the DfuSe .dfu parser (dfuse_file.c): the suffix CRC
 * against published vectors, a file built by Debian's dfu-suffix (path in
 * $DFUSE_GOLDEN, made by run_test_dfuse_file.sh), and every malformed case
 * on files built here byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dfuse_file.h"

/* ---- a byte-level .dfu builder ---- */

typedef struct {
    uint8_t b[8192];
    size_t n;
} buf_t;

static void put(buf_t *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put32(buf_t *f, uint32_t v)
{
    uint8_t b[4] = {v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24};
    put(f, b, 4);
}

static void set32(buf_t *f, size_t at, uint32_t v)
{
    uint8_t b[4] = {v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24};
    memcpy(f->b + at, b, 4);
}

static size_t begin_target(buf_t *f, uint8_t alt, const char *name, uint32_t nel)
{
    size_t at = f->n;
    put(f, "Target", 6);
    put(f, &alt, 1);
    put32(f, name ? 1 : 0);
    char n[255] = {0};
    if (name)
        memcpy(n, name, strlen(name) < 255 ? strlen(name) : 255);
    put(f, n, 255);
    put32(f, 0); /* size, patched by end_target */
    put32(f, nel);
    return at;
}

static void end_target(buf_t *f, size_t at)
{
    set32(f, at + 266, (uint32_t)(f->n - at - 274));
}

static void element(buf_t *f, uint32_t addr, uint32_t size, uint8_t fill)
{
    put32(f, addr);
    put32(f, size);
    for (uint32_t i = 0; i < size; i++)
        f->b[f->n++] = (uint8_t)(fill + i);
}

/* Suffix with a correct CRC over everything before it. */
static void finish(buf_t *f, uint16_t vid, uint16_t pid, uint16_t bcd)
{
    uint8_t s[12] = {0xFF, 0xFF, pid & 0xFF, pid >> 8, vid & 0xFF, vid >> 8, bcd & 0xFF, bcd >> 8,
                     'U', 'F', 'D', 16};
    put(f, s, 12);
    put32(f, dfuse_suffix_crc(0xFFFFFFFFu, f->b, f->n));
}

static void fix_crc(buf_t *f)
{
    set32(f, f->n - 4, dfuse_suffix_crc(0xFFFFFFFFu, f->b, f->n - 4));
}

/* Two targets: alt 0 "firmware" with elements at 0x08010000 (100 B) and
 * 0x08020000 (24 B), alt 1 unnamed with one at 0x90000000 (4 B). */
static void build_good(buf_t *f)
{
    f->n = 0;
    put(f, "DfuSe\x01", 6);
    put32(f, 0);
    uint8_t nt = 2;
    put(f, &nt, 1);
    size_t t = begin_target(f, 0, "firmware", 2);
    element(f, 0x08010000, 100, 1);
    element(f, 0x08020000, 24, 7);
    end_target(f, t);
    t = begin_target(f, 1, NULL, 1);
    element(f, 0x90000000, 4, 0xA0);
    end_target(f, t);
    set32(f, 6, (uint32_t)f->n);
    finish(f, 0x0483, 0xDF11, 0x011A);
}

/* A forward-only stream over a buffer, for dfuse_file_parse_stream(). */
typedef struct {
    const uint8_t *b;
    size_t n, pos;
} stream_t;

static int next_mem(void *ctx, void *buf, size_t len)
{
    stream_t *s = ctx;
    if (len > s->n - s->pos)
        return -1;
    memcpy(buf, s->b + s->pos, len);
    s->pos += len;
    return 0;
}

/* Parse with random access, and again as a forward-only stream: every file
 * here has at most one fault, so both must agree on the result, the message
 * and the tables. */
static int parse(const buf_t *f, dfuse_file *out, char *err, size_t errlen)
{
    dfuse_mem_source m = {f->b, f->n};
    int r = dfuse_file_parse(dfuse_read_mem, &m, f->n, out, err, errlen);
    stream_t st = {f->b, f->n, 0};
    dfuse_file s;
    char serr[256] = "";
    assert_int_equal(dfuse_file_parse_stream(next_mem, &st, f->n, &s, serr, sizeof(serr)), r);
    if (errlen)
        assert_string_equal(serr, err);
    if (r == 0) {
        assert_int_equal(s.n_elements, out->n_elements);
        for (size_t i = 0; i < s.n_elements; i++) {
            assert_int_equal(s.elements[i].address, out->elements[i].address);
            assert_int_equal(s.elements[i].size, out->elements[i].size);
            assert_int_equal(s.elements[i].offset, out->elements[i].offset);
            assert_int_equal(s.elements[i].alt, out->elements[i].alt);
        }
        assert_int_equal(s.suffix.crc, out->suffix.crc);
        assert_int_equal(s.suffix.vendor, out->suffix.vendor);
        assert_int_equal(s.suffix.product, out->suffix.product);
        assert_int_equal(st.pos, f->n); /* read exactly once, to the end */
    }
    dfuse_file_free(&s);
    return r;
}

/* ---- tests ---- */

static void test_crc_vectors(void **state)
{
    (void)state;
    /* Reflected CRC-32 without the final XOR ("JAMCRC"). */
    assert_int_equal(dfuse_suffix_crc(0xFFFFFFFFu, "123456789", 9), 0x340BC6D9u);
    static const uint8_t only_suffix[12] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                            0x1A, 0x01, 'U',  'F',  'D',  0x10};
    assert_int_equal(dfuse_suffix_crc(0xFFFFFFFFu, only_suffix, 12), 0x2A36D01Cu);
    /* Streaming in pieces gives the same value. */
    uint32_t c = dfuse_suffix_crc(0xFFFFFFFFu, "1234", 4);
    assert_int_equal(dfuse_suffix_crc(c, "56789", 5), 0x340BC6D9u);
}

static void test_good_file(void **state)
{
    (void)state;
    buf_t f;
    dfuse_file d;
    char err[256] = "";
    build_good(&f);
    assert_int_equal(parse(&f, &d, err, sizeof(err)), 0);
    assert_int_equal(d.size, f.n);
    assert_int_equal(d.suffix.vendor, 0x0483);
    assert_int_equal(d.suffix.product, 0xDF11);
    assert_int_equal(d.suffix.bcd_device, 0xFFFF);
    assert_int_equal(d.suffix.bcd_dfu, 0x011A);
    assert_int_equal(d.n_targets, 2);
    assert_int_equal(d.targets[0].alt, 0);
    assert_true(d.targets[0].named);
    assert_string_equal(d.targets[0].name, "firmware");
    assert_int_equal(d.targets[0].n_elements, 2);
    assert_int_equal(d.targets[1].alt, 1);
    assert_false(d.targets[1].named);
    assert_string_equal(d.targets[1].name, "");
    assert_int_equal(d.targets[1].first_element, 2);
    assert_int_equal(d.n_elements, 3);
    /* Offsets: prefix 11 + target 274 + header 8 = 293. */
    const dfuse_element *e = d.elements;
    assert_int_equal(e[0].address, 0x08010000);
    assert_int_equal(e[0].size, 100);
    assert_int_equal(e[0].offset, 293);
    assert_int_equal(f.b[e[0].offset], 1);
    assert_int_equal(e[1].address, 0x08020000);
    assert_int_equal(e[1].offset, 293 + 100 + 8);
    assert_int_equal(f.b[e[1].offset + 23], 7 + 23);
    assert_int_equal(e[2].address, 0x90000000);
    assert_int_equal(e[2].alt, 1);
    assert_int_equal(e[2].target, 1);
    assert_int_equal(e[2].offset, 293 + 100 + 8 + 24 + 274 + 8);
    assert_true(dfuse_suffix_matches(&d.suffix, 0x0483, 0xDF11));
    assert_false(dfuse_suffix_matches(&d.suffix, 0x2341, 0x035B));
    dfuse_file_free(&d);
    assert_null(d.elements);
    dfuse_file_free(&d); /* twice is harmless */
}

static void test_wildcards_and_long_name(void **state)
{
    (void)state;
    dfuse_suffix s = {0xFFFF, 0xFFFF, 0xFFFF, 0x011A, 0};
    assert_true(dfuse_suffix_matches(&s, 0x2341, 0x035F));
    s.vendor = 0x2341;
    assert_true(dfuse_suffix_matches(&s, 0x2341, 0x0366));
    assert_false(dfuse_suffix_matches(&s, 0x0483, 0xDF11));

    buf_t f;
    dfuse_file d;
    char name[300];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    f.n = 0;
    put(&f, "DfuSe\x01\0\0\0\0\x01", 11);
    size_t t = begin_target(&f, 3, name, 0); /* 255 bytes, no NUL in the file */
    end_target(&f, t);
    set32(&f, 6, (uint32_t)f.n);
    finish(&f, 0xFFFF, 0xFFFF, 0x011A);
    assert_int_equal(parse(&f, &d, NULL, 0), 0);
    assert_int_equal(strlen(d.targets[0].name), 255);
    assert_int_equal(d.n_elements, 0);
    dfuse_file_free(&d);
}

static void expect_error(buf_t *f, const char *msg)
{
    dfuse_file d;
    char err[256] = "";
    assert_int_equal(parse(f, &d, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
    assert_null(d.elements);
    assert_null(d.targets);
}

static void test_suffix_errors(void **state)
{
    (void)state;
    buf_t f;
    f.n = 10;
    memset(f.b, 0, 10);
    expect_error(&f, "file has 10 bytes, fewer than a DFU suffix (16)");
    build_good(&f);
    f.b[f.n - 6] = 'X';
    expect_error(&f, "no DFU suffix: the last 16 bytes lack the 'UFD' signature");
    build_good(&f);
    f.b[f.n - 5] = 17;
    expect_error(&f, "DFU suffix length is 17, not 16");
    build_good(&f);
    f.b[f.n - 10] = 0x00; /* bcdDFU 0x0100: plain DFU */
    f.b[f.n - 9] = 0x01;
    expect_error(&f, "DFU suffix bcdDFU is 0x0100, not 0x011A: a plain DFU file without DfuSe "
                     "addresses");
    build_good(&f);
    f.b[300] ^= 0x40; /* one flipped bit in element data */
    char want[128];
    uint32_t file_crc = (uint32_t)f.b[f.n - 4] | (uint32_t)f.b[f.n - 3] << 8 |
                        (uint32_t)f.b[f.n - 2] << 16 | (uint32_t)f.b[f.n - 1] << 24;
    snprintf(want, sizeof(want), "DFU suffix CRC is 0x%08x but the file gives 0x%08x: the file "
                                 "is damaged", file_crc, dfuse_suffix_crc(0xFFFFFFFFu, f.b, f.n - 4));
    expect_error(&f, want);
}

static void test_prefix_errors(void **state)
{
    (void)state;
    buf_t f;
    build_good(&f);
    f.b[0] = 'd';
    fix_crc(&f);
    expect_error(&f, "no 'DfuSe' signature at offset 0");
    build_good(&f);
    f.b[5] = 2;
    fix_crc(&f);
    expect_error(&f, "DfuSe format version 2; only version 1 exists");
    build_good(&f);
    set32(&f, 6, 1000);
    fix_crc(&f);
    expect_error(&f, "DfuSe prefix says the images take 1000 bytes, the file has 711 before its "
                     "suffix");
    build_good(&f);
    f.b[10] = 0;
    fix_crc(&f);
    expect_error(&f, "DfuSe file with no targets");
    /* A suffix with nothing before it. */
    f.n = 0;
    finish(&f, 0xFFFF, 0xFFFF, 0x011A);
    expect_error(&f, "no room for the 11-byte DfuSe prefix before the suffix");
    /* One target claimed, three present: bytes left over. */
    build_good(&f);
    f.b[10] = 1;
    fix_crc(&f);
    expect_error(&f, "286 bytes between the last target (ends at offset 425) and the suffix");
    /* Three claimed, two present. */
    build_good(&f);
    f.b[10] = 3;
    fix_crc(&f);
    expect_error(&f, "target 3: its 274-byte prefix at offset 711 runs past the images' end "
                     "(offset 711)");
}

static void test_target_errors(void **state)
{
    (void)state;
    buf_t f;
    build_good(&f);
    f.b[11] = 't';
    fix_crc(&f);
    expect_error(&f, "target 1 at offset 11: no 'Target' signature");
    build_good(&f);
    set32(&f, 11 + 266, 0x7FFFFFFF);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0) at offset 11: its size 2147483647 runs past the images' "
                     "end (426 bytes left)");
    build_good(&f); /* 3 elements claimed in a target that holds 2 */
    set32(&f, 11 + 270, 3);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0): element 3's header at offset 425 runs past the target's "
                     "end (offset 425)");
    build_good(&f); /* 1 element claimed: the second one is left over */
    set32(&f, 11 + 270, 1);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0): 32 bytes after its last element (offset 393)");
    build_good(&f); /* element 1 says 200 bytes */
    set32(&f, 11 + 274 + 4, 200);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0): element 1 (0x08010000) at offset 285: its 200 bytes run "
                     "past the target's end (132 bytes left)");
    build_good(&f); /* 0xFFFFFFF0 + 24 bytes */
    set32(&f, 11 + 274 + 8 + 100, 0xFFFFFFF0);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0): element 2: 0xfffffff0 + 24 bytes passes the end of the "
                     "32-bit address space");
    build_good(&f); /* element size 0xFFFFFFFF: no wrap-around */
    set32(&f, 11 + 274 + 4, 0xFFFFFFFF);
    fix_crc(&f);
    expect_error(&f, "target 1 (alt 0): element 1 (0x08010000) at offset 285: its 4294967295 "
                     "bytes run past the target's end (132 bytes left)");
}

/* Zeros below offset 100, a read error from there on. */
static int failing_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    (void)ctx;
    if (off + len > 100)
        return -1;
    memset(buf, 0, len);
    return 0;
}

/* A good file whose bytes from offset 500 on cannot be read. */
static int read_until_500(void *ctx, uint64_t off, void *buf, size_t len)
{
    if (off + len > 500 && off < 500 + 1)
        return -1;
    return dfuse_read_mem(ctx, off, buf, len);
}

static void test_read_failure_and_stdio(void **state)
{
    (void)state;
    dfuse_file d;
    char err[256] = "";
    assert_int_equal(dfuse_file_parse(failing_read, NULL, 50, &d, err, sizeof(err)), -1);
    assert_string_equal(err, "no DFU suffix: the last 16 bytes lack the 'UFD' signature");
    assert_int_equal(dfuse_file_parse(failing_read, NULL, 4000, &d, err, sizeof(err)), -1);
    assert_string_equal(err, "cannot read the DFU suffix (16 bytes at offset 3984)");
    buf_t f;
    build_good(&f);
    dfuse_mem_source m = {f.b, f.n};
    assert_int_equal(dfuse_file_parse(read_until_500, &m, f.n, &d, err, sizeof(err)), -1);
    assert_string_equal(err, "cannot read the file (723 bytes at offset 0)");
    /* Through stdio, as a plugin would stream it. */
    FILE *fp = tmpfile();
    assert_non_null(fp);
    assert_int_equal(fwrite(f.b, 1, f.n, fp), f.n);
    assert_int_equal(dfuse_file_parse(dfuse_read_stdio, fp, f.n, &d, err, sizeof(err)), 0);
    assert_int_equal(d.n_elements, 3);
    uint8_t b[4];
    assert_int_equal(dfuse_read_stdio(fp, d.elements[2].offset, b, 4), 0);
    assert_int_equal(b[3], 0xA3);
    assert_int_equal(dfuse_read_stdio(fp, f.n - 2, b, 4), -1); /* short read */
    dfuse_file_free(&d);
    fclose(fp);
}

/* A .dfu made outside this code: tests/tools/mkdfuse.py for the DfuSe part,
 * Debian's dfu-suffix for the suffix and its CRC. $DFUSE_GOLDEN_SPEC lists
 * "ALT:ADDR:FILE" per element, in file order, with their raw data files. */
static void test_dfu_suffix_tool_file(void **state)
{
    (void)state;
    const char *path = getenv("DFUSE_GOLDEN"), *spec = getenv("DFUSE_GOLDEN_SPEC");
    if (!path || !spec)
        skip();
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    dfuse_file d;
    char err[256] = "";
    int r = dfuse_file_parse(dfuse_read_stdio, fp, (uint64_t)size, &d, err, sizeof(err));
    if (r)
        fail_msg("%s: %s", path, err);
    assert_int_equal(d.suffix.vendor, 0x2341);
    assert_int_equal(d.suffix.product, 0x035B);
    assert_int_equal(d.suffix.bcd_device, 0x0200);
    assert_string_equal(d.targets[0].name, "OpenMV firmware");
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", spec);
    size_t i = 0;
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " "), i++) {
        unsigned alt;
        unsigned long addr;
        char file[512];
        assert_int_equal(sscanf(tok, "%u:%lx:%511s", &alt, &addr, file), 3);
        assert_true(i < d.n_elements);
        assert_int_equal(d.elements[i].alt, alt);
        assert_int_equal(d.elements[i].address, addr);
        FILE *raw = fopen(file, "rb");
        assert_non_null(raw);
        uint8_t a[4096], b[4096];
        size_t n, off = 0;
        while ((n = fread(a, 1, sizeof(a), raw)) > 0) {
            assert_int_equal(dfuse_read_stdio(fp, d.elements[i].offset + off, b, n), 0);
            assert_memory_equal(a, b, n);
            off += n;
        }
        assert_int_equal(off, d.elements[i].size);
        fclose(raw);
    }
    assert_int_equal(i, d.n_elements);
    dfuse_file_free(&d);
    fclose(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_wildcards_and_long_name),
        cmocka_unit_test(test_suffix_errors),
        cmocka_unit_test(test_prefix_errors),
        cmocka_unit_test(test_target_errors),
        cmocka_unit_test(test_read_failure_and_stdio),
        cmocka_unit_test(test_dfu_suffix_tool_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
