#!/usr/bin/env bash
# Kernel layout experiments, built on the dev machine (nvcc, sm_90a) and run on the GPU machine in one call:
#   build-support/kernel-experiments.sh build     # dev machine: binaries packed into .gpu/experiments.txz (~2 MB)
#   build-support/kernel-experiments.sh run       # GPU machine (device tool, carry .gpu): logs under $OUT
# Variants of the flash harness (attention-cuda/src/test/cuda/flash_harness.cu; knobs in docs/attention-kernels.md):
#   ref   the kernels of git ref $EXP_REF (built and run only when EXP_REF is set), defaults
#   base  the working tree's defaults
#   m1    base without the Hopper kernels (FLARE_FWD_WGMMA=0 FLARE_BWD_WGMMA=0: the mma.sync kernels sm_90 without
#         the `a` features and, with other tile limits, sm_80 run)
#   a0    base with dQ sent by fp32 atomics from registers at D=64 too (FLARE_BWD_DQ_BULK_SMALL_D=0: the default
#         before 2026-12-07 23:30)
#   n1    base with dQ sent by bulk adds at D=128 too (FLARE_BWD_DQ_BULK=1)
#   q0    base with dQ's adds left out (FLARE_BWD_EXP_SKIP_DQ_ADD=1): a bound for the dQ path, timed only (dQ is wrong)
# EXP_BUILD picks the variants `build` compiles (default "base m1 n1 q0 a0"; two at a time, about a minute each).
# Each runs --bench at S 512, 1024 and 4096 (bf16, 16k tokens, D 64/128, causal 0/1, dropout rows) and, but for q0, the
# full correctness checks (EXP_VARIANTS="base n1": only those; EXP_CHECK="n1": only n1 checked). Nsight Compute then
# counts base's forward instructions with and without dropout (S=2048, not causal) and profiles the D=64 dK/dV kernel
# of base, a0 and q0 (S=4096); unless EXP_QUICK=1, a full profile of base's forward and dK/dV kernels at S=4096
# follows, then the layer-norm launch variants (layernorm_launch_bench.cu, default and 4 blocks/SM) and the bias add
# (bias_add_bench.cu).
# `build` also compiles the attention fatbin with the knobs of each variant in EXP_JAVA_VARIANTS (default "a0") into
# .gpu/alt/<v>/, for the Java tests: ATTN_VARIANT=<v> bash build-support/gpu-check.sh tests.
# Shorter runs: EXP_CHECK_BASE=0 skips base's checks (its kernels unchanged since they last passed), EXP_NCU=0 stops after
# the benchmarks and checks.
# The runs of 2026-12-07 (other variants then: commit 1081f9b had the dK/dV step overlap o1-o3) are in docs/benchmarks.md.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
case "${1:-}" in
  build)
    NVCC=${NVCC:-$(command -v nvcc || ls -d /usr/local/cuda*/bin/nvcc 2>/dev/null | tail -n 1)}
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    flags=(-std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a)
    src=attention-cuda/src/main/cuda/dev/flare/attention
    declare -A knobs=([base]="" [m1]="-DFLARE_FWD_WGMMA=0 -DFLARE_BWD_WGMMA=0" [q0]="-DFLARE_BWD_EXP_SKIP_DQ_ADD=1"
                      [a0]="-DFLARE_BWD_DQ_BULK_SMALL_D=0" [n1]="-DFLARE_BWD_DQ_BULK=1")
    harness() { local k; read -r -a k <<< "${knobs[$1]:-}"
                "$NVCC" "${flags[@]}" "${k[@]}" -I "${inc_attn:-$src}" attention-cuda/src/test/cuda/flash_harness.cu -o "$tmp/fh_$1"; }
    read -r -a variants <<< "${EXP_BUILD:-base m1 n1 q0 a0}"
    built=("${variants[@]}")
    if [[ -n ${EXP_REF:-} ]]; then
      mkdir -p "$tmp/ref_src" && git archive "$EXP_REF" "$src" | tar -x -C "$tmp/ref_src" || exit 1
      inc_attn="$tmp/ref_src/$src" harness ref & variants+=(ref)
    fi
    for ((i = 0; i < ${#built[@]}; i += 2)); do   # two at a time (2 cores)
      harness "${built[i]}" & [[ -n ${built[i + 1]:-} ]] && harness "${built[i + 1]}" &
      wait
    done
    inc=(-I core-tensor/src/main/cuda)
    "$NVCC" "${flags[@]}" "${inc[@]}" core-tensor/src/test/cuda/layernorm_launch_bench.cu -o "$tmp/ln_bench" &
    "$NVCC" "${flags[@]}" "${inc[@]}" "-DLN_FWD_BLOCKS(P)=4" core-tensor/src/test/cuda/layernorm_launch_bench.cu -o "$tmp/ln_bench_b4" &
    "$NVCC" "${flags[@]}" "${inc[@]}" core-tensor/src/test/cuda/bias_add_bench.cu -o "$tmp/bias_bench" &
    wait
    for b in "${variants[@]/#/fh_}" ln_bench ln_bench_b4 bias_bench; do [[ -x $tmp/$b ]] || { echo "build of $b failed"; exit 1; }; done
    # The attention module's fatbin with a variant's knobs, for the Java tests on the GPU machine
    # (ATTN_VARIANT=<v> bash build-support/gpu-check.sh tests): .gpu/alt/<v>/dev/flare/attention/FlashAttentionKernels.fatbin
    for v in ${EXP_JAVA_VARIANTS-a0}; do
      rm -rf ".gpu/alt/$v"
      FLARE_CUDA_ARCHS=sm_90a FLARE_NVCC_DEFINES="${knobs[$v]}" bash build-support/nvcc-build.sh attention-cuda/src/main/cuda \
        ".gpu/alt/$v" > "$tmp/fatbin-$v.log" 2>&1 || { cat "$tmp/fatbin-$v.log"; echo "fatbin of $v failed"; exit 1; }
    done
    rm -rf "$tmp/ref_src"; mkdir -p .gpu && tar -C "$tmp" -cJf .gpu/experiments.txz . && ls -la .gpu/experiments.txz ;;
  run)
    out=${OUT:-gpu-out}; bin=/tmp/flare-experiments; mkdir -p "$bin" "$out"
    tar -xJf .gpu/experiments.txz -C "$bin" || exit 1
    if [[ ${EXP_CHECK_BASE:-1} == 1 ]]; then
      timeout 150 "$bin/fh_base" > "$out/hcheck_base.log" 2>&1; echo "check base rc=$? $(tail -1 "$out/hcheck_base.log")"
    fi
    for v in ${EXP_VARIANTS:-ref base a0 n1 q0}; do [[ -x $bin/fh_$v ]] || continue
      echo "### $v"; timeout 100 "$bin/fh_$v" --bench --bench-seqs 512,1024,4096 --bench-no-simt; done > "$out/hbench.log" 2>&1
    grep -E "###|bench bf16" "$out/hbench.log"
    for v in ${EXP_CHECK:-${EXP_VARIANTS:-n1 a0 m1}}; do [[ $v != base && $v != *q* && -x $bin/fh_$v ]] || continue
      timeout 150 "$bin/fh_$v" > "$out/hcheck_$v.log" 2>&1; echo "check $v rc=$? $(tail -1 "$out/hcheck_$v.log")"; done
    [[ ${EXP_NCU:-1} == 0 ]] && exit 0
    # The forward's instructions with and without dropout (first launch: S=2048, not causal)
    for d in 64 128; do for pdrop in 0 0.1; do
      timeout 60 ncu --kernel-name "flash_fwd_bf16_d$d" --launch-count 1 --clock-control none \
        --metrics smsp__inst_executed.sum,smsp__cycles_active.avg,sm__cycles_elapsed.avg,smsp__issue_active.avg.pct_of_peak_sustained_active  \
        "$bin/fh_base" --bench --bench-dims $d --bench-seqs 2048 --bench-dropout $pdrop --bench-no-simt > "$out/ncu-fwd-d$d-p$pdrop.txt" 2>&1
      echo "ncu fwd D=$d p=$pdrop rc=$?"; grep -E "inst_executed|cycles|issue_active" "$out/ncu-fwd-d$d-p$pdrop.txt"
    done; done
    # The D=64 dK/dV kernel (S=4096, not causal), base, a0 and q0: L2 throughput and reductions, stall reasons
    # (warps per issued instruction, those >= 0.05) and scheduler statistics; and base's SASS where the GPU machine has
    # cuobjdump (the dev machine has none)
    for v in base a0 q0; do [[ -x $bin/fh_$v ]] || continue
      timeout 90 ncu --kernel-name flash_bwd_dkdv_tc_bf16_d64 --launch-count 1 --clock-control none --section SchedulerStats \
        --metrics "smsp__inst_executed.sum,lts__t_sectors_op_red.sum,lts__throughput.avg.pct_of_peak_sustained_elapsed,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio" \
        "$bin/fh_$v" --bench --bench-dims 64 --bench-seqs 4096 --bench-no-simt > "$out/ncu-bwd64-$v.txt" 2>&1
      echo "ncu bwd D=64 $v rc=$?"; grep -E "inst_executed|sectors_op|lts__throughput|Issued Warp|Eligible Warps|No Eligible|stalled" "$out/ncu-bwd64-$v.txt" | awk '$NF+0 >= 0.05 || !/stalled/' 
      [[ $v == base ]] && command -v cuobjdump > /dev/null && cuobjdump -sass "$bin/fh_$v" 2> /dev/null | xz -T2 > "$out/sass-$v.txt.xz"
    done
    [[ ${EXP_QUICK:-0} == 1 ]] && exit 0
    for v in ln_bench ln_bench_b4; do echo "### $v"; timeout 60 "$bin/$v"; done 2>&1 | tee "$out/ln-bench.log"
    timeout 60 "$bin/bias_bench" 2>&1 | tee "$out/bias-bench.log"
    for k in flash_fwd_bf16_d64 flash_bwd_dkdv_tc_bf16_d64 flash_fwd_bf16_d128 flash_bwd_dkdv_tc_bf16_d128; do
      timeout 100 ncu --kernel-name "$k" --launch-count 1 --set full --clock-control none \
        "$bin/fh_base" --bench --bench-seqs 4096 --bench-no-simt > "$out/ncu-$k.txt" 2>&1
      echo "ncu $k rc=$? $(grep -c 'Section:' "$out/ncu-$k.txt") sections"
    done ;;
  *) echo "usage: $0 build|run"; exit 2 ;;
esac
