/*
 * Data uplink: status messages published with QoS 1 on a second MQTT
 * connection, connected on demand and flushed before send returns.
 */
#include "cellota_posix/cellota_posix.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <string.h>

/* Longest single wait inside mosquitto_loop while flushing. */
#define UPLINK_LOOP_MS 50
#define UPLINK_KEEPALIVE_S 60

/* A libmosquitto failure as a raw code; keeps errno for MOSQ_ERR_ERRNO. */
static int mosq_fail(cellota_uplink_mqtt_t *u, int rc)
{
    u->last_errno = (rc == MOSQ_ERR_ERRNO) ? errno : 0;
    return CELLOTA_POSIX_EMQTT(rc);
}

static int copy_str(char *dst, const char *src)
{
    size_t n = (src != NULL) ? strlen(src) : 0u;
    if (n > CELLOTA_UPLINK_STR_MAX) {
        return CELLOTA_POSIX_ETOOLONG;
    }
    if (n != 0u) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
    return 0;
}

int cellota_uplink_open(cellota_uplink_mqtt_t *u, const cellota_uplink_cfg_t *cfg)
{
    if (u == NULL || cfg == NULL || cfg->host == NULL || cfg->client_id == NULL ||
        cfg->topic == NULL || cfg->port == 0u) {
        return CELLOTA_POSIX_EPARAM;
    }
    memset(u, 0, sizeof(*u));
    u->port = cfg->port;
    u->mid = -1;
    int rc = copy_str(u->host, cfg->host);
    if (rc == 0) {
        rc = copy_str(u->client_id, cfg->client_id);
    }
    if (rc == 0) {
        rc = copy_str(u->username, cfg->username);
    }
    if (rc == 0) {
        rc = copy_str(u->password, cfg->password);
    }
    if (rc == 0) {
        rc = copy_str(u->topic, cfg->topic);
    }
    return rc;
}

/* ---- callbacks ----------------------------------------------------------------------- */

static void up_on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    cellota_uplink_mqtt_t *u = obj;
    u->connack_rc = rc;
    u->connected = (rc == 0);
}

static void up_on_disconnect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)rc;
    cellota_uplink_mqtt_t *u = obj;
    u->connected = false;
}

static void up_on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    cellota_uplink_mqtt_t *u = obj;
    if (mid == u->mid) {
        u->acked = true;
    }
}

/* ---- connection ------------------------------------------------------------------------ */

static int uplink_create(cellota_uplink_mqtt_t *u)
{
    if (u->mosq != NULL) {
        return 0;
    }
    u->mosq = mosquitto_new(u->client_id, true, u);
    if (u->mosq == NULL) {
        return CELLOTA_POSIX_EMQTT(MOSQ_ERR_NOMEM);
    }
    (void)mosquitto_int_option(u->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(u->mosq, up_on_connect);
    mosquitto_disconnect_callback_set(u->mosq, up_on_disconnect);
    mosquitto_publish_callback_set(u->mosq, up_on_publish);
    if (u->username[0] == '\0' && u->password[0] == '\0') {
        return 0;
    }
    int rc = mosquitto_username_pw_set(u->mosq, u->username[0] != '\0' ? u->username : NULL,
                                       u->password[0] != '\0' ? u->password : NULL);
    return (rc == MOSQ_ERR_SUCCESS) ? 0 : CELLOTA_POSIX_EMQTT(rc);
}

/* Run libmosquitto until *flag is true, the link breaks or the time is up. */
static int uplink_wait(cellota_uplink_mqtt_t *u, const bool *flag)
{
    uint32_t start = cellota_posix_now_ms();
    while (!*flag) {
        if (cellota_posix_now_ms() - start >= CELLOTA_UPLINK_TIMEOUT_MS) {
            return CELLOTA_POSIX_ETIMEOUT;
        }
        int rc = mosquitto_loop(u->mosq, UPLINK_LOOP_MS, 1);
        if (u->connack_rc > 0) {
            u->connected = false;
            return CELLOTA_POSIX_EREFUSED;
        }
        if (rc != MOSQ_ERR_SUCCESS) {
            u->connected = false;
            return mosq_fail(u, rc);
        }
    }
    return 0;
}

static int uplink_connect(cellota_uplink_mqtt_t *u)
{
    int rc = uplink_create(u);
    if (rc != 0) {
        return rc;
    }
    u->connected = false;
    u->connack_rc = -1;
    rc = mosquitto_connect_async(u->mosq, u->host, (int)u->port, UPLINK_KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) {
        return mosq_fail(u, rc);
    }
    rc = uplink_wait(u, &u->connected);
    if (rc != 0) {
        (void)mosquitto_disconnect(u->mosq);
        u->connected = false;
    }
    return rc;
}

/* One try: connect if needed, publish, wait for the PUBACK. */
static int uplink_try(cellota_uplink_mqtt_t *u, const char *msg, size_t len)
{
    if (u->connected && mosquitto_loop(u->mosq, 0, 1) != MOSQ_ERR_SUCCESS) {
        u->connected = false;
    }
    if (!u->connected) {
        int rc = uplink_connect(u);
        if (rc != 0) {
            return rc;
        }
    }
    u->acked = false;
    u->mid = -1;
    int rc = mosquitto_publish(u->mosq, &u->mid, u->topic, (int)len, msg, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        u->connected = false;
        return mosq_fail(u, rc);
    }
    return uplink_wait(u, &u->acked);
}

int cellota_uplink_send(cellota_uplink_mqtt_t *u, const char *msg, size_t len)
{
    if (u == NULL || (msg == NULL && len != 0u) || len > (size_t)INT_MAX) {
        return CELLOTA_POSIX_EPARAM;
    }
    bool was_connected = u->connected;
    u->last_errno = 0;
    int rc = uplink_try(u, msg, len);
    if (rc != 0 && was_connected && !u->connected && rc != CELLOTA_POSIX_EREFUSED) {
        /* The idle link had died under us: one fresh connection. */
        rc = uplink_try(u, msg, len);
    }
    if (rc == 0) {
        u->sent++;
    }
    return rc;
}

const char *cellota_uplink_topic(const cellota_uplink_mqtt_t *u)
{
    return (u != NULL) ? u->topic : "";
}

void cellota_uplink_poll(cellota_uplink_mqtt_t *u)
{
    if (u == NULL || u->mosq == NULL || !u->connected) {
        return;
    }
    if (mosquitto_loop(u->mosq, 0, 1) != MOSQ_ERR_SUCCESS) {
        u->connected = false;
    }
}

void cellota_uplink_close(cellota_uplink_mqtt_t *u)
{
    if (u == NULL || u->mosq == NULL) {
        return;
    }
    if (u->connected) {
        (void)mosquitto_disconnect(u->mosq);
        (void)mosquitto_loop(u->mosq, 0, 1);
    }
    mosquitto_destroy(u->mosq);
    u->mosq = NULL;
    u->connected = false;
}

static int uplink_send_port(void *ctx, const char *msg, size_t len)
{
    return cellota_uplink_send(ctx, msg, len);
}

ota_uplink_t cellota_uplink_port(cellota_uplink_mqtt_t *u)
{
    ota_uplink_t p;
    p.ctx = u;
    p.send = uplink_send_port;
    return p;
}
