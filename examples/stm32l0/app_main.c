/*
 * app_main.c - the application image of the STM32L072CZ reference board
 * (flash from 0x08002000): the cellota OTA client over a Quectel BG95-M2 /
 * BC660K-GL, run from a super-loop that sleeps until the next deadline.
 *
 * - At start-up: clocks, millisecond clock, watchdog, modem UART and pins,
 *   SPI NOR, settings from the data EEPROM (server and credentials; the
 *   running firmware's title and version are compiled in), the Quectel
 *   driver as the client's MQTT transport.
 * - An update check runs at start-up and then every CHECK_PERIOD_MS.
 * - What the bootloader did last is read with ota_boot_result(). While the
 *   client's connection is up, a new image on trial confirms itself
 *   (ota_boot_confirm()) - it has reached its server - and the outcome is
 *   reported once on the uplink: "OTA Update OK, Firmware Title: <t> Ver:
 *   <v>" after an update, or the reason after a rollback or a rejected image.
 * - After code 100 the client reboots into the bootloader (reboot_delay_ms).
 * - Between events the CPU sleeps (WFI) until the earliest deadline of the
 *   client, the driver and the next check; a byte from the modem wakes it.
 *   The module is powered down while no update runs.
 *
 * Server settings come from the data EEPROM (an AT+OTA* console, ota_at.h,
 * can set them; this example has none) or, on a blank EEPROM, from the
 * CELLOTA_APP_* macros below.
 */
#include <string.h>

#include "board.h"
#include "cellota/ota_at.h"
#include "cellota/ota_boot.h"
#include "cellota/ota_client.h"
#include "cellota/ota_settings.h"
#include "cellota/quectel.h"
#include "cellota_stm32l0.h"

#ifndef CELLOTA_APP_TITLE
#define CELLOTA_APP_TITLE "cellota-l0" /* the firmware's title on the server */
#endif
#ifndef CELLOTA_APP_VERSION
#define CELLOTA_APP_VERSION "v1.0.0" /* this build's version */
#endif
#ifndef CELLOTA_APP_HOST
#define CELLOTA_APP_HOST "thingsboard.cloud"
#endif
#ifndef CELLOTA_APP_PORT
#define CELLOTA_APP_PORT 1883u
#endif
#ifndef CELLOTA_APP_TOKEN
#define CELLOTA_APP_TOKEN "" /* the device's access token */
#endif

#define CHECK_PERIOD_MS (24u * 3600u * 1000u)
#define REBOOT_DELAY_MS 5000u
#define UPLINK_TOPIC "v1/devices/me/telemetry"

static ota_client_t ota;
static ota_config_t ota_cfg;
static ota_settings_t settings;
static ota_store_t store;
static quectel_t modem;
static quectel_config_t modem_cfg;
static ota_modem_t modem_if;
static char imei[QUECTEL_IMEI_MAX + 1];
static ota_boot_info_t boot;
static bool report_due;
static bool modem_parked;

static bool link_up(void)
{
    return ota_cfg.transport.state(ota_cfg.transport.ctx) == OTA_LINK_UP;
}

/* Status messages go out on the OTA connection while it is up. */
static int uplink_send(void *ctx, const char *m, size_t len)
{
    (void)ctx;
    if (!link_up()) {
        return -1;
    }
    return ota_cfg.transport.publish(ota_cfg.transport.ctx, UPLINK_TOPIC, (const uint8_t *)m, len,
                                     1u);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    n = (n < cap) ? n : cap - 1u;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void settings_init(void)
{
    cellota_l0_eeprom_store(&store);
    if (ota_settings_load(&store, &settings) != OTA_OK) {
        ota_settings_defaults(&settings, CELLOTA_APP_TITLE, CELLOTA_APP_VERSION);
        copy_str(settings.host, sizeof settings.host, CELLOTA_APP_HOST);
        settings.port = (uint16_t)CELLOTA_APP_PORT;
        copy_str(settings.username, sizeof settings.username, CELLOTA_APP_TOKEN);
    }
    /* The running firmware knows its own version (the store may hold the old one). */
    copy_str(settings.version, sizeof settings.version, CELLOTA_APP_VERSION);
    if (settings.client_id[0] == '\0') {
        copy_str(settings.client_id, sizeof settings.client_id, CELLOTA_APP_TITLE);
    }
}

static void modem_init(void)
{
    cellota_l0_modem_gpio_init();
    cellota_l0_modem_uart_init();
    quectel_config_defaults(&modem_cfg);
    cellota_l0_modem_uart(&modem_cfg.uart);
    cellota_l0_modem_gpio(&modem_cfg.gpio);
    cellota_l0_clock(&modem_cfg.clock);
    (void)quectel_init(&modem, &modem_cfg);
    quectel_modem(&modem, &modem_if);
}

static void client_init(void)
{
    ota_config_defaults(&ota_cfg);
    quectel_transport(&modem, &ota_cfg.transport);
    cellota_l0_nor(&ota_cfg.flash);
    cellota_l0_clock(&ota_cfg.clock);
    ota_cfg.uplink.send = uplink_send;
    cellota_l0_reboot_port(&ota_cfg.reboot);
    ota_cfg.settings = &settings;
    ota_cfg.imei = imei;
    ota_cfg.meta_addr = CELLOTA_BOARD_META_ADDR;
    ota_cfg.slot_addr = CELLOTA_BOARD_SLOT_ADDR;
    ota_cfg.slot_size = CELLOTA_BOARD_SLOT_SIZE;
    ota_cfg.reboot_delay_ms = REBOOT_DELAY_MS;
    (void)ota_client_init(&ota, &ota_cfg);
}

/* Confirm a trial image and report the outcome, once, while connected. */
static void boot_outcome(void)
{
    static char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    ota_status_t st;

    if (boot.state == OTA_BOOT_ST_TRIAL) {
        if (ota_boot_confirm(&ota_cfg.flash, CELLOTA_BOARD_META_ADDR) != OTA_OK) {
            /* Not confirmed: no download may replace the trial's records
             * (it would erase them); the next reset tries again. */
            (void)ota_client_abort(&ota);
            return;
        }
        boot.state = OTA_BOOT_ST_UPDATED;
    }
    if (!report_due || boot.state == OTA_BOOT_ST_TRIAL || imei[0] == '\0') {
        return;
    }
    if (boot.state == OTA_BOOT_ST_UPDATED) {
        st = ota_at_update_ok_msg(msg, sizeof msg, imei, boot.title, boot.version, &len);
    } else {
        st = ota_at_rollback_msg(msg, sizeof msg, imei, boot.title, boot.version,
                                 ota_boot_reason_str(boot.reason), &len);
    }
    if (st == OTA_OK && uplink_send(NULL, msg, len) == 0) {
        (void)ota_boot_mark_reported(&ota_cfg.flash, CELLOTA_BOARD_META_ADDR);
        report_due = false;
    }
}

static bool before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

/* Power the module down once the client is idle and MQTT is closed. */
static void park_modem(void)
{
    ota_client_info_t info;

    (void)ota_client_info(&ota, &info);
    if (info.state != OTA_STATE_IDLE) {
        modem_parked = false;
    } else if (!modem_parked && quectel_state(&modem) == QUECTEL_ST_READY) {
        modem_parked = modem_if.power_down(modem_if.ctx) == 0;
    }
}

int main(void)
{
    uint32_t next_check;

    cellota_l0_system_init();
    (void)cellota_l0_clock_init();
    cellota_l0_watchdog_start();
    cellota_l0_nor_init();
    settings_init();
    modem_init();
    client_init();
    if (ota_boot_result(&ota_cfg.flash, CELLOTA_BOARD_META_ADDR, &boot) == OTA_OK) {
        report_due = !boot.reported && boot.state != OTA_BOOT_ST_NONE &&
                     boot.state != OTA_BOOT_ST_PENDING;
        if (boot.state == OTA_BOOT_ST_ROLLED_BACK || boot.state == OTA_BOOT_ST_REJECTED) {
            ota_cfg.refused_version = boot.version; /* never install it again */
        }
        if (report_due) {
            /* fw_state UPDATED, or FAILED with the reason, on the next connection */
            (void)ota_client_report_boot(&ota, boot.state == OTA_BOOT_ST_TRIAL ||
                                                       boot.state == OTA_BOOT_ST_UPDATED
                                                   ? NULL
                                                   : ota_boot_reason_str(boot.reason));
        }
    }
    next_check = cellota_l0_millis();

    for (;;) {
        uint32_t now = cellota_l0_millis();
        uint32_t deadline;
        uint32_t at;

        cellota_l0_watchdog_kick();
        (void)ota_client_poll(&ota, now);
        (void)quectel_poll(&modem, now);
        if (imei[0] == '\0') {
            (void)modem_if.imei(modem_if.ctx, imei, sizeof imei);
        }
        if (link_up()) {
            boot_outcome();
        }
        if (!before(now, next_check)) {
            (void)ota_client_start(&ota); /* refused while one runs: fine */
            next_check = now + CHECK_PERIOD_MS;
        }
        park_modem();
        deadline = next_check;
        if (ota_client_next_deadline(&ota, &at) && before(at, deadline)) {
            deadline = at;
        }
        if (quectel_next_deadline(&modem, &at) && before(at, deadline)) {
            deadline = at;
        }
        cellota_l0_sleep_until(deadline);
    }
}
