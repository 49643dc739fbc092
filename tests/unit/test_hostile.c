/*
 * A hostile network and a hostile server, against the real client.
 *
 * The client runs over the fault-injecting transport wrapper of the POSIX
 * port (cellota_faulty: loss, duplication, reordering, delay, truncation,
 * corruption, a cut link, a network gone for good) over the fake
 * ThingsBoard server, with a RAM NOR flash behind a recorder that checks
 * every write and erase. Invariants checked after every run:
 *   - a success leaves exactly the offered image in the slot and a boot
 *     request that describes it;
 *   - a failure leaves no boot request;
 *   - nothing outside [slot, slot + size) and the two metadata sectors is
 *     ever written or erased (the rest of the chip holds a pattern that
 *     must survive: the backup slot, the old firmware's data);
 *   - for Dragino packages, no byte that differs from the image is ever
 *     written into the slot (the record CRC stops every damaged chunk).
 *
 * The second half covers the malformed-server cases that test_client.c and
 * test_tb.c do not: deeply nested and truncated JSON, wrong types and
 * duplicate keys at the client level, every v2/fw/error kind, titles and
 * versions at and past the buffer sizes, and a server that changes the
 * package in the middle of a download.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_bootreq.h"
#include "cellota/ota_client.h"
#include "cellota/ota_crc32.h"
#include "cellota_posix/cellota_faulty.h"
#include "client_env.h"

#define FLASH_SIZE (256u * 1024u)
#define SECTOR CLIENT_ENV_SECTOR
#define META_ADDR CLIENT_ENV_META_ADDR
#define META_SIZE (2u * SECTOR)
#define SLOT_ADDR CLIENT_ENV_SLOT_ADDR
#define SLOT_SIZE (128u * 1024u)
#define MAX_IMAGE (64u * 1024u)
#define PATTERN(a) ((uint8_t)(((a) * 7u + 0x35u) ^ ((a) >> 9)))

/* ------------------------------------------------------------------------ */
/* Flash recorder: every write and erase checked on the way to the fake     */
/* ------------------------------------------------------------------------ */

typedef struct {
    fake_flash_t *ff;
    const uint8_t *image; /* slot writes must equal these bytes (NULL: not checked) */
    size_t image_len;
    uint32_t slot_writes;
    uint32_t bad_slot_writes;  /* slot writes with a byte that is not the image's */
    uint32_t outside_ops;      /* writes or erases outside the slot and the metadata */
    uint32_t last_bad_addr;
} rec_flash_t;

static bool in_area(uint32_t addr, size_t len, uint32_t start, uint32_t size)
{
    return addr >= start && len <= size && addr - start <= size - len;
}

static void note_outside(rec_flash_t *r, uint32_t addr, size_t len)
{
    if (!in_area(addr, len, SLOT_ADDR, SLOT_SIZE) && !in_area(addr, len, META_ADDR, META_SIZE)) {
        r->outside_ops++;
    }
}

static int rec_probe(void *ctx)
{
    return fake_flash_probe(((rec_flash_t *)ctx)->ff);
}

static int rec_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    return fake_flash_read(((rec_flash_t *)ctx)->ff, addr, buf, len);
}

static int rec_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    rec_flash_t *r = ctx;
    note_outside(r, addr, len);
    if (in_area(addr, len, SLOT_ADDR, SLOT_SIZE)) {
        uint32_t off = addr - SLOT_ADDR;
        r->slot_writes++;
        if (r->image != NULL &&
            (off + len > r->image_len || memcmp(buf, r->image + off, len) != 0)) {
            r->bad_slot_writes++;
            r->last_bad_addr = addr;
        }
    }
    return fake_flash_write(r->ff, addr, buf, len);
}

static int rec_erase(void *ctx, uint32_t addr)
{
    rec_flash_t *r = ctx;
    note_outside(r, addr, SECTOR);
    return fake_flash_erase(r->ff, addr);
}

/* ------------------------------------------------------------------------ */
/* The test environment                                                     */
/* ------------------------------------------------------------------------ */

typedef struct env env_t;
typedef void (*hook_fn)(env_t *e);

struct env {
    client_env_t c; /* the client, fake server, flash, clock, image, package (first: see
                     * client_env_teardown) */
    rec_flash_t rec;
    cellota_faulty_t faulty;
    cellota_faulty_cfg_t net;
    ota_transport_t inner;
    hook_fn hook;   /* called before every poll */
    int hook_state;
    /* a second build, for the server that changes its package */
    uint8_t image2[MAX_IMAGE];
    size_t image2_len;
    uint8_t pkg2[MAX_IMAGE + MAX_IMAGE / 256u + 8u];
    size_t pkg2_len;
};

static const client_env_profile_t profile = {
    .flash_size = FLASH_SIZE,
    .slot_size = SLOT_SIZE,
    .image_max = MAX_IMAGE,
    .start_ms = 1000u,
    .answer_timeout_ms = 5000u,
    .connect_timeout_ms = 10000u,
    .backoff_ms = 1000u,
    .max_polls = 3000000,
};

/* Fill everything outside the slot and the metadata with a pattern. */
static void fill_outside(env_t *e)
{
    for (uint32_t a = SLOT_ADDR + SLOT_SIZE; a < FLASH_SIZE; a++) {
        uint8_t b = PATTERN(a);
        fake_flash_poke(&e->c.ff, a, &b, 1u);
    }
}

static void before_poll(void *ctx)
{
    env_t *e = ctx;
    if (e->hook != NULL) {
        e->hook(e);
    }
}

static bool faulty_holds(void *ctx)
{
    return cellota_faulty_pending(&((env_t *)ctx)->faulty) != 0u;
}

/* The shared environment with the pattern outside the slot, the flash
 * recorder in between and a clean network (e->net) for the faulty wrapper
 * around the fake server (e->inner). */
static void env_setup(env_t *e, size_t image, ota_pkg_format_t fmt, uint8_t window)
{
    client_env_setup(&e->c, &profile, image, fmt, window);
    memset(&e->rec, 0, offsetof(env_t, image2) - offsetof(env_t, rec));
    fill_outside(e);
    e->rec.ff = &e->c.ff;
    e->rec.image = (fmt == OTA_PKG_DRAGINO) ? e->c.image : NULL;
    e->rec.image_len = image;
    cellota_faulty_defaults(&e->net);
    e->inner = e->c.cfg.transport;
    e->c.cfg.flash = (ota_flash_t){&e->rec, FLASH_SIZE, SECTOR, CLIENT_ENV_PAGE, rec_probe,
                                   rec_read, rec_write, rec_erase};
    e->c.before_poll = before_poll;
    e->c.holds = faulty_holds;
    e->c.hook_ctx = e;
}

static int setup(void **state)
{
    env_t *e = client_env_alloc(sizeof *e);
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    *state = e;
    return 0;
}

static bool idle_or_done(const env_t *e)
{
    return client_env_finished(&e->c);
}

/* Run one update to its end over the faulty wrapper (configured from
 * e->net). Time jumps to the next deadline, at most 100 ms at a time, when
 * nothing waits for delivery, and by 10 ms when only held messages are left. */
static ota_code_t run(env_t *e)
{
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    e->c.cfg.transport = cellota_faulty_port(&e->faulty);
    return client_env_run(&e->c);
}

static const char *reason(const env_t *e)
{
    return client_env_reason(&e->c);
}

/* ---- invariants -------------------------------------------------------- */

static void assert_outside_untouched(env_t *e)
{
    assert_int_equal(e->rec.outside_ops, 0);
    for (uint32_t a = SLOT_ADDR + SLOT_SIZE; a < FLASH_SIZE; a++) {
        if (e->c.ff.mem[a] != PATTERN(a)) {
            fail_msg("flash byte 0x%06x outside the slot changed", (unsigned)a);
        }
    }
}

/* The boot request sector: blank, or one valid record for `img` and
 * blank after it. */
static void assert_meta(env_t *e, const uint8_t *img, size_t img_len, const char *version)
{
    ota_bootreq_t req;
    uint32_t from = 0;
    if (img != NULL) {
        client_env_assert_bootreq(&e->c, img, img_len, version);
        from = OTA_BOOTREQ_SIZE;
    } else {
        assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_ERR_NOT_FOUND);
    }
    for (uint32_t a = META_ADDR + from; a < META_ADDR + SECTOR; a++) {
        if (e->c.ff.mem[a] != 0xFFu) {
            fail_msg("boot request sector byte 0x%06x is 0x%02x", (unsigned)a, e->c.ff.mem[a]);
        }
    }
}

static void assert_slot_holds(env_t *e, const uint8_t *img, size_t n)
{
    client_env_assert_slot(&e->c, img, n);
}

/* Success: the image, its boot request, nothing else touched, no bad write. */
static void assert_staged(env_t *e)
{
    assert_slot_holds(e, e->c.image, e->c.image_len);
    assert_meta(e, e->c.image, e->c.image_len, "v1.6.0");
    assert_outside_untouched(e);
    assert_int_equal(e->rec.bad_slot_writes, 0);
    assert_int_equal(e->c.ff.bit_errors, 0);
}

/* Failure: no boot request, nothing outside touched, no bad write. */
static void assert_not_staged(env_t *e)
{
    assert_meta(e, NULL, 0, NULL);
    assert_outside_untouched(e);
    assert_int_equal(e->rec.bad_slot_writes, 0);
    assert_int_equal(e->c.ff.bit_errors, 0);
}

/* ======================================================================== */
/* The wrapper itself                                                       */
/* ======================================================================== */

typedef struct {
    char topics[64][48];
    size_t lens[64];
    uint8_t first[64];
    int n;
} sink_t;

static void sink_cb(void *arg, const char *t, size_t tn, const uint8_t *p, size_t n)
{
    sink_t *s = arg;
    if (s->n < 64) {
        size_t m = tn < 47u ? tn : 47u;
        memcpy(s->topics[s->n], t, m);
        s->topics[s->n][m] = '\0';
        s->lens[s->n] = n;
        s->first[s->n] = (n > 0u && p != NULL) ? p[0] : 0u;
        s->n++;
    }
}

/* Feed n chunk answers of 100 bytes each through the wrapper, one per poll,
 * and collect what comes out. */
static void feed(env_t *e, sink_t *s, int n)
{
    ota_transport_t t;
    ota_mqtt_conn_t conn = {"h", 1, "c", "u", "", 60};
    uint8_t body[100];
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    t = cellota_faulty_port(&e->faulty);
    memset(s, 0, sizeof *s);
    assert_int_equal(t.connect(t.ctx, &conn, sink_cb, s), 0);
    assert_int_equal(t.poll(t.ctx, e->c.clk.now), 0);
    for (int i = 0; i < n; i++) {
        fake_tb_msg_t *m = &e->c.tb.queue[e->c.tb.queued++];
        snprintf(m->topic, sizeof m->topic, "v2/fw/response/1/chunk/%d", i);
        memset(body, i, sizeof body);
        memcpy(m->payload, body, sizeof body);
        m->len = sizeof body;
        e->c.clk.now += 10u;
        assert_int_equal(t.poll(t.ctx, e->c.clk.now), 0);
    }
    for (int i = 0; i < 400; i++) {
        e->c.clk.now += 10u;
        (void)t.poll(t.ctx, e->c.clk.now);
    }
}

static void test_wrapper_rejects_bad_config(void **state)
{
    env_t *e = *state;
    ota_transport_t bad = e->inner;
    assert_int_equal(cellota_faulty_init(NULL, &e->inner, &e->net), CELLOTA_FAULTY_EPARAM);
    assert_int_equal(cellota_faulty_init(&e->faulty, NULL, &e->net), CELLOTA_FAULTY_EPARAM);
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, NULL), CELLOTA_FAULTY_EPARAM);
    bad.poll = NULL;
    assert_int_equal(cellota_faulty_init(&e->faulty, &bad, &e->net), CELLOTA_FAULTY_EPARAM);
    e->net.corrupt_pct = 101;
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), CELLOTA_FAULTY_EPARAM);
    e->net.corrupt_pct = 100;
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    assert_false(cellota_faulty_next_due(NULL, NULL));
    assert_int_equal(cellota_faulty_pending(NULL), 0);
    cellota_faulty_defaults(NULL); /* no crash */
}

static void test_wrapper_clean_passes_everything_in_order(void **state)
{
    env_t *e = *state;
    sink_t s;
    feed(e, &s, 20);
    assert_int_equal(s.n, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(s.first[i], i);
        assert_int_equal(s.lens[i], 100);
    }
    assert_int_equal(e->faulty.stats.seen, 20);
    assert_int_equal(e->faulty.stats.delivered, 20);
}

static void test_wrapper_is_reproducible(void **state)
{
    env_t *e = *state;
    static sink_t a;
    static sink_t b;
    e->net.loss_pct = 20;
    e->net.dup_pct = 20;
    e->net.reorder_pct = 20;
    e->net.truncate_pct = 20;
    e->net.corrupt_pct = 20;
    e->net.seed = 42;
    feed(e, &a, 60);
    cellota_faulty_stats_t first = e->faulty.stats;
    fake_tb_init(&e->c.tb, e->c.pkg, e->c.pkg_len, "s31-nb", "v1.6.0");
    feed(e, &b, 60);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(&first, &e->faulty.stats, sizeof first);
    for (int i = 0; i < a.n && i < 64; i++) {
        assert_string_equal(a.topics[i], b.topics[i]);
        assert_int_equal(a.lens[i], b.lens[i]);
    }
    /* Every kind of fault happened, and the counts add up. */
    assert_true(first.dropped > 0u && first.duplicated > 0u && first.reordered > 0u);
    assert_true(first.truncated > 0u && first.corrupted > 0u);
    assert_int_equal(first.seen, 60);
    assert_int_equal(first.delivered, 60u - first.dropped + first.duplicated);
    /* Another seed, other faults. */
    e->net.seed = 43;
    fake_tb_init(&e->c.tb, e->c.pkg, e->c.pkg_len, "s31-nb", "v1.6.0");
    feed(e, &b, 60);
    assert_memory_not_equal(&first, &e->faulty.stats, sizeof first);
}

static void test_wrapper_reorder_and_delay(void **state)
{
    env_t *e = *state;
    sink_t s;
    /* Every message reordered: each one comes out right after its successor
     * (the last one when its hold time runs out). */
    e->net.reorder_pct = 100;
    e->net.hold_max_ms = 200;
    feed(e, &s, 3);
    assert_int_equal(s.n, 3);
    assert_int_equal(e->faulty.stats.reordered, 3);
    /* 0 held; 1 arrives, is held too, but 0 is older: nothing delivered
     * until the hold time of 0 runs out. */
    int order[3] = {s.first[0], s.first[1], s.first[2]};
    assert_int_equal(order[0] + order[1] + order[2], 3);
    /* Delays: 100 % for 150 ms; the order is kept and nothing is lost. */
    cellota_faulty_defaults(&e->net);
    e->net.delay_pct = 100;
    e->net.delay_ms = 150;
    fake_tb_init(&e->c.tb, e->c.pkg, e->c.pkg_len, "s31-nb", "v1.6.0");
    feed(e, &s, 10);
    assert_int_equal(s.n, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(s.first[i], i);
    }
    assert_int_equal(e->faulty.stats.delayed, 10);
    assert_int_equal(cellota_faulty_pending(&e->faulty), 0);
}

static void test_wrapper_reorder_swaps_neighbours(void **state)
{
    env_t *e = *state;
    sink_t s;
    ota_transport_t t;
    ota_mqtt_conn_t conn = {"h", 1, "c", "u", "", 60};
    uint32_t at = 0;
    e->net.reorder_pct = 100;
    e->net.hold_max_ms = 500;
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    t = cellota_faulty_port(&e->faulty);
    memset(&s, 0, sizeof s);
    assert_int_equal(t.connect(t.ctx, &conn, sink_cb, &s), 0);
    (void)t.poll(t.ctx, 0);
    /* One targeted answer, held; then a message on another topic overtakes it. */
    fake_tb_msg_t *m = &e->c.tb.queue[e->c.tb.queued++];
    strcpy(m->topic, "v2/fw/response/1/chunk/0");
    m->payload[0] = 0xA0;
    m->len = 1;
    (void)t.poll(t.ctx, 10);
    assert_int_equal(s.n, 0);
    assert_int_equal(cellota_faulty_pending(&e->faulty), 1);
    assert_true(cellota_faulty_next_due(&e->faulty, &at));
    assert_int_equal(at, 510);
    m = &e->c.tb.queue[e->c.tb.queued++];
    strcpy(m->topic, "v1/devices/me/telemetry"); /* not targeted: passes at once */
    m->len = 0;
    (void)t.poll(t.ctx, 20);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.topics[0], "v1/devices/me/telemetry");
    assert_string_equal(s.topics[1], "v2/fw/response/1/chunk/0");
    assert_int_equal(s.first[1], 0xA0);
    assert_int_equal(cellota_faulty_pending(&e->faulty), 0);
    assert_false(cellota_faulty_next_due(&e->faulty, &at));
}

static void test_wrapper_hold_overflow_delivers_at_once(void **state)
{
    env_t *e = *state;
    sink_t s;
    ota_transport_t t;
    ota_mqtt_conn_t conn = {"h", 1, "c", "u", "", 60};
    e->net.delay_pct = 100;
    e->net.delay_ms = 1000;
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    t = cellota_faulty_port(&e->faulty);
    memset(&s, 0, sizeof s);
    assert_int_equal(t.connect(t.ctx, &conn, sink_cb, &s), 0);
    for (unsigned i = 0; i < CELLOTA_FAULTY_QUEUE + 3u; i++) {
        fake_tb_msg_t *m = &e->c.tb.queue[e->c.tb.queued++];
        snprintf(m->topic, sizeof m->topic, "v2/fw/response/1/chunk/%u", i);
        m->len = 0;
    }
    (void)t.poll(t.ctx, 0);
    assert_int_equal(cellota_faulty_pending(&e->faulty), CELLOTA_FAULTY_QUEUE);
    assert_int_equal(e->faulty.stats.overflow, 3);
    assert_int_equal(s.n, 3);
    (void)t.poll(t.ctx, 1000);
    assert_int_equal(s.n, CELLOTA_FAULTY_QUEUE + 3u);
    /* A disconnect forgets what is held. */
    (void)t.connect(t.ctx, &conn, sink_cb, &s);
    for (unsigned i = 0; i < 2u; i++) {
        fake_tb_msg_t *m = &e->c.tb.queue[e->c.tb.queued++];
        snprintf(m->topic, sizeof m->topic, "v1/devices/me/attributes/response/%u", i);
        m->len = 0;
    }
    (void)t.poll(t.ctx, 2000);
    assert_int_equal(cellota_faulty_pending(&e->faulty), 2);
    t.disconnect(t.ctx);
    assert_int_equal(cellota_faulty_pending(&e->faulty), 0);
    assert_int_equal(t.state(t.ctx), OTA_LINK_DOWN);
}

static void test_wrapper_cut_and_gone(void **state)
{
    env_t *e = *state;
    sink_t s;
    ota_transport_t t;
    ota_mqtt_conn_t conn = {"h", 1, "c", "u", "", 60};
    e->net.drop_link_after = 3;
    e->net.link_gone_for_good = true;
    assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
    t = cellota_faulty_port(&e->faulty);
    memset(&s, 0, sizeof s);
    assert_int_equal(t.connect(t.ctx, &conn, sink_cb, &s), 0);
    for (unsigned i = 0; i < 5u; i++) {
        fake_tb_msg_t *m = &e->c.tb.queue[e->c.tb.queued++];
        snprintf(m->topic, sizeof m->topic, "v2/fw/response/1/chunk/%u", i);
        m->len = 0;
    }
    (void)t.poll(t.ctx, 0);
    assert_int_equal(s.n, 2); /* the 3rd answer cut the link */
    assert_int_equal(e->faulty.stats.link_cuts, 1);
    assert_int_equal(e->faulty.stats.lost_in_cut, 2);
    assert_int_equal(t.state(t.ctx), OTA_LINK_FAILED);
    assert_int_equal(e->c.tb.disconnects, 1); /* the inner link was really closed */
    assert_true(t.publish(t.ctx, "x", NULL, 0, 0) < 0);
    assert_true(t.subscribe(t.ctx, "x", 0) < 0);
    t.disconnect(t.ctx);
    assert_int_equal(t.state(t.ctx), OTA_LINK_DOWN);
    /* No network any more: a connect is accepted and never completes. */
    int connects = e->c.tb.connects;
    assert_int_equal(t.connect(t.ctx, &conn, sink_cb, &s), 0);
    for (int i = 0; i < 10; i++) {
        (void)t.poll(t.ctx, (uint32_t)i * 1000u);
    }
    assert_int_equal(t.state(t.ctx), OTA_LINK_CONNECTING);
    assert_int_equal(e->c.tb.connects, connects);
}

/* ======================================================================== */
/* Hostile network: the client over the wrapper                             */
/* ======================================================================== */

typedef struct {
    int runs, ok, code4, code7, other;
    uint32_t dropped, dup, reord, delayed, trunc, corrupt, cuts, attempts, requests;
} tally_t;

static void tally_add(tally_t *t, env_t *e, ota_code_t code)
{
    ota_client_info_t info;
    ota_client_info(&e->c.cli, &info);
    t->runs++;
    t->ok += code == OTA_CODE_SUCCESS;
    t->code4 += code == OTA_CODE_TIMEOUT;
    t->code7 += code == OTA_CODE_CHECKSUM;
    t->other += code != OTA_CODE_SUCCESS && code != OTA_CODE_TIMEOUT && code != OTA_CODE_CHECKSUM;
    t->dropped += e->faulty.stats.dropped;
    t->dup += e->faulty.stats.duplicated;
    t->reord += e->faulty.stats.reordered;
    t->delayed += e->faulty.stats.delayed;
    t->trunc += e->faulty.stats.truncated;
    t->corrupt += e->faulty.stats.corrupted;
    t->cuts += e->faulty.stats.link_cuts;
    t->attempts += info.attempt;
    t->requests += (uint32_t)e->c.tb.chunk_requests;
}

static void tally_print(const char *what, const tally_t *t)
{
    print_message("    %-34s %2d runs: %2d x 100, %d x 4, %d x 7, %d other | faults: %u lost, %u dup, "
                  "%u reord, %u delayed, %u trunc, %u corrupt, %u cuts | %u attempts, %u chunk "
                  "requests\n",
                  what, t->runs, t->ok, t->code4, t->code7, t->other, t->dropped, t->dup, t->reord,
                  t->delayed, t->trunc, t->corrupt, t->cuts, t->attempts, t->requests);
}

/* One run; the result must be a success or a clean failure, never a mix. */
static ota_code_t hostile_run(env_t *e, tally_t *t)
{
    ota_code_t code = run(e);
    if (code == OTA_CODE_SUCCESS) {
        assert_staged(e);
    } else {
        assert_not_staged(e);
    }
    tally_add(t, e, code);
    return code;
}

typedef struct {
    uint8_t loss, dup, reorder, delay, trunc, corrupt;
    uint32_t delay_ms, cut_after;
    unsigned targets; /* 0: the wrapper's default (chunk and attribute answers) */
} faults_t;

static void apply(env_t *e, const faults_t *f, uint64_t seed)
{
    e->net.loss_pct = f->loss;
    e->net.dup_pct = f->dup;
    e->net.reorder_pct = f->reorder;
    e->net.delay_pct = f->delay;
    e->net.delay_ms = f->delay_ms;
    e->net.truncate_pct = f->trunc;
    e->net.corrupt_pct = f->corrupt;
    e->net.drop_link_after = f->cut_after;
    e->net.seed = seed;
    if (f->targets != 0u) {
        e->net.targets = f->targets;
    }
}

/* `seeds` runs that must all succeed with a correct image. */
static void must_complete_algo(env_t *e, const char *what, size_t image, ota_pkg_format_t fmt,
                               uint8_t window, const faults_t *f, int seeds, bool sha256)
{
    tally_t t;
    memset(&t, 0, sizeof t);
    for (int s = 1; s <= seeds; s++) {
        env_setup(e, image, fmt, window);
        if (sha256) {
            fake_tb_use_sha256(&e->c.tb);
        }
        apply(e, f, (uint64_t)s * 1000003u);
        ota_code_t code = hostile_run(e, &t);
        if (code != OTA_CODE_SUCCESS) {
            fail_msg("%s, seed %d: code %d (%s)", what, s, (int)code, reason(e));
        }
    }
    tally_print(what, &t);
}

static void must_complete(env_t *e, const char *what, size_t image, ota_pkg_format_t fmt,
                          uint8_t window, const faults_t *f, int seeds)
{
    must_complete_algo(e, what, image, fmt, window, f, seeds, false);
}

static void test_loss10_dup10_dragino_w1(void **state)
{
    faults_t f = {.loss = 10, .dup = 10};
    must_complete(*state, "10% loss + 10% dup, Dragino W=1", 20000u, OTA_PKG_DRAGINO, 1u, &f, 8);
}

static void test_loss10_dup10_dragino_w4(void **state)
{
    faults_t f = {.loss = 10, .dup = 10};
    must_complete(*state, "10% loss + 10% dup, Dragino W=4", 20000u, OTA_PKG_DRAGINO, 4u, &f, 8);
}

static void test_loss10_dup10_raw_w4(void **state)
{
    faults_t f = {.loss = 10, .dup = 10};
    must_complete(*state, "10% loss + 10% dup, raw512 W=4", 20000u, OTA_PKG_RAW, 4u, &f, 8);
}

static void test_loss10_dup10_raw_w1(void **state)
{
    faults_t f = {.loss = 10, .dup = 10};
    must_complete(*state, "10% loss + 10% dup, raw512 W=1", 12000u, OTA_PKG_RAW, 1u, &f, 6);
}

/* Loss rates from none to heavy: up to 20 % every run must complete; above,
 * the invariants must hold whatever the result. */
static void test_loss_rate_sweep(void **state)
{
    env_t *e = *state;
    static const uint8_t rates[] = {0, 5, 10, 20, 30, 50, 70};
    for (size_t r = 0; r < sizeof rates; r++) {
        tally_t t;
        char what[64];
        memset(&t, 0, sizeof t);
        for (int s = 1; s <= 6; s++) {
            env_setup(e, 16000u, OTA_PKG_DRAGINO, (uint8_t)(s % 2 ? 1u : 4u));
            e->net.loss_pct = rates[r];
            e->net.seed = (uint64_t)s;
            ota_code_t code = hostile_run(e, &t);
            if (rates[r] <= 20u && code != OTA_CODE_SUCCESS) {
                fail_msg("%u%% loss, seed %d: code %d (%s)", rates[r], s, (int)code, reason(e));
            }
            assert_true(code == OTA_CODE_SUCCESS || code == OTA_CODE_TIMEOUT ||
                        code == OTA_CODE_CHECKSUM);
        }
        snprintf(what, sizeof what, "%u%% loss, Dragino W=1/4", rates[r]);
        tally_print(what, &t);
    }
}

/* Damaged Dragino records never reach the slot: the record CRC (or the
 * length check) stops them, they are asked again, the update completes. */
static void test_corrupt_and_truncated_records_never_written(void **state)
{
    faults_t f = {.corrupt = 20, .trunc = 10, .targets = CELLOTA_FAULTY_CHUNKS};
    must_complete(*state, "20% corrupt + 10% truncated, W=1", 20000u, OTA_PKG_DRAGINO, 1u, &f, 6);
    must_complete(*state, "20% corrupt + 10% truncated, W=4", 20000u, OTA_PKG_DRAGINO, 4u, &f, 6);
}

static void test_every_record_corrupt_7_nothing_written(void **state)
{
    env_t *e = *state;
    tally_t t;
    memset(&t, 0, sizeof t);
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 2u);
    e->net.corrupt_pct = 100;
    e->net.targets = CELLOTA_FAULTY_CHUNKS;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_CHECKSUM);
    assert_int_equal(e->rec.slot_writes, 0); /* not one chunk reached the flash */
    assert_non_null(strstr(reason(e), "failed its check 4 times"));
    ota_client_info_t info;
    ota_client_info(&e->c.cli, &info);
    assert_int_equal(info.attempt, 4); /* 1 + attempt_retries */
    assert_non_null(strstr(e->c.up.last, "OTA code 7"));
    tally_print("100% corrupt records", &t);
}

/* Raw packages have no per-chunk check: damaged chunks reach the slot, and
 * the whole-image checksum must keep them from being staged. */
static void test_raw_corrupt_image_never_staged(void **state)
{
    env_t *e = *state;
    tally_t t;
    memset(&t, 0, sizeof t);
    for (int s = 1; s <= 8; s++) {
        env_setup(e, 12000u, OTA_PKG_RAW, (uint8_t)(1 + s % 4));
        e->net.corrupt_pct = 10;
        e->net.targets = CELLOTA_FAULTY_CHUNKS;
        e->net.seed = (uint64_t)s;
        ota_code_t code = hostile_run(e, &t);
        assert_true(code == OTA_CODE_SUCCESS || code == OTA_CODE_CHECKSUM);
        if (code == OTA_CODE_CHECKSUM) {
            assert_non_null(strstr(reason(e), "does not match fw_checksum"));
        }
    }
    tally_print("10% corrupt chunks, raw W=2..4", &t);
    assert_true(t.code7 > 0); /* the damage was seen, and refused */
    /* Every chunk damaged: never staged, even after all retries. */
    env_setup(e, 6000u, OTA_PKG_RAW, 2u);
    e->net.corrupt_pct = 100;
    e->net.targets = CELLOTA_FAULTY_CHUNKS;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_CHECKSUM);
    assert_int_equal(e->c.tb.connects, 4);
    assert_true(e->rec.slot_writes > 0u); /* they were written, and refused */
    /* SHA-256 catches it the same way. */
    env_setup(e, 6000u, OTA_PKG_RAW, 2u);
    fake_tb_use_sha256(&e->c.tb);
    e->net.corrupt_pct = 100;
    e->net.targets = CELLOTA_FAULTY_CHUNKS;
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_CHECKSUM);
}

static void test_truncation_handled(void **state)
{
    faults_t f = {.trunc = 20, .targets = CELLOTA_FAULTY_CHUNKS};
    must_complete(*state, "20% truncated, raw512 W=4", 20000u, OTA_PKG_RAW, 4u, &f, 6);
    must_complete(*state, "20% truncated, Dragino W=2", 20000u, OTA_PKG_DRAGINO, 2u, &f, 6);
}

static void test_reorder_and_delay_handled(void **state)
{
    faults_t f = {.reorder = 30, .delay = 30, .delay_ms = 700};
    must_complete(*state, "30% reordered + 30% delayed 700ms, W=4", 20000u, OTA_PKG_DRAGINO, 4u,
                  &f, 6);
    must_complete(*state, "30% reordered + 30% delayed 700ms, raw W=8", 20000u, OTA_PKG_RAW, 8u,
                  &f, 6);
    must_complete(*state, "30% reordered + 30% delayed 700ms, W=1", 10000u, OTA_PKG_DRAGINO, 1u,
                  &f, 4);
    /* Delays longer than the answer timeout: late answers for an old rid. */
    faults_t late = {.delay = 20, .delay_ms = 6000};
    must_complete(*state, "20% delayed past the answer timeout", 10000u, OTA_PKG_DRAGINO, 2u,
                  &late, 4);
}

static void test_mid_download_disconnect_resumes(void **state)
{
    env_t *e = *state;
    tally_t t;
    memset(&t, 0, sizeof t);
    for (uint8_t w = 1; w <= 8; w = (uint8_t)(w * 2u)) {
        env_setup(e, 20000u, OTA_PKG_DRAGINO, w);
        e->net.drop_link_after = 9;
        assert_int_equal(hostile_run(e, &t), OTA_CODE_SUCCESS);
        ota_client_info_t info;
        ota_client_info(&e->c.cli, &info);
        assert_int_equal(e->faulty.stats.link_cuts, 1);
        assert_int_equal(info.attempt, 2);
        assert_int_equal(e->c.tb.connects, 2);
        /* The second attempt resumed: at most the window asked again. */
        assert_true(info.resumed > 0u);
        assert_true(e->c.tb.chunk_requests <= 20 + (int)w);
    }
    tally_print("link cut at the 9th answer, W=1..8", &t);
}

static void test_all_faults_together(void **state)
{
    faults_t f = {.loss = 10, .dup = 10, .reorder = 10, .delay = 10, .delay_ms = 400,
                  .trunc = 5, .corrupt = 5, .cut_after = 11, .targets = CELLOTA_FAULTY_CHUNKS};
    must_complete(*state, "all faults + a cut, Dragino W=1", 20000u, OTA_PKG_DRAGINO, 1u, &f, 6);
    must_complete(*state, "all faults + a cut, Dragino W=4", 20000u, OTA_PKG_DRAGINO, 4u, &f, 6);
    must_complete_algo(*state, "all faults + a cut, SHA256 W=3", 20000u, OTA_PKG_DRAGINO, 3u, &f,
                       4, true);
}

/* Attribute answers lost, repeated, reordered and late: the client asks
 * again and goes on. */
static void test_attribute_answers_lost_or_repeated(void **state)
{
    faults_t f = {.loss = 30, .dup = 30, .reorder = 20, .delay = 20, .delay_ms = 3000,
                  .targets = CELLOTA_FAULTY_ATTRS};
    must_complete(*state, "attrs: 30% lost/dup, 20% reord/late", 8000u, OTA_PKG_DRAGINO, 2u, &f, 12);
}

/* Damaged attribute answers carry no checksum. Whatever the damage, the
 * result is a defined code and the slot never holds anything but the
 * image: a truncated answer is not JSON (3), a flipped byte may change
 * the title (1), the size (3, or 7 when the records do not fit it), the
 * checksum (7) or only the version text (then the right image is staged
 * under a damaged version name). */
static void test_attribute_answers_damaged(void **state)
{
    env_t *e = *state;
    int codes[8] = {0};
    int renamed = 0;
    for (int s = 1; s <= 60; s++) {
        ota_bootreq_t req;
        env_setup(e, 6000u, OTA_PKG_DRAGINO, 2u);
        e->net.targets = CELLOTA_FAULTY_ATTRS;
        e->net.truncate_pct = (uint8_t)(s % 3 == 0 ? 50 : 0);
        e->net.corrupt_pct = 100;
        e->net.seed = (uint64_t)s;
        e->c.cfg.attempt_retries = 0;
        ota_code_t code = run(e);
        assert_outside_untouched(e);
        assert_int_equal(e->c.ff.bit_errors, 0);
        assert_true(strlen(reason(e)) > 0u || code == OTA_CODE_SUCCESS);
        if (code == OTA_CODE_SUCCESS) {
            assert_slot_holds(e, e->c.image, e->c.image_len);
            assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_OK);
            assert_int_equal(req.image_crc, ota_crc32(0, e->c.image, e->c.image_len));
            renamed += strcmp(req.version, "v1.6.0") != 0;
            codes[0]++;
        } else {
            assert_true(code >= OTA_CODE_TITLE_MISMATCH && code <= OTA_CODE_CHECKSUM);
            assert_meta(e, NULL, 0, NULL);
            codes[code]++;
        }
    }
    print_message("    damaged attribute answers, 60 runs: %d x 100 (%d under a damaged version "
                  "name), %d x 1, %d x 3, %d x 5, %d x 6, %d x 7, %d x 4\n",
                  codes[0], renamed, codes[1], codes[3], codes[5], codes[6], codes[7], codes[4]);
    assert_true(codes[3] > 0);
}

/* The network goes away for good in the middle of a download: the client
 * gives up with code 4 after its retries; the old firmware is untouched. */
static void test_network_gone_for_good_4(void **state)
{
    env_t *e = *state;
    tally_t t;
    memset(&t, 0, sizeof t);
    env_setup(e, 20000u, OTA_PKG_DRAGINO, 2u);
    e->net.drop_link_after = 6;
    e->net.link_gone_for_good = true;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_TIMEOUT);
    ota_client_info_t info;
    ota_client_info(&e->c.cli, &info);
    assert_int_equal(info.attempt, 4);     /* 1 + 3 retries */
    assert_int_equal(e->c.tb.connects, 1);   /* the later ones never reached a server */
    assert_non_null(strstr(reason(e), "no connection to 127.0.0.1 in time"));
    assert_non_null(strstr(e->c.up.last, "OTA code 4"));
    tally_print("network gone after 6 answers", &t);

    /* Every answer lost from the start: the attribute request is asked
     * 1 + chunk_retries times per attempt. */
    env_setup(e, 20000u, OTA_PKG_DRAGINO, 1u);
    e->net.loss_pct = 100;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_TIMEOUT);
    assert_int_equal(e->c.tb.connects, 4);
    assert_int_equal(e->rec.slot_writes, 0);
    assert_non_null(strstr(reason(e), "no answer to the attribute request after 4 tries"));

    /* The offer arrives, then no chunk answer ever does. */
    env_setup(e, 20000u, OTA_PKG_DRAGINO, 4u);
    e->net.loss_pct = 100;
    e->net.targets = CELLOTA_FAULTY_CHUNKS;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_TIMEOUT);
    assert_int_equal(e->rec.slot_writes, 0);
    assert_non_null(strstr(reason(e), "not answered after 4 requests"));
}

/* A boot request for a verified image, already in place, is withdrawn before
 * the slot changes; after a hostile failure nothing points at the slot. */
static void test_failed_update_leaves_no_request(void **state)
{
    env_t *e = *state;
    tally_t t;
    ota_bootreq_t old = {SLOT_ADDR, 100u, 0x12345678u, "s31-nb", "v1.4.0"};
    uint8_t rec[OTA_BOOTREQ_SIZE];
    memset(&t, 0, sizeof t);
    env_setup(e, 20000u, OTA_PKG_DRAGINO, 2u);
    assert_int_equal(ota_bootreq_encode(&old, rec), OTA_OK);
    fake_flash_poke(&e->c.ff, META_ADDR, rec, sizeof rec);
    e->net.drop_link_after = 4;
    e->net.link_gone_for_good = true;
    e->c.cfg.attempt_retries = 1;
    assert_int_equal(hostile_run(e, &t), OTA_CODE_TIMEOUT);
}

/* ======================================================================== */
/* Hostile server and malformed input                                      */
/* ======================================================================== */

/* Put a message in the fake server's queue: delivered on the next poll,
 * from inside the transport's poll, like any other. */
static void inject(env_t *e, const char *topic, const void *p, size_t n)
{
    fake_tb_msg_t *m;
    assert_true(e->c.tb.queued < FAKE_TB_QUEUE && n <= FAKE_TB_PAYLOAD);
    m = &e->c.tb.queue[e->c.tb.queued++];
    snprintf(m->topic, sizeof m->topic, "%s", topic);
    if (n != 0u) {
        memcpy(m->payload, p, n);
    }
    m->len = n;
}

/* An attribute answer that must be refused before any flash operation. */
static void refused_attrs(env_t *e, const char *attrs, ota_code_t want, const char *why)
{
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    snprintf(e->c.tb.attrs, sizeof e->c.tb.attrs, "%s", attrs);
    assert_int_equal(run(e), want);
    assert_int_equal(e->c.tb.chunk_requests, 0);
    assert_int_equal(e->c.ff.writes + e->c.ff.erases, 0);
    assert_not_staged(e);
    assert_true(strlen(reason(e)) > 0u);
    if (why != NULL && strstr(reason(e), why) == NULL) {
        fail_msg("reason \"%s\" does not contain \"%s\"", reason(e), why);
    }
}

#define OFFER_HEAD "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v2\","
#define OFFER_TAIL "\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"2639f4cb\"}}"

static void test_deeply_nested_json_3(void **state)
{
    env_t *e = *state;
    char doc[900];
    size_t n = 0;
    /* 9 levels in an extra member: past OTA_CFG_JSON_MAX_DEPTH (8). */
    refused_attrs(e, OFFER_HEAD "\"x\":[[[[[[[1]]]]]]]," OFFER_TAIL, OTA_CODE_FORMAT,
                  "not a valid JSON object");
    /* 8 levels in all is still fine: the offer is read. */
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    snprintf(e->c.tb.attrs, sizeof e->c.tb.attrs,
             "{\"shared\":{\"x\":[[[[[[1]]]]]],\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\","
             "\"fw_size\":%zu,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"%s\"}}",
             e->c.pkg_len, e->c.tb.checksum);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_staged(e);
    /* 400 levels of arrays, then of objects: refused, no recursion. */
    for (n = 0; n < 400u; n++) {
        doc[n] = '[';
    }
    doc[n] = '\0';
    refused_attrs(e, doc, OTA_CODE_FORMAT, "JSON");
    n = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(&doc[n], "{\"a\":", 5);
        n += 5;
    }
    memcpy(&doc[n], "1", 2);
    refused_attrs(e, doc, OTA_CODE_FORMAT, "JSON");
    /* The offer itself nested one level too deep is not an offer. */
    refused_attrs(e, "{\"shared\":{\"shared\":{\"fw_title\":\"s31-nb\"}}}", OTA_CODE_NO_TITLE, NULL);
}

/* An answer that is not even JSON was most likely damaged on the way: it
 * ends with code 3 only after every attempt (1 + attempt_retries) got one. */
static void test_truncated_attribute_answer_every_length_3(void **state)
{
    env_t *e = *state;
    char full[512];
    char part[512];
    snprintf(full, sizeof full,
             "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":10040,"
             "\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"0123abcd\"}}");
    for (size_t n = 0; n < strlen(full); n++) {
        memcpy(part, full, n);
        part[n] = '\0';
        /* An empty payload is "" to the fake; make it one space instead. */
        refused_attrs(e, n == 0 ? " " : part, OTA_CODE_FORMAT, "not a valid JSON object");
        assert_int_equal(e->c.tb.connects, 1 + (int)e->c.cfg.attempt_retries);
    }
    /* Valid JSON that is a bad offer is the server's word: not retried. */
    refused_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v2\"}}", OTA_CODE_FORMAT,
                  "fw_size");
    assert_int_equal(e->c.tb.connects, 1);
}

/* Replace the payload of a queued attribute answer with bytes that are not
 * JSON (a NUL among them). */
static void hook_junk_attrs(env_t *e)
{
    static const uint8_t junk[] = {'{', 0x00, '}', 0xFF, 0xFE};
    for (int i = 0; i < e->c.tb.queued; i++) {
        fake_tb_msg_t *m = &e->c.tb.queue[i];
        if (strncmp(m->topic, "v1/devices/me/attributes/response/", 34) == 0) {
            memcpy(m->payload, junk, sizeof junk);
            m->len = sizeof junk;
            e->hook_state++;
        }
    }
}

static void test_wrong_types_and_duplicates_3_7(void **state)
{
    env_t *e = *state;
    refused_attrs(e, "{\"shared\":\"fw_title\"}", OTA_CODE_FORMAT, "shared");
    refused_attrs(e, "{\"shared\":null}", OTA_CODE_FORMAT, "shared");
    refused_attrs(e, "\"shared\"", OTA_CODE_FORMAT, "JSON object");
    refused_attrs(e, "{\"shared\":{\"fw_title\":[\"s31-nb\"]}}", OTA_CODE_FORMAT, "fw_title");
    refused_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":2}}", OTA_CODE_FORMAT,
                  "fw_version");
    refused_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":true}}", OTA_CODE_FORMAT,
                  "fw_version");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":[2008],\"fw_checksum_algorithm\":\"CRC32\","
                                "\"fw_checksum\":\"2639f4cb\"}}",
                  OTA_CODE_FORMAT, "fw_size is not a number");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2e3,\"fw_checksum_algorithm\":\"CRC32\","
                                "\"fw_checksum\":\"2639f4cb\"}}",
                  OTA_CODE_FORMAT, "fw_size");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2008,\"fw_checksum_algorithm\":32,"
                                "\"fw_checksum\":\"2639f4cb\"}}",
                  OTA_CODE_CHECKSUM, "fw_checksum_algorithm");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\","
                                "\"fw_checksum\":2639}}",
                  OTA_CODE_CHECKSUM, "fw_checksum");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2008,\"fw_checksum_algorithm\":\"crc32\","
                                "\"fw_checksum\":\"2639f4cb\"}}",
                  OTA_CODE_CHECKSUM, "unsupported checksum algorithm crc32");
    /* Duplicate keys: never "the first one wins". */
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2008,\"fw_size\":9999999,\"fw_checksum_algorithm\":"
                                "\"CRC32\",\"fw_checksum\":\"2639f4cb\"}}",
                  OTA_CODE_FORMAT, "fw_size");
    refused_attrs(e, "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_title\":\"s31-nb\"}}",
                  OTA_CODE_FORMAT, "fw_title");
    refused_attrs(e, OFFER_HEAD "\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\","
                                "\"fw_checksum\":\"2639f4cb\",\"fw_checksum\":\"00000000\"}}",
                  OTA_CODE_CHECKSUM, "fw_checksum");
    /* Bytes that are not JSON at all, NUL included, in place of the answer. */
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    e->hook = hook_junk_attrs;
    e->c.cfg.attempt_retries = 0;
    assert_int_equal(run(e), OTA_CODE_FORMAT);
    assert_int_equal(e->hook_state, 1);
    assert_int_equal(e->c.ff.writes + e->c.ff.erases, 0);
    assert_not_staged(e);
}

static void test_long_titles_and_versions(void **state)
{
    env_t *e = *state;
    char t32[33];
    char v33[34];
    char attrs[600];
    memset(t32, 't', 32);
    t32[32] = '\0';
    memset(v33, 'v', 33);
    v33[33] = '\0';

    /* Version one byte longer than the buffer: code 3 with a reason. */
    snprintf(attrs, sizeof attrs,
             "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"%s\"," OFFER_TAIL, v33);
    refused_attrs(e, attrs, OTA_CODE_FORMAT, "fw_version too long");
    /* A version that is short escaped but long unescaped (é = 2 bytes). */
    snprintf(attrs, sizeof attrs,
             "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"%s\"," OFFER_TAIL,
             "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
             "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9");
    refused_attrs(e, attrs, OTA_CODE_FORMAT, "fw_version too long");
    /* A title far past the buffer: code 1 (it cannot be this device's). */
    snprintf(attrs, sizeof attrs, "{\"shared\":{\"fw_title\":\"%s%s%s\"}}", t32, t32, t32);
    refused_attrs(e, attrs, OTA_CODE_TITLE_MISMATCH, "fw_title too long");

    /* Exactly at the limits: a 32-byte title and version are updated to and
     * stored whole in the boot request. */
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    strcpy(e->c.set.title, t32);
    snprintf(e->c.tb.title, sizeof e->c.tb.title, "%s", t32);
    memset(e->c.tb.version, 'w', 32);
    e->c.tb.version[32] = '\0';
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    ota_bootreq_t req;
    assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_OK);
    assert_string_equal(req.title, t32);
    assert_string_equal(req.version, e->c.tb.version);
    assert_slot_holds(e, e->c.image, e->c.image_len);
    assert_outside_untouched(e);
    /* 32 escaped characters that unescape to 32 bytes are fine too. */
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
    snprintf(e->c.tb.attrs, sizeof e->c.tb.attrs,
             "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"%s\",\"fw_size\":%zu,"
             "\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"%s\"}}",
             "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
             "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041"
             "\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041\\u0041",
             e->c.pkg_len, e->c.tb.checksum);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_OK);
    assert_string_equal(req.version, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

/* v2/fw/error, as an answer to the chunk requests. */
static void error_case(env_t *e, const char *text, ota_code_t want, int connects, const char *why)
{
    env_setup(e, 10000u, OTA_PKG_DRAGINO, 2u);
    e->c.tb.error_text = text;
    assert_int_equal(run(e), want);
    assert_int_equal(e->c.tb.connects, connects);
    assert_not_staged(e);
    if (strstr(reason(e), why) == NULL) {
        fail_msg("reason \"%s\" does not contain \"%s\"", reason(e), why);
    }
}

static void test_fw_error_every_kind(void **state)
{
    env_t *e = *state;
    /* NOT_FOUND: nothing to download, final. */
    error_case(e, "NOT_FOUND", OTA_CODE_NO_TITLE, 1, "server error on v2/fw/error: NOT_FOUND");
    /* PAYLOAD_TOO_LARGE: our request is what the server refuses: final, 3. */
    error_case(e, "PAYLOAD_TOO_LARGE", OTA_CODE_FORMAT, 1, "PAYLOAD_TOO_LARGE");
    /* FAILURE: the server had a problem: retried, then 4. */
    error_case(e, "FAILURE", OTA_CODE_TIMEOUT, 4, "FAILURE");
    /* Unknown text, an empty one, and a long binary one: 4, reason bounded
     * and printable. */
    error_case(e, "SOMETHING_NEW", OTA_CODE_TIMEOUT, 4, "SOMETHING_NEW");
    error_case(e, "", OTA_CODE_TIMEOUT, 4, "server error on v2/fw/error: ");
    error_case(e, "NOT_FOUND_", OTA_CODE_TIMEOUT, 4, "NOT_FOUND_");
    error_case(e,
               "\x01\x02\x7f\xff" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
               OTA_CODE_TIMEOUT, 4, "????AAAA");
    const char *r = reason(e);
    assert_true(strlen(r) <= OTA_CFG_REASON_MAX);
    for (const char *p = r; *p != '\0'; p++) {
        assert_true(*p >= 0x20 && *p < 0x7F);
    }
}

/* v2/fw/error while the client still waits for the attribute answer. */
static void test_fw_error_while_negotiating(void **state)
{
    env_t *e = *state;
    static const struct {
        const char *text;
        ota_code_t code;
    } cases[] = {{"NOT_FOUND", OTA_CODE_NO_TITLE},
                 {"PAYLOAD_TOO_LARGE", OTA_CODE_FORMAT},
                 {"FAILURE", OTA_CODE_TIMEOUT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ota_client_info_t info;
        env_setup(e, 10000u, OTA_PKG_DRAGINO, 1u);
        e->c.tb.no_answer_attrs = true;
        e->c.cfg.attempt_retries = 0;
        assert_int_equal(cellota_faulty_init(&e->faulty, &e->inner, &e->net), 0);
        e->c.cfg.transport = cellota_faulty_port(&e->faulty);
        assert_int_equal(ota_client_init(&e->c.cli, &e->c.cfg), OTA_OK);
        assert_int_equal(ota_client_start(&e->c.cli), OTA_OK);
        bool sent = false;
        for (int n = 0; n < 100 && !idle_or_done(e); n++) {
            ota_client_poll(&e->c.cli, e->c.clk.now);
            ota_client_info(&e->c.cli, &info);
            if (!sent && info.state == OTA_STATE_NEGOTIATING && e->c.tb.publishes >= 2) {
                inject(e, "v2/fw/error", cases[i].text, strlen(cases[i].text));
                sent = true;
            }
        }
        ota_client_info(&e->c.cli, &info);
        assert_true(sent);
        assert_int_equal(info.code, cases[i].code);
        assert_non_null(strstr(info.reason, cases[i].text));
        assert_int_equal(e->c.tb.chunk_requests, 0);
        assert_int_equal(e->c.ff.writes + e->c.ff.erases, 0);
        assert_not_staged(e);
    }
}

/* ---- the server changes its package in the middle of a download -------- */

static void make_second_build(env_t *e, size_t n, ota_pkg_format_t fmt)
{
    client_env_image(e->image2, n, 99u);
    e->image2_len = n;
    e->pkg2_len = client_env_package(e->image2, n, fmt, e->pkg2);
}

/* After `hook_state` chunk answers, the server serves build 2; with
 * new_offer its attributes say so too (a new version and checksum),
 * without, it keeps announcing build 1 (a lying or broken server). */
static void switch_after(env_t *e, int answers, bool new_offer)
{
    if (e->c.tb.answers < answers || e->c.tb.pkg == e->pkg2) {
        return;
    }
    if (!new_offer) {
        snprintf(e->c.tb.attrs, sizeof e->c.tb.attrs,
                 "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":%zu,"
                 "\"fw_checksum_algorithm\":\"%s\",\"fw_checksum\":\"%s\"}}",
                 e->c.pkg_len, e->c.tb.algo, e->c.tb.checksum);
    }
    e->c.tb.pkg = e->pkg2;
    e->c.tb.pkg_len = e->pkg2_len;
    if (new_offer) {
        snprintf(e->c.tb.version, sizeof e->c.tb.version, "v1.7.0");
        if (strcmp(e->c.tb.algo, "SHA256") == 0) {
            fake_tb_use_sha256(&e->c.tb);
        } else {
            ota_crc32_to_tb_hex(ota_crc32(0, e->pkg2, e->pkg2_len), e->c.tb.checksum);
        }
    }
}

static void hook_switch_new_offer(env_t *e)
{
    switch_after(e, e->hook_state, true);
}

static void hook_switch_same_offer(env_t *e)
{
    switch_after(e, e->hook_state, false);
}

/* The slot after a success must hold one whole build: never a mix. */
static void assert_one_build(env_t *e)
{
    ota_bootreq_t req;
    assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_OK);
    if (strcmp(req.version, "v1.7.0") == 0) {
        assert_int_equal(req.image_size, e->image2_len);
        assert_int_equal(req.image_crc, ota_crc32(0, e->image2, e->image2_len));
        assert_slot_holds(e, e->image2, e->image2_len);
    } else {
        assert_string_equal(req.version, "v1.6.0");
        assert_slot_holds(e, e->c.image, e->c.image_len);
    }
    assert_outside_untouched(e);
}

/* One package switch: fmt/algo/window; `retries` attempts after the first. */
static ota_code_t switch_run(env_t *e, ota_pkg_format_t pf, bool sha256, uint8_t w,
                             size_t size2, hook_fn hook, int after, uint8_t retries)
{
    env_setup(e, 20000u, pf, w);
    if (sha256) {
        fake_tb_use_sha256(&e->c.tb);
    }
    make_second_build(e, size2, pf);
    e->rec.image = NULL; /* build 2's records are valid records: checked below instead */
    e->hook = hook;
    e->hook_state = after;
    e->c.cfg.attempt_retries = retries;
    return run(e);
}

/* The assignment changes in the middle of a download (ThingsBoard serves a
 * new rid the new package): the attempt must fail with 7 and stage nothing;
 * with retries, the next attempt sees the new offer, starts afresh (the
 * journal belongs to the old offer) and stages build 2 whole. */
static void test_server_switches_build_mid_download(void **state)
{
    env_t *e = *state;
    static const struct {
        ota_pkg_format_t fmt;
        bool sha256;
    } kinds[] = {{OTA_PKG_DRAGINO, true}, {OTA_PKG_RAW, false}, {OTA_PKG_RAW, true}};
    for (uint8_t w = 1; w <= 4; w = (uint8_t)(w * 4u)) {
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            ota_bootreq_t req;
            assert_int_equal(switch_run(e, kinds[i].fmt, kinds[i].sha256, w, 20000u,
                                        hook_switch_new_offer, 7, 0),
                             OTA_CODE_CHECKSUM);
            assert_non_null(strstr(reason(e), "does not match fw_checksum"));
            assert_meta(e, NULL, 0, NULL);
            assert_outside_untouched(e);
            assert_int_equal(switch_run(e, kinds[i].fmt, kinds[i].sha256, w, 20000u,
                                        hook_switch_new_offer, 7, 3),
                             OTA_CODE_SUCCESS);
            assert_one_build(e);
            assert_int_equal(ota_bootreq_read(&e->c.cfg.flash, META_ADDR, &req), OTA_OK);
            assert_string_equal(req.version, "v1.7.0");
        }
    }
}

static void test_server_switches_content_keeps_offer(void **state)
{
    env_t *e = *state;
    ota_code_t code;
    /* A server that serves other bytes under the same offer: every attempt
     * fails the whole-image check, nothing is ever staged. */
    assert_int_equal(switch_run(e, OTA_PKG_DRAGINO, true, 2u, 20000u, hook_switch_same_offer, 5, 3),
                     OTA_CODE_CHECKSUM);
    assert_int_equal(e->c.tb.connects, 4);
    assert_not_staged(e);
    assert_non_null(strstr(e->c.up.last, "OTA code 7"));
    assert_int_equal(switch_run(e, OTA_PKG_RAW, false, 3u, 20000u, hook_switch_same_offer, 5, 1),
                     OTA_CODE_CHECKSUM);
    assert_not_staged(e);
    /* A longer build under the same offer: the last record has the wrong
     * length, or the image the wrong checksum; never staged. */
    code = switch_run(e, OTA_PKG_DRAGINO, false, 4u, 23000u, hook_switch_same_offer, 3, 1);
    assert_true(code == OTA_CODE_CHECKSUM || code == OTA_CODE_TIMEOUT);
    assert_not_staged(e);
    /* A shorter one: the answers past its end are empty. */
    code = switch_run(e, OTA_PKG_RAW, false, 4u, 9000u, hook_switch_same_offer, 10, 1);
    assert_true(code == OTA_CODE_CHECKSUM || code == OTA_CODE_TIMEOUT);
    assert_not_staged(e);
}

/*
 * ThingsBoard's CRC32 fw_checksum of a Dragino package is the same for every
 * package of a given size: each record ends with the CRC-32 of its own data,
 * and CRC-32 over "data + its own CRC (LE)" leaves the register at a fixed
 * residue, so no data bit reaches the final value. The whole-image check
 * cannot catch a build switched mid-download (all records individually
 * valid); the client reads the offer again before staging and refuses the
 * mix (code 7, nothing staged).
 */
static void test_crc32_dragino_mix_refused(void **state)
{
    env_t *e = *state;
    uint8_t a[2008];
    uint8_t b[2008];
    /* The property itself: two unrelated packages, one fw_checksum. */
    client_env_image(e->c.image, 2000u, 1u);
    client_env_image(e->image2, 2000u, 2u);
    assert_int_equal(client_env_package(e->c.image, 2000u, OTA_PKG_DRAGINO, a), 2008u);
    assert_int_equal(client_env_package(e->image2, 2000u, OTA_PKG_DRAGINO, b), 2008u);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(ota_crc32(0, a, sizeof a), ota_crc32(0, b, sizeof b));
    /* The client reads the offer again before staging: the mix is refused. */
    assert_int_equal(switch_run(e, OTA_PKG_DRAGINO, false, 1u, 20000u, hook_switch_new_offer, 7, 0),
                     OTA_CODE_CHECKSUM);
    assert_not_staged(e);
}

/* The server offers another build after a success (the device rebooted in
 * between, nothing staged was installed): the new offer replaces the old. */
static void test_new_offer_after_staged_one(void **state)
{
    env_t *e = *state;
    env_setup(e, 20000u, OTA_PKG_DRAGINO, 2u);
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_staged(e);
    make_second_build(e, 15000u, OTA_PKG_DRAGINO);
    e->c.tb.pkg = e->pkg2;
    e->c.tb.pkg_len = e->pkg2_len;
    snprintf(e->c.tb.version, sizeof e->c.tb.version, "v1.7.0");
    ota_crc32_to_tb_hex(ota_crc32(0, e->pkg2, e->pkg2_len), e->c.tb.checksum);
    e->rec.image = NULL;
    e->net.drop_link_after = 6; /* and a cut on the way */
    assert_int_equal(run(e), OTA_CODE_SUCCESS);
    assert_one_build(e);
    assert_meta(e, e->image2, e->image2_len, "v1.7.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, client_env_teardown)
        /* the wrapper */
        T(test_wrapper_rejects_bad_config),
        T(test_wrapper_clean_passes_everything_in_order),
        T(test_wrapper_is_reproducible),
        T(test_wrapper_reorder_and_delay),
        T(test_wrapper_reorder_swaps_neighbours),
        T(test_wrapper_hold_overflow_delivers_at_once),
        T(test_wrapper_cut_and_gone),
        /* hostile network */
        T(test_loss10_dup10_dragino_w1),
        T(test_loss10_dup10_dragino_w4),
        T(test_loss10_dup10_raw_w4),
        T(test_loss10_dup10_raw_w1),
        T(test_loss_rate_sweep),
        T(test_corrupt_and_truncated_records_never_written),
        T(test_every_record_corrupt_7_nothing_written),
        T(test_raw_corrupt_image_never_staged),
        T(test_truncation_handled),
        T(test_reorder_and_delay_handled),
        T(test_mid_download_disconnect_resumes),
        T(test_all_faults_together),
        T(test_attribute_answers_lost_or_repeated),
        T(test_attribute_answers_damaged),
        T(test_network_gone_for_good_4),
        T(test_failed_update_leaves_no_request),
        /* hostile server */
        T(test_deeply_nested_json_3),
        T(test_truncated_attribute_answer_every_length_3),
        T(test_wrong_types_and_duplicates_3_7),
        T(test_long_titles_and_versions),
        T(test_fw_error_every_kind),
        T(test_fw_error_while_negotiating),
        T(test_server_switches_build_mid_download),
        T(test_server_switches_content_keeps_offer),
        T(test_new_offer_after_staged_one),
        T(test_crc32_dragino_mix_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
