#!/usr/bin/env python3
"""The transformers half of Flare's GPT-2 checkpoint interchange check (bench/hf-interchange.sh runs both halves).

  python3 bench/hf_interchange.py export DIR   # random GPT2LMHeadModel -> DIR via save_pretrained, + its logits
  python3 bench/hf_interchange.py check DIR    # GPT2LMHeadModel.from_pretrained(DIR) of a Flare export: its logits
                                               # vs the ones Flare stored
  python3 bench/hf_interchange.py corrupt DIR OUT  # DIR with layer 0's c_proj.weight transposed (square, so every
                                               # shape still fits): a control that each check must fail

Both directions keep the ids and logits in DIR/reference.safetensors: input_ids (B, T) int64, logits (B, T, V)
float32, computed by whoever wrote DIR. Everything runs on the CPU in float32 (no TF32 question). Exit status 0 when
the load is clean and the logits agree within --tol (default 1e-4), 1 when they do not, 2 when anything fails
(so a control that expects 1 cannot pass on a crash).
"""
import argparse
import json
import os
import shutil
import sys
import traceback

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel

SHAPE = dict(n_layer=2, n_head=4, n_embd=128, vocab_size=1000, n_positions=64)
REFERENCE = "reference.safetensors"


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float().contiguous()


def describe_weights(d):
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        keys, meta = sorted(f.keys()), f.metadata()
    head = "stored" if "lm_head.weight" in keys else "not stored (tied)"
    print(f"  model.safetensors: {len(keys)} tensors, metadata {meta}, lm_head.weight {head}")
    print(f"  names: {keys[:4]} ... {keys[-2:]}")


def export(d):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(**SHAPE)).float().eval()
    # GPT-2's init leaves biases at 0 and LayerNorms at 1; perturb them so that any swapped or dropped tensor
    # shows in the logits, not only the matrices.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(d, safe_serialization=True)
    ids = torch.randint(0, SHAPE["vocab_size"], (2, SHAPE["n_positions"]), generator=torch.Generator().manual_seed(1))
    save_file({"input_ids": ids, "logits": logits_of(model, ids)}, os.path.join(d, REFERENCE))
    print(f"export: {d} ({', '.join(sorted(os.listdir(d)))})")
    describe_weights(d)
    with open(os.path.join(d, "config.json")) as f:
        print(f"  config.json: {json.dumps(json.load(f), sort_keys=True)}")
    return 0


def check(d, tol):
    print(f"check: {d} ({', '.join(sorted(os.listdir(d)))})")
    describe_weights(d)
    model, info = GPT2LMHeadModel.from_pretrained(d, output_loading_info=True)
    model = model.float().eval()
    problems = {k: sorted(map(str, v)) for k, v in info.items() if v}
    tied = model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    c = model.config
    print(f"  loaded: n_layer={c.n_layer} n_head={c.n_head} n_embd={c.n_embd} vocab_size={c.vocab_size} "
          f"n_positions={c.n_positions} activation={c.activation_function} eps={c.layer_norm_epsilon} "
          f"tie_word_embeddings={c.tie_word_embeddings} lm_head tied={tied}")
    print(f"  loading info: {problems or 'clean'}")
    ref = load_file(os.path.join(d, REFERENCE))
    got = logits_of(model, ref["input_ids"])
    if got.shape != ref["logits"].shape:
        print(f"  logits shape {tuple(got.shape)} vs Flare's {tuple(ref['logits'].shape)}: MISMATCH")
        return 1
    diff = (got - ref["logits"]).abs().max().item()
    ok = not problems and tied and diff <= tol
    print(f"flare -> hf: logits {tuple(got.shape)}, max |transformers - flare| = {diff:.3e} (tolerance {tol:.0e}): "
          f"{'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def corrupt(d, out):
    name = "transformer.h.0.attn.c_proj.weight"
    tensors = load_file(os.path.join(d, "model.safetensors"))
    tensors[name] = tensors[name].t().contiguous()
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", REFERENCE):
        shutil.copy(os.path.join(d, f), out)
    print(f"corrupt: {out} = {d} with {name} transposed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["export", "check", "corrupt"])
    ap.add_argument("dir")
    ap.add_argument("out", nargs="?", help="corrupt: where to write the corrupted copy")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}")
    if a.mode == "export":
        os.makedirs(a.dir, exist_ok=True)
        return export(a.dir)
    if a.mode == "corrupt":
        if not a.out:
            ap.error("corrupt needs DIR and OUT")
        return corrupt(a.dir, a.out)
    return check(a.dir, a.tol)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(2)
