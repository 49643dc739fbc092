/*
 * quectel.c - Quectel BG95 / BC660K driver: scripts of AT steps, the
 * asynchronous MQTT results, URCs, the recovery ladder, and the transport
 * and modem interfaces. The byte-level work is in at_engine.c.
 *
 * Model: the driver keeps what it knows about the module (q->k[K_*]: alive,
 * configured, registered, MQTT open/connected, sleep enabled) and what the
 * application wants (W_* flags). When nothing runs, choose() starts the
 * script that brings the first missing piece; a module restart or a
 * recovery rung only clears knowledge, and the same logic re-applies
 * everything. A script is a string of step ids in k_sc[] ended by an end
 * code that names it; q->pc points at the current step. What a step sends,
 * and how its result is taken, is in k_fmt[] and k_step[] (by step id).
 */
#include "cellota/quectel.h"

#include <string.h>

#include "../ota_fmt.h"
#include "at_engine.h"

/* What the driver knows about the module: q->k[K_*] (0 or 1). */
#define K_ALIVE 0u  /* answered since it last started */
#define K_INIT 1u   /* start-up configuration applied */
#define K_ATT 2u    /* registered */
#define K_OPEN 3u   /* MQTT client opened */
#define K_CONN 4u   /* MQTT client connected */
#define K_SCLK 5u   /* AT+QSCLK=1 applied */
#define K_BOOTED 6u /* RDY seen, APP RDY may follow */
#define K_LOST 7u   /* how many of the above: what a module restart loses */
#define K_WAIT 7u   /* wait_until is armed */
#define K_WOKE 8u   /* wake-up AT done before the next command */

/* What is wanted (q->want). */
#define W_NET 0x01u
#define W_MQTT 0x02u
#define W_OFF 0x04u
#define W_SLEEP 0x08u

/* Features and modes (q->feat). */
#define F_PUBEX 0x01u    /* AT+QMTPUBEX takes a length */
#define F_RX_LEN 0x02u   /* +QMTRECV carries the payload length */
#define F_HEX 0x04u      /* dataformat hex both ways */
#define F_HEX2 0x08u     /* hex publish length counts digits */
#define F_NOQRECV 0x10u  /* AT+QMTRECV? not supported */
#define F_SAW_RECV 0x20u /* AT+QMTCFG=? lists "recv/mode" (= C_NORECV) */
#define F_SAW_DF 0x80u   /* AT+QMTCFG=? lists "dataformat" (= C_NODF) */
#define F_MODES (F_RX_LEN | F_HEX)

#define PIN_PWRKEY 1u
#define PIN_RESET 2u
#define PIN_EINT 4u

#define KIND_SUB 1u
#define KIND_PUB 2u
#define QHDR 4u /* queue record: kind|qos<<2|tries<<4, topic len, payload len (LE16) */

#define REG_POLL_MS 2000u
#define RECV_CHECK_MS 10000u
#define HEX_MAX 730u

/* Step ids. */
enum {
    ST_NONE = 0, /* no step */
    ST_AT, ST_PROBE, ST_WAKE,
    ST_PWRON, ST_WAITRDY, ST_PWROFF, ST_SETTLE, ST_EINT,
    ST_E0, ST_ATI, ST_CMEE, ST_URCPORT, ST_GSN, ST_CGSN, ST_CFGTEST, ST_PUBEXTEST,
    ST_SCLK0, ST_SCLK1, ST_APN_BG, ST_APN_BC,
    ST_CFUN1, ST_CFUN0, ST_CEREG, ST_CSQ,
    ST_VER, ST_KA, ST_SESS, ST_RECV1, ST_RECV0, ST_DF, ST_SRL,
    ST_QPOWD, ST_RESET, ST_QITEM,
    ST_OPEN, ST_CONN, ST_DISC, ST_CLOSE, ST_SUB, ST_PUB, /* in the order of k_lines */
    ST_READ, ST_RECVQ
};

/* Step flags (k_step, low bits; the high nibble is the step's skip
 * condition, an index in k_skip). By step id: AT .. WAKE time out after
 * 1 s, PWRON .. EINT are pins and waits (no command), and the script waits
 * for the asynchronous result of OPEN .. CLOSE. */
#define S_OPT 0x01u  /* an ERROR answer is accepted */
#define S_LONG 0x02u /* cfun_timeout */
#define SK(i) ((i) << 4)

/* Skip conditions (q->cond; a step is skipped when q->cond & k_skip[k_step[id] >> 4]). */
#define C_BG 0x01u     /* dialect BG95 (= QUECTEL_BG95): skip BC660K-only steps */
#define C_BC 0x02u     /* dialect BC660K (= QUECTEL_BC660K): skip BG95-only steps */
#define C_DIALECT (C_BG | C_BC)
#define C_FIXED 0x04u  /* dialect configured: no ATI */
#define C_IMEI 0x08u   /* IMEI known */
#define C_NOAPN 0x10u  /* no APN configured */
#define C_NORECV 0x20u /* AT+QMTCFG=? answered without "recv/mode" */
#define C_RXBUF 0x40u  /* buffered receive mode set */
#define C_NODF 0x80u   /* AT+QMTCFG=? answered without "dataformat" */
#define BG_ONLY C_BC
#define BC_ONLY C_BG

/* Field codes in the command texts (one byte each, below ' '); octal
 * escapes of three digits, so that the text after them cannot extend them. */
#define F_QMT "\001"   /* +QMT */
#define F_CFG "\002"   /* +QMTCFG=" */
#define F_IDX "\003"   /* client index */
#define F_VER "\004"   /* MQTT version (BG95 4, BC660K 1) */
#define F_KA "\005"    /* keepalive */
#define F_PORT "\006"  /* port */
#define F_MSGID "\007" /* message id */
#define F_SLOT "\010"  /* receive slot */
#define F_QOS "\011"   /* QoS of the queued item */
#define F_LEN "\012"   /* payload length of the queued item */
#define F_HOST "\013"  /* host */
#define F_CID "\014"   /* client id */
#define F_APN "\015"   /* APN */
#define F_TOPIC "\016" /* topic of the queued item */
#define F_AUTH "\017"  /* ,"user","password" when given */
#define F_EX "\020"    /* "EX" when AT+QMTPUBEX takes a length */

/* Command text after "AT" of each step, in step order, NUL-separated. */
static const char k_fmt[] =
    "\0"             /* NONE */
    "\0\0\0"         /* AT, PROBE, WAKE */
    "\0\0\0\0\0"     /* PWRON, WAITRDY, PWROFF, SETTLE, EINT */
    "E0\0"
    "I\0"
    "+CMEE=1\0"
    "+QURCCFG=\"urcport\",\"uart1\"\0"
    "+GSN\0"
    "+CGSN=1\0"
    F_QMT "CFG=?\0"
    F_QMT "PUBEX=?\0"
    "+QSCLK=0\0"
    "+QSCLK=1\0"
    "+QICSGP=1,1,\"" F_APN "\"\0"
    "+QCGDEFCONT=\"IP\",\"" F_APN "\"\0"
    "+CFUN=1\0"
    "+CFUN=0\0"
    "+CEREG?\0"
    "+CSQ\0"
    F_CFG "version\"," F_IDX "," F_VER "\0"
    F_CFG "keepalive\"," F_IDX "," F_KA "\0"
    F_CFG "session\"," F_IDX ",1\0"
    F_CFG "recv/mode\"," F_IDX ",1,1\0"
    F_CFG "recv/mode\"," F_IDX ",0,1\0"
    F_CFG "dataformat\"," F_IDX ",1,1\0"
    F_CFG "showrecvlen\"," F_IDX ",1\0"
    "+QPOWD=1\0"
    "+CFUN=1,1\0"
    "\0" /* QITEM */
    F_QMT "OPEN=" F_IDX ",\"" F_HOST "\"," F_PORT "\0"
    F_QMT "CONN=" F_IDX ",\"" F_CID "\"" F_AUTH "\0"
    F_QMT "DISC=" F_IDX "\0"
    F_QMT "CLOSE=" F_IDX "\0"
    F_QMT "SUB=" F_IDX "," F_MSGID ",\"" F_TOPIC "\"," F_QOS "\0"
    F_QMT "PUB" F_EX "=" F_IDX "," F_MSGID "," F_QOS ",0,\"" F_TOPIC "\"," F_LEN "\0"
    F_QMT "RECV=" F_IDX "," F_SLOT "\0"
    F_QMT "RECV?";

/* Skip conditions, by index. */
static const uint8_t k_skip[] = {
    0, C_FIXED, BG_ONLY, C_IMEI, BG_ONLY | C_NOAPN, BC_ONLY | C_NOAPN, BG_ONLY | C_NORECV,
    BG_ONLY | C_NORECV | C_RXBUF, BC_ONLY | C_NODF, BC_ONLY,
};

static const uint8_t k_step[] = {
    0, 0, S_OPT, S_OPT,                                       /* NONE AT PROBE WAKE */
    0, 0, 0, 0, 0,                                            /* pins and waits */
    0, S_OPT | SK(1), S_OPT, S_OPT | SK(2),                   /* E0 ATI CMEE URCPORT */
    S_OPT, S_OPT | SK(3), S_OPT, S_OPT | SK(2),               /* GSN CGSN CFGTEST PUBEXTEST */
    S_OPT, S_OPT, S_OPT | SK(4), S_OPT | SK(5),               /* SCLK0 .. APN_BC */
    S_LONG, S_LONG | S_OPT, 0, S_OPT,                         /* CFUN1 CFUN0 CEREG CSQ */
    S_OPT, S_OPT, S_OPT, S_OPT | SK(6),                       /* VER KA SESS RECV1 */
    S_OPT | SK(7), S_OPT | SK(8), S_OPT | SK(9),              /* RECV0 DF SRL */
    S_OPT, S_LONG | S_OPT, 0,                                 /* QPOWD RESET QITEM */
    0, 0, S_OPT, S_OPT,                                       /* OPEN CONN DISC CLOSE */
    0, 0, S_OPT, S_OPT,                                       /* SUB PUB READ RECVQ */
};

/* Scripts: step ids, each script ended by an end code (E_*, above every
 * step id) that says which script ended; a script id is its offset. */
#define E_NONE 0x40u   /* nothing to record */
#define E_BOOT 0x41u   /* E_BOOT .. E_ATT: in quectel_state_t's order */
#define E_INIT 0x42u
#define E_ATT 0x43u
#define E_MQTT 0x44u
#define E_CLOSE 0x45u
#define E_OFF 0x46u
#define E_PROBE 0x47u  /* E_PROBE and above: recovery scripts */
#define E_REOPEN 0x48u
#define E_CFUN 0x49u
#define E_POWER 0x4Au

#define SC_NONE 0u
#define SC_BOOT 1u
#define SC_PROBE (SC_BOOT + 5u)
#define SC_INIT (SC_PROBE + 2u)
#define SC_ATT (SC_INIT + 12u)
#define SC_MQTT (SC_ATT + 4u)
#define SC_CLOSE (SC_MQTT + 10u)
#define SC_REOPEN (SC_CLOSE + 3u)
#define SC_OFF (SC_REOPEN + 2u)
#define SC_SLEEP (SC_OFF + 2u)
#define SC_WAKE (SC_SLEEP + 2u)
#define SC_QUEUE (SC_WAKE + 3u)
#define SC_READ (SC_QUEUE + 2u)
#define SC_CHECK (SC_READ + 2u)
#define SC_CFUN (SC_CHECK + 2u)
#define SC_POWER (SC_CFUN + 2u)

static const uint8_t k_sc[] = {
    E_NONE,
    /* SC_BOOT */ ST_PROBE, ST_PWRON, ST_WAITRDY, ST_AT, E_BOOT,
    /* SC_PROBE */ ST_AT, E_PROBE,
    /* SC_INIT */
    ST_E0, ST_ATI, ST_CMEE, ST_URCPORT, ST_GSN, ST_CGSN, ST_CFGTEST, ST_PUBEXTEST, ST_SCLK0,
    ST_APN_BG, ST_APN_BC, E_INIT,
    /* SC_ATT */
    ST_CFUN1, ST_CEREG, ST_CSQ, E_ATT,
    /* SC_MQTT */
    ST_VER, ST_KA, ST_SESS, ST_RECV1, ST_RECV0, ST_DF, ST_SRL, ST_OPEN, ST_CONN,
    E_MQTT,
    /* SC_CLOSE */ ST_DISC, ST_CLOSE, E_CLOSE,
    /* SC_REOPEN */ ST_CLOSE, E_REOPEN,
    /* SC_OFF */ ST_QPOWD, E_OFF,
    /* SC_SLEEP */ ST_SCLK1, E_NONE,
    /* SC_WAKE */ ST_EINT, ST_SCLK0, E_NONE,
    /* SC_QUEUE */ ST_QITEM, E_NONE,
    /* SC_READ */ ST_READ, E_NONE,
    /* SC_CHECK */ ST_RECVQ, E_NONE,
    /* SC_CFUN */ ST_CFUN0, E_CFUN,
    /* SC_POWER */ ST_PWROFF, ST_SETTLE, E_POWER,
};

/* Keep the script offsets above in step with the table, and the orders the
 * code relies on: a queued item's kind maps to ST_SUB / ST_PUB, the end
 * codes E_BOOT .. E_ATT to QUECTEL_ST_BOOTING .. QUECTEL_ST_ATTACHING, one
 * k_step entry per step. */
typedef char k_sc_offsets_ok[(sizeof k_sc == SC_POWER + 3u) ? 1 : -1];
typedef char k_orders_ok[(ST_PUB == ST_SUB + 1 && KIND_PUB == KIND_SUB + 1 &&
                          E_BOOT - E_NONE == QUECTEL_ST_BOOTING &&
                          E_ATT - E_NONE == QUECTEL_ST_ATTACHING && sizeof k_step == ST_RECVQ + 1u)
                             ? 1
                             : -1];

/* +QMTSTAT <code> -> the rung it calls for (code 5: normal disconnect). */
static const uint8_t k_stat_rung[8] = {
    QUECTEL_REC_REOPEN, QUECTEL_REC_REOPEN, QUECTEL_REC_CFUN, QUECTEL_REC_REOPEN,
    QUECTEL_REC_REOPEN, QUECTEL_REC_NONE,   QUECTEL_REC_REOPEN, QUECTEL_REC_CFUN,
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static bool due(uint32_t now, uint32_t t)
{
    return (int32_t)(now - t) >= 0;
}

static bool is_bc(const quectel_t *q)
{
    return (q->cond & C_BC) != 0u;
}

/* The dialect is the C_DIALECT bits of q->cond (0 while unknown). */
static void set_dialect(quectel_t *q, uint8_t d)
{
    if ((q->cond & C_DIALECT) == 0u) {
        q->cond |= d;
    }
}

/* The command text of a step (after "AT"). */
static const char *fmt(unsigned id)
{
    const char *p = k_fmt;
    while (id != 0u) {
        p += strlen(p) + 1u;
        id--;
    }
    return p;
}

/* Buffered receive: look for messages whose +QMTRECV URC was lost. */
static bool recv_check(const quectel_t *q)
{
    return (q->cond & C_RXBUF) != 0u && (q->feat & F_NOQRECV) == 0u;
}

NOINLINE static void wait(quectel_t *q, uint32_t ms)
{
    q->wait_until = q->now + ms;
    q->k[K_WAIT] = 1;
}

static void start(quectel_t *q, unsigned sc)
{
    q->pc = (uint8_t)sc;
}

/* The end code of the script that runs (E_NONE when none runs). */
NOINLINE static uint8_t script_end(const quectel_t *q)
{
    const uint8_t *p = k_sc + q->pc;
    while (*p < E_NONE) {
        p++;
    }
    return *p;
}

/* Comma-separated integers after the ':' of a line that is about our
 * client (the first integer is its index); returns how many were read, 0
 * for a line about another client. */
static unsigned ints(const quectel_t *q, const char *l, int32_t *v, unsigned max)
{
    const char *p = strchr(l, ':');
    unsigned n = 0;
    bool ok;
    if (p == NULL) {
        return 0;
    }
    while (n < max && *p != '\0') {
        p++; /* the ':' or the ',' */
        v[n] = quectel_at_num(&p, &ok);
        if (!ok) {
            break;
        }
        n++;
        while (*p != ',' && *p != '\0') {
            p++;
        }
    }
    return (n != 0u && v[0] == (int32_t)q->idx) ? n : 0u;
}

/* Whether s contains w (no strstr: the application links no other user of
 * it, and newlib's takes about 1 KB). */
NOINLINE static bool has(const char *s, const char *w)
{
    for (; *s != '\0'; s++) {
        if (quectel_at_prefix(s, w) != NULL) {
            return true;
        }
    }
    return false;
}

/* Top-level commas (outside quotes) and quotes of a line. */
static unsigned count(const char *l, const char **f3)
{
    unsigned commas = 0;
    unsigned quotes = 0;
    *f3 = NULL;
    for (; *l != '\0'; l++) {
        if (*l == '"') {
            quotes++;
        } else if (*l == ',' && (quotes & 1u) == 0u) {
            commas++;
            if (commas == 3u) {
                *f3 = l + 1;
            }
        }
    }
    return commas | (quotes << 8);
}

/* ------------------------------------------------------------------------ */
/* Outgoing queue                                                           */
/* ------------------------------------------------------------------------ */

NOINLINE static uint16_t rec_len(const uint8_t *r)
{
    return (uint16_t)(QHDR + r[1] + (uint16_t)(r[2] | (r[3] << 8)));
}

static void q_pop(quectel_t *q)
{
    uint16_t n;
    if (q->txq_len == 0u) {
        return;
    }
    n = rec_len(q->txq);
    q->txq_len = (uint16_t)(q->txq_len - n);
    (void)memmove(q->txq, q->txq + n, q->txq_len);
}

/* h: the record's first byte, kind | qos << 2 (a QoS above 2 is refused). */
static int q_push(quectel_t *q, const char *topic, const uint8_t *pay, size_t plen, unsigned h)
{
    size_t tlen;
    uint8_t *r;
    if (topic == NULL || (pay == NULL && plen != 0u) || h > (KIND_PUB | 2u << 2)) {
        return OTA_ERR_PARAM;
    }
    if (q->link != (uint8_t)OTA_LINK_UP) {
        return OTA_ERR_STATE;
    }
    tlen = strlen(topic);
    if (tlen == 0u || tlen + 48u > QUECTEL_CFG_CMD_MAX || (is_bc(q) && plen > HEX_MAX)) {
        return OTA_ERR_RANGE;
    }
    if (plen + tlen + QHDR > (size_t)QUECTEL_CFG_TXQ_SIZE - q->txq_len) {
        return OTA_ERR_NOSPACE;
    }
    r = q->txq + q->txq_len;
    r[0] = (uint8_t)h;
    r[1] = (uint8_t)tlen;
    r[2] = (uint8_t)(plen & 0xFFu);
    r[3] = (uint8_t)(plen >> 8);
    (void)memcpy(r + QHDR, topic, tlen);
    if (plen != 0u) {
        (void)memcpy(r + QHDR + tlen, pay, plen);
    }
    q->txq_len = (uint16_t)(q->txq_len + QHDR + tlen + plen); /* touch() set kick */
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Recovery                                                                 */
/* ------------------------------------------------------------------------ */

static void ok_reset(quectel_t *q)
{
    q->st.recovery = QUECTEL_REC_NONE;
    q->power_backoff = q->cfg->backoff_ms << 4;
}

NOINLINE static void link_fail(quectel_t *q)
{
    if ((q->want & W_MQTT) != 0u) {
        q->want &= (uint8_t)~W_MQTT;
        q->link = (uint8_t)OTA_LINK_FAILED;
    }
}

/* The module's MQTT client is gone. An established connection is reported
 * lost (no automatic reconnect); one being made keeps being tried. */
static void mqtt_lost(quectel_t *q)
{
    if (q->k[K_CONN] != 0u) {
        link_fail(q);
    }
    q->k[K_OPEN] = 0;
    q->k[K_CONN] = 0;
    q->txq_len = 0;
    q->slots = 0;
    if (q->async == ST_SUB || q->async == ST_PUB) {
        q->async = 0;
    }
}

static uint32_t capped(const quectel_t *q, uint32_t ms)
{
    return ms > q->cfg->backoff_max_ms ? q->cfg->backoff_max_ms : ms;
}

/* Something failed: climb one rung (at least to 'min') and wait before it. */
static void fail(quectel_t *q, unsigned min)
{
    unsigned r = (q->rung != 0u) ? q->rung : q->st.recovery + 1u;
    uint32_t d;
    if (r < min) {
        r = min;
    }
    if (r > (unsigned)QUECTEL_REC_POWER) {
        r = QUECTEL_REC_POWER;
    }
    q->async = 0;
    q->rung = (uint8_t)r;
    q->st.recovery = (uint8_t)r;
    if (r > q->st.max_recovery) {
        q->st.max_recovery = (uint8_t)r;
    }
    if (r == (unsigned)QUECTEL_REC_POWER) {
        d = q->power_backoff;
        q->power_backoff = capped(q, q->power_backoff * 2u);
    } else {
        d = q->cfg->backoff_ms << (r - 1u);
    }
    wait(q, capped(q, d));
}

static void rung_start(quectel_t *q)
{
    unsigned r = q->rung;
    q->rung = 0;
    q->st.recoveries++;
    switch (r) {
    case QUECTEL_REC_RETRY:
        return; /* q->pc still points at the failed step */
    case QUECTEL_REC_PROBE:
        q->saved_pc = q->pc;
        start(q, SC_PROBE);
        return;
    default:
        break;
    }
    /* An established connection does not survive the rungs above; a
     * connection being made keeps being tried (the user has its timeout). */
    if (q->k[K_CONN] != 0u) {
        mqtt_lost(q);
    }
    if (r == (uint8_t)QUECTEL_REC_REOPEN) {
        q->k[K_OPEN] = 0;
        start(q, SC_REOPEN);
    } else if (r == (uint8_t)QUECTEL_REC_CFUN) {
        q->k[K_ATT] = 0;
        q->k[K_OPEN] = 0;
        start(q, SC_CFUN);
    } else {
        start(q, SC_POWER);
    }
}

/* Drive the pin q->pins (one of them) is being pulsed on. */
static void pins(const quectel_t *q, bool on)
{
    const quectel_gpio_t *g = &q->cfg->gpio;
    void (*fn)(void *, bool) = g->psm_eint;
    if (q->pins == PIN_PWRKEY) {
        fn = g->pwrkey;
    } else if (q->pins == PIN_RESET) {
        fn = g->reset;
    }
    if (fn != NULL) {
        fn(g->ctx, on);
    }
}

/* Forget the module's state (it restarted or switched off). */
static void forget(quectel_t *q)
{
    quectel_at_abort(&q->at);
    mqtt_lost(q);
    if (q->pins != 0u) {
        pins(q, false);
        q->pins = 0;
    }
    (void)memset(q->k, 0, sizeof q->k);
    q->async = 0;
    q->rung = 0;
    q->step = 0;
    q->tries = 0;
    q->creg = 0;
    start(q, SC_NONE);
}

/* ------------------------------------------------------------------------ */
/* Scripts                                                                  */
/* ------------------------------------------------------------------------ */

static void script_done(quectel_t *q)
{
    unsigned e = k_sc[q->pc];
    start(q, SC_NONE);
    switch (e) {
    case E_BOOT:
        q->k[K_ALIVE] = 1;
        break;
    case E_PROBE:
        q->pc = q->saved_pc;
        break;
    case E_INIT:
        q->k[K_INIT] = 1;
        q->k[K_BOOTED] = 0;
        break;
    case E_ATT:
        q->k[K_ATT] = 1;
        if ((q->want & W_MQTT) == 0u) {
            ok_reset(q); /* the goal was the network */
        }
        break;
    case E_MQTT:
        q->k[K_CONN] = 1;
        if ((q->want & W_MQTT) != 0u) {
            q->link = (uint8_t)OTA_LINK_UP;
        }
        q->phase_deadline = q->now + RECV_CHECK_MS;
        ok_reset(q);
        break;
    case E_CLOSE:
    case E_REOPEN:
        q->k[K_OPEN] = 0;
        q->k[K_CONN] = 0;
        break;
    case E_OFF:
    case E_POWER:
        (void)memset(q->k, 0, K_LOST);
        break;
    default:
        break;
    }
}

static void advance(quectel_t *q)
{
    q->pc++;
    if (k_sc[q->pc] >= E_NONE) {
        script_done(q);
    }
}

/* Connected: read buffered messages, send the queue, look for lost URCs. */
static bool choose_connected(quectel_t *q)
{
    if (q->k[K_CONN] == 0u) {
        return false;
    }
    if (q->slots != 0u) {
        start(q, SC_READ);
    } else if (q->async == 0u && q->txq_len != 0u) {
        start(q, SC_QUEUE);
    } else if (recv_check(q) && due(q->now, q->phase_deadline)) {
        q->phase_deadline = q->now + RECV_CHECK_MS;
        start(q, SC_CHECK);
    } else {
        return false;
    }
    return true;
}

/* The next script when none runs; false when there is nothing to do. */
static bool choose(quectel_t *q)
{
    uint8_t w = q->want;
    if ((w & W_OFF) != 0u) {
        if (q->k[K_ALIVE] == 0u) {
            return false;
        }
        start(q, (q->k[K_OPEN] != 0u) ? SC_CLOSE : SC_OFF);
        return true;
    }
    if (q->k[K_ALIVE] == 0u || q->k[K_INIT] == 0u) {
        if ((w & (W_NET | W_MQTT)) == 0u) {
            return false;
        }
        start(q, (q->k[K_ALIVE] == 0u) ? SC_BOOT : SC_INIT);
        return true;
    }
    if (q->k[K_OPEN] != 0u && ((w & W_MQTT) == 0u || q->k[K_CONN] == 0u) && q->txq_len == 0u) {
        start(q, SC_CLOSE);
        return true;
    }
    if (((w & W_SLEEP) != 0u) != (q->k[K_SCLK] != 0u)) {
        start(q, ((w & W_SLEEP) != 0u) ? SC_SLEEP : SC_WAKE);
        return true;
    }
    if ((w & (W_NET | W_MQTT)) != 0u && q->k[K_ATT] == 0u) {
        q->phase_deadline = q->now + q->cfg->attach_timeout_ms;
        start(q, SC_ATT);
        return true;
    }
    if ((w & W_MQTT) != 0u && q->k[K_CONN] == 0u) {
        q->feat &= (uint8_t)~F_MODES;
        q->cond &= (uint8_t)~C_RXBUF;
        start(q, SC_MQTT);
        return true;
    }
    return choose_connected(q);
}

static bool skip(const quectel_t *q, unsigned id)
{
    return (q->cond & k_skip[k_step[id] >> 4]) != 0u;
}

/* ------------------------------------------------------------------------ */
/* Building and starting commands                                           */
/* ------------------------------------------------------------------------ */

/* %u: ,"user"[,"password"] when given. */
static void put_auth(ota_sb_t *sb, const ota_mqtt_conn_t *c)
{
    const char *s = c->username;
    unsigned i;
    for (i = 0; i < 2u && s != NULL && s[0] != '\0'; i++) {
        ota_sb_fmt(sb, ",\"%s\"", s, 0u, 0u);
        s = c->password;
    }

}

/* Lengths were checked when the strings were given: the command fits. */
static void put_field(const quectel_t *q, ota_sb_t *sb, char f, uint32_t plen)
{
    const uint8_t *r = q->txq;
    switch (f) {
    case 1: ota_sb_str(sb, "+QMT"); break;
    case 2: ota_sb_str(sb, "+QMTCFG=\""); break;
    case 3: ota_sb_u32(sb, q->idx); break;
    case 4: ota_sb_u32(sb, is_bc(q) ? 1u : 4u); break;
    case 5: ota_sb_u32(sb, q->conn.keepalive_s); break;
    case 6: ota_sb_u32(sb, q->conn.port); break;
    case 7: ota_sb_u32(sb, q->msgid); break;
    case 8: ota_sb_u32(sb, q->slot); break;
    case 9: ota_sb_u32(sb, (uint32_t)(r[0] >> 2) & 3u); break;
    case 10: ota_sb_u32(sb, ((q->feat & (F_HEX | F_HEX2)) == (F_HEX | F_HEX2)) ? 2u * plen : plen); break;
    case 11: ota_sb_str(sb, q->conn.host); break;
    case 12: ota_sb_str(sb, q->conn.client_id); break;
    case 13: ota_sb_str(sb, q->cfg->apn); break;
    case 14: ota_sb_mem(sb, (const char *)r + QHDR, r[1]); break;
    case 15: put_auth(sb, &q->conn); break;
    default: /* F_EX */
        if ((q->feat & F_PUBEX) != 0u) {
            ota_sb_str(sb, "EX");
        }
        break;
    }
}

static void cmd_start(quectel_t *q, unsigned id)
{
    quectel_at_t *e = &q->at;
    const char *f = fmt(id);
    const uint8_t *r = q->txq;
    const char *tail = "\r";
    uint8_t fl = k_step[id];
    uint8_t mode = AT_DATA_NONE;
    uint16_t plen = (uint16_t)(r[2] | (r[3] << 8));
    uint16_t len = 0;
    uint32_t t = ((fl & S_LONG) != 0u) ? q->cfg->cfun_timeout_ms : q->cfg->cmd_timeout_ms;
    ota_sb_t sb;
    q->step = (uint8_t)id;
    ota_sb_init(&sb, e->cmd, sizeof e->cmd);
    ota_sb_str(&sb, "AT");
    for (; *f != '\0'; f++) {
        if (*f < ' ') {
            put_field(q, &sb, *f, plen);
        } else {
            ota_sb_mem(&sb, f, 1u);
        }
    }
    if (id == ST_WAKE) {
        t = 300u;
    } else if (id <= ST_WAKE) {
        t = 1000u;
    }
    if (id == ST_PUB) {
        bool hex = (q->feat & F_HEX) != 0u;
        len = plen;
        e->prompt_delay_ms = is_bc(q) ? 500u : 0u; /* BC660K: wait after '>' */
        ota_sb_str(&sb, hex ? ",\"" : "\r");
        mode = hex ? AT_DATA_HEX : AT_DATA_PROMPT;
        tail = hex ? "\"\r" : "";
    }
    e->cmd_len = (uint16_t)sb.len;
    quectel_at_start(e, t, mode, r + QHDR + r[1], len, tail);
}

/* Assert a pin for ds tenths of a second. */
static void pulse(quectel_t *q, uint8_t pin, unsigned ds)
{
    q->pins = pin;
    pins(q, true);
    wait(q, 100u * ds);
}

/* Steps without a command: pins and waits. */
static void pseudo(quectel_t *q, unsigned id)
{
    const quectel_gpio_t *g = &q->cfg->gpio;
    switch (id) {
    case ST_PWRON:
        if (g->pwrkey != NULL) {
            pulse(q, PIN_PWRKEY, 7u);
            return;
        }
        break;
    case ST_WAITRDY:
        wait(q, q->cfg->boot_timeout_ms);
        break;
    case ST_PWROFF:
        if (g->reset != NULL) {
            pulse(q, PIN_RESET, 3u);
        } else if (g->pwrkey != NULL) {
            pulse(q, PIN_PWRKEY, 8u);
        } else {
            cmd_start(q, ST_RESET);
        }
        return;
    case ST_SETTLE:
        wait(q, 2000u);
        break;
    default: /* ST_EINT */
        if (g->psm_eint != NULL) {
            pulse(q, PIN_EINT, 3u);
            return;
        }
        break;
    }
    advance(q);
}

static void step_run(quectel_t *q, unsigned id)
{
    if (id == ST_QITEM) {
        id = (uint8_t)(ST_SUB - KIND_SUB + (q->txq[0] & 3u)); /* ST_SUB or ST_PUB */
        q->msgid++;
        if (q->msgid == 0u) {
            q->msgid = 1;
        }
        if ((q->txq[0] & 0x0Cu) == 0u && id == ST_PUB) {
            q->msgid = 0; /* QoS 0 publishes carry message id 0 */
        }
    }
    if (skip(q, id)) {
        advance(q);
        return;
    }
    if ((uint8_t)(id - ST_PWRON) <= (uint8_t)(ST_EINT - ST_PWRON)) {
        pseudo(q, id);
        return;
    }
    if (q->k[K_SCLK] != 0u && q->k[K_WOKE] == 0u) {
        cmd_start(q, ST_WAKE); /* the UART may sleep: this AT may be lost */
        return;
    }
    if (id == ST_READ) {
        uint8_t s = 0;
        while (s < 4u && (q->slots & (1u << s)) == 0u) {
            s++;
        }
        q->slot = s;
        q->slots &= (uint8_t)~(1u << s);
    }
    cmd_start(q, id);
}

/* ------------------------------------------------------------------------ */
/* Step results                                                             */
/* ------------------------------------------------------------------------ */

static void async_arm(quectel_t *q, unsigned id)
{
    uint32_t t = q->cfg->mqtt_timeout_ms;
    if (id == ST_OPEN) {
        t = q->cfg->open_timeout_ms;
    } else if (id == ST_DISC || id == ST_CLOSE) {
        t = q->cfg->cmd_timeout_ms;
    }
    q->async = (uint8_t)id;
    q->async_deadline = q->now + t;
}

/* A queued item was refused with ERROR: retry it once, then drop it. */
static void item_error(quectel_t *q, unsigned id)
{
    uint8_t *h = q->txq;
    if (id == ST_PUB && (q->feat & F_PUBEX) != 0u) {
        q->feat &= (uint8_t)~F_PUBEX; /* try the AT+QMTPUB fixed-length form */
        return;
    }
    if (id == ST_PUB) {
        q->feat ^= F_HEX2; /* BC660K: the other reading of <msg_len> */
    }
    h[0] = (uint8_t)(h[0] + 0x10u);
    if (h[0] >= 0x20u) {
        q->st.tx_failed++;
        q_pop(q);
    }
}

static void step_ok(quectel_t *q, unsigned id)
{
    switch (id) {
    case ST_PROBE: /* the module is on */
        start(q, SC_NONE);
        q->k[K_ALIVE] = 1;
        return;
    case ST_CFGTEST:
        q->cond |= (uint8_t)(~q->feat & (C_NORECV | C_NODF)); /* what it did not list */
        break;
    case ST_RECV1:
        q->cond |= C_RXBUF;
        q->feat |= F_RX_LEN;
        break;
    case ST_RECV0:
    case ST_SRL: q->feat |= F_RX_LEN; break;
    case ST_DF: q->feat |= F_HEX; break;
    case ST_CEREG:
        if (q->creg != 2u && q->creg != 6u) { /* stat 1 or 5 */
            if (due(q->now, q->phase_deadline)) {
                q->st.timeouts++;
                fail(q, QUECTEL_REC_NONE);
            } else {
                wait(q, REG_POLL_MS);
            }
            return;
        }
        break;
    default:
        break;
    }
    if ((uint8_t)(id - ST_OPEN) <= (uint8_t)(ST_PUB - ST_OPEN)) {
        async_arm(q, id); /* OPEN .. CLOSE hold the script, SUB and PUB not */
        if (id <= ST_CLOSE) {
            return;
        }
    }
    advance(q);

}

static void step_error(quectel_t *q, unsigned id)
{
    q->st.last_cme = q->at.cme;
    if (id == ST_PROBE) { /* an answer, even ERROR, means the module is on */
        step_ok(q, id);
        return;
    }
    if (id == ST_SUB || id == ST_PUB) {
        item_error(q, id);
        start(q, SC_NONE);
        return;
    }
    if (id == ST_RECVQ) {
        q->feat |= F_NOQRECV;
    }
    if ((k_step[id] & S_OPT) == 0u) {
        q->st.errors++;
        fail(q, QUECTEL_REC_NONE);
        return;
    }
    advance(q);
}

/* No answer in time. */
static void step_silent(quectel_t *q, unsigned id)
{
    if (id == ST_PROBE && ++q->tries < 3u) {
        return; /* ask again: a sleeping UART may lose the first AT */
    }
    q->tries = 0;
    if (id == ST_PROBE || id == ST_RESET) {
        advance(q); /* off: press the key / wait for the restart */
        return;
    }
    fail(q, (script_end(q) == E_BOOT) ? QUECTEL_REC_POWER : QUECTEL_REC_NONE);
}

static void step_done(quectel_t *q, unsigned res)
{
    unsigned id = q->step;
    q->step = 0;
    if (id == ST_WAKE) {
        q->tries++;
        if (res == AT_OK || q->tries >= 3u) {
            q->k[K_WOKE] = 1;
            q->tries = 0;
        }
        return;
    }
    q->k[K_WOKE] = 0;
    if (id == ST_SCLK0 || id == ST_SCLK1) { /* whatever the answer: do not insist */
        q->k[K_SCLK] = (uint8_t)((id == ST_SCLK1) ? 1u : 0u);
    }
    if (id == ST_ATI) {
        set_dialect(q, C_BG); /* not recognised */
    }
    if (q->rung != 0u || id == ST_NONE) {
        return; /* a recovery was decided meanwhile */
    }
    if (res == AT_OK) {
        step_ok(q, id);
    } else if (res == AT_ERROR) {
        step_error(q, id);
    } else {
        q->st.timeouts++;
        step_silent(q, id);
    }
}

static void async_result(quectel_t *q, unsigned id, int32_t res, int32_t ret)
{
    switch (id) {
    case ST_OPEN:
        if (res != 0) {
            fail(q, (res == 2) ? QUECTEL_REC_REOPEN : QUECTEL_REC_NONE);
            return;
        }
        q->k[K_OPEN] = 1;
        break;
    case ST_CONN:
        if (res != 0) {
            fail(q, QUECTEL_REC_NONE);
            return;
        }
        if (ret != 0) { /* refused by the broker: not a module fault */
            q->st.tx_failed++;
            link_fail(q);
            mqtt_lost(q);
            q->k[K_OPEN] = 1;
            start(q, SC_NONE);
            return;
        }
        break;
    case ST_SUB:
    case ST_PUB:
        q_pop(q);
        if (res == 0 || res == 1) {
            q->st.tx_msgs += (id == ST_PUB) ? 1u : 0u;
            ok_reset(q);
        } else {
            q->st.tx_failed++;
        }
        return;
    default: /* DISC, CLOSE */
        break;
    }
    advance(q);
}

static void async_timeout(quectel_t *q)
{
    unsigned id = q->async;
    q->async = 0;
    q->st.timeouts++;
    if ((k_step[id] & S_OPT) != 0u) {
        advance(q);
        return;
    }
    fail(q, QUECTEL_REC_NONE);
}

/* ------------------------------------------------------------------------ */
/* Lines from the module                                                    */
/* ------------------------------------------------------------------------ */

/* The lines the driver reads, by kind (the index in this list, which ends
 * with an empty string). The first six are the asynchronous results of
 * ST_OPEN .. ST_PUB, in step order. */
enum {
    L_OPEN = 0, L_PUBEX = 6, L_RECV, L_STAT, L_CEREG, L_CSQ, L_CGSN, L_CFG, L_RDY, L_APPRDY
};
typedef char k_lines_ok[(ST_PUB - ST_OPEN == L_PUBEX - 1) ? 1 : -1];
static const char k_lines[] = "+QMTOPEN:\0+QMTCONN:\0+QMTDISC:\0+QMTCLOSE:\0+QMTSUB:\0+QMTPUB:\0"
                              "+QMTPUBEX:\0+QMTRECV:\0+QMTSTAT:\0+CEREG:\0+CSQ:\0+CGSN:\0"
                              "+QMTCFG:\0RDY\0APP RDY\0";

static unsigned line_kind(const char *l)
{
    const char *end;
    return quectel_at_match(l, k_lines, &end);
}

/* A message (payload read raw, as hex, or from the line): deliver it. */
void quectel_on_payload(void *owner, const char *hdr, size_t hlen, const uint8_t *pay, size_t len,
                        bool ok)
{
    quectel_t *q = owner;
    const char *t = strchr(hdr, '"');
    const char *end = (t != NULL) ? strchr(t + 1, '"') : NULL;
    int32_t id;
    (void)hlen;
    if (!ok || end == NULL || ints(q, hdr, &id, 1u) == 0u) {
        q->st.rx_dropped++;
        return;
    }
    if (q->on_msg == NULL || (q->want & W_MQTT) == 0u) {
        return;
    }
    q->st.rx_msgs++;
    ok_reset(q);
    q->on_msg(q->msg_arg, t + 1, (size_t)(end - t - 1), pay, len);
}

/* At each ',' of a "+..." line: switch to a raw or hex payload read. */
void quectel_on_field(void *owner, const char *line, size_t len)
{
    quectel_t *q = owner;
    const char *f3;
    const char *p;
    bool ok;
    int32_t n;
    unsigned c;
    (void)len;
    if (line_kind(line) != L_RECV) {
        return;
    }
    c = count(line, &f3);
    if (c == (2u << 8 | 3u) && (q->feat & F_HEX) != 0u) { /* two quotes (the topic), 3 commas */
        quectel_at_hex(&q->at);
        return;
    }
    if (c != (2u << 8 | 4u) || (q->feat & (F_RX_LEN | F_HEX)) != F_RX_LEN) {
        return;
    }
    p = f3;
    n = quectel_at_num(&p, &ok);
    if (ok && *p == ',' && n >= 0) {
        quectel_at_raw(&q->at, (uint32_t)n);
    }
}

/* A +QMTRECV line that was not read as a raw payload: <id>,<slot>
 * (buffered), <id>,<s0>..<s4> (AT+QMTRECV?) or a text message. */
static void recv_line(quectel_t *q, const char *l, size_t n, const int32_t *v, unsigned got)
{
    const char *f3;
    if (count(l, &f3) < (1u << 8)) { /* no quotes */
        unsigned i;
        if (got == 2u && (uint32_t)v[1] <= 4u) {
            q->slots |= (uint8_t)(1u << v[1]);
        }
        for (i = 1; got == 6u && i < 6u; i++) {
            q->slots |= (uint8_t)((v[i] == 1) ? (1u << (i - 1u)) : 0u);
        }
        return;
    }
    if (f3 == NULL) { /* fewer than 3 commas */
        q->st.rx_dropped++;
        return;
    }
    /* No length: the payload is the rest of the line (text only). */
    n = strlen(f3);
    if (n >= 2u && f3[0] == '"' && f3[n - 1u] == '"') {
        f3++;
        n -= 2u;
    }
    quectel_on_payload(q, l, 0, (const uint8_t *)f3, n, true);

}

static void cereg(quectel_t *q, const char *l)
{
    const char *p = l + 7; /* after "+CEREG:" */
    bool ok;
    int32_t stat = quectel_at_num(&p, &ok);
    /* Read form "<n>,<stat>,..." or URC form "<stat>[,"<tac>",...]". */
    if (*p == ',' && p[1] >= '0' && p[1] <= '9') {
        p++;
        stat = quectel_at_num(&p, &ok);
    }
    if (!ok || stat < 0 || stat > 5) {
        return;
    }
    q->creg = (uint8_t)(stat + 1);
    if (stat != 1 && stat != 5) {
        q->k[K_ATT] = 0;
    }
}

static void take_imei(quectel_t *q, const char *p)
{
    size_t n = 0;
    while (*p == ' ' || *p == '"') {
        p++;
    }
    while (p[n] >= '0' && p[n] <= '9' && n < QUECTEL_IMEI_MAX) {
        n++;
    }
    if (n >= 14u && (p[n] == '\0' || p[n] == '"')) {
        (void)memcpy(q->imei, p, n);
        q->imei[n] = '\0';
        q->cond |= C_IMEI;
    }
}

/* +QMTxxx: <id>,[<msgid>,]<result>[,<value>] for the awaited step. */
static bool async_line(quectel_t *q, unsigned kind, const int32_t *v, unsigned got)
{
    unsigned id = (uint8_t)((kind == L_PUBEX) ? ST_PUB : ST_OPEN + kind);
    unsigned item = (id == ST_SUB || id == ST_PUB) ? 1u : 0u;
    if (id != q->async || got < 2u + item || (item != 0u && v[1] != (int32_t)q->msgid)) {
        return false;
    }
    q->async = 0;
    async_result(q, id, v[1u + item], (got > 2u) ? v[2] : 0);
    return true;
}

/* Answers to the feature probes; false when no probe runs. */
static bool probe_line(quectel_t *q, const char *l, unsigned kind)
{
    unsigned seen = 0; /* after the last ',': 1 a digit, 2 a quote; 4: a ',' seen */
    if (kind == L_CFG && q->step == ST_CFGTEST) {
        q->feat |= (uint8_t)(has(l, "recv/mode") ? F_SAW_RECV : 0u);
        q->feat |= (uint8_t)(has(l, "dataformat") ? F_SAW_DF : 0u);
        return true;
    }
    if (kind != L_PUBEX || q->step != ST_PUBEXTEST) {
        return false;
    }
    /* AT+QMTPUBEX=? whose last parameter is a length range, not "<msg>" */
    for (; *l != '\0'; l++) {
        if (*l == ',') {
            seen = 4u;
        } else if (*l == '"') {
            seen |= 2u;
        } else if (*l >= '0' && *l <= '9') {
            seen |= 1u;
        }
    }
    if (seen == 5u) {
        q->feat |= F_PUBEX;
    }
    return true;
}

static void on_ready(quectel_t *q, bool app)
{
    if (app && q->k[K_BOOTED] != 0u) {
        if (q->pc == SC_NONE) { /* APP RDY after RDY: settled */
            q->wait_until = q->now;
        }
        return;
    }
    q->st.restarts++;
    forget(q);
    q->k[K_ALIVE] = 1;
    q->k[K_BOOTED] = 1;
    wait(q, (app || is_bc(q)) ? 300u : 2000u);
}

/* Lines without a prefix the driver knows. */
static bool other_line(quectel_t *q, const char *l, size_t n)
{
    if (l[0] == '+') {
        return false;
    }
    if (n >= 4u && strcmp(l + n - 4u, "DOWN") == 0) { /* POWERED DOWN, ... POWER DOWN */
        if (script_end(q) != E_POWER) {
            forget(q);
        }
        (void)memset(q->k, 0, K_LOST);
        return true;
    }
    if (q->step == ST_ATI) {
        /* The model may stand alone ("BC660K-GL") or behind a prefix
         * ("Quectel_BC660K-GL", the BC660K manual's form); BG9x/BG7x
         * first, then BC66x/BC95x. */
        static const char k_models[] = "BG9\0BG7\0BC66\0BC95";
        const char *m = k_models;
        unsigned i;
        for (i = 0; i < 4u; i++, m += strlen(m) + 1u) {
            if (has(l, m)) {
                set_dialect(q, (i < 2u) ? C_BG : C_BC);
                break;
            }
        }
        return true;
    }
    if (q->step == ST_GSN) {
        take_imei(q, l);
        return true;
    }
    return false;
}

void quectel_on_done(void *owner)
{
    quectel_t *q = owner;
    q->at.state = AT_IDLE;
    step_done(q, q->at.result);
}

void quectel_on_line(void *owner, const char *line, size_t len)
{
    quectel_t *q = owner;
    int32_t v[6];
    const char *p = line + 5; /* after "+CSQ:" */
    bool used = true;
    bool ok;
    unsigned kind = line_kind(line);
    unsigned got = ints(q, line, v, 6u);
    if (kind <= L_PUBEX && async_line(q, kind, v, got)) {
        return;
    }
    switch (kind) {
    case L_RECV: recv_line(q, line, len, v, got); break;
    case L_STAT:
        if (got >= 2u) {
            q->st.last_qmtstat = (uint8_t)v[1];
            mqtt_lost(q);
            /* +QMTSTAT <code> -> the rung it calls for (code 5: normal disconnect) */
            kind = ((uint32_t)v[1] < 8u) ? k_stat_rung[v[1]] : QUECTEL_REC_REOPEN;
            if (kind != QUECTEL_REC_NONE) {
                fail(q, (uint8_t)kind);
            }
        }
        break;
    case L_CEREG: cereg(q, line); break;
    case L_CSQ:
        v[0] = quectel_at_num(&p, &ok);
        q->rssi = (int8_t)((ok && (uint32_t)v[0] <= 31u) ? v[0] : -1);
        break;
    case L_CGSN: take_imei(q, line + 6); break;
    case L_CFG:
    case L_PUBEX: used = probe_line(q, line, kind); break;
    case L_RDY:
    case L_APPRDY:
        if (len == ((kind == L_RDY) ? 3u : 7u)) {
            on_ready(q, kind == L_APPRDY);
            break;
        }
        /* fall through */
    default: used = other_line(q, line, len); break;
    }
    if (!used && !quectel_at_busy(&q->at)) {
        q->st.ignored++;
    }
}

/* ------------------------------------------------------------------------ */
/* Poll                                                                     */
/* ------------------------------------------------------------------------ */

static bool next_action(quectel_t *q)
{
    if (q->async != 0u && due(q->now, q->async_deadline)) {
        async_timeout(q);
        return true;
    }
    if (q->k[K_WAIT] != 0u) {
        if (!due(q->now, q->wait_until)) {
            return false;
        }
        q->k[K_WAIT] = 0;
        if (q->pins != 0u) {
            pins(q, false);
            q->pins = 0;
            advance(q);
            return true;
        }
    }
    if (q->rung != 0u) {
        rung_start(q);
        return true;
    }
    if (k_sc[q->pc] < E_NONE) {
        if ((uint8_t)(q->async - ST_OPEN) <= (uint8_t)(ST_CLOSE - ST_OPEN)) {
            return false;
        }
        step_run(q, k_sc[q->pc]);
        return true;
    }
    return choose(q);
}

ota_status_t quectel_poll(quectel_t *q, uint32_t now_ms)
{
    uint8_t buf[64];
    ota_status_t rc = OTA_OK;
    unsigned i;
    if (q == NULL || q->cfg == NULL) {
        return OTA_ERR_PARAM;
    }
    q->now = now_ms;
    q->at.now = now_ms;
    for (i = 0; i < 32u; i++) {
        int n = q->at.uart.read(q->at.uart.ctx, buf, sizeof buf);
        if (n <= 0) {
            rc = (n < 0) ? OTA_ERR_PORT : OTA_OK;
            break;
        }
        quectel_at_rx(&q->at, buf, (size_t)n > sizeof buf ? sizeof buf : (size_t)n);
    }
    /* Then the work: pump the engine, take the next action, until the
     * engine is busy or nothing is left (at most 32 rounds a poll). */
    q->kick = 0;
    for (i = 0; i < 32u; i++) {
        if (quectel_at_pump(&q->at) != 0) {
            rc = OTA_ERR_PORT;
        }
        if (quectel_at_busy(&q->at) || !next_action(q)) {
            return rc;
        }
    }
    q->kick = 1;
    return rc;
}

bool quectel_next_deadline(const quectel_t *q, uint32_t *at)
{
    uint32_t t[6];
    unsigned n = 0;
    unsigned i;
    if (q == NULL || at == NULL || q->cfg == NULL) {
        return false;
    }
    t[n] = q->now;
    n += q->kick;
    t[n] = q->at.deadline;
    n += quectel_at_busy(&q->at) ? 1u : 0u;
    t[n] = q->async_deadline;
    n += (q->async != 0u) ? 1u : 0u;
    t[n] = q->wait_until;
    n += (q->k[K_WAIT] != 0u) ? 1u : 0u;
    t[n] = q->at.rx_until;
    n += (q->at.rx_mode != AT_RX_LINE) ? 1u : 0u;
    t[n] = q->phase_deadline;
    n += (q->k[K_CONN] != 0u && recv_check(q)) ? 1u : 0u;
    for (i = 0; i < n; i++) {
        if (i == 0u || (int32_t)(t[i] - *at) < 0) {
            *at = t[i];
        }
    }
    return n != 0u;
}

/* ------------------------------------------------------------------------ */
/* Public API, transport and modem                                          */
/* ------------------------------------------------------------------------ */

void quectel_config_defaults(quectel_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    (void)memset(cfg, 0, sizeof *cfg);
    cfg->dialect = QUECTEL_AUTO;
    cfg->cmd_timeout_ms = 5000u;
    cfg->cfun_timeout_ms = 30000u;
    cfg->boot_timeout_ms = 15000u;
    cfg->attach_timeout_ms = 120000u;
    cfg->open_timeout_ms = 75000u;
    cfg->mqtt_timeout_ms = 30000u;
    cfg->backoff_ms = 1000u;
    cfg->backoff_max_ms = 600000u;
}

ota_status_t quectel_init(quectel_t *q, const quectel_config_t *cfg)
{
    if (q == NULL || cfg == NULL || cfg->uart.write == NULL || cfg->uart.read == NULL ||
        (unsigned)cfg->dialect > (unsigned)QUECTEL_BC660K || cfg->client_idx > 4u ||
        cfg->cmd_timeout_ms == 0u || cfg->cfun_timeout_ms == 0u || cfg->boot_timeout_ms == 0u ||
        cfg->attach_timeout_ms == 0u || cfg->open_timeout_ms == 0u ||
        cfg->mqtt_timeout_ms == 0u || cfg->backoff_max_ms < cfg->backoff_ms) {
        return OTA_ERR_PARAM;
    }
    (void)memset(q, 0, sizeof *q);
    q->cfg = cfg;
    q->idx = cfg->client_idx;
    q->at.uart = cfg->uart;
    q->at.owner = q;
    q->at.st = &q->st;
    q->cond = (uint8_t)cfg->dialect;
    q->cond |= (uint8_t)((cfg->dialect != QUECTEL_AUTO) ? C_FIXED : 0u);
    q->cond |= (uint8_t)((cfg->apn == NULL || cfg->apn[0] == '\0') ? C_NOAPN : 0u);
    q->rssi = -1;
    ok_reset(q);
    return OTA_OK;
}

static quectel_t *touch(void *ctx)
{
    quectel_t *q = ctx;
    const ota_clock_t *c = &q->cfg->clock;
    if (c->now_ms != NULL) {
        q->now = c->now_ms(c->ctx);
    }
    q->kick = 1;
    return q;
}

NOINLINE static size_t slen(const char *s)
{
    return (s != NULL) ? strlen(s) : 0u;
}

static int tp_connect(void *ctx, const ota_mqtt_conn_t *conn, ota_msg_cb_t on_msg, void *arg)
{
    quectel_t *q = ctx;
    size_t h, c;
    if (conn == NULL) {
        return OTA_ERR_PARAM;
    }
    h = slen(conn->host);
    c = slen(conn->client_id);
    if (h == 0u || c == 0u) {
        return OTA_ERR_PARAM;
    }
    if (h + c + slen(conn->username) + slen(conn->password) + 48u > QUECTEL_CFG_CMD_MAX) {
        return OTA_ERR_RANGE;
    }
    (void)touch(q);
    q->conn = *conn;
    q->on_msg = on_msg;
    q->msg_arg = arg;
    q->want = W_NET | W_MQTT; /* (no W_OFF, no W_SLEEP) */
    if (q->k[K_CONN] != 0u) {
        q->link = (uint8_t)OTA_LINK_UP;
    } else {
        q->link = (uint8_t)OTA_LINK_CONNECTING;
        q->txq_len = 0;
    }
    return 0;
}

static ota_link_state_t tp_state(void *ctx)
{
    const quectel_t *q = ctx;
    return (ota_link_state_t)q->link;
}

static int tp_subscribe(void *ctx, const char *filter, uint8_t qos)
{
    return q_push(touch(ctx), filter, NULL, 0u, KIND_SUB | (unsigned)qos << 2);
}

static int tp_publish(void *ctx, const char *topic, const uint8_t *payload, size_t len, uint8_t qos)
{
    return q_push(touch(ctx), topic, payload, len, KIND_PUB | (unsigned)qos << 2);

}

static void tp_disconnect(void *ctx)
{
    quectel_t *q = touch(ctx);
    q->want &= (uint8_t)~W_MQTT;
    q->link = (uint8_t)OTA_LINK_DOWN;
}

static int tp_poll(void *ctx, uint32_t now_ms)
{
    return (int)quectel_poll(ctx, now_ms);
}

void quectel_transport(quectel_t *q, ota_transport_t *t)
{
    if (t == NULL) {
        return;
    }
    t->ctx = q;
    t->connect = tp_connect;
    t->state = tp_state;
    t->subscribe = tp_subscribe;
    t->publish = tp_publish;
    t->disconnect = tp_disconnect;
    t->poll = tp_poll;
}

static int md_power_up(void *ctx)
{
    quectel_t *q = touch(ctx);
    q->want = (uint8_t)((q->want & ~W_OFF) | W_NET);
    return 0;
}

static int md_power_down(void *ctx)
{
    quectel_t *q = touch(ctx);
    q->want = W_OFF;
    if (q->link != (uint8_t)OTA_LINK_FAILED) {
        q->link = (uint8_t)OTA_LINK_DOWN;
    }
    return 0;
}

static ota_net_state_t md_network(void *ctx)
{
    /* creg = 1 + <stat>: 0 not searching, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming */
    static const uint8_t map[7] = {OTA_NET_UNKNOWN,   OTA_NET_SEARCHING, OTA_NET_REGISTERED,
                                   OTA_NET_SEARCHING, OTA_NET_DENIED,    OTA_NET_UNKNOWN,
                                   OTA_NET_REGISTERED};
    const quectel_t *q = ctx;
    return (ota_net_state_t)map[q->creg]; /* cereg() keeps it within 0..6 */

}

static int md_signal(void *ctx)
{
    const quectel_t *q = ctx;
    return (q->rssi < 0) ? 0 : -113 + 2 * (int)q->rssi;
}

static int md_imei(void *ctx, char *buf, size_t cap)
{
    const quectel_t *q = ctx;
    size_t n = strlen(q->imei);
    if (n == 0u) {
        return OTA_ERR_NOT_FOUND;
    }
    if (buf == NULL || cap <= n) {
        return OTA_ERR_NOSPACE;
    }
    (void)memcpy(buf, q->imei, n + 1u);
    return 0;
}

static int md_sleep(void *ctx)
{
    quectel_t *q = touch(ctx);
    if ((q->want & W_MQTT) != 0u || q->k[K_OPEN] != 0u || q->txq_len != 0u) {
        return OTA_ERR_STATE;
    }
    q->want |= W_SLEEP;
    return 0;
}

static int md_wake(void *ctx)
{
    quectel_t *q = touch(ctx);
    q->want &= (uint8_t)~W_SLEEP;
    return 0;
}

void quectel_modem(quectel_t *q, ota_modem_t *m)
{
    if (m == NULL) {
        return;
    }
    m->ctx = q;
    m->power_up = md_power_up;
    m->power_down = md_power_down;
    m->network = md_network;
    m->signal_dbm = md_signal;
    m->imei = md_imei;
    m->sleep = md_sleep;
    m->wake = md_wake;
}

quectel_state_t quectel_state(const quectel_t *q)
{
    unsigned e;
    if (q == NULL || q->cfg == NULL) {
        return QUECTEL_ST_OFF;
    }
    e = script_end(q);
    if ((q->want & W_OFF) != 0u) {
        return (q->k[K_ALIVE] != 0u) ? QUECTEL_ST_POWERING_DOWN : QUECTEL_ST_OFF;
    }
    if (q->rung != 0u || e >= E_PROBE) {
        return QUECTEL_ST_RECOVERING;
    }
    if (e >= E_BOOT && e <= E_ATT) { /* BOOTING, CONFIGURING, ATTACHING */
        return (quectel_state_t)(e - E_NONE);
    }
    if (q->k[K_ALIVE] == 0u) {
        return QUECTEL_ST_OFF;
    }
    if ((q->want & W_MQTT) != 0u) {
        return (q->k[K_CONN] != 0u) ? QUECTEL_ST_CONNECTED : QUECTEL_ST_CONNECTING;
    }
    return (q->k[K_OPEN] != 0u) ? QUECTEL_ST_CLOSING : QUECTEL_ST_READY;
}

quectel_dialect_t quectel_dialect(const quectel_t *q)
{
    return (q == NULL) ? QUECTEL_AUTO : (quectel_dialect_t)(q->cond & C_DIALECT);
}

void quectel_stats(const quectel_t *q, quectel_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    if (q == NULL) {
        (void)memset(out, 0, sizeof *out);
        return;
    }
    *out = q->st;
}
