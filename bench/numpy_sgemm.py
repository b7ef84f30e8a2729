#!/usr/bin/env python3
"""NumPy side of MatmulBench (examples/.../bench/MatmulBench.java): the same method, for a side-by-side table.

    python3 bench/numpy_sgemm.py [size ...]     (default 512 1024 2048; bench/cpu-matmul.sh runs both)

Row-major float32 matrices, C = A @ B into a preallocated C. A size is N (square) or MxKxN, optionally with :ta
or :tb (A or B the transposed view of a row-major K x M or N x K matrix), as MatmulBench. Per size: warm up for
about 1 s (at least 3 calls), then time at least 10 calls and at least 1 s; prints
`size=S best=G median=G reps=R check=X` in GFLOP/s (2 M K N / seconds / 1e9), like the Java side.
"""
import ctypes
import glob
import os
import sys
import time

import numpy as np

WARM_SECONDS, MIN_REPS, MIN_SECONDS = 1.0, 10, 1.0


def openblas_info():
    """OpenBLAS version, the core it chose at run time and its thread count, read from numpy's bundled library."""
    conf = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info = f"{conf.get('name')} {conf.get('version')}"
    libs = glob.glob(os.path.join(os.path.dirname(np.__path__[0]), "numpy.libs", "*openblas*"))
    if libs:
        lib = ctypes.CDLL(libs[0])
        for prefix, suffix in (("scipy_openblas", "64_"), ("openblas", "64_"), ("openblas", "")):
            try:
                core = getattr(lib, f"{prefix}_get_corename{suffix}")
                threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")
            except AttributeError:
                continue
            core.restype = ctypes.c_char_p
            info += f", core {core().decode()}, threads {threads()}"
            break
    return info


def sorted_seconds(call):
    """Warm up for about WARM_SECONDS (at least 3 calls), then time at least MIN_REPS calls and MIN_SECONDS; sorted."""
    warm_end, warm = time.perf_counter() + WARM_SECONDS, 0
    while warm < 3 or time.perf_counter() < warm_end:
        call()
        warm += 1
    times, start = [], time.perf_counter()
    while len(times) < MIN_REPS or time.perf_counter() - start < MIN_SECONDS:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return sorted(times)


def median_of(s):
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def parse(size):
    """'N' or 'MxKxN', optionally ':ta' or ':tb': (m, k, n, transposed A, transposed B)."""
    dims, _, flag = size.partition(":")
    d = [int(v) for v in dims.split("x")]
    if len(d) not in (1, 3) or flag not in ("", "ta", "tb") or min(d) <= 0:
        raise SystemExit(f"size: expected N or MxKxN, optionally :ta or :tb, got '{size}'")
    m, k, n = d * 3 if len(d) == 1 else d
    return m, k, n, flag == "ta", flag == "tb"


def main():
    sizes = sys.argv[1:] or ["512", "1024", "2048"]
    print(f"# numpy sgemm, numpy {np.__version__}, {openblas_info()}, python {sys.version.split()[0]}")
    for size in sizes:
        m, k, n, trans_a, trans_b = parse(size)
        rng = np.random.default_rng(42)
        a = (rng.random((k, m) if trans_a else (m, k), dtype=np.float32) - 0.5).astype(np.float32)
        b = (rng.random((n, k) if trans_b else (k, n), dtype=np.float32) - 0.5).astype(np.float32)
        a, b = (a.T if trans_a else a), (b.T if trans_b else b)
        c = np.empty((m, n), dtype=np.float32)
        times = sorted_seconds(lambda: np.matmul(a, b, out=c))
        reps, flop = len(times), 2.0 * m * k * n
        median = median_of(times)
        print(f"size={size} best={flop / times[0] / 1e9:.1f} median={flop / median / 1e9:.1f} reps={reps} "
              f"check={c.flat[m * n // 2 + n // 3]:.4f}")


if __name__ == "__main__":
    main()
