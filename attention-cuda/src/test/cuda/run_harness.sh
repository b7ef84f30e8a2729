#!/usr/bin/env bash
# Builds the flash attention harness for sm_90a (H100) and runs the checks, then the benchmark.
# Usage (from anywhere): attention-cuda/src/test/cuda/run_harness.sh [--checks-only|--bench-only]
# Env: NVCC (compiler), FLASH_BIN_DIR (where the binary goes, default /tmp), SANITIZE=1 (also run a few cases under
#      compute-sanitizer memcheck and racecheck).
# If a run aborts on a CUDA error (exit code 2), it is re-run with the tensor-core kernels switched off one
# at a time, so one GPU call tells which kernel is at fault.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../../../.." && pwd)"
NVCC="${NVCC:-$(command -v nvcc || ls -d /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc 2>/dev/null | tail -n 1)}"
[ -x "$NVCC" ] || { echo "nvcc not found (set NVCC)"; exit 3; }
OUTDIR="${FLASH_BIN_DIR:-/tmp}"
BIN="$OUTDIR/flash_harness"
mkdir -p "$OUTDIR"
echo "== building with $NVCC"
start=$(date +%s)
"$NVCC" -std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a \
    -I "$ROOT/attention-cuda/src/main/cuda/dev/flare/attention" \
    "$ROOT/attention-cuda/src/test/cuda/flash_harness.cu" -o "$BIN" || { echo "BUILD FAILED"; exit 3; }
echo "== build took $(( $(date +%s) - start )) s"
"$BIN" --selftest-ref || echo "== WARNING: reference self-test failed"

checks() {
    echo "== checks: tensor-core forward + both backwards"
    "$BIN"; local rc=$?
    if [ $rc -eq 2 ]; then
        echo "== CUDA error: re-running with --no-tc-bwd (tensor-core fwd, SIMT bwd)"
        "$BIN" --no-tc-bwd
        echo "== re-running with --simt-fwd (SIMT fwd, both bwds)"
        "$BIN" --simt-fwd
        echo "== re-running with --simt-fwd --no-tc-bwd (all SIMT)"
        "$BIN" --simt-fwd --no-tc-bwd
    fi
    if [ "${SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
        echo "== compute-sanitizer memcheck / racecheck (cases 0..5)"
        compute-sanitizer --tool memcheck "$BIN" --max-cases 6 | tail -n 12
        compute-sanitizer --tool racecheck "$BIN" --max-cases 6 | tail -n 12
    fi
    return $rc
}
bench() {
    echo "== bench"
    "$BIN" --bench; local rc=$?
    if [ $rc -eq 2 ]; then
        echo "== bench aborted: re-running with --no-tc-bwd"
        "$BIN" --bench --no-tc-bwd || { echo "== re-running with --simt-fwd --no-tc-bwd"; "$BIN" --bench --simt-fwd --no-tc-bwd; }
    fi
    return $rc
}
rc=0
case "${1:-}" in
    --checks-only) checks; rc=$? ;;
    --bench-only)  bench; rc=$? ;;
    *)             checks; rc=$?; bench || rc=$? ;;
esac
exit $rc
