#!/usr/bin/env python3
"""NumPy side of AttentionCpuBench (examples/.../bench/AttentionCpuBench.java): the same shapes and method.

    python3 bench/numpy_attention.py [B,H,S,D ...]   (default 16,4,64,32 8,12,256,64 1,12,1024,64;
                                                      bench/cpu-attention.sh runs both)

Causal attention forward + backward in float32, the textbook way: the (B, H, S, S) scores are materialized,
the products are batched np.matmul calls (OpenBLAS sgemm per head), softmax and its gradient are NumPy
elementwise passes. The same work as Flare's call: O = softmax(Q K^T / sqrt(D) + causal mask) V, then dQ, dK,
dV for a given dO. Per shape: warm up for about 1 s (at least 3 calls), then time at least 10 calls and at
least 1 s; prints `shape=B,H,S,D backend=numpy best=MS median=MS reps=R` like the Java side.
"""
import sys

import numpy as np

from numpy_sgemm import median_of, openblas_info, sorted_seconds


def parse(shape):
    try:
        dims = [int(x) for x in shape.split(",")]
    except ValueError:
        dims = []
    if len(dims) != 4 or min(dims) <= 0:
        raise SystemExit(f"shape: expected B,H,S,D (4 positive integers), got '{shape}'")
    return dims


def attention_forward_backward(q, k, v, d_out, hidden_bias, scale):
    """Returns (o, dq, dk, dv) of causal softmax attention; hidden_bias is 0 on and below the diagonal, -inf above."""
    s = np.matmul(q, k.swapaxes(-1, -2))
    s *= scale
    s += hidden_bias
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)           # s is now P
    o = np.matmul(s, v)
    dv = np.matmul(s.swapaxes(-1, -2), d_out)
    dp = np.matmul(d_out, v.swapaxes(-1, -2))
    dp -= (d_out * o).sum(axis=-1, keepdims=True)  # dP - delta, delta = rowsum(dO * O)
    dp *= s
    dp *= scale                                  # dS, with the scale of the scores folded in
    dq = np.matmul(dp, k)
    dk = np.matmul(dp.swapaxes(-1, -2), q)
    return o, dq, dk, dv


def check(rng):
    """The gradients against finite differences of sum(O * dO) on a tiny case, so a wrong formula cannot be timed."""
    b, h, s, d = 1, 2, 5, 4
    q, k, v, d_out = (rng.standard_normal((b, h, s, d)) for _ in range(4))
    bias = np.triu(np.full((s, s), -np.inf), 1)
    _, dq, dk, dv = attention_forward_backward(q, k, v, d_out, bias, 0.5)
    for x, grad in ((q, dq), (k, dk), (v, dv)):
        for idx in [(0, 1, 2, 3), (0, 0, 4, 0), (0, 1, 0, 1)]:
            old = x[idx]
            x[idx] = old + 1e-6
            up = (attention_forward_backward(q, k, v, d_out, bias, 0.5)[0] * d_out).sum()
            x[idx] = old - 1e-6
            down = (attention_forward_backward(q, k, v, d_out, bias, 0.5)[0] * d_out).sum()
            x[idx] = old
            fd = (up - down) / 2e-6
            if abs(fd - grad[idx]) > 1e-6 * max(1.0, abs(fd)):
                raise SystemExit(f"numpy_attention.py: gradient check failed at {idx}: {grad[idx]} vs {fd}")


def main():
    shapes = sys.argv[1:] or ["16,4,64,32", "8,12,256,64", "1,12,1024,64"]
    rng = np.random.default_rng(42)
    check(rng)
    print(f"# numpy attention, causal F32 forward + backward, numpy {np.__version__}, {openblas_info()}, "
          f"python {sys.version.split()[0]}")
    for shape in shapes:
        b, h, s, d = parse(shape)
        q, k, v, d_out = (rng.standard_normal((b, h, s, d), dtype=np.float32) for _ in range(4))
        bias = np.triu(np.full((s, s), -np.inf, dtype=np.float32), 1)
        scale = np.float32(1 / np.sqrt(d))
        times = sorted_seconds(lambda: attention_forward_backward(q, k, v, d_out, bias, scale))
        print(f"shape={shape} backend=numpy best={times[0] * 1e3:.3f} median={median_of(times) * 1e3:.3f} "
              f"reps={len(times)}")


if __name__ == "__main__":
    main()
