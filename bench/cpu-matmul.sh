#!/usr/bin/env bash
# CPU sgemm, Flare vs NumPy: runs MatmulBench (Flare's CpuGemm) and bench/numpy_sgemm.py (NumPy's BLAS) one
# after the other, same sizes and method, and prints a markdown table with the ratio flare/numpy.
#   bash bench/cpu-matmul.sh [size ...]       (default 512 1024 2048; a size is N, or MxKxN with optional :ta/:tb
#                                             for a transposed A/B view, e.g. 1024x128x384 128x1024x384:ta)
# On an AVX-512 machine NumPy also runs with OPENBLAS_CORETYPE=SkylakeX: OpenBLAS picks its kernels by CPU
# model and falls back to AVX2 (Haswell) kernels on CPUs it does not know (e.g. AMD Zen 5, family 26).
# Env: PYTHON (default python3; needs numpy), FLARE_JAVA_OPTS (extra JVM flags, e.g. -Dflare.cpu.threads=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZES=("$@")
(( ${#SIZES[@]} )) || SIZES=(512 1024 2048)
no_incubator_warning() { grep -v 'Using incubator modules' >&2 || true; }

AVX512=$(grep -o -m1 'avx512f' /proc/cpuinfo || true)
echo "# $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p')), $(nproc) cores, ${AVX512:-no avx512f}" >&2
# ./flare finds a JDK 25+, rebuilds when sources changed and runs MatmulBench (flare bench matmul)
FLARE=$(./flare bench matmul "${SIZES[@]}" 2> >(no_incubator_warning))
echo "$FLARE" >&2
NUMPY=$("${PYTHON:-python3}" bench/numpy_sgemm.py "${SIZES[@]}")
echo "$NUMPY" >&2
NUMPY512=""
if [[ -n "$AVX512" ]]; then
    NUMPY512=$(OPENBLAS_CORETYPE=SkylakeX "${PYTHON:-python3}" bench/numpy_sgemm.py "${SIZES[@]}")
    echo "# (OPENBLAS_CORETYPE=SkylakeX)" >&2
    echo "$NUMPY512" >&2
fi

# The "size=N best=G median=G ..." lines of each run, joined by size: run 1 is Flare, the others NumPy.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "$FLARE" > "$TMP/1.txt"
echo "$NUMPY" > "$TMP/2.txt"
[[ -z "$NUMPY512" ]] || echo "$NUMPY512" > "$TMP/3.txt"
awk -v labels="numpy,numpy SkylakeX" '
    FNR == 1 { run++ }
    /^size=/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = v["size"]; best[run, n] = v["best"]; med[run, n] = v["median"]; runs[run] = 1
        if (run == 1) order[++count] = n
    }
    END {
        split(labels, label, ",")
        head = "| size (N or M x K x N) | flare best | flare median"; rule = "|---:|---:|---:"
        for (r = 2; (r in runs); r++) {
            head = head " | " label[r - 1] " best | " label[r - 1] " median | flare / " label[r - 1]
            rule = rule "|---:|---:|---:"
        }
        print head " |"; print rule "|"
        for (i = 1; i <= count; i++) {
            n = order[i]; line = sprintf("| %s | %.1f | %.1f", n, best[1, n], med[1, n])
            for (r = 2; (r in runs); r++) {
                line = line sprintf(" | %.1f | %.1f | %.2f", best[r, n], med[r, n], med[1, n] / med[r, n])
            }
            print line " |"
        }
        print ""
        print "GFLOP/s (2 M K N / seconds / 1e9), F32, row-major matrices (:ta/:tb a transposed view); ratios of the medians."
    }' "$TMP"/*.txt
