#!/usr/bin/env bash
#
# cellota-server speaks ThingsBoard's device firmware API (PROTOCOL.md §1):
# checked byte for byte with mosquitto_pub / mosquitto_sub, no device.
#
#   server_protocol.sh SERVER PACK
# shellcheck disable=SC2317  # functions are called through it_run
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SERVER PACK" >&2
    exit 2
fi
SERVER="$1"
PACK="$2"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init server_protocol

hex_of() { od -An -v -tx1 | tr -d ' \n'; }

# A subscriber that logs every answer as "topic length hexpayload".
start_capture() {
    it_spawn capture mosquitto_sub -h "$IT_HOST" -p "$IT_PORT" -q 1 -F '%t %l %x' \
        -t 'v1/devices/me/attributes/response/+' -t 'v2/fw/#' \
        -t 'tb/+/v1/devices/me/attributes/response/+' -t 'tb/+/v2/fw/#' -t 'probe/capture'
    CAPTURE_PID=$IT_LAST_PID
    local i
    for ((i = 0; i < 20; i++)); do
        mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -t probe/capture -m x
        it_wait_for "$IT_TMP/capture.log" '^probe/capture ' 1 "$CAPTURE_PID" && return 0
    done
    it_die "mosquitto_sub did not start"
}

# ask TOPIC [PAYLOAD|-n]: publish a request.
ask() {
    if [ "${2:-}" = -n ]; then
        mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -q 1 -t "$1" -n
    else
        mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -q 1 -t "$1" -m "$2"
    fi
}

# answer TOPIC N: the N-th answer on exactly TOPIC, as "length hex" (waits up to 5 s).
answer() {
    local topic="$1" n="${2:-1}" i line
    for ((i = 0; i < 100; i++)); do
        line="$(awk -v t="$topic" -v n="$n" '$1 == t { if (++c == n) { print $2 " " $3; exit } }' \
            "$IT_TMP/capture.log")"
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        sleep 0.05
    done
    echo "none"
}

# expect_bytes WHAT TOPIC N OFFSET LEN: the answer carries LEN package bytes from OFFSET.
expect_bytes() {
    local what="$1" topic="$2" n="$3" off="$4" len="$5" got want
    got="$(answer "$topic" "$n")"
    want="$len $(tail -c +$((off + 1)) "$IT_TMP/package.bin" | head -c "$len" | hex_of)"
    if [ "$got" = "$want" ] || { [ "$len" -eq 0 ] && [ "$got" = "0 " ]; }; then
        it_log "ok: $what ($len bytes)"
    else
        it_fail "$what: expected $len bytes from offset $off on $topic, got: ${got:0:80}"
    fi
}

# expect_text WHAT TOPIC N TEXT: the answer is exactly TEXT.
expect_text() {
    local what="$1" topic="$2" n="$3" text="$4" got want
    got="$(answer "$topic" "$n")"
    want="${#text} $(printf '%s' "$text" | hex_of)"
    if [ "$got" = "$want" ]; then
        it_log "ok: $what: $text"
    else
        it_fail "$what: expected '$text' on $topic, got: ${got:0:120}"
    fi
}

main() {
it_start_broker
it_gen_image "$IT_TMP/image.bin" 2000 42 || it_die "cannot generate the image"
"$PACK" --out "$IT_TMP/package.bin" "$IT_TMP/image.bin" >"$IT_TMP/pack.log" || it_die "pack failed"
CRC="$(sed -n 's/^fw_checksum (CRC32): //p' "$IT_TMP/pack.log")"
SHA="$(sed -n 's/^fw_checksum (SHA256): //p' "$IT_TMP/pack.log")"
start_capture

# --- a server with firmware --------------------------------------------------------------
it_spawn server "$SERVER" --host "$IT_HOST" --port "$IT_PORT" --package "$IT_TMP/package.bin" \
    --title s31-nb --version v1.6.0 --max-payload 4096
SERVER_PID=$IT_LAST_PID
it_wait_for "$IT_TMP/server.log" '^server: ready' 10 "$SERVER_PID" ||
    { it_show "$IT_TMP/server.log"; it_die "cellota-server did not get ready"; }

ask v1/devices/me/attributes/request/1 \
    '{"sharedKeys":"fw_checksum,fw_checksum_algorithm,fw_size,fw_title,fw_version"}'
expect_text "attributes" v1/devices/me/attributes/response/1 1 \
    "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"$CRC\"}}"
ask v1/devices/me/attributes/request/2 '{"sharedKeys":"fw_size,fw_tag"}'
expect_text "only the keys asked for" v1/devices/me/attributes/response/2 1 '{"shared":{"fw_size":2008}}'
ask v1/devices/me/attributes/request/3 '{"sharedKeys":"fw_url"}'
expect_text "no such key" v1/devices/me/attributes/response/3 1 '{}'

ask v2/fw/request/7/chunk/0 1028
expect_bytes "chunk 0 of 1028" v2/fw/response/7/chunk/0 1 0 1028
ask v2/fw/request/7/chunk/1 1028
expect_bytes "last chunk is shorter" v2/fw/response/7/chunk/1 1 1028 980
ask v2/fw/request/7/chunk/2 1028
expect_bytes "past the end is empty" v2/fw/response/7/chunk/2 1 2008 0
ask v2/fw/request/7/chunk/1 -n
expect_bytes "empty payload: the size remembered for rid 7" v2/fw/response/7/chunk/1 2 1028 980
ask v2/fw/request/8/chunk/0 -n
expect_bytes "no size ever given: the whole file" v2/fw/response/8/chunk/0 1 0 2008
ask v2/fw/request/9/chunk/3 500
expect_bytes "any chunk size" v2/fw/response/9/chunk/3 1 1500 500
ask v2/fw/request/10/chunk/0 abc
expect_text "non-numeric size" v2/fw/error 1 FAILURE
ask v2/fw/request/10/chunk/0 5000
expect_text "size over --max-payload" v2/fw/error 2 PAYLOAD_TOO_LARGE

ask tb/devA/v1/devices/me/attributes/request/4 '{"sharedKeys":"fw_title"}'
expect_text "namespaced attributes" tb/devA/v1/devices/me/attributes/response/4 1 \
    '{"shared":{"fw_title":"s31-nb"}}'
ask tb/devA/v2/fw/request/7/chunk/1 -n
expect_bytes "rid sizes are per device" tb/devA/v2/fw/response/7/chunk/1 1 0 2008
ask tb/devB/v2/fw/request/1/chunk/1 1028
expect_bytes "namespaced chunk" tb/devB/v2/fw/response/1/chunk/1 1 1028 980
ask tb/devB/v2/fw/request/1/chunk/0 x1
expect_text "namespaced error" tb/devB/v2/fw/error 1 FAILURE

ask v1/devices/me/telemetry '{"current_fw_title":"s31-nb","current_fw_version":"v1.5.0","fw_state":"DOWNLOADING"}'
it_wait_for "$IT_TMP/server.log" 'device me: reports fw_state DOWNLOADING' 5 ||
    it_fail "the server did not log the telemetry"

it_stop_checked "$SERVER_PID" server
grep -q '^server: stopped: ' "$IT_TMP/server.log" || it_fail "no summary after SIGTERM"

# --- SHA256 and a lying server ------------------------------------------------------------
it_spawn server2 "$SERVER" --host "$IT_HOST" --port "$IT_PORT" --package "$IT_TMP/package.bin" \
    --title s31-nb --version v1.6.0 --algo SHA256 --size-override 99 --quiet
SERVER_PID=$IT_LAST_PID
it_wait_for "$IT_TMP/server2.log" '^server: ready' 10 "$SERVER_PID" || it_die "server 2 did not get ready"
ask v1/devices/me/attributes/request/5 '{"sharedKeys":"fw_checksum_algorithm,fw_checksum,fw_size"}'
expect_text "SHA256, size override" v1/devices/me/attributes/response/5 1 \
    "{\"shared\":{\"fw_size\":99,\"fw_checksum_algorithm\":\"SHA256\",\"fw_checksum\":\"$SHA\"}}"
it_stop_checked "$SERVER_PID" server2

# --- nothing assigned ---------------------------------------------------------------------
it_spawn server3 "$SERVER" --host "$IT_HOST" --port "$IT_PORT" --no-firmware
SERVER_PID=$IT_LAST_PID
it_wait_for "$IT_TMP/server3.log" '^server: ready' 10 "$SERVER_PID" || it_die "server 3 did not get ready"
ask v1/devices/me/attributes/request/6 '{"sharedKeys":"fw_title,fw_version"}'
expect_text "no firmware: {}" v1/devices/me/attributes/response/6 1 '{}'
ask v2/fw/request/1/chunk/0 1028
expect_text "no firmware: NOT_FOUND" v2/fw/error 3 NOT_FOUND
it_stop_checked "$SERVER_PID" server3

# --- no broker ----------------------------------------------------------------------------
NOPORT="$(it_free_port)"
"$SERVER" --host "$IT_HOST" --port "$NOPORT" --no-firmware >"$IT_TMP/server4.log" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'cannot reach the MQTT broker' "$IT_TMP/server4.log"; then
    it_log "ok: broker unreachable: exit 1 with a clear message"
else
    it_fail "broker unreachable: exit $rc, output: $(cat "$IT_TMP/server4.log")"
fi

}

it_run main
it_finish
