#!/usr/bin/env bash
#
# Provisioning a simulated device the Dragino way, then updating it:
# cellota-device --wait (a long-lived device with a console and a data
# downlink), a private mosquitto, cellota-server serving a package.
#
#   provision_case.sh CASE DEVICE SERVER PACK
#
# Cases:
#   downlink  The device starts with no server settings at all. Refused
#             downlinks (AT+UPGRADE not last, a bad port, F9 02) change
#             nothing and are answered with code 3; a JSON Config downlink
#             then provisions it and triggers the update: code 100, and the
#             staging slot holds exactly the image. Restarted, it answers
#             the provisioned values on its console (they survived), its
#             update request is cleared, and an F9 01 downlink updates again.
#   console   AT commands on the console (exact transcript checked),
#             AT+UPGRADE while no OTA server answers, the device is stopped
#             in the middle (a reset): restarted, the saved request starts
#             the update by itself once the server is there: code 100.
# Set IT_KEEP=1 to keep the temporary files.
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
OLD=v1.0.0 # the simulated device's own firmware version (its AT+OTAVER default)
NEW=v1.1.0
IMEI=860000000000301
DOWNLINK="cellota/$IMEI/downlink"

it_init "provision_$CASE"

make_package() {
    it_make_package "$PACK" 30000 11 "cellota provisioning test $NEW;"
}

start_server() {
    it_start_server "$SERVER" --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW"
}

# start_device NAME: cellota-device --wait with only its data server given
# (no OTA server, no token); its console is the FIFO $IT_TMP/NAME.con (kept
# open on fd 3), its console answers go to NAME.log, its messages to NAME.err.
start_device() {
    local name="$1"
    rm -f "$IT_TMP/$name.con"
    mkfifo "$IT_TMP/$name.con" || it_die "mkfifo failed"
    exec 3<>"$IT_TMP/$name.con"
    DEV_OUT="$IT_TMP/$name.log"
    DEV_ERR="$IT_TMP/$name.err"
    it_spawn "$name" bash -c 'con="$1" err="$2"; shift 2; exec "$@" <"$con" 2>"$err"' _ \
        "$IT_TMP/$name.con" "$DEV_ERR" "$DEVICE" --wait --imei "$IMEI" \
        --data-host "$IT_HOST" --data-port "$IT_PORT" \
        --flash "$IT_TMP/flash.bin" --settings "$IT_TMP/settings.bin" \
        --connect-timeout-ms 5000 --answer-timeout-ms 3000 --backoff-ms 200 --retries 1
    DEV_PID=$IT_LAST_PID
    it_wait_for "$DEV_ERR" '^device: listening for downlinks on ' 10 "$DEV_PID" ||
        { it_show "$DEV_ERR"; it_die "the device did not subscribe to its downlink topic"; }
}

# at CMD: type one line on the console; wait for its answer (OK or an error word).
at() {
    local before
    before="$(grep -cE '^(OK|AT_[A-Z_]*ERROR)$' "$DEV_OUT" 2>/dev/null)"
    printf '%s\r\n' "$1" >&3
    local i
    for ((i = 0; i < 100; i++)); do
        if [ "$(grep -cE '^(OK|AT_[A-Z_]*ERROR)$' "$DEV_OUT" 2>/dev/null)" -gt "$before" ]; then
            return 0
        fi
        sleep 0.05
    done
    it_show "$DEV_ERR"
    it_die "no answer on the console to: $1"
}

downlink_text() {
    mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -q 1 -t "$DOWNLINK" -m "$1" ||
        it_die "mosquitto_pub failed"
}

downlink_hex() {
    printf '%b' "$1" | mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -q 1 -t "$DOWNLINK" -s ||
        it_die "mosquitto_pub failed"
}

# expect_status N TEXT: the N-th status message of the device (1-based) is TEXT exactly.
expect_status() {
    local n="$1" want="$2" got=""
    local re="^cellota/$IMEI/status "
    local i
    for ((i = 0; i < 200; i++)); do
        got="$(grep -E -- "$re" "$IT_TMP/status.log" | sed -n "${n}p" | cut -d' ' -f2-)"
        [ -n "$got" ] && break
        sleep 0.05
    done
    if [ "$got" != "$want" ]; then
        it_fail "status message $n is '${got:-nothing}', expected '$want'"
        it_show "$DEV_ERR" 30
        return 1
    fi
    it_log "status message $n: $got"
}

# wait_exit PID SECS NAME: the device ends by itself (after code 100) with status 0.
wait_exit() {
    local pid="$1" secs="$2" name="$3" i
    for ((i = 0; i < secs * 20; i++)); do
        it_is_running "$pid" || break
        sleep 0.05
    done
    if it_is_running "$pid"; then
        it_show "$DEV_ERR" 30
        it_die "$name did not finish its update in $secs s"
    fi
    wait "$pid"
    local rc=$?
    [ "$rc" -eq 0 ] || { it_show "$DEV_ERR" 30; it_fail "$name exited with $rc, expected 0"; }
    exec 3>&-
}

check_console() {
    local want="$1"
    if ! diff -u <(printf '%s' "$want") "$DEV_OUT" >"$IT_TMP/console.diff"; then
        it_fail "console transcript differs:"
        sed 's/^/    /' "$IT_TMP/console.diff" >&2
    else
        it_log "console answers as expected"
    fi
}

case_downlink() {
    make_package
    start_server
    it_status_start
    start_device dev1

    # Refused: nothing is applied, code 3 goes out with the reason.
    downlink_text "{\"Config\":\"[AT+OTASER=$IT_HOST,$IT_PORT;AT+UPGRADE;AT+OTAVER=$OLD]\"}"
    expect_status 1 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 3: command format error: AT+UPGRADE must be the last command\"}"
    downlink_text "{\"Config\":\"[AT+OTAUNAME=tok;AT+OTASER=$IT_HOST,0;AT+UPGRADE]\"}"
    expect_status 2 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 3: command format error: AT+OTASER: port 0 is not in 1..65535\"}"
    downlink_hex '\xF9\x02'
    expect_status 3 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 3: command format error: F9 downlink: value 0x02 unknown (F9 01 starts an update)\"}"
    if grep -q 'update requested' "$DEV_ERR"; then
        it_fail "a refused downlink started an update"
    fi

    # Provisioned entirely by one downlink, which also starts the update.
    downlink_text "{\"Config\":\"[AT+OTASER=$IT_HOST,$IT_PORT;AT+OTACLT=prov-client;AT+OTAUNAME=prov-token;AT+OTAPWD=NULL;AT+OTATITLE=$TITLE;AT+OTAVER=$OLD;AT+UPGRADE]\"}"
    wait_exit "$DEV_PID" 60 "the device"
    expect_status 4 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 100: OTA update successful, waiting for reboot\"}"
    it_check_staged "$IT_TMP/flash.bin" "$IT_TMP/image.bin" && it_log "the staging slot holds the image"
    grep -q 'downlink Config accepted: update requested' "$DEV_ERR" ||
        it_fail "the device did not report the Config as accepted"

    # Restarted: the settings survived, the request was cleared; F9 01 updates again.
    start_device dev2
    at "AT+OTASER?"
    at "AT+OTACLT?"
    at "AT+OTAUNAME?"
    at "AT+OTAPWD?"
    at "AT+UPGRADE?"
    check_console "$IT_HOST,$IT_PORT
OK
prov-client
OK
prov-token
OK
NULL
OK
0
OK
"
    downlink_hex '\xF9\x01'
    wait_exit "$DEV_PID" 60 "the restarted device"
    expect_status 5 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 100: OTA update successful, waiting for reboot\"}"
    it_check_staged "$IT_TMP/flash.bin" "$IT_TMP/image.bin"
    grep -q 'downlink F9 01 accepted: update requested' "$DEV_ERR" ||
        it_fail "the device did not report F9 01 as accepted"
}

case_console() {
    make_package
    it_status_start
    start_device dev1
    at "AT+OTASER?"
    at "AT+OTASER=$IT_HOST,$IT_PORT"
    at "AT+OTAUNAME=console-token"
    at "AT+OTAPWD=s3cret"
    at "AT+OTAPWD?"
    at "AT+OTATITLE=$TITLE"
    at "AT+OTAVER=$OLD"
    at "AT+OTASER=$IT_HOST,70000"
    at "AT+OTACLT"
    at "AT+OTASER?"
    check_console "NULL
OK
OK
OK
OK
********
OK
OK
OK
AT+OTASER: port 70000 is not in 1..65535
AT_PARAM_ERROR
AT+OTACLT needs =<value> to set it or ? to read it
AT_ERROR
$IT_HOST,$IT_PORT
OK
"
    if grep -q s3cret "$DEV_OUT" "$DEV_ERR"; then
        it_fail "the password was echoed or logged"
    fi
    # No OTA server yet: the update starts, asks, and is cut by a reset.
    at "AT+UPGRADE"
    it_wait_for "$DEV_ERR" 'announcing .* asking the server' 15 "$DEV_PID" ||
        { it_show "$DEV_ERR"; it_die "the update did not start"; }
    it_stop_checked "$DEV_PID" dev1
    exec 3>&-
    # After the reset the saved request starts the update by itself.
    start_server
    start_device dev2
    wait_exit "$DEV_PID" 60 "the restarted device"
    expect_status 1 "{\"IMEI\":\"$IMEI\",\"Message\":\"OTA code 100: OTA update successful, waiting for reboot\"}"
    it_check_staged "$IT_TMP/flash.bin" "$IT_TMP/image.bin" && it_log "the staging slot holds the image"
    grep -q '^device: update requested: ' "$DEV_ERR" || it_fail "the saved request did not start the update"
}

run_case() {
    it_start_broker
    case "$CASE" in
    downlink) case_downlink ;;
    console) case_console ;;
    *) it_die "unknown case $CASE" ;;
    esac
}

it_run run_case
if [ -n "${SERVER_PID:-}" ]; then
    it_stop_checked "$SERVER_PID" server
fi
it_finish
