/*
 * A program that uses an installed cellota, the way a vendor's firmware
 * build would: built by tests/package/CMakeLists.txt through
 * find_package(cellota) and by tests/package/Makefile from
 * cellota_sources.mk. It checks that the public headers compile on their own
 * (C99, -Wpedantic) and that the library links and answers.
 */
#include <stdio.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_client.h"
#include "cellota/ota_config.h"
#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"
#include "cellota/ota_port.h"
#include "cellota/ota_settings.h"
#include "cellota/ota_sha256.h"
#include "cellota/ota_status.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) {
        failures++;
    }
}

int main(void)
{
    static ota_client_t client; /* caller-owned context, no malloc */
    ota_config_t cfg;
    char hex[9];

    check(ota_crc32(0u, "123456789", 9u) == 0xCBF43926u, "ota_crc32(\"123456789\") == 0xCBF43926");
    ota_crc32_to_tb_hex(0xCBF43926u, hex);
    check(strcmp(hex, "2639f4cb") == 0, "ota_crc32_to_tb_hex(0xCBF43926) == \"2639f4cb\"");

    check(ota_client_init(NULL, NULL) == OTA_ERR_PARAM,
          "ota_client_init(NULL, NULL) == OTA_ERR_PARAM");
    ota_config_defaults(&cfg);
    check(cfg.window == 1u, "ota_config_defaults: window 1");
    check(ota_client_init(&client, NULL) == OTA_ERR_PARAM,
          "ota_client_init(&client, NULL) == OTA_ERR_PARAM");
    check(ota_client_init(&client, &cfg) == OTA_ERR_PARAM,
          "ota_client_init with no ports == OTA_ERR_PARAM");
    check(ota_client_start(NULL) == OTA_ERR_PARAM, "ota_client_start(NULL) == OTA_ERR_PARAM");
    check(ota_status_str(OTA_ERR_PARAM) != NULL, "ota_status_str returns a string");

    printf("sizeof(ota_client_t) on this host: %u bytes\n", (unsigned)sizeof(ota_client_t));
    if (failures != 0) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
