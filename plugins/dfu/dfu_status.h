/*
 * Pure DFU 1.1 protocol helpers: names and words for status codes and
 * states, the GETSTATUS reply, the functional descriptor, DFU interfaces in a
 * configuration descriptor, string descriptors, the openmv_dfu bootloader
 * header and USB port paths. No libusb, no I/O: unit-tested on byte arrays.
 */
#ifndef OMV_DFU_STATUS_H
#define OMV_DFU_STATUS_H

#include <stddef.h>
#include <stdint.h>

/* Class requests (DFU 1.1 table 3.2). */
enum dfu_request {
    DFU_DETACH = 0,
    DFU_DNLOAD = 1,
    DFU_UPLOAD = 2,
    DFU_GETSTATUS = 3,
    DFU_CLRSTATUS = 4,
    DFU_GETSTATE = 5,
    DFU_ABORT = 6,
};

/* bState values. */
enum dfu_state {
    DFU_STATE_APP_IDLE = 0,
    DFU_STATE_APP_DETACH = 1,
    DFU_STATE_IDLE = 2,
    DFU_STATE_DNLOAD_SYNC = 3,
    DFU_STATE_DNBUSY = 4,
    DFU_STATE_DNLOAD_IDLE = 5,
    DFU_STATE_MANIFEST_SYNC = 6,
    DFU_STATE_MANIFEST = 7,
    DFU_STATE_MANIFEST_WAIT_RESET = 8,
    DFU_STATE_UPLOAD_IDLE = 9,
    DFU_STATE_ERROR = 10,
};

/* bStatus values. */
enum dfu_status_code {
    DFU_STATUS_OK = 0x00,
    DFU_STATUS_ERR_TARGET = 0x01,
    DFU_STATUS_ERR_FILE = 0x02,
    DFU_STATUS_ERR_WRITE = 0x03,
    DFU_STATUS_ERR_ERASE = 0x04,
    DFU_STATUS_ERR_CHECK_ERASED = 0x05,
    DFU_STATUS_ERR_PROG = 0x06,
    DFU_STATUS_ERR_VERIFY = 0x07,
    DFU_STATUS_ERR_ADDRESS = 0x08,
    DFU_STATUS_ERR_NOTDONE = 0x09,
    DFU_STATUS_ERR_FIRMWARE = 0x0A,
    DFU_STATUS_ERR_VENDOR = 0x0B,
    DFU_STATUS_ERR_USBR = 0x0C,
    DFU_STATUS_ERR_POR = 0x0D,
    DFU_STATUS_ERR_UNKNOWN = 0x0E,
    DFU_STATUS_ERR_STALLEDPKT = 0x0F,
};

#define DFU_INTERFACE_CLASS 0xFE
#define DFU_INTERFACE_SUBCLASS 0x01
#define DFU_PROTOCOL_RUNTIME 0x01
#define DFU_PROTOCOL_DFU_MODE 0x02
#define DFU_FUNC_DESC_TYPE 0x21
#define DFU_STATUS_LEN 6

/* bmAttributes bits of the functional descriptor. */
#define DFU_ATTR_CAN_DNLOAD 0x01
#define DFU_ATTR_CAN_UPLOAD 0x02
#define DFU_ATTR_MANIFEST_TOLERANT 0x04
#define DFU_ATTR_WILL_DETACH 0x08

/* openmv_dfu bootloader header (FW boot/include/header.h). */
#define DFU_BOOT_HEADER_MAGIC 0xB00710ADu
#define DFU_BOOT_HEADER_OFFSET 0x1000u
#define DFU_BOOT_HEADER_LEN 32u

/** Most alt settings one DFU interface may have here. */
#define DFU_MAX_ALTS 32

/** Name of a status code ("errWRITE"), or "err?" for values outside DFU 1.1. */
const char *dfu_status_name(uint8_t status);
/** What a status code means in a few words ("write/program failed"). */
const char *dfu_status_words(uint8_t status);
/** Name of a state ("dfuDNLOAD-IDLE"), or "dfu?" for values outside DFU 1.1. */
const char *dfu_state_name(uint8_t state);

/**
 * Format "device reported errWRITE (0x03: write/program failed), state dfuERROR"
 * into @p out (always NUL-terminated). Unknown codes are printed as numbers.
 */
void dfu_describe_status(char *out, size_t n, uint8_t status, uint8_t state);

/** A parsed GETSTATUS reply. */
struct dfu_status {
    uint8_t status;        /**< bStatus */
    uint32_t poll_timeout; /**< bwPollTimeout, ms (24-bit) */
    uint8_t state;         /**< bState */
    uint8_t istring;       /**< iString */
};

/** Parse the 6-byte GETSTATUS reply. @return 0, or -1 if @p len is not 6. */
int dfu_parse_status(const uint8_t *buf, size_t len, struct dfu_status *out);

/** The DFU functional descriptor (type 0x21). */
struct dfu_func_desc {
    int present;             /**< 1 when found */
    uint8_t attributes;      /**< bmAttributes */
    uint16_t detach_timeout; /**< wDetachTimeOut, ms */
    uint16_t transfer_size;  /**< wTransferSize, bytes */
    uint16_t bcd_dfu;        /**< bcdDFUVersion, 0 if the descriptor is the 7-byte DFU 1.0 form */
};

/**
 * Find the functional descriptor in a run of descriptors (e.g. the "extra"
 * bytes libusb keeps after an interface descriptor, or a whole configuration
 * descriptor). @return 1 found, 0 absent, -1 malformed run.
 */
int dfu_find_func_desc(const uint8_t *buf, size_t len, struct dfu_func_desc *out);

/** One alternate setting of a DFU interface. */
struct dfu_alt {
    uint8_t alt;      /**< bAlternateSetting */
    uint8_t protocol; /**< bInterfaceProtocol (1 runtime, 2 DFU mode) */
    uint8_t istring;  /**< iInterface: string index of the alt's name */
};

/** The first DFU interface of a configuration. */
struct dfu_layout {
    int found;         /**< 1 when a DFU interface exists */
    uint8_t iface;     /**< bInterfaceNumber */
    size_t n_alts;
    struct dfu_alt alts[DFU_MAX_ALTS];
    struct dfu_func_desc func;
};

/**
 * Walk a raw configuration descriptor (wTotalLength bytes) and collect the
 * first DFU interface (class 0xFE, subclass 0x01): its alt settings in order
 * and its functional descriptor. @return 0, or -1 if the bytes are malformed.
 */
int dfu_parse_config(const uint8_t *cfg, size_t len, struct dfu_layout *out);

/**
 * Decode a raw string descriptor (bLength, 0x03, UTF-16LE) into UTF-8.
 * Characters outside the BMP become '?'. @return bytes written (without the
 * NUL), or -1 if it is not a string descriptor.
 */
int dfu_parse_string_desc(const uint8_t *buf, size_t len, char *out, size_t outlen);

/** First LANGID of string descriptor 0. @return 0, or -1 if there is none. */
int dfu_parse_langid(const uint8_t *buf, size_t len, uint16_t *langid);

/**
 * Parse the 32-byte openmv_dfu bootloader header: magic 0xB00710AD (LE),
 * major, minor, patch. Writes "1.0.3" to @p out.
 * @return 1 when the magic is present, 0 otherwise (@p out set to "").
 */
int dfu_parse_boot_header(const uint8_t *buf, size_t len, char *out, size_t outlen);

/**
 * Format a port path "B-P.P.P" from a bus number and the port chain
 * (libusb_get_port_numbers). @return 0, or -1 if @p out is too small.
 */
int dfu_format_port_path(uint8_t bus, const uint8_t *ports, int n_ports, char *out, size_t outlen);

#endif /* OMV_DFU_STATUS_H */
