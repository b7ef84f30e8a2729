#!/usr/bin/env python3
"""PyTorch side of core-tensor's CudaOpsBench: the same ops, shapes and accounting, for a side-by-side table.

    python3 bench/torch_ops_bench.py [repeats]

BF16 GEMMs as F.linear(x, W) (x @ W^T, W in nn.Linear layout) in TFLOP/s; layer norm and elementwise ops in GB/s
next to a device-to-device copy of the same bytes; CUDA-event timing after warmup, median of the repeats.
Two timings, as in CudaOpsBench: one call between two events ("ms"), and QUEUED calls back to back between two
events, per call ("queued"); memory-bound rows also show the copy bandwidth of their shape and the percentage.
"""
import sys
import time

import torch
import torch.nn.functional as F


QUEUED = 20


def timed(fn, repeats):
    """(median ms of one call, median ms per call of QUEUED calls back to back)."""
    # The warmup of CudaOpsBench (2000 calls or 0.3 s, whichever comes first): a long GEMM run heats the GPU and
    # its clocks drop under the power limit, so both sides must be timed in the same (steady) state.
    until = time.perf_counter() + 0.3
    for i in range(2000):
        if i >= 10 and time.perf_counter() >= until:
            break
        fn()
        if i % 50 == 49:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(repeats):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    queued = []
    for _ in range(max(3, repeats // 4)):
        start.record()
        for _ in range(QUEUED):
            fn()
        end.record()
        end.synchronize()
        queued.append(start.elapsed_time(end) / QUEUED)
    times.sort()
    queued.sort()
    return times[len(times) // 2], queued[len(queued) // 2]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    print(torch.cuda.get_device_name(0), "torch", torch.__version__)
    rows = []
    bf = torch.bfloat16

    def add(op, shape, t, work, flops=False, copy=None):
        rows.append((op, shape, t, work, flops, copy))

    def rate(work, ms, flops):
        return work / (ms * 1e-3) / (1e12 if flops else 1e9)

    tokens = 16384
    for m, k, n in [(tokens, 768, 2304), (tokens, 3072, 768), (tokens, 768, 50304), (tokens, 768, 50257)]:
        x = torch.randn(m, k, device=dev, dtype=bf)
        w = torch.randn(n, k, device=dev, dtype=bf)
        add("matmul bf16 (x @ W^T)", f"{m}x{k}x{n}", timed(lambda: F.linear(x, w), repeats), 2 * m * k * n, True)
        del x, w
    m, k, n = tokens, 768, 3072
    x = torch.randn(m, k, device=dev, dtype=bf)
    w = torch.randn(n, k, device=dev, dtype=bf)
    bias = torch.randn(n, device=dev, dtype=bf)
    add("linear + gelu(tanh) bf16 (2 kernels)", f"{m}x{k}x{n}",
        timed(lambda: F.gelu(F.linear(x, w, bias), approximate="tanh"), repeats), 2 * m * k * n, True)
    del x, w, bias

    for r, c in [(tokens, 768), (tokens, 3072)]:
        nel = r * c
        x = torch.randn(r, c, device=dev, dtype=bf)
        y = torch.randn(r, c, device=dev, dtype=bf)
        out = torch.empty_like(x)
        w = torch.randn(c, device=dev, dtype=bf)
        b = torch.randn(c, device=dev, dtype=bf)
        shape = f"{r}x{c}"
        t = timed(lambda: out.copy_(x), repeats)
        add("device-to-device copy bf16", shape, t, 4 * nel)
        copy = rate(4 * nel, t[1], False)
        add("layerNorm bf16", shape, timed(lambda: F.layer_norm(x, (c,), w, b, 1e-5), repeats), 4 * nel, copy=copy)
        add("add bf16", shape, timed(lambda: torch.add(x, y, out=out), repeats), 6 * nel, copy=copy)
        add("add bias (row vector) bf16", shape, timed(lambda: torch.add(x, b, out=out), repeats), 4 * nel, copy=copy)
        add("sum over rows (bias grad) bf16", shape, timed(lambda: x.sum(0), repeats), 2 * nel, copy=copy)
        add("gelu bf16", shape, timed(lambda: F.gelu(x, approximate="tanh"), repeats), 4 * nel, copy=copy)
        xf = x.float()
        yf = y.float()
        of = torch.empty_like(xf)
        add("add f32", shape, timed(lambda: torch.add(xf, yf, out=of), repeats), 12 * nel, copy=copy)
        add("cast f32 -> bf16", shape, timed(lambda: out.copy_(xf), repeats), 6 * nel, copy=copy)
        del x, y, out, xf, yf, of

    n, vocab = 4096, 50304
    logits = torch.randn(n, vocab, device=dev, dtype=bf, requires_grad=True)
    targets = torch.full((n,), 7, device=dev, dtype=torch.long)
    shape = f"{n}x{vocab}"
    dl = torch.empty_like(logits)
    t = timed(lambda: dl.copy_(logits.detach()), repeats)
    add("device-to-device copy bf16", shape, t, 4 * n * vocab)
    copy = rate(4 * n * vocab, t[1], False)
    add("cross-entropy fwd (bf16 -> f32)", shape, timed(lambda: F.cross_entropy(logits.float(), targets), repeats),
        2 * n * vocab, copy=copy)
    add("softmax bf16", shape, timed(lambda: torch.softmax(logits.detach(), dim=1), repeats), 4 * n * vocab, copy=copy)

    print(f"\n{'op':40s} {'shape':20s} {'ms':>9s} {'rate':>9s} {'queued ms':>9s} {'rate':>9s} {'unit':8s} "
          f"{'copy GB/s':>9s} {'% copy':>7s}")
    for op, shp, (ms, qms), work, flops, copy in rows:
        unit = "TFLOP/s" if flops else "GB/s"
        vs = "" if copy is None else f"{copy:9.0f} {100 * rate(work, qms, flops) / copy:6.0f}%"
        print(f"{op:40s} {shp:20s} {ms:9.3f} {rate(work, ms, flops):9.0f} {qms:9.3f} {rate(work, qms, flops):9.0f} "
              f"{unit:8s} {vs}")


if __name__ == "__main__":
    main()
