#!/usr/bin/env bash
# CI: the portable kernels on 64-bit ARM. Cross-compiles with Debian's
# gcc-aarch64-linux-gnu against the arm64 multiarch -dev packages and runs
# the unit tests under qemu-user. protoc-c runs on the host. A few minutes.
#   .ci/arm.sh [BUILD_DIR]     (default build-arm)
# One test by hand: qemu-aarch64 -L / build-arm/tests/test_ops
# (-L /: Debian's arm64 loader and libc; see cmake/aarch64.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
build=${1:-build-arm}

step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "install the cross toolchain, qemu-user and the arm64 libraries"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends \
    cmake make pkg-config gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
    protobuf-c-compiler libonnx-dev \
    libc6:arm64 libcmocka-dev:arm64 libcjson-dev:arm64 libprotobuf-c-dev:arm64 libstb-dev:arm64

# -Werror is enforced by the host gcc and clang builds of .ci/run; the cross
# compiler warns on other files in its own way and must not stop this check.
step "cross build (aarch64, Release)"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DSIEVE_WERROR=OFF >/dev/null
tests="test_cfloat test_ops test_threads test_model"
cmake --build "$build" -j"$(nproc)" --target $tests
file "$build/tests/test_ops" | grep -q aarch64

step "unit tests under qemu-aarch64"
regex="^($(echo $tests | tr ' ' '|'))\$"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$regex" --timeout 900

step "done"
