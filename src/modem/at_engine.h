/*
 * at_engine.h - the byte-level AT engine of the Quectel driver (private).
 *
 * Receive side: a state machine fed byte by byte.
 *   LINE  accumulate until CR or LF (empty lines, NULs and leading blanks are
 *         dropped; lines that start with "AT" are echoes and dropped). A bare
 *         '>' at the start of a line is the data prompt when the current
 *         command waits for one. A line that does not fit is counted, and
 *         everything up to the next CR/LF is discarded (SKIP), then the
 *         engine resynchronises.
 *   RAW   after quectel_at_raw(n): exactly n payload bytes, or n + 2 when the
 *         first byte is '"' (a quoted payload; told apart from an unquoted
 *         payload that starts with '"' by the byte after the payload).
 *   HEX   after quectel_at_hex(): hex digits decoded up to CR/LF; quotes
 *         skipped; a ',' means that what came before was a length field.
 *   RAW, HEX and SKIP end after 1 s without a byte (the module restarted or
 *   stopped in the middle): the engine goes back to LINE and counts it.
 * Final results of the command in flight (OK, ERROR, +CME ERROR: n,
 * +CMS ERROR: n, SEND FAIL) end it; every other line goes to the driver.
 *
 * Transmit side: one command at a time, written as the UART accepts it;
 * optionally the '>' prompt, a delay, then the data; one deadline covers
 * the command (restarted when the prompt arrives).
 *
 * Hooks the driver implements (called from quectel_at_rx; quectel_on_done
 * also from quectel_at_pump):
 *   quectel_on_line     a complete line that is not a final result;
 *   quectel_on_field    the line so far ends with a ',' and starts with '+'
 *                       (lets the driver switch to RAW or HEX mid-line);
 *   quectel_on_payload  a RAW or HEX payload is complete (the line buffer
 *                       still holds its header);
 *   quectel_on_done     the command in flight ended (state AT_DONE, result
 *                       set), called before the next byte is looked at.
 *                       It must not start a command (it may set AT_IDLE).
 */
#ifndef CELLOTA_SRC_MODEM_AT_ENGINE_H
#define CELLOTA_SRC_MODEM_AT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cellota/quectel.h"

/* Keeps a function out of line where GCC would copy it into several
 * callers (smaller on Cortex-M0+). */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Command states (quectel_at_t::state). */
enum {
    AT_IDLE = 0,
    AT_SEND,   /* writing the command line */
    AT_PROMPT, /* waiting for '>' */
    AT_DELAY,  /* waiting prompt_delay_ms after '>' */
    AT_DATA,   /* writing the data */
    AT_WAIT,   /* waiting for the final result */
    AT_DONE    /* result ready; the driver sets AT_IDLE when it took it */
};

/* Results (quectel_at_t::result). */
enum { AT_OK = 0, AT_ERROR = 1, AT_TIMEOUT = 2 };

/* Data modes for quectel_at_start. */
enum {
    AT_DATA_NONE = 0,   /* just the command line */
    AT_DATA_PROMPT = 1, /* command line, '>', (delay), data bytes, tail */
    AT_DATA_HEX = 2     /* command line, data as hex digits, tail; no prompt */
};

/* Receive modes (quectel_at_t::rx_mode). */
enum { AT_RX_LINE = 0, AT_RX_SKIP, AT_RX_RAW, AT_RX_HEX };

/* Feed received bytes. */
void quectel_at_rx(quectel_at_t *e, const uint8_t *b, size_t n);

/* Start a command. The command text is e->cmd[0..e->cmd_len); the command
 * line ends with a CR, in the text (AT_DATA_PROMPT: before the '>') or in the
 * tail.
 * data/len: payload for AT_DATA_PROMPT / AT_DATA_HEX (must stay valid until
 * the command is done); tail: bytes sent after it (NUL-terminated, may be ""). */
void quectel_at_start(quectel_at_t *e, uint32_t timeout_ms, uint8_t data_mode, const uint8_t *data,
                      uint16_t len, const char *tail);

/* Write what can be written, handle the prompt delay and the deadlines
 * (command, and the silence limit of RAW/HEX/SKIP).
 * Returns 0, or -1 when the UART write failed (the command is then done
 * with AT_TIMEOUT). */
int quectel_at_pump(quectel_at_t *e);

/* Forget the command in flight (module restarted). */
void quectel_at_abort(quectel_at_t *e);

/* Switch the receiver to RAW for a payload of n bytes / to HEX (from
 * quectel_on_field only). */
void quectel_at_raw(quectel_at_t *e, uint32_t n);
void quectel_at_hex(quectel_at_t *e);

/* True while a command is in flight (not IDLE, not DONE). */
bool quectel_at_busy(const quectel_at_t *e);

/* s after w when s starts with w, else NULL (no strncmp: the application
 * links no other user of it). */
const char *quectel_at_prefix(const char *s, const char *w);

/* Index of the first entry of list (NUL-separated, ended by an empty one)
 * that s starts with, or the number of entries; *end: s after it. */
unsigned quectel_at_match(const char *s, const char *list, const char **end);

/* Decimal number at *p (optional '-'), skipping leading blanks and one
 * opening quote; *p is moved past it. Returns the value (saturated), and
 * sets *ok when at least one digit was read. */
int32_t quectel_at_num(const char **p, bool *ok);

/* Driver hooks. */
void quectel_on_done(void *owner);
void quectel_on_line(void *owner, const char *line, size_t len);
void quectel_on_field(void *owner, const char *line, size_t len);
void quectel_on_payload(void *owner, const char *hdr, size_t hlen, const uint8_t *pay, size_t len,
                        bool ok);

#endif /* CELLOTA_SRC_MODEM_AT_ENGINE_H */
