#!/usr/bin/env bash
# CPU one-row products (GPT-2 124M's decoding step), Flare vs NumPy: runs GemvBench (flare bench gemv) and
# bench/numpy_sgemv.py one after the other, same shapes and method, and prints a markdown table (GB/s of W read).
#   bash bench/cpu-gemv.sh
# Env: PYTHON (default python3; needs numpy), FLARE_JAVA_OPTS (extra JVM flags, e.g. -Dflare.cpu.gemv.off=true for the
# packed GEMM instead of the one-row path).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FLARE=$(./flare bench gemv 2> >(grep -v 'Using incubator modules' >&2 || true))
echo "$FLARE" >&2
NUMPY=$(cd bench && "${PYTHON:-python3}" numpy_sgemv.py)
echo "$NUMPY" >&2
echo "| case | flare best | flare median | numpy best | numpy median | flare / numpy (medians) |"
echo "|---|---:|---:|---:|---:|---:|"
join <(echo "$FLARE" | sed -n 's/^case=\([a-z]*\) best=\([0-9.]*\) median=\([0-9.]*\).*/\1 \2 \3/p' | sort) \
     <(echo "$NUMPY" | sed -n 's/^case=\([a-z]*\) best=\([0-9.]*\) median=\([0-9.]*\).*/\1 \2 \3/p' | sort) |
    awk '{ printf "| %s | %s | %s | %s | %s | %.2f |\n", $1, $2, $3, $4, $5, $3 / $5 }'
