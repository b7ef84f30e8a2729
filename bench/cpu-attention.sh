#!/usr/bin/env bash
# CPU attention, Flare vs NumPy: runs AttentionCpuBench (FLASH_CPU and MATH through Flare's API, autograd) and
# bench/numpy_attention.py (the textbook NumPy version on OpenBLAS) one after the other, same shapes and method, and
# prints a markdown table with the ratios of the medians (numpy / flare: above 1, Flare is faster).
#   bash bench/cpu-attention.sh [B,H,S,D ...]     (default 16,4,64,32 8,12,256,64 1,12,1024,64)
# On an AVX-512 machine NumPy also runs with OPENBLAS_CORETYPE=SkylakeX (see bench/cpu-matmul.sh for why).
# Env: PYTHON (default python3; needs numpy), FLARE_JAVA_OPTS (extra JVM flags for the Flare side).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHAPES=("$@")
(( ${#SHAPES[@]} )) || SHAPES=(16,4,64,32 8,12,256,64 1,12,1024,64)
no_incubator_warning() { grep -v 'Using incubator modules' >&2 || true; }

AVX512=$(grep -o -m1 'avx512f' /proc/cpuinfo || true)
echo "# $(lscpu | sed -n 's/^Model name: *//p') (family $(lscpu | sed -n 's/^CPU family: *//p')), $(nproc) cores, ${AVX512:-no avx512f}" >&2
FLARE=$(./flare bench attention-cpu "${SHAPES[@]}" 2> >(no_incubator_warning))
echo "$FLARE" >&2
NUMPY=$("${PYTHON:-python3}" bench/numpy_attention.py "${SHAPES[@]}")
echo "$NUMPY" >&2
if [[ -n "$AVX512" ]]; then
    NUMPY512=$(OPENBLAS_CORETYPE=SkylakeX "${PYTHON:-python3}" bench/numpy_attention.py "${SHAPES[@]}" | sed 's/backend=numpy/backend=numpy-SkylakeX/')
    echo "$NUMPY512" >&2
    NUMPY="$NUMPY"$'\n'"$NUMPY512"
fi

# "shape=... backend=... best=MS median=MS reps=R" lines of both runs, one table row per shape
printf '%s\n%s\n' "$FLARE" "$NUMPY" | awk '
    /^shape=/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        s = v["shape"]; b = v["backend"]; best[s, b] = v["best"]; med[s, b] = v["median"]; seen[b] = 1
        if (!(s in known)) { known[s] = 1; order[++count] = s }
    }
    END {
        n = split("FLASH_CPU MATH numpy numpy-SkylakeX", cols, " ")
        head = "| B,H,S,D"; rule = "| ---"
        for (c = 1; c <= n; c++) if (cols[c] in seen) { head = head " | " cols[c] " best / median"; rule = rule " | ---" }
        head = head " | numpy / FLASH_CPU"; rule = rule " | ---"
        if ("numpy-SkylakeX" in seen) { head = head " | numpy-SkylakeX / FLASH_CPU"; rule = rule " | ---" }
        print head " |"; print rule " |"
        for (i = 1; i <= count; i++) {
            s = order[i]; line = "| " s
            for (c = 1; c <= n; c++) if (cols[c] in seen) line = line sprintf(" | %.2f / %.2f", best[s, cols[c]], med[s, cols[c]])
            line = line sprintf(" | %.2f", med[s, "numpy"] / med[s, "FLASH_CPU"])
            if ("numpy-SkylakeX" in seen) line = line sprintf(" | %.2f", med[s, "numpy-SkylakeX"] / med[s, "FLASH_CPU"])
            print line " |"
        }
        print ""
        print "ms per causal F32 forward + backward, best / median; ratios of the medians (above 1: Flare is faster)."
    }'
