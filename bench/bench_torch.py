#!/usr/bin/python3
"""libsieve against PyTorch on the classic CNNs, batch 1, fp32, CPU.

For each of LeNet-5 (1x1x28x28), AlexNet, SqueezeNet 1.0, GoogLeNet (no aux
heads), ResNet-18 and VGG-16 (1x3x224x224), with seeded random weights:

 1. export to ONNX with torch, import with `sieve import`;
 2. check that our output matches PyTorch's for the same input within
    eps * sum_l(K_l) * max(1, max|output|) (K_l: reduction length of layer l,
    the bound of an fp32 sum that tests/torch_reference.py also uses); a
    mismatch fails the run;
 3. time the forward pass alone with 1 and 2 threads, interleaved: each
    round runs PyTorch (eval, no_grad, torch.set_num_threads(n)) `--repeat`
    times in this process, then `sieve run --repeat` (which times
    sieve_exec_run only) in a child; the median over all runs is reported;
 4. time every convolution of the model layer by layer through libsieve's
    public C API (ctypes: sieve_exec_run_layers), to report the share of
    the FMA peak the convolutions reach;
 5. run bench_engine on the model: all weights and activations packed in an
    8-bit and a 4-bit custom float format against fp32, same run;
 6. peak RSS of the `sieve run` child (wait4), against the bound
    weight bytes + planned activation bytes + 16 MiB.

The FMA peak is measured first by a small C program compiled here
(independent FMA chains, AVX-512 / AVX2+FMA / scalar by CPUID), with 1 and
2 threads. One table is printed and everything is written as JSON.

usage: /usr/bin/python3 bench/bench_torch.py [--build DIR] [--models a,b]
          [--repeat N] [--rounds R] [--threads 1,2] [--json FILE]
Exit status: 0 ok, 1 a mismatch or a failed step, 77 PyTorch missing.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)

try:
    import numpy as np
    import torch
    import torchvision
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: PyTorch/torchvision not installed for {sys.executable} ({e}); "
          "use /usr/bin/python3 with python3-torch and python3-torchvision")
    sys.exit(SKIP)

MODELS = ["lenet5", "alexnet", "squeezenet1_0", "googlenet", "resnet18", "vgg16"]

# ---------------------------------------------------------------------------
# FMA peak: independent chains, enough of them to cover latency x throughput
# (4 cycles x 2 pipes on current x86 cores); the result is written to the
# accumulators' sum so the compiler cannot drop the loop.
FMA_PEAK_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#define ITERS 20000000L
static volatile float sink;
#if defined(__x86_64__)
/* accumulators as named variables: an array of vectors may live in memory */
#define R16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx512f"))) static double run512(void) {
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f), s = _mm512_setzero_ps();
#define INIT(i) __m512 a##i = _mm512_set1_ps((float)i);
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, x, y);
#define SUM(i) s = _mm512_add_ps(s, a##i);
    R16(INIT)
    for (long k = 0; k < ITERS; k++) {
        R16(STEP)
        __asm__ volatile("" ::: "memory");
    }
    R16(SUM)
    sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * 16 * ITERS;
#undef INIT
#undef STEP
#undef SUM
}
__attribute__((target("avx2,fma"))) static double run256(void) {
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f), s = _mm256_setzero_ps();
#define INIT(i) __m256 a##i = _mm256_set1_ps((float)i);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, x, y);
#define SUM(i) s = _mm256_add_ps(s, a##i);
    R12(INIT)
    for (long k = 0; k < ITERS; k++) {
        R12(STEP)
        __asm__ volatile("" ::: "memory");
    }
    R12(SUM)
    float t[8]; _mm256_storeu_ps(t, s); sink = t[0];
    return 2.0 * 8 * 12 * ITERS;
#undef INIT
#undef STEP
#undef SUM
}
#endif
static double run_scalar(void) {
    float a[16], x = 0.999999f, y = 1e-7f;
    for (int i = 0; i < 16; i++) a[i] = (float)i;
    for (long k = 0; k < ITERS / 4; k++)
        for (int i = 0; i < 16; i++) a[i] = a[i] * x + y;
    float s = 0; for (int i = 0; i < 16; i++) s += a[i];
    sink = s;
    return 2.0 * 16 * (ITERS / 4);
}
static const char *isa = "scalar";
static double (*kernel)(void) = run_scalar;
static double flops[64], cpu_s[64];
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
                              return t.tv_sec + t.tv_nsec * 1e-9; }
static void *worker(void *p) {
    int i = (int)(long)p;
    double c0 = cpu_now();
    flops[i] = kernel();
    cpu_s[i] = cpu_now() - c0;
    return NULL;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 64) return 2;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) { kernel = run512; isa = "avx512"; }
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        kernel = run256; isa = "avx2"; }
#endif
    pthread_t t[64];
    double t0 = now();
    for (int i = 1; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(long)i);
    worker(0);
    for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
    double s = now() - t0, total = 0, on_cpu = 0;
    for (int i = 0; i < threads; i++) {
        total += flops[i];
        on_cpu += flops[i] / cpu_s[i];
    }
    /* wall: what a job gets from the machine as loaded now; cpu: the
     * cores' own rate, while this thread was scheduled */
    printf("{\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.3f,\"gflops_cpu\":%.3f}\n", isa,
           threads, total / s / 1e9, on_cpu / 1e9);
    return 0;
}
"""


# Peak RSS of a command: a small parent forks and execs it, so that the
# child's maxrss is not the size of this Python process (ru_maxrss counts
# the pre-exec image of a forked child).
RSS_PROBE_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = fork();
    if (pid == 0) { execvp(argv[1], argv + 1); _exit(127); }
    int status; struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 2;
    printf("%ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
"""


def compile_c(tmp, name, source):
    src = os.path.join(tmp, name + ".c")
    exe = os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(["cc", "-O2", "-pthread", src, "-o", exe], check=True)
    return exe


def fma_peak(tmp, threads_list, trials):
    exe = compile_c(tmp, "fma_peak", FMA_PEAK_C)
    peak = {}
    # one core's rate (1_cpu) is what conv%core divides by, whatever --threads says
    for n in sorted(set(threads_list) | {1}):
        # the best of a few trials: load from other jobs only lowers it
        runs = [json.loads(subprocess.run([exe, str(n)], check=True, capture_output=True,
                                          text=True).stdout) for _ in range(trials)]
        peak[n] = max(r["gflops"] for r in runs)
        peak[f"{n}_cpu"] = max(r["gflops_cpu"] for r in runs)
        peak["isa"] = runs[0]["isa"]
    return peak


# ---------------------------------------------------------------------------
# models

def build_model(name):
    tv = torchvision.models
    if name == "lenet5":
        sys.path.insert(0, os.path.join(SOURCE, "tools", "train"))
        import models  # noqa: E402  (tools/train/models.py)
        return models.LeNet5(), (1, 1, 28, 28)
    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=True), (1, 3, 224, 224)
    return getattr(tv, name)(weights=None), (1, 3, 224, 224)


def reduction_lengths(model):
    lengths = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            lengths.append(m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, torch.nn.Linear):
            lengths.append(m.in_features)
    return lengths


# ---------------------------------------------------------------------------
# libsieve through ctypes (public API only), for per-layer timing

class SieveShape(ctypes.Structure):
    _fields_ = [("rank", ctypes.c_int), ("dims", ctypes.c_int64 * 6)]


class SieveExecOptions(ctypes.Structure):
    _fields_ = [("threads", ctypes.c_int), ("input_shapes", ctypes.POINTER(SieveShape)),
                ("keep_activations", ctypes.c_int)]


class SieveLayerInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("op", ctypes.c_char_p), ("n_inputs", ctypes.c_int),
                ("n_outputs", ctypes.c_int), ("inputs", ctypes.POINTER(ctypes.c_int)),
                ("outputs", ctypes.POINTER(ctypes.c_int)), ("macs", ctypes.c_uint64),
                ("params", ctypes.c_uint64)]


def load_libsieve(path):
    lib = ctypes.CDLL(path)
    vp = ctypes.c_void_p
    lib.sieve_context_create.restype = vp
    lib.sieve_context_create.argtypes = [vp]
    lib.sieve_context_destroy.argtypes = [vp]
    lib.sieve_context_error.restype = ctypes.c_char_p
    lib.sieve_context_error.argtypes = [vp]
    lib.sieve_model_load_file.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(vp)]
    lib.sieve_model_free.argtypes = [vp]
    lib.sieve_model_layer_count.argtypes = [vp]
    lib.sieve_model_layer.argtypes = [vp, ctypes.c_int, ctypes.POINTER(SieveLayerInfo)]
    lib.sieve_exec_create.argtypes = [vp, ctypes.POINTER(SieveExecOptions), ctypes.POINTER(vp)]
    lib.sieve_exec_free.argtypes = [vp]
    lib.sieve_exec_set_input.argtypes = [vp, ctypes.c_int, ctypes.POINTER(ctypes.c_float),
                                         ctypes.c_size_t]
    lib.sieve_exec_run_layers.argtypes = [vp, ctypes.c_int, ctypes.c_int]
    lib.sieve_exec_layer_macs.restype = ctypes.c_uint64
    lib.sieve_exec_layer_macs.argtypes = [vp, ctypes.c_int]
    return lib


def conv_layer_times(lib, sieve_path, x, threads, repeat):
    """Median time of each conv layer (ms) and its MACs, run one layer at a
    time on kept activations."""
    ctx = lib.sieve_context_create(None)
    model, ex = ctypes.c_void_p(), ctypes.c_void_p()
    try:
        if lib.sieve_model_load_file(ctx, sieve_path.encode(), ctypes.byref(model)) != 0:
            raise RuntimeError(lib.sieve_context_error(ctx).decode())
        opts = SieveExecOptions(threads, None, 1)
        if lib.sieve_exec_create(model, ctypes.byref(opts), ctypes.byref(ex)) != 0:
            raise RuntimeError(lib.sieve_context_error(ctx).decode())
        xf = np.ascontiguousarray(x, dtype=np.float32).ravel()
        lib.sieve_exec_set_input(ex, 0, xf.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                 xf.size)
        n = lib.sieve_model_layer_count(model)
        if lib.sieve_exec_run_layers(ex, 0, n) != 0:
            raise RuntimeError(lib.sieve_context_error(ctx).decode())
        convs = []
        info = SieveLayerInfo()
        for li in range(n):
            lib.sieve_model_layer(model, li, ctypes.byref(info))
            if info.op.decode() == "conv":
                convs.append((li, info.name.decode(), lib.sieve_exec_layer_macs(ex, li)))
        samples = {li: [] for li, _, _ in convs}
        cpu = {li: [] for li, _, _ in convs}
        for _ in range(repeat):
            for li, _, _ in convs:
                t0, c0 = time.perf_counter(), time.process_time()
                lib.sieve_exec_run_layers(ex, li, li + 1)
                samples[li].append((time.perf_counter() - t0) * 1e3)
                cpu[li].append((time.process_time() - c0) * 1e3)
        return [{"layer": name, "macs": macs, "ms": statistics.median(samples[li]),
                 "cpu_ms": statistics.median(cpu[li])} for li, name, macs in convs]
    finally:
        if ex:
            lib.sieve_exec_free(ex)
        if model:
            lib.sieve_model_free(model)
        lib.sieve_context_destroy(ctx)


# ---------------------------------------------------------------------------
# runs

def run_child(cmd):
    """Runs cmd; returns (stdout, peak RSS in bytes) from wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {err.strip()}")
    return out


def peak_rss(probe, cmd):
    p = subprocess.run([probe] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return int(p.stdout.split()[-1]) * 1024


def time_torch(model, x, threads, n):
    torch.set_num_threads(threads)
    out = []
    with torch.no_grad():
        for _ in range(n):
            t0 = time.perf_counter()
            model(x)
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def blas_library():
    """The BLAS torch loaded (Debian's torch links the libblas.so.3
    alternative): the path of the mapped file."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as f:
        for line in f:
            if "blas" in line:
                return os.path.realpath(line.split()[-1])
    return "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


def bench_model(name, args, tmp, lib, peak, threads_list):
    sieve = os.path.join(args.build, "sieve")
    torch.manual_seed(0)
    model, shape = build_model(name)
    model = model.eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    onnx_path = os.path.join(tmp, name + ".onnx")
    sieve_path = os.path.join(tmp, name + ".sieve")
    with torch.no_grad():
        torch.onnx.export(model, x, onnx_path, opset_version=13, input_names=["input"],
                          output_names=["output"])
        ref = model(x).numpy().astype(np.float32)
    subprocess.run([sieve, "import", onnx_path, "-o", sieve_path], check=True,
                   stdout=subprocess.DEVNULL)
    info = json.loads(run_child([sieve, "info", sieve_path, "--json"]))
    totals = info["totals"]
    in_path = os.path.join(tmp, name + "_x.npy")
    np.save(in_path, x.numpy())
    out_dir = os.path.join(tmp, name + "_out")
    run_child([sieve, "run", sieve_path, "--input", in_path, "--output-dir", out_dir])
    ours = np.load(os.path.join(out_dir, "output.npy")).reshape(ref.shape)
    eps = float(np.finfo(np.float32).eps)
    tol = eps * sum(reduction_lengths(model)) * max(1.0, float(np.abs(ref).max()))
    diff = float(np.abs(ours - ref).max())
    result = {"model": name, "input": list(shape), "macs": totals["macs"],
              "weight_bytes": totals["weight_bytes"],
              "activation_bytes": totals["activation_peak_bytes"],
              "max_abs_diff": diff, "tolerance": tol, "match": diff <= tol, "threads": {}}
    print(f"[{name}] max|ours - torch| {diff:.3g}, tolerance {tol:.3g}: "
          f"{'ok' if diff <= tol else 'MISMATCH'}", flush=True)
    if diff > tol:
        return result

    # interleaved timing: rounds of torch then ours, per thread count
    samples = {n: {"torch": [], "ours": []} for n in threads_list}
    with torch.no_grad():  # warm-up of PyTorch's allocator and BLAS threads
        for n in threads_list:
            time_torch(model, x, n, 2)
    for _ in range(args.rounds):
        for n in threads_list:
            samples[n]["torch"] += time_torch(model, x, n, args.repeat)
            out = json.loads(run_child([sieve, "run", sieve_path, "--input", in_path,
                                        "--output-dir", out_dir, "--threads", str(n),
                                        "--repeat", str(args.repeat), "--warmup", "2",
                                        "--json"]))
            samples[n]["ours"].append(out["latency_ms"]["median"])
    rss = peak_rss(args.rss_probe, [sieve, "run", sieve_path, "--input", in_path, "--output-dir", out_dir,
                    "--repeat", "3"])
    result["peak_rss_bytes"] = rss
    result["rss_bound_bytes"] = totals["weight_bytes"] + totals["activation_peak_bytes"] + (16 << 20)
    for n in threads_list:
        t_ms = statistics.median(samples[n]["torch"])
        o_ms = statistics.median(samples[n]["ours"])
        gflops = 2 * totals["macs"] / (o_ms * 1e6)
        result["threads"][str(n)] = {
            "torch_ms": t_ms, "ours_ms": o_ms, "ratio": o_ms / t_ms,
            "ours_gflops": gflops, "torch_gflops": 2 * totals["macs"] / (t_ms * 1e6),
            "ours_peak_pct": 100 * gflops / peak[n]}

    # convolutions alone, layer by layer
    if lib is not None:
        for n in threads_list:
            convs = conv_layer_times(lib, sieve_path, x.numpy(), n, max(3, args.repeat))
            macs = sum(c["macs"] for c in convs)
            ms = sum(c["ms"] for c in convs)
            cpu_ms = sum(c["cpu_ms"] for c in convs)
            if ms > 0 and cpu_ms > 0:
                g = 2 * macs / (ms * 1e6)
                result["threads"][str(n)]["conv_gflops"] = g
                result["threads"][str(n)]["conv_peak_pct"] = 100 * g / peak[n]
                # per core while scheduled: the kernels' own efficiency,
                # whatever share of the machine other jobs take. One
                # thread only: at two it came out over what the kernels
                # can do (100-147 %), for a reason not found (README)
                if n == 1:
                    result["threads"][str(n)]["conv_cpu_peak_pct"] = (
                        100 * 2 * macs / (cpu_ms * 1e6) / peak["1_cpu"])
                result["threads"][str(n)]["conv_layers"] = convs

    # packed against fp32 on our engine: bench_engine, same run
    be = os.path.join(args.build, "bench", "bench_engine")
    if os.path.exists(be):
        out = json.loads(run_child([be, sieve_path, "--repeat", str(args.packed_repeat),
                                    "--json"]))
        for r in out["results"]:
            key = str(r["threads"])
            if key in result["threads"] and r["format"] != "fp32":
                result["threads"][key][r["format"] + "_vs_fp32"] = r["ratio_vs_fp32"]
        result["bench_engine"] = out["results"]
    return result


def print_table(results, peak, threads_list):
    cols = ("model", "thr", "torch_ms", "ours_ms", "ours/torch", "GFLOP/s", "%peak",
            "conv%peak", "conv%core", "cf8/fp32", "cf4/fp32", "RSS_MiB", "bound_MiB")
    print()
    print(f"FMA peak ({peak['isa']}): " +
          ", ".join(f"{n} thread{'s' if n > 1 else ''} {peak[n]:.1f} GFLOP/s" for n in threads_list)
          + f" (wall, as loaded); one core while scheduled {peak['1_cpu']:.1f} GFLOP/s")
    print("%-13s %3s %9s %9s %10s %8s %6s %9s %9s %8s %8s %7s %9s" % cols)

    def f(v, fmt):
        return fmt % v if v is not None else "-"
    for r in results:
        for n in threads_list:
            t = r["threads"].get(str(n))
            if not t:
                print(f"{r['model']:13s} {n:3d}  MISMATCH max|diff| {r['max_abs_diff']:.3g} "
                      f"> {r['tolerance']:.3g}")
                continue
            print("%-13s %3d %9.3f %9.3f %10.3f %8.1f %6.1f %9s %9s %8s %8s %7s %9s" % (
                r["model"], n, t["torch_ms"], t["ours_ms"], t["ratio"], t["ours_gflops"],
                t["ours_peak_pct"], f(t.get("conv_peak_pct"), "%.1f"),
                f(t.get("conv_cpu_peak_pct"), "%.1f"),
                f(t.get("cf8_vs_fp32"), "%.2f"), f(t.get("cf4_vs_fp32"), "%.2f"),
                f(r["peak_rss_bytes"] / 2**20 if n == threads_list[0] else None, "%.1f"),
                f(r["rss_bound_bytes"] / 2**20 if n == threads_list[0] else None, "%.1f")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"),
                    help="CMake build directory holding sieve, libsieve.so, bench/bench_engine")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=5, help="runs per side per round")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    ap.add_argument("--packed-repeat", type=int, default=10, help="bench_engine --repeat")
    ap.add_argument("--json", default="bench_torch.json", help="where to write the results")
    args = ap.parse_args()
    threads_list = [int(t) for t in args.threads.split(",")]
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n} (known: {', '.join(MODELS)})")
    if not os.path.exists(os.path.join(args.build, "sieve")):
        ap.error(f"{args.build}/sieve not found: build first (cmake --build {args.build})")
    libpath = os.path.join(args.build, "libsieve.so")
    lib = load_libsieve(libpath) if os.path.exists(libpath) else None

    blas = blas_library()
    load_before = loadavg()
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, BLAS {blas}")
    print(f"load average before: {load_before}", flush=True)
    results = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        args.rss_probe = compile_c(tmp, "rss_probe", RSS_PROBE_C)
        peak = fma_peak(tmp, threads_list, 3)
        print(f"FMA peak: {peak}", flush=True)
        for name in names:
            try:
                r = bench_model(name, args, tmp, lib, peak, threads_list)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"[{name}] FAILED: {e}")
                failed = True
                continue
            failed |= not r["match"]
            results.append(r)
    print_table(results, peak, threads_list)
    load_after = loadavg()
    print(f"load average after: {load_after}")
    report = {"torch": torch.__version__, "torchvision": torchvision.__version__, "blas": blas,
              "fma_peak_gflops": {str(k): v for k, v in peak.items()},
              "loadavg_before": load_before, "loadavg_after": load_after,
              "repeat": args.repeat, "rounds": args.rounds, "results": results}
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
