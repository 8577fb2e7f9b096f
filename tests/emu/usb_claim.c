/* usb_claim: a test helper standing for "another program has the camera"
 * (the OpenMV IDE, dfu-util mid-transfer): it opens the first USB device
 * with the given VID:PID through libusb, claims its interface 0, prints
 * "claimed" and holds the claim until SECONDS passed or SIGTERM/SIGINT came,
 * then releases it. Exit 0 when it held the claim, 1 otherwise.
 *
 *   usb_claim VID:PID SECONDS */
#define _POSIX_C_SOURCE 200809L
#include <libusb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    unsigned vid, pid;
    if (argc != 3 || sscanf(argv[1], "%x:%x", &vid, &pid) != 2) {
        fprintf(stderr, "usage: usb_claim VID:PID SECONDS\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    libusb_context *ctx = NULL;
    if (libusb_init(&ctx) != 0)
        return 1;
    libusb_device_handle *h = libusb_open_device_with_vid_pid(ctx, (uint16_t)vid, (uint16_t)pid);
    int r = h ? libusb_claim_interface(h, 0) : LIBUSB_ERROR_NOT_FOUND;
    if (r != 0) {
        fprintf(stderr, "usb_claim: %04x:%04x: %s\n", vid, pid, libusb_error_name(r));
        if (h)
            libusb_close(h);
        libusb_exit(ctx);
        return 1;
    }
    printf("claimed\n");
    fflush(stdout);
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (long ms = 0; !stop && ms < atol(argv[2]) * 1000; ms += 10)
        nanosleep(&tick, NULL);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
