# Cross build for 64-bit ARM Linux with Debian's gcc-aarch64-linux-gnu and
# the arm64 multiarch -dev packages (libcmocka-dev:arm64 and friends).
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64.cmake
# Tools that run during the build (protoc-c) are the host's; the test
# programs run under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# Headers and libraries of the target come from Debian's multiarch paths:
# /usr/include is shared, /usr/lib/aarch64-linux-gnu holds the arm64 .so.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must describe the arm64 packages, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# The programs run on Debian's arm64 loader and libc (libc6:arm64, which the
# arm64 -dev packages pull in), found at their usual paths: "-L /" keeps any
# QEMU_LD_PREFIX out. Not /usr/aarch64-linux-gnu (libc6-arm64-cross): its
# ld.so is an older build than libc6:arm64's libc.so.6, and the two share
# private structures (_rtld_global) whose layout changed between them, so a
# program that reaches libc6:arm64's libc through that loader can hang in
# pthread_create.
find_program(SIEVE_QEMU_AARCH64 qemu-aarch64)
if(SIEVE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${SIEVE_QEMU_AARCH64} -L /)
endif()
