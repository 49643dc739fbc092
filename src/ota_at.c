/*
 * ota_at.c - Dragino-compatible configuration: AT+OTA* console commands,
 * the JSON Config and F9 downlinks, status messages. See ota_at.h.
 *
 * Every change is staged in at->work (a copy of the live settings), saved
 * with ota_settings_save() and only then copied over the live settings, so
 * a refused command, a refused downlink or a failed save changes nothing.
 * A change that leaves the settings identical writes nothing.
 *
 * One table (cmd_defs) describes every command: its name, the field it
 * sets and that field's size, and its kind, which picks the parsing, the
 * checks, the query answer and the change. Every reason is a text of one
 * table (TEXTS), written by put() from shared fragments and a few
 * placeholders (the command, a number, quoted input). The firmware
 * messages are built on their own (fw_message()).
 */
#include "cellota/ota_at.h"

#include <string.h>

#include "cellota/ota_crc32.h"

#include "ota_fmt.h"
#include "ota_json.h"
#include "ota_tb.h"

/* What a line asks for (FORM_NONE: no line parsed yet; FORM_LIST: the
 * value is a whole Config list). */
enum { FORM_RUN, FORM_QUERY, FORM_SET, FORM_NONE, FORM_LIST };

/* Kinds of commands. */
enum { K_SERVER, K_TEXT, K_PASS, K_UPGRADE };

/* Outcomes, each with its status and console error word. */
enum { E_NONE, E_UNKNOWN, E_SYNTAX, E_VALUE, E_RANGE, E_BUSY, E_STORE };

/* The console's words, each with its line end; offsets in outcomes[]. */
static const char words[] = "OK\r\n\0AT_ERROR\r\n\0AT_PARAM_ERROR\r\n\0AT_BUSY_ERROR\r\n";
#define W_OK 0u
#define W_ERROR 5u
#define W_PARAM 16u
#define W_BUSY 33u

static const struct {
    int8_t st;
    uint8_t word; /* offset in words[] */
} outcomes[] = {
    {OTA_OK, W_OK},
    {OTA_ERR_NOT_FOUND, W_ERROR},
    {OTA_ERR_FORMAT, W_ERROR},
    {OTA_ERR_FORMAT, W_PARAM},
    {OTA_ERR_RANGE, W_PARAM},
    {OTA_ERR_STATE, W_BUSY},
    {OTA_ERR_PORT, W_ERROR},
};

/*
 * Every text of a reason, in one table (TEXTS): first the fragments that
 * several texts share, then the names of the values and the reasons,
 * grouped by outcome. In any text these bytes stand for (see put()):
 */
#define CMD "\001"   /* "AT+<name>: " of the command */
#define WHAT "\002"  /* the name of its value, e.g. "client id" */
#define NUM "\003"   /* the number a */
#define MAX "\004"   /* the most characters its value may have */
#define HEX "\005"   /* the first byte of the quoted text, as two hex digits */
#define QUOTE "\006" /* the quoted text, at most a characters */
#define USE "\007"   /* the characters its value may use */
#define NAME "\010"  /* "AT+<name>" of the command */
/* and FRAG0 + i fragment i: */
#define F_IS "\011"
#define F_NOT "\012"
#define F_VALUE "\013"
#define F_IS_NOT "\014"
#define F_CHAR "\015"
#define F_CONFIG "\016"
#define F_COMMAND "\017"
#define F_UPDATE "\020"
#define F_DOWNLINK "\021"
#define F_JSON "\022"
#define F_LONGER "\023"
#define F_NOT_ALLOWED "\024"
#define F_MUST "\025"
#define F_EMPTY "\026"
#define F_RUNNING "\027"
#define F_PORT "\030"
#define F_EXPECTED "\031"
#define FRAG0 0x09u
#define FRAG_END 0x1Au /* one past the last fragment code */

#define TEXTS(X)                                                                                 \
    X(X_IS, " is ")                                                                              \
    X(X_NOT, "not ")                                                                             \
    X(X_VALUE, "value")                                                                          \
    X(X_IS_NOT, F_IS F_NOT)                                                                      \
    X(X_CHAR, " character")                                                                      \
    X(X_CONFIG, "Config")                                                                        \
    X(X_COMMAND, " command")                                                                     \
    X(X_UPDATE, "an update" F_IS)                                                                \
    X(X_DOWNLINK, "downlink")                                                                    \
    X(X_JSON, "a valid JSON ")                                                                   \
    X(X_LONGER, F_IS "longer than ")                                                             \
    X(X_NOT_ALLOWED, F_IS_NOT "allowed")                                                         \
    X(X_MUST, " must ")                                                                          \
    X(X_EMPTY, F_IS "empty")                                                                     \
    X(X_RUNNING, F_UPDATE "running: ")                                                           \
    X(X_PORT, "port ")                                                                           \
    X(X_EXPECTED, "expected ")                                                                   \
    /* the names of the values, in the order of cmd_defs */                                      \
    X(X_WHAT0, "host")                                                                           \
    X(X_WHAT1, "client id")                                                                      \
    X(X_WHAT2, "user name")                                                                      \
    X(X_WHAT3, "password")                                                                       \
    X(X_WHAT4, "title")                                                                          \
    X(X_WHAT5, "version")                                                                        \
    X(X_USE_HOST, ": use letters, digits . - _ :")                                               \
    X(X_USE_TEXT, ": use printable ASCII, no space \" ; \\")                                     \
    /* the reasons, grouped by outcome (see first_reason[]): E_UNKNOWN */                        \
    X(R_NOT_AT, F_NOT "an AT" F_COMMAND ": " QUOTE)                                              \
    X(R_UNKNOWN, "unknown" F_COMMAND " AT+" QUOTE)                                               \
    /* E_SYNTAX */                                                                               \
    X(R_FORM, CMD F_EXPECTED "= or ? after the" F_COMMAND " name")                               \
    X(R_NO_VALUE, NAME " takes no " F_VALUE)                                                     \
    X(R_NEEDS_VALUE, NAME " needs =<" F_VALUE "> to set it or ? to read it")                     \
    X(R_LIST, F_CONFIG F_MUST "look like [AT+...;AT+...]")                                       \
    X(R_LAST, NAME F_MUST "be the last" F_COMMAND)                                               \
    X(R_QUERY, CMD "a query" F_NOT_ALLOWED " in a " F_DOWNLINK)                                  \
    X(R_NO_CMD, F_CONFIG " holds no" F_COMMAND)                                                  \
    X(R_NOT_JSON, F_DOWNLINK F_IS_NOT F_JSON "object")                                           \
    X(R_TWICE, F_CONFIG " appears more than once")                                               \
    X(R_NOT_STRING, F_CONFIG F_IS_NOT "a string")                                                \
    X(R_BAD_STRING, F_CONFIG F_IS_NOT F_JSON "string")                                           \
    /* E_VALUE */                                                                                \
    X(R_EMPTY, CMD WHAT F_EMPTY)                                                                 \
    X(R_BAD_SECRET, CMD WHAT " holds a" F_CHAR " that" F_NOT_ALLOWED USE)                        \
    X(R_BAD_CHAR, CMD WHAT F_CHAR " " NUM " (0x" HEX ")" F_NOT_ALLOWED USE)                      \
    X(R_NO_COMMA, CMD F_EXPECTED "<host>,<port>")                                                \
    X(R_PORT_EMPTY, CMD "port" F_EMPTY)                                                          \
    X(R_PORT_NAN, CMD F_PORT QUOTE F_IS_NOT "a number")                                          \
    X(R_F9_LEN, "F9 " F_DOWNLINK F_MUST "be 2 bytes, got " NUM)                                  \
    X(R_F9_VALUE, "F9 " F_DOWNLINK ": " F_VALUE " 0x" HEX " unknown (F9 01 starts an update)")   \
    /* E_RANGE */                                                                                \
    X(R_LONG, CMD WHAT F_IS NUM F_CHAR "s, at most " MAX)                                        \
    X(R_LONG_SECRET, CMD WHAT F_LONGER MAX F_CHAR "s")                                           \
    X(R_PORT_RANGE, CMD F_PORT QUOTE F_IS_NOT "in 1..65535")                                     \
    X(R_TOO_LONG, F_CONFIG F_LONGER NUM F_CHAR "s")                                              \
    /* E_BUSY */                                                                                 \
    X(R_BUSY, F_RUNNING "try again when it has ended")                                           \
    X(R_BUSY_F9, F_UPDATE "already running")                                                     \
    X(R_BUSY_CONFIG, F_RUNNING "configuration " F_NOT "applied")                                 \
    /* E_STORE */                                                                                \
    X(R_STORE, "settings " F_NOT "saved: the settings store failed")

#define TEXT_ID(id, text) id,
#define TEXT_STR(id, text) text "\0"
enum { TEXTS(TEXT_ID) TEXT_COUNT };
/* The fragments come first, in the order of their codes F_*. */
typedef char ota_at_fragment_check[(X_IS == 0 && X_EXPECTED == FRAG_END - 1u - FRAG0) ? 1 : -1];
static const char texts[] = TEXTS(TEXT_STR);

/* One command. */
typedef struct {
    char name[9];  /* after "AT+", upper case */
    uint8_t kind;  /* K_* */
    uint16_t off;  /* offsetof the field in ota_settings_t */
    uint16_t cap;  /* its array size, NUL included (1 for the upgrade flag) */
} cmd_def_t;

static const cmd_def_t cmd_defs[] = {
    {"OTASER", K_SERVER, offsetof(ota_settings_t, host), OTA_CFG_HOST_MAX + 1u},
    {"OTACLT", K_TEXT, offsetof(ota_settings_t, client_id), OTA_CFG_CRED_MAX + 1u},
    {"OTAUNAME", K_TEXT, offsetof(ota_settings_t, username), OTA_CFG_CRED_MAX + 1u},
    {"OTAPWD", K_PASS, offsetof(ota_settings_t, password), OTA_CFG_CRED_MAX + 1u},
    {"OTATITLE", K_TEXT, offsetof(ota_settings_t, title), OTA_CFG_TITLE_MAX + 1u},
    {"OTAVER", K_TEXT, offsetof(ota_settings_t, version), OTA_CFG_VERSION_MAX + 1u},
    {"UPGRADE", K_UPGRADE, offsetof(ota_settings_t, upgrade_pending), 1u},
};

#define CMD_COUNT (sizeof cmd_defs / sizeof cmd_defs[0])
#define CMD_UPGRADE (&cmd_defs[CMD_COUNT - 1u])

/* Character sets, one bit each for 0x20..0x7F: */
#define SET_HOST 0u /* a host: letters, digits . - _ : */
#define SET_TEXT 1u /* the other values: 0x21..0x7E except " ; \\ */
static const uint8_t charsets[2][12] = {
    {0x00u, 0x60u, 0xFFu, 0x07u, 0xFEu, 0xFFu, 0xFFu, 0x87u, 0xFEu, 0xFFu, 0xFFu, 0x07u},
    {0xFAu, 0xFFu, 0xFFu, 0xF7u, 0xFFu, 0xFFu, 0xFFu, 0xEFu, 0xFFu, 0xFFu, 0xFFu, 0x7Fu},
};

#define NAME_SHOWN 16u /* characters of an unknown name quoted in a reason */

/* A view of text. */
typedef struct {
    const char *p;
    size_t n;
} span_t;

/* One command being handled (spans point into the caller's text), and
 * where the reason of a refusal goes; or a message being built. */
typedef struct {
    ota_sb_t sb;
    const cmd_def_t *d; /* the command; NULL: plain AT */
    uint8_t form;       /* FORM_* */
    span_t v;           /* the value of FORM_SET */
    span_t q;           /* user text a reason quotes */
    char none[1];            /* the reason when nobody reads it */
} why_t;

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static span_t trim(const char *p, size_t n)
{
    span_t s;

    while (n > 0u && is_blank(p[0])) {
        p++;
        n--;
    }
    while (n > 0u && is_blank(p[n - 1u])) {
        n--;
    }
    s.p = p;
    s.n = n;
    return s;
}

/* Do the n characters at p spell the upper-case letters w, ignoring case? */
static bool word_eq(const char *p, size_t n, const char *w)
{
    size_t i;

    for (i = 0u; i < n; i++) {
        if (w[i] == '\0' || (p[i] | 0x20) != (w[i] | 0x20)) {
            return false;
        }
    }
    return w[n] == '\0';
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Is c in character set `set` (SET_*)? */
static bool char_ok(char c, unsigned set)
{
    unsigned i = (unsigned char)c - 0x20u;

    return i < 96u && (((unsigned)charsets[set][i >> 3] >> (i & 7u)) & 1u) != 0u;
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;

    while (n > 0u) {
        *v++ = 0u;
        n--;
    }
}

/* Append the byte b as two lower-case hex digits (the first two of the
 * digits ota_crc32_to_tb_hex() writes, which start with the lowest byte). */
static void sb_hex(ota_sb_t *sb, unsigned b)
{
    char t[9];

    ota_crc32_to_tb_hex(b, t);
    ota_sb_mem(sb, t, 2u);
}

/* Text id of texts[]. */
static const char *text_at(unsigned id)
{
    const char *t = texts;

    while (id > 0u) {
        t += strlen(t) + 1u;
        id--;
    }
    return t;
}

/* Append what the byte c at t of a text stands for (see TEXTS; not a
 * nested text), for command why->d and number a. */
static void put_byte(why_t *why, unsigned c, const char *t, size_t a)
{
    ota_sb_t *sb = &why->sb;
    const cmd_def_t *d = why->d;
    size_t i;

    switch (c) {
    case 1u: /* CMD */
    case 8u: /* NAME */
        ota_sb_str(sb, "AT+");
        ota_sb_str(sb, d->name);
        ota_sb_str(sb, (c == 1u) ? ": " : "");
        break;
    case 3u: /* NUM */
        ota_sb_u32(sb, (uint32_t)a);
        break;
    case 4u: /* MAX */
        ota_sb_u32(sb, d->cap - 1u);
        break;
    case 5u: /* HEX */
        sb_hex(sb, (uint8_t)why->q.p[0]);
        break;
    case 6u: /* QUOTE: printable ASCII only */
        for (i = 0u; i < why->q.n && i < a; i++) {
            char ch = (why->q.p[i] >= 0x20 && why->q.p[i] <= 0x7E) ? why->q.p[i] : '?';
            ota_sb_mem(sb, &ch, 1u);
        }
        ota_sb_str(sb, (why->q.n > a) ? "..." : "");
        break;
    default: /* plain text */
        ota_sb_mem(sb, t, 1u);
        break;
    }
}

/* Most texts open at once within a text (the deepest today: R_QUERY holds
 * F_NOT_ALLOWED, which holds F_IS_NOT, which holds F_IS: 3). A text nested
 * deeper than this would be left out, which the reason tests would show. */
#define PUT_DEPTH 4u

/* Append text t (see TEXTS) for command why->d and number a. */
static void put(why_t *why, const char *t, size_t a)
{
    const char *back[PUT_DEPTH]; /* where each nested text was put from */
    unsigned depth = 0u;
    unsigned c;

    while ((c = (unsigned char)*t++) != 0u || depth != 0u) {
        unsigned sub; /* a nested text to put here */
        if (c == 0u) {
            t = back[--depth]; /* the end of a nested text */
            continue;
        }
        if (c >= FRAG0 && c < FRAG_END) {
            sub = c - FRAG0;
        } else if (c == 2u) { /* WHAT */
            sub = X_WHAT0 + (unsigned)(why->d - cmd_defs);
        } else if (c == 7u) { /* USE */
            sub = (why->d->kind == K_SERVER) ? X_USE_HOST : X_USE_TEXT;
        } else {
            put_byte(why, c, t - 1, a);
            continue;
        }
        if (depth < PUT_DEPTH) {
            back[depth++] = t;
            t = text_at(sub);
        }
    }
}

/* The first reason of each outcome, E_UNKNOWN to E_STORE. */
static const uint8_t first_reason[] = {R_NOT_AT, R_FORM, R_EMPTY, R_LONG, R_BUSY, R_STORE};

/* Write reason id (see TEXTS) for command why->d and number a; return its
 * outcome. */
static unsigned fail(why_t *why, unsigned id, size_t a)
{
    unsigned e = E_STORE;

    put(why, text_at(id), a);
    while (id < first_reason[e - 1u]) {
        e--;
    }
    return e;
}

/* ------------------------------------------------------------------------ */
/* Parsing one command                                                      */
/* ------------------------------------------------------------------------ */

/* Parse a trimmed, non-empty line into why. */
static unsigned parse_cmd(const char *p, size_t n, why_t *why)
{
    const cmd_def_t *d;
    size_t k = 3u;
    span_t rest;

    why->d = NULL;
    why->form = FORM_RUN;
    why->q.p = p;
    why->q.n = n;
    if (n < 2u || (p[0] | 0x20) != 'a' || (p[1] | 0x20) != 't' || (n > 2u && p[2] != '+')) {
        return fail(why, R_NOT_AT, NAME_SHOWN);
    }
    if (n == 2u) {
        return E_NONE; /* plain AT */
    }
    while (k < n && is_alnum(p[k])) {
        k++;
    }
    for (d = cmd_defs; !word_eq(p + 3, k - 3u, d->name); d++) {
        if (d == CMD_UPGRADE) {
            why->q.p = p + 3;
            why->q.n = k - 3u;
            return fail(why, R_UNKNOWN, NAME_SHOWN);
        }
    }
    why->d = d;
    /* The rest: "", "?", "=?" or "=<value>" (blanks before them are ignored). */
    rest = trim(p + k, n - k);
    if (rest.n != 0u) {
        if (rest.n - (rest.p[0] == '=' ? 1u : 0u) == 1u && rest.p[rest.n - 1u] == '?') {
            why->form = FORM_QUERY;
        } else if (rest.p[0] != '=') {
            return fail(why, R_FORM, 0u);
        } else {
            why->form = FORM_SET;
            why->v = trim(rest.p + 1, rest.n - 1u);
        }
    }
    if (d->kind == K_UPGRADE && why->form == FORM_SET) {
        return fail(why, R_NO_VALUE, 0u);
    }
    if (d->kind != K_UPGRADE && why->form == FORM_RUN) {
        return fail(why, R_NEEDS_VALUE, 0u);
    }
    return E_NONE;
}

/* ------------------------------------------------------------------------ */
/* Checking and applying values (into the staged copy)                      */
/* ------------------------------------------------------------------------ */

/* A value for d's field. A password is never quoted, not even its length
 * or one of its characters. */
static unsigned check_text(const cmd_def_t *d, span_t v, why_t *why)
{
    size_t bad = 0u;
    bool secret = (d->kind == K_PASS);

    while (bad < v.n && char_ok(v.p[bad], d->kind == K_SERVER ? SET_HOST : SET_TEXT)) {
        bad++;
    }
    why->q.p = v.p + bad;
    if (v.n == 0u) {
        return fail(why, R_EMPTY, 0u);
    }
    if (v.n >= d->cap) {
        return fail(why, secret ? R_LONG_SECRET : R_LONG, v.n);
    }
    return (bad == v.n) ? E_NONE : fail(why, secret ? R_BAD_SECRET : R_BAD_CHAR, bad + 1u);
}

/* Decimal port 1..65535. */
static unsigned check_port(span_t v, uint16_t *port, why_t *why)
{
    uint32_t n = 0u;
    size_t i;

    for (i = 0u; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        n = (n > 65535u) ? n : n * 10u + (uint32_t)(v.p[i] - '0');
    }
    why->q = v;
    if (v.n != 0u && i == v.n && n >= 1u && n <= 65535u) {
        *port = (uint16_t)n;
        return E_NONE;
    }
    return fail(why, (v.n == 0u) ? R_PORT_EMPTY : (i != v.n) ? R_PORT_NAN : R_PORT_RANGE, 8u);
}

/* Apply the set or run form of why to the staged copy. */
static unsigned apply(ota_settings_t *w, why_t *why)
{
    const cmd_def_t *d = why->d;
    span_t v = why->v;
    size_t comma = v.n;
    unsigned e = E_NONE;

    if (d == NULL) {
        return E_NONE; /* plain AT */
    }
    if (d->kind == K_UPGRADE) {
        w->upgrade_pending = (why->form == FORM_RUN); /* FORM_SET: the update ended */
        return E_NONE;
    }
    if (d->kind == K_PASS && v.n == 4u && memcmp(v.p, "NULL", 4u) == 0) {
        v.n = 0u; /* Dragino's "no password" */
    } else {
        if (d->kind == K_SERVER) { /* "<host>,<port>", split at the last comma (IPv6) */
            while (comma > 0u && v.p[comma - 1u] != ',') {
                comma--;
            }
            if (comma == 0u) {
                return fail(why, R_NO_COMMA, 0u);
            }
            v = trim(v.p, comma - 1u);
        }
        e = check_text(d, v, why);
        if (e == E_NONE && d->kind == K_SERVER) {
            e = check_port(trim(why->v.p + comma, why->v.n - comma), &w->port, why);
        }
    }
    if (e == E_NONE) {
        char *dst = (char *)w + d->off;
        memset(dst, 0, d->cap); /* canonical: nothing of an older value is left */
        memcpy(dst, v.p, v.n);
    }
    return e;
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */
/* ------------------------------------------------------------------------ */

static void query(const ota_settings_t *s, const cmd_def_t *d, ota_sb_t *out)
{
    const char *v = (const char *)s + d->off;

    if (d->kind == K_UPGRADE) {
        v = s->upgrade_pending ? "1" : "0";
    } else if (v[0] == '\0') {
        v = "NULL";
    } else if (d->kind == K_PASS) {
        v = "********"; /* never echoed: only whether one is set */
    }
    ota_sb_str(out, v);
    if (d->kind == K_SERVER && s->host[0] != '\0') {
        ota_sb_fmt(out, ",%u", NULL, s->port, 0u);
    }
}

/* ------------------------------------------------------------------------ */
/* Changes: stage, apply, save, make live                                   */
/* ------------------------------------------------------------------------ */

static bool ready(const ota_at_t *at)
{
    return at != NULL && at->settings != NULL; /* set with the store by ota_at_init() */
}

static unsigned config_list(ota_at_t *at, why_t *why);

/* Apply the command in why (or every command of its FORM_LIST) to a copy
 * of the settings, save it and make it live; nothing changes on a refusal
 * or if the save fails. busy: the reason while an update runs (0: allowed
 * then). */
static unsigned change(ota_at_t *at, unsigned busy, why_t *why)
{
    unsigned e;

    if (busy != 0u && at->busy) {
        return fail(why, busy, 0u);
    }
    memcpy(&at->work, at->settings, sizeof at->work);
    e = (why->form == FORM_LIST) ? config_list(at, why) : apply(&at->work, why);
    /* Compared as bytes: the staged copy started as a byte copy of the live
     * settings, padding included, and every field it sets is written whole
     * (NUL-padded), as ota_settings_load() and ota_settings_defaults() write
     * them. So equal bytes mean equal settings; live settings that an
     * application wrote itself, against the rule of ota_at_init(), can at
     * worst cost one save that was not needed. */
    if (e == E_NONE &&
        memcmp((const uint8_t *)&at->work, (const uint8_t *)at->settings, sizeof at->work) != 0) {
        if (ota_settings_save(at->store, &at->work) == OTA_OK) {
            memcpy(at->settings, &at->work, sizeof at->work);
        } else {
            e = fail(why, R_STORE, 0u);
        }
    }
    wipe(&at->work, sizeof at->work);
    return e;
}

/* A change of the upgrade flag: set (FORM_RUN) or cleared (FORM_SET). */
static unsigned change_flag(ota_at_t *at, uint8_t form, unsigned busy, why_t *why)
{
    why->d = CMD_UPGRADE;
    why->form = form;
    return change(at, busy, why);
}

/* ------------------------------------------------------------------------ */
/* Console                                                                  */
/* ------------------------------------------------------------------------ */

ota_status_t ota_at_exec(ota_at_t *at, const char *line, size_t len, char *reply, size_t cap)
{
    why_t out;
    span_t s;
    unsigned e;

    if (!ready(at) || (line == NULL && len != 0u) || reply == NULL || cap < OTA_AT_REPLY_MAX) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&out.sb, reply, cap);
    s = trim(line, len);
    if (s.n == 0u) {
        return OTA_OK;
    }
    /* The reason of a refusal, or a query's value, goes first. */
    e = parse_cmd(s.p, s.n, &out);
    if (e == E_NONE && out.form == FORM_QUERY) {
        query(at->settings, out.d, &out.sb);
    } else if (e == E_NONE && out.d != NULL) {
        e = change(at, R_BUSY, &out);
    }
    if (out.sb.len != 0u) {
        ota_sb_str(&out.sb, "\r\n");
    }
    ota_sb_str(&out.sb, &words[outcomes[e].word]);
    return (ota_status_t)outcomes[e].st;
}

void ota_at_set_busy(ota_at_t *at, bool busy)
{
    if (at != NULL) {
        at->busy = busy;
    }
}

ota_status_t ota_at_init(ota_at_t *at, ota_settings_t *settings, const ota_store_t *store)
{
    if (at == NULL || settings == NULL || store == NULL || store->read == NULL ||
        store->write == NULL || store->size < 2u * OTA_SETTINGS_RECORD_SIZE) {
        return OTA_ERR_PARAM;
    }
    memset(at, 0, sizeof *at);
    at->settings = settings;
    at->store = store;
    return OTA_OK;
}

bool ota_at_upgrade_pending(const ota_at_t *at)
{
    return ready(at) && at->settings->upgrade_pending;
}

ota_status_t ota_at_upgrade_done(ota_at_t *at)
{
    why_t why;

    if (!ready(at)) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&why.sb, why.none, sizeof why.none);
    return (ota_status_t)outcomes[change_flag(at, FORM_SET, 0u, &why)].st;
}

/* ------------------------------------------------------------------------ */
/* Downlinks                                                                */
/* ------------------------------------------------------------------------ */

/* "[cmd;cmd;...]" in why->v: apply every command to at->work, or fail. */
static unsigned config_list(ota_at_t *at, why_t *why)
{
    span_t all = trim(why->v.p, why->v.n);
    const char *p = all.p + 1;
    const char *end;

    if (all.n < 2u || all.p[0] != '[' || all.p[all.n - 1u] != ']') {
        return fail(why, R_LIST, 0u);
    }
    end = all.p + all.n - 1u; /* the ']' */
    why->d = NULL;
    why->form = FORM_NONE;
    while (p < end) {
        unsigned e;
        const char *q = p;
        while (q < end && *q != ';') {
            q++;
        }
        span_t item = trim(p, (size_t)(q - p));
        p = q + 1;
        if (item.n == 0u) {
            continue; /* empty items are skipped, as Dragino's strtok does */
        }
        if (why->d == CMD_UPGRADE) { /* something follows it */
            return fail(why, R_LAST, 0u);
        }
        e = parse_cmd(item.p, item.n, why);
        if (e == E_NONE && why->form == FORM_QUERY) {
            e = fail(why, R_QUERY, 0u);
        }
        if (e == E_NONE) {
            e = apply(&at->work, why);
        }
        if (e != E_NONE) {
            return (e == E_UNKNOWN) ? E_SYNTAX : e; /* inside a Config it is ours to refuse */
        }
    }
    return (why->form == FORM_NONE) ? fail(why, R_NO_CMD, 0u) : E_NONE;
}

/* A JSON object: its Config member, unescaped into at->text, then applied.
 * E_UNKNOWN when there is none. */
static unsigned downlink_json(ota_at_t *at, const uint8_t *d, size_t n, why_t *why)
{
    ota_json_val_t root;
    ota_json_val_t v;
    ota_status_t st;
    size_t len = 0u;
    unsigned e;

    if (ota_json_parse((const char *)d, n, &root) != OTA_OK || root.type != OTA_JSON_OBJECT) {
        return fail(why, R_NOT_JSON, 0u);
    }
    st = ota_json_get(&root, "Config", &v);
    if (st == OTA_ERR_NOT_FOUND) {
        return E_UNKNOWN;
    }
    if (st != OTA_OK || v.type != OTA_JSON_STRING) {
        return fail(why, (st != OTA_OK) ? R_TWICE : R_NOT_STRING, 0u);
    }
    st = ota_json_string(&v, at->text, sizeof at->text, &len);
    if (st != OTA_OK) {
        e = fail(why, (st == OTA_ERR_NOSPACE) ? R_TOO_LONG : R_BAD_STRING, OTA_CFG_AT_CONFIG_MAX);
    } else {
        why->form = FORM_LIST;
        why->v.p = at->text;
        why->v.n = len;
        e = change(at, R_BUSY_CONFIG, why);
    }
    wipe(at->text, sizeof at->text);
    return e;
}

ota_status_t ota_at_downlink(ota_at_t *at, const uint8_t *data, size_t len, char *reason,
                             size_t cap)
{
    why_t why;
    unsigned e = E_UNKNOWN;
    span_t s;

    if (!ready(at) || (data == NULL && len != 0u) || (reason == NULL && cap != 0u)) {
        return OTA_ERR_PARAM;
    }
    /* The reason goes straight into the caller's buffer, cut to fit. */
    if (cap != 0u) {
        ota_sb_init(&why.sb, reason, cap);
    } else {
        ota_sb_init(&why.sb, why.none, sizeof why.none);
    }
    s = trim((const char *)data, len);
    if (len != 0u && data[0] == 0xF9u) {
        why.q.p = (const char *)&data[1];
        if (len != 2u || data[1] != 0x01u) { /* only F9 01 starts an update */
            e = fail(&why, (len != 2u) ? R_F9_LEN : R_F9_VALUE, len);
        } else {
            e = change_flag(at, FORM_RUN, R_BUSY_F9, &why);
        }
    } else if (s.n != 0u && s.p[0] == '{') {
        e = downlink_json(at, data, len, &why);
    }
    return (ota_status_t)outcomes[e].st;
}

/* ------------------------------------------------------------------------ */
/* Status messages                                                          */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (2..4), or 0 if it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = (c >= 0xF0u) ? 4u : (c >= 0xE0u) ? 3u : 2u;
    unsigned lo = (c == 0xE0u) ? 0xA0u : (c == 0xF0u) ? 0x90u : 0x80u;
    unsigned hi = (c == 0xEDu) ? 0x9Fu : (c == 0xF4u) ? 0x8Fu : 0xBFu;
    size_t i;

    if (c < 0xC2u || c > 0xF4u) {
        return 0u;
    }
    for (i = 1u; i < n; i++) {
        if (s[i] < lo || s[i] > hi) {
            return 0u;
        }
        lo = 0x80u;
        hi = 0xBFu;
    }
    return n;
}

/* Append the characters of a JSON string (no quotes): escapes, valid
 * UTF-8 kept, anything else as U+FFFD. A message that does not fit is
 * dropped whole (see message()), so an escape cut in half never shows. */
static void sb_json_chars(ota_sb_t *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (p != NULL && *p != '\0') {
        unsigned char c = *p;
        size_t n = 1u;
        if (c == '"' || c == '\\') {
            ota_sb_mem(sb, "\\", 1u); /* then the character itself */
        }
        if (c < 0x20u) {
            ota_sb_str(sb, "\\u00");
            sb_hex(sb, c);
        } else if (c >= 0x80u && (n = utf8_len(p)) == 0u) {
            n = 1u;
            ota_sb_str(sb, "\\ufffd");
        } else {
            ota_sb_mem(sb, (const char *)p, n);
        }
        p += n;
    }
}

/* A whole message, or nothing: the end of building one into buf. */
static ota_status_t message_end(ota_sb_t *sb, size_t *len)
{
    if (sb->over) {
        sb->buf[0] = '\0';
        sb->len = 0u;
    }
    if (len != NULL) {
        *len = sb->len;
    }
    return sb->over ? OTA_ERR_NOSPACE : OTA_OK;
}

ota_status_t ota_at_status_msg(char *buf, size_t cap, const char *imei, ota_code_t code,
                               const char *detail, size_t *len)
{
    ota_sb_t sb;

    if (buf == NULL || cap == 0u || imei == NULL) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&sb, buf, cap);
    ota_tb_status_msg(&sb, imei, code, detail);
    return message_end(&sb, len);
}

/* The firmware message after an update (reason NULL) or a rollback. It is
 * built here rather than from TEXTS so that an application that only sends
 * it does not link the console's reasons. */
static ota_status_t fw_message(char *buf, size_t cap, const char *imei, const char *title,
                               const char *version, const char *reason, size_t *len)
{
    ota_sb_t sb;

    if (buf == NULL || cap == 0u || imei == NULL) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&sb, buf, cap);
    ota_sb_str(&sb, "{\"IMEI\":\"");
    sb_json_chars(&sb, imei);
    ota_sb_str(&sb, "\",\"Message\":\"OTA Update ");
    ota_sb_str(&sb, (reason == NULL) ? "OK, " : "failed, rolled back, ");
    ota_sb_str(&sb, "Firmware Title: ");
    sb_json_chars(&sb, title);
    ota_sb_str(&sb, " Ver: ");
    sb_json_chars(&sb, version);
    if (reason != NULL) {
        ota_sb_str(&sb, ": ");
        sb_json_chars(&sb, reason);
    }
    ota_sb_str(&sb, "\"}");
    return message_end(&sb, len);
}

ota_status_t ota_at_update_ok_msg(char *buf, size_t cap, const char *imei, const char *title,
                                  const char *version, size_t *len)
{
    return fw_message(buf, cap, imei, title, version, NULL, len);
}

ota_status_t ota_at_rollback_msg(char *buf, size_t cap, const char *imei, const char *title,
                                 const char *version, const char *reason, size_t *len)
{
    return fw_message(buf, cap, imei, title, version, (reason == NULL) ? "" : reason, len);
}
