#!/usr/bin/env bash
# Static size of the attention kernels' machine code, on the dev machine (no GPU, no disassembler needed):
# compiles FlashAttentionKernels.cu for sm_90a into a cubin and prints, per kernel, its SASS instructions (the
# .text section's bytes / 16: every sm_90 instruction is 128 bits), registers and spills (ptxas -v).
#   build-support/kernel-sizes.sh [regex of kernel names] [-- extra nvcc flags, e.g. -DFLARE_FWD_EXP2_FTZ=0]
#   build-support/kernel-sizes.sh --philox     # SASS instructions of one philox4x32_10 call (philox_calls.cu)
#   build-support/kernel-sizes.sh --same-as REF [-- flags]   # which kernels' machine code differs from git REF's
#     (default flags at REF, or REF_FLAGS="-D..." there; e.g. after adding an off-by-default knob: the defaults' code
#     must be byte-identical, or after making a measured variant the default: the new defaults against REF built with it)
# Default regex: the bf16 forward and dK/dV kernels. A proxy, not a timing: the count includes every path of a kernel
# (with and without masking, dropout), and the main loop is most of it. Nsight Compute on 2026-12-07 found the
# Hopper dK/dV kernel issue-bound, so fewer instructions per step are what its speed needs (docs/attention-kernels.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
regex='^flash_(fwd|bwd_dkdv_tc)_bf16_d(64|128)$'
NVCC=${NVCC:-$(command -v nvcc || ls -d /usr/local/cuda*/bin/nvcc 2>/dev/null | tail -n 1)}
src=$root/attention-cuda/src/main/cuda/dev/flare/attention
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cubin=(-std=c++17 -O3 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a -cubin)   # every mode's nvcc flags
kernel_instructions() {   # "name instructions" per kernel of cubin $1, sorted (.text bytes / 16)
  readelf -S -W "$1" 2>/dev/null | sed -nE 's/.*\] \.text\.([A-Za-z0-9_]+) +PROGBITS +[0-9a-f]+ +[0-9a-f]+ +([0-9a-f]+) .*/\1 \2/p' |
    sort | while read -r name size; do echo "$name $(( 16#$size / 16 ))"; done
}
if [[ ${1:-} == --philox ]]; then
  counts=()
  for n in 1 4 8; do
    "$NVCC" "${cubin[@]}" -DNCALL=$n -I "$src" \
      "$root/attention-cuda/src/test/cuda/philox_calls.cu" -o "$tmp/p$n.cubin"
    counts+=("$(kernel_instructions "$tmp/p$n.cubin" | awk '$1 == "philox_calls" {print $2}')")
  done
  echo "philox_calls: ${counts[0]} / ${counts[1]} / ${counts[2]} instructions with 1 / 4 / 8 calls;" \
    "per call after the first: $(( (counts[2] - counts[0]) / 7 ))"
  exit 0
fi
if [[ ${1:-} == --same-as ]]; then
  ref=${2:?"--same-as: expected a git ref"}; shift 2
  extra=(); if [[ $# -gt 0 && $1 == -- ]]; then shift; extra=("$@"); fi
  mkdir -p "$tmp/ref" && git -C "$root" archive "$ref" attention-cuda/src/main/cuda | tar -x -C "$tmp/ref"
  read -r -a ref_flags <<< "${REF_FLAGS:-}"
  ref_src=$tmp/ref/${src#$root/}
  "$NVCC" "${cubin[@]}" ${ref_flags[@]+"${ref_flags[@]}"} -I "$ref_src" "$ref_src/FlashAttentionKernels.cu" -o "$tmp/ref.cubin" &
  "$NVCC" "${cubin[@]}" "${extra[@]}" -I "$src" "$src/FlashAttentionKernels.cu" -o "$tmp/new.cubin" & wait
  same=0; differ=()
  while read -r name _; do
    if cmp -s <(readelf -x ".text.$name" "$tmp/ref.cubin") <(readelf -x ".text.$name" "$tmp/new.cubin"); then
      same=$((same + 1)); else differ+=("$name"); fi
  done < <(kernel_instructions "$tmp/new.cubin")
  echo "sm_90a machine code against $ref: $same kernels identical; different: ${differ[*]:-none}"
  exit 0
fi
extra=()
if [[ $# -gt 0 && $1 != -- ]]; then regex=$1; shift; fi
if [[ $# -gt 0 && $1 == -- ]]; then shift; extra=("$@"); fi
if ! "$NVCC" "${cubin[@]}" -Xptxas -v "${extra[@]}" \
  -I "$src" "$src/FlashAttentionKernels.cu" -o "$tmp/k.cubin" 2> "$tmp/ptxas.txt"; then
  grep -v '^ptxas info' "$tmp/ptxas.txt" >&2   # the compiler's errors, without the per-kernel statistics
  echo "kernel-sizes: the build failed (flags: ${extra[*]:-none})" >&2
  exit 1
fi
printf '%-32s %12s %10s %s\n' kernel instructions registers 'spill bytes (stores / loads)'
kernel_instructions "$tmp/k.cubin" | while read -r name count; do
    [[ $name =~ $regex ]] || continue
    info=$(grep -A3 "Compiling entry function '$name'" "$tmp/ptxas.txt")
    regs=$(sed -nE 's/.*Used ([0-9]+) registers.*/\1/p' <<< "$info" | head -n 1)
    spills=$(sed -nE 's/.*frame, ([0-9]+) bytes spill stores, ([0-9]+) bytes spill loads.*/\1 \/ \2/p' <<< "$info" | head -n 1)
    printf '%-32s %12d %10s %s\n' "$name" "$count" "$regs" "$spills"
  done
