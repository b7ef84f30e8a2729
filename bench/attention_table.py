#!/usr/bin/env python3
"""Joins AttentionBench's table (ours) and sdpa_bench.py's (PyTorch, same run) into one markdown table with ratios.

    python3 bench/attention_table.py attention-bench.log sdpa-bench.log
"""
import re
import sys


def rows(path):
    out = {}
    for line in open(path):
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(True|False)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if m:
            d, s, causal, backend, fwd, bwd = m.groups()
            out[(int(d), int(s), causal == "True", backend)] = (float(fwd), float(bwd))
    return out


ours = rows(sys.argv[1])
torch = rows(sys.argv[2])
print("| D | S | causal | dropout | ours fwd / bwd | FA2 fwd / bwd | cuDNN fwd / bwd | ours/FA2 fwd, bwd | ours/cuDNN fwd, bwd |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for (d, s, causal, backend), (f, b) in sorted(ours.items()):
    drop = backend.split("+dropout")[1] if "+dropout" in backend else "0"
    fa = torch.get((d, s, causal, "flash" if drop == "0" else "flash+dropout" + drop))
    cu = torch.get((d, s, causal, "cudnn")) if drop == "0" else None
    def pair(x):
        return f"{x[0]:.0f} / {x[1]:.0f}" if x else "-"
    def ratio(x):
        return f"{f / x[0]:.2f}, {b / x[1]:.2f}" if x else "-"
    print(f"| {d} | {s} | {'yes' if causal else 'no'} | {drop} | {f:.0f} / {b:.0f} | {pair(fa)} | {pair(cu)} | {ratio(fa)} | {ratio(cu)} |")
