#!/usr/bin/env bash
# The GPU session in one command (run on the GPU machine, with .gpu/ from build-support/gpu-bundle.sh):
# the cuda-tagged tests, then our attention benchmark beside PyTorch's on the same GPU, then a short GPU training
# run. Logs go to $OUT (or ./gpu-out), packed into gpu-logs.tgz at the end; the summary is printed last.
#   bash build-support/gpu-check.sh [tests|bench|ops|harness|sanitize|ncu|hf|gpt2|profile|memory|attnmem|train ...]   (default: tests bench train)
# ATTN_VARIANT=<v>: the Java steps run the attention fatbin built with kernel variant v's knobs (.gpu/alt/<v>/, from
# build-support/kernel-experiments.sh build); the bundle's own fatbin is put back at the end.
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
present_at_start=$(ls "$out" | sort)   # packed at the end: only what this run adds (another script's logs stay)
steps=("$@")
if [[ -n ${ATTN_VARIANT:-} ]]; then
  fatbin=dev/flare/attention/FlashAttentionKernels.fatbin
  bundled=$(ls .gpu/cp/*/"$fatbin" 2> /dev/null | head -n 1)
  [[ -f .gpu/alt/$ATTN_VARIANT/$fatbin && -n $bundled ]] ||
    { echo "ATTN_VARIANT=$ATTN_VARIANT: expected .gpu/alt/$ATTN_VARIANT/$fatbin and the bundle's $fatbin"; exit 2; }
  cp -f "$bundled" /tmp/flare-bundled.fatbin && cp -f ".gpu/alt/$ATTN_VARIANT/$fatbin" "$bundled"
  trap 'cp -f /tmp/flare-bundled.fatbin "$bundled"' EXIT
  echo "attention kernels: variant $ATTN_VARIANT" | tee "$out/attn-variant.txt"
fi
[[ ${#steps[@]} -eq 0 ]] && steps=(tests bench train)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
summary=()
for s in "${steps[@]}"; do
  t0=$(date +%s)
  case $s in
    tests) timeout 420 bash .gpu/run test --include-tag cuda > "$out/tests.log" 2>&1; rc=$?
           summary+=("tests rc=$rc $(grep -E 'tests (successful|failed|skipped)' "$out/tests.log" | tr -s ' ' | tr '\n' ' ')") ;;
    bench) timeout 300 bash .gpu/run main dev.flare.examples.bench.AttentionBench "${SEQS:-1024,4096,16384}" 20 > "$out/attention-bench.log" 2>&1
           rc1=$?
           timeout 300 python3 .gpu/bench/sdpa_bench.py "${SEQS:-1024,4096,16384}" > "$out/sdpa-bench.log" 2>&1
           summary+=("bench rc=$rc1/$?") ;;
    ops)   timeout 200 bash .gpu/run main dev.flare.tensor.cuda.CudaOpsBench 20 > "$out/ops-bench.log" 2>&1; rc1=$?
           timeout 200 python3 bench/torch_ops_bench.py 20 > "$out/torch-ops-bench.log" 2>&1; rc2=$?
           timeout 200 bash .gpu/run main dev.flare.tensor.cuda.CublasTuning > "$out/cublas-tuning.log" 2>&1
           summary+=("ops rc=$rc1/$rc2/$?") ;;
    gpt2)  # GPT-2 124M, 16 x 1024 tokens per step, bf16: ours, then PyTorch's nanoGPT-style anchor
           timeout 300 bash .gpu/run main dev.flare.examples.cli.FlareMain train --device cuda --preset gpt2 --tokenizer gpt2 \
             --block-size 1024 --batch-size 16 --precision bf16 --steps 30 --lr 6e-4 --sample-tokens 20 --out /tmp/flare-gpt2 \
             > "$out/gpt2-train.log" 2>&1; rc1=$?
           timeout 240 python3 .gpu/bench/gpt2_train_bench.py > "$out/gpt2-torch.log" 2>&1
           summary+=("gpt2 rc=$rc1/$?") ;;
    profile) # GPT-2 124M as in gpt2, 12 steps with every kernel timed (one evaluation batch, at the end): GPU time by kernel
           JAVA_OPTS="-Dflare.cuda.profile=true" timeout 300 bash .gpu/run main dev.flare.examples.cli.FlareMain train --device cuda \
             --preset gpt2 --tokenizer gpt2 --block-size 1024 --batch-size 16 --precision bf16 --steps 12 --sample-tokens 0 \
             --set evalInterval=1000 --set evalIters=1 --out /tmp/flare-profile > "$out/profile.log" 2>&1
           summary+=("profile rc=$?") ;;
    memory) # GPT-2 124M as in gpt2, 3 steps with autograd's memory trace: what the forward leaves allocated, by op, and
           # the backward's start, peak and end (device allocator bytes)
           JAVA_OPTS="-Dflare.debug.memory=true" timeout 200 bash .gpu/run main dev.flare.examples.cli.FlareMain train --device cuda \
             --preset gpt2 --tokenizer gpt2 --block-size 1024 --batch-size 16 --precision bf16 --steps 3 --sample-tokens 0 \
             --set evalInterval=1000 --set evalIters=1 --out /tmp/flare-memory > "$out/memory.log" 2>&1
           summary+=("memory rc=$?") ;;
    attnmem) # flash attention's memory beyond inputs and results at long sequences (bf16, B=1, H=16, D=128, causal)
           timeout 120 bash .gpu/run main dev.flare.attention.AttentionMemoryBench cuda "${MEM_SEQS:-16384,65536}" > "$out/attention-memory.log" 2>&1
           summary+=("attnmem rc=$?") ;;
    sanitize) # compute-sanitizer over the JVM running the core kernels' GPU tests (memcheck, then racecheck)
           for tool in memcheck racecheck; do
             timeout 300 compute-sanitizer --tool $tool --target-processes all --print-limit 20 bash .gpu/run test \
               --include-tag cuda --include-classname '.*(CudaFastPathTest|CudaNNTest|CudaReduceTest|AdamWCudaTest)' \
               > "$out/sanitize-$tool.log" 2>&1
             summary+=("sanitize $tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)' "$out/sanitize-$tool.log" | tr -s ' ' | tr '\n' ' ')")
           done ;;
    ncu)   # Nsight Compute on the kernels matching NCU_KERNEL (default: the BF16 layer-norm forward on 768-wide rows) while
           # CudaOpsBench runs them: the first 3 launches, the full section set, as text in $out/ncu.txt
           timeout 300 ncu --kernel-name "regex:${NCU_KERNEL:-layernorm_fwd_rows_bf16_g32_p3}" --launch-count 3 --set full --target-processes all \
             --clock-control none bash .gpu/run main dev.flare.tensor.cuda.CudaOpsBench 1 > "$out/ncu.txt" 2>&1
           summary+=("ncu rc=$? $(grep -cE '^\s+Section:' "$out/ncu.txt") sections") ;;
    hf)    OUT="$out/hf" timeout 300 bash bench/hf-interchange.sh > "$out/hf.log" 2>&1
           summary+=("hf rc=$?") ;;
    harness) # the kernel harness (built here or on the dev machine into .gpu/flash_harness): checks + compute-sanitizer
           h=.gpu/flash_harness
           { timeout 200 "$h" --selftest-ref; timeout 300 "$h"; echo "harness rc=$?";
             compute-sanitizer --tool memcheck "$h" --max-cases 6 | tail -n 4
             compute-sanitizer --tool racecheck "$h" --max-cases 6 | tail -n 4; } > "$out/harness.log" 2>&1
           summary+=("harness: $(grep -E 'passed|harness rc|ERROR SUMMARY|RACECHECK SUMMARY' "$out/harness.log" | tr '\n' ' ')") ;;
    train) timeout 300 bash .gpu/run main dev.flare.examples.cli.FlareMain train --device cuda --steps "${TRAIN_STEPS:-200}" \
             --precision "${TRAIN_PRECISION:-fp32}" --out /tmp/flare-train > "$out/train.log" 2>&1
           summary+=("train rc=$?") ;;
    *) echo "unknown step $s"; exit 2 ;;
  esac
  summary[-1]+=" ($(( $(date +%s) - t0 )) s)"
done
echo "=== failures ==="; grep -E "MethodSource|=> |Exception" "$out/tests.log" 2>/dev/null | head -40
echo "=== attention (flare) ==="; cat "$out/attention-bench.log" 2>/dev/null | grep -vE "WARN|^\s*$" | tail -16
echo "=== attention (pytorch) ==="; tail -30 "$out/sdpa-bench.log" 2>/dev/null
echo "=== ops (flare | torch) ==="; grep -vE "WARN|^\s*$" "$out/ops-bench.log" 2>/dev/null | tail -26; tail -24 "$out/torch-ops-bench.log" 2>/dev/null
echo "=== gpt2 (flare | torch) ==="; grep -E "step (1|10|20|30)/|memory|Exception|rror" "$out/gpt2-train.log" 2>/dev/null | grep -v "^\s*at " | tail -8; tail -6 "$out/gpt2-torch.log" 2>/dev/null
echo "=== profile ==="; sed -n '/GPU time by kernel/,/GPU time in kernels/p' "$out/profile.log" 2>/dev/null | head -40
echo "=== memory ==="; grep -E "memory trace|memory:" "$out/memory.log" 2>/dev/null | tail -4
echo "=== attention memory ==="; grep -vE "WARN|^\s*$" "$out/attention-memory.log" 2>/dev/null | tail -5
echo "=== ncu ==="; grep -E "layernorm|Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Registers Per|Theoretical Occupancy|Block Limit" "$out/ncu.txt" 2>/dev/null | head -40
echo "=== hf ==="; tail -6 "$out/hf.log" 2>/dev/null
echo "=== train ==="; grep -E "step|trained|Exception|Error" "$out/train.log" 2>/dev/null | grep -v "^\s*at " | tail -12
printf '%s\n' "${summary[@]}"
# The device tool returns at most 8 files from $OUT: pack this run's logs into one archive (tar xzf to read):
# gpu-logs.tgz, or gpu-logs-2.tgz, -3, ... when an earlier run in the same call left one.
archive=gpu-logs.tgz; n=2; while [[ -e $out/$archive ]]; do archive=gpu-logs-$n.tgz; n=$((n + 1)); done
new_files=$(comm -13 <(echo "$present_at_start") <(ls "$out" | sort) | grep -v '^gpu-logs')
[[ -n $new_files ]] && (cd "$out" && echo "$new_files" | tar -czf "$archive" --remove-files -T -) 2>/dev/null || true
