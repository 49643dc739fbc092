/*
 * fake_uart.c - scripted fake Quectel module for the driver tests.
 */
#include "fake_uart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void error(fake_uart_t *f, const char *what, const uint8_t *got, size_t n)
{
    size_t o;
    f->errors++;
    if (f->errors > 1) {
        return; /* keep the first */
    }
    o = (size_t)snprintf(f->err, sizeof f->err, "step %zu: %s; got \"", f->cur, what);
    for (size_t i = 0; i < n && o + 6 < sizeof f->err; i++) {
        if (got[i] >= 0x20 && got[i] < 0x7f) {
            f->err[o++] = (char)got[i];
        } else {
            o += (size_t)snprintf(f->err + o, sizeof f->err - o, "\\x%02x", got[i]);
        }
    }
    if (o + 2 < sizeof f->err) {
        f->err[o++] = '"';
        f->err[o] = '\0';
    }
}

void fake_uart_init(fake_uart_t *f)
{
    memset(f, 0, sizeof *f);
    f->frag_min = 1;
    f->frag_max = 8;
    f->seed = 12345u;
}

static void queue(fake_uart_t *f, const uint8_t *d, size_t n)
{
    if (f->rx_pos == f->rx_len) {
        f->rx_pos = 0;
        f->rx_len = 0;
    }
    if (n > sizeof f->rx - f->rx_len) {
        memmove(f->rx, f->rx + f->rx_pos, f->rx_len - f->rx_pos);
        f->rx_len -= f->rx_pos;
        f->rx_pos = 0;
    }
    if (n > sizeof f->rx - f->rx_len) {
        error(f, "rx queue full", d, 0);
        return;
    }
    memcpy(f->rx + f->rx_len, d, n);
    f->rx_len += n;
    f->rx_total += n;
}

/* Queue replies whose time has come; start unsolicited steps. */
static void advance(fake_uart_t *f)
{
    for (;;) {
        fake_uart_step_t *s;
        if (f->reply_pending) {
            if ((int32_t)(f->now - f->reply_due) < 0) {
                return;
            }
            s = &f->steps[f->cur];
            if (s->reply != NULL) {
                queue(f, s->reply, s->reply_len);
            }
            f->reply_pending = false;
            f->cur++;
            if (f->cur < f->nsteps && f->steps[f->cur].expect == NULL) {
                f->reply_pending = true;
                f->reply_due = f->now + f->steps[f->cur].delay_ms;
            }
            continue;
        }
        if (f->cur < f->nsteps && f->steps[f->cur].expect == NULL) {
            f->reply_pending = true;
            f->reply_due = f->now + f->steps[f->cur].delay_ms;
            continue;
        }
        return;
    }
}

static void consume(fake_uart_t *f, size_t n)
{
    memmove(f->pend, f->pend + n, f->pend_len - n);
    f->pend_len -= n;
}

static void respond(fake_uart_t *f)
{
    while (f->pend_len > 0 && f->responder != NULL) {
        if (f->raw_need > 0) {
            size_t n = f->raw_need;
            if (f->pend_len < n) {
                return;
            }
            f->raw_need = 0;
            f->responder(f, f->resp_arg, f->pend, n, true);
            consume(f, n);
            continue;
        }
        uint8_t *cr = memchr(f->pend, '\r', f->pend_len);
        if (cr == NULL) {
            return;
        }
        size_t n = (size_t)(cr - f->pend);
        f->responder(f, f->resp_arg, f->pend, n, false);
        consume(f, n + 1);
    }
}

static void match(fake_uart_t *f)
{
    while (f->pend_len > 0) {
        fake_uart_step_t *s;
        advance(f);
        if (f->reply_pending) {
            return; /* the module is still busy answering: keep the bytes */
        }
        if (f->cur >= f->nsteps) {
            if (f->responder != NULL) {
                respond(f);
            } else if (f->lenient) {
                f->pend_len = 0;
            } else {
                error(f, "unexpected bytes after the end of the script", f->pend, f->pend_len);
                f->pend_len = 0;
            }
            return;
        }
        s = &f->steps[f->cur];
        size_t n = f->pend_len < s->expect_len ? f->pend_len : s->expect_len;
        if (memcmp(f->pend, s->expect, n) != 0) {
            char what[600];
            snprintf(what, sizeof what, "expected \"%.*s\"", (int)s->expect_len,
                     (const char *)s->expect);
            for (char *p = what; *p; p++) {
                if (*p == '\r') {
                    *p = '|';
                }
            }
            error(f, what, f->pend, f->pend_len);
            f->pend_len = 0;
            return;
        }
        if (n < s->expect_len) {
            return;
        }
        consume(f, n);
        f->reply_pending = true;
        f->reply_due = f->now + s->delay_ms;
        advance(f);
    }
}

static int fu_write(void *ctx, const uint8_t *data, size_t len)
{
    fake_uart_t *f = ctx;
    f->writes++;
    if (f->write_error != 0) {
        int e = f->write_error;
        f->write_error = 0;
        return e;
    }
    if (f->write_max != 0 && len > f->write_max) {
        len = f->write_max;
    }
    if (f->log_len + len < sizeof f->log) {
        memcpy(f->log + f->log_len, data, len);
        f->log_len += len;
        f->log[f->log_len] = '\0';
    }
    if (f->pend_len + len > sizeof f->pend) {
        error(f, "pending buffer full", data, 0);
        return (int)len;
    }
    memcpy(f->pend + f->pend_len, data, len);
    f->pend_len += len;
    match(f);
    return (int)len;
}

static int fu_read(void *ctx, uint8_t *buf, size_t cap)
{
    fake_uart_t *f = ctx;
    size_t n, avail;
    unsigned span;
    f->reads++;
    if (f->read_error != 0) {
        int e = f->read_error;
        f->read_error = 0;
        return e;
    }
    advance(f);
    avail = f->rx_len - f->rx_pos;
    if (avail == 0) {
        return 0;
    }
    span = f->frag_max - f->frag_min + 1u;
    f->seed = f->seed * 1103515245u + 12345u;
    n = f->frag_min + (f->seed >> 16) % span;
    if (n > avail) {
        n = avail;
    }
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, f->rx + f->rx_pos, n);
    f->rx_pos += n;
    return (int)n;
}

quectel_uart_t fake_uart_port(fake_uart_t *f)
{
    quectel_uart_t u = {f, fu_write, fu_read};
    return u;
}

void fake_uart_expect_n(fake_uart_t *f, const void *cmd, size_t cmd_len, const void *reply,
                        size_t reply_len, uint32_t delay_ms)
{
    fake_uart_step_t *s;
    if (f->nsteps >= FAKE_UART_MAX_STEPS) {
        error(f, "too many steps", NULL, 0);
        return;
    }
    s = &f->steps[f->nsteps++];
    s->expect = cmd;
    s->expect_len = cmd_len;
    s->reply = reply;
    s->reply_len = reply_len;
    s->delay_ms = delay_ms;
    if (f->nsteps == f->cur + 1 && cmd == NULL && !f->reply_pending) {
        advance(f);
    }
}

void fake_uart_expect_d(fake_uart_t *f, const char *cmd, const char *reply, uint32_t delay_ms)
{
    fake_uart_expect_n(f, cmd, strlen(cmd), reply, reply != NULL ? strlen(reply) : 0, delay_ms);
}

void fake_uart_expect(fake_uart_t *f, const char *cmd, const char *reply)
{
    fake_uart_expect_d(f, cmd, reply, 0);
}

void fake_uart_urc_n(fake_uart_t *f, const void *reply, size_t len, uint32_t delay_ms)
{
    fake_uart_expect_n(f, NULL, 0, reply, len, delay_ms);
}

void fake_uart_urc(fake_uart_t *f, const char *reply, uint32_t delay_ms)
{
    fake_uart_urc_n(f, reply, strlen(reply), delay_ms);
}

void fake_uart_inject(fake_uart_t *f, const void *data, size_t len)
{
    queue(f, data, len);
}

void fake_uart_reply(fake_uart_t *f, const char *s)
{
    queue(f, (const uint8_t *)s, strlen(s));
}

void fake_uart_set_responder(fake_uart_t *f, fake_uart_responder_t fn, void *arg)
{
    f->responder = fn;
    f->resp_arg = arg;
}

void fake_uart_want_raw(fake_uart_t *f, size_t n)
{
    f->raw_need = n;
}

void fake_uart_set_time(fake_uart_t *f, uint32_t now)
{
    f->now = now;
    advance(f);
    if (!f->reply_pending && f->pend_len > 0) {
        match(f);
    }
}

bool fake_uart_done(const fake_uart_t *f)
{
    return f->cur >= f->nsteps && !f->reply_pending && f->rx_pos == f->rx_len;
}

size_t fake_uart_pending(const fake_uart_t *f)
{
    return f->rx_len - f->rx_pos;
}

int fake_uart_sent(const fake_uart_t *f, const char *s)
{
    int n = 0;
    size_t l = strlen(s);
    const char *p = f->log;
    while (l > 0 && (p = strstr(p, s)) != NULL) {
        n++;
        p += l;
    }
    return n;
}

void fake_uart_clear_log(fake_uart_t *f)
{
    f->log_len = 0;
    f->log[0] = '\0';
}

/* ---- pins ---- */

static void record(fake_gpio_t *g, int pin, bool level)
{
    g->level[pin] = level;
    if (g->n < FAKE_GPIO_MAX) {
        g->ev[g->n].pin = pin;
        g->ev[g->n].level = level;
        g->ev[g->n].at = g->clock != NULL ? *g->clock : 0;
        g->n++;
    }
}

static void pin_pwrkey(void *ctx, bool on)
{
    record(ctx, FAKE_PIN_PWRKEY, on);
}

static void pin_reset(void *ctx, bool on)
{
    record(ctx, FAKE_PIN_RESET, on);
}

static void pin_eint(void *ctx, bool on)
{
    record(ctx, FAKE_PIN_EINT, on);
}

quectel_gpio_t fake_gpio_port(fake_gpio_t *g, const uint32_t *clock, bool pwrkey, bool reset,
                              bool eint)
{
    quectel_gpio_t p;
    memset(g, 0, sizeof *g);
    g->clock = clock;
    p.ctx = g;
    p.pwrkey = pwrkey ? pin_pwrkey : NULL;
    p.reset = reset ? pin_reset : NULL;
    p.psm_eint = eint ? pin_eint : NULL;
    return p;
}

/* ---- emulated module -------------------------------------------------- */

static void m_ok(fake_module_t *m)
{
    fake_uart_reply(m->fu, "\r\nOK\r\n");
}

static void m_printf(fake_module_t *m, const char *fmt, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    fake_uart_reply(m->fu, b);
}

static const char hexd[] = "0123456789ABCDEF";

/* Push or buffer an arrived message. */
static void m_on_msg(void *arg, const char *topic, size_t tlen, const uint8_t *p, size_t n)
{
    fake_module_t *m = arg;
    char hdr[256];
    int h;
    if (m->buffered) {
        for (int s = 0; s < 5; s++) {
            fake_module_msg_t *x = &m->slot[s];
            if (x->used || n > sizeof x->pay || tlen >= sizeof x->topic) {
                continue;
            }
            x->used = true;
            x->msgid = ++m->next_msgid;
            memcpy(x->topic, topic, tlen);
            x->topic[tlen] = '\0';
            memcpy(x->pay, p, n);
            x->len = n;
            if (m->lost_recv > 0) {
                m->lost_recv--;
            } else {
                m_printf(m, "\r\n+QMTRECV: 0,%d\r\n", s);
            }
            return;
        }
        return; /* module buffer full: the message is lost */
    }
    if (m->lost_recv > 0) {
        m->lost_recv--;
        return;
    }
    h = snprintf(hdr, sizeof hdr, "\r\n+QMTRECV: 0,%d,\"%.*s\",%zu,\"", ++m->next_msgid, (int)tlen,
                 topic, n);
    fake_uart_inject(m->fu, hdr, (size_t)h);
    if (m->hex) {
        for (size_t i = 0; i < n; i++) {
            char d[2] = {hexd[p[i] >> 4], hexd[p[i] & 15]};
            fake_uart_inject(m->fu, d, 2);
        }
    } else {
        fake_uart_inject(m->fu, p, n);
    }
    fake_uart_inject(m->fu, "\"\r\n", 3);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void m_publish(fake_module_t *m, const uint8_t *p, size_t n)
{
    int rc = m->be.publish(m->be.ctx, m->pub_topic, p, n, 1);
    m->publishes++;
    m_ok(m);
    m_printf(m, "\r\n+QMTPUB%s: 0,%d,%d\r\n", m->pub_ex ? "EX" : "", m->pub_msgid, rc == 0 ? 0 : 2);
}

/* AT+QMTPUB[EX]=0,<msgid>,<qos>,0,"<topic>",<len>[,"<hex>"] */
static void m_pub_cmd(fake_module_t *m, const char *l)
{
    int id, msgid, qos, retain, off = 0;
    unsigned len;
    char topic[128];
    m->pub_ex = strncmp(l, "AT+QMTPUBEX=", 12) == 0;
    if (sscanf(l + (m->pub_ex ? 12 : 10), "%d,%d,%d,%d,\"%127[^\"]\",%u%n", &id, &msgid, &qos,
               &retain, topic, &len, &off) != 6) {
        m->errors++;
        fake_uart_reply(m->fu, "\r\nERROR\r\n");
        return;
    }
    strcpy(m->pub_topic, topic);
    m->pub_msgid = msgid;
    const char *rest = l + (m->pub_ex ? 12 : 10) + off;
    if (*rest == ',') { /* inline hex */
        static uint8_t buf[FAKE_MODULE_PAY];
        size_t n = 0;
        rest += 2; /* ,"  */
        while (hexv(rest[0]) >= 0 && hexv(rest[1]) >= 0 && n < sizeof buf) {
            buf[n++] = (uint8_t)(hexv(rest[0]) * 16 + hexv(rest[1]));
            rest += 2;
        }
        if (n != len) {
            m->errors++;
            fake_uart_reply(m->fu, "\r\n+CME ERROR: 8507\r\n");
            return;
        }
        m_publish(m, buf, n);
        return;
    }
    fake_uart_reply(m->fu, "\r\n> ");
    fake_uart_want_raw(m->fu, len);
}

static void m_read(fake_module_t *m, int s)
{
    fake_module_msg_t *x = (s >= 0 && s < 5) ? &m->slot[s] : NULL;
    char hdr[256];
    int h;
    m->reads++;
    if (x == NULL || !x->used) {
        m_ok(m);
        return;
    }
    h = snprintf(hdr, sizeof hdr, "\r\n+QMTRECV: 0,%d,\"%s\",%zu,\"", x->msgid, x->topic, x->len);
    fake_uart_inject(m->fu, hdr, (size_t)h);
    fake_uart_inject(m->fu, x->pay, x->len);
    fake_uart_inject(m->fu, "\"\r\n\r\nOK\r\n", 9);
    x->used = false;
}

static void m_conn(fake_module_t *m, const char *l)
{
    static char cid[64], user[64];
    static ota_mqtt_conn_t c;
    cid[0] = user[0] = '\0';
    (void)sscanf(l, "AT+QMTCONN=0,\"%63[^\"]\",\"%63[^\"]\"", cid, user);
    c.host = "broker";
    c.port = 1883;
    c.client_id = cid;
    c.username = user;
    c.password = "";
    c.keepalive_s = 120;
    int rc = m->be.connect(m->be.ctx, &c, m_on_msg, m);
    m_ok(m);
    m->connected = rc == 0 && m->be.state(m->be.ctx) == OTA_LINK_UP;
    m_printf(m, "\r\n+QMTCONN: 0,0,%d\r\n", m->connected ? 0 : 5);
}

static bool m_line(fake_module_t *m, const char *l)
{
    int a, b;
    if (strcmp(l, "AT") == 0 || strcmp(l, "ATE0") == 0 || strncmp(l, "AT+CMEE", 7) == 0 ||
        strncmp(l, "AT+QSCLK=", 9) == 0 || strncmp(l, "AT+CFUN=", 8) == 0 ||
        (!m->bc && strncmp(l, "AT+QURCCFG", 10) == 0)) {
        m_ok(m);
    } else if (strcmp(l, "ATI") == 0) {
        m_printf(m, "\r\nQuectel\r\n%s\r\nRevision: FAKE01\r\n\r\nOK\r\n",
                 m->bc ? "BC660K-GL" : "BG95-M3");
    } else if (strcmp(l, "AT+GSN") == 0) {
        m_printf(m, "\r\n866425031234567\r\n\r\nOK\r\n");
    } else if (strcmp(l, "AT+CGSN=1") == 0) {
        m_printf(m, "\r\n+CGSN: \"866425031234567\"\r\n\r\nOK\r\n");
    } else if (strcmp(l, "AT+QMTCFG=?") == 0) {
        m_printf(m, "\r\n+QMTCFG: \"version\",(0-4),(3,4)\r\n+QMTCFG: %s\r\n\r\nOK\r\n",
                 m->bc ? "\"dataformat\",(0-4),(0,1),(0,1)" : "\"recv/mode\",(0-5),(0,1),(0,1)");
    } else if (!m->bc && strcmp(l, "AT+QMTPUBEX=?") == 0) {
        m_printf(m, "\r\n+QMTPUBEX: (0-5),(0-65535),(0-2),(0,1),\"topic\",(1-4096)\r\n\r\nOK\r\n");
    } else if (strcmp(l, "AT+CEREG?") == 0) {
        m_printf(m, "\r\n+CEREG: 0,%d\r\n\r\nOK\r\n", m->bc ? 5 : 1);
    } else if (strcmp(l, "AT+CSQ") == 0) {
        m_printf(m, "\r\n+CSQ: 18,99\r\n\r\nOK\r\n");
    } else if (!m->bc && sscanf(l, "AT+QMTCFG=\"recv/mode\",0,%d,%d", &a, &b) == 2) {
        m->buffered = a == 1;
        m->len_shown = b == 1;
        m_ok(m);
    } else if (m->bc && sscanf(l, "AT+QMTCFG=\"dataformat\",0,%d,%d", &a, &b) == 2) {
        m->hex = a == 1 && b == 1;
        m_ok(m);
    } else if (strncmp(l, "AT+QMTCFG=\"version\"", 19) == 0 ||
               strncmp(l, "AT+QMTCFG=\"keepalive\"", 21) == 0 ||
               strncmp(l, "AT+QMTCFG=\"session\"", 19) == 0 ||
               (m->bc && strncmp(l, "AT+QMTCFG=\"showrecvlen\"", 23) == 0)) {
        m_ok(m);
    } else if (strncmp(l, "AT+QMTOPEN=0,", 13) == 0) {
        m_printf(m, "\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n");
    } else if (strncmp(l, "AT+QMTCONN=0,", 13) == 0) {
        m_conn(m, l);
    } else {
        return false;
    }
    return true;
}

static bool m_mqtt_line(fake_module_t *m, const char *l)
{
    int a, b;
    char topic[128];
    if (sscanf(l, "AT+QMTSUB=0,%d,\"%127[^\"]\",%d", &a, topic, &b) == 3) {
        m->subscribes++;
        int rc = m->be.subscribe(m->be.ctx, topic, (uint8_t)b);
        m_ok(m);
        m_printf(m, "\r\n+QMTSUB: 0,%d,%d,%d\r\n", a, rc == 0 ? 0 : 2, rc == 0 ? b : 128);
    } else if (strncmp(l, "AT+QMTPUB", 9) == 0) {
        m_pub_cmd(m, l);
    } else if (!m->bc && sscanf(l, "AT+QMTRECV=0,%d", &a) == 1) {
        m_read(m, a);
    } else if (!m->bc && strcmp(l, "AT+QMTRECV?") == 0) {
        m_printf(m, "\r\n+QMTRECV: 0,%d,%d,%d,%d,%d\r\n\r\nOK\r\n", m->slot[0].used,
                 m->slot[1].used, m->slot[2].used, m->slot[3].used, m->slot[4].used);
    } else if (strcmp(l, "AT+QMTDISC=0") == 0) {
        if (m->connected) {
            m->be.disconnect(m->be.ctx);
        }
        m->connected = false;
        m_printf(m, "\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n");
    } else if (strcmp(l, "AT+QMTCLOSE=0") == 0) {
        m_printf(m, "\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    } else {
        return false;
    }
    return true;
}

static void m_respond(fake_uart_t *f, void *arg, const uint8_t *data, size_t len, bool raw)
{
    fake_module_t *m = arg;
    char l[600];
    (void)f;
    if (raw) {
        m_publish(m, data, len);
        return;
    }
    if (len >= sizeof l) {
        len = sizeof l - 1;
    }
    memcpy(l, data, len);
    l[len] = '\0';
    m->commands++;
    if (!m_line(m, l) && !m_mqtt_line(m, l)) {
        m->errors++;
        fake_uart_reply(m->fu, "\r\nERROR\r\n");
    }
}

void fake_module_init(fake_module_t *m, fake_uart_t *fu, ota_transport_t backend, bool bc)
{
    memset(m, 0, sizeof *m);
    m->fu = fu;
    m->be = backend;
    m->bc = bc;
    fake_uart_set_responder(fu, m_respond, m);
}

void fake_module_poll(fake_module_t *m, uint32_t now)
{
    m->now = now;
    if (m->connected) {
        (void)m->be.poll(m->be.ctx, now);
    }
}
