/**
 * @file cellota_faulty.h
 * @brief A fault-injecting ::ota_transport_t: it wraps another transport and
 *        damages what arrives, the way a bad cellular link or a broken
 *        broker would.
 *
 * Every call of the wrapper goes to the inner transport. Incoming messages
 * pass through the wrapper's callback, where those on the targeted topics
 * (chunk answers `v2/fw/response/...` and attribute answers
 * `v1/devices/me/attributes...`, see ::cellota_faulty_cfg_t::targets) are,
 * each with its own configured probability:
 *
 * | fault     | what happens to the message                                          |
 * |-----------|----------------------------------------------------------------------|
 * | loss      | dropped                                                              |
 * | truncate  | cut to a random shorter length (0 .. len-1 bytes)                    |
 * | corrupt   | one random byte XORed with a random non-zero value                   |
 * | duplicate | delivered twice                                                      |
 * | reorder   | held back and delivered right after the next message                 |
 * | delay     | held back for ::cellota_faulty_cfg_t::delay_ms                       |
 *
 * and after ::cellota_faulty_cfg_t::drop_link_after chunk answers the link
 * is cut: that answer and everything after it is lost, the wrapper's state
 * becomes ::OTA_LINK_FAILED and the inner transport is disconnected, until
 * the client connects again (or never, with
 * ::cellota_faulty_cfg_t::link_gone_for_good). Other topics pass untouched.
 *
 * Every decision comes from a PRNG seeded with ::cellota_faulty_cfg_t::seed,
 * so a run over a deterministic inner transport (a fake, a fake clock) is
 * reproducible, and a run over a real broker repeats the same fault
 * sequence for the same message sequence.
 *
 * Held messages (reorder, delay) are copied into the wrapper and delivered
 * from inside the wrapper's `poll`, as the ::ota_msg_cb_t contract requires;
 * a reordered message that no other message follows is released after
 * ::cellota_faulty_cfg_t::hold_max_ms. Messages too big to copy
 * (::CELLOTA_FAULTY_PAYLOAD_MAX) or arriving while the hold queue is full
 * are not held; they are delivered at once and counted as overflow.
 *
 * The wrapper is plain C99 (no allocation, no system call, no thread) and
 * is not thread-safe. It owns no resource: dropping it needs no call.
 */
#ifndef CELLOTA_FAULTY_H
#define CELLOTA_FAULTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Longest topic the wrapper can hold back, without the NUL. */
#define CELLOTA_FAULTY_TOPIC_MAX 127u
/** @brief Largest payload the wrapper can hold back or corrupt. */
#define CELLOTA_FAULTY_PAYLOAD_MAX 2048u
/** @brief Messages the wrapper can hold back at once. */
#define CELLOTA_FAULTY_QUEUE 16u

/** @brief ::cellota_faulty_cfg_t::targets bit: chunk answers (`v2/fw/response/...`). */
#define CELLOTA_FAULTY_CHUNKS 0x01u
/** @brief ::cellota_faulty_cfg_t::targets bit: attribute answers and pushes (`v1/devices/me/attributes...`). */
#define CELLOTA_FAULTY_ATTRS 0x02u
/** @brief ::cellota_faulty_cfg_t::targets bit: server errors (`v2/fw/error`). */
#define CELLOTA_FAULTY_ERRORS 0x04u

/** @brief What to damage and how often. Percentages are 0..100. */
typedef struct {
    uint8_t loss_pct;         /**< Chance that a message is dropped. */
    uint8_t dup_pct;          /**< Chance that a message is delivered twice. */
    uint8_t reorder_pct;      /**< Chance that a message is held until the next one has been delivered. */
    uint8_t delay_pct;        /**< Chance that a message is held for @ref delay_ms. */
    uint8_t truncate_pct;     /**< Chance that a message is cut short. */
    uint8_t corrupt_pct;      /**< Chance that one byte of a message is flipped. */
    uint32_t delay_ms;        /**< How long a delayed message is held (0: no delays). */
    uint32_t hold_max_ms;     /**< Longest a reordered message waits for a successor. */
    uint32_t drop_link_after; /**< Cut the link at this chunk answer (counted over the whole run, 1-based); 0 = never. Fires once. */
    bool link_gone_for_good;  /**< After the cut, every later connect hangs in ::OTA_LINK_CONNECTING (no network any more). */
    unsigned targets;         /**< Topics that are damaged: CELLOTA_FAULTY_* bits. */
    uint64_t seed;            /**< PRNG seed; the same seed gives the same decisions. */
} cellota_faulty_cfg_t;

/** @brief What the wrapper did so far. */
typedef struct {
    uint32_t seen;       /**< Targeted messages that arrived from the inner transport. */
    uint32_t delivered;  /**< Messages handed to the client (every topic, duplicates included). */
    uint32_t dropped;    /**< Targeted messages lost on purpose. */
    uint32_t duplicated; /**< Messages delivered a second time. */
    uint32_t reordered;  /**< Messages held until after their successor. */
    uint32_t delayed;    /**< Messages held for delay_ms. */
    uint32_t truncated;  /**< Messages cut short. */
    uint32_t corrupted;  /**< Messages with a flipped byte. */
    uint32_t link_cuts;  /**< Forced disconnections. */
    uint32_t lost_in_cut; /**< Messages that arrived while the link was cut (dropped). */
    uint32_t overflow;   /**< Messages that should have been held but could not be. */
} cellota_faulty_stats_t;

/** @cond PRIVATE */
typedef struct {
    char topic[CELLOTA_FAULTY_TOPIC_MAX + 1u];
    size_t topic_len;
    uint8_t payload[CELLOTA_FAULTY_PAYLOAD_MAX];
    size_t len;
    uint32_t due;      /* delay: delivery time; reorder: release time */
    uint32_t seq;      /* arrival order */
    uint8_t kind;      /* 0 free, 1 delayed, 2 reordered */
} cellota_faulty_msg_t;
/** @endcond */

/** @brief The wrapper. Allocate it yourself; fields are private except `stats`. */
typedef struct {
    /** @cond PRIVATE */
    ota_transport_t inner;
    cellota_faulty_cfg_t cfg;
    uint64_t rng;
    ota_msg_cb_t on_msg;
    void *arg;
    uint32_t now;
    uint32_t seq;
    uint32_t chunk_answers;
    bool cut;
    bool cut_closed;
    bool gone;
    bool cut_armed;
    cellota_faulty_msg_t held[CELLOTA_FAULTY_QUEUE];
    uint8_t scratch[CELLOTA_FAULTY_PAYLOAD_MAX];
    /** @endcond */
    cellota_faulty_stats_t stats; /**< Read-only: what was done so far. */
} cellota_faulty_t;

/**
 * @brief Fill @p cfg with "no faults": every rate 0, both chunk and attribute
 *        answers targeted, hold_max_ms 1000, seed 1.
 * @param cfg Configuration; NULL is ignored.
 */
void cellota_faulty_defaults(cellota_faulty_cfg_t *cfg);

/**
 * @brief Set up the wrapper around @p inner.
 * @param f     Wrapper; not NULL.
 * @param inner Transport to wrap (copied); every function required. It must
 *              outlive the wrapper.
 * @param cfg   Faults (copied).
 * @retval 0                    Ready; counters zero.
 * @retval CELLOTA_FAULTY_EPARAM NULL pointer, an inner function missing, or a percentage over 100.
 */
int cellota_faulty_init(cellota_faulty_t *f, const ota_transport_t *inner,
                        const cellota_faulty_cfg_t *cfg);

/**
 * @brief The transport port of the wrapper (give it to the client in place of the inner one).
 * @param f Initialised wrapper that outlives the port.
 * @return The port. Its raw errors are those of the inner transport.
 */
ota_transport_t cellota_faulty_port(cellota_faulty_t *f);

/**
 * @brief When a held message is next due, so a caller that sleeps can wake in time.
 * @param f       Wrapper.
 * @param[out] at Clock value (as given to the port's poll) of the earliest held message.
 * @return true if a message is held, false otherwise (or for a NULL pointer).
 */
bool cellota_faulty_next_due(const cellota_faulty_t *f, uint32_t *at);

/**
 * @brief Messages held back right now.
 * @param f Wrapper; NULL gives 0.
 * @return Number of messages waiting for delivery.
 */
unsigned cellota_faulty_pending(const cellota_faulty_t *f);

/** @brief Raw error of cellota_faulty_init(): a bad argument. */
#define CELLOTA_FAULTY_EPARAM (-10)

#ifdef __cplusplus
}
#endif

#endif /* CELLOTA_FAULTY_H */
