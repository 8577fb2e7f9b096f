/* dfuse_probe: a tiny libusb host for the DFU self-tests (dfuse_selftest.sh,
 * dfu_fidelity_selftest.sh). It sends the raw DFU
 * requests dfu-util never sends (UPLOAD block 0, DNLOAD block 1, unsupported
 * commands, early GETSTATUS polls, CLRSTATUS in odd states) and prints every
 * answer on one line, so the self-test can check the device model exactly.
 *
 *   dfuse_probe VID:PID STEP...
 *     alt:N           SET_INTERFACE alt N
 *     dn:BLOCK:HEX    DNLOAD wValue BLOCK with the bytes HEX ("-" = zero length)
 *     up:BLOCK:LEN    UPLOAD, prints "up HEX" (or "up ERR <libusb error>")
 *     st              GETSTATUS, prints "st status=S state=T poll=P ms=M"
 *                     (M: how long the request took, in ms)
 *     clr | abort     CLRSTATUS / ABORT, prints "clr ok" or "clr ERR ..."
 *     state           GETSTATE, prints "state T"
 *     gone:MS         GETSTATE every 10 ms until it fails (prints "gone") or MS
 *                     pass (prints "still there")
 *     sleep:MS
 *     to:MS           control timeout of the following requests (default 5000)
 *     reset           USB port reset, prints "reset ok" or "reset ERR ..."
 *     release         release interface 0, prints "release ok" or "release ERR ..."
 *     config:N        set configuration N (-1: unconfigured), prints "config ok" or
 *                     "config ERR ..."
 * Exit 0 when every step could be sent (errors from the device are printed,
 * not fatal), 1 if the device is not there, 2 on usage errors. */
#define _POSIX_C_SOURCE 200809L
#include <libusb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DNLOAD = 1, UPLOAD, GETSTATUS, CLRSTATUS, GETSTATE, ABORT };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static unsigned timeout_ms = 5000;

static int ctrl(libusb_device_handle *h, int in, uint8_t req, uint16_t value, uint8_t *buf,
                uint16_t len)
{
    uint8_t rt = (in ? LIBUSB_ENDPOINT_IN : LIBUSB_ENDPOINT_OUT) | LIBUSB_REQUEST_TYPE_CLASS |
                 LIBUSB_RECIPIENT_INTERFACE;
    return libusb_control_transfer(h, rt, req, value, 0, buf, len, timeout_ms);
}

static size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (!strcmp(s, "-"))
        return 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void print_result(const char *what, int r)
{
    if (r < 0)
        printf("%s ERR %s\n", what, libusb_error_name(r));
    else
        printf("%s ok\n", what);
}

static int step(libusb_device_handle *h, const char *s)
{
    static uint8_t buf[8192];
    unsigned a = 0, b = 0;
    int r, c;
    if (sscanf(s, "alt:%u", &a) == 1) {
        print_result("alt", libusb_set_interface_alt_setting(h, 0, (int)a));
    } else if (sscanf(s, "dn:%u:", &a) == 1) {
        const char *hex = strchr(s + 3, ':') + 1;
        size_t n = parse_hex(hex, buf, sizeof(buf));
        print_result("dn", ctrl(h, 0, DNLOAD, (uint16_t)a, n ? buf : NULL, (uint16_t)n));
    } else if (sscanf(s, "up:%u:%u", &a, &b) == 2 && b <= sizeof(buf)) {
        r = ctrl(h, 1, UPLOAD, (uint16_t)a, buf, (uint16_t)b);
        if (r < 0) {
            printf("up ERR %s\n", libusb_error_name(r));
            return 0;
        }
        printf("up ");
        for (int i = 0; i < r; i++)
            printf("%02x", buf[i]);
        printf("\n");
    } else if (!strcmp(s, "st")) {
        double t0 = now_ms();
        r = ctrl(h, 1, GETSTATUS, 0, buf, 6);
        if (r < 6) {
            printf("st ERR %s\n", r < 0 ? libusb_error_name(r) : "short");
            return 0;
        }
        printf("st status=%u state=%u poll=%u ms=%.0f\n", buf[0], buf[4],
               buf[1] | buf[2] << 8 | buf[3] << 16, now_ms() - t0);
    } else if (!strcmp(s, "clr") || !strcmp(s, "abort")) {
        print_result(s, ctrl(h, 0, s[0] == 'c' ? CLRSTATUS : ABORT, 0, NULL, 0));
    } else if (!strcmp(s, "state")) {
        r = ctrl(h, 1, GETSTATE, 0, buf, 1);
        if (r == 1)
            printf("state %u\n", buf[0]);
        else
            printf("state ERR %s\n", libusb_error_name(r));
    } else if (sscanf(s, "gone:%u", &a) == 1) {
        double end = now_ms() + a;
        while ((r = ctrl(h, 1, GETSTATE, 0, buf, 1)) == 1 && now_ms() < end) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
        printf("%s\n", r == 1 ? "still there" : "gone");
    } else if (sscanf(s, "to:%u", &a) == 1) {
        timeout_ms = a;
    } else if (!strcmp(s, "reset")) {
        print_result("reset", libusb_reset_device(h));
    } else if (!strcmp(s, "release")) {
        print_result("release", libusb_release_interface(h, 0));
    } else if (sscanf(s, "config:%d", &c) == 1) {
        print_result("config", libusb_set_configuration(h, c));
    } else if (sscanf(s, "sleep:%u", &a) == 1) {
        struct timespec ts = {a / 1000, (long)(a % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    } else {
        fprintf(stderr, "dfuse_probe: bad step '%s'\n", s);
        return 2;
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned vid, pid;
    if (argc < 2 || sscanf(argv[1], "%x:%x", &vid, &pid) != 2) {
        fprintf(stderr, "usage: dfuse_probe VID:PID STEP...\n");
        return 2;
    }
    libusb_context *ctx = NULL;
    if (libusb_init(&ctx) < 0)
        return 1;
    libusb_device_handle *h = libusb_open_device_with_vid_pid(ctx, (uint16_t)vid, (uint16_t)pid);
    if (!h || libusb_claim_interface(h, 0) < 0) {
        fprintf(stderr, "dfuse_probe: no %04x:%04x\n", vid, pid);
        if (h)
            libusb_close(h);
        libusb_exit(ctx);
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc && !rc; i++)
        rc = step(h, argv[i]);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return rc;
}
