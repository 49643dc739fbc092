/*
 * A fake MQTT transport with a ThingsBoard firmware server behind it, for
 * the client's unit tests. Publishing a request makes the fake server queue
 * its answer; the answers are delivered on the next poll, the way a real
 * transport delivers messages from inside its poll. Knobs inject the
 * faults a real network and a real (or lying) server produce.
 */
#ifndef CELLOTA_TESTS_FAKE_TB_H
#define CELLOTA_TESTS_FAKE_TB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_port.h"

#define FAKE_TB_QUEUE 24
#define FAKE_TB_TOPIC 96
#define FAKE_TB_PAYLOAD 1200
#define FAKE_TB_MAX_CHUNKS 512
#define FAKE_TB_LOG 64

typedef struct {
    char topic[FAKE_TB_TOPIC];
    uint8_t payload[FAKE_TB_PAYLOAD];
    size_t len;
} fake_tb_msg_t;

typedef struct {
    /* --- the server --- */
    const uint8_t *pkg;   /* package served (fw_size = pkg_len unless attrs overridden) */
    size_t pkg_len;
    char attrs[1024];     /* attribute answer payload; "" → built from the fields below */
    char title[64];
    char version[64];
    char algo[16];        /* "CRC32" or "SHA256" */
    char checksum[80];    /* fw_checksum text */
    bool no_answer_attrs; /* never answer attribute requests */

    /* --- faults --- */
    int drop_k;           /* chunk index whose answers are dropped ... */
    int drop_times;       /* ... this many times (-1: forever) */
    int corrupt_k;        /* chunk index whose answers get a flipped byte ... */
    int corrupt_times;    /* ... this many times (-1: forever) */
    int empty_k;          /* chunk index answered with an empty payload ... */
    int empty_times;      /* ... this many times */
    int oversize_k;       /* chunk index answered with 8 extra bytes, once */
    bool duplicate;       /* every answer delivered twice */
    bool reorder;         /* queued answers delivered newest first */
    bool stray;           /* before each answer, one for a wrong rid and one for k+1000 */
    const char *error_text; /* if set, every chunk request is answered on v2/fw/error */
    bool refuse_connect;  /* connect() returns -7 */
    bool connack_fail;    /* link goes FAILED instead of UP */
    int connect_polls;    /* polls before the link is UP (0: at once) */
    int drop_link_after;  /* link goes FAILED after this many chunk answers (0: never) */
    int publish_fail_after; /* publish returns -5 after this many publishes (0: never) */

    /* --- what happened --- */
    int connects;
    int disconnects;
    int publishes;
    int chunk_requests;
    int answers;
    uint32_t chunk_req_count[FAKE_TB_MAX_CHUNKS];
    uint32_t last_rid;
    int distinct_rids;
    char sizes_seen[32];           /* last chunk request payload */
    char telemetry[FAKE_TB_LOG][256];
    int telemetry_count;
    int subscribes;
    char username[64];

    /* --- internals --- */
    ota_link_state_t state;
    ota_msg_cb_t cb;
    void *arg;
    int polls_since_connect;
    fake_tb_msg_t queue[FAKE_TB_QUEUE];
    int queued;
    int outstanding_max;  /* most chunk requests in flight at once */
    int in_flight;
} fake_tb_t;

/* Reset to a well-behaved server serving `pkg` under title/version with a
 * correct CRC32 fw_checksum computed over the package. */
void fake_tb_init(fake_tb_t *tb, const uint8_t *pkg, size_t pkg_len, const char *title,
                  const char *version);

/* Switch to SHA256 with a correct checksum. */
void fake_tb_use_sha256(fake_tb_t *tb);

/* The transport interface backed by `tb`. */
ota_transport_t fake_tb_transport(fake_tb_t *tb);

/* Messages waiting for the next poll. */
int fake_tb_pending(const fake_tb_t *tb);

/* True if some telemetry message contains `needle`. */
bool fake_tb_telemetry_has(const fake_tb_t *tb, const char *needle);

/* A fake millisecond clock. */
typedef struct {
    uint32_t now;
} fake_clock_t;
ota_clock_t fake_clock(fake_clock_t *clk);

/* A recording uplink and reboot. */
typedef struct {
    char last[512];
    int count;
    int reboots;
} fake_uplink_t;
ota_uplink_t fake_uplink(fake_uplink_t *up);
ota_reboot_t fake_reboot(fake_uplink_t *up);

#endif /* CELLOTA_TESTS_FAKE_TB_H */
