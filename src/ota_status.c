/*
 * ota_status.c - names of the status codes, for logs.
 */
#include "cellota/ota_status.h"

const char *ota_status_str(ota_status_t st)
{
    switch (st) {
    case OTA_OK:
        return "ok";
    case OTA_ERR_PARAM:
        return "bad parameter";
    case OTA_ERR_STATE:
        return "wrong state";
    case OTA_ERR_PORT:
        return "port failure";
    case OTA_ERR_NOSPACE:
        return "no space";
    case OTA_ERR_FORMAT:
        return "bad format";
    case OTA_ERR_RANGE:
        return "out of range";
    case OTA_ERR_CHECKSUM:
        return "checksum mismatch";
    case OTA_ERR_NOT_FOUND:
        return "not found";
    case OTA_ERR_TIMEOUT:
        return "timeout";
    default:
        return "unknown";
    }
}
