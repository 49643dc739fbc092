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
# serves it with cellota-server, runs cellota-device from v1.0.0 to v1.1.0,
# checks that the image staged in the device's flash is exactly the new
# firmware, and stops everything it started. Exit status 0 only if the
# update really completed. Files are left in build/demo/ for inspection.
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
        "cellota demo firmware: $TITLE $NEW_VERSION;" || it_die "cannot write the firmware image"
    info "firmware image: $WORK/firmware-$NEW_VERSION.bin ($IMAGE_SIZE bytes, the version string inside)"
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
    info "cellota-device: flash in $WORK/flash.bin, staging slot at 0x$(printf '%06x' "$(it_staging_offset)")"
    info "it keeps $WINDOW chunk requests in flight (a Dragino device keeps 1), so the link's delay is paid once per $WINDOW chunks"
    echo
    "$DEVICE" --host "$IT_HOST" --port "$IT_PORT" --token "$TOKEN" --title "$TITLE" \
        --version "$OLD_VERSION" --imei "$IMEI" --flash "$WORK/flash.bin" \
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
    IT_FAILED=0
    [ "$ok" -eq 1 ] || IT_FAILED=1
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
