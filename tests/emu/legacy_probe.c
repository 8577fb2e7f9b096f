/* legacy_probe: a tiny libserialport host for legacy_selftest.sh. It finds
 * an emulated camera's serial port, opens it like the OpenMV IDE (921600 8N1,
 * DTR on) and runs a script of steps given as arguments:
 *
 *   find:MS            wait up to MS for a matching port and open it
 *   gone:MS            wait up to MS until no matching port is listed
 *   match:bl|match:app which port find/gone look for from here on
 *   close              close the port
 *   sleep:MS
 *   w:TOKENS           ONE write() of the bytes built from TOKENS joined by '+':
 *                      start reset layout qlayout memtest  (4-byte command codes)
 *                      erase=N qerase=N  (code + uint32)   u32=V
 *                      hex=AABB..  zeros=N  fill=N,BYTE
 *                      v1=OP (30 OP 00 00 00 00)  v2=OP,SEQ (10-byte packet, CRC16)
 *                      v2f=OP,SEQ,FLAGS (the same with flags, e.g. 1 = ACK, 2 = NAK)
 *   expect:HEX[:MS]    read exactly those bytes (default 1000 ms) or fail
 *   read:N[:MS]        read N bytes and print them as "rx HEX"
 *   none:MS            fail if any byte arrives within MS
 *   hup:MS             fail unless the open port hangs up (read error/EOF) within MS
 *
 * Options: --match bl|app (default bl: 1209:ABD1 with serial 000000000010/11;
 * app: --vidpid VID:PID (default 1209:abd1) and any other serial),
 * --baud N (default 921600), --no-dtr. Exit 0 = every step passed, 1 = a
 * step failed (reason on stderr), 2 = usage. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libserialport.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool match_app;
static unsigned want_vid = 0x1209, want_pid = 0xABD1;
static int baud = 921600;
static bool dtr = true;
static struct sp_port *port;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("legacy_probe: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static bool is_bl_serial(const char *s)
{
    return s && (!strcmp(s, "000000000011") || !strcmp(s, "000000000010"));
}

/* Name of the first matching port, or NULL. The probe walks /sys/class/tty
 * itself and looks ports up one by one (sp_get_port_by_name), as omvflashd
 * does: libserialport 0.1.1's sp_list_ports() returns SP_OK with a NULL list,
 * or crashes, when a port vanishes while it lists (it checks the wrong
 * pointer; fixed upstream after 0.1.1), and this probe watches ports vanish
 * all the time. A port whose serial cannot be read is half removed: neither
 * the bootloader nor an application. */
static bool quiet_find;

static bool is_usb_tty(const char *entry)
{
    char path[512], target[512];
    snprintf(path, sizeof path, "/sys/class/tty/%s", entry);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    return strstr(target, "usb") != NULL;
}

static char *match_port(const char *entry)
{
    char name[300];
    snprintf(name, sizeof name, "/dev/%s", entry);
    struct sp_port *p = NULL;
    if (sp_get_port_by_name(name, &p) != SP_OK)
        return NULL; /* vanished since the readdir() */
    char *found = NULL;
    int vid = 0, pid = 0;
    const char *ser = sp_get_port_usb_serial(p);
    if (ser && sp_get_port_transport(p) == SP_TRANSPORT_USB && sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK) {
        bool bl = is_bl_serial(ser);
        if (!match_app && vid == 0x1209 && pid == 0xABD1 && bl)
            found = strdup(name);
        else if (match_app && (unsigned)vid == want_vid && (unsigned)pid == want_pid && !bl)
            found = strdup(name);
        if (found && !quiet_find)
            fprintf(stderr, "legacy_probe: found %s %04x:%04x serial %s \"%s\"\n", found, vid, pid, ser,
                    sp_get_port_usb_product(p));
    }
    sp_free_port(p);
    return found;
}

static char *find_port(void)
{
    DIR *dir = opendir("/sys/class/tty");
    if (!dir)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(dir)))
        if (e->d_name[0] != '.' && is_usb_tty(e->d_name))
            found = match_port(e->d_name);
    closedir(dir);
    return found;
}

static void do_open(long ms)
{
    if (port) { /* the previous port hung up: let go of it */
        sp_close(port);
        sp_free_port(port);
        port = NULL;
    }
    uint64_t end = now_ms() + (uint64_t)ms;
    char *name;
    while (!(name = find_port())) {
        if (now_ms() >= end)
            fail("no %s port within %ld ms", match_app ? "application" : "bootloader", ms);
        usleep(5000);
    }
    if (sp_get_port_by_name(name, &port) != SP_OK || sp_open(port, SP_MODE_READ_WRITE) != SP_OK)
        fail("cannot open %s: %s", name, sp_last_error_message());
    if (sp_set_baudrate(port, baud) != SP_OK || sp_set_bits(port, 8) != SP_OK ||
        sp_set_parity(port, SP_PARITY_NONE) != SP_OK || sp_set_stopbits(port, 1) != SP_OK ||
        sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE) != SP_OK ||
        sp_set_dtr(port, dtr ? SP_DTR_ON : SP_DTR_OFF) != SP_OK)
        fail("cannot configure %s: %s", name, sp_last_error_message());
    sp_flush(port, SP_BUF_INPUT);
    printf("open %s\n", name);
    free(name);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t parse_hex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1] && n < cap) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            fail("bad hex '%s'", h);
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0xF94F) : (uint16_t)(crc << 1);
    }
    return crc;
}

static size_t build(const char *spec, uint8_t *out, size_t cap)
{
    char *copy = strdup(spec), *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(copy, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        if (n + 16 > cap)
            fail("write too long");
        unsigned long v = 0, v2 = 0, v3 = 0;
        if (!strcmp(tok, "start"))
            put32(out + n, 0xABCD0001u), n += 4;
        else if (!strcmp(tok, "reset"))
            put32(out + n, 0xABCD0002u), n += 4;
        else if (!strcmp(tok, "layout"))
            put32(out + n, 0xABCD0010u), n += 4;
        else if (!strcmp(tok, "qlayout"))
            put32(out + n, 0xABCD1010u), n += 4;
        else if (!strcmp(tok, "memtest"))
            put32(out + n, 0xABCD1020u), n += 4;
        else if (sscanf(tok, "erase=%lu", &v) == 1)
            put32(out + n, 0xABCD0004u), put32(out + n + 4, (uint32_t)v), n += 8;
        else if (sscanf(tok, "qerase=%lu", &v) == 1)
            put32(out + n, 0xABCD1004u), put32(out + n + 4, (uint32_t)v), n += 8;
        else if (!strcmp(tok, "write"))
            put32(out + n, 0xABCD0008u), n += 4;
        else if (!strcmp(tok, "qwrite"))
            put32(out + n, 0xABCD1008u), n += 4;
        else if (sscanf(tok, "u32=%li", (long *)&v) == 1)
            put32(out + n, (uint32_t)v), n += 4;
        else if (!strncmp(tok, "hex=", 4))
            n += parse_hex(tok + 4, out + n, cap - n);
        else if (sscanf(tok, "zeros=%lu", &v) == 1 && n + v <= cap)
            memset(out + n, 0, v), n += v;
        else if (sscanf(tok, "fill=%lu,%li", &v, (long *)&v2) == 2 && n + v <= cap)
            memset(out + n, (int)v2, v), n += v;
        else if (sscanf(tok, "v1=%li", (long *)&v) == 1) {
            uint8_t h[6] = {0x30, (uint8_t)v, 0, 0, 0, 0};
            memcpy(out + n, h, 6), n += 6;
        } else if (sscanf(tok, "v2f=%li,%lu,%lu", (long *)&v, &v2, &v3) == 3 ||
                   sscanf(tok, "v2=%li,%lu", (long *)&v, &v2) == 2) {
            if (strncmp(tok, "v2f=", 4) != 0)
                v3 = 0;
            uint8_t h[10] = {0xAA, 0xD5, (uint8_t)v2, 0, (uint8_t)v3, (uint8_t)v, 0, 0};
            uint16_t c = crc16(h, 8);
            h[8] = (uint8_t)c, h[9] = (uint8_t)(c >> 8);
            memcpy(out + n, h, 10), n += 10;
        } else
            fail("bad write token '%s'", tok);
    }
    free(copy);
    return n;
}

static void need_port(const char *step)
{
    if (!port)
        fail("%s: no open port (use find:MS first)", step);
}

/* Reads up to n bytes within ms; returns the count, -1 on hang-up. */
static long read_some(uint8_t *buf, size_t n, long ms)
{
    int fd = -1;
    sp_get_port_handle(port, &fd);
    size_t got = 0;
    uint64_t end = now_ms() + (uint64_t)ms;
    while (got < n) {
        uint64_t t = now_ms();
        if (t >= end)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(end - t));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t k = read(fd, buf + got, n - got);
        if (k > 0)
            got += (size_t)k;
        else if (k == 0 || (errno != EAGAIN && errno != EINTR))
            return got ? (long)got : -1;
    }
    return (long)got;
}

static void hexprint(const char *pfx, const uint8_t *b, size_t n)
{
    printf("%s ", pfx);
    for (size_t i = 0; i < n; i++)
        printf("%02X", b[i]);
    printf("\n");
    fflush(stdout);
}

/* Options before the steps. @return the index of the first step, or -1. */
static int parse_options(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--match") && i + 1 < argc)
            match_app = !strcmp(argv[++i], "app");
        else if (!strcmp(argv[i], "--vidpid") && i + 1 < argc) {
            if (sscanf(argv[++i], "%x:%x", &want_vid, &want_pid) != 2)
                return -1;
        } else if (!strcmp(argv[i], "--baud") && i + 1 < argc)
            baud = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-dtr"))
            dtr = false;
        else {
            fprintf(stderr, "usage: legacy_probe [--match bl|app] [--vidpid V:P] [--baud N] "
                            "[--no-dtr] STEP...\n");
            return -1;
        }
    }
    return i;
}

/* gone:MS: wait until no matching port is listed. */
static void step_gone(long ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    char *name;
    quiet_find = true;
    while ((name = find_port())) {
        free(name);
        if (now_ms() >= end)
            fail("the port is still there after %ld ms", ms);
        usleep(5000);
    }
    quiet_find = false;
    printf("gone\n");
}

/* w:HEX: one write() = one USB transfer. */
static void step_write(const char *s, const char *hex)
{
    uint8_t buf[8192];
    need_port(s);
    size_t len = build(hex, buf, sizeof(buf));
    int fd = -1;
    sp_get_port_handle(port, &fd);
    ssize_t k = write(fd, buf, len);
    if (k != (ssize_t)len)
        fail("write of %zu bytes returned %zd (%s)", len, k, strerror(errno));
}

/* expect:HEX[:MS]: exactly these bytes arrive within MS (default 1000). */
static void step_expect(const char *s)
{
    uint8_t buf[8192], want[4096];
    char hex[8192];
    long ms = 1000;
    need_port(s);
    snprintf(hex, sizeof(hex), "%s", s + 7);
    char *colon = strchr(hex, ':');
    if (colon)
        *colon = '\0', ms = atol(colon + 1);
    size_t wn = parse_hex(hex, want, sizeof(want));
    long got = read_some(buf, wn, ms);
    if (got < 0 || (size_t)got != wn || memcmp(buf, want, wn)) {
        hexprint("rx", buf, got > 0 ? (size_t)got : 0);
        fail("%s: got %ld bytes", s, got);
    }
    hexprint("rx", buf, wn);
}

/* The steps that read: read:N[:MS], none:MS, hup:MS. @return false if @p s is none of them. */
static bool step_read(const char *s)
{
    uint8_t buf[8192];
    long ms = 1000, n = 0;
    if (sscanf(s, "read:%ld:%ld", &n, &ms) >= 1) {
        need_port(s);
        long got = read_some(buf, (size_t)n, ms);
        if (got != n)
            fail("%s: got %ld bytes", s, got);
        hexprint("rx", buf, (size_t)n);
    } else if (sscanf(s, "none:%ld", &ms) == 1) {
        need_port(s);
        long got = read_some(buf, 1, ms);
        if (got > 0)
            fail("%s: unexpected byte %02X", s, buf[0]);
    } else if (sscanf(s, "hup:%ld", &ms) == 1) {
        need_port(s);
        uint64_t end = now_ms() + (uint64_t)ms;
        while (read_some(buf, sizeof(buf), 20) >= 0)
            if (now_ms() >= end)
                fail("%s: the port did not hang up", s);
        printf("hangup\n");
    } else
        return false;
    return true;
}

static void run_step(const char *s)
{
    long ms = 1000;
    if (!strcmp(s, "match:app") || !strcmp(s, "match:bl"))
        match_app = !strcmp(s, "match:app");
    else if (sscanf(s, "find:%ld", &ms) == 1)
        do_open(ms);
    else if (sscanf(s, "gone:%ld", &ms) == 1)
        step_gone(ms);
    else if (!strcmp(s, "close")) {
        need_port(s);
        sp_close(port);
        sp_free_port(port);
        port = NULL;
    } else if (sscanf(s, "sleep:%ld", &ms) == 1)
        usleep((useconds_t)ms * 1000);
    else if (!strncmp(s, "w:", 2))
        step_write(s, s + 2);
    else if (!strncmp(s, "expect:", 7))
        step_expect(s);
    else if (!step_read(s))
        fail("unknown step '%s'", s);
}

int main(int argc, char **argv)
{
    int i = parse_options(argc, argv);
    if (i < 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (; i < argc; i++)
        run_step(argv[i]);
    if (port) {
        sp_close(port);
        sp_free_port(port);
    }
    return 0;
}
