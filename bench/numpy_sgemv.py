#!/usr/bin/env python3
"""NumPy side of GemvBench (examples/.../bench/GemvBench.java): GPT-2 124M's one-row products, the same method.

    python3 bench/numpy_sgemv.py          (bench/cpu-gemv.sh runs both)

y = x @ W into a preallocated y, float32: qkv (768 x 2304), fc (768 x 3072), proj (3072 x 768) with W row-major, and
lmhead (768 x 50304) as E.T for a row-major E (50304, 768), as the tied LM head. Prints
`case=NAME best=G median=G reps=R check=X`, G in GB/s of W read (4 K N bytes per call), like the Java side.
"""
import sys

import numpy as np

from numpy_sgemm import median_of, openblas_info, sorted_seconds

CASES = [("qkv", 768, 2304, False), ("fc", 768, 3072, False), ("proj", 3072, 768, False), ("lmhead", 768, 50304, True)]


def main():
    print(f"# numpy sgemv (one row), numpy {np.__version__}, {openblas_info()}, python {sys.version.split()[0]}")
    for name, k, n, transposed in CASES:
        rng = np.random.default_rng(42)
        x = (rng.random((1, k), dtype=np.float32) - 0.5).astype(np.float32)
        stored = (rng.random((n, k) if transposed else (k, n), dtype=np.float32) - 0.5).astype(np.float32)
        w = stored.T if transposed else stored
        y = np.empty((1, n), dtype=np.float32)
        times = sorted_seconds(lambda: np.matmul(x, w, out=y))
        nbytes = 4.0 * k * n
        print(f"case={name} best={nbytes / times[0] / 1e9:.1f} median={nbytes / median_of(times) / 1e9:.1f} "
              f"reps={len(times)} check={y.flat[n // 3]:.4f}")


if __name__ == "__main__":
    main()
