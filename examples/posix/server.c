/*
 * cellota-server: a demo OTA server that speaks ThingsBoard's device
 * firmware API (PROTOCOL.md §1) through a plain MQTT broker.
 *
 *   cellota-server --package FILE --title T --version V [--algo CRC32|SHA256]
 *                  [--host H] [--port P] [test knobs...]
 *
 * It connects to the broker as an ordinary client and answers what
 * ThingsBoard answers:
 *
 *   v1/devices/me/attributes/request/<n>  {"sharedKeys":"fw_title,..."}
 *     -> v1/devices/me/attributes/response/<n>  {"shared":{...}} or {}
 *   v2/fw/request/<rid>/chunk/<k>  "<size>" (ASCII decimal, or empty)
 *     -> v2/fw/response/<rid>/chunk/<k>  bytes [k*size, min((k+1)*size, fw_size))
 *        (empty past the end; size 0 or never given = the whole file)
 *     -> v2/fw/error  FAILURE / PAYLOAD_TOO_LARGE / NOT_FOUND
 *   v1/devices/me/telemetry  current_fw_*, fw_state, fw_error: logged
 *
 * ThingsBoard separates devices by their connection; a shared broker cannot,
 * so a simulated device may put its topics under "tb/<token>/". The server
 * serves the bare topics and every "tb/+/" prefix, answers under the prefix
 * the request came with, and keeps the chunk size of each (prefix, rid).
 * ThingsBoard closes the connection after an error; a broker client cannot
 * close another client's connection, so the error is only published and
 * logged.
 *
 * A host tool, not the core: it uses stdio, malloc and libmosquitto.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_sha256.h"

#define SRV_MAX_DEVICES 64u
#define SRV_MAX_RIDS 16u
#define SRV_PREFIX_MAX 160u
#define SRV_TOPIC_MAX 320u
#define SRV_CHECKSUM_MAX 160u
#define SRV_MAX_PACKAGE (64u * 1024u * 1024u)
#define SRV_RECONNECT_TRIES 10
#define SRV_NONE (-1L)
#define SRV_QUEUE 1024u

static const char k_attr_req[] = "v1/devices/me/attributes/request/";
static const char k_attr_resp[] = "v1/devices/me/attributes/response/";
static const char k_fw_req[] = "v2/fw/request/";
static const char k_fw_resp[] = "v2/fw/response/";
static const char k_fw_error[] = "v2/fw/error";
static const char k_telemetry[] = "v1/devices/me/telemetry";

static const char *const k_subscriptions[] = {
    "v1/devices/me/attributes/request/+",
    "v2/fw/request/+/chunk/+",
    "v1/devices/me/telemetry",
    "tb/+/v1/devices/me/attributes/request/+",
    "tb/+/v2/fw/request/+/chunk/+",
    "tb/+/v1/devices/me/telemetry",
};
#define SRV_NSUBS (sizeof(k_subscriptions) / sizeof(k_subscriptions[0]))

/* The chunk size a device last gave for one request id. */
typedef struct {
    bool used;
    unsigned long long rid;
    uint32_t size;
} srv_rid_t;

/* An answer held back by --latency-ms. */
typedef struct {
    long long due_ms;
    char *topic;
    uint8_t *data;
    size_t len;
} srv_delayed_t;

/* What the server remembers about one device (one topic prefix). */
typedef struct {
    bool used;
    char prefix[SRV_PREFIX_MAX]; /* "" or "tb/<token>/" */
    srv_rid_t rids[SRV_MAX_RIDS];
    unsigned next_rid;
    bool corrupted_once;
    bool dropped_once;
} srv_device_t;

typedef struct {
    /* options */
    const char *host;
    int port;
    const char *client_id;
    const char *package_path;
    const char *title;
    const char *version;
    const char *algo;
    const char *checksum_override;
    bool size_override_set;
    unsigned long long size_override;
    long corrupt_chunk;
    long corrupt_once;
    long drop_chunk;
    bool no_firmware;
    uint32_t max_payload;
    uint32_t latency_ms;
    bool quiet;
    /* package */
    uint8_t *data;
    size_t len;
    char checksum[SRV_CHECKSUM_MAX];
    unsigned long long fw_size;
    uint8_t *scratch;
    /* runtime */
    struct mosquitto *mosq;
    unsigned subs_acked;
    bool ready;
    bool fatal;
    srv_device_t dev[SRV_MAX_DEVICES];
    unsigned next_dev;
    srv_delayed_t queue[SRV_QUEUE]; /* FIFO of delayed answers (same delay: due times in order) */
    unsigned q_head;
    unsigned q_count;
    /* totals for the summary */
    unsigned long attr_requests;
    unsigned long chunks;
    unsigned long long bytes;
    unsigned long errors;
    unsigned long devices;
} srv_t;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---------------------------------------------------------------- logging */

static void event(const srv_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void event(const srv_t *s, const char *fmt, ...)
{
    va_list ap;

    if (s->quiet) {
        return;
    }
    va_start(ap, fmt);
    fputs("server: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("server: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static int fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fatal(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    va_start(ap, fmt);
    fputs("cellota-server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* "tb/abc/" -> "tb/abc"; "" -> "me" (the bare ThingsBoard topics). */
static void device_label(const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix);

    if (n == 0) {
        snprintf(out, cap, "me");
        return;
    }
    snprintf(out, cap, "%.*s", (int)(n - 1u), prefix);
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *to)
{
    fputs(
        "usage: cellota-server --package FILE --title T --version V [options]\n"
        "       cellota-server --no-firmware [options]\n"
        "\n"
        "A ThingsBoard-compatible OTA server over an MQTT broker (bare topics and "
        "tb/<token>/...).\n"
        "  --host H              broker host (default 127.0.0.1)\n"
        "  --port P              broker port (default 1883)\n"
        "  --client-id ID        MQTT client id (default cellota-server-<pid>)\n"
        "  --package FILE        the file to serve (as uploaded to ThingsBoard)\n"
        "  --title T --version V fw_title and fw_version\n"
        "  --algo CRC32|SHA256   fw_checksum_algorithm; fw_checksum is computed (default CRC32);\n"
        "                        any other name needs --checksum-override\n"
        "  --max-payload N       largest chunk size served (default 65536)\n"
        "  --latency-ms MS       hold every answer back MS ms, like a slow cellular link\n"
        "  --quiet               print only the start, ready and summary lines\n"
        "test knobs (simulate a faulty or lying server):\n"
        "  --size-override N     announce fw_size N (the file served is unchanged)\n"
        "  --checksum-override HEX  announce this fw_checksum\n"
        "  --corrupt-chunk K     flip a byte in every answer to chunk K\n"
        "  --corrupt-once K      flip a byte in the first answer to chunk K (per device)\n"
        "  --drop-chunk K        do not answer the first request of chunk K (per device)\n"
        "  --no-firmware         nothing assigned: answer {} and NOT_FOUND\n",
        to);
}

static bool parse_ull(const char *v, unsigned long long max, unsigned long long *out)
{
    unsigned long long x = 0;

    if (!v || !*v) {
        return false;
    }
    for (const char *p = v; *p; p++) {
        unsigned d;

        if (*p < '0' || *p > '9') {
            return false;
        }
        d = (unsigned)(*p - '0');
        if (x > (max - d) / 10u) {
            return false;
        }
        x = x * 10u + d;
    }
    *out = x;
    return true;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];

    *matched = strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
    if (!*matched) {
        return NULL;
    }
    if (arg[n] == '=') {
        return arg + n + 1;
    }
    if (*i + 1 >= argc) {
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

/* A string option. 0 handled, 1 error, -1 not this one. */
static int opt_str(int argc, char **argv, int *i, const char *name, const char **dst)
{
    bool m;
    const char *v = opt_value(argc, argv, i, name, &m);

    if (!m) {
        return -1;
    }
    if (!v) {
        return fatal("%s needs a value", name);
    }
    *dst = v;
    return 0;
}

/* A number option. 0 handled, 1 error, -1 not this one. */
static int opt_num(int argc, char **argv, int *i, const char *name, unsigned long long max,
                   unsigned long long *dst)
{
    bool m;
    const char *v = opt_value(argc, argv, i, name, &m);

    if (!m) {
        return -1;
    }
    if (!parse_ull(v, max, dst)) {
        return fatal("%s needs a number from 0 to %llu", name, max);
    }
    return 0;
}

static int opt_chunk(int argc, char **argv, int *i, const char *name, long *dst)
{
    unsigned long long v;
    int rc = opt_num(argc, argv, i, name, INT_MAX, &v);

    if (rc == 0) {
        *dst = (long)v;
    }
    return rc;
}

static int parse_numeric_opts(int argc, char **argv, int *i, srv_t *s)
{
    unsigned long long v = 0;
    int rc;

    rc = opt_num(argc, argv, i, "--port", 65535u, &v);
    if (rc >= 0) {
        s->port = (int)v;
        return rc != 0 ? rc : (v == 0 ? fatal("--port must be 1..65535") : 0);
    }
    rc = opt_num(argc, argv, i, "--latency-ms", 600000u, &v);
    if (rc >= 0) {
        s->latency_ms = (uint32_t)v;
        return rc;
    }
    rc = opt_num(argc, argv, i, "--max-payload", UINT32_MAX, &v);
    if (rc >= 0) {
        s->max_payload = (uint32_t)v;
        return rc;
    }
    rc = opt_num(argc, argv, i, "--size-override", ULLONG_MAX / 2u, &s->size_override);
    if (rc >= 0) {
        s->size_override_set = true;
        return rc;
    }
    rc = opt_chunk(argc, argv, i, "--corrupt-chunk", &s->corrupt_chunk);
    if (rc >= 0) {
        return rc;
    }
    rc = opt_chunk(argc, argv, i, "--corrupt-once", &s->corrupt_once);
    if (rc >= 0) {
        return rc;
    }
    return opt_chunk(argc, argv, i, "--drop-chunk", &s->drop_chunk);
}

static int parse_string_opts(int argc, char **argv, int *i, srv_t *s)
{
    const struct {
        const char *name;
        const char **dst;
    } opts[] = {
        { "--host", &s->host },
        { "--client-id", &s->client_id },
        { "--package", &s->package_path },
        { "--title", &s->title },
        { "--version", &s->version },
        { "--algo", &s->algo },
        { "--checksum-override", &s->checksum_override },
    };

    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        int rc = opt_str(argc, argv, i, opts[k].name, opts[k].dst);

        if (rc >= 0) {
            return rc;
        }
    }
    return -1;
}

static int check_opts(const srv_t *s)
{
    if (s->no_firmware) {
        return 0;
    }
    if (!s->package_path || !s->title || !s->version) {
        usage(stderr);
        return fatal("--package, --title and --version are required (or --no-firmware)");
    }
    if (strcmp(s->algo, "CRC32") != 0 && strcmp(s->algo, "SHA256") != 0 && !s->checksum_override) {
        return fatal("--algo %s: only CRC32 and SHA256 are computed; give --checksum-override",
                     s->algo);
    }
    if (s->checksum_override && strlen(s->checksum_override) >= SRV_CHECKSUM_MAX) {
        return fatal("--checksum-override is too long");
    }
    return 0;
}

/* 0 to go on, 1 on error, 2 when --help was printed. */
static int parse_args(int argc, char **argv, srv_t *s)
{
    for (int i = 1; i < argc; i++) {
        int rc;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 2;
        }
        if (strcmp(argv[i], "--no-firmware") == 0) {
            s->no_firmware = true;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            s->quiet = true;
            continue;
        }
        rc = parse_string_opts(argc, argv, &i, s);
        if (rc < 0) {
            rc = parse_numeric_opts(argc, argv, &i, s);
        }
        if (rc > 0) {
            return 1;
        }
        if (rc < 0) {
            usage(stderr);
            return fatal("unknown argument: %s", argv[i]);
        }
    }
    return check_opts(s);
}

/* ---------------------------------------------------------------- package */

static int load_package(srv_t *s)
{
    struct stat st;
    FILE *f = fopen(s->package_path, "rb");

    if (!f) {
        return fatal("%s: %s", s->package_path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (unsigned long long)st.st_size > SRV_MAX_PACKAGE) {
        fclose(f);
        return fatal("%s: not a regular, non-empty file of at most %u bytes", s->package_path,
                     SRV_MAX_PACKAGE);
    }
    s->len = (size_t)st.st_size;
    s->data = malloc(s->len);
    if (!s->data || fread(s->data, 1, s->len, f) != s->len) {
        fclose(f);
        return fatal("%s: cannot read the file", s->package_path);
    }
    fclose(f);
    return 0;
}

static void compute_checksum(srv_t *s)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[OTA_SHA256_SIZE];
    ota_sha256_t sha;

    if (s->checksum_override) {
        snprintf(s->checksum, sizeof(s->checksum), "%s", s->checksum_override);
        return;
    }
    if (strcmp(s->algo, "CRC32") == 0) {
        ota_crc32_to_tb_hex(ota_crc32(0, s->data, s->len), s->checksum);
        return;
    }
    ota_sha256_init(&sha);
    ota_sha256_update(&sha, s->data, s->len);
    ota_sha256_final(&sha, d);
    for (size_t i = 0; i < OTA_SHA256_SIZE; i++) {
        s->checksum[2 * i] = digits[d[i] >> 4];
        s->checksum[2 * i + 1] = digits[d[i] & 0x0Fu];
    }
    s->checksum[2 * OTA_SHA256_SIZE] = '\0';
}

static int prepare_package(srv_t *s)
{
    if (s->no_firmware) {
        say("no firmware assigned: attribute requests get {}, chunk requests NOT_FOUND");
        return 0;
    }
    if (load_package(s) != 0) {
        return 1;
    }
    s->scratch = malloc(s->len);
    if (!s->scratch) {
        return fatal("out of memory");
    }
    compute_checksum(s);
    s->fw_size = s->size_override_set ? s->size_override : (unsigned long long)s->len;
    say("serving %s: fw_title \"%s\", fw_version \"%s\", fw_size %llu%s, %s %s%s", s->package_path,
        s->title, s->version, s->fw_size, s->size_override_set ? " (overridden)" : "", s->algo,
        s->checksum, s->checksum_override ? " (overridden)" : "");
    return 0;
}

/* ---------------------------------------------------------------- devices */

static srv_device_t *device_get(srv_t *s, const char *prefix)
{
    srv_device_t *d;

    for (unsigned i = 0; i < SRV_MAX_DEVICES; i++) {
        if (s->dev[i].used && strcmp(s->dev[i].prefix, prefix) == 0) {
            return &s->dev[i];
        }
    }
    d = &s->dev[s->next_dev];
    s->next_dev = (s->next_dev + 1u) % SRV_MAX_DEVICES;
    memset(d, 0, sizeof(*d));
    d->used = true;
    snprintf(d->prefix, sizeof(d->prefix), "%s", prefix);
    s->devices++;
    return d;
}

static srv_rid_t *rid_find(srv_device_t *d, unsigned long long rid)
{
    for (unsigned i = 0; i < SRV_MAX_RIDS; i++) {
        if (d->rids[i].used && d->rids[i].rid == rid) {
            return &d->rids[i];
        }
    }
    return NULL;
}

/* ThingsBoard: a size > 0 is remembered for the rid; otherwise the remembered one (or 0). */
static uint32_t rid_size(srv_device_t *d, unsigned long long rid, uint32_t given)
{
    srv_rid_t *r = rid_find(d, rid);

    if (given == 0) {
        return r ? r->size : 0u;
    }
    if (!r) {
        r = &d->rids[d->next_rid];
        d->next_rid = (d->next_rid + 1u) % SRV_MAX_RIDS;
        r->used = true;
        r->rid = rid;
    }
    r->size = given;
    return given;
}

/* ---------------------------------------------------------------- topics */

/* Split "tb/<token>/rest" into prefix "tb/<token>/" and rest; bare topics have prefix "". */
static bool split_prefix(const char *topic, char *prefix, size_t cap, const char **rest)
{
    const char *slash;
    size_t n;

    if (strncmp(topic, "tb/", 3) != 0) {
        prefix[0] = '\0';
        *rest = topic;
        return true;
    }
    slash = strchr(topic + 3, '/');
    if (!slash || slash == topic + 3) {
        return false;
    }
    n = (size_t)(slash - topic) + 1u;
    if (n >= cap) {
        return false;
    }
    memcpy(prefix, topic, n);
    prefix[n] = '\0';
    *rest = slash + 1;
    return true;
}

/* Parse the decimal digits at *p (at least one) up to a non-digit. */
static bool take_number(const char **p, unsigned long long max, unsigned long long *out)
{
    unsigned long long x = 0;
    const char *q = *p;

    if (*q < '0' || *q > '9') {
        return false;
    }
    for (; *q >= '0' && *q <= '9'; q++) {
        unsigned d = (unsigned)(*q - '0');

        if (x > (max - d) / 10u) {
            return false;
        }
        x = x * 10u + d;
    }
    *p = q;
    *out = x;
    return true;
}

static bool match_attr_request(const char *rest, unsigned long long *n)
{
    const char *p = rest + sizeof(k_attr_req) - 1u;

    if (strncmp(rest, k_attr_req, sizeof(k_attr_req) - 1u) != 0) {
        return false;
    }
    return take_number(&p, ULLONG_MAX, n) && *p == '\0';
}

/* v2/fw/request/<rid>/chunk/<k>. *k_ok is false when k is not a Java int. */
static bool match_chunk_request(const char *rest, unsigned long long *rid, unsigned long long *k,
                                bool *k_ok)
{
    const char *p = rest + sizeof(k_fw_req) - 1u;

    if (strncmp(rest, k_fw_req, sizeof(k_fw_req) - 1u) != 0) {
        return false;
    }
    if (!take_number(&p, ULLONG_MAX, rid) || strncmp(p, "/chunk/", 7) != 0) {
        return false;
    }
    p += 7;
    if (*p < '0' || *p > '9' || strspn(p, "0123456789") != strlen(p)) {
        return false;
    }
    *k_ok = take_number(&p, INT_MAX, k);
    return true;
}

/* ---------------------------------------------------------------- tiny JSON */

typedef struct {
    const char *p;
    const char *end;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    default:
        return c;
    }
}

/* A JSON string at s->p ('"'); its text (\uXXXX shown as '?') goes to out, truncated. */
static bool scan_string(scan_t *s, char *out, size_t cap)
{
    size_t n = 0;

    if (s->p >= s->end || *s->p != '"') {
        return false;
    }
    for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
        char c = *s->p;

        if (c == '\\') {
            s->p++;
            if (s->p >= s->end || (*s->p == 'u' && s->end - s->p < 5)) {
                return false;
            }
            c = *s->p == 'u' ? '?' : unescape(*s->p);
            s->p += *s->p == 'u' ? 4 : 0;
        }
        if (out && n + 1u < cap) {
            out[n++] = c;
        }
    }
    if (out && cap) {
        out[n] = '\0';
    }
    if (s->p >= s->end) {
        return false;
    }
    s->p++;
    return true;
}

/* Skip one value: a string, a bracketed value (brackets counted), or a bare token. */
static bool skip_value(scan_t *s)
{
    int depth = 0;

    skip_ws(s);
    while (s->p < s->end) {
        char c = *s->p;

        if (c == '"') {
            if (!scan_string(s, NULL, 0)) {
                return false;
            }
            if (depth == 0) {
                return true;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                return true;
            }
            depth--;
            if (depth == 0) {
                s->p++;
                return true;
            }
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            return true;
        }
        s->p++;
    }
    return depth == 0;
}

/*
 * Look for a top-level member @p key of the JSON object in [json, json+len).
 * Returns false if the text is not an object. *found says whether the key
 * exists with a string value, copied to out.
 */
static bool json_member_string(const char *json, size_t len, const char *key, char *out, size_t cap,
                               bool *found)
{
    scan_t s = { json, json + len };
    char name[64];

    *found = false;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        return false;
    }
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        return true;
    }
    for (;;) {
        skip_ws(&s);
        if (!scan_string(&s, name, sizeof(name))) {
            return false;
        }
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':') {
            return false;
        }
        s.p++;
        skip_ws(&s);
        if (strcmp(name, key) == 0 && s.p < s.end && *s.p == '"') {
            *found = scan_string(&s, out, cap);
            return *found;
        }
        if (!skip_value(&s)) {
            return false;
        }
        skip_ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            continue;
        }
        return s.p < s.end && *s.p == '}';
    }
}

/* A bounded text buffer: appends are cut at the capacity, never overflow. */
typedef struct {
    char *p;
    size_t cap;
    size_t n;
} text_t;

static void tput(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tput(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (t->n + 1u >= t->cap) {
        return;
    }
    va_start(ap, fmt);
    r = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (r > 0) {
        t->n += (size_t)r;
        t->n = t->n < t->cap ? t->n : t->cap - 1u;
    }
}

/* Append a JSON string: quoted, with '"', '\\' and control characters escaped. */
static void tput_json_string(text_t *t, const char *str)
{
    tput(t, "\"");
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            tput(t, "\\%c", *p);
        } else if (*p < 0x20u) {
            tput(t, "\\u%04x", (unsigned)*p);
        } else {
            tput(t, "%c", *p);
        }
    }
    tput(t, "\"");
}

/* ---------------------------------------------------------------- answers */

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

static void publish_now(srv_t *s, const char *topic, const void *data, size_t len)
{
    int rc = mosquitto_publish(s->mosq, NULL, topic, (int)len, data, 1, false);

    if (rc != MOSQ_ERR_SUCCESS) {
        s->errors++;
        say("cannot publish on %s: %s", topic, mosquitto_strerror(rc));
    }
}

/* Keep a copy of the answer until its --latency-ms delay has passed. */
static bool delay_answer(srv_t *s, const char *topic, const void *data, size_t len)
{
    srv_delayed_t *q;

    if (s->q_count == SRV_QUEUE) {
        return false;
    }
    q = &s->queue[(s->q_head + s->q_count) % SRV_QUEUE];
    q->topic = strdup(topic);
    q->data = malloc(len ? len : 1u);
    if (!q->topic || !q->data) {
        free(q->topic);
        free(q->data);
        return false;
    }
    memcpy(q->data, data, len);
    q->len = len;
    q->due_ms = now_ms() + s->latency_ms;
    s->q_count++;
    return true;
}

static void publish(srv_t *s, const char *topic, const void *data, size_t len)
{
    if (s->latency_ms == 0 || !delay_answer(s, topic, data, len)) {
        publish_now(s, topic, data, len);
    }
}

/* Send the delayed answers that are due (all of them if @p all). */
static void flush_delayed(srv_t *s, bool all)
{
    long long now = now_ms();

    while (s->q_count > 0) {
        srv_delayed_t *q = &s->queue[s->q_head];

        if (!all && q->due_ms > now) {
            return;
        }
        if (s->mosq) {
            publish_now(s, q->topic, q->data, q->len);
        }
        free(q->topic);
        free(q->data);
        q->topic = NULL;
        q->data = NULL;
        s->q_head = (s->q_head + 1u) % SRV_QUEUE;
        s->q_count--;
    }
}

/* How long the loop may wait: until the next delayed answer is due, at most 200 ms. */
static int loop_timeout(const srv_t *s)
{
    long long left;

    if (s->q_count == 0) {
        return 200;
    }
    left = s->queue[s->q_head].due_ms - now_ms();
    return left <= 0 ? 0 : (left > 200 ? 200 : (int)left);
}

static void publish_error(srv_t *s, const char *prefix, const char *label, const char *err,
                          const char *why)
{
    char topic[SRV_TOPIC_MAX];

    snprintf(topic, sizeof(topic), "%s%s", prefix, k_fw_error);
    s->errors++;
    publish(s, topic, err, strlen(err));
    event(s, "device %s: %s: answered %s on %s (ThingsBoard would also close the connection)",
          label, why, err, topic);
}

/* Is @p key in the comma-separated list (spaces around names ignored)? */
static bool key_requested(const char *list, const char *key)
{
    size_t klen = strlen(key);
    const char *p = list;

    while (*p) {
        size_t n;

        p += strspn(p, " ");
        n = strcspn(p, ",");
        while (n > 0 && p[n - 1u] == ' ') {
            n--;
        }
        if (n == klen && strncmp(p, key, klen) == 0) {
            return true;
        }
        p += strcspn(p, ",");
        p += *p == ',' ? 1 : 0;
    }
    return false;
}

/* Start one member of the "shared" object; false if the key was not asked for. */
static bool member(text_t *t, const char *keys, const char *key, bool *first)
{
    if (keys && !key_requested(keys, key)) {
        return false;
    }
    tput(t, "%s\"%s\":", *first ? "" : ",", key);
    *first = false;
    return true;
}

/* The attribute answer: {"shared":{...}} with the asked keys (all if @p keys is NULL), or {}. */
static size_t build_attributes(const srv_t *s, const char *keys, char *buf, size_t cap)
{
    text_t t = { buf, cap, 0 };
    bool first = true;

    tput(&t, "{\"shared\":{");
    if (!s->no_firmware && member(&t, keys, "fw_title", &first)) {
        tput_json_string(&t, s->title);
    }
    if (!s->no_firmware && member(&t, keys, "fw_version", &first)) {
        tput_json_string(&t, s->version);
    }
    if (!s->no_firmware && member(&t, keys, "fw_size", &first)) {
        tput(&t, "%llu", s->fw_size);
    }
    if (!s->no_firmware && member(&t, keys, "fw_checksum_algorithm", &first)) {
        tput_json_string(&t, s->algo);
    }
    if (!s->no_firmware && member(&t, keys, "fw_checksum", &first)) {
        tput_json_string(&t, s->checksum);
    }
    if (first) {
        t.n = 0;
        tput(&t, "{}");
        return t.n;
    }
    tput(&t, "}}");
    return t.n;
}

static void handle_attributes(srv_t *s, const char *prefix, const char *label, unsigned long long n,
                              const char *payload, size_t len)
{
    char keys[1024];
    char body[2048];
    char topic[SRV_TOPIC_MAX];
    bool found = false;
    size_t blen;

    s->attr_requests++;
    (void)device_get(s, prefix);
    if (!json_member_string(payload, len, "sharedKeys", keys, sizeof(keys), &found)) {
        s->errors++;
        event(s, "device %s: attribute request %llu is not a JSON object: ignored", label, n);
        return;
    }
    blen = build_attributes(s, found ? keys : NULL, body, sizeof(body));
    snprintf(topic, sizeof(topic), "%s%s%llu", prefix, k_attr_resp, n);
    publish(s, topic, body, blen);
    event(s, "device %s: requested attributes (%s): answered %s", label,
          found ? keys : "all shared keys", body);
}

/* Parse a chunk request payload: empty = 0; otherwise ASCII digits only, a Java int. */
static bool parse_chunk_size(const char *payload, size_t len, uint32_t *size)
{
    unsigned long long v = 0;
    char text[16];

    *size = 0;
    if (len == 0) {
        return true;
    }
    if (len >= sizeof(text)) {
        return false;
    }
    memcpy(text, payload, len);
    text[len] = '\0';
    if (!parse_ull(text, INT_MAX, &v)) {
        return false;
    }
    *size = (uint32_t)v;
    return true;
}

/* Should this answer be corrupted or dropped? Updates the per-device "once" flags. */
static bool want_drop(srv_t *s, srv_device_t *d, unsigned long long k)
{
    if (s->drop_chunk == SRV_NONE || k != (unsigned long long)s->drop_chunk || d->dropped_once) {
        return false;
    }
    d->dropped_once = true;
    return true;
}

static bool want_corrupt(srv_t *s, srv_device_t *d, unsigned long long k)
{
    if (s->corrupt_chunk != SRV_NONE && k == (unsigned long long)s->corrupt_chunk) {
        return true;
    }
    if (s->corrupt_once == SRV_NONE || k != (unsigned long long)s->corrupt_once ||
        d->corrupted_once) {
        return false;
    }
    d->corrupted_once = true;
    return true;
}

static void serve_chunk(srv_t *s, srv_device_t *d, const char *label, unsigned long long rid,
                        unsigned long long k, uint32_t size)
{
    char topic[SRV_TOPIC_MAX];
    unsigned long long start = size == 0 ? 0u : k * (unsigned long long)size;
    unsigned long long total = size == 0 ? 1u : ((unsigned long long)s->len + size - 1u) / size;
    size_t n = 0;
    const uint8_t *p = s->data;
    bool corrupt;

    if (start < s->len) {
        n = size == 0 ? s->len : (size_t)(s->len - start < size ? s->len - start : size);
        p = s->data + start;
    }
    if (want_drop(s, d, k)) {
        event(s, "device %s: chunk %llu/%llu (request %llu): dropped on purpose, no answer", label,
              k, total, rid);
        return;
    }
    corrupt = n > 0 && want_corrupt(s, d, k);
    if (corrupt) {
        memcpy(s->scratch, p, n);
        s->scratch[n / 2u] ^= 0xFFu;
        p = s->scratch;
    }
    snprintf(topic, sizeof(topic), "%s%s%llu/chunk/%llu", d->prefix, k_fw_resp, rid, k);
    publish(s, topic, p, n);
    s->chunks++;
    s->bytes += n;
    if (size == 0) {
        event(s, "device %s: chunk %llu (request %llu, no size: the whole file): %zu bytes%s",
              label, k, rid, n, corrupt ? ", one byte flipped on purpose" : "");
        return;
    }
    event(s, "device %s: chunk %llu/%llu (request %llu): %zu bytes%s%s", label, k, total, rid, n,
          corrupt ? ", one byte flipped on purpose" : "",
          n == 0 ? " (past the end: empty answer)" : "");
}

static void handle_chunk(srv_t *s, const char *prefix, const char *label, unsigned long long rid,
                         unsigned long long k, bool k_ok, const char *payload, size_t len)
{
    srv_device_t *d = device_get(s, prefix);
    uint32_t given;
    uint32_t size;

    if (!k_ok || !parse_chunk_size(payload, len, &given)) {
        publish_error(s, prefix, label, "FAILURE",
                      k_ok ? "chunk request payload is not a decimal size"
                           : "chunk index is not a 32-bit number");
        return;
    }
    size = rid_size(d, rid, given);
    if (size > s->max_payload) {
        publish_error(s, prefix, label, "PAYLOAD_TOO_LARGE", "chunk size over --max-payload");
        return;
    }
    if (s->no_firmware) {
        publish_error(s, prefix, label, "NOT_FOUND", "chunk requested but no firmware assigned");
        return;
    }
    serve_chunk(s, d, label, rid, k, size);
}

static void handle_telemetry(srv_t *s, const char *label, const char *payload, size_t len)
{
    static const char *const keys[] = { "current_fw_title", "current_fw_version", "fw_state",
                                        "fw_error" };
    char val[4][256];
    bool found[4];

    for (size_t i = 0; i < 4; i++) {
        if (!json_member_string(payload, len, keys[i], val[i], sizeof(val[i]), &found[i])) {
            event(s, "device %s: telemetry that is not a JSON object: %.*s", label,
                  (int)(len > 200 ? 200 : len), payload);
            return;
        }
    }
    if (found[0] || found[1]) {
        event(s, "device %s: reports it runs firmware \"%s\" version \"%s\"", label,
              found[0] ? val[0] : "?", found[1] ? val[1] : "?");
    }
    if (found[2]) {
        event(s, "device %s: reports fw_state %s%s%s", label, val[2], found[3] ? ": " : "",
              found[3] ? val[3] : "");
    } else if (found[3]) {
        event(s, "device %s: reports fw_error: %s", label, val[3]);
    }
}

/* ---------------------------------------------------------------- MQTT */

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    srv_t *s = obj;
    char prefix[SRV_PREFIX_MAX];
    char label[SRV_PREFIX_MAX];
    const char *rest;
    const char *payload = m->payload ? (const char *)m->payload : "";
    size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0u;
    unsigned long long a = 0;
    unsigned long long b = 0;
    bool b_ok = true;

    (void)mosq;
    if (!split_prefix(m->topic, prefix, sizeof(prefix), &rest)) {
        return;
    }
    device_label(prefix, label, sizeof(label));
    if (match_attr_request(rest, &a)) {
        handle_attributes(s, prefix, label, a, payload, len);
    } else if (match_chunk_request(rest, &a, &b, &b_ok)) {
        handle_chunk(s, prefix, label, a, b, b_ok, payload, len);
    } else if (strcmp(rest, k_telemetry) == 0) {
        handle_telemetry(s, label, payload, len);
    }
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    srv_t *s = obj;

    if (rc != 0) {
        fatal("the broker refused the connection: %s", mosquitto_connack_string(rc));
        s->fatal = true;
        return;
    }
    s->subs_acked = 0;
    for (size_t i = 0; i < SRV_NSUBS; i++) {
        int r = mosquitto_subscribe(mosq, NULL, k_subscriptions[i], 1);

        if (r != MOSQ_ERR_SUCCESS) {
            fatal("cannot subscribe to %s: %s", k_subscriptions[i], mosquitto_strerror(r));
            s->fatal = true;
            return;
        }
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted)
{
    srv_t *s = obj;

    (void)mosq;
    (void)mid;
    for (int i = 0; i < qos_count; i++) {
        if (granted[i] > 2) {
            fatal("the broker refused a subscription");
            s->fatal = true;
            return;
        }
    }
    s->subs_acked++;
    if (s->subs_acked == SRV_NSUBS && !s->ready) {
        s->ready = true;
        say("ready: listening on %s:%d for v1/devices/me/... and tb/<token>/v1/devices/me/...",
            s->host, s->port);
    }
}

static int connect_broker(srv_t *s)
{
    int rc;

    s->mosq = mosquitto_new(s->client_id, true, s);
    if (!s->mosq) {
        return fatal("cannot create the MQTT client: %s", strerror(errno));
    }
    mosquitto_connect_callback_set(s->mosq, on_connect);
    mosquitto_subscribe_callback_set(s->mosq, on_subscribe);
    mosquitto_message_callback_set(s->mosq, on_message);
    rc = mosquitto_connect(s->mosq, s->host, s->port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        return fatal("cannot reach the MQTT broker at %s:%d: %s", s->host, s->port,
                     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* The connection broke: try to get it back for a while. */
static int reconnect(srv_t *s, int why)
{
    say("lost the broker connection (%s); reconnecting", mosquitto_strerror(why));
    for (int i = 0; i < SRV_RECONNECT_TRIES && !g_stop; i++) {
        sleep_ms(1000);
        if (mosquitto_reconnect(s->mosq) == MOSQ_ERR_SUCCESS) {
            return 0;
        }
    }
    return g_stop ? 0 : fatal("the broker at %s:%d is gone", s->host, s->port);
}

static int run(srv_t *s)
{
    while (!g_stop && !s->fatal) {
        int rc = mosquitto_loop(s->mosq, loop_timeout(s), 1);

        flush_delayed(s, false);
        if (rc == MOSQ_ERR_SUCCESS || g_stop) {
            continue;
        }
        if (reconnect(s, rc) != 0) {
            return 1;
        }
    }
    return s->fatal ? 1 : 0;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void summary(const srv_t *s)
{
    say("stopped: %lu attribute request(s), %lu chunk answer(s) (%llu bytes) to %lu device(s), "
        "%lu error(s)",
        s->attr_requests, s->chunks, s->bytes, s->devices, s->errors);
}

static void shutdown_client(srv_t *s)
{
    flush_delayed(s, true);
    if (s->mosq) {
        mosquitto_disconnect(s->mosq);
        mosquitto_loop(s->mosq, 50, 1);
        mosquitto_destroy(s->mosq);
        s->mosq = NULL;
    }
}

int main(int argc, char **argv)
{
    static srv_t s;
    char client_id[64];
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    s.host = "127.0.0.1";
    s.port = 1883;
    s.algo = "CRC32";
    s.max_payload = 65536u;
    s.corrupt_chunk = SRV_NONE;
    s.corrupt_once = SRV_NONE;
    s.drop_chunk = SRV_NONE;
    rc = parse_args(argc, argv, &s);
    if (rc != 0) {
        return rc == 2 ? 0 : 1;
    }
    snprintf(client_id, sizeof(client_id), "cellota-server-%ld", (long)getpid());
    s.client_id = s.client_id ? s.client_id : client_id;
    install_signals();
    if (prepare_package(&s) != 0) {
        return 1;
    }
    mosquitto_lib_init();
    rc = connect_broker(&s);
    if (rc == 0) {
        rc = run(&s);
        summary(&s);
    }
    shutdown_client(&s);
    mosquitto_lib_cleanup();
    free(s.data);
    free(s.scratch);
    return rc;
}
