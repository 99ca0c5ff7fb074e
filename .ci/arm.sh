#!/usr/bin/env bash
# CI: the portable kernels on 64-bit ARM. Cross-compiles with Debian's
# gcc-aarch64-linux-gnu against the arm64 multiarch -dev packages and runs
# the unit tests under qemu-user. protoc-c runs on the host. A few minutes.
#   .ci/arm.sh [BUILD_DIR]     (default build-arm)
# One test by hand: qemu-aarch64 -L / build-arm/tests/test_ops
# (-L /: Debian's arm64 loader and libc; see cmake/aarch64.cmake).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh
build=${1:-build-arm}

step "install the cross toolchain, qemu-user and the arm64 libraries"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends \
    cmake make pkg-config gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
    protobuf-c-compiler libonnx-dev libonnx-testdata dataset-fashion-mnist \
    libc6:arm64 libcmocka-dev:arm64 libcjson-dev:arm64 libprotobuf-c-dev:arm64 libstb-dev:arm64 libjpeg62-turbo-dev:arm64

# -Werror is enforced by the host gcc and clang builds of .ci/run; the cross
# compiler warns on other files in its own way and must not stop this check.
step "cross build (aarch64, Release)"
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DSIEVE_WERROR=OFF >/dev/null
# Every unit test and the ONNX conformance run; not the cli_* tests (they
# exec the sieve command directly) nor torch_reference (x86 PyTorch).
unit_tests=$(for f in tests/test_*.c; do basename "$f" .c; done)
cmake --build "$build" -j"$(nproc)" --target $unit_tests sieve_conformance
file "$build/tests/test_ops" | grep -q aarch64

step "unit tests under qemu-aarch64"
# test_models checks the bundled models on 1000 images in the native build
# of .ci/run; here 100 per model (tolerance: 3 binomial standard deviations)
# catch a kernel that is wrong on ARM in about a minute of emulation, where
# 1000 take more than fifteen.
regex="^($(echo $unit_tests onnx_conformance | tr ' ' '|'))\$"
SIEVE_ACCURACY_IMAGES=100 ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$regex"

step "done"
