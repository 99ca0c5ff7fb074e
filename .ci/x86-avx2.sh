#!/usr/bin/env bash
# CI: the library on an x86-64 without AVX-512. The kernels are picked at
# run time by CPUID; on the AVX-512 machines CI runs on, only the AVX-512
# ones run. Here the unit tests run under qemu-user emulating a Haswell
# (AVX2 and FMA, no AVX-512: its CPUID says so), so the AVX2 and SSE2
# kernels run and any AVX-512 instruction reached without a check is an
# illegal instruction. A few minutes.
#   .ci/x86-avx2.sh [BUILD_DIR]     (default build-avx2)
# Then the kernels' tests again on a Nehalem (SSE4.2, no AVX at all).
# One test by hand: qemu-x86_64 -cpu Haswell build-avx2/tests/test_ops
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh
build=${1:-build-avx2}

step "install qemu-user"
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends qemu-user gcc

# qemu's CPU model must have no AVX-512 and must have AVX2, or this step
# tests nothing it claims to: check with a program asking CPUID.
step "check the emulated CPU"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat >"$probe/cpu.c" <<'EOF'
#include <stdio.h>
int main(void)
{
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") != 0, fma = __builtin_cpu_supports("fma") != 0;
    int avx512 = __builtin_cpu_supports("avx512f") != 0;
    printf("avx2 %d fma %d avx512f %d\n", avx2, fma, avx512);
    return avx2 && fma && !avx512 ? 0 : 1;
}
EOF
gcc -O2 "$probe/cpu.c" -o "$probe/cpu"
emulator="qemu-x86_64;-cpu;Haswell"
# qemu warns about Haswell features its TCG lacks (pcid, x2apic, ...):
# none of them is one the library asks for
qemu-x86_64 -cpu Haswell "$probe/cpu" 2>/dev/null

step "build (Release, tests run under qemu-x86_64 -cpu Haswell)"
unit_tests=$(for f in tests/test_*.c; do basename "$f" .c; done)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CROSSCOMPILING_EMULATOR="$emulator" \
    >/dev/null
cmake --build "$build" -j"$(nproc)" --target $unit_tests sieve_conformance

step "unit tests and ONNX conformance as on a CPU without AVX-512"
# test_models checks the bundled models on 1000 images natively; here 30
# per model (tolerance: 3 binomial standard deviations) catch a kernel
# that is wrong in its AVX2 form in under two minutes of emulation.
regex="^($(echo $unit_tests onnx_conformance | tr ' ' '|'))\$"
SIEVE_ACCURACY_IMAGES=30 ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -R "$regex"

step "kernel tests as on an x86-64 without AVX (qemu-x86_64 -cpu Nehalem)"
# The same binaries on SSE4.2 alone: an AVX2 instruction reached without
# a check stops a test here. The kernels' own tests only, about a minute.
log="$probe/test.log"
for t in test_cfloat test_ops test_winograd test_threads; do
    rc=0
    printf '%s: ' "$t"
    qemu-x86_64 -cpu Nehalem "$build/tests/$t" >"$log" 2>&1 || rc=$?
    grep -v "TCG doesn't support requested feature" "$log" | if [ "$rc" -eq 0 ]; then tail -n 1; else cat; fi
    if [ "$rc" -ne 0 ]; then echo "$t failed on the emulated Nehalem (status $rc)" >&2; exit 1; fi
done

step "done"
