/*
 * test_at.c - Dragino-compatible configuration: every AT+OTA* command and
 * query, each validation error, persistence and restart, power cuts in
 * the middle of a save, corrupted and layout-1 records, the atomic JSON
 * Config downlink, F9 01 / F9 xx, and the status messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cellota/ota_at.h"
#include "cellota/ota_crc32.h"
#include "cellota/ota_settings.h"
#include "fake_store.h"
#include "settings_check.h"
#include "ota_json.h"

#define REC OTA_SETTINGS_RECORD_SIZE
#define IMEI "860000000000001"
#define NOT_ALLOWED_TEXT ": use printable ASCII, no space \" ; \\"

static fake_store_t fs;
static ota_store_t store;
static ota_settings_t live;
static ota_at_t at;
static char reply[OTA_AT_REPLY_MAX];
static char reason[OTA_AT_REASON_MAX + 1u];

static int setup(void **state)
{
    (void)state;
    if (fake_store_init(&fs, 1024u, 0x00u) != 0) {
        return -1;
    }
    fake_store_port(&fs, &store);
    ota_settings_defaults(&live, "s31-nb", "v1.5.0");
    return (ota_at_init(&at, &live, &store) == OTA_OK) ? 0 : -1;
}

static ota_status_t run(const char *line)
{
    memset(reply, 0x5A, sizeof reply);
    return ota_at_exec(&at, line, strlen(line), reply, sizeof reply);
}

static void expect(const char *line, ota_status_t st, const char *want)
{
    ota_status_t got = run(line);

    if (got != st || strcmp(reply, want) != 0) {
        print_error("line '%s': status %d reply '%s', expected %d '%s'\n", line, (int)got, reply,
                    (int)st, want);
    }
    assert_int_equal(got, st);
    assert_string_equal(reply, want);
}

static ota_status_t down(const char *json)
{
    return ota_at_downlink(&at, (const uint8_t *)json, strlen(json), reason, sizeof reason);
}

static ota_status_t down_bytes(const uint8_t *d, size_t n)
{
    return ota_at_downlink(&at, d, n, reason, sizeof reason);
}

static ota_settings_t reload(void)
{
    ota_settings_t s;

    memset(&s, 0, sizeof s);
    assert_int_equal(ota_settings_load(&store, &s), OTA_OK);
    return s;
}

/* A string of n copies of c (n < 200). */
static const char *repeat(char c, size_t n)
{
    static char buf[200];

    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Set and query, command by command                                         */
/* ------------------------------------------------------------------------ */

static void test_init_and_params(void **state)
{
    ota_at_t other;
    ota_store_t small = store;
    ota_store_t broken = store;
    char tiny[OTA_AT_REPLY_MAX - 1u];

    (void)state;
    assert_int_equal(ota_at_init(NULL, &live, &store), OTA_ERR_PARAM);
    assert_int_equal(ota_at_init(&other, NULL, &store), OTA_ERR_PARAM);
    assert_int_equal(ota_at_init(&other, &live, NULL), OTA_ERR_PARAM);
    small.size = 2u * REC - 1u;
    assert_int_equal(ota_at_init(&other, &live, &small), OTA_ERR_PARAM);
    broken.write = NULL;
    assert_int_equal(ota_at_init(&other, &live, &broken), OTA_ERR_PARAM);
    broken = store;
    broken.read = NULL;
    assert_int_equal(ota_at_init(&other, &live, &broken), OTA_ERR_PARAM);

    memset(&other, 0, sizeof other); /* never initialised */
    assert_int_equal(ota_at_exec(&other, "AT", 2u, reply, sizeof reply), OTA_ERR_PARAM);
    assert_int_equal(ota_at_downlink(&other, (const uint8_t *)"\xF9\x01", 2u, NULL, 0u),
                     OTA_ERR_PARAM);
    assert_int_equal(ota_at_upgrade_done(&other), OTA_ERR_PARAM);
    assert_false(ota_at_upgrade_pending(&other));
    assert_false(ota_at_upgrade_pending(NULL));
    assert_int_equal(ota_at_exec(NULL, "AT", 2u, reply, sizeof reply), OTA_ERR_PARAM);
    assert_int_equal(ota_at_exec(&at, NULL, 2u, reply, sizeof reply), OTA_ERR_PARAM);
    assert_int_equal(ota_at_exec(&at, "AT", 2u, NULL, sizeof reply), OTA_ERR_PARAM);
    memset(tiny, 0x5A, sizeof tiny);
    assert_int_equal(ota_at_exec(&at, "AT", 2u, tiny, sizeof tiny), OTA_ERR_PARAM);
    assert_int_equal((unsigned char)tiny[0], 0x5Au); /* untouched */
    assert_int_equal(ota_at_downlink(NULL, (const uint8_t *)"x", 1u, NULL, 0u), OTA_ERR_PARAM);
    assert_int_equal(ota_at_downlink(&at, NULL, 1u, NULL, 0u), OTA_ERR_PARAM);
    assert_int_equal(ota_at_downlink(&at, (const uint8_t *)"x", 1u, NULL, 4u), OTA_ERR_PARAM);
    ota_at_set_busy(NULL, true); /* ignored, no crash */
    assert_int_equal(fs.writes, 0u);
}

static void test_defaults_answer(void **state)
{
    (void)state;
    expect("AT", OTA_OK, "OK\r\n");
    expect("AT+OTASER?", OTA_OK, "NULL\r\nOK\r\n");
    expect("AT+OTACLT?", OTA_OK, "NULL\r\nOK\r\n");
    expect("AT+OTAUNAME?", OTA_OK, "NULL\r\nOK\r\n");
    expect("AT+OTAPWD?", OTA_OK, "NULL\r\nOK\r\n");
    expect("AT+OTATITLE?", OTA_OK, "s31-nb\r\nOK\r\n");
    /* AT+OTAVER defaults to the running firmware's own version. */
    expect("AT+OTAVER?", OTA_OK, "v1.5.0\r\nOK\r\n");
    expect("AT+UPGRADE?", OTA_OK, "0\r\nOK\r\n");
    /* A blank line answers nothing. */
    expect("", OTA_OK, "");
    expect(" \r\n", OTA_OK, "");
    assert_int_equal(fs.writes, 0u);
}

static void test_otaser(void **state)
{
    ota_settings_t s;

    (void)state;
    expect("AT+OTASER=thingseye.io,1885", OTA_OK, "OK\r\n");
    assert_string_equal(live.host, "thingseye.io");
    assert_int_equal(live.port, 1885u);
    expect("AT+OTASER?", OTA_OK, "thingseye.io,1885\r\nOK\r\n");
    expect("AT+OTASER=?", OTA_OK, "thingseye.io,1885\r\nOK\r\n"); /* Dragino's own query form */
    s = reload();
    assert_settings_equal(&s, &live);
    /* Blanks around the value and the comma, CR LF, lower case name. */
    expect("  at+otaser = 192.168.1.20 , 65535 \r\n", OTA_OK, "OK\r\n");
    expect("AT+OTASER?", OTA_OK, "192.168.1.20,65535\r\nOK\r\n");
    expect("AT+OTASER=fe80::1,1", OTA_OK, "OK\r\n"); /* IPv6: split at the last comma */
    expect("AT+OTASER?", OTA_OK, "fe80::1,1\r\nOK\r\n");
    expect("AT+OTASER=my_host-2.example.com,01883", OTA_OK, "OK\r\n");
    expect("AT+OTASER?", OTA_OK, "my_host-2.example.com,1883\r\nOK\r\n");
    expect("AT+OTASER=" "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh,8883", OTA_OK,
           "OK\r\n"); /* 63 characters: the maximum */
    assert_int_equal(strlen(live.host), OTA_CFG_HOST_MAX);
    s = reload();
    assert_settings_equal(&s, &live);
    assert_int_equal(fs.writes, 5u);
}

static void test_text_commands(void **state)
{
    ota_settings_t s;

    (void)state;
    expect("AT+OTACLT=client-1", OTA_OK, "OK\r\n");
    expect("AT+OTACLT?", OTA_OK, "client-1\r\nOK\r\n");
    expect("AT+OTAUNAME=A1_TEST_TOKEN", OTA_OK, "OK\r\n");
    expect("AT+OTAUNAME=?", OTA_OK, "A1_TEST_TOKEN\r\nOK\r\n");
    expect("AT+OTATITLE=s31-nb-x", OTA_OK, "OK\r\n");
    expect("AT+OTATITLE?", OTA_OK, "s31-nb-x\r\nOK\r\n");
    expect("AT+OTAVER=v1.6.0", OTA_OK, "OK\r\n");
    expect("AT+OTAVER?", OTA_OK, "v1.6.0\r\nOK\r\n");
    /* Printable ASCII other than " ; \ and space is fine, at its maximum length. */
    expect("AT+OTACLT=!#$%&'()*+,-./0123456789:<=>?@AZ[]^_`az{|}~", OTA_OK, "OK\r\n");
    assert_string_equal(live.client_id, "!#$%&'()*+,-./0123456789:<=>?@AZ[]^_`az{|}~");
    expect("AT+OTATITLE=tttttttttttttttttttttttttttttttt", OTA_OK, "OK\r\n"); /* 32 */
    expect("AT+OTAVER=vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", OTA_OK, "OK\r\n");     /* 32 */
    s = reload();
    assert_settings_equal(&s, &live);
    assert_string_equal(s.username, "A1_TEST_TOKEN");
}

static void test_password_never_echoed(void **state)
{
    ota_settings_t s;

    (void)state;
    expect("AT+OTAPWD=s3cr3t!pw", OTA_OK, "OK\r\n");
    assert_string_equal(live.password, "s3cr3t!pw");
    expect("AT+OTAPWD?", OTA_OK, "********\r\nOK\r\n");
    expect("AT+OTAPWD=?", OTA_OK, "********\r\nOK\r\n");
    expect("AT+OTAPWD=x", OTA_OK, "OK\r\n");
    expect("AT+OTAPWD?", OTA_OK, "********\r\nOK\r\n"); /* the length is not told either */
    s = reload();
    assert_string_equal(s.password, "x");
    /* A refused password is not quoted, nor its length, nor one character. */
    expect("AT+OTAPWD=pa ss\"w;rd",
           OTA_ERR_FORMAT,
           "AT+OTAPWD: password holds a character that is not allowed" NOT_ALLOWED_TEXT
           "\r\nAT_PARAM_ERROR\r\n");
    run("AT+OTAPWD=pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
    assert_string_equal(reply, "AT+OTAPWD: password is longer than 63 characters\r\nAT_PARAM_ERROR\r\n");
    assert_null(strstr(reply, "pppp"));
    assert_string_equal(live.password, "x");
    /* NULL clears it. */
    expect("AT+OTAPWD=NULL", OTA_OK, "OK\r\n");
    assert_string_equal(live.password, "");
    expect("AT+OTAPWD?", OTA_OK, "NULL\r\nOK\r\n");
    s = reload();
    assert_string_equal(s.password, "");
    /* Only NULL in capitals is Dragino's "none". */
    expect("AT+OTAPWD=null", OTA_OK, "OK\r\n");
    assert_string_equal(live.password, "null");
}

static void test_upgrade_command(void **state)
{
    ota_settings_t s;

    (void)state;
    assert_false(ota_at_upgrade_pending(&at));
    expect("AT+UPGRADE", OTA_OK, "OK\r\n");
    assert_true(ota_at_upgrade_pending(&at));
    assert_true(live.upgrade_pending);
    expect("AT+UPGRADE?", OTA_OK, "1\r\nOK\r\n");
    expect("AT+UPGRADE=?", OTA_OK, "1\r\nOK\r\n");
    s = reload(); /* kept across a reset */
    assert_true(s.upgrade_pending);
    assert_int_equal(fs.writes, 1u);
    expect("at+upgrade", OTA_OK, "OK\r\n"); /* again: nothing new to write */
    assert_int_equal(fs.writes, 1u);
    expect("AT+UPGRADE=1", OTA_ERR_FORMAT, "AT+UPGRADE takes no value\r\nAT_ERROR\r\n");

    /* The update ended: the flag goes, and is saved. */
    assert_int_equal(ota_at_upgrade_done(&at), OTA_OK);
    assert_false(ota_at_upgrade_pending(&at));
    s = reload();
    assert_false(s.upgrade_pending);
    assert_int_equal(fs.writes, 2u);
    assert_int_equal(ota_at_upgrade_done(&at), OTA_OK); /* not set: nothing written */
    assert_int_equal(fs.writes, 2u);
    expect("AT+UPGRADE?", OTA_OK, "0\r\nOK\r\n");

    /* A failed save keeps the flag (the update would run again after a reset). */
    expect("AT+UPGRADE", OTA_OK, "OK\r\n");
    fs.fail_write_at = fs.writes + 1u;
    assert_int_equal(ota_at_upgrade_done(&at), OTA_ERR_PORT);
    assert_true(ota_at_upgrade_pending(&at));
    fs.fail_write_at = 0u;
    assert_int_equal(ota_at_upgrade_done(&at), OTA_OK);
    assert_false(ota_at_upgrade_pending(&at));
}

static void test_same_value_writes_nothing(void **state)
{
    (void)state;
    expect("AT+OTAVER=v1.5.0", OTA_OK, "OK\r\n"); /* already the value */
    assert_int_equal(fs.writes, 0u);
    expect("AT+OTAVER=v1.5.1", OTA_OK, "OK\r\n");
    assert_int_equal(fs.writes, 1u);
    expect("AT+OTAVER=v1.5.1", OTA_OK, "OK\r\n");
    assert_int_equal(fs.writes, 1u);
    expect("AT+OTAVER?", OTA_OK, "v1.5.1\r\nOK\r\n");
    assert_int_equal(fs.writes, 1u); /* queries never write */
}

/* ------------------------------------------------------------------------ */
/* Validation: each bad input, with its exact reason; nothing changes        */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *line;
    ota_status_t st;
    const char *reply;
} bad_t;

static const bad_t bad_lines[] = {
    {"AT+FOO=1", OTA_ERR_NOT_FOUND, "unknown command AT+FOO\r\nAT_ERROR\r\n"},
    {"AT+OTASERVER=a,1", OTA_ERR_NOT_FOUND, "unknown command AT+OTASERVER\r\nAT_ERROR\r\n"},
    {"AT+ABCDEFGHIJKLMNOPQRSTUVWXYZ=1", OTA_ERR_NOT_FOUND,
     "unknown command AT+ABCDEFGHIJKLMNOP...\r\nAT_ERROR\r\n"},
    {"AT+=1", OTA_ERR_NOT_FOUND, "unknown command AT+\r\nAT_ERROR\r\n"},
    {"hello", OTA_ERR_NOT_FOUND, "not an AT command: hello\r\nAT_ERROR\r\n"},
    {"AT?", OTA_ERR_NOT_FOUND, "not an AT command: AT?\r\nAT_ERROR\r\n"},
    {"ATZ\x01", OTA_ERR_NOT_FOUND, "not an AT command: ATZ?\r\nAT_ERROR\r\n"},
    /* missing '=' */
    {"AT+OTASER", OTA_ERR_FORMAT, "AT+OTASER needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTACLT", OTA_ERR_FORMAT, "AT+OTACLT needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTAUNAME", OTA_ERR_FORMAT,
     "AT+OTAUNAME needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTAPWD", OTA_ERR_FORMAT, "AT+OTAPWD needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTATITLE", OTA_ERR_FORMAT,
     "AT+OTATITLE needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTAVER", OTA_ERR_FORMAT, "AT+OTAVER needs =<value> to set it or ? to read it\r\nAT_ERROR\r\n"},
    {"AT+OTACLT:tok", OTA_ERR_FORMAT,
     "AT+OTACLT: expected = or ? after the command name\r\nAT_ERROR\r\n"},
    {"AT+OTAVER??", OTA_ERR_FORMAT, "AT+OTAVER: expected = or ? after the command name\r\nAT_ERROR\r\n"},
    /* empty */
    {"AT+OTACLT=", OTA_ERR_FORMAT, "AT+OTACLT: client id is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAUNAME=  ", OTA_ERR_FORMAT, "AT+OTAUNAME: user name is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAPWD=", OTA_ERR_FORMAT, "AT+OTAPWD: password is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTATITLE=", OTA_ERR_FORMAT, "AT+OTATITLE: title is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAVER=", OTA_ERR_FORMAT, "AT+OTAVER: version is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=", OTA_ERR_FORMAT, "AT+OTASER: expected <host>,<port>\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=,1885", OTA_ERR_FORMAT, "AT+OTASER: host is empty\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,", OTA_ERR_FORMAT, "AT+OTASER: port is empty\r\nAT_PARAM_ERROR\r\n"},
    /* bad characters */
    {"AT+OTACLT=a b", OTA_ERR_FORMAT,
     "AT+OTACLT: client id character 2 (0x20) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAUNAME=tok;en", OTA_ERR_FORMAT,
     "AT+OTAUNAME: user name character 4 (0x3b) is not allowed" NOT_ALLOWED_TEXT
     "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTATITLE=s31\"nb", OTA_ERR_FORMAT,
     "AT+OTATITLE: title character 4 (0x22) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAVER=v1\\2", OTA_ERR_FORMAT,
     "AT+OTAVER: version character 3 (0x5c) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAVER=v1\x07", OTA_ERR_FORMAT,
     "AT+OTAVER: version character 3 (0x07) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAVER=v\xc3\xa9", OTA_ERR_FORMAT,
     "AT+OTAVER: version character 2 (0xc3) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTAVER=v\x7f", OTA_ERR_FORMAT,
     "AT+OTAVER: version character 2 (0x7f) is not allowed" NOT_ALLOWED_TEXT "\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=things/eye,1885", OTA_ERR_FORMAT,
     "AT+OTASER: host character 7 (0x2f) is not allowed: use letters, digits . - _ :\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,1885,1", OTA_ERR_FORMAT,
     "AT+OTASER: host character 13 (0x2c) is not allowed: use letters, digits . - _ :\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=things eye,1885", OTA_ERR_FORMAT,
     "AT+OTASER: host character 7 (0x20) is not allowed: use letters, digits . - _ :\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io", OTA_ERR_FORMAT, "AT+OTASER: expected <host>,<port>\r\nAT_PARAM_ERROR\r\n"},
    /* ports */
    {"AT+OTASER=thingseye.io,0", OTA_ERR_RANGE, "AT+OTASER: port 0 is not in 1..65535\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,65536", OTA_ERR_RANGE,
     "AT+OTASER: port 65536 is not in 1..65535\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,99999999999", OTA_ERR_RANGE,
     "AT+OTASER: port 99999999... is not in 1..65535\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,4294967297", OTA_ERR_RANGE, /* 2^32 + 1 must not wrap to 1 */
     "AT+OTASER: port 42949672... is not in 1..65535\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,18a5", OTA_ERR_FORMAT,
     "AT+OTASER: port 18a5 is not a number\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,-1", OTA_ERR_FORMAT, "AT+OTASER: port -1 is not a number\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,+1885", OTA_ERR_FORMAT,
     "AT+OTASER: port +1885 is not a number\r\nAT_PARAM_ERROR\r\n"},
    {"AT+OTASER=thingseye.io,18 85", OTA_ERR_FORMAT,
     "AT+OTASER: port 18 85 is not a number\r\nAT_PARAM_ERROR\r\n"},
};

/* Every bad line: exact reply and status, and nothing changed anywhere. */
static void test_each_validation_error(void **state)
{
    ota_settings_t before;
    size_t i;

    (void)state;
    expect("AT+OTASER=thingseye.io,1885", OTA_OK, "OK\r\n");
    expect("AT+OTACLT=c1", OTA_OK, "OK\r\n");
    before = live;
    for (i = 0u; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        uint32_t writes = fs.writes;
        expect(bad_lines[i].line, bad_lines[i].st, bad_lines[i].reply);
        assert_memory_equal(&live, &before, sizeof live);
        assert_int_equal(fs.writes, writes);
    }
    expect("AT+OTASER?", OTA_OK, "thingseye.io,1885\r\nOK\r\n");
}

/* Too long for each field; the maximum itself is accepted (see above). */
static void test_too_long(void **state)
{
    char line[200];
    ota_settings_t before = live;

    (void)state;
    strcpy(line, "AT+OTASER=");
    strcat(line, repeat('h', OTA_CFG_HOST_MAX + 1u));
    strcat(line, ",1885");
    expect(line, OTA_ERR_RANGE, "AT+OTASER: host is 64 characters, at most 63\r\nAT_PARAM_ERROR\r\n");
    strcpy(line, "AT+OTACLT=");
    strcat(line, repeat('c', OTA_CFG_CRED_MAX + 1u));
    expect(line, OTA_ERR_RANGE, "AT+OTACLT: client id is 64 characters, at most 63\r\nAT_PARAM_ERROR\r\n");
    strcpy(line, "AT+OTAUNAME=");
    strcat(line, repeat('u', 100u));
    expect(line, OTA_ERR_RANGE,
           "AT+OTAUNAME: user name is 100 characters, at most 63\r\nAT_PARAM_ERROR\r\n");
    strcpy(line, "AT+OTATITLE=");
    strcat(line, repeat('t', OTA_CFG_TITLE_MAX + 1u));
    expect(line, OTA_ERR_RANGE, "AT+OTATITLE: title is 33 characters, at most 32\r\nAT_PARAM_ERROR\r\n");
    strcpy(line, "AT+OTAVER=");
    strcat(line, repeat('v', OTA_CFG_VERSION_MAX + 1u));
    expect(line, OTA_ERR_RANGE, "AT+OTAVER: version is 33 characters, at most 32\r\nAT_PARAM_ERROR\r\n");
    assert_memory_equal(&live, &before, sizeof live);
    assert_int_equal(fs.writes, 0u);
}

/* The line is bounded by len, not by a NUL: a NUL inside is a bad byte. */
static void test_embedded_nul_and_len(void **state)
{
    (void)state;
    assert_int_equal(ota_at_exec(&at, "AT+OTAVER=v1\0x", 14u, reply, sizeof reply), OTA_ERR_FORMAT);
    assert_string_equal(reply, "AT+OTAVER: version character 3 (0x00) is not allowed" NOT_ALLOWED_TEXT
                               "\r\nAT_PARAM_ERROR\r\n");
    /* Only the first len bytes count. */
    assert_int_equal(ota_at_exec(&at, "AT+OTAVER=v2.0.0garbage", 16u, reply, sizeof reply), OTA_OK);
    assert_string_equal(live.version, "v2.0.0");
}

static void test_busy(void **state)
{
    (void)state;
    expect("AT+OTAVER=v2", OTA_OK, "OK\r\n");
    ota_at_set_busy(&at, true);
    expect("AT+OTAVER=v3", OTA_ERR_STATE,
           "an update is running: try again when it has ended\r\nAT_BUSY_ERROR\r\n");
    expect("AT+UPGRADE", OTA_ERR_STATE,
           "an update is running: try again when it has ended\r\nAT_BUSY_ERROR\r\n");
    expect("AT+OTAVER?", OTA_OK, "v2\r\nOK\r\n"); /* queries still work */
    expect("AT", OTA_OK, "OK\r\n");
    assert_false(live.upgrade_pending);
    ota_at_set_busy(&at, false);
    expect("AT+OTAVER=v3", OTA_OK, "OK\r\n");
}

static void test_store_failure_changes_nothing(void **state)
{
    ota_settings_t before;

    (void)state;
    expect("AT+OTAVER=v2", OTA_OK, "OK\r\n");
    before = live;
    fs.fail_write_at = fs.writes + 1u;
    expect("AT+OTASER=thingseye.io,1885", OTA_ERR_PORT,
           "settings not saved: the settings store failed\r\nAT_ERROR\r\n");
    assert_memory_equal(&live, &before, sizeof live);
    fs.fail_read_at = fs.reads + 1u;
    expect("AT+OTASER=thingseye.io,1885", OTA_ERR_PORT,
           "settings not saved: the settings store failed\r\nAT_ERROR\r\n");
    assert_memory_equal(&live, &before, sizeof live);
    fs.fail_read_at = 0u;
    expect("AT+OTASER=thingseye.io,1885", OTA_OK, "OK\r\n");
}

/* ------------------------------------------------------------------------ */
/* Persistence: restart, power cuts, corrupted and layout-1 records         */
/* ------------------------------------------------------------------------ */

static void test_restart_keeps_everything(void **state)
{
    ota_settings_t after;
    ota_at_t at2;

    (void)state;
    expect("AT+OTASER=thingseye.io,1885", OTA_OK, "OK\r\n");
    expect("AT+OTACLT=tok", OTA_OK, "OK\r\n");
    expect("AT+OTAUNAME=tok", OTA_OK, "OK\r\n");
    expect("AT+OTAPWD=pw", OTA_OK, "OK\r\n");
    expect("AT+OTATITLE=s31-nb", OTA_OK, "OK\r\n");
    expect("AT+OTAVER=v1.4.0", OTA_OK, "OK\r\n");
    expect("AT+UPGRADE", OTA_OK, "OK\r\n");

    /* "Reset": a new context on settings loaded from the store. */
    memset(&after, 0, sizeof after);
    assert_int_equal(ota_settings_load(&store, &after), OTA_OK);
    assert_int_equal(ota_at_init(&at2, &after, &store), OTA_OK);
    assert_settings_equal(&after, &live);
    assert_int_equal(ota_at_exec(&at2, "AT+OTASER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "thingseye.io,1885\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at2, "AT+OTAVER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "v1.4.0\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at2, "AT+OTAPWD?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "********\r\nOK\r\n");
    assert_true(ota_at_upgrade_pending(&at2)); /* requested before the reset: still to do */
}

/* A power cut after every byte of the record during an AT command's save:
 * the command fails and RAM keeps the old value; after the reboot the
 * store gives the old settings, or the new ones once the record landed. */
static void test_power_cut_every_byte_console(void **state)
{
    static fake_store_t start;
    ota_settings_t old_s;
    ota_settings_t new_s;
    uint32_t n;

    (void)state;
    expect("AT+OTASER=old.example,1883", OTA_OK, "OK\r\n");
    expect("AT+OTAVER=v1", OTA_OK, "OK\r\n");
    old_s = live;
    new_s = live;
    strcpy(new_s.host, "new.example");
    new_s.port = 1999u;
    memcpy(&start, &fs, sizeof start);
    for (n = 0u; n <= REC; n++) {
        ota_settings_t got;
        memcpy(&fs, &start, sizeof fs);
        live = old_s;
        fake_store_cut_after(&fs, n);
        if (n < REC) {
            expect("AT+OTASER=new.example,1999", OTA_ERR_PORT,
                   "settings not saved: the settings store failed\r\nAT_ERROR\r\n");
            assert_settings_equal(&live, &old_s);
        } else {
            expect("AT+OTASER=new.example,1999", OTA_OK, "OK\r\n");
            assert_settings_equal(&live, &new_s);
        }
        fake_store_power_on(&fs);
        got = reload();
        assert_settings_equal(&got, n < REC ? &old_s : &new_s);
    }
}

/* The same for a Config downlink with several commands: all or nothing. */
static void test_power_cut_every_byte_downlink(void **state)
{
    static fake_store_t start;
    static const char cfg[] =
        "{\"Config\":\"[AT+OTASER=thingseye.io,1885;AT+OTACLT=tok;AT+OTAVER=v2;AT+UPGRADE]\"}";
    ota_settings_t old_s;
    uint32_t n;

    (void)state;
    expect("AT+OTACLT=old", OTA_OK, "OK\r\n");
    old_s = live;
    memcpy(&start, &fs, sizeof start);
    for (n = 0u; n <= REC; n++) {
        ota_settings_t got;
        memcpy(&fs, &start, sizeof fs);
        live = old_s;
        fake_store_cut_after(&fs, n);
        assert_int_equal(down(cfg), n < REC ? OTA_ERR_PORT : OTA_OK);
        fake_store_power_on(&fs);
        got = reload();
        if (n < REC) {
            assert_string_equal(reason, "settings not saved: the settings store failed");
            assert_settings_equal(&live, &old_s);
            assert_settings_equal(&got, &old_s);
        } else {
            assert_string_equal(got.host, "thingseye.io");
            assert_string_equal(got.client_id, "tok");
            assert_string_equal(got.version, "v2");
            assert_true(got.upgrade_pending);
            assert_settings_equal(&got, &live);
        }
    }
}

static void test_corrupted_record_falls_back(void **state)
{
    ota_settings_t s;
    ota_status_t st;

    (void)state;
    expect("AT+OTASER=thingseye.io,1885", OTA_OK, "OK\r\n");
    expect("AT+OTAVER=v1.4.0", OTA_OK, "OK\r\n"); /* copies A and B both written */
    fs.mem[20] ^= 0x01u;
    fs.mem[REC + 20u] ^= 0x01u;
    /* What a device does at start-up: load, or defaults that say why. */
    memset(&s, 0x77, sizeof s);
    st = ota_settings_load(&store, &s);
    assert_int_equal(st, OTA_ERR_CHECKSUM);
    ota_settings_defaults(&s, "s31-nb", "v1.5.0");
    assert_int_equal(ota_at_init(&at, &s, &store), OTA_OK);
    assert_int_equal(ota_at_exec(&at, "AT+OTASER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "NULL\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at, "AT+OTAVER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "v1.5.0\r\nOK\r\n"); /* the running firmware's version again */
    /* The next command writes a good record again. */
    assert_int_equal(ota_at_exec(&at, "AT+OTACLT=c", 11u, reply, sizeof reply), OTA_OK);
    assert_int_equal(ota_settings_load(&store, &live), OTA_OK);
    assert_string_equal(live.client_id, "c");
}

/* A layout-1 record, built byte by byte (magic, layout 1, reserved, seq,
 * the six strings in full arrays, port, CRC), is read and then migrated. */
static void write_v1(uint8_t *rec, uint32_t seq)
{
    static const struct {
        const char *s;
        size_t cap;
    } f[] = {
        {"v1.example", OTA_CFG_HOST_MAX + 1u}, {"v1-client", OTA_CFG_CRED_MAX + 1u},
        {"v1-token", OTA_CFG_CRED_MAX + 1u},   {"v1-pass", OTA_CFG_CRED_MAX + 1u},
        {"s31-nb", OTA_CFG_TITLE_MAX + 1u},    {"v1.0.9", OTA_CFG_VERSION_MAX + 1u},
    };
    size_t off = 12u;
    size_t i;
    uint32_t crc;

    memset(rec, 0, REC);
    memcpy(rec, "CSET\x01\x00\x00\x00", 8u);
    rec[8] = (uint8_t)seq;
    for (i = 0u; i < sizeof f / sizeof f[0]; i++) {
        memcpy(&rec[off], f[i].s, strlen(f[i].s));
        off += f[i].cap;
    }
    rec[off] = (uint8_t)(1885u & 0xFFu);
    rec[off + 1u] = (uint8_t)(1885u >> 8);
    off += 2u;
    assert_int_equal(off + 4u, REC);
    crc = ota_crc32(0u, rec, off);
    rec[off] = (uint8_t)crc;
    rec[off + 1u] = (uint8_t)(crc >> 8);
    rec[off + 2u] = (uint8_t)(crc >> 16);
    rec[off + 3u] = (uint8_t)(crc >> 24);
}

static void test_old_layout_record(void **state)
{
    ota_settings_t s;

    (void)state;
    write_v1(&fs.mem[0], 3u);
    assert_int_equal(ota_settings_load(&store, &s), OTA_OK);
    assert_int_equal(ota_at_init(&at, &s, &store), OTA_OK);
    assert_int_equal(ota_at_exec(&at, "AT+OTASER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "v1.example,1885\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at, "AT+OTAUNAME?", 12u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "v1-token\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at, "AT+OTAVER?", 10u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "v1.0.9\r\nOK\r\n");
    assert_int_equal(ota_at_exec(&at, "AT+UPGRADE?", 11u, reply, sizeof reply), OTA_OK);
    assert_string_equal(reply, "0\r\nOK\r\n"); /* layout 1 had no flag */
    /* A change is saved in layout 2, into the other copy. */
    assert_int_equal(ota_at_exec(&at, "AT+UPGRADE", 10u, reply, sizeof reply), OTA_OK);
    assert_int_equal(fs.mem[REC + 4u], 2u);
    assert_int_equal(fs.mem[REC + 6u], 1u);
    assert_int_equal(fs.mem[4], 1u); /* the layout-1 copy is kept as the fallback */
    assert_int_equal(ota_settings_load(&store, &live), OTA_OK);
    assert_true(live.upgrade_pending);
    assert_string_equal(live.password, "v1-pass");
}

/* ------------------------------------------------------------------------ */
/* JSON Config downlink                                                      */
/* ------------------------------------------------------------------------ */

static void test_config_downlink_applies_all(void **state)
{
    ota_settings_t s;

    (void)state;
    /* The example of PROTOCOL.md section 3. */
    assert_int_equal(down("{\"Config\":\"[AT+OTASER=thingseye.io,1885;AT+OTACLT=tok;AT+OTAUNAME=tok;"
                          "AT+OTAPWD=NULL;AT+OTATITLE=s31-nb;AT+OTAVER=v1.5.0;AT+UPGRADE]\"}"),
                     OTA_OK);
    assert_string_equal(reason, "");
    assert_int_equal(fs.writes, 1u); /* one save for all */
    assert_string_equal(live.host, "thingseye.io");
    assert_int_equal(live.port, 1885u);
    assert_string_equal(live.client_id, "tok");
    assert_string_equal(live.username, "tok");
    assert_string_equal(live.password, "");
    assert_string_equal(live.title, "s31-nb");
    assert_string_equal(live.version, "v1.5.0");
    assert_true(ota_at_upgrade_pending(&at));
    s = reload();
    assert_settings_equal(&s, &live);
}

static void test_config_downlink_forms(void **state)
{
    (void)state;
    /* Blanks, empty items, JSON escapes, blanks before the object. */
    assert_int_equal(down("  {\"Config\" : \" [ AT+OTAVER=v2 ;; AT+OTACLT=t\\u006fk; ] \"} "),
                     OTA_OK);
    assert_string_equal(live.version, "v2");
    assert_string_equal(live.client_id, "tok");
    assert_false(live.upgrade_pending);
    /* A password with JSON-escaped characters that are allowed. */
    assert_int_equal(down("{\"Config\":\"[AT+OTAPWD=a\\/b]\"}"), OTA_OK);
    assert_string_equal(live.password, "a/b");
    /* Plain AT is a no-op; AT+UPGRADE alone sets the flag. */
    assert_int_equal(down("{\"Config\":\"[AT;AT+UPGRADE]\"}"), OTA_OK);
    assert_true(live.upgrade_pending);
    /* Other members are ignored. */
    assert_int_equal(down("{\"Other\":[1,2],\"Config\":\"[AT+OTAVER=v3]\"}"), OTA_OK);
    assert_string_equal(live.version, "v3");
}

/* One bad command in any position: nothing is applied, code 3 is reported. */
static void test_config_downlink_atomic(void **state)
{
    static const char *const good[] = {
        "AT+OTASER=thingseye.io,1885", "AT+OTACLT=tok", "AT+OTAUNAME=tok", "AT+OTAPWD=pw",
        "AT+OTATITLE=s31-nb", "AT+OTAVER=v1.6.0", "AT+UPGRADE",
    };
    ota_settings_t before;
    char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    size_t bad;

    (void)state;
    expect("AT+OTACLT=before", OTA_OK, "OK\r\n");
    before = live;
    for (bad = 0u; bad < 7u; bad++) {
        char json[600];
        size_t i;
        uint32_t writes = fs.writes;
        strcpy(json, "{\"Config\":\"[");
        for (i = 0u; i < 7u; i++) {
            strcat(json, i == bad ? "AT+OTASER=thingseye.io,0" : good[i]);
            strcat(json, i < 6u ? ";" : "]\"}");
        }
        assert_int_equal(down(json), OTA_ERR_RANGE);
        assert_string_equal(reason, "AT+OTASER: port 0 is not in 1..65535");
        assert_memory_equal(&live, &before, sizeof live);
        assert_int_equal(fs.writes, writes);
        assert_false(ota_at_upgrade_pending(&at));
    }
    /* The answer on the data uplink. */
    assert_int_equal(ota_at_status_msg(msg, sizeof msg, IMEI, OTA_CODE_FORMAT, reason, &len), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 3: command format "
                             "error: AT+OTASER: port 0 is not in 1..65535\"}");
    assert_int_equal(len, strlen(msg));
}

typedef struct {
    const char *json;
    ota_status_t st;
    const char *reason;
} bad_dl_t;

static const bad_dl_t bad_downlinks[] = {
    {"{bad", OTA_ERR_FORMAT, "downlink is not a valid JSON object"},
    {"{\"Config\":\"[AT+OTAVER=v2]\"} x", OTA_ERR_FORMAT, "downlink is not a valid JSON object"},
    {"{\"Config\":5}", OTA_ERR_FORMAT, "Config is not a string"},
    {"{\"Config\":[\"AT+OTAVER=v2\"]}", OTA_ERR_FORMAT, "Config is not a string"},
    {"{\"Config\":\"[AT+OTAVER=v2]\",\"Config\":\"[AT+OTAVER=v3]\"}", OTA_ERR_FORMAT,
     "Config appears more than once"},
    {"{\"Config\":\"[AT+OTAVER=v\\u0000]\"}", OTA_ERR_FORMAT, "Config is not a valid JSON string"},
    {"{\"Config\":\"AT+OTAVER=v2\"}", OTA_ERR_FORMAT, "Config must look like [AT+...;AT+...]"},
    {"{\"Config\":\"[AT+OTAVER=v2\"}", OTA_ERR_FORMAT, "Config must look like [AT+...;AT+...]"},
    {"{\"Config\":\"\"}", OTA_ERR_FORMAT, "Config must look like [AT+...;AT+...]"},
    {"{\"Config\":\"[]\"}", OTA_ERR_FORMAT, "Config holds no command"},
    {"{\"Config\":\"[ ; ;]\"}", OTA_ERR_FORMAT, "Config holds no command"},
    {"{\"Config\":\"[AT+UPGRADE;AT+OTAVER=v2]\"}", OTA_ERR_FORMAT, "AT+UPGRADE must be the last command"},
    {"{\"Config\":\"[AT+UPGRADE;AT+UPGRADE]\"}", OTA_ERR_FORMAT, "AT+UPGRADE must be the last command"},
    {"{\"Config\":\"[AT+OTAVER?]\"}", OTA_ERR_FORMAT, "AT+OTAVER: a query is not allowed in a downlink"},
    {"{\"Config\":\"[AT+OTAVER=?]\"}", OTA_ERR_FORMAT, "AT+OTAVER: a query is not allowed in a downlink"},
    {"{\"Config\":\"[AT+OTAVER]\"}", OTA_ERR_FORMAT, "AT+OTAVER needs =<value> to set it or ? to read it"},
    {"{\"Config\":\"[AT+OTAVER=v2;AT+TDC=600]\"}", OTA_ERR_FORMAT, "unknown command AT+TDC"},
    {"{\"Config\":\"[AT+OTAVER=v2;hello]\"}", OTA_ERR_FORMAT, "not an AT command: hello"},
    {"{\"Config\":\"[AT+OTAVER=v2;AT+UPGRADE=1]\"}", OTA_ERR_FORMAT, "AT+UPGRADE takes no value"},
    {"{\"Config\":\"[AT+OTACLT=a\\\"b]\"}", OTA_ERR_FORMAT,
     "AT+OTACLT: client id character 2 (0x22) is not allowed" NOT_ALLOWED_TEXT},
    {"{\"Config\":\"[AT+OTATITLE=s31\\nnb]\"}", OTA_ERR_FORMAT,
     "AT+OTATITLE: title character 4 (0x0a) is not allowed" NOT_ALLOWED_TEXT},
    {"{\"Config\":\"[AT+OTASER=thingseye.io]\"}", OTA_ERR_FORMAT, "AT+OTASER: expected <host>,<port>"},
    {"{\"Config\":\"[AT+OTAVER=vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv]\"}", OTA_ERR_RANGE,
     "AT+OTAVER: version is 33 characters, at most 32"},
};

static void test_config_downlink_errors(void **state)
{
    ota_settings_t before;
    size_t i;

    (void)state;
    expect("AT+OTAVER=v1", OTA_OK, "OK\r\n");
    before = live;
    for (i = 0u; i < sizeof bad_downlinks / sizeof bad_downlinks[0]; i++) {
        uint32_t writes = fs.writes;
        ota_status_t st = down(bad_downlinks[i].json);
        if (st != bad_downlinks[i].st || strcmp(reason, bad_downlinks[i].reason) != 0) {
            print_error("downlink %s: %d '%s'\n", bad_downlinks[i].json, (int)st, reason);
        }
        assert_int_equal(st, bad_downlinks[i].st);
        assert_string_equal(reason, bad_downlinks[i].reason);
        assert_memory_equal(&live, &before, sizeof live);
        assert_int_equal(fs.writes, writes);
    }
}

static void test_config_downlink_too_long(void **state)
{
    char json[OTA_CFG_AT_CONFIG_MAX + 40u];
    size_t pad;

    (void)state;
    /* Exactly the maximum: "[AT+OTAVER=v2;;;...;]" with empty items (13 + 466 + 1). */
    strcpy(json, "{\"Config\":\"[AT+OTAVER=v2");
    for (pad = 13u; pad < OTA_CFG_AT_CONFIG_MAX - 1u; pad++) {
        strcat(json, ";");
    }
    strcat(json, "]\"}");
    assert_int_equal(down(json), OTA_OK);
    assert_string_equal(live.version, "v2");
    /* One more character. */
    strcpy(json, "{\"Config\":\"[AT+OTAVER=v3");
    for (pad = 13u; pad < OTA_CFG_AT_CONFIG_MAX; pad++) {
        strcat(json, ";");
    }
    strcat(json, "]\"}");
    assert_int_equal(down(json), OTA_ERR_RANGE);
    assert_string_equal(reason, "Config is longer than 480 characters");
    assert_string_equal(live.version, "v2");
}

static void test_config_not_ours(void **state)
{
    (void)state;
    strcpy(reason, "junk");
    assert_int_equal(down("{\"Other\":1}"), OTA_ERR_NOT_FOUND);
    assert_string_equal(reason, "");
    assert_int_equal(down("hello"), OTA_ERR_NOT_FOUND);
    assert_int_equal(down_bytes((const uint8_t *)"\x01\x02", 2u), OTA_ERR_NOT_FOUND);
    assert_int_equal(down_bytes((const uint8_t *)"", 0u), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_at_downlink(&at, NULL, 0u, NULL, 0u), OTA_ERR_NOT_FOUND);
    assert_int_equal(fs.writes, 0u);
}

static void test_config_busy_and_store_failure(void **state)
{
    ota_settings_t before = live;

    (void)state;
    ota_at_set_busy(&at, true);
    assert_int_equal(down("{\"Config\":\"[AT+OTAVER=v2]\"}"), OTA_ERR_STATE);
    assert_string_equal(reason, "an update is running: configuration not applied");
    assert_memory_equal(&live, &before, sizeof live);
    ota_at_set_busy(&at, false);
    fs.fail_write_at = 1u;
    assert_int_equal(down("{\"Config\":\"[AT+OTAVER=v2;AT+UPGRADE]\"}"), OTA_ERR_PORT);
    assert_string_equal(reason, "settings not saved: the settings store failed");
    assert_memory_equal(&live, &before, sizeof live);
    fs.fail_write_at = 0u;
    /* A reason buffer that is too small is cut, still terminated. */
    {
        char small[8];
        assert_int_equal(ota_at_downlink(&at, (const uint8_t *)"{\"Config\":1}", 12u, small,
                                         sizeof small),
                         OTA_ERR_FORMAT);
        assert_string_equal(small, "Config ");
    }
}

/* ------------------------------------------------------------------------ */
/* F9 downlinks                                                              */
/* ------------------------------------------------------------------------ */

static void test_f9_01(void **state)
{
    static const uint8_t f9_01[2] = {0xF9u, 0x01u};
    ota_settings_t s;

    (void)state;
    assert_int_equal(down_bytes(f9_01, 2u), OTA_OK);
    assert_string_equal(reason, "");
    assert_true(ota_at_upgrade_pending(&at));
    s = reload();
    assert_true(s.upgrade_pending);
    assert_int_equal(fs.writes, 1u);
    assert_int_equal(down_bytes(f9_01, 2u), OTA_OK); /* already set */
    assert_int_equal(fs.writes, 1u);
    ota_at_set_busy(&at, true);
    assert_int_equal(down_bytes(f9_01, 2u), OTA_ERR_STATE);
    assert_string_equal(reason, "an update is already running");
}

static void test_f9_other(void **state)
{
    static const uint8_t f9_02[2] = {0xF9u, 0x02u};
    static const uint8_t f9_ff[2] = {0xF9u, 0xFFu};
    static const uint8_t f9[1] = {0xF9u};
    static const uint8_t f9_01_00[3] = {0xF9u, 0x01u, 0x00u};
    char msg[OTA_AT_MSG_MAX];

    (void)state;
    assert_int_equal(down_bytes(f9_02, 2u), OTA_ERR_FORMAT);
    assert_string_equal(reason, "F9 downlink: value 0x02 unknown (F9 01 starts an update)");
    assert_int_equal(ota_at_status_msg(msg, sizeof msg, IMEI, OTA_CODE_FORMAT, reason, NULL), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 3: command format "
                             "error: F9 downlink: value 0x02 unknown (F9 01 starts an update)\"}");
    assert_int_equal(down_bytes(f9_ff, 2u), OTA_ERR_FORMAT);
    assert_string_equal(reason, "F9 downlink: value 0xff unknown (F9 01 starts an update)");
    assert_int_equal(down_bytes(f9, 1u), OTA_ERR_FORMAT);
    assert_string_equal(reason, "F9 downlink must be 2 bytes, got 1");
    assert_int_equal(down_bytes(f9_01_00, 3u), OTA_ERR_FORMAT);
    assert_string_equal(reason, "F9 downlink must be 2 bytes, got 3");
    assert_false(ota_at_upgrade_pending(&at));
    assert_int_equal(fs.writes, 0u);
}

/* ------------------------------------------------------------------------ */
/* Status messages                                                           */
/* ------------------------------------------------------------------------ */

static void test_status_msg(void **state)
{
    char msg[OTA_AT_MSG_MAX];
    size_t len = 99u;
    size_t full;

    (void)state;
    assert_int_equal(ota_at_status_msg(msg, sizeof msg, IMEI, OTA_CODE_FORMAT, NULL, &len), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 3: command format error\"}");
    assert_int_equal(len, strlen(msg));
    assert_int_equal(ota_at_status_msg(msg, sizeof msg, IMEI, OTA_CODE_SUCCESS, "", &len), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 100: OTA update "
                             "successful, waiting for reboot\"}");
    assert_int_equal(ota_at_status_msg(msg, sizeof msg, IMEI, OTA_CODE_FORMAT, "say \"hi\"\\", &len),
                     OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA code 3: command format "
                             "error: say \\\"hi\\\"\\\\\"}");
    full = len;
    assert_int_equal(ota_at_status_msg(msg, full, IMEI, OTA_CODE_FORMAT, "say \"hi\"\\", &len),
                     OTA_ERR_NOSPACE);
    assert_string_equal(msg, "");
    assert_int_equal(len, 0u);
    assert_int_equal(ota_at_status_msg(msg, full + 1u, IMEI, OTA_CODE_FORMAT, "say \"hi\"\\", &len),
                     OTA_OK);
    assert_int_equal(len, full);
    assert_int_equal(ota_at_status_msg(NULL, 10u, IMEI, OTA_CODE_FORMAT, NULL, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_at_status_msg(msg, 0u, IMEI, OTA_CODE_FORMAT, NULL, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_at_status_msg(msg, 10u, NULL, OTA_CODE_FORMAT, NULL, NULL), OTA_ERR_PARAM);
}

static void assert_valid_json(const char *msg)
{
    ota_json_val_t root;
    ota_json_val_t v;
    char text[OTA_AT_MSG_MAX];

    assert_int_equal(ota_json_parse(msg, strlen(msg), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "Message", &v), OTA_OK);
    assert_int_equal(ota_json_string(&v, text, sizeof text, NULL), OTA_OK);
}

static void test_rollback_msg(void **state)
{
    char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    (void)state;
    assert_int_equal(ota_at_rollback_msg(msg, sizeof msg, IMEI, "s31-nb", "v1.2.0",
                                         "not confirmed \"in time\"", &len),
                     OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA Update failed, rolled "
                             "back, Firmware Title: s31-nb Ver: v1.2.0: not confirmed \\\"in "
                             "time\\\"\"}");
    assert_int_equal(len, strlen(msg));
    assert_valid_json(msg);
    assert_int_equal(ota_at_rollback_msg(msg, 20u, IMEI, "s31-nb", "v1.2.0", "x", &len),
                     OTA_ERR_NOSPACE);
    assert_string_equal(msg, "");
    assert_int_equal(ota_at_rollback_msg(NULL, 10u, IMEI, "t", "v", "r", NULL), OTA_ERR_PARAM);
}

static void test_update_ok_msg(void **state)
{
    char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    size_t full;

    (void)state;
    assert_int_equal(ota_at_update_ok_msg(msg, sizeof msg, IMEI, "s31-nb", "v1.6.0", &len), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA Update OK, Firmware "
                             "Title: s31-nb Ver: v1.6.0\"}");
    assert_int_equal(len, strlen(msg));
    assert_valid_json(msg);

    /* Whatever the title holds: quote, backslash, control, DEL, valid UTF-8
     * (2 and 3 bytes), a stray byte, a sequence cut by the end. */
    assert_int_equal(ota_at_update_ok_msg(msg, sizeof msg, IMEI,
                                          "a\"b\\c\x01\x7f\xc3\xa9\xff\xe2\x82\xac\xe2\x82",
                                          "v\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xf0\x9f\x98\x80",
                                          &len),
                     OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA Update OK, Firmware "
                             "Title: a\\\"b\\\\c\\u0001\x7f\xc3\xa9\\ufffd\xe2\x82\xac\\ufffd\\ufffd"
                             " Ver: v\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|"
                             "\xf0\x9f\x98\x80\"}");
    assert_valid_json(msg);

    /* The IMEI is escaped the same way. */
    assert_int_equal(ota_at_update_ok_msg(msg, sizeof msg, "86\"0\\1\x02\xff", "t", "v", &len),
                     OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"86\\\"0\\\\1\\u0002\\ufffd\",\"Message\":"
                             "\"OTA Update OK, Firmware Title: t Ver: v\"}");
    assert_valid_json(msg);

    /* NULL strings are empty. */
    assert_int_equal(ota_at_update_ok_msg(msg, sizeof msg, IMEI, NULL, NULL, &len), OTA_OK);
    assert_string_equal(msg, "{\"IMEI\":\"860000000000001\",\"Message\":\"OTA Update OK, Firmware "
                             "Title:  Ver: \"}");

    /* Too small: NOSPACE and "", never a half escape. */
    assert_int_equal(ota_at_update_ok_msg(msg, sizeof msg, IMEI, "t\"", "v", &len), OTA_OK);
    full = len;
    for (len = 1u; len <= full; len++) {
        size_t got = 77u;
        assert_int_equal(ota_at_update_ok_msg(msg, len, IMEI, "t\"", "v", &got), OTA_ERR_NOSPACE);
        assert_string_equal(msg, "");
        assert_int_equal(got, 0u);
    }
    assert_int_equal(ota_at_update_ok_msg(msg, full + 1u, IMEI, "t\"", "v", &len), OTA_OK);
    assert_int_equal(len, full);
    assert_int_equal(ota_at_update_ok_msg(NULL, 10u, IMEI, "t", "v", NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_at_update_ok_msg(msg, 0u, IMEI, "t", "v", NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_at_update_ok_msg(msg, 10u, NULL, "t", "v", NULL), OTA_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_and_params, setup),
        cmocka_unit_test_setup(test_defaults_answer, setup),
        cmocka_unit_test_setup(test_otaser, setup),
        cmocka_unit_test_setup(test_text_commands, setup),
        cmocka_unit_test_setup(test_password_never_echoed, setup),
        cmocka_unit_test_setup(test_upgrade_command, setup),
        cmocka_unit_test_setup(test_same_value_writes_nothing, setup),
        cmocka_unit_test_setup(test_each_validation_error, setup),
        cmocka_unit_test_setup(test_too_long, setup),
        cmocka_unit_test_setup(test_embedded_nul_and_len, setup),
        cmocka_unit_test_setup(test_busy, setup),
        cmocka_unit_test_setup(test_store_failure_changes_nothing, setup),
        cmocka_unit_test_setup(test_restart_keeps_everything, setup),
        cmocka_unit_test_setup(test_power_cut_every_byte_console, setup),
        cmocka_unit_test_setup(test_power_cut_every_byte_downlink, setup),
        cmocka_unit_test_setup(test_corrupted_record_falls_back, setup),
        cmocka_unit_test_setup(test_old_layout_record, setup),
        cmocka_unit_test_setup(test_config_downlink_applies_all, setup),
        cmocka_unit_test_setup(test_config_downlink_forms, setup),
        cmocka_unit_test_setup(test_config_downlink_atomic, setup),
        cmocka_unit_test_setup(test_config_downlink_errors, setup),
        cmocka_unit_test_setup(test_config_downlink_too_long, setup),
        cmocka_unit_test_setup(test_config_not_ours, setup),
        cmocka_unit_test_setup(test_config_busy_and_store_failure, setup),
        cmocka_unit_test_setup(test_f9_01, setup),
        cmocka_unit_test_setup(test_f9_other, setup),
        cmocka_unit_test_setup(test_status_msg, setup),
        cmocka_unit_test_setup(test_update_ok_msg, setup),
        cmocka_unit_test_setup(test_rollback_msg, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
