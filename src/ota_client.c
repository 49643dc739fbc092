/*
 * The OTA client state machine. See include/cellota/ota_client.h for the
 * contract and DESIGN.md "The update, end to end" for the steps.
 *
 * Shape: ota_client_poll() runs one step of the current state; messages
 * arrive through on_message(), called by the transport from inside its
 * poll. on_message() never publishes: it checks and writes chunks (and drops
 * the journal when the slot can no longer be trusted), or records what
 * arrived (an offer, a failure) for the next step.
 */
#include "cellota/ota_client.h"

#include <stddef.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_crc32.h"
#include "ota_fmt.h"
#include "ota_journal.h"
#include "ota_json.h"
#include "ota_tb.h"

/* ota_client_t::offer is copied from and compared with an ota_tb_offer_t
 * whole: the two must have the same layout. */
#define SAME_FIELD(f)                                                                 \
    (offsetof(ota_tb_offer_t, f) == offsetof(ota_client_t, offer.f) - offsetof(ota_client_t, offer))
typedef char offer_layout_check[(sizeof(ota_tb_offer_t) == sizeof(((ota_client_t *)NULL)->offer) &&
                                 SAME_FIELD(title) && SAME_FIELD(version) && SAME_FIELD(size) &&
                                 SAME_FIELD(algo) && SAME_FIELD(checksum))
                                    ? 1
                                    : -1];

/* ota_client_t::flags */
#define F_OFFER 0x01u      /* an attribute answer arrived: the first one decides */
#define F_FAIL 0x02u       /* the attempt ends: a failure (pend_code, reason) or code 100 */
#define F_TRANSIENT 0x04u  /* ... and it may be retried */
#define F_JNL 0x08u        /* the download journal records this download */
#define F_REBOOT 0x10u     /* a reboot is scheduled at deadline */
#define F_RESUMED 0x20u    /* chunks recorded in the journal are skipped */

/* ota_req_slot_t::state */
#define SLOT_FREE 0u
#define SLOT_SEND 1u
#define SLOT_WAIT 2u

/* CONNECTING phases */
#define PH_PROBE 0u
#define PH_LINK 1u

/* DOWNLOADING phases */
#define PH_DL_META 0u    /* remove the old boot request */
#define PH_DL_JOURNAL 1u /* resume from the journal, or start a new one */
#define PH_DL_RUN 2u     /* erase, request, write */

/* Failure reasons (fail_s()): each starts with its result code, and names
 * the check that failed, with the chunk, the port call and its raw return
 * where there is one. */
#define R_NO_HW "\002"
#define R_FORMAT "\003"
#define R_TIMEOUT "\004"
#define R_CHECKSUM "\007"
#define REASONS(X)                                                                                 \
    X(E_LINK_LOST, R_TIMEOUT "connection to the OTA server lost")                                  \
    X(E_NO_FLASH, R_NO_HW "flash not found (probe %d)")                                            \
    X(E_CONNECT, R_TIMEOUT "connect to %s refused (port %d)")                                      \
    X(E_REFUSED, R_TIMEOUT "connection refused by %s")                                             \
    X(E_NO_LINK, R_TIMEOUT "no connection to %s in time")                                          \
    X(E_PUBLISH, R_TIMEOUT "publish or subscribe refused")                                         \
    X(E_NO_ANSWER, R_TIMEOUT "no answer to the attribute request after %u tries%s")                \
    X(E_SIZE, R_FORMAT "fw_size %u is no valid package size for this format")                      \
    X(E_FIT, R_NO_HW "image of %u bytes does not fit the %u-byte slot")                            \
    X(E_ROLLED_BACK, R_NO_HW "version %s was rolled back on this device: not installed again")     \
    X(E_CHUNK_BAD, R_CHECKSUM "chunk %u failed its check %u times")                                \
    X(E_CHUNK_LOST, R_TIMEOUT "chunk %u not answered after %u requests")                           \
    X(E_CHUNK_REQ, R_TIMEOUT "chunk %u request refused (port %d)")                                 \
    X(E_IMAGE, R_CHECKSUM "whole image does not match fw_checksum")                                \
    X(E_CHANGED, R_CHECKSUM "offer changed during the download: %s not staged")                    \
    X(E_BOOTREQ, R_FORMAT "boot request cannot hold this title or version")                        \
    X(E_ABORTED, R_TIMEOUT "aborted by the application")                                           \
    X(E_FLASH, R_CHECKSUM "flash %s at %x failed (port %d)")                                       \
    X(E_SERVER, R_TIMEOUT "server error on v2/fw/error: %s")

/* Log lines (log_line()): the first byte of each is its level, as a digit. */
#define L_ERROR "0"
#define L_WARN "1"
#define L_INFO "2"
#define L_DEBUG "3"
#define LOGS(X)                                                                                    \
    X(L_STATE, L_DEBUG "state ")                                                                   \
    X(L_STARTED, L_INFO "update started: ")                                                        \
    X(L_CONNECTING, L_INFO "connecting to ")                                                       \
    X(L_ASKED, L_INFO "attributes requested")                                                      \
    X(L_DOWNLOADING, L_INFO "downloading ")                                                        \
    X(L_NO_RESUME, L_WARN "too many chunks for the journal: no resume")                            \
    X(L_DISAGREE, L_WARN "journal and slot disagree: starting over")                               \
    X(L_TIMED_OUT, L_WARN "chunk timed out, asking again")                                         \
    X(L_BAD_CHUNK, L_WARN "bad chunk answer: ")                                                    \
    X(L_VERIFIED, L_INFO "image verified: ")                                                       \
    X(L_STAGED, L_INFO "update staged, OTA code 100")                                              \
    X(L_FAILED, L_ERROR "update failed: ")                                                         \
    X(L_RETRY, L_WARN "will retry: ")                                                              \
    X(L_NOT_SENT, L_WARN "status not sent: ")

/* Each list gives an enum of ids and one string of the texts (nth()). */
#define MSG_ID(id, text) id,
#define MSG_TEXT(id, text) text "\0"
enum { REASONS(MSG_ID) REASONS_END };
enum { LOGS(MSG_ID) LOGS_END };
static const char reasons[] = REASONS(MSG_TEXT);

/* Flash operations (fl(), port_fail()): the word in the reason (read,
 * write, erase, read-back: a read; read-back mismatch: no call). Where the
 * address is tells the boot request, the journal and the slot apart. */
#define OP_READ 0u
#define OP_WRITE 1u
#define OP_ERASE 2u
#define OP_READBACK 3u
#define OP_MISMATCH 4u
static const char op_words[] = "read\0write\0erase\0read-back\0read-back mismatch";

/* The topics subscribed to when the link comes up. */
#define SUBSCRIPTIONS OTA_TB_SUB_ATTR_RSP "\0" OTA_TB_SUB_CHUNKS "\0" OTA_TB_TOPIC_FW_ERROR

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static bool due(uint32_t now, uint32_t at)
{
    return (int32_t)(now - at) >= 0;
}

/* String i of a list of NUL-terminated strings. */
static const char *nth(const char *list, unsigned i)
{
    for (; i > 0u; i--) {
        list += strlen(list) + 1u;
    }
    return list;
}

/* Log line `id` (LOGS), followed by b (NULL: nothing). */
static void log_line(const ota_client_t *c, unsigned id, const char *b)
{
#if OTA_CFG_LOG
    static const char logs[] = LOGS(MSG_TEXT);
    const char *a = nth(logs, id);
    char line[OTA_CFG_REASON_MAX + 48u];
    ota_sb_t sb;
    if (c->cfg->log.write == NULL) {
        return;
    }
    ota_sb_init(&sb, line, sizeof line);
    ota_sb_str(&sb, a + 1);
    ota_sb_str(&sb, b);
    c->cfg->log.write(c->cfg->log.ctx, (ota_log_level_t)(a[0] - '0'), line);
#else
    (void)c;
    (void)id;
    (void)b;
#endif
}

/* Record a failure for the next step to act on (first one wins). */
static void pend_fail(ota_client_t *c, ota_code_t code, bool transient)
{
    if ((c->flags & F_FAIL) != 0u) {
        return;
    }
    c->flags |= (uint8_t)(F_FAIL | (transient ? F_TRANSIENT : 0u));
    c->pend_code = code;
}

/* Failure `id` (REASONS): c->reason = its template after the result code,
 * filled in by ota_sb_fmt with s, a and b. Codes 4 and 7 may be retried.
 * The text is always the latest; the code the first. */
static void fail_s(ota_client_t *c, unsigned id, const char *s, uint32_t a, uint32_t b)
{
    const char *tpl = nth(reasons, id);
    ota_code_t code = (ota_code_t)tpl[0];
    ota_sb_t sb;
    ota_sb_init(&sb, c->reason, sizeof c->reason);
    ota_sb_fmt(&sb, tpl + 1, s, a, b);
    pend_fail(c, code, (((1u << OTA_CODE_TIMEOUT) | (1u << OTA_CODE_CHECKSUM)) >> code & 1u) != 0u);
}

/* ... with %s the server's host while connecting, the offered version after. */
static void fail(ota_client_t *c, unsigned id, uint32_t a, uint32_t b)
{
    fail_s(c, id, c->state == OTA_STATE_CONNECTING ? c->cfg->settings->host : c->offer.version, a,
           b);
}

/* A failure whose reason has no numbers. */
static void fail0(ota_client_t *c, unsigned id)
{
    fail(c, id, 0u, 0u);
}

/* "flash <op> at 0x... failed (port -N)": code 7, may be retried. */
static void port_fail(ota_client_t *c, unsigned op, uint32_t addr, int rc)
{
    fail_s(c, E_FLASH, nth(op_words, op), addr, (uint32_t)rc);
}

/* One flash operation; a failure is recorded with port_fail(). */
static bool fl(ota_client_t *c, unsigned op, uint32_t addr, void *buf, size_t n)
{
    const ota_flash_t *f = &c->cfg->flash;
    int rc;
    switch (op) {
    case OP_WRITE: rc = f->write(f->ctx, addr, buf, n); break;
    case OP_ERASE: rc = f->erase(f->ctx, addr); break;
    default: rc = f->read(f->ctx, addr, buf, n); break;
    }
    if (rc != 0) {
        port_fail(c, op, addr, rc);
    }
    return rc == 0;
}

/* Write n bytes at addr and read them back (c->buf is the scratch). */
static bool write_checked(ota_client_t *c, uint32_t addr, const uint8_t *data, uint32_t n)
{
    const ota_flash_t *f = &c->cfg->flash;
    int rc = f->write(f->ctx, addr, data, n);
    if (rc != 0) {
        port_fail(c, OP_WRITE, addr, rc);
        return false;
    }
    if (!fl(c, OP_READBACK, addr, c->buf, n)) {
        return false;
    }
    if (memcmp(c->buf, data, n) != 0) {
        port_fail(c, OP_MISMATCH, addr, -1);
        return false;
    }
    return true;
}

/* Forget the journal (best effort): the next attempt starts from scratch. */
static void jnl_drop(ota_client_t *c)
{
    const ota_flash_t *f = &c->cfg->flash;
    (void)f->erase(f->ctx, c->jnl_emap - OTA_JNL_HDR);
    c->flags &= (uint8_t)~(F_JNL | F_RESUMED);
}

static uint32_t next_rid(ota_client_t *c)
{
    c->rid = (c->rid >= 999999999u) ? 1u : c->rid + 1u;
    return c->rid;
}

static int publish(ota_client_t *c, const char *topic, const void *p, size_t n)
{
    const ota_transport_t *t = &c->cfg->transport;
    return t->publish(t->ctx, topic, (const uint8_t *)p, n, 1u);
}

/* fw_state telemetry; error != NULL sends FAILED + fw_error. Best effort. */
enum { FW_DOWNLOADING, FW_DOWNLOADED, FW_VERIFIED, FW_UPDATING, FW_UPDATED };
static void send_fw_state(ota_client_t *c, unsigned st, const char *error)
{
    char msg[OTA_CFG_REASON_MAX * 2u + 48u];
    ota_sb_t sb;
    ota_sb_init(&sb, msg, sizeof msg);
    ota_tb_fw_state(&sb, nth("DOWNLOADING\0DOWNLOADED\0VERIFIED\0UPDATING\0UPDATED", st), error);
    if (!sb.over) {
        (void)publish(c, OTA_TB_TOPIC_TELEMETRY, sb.buf, sb.len);
    }
}

/* A new state; it has work at once (each step moves the deadline on when it
 * waits for something). */
static void enter(ota_client_t *c, ota_state_t st, uint8_t phase)
{
    c->state = st;
    c->phase = phase;
    c->deadline = c->now;
    log_line(c, L_STATE, ota_state_str(st));
}

static void link_close(ota_client_t *c)
{
    c->cfg->transport.disconnect(c->cfg->transport.ctx);
}

static bool link_lost(ota_client_t *c)
{
    const ota_transport_t *t = &c->cfg->transport;
    if (t->state(t->ctx) == OTA_LINK_UP) {
        return false;
    }
    fail0(c, E_LINK_LOST);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Finishing an attempt                                                     */
/* ------------------------------------------------------------------------ */

/* End the attempt with its result, pend_code (F_FAIL set): the fw_state
 * telemetry, then either a retry after a back-off (a transient failure, with
 * attempts left) or the final result: the status message, the link closed,
 * IDLE (or DONE after a success; the reason is "" then). */
static void end_attempt(ota_client_t *c)
{
    ota_code_t code = c->pend_code;
    bool ok = code == OTA_CODE_SUCCESS;
    bool retry = (c->flags & F_TRANSIENT) != 0u && c->attempt <= c->cfg->attempt_retries;
    const ota_transport_t *t = &c->cfg->transport;
    const ota_uplink_t *up = &c->cfg->uplink;
    ota_sb_t sb;

    if (ok || t->state(t->ctx) == OTA_LINK_UP) {
        send_fw_state(c, ok ? FW_UPDATING : FW_UPDATED,
                      (ok || code == OTA_CODE_SAME_VERSION) ? NULL : c->reason);
    }
    c->code = code;
    c->flags = 0;
    if (!retry && up->send != NULL) {
        ota_sb_init(&sb, (char *)c->buf, sizeof c->buf);
        ota_tb_status_msg(&sb, c->cfg->imei, code, c->reason);
        if (!sb.over && up->send(up->ctx, sb.buf, sb.len) != 0) {
            log_line(c, L_NOT_SENT, sb.buf);
        }
    }
    link_close(c);
    if (retry) {
        log_line(c, L_RETRY, c->reason);
        enter(c, OTA_STATE_BACKOFF, 0);
        c->deadline += c->cfg->backoff_ms << ((c->attempt > 8u) ? 8u : c->attempt - 1u);
        return;
    }
    log_line(c, ok ? L_STAGED : L_FAILED, c->reason);
    enter(c, ok ? OTA_STATE_DONE : OTA_STATE_IDLE, 0);
    if (ok && c->cfg->reboot_delay_ms != 0u && c->cfg->reboot.reboot != NULL) {
        c->flags = F_REBOOT;
        c->deadline += c->cfg->reboot_delay_ms;
    }
}

/* ------------------------------------------------------------------------ */
/* Message arrival (called from inside the transport's poll)                */
/* ------------------------------------------------------------------------ */

static void on_chunk(ota_client_t *c, uint32_t rid, uint32_t k, const uint8_t *p, size_t len)
{
    ota_req_slot_t *s = NULL;
    uint32_t off = 0;
    uint32_t n = 0;
    ota_status_t st;

    for (unsigned i = 0; i < c->cfg->window; i++) {
        ota_req_slot_t *r = &c->u.req[i];
        if (r->state == SLOT_WAIT && r->rid == rid && r->k == k) {
            s = r;
        }
    }
    if (s == NULL || (c->flags & F_FAIL) != 0u) {
        return; /* duplicate, stray, or already failing: ignore */
    }
    st = (len == 0u) ? OTA_ERR_NOT_FOUND : ota_pkg_check_chunk(&c->geom, k, p, len, &off, &n);
    if (st != OTA_OK) {
        /* Bad answer: ask again under a new rid. The log says which check:
         * "checksum mismatch" (a Dragino record's CRC), "out of range" (the
         * length), "not found" (empty: what an expired server cache sends). */
        s->bad++;
        s->state = SLOT_SEND;
        log_line(c, L_BAD_CHUNK, ota_status_str(st));
        return;
    }
    /* A failure to store also drops the journal: the next attempt starts
     * from an erased slot. */
    if (!write_checked(c, c->cfg->slot_addr + off, p, n)) {
        jnl_drop(c);
        return;
    }
    if ((c->flags & F_JNL) != 0u) {
        uint8_t tag = OTA_JNL_TAG(ota_crc32(0, p, n));
        if (!fl(c, OP_WRITE, c->jnl_cmap + k, &tag, 1u)) {
            return;
        }
    }
    s->state = SLOT_FREE;
    c->done_bytes += n;
}

static void on_server_error(ota_client_t *c, const uint8_t *p, size_t len)
{
    char text[33];
    size_t n = 0;
    for (; n < len && n < 32u; n++) {
        text[n] = (p[n] >= 0x20u && p[n] < 0x7Fu) ? (char)p[n] : '?';
    }
    text[n] = '\0';
    /* Two answers are final (the text equals one only if the payload does);
     * any other is a code 4 (E_SERVER). The first failure's code wins. */
    if (strcmp(text, "NOT_FOUND") == 0) {
        pend_fail(c, OTA_CODE_NO_TITLE, false);
    } else if (strcmp(text, "PAYLOAD_TOO_LARGE") == 0) {
        pend_fail(c, OTA_CODE_FORMAT, false);
    }
    fail_s(c, E_SERVER, text, 0u, 0u);
}

/* An attribute answer. While negotiating it is the offer; while staging it
 * is the offer read again, which must be the one downloaded: a server that
 * switched builds during the download (every new rid resolves the package
 * anew) would otherwise have a mix staged, and for a Dragino package a
 * CRC32 fw_checksum cannot tell (each record carries the CRC of its own
 * data, so the package CRC depends only on the record sizes). */
static void on_attributes(ota_client_t *c, const uint8_t *p, size_t len)
{
    ota_tb_offer_t offer;
    ota_json_val_t root;
    bool again = c->state == OTA_STATE_STAGING;
    const ota_settings_t *s = c->cfg->settings;
    ota_sb_t sb;
    ota_code_t code;

    ota_sb_init(&sb, c->reason, sizeof c->reason);
    code = ota_tb_decide(p, len, s->title, s->version, &offer, &sb);
    c->flags |= F_OFFER; /* the first answer decides */
    if (again) {
        c->reason[0] = '\0'; /* (the offer read again is only compared) */
        if (code != OTA_CODE_NONE || strcmp(offer.title, c->offer.title) != 0 ||
            strcmp(offer.version, c->offer.version) != 0 || offer.size != c->offer.size ||
            offer.algo != c->offer.algo ||
            memcmp(offer.checksum, c->offer.checksum, sizeof offer.checksum) != 0) {
            jnl_drop(c); /* the slot holds a build the server no longer offers */
            fail0(c, E_CHANGED);
        }
        return;
    }
    memcpy(&c->offer, &offer, sizeof offer);
    if (code != OTA_CODE_NONE) {
        /* An answer that is not even JSON was damaged on the way, most
         * likely: worth another try. */
        pend_fail(c, code, ota_json_parse((const char *)p, len, &root) != OTA_OK);
    }
}

static void on_message(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t len)
{
    ota_client_t *c = (ota_client_t *)arg;
    uint32_t a = 0;
    uint32_t b = 0;

    if (c->state == OTA_STATE_DOWNLOADING &&
        ota_tb_parse_chunk_topic(topic, tlen, &a, &b) == OTA_OK) {
        on_chunk(c, a, b, p, len);
    } else if ((c->flags & F_OFFER) == 0u && ota_tb_parse_attr_topic(topic, tlen, &a) == OTA_OK &&
               a == c->attr_id) {
        if (c->state == OTA_STATE_NEGOTIATING || c->state == OTA_STATE_STAGING) {
            on_attributes(c, p, len);
        }
    } else if ((c->state == OTA_STATE_NEGOTIATING || c->state == OTA_STATE_DOWNLOADING) &&
               ota_tb_is_error_topic(topic, tlen)) {
        on_server_error(c, p, len);
    }
}

/* ------------------------------------------------------------------------ */
/* CONNECTING                                                               */
/* ------------------------------------------------------------------------ */

/* Nothing of the slot is known to hold the image: download from chunk 0
 * (answers to requests made so far will be strays). */
static void progress_reset(ota_client_t *c)
{
    c->next_k = 0;
    c->done_bytes = 0;
    c->resumed = 0;
    c->erased_to = 0;
    memset(c->u.req, 0, sizeof c->u.req);
}

static void begin_attempt(ota_client_t *c)
{
    c->attempt++;
    c->flags = 0;
    c->offer.title[0] = '\0';
    c->offer.version[0] = '\0';
    c->reason[0] = '\0';
    c->geom.image_size = 0;
    progress_reset(c);
    enter(c, OTA_STATE_CONNECTING, PH_PROBE);
}

static void step_connecting(ota_client_t *c)
{
    const ota_config_t *cfg = c->cfg;
    const ota_settings_t *s = cfg->settings;
    const ota_transport_t *t = &cfg->transport;
    ota_link_state_t ls;
    ota_sb_t sb;
    int rc = 0;

    if (c->phase == PH_PROBE) {
        rc = cfg->flash.probe(cfg->flash.ctx);
        if (rc != 0) {
            fail(c, E_NO_FLASH, (uint32_t)rc, 0u);
            return;
        }
        ota_mqtt_conn_t conn = {s->host,     s->port,     s->client_id,
                                s->username, s->password, cfg->keepalive_s};
        rc = t->connect(t->ctx, &conn, on_message, c);
        if (rc != 0) {
            fail(c, E_CONNECT, (uint32_t)rc, 0u);
            return;
        }
        log_line(c, L_CONNECTING, s->host);
        c->deadline = c->now + cfg->connect_timeout_ms;
        c->phase = PH_LINK;
        return;
    }
    ls = t->state(t->ctx);
    if (ls == OTA_LINK_UP) {
        /* The server answers without subscriptions, but a broker does not. */
        for (unsigned i = 0; i < 3u; i++) {
            rc |= t->subscribe(t->ctx, nth(SUBSCRIPTIONS, i), 1u);
        }
        ota_sb_init(&sb, (char *)c->buf, sizeof c->buf);
        ota_tb_current_fw(&sb, s->title, s->version);
        rc |= publish(c, OTA_TB_TOPIC_TELEMETRY, sb.buf, sb.len);
        if (c->boot_report != 0u) {
            /* How the last update ended, reported once after the reboot. */
            send_fw_state(c, FW_UPDATED, c->boot_error);
            c->boot_report = 0;
        }
        if (rc != 0) {
            fail0(c, E_PUBLISH);
            return;
        }
        enter(c, OTA_STATE_NEGOTIATING, 0); /* asks at once */
        c->attr_tries = 0;
    } else if (ls != OTA_LINK_CONNECTING) {
        fail0(c, E_REFUSED);
    } else if (due(c->now, c->deadline)) {
        fail0(c, E_NO_LINK);
    }
}

/* ------------------------------------------------------------------------ */
/* NEGOTIATING (and the offer read again in STAGING)                        */
/* ------------------------------------------------------------------------ */

static void ask_attributes(ota_client_t *c)
{
    char topic[64];
    ota_sb_t sb;
    int rc;

    c->attr_id = next_rid(c);
    ota_sb_init(&sb, topic, sizeof topic);
    ota_sb_fmt(&sb, OTA_TB_TOPIC_ATTR_REQ "%u", NULL, c->attr_id, 0u);
    rc = publish(c, topic, OTA_TB_ATTR_KEYS, sizeof(OTA_TB_ATTR_KEYS) - 1u);
    if (rc != 0) {
        fail0(c, E_PUBLISH);
        return;
    }
    c->attr_tries++;
    c->deadline = c->now + c->cfg->answer_timeout_ms;
    log_line(c, L_ASKED, NULL);
}

/* NEGOTIATING and STAGING (the offer read again): true once the attribute
 * answer is there; until then, ask again when it is overdue, up to
 * chunk_retries times. */
static bool answered(ota_client_t *c)
{
    if ((c->flags & F_OFFER) != 0u) {
        c->flags &= (uint8_t)~F_OFFER;
        return true;
    }
    if (link_lost(c) || !due(c->now, c->deadline)) {
        return false;
    }
    if (c->attr_tries > c->cfg->chunk_retries) {
        fail_s(c, E_NO_ANSWER, c->state == OTA_STATE_STAGING ? " before staging" : "",
               c->attr_tries, 0u);
    } else {
        ask_attributes(c);
    }
    return false;
}

static void start_download(ota_client_t *c)
{
    const ota_config_t *cfg = c->cfg;

    c->reason[0] = '\0';
    if (ota_pkg_geometry(cfg->format, c->offer.size, cfg->raw_chunk_size, &c->geom) != OTA_OK) {
        fail(c, E_SIZE, c->offer.size, 0u);
        return;
    }
    if (c->geom.image_size > cfg->slot_size) {
        fail(c, E_FIT, c->geom.image_size, cfg->slot_size);
        return;
    }
    /* The chunks are first asked under the rid of this attempt's attribute
     * request (c->rid): a new one in every attempt. */
    enter(c, OTA_STATE_DOWNLOADING, PH_DL_META);
    log_line(c, L_DOWNLOADING, c->offer.version);
    send_fw_state(c, FW_DOWNLOADING, NULL);
}

static void step_negotiating(ota_client_t *c)
{
    const char *refused = c->cfg->refused_version;

    if (!answered(c)) {
        return;
    }
    if (refused != NULL && strcmp(c->offer.version, refused) == 0) {
        /* (an offer never has an empty version) */
        fail0(c, E_ROLLED_BACK);
    } else {
        start_download(c);
    }
}

/* ------------------------------------------------------------------------ */
/* DOWNLOADING                                                              */
/* ------------------------------------------------------------------------ */

/* The old boot request must be gone before the slot changes. */
static void clear_meta(ota_client_t *c)
{
    uint32_t meta = c->cfg->meta_addr;
    if (!fl(c, OP_READ, meta, c->buf, OTA_BOOTREQ_SIZE)) {
        return;
    }
    for (unsigned i = 0; i < OTA_BOOTREQ_SIZE; i++) {
        if (c->buf[i] != 0xFFu) {
            if (!fl(c, OP_ERASE, meta, NULL, 0u)) {
                return;
            }
            break;
        }
    }
    c->phase = PH_DL_JOURNAL;
}

/* Image bytes in the data of each chunk but the last. */
static uint32_t chunk_per(const ota_client_t *c)
{
    return (c->geom.format == OTA_PKG_DRAGINO) ? OTA_DRAGINO_DATA : c->geom.chunk_size;
}

/* Image bytes that chunk k's data ends at (the image size from the last
 * chunk on). */
static uint32_t chunk_data_end(const ota_client_t *c, uint32_t k)
{
    return (k + 1u >= c->geom.chunks) ? c->geom.image_size : (k + 1u) * chunk_per(c);
}

/* Keep the erased part of the slot one window ahead of the requests, one
 * sector per poll so that each poll stays short. Returns true if it erased
 * (or failed to). Only the sectors the image needs are ever erased. */
static bool erase_ahead(ota_client_t *c)
{
    uint32_t sector = c->cfg->flash.sector_size;
    uint32_t n = c->erased_to / sector;
    /* The erase map's byte once sector n is erased: sectors are erased in
     * order, so its bits 0..n%8 are the ones cleared. */
    uint8_t map = (uint8_t)(0xFEu << (n % 8u));

    if (c->erased_to >= chunk_data_end(c, c->next_k + c->cfg->window)) {
        return false;
    }
    if (fl(c, OP_ERASE, c->cfg->slot_addr + c->erased_to, NULL, 0u) &&
        ((c->flags & F_JNL) == 0u || fl(c, OP_WRITE, c->jnl_emap + n / 8u, &map, 1u))) {
        c->erased_to += sector;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The download journal: resume after a reset                               */
/* ------------------------------------------------------------------------ */

/* Resume the journal of this very offer, or start a new one. */
static void step_journal(ota_client_t *c)
{
    uint32_t sector = c->cfg->flash.sector_size;
    uint32_t addr = c->jnl_emap - OTA_JNL_HDR;
    uint32_t end = addr + sector;
    bool fits = c->jnl_cmap < end && c->geom.chunks <= end - c->jnl_cmap;
    uint8_t *have = c->buf + OTA_JNL_HDR;

    ota_jnl_header(c, c->buf);
    if (!fl(c, OP_READ, addr, have, OTA_JNL_HDR)) {
        return;
    }
    if (fits && memcmp(c->buf, have, OTA_JNL_HDR) == 0) {
        /* The erase map: sectors erased in order from the start of the slot. */
        uint32_t n = 0;
        for (; c->erased_to < c->geom.image_size; n++) {
            if (!fl(c, OP_READ, c->jnl_emap + n / 8u, have, 1u)) {
                return;
            }
            if ((have[0] & (1u << (n % 8u))) != 0u) {
                break;
            }
            c->erased_to += sector;
        }
        c->flags |= (uint8_t)(F_JNL | F_RESUMED);
        c->phase = PH_DL_RUN;
        return;
    }
    if (!fl(c, OP_ERASE, addr, NULL, 0u) ||
        (fits && !fl(c, OP_WRITE, addr, c->buf, OTA_JNL_HDR))) {
        return;
    }
    if (fits) {
        c->flags |= F_JNL;
    } else {
        log_line(c, L_NO_RESUME, NULL);
    }
    c->phase = PH_DL_RUN;
}

/* Resuming: skip the chunks the journal records, each checked against
 * what the slot holds, OTA_CFG_VERIFY_STEP bytes per poll (c->resumed was
 * `from` at its start). False when that is spent or it failed, or the slot
 * does not hold what the journal says (then the download starts over). */
static bool skip_done(ota_client_t *c, uint32_t from)
{
    while ((c->flags & F_RESUMED) != 0u && c->next_k < c->geom.chunks) {
        uint32_t k = c->next_k;
        uint32_t start = k * chunk_per(c);
        uint32_t n = chunk_data_end(c, k) - start;
        uint8_t tag;
        if (c->resumed - from >= OTA_CFG_VERIFY_STEP ||
            !fl(c, OP_READ, c->jnl_cmap + k, &tag, 1u)) {
            return false;
        }
        if (tag == OTA_JNL_NONE) {
            break;
        }
        if (!fl(c, OP_READ, c->cfg->slot_addr + start, c->buf, n)) {
            return false;
        }
        if (OTA_JNL_TAG(ota_crc32(0, c->buf, n)) != tag) {
            log_line(c, L_DISAGREE, NULL);
            jnl_drop(c);
            progress_reset(c);
            c->phase = PH_DL_JOURNAL;
            return false;
        }
        c->next_k++;
        c->done_bytes += n;
        c->resumed += n;
    }
    return true;
}

static void send_request(ota_client_t *c, ota_req_slot_t *s)
{
    char topic[48];
    char size[12];
    ota_sb_t tb;
    ota_sb_t sb;
    int rc;

    if (s->tries > c->cfg->chunk_retries) {
        fail(c, s->bad != 0u ? E_CHUNK_BAD : E_CHUNK_LOST, s->k, s->bad != 0u ? s->bad : s->tries);
        return;
    }
    /* A new rid for every request after the first: a stall or a bad answer
     * may come from a stale server-side binding of the old one. */
    if (s->tries > 0u) {
        s->rid = next_rid(c);
    }
    ota_sb_init(&tb, topic, sizeof topic);
    ota_tb_chunk_request_topic(&tb, s->rid, s->k);
    ota_sb_init(&sb, size, sizeof size);
    ota_sb_u32(&sb, c->geom.chunk_size);
    rc = publish(c, topic, size, sb.len);
    if (rc != 0) {
        fail(c, E_CHUNK_REQ, s->k, (uint32_t)rc);
        return;
    }
    s->tries++;
    s->sent_at = c->now;
    s->state = SLOT_WAIT;
}

/* Erase, request and time out; when all there is to do is wait for
 * answers, the deadline is the first request's timeout. */
static void step_downloading(ota_client_t *c)
{
    const ota_config_t *cfg = c->cfg;
    uint32_t at = c->now + cfg->answer_timeout_ms;
    uint32_t from = c->resumed;
    bool busy;

    c->deadline = c->now;
    if (link_lost(c)) {
        return;
    }
    switch (c->phase) {
    case PH_DL_META: clear_meta(c); return;
    case PH_DL_JOURNAL: step_journal(c); return;
    default: break;
    }
    if (c->done_bytes == c->geom.image_size) { /* every chunk is in */
        send_fw_state(c, FW_DOWNLOADED, NULL);
        c->verify_pos = 0;
        c->image_crc = 0;
        c->pkg_crc = 0;
#if OTA_CFG_SHA256
        ota_sha256_init(&c->u.sha);
#endif
        enter(c, OTA_STATE_VERIFYING, 0);
        return;
    }
    busy = erase_ahead(c);
    if (busy && c->erased_to < chunk_data_end(c, c->next_k + cfg->window - 1u)) {
        return; /* the first window is not erased yet: keep erasing */
    }
    for (unsigned i = 0; i < cfg->window && (c->flags & F_FAIL) == 0u; i++) {
        ota_req_slot_t *s = &c->u.req[i];
        if (s->state == SLOT_WAIT && due(c->now, s->sent_at + cfg->answer_timeout_ms)) {
            log_line(c, L_TIMED_OUT, NULL);
            s->state = SLOT_SEND;
        }
        if (s->state == SLOT_FREE && !skip_done(c, from)) {
            return;
        }
        if (s->state == SLOT_FREE && c->next_k < c->geom.chunks &&
            c->erased_to >= chunk_data_end(c, c->next_k)) {
            s->k = c->next_k++;
            s->tries = 0;
            s->bad = 0;
            s->rid = c->rid;
            s->state = SLOT_SEND;
        }
        if (s->state == SLOT_SEND) {
            send_request(c, s);
        }
        if (s->state == SLOT_FREE && c->next_k < c->geom.chunks) {
            busy = true; /* (skipped chunks moved it past the erased part) */
        } else if (s->state == SLOT_WAIT &&
                   (int32_t)(s->sent_at + cfg->answer_timeout_ms - at) < 0) {
            at = s->sent_at + cfg->answer_timeout_ms;
        }
    }
    if (!busy) {
        c->deadline = at;
    }
}

/* ------------------------------------------------------------------------ */
/* VERIFYING and STAGING                                                    */
/* ------------------------------------------------------------------------ */

static void hash_pkg(ota_client_t *c, const uint8_t *p, size_t n)
{
    if (c->offer.algo == OTA_ALGO_CRC32) {
        c->pkg_crc = ota_crc32(c->pkg_crc, p, n);
    }
#if OTA_CFG_SHA256
    else {
        ota_sha256_update(&c->u.sha, p, n);
    }
#endif
}

/* Compare the finished package digest with fw_checksum. */
static bool digest_matches(ota_client_t *c)
{
    uint8_t d[32];
    size_t n = 4u;
    d[0] = (uint8_t)c->pkg_crc;
    d[1] = (uint8_t)(c->pkg_crc >> 8);
    d[2] = (uint8_t)(c->pkg_crc >> 16);
    d[3] = (uint8_t)(c->pkg_crc >> 24);
#if OTA_CFG_SHA256
    if (c->offer.algo == OTA_ALGO_SHA256) {
        ota_sha256_final(&c->u.sha, d);
        n = 32u;
    }
#endif
    return memcmp(d, c->offer.checksum, n) == 0;
}

/* Re-read the slot, rebuild the package stream (record CRCs for Dragino),
 * and hash it; also the raw image CRC for the bootloader. */
static void step_verifying(ota_client_t *c)
{
    uint32_t from = c->verify_pos;

    while (c->verify_pos < c->geom.image_size && c->verify_pos - from < OTA_CFG_VERIFY_STEP) {
        uint32_t n = c->geom.image_size - c->verify_pos;
        n = (n > OTA_DRAGINO_DATA) ? OTA_DRAGINO_DATA : n;
        if (!fl(c, OP_READ, c->cfg->slot_addr + c->verify_pos, c->buf, n)) {
            return;
        }
        c->image_crc = ota_crc32(c->image_crc, c->buf, n);
        hash_pkg(c, c->buf, n);
        if (c->geom.format == OTA_PKG_DRAGINO) {
            uint32_t rec = ota_crc32(0, c->buf, n);
            uint8_t le[4] = {(uint8_t)rec, (uint8_t)(rec >> 8), (uint8_t)(rec >> 16),
                             (uint8_t)(rec >> 24)};
            hash_pkg(c, le, sizeof le);
        }
        c->verify_pos += n;
    }
    if (c->verify_pos < c->geom.image_size) {
        return;
    }
    if (!digest_matches(c)) {
        jnl_drop(c); /* the next attempt must not trust this slot */
        fail0(c, E_IMAGE);
        return;
    }
    log_line(c, L_VERIFIED, c->offer.version);
    send_fw_state(c, FW_VERIFIED, NULL);
    /* Read the offer again before staging (on_attributes()). */
    enter(c, OTA_STATE_STAGING, 0);
    c->attr_tries = 0;
    ask_attributes(c);
}

/* Stage once the offer read again is the one downloaded: write the boot
 * request and read it back. */
static void step_staging(ota_client_t *c)
{
    uint32_t meta = c->cfg->meta_addr;
    ota_bootreq_t req;
    uint8_t rec[OTA_BOOTREQ_SIZE];

    if (!answered(c)) {
        return;
    }
    req.image_addr = c->cfg->slot_addr;
    req.image_size = c->geom.image_size;
    req.image_crc = c->image_crc;
    /* A title or version too long for the record is left without a NUL
     * there, and the encoder refuses it. */
    strncpy(req.title, c->offer.title, sizeof req.title);
    strncpy(req.version, c->offer.version, sizeof req.version);
    if (ota_bootreq_encode(&req, rec) != OTA_OK) {
        fail0(c, E_BOOTREQ);
        return;
    }
    if (!write_checked(c, meta, rec, sizeof rec)) {
        /* Withdraw what we cannot confirm (best effort: the image it would
         * point at is verified, so a record that survives is still safe). */
        (void)c->cfg->flash.erase(c->cfg->flash.ctx, meta);
        return;
    }
    pend_fail(c, OTA_CODE_SUCCESS, false); /* ends the attempt */
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

void ota_config_defaults(ota_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->format = OTA_PKG_DRAGINO;
    cfg->raw_chunk_size = 1024u;
    cfg->window = 1u;
    cfg->chunk_retries = 3u;
    cfg->attempt_retries = 3u;
    cfg->keepalive_s = 120u;
    cfg->connect_timeout_ms = 60000u;
    cfg->answer_timeout_ms = 20000u;
    cfg->backoff_ms = 10000u;
}

static bool ports_ok(const ota_config_t *cfg)
{
    const ota_transport_t *t = &cfg->transport;
    const ota_flash_t *f = &cfg->flash;
    return t->connect != NULL && t->state != NULL && t->subscribe != NULL &&
           t->publish != NULL && t->disconnect != NULL && t->poll != NULL &&
           f->probe != NULL && f->read != NULL && f->write != NULL && f->erase != NULL &&
           cfg->clock.now_ms != NULL && cfg->settings != NULL && cfg->imei != NULL;
}

/* Whole sectors inside the chip. */
static bool in_flash(const ota_flash_t *f, uint32_t addr, uint32_t len)
{
    return len != 0u && addr <= f->size && len <= f->size - addr &&
           ((addr | len) & (f->sector_size - 1u)) == 0u;
}

static bool layout_ok(const ota_config_t *cfg)
{
    const ota_flash_t *f = &cfg->flash;
    uint32_t meta_len = 2u * f->sector_size; /* 0 for a sector of 2^31: refused below */
    if (f->sector_size < OTA_BOOTREQ_SIZE || (f->sector_size & (f->sector_size - 1u)) != 0u ||
        f->page_size == 0u || !in_flash(f, cfg->meta_addr, meta_len) ||
        !in_flash(f, cfg->slot_addr, cfg->slot_size)) {
        return false;
    }
    /* No overlap between [meta, meta+len) and [slot, slot+size). */
    return cfg->meta_addr >= cfg->slot_addr + cfg->slot_size ||
           cfg->slot_addr >= cfg->meta_addr + meta_len;
}

/* (timeouts and delays as int32_t: at most 0x7FFFFFFF, as due() needs) */
static bool tuning_ok(const ota_config_t *cfg)
{
    return (unsigned)cfg->window - 1u < OTA_CFG_MAX_WINDOW && cfg->chunk_retries <= 100u &&
           cfg->attempt_retries <= 100u && (int32_t)cfg->answer_timeout_ms > 0 &&
           (int32_t)cfg->connect_timeout_ms > 0 && cfg->backoff_ms <= 0x00FFFFFFu &&
           (int32_t)cfg->reboot_delay_ms >= 0 &&
           (cfg->format == OTA_PKG_DRAGINO ? OTA_CFG_CHUNK_BUF_SIZE >= OTA_DRAGINO_RECORD
                                           : cfg->format == OTA_PKG_RAW &&
                                                 cfg->raw_chunk_size - 1u < OTA_CFG_CHUNK_BUF_SIZE);
}

ota_status_t ota_client_init(ota_client_t *c, const ota_config_t *cfg)
{
    if (c == NULL || cfg == NULL || !tuning_ok(cfg) || !layout_ok(cfg) || !ports_ok(cfg)) {
        return OTA_ERR_PARAM;
    }
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->now = cfg->clock.now_ms(cfg->clock.ctx);
    /* Request ids only need to differ within one connection; starting from
     * the clock also keeps them apart across restarts. */
    c->rid = (c->now & 0xFFFFu) + 1u;
    c->jnl_emap = ota_jnl_emap(cfg);
    c->jnl_cmap = ota_jnl_cmap(cfg, c->jnl_emap); /* (and the state is IDLE) */
    return OTA_OK;
}

ota_status_t ota_client_start(ota_client_t *c)
{
    if (c == NULL || c->cfg == NULL) {
        return OTA_ERR_PARAM;
    }
    if (c->state != OTA_STATE_IDLE && c->state != OTA_STATE_DONE) {
        return OTA_ERR_STATE;
    }
    c->attempt = 0;
    c->code = OTA_CODE_NONE;
    /* The first attempt begins like one after a back-off that is over. */
    c->state = OTA_STATE_BACKOFF;
    c->deadline = c->cfg->clock.now_ms(c->cfg->clock.ctx);
    (void)ota_client_poll(c, c->deadline);
    log_line(c, L_STARTED, c->cfg->settings->title);
    return OTA_OK;
}

ota_status_t ota_client_abort(ota_client_t *c)
{
    if (c == NULL || c->cfg == NULL) {
        return OTA_ERR_PARAM;
    }
    if (c->state == OTA_STATE_IDLE || c->state == OTA_STATE_DONE) {
        return OTA_OK;
    }
    fail0(c, E_ABORTED);
    link_close(c);
    c->code = OTA_CODE_TIMEOUT;
    c->flags = 0;
    enter(c, OTA_STATE_IDLE, 0);
    return OTA_OK;
}

ota_status_t ota_client_poll(ota_client_t *c, uint32_t now_ms)
{
    const ota_transport_t *t;
    if (c == NULL || c->cfg == NULL) {
        return OTA_ERR_PARAM;
    }
    t = &c->cfg->transport;
    c->now = now_ms;
    switch (c->state) {
    case OTA_STATE_IDLE:
        return OTA_OK;
    case OTA_STATE_DONE:
        if ((c->flags & F_REBOOT) != 0u && due(now_ms, c->deadline)) {
            c->flags = 0;
            c->cfg->reboot.reboot(c->cfg->reboot.ctx);
        }
        return OTA_OK;
    case OTA_STATE_BACKOFF:
        if (due(now_ms, c->deadline)) {
            begin_attempt(c);
        }
        return OTA_OK;
    default:
        break;
    }
    if (c->state != OTA_STATE_CONNECTING || c->phase != PH_PROBE) {
        (void)t->poll(t->ctx, now_ms); /* a failure shows in state() */
    }
    if ((c->flags & F_FAIL) == 0u) {
        switch (c->state) {
        case OTA_STATE_CONNECTING: step_connecting(c); break;
        case OTA_STATE_NEGOTIATING: step_negotiating(c); break;
        case OTA_STATE_DOWNLOADING: step_downloading(c); break;
        case OTA_STATE_VERIFYING: step_verifying(c); break;
        case OTA_STATE_STAGING: step_staging(c); break;
        default: break;
        }
    }
    if ((c->flags & F_FAIL) != 0u) {
        end_attempt(c);
    }
    return OTA_OK;
}

bool ota_client_next_deadline(const ota_client_t *c, uint32_t *at)
{
    if (c == NULL || at == NULL || c->cfg == NULL || c->state == OTA_STATE_IDLE) {
        return false;
    }
    *at = ((c->flags & (F_FAIL | F_OFFER)) != 0u) ? c->now : c->deadline;
    return c->state != OTA_STATE_DONE || (c->flags & F_REBOOT) != 0u;
}

ota_status_t ota_client_info(const ota_client_t *c, ota_client_info_t *info)
{
    if (c == NULL || info == NULL) {
        return OTA_ERR_PARAM;
    }
    info->state = c->state;
    info->attempt = c->attempt;
    info->done = (c->state == OTA_STATE_VERIFYING) ? c->verify_pos : c->done_bytes;
    info->total = c->geom.image_size;
    info->resumed = c->resumed;
    info->code = c->code;
    info->reason = c->reason;
    info->fw_title = c->offer.title;
    info->fw_version = c->offer.version;
    return OTA_OK;
}

ota_status_t ota_client_report_boot(ota_client_t *c, const char *error)
{
    if (c == NULL) {
        return OTA_ERR_PARAM;
    }
    c->boot_report = 1u;
    c->boot_error = error;
    return OTA_OK;
}

const char *ota_state_str(ota_state_t st)
{
    unsigned i = (unsigned)st;
    return (i <= (unsigned)OTA_STATE_DONE)
               ? nth("IDLE\0CONNECTING\0NEGOTIATING\0DOWNLOADING\0VERIFYING\0STAGING\0BACKOFF"
                     "\0DONE",
                     i)
               : "?";
}
