#!/usr/bin/env bash
#
# One end-to-end OTA case: a private mosquitto, cellota-server serving a
# package made by cellota-pack, and cellota-device updating from it.
#
#   ota_case.sh CASE DEVICE SERVER PACK
#
# Each case checks the device's exit status, what it staged in its flash file
# (the staging slot must hold exactly the original raw image after a
# success, and nothing after a refusal) and the status message it published
# on cellota/<imei>/status. Set IT_KEEP=1 to keep the temporary files.
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
IMEI=860000000000101
DEVICE_TIMEOUT=60

it_init "$CASE"

# make_package SIZE SEED FORMAT: image $IT_TMP/image.bin, package $IT_TMP/package.bin;
# checks the pack tool's fw_size against the Dragino formula.
make_package() {
    local size="$1" seed="$2" format="$3" want
    it_make_package "$PACK" "$size" "$seed" "cellota test firmware $NEW size $size;" "$format"
    want=$size
    if [ "$format" = dragino ]; then
        want=$((size + 4 * ((size + 1023) / 1024)))
    fi
    grep -qx "fw_size: $want" "$IT_TMP/pack.log" ||
        { it_show "$IT_TMP/pack.log"; it_die "cellota-pack did not print fw_size: $want"; }
    [ "$(stat -c %s "$IT_TMP/package.bin")" -eq "$want" ] || it_die "package is not $want bytes"
}

# start_server ARGS...: cellota-server on the private broker, waits until it is subscribed.
start_server() {
    it_start_server "$SERVER" "$@"
}

serve_package() {
    start_server --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW" "$@"
}

# run_device NAME ARGS...: run cellota-device in the foreground; exit status in DEVICE_RC.
run_device() {
    local name="$1"
    shift
    timeout -k 5 "$DEVICE_TIMEOUT" "$DEVICE" --host "$IT_HOST" --port "${DEVICE_PORT:-$IT_PORT}" \
        --title "$TITLE" --version "$OLD" --flash "$IT_TMP/$name-flash.bin" \
        --settings "$IT_TMP/$name-settings.bin" --connect-timeout-ms 5000 --answer-timeout-ms 5000 \
        --backoff-ms 200 "$@" >"$IT_TMP/$name.log" 2>&1
    DEVICE_RC=$?
}

expect_rc() {
    local name="$1" want="$2"
    if [ "$DEVICE_RC" -ne "$want" ]; then
        it_fail "cellota-device ($name) exited with $DEVICE_RC, expected $want"
        it_show "$IT_TMP/$name.log" 40
        it_show "$IT_TMP/server.log" 15
        return 1
    fi
    it_log "device $name exited with $DEVICE_RC as expected"
}


# The staging slot still erased (nothing was written), if the flash file exists.
expect_slot_blank() {
    local flash="$1" off
    off="$(it_staging_offset)"
    [ -f "$flash" ] || return 0
    if ! cmp -s -n 4096 -i "$off:0" "$flash" <(head -c 4096 /dev/zero | tr '\0' '\377'); then
        it_fail "the staging slot of $flash was written although the update was refused"
    fi
}

expect_server_log() {
    if ! grep -Eq -- "$1" "$IT_TMP/server.log"; then
        it_fail "the server log has no line matching '$1'"
        it_show "$IT_TMP/server.log" 15
    fi
}

# success SIZE SEED FORMAT SERVER-ARGS -- DEVICE-ARGS: a full update that must succeed.
success() {
    local size="$1" seed="$2" format="$3" sargs=() dargs=()
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    dargs=("$@")
    make_package "$size" "$seed" "$format"
    it_start_broker
    serve_package "${sargs[@]}"
    it_status_start
    run_device dev --imei "$IMEI" --token "tok$seed" --format "$format" "${dargs[@]}"
    expect_rc dev 0 || return 1
    it_check_staged "$IT_TMP/dev-flash.bin" "$IT_TMP/image.bin" &&
        it_log "staging slot holds the $size-byte image"
    it_expect_status "$IMEI" 100 "OTA update successful"
    grep -q "result code 100" "$IT_TMP/dev.log" || it_fail "the device did not print result code 100"
    # Every fw_state of a good update reached the server, the last one too
    # (it is published right before the device closes its connection).
    local st
    for st in DOWNLOADING DOWNLOADED VERIFIED UPDATING; do
        it_wait_for "$IT_TMP/server.log" "reports fw_state $st\$" 5 ||
            it_fail "the server never got fw_state $st"
    done
}

# refused CODE SERVER-ARGS -- DEVICE-ARGS: an update that must end with CODE.
refused() {
    local code="$1" sargs=() dargs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    dargs=("$@")
    make_package 30000 11 dragino
    it_start_broker
    if [ "${sargs[0]:-}" != none ]; then
        start_server "${sargs[@]}"
    fi
    it_status_start
    run_device dev --imei "$IMEI" --token tok "${dargs[@]}"
    expect_rc dev "$code" || return 1
    it_expect_status "$IMEI" "$code"
}

# --iflash: the simulated MCU with its internal flash and the bootloader.
# gen_fw FILE SIZE SEED VERSION [noconfirm]: a firmware image with its marker.
gen_fw() {
    it_gen_image "$1" "$2" "$3" "cellota-fw $TITLE $4${5:+ $5};" || it_die "cannot generate $1"
}

# The internal flash (application area at its start) holds IMAGE.
expect_app() {
    local iflash="$1" image="$2" what="$3"
    if cmp -s -n "$(stat -c %s "$image")" "$iflash" "$image"; then
        it_log "the internal flash holds $what"
    else
        it_fail "the internal flash does not hold $what"
    fi
}

run_boot_device() {
    run_device dev --imei "$IMEI" --token tok --iflash "$IT_TMP/dev-iflash.bin" "$@"
}

case_boot_update() {
    gen_fw "$IT_TMP/v1.bin" 30000 31 "$OLD"
    gen_fw "$IT_TMP/image.bin" 41000 32 "$NEW"
    "$PACK" --out "$IT_TMP/package.bin" "$IT_TMP/image.bin" >"$IT_TMP/pack.log" 2>&1 ||
        it_die "cellota-pack failed"
    it_start_broker
    serve_package
    it_status_start
    run_boot_device --factory "$IT_TMP/v1.bin"
    expect_rc dev 0 || return 1
    expect_app "$IT_TMP/dev-iflash.bin" "$IT_TMP/image.bin" "$NEW, installed by the bootloader"
    grep -q "reached its server: confirmed" "$IT_TMP/dev.log" || it_fail "the new firmware did not confirm"
    grep -q "runs $TITLE $NEW, confirmed: update complete" "$IT_TMP/dev.log" ||
        it_fail "the device did not end on $NEW"
    it_expect_status "$IMEI" 100 "OTA update successful"
    if it_status_wait 10 "Message\":\"OTA Update OK, Firmware Title: $TITLE Ver: $NEW\""; then
        it_log "after the reboot: $IT_STATUS"
    else
        it_fail "no 'OTA Update OK, Firmware Title: $TITLE Ver: $NEW' status message"
    fi
    it_wait_for "$IT_TMP/server.log" 'reports fw_state UPDATED$' 5 ||
        it_fail "the server never got fw_state UPDATED"
}

case_boot_rollback() {
    gen_fw "$IT_TMP/v1.bin" 30000 41 "$OLD"
    gen_fw "$IT_TMP/image.bin" 35000 42 "$NEW" noconfirm
    "$PACK" --out "$IT_TMP/package.bin" "$IT_TMP/image.bin" >"$IT_TMP/pack.log" 2>&1 ||
        it_die "cellota-pack failed"
    it_start_broker
    serve_package
    it_status_start
    # The new build never confirms: 3 trial boots, then the bootloader
    # restores v1; the device reports it and refuses that version again.
    run_boot_device --factory "$IT_TMP/v1.bin"
    expect_rc dev 2 || return 1
    expect_app "$IT_TMP/dev-iflash.bin" "$IT_TMP/v1.bin" "$OLD again, restored by the bootloader"
    [ "$(grep -c 'crashes before it reaches its server' "$IT_TMP/dev.log")" -eq 3 ] ||
        it_fail "the broken build did not get exactly 3 trial boots"
    if it_status_wait 10 "OTA Update failed, rolled back, Firmware Title: $TITLE Ver: $NEW: "; then
        it_log "after the rollback: $IT_STATUS"
    else
        it_fail "no rollback status message"
    fi
    grep -q "version $NEW was rolled back on this device: not installed again" "$IT_TMP/dev.log" ||
        it_fail "the device did not refuse the rolled-back version"
    it_wait_for "$IT_TMP/server.log" 'reports fw_state FAILED: update to .* rolled back' 5 ||
        it_fail "the server never got fw_state FAILED for the rollback"
}

case_two_devices() {
    local a b pa pb
    make_package 36000 21 dragino
    it_start_broker
    serve_package
    it_status_start
    run_device_bg() {
        local name="$1"
        shift
        it_spawn "$name" timeout -k 5 "$DEVICE_TIMEOUT" "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" \
            --title "$TITLE" --version "$OLD" --flash "$IT_TMP/$name-flash.bin" \
            --settings "$IT_TMP/$name-settings.bin" --answer-timeout-ms 5000 --backoff-ms 200 \
            --namespace "$@"
    }
    run_device_bg devA --token tokenA --imei 860000000000201 --window 2
    pa=$IT_LAST_PID
    run_device_bg devB --token tokenB --imei 860000000000202 --window 3
    pb=$IT_LAST_PID
    wait "$pa"
    a=$?
    wait "$pb"
    b=$?
    DEVICE_RC=$a
    expect_rc devA 0
    DEVICE_RC=$b
    expect_rc devB 0
    it_check_staged "$IT_TMP/devA-flash.bin" "$IT_TMP/image.bin" && it_log "device A staged the image"
    it_check_staged "$IT_TMP/devB-flash.bin" "$IT_TMP/image.bin" && it_log "device B staged the image"
    it_expect_status 860000000000201 100 "OTA update successful"
    it_expect_status 860000000000202 100 "OTA update successful"
    expect_server_log '^server: device tb/tokenA: chunk '
    expect_server_log '^server: device tb/tokenB: chunk '
    if grep -q '^server: device me: ' "$IT_TMP/server.log"; then
        it_fail "a namespaced device used the bare topics"
    fi
}

run_case() {
case "$CASE" in
dragino_w1) success 40000 1 dragino -- --window 1 ;;
dragino_w4) success 49152 2 dragino --latency-ms 20 -- --window 4 ;; # exact multiple of 1024
dragino_odd) success 2000 3 dragino -- --window 1 ;;            # one full and one short record
raw512_w1) success 20000 4 raw -- --chunk 512 --window 1 ;;
raw512_w4) success 61440 5 raw -- --chunk 512 --window 4 ;;     # exact multiple of 512
sha256) success 33333 6 dragino --algo SHA256 -- --window 2 ;;
raw_sha256) success 25000 7 raw --algo SHA256 -- --chunk 1000 --window 3 ;;
corrupt_once)
    # one bad record is asked again and the update still succeeds
    success 30000 8 dragino --corrupt-once 5 -- --window 2
    expect_server_log 'chunk 5/.*one byte flipped on purpose'
    ;;
drop_chunk)
    # one answer never comes: the chunk is asked again after the answer timeout
    success 30000 9 dragino --drop-chunk 7 -- --window 1 --answer-timeout-ms 1000
    expect_server_log 'chunk 7/.*dropped on purpose'
    ;;
code1_title)
    refused 1 --package "$IT_TMP/package.bin" --title other-title --version "$NEW" -- --retries 0
    expect_slot_blank "$IT_TMP/dev-flash.bin"
    ;;
code2_no_flash)
    refused 2 none -- --no-flash --retries 0
    ;;
code4_no_server)
    # the broker runs but no OTA server answers
    refused 4 none -- --answer-timeout-ms 1000 --retries 0
    expect_slot_blank "$IT_TMP/dev-flash.bin"
    ;;
code4_no_broker)
    # nothing listens at all: the device gives up after its connect timeout
    DEVICE_PORT="$(it_free_port)"
    SECONDS=0
    run_device dev --imei "$IMEI" --token tok --connect-timeout-ms 1000 --answer-timeout-ms 1000 \
        --retries 0
    expect_rc dev 4
    [ "$SECONDS" -le 20 ] || it_fail "the device took $SECONDS s to give up"
    ;;
code5_no_firmware)
    refused 5 --no-firmware -- --retries 0
    expect_slot_blank "$IT_TMP/dev-flash.bin"
    ;;
code6_same_version)
    refused 6 --package "$IT_TMP/package.bin" --title "$TITLE" --version "$OLD" -- --retries 0
    expect_slot_blank "$IT_TMP/dev-flash.bin"
    ;;
code7_corrupt_chunk)
    refused 7 --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW" --corrupt-chunk 4 -- \
        --retries 0
    expect_server_log 'chunk 4/.*one byte flipped on purpose'
    ;;
code7_bad_checksum)
    # every record is fine but fw_checksum is wrong: the whole-image check fails
    refused 7 --package "$IT_TMP/package.bin" --title "$TITLE" --version "$NEW" \
        --checksum-override 00000000 -- --retries 0
    ;;
two_devices) case_two_devices ;;
boot_update) case_boot_update ;;
boot_rollback) case_boot_rollback ;;
*)
    it_die "unknown case $CASE"
    ;;
esac
}

it_run run_case
# The server must stop cleanly (exit 0: no crash, no sanitizer report).
if [ -n "${SERVER_PID:-}" ]; then
    it_stop_checked "$SERVER_PID" server
fi
it_finish
