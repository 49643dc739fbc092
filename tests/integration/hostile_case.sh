#!/usr/bin/env bash
#
# An end-to-end update through a hostile network: a private mosquitto,
# cellota-server, and cellota-device with its fault-injecting transport
# wrapper switched on (--net-*: loss, duplication, reordering, delay,
# truncation, corruption, a cut link, a network gone for good).
#
#   hostile_case.sh CASE DEVICE SERVER PACK
#
# A case that must succeed checks: exit status 0, the staging slot holds
# exactly the raw image (byte for byte), a boot request was written, the
# status message says code 100, and the device's fault report shows that
# the faults really happened. A case that must fail checks its code and
# that no boot request was left behind. Set IT_KEEP=1 to keep the files.
# shellcheck disable=SC2317  # functions are called through it_run
set -u

if [ $# -ne 4 ]; then
    echo "usage: $0 CASE DEVICE SERVER PACK" >&2
    exit 2
fi
CASE="$1"
DEVICE="$2"
SERVER="$3"
PACK="$4"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TITLE=s31-nb
OLD=v1.0.0
NEW=v1.1.0
IMEI=860000000000301
DEVICE_TIMEOUT=75

it_init "hostile_$CASE"

# make_package SIZE SEED FORMAT: $IT_TMP/image.bin and $IT_TMP/package.bin.
make_package() {
    it_make_package "$PACK" "$1" "$2" "cellota hostile test $NEW;" "$3"
}

start_server() {
    it_start_server "$SERVER" --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW"
}

# run_device ARGS...: the device in the foreground; exit status in DEVICE_RC.
run_device() {
    SECONDS=0
    timeout -k 5 "$DEVICE_TIMEOUT" "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" \
        --title "$TITLE" --version "$OLD" --imei "$IMEI" --token tokh \
        --flash "$IT_TMP/flash.bin" --settings "$IT_TMP/settings.bin" \
        --connect-timeout-ms 3000 --answer-timeout-ms 700 --backoff-ms 200 "$@" \
        >"$IT_TMP/dev.log" 2>&1
    DEVICE_RC=$?
    DEVICE_SECS=$SECONDS
}

expect_rc() {
    if [ "$DEVICE_RC" -ne "$1" ]; then
        it_fail "cellota-device exited with $DEVICE_RC, expected $1"
        it_show "$IT_TMP/dev.log" 40
        it_show "$IT_TMP/server.log" 15
        return 1
    fi
    it_log "device exited with $DEVICE_RC as expected after ${DEVICE_SECS}s"
}

# The boot request (first 92 bytes of the flash) is there, or blank.
bootreq_present() {
    [ "$(head -c 4 "$IT_TMP/flash.bin" | od -An -tx1 | tr -d ' \n')" = "43425251" ]
}

# fault_count NAME: the device's count of NAME in its fault report.
fault_count() {
    sed -n "s/.*network faults (seed [0-9]*): .* \([0-9][0-9]*\) $1.*/\1/p" "$IT_TMP/dev.log" | tail -n 1
}

# expect_faults NAME...: each named fault happened at least once.
expect_faults() {
    local line name n
    line="$(grep 'network faults' "$IT_TMP/dev.log" | tail -n 1)"
    [ -n "$line" ] || { it_fail "the device printed no fault report"; return 1; }
    it_log "${line#device: }"
    for name in "$@"; do
        n="$(fault_count "$name")"
        if [ -z "$n" ] || [ "$n" -eq 0 ]; then
            it_fail "no answer was $name (the faults did not happen)"
        fi
    done
}

expect_status() {
    it_expect_status "$IMEI" "$1"
}

# hostile_success SIZE SEED FORMAT FAULT-NAMES -- DEVICE-ARGS
hostile_success() {
    local size="$1" seed="$2" format="$3" names=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do names+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    make_package "$size" "$seed" "$format"
    it_start_broker
    start_server
    it_status_start
    run_device --format "$format" "$@"
    expect_rc 0 || return 1
    it_check_staged "$IT_TMP/flash.bin" "$IT_TMP/image.bin" &&
        it_log "staging slot holds the $size-byte image, byte for byte"
    bootreq_present || it_fail "no boot request was written"
    expect_status 100
    expect_faults "${names[@]}"
}

case_gone() {
    make_package 40000 35 dragino
    it_start_broker
    start_server
    it_status_start
    run_device --format dragino --window 2 --retries 1 --connect-timeout-ms 1000 \
        --net-drop-link-after 10 --net-link-gone --net-seed 9
    expect_rc 4 || return 1
    bootreq_present && it_fail "a boot request was left although the update failed"
    grep -q 'no connection to .* in time' "$IT_TMP/dev.log" ||
        it_fail "the device did not give up on its connection timeout"
    expect_status 4
    expect_faults "link cut"
}

run_case() {
    case "$CASE" in
    loss_dup_w1)
        # 10 % of the answers lost, 10 % duplicated, one request at a time
        hostile_success 40000 31 dragino dropped duplicated -- --window 1 \
            --net-loss 10 --net-dup 10 --net-seed 3
        ;;
    loss_dup_w4)
        hostile_success 30000 32 raw dropped duplicated -- --chunk 512 --window 4 \
            --net-loss 10 --net-dup 10 --net-seed 4
        ;;
    drop_link)
        # the connection is cut at the 15th chunk answer: the device
        # reconnects and resumes from its journal
        hostile_success 40000 33 dragino "link cut" -- --window 2 --net-drop-link-after 15
        grep -q 'attempt 2 of' "$IT_TMP/dev.log" || it_fail "the device did not make a second attempt"
        ;;
    mixed)
        # everything at once; damage only on chunk answers (the record CRC
        # and the length check must stop each damaged one)
        hostile_success 30000 34 dragino dropped reordered corrupted -- \
            --window 4 --net-loss 10 --net-dup 10 --net-reorder 20 --net-delay 20 \
            --net-delay-ms 300 --net-truncate 5 --net-corrupt 10 --net-targets chunks \
            --net-seed 7
        ;;
    gone) case_gone ;;
    *) it_die "unknown case $CASE" ;;
    esac
}

it_run run_case
if [ -n "${SERVER_PID:-}" ]; then
    it_stop_checked "$SERVER_PID" server
fi
it_finish
