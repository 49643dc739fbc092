/*
 * ota_status.c - names of the status codes, for logs, and the standard
 * texts of the result codes, as sent in status messages.
 */
#include "cellota/ota_status.h"

/* String i of a run of NUL-terminated strings, or the last (number `last`)
 * when i is past it. */
static const char *nth(const char *p, unsigned i, unsigned last)
{
    if (i > last) {
        i = last;
    }
    while (i > 0u) {
        while (*p++ != '\0') {
        }
        i--;
    }
    return p;
}

const char *ota_status_str(ota_status_t st)
{
    /* The names of 0, -1, ... -9 in turn, then the one for any other value. */
    static const char names[] = "ok\0bad parameter\0wrong state\0port failure\0no space\0"
                                "bad format\0out of range\0checksum mismatch\0not found\0"
                                "timeout\0unknown";
    return nth(names, 0u - (unsigned)st, 10u); /* 0 for OTA_OK, 1..9 for the errors */
}

const char *ota_code_str(ota_code_t code)
{
    /* Dragino's texts of codes 1..7, then 100; "" for any other value. */
    static const char texts[] = "\0firmware title mismatch\0hardware not supported\0"
                                "command format error\0OTA server connection timeout\0"
                                "firmware title not found\0firmware version match, nothing to do\0"
                                "firmware checksum error\0OTA update successful, waiting for reboot";
    unsigned i = (unsigned)code;

    if (i > (unsigned)OTA_CODE_CHECKSUM) {
        i = (code == OTA_CODE_SUCCESS) ? 8u : 0u;
    }
    return nth(texts, i, 8u);
}
