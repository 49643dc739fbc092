/*
 * ota_at.c - Dragino-compatible configuration: AT+OTA* console commands,
 * the JSON Config and F9 downlinks, status messages. See ota_at.h.
 *
 * Every change is staged in at->work (a copy of the live settings), saved
 * with ota_settings_save() and only then copied over the live settings, so
 * a refused command, a refused downlink or a failed save changes nothing.
 * A change that leaves the settings identical writes nothing.
 */
#include "cellota/ota_at.h"

#include <string.h>

#include "ota_fmt.h"
#include "ota_json.h"
#include "ota_tb.h"

/* What a line asks for. */
enum { FORM_RUN, FORM_QUERY, FORM_SET };

/* Commands. */
enum { K_AT, K_SERVER, K_CLIENT, K_USER, K_PASS, K_TITLE, K_VERSION, K_UPGRADE };

/* Outcomes, each with its status and console error word. */
enum { E_NONE, E_UNKNOWN, E_SYNTAX, E_VALUE, E_RANGE, E_BUSY, E_STORE };

/* Character sets of values. */
enum { CS_HOST, CS_TEXT };

typedef struct {
    ota_status_t st;
    const char *word;
} outcome_t;

static const outcome_t outcomes[] = {
    {OTA_OK, "OK"},
    {OTA_ERR_NOT_FOUND, "AT_ERROR"},
    {OTA_ERR_FORMAT, "AT_ERROR"},
    {OTA_ERR_FORMAT, "AT_PARAM_ERROR"},
    {OTA_ERR_RANGE, "AT_PARAM_ERROR"},
    {OTA_ERR_STATE, "AT_BUSY_ERROR"},
    {OTA_ERR_PORT, "AT_ERROR"},
};

typedef struct {
    const char *name; /* after "AT+", upper case */
    uint8_t key;
} cmd_def_t;

static const cmd_def_t cmd_defs[] = {
    {"OTASER", K_SERVER}, {"OTACLT", K_CLIENT},   {"OTAUNAME", K_USER}, {"OTAPWD", K_PASS},
    {"OTATITLE", K_TITLE}, {"OTAVER", K_VERSION}, {"UPGRADE", K_UPGRADE},
};

#define CMD_COUNT (sizeof cmd_defs / sizeof cmd_defs[0])

static const char hex_digits[] = "0123456789abcdef";
#define NAME_SHOWN 16u /* characters of an unknown name quoted in a reason */

/* A string field of ota_settings_t that a command sets. */
typedef struct {
    size_t member;    /* offsetof in ota_settings_t */
    uint16_t cap;     /* array size, NUL included */
    const char *what; /* its name in reasons */
} field_t;

/* Indexed by key - K_CLIENT (K_CLIENT..K_VERSION). */
static const field_t text_fields[] = {
    {offsetof(ota_settings_t, client_id), (uint16_t)(OTA_CFG_CRED_MAX + 1u), "client id"},
    {offsetof(ota_settings_t, username), (uint16_t)(OTA_CFG_CRED_MAX + 1u), "user name"},
    {offsetof(ota_settings_t, password), (uint16_t)(OTA_CFG_CRED_MAX + 1u), "password"},
    {offsetof(ota_settings_t, title), (uint16_t)(OTA_CFG_TITLE_MAX + 1u), "title"},
    {offsetof(ota_settings_t, version), (uint16_t)(OTA_CFG_VERSION_MAX + 1u), "version"},
};

/* One parsed line: points into the caller's text. */
typedef struct {
    uint8_t key;
    uint8_t form;
    const char *name; /* "AT+<name>" for reasons */
    const char *val;
    size_t vlen;
} at_cmd_t;

/* A view of text. */
typedef struct {
    const char *p;
    size_t n;
} span_t;

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

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Does span s equal the upper-case word w, ignoring case? */
static bool word_eq(const char *p, size_t n, const char *w)
{
    size_t i;

    for (i = 0u; i < n; i++) {
        if (w[i] == '\0' || upper(p[i]) != w[i]) {
            return false;
        }
    }
    return w[n] == '\0';
}

static bool char_ok(char c, unsigned cs)
{
    if (cs == CS_HOST) {
        return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':';
    }
    return c >= 0x21 && c <= 0x7E && c != '"' && c != ';' && c != '\\';
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;

    while (n > 0u) {
        *v++ = 0u;
        n--;
    }
}

/* Append user text for a reason: printable ASCII only, at most max chars. */
static void sb_quote(ota_sb_t *sb, const char *p, size_t n, size_t max)
{
    size_t i;

    for (i = 0u; i < n && i < max; i++) {
        char c = (p[i] >= 0x20 && p[i] <= 0x7E) ? p[i] : '?';
        ota_sb_mem(sb, &c, 1u);
    }
    if (n > max) {
        ota_sb_str(sb, "...");
    }
}

/* Append one byte as 0x and two hex digits. */
static void sb_byte(ota_sb_t *sb, uint8_t b)
{
    char t[4] = {'0', 'x', hex_digits[b >> 4], hex_digits[b & 0xFu]};

    ota_sb_mem(sb, t, sizeof t);
}

/* Append "AT+<name>: " for a reason. */
static void sb_cmd(ota_sb_t *why, const at_cmd_t *c)
{
    ota_sb_str(why, "AT+");
    ota_sb_str(why, c->name);
    ota_sb_str(why, ": ");
}

/* ------------------------------------------------------------------------ */
/* Parsing one command                                                      */
/* ------------------------------------------------------------------------ */

static const cmd_def_t *find_cmd(const char *p, size_t n)
{
    size_t i;

    for (i = 0u; i < CMD_COUNT; i++) {
        if (word_eq(p, n, cmd_defs[i].name)) {
            return &cmd_defs[i];
        }
    }
    return NULL;
}

/* The part after the name: "", "?", "=?" or "=<value>" (blanks before
 * them are ignored). */
static unsigned parse_form(const char *p, size_t n, at_cmd_t *c, ota_sb_t *why)
{
    span_t rest = trim(p, n);

    p = rest.p;
    n = rest.n;
    if (n == 0u) {
        c->form = FORM_RUN;
        return E_NONE;
    }
    if ((n == 1u && p[0] == '?') || (n == 2u && p[0] == '=' && p[1] == '?')) {
        c->form = FORM_QUERY;
        return E_NONE;
    }
    if (p[0] != '=') {
        sb_cmd(why, c);
        ota_sb_str(why, "expected = or ? after the command name");
        return E_SYNTAX;
    }
    c->form = FORM_SET;
    span_t v = trim(p + 1, n - 1u);
    c->val = v.p;
    c->vlen = v.n;
    return E_NONE;
}

/* Run forms and values that the command does not take. */
static unsigned check_form(const at_cmd_t *c, ota_sb_t *why)
{
    if (c->key == K_UPGRADE && c->form == FORM_SET) {
        ota_sb_str(why, "AT+UPGRADE takes no value");
        return E_SYNTAX;
    }
    if (c->key != K_UPGRADE && c->key != K_AT && c->form == FORM_RUN) {
        ota_sb_fmt(why, "AT+%s needs =<value> to set it or ? to read it", c->name, 0u, 0u);
        return E_SYNTAX;
    }
    return E_NONE;
}

/* Parse a trimmed, non-empty line into c. */
static unsigned parse_cmd(const char *p, size_t n, at_cmd_t *c, ota_sb_t *why)
{
    const cmd_def_t *def;
    size_t k = 3u;
    unsigned e;

    memset(c, 0, sizeof *c);
    if (n == 2u && word_eq(p, 2u, "AT")) {
        c->key = K_AT;
        c->form = FORM_RUN;
        return E_NONE;
    }
    if (n < 3u || !word_eq(p, 3u, "AT+")) {
        ota_sb_str(why, "not an AT command: ");
        sb_quote(why, p, n, NAME_SHOWN);
        return E_UNKNOWN;
    }
    while (k < n && is_alnum(p[k])) {
        k++;
    }
    def = find_cmd(p + 3, k - 3u);
    if (def == NULL) {
        ota_sb_str(why, "unknown command AT+");
        sb_quote(why, p + 3, k - 3u, NAME_SHOWN);
        return E_UNKNOWN;
    }
    c->key = def->key;
    c->name = def->name;
    e = parse_form(p + k, n - k, c, why);
    return (e == E_NONE) ? check_form(c, why) : e;
}

/* ------------------------------------------------------------------------ */
/* Checking and applying values (into the staged copy)                      */
/* ------------------------------------------------------------------------ */

/* Index of the first character of v not in charset cs, or v.n. */
static size_t first_bad(span_t v, unsigned cs)
{
    size_t i = 0u;

    while (i < v.n && char_ok(v.p[i], cs)) {
        i++;
    }
    return i;
}

/* A value of charset cs that must fit cap (NUL included). A password is
 * never quoted, not even its length or one of its characters. */
static unsigned check_text(const at_cmd_t *c, const char *what, span_t v, size_t cap, unsigned cs,
                           ota_sb_t *why)
{
    bool secret = (c->key == K_PASS);
    size_t bad = first_bad(v, cs);

    if (v.n != 0u && v.n < cap && bad == v.n) {
        return E_NONE;
    }
    sb_cmd(why, c);
    if (v.n == 0u) {
        ota_sb_fmt(why, "%s is empty", what, 0u, 0u);
        return E_VALUE;
    }
    if (v.n >= cap) {
        ota_sb_fmt(why, secret ? "%s is longer than %u characters" : "%s is %u characters, at most %u",
                   what, secret ? (uint32_t)(cap - 1u) : (uint32_t)v.n, (uint32_t)(cap - 1u));
        return E_RANGE;
    }
    if (secret) {
        ota_sb_str(why, "password holds a character that is not allowed");
    } else {
        ota_sb_fmt(why, "%s character %u (", what, (uint32_t)(bad + 1u), 0u);
        sb_byte(why, (uint8_t)v.p[bad]);
        ota_sb_str(why, ") is not allowed");
    }
    ota_sb_str(why, cs == CS_HOST ? ": use letters, digits . - _ :"
                                  : ": use printable ASCII, no space \" ; \\");
    return E_VALUE;
}

/* Decimal port 1..65535. */
static unsigned check_port(const at_cmd_t *c, span_t v, uint16_t *port, ota_sb_t *why)
{
    uint32_t n = 0u;
    size_t i;

    for (i = 0u; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        n = (n > 65535u) ? n : n * 10u + (uint32_t)(v.p[i] - '0');
    }
    if (v.n != 0u && i == v.n && n >= 1u && n <= 65535u) {
        *port = (uint16_t)n;
        return E_NONE;
    }
    sb_cmd(why, c);
    if (v.n == 0u) {
        ota_sb_str(why, "port is empty");
        return E_VALUE;
    }
    ota_sb_str(why, "port ");
    sb_quote(why, v.p, v.n, 8u);
    ota_sb_str(why, (i == v.n) ? " is not in 1..65535" : " is not a number");
    return (i == v.n) ? E_RANGE : E_VALUE;
}

static void set_text(char *dst, size_t cap, const char *p, size_t n)
{
    memset(dst, 0, cap); /* canonical: nothing of an older value is left */
    memcpy(dst, p, n);
}

/* "<host>,<port>", split at the last comma (an IPv6 host has none). */
static unsigned apply_server(ota_settings_t *w, const at_cmd_t *c, ota_sb_t *why)
{
    size_t comma = c->vlen;
    uint16_t port = 0u;
    unsigned e;

    while (comma > 0u && c->val[comma - 1u] != ',') {
        comma--;
    }
    if (comma == 0u) {
        sb_cmd(why, c);
        ota_sb_str(why, "expected <host>,<port>");
        return E_VALUE;
    }
    span_t host = trim(c->val, comma - 1u);
    e = check_text(c, "host", host, sizeof w->host, CS_HOST, why);
    if (e == E_NONE) {
        e = check_port(c, trim(c->val + comma, c->vlen - comma), &port, why);
    }
    if (e == E_NONE) {
        set_text(w->host, sizeof w->host, host.p, host.n);
        w->port = port;
    }
    return e;
}

static unsigned apply_text(ota_settings_t *w, const at_cmd_t *c, ota_sb_t *why)
{
    const field_t *f = &text_fields[c->key - K_CLIENT];
    char *dst = (char *)w + f->member;
    span_t v = {c->val, c->vlen};
    unsigned e;

    if (c->key == K_PASS && c->vlen == 4u && memcmp(c->val, "NULL", 4u) == 0) {
        set_text(dst, f->cap, "", 0u);
        return E_NONE;
    }
    e = check_text(c, f->what, v, f->cap, CS_TEXT, why);
    if (e == E_NONE) {
        set_text(dst, f->cap, c->val, c->vlen);
    }
    return e;
}

/* Apply a set or run form to the staged copy. */
static unsigned apply(ota_settings_t *w, const at_cmd_t *c, ota_sb_t *why)
{
    switch (c->key) {
    case K_AT:
        return E_NONE;
    case K_UPGRADE:
        w->upgrade_pending = true;
        return E_NONE;
    case K_SERVER:
        return apply_server(w, c, why);
    default:
        return apply_text(w, c, why);
    }
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */
/* ------------------------------------------------------------------------ */

static void sb_value(ota_sb_t *out, const char *s)
{
    ota_sb_str(out, s[0] != '\0' ? s : "NULL");
}

static void query(const ota_settings_t *s, const at_cmd_t *c, ota_sb_t *out)
{
    switch (c->key) {
    case K_AT:
        break;
    case K_UPGRADE:
        ota_sb_str(out, s->upgrade_pending ? "1\r\n" : "0\r\n");
        break;
    case K_SERVER:
        sb_value(out, s->host);
        if (s->host[0] != '\0') {
            ota_sb_fmt(out, ",%u", NULL, s->port, 0u);
        }
        ota_sb_str(out, "\r\n");
        break;
    case K_PASS: /* never echoed: only whether one is set */
        ota_sb_str(out, s->password[0] != '\0' ? "********\r\n" : "NULL\r\n");
        break;
    default:
        sb_value(out, (const char *)s + text_fields[c->key - K_CLIENT].member);
        ota_sb_str(out, "\r\n");
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Committing the staged copy                                               */
/* ------------------------------------------------------------------------ */

static bool ready(const ota_at_t *at)
{
    return at != NULL && at->settings != NULL && at->store != NULL;
}

/* Same settings? (Field by field: the struct has padding.) */
static bool same_settings(const ota_settings_t *a, const ota_settings_t *b)
{
    size_t i;

    if (a->port != b->port || a->upgrade_pending != b->upgrade_pending ||
        strncmp(a->host, b->host, sizeof a->host) != 0) {
        return false;
    }
    for (i = 0u; i < sizeof text_fields / sizeof text_fields[0]; i++) {
        const char *x = (const char *)a + text_fields[i].member;
        const char *y = (const char *)b + text_fields[i].member;
        if (strncmp(x, y, text_fields[i].cap) != 0) {
            return false;
        }
    }
    return true;
}

/* Save at->work and make it live; nothing changes if the save fails. */
static unsigned commit(ota_at_t *at, ota_sb_t *why)
{
    unsigned e = E_NONE;

    if (!same_settings(&at->work, at->settings)) {
        if (ota_settings_save(at->store, &at->work) == OTA_OK) {
            memcpy(at->settings, &at->work, sizeof at->work);
        } else {
            ota_sb_str(why, "settings not saved: the settings store failed");
            e = E_STORE;
        }
    }
    wipe(&at->work, sizeof at->work);
    return e;
}

static void stage(ota_at_t *at)
{
    memcpy(&at->work, at->settings, sizeof at->work);
}

/* ------------------------------------------------------------------------ */
/* Console                                                                  */
/* ------------------------------------------------------------------------ */

static unsigned exec_cmd(ota_at_t *at, const at_cmd_t *c, ota_sb_t *out, ota_sb_t *why)
{
    unsigned e;

    if (c->form == FORM_QUERY) {
        query(at->settings, c, out);
        return E_NONE;
    }
    if (c->key == K_AT) {
        return E_NONE;
    }
    if (at->busy) {
        ota_sb_str(why, "an update is running: try again when it has ended");
        return E_BUSY;
    }
    stage(at);
    e = apply(&at->work, c, why);
    if (e != E_NONE) {
        wipe(&at->work, sizeof at->work);
        return e;
    }
    return commit(at, why);
}

ota_status_t ota_at_exec(ota_at_t *at, const char *line, size_t len, char *reply, size_t cap)
{
    char reason[OTA_AT_REASON_MAX + 1u];
    ota_sb_t out;
    ota_sb_t why;
    at_cmd_t c;
    span_t s;
    unsigned e;

    if (!ready(at) || (line == NULL && len != 0u) || reply == NULL || cap < OTA_AT_REPLY_MAX) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&out, reply, cap);
    ota_sb_init(&why, reason, sizeof reason);
    s = trim(line, len);
    if (s.n == 0u) {
        return OTA_OK;
    }
    e = parse_cmd(s.p, s.n, &c, &why);
    if (e == E_NONE) {
        e = exec_cmd(at, &c, &out, &why);
    }
    if (e != E_NONE) {
        ota_sb_str(&out, reason);
        ota_sb_str(&out, "\r\n");
    }
    ota_sb_str(&out, outcomes[e].word);
    ota_sb_str(&out, "\r\n");
    return outcomes[e].st;
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
    char reason[OTA_AT_REASON_MAX + 1u];
    ota_sb_t why;

    if (!ready(at)) {
        return OTA_ERR_PARAM;
    }
    if (!at->settings->upgrade_pending) {
        return OTA_OK;
    }
    ota_sb_init(&why, reason, sizeof reason);
    stage(at);
    at->work.upgrade_pending = false;
    return outcomes[commit(at, &why)].st;
}

/* ------------------------------------------------------------------------ */
/* Downlinks                                                                */
/* ------------------------------------------------------------------------ */

static unsigned downlink_f9(ota_at_t *at, const uint8_t *d, size_t n, ota_sb_t *why)
{
    if (n != 2u) {
        ota_sb_fmt(why, "F9 downlink must be 2 bytes, got %u", NULL, (uint32_t)n, 0u);
        return E_VALUE;
    }
    if (d[1] != 0x01u) {
        ota_sb_str(why, "F9 downlink: value ");
        sb_byte(why, d[1]);
        ota_sb_str(why, " unknown (F9 01 starts an update)");
        return E_VALUE;
    }
    if (at->busy) {
        ota_sb_str(why, "an update is already running");
        return E_BUSY;
    }
    stage(at);
    at->work.upgrade_pending = true;
    return commit(at, why);
}

/* One item of the Config list, applied to the staged copy; *key tells which. */
static unsigned config_item(ota_at_t *at, span_t item, uint8_t *key, ota_sb_t *why)
{
    at_cmd_t c;
    unsigned e = parse_cmd(item.p, item.n, &c, why);

    if (e != E_NONE) {
        return (e == E_UNKNOWN) ? E_SYNTAX : e; /* inside a Config it is ours to refuse */
    }
    *key = c.key;
    if (c.form == FORM_QUERY) {
        ota_sb_fmt(why, "AT+%s: a query is not allowed in a downlink", c.name, 0u, 0u);
        return E_SYNTAX;
    }
    return apply(&at->work, &c, why);
}

/* "[cmd;cmd;...]" in at->text: stage every command, or fail. */
static unsigned config_list(ota_at_t *at, size_t len, ota_sb_t *why)
{
    span_t all = trim(at->text, len);
    size_t pos = 1u;
    unsigned count = 0u;
    uint8_t key = K_AT;

    if (all.n < 2u || all.p[0] != '[' || all.p[all.n - 1u] != ']') {
        ota_sb_str(why, "Config must look like [AT+...;AT+...]");
        return E_SYNTAX;
    }
    while (pos < all.n - 1u) {
        size_t end = pos;
        while (end < all.n - 1u && all.p[end] != ';') {
            end++;
        }
        span_t item = trim(all.p + pos, end - pos);
        pos = end + 1u;
        if (item.n == 0u) {
            continue; /* empty items are skipped, as Dragino's strtok does */
        }
        if (key == K_UPGRADE) { /* something follows it */
            ota_sb_str(why, "AT+UPGRADE must be the last command");
            return E_SYNTAX;
        }
        unsigned e = config_item(at, item, &key, why);
        if (e != E_NONE) {
            return e;
        }
        count++;
    }
    if (count == 0u) {
        ota_sb_str(why, "Config holds no command");
        return E_SYNTAX;
    }
    return E_NONE;
}

/* Unescape the Config member into at->text. E_UNKNOWN when there is none. */
static unsigned config_text(ota_at_t *at, const uint8_t *d, size_t n, size_t *len, ota_sb_t *why)
{
    ota_json_val_t root;
    ota_json_val_t v;
    ota_status_t st;

    if (ota_json_parse((const char *)d, n, &root) != OTA_OK || root.type != OTA_JSON_OBJECT) {
        ota_sb_str(why, "downlink is not a valid JSON object");
        return E_SYNTAX;
    }
    st = ota_json_get(&root, "Config", &v);
    if (st == OTA_ERR_NOT_FOUND) {
        return E_UNKNOWN;
    }
    if (st != OTA_OK || v.type != OTA_JSON_STRING) {
        ota_sb_str(why, st != OTA_OK ? "Config appears more than once" : "Config is not a string");
        return E_SYNTAX;
    }
    st = ota_json_string(&v, at->text, sizeof at->text, len);
    if (st == OTA_ERR_NOSPACE) {
        ota_sb_fmt(why, "Config is longer than %u characters", NULL, OTA_CFG_AT_CONFIG_MAX, 0u);
        return E_RANGE;
    }
    if (st != OTA_OK) {
        ota_sb_str(why, "Config is not a valid JSON string");
        return E_SYNTAX;
    }
    return E_NONE;
}

static unsigned downlink_json(ota_at_t *at, const uint8_t *d, size_t n, ota_sb_t *why)
{
    size_t len = 0u;
    unsigned e = config_text(at, d, n, &len, why);

    if (e == E_NONE && at->busy) {
        ota_sb_str(why, "an update is running: configuration not applied");
        e = E_BUSY;
    }
    if (e == E_NONE) {
        stage(at);
        e = config_list(at, len, why);
        e = (e == E_NONE) ? commit(at, why) : e;
    }
    wipe(&at->work, sizeof at->work);
    wipe(at->text, sizeof at->text);
    return e;
}

static bool starts_json(const uint8_t *d, size_t n)
{
    size_t i = 0u;

    while (i < n && is_blank((char)d[i])) {
        i++;
    }
    return i < n && d[i] == '{';
}

ota_status_t ota_at_downlink(ota_at_t *at, const uint8_t *data, size_t len, char *reason,
                             size_t cap)
{
    char text[OTA_AT_REASON_MAX + 1u];
    ota_sb_t why;
    unsigned e = E_UNKNOWN;

    if (!ready(at) || (data == NULL && len != 0u) || (reason == NULL && cap != 0u)) {
        return OTA_ERR_PARAM;
    }
    if (cap != 0u) {
        reason[0] = '\0';
    }
    ota_sb_init(&why, text, sizeof text);
    if (len != 0u && data[0] == 0xF9u) {
        e = downlink_f9(at, data, len, &why);
    } else if (starts_json(data, len)) {
        e = downlink_json(at, data, len, &why);
    }
    if (e != E_NONE && e != E_UNKNOWN && cap != 0u) {
        ota_sb_t out;
        ota_sb_init(&out, reason, cap);
        ota_sb_str(&out, text);
    }
    return outcomes[e].st;
}

/* ------------------------------------------------------------------------ */
/* Status messages                                                          */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80u;
    unsigned char hi = 0xBFu;
    size_t i;

    if (c >= 0xC2u && c <= 0xDFu) {
        n = 2u;
    } else if (c >= 0xE0u && c <= 0xEFu) {
        n = 3u;
        lo = (c == 0xE0u) ? 0xA0u : lo; /* no overlong forms */
        hi = (c == 0xEDu) ? 0x9Fu : hi; /* no surrogates */
    } else if (c >= 0xF0u && c <= 0xF4u) {
        n = 4u;
        lo = (c == 0xF0u) ? 0x90u : lo;
        hi = (c == 0xF4u) ? 0x8Fu : hi; /* nothing above U+10FFFF */
    } else {
        return 0u;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0u;
    }
    for (i = 2u; i < n; i++) {
        if (s[i] < 0x80u || s[i] > 0xBFu) {
            return 0u;
        }
    }
    return n;
}

/* Append n bytes whole, or set over. */
static void sb_whole(ota_sb_t *sb, const char *s, size_t n)
{
    if (sb->over || sb->len + n >= sb->cap) {
        sb->over = true;
        return;
    }
    ota_sb_mem(sb, s, n);
}

/* Append the characters of a JSON string (no quotes): escapes, valid
 * UTF-8 kept, anything else as U+FFFD. */
static void sb_json_chars(ota_sb_t *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (p != NULL && *p != '\0' && !sb->over) {
        unsigned char c = *p;
        size_t n = 1u;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_whole(sb, esc, 2u);
        } else if (c < 0x20u) {
            char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xFu]};
            sb_whole(sb, esc, 6u);
        } else if (c < 0x80u) {
            sb_whole(sb, (const char *)p, 1u);
        } else {
            n = utf8_len(p);
            if (n == 0u) {
                n = 1u;
                sb_whole(sb, "\\ufffd", 6u);
            } else {
                sb_whole(sb, (const char *)p, n);
            }
        }
        p += n;
    }
}

static ota_status_t msg_result(ota_sb_t *sb, size_t *len)
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
    return msg_result(&sb, len);
}

/* {"IMEI":"<imei>","Message":"<head>Firmware Title: <t> Ver: <v>[: <reason>]"} */
static ota_status_t firmware_msg(char *buf, size_t cap, const char *imei, const char *head,
                                 const char *title, const char *version, const char *reason,
                                 size_t *len)
{
    ota_sb_t sb;

    if (buf == NULL || cap == 0u || imei == NULL) {
        return OTA_ERR_PARAM;
    }
    ota_sb_init(&sb, buf, cap);
    ota_sb_str(&sb, "{\"IMEI\":");
    ota_sb_json_str(&sb, imei);
    ota_sb_str(&sb, ",\"Message\":\"");
    ota_sb_str(&sb, head);
    ota_sb_str(&sb, "Firmware Title: ");
    sb_json_chars(&sb, title);
    ota_sb_str(&sb, " Ver: ");
    sb_json_chars(&sb, version);
    if (reason != NULL) {
        ota_sb_str(&sb, ": ");
        sb_json_chars(&sb, reason);
    }
    ota_sb_str(&sb, "\"}");
    return msg_result(&sb, len);
}

ota_status_t ota_at_update_ok_msg(char *buf, size_t cap, const char *imei, const char *title,
                                  const char *version, size_t *len)
{
    return firmware_msg(buf, cap, imei, "OTA Update OK, ", title, version, NULL, len);
}

ota_status_t ota_at_rollback_msg(char *buf, size_t cap, const char *imei, const char *title,
                                 const char *version, const char *reason, size_t *len)
{
    return firmware_msg(buf, cap, imei, "OTA Update failed, rolled back, ", title, version,
                        reason != NULL ? reason : "", len);
}
