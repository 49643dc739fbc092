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
 * With --wait it is a long-lived device instead, configured like a Dragino
 * one (ota_at.h): AT+OTA* commands on its console (standard input, answers
 * on standard output), a JSON Config or an F9 01 downlink on its data
 * downlink topic; it updates when AT+UPGRADE, F9 01 or a Config ending in
 * AT+UPGRADE asks for it, keeps waiting after a failure and ends after code
 * 100 (where the real device reboots; --iflash simulates the reboot and
 * the bootloader, and then sends "OTA Update OK, ..." or the rollback).
 *
 * Exit status: 0 for result code 100, the result code (1..7) otherwise,
 * 10 for a usage error, 11 for a set-up error (files, MQTT library),
 * 12 if the client refused the configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cellota/ota_at.h"
#include "cellota/ota_client.h"
#include "cellota/ota_settings.h"
#include "cellota_posix/cellota_faulty.h"
#include "cellota/quectel.h"
#include "cellota_posix/cellota_posix.h"
#include "cellota_posix/cellota_uart.h"
#include "cellota/ota_boot.h"
#include "sim_mcu.h"

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
#define CONSOLE_LINE_MAX 512
#define DL_RETRY_MS 1000u

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
    bool wait;                  /* --wait: long-lived, console + downlinks */
    const char *downlink_topic; /* --downlink-topic */
    const char *data_host;      /* --data-host */
    long data_port;             /* --data-port; -1: not given */
    bool ns;
    bool quiet;
    bool log_level_given;
    ota_log_level_t log_level;
    bool net_on; /* some --net-* option given: wrap the transport in cellota_faulty */
    bool net_delay_pct_given;
    cellota_faulty_cfg_t net;
    /* --modem: MQTT through the Quectel driver and a module (simulator) */
    const char *modem; /* "bg95", "bc660k" or NULL */
    const char *modem_sim;
    const char *modem_args;
    const char *modem_tty;
    const char *modem_log;
    long modem_pid;
    /* --iflash: the MCU's internal flash and its bootloader are simulated too */
    const char *iflash_path;
    const char *factory_path;
} opts_t;

enum {
    OPT_IFLASH = 200,
    OPT_FACTORY,
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
    OPT_NET_LOSS,
    OPT_NET_DUP,
    OPT_NET_REORDER,
    OPT_NET_DELAY,
    OPT_NET_DELAY_MS,
    OPT_NET_TRUNCATE,
    OPT_NET_CORRUPT,
    OPT_NET_DROP_LINK,
    OPT_NET_SEED,
    OPT_NET_TARGETS,
    OPT_NET_GONE,
    OPT_WAIT,
    OPT_DOWNLINK_TOPIC,
    OPT_DATA_HOST,
    OPT_DATA_PORT,
    OPT_MODEM,
    OPT_MODEM_SIM,
    OPT_MODEM_ARGS,
    OPT_MODEM_TTY,
    OPT_MODEM_PID,
    OPT_MODEM_LOG,
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
    {"net-loss", required_argument, NULL, OPT_NET_LOSS},
    {"net-dup", required_argument, NULL, OPT_NET_DUP},
    {"net-reorder", required_argument, NULL, OPT_NET_REORDER},
    {"net-delay", required_argument, NULL, OPT_NET_DELAY},
    {"net-delay-ms", required_argument, NULL, OPT_NET_DELAY_MS},
    {"net-truncate", required_argument, NULL, OPT_NET_TRUNCATE},
    {"net-corrupt", required_argument, NULL, OPT_NET_CORRUPT},
    {"net-drop-link-after", required_argument, NULL, OPT_NET_DROP_LINK},
    {"net-seed", required_argument, NULL, OPT_NET_SEED},
    {"net-targets", required_argument, NULL, OPT_NET_TARGETS},
    {"net-link-gone", no_argument, NULL, OPT_NET_GONE},
    {"wait", no_argument, NULL, OPT_WAIT},
    {"downlink-topic", required_argument, NULL, OPT_DOWNLINK_TOPIC},
    {"data-host", required_argument, NULL, OPT_DATA_HOST},
    {"data-port", required_argument, NULL, OPT_DATA_PORT},
    {"modem", required_argument, NULL, OPT_MODEM},
    {"modem-sim", required_argument, NULL, OPT_MODEM_SIM},
    {"modem-args", required_argument, NULL, OPT_MODEM_ARGS},
    {"modem-tty", required_argument, NULL, OPT_MODEM_TTY},
    {"modem-pid", required_argument, NULL, OPT_MODEM_PID},
    {"modem-log", required_argument, NULL, OPT_MODEM_LOG},
    {"iflash", required_argument, NULL, OPT_IFLASH},
    {"factory", required_argument, NULL, OPT_FACTORY},
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
            "Hostile network (between the broker and the client; chunk and attribute answers):\n"
            "  --net-loss PCT         drop this percentage of the answers\n"
            "  --net-dup PCT          deliver this percentage twice\n"
            "  --net-reorder PCT      hold this percentage back until after the next message\n"
            "  --net-delay-ms MS      hold answers back MS ms (--net-delay PCT of them, default all)\n"
            "  --net-truncate PCT     cut this percentage short\n"
            "  --net-corrupt PCT      flip one byte in this percentage\n"
            "  --net-drop-link-after N  cut the connection at the N-th chunk answer (once)\n"
            "  --net-link-gone        after that cut the network never comes back\n"
            "  --net-targets LIST     answers to damage: chunks, attrs, errors, comma-separated\n"
            "                         (default chunks,attrs)\n"
            "  --net-seed S           seed of the fault generator (default 1): same seed, same faults\n"
            "Long-lived device, configured like a Dragino one:\n"
            "  --wait                 wait for AT+UPGRADE on the console, or an F9 01 or\n"
            "                         Config downlink, then update; keep waiting after a\n"
            "                         failure, end after code 100 (the reboot). Commands\n"
            "                         (AT+OTASER=host,port ...) are read from standard input\n"
            "  --downlink-topic T     data downlink topic (default cellota/<imei>/downlink)\n"
            "  --data-host H          data server: status messages and downlinks\n"
            "                         (default: the OTA server, or " DEFAULT_HOST ")\n"
            "  --data-port P          data server port (default: the OTA server's)\n"
            "Through a cellular module (instead of libmosquitto for the OTA server connection):\n"
            "  --modem bg95|bc660k    start cellota-quectel-sim playing a Quectel BG95-M2 or BC660K-GL\n"
            "                         behind a pseudo-terminal; the cellota Quectel driver runs MQTT\n"
            "                         through the module's AT commands, as on the real board\n"
            "  --modem-sim PATH       the simulator program (default: next to cellota-device)\n"
            "  --modem-args \"...\"     simulator switches, e.g. \"--one-byte --drop-recv 7\" (see\n"
            "                         cellota-quectel-sim --help)\n"
            "  --modem-log FILE       write the simulator's AT log to FILE\n"
            "  --iflash FILE          simulate the MCU's internal flash in FILE and its bootloader:\n"
            "                         the device boots what FILE holds (its version comes from\n"
            "                         the image's 'cellota-fw <title> <version>;' marker), and\n"
            "                         after code 100 it reboots, the bootloader installs the new\n"
            "                         image, which runs on trial until it reaches its server and\n"
            "                         confirms (or is rolled back after 3 boots). Exit 0 when the\n"
            "                         device ends up running what the server offers\n"
            "  --factory IMAGE        with --iflash: program IMAGE into an empty internal flash\n"
            "  --modem-tty PATH       use a module (or simulator) that runs already, on this tty\n"
            "  --modem-pid PID        with --modem-tty: the simulator's pid, for the PWRKEY/RESET pins\n"
            "  The status messages always go out over libmosquitto: that connection stands for\n"
            "  the device's data server, not for the module.\n"
            "  --help                 this text\n"
            "\n"
            "Exit status: 0 = updated (code 100); 1..7 = the result code; 10 = bad options;\n"
            "11 = files or MQTT library could not be set up; 12 = configuration refused.\n",
            (unsigned)OTA_CFG_MAX_WINDOW);
}

#if defined(__GNUC__)
#define DEVICE_PRINTF __attribute__((format(printf, 1, 2)))
#else
#define DEVICE_PRINTF
#endif
static void say(const char *fmt, ...) DEVICE_PRINTF;
static void note(const char *fmt, ...) DEVICE_PRINTF;

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
    case OPT_DOWNLINK_TOPIC: o->downlink_topic = arg; return true;
    case OPT_DATA_HOST: o->data_host = arg; return true;
    case OPT_IFLASH: o->iflash_path = arg; return true;
    case OPT_FACTORY: o->factory_path = arg; return true;
    default: return false;
    }
}

static bool parse_number_opt(opts_t *o, int id, const char *arg, bool *ok)
{
    *ok = true;
    switch (id) {
    case OPT_PORT: *ok = parse_long("port", arg, 1, 65535, &o->port); return true;
    case OPT_DATA_PORT: *ok = parse_long("data-port", arg, 1, 65535, &o->data_port); return true;
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
    case OPT_WAIT: o->wait = true; return true;
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

/* "chunks,attrs,errors" (any of them) into CELLOTA_FAULTY_* bits. */
static bool parse_net_targets(const char *arg, unsigned *out)
{
    static const char *const names[] = {"chunks", "attrs", "errors"};
    static const unsigned masks[] = {CELLOTA_FAULTY_CHUNKS, CELLOTA_FAULTY_ATTRS,
                                     CELLOTA_FAULTY_ERRORS};
    unsigned bits = 0u;
    const char *p = arg;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        bool known = false;
        for (unsigned i = 0; i < 3u; i++) {
            if (strlen(names[i]) == n && strncmp(p, names[i], n) == 0) {
                bits |= masks[i];
                known = true;
            }
        }
        if (!known) {
            say("bad value for --net-targets: '%s' (chunks, attrs, errors, comma-separated)", arg);
            return false;
        }
        p += n + (p[n] == ',' ? 1u : 0u);
    }
    *out = bits;
    return true;
}

/* The --net-* options. true if id is one of them (*ok then tells whether
 * its value was good). */
static bool parse_net_opt(opts_t *o, int id, const char *arg, bool *ok)
{
    static const struct {
        int id;
        const char *name;
    } pcts[] = {{OPT_NET_LOSS, "net-loss"},         {OPT_NET_DUP, "net-dup"},
                {OPT_NET_REORDER, "net-reorder"},   {OPT_NET_DELAY, "net-delay"},
                {OPT_NET_TRUNCATE, "net-truncate"}, {OPT_NET_CORRUPT, "net-corrupt"}};
    cellota_faulty_cfg_t *n = &o->net;
    uint8_t *const dst[] = {&n->loss_pct, &n->dup_pct, &n->reorder_pct,
                            &n->delay_pct, &n->truncate_pct, &n->corrupt_pct};
    long v = 0;
    *ok = true;
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        if (pcts[i].id == id) {
            *ok = parse_long(pcts[i].name, arg, 0, 100, &v);
            *dst[i] = (uint8_t)v;
            o->net_on = true;
            if (id == OPT_NET_DELAY) {
                o->net_delay_pct_given = true;
            }
            return true;
        }
    }
    switch (id) {
    case OPT_NET_DELAY_MS: *ok = parse_long("net-delay-ms", arg, 0, 600000, &v); n->delay_ms = (uint32_t)v; break;
    case OPT_NET_DROP_LINK:
        *ok = parse_long("net-drop-link-after", arg, 0, 0x7FFFFFFFL, &v);
        n->drop_link_after = (uint32_t)v;
        break;
    case OPT_NET_SEED: *ok = parse_long("net-seed", arg, 0, 0x7FFFFFFFL, &v); n->seed = (uint64_t)v; break;
    case OPT_NET_GONE: n->link_gone_for_good = true; break;
    case OPT_NET_TARGETS: *ok = parse_net_targets(arg, &n->targets); break;
    default: return false;
    }
    o->net_on = true;
    return true;
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
    o->data_port = -1;
    cellota_faulty_defaults(&o->net);
}

/* The --modem* options. true if id is one of them (*ok then tells whether
 * its value was good). */
static bool parse_modem_opt(opts_t *o, int id, const char *arg, bool *ok)
{
    *ok = true;
    switch (id) {
    case OPT_MODEM:
        o->modem = arg;
        if (strcmp(arg, "bg95") != 0 && strcmp(arg, "bc660k") != 0) {
            say("bad value for --modem: '%s' (bg95 or bc660k)", arg);
            *ok = false;
        }
        return true;
    case OPT_MODEM_SIM:
        o->modem_sim = arg;
        return true;
    case OPT_MODEM_ARGS:
        o->modem_args = arg;
        return true;
    case OPT_MODEM_TTY:
        o->modem_tty = arg;
        return true;
    case OPT_MODEM_LOG:
        o->modem_log = arg;
        return true;
    case OPT_MODEM_PID:
        *ok = parse_long("modem-pid", arg, 1, 0x7FFFFFFFL, &o->modem_pid);
        return true;
    default:
        return false;
    }
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
        if (parse_text_opt(o, id, optarg) || parse_number_opt(o, id, optarg, &ok) ||
            parse_net_opt(o, id, optarg, &ok) || parse_modem_opt(o, id, optarg, &ok)) {
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
    if (o->net.delay_ms != 0u && !o->net_delay_pct_given) {
        o->net.delay_pct = 100u; /* --net-delay-ms alone: every answer is late */
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
    ota_transport_t mqtt_port;
    cellota_faulty_t faulty; /* --net-*: between mqtt and the client */
    cellota_uplink_mqtt_t uplink;
    ota_store_t store_port; /* the settings store, for the AT module too */
    char data_host[CELLOTA_UPLINK_STR_MAX + 1];
    uint16_t data_port;
    /* --wait */
    ota_at_t at;
    cellota_mqtt_t dl; /* the data downlink subscription */
    char dl_topic[TOPIC_LEN];
    char dl_client_id[TOPIC_LEN];
    uint32_t dl_retry_at;
    bool dl_up;
    bool dl_ready;
    bool running;
    bool con_open;
    bool con_skip;
    size_t con_len;
    char con_line[CONSOLE_LINE_MAX];
    cellota_reboot_flag_t reboot;
    cellota_log_stderr_t log;
    ota_config_t cfg;
    ota_client_t client;
    /* --iflash */
    sim_mcu_t mcu;
    ota_boot_info_t boot;          /* the boot core's result at this boot */
    bool boot_linked;              /* the firmware reached its server at this boot */
    char refused[OTA_BOOTREQ_STR_MAX + 1];
    char boot_error[192];
    /* --modem */
    bool modem_on;
    bool modem_ready;
    bool sim_spawned;
    long sim_pid; /* the simulator's process, 0 if unknown */
    char modem_tty[128];
    char modem_imei[QUECTEL_IMEI_MAX + 1];
    char sim_args[512];
    cellota_uart_pty_t uart;
    cellota_modem_pins_t pins;
    quectel_config_t qcfg;
    quectel_t modem;
    ota_modem_t modem_port;
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
    d->store_port = cellota_store_file_port(&d->store);
    ota_store_t port = d->store_port;
    ota_status_t st = ota_settings_load(&port, s);
    if (st == OTA_ERR_NOT_FOUND || st == OTA_ERR_CHECKSUM) {
        ota_settings_defaults(s, DEFAULT_TITLE, DEFAULT_VERSION);
        if (st == OTA_ERR_NOT_FOUND) {
            note("no saved settings in %s yet: starting from defaults", o->settings_path);
        } else {
            say("the settings in %s are corrupted: starting from defaults", o->settings_path);
        }
    } else if (st != OTA_OK) {
        say("cannot read the settings file %s: %s", o->settings_path, ota_status_str(st));
        return EXIT_SETUP;
    }
    char id[OTA_CFG_CRED_MAX + 1];
    (void)snprintf(id, sizeof(id), "cellota-%s", o->imei);
    bool fill = !o->wait; /* --wait: no server until one is provisioned (AT+OTASER) */
    bool ok = set_str(s->host, sizeof(s->host), (s->host[0] || !fill) ? NULL : DEFAULT_HOST, "host") &&
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
    /* The data server: --data-host/--data-port, else the OTA server's. */
    (void)snprintf(d->data_host, sizeof(d->data_host), "%s",
                   o->data_host != NULL ? o->data_host : (s->host[0] != '\0' ? s->host : DEFAULT_HOST));
    d->data_port = (o->data_port > 0) ? (uint16_t)o->data_port : s->port;
    if (s->client_id[0] != '\0') {
        (void)snprintf(d->data_client_id, sizeof(d->data_client_id), "%s-data", s->client_id);
    } else {
        (void)snprintf(d->data_client_id, sizeof(d->data_client_id), "cellota-%s-data", o->imei);
    }
    cellota_uplink_cfg_t ucfg = {d->data_host, d->data_port, d->data_client_id, s->username,
                                 s->password, d->status_topic};
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
    if (d->modem_on) {
        quectel_transport(&d->modem, &c->transport); /* MQTT through the module */
    }
    if (o->net_on) {
        d->mqtt_port = c->transport;
        (void)cellota_faulty_init(&d->faulty, &d->mqtt_port, &o->net); /* values checked when parsed */
        c->transport = cellota_faulty_port(&d->faulty);
    }
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

/* ------------------------------------------------------------------------ */
/* --modem: MQTT through a Quectel module (the driver over a UART)          */
/* ------------------------------------------------------------------------ */

#define MODEM_SPAWN_MS 5000
#define MODEM_IMEI_MS 30000u
#define MODEM_DRAIN_MS 8000u
#define MODEM_MAX_ARGS 48

static const char *dialect_name(quectel_dialect_t dia)
{
    switch (dia) {
    case QUECTEL_BG95:
        return "BG95";
    case QUECTEL_BC660K:
        return "BC660K";
    case QUECTEL_AUTO:
    default:
        return "unknown";
    }
}

/* The simulator program: --modem-sim, else cellota-quectel-sim next to this program. */
static void modem_sim_path(const device_t *d, char *out, size_t cap)
{
    char self[512];
    if (d->opt.modem_sim != NULL) {
        (void)snprintf(out, cap, "%s", d->opt.modem_sim);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1u);
    char *slash = NULL;
    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
    }
    if (slash == NULL) {
        (void)snprintf(out, cap, "cellota-quectel-sim"); /* found through PATH */
        return;
    }
    slash[1] = '\0';
    (void)snprintf(out, cap, "%scellota-quectel-sim", self);
}

/* The simulator's command line: model, IMEI, end with us, quiet unless
 * logged, then the words of --modem-args. false if they do not fit. */
static bool modem_argv(device_t *d, char *path, char **argv)
{
    int n = 0;
    const char *extra = d->opt.modem_args != NULL ? d->opt.modem_args : "";
    if (strlen(extra) >= sizeof(d->sim_args)) {
        say("--modem-args is too long (at most %zu characters)", sizeof(d->sim_args) - 1u);
        return false;
    }
    memcpy(d->sim_args, extra, strlen(extra) + 1u);
    argv[n++] = path;
    argv[n++] = (char *)"--model";
    argv[n++] = (char *)d->opt.modem;
    argv[n++] = (char *)"--imei";
    argv[n++] = (char *)d->opt.imei;
    argv[n++] = (char *)"--exit-on-hangup";
    if (d->opt.modem_log == NULL) {
        argv[n++] = (char *)"--quiet";
    }
    for (char *w = strtok(d->sim_args, " \t"); w != NULL; w = strtok(NULL, " \t")) {
        if (n == MODEM_MAX_ARGS - 1) {
            say("--modem-args has too many words");
            return false;
        }
        argv[n++] = w;
    }
    argv[n] = NULL;
    return true;
}

/* Read one line from fd within ms milliseconds (without the newline). */
static bool read_line_within(int fd, char *line, size_t cap, int ms)
{
    size_t n = 0u;
    uint32_t start = cellota_posix_now_ms();
    while (n + 1u < cap) {
        int left = ms - (int)(cellota_posix_now_ms() - start);
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&pfd, 1u, left) <= 0 || read(fd, &line[n], 1u) != 1) {
            break;
        }
        if (line[n] == '\n') {
            line[n] = '\0';
            return true;
        }
        n++;
    }
    line[n] = '\0';
    return false;
}

/* Start cellota-quectel-sim; it prints "pty <path>" first. */
static int modem_spawn(device_t *d)
{
    char path[600];
    char *argv[MODEM_MAX_ARGS];
    char line[200];
    int pfd[2];
    modem_sim_path(d, path, sizeof(path));
    if (!modem_argv(d, path, argv)) {
        return EXIT_USAGE;
    }
    int logfd = -1;
    if (d->opt.modem_log != NULL) {
        logfd = open(d->opt.modem_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (logfd < 0) {
            say("cannot write the module log %s: %s", d->opt.modem_log, strerror(errno));
            return EXIT_SETUP;
        }
    }
    (void)fflush(NULL);
    pid_t pid = (pipe(pfd) == 0) ? fork() : -1;
    if (pid == 0) {
        (void)dup2(pfd[1], STDOUT_FILENO);
        if (logfd >= 0) {
            (void)dup2(logfd, STDERR_FILENO);
        }
        (void)execvp(path, argv);
        (void)fprintf(stderr, "device: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    if (logfd >= 0) {
        (void)close(logfd);
    }
    if (pid < 0) {
        say("cannot start the module simulator: %s", strerror(errno));
        return EXIT_SETUP;
    }
    (void)close(pfd[1]);
    d->sim_pid = (long)pid;
    d->sim_spawned = true;
    bool got = read_line_within(pfd[0], line, sizeof(line), MODEM_SPAWN_MS);
    (void)close(pfd[0]);
    if (!got || strncmp(line, "pty ", 4u) != 0 || strlen(line + 4) >= sizeof(d->modem_tty)) {
        say("the module simulator %s did not start (give its path with --modem-sim%s)", path,
            d->opt.modem_log != NULL ? "; see the module log" : "");
        return EXIT_SETUP;
    }
    memcpy(d->modem_tty, line + 4, strlen(line + 4) + 1u);
    return 0;
}

/* Sleep until the UART has bytes, the driver's next deadline or `wait` ms
 * have passed; then let the driver work. */
static void modem_wait(device_t *d, int wait)
{
    uint32_t at = 0u;
    if (quectel_next_deadline(&d->modem, &at)) {
        int32_t left = (int32_t)(at - cellota_posix_now_ms());
        if (left < wait) {
            wait = left < 0 ? 0 : (int)left;
        }
    }
    struct pollfd pfd = { d->uart.fd, POLLIN, 0 };
    if (poll(&pfd, 1u, wait) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
        (void)poll(NULL, 0u, wait); /* the module is gone: the driver's timeouts handle it */
    }
    (void)quectel_poll(&d->modem, cellota_posix_now_ms());
}

/* Power the module up and wait until the driver has read its IMEI: the
 * status messages carry the module's IMEI. */
static void modem_identify(device_t *d)
{
    uint32_t start = cellota_posix_now_ms();
    bool configured = false; /* the driver's start-up configuration was seen running */
    (void)d->modem_port.power_up(d->modem_port.ctx);
    while (cellota_posix_now_ms() - start < MODEM_IMEI_MS) {
        if (d->modem_port.imei(d->modem_port.ctx, d->modem_imei, sizeof(d->modem_imei)) == 0) {
            note("modem: the driver %s the %s dialect and read IMEI %s (%.1f s after power-up)",
                 d->qcfg.dialect == QUECTEL_AUTO ? "detected" : "uses",
                 dialect_name(quectel_dialect(&d->modem)), d->modem_imei,
                 (double)(cellota_posix_now_ms() - start) / 1000.0);
            if (strcmp(d->modem_imei, d->opt.imei) != 0) {
                note("modem: the module's IMEI replaces %s in the status messages", d->opt.imei);
            }
            d->opt.imei = d->modem_imei;
            return;
        }
        quectel_state_t st = quectel_state(&d->modem);
        if (configured && st != QUECTEL_ST_CONFIGURING && st != QUECTEL_ST_BOOTING) {
            break; /* the start-up configuration is over, and no IMEI came with it */
        }
        configured = configured || st == QUECTEL_ST_CONFIGURING;
        modem_wait(d, MAX_WAIT_MS);
    }
    say("modem: the driver did not read an IMEI from the module (%.1f s); going on with %s",
        (double)(cellota_posix_now_ms() - start) / 1000.0, d->opt.imei);
}

static int modem_prepare(device_t *d)
{
    const opts_t *o = &d->opt;
    d->uart.fd = -1;
    d->modem_on = o->modem != NULL || o->modem_tty != NULL;
    if (!d->modem_on) {
        if (o->modem_sim != NULL || o->modem_args != NULL || o->modem_log != NULL ||
            o->modem_pid > 0) {
            say("--modem-sim, --modem-args, --modem-log and --modem-pid need --modem or "
                "--modem-tty");
            return EXIT_USAGE;
        }
        return 0;
    }
    int rc = 0;
    if (o->modem_tty != NULL) {
        if (o->modem_sim != NULL || o->modem_args != NULL || o->modem_log != NULL ||
            strlen(o->modem_tty) >= sizeof(d->modem_tty)) {
            say("--modem-tty uses a module that runs already: --modem-sim, --modem-args and "
                "--modem-log do not apply");
            return EXIT_USAGE;
        }
        memcpy(d->modem_tty, o->modem_tty, strlen(o->modem_tty) + 1u);
        d->sim_pid = o->modem_pid;
    } else {
        rc = modem_spawn(d);
    }
    if (rc == 0 && (rc = cellota_uart_pty_open(&d->uart, d->modem_tty)) != 0) {
        say("cannot open the module's UART %s: %s (%s)", d->modem_tty, cellota_posix_strerror(rc),
            strerror(d->uart.last_errno));
        rc = EXIT_SETUP;
    }
    if (rc != 0) {
        return rc;
    }
    cellota_modem_pins_init(&d->pins, d->sim_pid);
    quectel_config_defaults(&d->qcfg);
    d->qcfg.uart = cellota_uart_pty_port(&d->uart);
    d->qcfg.gpio = cellota_modem_pins_port(&d->pins);
    d->qcfg.clock = cellota_posix_clock();
    /* --modem picks the module the simulator plays; the driver finds out
     * which one it is talking to from ATI, as it would on a real board. */
    d->qcfg.dialect = QUECTEL_AUTO;
    if (quectel_init(&d->modem, &d->qcfg) != OTA_OK) {
        say("the Quectel driver refused its configuration");
        return EXIT_CONFIG;
    }
    quectel_modem(&d->modem, &d->modem_port);
    d->modem_ready = true;
    if (o->modem != NULL) {
        note("modem: a simulated Quectel %s on %s (cellota-quectel-sim, pid %ld); the OTA "
             "transport is "
             "the module's MQTT client, driven by the cellota Quectel driver over that UART",
             strcmp(o->modem, "bg95") == 0 ? "BG95-M2 (LTE-M)" : "BC660K-GL (NB-IoT)", d->modem_tty,
             d->sim_pid);
    } else {
        note("modem: a Quectel module on %s, driven by the cellota Quectel driver", d->modem_tty);
    }
    note("modem: status messages still go out over libmosquitto: that connection stands for the "
         "data server");
    modem_identify(d);
    return 0;
}

static void modem_report(device_t *d)
{
    quectel_stats_t s;
    quectel_stats(&d->modem, &s);
    note("modem: %s dialect; %u message(s) received, %u published; %u module start(s), %u "
         "timeout(s), "
         "%u error answer(s), %u recovery step(s) (highest rung %u), %u unexpected line(s), %u "
         "overlong line(s)",
         dialect_name(quectel_dialect(&d->modem)), (unsigned)s.rx_msgs, (unsigned)s.tx_msgs,
         (unsigned)s.restarts, (unsigned)s.timeouts, (unsigned)s.errors, (unsigned)s.recoveries,
         (unsigned)s.max_recovery, (unsigned)s.ignored, (unsigned)s.rx_overflows);
}

/* Stop the simulator this program started (it also ends by itself when its UART closes). */
static void modem_stop_sim(device_t *d)
{
    int status = 0;
    pid_t pid = (pid_t)d->sim_pid;
    pid_t got = 0;
    if (!d->sim_spawned) {
        return;
    }
    d->sim_spawned = false;
    for (int i = 0; i < 40 && got == 0; i++) {
        if (i == 10) {
            (void)kill(pid, SIGTERM);
        }
        if (i == 35) {
            (void)kill(pid, SIGKILL);
        }
        got = waitpid(pid, &status, WNOHANG);
        if (got == 0) {
            (void)poll(NULL, 0u, 100);
        }
    }
    if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        say("the module simulator exited with status %d", WEXITSTATUS(status));
    } else if (got == pid && WIFSIGNALED(status)) {
        say("the module simulator was ended by signal %d", WTERMSIG(status));
    }
}

/* After the update: let the driver send what is still queued and close MQTT
 * (bounded), show its counters, close the UART, stop the simulator. */
static void modem_close(device_t *d)
{
    if (!d->modem_on) {
        return;
    }
    uint32_t start = cellota_posix_now_ms();
    while (d->modem_ready && cellota_posix_now_ms() - start < MODEM_DRAIN_MS) {
        quectel_state_t st = quectel_state(&d->modem);
        if (st != QUECTEL_ST_CLOSING && st != QUECTEL_ST_CONNECTED && st != QUECTEL_ST_CONNECTING) {
            break;
        }
        modem_wait(d, MAX_WAIT_MS);
    }
    if (d->modem_ready) {
        modem_report(d);
    }
    cellota_uart_pty_close(&d->uart);
    modem_stop_sim(d);
}

/* --iflash: open the simulated internal flash, factory-program it if it is
 * empty. The external flash and its map are the client's. */
static int mcu_prepare(device_t *d, const cellota_flash_layout_t *map)
{
    const opts_t *o = &d->opt;
    if (o->iflash_path == NULL) {
        if (o->factory_path != NULL) {
            say("--factory needs --iflash");
            return EXIT_USAGE;
        }
        return 0;
    }
    int rc = sim_mcu_open(&d->mcu, o->iflash_path, &d->cfg.flash, map->meta_addr, map->backup_addr,
                          map->backup_size);
    if (rc != 0) {
        say("cannot open the internal flash file %s: %s", o->iflash_path, cellota_posix_strerror(rc));
        return EXIT_SETUP;
    }
    if (o->factory_path != NULL) {
        rc = sim_mcu_factory(&d->mcu, o->factory_path);
        if (rc < 0) {
            say("cannot program %s into the internal flash (missing, empty or over %u bytes)",
                o->factory_path, (unsigned)CELLOTA_IFLASH_SIZE);
            return EXIT_SETUP;
        }
        if (rc == 1) {
            note("factory: programmed %s into the internal flash (%s %s)", o->factory_path,
                 d->mcu.title, d->mcu.version);
        }
    }
    d->cfg.refused_version = d->refused;
    return 0;
}

static int device_setup(device_t *d)
{
    int rc = modem_prepare(d); /* first: the module's IMEI is the device's */
    if (rc == 0) {
        rc = settings_prepare(d);
    }
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
    rc = mcu_prepare(d, &map);
    if (rc != 0) {
        return rc;
    }
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
    const char *text = ota_code_str(code); /* the library's texts, as in the status messages */
    return text[0] != '\0' ? text : "no result";
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

/* --wait: also wake up for the console and the downlink connection. */
static void wait_mode_poll(device_t *d, int wait_ms)
{
    struct pollfd pfd[3];
    const int fds[3] = {cellota_mqtt_fd(&d->mqtt), cellota_mqtt_fd(&d->dl),
                        d->con_open ? STDIN_FILENO : -1};
    const bool out[3] = {cellota_mqtt_want_write(&d->mqtt), cellota_mqtt_want_write(&d->dl), false};
    nfds_t n = 0u;
    for (size_t i = 0; i < 3u; i++) {
        if (fds[i] >= 0) {
            pfd[n].fd = fds[i];
            pfd[n].events = (short)(POLLIN | (out[i] ? POLLOUT : 0));
            pfd[n].revents = 0;
            n++;
        }
    }
    (void)poll(pfd, n, wait_ms);
}

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
    if (d->opt.net_on && cellota_faulty_next_due(&d->faulty, &at)) {
        int32_t left = (int32_t)(at - cellota_posix_now_ms());
        if (left < wait) {
            wait = left < 0 ? 0 : (int)left;
        }
    }
    if (d->opt.wait && !d->modem_on) { /* with --modem: the console and downlink wait <= MAX_WAIT_MS */
        wait_mode_poll(d, wait);
        return;
    }
    if (d->modem_on) {
        modem_wait(d, wait);
        return;
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

/* --iflash: once the firmware reaches its server, a new image on trial
 * confirms itself, and the outcome of the last update goes out once on the
 * data uplink ("OTA Update OK, ..." or the rollback). */
static void boot_on_link(device_t *d, const ota_client_info_t *in)
{
    char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    const ota_flash_t *nor = &d->cfg.flash;
    uint32_t meta = d->cfg.meta_addr;
    if (d->opt.iflash_path == NULL || d->boot_linked || in->state != OTA_STATE_NEGOTIATING) {
        return;
    }
    d->boot_linked = true;
    if (d->boot.state == OTA_BOOT_ST_TRIAL) {
        if (ota_boot_confirm(nor, meta) != OTA_OK) {
            say("the new firmware could not confirm itself");
            return;
        }
        say("%s %s reached its server: confirmed (no rollback now)", d->mcu.title, d->mcu.version);
        d->boot.state = OTA_BOOT_ST_UPDATED;
    }
    if (d->boot.reported) {
        return;
    }
    if (d->boot.state == OTA_BOOT_ST_UPDATED &&
        ota_at_update_ok_msg(msg, sizeof(msg), d->opt.imei, d->boot.title, d->boot.version,
                             &len) == OTA_OK) {
        (void)uplink_send(d, msg, len);
    } else if ((d->boot.state == OTA_BOOT_ST_ROLLED_BACK || d->boot.state == OTA_BOOT_ST_REJECTED) &&
               ota_at_rollback_msg(msg, sizeof(msg), d->opt.imei, d->boot.title, d->boot.version,
                                   ota_boot_reason_str(d->boot.reason), &len) == OTA_OK) {
        (void)uplink_send(d, msg, len);
    } else {
        return;
    }
    (void)ota_boot_mark_reported(nor, meta);
}

/* --iflash: a reset. The bootloader runs the boot core; the firmware it
 * starts is identified by its marker and becomes the running version.
 * Returns false when nothing can be started. */
static bool boot_and_identify(device_t *d, int boot)
{
    sim_mcu_t *m = &d->mcu;
    ota_status_t st = sim_mcu_boot(m);
    ota_boot_info_t *b = &m->last.info;
    if (b->state == OTA_BOOT_ST_TRIAL) {
        say("boot %d: bootloader: %s %s installed, starting it on trial (trial boot %u, %u more "
            "before a rollback)",
            boot, b->title, b->version, (unsigned)b->boots, (unsigned)b->boots_left);
    } else if (b->state == OTA_BOOT_ST_ROLLED_BACK || b->state == OTA_BOOT_ST_REJECTED) {
        say("boot %d: bootloader: %s %s %s (%s); the previous firmware runs", boot, b->title,
            b->version, b->state == OTA_BOOT_ST_REJECTED ? "refused" : "rolled back",
            ota_boot_reason_str(b->reason));
    } else {
        say("boot %d: bootloader: %s", boot, ota_boot_state_str(b->state));
    }
    if (m->last.action == OTA_BOOT_RETRY || st == OTA_ERR_PARAM) {
        say("bootloader: nothing safe to start (%s, port %d)", ota_status_str(st), m->last.port_error);
        return false;
    }
    if (!m->known) {
        say("the internal flash holds no firmware with a 'cellota-fw' marker (use --factory)");
        return false;
    }
    d->boot = *b;
    d->boot_linked = false;
    d->refused[0] = '\0';
    d->boot_error[0] = '\0';
    (void)set_str(d->settings.title, sizeof(d->settings.title), m->title, "title");
    (void)set_str(d->settings.version, sizeof(d->settings.version), m->version, "version");
    say("running %s %s%s", m->title, m->version, m->noconfirm ? " (a build that never confirms)" : "");
    if (b->state == OTA_BOOT_ST_ROLLED_BACK || b->state == OTA_BOOT_ST_REJECTED) {
        (void)snprintf(d->boot_error, sizeof(d->boot_error), "update to %s %s %s: %s", b->title,
                       b->version, b->state == OTA_BOOT_ST_REJECTED ? "refused" : "rolled back",
                       ota_boot_reason_str(b->reason));
        (void)snprintf(d->refused, sizeof(d->refused), "%s", b->version);
        say("%s", d->boot_error);
    }
    if (!b->reported && (b->state == OTA_BOOT_ST_TRIAL || b->state == OTA_BOOT_ST_UPDATED)) {
        (void)ota_client_report_boot(&d->client, NULL);
    } else if (!b->reported && d->boot_error[0] != '\0') {
        (void)ota_client_report_boot(&d->client, d->boot_error);
    }
    return true;
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
        boot_on_link(d, &in);
        show(d, &in, now);
        if (finished(&in)) {
            break;
        }
        cellota_uplink_poll(&d->uplink);
        wait_for_work(d);
    }
    return (int)in.code;
}

static void report_net(const device_t *d)
{
    const cellota_faulty_stats_t *s = &d->faulty.stats;
    if (!d->opt.net_on) {
        return;
    }
    say("network faults (seed %lu): %u answers seen, %u dropped, %u duplicated, %u reordered, "
        "%u delayed, %u truncated, %u corrupted, %u link cut(s)",
        (unsigned long)d->opt.net.seed, (unsigned)s->seen, (unsigned)s->dropped,
        (unsigned)s->duplicated, (unsigned)s->reordered, (unsigned)s->delayed,
        (unsigned)s->truncated, (unsigned)s->corrupted, (unsigned)s->link_cuts);
}

static int report(device_t *d, int code)
{
    ota_client_info_t in;
    (void)ota_client_info(&d->client, &in);
    report_net(d);
    if (code == OTA_CODE_SUCCESS) {
        show_verified(d);
        say("update staged; result code 100: %s", code_text(OTA_CODE_SUCCESS));
        if (d->opt.iflash_path == NULL) {
            note("%s; the bootloader is simulated with --iflash only, so the device stops here",
                 d->reboot.requested ? "reboot requested" : "reboot left to the application");
        }
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

/* --iflash: the device's life across reboots. Boot, run the firmware (which
 * checks for an update), and after code 100 reboot into the bootloader.
 * A build that never confirms resets before it reaches its server. Exit 0
 * when the device ends up running, confirmed, the version the server offers. */
static int life(device_t *d)
{
    int rc = EXIT_CONFIG;
    for (int boot = 1; boot <= 12 && !g_interrupted; boot++) {
        if (!boot_and_identify(d, boot)) {
            return EXIT_SETUP;
        }
        if (d->mcu.noconfirm) {
            say("%s %s crashes before it reaches its server: watchdog reset", d->mcu.title,
                d->mcu.version);
            continue;
        }
        int code = run(d);
        rc = report(d, code);
        if (code == OTA_CODE_SUCCESS) {
            say("rebooting into the bootloader ...");
            continue;
        }
        if (code == OTA_CODE_SAME_VERSION && d->boot.state == OTA_BOOT_ST_UPDATED) {
            say("the device runs %s %s, confirmed: update complete", d->mcu.title, d->mcu.version);
            return 0;
        }
        return rc;
    }
    say("gave up after 12 boots");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* --wait: a long-lived device with a console and a data downlink           */
/* ------------------------------------------------------------------------ */

/* Console replies go to standard output with plain "\n" line ends (the
 * library writes the UART's "\r\n"). */
static void console_reply(const char *reply)
{
    for (const char *p = reply; *p != '\0'; p++) {
        if (*p != '\r') {
            (void)fputc(*p, stdout);
        }
    }
    (void)fflush(stdout);
}

/* One console line. This device has no commands of its own, so a line
 * that is not an OTA command gets the library's AT_ERROR answer as it is.
 * Nothing typed is logged: it may hold the password. */
static void console_line(device_t *d, const char *line, size_t len)
{
    char reply[OTA_AT_REPLY_MAX];
    if (ota_at_exec(&d->at, line, len, reply, sizeof(reply)) != OTA_ERR_PARAM) {
        console_reply(reply);
    }
}

static void console_feed(device_t *d, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (d->con_skip) {
                console_reply("line too long\r\nAT_ERROR\r\n");
            } else {
                console_line(d, d->con_line, d->con_len);
            }
            d->con_len = 0u;
            d->con_skip = false;
        } else if (d->con_len < sizeof(d->con_line)) {
            d->con_line[d->con_len++] = buf[i];
        } else {
            d->con_skip = true;
        }
    }
}

/* Read what standard input has, without blocking (the real device reads
 * its UART console the same way, between two polls of the client). */
static void console_poll(device_t *d)
{
    for (int i = 0; i < 16 && d->con_open; i++) {
        struct pollfd p;
        char buf[256];
        p.fd = STDIN_FILENO;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1u, 0) <= 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            return;
        }
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            return;
        }
        if (n <= 0) {
            if (d->con_len > 0u) {
                console_feed(d, "\n", 1u); /* a last line without its newline */
            }
            d->con_open = false;
            note("console: end of standard input (downlinks still work)");
            return;
        }
        console_feed(d, buf, (size_t)n);
    }
}

/* Code 3 on the data uplink, with the reason a downlink was refused. */
static void send_code(device_t *d, ota_code_t code, const char *reason)
{
    char msg[OTA_AT_MSG_MAX];
    size_t len = 0u;
    if (ota_at_status_msg(msg, sizeof(msg), d->opt.imei, code, reason, &len) == OTA_OK) {
        (void)uplink_send(d, msg, len);
    }
}

/* Every message on the downlink topic (from inside the downlink's poll).
 * The payload is never printed: a Config may carry the password. */
static void on_downlink(void *arg, const char *topic, size_t topic_len, const uint8_t *payload,
                        size_t len)
{
    device_t *d = arg;
    char reason[OTA_AT_REASON_MAX + 1];
    (void)topic;
    (void)topic_len;
    if (len == 0u) {
        /* Our own probe came back: the broker handled the SUBSCRIBE sent
         * before it, so downlinks reach us from now on. */
        if (!d->dl_ready) {
            d->dl_ready = true;
            note("listening for downlinks on %s (data server %s:%u)", d->dl_topic, d->data_host,
                 (unsigned)d->data_port);
        }
        return;
    }
    bool was_pending = ota_at_upgrade_pending(&d->at);
    ota_status_t st = ota_at_downlink(&d->at, payload, len, reason, sizeof(reason));
    if (st == OTA_OK) {
        note("downlink %s accepted%s", payload[0] == 0xF9u ? "F9 01" : "Config",
             (!was_pending && ota_at_upgrade_pending(&d->at)) ? ": update requested"
                                                               : ": settings saved");
    } else if (st == OTA_ERR_NOT_FOUND) {
        note("downlink of %zu bytes ignored: neither a Config nor an F9 command", len);
    } else {
        say("downlink refused: %s", reason);
        send_code(d, OTA_CODE_FORMAT, reason);
    }
}

/* Keep the downlink subscription up: connect, subscribe, probe, poll. */
static void downlink_poll(device_t *d, uint32_t now)
{
    ota_transport_t t = cellota_mqtt_port(&d->dl);
    ota_link_state_t ls = t.state(t.ctx);
    if (ls == OTA_LINK_DOWN || ls == OTA_LINK_FAILED) {
        if (d->dl_up) {
            say("downlink connection to %s:%u lost; connecting again", d->data_host,
                (unsigned)d->data_port);
        }
        d->dl_up = false;
        d->dl_ready = false;
        if ((int32_t)(now - d->dl_retry_at) < 0) {
            return;
        }
        d->dl_retry_at = now + DL_RETRY_MS;
        ota_mqtt_conn_t conn = {d->data_host, d->data_port, d->dl_client_id, NULL, NULL, 60u};
        (void)t.connect(t.ctx, &conn, on_downlink, d);
        return;
    }
    (void)t.poll(t.ctx, now);
    if (t.state(t.ctx) == OTA_LINK_UP && !d->dl_up) {
        d->dl_up = true;
        if (t.subscribe(t.ctx, d->dl_topic, 1u) != 0 || t.publish(t.ctx, d->dl_topic, NULL, 0u, 1u) != 0) {
            say("cannot subscribe to %s", d->dl_topic);
            t.disconnect(t.ctx);
        }
    }
}

/* Start the requested update when the client is idle (the real device:
 * when the modem is idle). */
static void start_requested(device_t *d)
{
    if (d->running || !ota_at_upgrade_pending(&d->at)) {
        return;
    }
    if (d->settings.host[0] == '\0') {
        say("update requested, but no OTA server is set (AT+OTASER): not started");
        send_code(d, OTA_CODE_TIMEOUT, "no OTA server set (AT+OTASER)");
        (void)ota_at_upgrade_done(&d->at);
        return;
    }
    if (ota_client_start(&d->client) != OTA_OK) {
        return;
    }
    d->running = true;
    ota_at_set_busy(&d->at, true);
    d->shown_state = OTA_STATE_IDLE;
    d->shown_attempt = 0u;
    d->verified_shown = false;
    note("update requested: %s %s asks %s:%u", d->settings.title, d->settings.version,
         d->settings.host, (unsigned)d->settings.port);
}

/* The update ended: the flag goes, the result is shown. true to stop. */
static bool end_update(device_t *d, const ota_client_info_t *in, int *rc)
{
    d->running = false;
    ota_at_set_busy(&d->at, false);
    if (ota_at_upgrade_done(&d->at) != OTA_OK) {
        say("the update request could not be cleared in %s", d->opt.settings_path);
    }
    *rc = report(d, (int)in->code);
    if (in->code == OTA_CODE_SUCCESS) {
        return true; /* the real device reboots into its bootloader here */
    }
    note("waiting for commands again");
    return false;
}

static int serve_setup(device_t *d)
{
    const opts_t *o = &d->opt;
    if (ota_at_init(&d->at, &d->settings, &d->store_port) != OTA_OK) {
        say("the settings store is too small for the AT commands");
        return EXIT_SETUP;
    }
    if (o->downlink_topic != NULL) {
        (void)snprintf(d->dl_topic, sizeof(d->dl_topic), "%s", o->downlink_topic);
    } else {
        (void)snprintf(d->dl_topic, sizeof(d->dl_topic), "cellota/%s/downlink", o->imei);
    }
    (void)snprintf(d->dl_client_id, sizeof(d->dl_client_id), "cellota-%s-downlink", o->imei);
    cellota_mqtt_init(&d->dl);
    d->con_open = true;
    d->dl_retry_at = cellota_posix_now_ms();
    return 0;
}

/* --wait: idle until AT+UPGRADE, F9 01 or a Config ending in AT+UPGRADE
 * (or a request saved before the last stop), then update and report.
 * After code 100 the program ends (the reboot); after any other result it
 * keeps waiting. SIGINT/SIGTERM stop it with status 0; during an update
 * that is a power cut: the request stays saved and runs at the next start. */
static int serve(device_t *d)
{
    ota_client_info_t in;
    int rc = serve_setup(d);
    if (rc != 0) {
        return rc;
    }
    note("waiting: AT commands on standard input, downlinks on %s", d->dl_topic);
    for (;;) {
        uint32_t now = cellota_posix_now_ms();
        if (g_interrupted) {
            if (d->running) {
                (void)ota_client_abort(&d->client);
                say("stopped during the update: the request stays saved and runs at the next start");
            }
            return 0;
        }
        console_poll(d);
        downlink_poll(d, now);
        start_requested(d);
        if (d->running) {
            (void)ota_client_poll(&d->client, now);
            (void)ota_client_info(&d->client, &in);
            show(d, &in, now);
            if (finished(&in) && end_update(d, &in, &rc)) {
                return rc;
            }
        }
        cellota_uplink_poll(&d->uplink);
        wait_for_work(d);
    }
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
        if (d->opt.iflash_path == NULL) {
            note("running %s %s, IMEI %s", d->settings.title, d->settings.version, d->opt.imei);
        }
        rc = d->opt.wait            ? serve(d)
             : d->opt.iflash_path ? life(d)
                                  : report(d, run(d));
    }
    modem_close(d);
    cellota_mqtt_close(&d->mqtt);
    cellota_uplink_close(&d->uplink);
    cellota_mqtt_close(&d->dl);
    cellota_flash_file_close(&d->flash);
    if (d->opt.iflash_path != NULL) {
        sim_mcu_close(&d->mcu);
    }
    cellota_store_file_close(&d->store);
    cellota_posix_cleanup();
    return rc;
}
