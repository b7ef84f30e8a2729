#!/usr/bin/env python3
"""PyTorch side of core-tensor's CudaOpsBench: the same ops, shapes and accounting, for a side-by-side table.

    python3 bench/torch_ops_bench.py [repeats]

BF16 GEMMs as F.linear(x, W) (x @ W^T, W in nn.Linear layout) in TFLOP/s; layer norm and elementwise ops in GB/s
next to a device-to-device copy of the same bytes; CUDA-event timing after warmup, median of the repeats.
"""
import sys

import torch
import torch.nn.functional as F


def timed(fn, repeats):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    print(torch.cuda.get_device_name(0), "torch", torch.__version__)
    rows = []
    bf = torch.bfloat16

    def gbs(nbytes, ms):
        return f"{nbytes / (ms * 1e-3) / 1e9:.0f} GB/s"

    tokens = 16384
    for m, k, n in [(tokens, 768, 2304), (tokens, 3072, 768), (tokens, 768, 50304)]:
        x = torch.randn(m, k, device=dev, dtype=bf)
        w = torch.randn(n, k, device=dev, dtype=bf)
        ms = timed(lambda: F.linear(x, w), repeats)
        rows.append(("matmul bf16 (x @ W^T)", f"{m}x{k}x{n}", ms, f"{2 * m * k * n / (ms * 1e-3) / 1e12:.0f} TFLOP/s"))
        del x, w
    m, k, n = tokens, 768, 3072
    x = torch.randn(m, k, device=dev, dtype=bf)
    w = torch.randn(n, k, device=dev, dtype=bf)
    bias = torch.randn(n, device=dev, dtype=bf)
    ms = timed(lambda: F.gelu(F.linear(x, w, bias), approximate="tanh"), repeats)
    rows.append(("linear + gelu(tanh) bf16 (2 kernels)", f"{m}x{k}x{n}", ms, f"{2 * m * k * n / (ms * 1e-3) / 1e12:.0f} TFLOP/s"))
    del x, w, bias

    for r, c in [(tokens, 768), (tokens, 3072)]:
        nel = r * c
        x = torch.randn(r, c, device=dev, dtype=bf)
        y = torch.randn(r, c, device=dev, dtype=bf)
        out = torch.empty_like(x)
        w = torch.randn(c, device=dev, dtype=bf)
        b = torch.randn(c, device=dev, dtype=bf)
        shape = f"{r}x{c}"
        ms = timed(lambda: out.copy_(x), repeats)
        rows.append(("device-to-device copy bf16", shape, ms, gbs(4 * nel, ms)))
        ms = timed(lambda: F.layer_norm(x, (c,), w, b, 1e-5), repeats)
        rows.append(("layerNorm bf16", shape, ms, gbs(4 * nel, ms)))
        ms = timed(lambda: torch.add(x, y, out=out), repeats)
        rows.append(("add bf16", shape, ms, gbs(6 * nel, ms)))
        ms = timed(lambda: F.gelu(x, approximate="tanh"), repeats)
        rows.append(("gelu bf16", shape, ms, gbs(4 * nel, ms)))
        xf = x.float()
        yf = y.float()
        of = torch.empty_like(xf)
        ms = timed(lambda: torch.add(xf, yf, out=of), repeats)
        rows.append(("add f32", shape, ms, gbs(12 * nel, ms)))
        ms = timed(lambda: out.copy_(xf), repeats)
        rows.append(("cast f32 -> bf16", shape, ms, gbs(6 * nel, ms)))
        del x, y, out, xf, yf, of

    n, vocab = 4096, 50304
    logits = torch.randn(n, vocab, device=dev, dtype=bf, requires_grad=True)
    targets = torch.full((n,), 7, device=dev, dtype=torch.long)
    shape = f"{n}x{vocab}"
    ms = timed(lambda: F.cross_entropy(logits.float(), targets), repeats)
    rows.append(("cross-entropy fwd (bf16 -> f32)", shape, ms, gbs(2 * n * vocab, ms)))
    ms = timed(lambda: torch.softmax(logits.detach(), dim=1), repeats)
    rows.append(("softmax bf16", shape, ms, gbs(4 * n * vocab, ms)))

    print(f"\n{'op':40s} {'shape':20s} {'ms':>10s} {'rate':>14s}")
    for op, shp, ms, rate in rows:
        print(f"{op:40s} {shp:20s} {ms:10.3f} {rate:>14s}")


if __name__ == "__main__":
    main()
