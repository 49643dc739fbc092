#!/usr/bin/env bash
#
# A full OTA update through the simulated Quectel module: a private
# mosquitto, cellota-server serving a package made by cellota-pack, and
# cellota-device with --modem, i.e. the cellota Quectel driver talking AT
# over a pseudo-terminal to cellota-quectel-sim, which bridges the module's
# MQTT client to the broker.
#
#   modem_case.sh CASE DEVICE SERVER PACK SIM
#
# Cases: bg95 (output in bursts, so an OK and its asynchronous result can
# arrive in one read), bc660k (30 ms radio latency), bg95_faults (bytes
# delivered one at a time, a URC between OK and every asynchronous result, a
# dropped incoming message, a +QMTSTAT disconnect, garbage lines). Each checks the
# device's exit status, the staged image byte for byte, the status message,
# the fw_state reports, and in the simulator's AT log that the dialect's
# own commands were used. Set IT_KEEP=1 to keep the temporary files.
# shellcheck disable=SC2317  # functions are called through it_run
set -u

if [ $# -ne 5 ]; then
    echo "usage: $0 CASE DEVICE SERVER PACK SIM" >&2
    exit 2
fi
CASE="$1"
DEVICE="$2"
SERVER="$3"
PACK="$4"
SIM="$5"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TITLE=s31-nb
OLD=v1.0.0
NEW=v1.1.0
IMEI=860000000000301
DEVICE_TIMEOUT=50

it_init "modem_$CASE"

# make_package SIZE SEED: image $IT_TMP/image.bin, Dragino package $IT_TMP/package.bin.
make_package() {
    it_make_package "$PACK" "$1" "$2" "cellota modem test firmware $NEW;"
}

start_server() {
    it_start_server "$SERVER" --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW"
}

# run_device MODEL "SIM-SWITCHES" DEVICE-ARGS...: the update through the module; DEVICE_RC.
run_device() {
    local model="$1" simargs="$2"
    shift 2
    SECONDS=0
    timeout -k 5 "$DEVICE_TIMEOUT" "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" --token "tok-$CASE" \
        --title "$TITLE" --version "$OLD" --imei "$IMEI" --flash "$IT_TMP/flash.bin" \
        --settings "$IT_TMP/settings.bin" --connect-timeout-ms 20000 --backoff-ms 200 \
        --modem "$model" --modem-sim "$SIM" --modem-log "$IT_TMP/sim.log" --modem-args "$simargs" \
        "$@" >"$IT_TMP/device.log" 2>&1
    DEVICE_RC=$?
    it_log "device ran ${SECONDS} s through the simulated $model and exited with $DEVICE_RC"
}

# expect_sim REGEX WHAT: the simulator's AT log has a line matching REGEX.
expect_sim() {
    if grep -Eq -- "$1" "$IT_TMP/sim.log"; then
        it_log "module log: $2"
    else
        it_fail "the module log has no line matching '$1' ($2)"
    fi
}

expect_success() {
    if [ "$DEVICE_RC" -ne 0 ]; then
        it_fail "cellota-device exited with $DEVICE_RC, expected 0"
        it_show "$IT_TMP/device.log" 40
        it_show "$IT_TMP/sim.log" 40
        it_show "$IT_TMP/server.log" 10
        return 1
    fi
    it_check_staged "$IT_TMP/flash.bin" "$IT_TMP/image.bin" &&
        it_log "the staging slot holds the $(stat -c %s "$IT_TMP/image.bin")-byte image, byte for byte"
    if it_status_wait 10 "^cellota/$IMEI/status "; then
        case "$IT_STATUS" in
        *"\"IMEI\":\"$IMEI\""*"\"Message\":\"OTA code 100: OTA update successful"*)
            it_log "status message: $IT_STATUS" ;;
        *) it_fail "status message is not a code 100 for IMEI $IMEI: $IT_STATUS" ;;
        esac
    else
        it_fail "no status message on cellota/$IMEI/status"
    fi
    local st
    for st in DOWNLOADING DOWNLOADED VERIFIED UPDATING; do
        it_wait_for "$IT_TMP/server.log" "reports fw_state $st\$" 5 ||
            it_fail "the server never got fw_state $st"
    done
    # The IMEI in the status message is the one the driver read from the module.
    expect_sim "^quectel-sim: +[0-9.]+ <- AT\\+(C?GSN|CGSN=1)" "the driver read the IMEI from the module"
    grep -q 'simulator exited with status [1-9]' "$IT_TMP/device.log" &&
        it_fail "the module simulator did not exit cleanly: $(grep 'simulator exited' "$IT_TMP/device.log")"
    return 0
}

case_bg95() {
    make_package 40000 31
    it_start_broker
    start_server
    it_status_start
    # the module's output in bursts: an OK and the result behind it arrive in one read
    run_device bg95 "--burst-ms 20" --window 2 --answer-timeout-ms 5000
    expect_success || return
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTCFG="recv/mode",[0-9],1,1' "BG95 buffered receive with lengths"
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTRECV=[0-9],[0-4]$' "messages read from the module's slots"
    expect_sim '^quectel-sim: +[0-9.]+ -> \+QMTRECV: [0-9],[0-9]+,"[^"]*",1028,"<1028 raw bytes>"' \
        "binary 1028-byte records delivered raw"
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTPUB=[0-9],[0-9]+,[0-2],0,"[^"]*",[0-9]+$' "fixed-length publish"
}

case_bc660k() {
    make_package 30000 32
    it_start_broker
    start_server
    it_status_start
    # a radio round trip of 30 ms between the module and the broker
    run_device bc660k "--latency-ms 30" --window 2 --answer-timeout-ms 5000
    expect_success || return
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTCFG="dataformat",[0-9],1,1' "BC660K hex data format"
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTCFG="showrecvlen",[0-9],1' "received lengths shown"
    expect_sim '^quectel-sim: +[0-9.]+ -> \+QMTRECV: [0-9],[0-9]+,"[^"]*",1028,"<1028 bytes as hex>"' \
        "1028-byte records pushed as hex"
    expect_sim '^quectel-sim: +[0-9.]+ <- AT\+QMTPUB=[0-9],[0-9]+,[0-2],0,"[^"]*",[0-9]+,' "non-data-mode publish"
    if grep -q '^quectel-sim: +[0-9.]+ <- AT+QMTRECV' "$IT_TMP/sim.log"; then
        it_fail "the driver sent AT+QMTRECV to a BC660K"
    fi
}

case_bg95_faults() {
    make_package 30000 33
    it_start_broker
    start_server
    it_status_start
    run_device bg95 "--one-byte --urc-between --drop-recv 20 --qmtstat-after 12 --garbage --seed 5" \
        --window 1 --answer-timeout-ms 2000
    expect_success || return
    expect_sim '^quectel-sim: +[0-9.]+ fault: bytes sent one at a time' "bytes delivered one at a time"
    expect_sim '^quectel-sim: +[0-9.]+ fault: URC injected between OK and the result' "URCs between OK and results"
    expect_sim '^quectel-sim: +[0-9.]+ fault: message [0-9]+ .* dropped on purpose' "an incoming message dropped"
    expect_sim '^quectel-sim: +[0-9.]+ -> \+QMTSTAT: [0-9],1$' "+QMTSTAT disconnect"
    expect_sim '^quectel-sim: +[0-9.]+ fault: garbage line' "garbage lines"
    # After the +QMTSTAT the driver had to open and connect the client again.
    if [ "$(grep -Ec '^quectel-sim: +[0-9.]+ <- AT\+QMTOPEN=' "$IT_TMP/sim.log")" -lt 2 ]; then
        it_fail "the driver did not reopen MQTT after +QMTSTAT"
    else
        it_log "the driver reopened MQTT after the +QMTSTAT"
    fi
}

run_case() {
    case "$CASE" in
    bg95) case_bg95 ;;
    bc660k) case_bc660k ;;
    bg95_faults) case_bg95_faults ;;
    *) it_die "unknown case $CASE" ;;
    esac
}

it_run run_case
if [ -n "${SERVER_PID:-}" ]; then
    it_stop_checked "$SERVER_PID" server
fi
it_finish
