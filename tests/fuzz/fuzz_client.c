/*
 * fuzz_client - the whole OTA client fed random messages on random topics.
 *
 * The client runs on in-harness fake ports: a 64 KB RAM NOR flash with NOR
 * rules, a scripted MQTT transport and a clock. The input is a script:
 *
 *   [config: 4 bytes][end mode] then operations, each [opcode][arguments...]
 *   (opcode bits 0-3: the operation; bit 6: then let time run to the
 *   client's next deadline)
 *
 * Operations deliver attribute answers (random bytes, or a well-formed
 * offer built from the input with a right or wrong checksum), chunk
 * answers (the right bytes, damaged, cut, stretched, or random) for the
 * requests the client made or for others, server errors, messages on
 * random topics; they advance the clock, drop the link, fail flash
 * operations, damage the flash, and reset the device (a new client over
 * the same flash). At the end the server turns honest or silent and the
 * client runs to its end.
 *
 * Invariants checked:
 *   - no flash access outside the chip; no write or erase outside the
 *     slot and the metadata area; no write that needs a 0 -> 1 bit;
 *   - the result code is one of 1..7 / 100, the reason fits its buffer;
 *   - a boot request, when there is one, points at the slot and the
 *     package rebuilt from the slot matches the fw_checksum of the offer it
 *     names (the client never stages what the server did not vouch for),
 *     and its image CRC is the CRC of the slot.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_client.h"
#include "cellota/ota_crc32.h"
#include "cellota/ota_sha256.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FL_SIZE 0x10000u
#define SECTOR 4096u
#define META 0u
#define SLOT 0x2000u
#define SLOT_SIZE 0x8000u
#define PATTERN(a) ((uint8_t)((a) * 13u + 7u))
#define MAX_PKG (2u * SLOT_SIZE)
#define QMAX 8
#define TOPIC_MAX 128
#define PAY_MAX 1100u
#define REQ_MAX 16
#define OFFERS 16

/* ---- flash -------------------------------------------------------------- */

static uint8_t g_flash[FL_SIZE];
static uint32_t g_fail_read;  /* fail the n-th next read (1 = next), 0 = off */
static uint32_t g_fail_write;
static uint32_t g_fail_erase;
static bool g_absent;
static bool g_damaged;       /* the input damaged the flash behind the client's back */
static uint32_t g_nor_errors; /* writes that needed a bit to go from 0 to 1 */

static bool countdown(uint32_t *n)
{
    if (*n == 0u) {
        return false;
    }
    return --*n == 0u;
}

static void check_range(uint32_t addr, size_t len)
{
    FUZZ_CHECK(addr <= FL_SIZE && len <= FL_SIZE - addr);
}

static void check_inside(uint32_t addr, size_t len)
{
    bool meta = addr >= META && addr - META < 2u * SECTOR && len <= 2u * SECTOR - (addr - META);
    bool slot = addr >= SLOT && addr - SLOT < SLOT_SIZE && len <= SLOT_SIZE - (addr - SLOT);
    FUZZ_CHECK(meta || slot);
}

static int fl_probe(void *ctx)
{
    (void)ctx;
    return g_absent ? -1 : 0;
}

static int fl_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    check_range(addr, len);
    if (g_absent || countdown(&g_fail_read)) {
        return -2;
    }
    memcpy(buf, &g_flash[addr], len);
    return 0;
}

static int fl_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    (void)ctx;
    check_range(addr, len);
    check_inside(addr, len);
    if (g_absent || countdown(&g_fail_write)) {
        return -3;
    }
    for (size_t i = 0; i < len; i++) {
        /* NOR: a write can only clear bits (a chip ANDs, and says nothing). */
        if ((uint8_t)(b[i] & (uint8_t)~g_flash[addr + i]) != 0u) {
            g_nor_errors++;
        }
        g_flash[addr + i] &= b[i];
    }
    /* Only flash damaged on purpose may make the client write over bits it
     * believes erased (it reads back what matters, and the check below
     * still holds). */
    FUZZ_CHECK(g_nor_errors == 0u || g_damaged);
    return 0;
}

static int fl_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    FUZZ_CHECK(addr % SECTOR == 0u);
    check_range(addr, SECTOR);
    check_inside(addr, SECTOR);
    if (g_absent || countdown(&g_fail_erase)) {
        return -4;
    }
    memset(&g_flash[addr], 0xFF, SECTOR);
    return 0;
}

/* ---- clock, uplink ------------------------------------------------------ */

static uint32_t g_now;

static uint32_t clk_now(void *ctx)
{
    (void)ctx;
    return g_now;
}

static int up_send(void *ctx, const char *msg, size_t len)
{
    (void)ctx;
    FUZZ_CHECK(len > 0u && memchr(msg, '\0', len) == NULL);
    return 0;
}

/* ---- the server's offers and package ------------------------------------ */

typedef struct {
    bool used;
    bool sha256;
    uint8_t checksum[32]; /* what the offer announced */
    uint32_t fw_size;
} offer_t;

static offer_t g_offers[OFFERS];
static unsigned g_noffers;
static char g_last_offer[400]; /* the JSON of the latest offer, for the honest end */
static uint8_t g_pkg[MAX_PKG]; /* the package the server serves now */
static uint32_t g_pkg_len;
static ota_pkg_format_t g_format;
static uint32_t g_chunk_size; /* raw chunk size the client uses */

static void make_package(uint32_t image_len, uint8_t seed)
{
    uint32_t x = 0x9E3779B9u * (seed + 1u);
    static uint8_t img[SLOT_SIZE + 512u];
    uint32_t o = 0;
    for (uint32_t i = 0; i < image_len; i++) {
        x = x * 1664525u + 1013904223u;
        img[i] = (uint8_t)(x >> 24);
    }
    if (g_format == OTA_PKG_RAW) {
        memcpy(g_pkg, img, image_len);
        g_pkg_len = image_len;
        return;
    }
    for (uint32_t i = 0; i < image_len; i += 1024u) {
        uint32_t n = image_len - i < 1024u ? image_len - i : 1024u;
        uint32_t crc = ota_crc32(0, &img[i], n);
        memcpy(&g_pkg[o], &img[i], n);
        o += n;
        for (int b = 0; b < 4; b++) {
            g_pkg[o++] = (uint8_t)(crc >> (8 * b));
        }
    }
    g_pkg_len = o;
}

static void digest(bool sha256, const uint8_t *p, size_t n, uint8_t out[32])
{
    if (sha256) {
        ota_sha256_t s;
        ota_sha256_init(&s);
        ota_sha256_update(&s, p, n);
        ota_sha256_final(&s, out);
        return;
    }
    uint32_t crc = ota_crc32(0, p, n);
    memset(out, 0, 32);
    for (int b = 0; b < 4; b++) {
        out[b] = (uint8_t)(crc >> (8 * b));
    }
}

/* ---- the transport ------------------------------------------------------ */

typedef struct {
    char topic[TOPIC_MAX];
    uint8_t payload[PAY_MAX];
    size_t len;
} msg_t;

typedef struct {
    uint32_t rid, k, size;
} req_t;

static struct {
    ota_link_state_t state;
    ota_msg_cb_t cb;
    void *arg;
    bool refuse;
    bool fail_publish;
    uint8_t connect_polls;
    uint32_t attr_id;
    bool attr_asked; /* an attribute request not answered yet */
    req_t req[REQ_MAX]; /* the most recent chunk requests */
    int nreq;
    msg_t q[QMAX];
    int nq;
} T;

static void enqueue(const char *topic, size_t tlen, const uint8_t *p, size_t n)
{
    msg_t *m;
    if (T.nq >= QMAX) {
        return;
    }
    m = &T.q[T.nq++];
    tlen = tlen < TOPIC_MAX - 1 ? tlen : TOPIC_MAX - 1;
    memcpy(m->topic, topic, tlen);
    m->topic[tlen] = '\0';
    n = n < PAY_MAX ? n : PAY_MAX;
    if (n > 0u) {
        memcpy(m->payload, p, n);
    }
    m->len = n;
}

static void enqueue_str(const char *topic, const uint8_t *p, size_t n)
{
    enqueue(topic, strlen(topic), p, n);
}

static int t_connect(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t cb, void *arg)
{
    (void)ctx;
    FUZZ_CHECK(conn != NULL && conn->host != NULL && cb != NULL);
    if (T.refuse) {
        return -7;
    }
    T.cb = cb;
    T.arg = arg;
    T.nq = 0;
    T.nreq = 0;
    T.state = T.connect_polls ? OTA_LINK_CONNECTING : OTA_LINK_UP;
    return 0;
}

static ota_link_state_t t_state(void *ctx)
{
    (void)ctx;
    return T.state;
}

static int t_subscribe(void *ctx, const char *filter, uint8_t qos)
{
    (void)ctx;
    (void)qos;
    FUZZ_CHECK(filter != NULL);
    return T.state == OTA_LINK_UP ? 0 : -1;
}

static void note_request(const char *topic, const uint8_t *p, size_t len)
{
    unsigned rid = 0;
    unsigned k = 0;
    char size[16];
    req_t *r;
    if (sscanf(topic, "v2/fw/request/%u/chunk/%u", &rid, &k) != 2) {
        return;
    }
    FUZZ_CHECK(len > 0u && len < sizeof size);
    memcpy(size, p, len);
    size[len] = '\0';
    if (T.nreq == REQ_MAX) {
        memmove(&T.req[0], &T.req[1], sizeof T.req[0] * (REQ_MAX - 1));
        T.nreq--;
    }
    r = &T.req[T.nreq++];
    r->rid = rid;
    r->k = k;
    r->size = (uint32_t)strtoul(size, NULL, 10);
    FUZZ_CHECK(r->size > 0u && r->size <= OTA_CFG_CHUNK_BUF_SIZE);
}

static int t_publish(void *ctx, const char *topic, const uint8_t *p, size_t len, uint8_t qos)
{
    unsigned id = 0;
    (void)ctx;
    (void)qos;
    FUZZ_CHECK(topic != NULL && (len == 0u || p != NULL));
    if (T.state != OTA_LINK_UP || T.fail_publish) {
        return -1;
    }
    if (sscanf(topic, "v1/devices/me/attributes/request/%u", &id) == 1) {
        T.attr_id = id;
        T.attr_asked = true;
    } else {
        note_request(topic, p, len);
    }
    return 0;
}

static void t_disconnect(void *ctx)
{
    (void)ctx;
    T.state = OTA_LINK_DOWN;
    T.nq = 0;
}

static int t_poll(void *ctx, uint32_t now)
{
    static msg_t batch[QMAX];
    int n;
    (void)ctx;
    (void)now;
    if (T.state == OTA_LINK_CONNECTING && T.connect_polls-- <= 1u) {
        T.state = OTA_LINK_UP;
    }
    if (T.state != OTA_LINK_UP) {
        return 0;
    }
    n = T.nq;
    memcpy(batch, T.q, sizeof batch[0] * (size_t)n);
    T.nq = 0;
    for (int i = 0; i < n && T.state == OTA_LINK_UP; i++) {
        /* Exact-size copies: ASan sees any read past the end. */
        size_t tl = strlen(batch[i].topic);
        char *t = malloc(tl ? tl : 1u);
        uint8_t *p = malloc(batch[i].len ? batch[i].len : 1u);
        memcpy(t, batch[i].topic, tl);
        memcpy(p, batch[i].payload, batch[i].len);
        T.cb(T.arg, t, tl, batch[i].len ? p : NULL, batch[i].len);
        free(p);
        free(t);
    }
    return 0;
}

/* ---- answers ------------------------------------------------------------ */

/* The honest answer to a request, into buf; returns its length. */
static size_t honest(const req_t *r, uint8_t *buf)
{
    uint64_t start = (uint64_t)r->k * r->size;
    size_t n = 0;
    if (start < g_pkg_len) {
        n = g_pkg_len - (size_t)start < r->size ? g_pkg_len - (size_t)start : r->size;
        memcpy(buf, &g_pkg[start], n);
    }
    return n;
}

static void answer(const req_t *r, const uint8_t *p, size_t n)
{
    char topic[64];
    snprintf(topic, sizeof topic, "v2/fw/response/%u/chunk/%u", (unsigned)r->rid, (unsigned)r->k);
    enqueue_str(topic, p, n);
}

static void serve_all_honestly(void)
{
    static uint8_t buf[PAY_MAX];
    for (int i = 0; i < T.nreq; i++) {
        answer(&T.req[i], buf, honest(&T.req[i], buf));
    }
    T.nreq = 0;
}

static void attr_answer(const uint8_t *p, size_t n)
{
    char topic[64];
    snprintf(topic, sizeof topic, "v1/devices/me/attributes/response/%u", (unsigned)T.attr_id);
    enqueue_str(topic, p, n);
    T.attr_asked = false;
}

/* A well-formed offer "v<idx>"; the checksum is right unless told. */
static void offer(fz_in_t *in)
{
    uint8_t f = fz_u8(in);
    unsigned idx = g_noffers;
    bool sha = (f & 0x10u) != 0u;
    /* Up to a little more than the slot holds, in at most ~600 chunks
     * (so that a run stays short with 1-byte chunks too). */
    uint32_t per = (g_format == OTA_PKG_RAW) ? g_chunk_size : OTA_DRAGINO_DATA;
    uint32_t span = per * 600u < SLOT_SIZE + 300u ? per * 600u : SLOT_SIZE + 300u;
    uint32_t image_len = 1u + fz_u16(in) % span;
    offer_t *o;
    char *json = g_last_offer;
    char hex[65];
    size_t n;

    if (idx >= OFFERS) {
        return; /* every offer names a distinct version: enough of them */
    }
    g_noffers++;
    o = &g_offers[idx];
    make_package(image_len, fz_u8(in));
    o->used = true;
    o->sha256 = sha;
    o->fw_size = (f & 0x20u) ? fz_u32(in) % (MAX_PKG + 100u) : g_pkg_len;
    digest(sha, g_pkg, g_pkg_len, o->checksum);
    if (f & 0x40u) {
        const uint8_t *b = fz_bytes(in, 4, &n);
        memcpy(o->checksum, b, n); /* a wrong (or lucky) checksum */
    }
    for (unsigned i = 0; i < (sha ? 32u : 4u); i++) {
        snprintf(&hex[2 * i], 3, "%02x", o->checksum[i]);
    }
    snprintf(json, sizeof g_last_offer,
             "{\"shared\":{\"fw_title\":\"t\",\"fw_version\":\"v%u\",\"fw_size\":%u,"
             "\"fw_checksum_algorithm\":\"%s\",\"fw_checksum\":\"%s\"}}",
             (unsigned)idx, (unsigned)o->fw_size, sha ? "SHA256" : "CRC32", hex);
    attr_answer((const uint8_t *)json, strlen(json));
}

/* A chunk answer for one of the recorded requests (or a made-up one). */
static void chunk_op(fz_in_t *in)
{
    static uint8_t buf[PAY_MAX + 64u];
    uint8_t how = fz_u8(in);
    req_t r = {0, 0, 1028u};
    size_t n;
    if (T.nreq > 0) {
        int i = fz_u8(in) % T.nreq;
        r = T.req[i];
        if (how & 0x80u) { /* answered: forget it */
            memmove(&T.req[i], &T.req[i + 1], sizeof T.req[0] * (size_t)(T.nreq - i - 1));
            T.nreq--;
        }
    }
    n = honest(&r, buf);
    switch (how & 0x07u) {
    case 1: /* one byte flipped */
        if (n > 0u) {
            buf[fz_u16(in) % n] ^= (uint8_t)(fz_u8(in) | 1u);
        }
        break;
    case 2: /* cut short */
        n = n > 0u ? fz_u16(in) % n : 0u;
        break;
    case 3: /* stretched */
        for (uint8_t extra = fz_u8(in) % 40u; extra > 0u && n < sizeof buf; extra--) {
            buf[n++] = fz_u8(in);
        }
        break;
    case 4: { /* random bytes */
        const uint8_t *b = fz_field(in, &n);
        memcpy(buf, b, n);
        break;
    }
    case 5: /* another rid or index */
        r.rid += fz_u8(in);
        r.k += fz_u8(in);
        break;
    case 6: /* empty */
        n = 0u;
        break;
    default: /* honest */
        break;
    }
    answer(&r, buf, n);
}

static void random_topic_op(fz_in_t *in)
{
    size_t tl = 0;
    size_t pl = 0;
    const uint8_t *t = fz_field(in, &tl);
    const uint8_t *p = fz_field(in, &pl);
    enqueue((const char *)t, tl, p, pl);
}

/* ---- the device --------------------------------------------------------- */

static ota_settings_t g_set;
static ota_config_t g_cfg;
static ota_client_t g_cli;

/* FUZZ_LOG=1 in the environment: the client's log on stderr (to study a crash). */
static void log_line(void *ctx, ota_log_level_t lvl, const char *line)
{
    (void)ctx;
    fprintf(stderr, "  [%d] t=%u %s\n", (int)lvl, (unsigned)g_now, line);
}

static void device_boot(void)
{
    FUZZ_CHECK(ota_client_init(&g_cli, &g_cfg) == OTA_OK);
    FUZZ_CHECK(ota_client_start(&g_cli) == OTA_OK);
}

static void poll_once(void)
{
    ota_client_info_t info;
    FUZZ_CHECK(ota_client_poll(&g_cli, g_now) == OTA_OK);
    FUZZ_CHECK(ota_client_info(&g_cli, &info) == OTA_OK);
    FUZZ_CHECK(strlen(info.reason) <= OTA_CFG_REASON_MAX);
    FUZZ_CHECK(info.code == OTA_CODE_NONE || (info.code >= 1 && info.code <= 7) ||
               info.code == OTA_CODE_SUCCESS);
}

/* Nothing waits for delivery: jump to the client's next deadline. */
static void advance(void)
{
    uint32_t at;
    if ((T.nq == 0 || T.state != OTA_LINK_UP) && ota_client_next_deadline(&g_cli, &at) &&
        (int32_t)(at - g_now) > 0) {
        g_now = at;
    }
}

/* The honest server answers what is waiting for an answer. */
static void serve(void)
{
    if (T.state != OTA_LINK_UP) {
        return;
    }
    if (T.attr_asked && g_last_offer[0] != '\0') {
        attr_answer((const uint8_t *)g_last_offer, strlen(g_last_offer));
    }
    serve_all_honestly();
}

static bool finished(void)
{
    ota_client_info_t info;
    ota_client_info(&g_cli, &info);
    return info.state == OTA_STATE_IDLE || info.state == OTA_STATE_DONE;
}

static void setup(fz_in_t *in)
{
    static const uint32_t chunk_sizes[] = {1028u, 1024u, 512u, 100u, 7u, 1u, 1000u, 256u};
    uint8_t a = fz_u8(in);
    uint8_t b = fz_u8(in);
    uint8_t c = fz_u8(in);

    memset(&T, 0, sizeof T);
    memset(g_offers, 0, sizeof g_offers);
    g_noffers = 0;
    g_last_offer[0] = '\0';
    g_fail_read = g_fail_write = g_fail_erase = 0u;
    g_absent = false;
    g_damaged = false;
    g_nor_errors = 0;
    g_pkg_len = 0;
    g_now = (uint32_t)fz_u8(in) << 24; /* near the wrap sometimes */
    memset(g_flash, 0xFF, SLOT + SLOT_SIZE);
    for (uint32_t i = SLOT + SLOT_SIZE; i < FL_SIZE; i++) {
        g_flash[i] = PATTERN(i);
    }
    g_format = (a & 1u) ? OTA_PKG_RAW : OTA_PKG_DRAGINO;
    g_chunk_size = chunk_sizes[(a >> 1) & 7u];

    ota_settings_defaults(&g_set, "t", "v1.5.0");
    strcpy(g_set.host, "h");
    g_set.port = 1;
    strcpy(g_set.client_id, "c");
    ota_config_defaults(&g_cfg);
    g_cfg.transport = (ota_transport_t){NULL, t_connect, t_state, t_subscribe, t_publish,
                                        t_disconnect, t_poll};
    g_cfg.flash = (ota_flash_t){NULL, FL_SIZE, SECTOR, 256u, fl_probe, fl_read, fl_write, fl_erase};
    g_cfg.clock = (ota_clock_t){NULL, clk_now};
    g_cfg.uplink = (ota_uplink_t){NULL, (b & 0x80u) ? up_send : NULL};
    g_cfg.settings = &g_set;
    g_cfg.imei = "1";
    g_cfg.meta_addr = META;
    g_cfg.slot_addr = SLOT;
    g_cfg.slot_size = SLOT_SIZE;
    g_cfg.format = g_format;
    g_cfg.raw_chunk_size = g_chunk_size;
    g_cfg.window = (uint8_t)(1u + b % OTA_CFG_MAX_WINDOW);
    g_cfg.chunk_retries = (uint8_t)((b >> 3) % 4u);
    g_cfg.attempt_retries = (uint8_t)((b >> 5) % 3u);
    g_cfg.answer_timeout_ms = 1000u + 500u * (c % 8u);
    g_cfg.connect_timeout_ms = 2000u;
    g_cfg.backoff_ms = 100u * (c >> 4);
    g_cfg.reboot_delay_ms = 0;
    g_cfg.log.write = getenv("FUZZ_LOG") != NULL ? log_line : NULL;
}

static void run_op(uint8_t op, fz_in_t *in)
{
    size_t n;
    const uint8_t *p;
    if (g_cfg.log.write != NULL) {
        fprintf(stderr, "op %u\n", (unsigned)(op % 16u));
    }
    switch (op % 16u) {
    case 0: offer(in); break;
    case 1: p = fz_field(in, &n); attr_answer(p, n); break;
    case 2: chunk_op(in); break;
    case 3: serve_all_honestly(); break;
    case 4: random_topic_op(in); break;
    case 5: p = fz_field(in, &n); enqueue_str("v2/fw/error", p, n); break;
    case 6: g_now += (uint32_t)fz_u8(in) * 100u; break;
    case 7: g_now += (uint32_t)fz_u16(in) << 8; break;
    case 8: T.state = OTA_LINK_FAILED; break;
    case 9: T.refuse = (fz_u8(in) & 1u) != 0u; T.connect_polls = fz_u8(in) % 4u; break;
    case 10: {
        uint8_t w = fz_u8(in);
        uint32_t *which = (w % 3u == 0u) ? &g_fail_read : (w % 3u == 1u) ? &g_fail_write : &g_fail_erase;
        *which = 1u + (w >> 2) % 8u;
        break;
    }
    case 11: { /* damage one byte of the slot or the journal */
        uint32_t addr = fz_u16(in) % (SLOT + SLOT_SIZE);
        g_flash[addr] &= fz_u8(in);
        g_damaged = true;
        break;
    }
    case 12: /* reset: power cycle, a new client over the same flash */
        T.state = OTA_LINK_DOWN;
        T.nq = 0;
        device_boot();
        break;
    case 13: T.fail_publish = (fz_u8(in) & 1u) != 0u; break;
    case 14: (void)ota_client_abort(&g_cli); (void)ota_client_start(&g_cli); break;
    default: break;
    }
}

/* A boot request, when there is one, stages what an offer vouched for. */
static void check_staged(void)
{
    ota_bootreq_t req;
    static uint8_t pkg[MAX_PKG];
    uint8_t d[32];
    uint32_t o = 0;
    unsigned idx = 0;
    if (ota_bootreq_read(&g_cfg.flash, META, &req) != OTA_OK) {
        return;
    }
    FUZZ_CHECK(req.image_addr == SLOT && req.image_size > 0u && req.image_size <= SLOT_SIZE);
    FUZZ_CHECK(strcmp(req.title, "t") == 0);
    FUZZ_CHECK(sscanf(req.version, "v%u", &idx) == 1 && idx < OFFERS && g_offers[idx].used);
    if (g_damaged) {
        return; /* the slot may have been damaged after it was verified */
    }
    FUZZ_CHECK(req.image_crc == ota_crc32(0, &g_flash[SLOT], req.image_size));
    /* Rebuild the package from the slot and check it against the offer. */
    if (g_format == OTA_PKG_RAW) {
        memcpy(pkg, &g_flash[SLOT], req.image_size);
        o = req.image_size;
    } else {
        for (uint32_t i = 0; i < req.image_size; i += 1024u) {
            uint32_t n = req.image_size - i < 1024u ? req.image_size - i : 1024u;
            uint32_t crc = ota_crc32(0, &g_flash[SLOT + i], n);
            memcpy(&pkg[o], &g_flash[SLOT + i], n);
            o += n;
            for (int b = 0; b < 4; b++) {
                pkg[o++] = (uint8_t)(crc >> (8 * b));
            }
        }
    }
    FUZZ_CHECK(o == g_offers[idx].fw_size);
    digest(g_offers[idx].sha256, pkg, o, d);
    FUZZ_CHECK(memcmp(d, g_offers[idx].checksum, g_offers[idx].sha256 ? 32u : 4u) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t end_mode;
    setup(&in);
    end_mode = fz_u8(&in);
    device_boot();
    for (int steps = 0; in.n > 0u && steps < 400; steps++) {
        uint8_t op = fz_u8(&in);
        run_op(op, &in);
        poll_once();
        if (op & 0x40u) { /* let time pass to the client's next deadline */
            advance();
        }
        poll_once();
    }
    /* The end: an honest server (or a silent one) until the client is done. */
    T.refuse = false;
    T.fail_publish = false;
    for (int i = 0; i < 20000 && !finished(); i++) {
        if (end_mode & 1u) {
            serve();
        }
        poll_once();
        if (end_mode & 1u) {
            serve();
        }
        advance();
    }
    FUZZ_CHECK(finished());
    check_staged();
    return 0;
}
