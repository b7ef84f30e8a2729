#!/usr/bin/env bash
# GPT-2 checkpoint interchange with Hugging Face transformers, both ways. Runs on the GPU machine (PyTorch and
# transformers are there, not on the dev machines), from the repository root, with .gpu/ from
# build-support/gpu-bundle.sh:
#   bash bench/hf-interchange.sh        logs under $OUT (else ./hf-out), checkpoints in a temporary folder
# 1. python: a random GPT2LMHeadModel -> hf/ (save_pretrained) with its logits on fixed ids
# 2. Flare:  loads hf/, compares its logits with transformers'; exports its own GPT -> flare/ with its logits
# 3. python: GPT2LMHeadModel.from_pretrained(flare/), compares its logits with Flare's
# 4. controls: both checks again on copies with one square weight transposed; each must report a mismatch
# Exit status 0 only when 1-3 pass and both controls fail as they should.
set -uo pipefail
out=${OUT:-hf-out}
work=$(mktemp -d)
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py() { python3 bench/hf_interchange.py "$@"; }
flare() { bash .gpu/run main dev.flare.examples.interop.HfInterchangeCheck "$@"; }

py export "$work/hf" > "$out/1-export.log" 2>&1
rc1=$?
rc2=skipped rc3=skipped c2=skipped c3=skipped
if [[ $rc1 == 0 ]]; then
  flare "$work/hf" "$work/flare" > "$out/2-flare.log" 2>&1
  rc2=$?
fi
if [[ -f $work/flare/reference.safetensors ]]; then
  cp "$work/flare/config.json" "$out/flare-config.json"
  py check "$work/flare" > "$out/3-check.log" 2>&1
  rc3=$?
  {
    if py corrupt "$work/hf" "$work/hf-bad"; then flare "$work/hf-bad" "$work/flare-unused"; c2=$?; else c2=corrupt-failed; fi
    if py corrupt "$work/flare" "$work/flare-bad"; then py check "$work/flare-bad"; c3=$?; else c3=corrupt-failed; fi
  } > "$out/4-controls.log" 2>&1
fi
for step in 1-export 2-flare 3-check 4-controls; do
  echo "=== $step ==="
  grep -vE "WARN|DEBUG|Loading weights|Writing model" "$out/$step.log" 2>/dev/null | tail -25
done
echo "transformers export rc=$rc1, hf -> flare rc=$rc2, flare -> hf rc=$rc3 (0 = pass);" \
     "controls: hf -> flare rc=$c2, flare -> hf rc=$c3 (1 = mismatch caught)"
[[ $rc1 == 0 && $rc2 == 0 && $rc3 == 0 && $c2 == 1 && $c3 == 1 ]]
