/*
 * A fault-injecting transport wrapper: drops, duplicates, reorders, delays,
 * truncates and corrupts incoming answers, and cuts the link on request.
 * See cellota_posix/cellota_faulty.h.
 */
#include "cellota_posix/cellota_faulty.h"

#include <string.h>

#define KIND_FREE 0u
#define KIND_DELAYED 1u
#define KIND_REORDERED 2u

/* Raw error of publish/subscribe while the wrapper holds the link cut
 * (same value as CELLOTA_POSIX_ESTATE). */
#define FAULTY_ESTATE (-18)

/* ------------------------------------------------------------------------ */
/* PRNG: splitmix64 to spread the seed, xorshift64* for the sequence        */
/* ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

static uint32_t rnd(cellota_faulty_t *f)
{
    uint64_t x = f->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    f->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Du) >> 32);
}

/* true with a chance of pct percent (no draw at all for 0). */
static bool roll(cellota_faulty_t *f, uint8_t pct)
{
    return pct != 0u && rnd(f) % 100u < pct;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static bool has_prefix(const char *t, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(t, prefix, p) == 0;
}

static bool is_chunk(const char *t, size_t n)
{
    return has_prefix(t, n, "v2/fw/response/");
}

static bool targeted(const cellota_faulty_t *f, const char *t, size_t n)
{
    unsigned m = f->cfg.targets;
    return ((m & CELLOTA_FAULTY_CHUNKS) != 0u && is_chunk(t, n)) ||
           ((m & CELLOTA_FAULTY_ATTRS) != 0u && has_prefix(t, n, "v1/devices/me/attributes")) ||
           ((m & CELLOTA_FAULTY_ERRORS) != 0u && n == 11u && memcmp(t, "v2/fw/error", 11u) == 0);
}

static void clear_held(cellota_faulty_t *f)
{
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        f->held[i].kind = KIND_FREE;
    }
}

static void hand_over(cellota_faulty_t *f, const char *t, size_t tn, const uint8_t *p, size_t n)
{
    f->stats.delivered++;
    f->on_msg(f->arg, t, tn, (n != 0u) ? p : NULL, n);
}

/* The reordered message that arrived first among those older than seq. */
static cellota_faulty_msg_t *oldest_reordered(cellota_faulty_t *f, uint32_t seq)
{
    cellota_faulty_msg_t *best = NULL;
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        cellota_faulty_msg_t *m = &f->held[i];
        if (m->kind == KIND_REORDERED && (int32_t)(m->seq - seq) < 0 &&
            (best == NULL || (int32_t)(m->seq - best->seq) < 0)) {
            best = m;
        }
    }
    return best;
}

/* Deliver one message, then the reordered ones it overtook. */
static void deliver(cellota_faulty_t *f, const char *t, size_t tn, const uint8_t *p, size_t n,
                    uint32_t seq)
{
    cellota_faulty_msg_t *m;
    hand_over(f, t, tn, p, n);
    while (!f->cut && (m = oldest_reordered(f, seq)) != NULL) {
        hand_over(f, m->topic, m->topic_len, m->payload, m->len);
        m->kind = KIND_FREE;
    }
}

/* Copy a message into the hold queue; false if it cannot be held. */
static bool hold(cellota_faulty_t *f, uint8_t kind, uint32_t due, const char *t, size_t tn,
                 const uint8_t *p, size_t n, uint32_t seq)
{
    if (tn > CELLOTA_FAULTY_TOPIC_MAX || n > CELLOTA_FAULTY_PAYLOAD_MAX) {
        return false;
    }
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        cellota_faulty_msg_t *m = &f->held[i];
        if (m->kind == KIND_FREE) {
            memcpy(m->topic, t, tn);
            m->topic[tn] = '\0';
            m->topic_len = tn;
            if (n != 0u) {
                memcpy(m->payload, p, n);
            }
            m->len = n;
            m->due = due;
            m->seq = seq;
            m->kind = kind;
            return true;
        }
    }
    return false;
}

/* The earliest-arrived held message that is due at f->now, or NULL. */
static cellota_faulty_msg_t *next_due_msg(cellota_faulty_t *f)
{
    cellota_faulty_msg_t *best = NULL;
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        cellota_faulty_msg_t *m = &f->held[i];
        if (m->kind != KIND_FREE && (int32_t)(f->now - m->due) >= 0 &&
            (best == NULL || (int32_t)(m->seq - best->seq) < 0)) {
            best = m;
        }
    }
    return best;
}

/* Deliver the held messages whose time has come (from inside poll). */
static void release_due(cellota_faulty_t *f)
{
    cellota_faulty_msg_t *m;
    while (!f->cut && (m = next_due_msg(f)) != NULL) {
        /* Still marked while delivered: deliver() only releases reordered
         * messages older than this one, and the client never calls back
         * into the transport from its callback. */
        deliver(f, m->topic, m->topic_len, m->payload, m->len, m->seq);
        m->kind = KIND_FREE;
    }
}

/* ------------------------------------------------------------------------ */
/* Incoming messages                                                        */
/* ------------------------------------------------------------------------ */

/* The chunk answer that cuts the link: true if this one did. */
static bool link_cut_now(cellota_faulty_t *f)
{
    f->chunk_answers++;
    if (!f->cut_armed || f->chunk_answers < f->cfg.drop_link_after) {
        return false;
    }
    f->cut_armed = false;
    f->cut = true;
    f->cut_closed = false;
    f->gone = f->cfg.link_gone_for_good;
    f->stats.link_cuts++;
    clear_held(f);
    return true;
}

/* Truncate and corrupt (into scratch when the bytes change). */
static const uint8_t *damage(cellota_faulty_t *f, const uint8_t *p, size_t *n)
{
    size_t len = *n;
    if (len != 0u && roll(f, f->cfg.truncate_pct)) {
        len = rnd(f) % len;
        f->stats.truncated++;
    }
    *n = len;
    if (len == 0u || len > CELLOTA_FAULTY_PAYLOAD_MAX || !roll(f, f->cfg.corrupt_pct)) {
        return p;
    }
    memcpy(f->scratch, p, len);
    f->scratch[rnd(f) % len] ^= (uint8_t)(1u + rnd(f) % 255u);
    f->stats.corrupted++;
    return f->scratch;
}

static void on_inner_msg(void *arg, const char *t, size_t tn, const uint8_t *p, size_t n)
{
    cellota_faulty_t *f = (cellota_faulty_t *)arg;
    uint32_t seq = f->seq++;
    const uint8_t *data;
    size_t len = n;

    if (f->cut || f->on_msg == NULL) {
        f->stats.lost_in_cut++;
        return;
    }
    if (t == NULL || !targeted(f, t, tn)) {
        deliver(f, t, tn, p, n, seq);
        return;
    }
    f->stats.seen++;
    if (is_chunk(t, tn) && link_cut_now(f)) {
        return;
    }
    if (roll(f, f->cfg.loss_pct)) {
        f->stats.dropped++;
        return;
    }
    data = damage(f, p, &len);
    if (roll(f, f->cfg.dup_pct)) {
        f->stats.duplicated++;
        hand_over(f, t, tn, data, len); /* the copy goes first; the original follows its fate */
    }
    if (roll(f, f->cfg.reorder_pct)) {
        if (hold(f, KIND_REORDERED, f->now + f->cfg.hold_max_ms, t, tn, data, len, seq)) {
            f->stats.reordered++;
            return;
        }
        f->stats.overflow++;
    } else if (f->cfg.delay_ms != 0u && roll(f, f->cfg.delay_pct)) {
        if (hold(f, KIND_DELAYED, f->now + f->cfg.delay_ms, t, tn, data, len, seq)) {
            f->stats.delayed++;
            return;
        }
        f->stats.overflow++;
    }
    deliver(f, t, tn, data, len, seq);
}

/* ------------------------------------------------------------------------ */
/* The transport functions                                                  */
/* ------------------------------------------------------------------------ */

static int fy_connect(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t on_msg, void *arg)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    clear_held(f);
    f->on_msg = on_msg;
    f->arg = arg;
    f->cut = false;
    f->cut_closed = false;
    if (f->gone) {
        return 0; /* no network: the attempt never completes */
    }
    return f->inner.connect(f->inner.ctx, conn, on_inner_msg, f);
}

static ota_link_state_t fy_state(void *ctx)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    if (f->cut) {
        return OTA_LINK_FAILED;
    }
    if (f->gone) {
        return (f->on_msg != NULL) ? OTA_LINK_CONNECTING : OTA_LINK_DOWN;
    }
    return f->inner.state(f->inner.ctx);
}

static int fy_subscribe(void *ctx, const char *filter, uint8_t qos)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    if (f->cut || f->gone) {
        return FAULTY_ESTATE;
    }
    return f->inner.subscribe(f->inner.ctx, filter, qos);
}

static int fy_publish(void *ctx, const char *topic, const uint8_t *payload, size_t len, uint8_t qos)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    if (f->cut || f->gone) {
        return FAULTY_ESTATE;
    }
    return f->inner.publish(f->inner.ctx, topic, payload, len, qos);
}

static void fy_disconnect(void *ctx)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    clear_held(f);
    f->cut = false;
    f->on_msg = NULL;
    f->arg = NULL;
    if (!f->cut_closed) {
        f->inner.disconnect(f->inner.ctx);
    }
    f->cut_closed = false;
}

static int fy_poll(void *ctx, uint32_t now_ms)
{
    cellota_faulty_t *f = (cellota_faulty_t *)ctx;
    int rc = 0;
    f->now = now_ms;
    if (f->gone && !f->cut) {
        return 0; /* connecting into the void */
    }
    if (!f->cut) {
        rc = f->inner.poll(f->inner.ctx, now_ms);
    }
    if (f->cut && !f->cut_closed) {
        /* Outside the inner callback now: really close the inner link, so
         * the other side sees the device go away. */
        f->cut_closed = true;
        f->inner.disconnect(f->inner.ctx);
    }
    release_due(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Public functions                                                         */
/* ------------------------------------------------------------------------ */

void cellota_faulty_defaults(cellota_faulty_cfg_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->hold_max_ms = 1000u;
    cfg->targets = CELLOTA_FAULTY_CHUNKS | CELLOTA_FAULTY_ATTRS;
    cfg->seed = 1u;
}

static bool pct_ok(const cellota_faulty_cfg_t *c)
{
    return c->loss_pct <= 100u && c->dup_pct <= 100u && c->reorder_pct <= 100u &&
           c->delay_pct <= 100u && c->truncate_pct <= 100u && c->corrupt_pct <= 100u;
}

int cellota_faulty_init(cellota_faulty_t *f, const ota_transport_t *inner,
                        const cellota_faulty_cfg_t *cfg)
{
    if (f == NULL || inner == NULL || cfg == NULL || inner->connect == NULL ||
        inner->state == NULL || inner->subscribe == NULL || inner->publish == NULL ||
        inner->disconnect == NULL || inner->poll == NULL || !pct_ok(cfg)) {
        return CELLOTA_FAULTY_EPARAM;
    }
    memset(f, 0, sizeof *f);
    f->inner = *inner;
    f->cfg = *cfg;
    f->rng = splitmix64(cfg->seed);
    if (f->rng == 0u) {
        f->rng = 0x9E3779B97F4A7C15u; /* xorshift must not start at 0 */
    }
    f->cut_armed = cfg->drop_link_after != 0u;
    return 0;
}

ota_transport_t cellota_faulty_port(cellota_faulty_t *f)
{
    ota_transport_t t;
    t.ctx = f;
    t.connect = fy_connect;
    t.state = fy_state;
    t.subscribe = fy_subscribe;
    t.publish = fy_publish;
    t.disconnect = fy_disconnect;
    t.poll = fy_poll;
    return t;
}

bool cellota_faulty_next_due(const cellota_faulty_t *f, uint32_t *at)
{
    bool any = false;
    if (f == NULL || at == NULL) {
        return false;
    }
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        const cellota_faulty_msg_t *m = &f->held[i];
        if (m->kind != KIND_FREE && (!any || (int32_t)(m->due - *at) < 0)) {
            *at = m->due;
            any = true;
        }
    }
    return any;
}

unsigned cellota_faulty_pending(const cellota_faulty_t *f)
{
    unsigned n = 0;
    if (f == NULL) {
        return 0u;
    }
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE; i++) {
        n += (f->held[i].kind != KIND_FREE) ? 1u : 0u;
    }
    return n;
}
