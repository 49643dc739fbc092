/*
 * fuzz_records - the records read back from non-volatile memory, which a
 * power cut or a worn cell can leave in any state: the boot request
 * (ota_bootreq_decode) and the settings store (ota_settings_load).
 *
 * Input: [92 bytes of boot request][the settings store...]. A request that
 * decodes must encode back to the same fields; loaded settings must be
 * NUL-terminated within their arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_settings.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STORE_SIZE (2u * OTA_SETTINGS_RECORD_SIZE)

static uint8_t g_store[STORE_SIZE];

static int st_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    FUZZ_CHECK(off <= STORE_SIZE && len <= STORE_SIZE - off);
    memcpy(buf, &g_store[off], len);
    return 0;
}

static int st_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx;
    (void)off;
    (void)buf;
    (void)len;
    FUZZ_CHECK(0); /* loading never writes */
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t rec[OTA_BOOTREQ_SIZE];
    uint8_t again[OTA_BOOTREQ_SIZE];
    ota_bootreq_t req;
    ota_settings_t s;
    ota_store_t port = {NULL, STORE_SIZE, st_read, st_write};
    size_t n = 0;
    const uint8_t *p = fz_bytes(&in, sizeof rec, &n);

    memset(rec, 0xFF, sizeof rec);
    memcpy(rec, p, n);
    if (ota_bootreq_decode(rec, &req) == OTA_OK) {
        FUZZ_CHECK(strlen(req.title) <= OTA_BOOTREQ_STR_MAX);
        FUZZ_CHECK(strlen(req.version) <= OTA_BOOTREQ_STR_MAX);
        FUZZ_CHECK(ota_bootreq_encode(&req, again) == OTA_OK);
        /* The same record again, except the reserved fields (bytes 6-7 and
         * 86-87, which the decoder ignores so that later layouts can use
         * them) and so the CRC. */
        FUZZ_CHECK(memcmp(rec, again, 6u) == 0 && memcmp(rec + 8, again + 8, 78u) == 0);
    }
    memset(g_store, 0xFF, sizeof g_store);
    p = fz_bytes(&in, sizeof g_store, &n);
    memcpy(g_store, p, n);
    if (ota_settings_load(&port, &s) == OTA_OK) {
        FUZZ_CHECK(memchr(s.host, '\0', sizeof s.host) != NULL);
        FUZZ_CHECK(memchr(s.client_id, '\0', sizeof s.client_id) != NULL);
        FUZZ_CHECK(memchr(s.username, '\0', sizeof s.username) != NULL);
        FUZZ_CHECK(memchr(s.password, '\0', sizeof s.password) != NULL);
        FUZZ_CHECK(memchr(s.title, '\0', sizeof s.title) != NULL);
        FUZZ_CHECK(memchr(s.version, '\0', sizeof s.version) != NULL);
    }
    return 0;
}
