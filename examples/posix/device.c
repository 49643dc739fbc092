/*
 * cellota-device: a simulated cellular device that updates its firmware
 * from a ThingsBoard-compatible OTA server over MQTT.
 *
 * The unchanged cellota client runs on the POSIX port: its external NOR
 * flash is a file, its settings EEPROM is another file, the OTA server is
 * reached through libmosquitto, and result messages go out on a second MQTT
 * connection that stands for the device's data server. The program runs one
 * update (like AT+UPGRADE) and exits with its result.
 *
 * Exit status: 0 for result code 100, the result code (1..7) otherwise,
 * 10 for a usage error, 11 for a set-up error (files, MQTT library),
 * 12 if the client refused the configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cellota/ota_client.h"
#include "cellota/ota_settings.h"
#include "cellota_posix/cellota_posix.h"

#define EXIT_USAGE 10
#define EXIT_SETUP 11
#define EXIT_CONFIG 12

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 1883u
#define DEFAULT_IMEI "860000000000001"
#define DEFAULT_TITLE "s31-nb"
#define DEFAULT_VERSION "v1.0.0"
#define DEFAULT_FLASH "./cellota-flash.bin"
#define DEFAULT_SETTINGS "./cellota-settings.bin"
#define MAX_WAIT_MS 100
#define BAR_WIDTH 30
#define TOPIC_LEN 192
#define OFFER_STR 72

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *host;
    long port; /* -1: not given */
    const char *token;
    const char *password;
    const char *client_id;
    const char *title;
    const char *version;
    const char *imei;
    const char *flash_path;
    uint32_t flash_size; /* 0: the file's size, or the default for a new file */
    bool no_flash;
    const char *settings_path;
    bool format_given;
    ota_pkg_format_t format;
    long chunk;
    long window;
    long answer_timeout_ms;
    long connect_timeout_ms;
    long backoff_ms;
    long retries;
    const char *status_topic;
    bool ns;
    bool quiet;
    bool log_level_given;
    ota_log_level_t log_level;
} opts_t;

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_TOKEN,
    OPT_PASSWORD,
    OPT_CLIENT_ID,
    OPT_TITLE,
    OPT_VERSION,
    OPT_IMEI,
    OPT_FLASH,
    OPT_FLASH_SIZE,
    OPT_NO_FLASH,
    OPT_SETTINGS,
    OPT_FORMAT,
    OPT_CHUNK,
    OPT_WINDOW,
    OPT_ANSWER_TO,
    OPT_CONNECT_TO,
    OPT_BACKOFF,
    OPT_RETRIES,
    OPT_STATUS_TOPIC,
    OPT_NAMESPACE,
    OPT_QUIET,
    OPT_LOG_LEVEL,
    OPT_HELP
};

static const struct option long_opts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"title", required_argument, NULL, OPT_TITLE},
    {"version", required_argument, NULL, OPT_VERSION},
    {"imei", required_argument, NULL, OPT_IMEI},
    {"flash", required_argument, NULL, OPT_FLASH},
    {"flash-size", required_argument, NULL, OPT_FLASH_SIZE},
    {"no-flash", no_argument, NULL, OPT_NO_FLASH},
    {"settings", required_argument, NULL, OPT_SETTINGS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"chunk", required_argument, NULL, OPT_CHUNK},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"answer-timeout-ms", required_argument, NULL, OPT_ANSWER_TO},
    {"connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TO},
    {"backoff-ms", required_argument, NULL, OPT_BACKOFF},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"status-topic", required_argument, NULL, OPT_STATUS_TOPIC},
    {"namespace", no_argument, NULL, OPT_NAMESPACE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    (void)fprintf(out,
            "usage: cellota-device [options]\n"
            "Simulated device: asks a ThingsBoard-compatible OTA server (MQTT) for new\n"
            "firmware, downloads it into a simulated NOR flash file and reports the result.\n"
            "Server settings are kept in the settings file; options given here replace them.\n"
            "\n"
            "OTA server (saved in the settings file, like AT+OTASER/OTACLT/OTAUNAME/OTAPWD):\n"
            "  --host H               broker host (default " DEFAULT_HOST ")\n"
            "  --port P               broker port (default 1883)\n"
            "  --token T              device access token = MQTT user name\n"
            "  --password P           MQTT password (default none)\n"
            "  --client-id ID         MQTT client id (default cellota-<imei>)\n"
            "Firmware (saved too, like AT+OTATITLE/OTAVER):\n"
            "  --title T              firmware title (default " DEFAULT_TITLE ")\n"
            "  --version V            version of the running firmware (default " DEFAULT_VERSION ")\n"
            "Device:\n"
            "  --imei N               device IMEI (default " DEFAULT_IMEI ")\n"
            "  --flash FILE           flash image file (default " DEFAULT_FLASH ")\n"
            "  --flash-size BYTES     flash size for a new file, e.g. 4M (default 4 MiB)\n"
            "  --no-flash             simulate a board without external flash (result code 2)\n"
            "  --settings FILE        settings file (default " DEFAULT_SETTINGS ")\n"
            "Transfer:\n"
            "  --format dragino|raw   package layout on the server (default dragino)\n"
            "  --chunk N              chunk size for --format raw (default 1024)\n"
            "  --window W             chunk requests in flight, 1..%u (default 1)\n"
            "  --answer-timeout-ms MS time allowed for each server answer\n"
            "  --connect-timeout-ms MS time allowed to connect\n"
            "  --backoff-ms MS        wait before the first retry (doubles each time)\n"
            "  --retries N            extra attempts after a transient failure (default 3)\n"
            "Output:\n"
            "  --status-topic T       topic of the status messages (default cellota/<imei>/status)\n"
            "  --namespace            put the OTA topics under tb/<token>/ (to share one broker)\n"
            "  --quiet                only print the result\n"
            "  --log-level L          also show the library's log: error, warn, info, debug\n"
            "  --help                 this text\n"
            "\n"
            "Exit status: 0 = updated (code 100); 1..7 = the result code; 10 = bad options;\n"
            "11 = files or MQTT library could not be set up; 12 = configuration refused.\n",
            (unsigned)OTA_CFG_MAX_WINDOW);
}

static void say(const char *fmt, ...);

static bool parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        say("bad value for --%s: '%s' (expected a number from %ld to %ld)", name, text, min, max);
        return false;
    }
    *out = v;
    return true;
}

/* Bytes with an optional K or M suffix (binary units). */
static bool parse_size(const char *text, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    unsigned long mult = 1u;
    const char *rest = (end == NULL || end == text) ? "?" : end;
    if (*rest == 'K' || *rest == 'k') {
        mult = 1024u;
        rest++;
    } else if (*rest == 'M' || *rest == 'm') {
        mult = 1024u * 1024u;
        rest++;
    }
    if (errno != 0 || *rest != '\0' || v == 0u || v > UINT32_MAX / mult ||
        (v * mult) % CELLOTA_FLASH_SECTOR_SIZE != 0u || v * mult < 4u * CELLOTA_FLASH_SECTOR_SIZE) {
        say("bad value for --flash-size: '%s' (a multiple of 4096 bytes, at least 16K)", text);
        return false;
    }
    *out = (uint32_t)(v * mult);
    return true;
}

static bool parse_text_opt(opts_t *o, int id, const char *arg)
{
    switch (id) {
    case OPT_HOST: o->host = arg; return true;
    case OPT_TOKEN: o->token = arg; return true;
    case OPT_PASSWORD: o->password = arg; return true;
    case OPT_CLIENT_ID: o->client_id = arg; return true;
    case OPT_TITLE: o->title = arg; return true;
    case OPT_VERSION: o->version = arg; return true;
    case OPT_IMEI: o->imei = arg; return true;
    case OPT_FLASH: o->flash_path = arg; return true;
    case OPT_SETTINGS: o->settings_path = arg; return true;
    case OPT_STATUS_TOPIC: o->status_topic = arg; return true;
    default: return false;
    }
}

static bool parse_number_opt(opts_t *o, int id, const char *arg, bool *ok)
{
    *ok = true;
    switch (id) {
    case OPT_PORT: *ok = parse_long("port", arg, 1, 65535, &o->port); return true;
    case OPT_CHUNK: *ok = parse_long("chunk", arg, 1, (long)OTA_CFG_CHUNK_BUF_SIZE, &o->chunk); return true;
    case OPT_WINDOW: *ok = parse_long("window", arg, 1, (long)OTA_CFG_MAX_WINDOW, &o->window); return true;
    case OPT_ANSWER_TO:
        *ok = parse_long("answer-timeout-ms", arg, 1, 0x7FFFFFFFL, &o->answer_timeout_ms);
        return true;
    case OPT_CONNECT_TO:
        *ok = parse_long("connect-timeout-ms", arg, 1, 0x7FFFFFFFL, &o->connect_timeout_ms);
        return true;
    case OPT_BACKOFF: *ok = parse_long("backoff-ms", arg, 0, 0x00FFFFFFL, &o->backoff_ms); return true;
    case OPT_RETRIES: *ok = parse_long("retries", arg, 0, 100, &o->retries); return true;
    case OPT_FLASH_SIZE: *ok = parse_size(arg, &o->flash_size); return true;
    default: return false;
    }
}

static bool parse_other_opt(opts_t *o, int id, const char *arg)
{
    switch (id) {
    case OPT_NO_FLASH: o->no_flash = true; return true;
    case OPT_NAMESPACE: o->ns = true; return true;
    case OPT_QUIET: o->quiet = true; return true;
    case OPT_FORMAT:
        o->format_given = true;
        if (strcmp(arg, "dragino") == 0) {
            o->format = OTA_PKG_DRAGINO;
            return true;
        }
        if (strcmp(arg, "raw") == 0) {
            o->format = OTA_PKG_RAW;
            return true;
        }
        say("bad value for --format: '%s' (dragino or raw)", arg);
        return false;
    case OPT_LOG_LEVEL:
        o->log_level_given = true;
        if (cellota_log_level_parse(arg, &o->log_level) == 0) {
            return true;
        }
        say("bad value for --log-level: '%s' (error, warn, info or debug)", arg);
        return false;
    default:
        say("unexpected option");
        return false;
    }
}

static void opts_defaults(opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->port = -1;
    o->imei = DEFAULT_IMEI;
    o->flash_path = DEFAULT_FLASH;
    o->settings_path = DEFAULT_SETTINGS;
    o->format = OTA_PKG_DRAGINO;
    o->chunk = -1;
    o->window = -1;
    o->answer_timeout_ms = -1;
    o->connect_timeout_ms = -1;
    o->backoff_ms = -1;
    o->retries = -1;
}

/* 0 to go on, -1 for --help, EXIT_USAGE for a bad command line. */
static int parse_args(int argc, char **argv, opts_t *o)
{
    int id;
    opts_defaults(o);
    while ((id = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        bool ok = true;
        if (id == OPT_HELP) {
            return -1;
        }
        if (id == '?' || id == ':') {
            return EXIT_USAGE;
        }
        if (parse_text_opt(o, id, optarg) || parse_number_opt(o, id, optarg, &ok)) {
            if (!ok) {
                return EXIT_USAGE;
            }
            continue;
        }
        if (!parse_other_opt(o, id, optarg)) {
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        say("unexpected argument '%s' (see --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (o->chunk >= 0 && o->format != OTA_PKG_RAW) {
        say("--chunk only applies to --format raw (Dragino records are always 1028 bytes)");
        return EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Output: plain lines, and a progress bar that other lines end first        */
/* ------------------------------------------------------------------------ */

static bool g_bar_on; /* a bar is drawn on the current stderr line */
static bool g_quiet;  /* --quiet: note() prints nothing */

static void bar_end(void *arg)
{
    (void)arg;
    if (g_bar_on) {
        (void)fputc('\n', stderr);
        g_bar_on = false;
    }
}

static void say(const char *fmt, ...)
{
    va_list ap;
    bar_end(NULL);
    (void)fputs("device: ", stderr);
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void)fputc('\n', stderr);
}

/* An informational line (dropped by --quiet). */
static void note(const char *fmt, ...)
{
    va_list ap;
    if (g_quiet) {
        return;
    }
    bar_end(NULL);
    (void)fputs("device: ", stderr);
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void)fputc('\n', stderr);
}

/* ------------------------------------------------------------------------ */
/* What the server offered (read from the attribute answer, for display)    */
/* ------------------------------------------------------------------------ */

/* What the server offered, read from its attribute answer (display only). */
typedef struct {
    char title[OFFER_STR];
    char version[OFFER_STR];
    char size[OFFER_STR];
    char algo[OFFER_STR];
    char checksum[OFFER_STR];
} offer_t;

/* Copy the value of "key" (a string or a bare number) out of a JSON text.
 * For display only: no escapes, first occurrence. */
static void json_peek(const char *json, const char *key, char *out, size_t cap)
{
    char pat[40];
    const char *p;
    size_t n = 0u;
    (void)snprintf(pat, sizeof(pat), "\"%s\"", key);
    p = strstr(json, pat);
    if (p == NULL) {
        return;
    }
    p += strlen(pat);
    p += strspn(p, " \t\r\n");
    if (*p != ':') {
        return;
    }
    p++;
    p += strspn(p, " \t\r\n");
    bool quoted = (*p == '"');
    p += quoted ? 1 : 0;
    while (p[n] != '\0' && n + 1u < cap &&
           (quoted ? p[n] != '"' : strchr(",} \t\r\n", p[n]) == NULL)) {
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Sees every message the client receives (from inside the transport's
 * poll, just before the client gets it): shows the attribute answer. */
static void offer_tap(void *arg, const char *topic, size_t topic_len, const uint8_t *payload,
                      size_t len)
{
    static const char prefix[] = "v1/devices/me/attributes";
    char name[TOPIC_LEN];
    char json[2048];
    offer_t o;
    (void)arg;
    if (topic_len < sizeof(prefix) - 1u || topic_len >= sizeof(name) ||
        memcmp(topic, prefix, sizeof(prefix) - 1u) != 0 || len >= sizeof(json)) {
        return;
    }
    memcpy(name, topic, topic_len);
    name[topic_len] = '\0';
    if (len != 0u) {
        memcpy(json, payload, len);
    }
    json[len] = '\0';
    memset(&o, 0, sizeof(o));
    json_peek(json, "fw_title", o.title, sizeof(o.title));
    json_peek(json, "fw_version", o.version, sizeof(o.version));
    json_peek(json, "fw_size", o.size, sizeof(o.size));
    json_peek(json, "fw_checksum_algorithm", o.algo, sizeof(o.algo));
    json_peek(json, "fw_checksum", o.checksum, sizeof(o.checksum));
    if (o.title[0] != '\0') {
        note("server offers %s %s (%s bytes, %s %s)", o.title, o.version[0] ? o.version : "?",
             o.size[0] ? o.size : "?", o.algo[0] ? o.algo : "checksum",
             o.checksum[0] ? o.checksum : "?");
    } else if (strstr(name, "/response/") != NULL) {
        note("the server has no firmware assigned to this device");
    }
}

/* ------------------------------------------------------------------------ */
/* The simulated device                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    opts_t opt;
    ota_settings_t settings;
    char ns[CELLOTA_MQTT_NS_MAX + 1];
    char status_topic[TOPIC_LEN];
    char data_client_id[OTA_CFG_CRED_MAX + 8];
    cellota_flash_file_t flash;
    cellota_store_file_t store;
    cellota_mqtt_t mqtt;
    cellota_uplink_mqtt_t uplink;
    cellota_reboot_flag_t reboot;
    cellota_log_stderr_t log;
    ota_config_t cfg;
    ota_client_t client;
    bool tty;
    /* what was printed */
    ota_state_t shown_state;
    uint8_t shown_attempt;
    bool verified_shown;
    int last_pct;
    uint32_t last_draw;
} device_t;

static device_t g_dev;
static volatile sig_atomic_t g_interrupted;

/* First Ctrl-C: stop the update cleanly; second: leave at once. */
static void on_sigint(int sig)
{
    (void)sig;
    if (g_interrupted) {
        _exit(130);
    }
    g_interrupted = 1;
}

static bool set_str(char *dst, size_t cap, const char *src, const char *what)
{
    if (src == NULL) {
        return true;
    }
    if (strlen(src) >= cap) {
        say("%s is too long (at most %zu characters)", what, cap - 1u);
        return false;
    }
    memcpy(dst, src, strlen(src) + 1u);
    return true;
}

/* Load the saved settings (or defaults), apply the command line, save. */
static int settings_prepare(device_t *d)
{
    ota_settings_t *s = &d->settings;
    const opts_t *o = &d->opt;
    int rc = cellota_store_file_open(&d->store, o->settings_path, 0u);
    if (rc != 0) {
        say("cannot open the settings file %s: %s (%s)", o->settings_path, cellota_posix_strerror(rc),
            strerror(d->store.last_errno));
        return EXIT_SETUP;
    }
    ota_store_t port = cellota_store_file_port(&d->store);
    ota_status_t st = ota_settings_load(&port, s);
    if (st == OTA_ERR_NOT_FOUND) {
        ota_settings_defaults(s, DEFAULT_TITLE, DEFAULT_VERSION);
        note("no saved settings in %s yet: starting from defaults", o->settings_path);
    } else if (st != OTA_OK) {
        say("cannot read the settings file %s: %s", o->settings_path, ota_status_str(st));
        return EXIT_SETUP;
    }
    char id[OTA_CFG_CRED_MAX + 1];
    (void)snprintf(id, sizeof(id), "cellota-%s", o->imei);
    bool ok = set_str(s->host, sizeof(s->host), s->host[0] ? NULL : DEFAULT_HOST, "host") &&
              set_str(s->client_id, sizeof(s->client_id), s->client_id[0] ? NULL : id, "client id") &&
              set_str(s->title, sizeof(s->title), s->title[0] ? NULL : DEFAULT_TITLE, "title") &&
              set_str(s->version, sizeof(s->version), s->version[0] ? NULL : DEFAULT_VERSION, "version") &&
              set_str(s->host, sizeof(s->host), o->host, "--host") &&
              set_str(s->username, sizeof(s->username), o->token, "--token") &&
              set_str(s->password, sizeof(s->password), o->password, "--password") &&
              set_str(s->client_id, sizeof(s->client_id), o->client_id, "--client-id") &&
              set_str(s->title, sizeof(s->title), o->title, "--title") &&
              set_str(s->version, sizeof(s->version), o->version, "--version");
    if (!ok) {
        return EXIT_USAGE;
    }
    if (o->port > 0) {
        s->port = (uint16_t)o->port;
    }
    st = ota_settings_save(&port, s);
    if (st != OTA_OK) {
        say("cannot save the settings to %s: %s", o->settings_path, ota_status_str(st));
        return EXIT_SETUP;
    }
    return 0;
}

static int flash_prepare(device_t *d)
{
    const opts_t *o = &d->opt;
    if (o->no_flash) {
        cellota_flash_file_open_absent(&d->flash, o->flash_size);
        note("no external flash fitted (--no-flash)");
        return 0;
    }
    int rc = cellota_flash_file_open(&d->flash, o->flash_path, o->flash_size);
    if (rc == CELLOTA_POSIX_ESIZE) {
        say("the flash file %s already exists with another size than --flash-size; delete it or "
            "drop --flash-size",
            o->flash_path);
        return EXIT_SETUP;
    }
    if (rc != 0) {
        say("cannot open the flash file %s: %s (%s)", o->flash_path, cellota_posix_strerror(rc),
            strerror(d->flash.last_errno));
        return EXIT_SETUP;
    }
    return 0;
}

/* Status messages: send them, then show what went out. */
static int uplink_send(void *ctx, const char *msg, size_t len)
{
    device_t *d = ctx;
    int rc = cellota_uplink_send(&d->uplink, msg, len);
    if (rc == 0) {
        say("status message sent on %s: %.*s", cellota_uplink_topic(&d->uplink), (int)len, msg);
    } else {
        say("status message NOT sent on %s (%s%s%s): %.*s", cellota_uplink_topic(&d->uplink),
            cellota_posix_strerror(rc), d->uplink.last_errno != 0 ? ": " : "",
            d->uplink.last_errno != 0 ? strerror(d->uplink.last_errno) : "", (int)len, msg);
    }
    return rc;
}

static int links_prepare(device_t *d)
{
    const opts_t *o = &d->opt;
    const ota_settings_t *s = &d->settings;
    cellota_mqtt_init(&d->mqtt);
    cellota_mqtt_set_tap(&d->mqtt, offer_tap, NULL);
    if (o->ns) {
        if (s->username[0] == '\0' || strpbrk(s->username, "/+#") != NULL) {
            say("--namespace needs a token (--token) without '/', '+' or '#'");
            return EXIT_USAGE;
        }
        (void)snprintf(d->ns, sizeof(d->ns), "tb/%s/", s->username);
        (void)cellota_mqtt_set_namespace(&d->mqtt, d->ns);
    }
    if (o->status_topic != NULL) {
        (void)snprintf(d->status_topic, sizeof(d->status_topic), "%s", o->status_topic);
    } else {
        (void)snprintf(d->status_topic, sizeof(d->status_topic), CELLOTA_UPLINK_TOPIC_FMT, o->imei);
    }
    (void)snprintf(d->data_client_id, sizeof(d->data_client_id), "%s-data", s->client_id);
    cellota_uplink_cfg_t ucfg = {s->host, s->port, d->data_client_id, s->username, s->password,
                                 d->status_topic};
    int rc = cellota_uplink_open(&d->uplink, &ucfg);
    if (rc != 0) {
        say("cannot set up the status uplink: %s", cellota_posix_strerror(rc));
        return EXIT_USAGE;
    }
    return 0;
}

static void config_build(device_t *d, const cellota_flash_layout_t *map)
{
    ota_config_t *c = &d->cfg;
    const opts_t *o = &d->opt;
    ota_config_defaults(c);
    c->transport = cellota_mqtt_port(&d->mqtt);
    c->flash = cellota_flash_file_port(&d->flash);
    c->clock = cellota_posix_clock();
    c->uplink.ctx = d;
    c->uplink.send = uplink_send;
    c->reboot = cellota_reboot_flag_port(&d->reboot);
    c->log = cellota_log_stderr_port(&d->log);
    c->settings = &d->settings;
    c->imei = o->imei;
    c->meta_addr = map->meta_addr;
    c->slot_addr = map->slot_addr;
    c->slot_size = map->slot_size;
    c->format = o->format;
    if (o->chunk > 0) {
        c->raw_chunk_size = (uint32_t)o->chunk;
    }
    if (o->window > 0) {
        c->window = (uint8_t)o->window;
    }
    if (o->answer_timeout_ms > 0) {
        c->answer_timeout_ms = (uint32_t)o->answer_timeout_ms;
    }
    if (o->connect_timeout_ms > 0) {
        c->connect_timeout_ms = (uint32_t)o->connect_timeout_ms;
    }
    if (o->backoff_ms >= 0) {
        c->backoff_ms = (uint32_t)o->backoff_ms;
    }
    if (o->retries >= 0) {
        c->attempt_retries = (uint8_t)o->retries;
    }
}

static int device_setup(device_t *d)
{
    int rc = settings_prepare(d);
    if (rc == 0) {
        rc = flash_prepare(d);
    }
    if (rc == 0) {
        rc = links_prepare(d);
    }
    if (rc != 0) {
        return rc;
    }
    d->log.max_level = d->opt.log_level;
    d->log.prefix = "ota: ";
    d->log.before_line = bar_end;
    cellota_flash_layout_t map;
    if (cellota_posix_layout(d->flash.size, &map) != 0) {
        say("flash size %u is too small", (unsigned)d->flash.size);
        return EXIT_SETUP;
    }
    config_build(d, &map);
    if (!d->opt.log_level_given) {
        d->cfg.log.write = NULL; /* the library's own log only on request */
    }
    if (ota_client_init(&d->client, &d->cfg) != OTA_OK) {
        say("the OTA client refused the configuration (check --window, --chunk and the timeouts)");
        return EXIT_CONFIG;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Showing progress                                                         */
/* ------------------------------------------------------------------------ */

static const char *code_text(ota_code_t code)
{
    switch (code) {
    case OTA_CODE_TITLE_MISMATCH: return "firmware title mismatch";
    case OTA_CODE_NO_HARDWARE: return "hardware not supported (no usable external flash)";
    case OTA_CODE_FORMAT: return "command or data format error";
    case OTA_CODE_TIMEOUT: return "OTA server connection timeout";
    case OTA_CODE_NO_TITLE: return "firmware title not found on the server";
    case OTA_CODE_SAME_VERSION: return "firmware version match, nothing to do";
    case OTA_CODE_CHECKSUM: return "firmware checksum error";
    case OTA_CODE_SUCCESS: return "OTA update successful, waiting for reboot";
    case OTA_CODE_NONE:
    default: return "no result";
    }
}

static void draw_bar(device_t *d, const ota_client_info_t *in, uint32_t now)
{
    if (in->total == 0u) {
        return;
    }
    int pct = (int)((uint64_t)in->done * 100u / in->total);
    if (!d->tty) {
        if (pct >= 10 && pct / 10 > d->last_pct / 10) {
            say("downloaded %d %% (%u of %u bytes)", pct / 10 * 10, (unsigned)in->done,
                (unsigned)in->total);
            d->last_pct = pct;
        }
        return;
    }
    if (pct == d->last_pct && now - d->last_draw < 250u) {
        return;
    }
    char bar[BAR_WIDTH + 1];
    int fill = pct * BAR_WIDTH / 100;
    for (int i = 0; i < BAR_WIDTH; i++) {
        bar[i] = (i < fill) ? '#' : '-';
    }
    bar[BAR_WIDTH] = '\0';
    (void)fprintf(stderr, "\rdevice: downloading [%s] %3d %%  %u / %u bytes", bar, pct, (unsigned)in->done,
            (unsigned)in->total);
    (void)fflush(stderr);
    g_bar_on = true;
    d->last_pct = pct;
    d->last_draw = now;
}

static void show_verified(device_t *d)
{
    if (!d->verified_shown) {
        d->verified_shown = true;
        note("image verified");
    }
}

static void show_backoff(device_t *d, const ota_client_info_t *in)
{
    uint32_t at = 0u;
    uint32_t wait = 0u;
    if (ota_client_next_deadline(&d->client, &at)) {
        int32_t left = (int32_t)(at - cellota_posix_now_ms());
        wait = left > 0 ? (uint32_t)left : 0u;
    }
    say("attempt %u failed: %s; trying again in %.1f s", (unsigned)in->attempt,
        in->reason[0] ? in->reason : code_text(in->code), (double)wait / 1000.0);
}

static void show_state(device_t *d, const ota_client_info_t *in)
{
    const ota_settings_t *s = &d->settings;
    unsigned attempts = (unsigned)d->cfg.attempt_retries + 1u;
    switch (in->state) {
    case OTA_STATE_CONNECTING:
        if (in->attempt > 1u) {
            say("attempt %u of %u", (unsigned)in->attempt, attempts);
        }
        say("connecting to OTA server %s:%u as \"%s\"%s ...", s->host, (unsigned)s->port, s->client_id,
            d->opt.ns ? " (topics under tb/<token>/)" : "");
        break;
    case OTA_STATE_NEGOTIATING:
        say("connected; announcing %s %s and asking the server for an update ...", s->title, s->version);
        break;
    case OTA_STATE_DOWNLOADING:
        say("downloading into the staging slot at 0x%06x ...", (unsigned)d->cfg.slot_addr);
        d->last_pct = -1;
        break;
    case OTA_STATE_VERIFYING:
        if (d->last_pct < 100) {
            draw_bar(d, &(ota_client_info_t){.done = in->total, .total = in->total}, 0u);
        }
        say("download complete; checking the whole image in flash ...");
        break;
    case OTA_STATE_STAGING:
        show_verified(d);
        break;
    case OTA_STATE_BACKOFF:
        show_backoff(d, in);
        break;
    default:
        break;
    }
}

static void show(device_t *d, const ota_client_info_t *in, uint32_t now)
{
    if (!d->opt.quiet && (in->state != d->shown_state || in->attempt != d->shown_attempt)) {
        show_state(d, in);
    }
    d->shown_state = in->state;
    d->shown_attempt = in->attempt;
    if (!d->opt.quiet && in->state == OTA_STATE_DOWNLOADING) {
        draw_bar(d, in, now);
    }
}

/* ------------------------------------------------------------------------ */
/* Main loop                                                                */
/* ------------------------------------------------------------------------ */

static void wait_for_work(device_t *d)
{
    int wait = MAX_WAIT_MS;
    uint32_t at = 0u;
    if (ota_client_next_deadline(&d->client, &at)) {
        int32_t left = (int32_t)(at - cellota_posix_now_ms());
        if (left < wait) {
            wait = left < 0 ? 0 : (int)left;
        }
    }
    struct pollfd pfd;
    pfd.fd = cellota_mqtt_fd(&d->mqtt);
    pfd.events = (short)(POLLIN | (cellota_mqtt_want_write(&d->mqtt) ? POLLOUT : 0));
    pfd.revents = 0;
    if (pfd.fd < 0) {
        (void)poll(NULL, 0u, wait);
        return;
    }
    (void)poll(&pfd, 1u, wait);
}

static bool finished(const ota_client_info_t *in)
{
    return in->state == OTA_STATE_DONE || in->state == OTA_STATE_IDLE;
}

static int run(device_t *d)
{
    ota_client_info_t in;
    bool aborted = false;
    d->shown_state = OTA_STATE_IDLE;
    if (ota_client_start(&d->client) != OTA_OK) {
        say("the OTA client did not start");
        return EXIT_CONFIG;
    }
    (void)ota_client_info(&d->client, &in);
    show(d, &in, cellota_posix_now_ms());
    for (;;) {
        uint32_t now = cellota_posix_now_ms();
        if (g_interrupted && !aborted) {
            aborted = true;
            say("interrupted: stopping the update, the old firmware stays");
            (void)ota_client_abort(&d->client);
        }
        (void)ota_client_poll(&d->client, now);
        (void)ota_client_info(&d->client, &in);
        show(d, &in, now);
        if (finished(&in)) {
            break;
        }
        cellota_uplink_poll(&d->uplink);
        wait_for_work(d);
    }
    return (int)in.code;
}

static int report(device_t *d, int code)
{
    ota_client_info_t in;
    (void)ota_client_info(&d->client, &in);
    if (code == OTA_CODE_SUCCESS) {
        show_verified(d);
        say("update staged; result code 100: %s", code_text(OTA_CODE_SUCCESS));
        note("%s; the bootloader that would install %s %s is not simulated yet, so the device stops here",
            d->reboot.requested ? "reboot requested" : "reboot left to the application", in.fw_title,
            in.fw_version);
        return 0;
    }
    if (code == OTA_CODE_NONE) {
        say("the update ended without a result");
        return EXIT_CONFIG;
    }
    say("%s: code %d: %s%s%s", code == OTA_CODE_SAME_VERSION ? "no update needed" : "update failed",
        code, code_text((ota_code_t)code), in.reason[0] ? ": " : "", in.reason);
    return code;
}

int main(int argc, char **argv)
{
    device_t *d = &g_dev;
    int rc = parse_args(argc, argv, &d->opt);
    if (rc < 0) {
        usage(stdout);
        return 0;
    }
    if (rc != 0) {
        (void)fprintf(stderr, "usage: cellota-device [options]   (cellota-device --help lists them)\n");
        return rc;
    }
    g_quiet = d->opt.quiet;
    d->tty = isatty(STDERR_FILENO) != 0;
    if (cellota_posix_init() != 0) {
        say("the MQTT library could not be initialised");
        return EXIT_SETUP;
    }
    rc = device_setup(d);
    if (rc == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint;
        (void)sigaction(SIGINT, &sa, NULL);
        (void)sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = SIG_IGN; /* a broker that hangs up is an error code, not a crash */
        (void)sigaction(SIGPIPE, &sa, NULL);
        note("running %s %s, IMEI %s", d->settings.title, d->settings.version, d->opt.imei);
        rc = report(d, run(d));
    }
    cellota_mqtt_close(&d->mqtt);
    cellota_uplink_close(&d->uplink);
    cellota_flash_file_close(&d->flash);
    cellota_store_file_close(&d->store);
    cellota_posix_cleanup();
    return rc;
}
