#!/usr/bin/env python3
"""PyTorch timings of the workloads of tensa's benches, as JSON on stdout.

Run by `deno task bench:report` when a python3 with torch exists (Debian:
`apt-get install python3-torch`, PyTorch 1.13), or by hand:

    python3 bench/torch_peer.py [--threads 2] [--only "gemm 512,train small"]

Workload names are the `deno bench` groups of bench/kernels_bench.ts and
bench/train_bench.ts. Each is timed like tensa's bench of that group: a fixed
number of warm-up calls, then a fixed number of timed calls, each call timed
on its own (avg and p75 in nanoseconds, as `deno bench --json` reports).
PyTorch runs NCHW (its native layout; the convolutions have the FLOPs of the
NHWC shapes of the tensa benches).
"""

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# Convolution benches: x [64, 26, 26, 32] * filter [3, 3, 32, 64] in NHWC,
# valid, stride 1 (here x [64, 32, 26, 26], weight [64, 32, 3, 3]).
CONV_FLOPS = 2 * 64 * 24 * 24 * 64 * 3 * 3 * 32


def blas_library():
    """The BLAS shared library this process loaded (Debian's python3-torch
    uses whichever libblas.so.3 is installed: the reference BLAS runs GEMM
    some 10x slower than OpenBLAS, e.g. `apt-get install libopenblas0-openmp`)."""
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower()}
    except OSError:
        return "unknown"
    return ", ".join(sorted(p for p in paths if p.startswith("/"))) or "unknown"


def timed(fn, warmup, n):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    return {
        "n": n,
        "warmup": warmup,
        "avg": sum(times) / n,
        "p75": times[min(n - 1, (3 * n) // 4)],
        "min": times[0],
        "max": times[-1],
    }


def gemm(s):
    a = torch.rand(s, s) * 2 - 1
    b = torch.rand(s, s) * 2 - 1
    return lambda: torch.mm(a, b)


def conv_workloads():
    x = torch.rand(64, 32, 26, 26) * 2 - 1
    w = torch.rand(64, 32, 3, 3) * 2 - 1
    dy = torch.rand(64, 64, 24, 24) * 2 - 1

    def backward(mask):
        # What autograd calls for a convolution's gradients.
        return lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask
        )

    return {
        "conv2d forward": lambda: F.conv2d(x, w),
        "conv2d backprop input": backward([True, False, False]),
        "conv2d backprop filter": backward([False, True, False]),
    }


def small_cnn():
    """conv 5x5x8, relu, max pool 2, conv 5x5x16, relu, max pool 2, flatten
    (256), dropout 0.25, dense 10 (examples/mnist_lib.ts smallModel)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(256, 10),
    )


def keras_cnn():
    """The Keras MNIST CNN (examples/mnist_lib.ts kerasModel): conv 3x3x32,
    relu, conv 3x3x64, relu, max pool 2, dropout 0.25, flatten (9216), dense
    128, relu, dropout 0.5, dense 10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(9216, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def train_step(model):
    """A full step at batch 64: forward, softmax cross-entropy, backward, Adam."""
    model.train()
    x = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def inference(model):
    model.eval()
    x = torch.rand(256, 1, 28, 28)

    def infer():
        with torch.no_grad():
            model(x)

    return infer


def workloads():
    """(name, work key, work per call, counts (warm-up, timed), make fn)."""
    out = []
    for s in (256, 512, 1024):
        counts = (3, 20) if s >= 1024 else (10, 100 if s >= 512 else 200)
        out.append((f"gemm {s}", "flops", 2 * s**3, counts, lambda s=s: gemm(s)))
    for name in ("conv2d forward", "conv2d backprop input", "conv2d backprop filter"):
        out.append(
            (name, "flops", CONV_FLOPS, (2, 10), lambda name=name: conv_workloads()[name])
        )
    out.append(("train small", "images", 64, (40, 150), lambda: train_step(small_cnn())))
    out.append(("train keras", "images", 64, (5, 20), lambda: train_step(keras_cnn())))
    out.append(("infer small", "images", 256, (10, 50), lambda: inference(small_cnn())))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated workload names")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    known = [w[0] for w in workloads()]
    unknown = [w for w in only if w not in known]
    if unknown:
        print(f"torch: no PyTorch version of {unknown} (known: {known})", file=sys.stderr)
    results = []
    for name, key, work, (warmup, n), make in workloads():
        if only and name not in only:
            continue
        print(f"torch: {name} ({warmup} warm-up, {n} timed)", file=sys.stderr)
        stats = timed(make(), warmup, n)
        results.append({"workload": name, key: work, **stats})
    json.dump(
        {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": blas_library(),
            "results": results,
        },
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
