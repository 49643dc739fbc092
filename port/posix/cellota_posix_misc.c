/* Clock, stderr log, reboot flag and error names of the POSIX port. */
#include "cellota_posix/cellota_posix.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- clock --------------------------------------------------------------- */

uint32_t cellota_posix_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0u;
    }
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;
}

static uint32_t clock_now(void *ctx)
{
    (void)ctx;
    return cellota_posix_now_ms();
}

ota_clock_t cellota_posix_clock(void)
{
    ota_clock_t c;
    c.ctx = NULL;
    c.now_ms = clock_now;
    return c;
}

/* ---- log ----------------------------------------------------------------- */

static const char *level_word(ota_log_level_t level)
{
    switch (level) {
    case OTA_LOG_ERROR:
        return "error: ";
    case OTA_LOG_WARN:
        return "warning: ";
    case OTA_LOG_DEBUG:
        return "debug: ";
    case OTA_LOG_INFO:
    default:
        return "";
    }
}

static void log_write(void *ctx, ota_log_level_t level, const char *line)
{
    const cellota_log_stderr_t *l = ctx;
    if (l == NULL || line == NULL || level > l->max_level) {
        return;
    }
    if (l->before_line != NULL) {
        l->before_line(l->arg);
    }
    (void)fprintf(stderr, "%s%s%s\n", l->prefix != NULL ? l->prefix : "", level_word(level), line);
}

ota_log_t cellota_log_stderr_port(cellota_log_stderr_t *l)
{
    ota_log_t p;
    p.ctx = l;
    p.write = log_write;
    return p;
}

int cellota_log_level_parse(const char *name, ota_log_level_t *out)
{
    static const struct {
        const char *name;
        const char *digit;
        ota_log_level_t level;
    } names[] = {
        {"error", "0", OTA_LOG_ERROR},
        {"warn", "1", OTA_LOG_WARN},
        {"info", "2", OTA_LOG_INFO},
        {"debug", "3", OTA_LOG_DEBUG},
    };
    if (name == NULL || out == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    for (size_t i = 0u; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0 || strcmp(name, names[i].digit) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = OTA_LOG_WARN;
        return 0;
    }
    return CELLOTA_POSIX_EPARAM;
}

/* ---- reboot -------------------------------------------------------------- */

static void reboot_request(void *ctx)
{
    cellota_reboot_flag_t *r = ctx;
    if (r == NULL) {
        return;
    }
    r->requested = true;
    r->count++;
}

ota_reboot_t cellota_reboot_flag_port(cellota_reboot_flag_t *r)
{
    ota_reboot_t p;
    p.ctx = r;
    p.reboot = reboot_request;
    return p;
}

/* ---- error names ----------------------------------------------------------- */

static const char *mqtt_strerror(int mosq_rc)
{
    static const char *const names[] = {
        "success", "out of memory", "MQTT protocol error", "invalid argument",
        "not connected", "connection refused", "not found", "connection lost",
        "TLS error", "payload too large", "not supported", "authentication failed",
        "access denied", "unknown error", "system call failed", "host name lookup failed",
    };
    if (mosq_rc >= 0 && (size_t)mosq_rc < sizeof(names) / sizeof(names[0])) {
        return names[mosq_rc];
    }
    return "MQTT library error";
}

const char *cellota_posix_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case CELLOTA_POSIX_EPARAM:
        return "invalid argument";
    case CELLOTA_POSIX_ERANGE:
        return "address out of range";
    case CELLOTA_POSIX_EALIGN:
        return "erase address not sector-aligned";
    case CELLOTA_POSIX_ENOR:
        return "write needs a 0->1 bit change (not erased)";
    case CELLOTA_POSIX_EABSENT:
        return "flash chip not fitted";
    case CELLOTA_POSIX_EPOWER:
        return "power cut";
    case CELLOTA_POSIX_EIO:
        return "file I/O error";
    case CELLOTA_POSIX_ESIZE:
        return "file has the wrong size";
    case CELLOTA_POSIX_ESTATE:
        return "not allowed in this state";
    case CELLOTA_POSIX_ETOOLONG:
        return "topic or string too long";
    case CELLOTA_POSIX_ETIMEOUT:
        return "broker did not answer in time";
    case CELLOTA_POSIX_EREFUSED:
        return "broker refused the connection";
    default:
        break;
    }
    if (rc <= -100 && rc > -200) {
        return mqtt_strerror(-100 - rc);
    }
    return "unknown error";
}
