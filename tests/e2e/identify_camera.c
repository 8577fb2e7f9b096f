/*
 * identify_camera BOARD [PORT]: omv_identify() through the installed-API
 * library, for the end-to-end tests. Prints what the camera running its
 * application says about itself, one "key=value" per line, and exits with
 * the status (the error on stderr).
 */
#include <stdio.h>
#include <string.h>

#include <omvflash/omvflash.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: identify_camera BOARD [PORT]\n");
        return OMV_E_USAGE;
    }
    omv_error err;
    omv_error_clear(&err);
    omv_board *b = NULL;
    omv_status st = omv_board_load(argv[1], &b, &err);
    struct omv_app_info info;
    omv_request req;
    memset(&req, 0, sizeof req);
    req.port_path = argc > 2 ? argv[2] : NULL;
    req.wait_ms = 3000;
    if (st == OMV_OK)
        st = omv_identify(b, &req, NULL, &info, &err);
    omv_board_free(b);
    if (st != OMV_OK) {
        fprintf(stderr, "identify_camera: %s\n", err.msg);
        return (int)st;
    }
    printf("protocol=%u\nfirmware=%s\narch=%s\nunique_id=%s\nusb_id=%04X:%04X\nbootloader=%s\nport=%s\nserial=%s\n",
           info.protocol, info.firmware_version, info.arch, info.unique_id, info.usb_id.vid, info.usb_id.pid,
           info.bootloader_version, info.device.port_path, info.device.serial);
    return 0;
}
