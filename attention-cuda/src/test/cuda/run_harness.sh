#!/usr/bin/env bash
# Builds the flash attention harness for sm_90a (H100) and runs the checks, then the benchmark.
# Usage (from anywhere): attention-cuda/src/test/cuda/run_harness.sh [--checks-only|--bench-only]
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../../../.." && pwd)"
NVCC="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
OUTDIR="${OUT:-/tmp}"
BIN="$OUTDIR/flash_harness"
mkdir -p "$OUTDIR"
echo "== building with $NVCC"
start=$(date +%s)
"$NVCC" -std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a \
    -I "$ROOT/attention-cuda/src/main/cuda/dev/flare/attention" \
    "$ROOT/attention-cuda/src/test/cuda/flash_harness.cu" -o "$BIN" || { echo "BUILD FAILED"; exit 3; }
echo "== build took $(( $(date +%s) - start )) s"
rc=0
case "${1:-}" in
    --checks-only) "$BIN"; rc=$? ;;
    --bench-only)  "$BIN" --bench; rc=$? ;;
    *)             "$BIN"; rc=$?; "$BIN" --bench || rc=$? ;;
esac
exit $rc
