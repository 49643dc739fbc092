/*
 * MQTT transport on libmosquitto, single-threaded: no loop thread, all I/O
 * in the port's poll (non-blocking), messages delivered only from there.
 */
#include "cellota_posix/cellota_posix.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <poll.h>
#include <string.h>

/* mosquitto_loop passes per poll: each pass reads at most one packet. */
#define MQTT_POLL_PASSES 64
/* libmosquitto refuses keep-alives below this. */
#define MQTT_MIN_KEEPALIVE 5

/* ---- process-wide set-up --------------------------------------------------- */

static unsigned g_init_count;

int cellota_posix_init(void)
{
    if (g_init_count == 0u) {
        int rc = mosquitto_lib_init();
        if (rc != MOSQ_ERR_SUCCESS) {
            return CELLOTA_POSIX_EMQTT(rc);
        }
    }
    g_init_count++;
    return 0;
}

void cellota_posix_cleanup(void)
{
    if (g_init_count == 0u) {
        return;
    }
    g_init_count--;
    if (g_init_count == 0u) {
        (void)mosquitto_lib_cleanup();
    }
}

/* ---- helpers ------------------------------------------------------------------ */

static bool str_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Copy the namespace + topic into t->topic. */
static int mqtt_full_topic(cellota_mqtt_t *t, const char *topic)
{
    size_t n = strlen(topic);
    if (n > CELLOTA_MQTT_TOPIC_MAX - t->ns_len) {
        return CELLOTA_POSIX_ETOOLONG;
    }
    memcpy(t->topic, t->ns, t->ns_len);
    memcpy(t->topic + t->ns_len, topic, n + 1u);
    return 0;
}

static bool socket_readable(struct mosquitto *m)
{
    struct pollfd pfd;
    pfd.fd = mosquitto_socket(m);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return false;
    }
    return poll(&pfd, 1u, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* ---- libmosquitto callbacks ------------------------------------------------------ */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    cellota_mqtt_t *t = obj;
    t->connack_rc = rc;
    if (t->state == OTA_LINK_DOWN) {
        return;
    }
    t->state = (rc == 0) ? OTA_LINK_UP : OTA_LINK_FAILED;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    cellota_mqtt_t *t = obj;
    t->disconnect_rc = rc;
    if (t->state != OTA_LINK_DOWN) {
        t->state = OTA_LINK_FAILED;
    }
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)mid;
    ((cellota_mqtt_t *)obj)->completed++;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    cellota_mqtt_t *t = obj;
    if (t->on_msg == NULL || t->state != OTA_LINK_UP || msg->topic == NULL || msg->payloadlen < 0) {
        t->dropped++;
        return;
    }
    size_t tlen = strlen(msg->topic);
    if (tlen < t->ns_len || memcmp(msg->topic, t->ns, t->ns_len) != 0) {
        t->dropped++;
        return;
    }
    t->received++;
    if (t->tap != NULL) {
        t->tap(t->tap_arg, msg->topic + t->ns_len, tlen - t->ns_len, (const uint8_t *)msg->payload,
               (size_t)msg->payloadlen);
    }
    t->on_msg(t->arg, msg->topic + t->ns_len, tlen - t->ns_len, (const uint8_t *)msg->payload,
              (size_t)msg->payloadlen);
}

/* ---- port functions ------------------------------------------------------------- */

static int mqtt_setup(cellota_mqtt_t *t, const ota_mqtt_conn_t *conn)
{
    t->mosq = mosquitto_new(conn->client_id, true, t);
    if (t->mosq == NULL) {
        t->last_errno = errno;
        return CELLOTA_POSIX_EMQTT(MOSQ_ERR_NOMEM);
    }
    (void)mosquitto_int_option(t->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(t->mosq, on_connect);
    mosquitto_disconnect_callback_set(t->mosq, on_disconnect);
    mosquitto_message_callback_set(t->mosq, on_message);
    mosquitto_publish_callback_set(t->mosq, on_publish);
    if (str_empty(conn->username) && str_empty(conn->password)) {
        return 0;
    }
    int rc = mosquitto_username_pw_set(t->mosq, str_empty(conn->username) ? NULL : conn->username,
                                       str_empty(conn->password) ? NULL : conn->password);
    return (rc == MOSQ_ERR_SUCCESS) ? 0 : CELLOTA_POSIX_EMQTT(rc);
}

static void mqtt_destroy(cellota_mqtt_t *t)
{
    if (t->mosq != NULL) {
        mosquitto_destroy(t->mosq);
        t->mosq = NULL;
    }
}

static int mqtt_connect(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t on_msg, void *arg)
{
    cellota_mqtt_t *t = ctx;
    if (t == NULL || conn == NULL || str_empty(conn->host) || conn->client_id == NULL ||
        conn->port == 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (t->in_poll) {
        return CELLOTA_POSIX_ESTATE;
    }
    mqtt_destroy(t);
    t->state = OTA_LINK_FAILED;
    t->connack_rc = -1;
    t->disconnect_rc = 0;
    t->completed = t->published; /* nothing of an old connection is waited for */
    int rc = mqtt_setup(t, conn);
    if (rc != 0) {
        mqtt_destroy(t);
        return rc;
    }
    t->on_msg = on_msg;
    t->arg = arg;
    t->state = OTA_LINK_CONNECTING;
    int keepalive = conn->keepalive_s < MQTT_MIN_KEEPALIVE ? MQTT_MIN_KEEPALIVE : (int)conn->keepalive_s;
    rc = mosquitto_connect_async(t->mosq, conn->host, (int)conn->port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        t->last_errno = errno;
        t->state = OTA_LINK_FAILED;
        return CELLOTA_POSIX_EMQTT(rc);
    }
    return 0;
}

static ota_link_state_t mqtt_state(void *ctx)
{
    const cellota_mqtt_t *t = ctx;
    return (t != NULL) ? t->state : OTA_LINK_DOWN;
}

/* 0 if the link is up and usable. */
static int mqtt_ready(const cellota_mqtt_t *t, const char *topic)
{
    if (t == NULL || topic == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (t->mosq == NULL || t->state != OTA_LINK_UP) {
        return CELLOTA_POSIX_ESTATE;
    }
    return 0;
}

static int mqtt_subscribe(void *ctx, const char *filter, uint8_t qos)
{
    cellota_mqtt_t *t = ctx;
    int rc = mqtt_ready(t, filter);
    if (rc == 0) {
        rc = mqtt_full_topic(t, filter);
    }
    if (rc != 0) {
        return rc;
    }
    rc = mosquitto_subscribe(t->mosq, NULL, t->topic, (int)qos);
    return (rc == MOSQ_ERR_SUCCESS) ? 0 : CELLOTA_POSIX_EMQTT(rc);
}

static int mqtt_publish(void *ctx, const char *topic, const uint8_t *payload, size_t len, uint8_t qos)
{
    cellota_mqtt_t *t = ctx;
    int rc = mqtt_ready(t, topic);
    if (rc == 0 && ((payload == NULL && len != 0u) || len > (size_t)INT_MAX)) {
        rc = CELLOTA_POSIX_EPARAM;
    }
    if (rc == 0) {
        rc = mqtt_full_topic(t, topic);
    }
    if (rc != 0) {
        return rc;
    }
    rc = mosquitto_publish(t->mosq, NULL, t->topic, (int)len, payload, (int)qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        t->last_errno = errno;
        return CELLOTA_POSIX_EMQTT(rc);
    }
    t->published++;
    return 0;
}

static void mqtt_disconnect(void *ctx)
{
    cellota_mqtt_t *t = ctx;
    if (t == NULL) {
        return;
    }
    if (t->mosq != NULL) {
        /* Deliver what was already published (the fw_state telemetry right
         * before the close, for example; libmosquitto may still hold QoS 1
         * messages beyond its in-flight window) before closing: at most 1 s. */
        uint32_t start = cellota_posix_now_ms();
        while (t->state == OTA_LINK_UP && t->completed != t->published &&
               cellota_posix_now_ms() - start < 1000u) {
            (void)mosquitto_loop(t->mosq, 20, 1);
        }
        (void)mosquitto_disconnect(t->mosq);
        (void)mosquitto_loop(t->mosq, 0, 1);
    }
    t->state = OTA_LINK_DOWN;
}

static int mqtt_poll(void *ctx, uint32_t now_ms)
{
    (void)now_ms;
    cellota_mqtt_t *t = ctx;
    if (t == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    if (t->mosq == NULL || mosquitto_socket(t->mosq) < 0) {
        return 0;
    }
    int rc = MOSQ_ERR_SUCCESS;
    t->in_poll = true;
    for (int i = 0; i < MQTT_POLL_PASSES; i++) {
        rc = mosquitto_loop(t->mosq, 0, 1);
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(t->mosq) < 0) {
            break;
        }
        if (!socket_readable(t->mosq) && !mosquitto_want_write(t->mosq)) {
            break;
        }
    }
    t->in_poll = false;
    if (rc == MOSQ_ERR_SUCCESS || t->state == OTA_LINK_DOWN) {
        return 0;
    }
    t->last_errno = errno;
    t->state = OTA_LINK_FAILED;
    return CELLOTA_POSIX_EMQTT(rc);
}

/* ---- public functions ------------------------------------------------------------- */

void cellota_mqtt_init(cellota_mqtt_t *t)
{
    if (t == NULL) {
        return;
    }
    memset(t, 0, sizeof(*t));
    t->state = OTA_LINK_DOWN;
    t->connack_rc = -1;
}

int cellota_mqtt_set_namespace(cellota_mqtt_t *t, const char *ns)
{
    if (t == NULL) {
        return CELLOTA_POSIX_EPARAM;
    }
    size_t n = (ns != NULL) ? strlen(ns) : 0u;
    if (n > CELLOTA_MQTT_NS_MAX) {
        return CELLOTA_POSIX_ETOOLONG;
    }
    if (n != 0u) {
        memcpy(t->ns, ns, n);
    }
    t->ns[n] = '\0';
    t->ns_len = n;
    return 0;
}

void cellota_mqtt_set_tap(cellota_mqtt_t *t, ota_msg_cb_t tap, void *arg)
{
    if (t == NULL) {
        return;
    }
    t->tap = tap;
    t->tap_arg = arg;
}

ota_transport_t cellota_mqtt_port(cellota_mqtt_t *t)
{
    ota_transport_t p;
    p.ctx = t;
    p.connect = mqtt_connect;
    p.state = mqtt_state;
    p.subscribe = mqtt_subscribe;
    p.publish = mqtt_publish;
    p.disconnect = mqtt_disconnect;
    p.poll = mqtt_poll;
    return p;
}

int cellota_mqtt_fd(const cellota_mqtt_t *t)
{
    if (t == NULL || t->mosq == NULL) {
        return -1;
    }
    return mosquitto_socket(t->mosq);
}

bool cellota_mqtt_want_write(const cellota_mqtt_t *t)
{
    return t != NULL && t->mosq != NULL && mosquitto_socket(t->mosq) >= 0 &&
           mosquitto_want_write(t->mosq);
}

void cellota_mqtt_close(cellota_mqtt_t *t)
{
    if (t == NULL || t->in_poll) {
        return;
    }
    if (t->mosq != NULL && t->state != OTA_LINK_DOWN) {
        t->state = OTA_LINK_DOWN;
        (void)mosquitto_disconnect(t->mosq);
        (void)mosquitto_loop(t->mosq, 0, 1);
    }
    t->state = OTA_LINK_DOWN;
    mqtt_destroy(t);
}
