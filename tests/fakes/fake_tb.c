/* Fake transport + ThingsBoard firmware server. See fake_tb.h. */
#include "fake_tb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_sha256.h"

void fake_tb_init(fake_tb_t *tb, const uint8_t *pkg, size_t pkg_len, const char *title,
                  const char *version)
{
    memset(tb, 0, sizeof *tb);
    tb->pkg = pkg;
    tb->pkg_len = pkg_len;
    snprintf(tb->title, sizeof tb->title, "%s", title);
    snprintf(tb->version, sizeof tb->version, "%s", version);
    snprintf(tb->algo, sizeof tb->algo, "CRC32");
    ota_crc32_to_tb_hex(ota_crc32(0, pkg, pkg_len), tb->checksum);
    tb->drop_k = tb->corrupt_k = tb->empty_k = tb->oversize_k = -1;
    tb->state = OTA_LINK_DOWN;
}

void fake_tb_use_sha256(fake_tb_t *tb)
{
    ota_sha256_t s;
    uint8_t d[32];
    ota_sha256_init(&s);
    ota_sha256_update(&s, tb->pkg, tb->pkg_len);
    ota_sha256_final(&s, d);
    for (int i = 0; i < 32; i++) {
        snprintf(&tb->checksum[2 * i], 3, "%02x", d[i]);
    }
    snprintf(tb->algo, sizeof tb->algo, "SHA256");
}

static void enqueue(fake_tb_t *tb, const char *topic, const uint8_t *p, size_t len)
{
    if (tb->queued >= FAKE_TB_QUEUE || len > FAKE_TB_PAYLOAD) {
        return; /* lost, like an overflowing broker queue */
    }
    fake_tb_msg_t *m = &tb->queue[tb->queued++];
    snprintf(m->topic, sizeof m->topic, "%s", topic);
    if (len > 0) {
        memcpy(m->payload, p, len);
    }
    m->len = len;
}

static void answer_attrs(fake_tb_t *tb, const char *topic)
{
    char rsp[FAKE_TB_TOPIC];
    char body[1024];
    const char *id = strrchr(topic, '/');
    if (tb->no_answer_attrs || id == NULL) {
        return;
    }
    snprintf(rsp, sizeof rsp, "v1/devices/me/attributes/response/%s", id + 1);
    if (tb->attrs[0] != '\0') {
        snprintf(body, sizeof body, "%s", tb->attrs);
    } else {
        snprintf(body, sizeof body,
                 "{\"shared\":{\"fw_title\":\"%s\",\"fw_version\":\"%s\",\"fw_size\":%lu,"
                 "\"fw_checksum_algorithm\":\"%s\",\"fw_checksum\":\"%s\"}}",
                 tb->title, tb->version, (unsigned long)tb->pkg_len, tb->algo, tb->checksum);
    }
    enqueue(tb, rsp, (const uint8_t *)body, strlen(body));
}

static bool take(int *times)
{
    if (*times == 0) {
        return false;
    }
    if (*times > 0) {
        (*times)--;
    }
    return true;
}

static void answer_chunk(fake_tb_t *tb, const char *topic, const uint8_t *p, size_t len)
{
    unsigned rid = 0, k = 0;
    char sz[16] = {0};
    char rsp[FAKE_TB_TOPIC];
    uint8_t data[FAKE_TB_PAYLOAD];
    size_t size, start, n = 0;

    if (sscanf(topic, "v2/fw/request/%u/chunk/%u", &rid, &k) != 2) {
        return;
    }
    memcpy(sz, p, len < sizeof sz - 1 ? len : sizeof sz - 1);
    snprintf(tb->sizes_seen, sizeof tb->sizes_seen, "%s", sz);
    size = (size_t)strtoul(sz, NULL, 10);
    tb->chunk_requests++;
    if (k < FAKE_TB_MAX_CHUNKS) {
        tb->chunk_req_count[k]++;
    }
    if (rid != tb->last_rid) {
        tb->distinct_rids++;
        tb->last_rid = rid;
    }
    if (tb->error_text != NULL) {
        enqueue(tb, "v2/fw/error", (const uint8_t *)tb->error_text, strlen(tb->error_text));
        return;
    }
    if ((int)k == tb->drop_k && take(&tb->drop_times)) {
        return;
    }
    start = (size_t)k * size;
    if (start < tb->pkg_len) {
        n = tb->pkg_len - start < size ? tb->pkg_len - start : size;
        if (n > sizeof data - 8) {
            n = sizeof data - 8;
        }
        memcpy(data, tb->pkg + start, n);
    }
    if ((int)k == tb->corrupt_k && take(&tb->corrupt_times) && n > 0) {
        data[n / 2] ^= 0x40u;
    }
    if ((int)k == tb->empty_k && take(&tb->empty_times)) {
        n = 0;
    }
    if ((int)k == tb->oversize_k) {
        memset(&data[n], 0xAA, 8);
        n += 8;
        tb->oversize_k = -1;
    }
    if (tb->stray) {
        snprintf(rsp, sizeof rsp, "v2/fw/response/%u/chunk/%u", rid + 77u, k);
        enqueue(tb, rsp, data, n);
        snprintf(rsp, sizeof rsp, "v2/fw/response/%u/chunk/%u", rid, k + 1000u);
        enqueue(tb, rsp, data, n);
    }
    snprintf(rsp, sizeof rsp, "v2/fw/response/%u/chunk/%u", rid, k);
    enqueue(tb, rsp, data, n);
    if (tb->duplicate) {
        enqueue(tb, rsp, data, n);
    }
}

static int t_connect(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t cb, void *arg)
{
    fake_tb_t *tb = ctx;
    tb->connects++;
    if (tb->refuse_connect) {
        return -7;
    }
    snprintf(tb->username, sizeof tb->username, "%s", conn->username ? conn->username : "");
    tb->cb = cb;
    tb->arg = arg;
    tb->queued = 0;
    tb->polls_since_connect = 0;
    tb->in_flight = 0;
    tb->state = tb->connack_fail ? OTA_LINK_FAILED
                : tb->connect_polls > 0 ? OTA_LINK_CONNECTING : OTA_LINK_UP;
    return 0;
}

static ota_link_state_t t_state(void *ctx)
{
    return ((fake_tb_t *)ctx)->state;
}

static int t_subscribe(void *ctx, const char *filter, uint8_t qos)
{
    fake_tb_t *tb = ctx;
    (void)filter;
    (void)qos;
    if (tb->state != OTA_LINK_UP) {
        return -1;
    }
    tb->subscribes++;
    return 0;
}

static int t_publish(void *ctx, const char *topic, const uint8_t *p, size_t len, uint8_t qos)
{
    fake_tb_t *tb = ctx;
    (void)qos;
    if (tb->state != OTA_LINK_UP) {
        return -1;
    }
    tb->publishes++;
    if (tb->publish_fail_after > 0 && tb->publishes > tb->publish_fail_after) {
        return -5;
    }
    if (strcmp(topic, "v1/devices/me/telemetry") == 0 && tb->telemetry_count < FAKE_TB_LOG) {
        size_t n = len < 255 ? len : 255;
        memcpy(tb->telemetry[tb->telemetry_count], p, n);
        tb->telemetry[tb->telemetry_count++][n] = '\0';
    } else if (strncmp(topic, "v1/devices/me/attributes/request/", 33) == 0) {
        answer_attrs(tb, topic);
    } else if (strncmp(topic, "v2/fw/request/", 14) == 0) {
        tb->in_flight++;
        if (tb->in_flight > tb->outstanding_max) {
            tb->outstanding_max = tb->in_flight;
        }
        answer_chunk(tb, topic, p, len);
    }
    return 0;
}

static void t_disconnect(void *ctx)
{
    fake_tb_t *tb = ctx;
    tb->disconnects++;
    tb->state = OTA_LINK_DOWN;
    tb->queued = 0;
}

static void deliver(fake_tb_t *tb, const fake_tb_msg_t *m)
{
    if (strncmp(m->topic, "v2/fw/response/", 15) == 0) {
        tb->answers++;
        if (tb->in_flight > 0) {
            tb->in_flight--;
        }
        if (tb->drop_link_after > 0 && tb->answers >= tb->drop_link_after) {
            tb->state = OTA_LINK_FAILED;
            tb->drop_link_after = 0;
            return;
        }
    }
    tb->cb(tb->arg, m->topic, strlen(m->topic), m->len ? m->payload : NULL, m->len);
}

static int t_poll(void *ctx, uint32_t now)
{
    fake_tb_t *tb = ctx;
    static fake_tb_msg_t batch[FAKE_TB_QUEUE];
    int n;
    (void)now;
    if (tb->state == OTA_LINK_CONNECTING && ++tb->polls_since_connect >= tb->connect_polls) {
        tb->state = OTA_LINK_UP;
    }
    if (tb->state != OTA_LINK_UP) {
        return 0;
    }
    /* Deliver what was queued before this poll; answers to requests made
     * while delivering wait for the next poll. */
    n = tb->queued;
    memcpy(batch, tb->queue, (size_t)n * sizeof batch[0]);
    tb->queued = 0;
    for (int i = 0; i < n && tb->state == OTA_LINK_UP; i++) {
        deliver(tb, &batch[tb->reorder ? n - 1 - i : i]);
    }
    return 0;
}

ota_transport_t fake_tb_transport(fake_tb_t *tb)
{
    ota_transport_t t = {tb, t_connect, t_state, t_subscribe, t_publish, t_disconnect, t_poll};
    return t;
}

int fake_tb_pending(const fake_tb_t *tb)
{
    return tb->queued;
}

bool fake_tb_telemetry_has(const fake_tb_t *tb, const char *needle)
{
    for (int i = 0; i < tb->telemetry_count; i++) {
        if (strstr(tb->telemetry[i], needle) != NULL) {
            return true;
        }
    }
    return false;
}

static uint32_t clk_now(void *ctx)
{
    return ((fake_clock_t *)ctx)->now;
}

ota_clock_t fake_clock(fake_clock_t *clk)
{
    ota_clock_t c = {clk, clk_now};
    return c;
}

static int up_send(void *ctx, const char *msg, size_t len)
{
    fake_uplink_t *up = ctx;
    size_t n = len < sizeof up->last - 1 ? len : sizeof up->last - 1;
    memcpy(up->last, msg, n);
    up->last[n] = '\0';
    up->count++;
    return 0;
}

static void do_reboot(void *ctx)
{
    ((fake_uplink_t *)ctx)->reboots++;
}

ota_uplink_t fake_uplink(fake_uplink_t *up)
{
    ota_uplink_t u = {up, up_send};
    return u;
}

ota_reboot_t fake_reboot(fake_uplink_t *up)
{
    ota_reboot_t r = {up, do_reboot};
    return r;
}
