# CMake toolchain file: bare-metal Arm Cortex-M0+ (STM32L0) with the GNU Arm
# Embedded toolchain (Debian: gcc-arm-none-eabi + libnewlib-arm-none-eabi).
#
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         -DCMAKE_BUILD_TYPE=MinSizeRel
#
# With this file CELLOTA_BUILD_POSIX and CELLOTA_BUILD_TESTS default to OFF
# (CMAKE_CROSSCOMPILING is set), so only the core library is built.
# A toolchain directory that is not on PATH can be given with
# -DARM_TOOLCHAIN_DIR=/opt/gcc-arm/bin.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(ARM_TOOLCHAIN_DIR "" CACHE PATH "Directory holding arm-none-eabi-gcc (empty: search PATH)")
if(ARM_TOOLCHAIN_DIR)
  set(_arm_prefix "${ARM_TOOLCHAIN_DIR}/arm-none-eabi-")
else()
  set(_arm_prefix "arm-none-eabi-")
endif()

set(CMAKE_C_COMPILER   ${_arm_prefix}gcc)
set(CMAKE_ASM_COMPILER ${_arm_prefix}gcc)
# ar, ranlib, objcopy, size: CMake finds them next to the compiler (same prefix).

# No operating system to link test programs against: CMake's compiler checks
# build a static library instead of an executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Cortex-M0+ (ARMv6-M, Thumb only, no FPU). Every function and object in its
# own section so the firmware's final link can drop what it does not use.
# These are initial flags: a CMAKE_C_FLAGS given on the command line replaces
# them, so repeat the CPU flags there if you pass one.
set(_arm_cpu_flags "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft")
set(CMAKE_C_FLAGS_INIT   "${_arm_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_arm_cpu_flags}")
# Firmware images (examples/stm32l0) add their own linker script.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

# Look for programs on the host, for libraries and headers only in the target's sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
