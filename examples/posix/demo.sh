#!/usr/bin/env bash
#
# cellota demo: a simulated device updates its firmware from a
# ThingsBoard-compatible OTA server, over a real MQTT broker, on this PC.
#
#   examples/posix/demo.sh
#
# It installs what is missing (Debian/Ubuntu, apt-get), builds cellota into
# build/ (Release, warnings as errors), starts a private mosquitto on a free
# loopback port, makes a new firmware image and its ThingsBoard package,
# serves it with cellota-server, runs cellota-device from v1.0.0 to v1.1.0:
# download, staging, reboot, the bootloader's install, the trial boot that
# confirms and reports "OTA Update OK"; checks the staged and the installed
# image byte for byte; then provisions a second device the Dragino way (AT
# commands on its console, a JSON downlink that triggers its update), updates
# two more through simulated Quectel modules, and shows a rollback: a broken
# v1.2.0 that never confirms is restored to v1.1.0 by the bootloader. It
# stops everything it started. Exit status 0 only if every step really
# completed. Files are left in build/demo/ for inspection.
#
# Environment: CELLOTA_BUILD_DIR (default <repo>/build), DEMO_WINDOW (chunk
# requests in flight, default 4), DEMO_LATENCY_MS (how long the server holds
# each answer back, like a cellular link; default 150), DEMO_SKIP_INSTALL=1
# (never call apt-get).
# shellcheck disable=SC2317  # functions are called through it_run
set -u

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
BUILD="${CELLOTA_BUILD_DIR:-$ROOT/build}"
WORK="$BUILD/demo"
TITLE=s31-nb
OLD_VERSION=v1.0.0
NEW_VERSION=v1.1.0
TOKEN=demo-device-token
IMEI=860000000000001
IMAGE_SIZE=49152
WINDOW="${DEMO_WINDOW:-4}"
LATENCY_MS="${DEMO_LATENCY_MS:-150}"
PACKAGES=(cmake build-essential pkg-config libcmocka-dev mosquitto mosquitto-clients libmosquitto-dev)

# shellcheck source-path=SCRIPTDIR source=../../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

BOLD=""
PLAIN=""
if [ -t 1 ]; then
    BOLD=$'\033[1m'
    PLAIN=$'\033[0m'
fi
STEP=0
step() {
    STEP=$((STEP + 1))
    printf '\n%s%d. %s%s\n' "$BOLD" "$STEP" "$*" "$PLAIN"
}
info() { printf '   %s\n' "$*"; }

# --------------------------------------------------------------------------------------------
missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        if command -v dpkg-query >/dev/null 2>&1; then
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
        fi
    done
}

tools_present() {
    command -v cmake >/dev/null && command -v cc >/dev/null && command -v make >/dev/null &&
        command -v pkg-config >/dev/null && pkg-config --exists libmosquitto cmocka &&
        command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null &&
        it_mosquitto_bin >/dev/null
}

install_tools() {
    local missing sudo=()
    step "Checking the tools: ${PACKAGES[*]}"
    missing="$(missing_packages | tr '\n' ' ')"
    if [ -z "${missing// /}" ] && tools_present; then
        info "everything is installed"
        return 0
    fi
    if [ -z "${missing// /}" ]; then
        it_die "some tools are missing but this is not a Debian system: install cmake, a C compiler, pkg-config, cmocka, mosquitto, mosquitto-clients and libmosquitto's headers"
    fi
    if [ "${DEMO_SKIP_INSTALL:-0}" = 1 ]; then
        it_die "missing packages: $missing(DEMO_SKIP_INSTALL=1, so not installing them)"
    fi
    command -v apt-get >/dev/null || it_die "missing packages: $missing(and no apt-get to install them)"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || it_die "missing packages: $missing(run as root or install sudo)"
        sudo=(sudo)
    fi
    info "installing: $missing"
    "${sudo[@]}" apt-get update -q || it_die "apt-get update failed"
    # shellcheck disable=SC2086
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $missing || it_die "apt-get could not install: $missing"
    tools_present || it_die "the tools are still not all available after apt-get"
}

build() {
    local jobs
    step "Building cellota into $BUILD (Release, warnings as errors)"
    jobs="$(nproc 2>/dev/null || echo 2)"
    [ "$jobs" -gt 4 ] && jobs=4
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCELLOTA_WERROR=ON >"$IT_TMP/cmake.log" 2>&1 ||
        { it_show "$IT_TMP/cmake.log" 30; it_die "cmake could not configure the project"; }
    cmake --build "$BUILD" -j "$jobs" >"$IT_TMP/build.log" 2>&1 ||
        { it_show "$IT_TMP/build.log" 40; it_die "the build failed"; }
    DEVICE="$BUILD/examples/posix/cellota-device"
    SERVER="$BUILD/examples/posix/cellota-server"
    PACK="$BUILD/examples/posix/cellota-pack"
    for p in "$DEVICE" "$SERVER" "$PACK"; do
        [ -x "$p" ] || it_die "$p was not built"
    done
    info "built cellota-device, cellota-server and cellota-pack in $BUILD/examples/posix"
}

start_broker() {
    step "Starting a private MQTT broker (mosquitto) on 127.0.0.1"
    it_start_broker
    info "mosquitto listens on $IT_HOST:$IT_PORT (pid $IT_BROKER_PID); it stands for ThingsBoard's MQTT endpoint"
}

make_firmware() {
    step "Making the new firmware $TITLE $NEW_VERSION and its ThingsBoard package"
    rm -rf "$WORK"
    mkdir -p "$WORK" || it_die "cannot create $WORK"
    it_gen_image "$WORK/firmware-$NEW_VERSION.bin" "$IMAGE_SIZE" 20240601 \
        "cellota-fw $TITLE $NEW_VERSION;" || it_die "cannot write the firmware image"
    it_gen_image "$WORK/firmware-$OLD_VERSION.bin" 40000 20240501 \
        "cellota-fw $TITLE $OLD_VERSION;" || it_die "cannot write the firmware image"
    info "firmware image: $WORK/firmware-$NEW_VERSION.bin ($IMAGE_SIZE bytes, starting with its marker"
    info "'cellota-fw $TITLE $NEW_VERSION;' so that the simulated device knows what it runs after a reboot)"
    info "cellota-pack cuts it into Dragino records [1024 data bytes][CRC-32] and shows what ThingsBoard would show:"
    "$PACK" --out "$WORK/package.bin" "$WORK/firmware-$NEW_VERSION.bin" >"$WORK/pack.log" 2>&1 ||
        { it_show "$WORK/pack.log"; it_die "cellota-pack failed"; }
    sed 's/^/     /' "$WORK/pack.log"
}

start_server() {
    step "Starting the OTA server: it offers $TITLE $NEW_VERSION like ThingsBoard does"
    it_spawn server "$SERVER" --host "$IT_HOST" --port "$IT_PORT" --package "$WORK/package.bin" \
        --title "$TITLE" --version "$NEW_VERSION" --algo CRC32 --latency-ms "$LATENCY_MS"
    SERVER_PID=$IT_LAST_PID
    it_wait_for "$IT_TMP/server.log" '^server: ready' 10 "$SERVER_PID" ||
        { it_show "$IT_TMP/server.log"; it_die "cellota-server did not start"; }
    info "cellota-server (pid $SERVER_PID) answers v1/devices/me/attributes/request/+ and v2/fw/request/+/chunk/+"
    info "it holds every answer back $LATENCY_MS ms, like the round trip of an NB-IoT link"
    it_status_start
    info "listening on cellota/+/status for the device's result message (its data connection)"
}

run_device() {
    step "The device runs $TITLE $OLD_VERSION and asks the server for an update"
    info "cellota-device: external flash in $WORK/flash.bin, staging slot at 0x$(printf '%06x' "$(it_staging_offset)");"
    info "its internal flash ($WORK/iflash.bin) was factory-programmed with $OLD_VERSION"
    info "it keeps $WINDOW chunk requests in flight (a Dragino device keeps 1), so the link's delay is paid once per $WINDOW chunks"
    info "after code 100 it reboots: the bootloader backs up $OLD_VERSION, installs $NEW_VERSION and starts it on trial"
    echo
    "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" --token "$TOKEN" --imei "$IMEI" \
        --flash "$WORK/flash.bin" --iflash "$WORK/iflash.bin" --factory "$WORK/firmware-$OLD_VERSION.bin" \
        --settings "$WORK/settings.bin" --window "$WINDOW" --answer-timeout-ms 5000 \
        --connect-timeout-ms 10000 --backoff-ms 1000 --retries 1
    DEVICE_RC=$?
    echo
    info "cellota-device exited with status $DEVICE_RC (0 = updated)"
}

check_result() {
    local ok=1 chunks
    step "Checking what happened"
    chunks="$(grep -c ': chunk ' "$IT_TMP/server.log")"
    info "the server sent $chunks chunk answer(s); what the device told it:"
    grep -E 'reports (it runs|fw_state)' "$IT_TMP/server.log" | sed 's/^server: /     /'
    if [ "$DEVICE_RC" -ne 0 ]; then
        info "FAILED: the device did not complete the update (exit status $DEVICE_RC)"
        ok=0
    fi
    if it_check_staged "$WORK/flash.bin" "$WORK/firmware-$NEW_VERSION.bin" 2>/dev/null; then
        info "the staging slot of the device's flash holds exactly the new firmware ($IMAGE_SIZE bytes)"
    else
        info "FAILED: the staged image differs from the new firmware"
        ok=0
    fi
    if it_status_wait 5 "^cellota/$IMEI/status " && [[ "$IT_STATUS" == *"OTA code 100"* ]]; then
        info "status message received: $IT_STATUS"
    else
        info "FAILED: no 'OTA code 100' status message (got: ${IT_STATUS:-nothing})"
        ok=0
    fi
    if cmp -s -n "$IMAGE_SIZE" "$WORK/iflash.bin" "$WORK/firmware-$NEW_VERSION.bin"; then
        info "after the reboot the internal flash holds exactly $NEW_VERSION, installed by the bootloader"
    else
        info "FAILED: the internal flash does not hold $NEW_VERSION"
        ok=0
    fi
    if it_status_wait 5 "OTA Update OK, Firmware Title: $TITLE Ver: $NEW_VERSION"; then
        info "status message after the reboot: $IT_STATUS"
    else
        info "FAILED: no 'OTA Update OK' status message after the reboot"
        ok=0
    fi
    IT_FAILED=0
    [ "$ok" -eq 1 ] || IT_FAILED=1
}

# --------------------------------------------------------------------------------------------
# A second device, provisioned like a Dragino one: AT commands on its console, then a JSON
# downlink on its data topic that sets the rest and asks for the update.
IMEI2=860000000000002
TOKEN2=demo-device-2-token

# console CMD: type one line on the second device's console; show it and what it answered.
console() {
    local before i
    before="$(grep -cE '^(OK|AT_[A-Z_]*ERROR)$' "$CON_OUT" 2>/dev/null)"
    printf '%s\r\n' "$1" >&3
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -cE '^(OK|AT_[A-Z_]*ERROR)$' "$CON_OUT" 2>/dev/null)" -gt "$before" ] && break
        sleep 0.05
    done
    printf '     > %s\n' "$1"
    tail -n +"$((CON_SHOWN + 1))" "$CON_OUT" | sed 's/^/       /'
    CON_SHOWN="$(wc -l <"$CON_OUT")"
}

provision_device() {
    local ok=1 pid rc i cfg
    step "A second device, provisioned the Dragino way: AT commands, then a JSON downlink"
    info "cellota-device --wait (IMEI $IMEI2) starts with no OTA server set; it reads AT commands on"
    info "its console (standard input) and downlinks on cellota/$IMEI2/downlink (its data topic)"
    rm -f "$WORK/console2"
    mkfifo "$WORK/console2" || it_die "mkfifo failed"
    exec 3<>"$WORK/console2"
    it_spawn device2 bash -c 'con="$1" err="$2"; shift 2; exec "$@" <"$con" 2>"$err"' _ \
        "$WORK/console2" "$WORK/device2.log" "$DEVICE" --wait --imei "$IMEI2" \
        --data-host "$IT_HOST" --data-port "$IT_PORT" --flash "$WORK/flash2.bin" \
        --settings "$WORK/settings2.bin" --window "$WINDOW" --answer-timeout-ms 5000 \
        --connect-timeout-ms 10000 --backoff-ms 1000 --retries 1
    pid=$IT_LAST_PID
    CON_OUT="$IT_TMP/device2.log"
    CON_SHOWN=0
    it_wait_for "$WORK/device2.log" '^device: listening for downlinks' 10 "$pid" ||
        { it_show "$WORK/device2.log"; it_die "the second device did not start"; }
    info "typed on its console (>) and what it answered:"
    console "AT+OTASER?"
    console "AT+OTASER=$IT_HOST,$IT_PORT"
    console "AT+OTAUNAME=$TOKEN2"
    console "AT+OTAPWD=NULL"
    console "AT+OTATITLE=$TITLE"
    console "AT+OTASER=$IT_HOST,70000"
    console "AT+OTASER?"
    console "AT+OTAVER?"
    info "each accepted command is saved at once in $WORK/settings2.bin (two copies with a CRC)"
    cfg="{\"Config\":\"[AT+OTACLT=demo-device-2;AT+OTAVER=$OLD_VERSION;AT+UPGRADE]\"}"
    info "the server side sends a JSON downlink on cellota/$IMEI2/downlink:"
    info "  $cfg"
    mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -q 1 -t "cellota/$IMEI2/downlink" -m "$cfg" ||
        it_die "mosquitto_pub failed"
    for ((i = 0; i < 1200; i++)); do # 60 s
        it_is_running "$pid" || break
        sleep 0.05
    done
    rc=1
    if it_is_running "$pid"; then
        info "FAILED: the second device did not finish its update within 60 s"
    else
        wait "$pid"
        rc=$?
    fi
    exec 3>&-
    info "what the device did (its messages, in $WORK/device2.log):"
    grep -E '^device: (downlink|update requested|status message|update staged)' "$WORK/device2.log" |
        sed 's/^device: /     /'
    [ "$rc" -eq 0 ] || { info "FAILED: the second device exited with status $rc"; ok=0; }
    if it_check_staged "$WORK/flash2.bin" "$WORK/firmware-$NEW_VERSION.bin" 2>/dev/null; then
        info "its staging slot holds exactly the new firmware too"
    else
        info "FAILED: the second device's staged image differs from the new firmware"
        ok=0
    fi
    if ! it_status_wait 5 "^cellota/$IMEI2/status " || [[ "$IT_STATUS" != *"OTA code 100"* ]]; then
        info "FAILED: no 'OTA code 100' status message from the second device"
        ok=0
    fi
    [ "$ok" -eq 1 ] || IT_FAILED=1
}

# --------------------------------------------------------------------------------------------
# The same update through a simulated cellular module: cellota-device --modem starts
# cellota-quectel-sim and runs MQTT through the cellota Quectel driver (the AT code the
# STM32 firmware runs) instead of libmosquitto.

# modem_run MODEL NAME IMEI: one update from OLD_VERSION into a fresh flash file.
modem_run() {
    local model="$1" name="$2" imei="$3" ok=1 rc n sim="$BUILD/examples/posix/cellota-quectel-sim"
    local log="$WORK/modem-$model.log"
    step "The same update through a simulated Quectel $name module"
    [ -x "$sim" ] || { info "FAILED: $sim was not built"; IT_FAILED=1; return; }
    info "cellota-device --modem $model starts cellota-quectel-sim: a $name behind a pseudo-terminal."
    info "The cellota Quectel driver sends it AT commands over that UART, as the STM32 firmware does,"
    info "and the module's own MQTT client (bridged to mosquitto by the simulator) carries the update."
    info "Fresh flash file $WORK/flash-$model.bin; the module's AT log goes to $log"
    echo
    "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" --token "$TOKEN-$model" --title "$TITLE" \
        --version "$OLD_VERSION" --imei "$imei" --flash "$WORK/flash-$model.bin" \
        --settings "$WORK/settings-$model.bin" --window "$WINDOW" --answer-timeout-ms 5000 \
        --connect-timeout-ms 20000 --backoff-ms 1000 --retries 1 \
        --modem "$model" --modem-sim "$sim" --modem-log "$log"
    rc=$?
    echo
    info "cellota-device exited with status $rc (0 = updated)"
    n="$(grep -c '^quectel-sim: *[0-9.]* <- AT' "$log" 2>/dev/null)"
    info "the driver sent ${n:-0} AT commands; a few of them, with the module's answers:"
    grep -E '^quectel-sim: *[0-9.]* (<- AT\+QMTCFG="(recv/mode|dataformat)"|<- AT\+QMTOPEN=|-> \+QMTOPEN:|<- AT\+QMTCONN=|-> \+QMTCONN:)' \
        "$log" 2>/dev/null | head -n 6 | sed 's/^quectel-sim: *[0-9.]* /     /'
    info "chunk 1: its request, and how the 1028-byte binary record came back:"
    awk 'function show(l) { sub(/^quectel-sim: *[0-9.]* /, "     ", l); print l }
         /-> \+QMTRECV: [0-9],[0-4]$/ { urc[substr($0, length($0))] = $0 }
         /<- AT\+QMTRECV=[0-9],[0-4]$/ { rd = $0 }
         !on && /<- AT\+QMTPUB=[0-9],[0-9]+,1,0,"v2\/fw\/request\/[0-9]+\/chunk\/1"/ {
             on = 1; split($0, f, ","); id = f[2]; show($0); next }
         on && index($0, "-> +QMTPUB: 0," id ",") { show($0) }
         on && /-> \+QMTRECV: [0-9],[0-9]+,"v2\/fw\/response\/[0-9]+\/chunk\/1",/ {
             if (rd != "") { show(urc[substr(rd, length(rd))]); show(rd) }
             show($0); exit }' "$log" 2>/dev/null
    if [ "$model" = bg95 ]; then
        info "(BG95: each message waits in one of the module's 5 slots, announced by +QMTRECV: 0,<slot>;"
        info " AT+QMTRECV reads it with its length, and the driver takes exactly that many raw bytes)"
    else
        info "(BC660K: the module pushes each message as hex with its length, and the driver publishes"
        info " in the non-data-mode form with the payload in hex: binary bytes never meet the AT parser)"
    fi
    [ "$rc" -eq 0 ] || { info "FAILED: the update through the $name did not complete"; ok=0; }
    if it_check_staged "$WORK/flash-$model.bin" "$WORK/firmware-$NEW_VERSION.bin" 2>/dev/null; then
        info "the staging slot holds exactly the new firmware ($IMAGE_SIZE bytes), received through the $name"
    else
        info "FAILED: the image staged through the $name differs from the new firmware"
        ok=0
    fi
    if it_status_wait 5 "^cellota/$imei/status " && [[ "$IT_STATUS" == *"OTA code 100"* ]]; then
        info "status message received: $IT_STATUS"
    else
        info "FAILED: no 'OTA code 100' status message from IMEI $imei"
        ok=0
    fi
    [ "$ok" -eq 1 ] || IT_FAILED=1
}

# --------------------------------------------------------------------------------------------
# A broken build: v1.2.0 never reaches its server, so it never confirms. After 3 trial boots the
# bootloader restores v1.1.0; the device reports the rollback and refuses v1.2.0 from then on.
BROKEN_VERSION=v1.2.0

rollback_run() {
    local ok=1 rc
    step "A broken build $TITLE $BROKEN_VERSION that never confirms: the bootloader rolls it back"
    it_stop "$SERVER_PID"
    it_gen_image "$WORK/firmware-$BROKEN_VERSION.bin" 30000 20240701 \
        "cellota-fw $TITLE $BROKEN_VERSION noconfirm;" || it_die "cannot write the firmware image"
    "$PACK" --out "$WORK/package-broken.bin" "$WORK/firmware-$BROKEN_VERSION.bin" >/dev/null 2>&1 ||
        it_die "cellota-pack failed"
    it_spawn server-broken "$SERVER" --host "$IT_HOST" --port "$IT_PORT" --package "$WORK/package-broken.bin" \
        --title "$TITLE" --version "$BROKEN_VERSION" --algo CRC32 --quiet
    SERVER_PID=$IT_LAST_PID
    it_wait_for "$IT_TMP/server-broken.log" '^server: ready' 10 "$SERVER_PID" ||
        { it_show "$IT_TMP/server-broken.log"; it_die "cellota-server did not start"; }
    info "the server now offers $BROKEN_VERSION, a build that crashes before it reaches its server"
    echo
    "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" --token "$TOKEN" --imei "$IMEI" \
        --flash "$WORK/flash.bin" --iflash "$WORK/iflash.bin" --settings "$WORK/settings.bin" \
        --window "$WINDOW" --answer-timeout-ms 5000 --connect-timeout-ms 10000 --retries 0 2>&1 |
        grep -v 'downloaded [0-9]'
    rc=${PIPESTATUS[0]}
    echo
    info "cellota-device exited with status $rc (2 = refused: that version was rolled back here)"
    [ "$rc" -eq 2 ] || { info "FAILED: expected status 2"; ok=0; }
    if cmp -s -n "$IMAGE_SIZE" "$WORK/iflash.bin" "$WORK/firmware-$NEW_VERSION.bin"; then
        info "the internal flash holds $NEW_VERSION again, byte for byte"
    else
        info "FAILED: the internal flash does not hold $NEW_VERSION"
        ok=0
    fi
    if it_status_wait 5 "OTA Update failed, rolled back, Firmware Title: $TITLE Ver: $BROKEN_VERSION"; then
        info "status message after the rollback: $IT_STATUS"
    else
        info "FAILED: no rollback status message"
        ok=0
    fi
    [ "$ok" -eq 1 ] || IT_FAILED=1
}

modem_runs() {
    modem_run bg95 "BG95-M2 (LTE-M)" 860000000000003
    modem_run bc660k "BC660K-GL (NB-IoT)" 860000000000004
}

main() {
    echo "cellota demo: a simulated NB-IoT device updates its firmware over MQTT"
    it_init demo
    install_tools
    build
    start_broker
    make_firmware
    start_server
    run_device
    check_result
    provision_device
    modem_runs
    rollback_run
    step "Stopping the server, the status listener and the broker"
    it_stop_all
    grep '^server: stopped' "$IT_TMP/server.log" | sed 's/^server: /   server /'
    info "nothing left running; files kept in $WORK (firmware, package, flash, settings)"
}

it_run main
if [ "${IT_COMPLETED:-0}" -eq 1 ] && [ "$IT_FAILED" -eq 0 ]; then
    printf '\n%sDemo complete: the device was updated from %s %s to %s.%s\n' "$BOLD" "$TITLE" \
        "$OLD_VERSION" "$NEW_VERSION" "$PLAIN"
else
    printf '\n%sDemo FAILED.%s\n' "$BOLD" "$PLAIN"
    IT_FAILED=1
fi
exit "$IT_FAILED"
