/*
 * fuzz_ota_at - the Dragino settings commands: AT+OTA* console lines, the
 * JSON "Config" and F9 downlinks, and the status messages.
 *
 * Input: [flags] then operations [opcode][length-prefixed bytes...]: a raw
 * console line, a command name from the table followed by a random value,
 * a raw downlink, a Config downlink wrapping random commands, busy on/off,
 * a failing store, the upgrade flag, and the two message builders.
 *
 * Checked: replies and reasons stay inside their (exact-size) buffers and
 * are NUL-terminated; a refused line or downlink changes nothing; every
 * accepted setting keeps the documented character set and length; the
 * password is never echoed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_at.h"
#include "cellota/ota_settings.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STORE_SIZE (2u * OTA_SETTINGS_RECORD_SIZE)

static uint8_t g_store[STORE_SIZE];
static bool g_store_fail;
static ota_settings_t g_set;
static ota_at_t g_at;

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
    FUZZ_CHECK(off <= STORE_SIZE && len <= STORE_SIZE - off);
    if (g_store_fail) {
        return -1;
    }
    memcpy(&g_store[off], buf, len);
    return 0;
}

static const ota_store_t g_port = {NULL, STORE_SIZE, st_read, st_write};

static bool same(const ota_settings_t *a, const ota_settings_t *b)
{
    return strcmp(a->host, b->host) == 0 && a->port == b->port &&
           strcmp(a->client_id, b->client_id) == 0 && strcmp(a->username, b->username) == 0 &&
           strcmp(a->password, b->password) == 0 && strcmp(a->title, b->title) == 0 &&
           strcmp(a->version, b->version) == 0 && a->upgrade_pending == b->upgrade_pending;
}

static void check_str(const char *s, size_t cap, bool host)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (host) {
            FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '.' || c == '-' || c == '_' || c == ':');
        } else {
            FUZZ_CHECK(c >= 0x21u && c <= 0x7Eu && c != '"' && c != ';' && c != '\\');
        }
    }
}

static void check_settings(const ota_settings_t *s)
{
    check_str(s->host, sizeof s->host, true);
    check_str(s->client_id, sizeof s->client_id, false);
    check_str(s->username, sizeof s->username, false);
    check_str(s->password, sizeof s->password, false);
    check_str(s->title, sizeof s->title, false);
    check_str(s->version, sizeof s->version, false);
}

static void check_text(const char *t, size_t cap)
{
    FUZZ_CHECK(memchr(t, '\0', cap) != NULL);
}

static void exec_line(const uint8_t *line, size_t n)
{
    ota_settings_t before = g_set;
    size_t cap = OTA_AT_REPLY_MAX;
    char *reply = malloc(cap);
    char *copy = malloc(n ? n : 1u);
    memcpy(copy, line, n);
    ota_status_t st = ota_at_exec(&g_at, copy, n, reply, cap);
    FUZZ_CHECK(st == OTA_OK || st == OTA_ERR_NOT_FOUND || st == OTA_ERR_FORMAT ||
               st == OTA_ERR_RANGE || st == OTA_ERR_STATE || st == OTA_ERR_PORT);
    check_text(reply, cap);
    size_t rl = strlen(reply);
    FUZZ_CHECK(rl == 0u || (rl >= 2u && reply[rl - 2u] == '\r' && reply[rl - 1u] == '\n'));
    if (st != OTA_OK) {
        FUZZ_CHECK(same(&before, &g_set));
    }
    /* The password is never echoed (unless the line itself carries it). */
    size_t pl = strlen(g_set.password);
    if (pl > 0u && strstr(reply, g_set.password) != NULL) {
        bool in_line = false;
        for (size_t i = 0; i + pl <= n && !in_line; i++) {
            in_line = memcmp(copy + i, g_set.password, pl) == 0;
        }
        bool elsewhere = strstr("********\r\nOK\r\nNULL AT_ERROR AT_PARAM_ERROR AT_BUSY_ERROR",
                                g_set.password) != NULL ||
                         strstr(g_set.host, g_set.password) || strstr(g_set.client_id, g_set.password) ||
                         strstr(g_set.username, g_set.password) || strstr(g_set.title, g_set.password) ||
                         strstr(g_set.version, g_set.password);
        FUZZ_CHECK(in_line || elsewhere || pl < 3u);
    }
    check_settings(&g_set);
    free(copy);
    free(reply);
}

static void downlink(const uint8_t *d, size_t n, size_t cap)
{
    ota_settings_t before = g_set;
    char *reason = cap ? malloc(cap) : NULL;
    uint8_t *copy = malloc(n ? n : 1u);
    memcpy(copy, d, n);
    ota_status_t st = ota_at_downlink(&g_at, n ? copy : NULL, n, reason, cap);
    FUZZ_CHECK(st == OTA_OK || st == OTA_ERR_NOT_FOUND || st == OTA_ERR_FORMAT ||
               st == OTA_ERR_RANGE || st == OTA_ERR_STATE || st == OTA_ERR_PORT);
    if (cap) {
        check_text(reason, cap);
    }
    if (st != OTA_OK) {
        FUZZ_CHECK(same(&before, &g_set));
    }
    check_settings(&g_set);
    free(copy);
    free(reason);
}

static const char *const k_cmds[] = {"AT+OTASER=", "AT+OTACLT=",   "AT+OTAUNAME=", "AT+OTAPWD=",
                                     "AT+OTATITLE=", "AT+OTAVER=", "AT+UPGRADE", "AT+OTASER?",
                                     "AT+OTAPWD?", "at+otaver=?", "AT", "AT+UPGRADE?"};

static void messages(fz_in_t *in)
{
    size_t a = 0;
    size_t b = 0;
    const uint8_t *pa = fz_field(in, &a);
    const uint8_t *pb = fz_field(in, &b);
    char *s1 = malloc(a + 1u);
    char *s2 = malloc(b + 1u);
    size_t cap = 1u + fz_u16(in) % 600u;
    char *buf = malloc(cap);
    size_t len = 0;
    memcpy(s1, pa, a);
    s1[a] = '\0';
    memcpy(s2, pb, b);
    s2[b] = '\0';
    if (ota_at_update_ok_msg(buf, cap, "860000000000001", s1, s2, &len) == OTA_OK) {
        FUZZ_CHECK(len < cap && strlen(buf) == len);
    }
    if (ota_at_status_msg(buf, cap, s1, (ota_code_t)(fz_u8(in) % 9u), s2, &len) == OTA_OK) {
        FUZZ_CHECK(len < cap && strlen(buf) == len);
    }
    free(buf);
    free(s2);
    free(s1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t flags = fz_u8(&in);
    memset(g_store, 0xFF, sizeof g_store);
    g_store_fail = false;
    memset(&g_set, 0, sizeof g_set);
    ota_settings_defaults(&g_set, "s31-nb", "v1.0.0");
    FUZZ_CHECK(ota_at_init(&g_at, &g_set, &g_port) == OTA_OK);
    ota_at_set_busy(&g_at, (flags & 1u) != 0u);
    for (int steps = 0; in.n > 0u && steps < 200; steps++) {
        size_t n = 0;
        const uint8_t *p;
        uint8_t op = fz_u8(&in);
        switch (op % 9u) {
        case 0: p = fz_field(&in, &n); exec_line(p, n); break;
        case 1: { /* a known command and a random value */
            char line[300];
            const char *c = k_cmds[fz_u8(&in) % (sizeof k_cmds / sizeof k_cmds[0])];
            size_t cl = strlen(c);
            p = fz_field(&in, &n);
            memcpy(line, c, cl);
            memcpy(line + cl, p, n);
            exec_line((const uint8_t *)line, cl + n);
            break;
        }
        case 2: p = fz_field(&in, &n); downlink(p, n, fz_u8(&in) % 130u); break;
        case 3: { /* {"Config":"[...]"} around random commands */
            char dl[300];
            p = fz_field(&in, &n);
            memcpy(dl, "{\"Config\":\"[", 12);
            memcpy(dl + 12, p, n);
            memcpy(dl + 12 + n, "]\"}", 3);
            downlink((const uint8_t *)dl, 15u + n, OTA_AT_REASON_MAX + 1u);
            break;
        }
        case 4: ota_at_set_busy(&g_at, (fz_u8(&in) & 1u) != 0u); break;
        case 5: g_store_fail = (fz_u8(&in) & 1u) != 0u; break;
        case 6: {
            ota_status_t st = ota_at_upgrade_done(&g_at);
            FUZZ_CHECK(st == OTA_OK || st == OTA_ERR_PORT);
            FUZZ_CHECK(st != OTA_OK || !ota_at_upgrade_pending(&g_at));
            break;
        }
        case 7: messages(&in); break;
        default: { /* F9 xx */
            uint8_t f9[3] = {0xF9, fz_u8(&in), fz_u8(&in)};
            downlink(f9, 2u + (op >> 7), 40u);
            break;
        }
        }
    }
    return 0;
}
