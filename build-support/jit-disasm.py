#!/usr/bin/env python3
"""Disassembles a method that HotSpot's C2 compiled, without the hsdis plugin.

    FLARE_JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:-BackgroundCompilation \\
        -XX:CompileCommand=print,dev.flare.tensor.cpu.GemmKernelF32::microKernel4x2W" \\
        ./flare bench matmul 512 > jit.log 2>&1
    python3 build-support/jit-disasm.py jit.log 'microKernel4x2W (' [--nth N]

Without hsdis, -XX:CompileCommand=print writes each compiled method's machine code as hex words between [MachCode]
and [/MachCode]. This script takes the C2 ("Compiled method (c2)") block whose title contains the given text (the
last one by default: the steady state after recompilations; --nth picks another, 0 = first), puts its bytes back at
their addresses and runs objdump (binutils) on them, Intel syntax. Look for vfmadd*, spills (moves to and from
[rsp+...]) and range checks in loops. x86-64 only.
"""
import argparse
import re
import subprocess
import sys
import tempfile


def blocks(lines, title_part):
    cur = None
    for ln in lines:
        if ln.startswith('Compiled method (c2)') and title_part in ln:
            cur = {'title': ln.strip(), 'code': bytearray(), 'start': None}
        elif cur is not None and ln.startswith('[/MachCode]'):
            yield cur
            cur = None
        elif cur is not None:
            m = re.match(r'\s*0x([0-9a-f]+): ([0-9a-f |]+)$', ln)
            if not m:
                continue
            addr, hexes = int(m.group(1), 16), m.group(2).replace('|', '').replace(' ', '')
            if cur['start'] is None:
                cur['start'] = addr
            off = addr - cur['start']
            if off > len(cur['code']):
                cur['code'] += b'\x90' * (off - len(cur['code']))
            cur['code'][off:off + len(hexes) // 2] = bytes.fromhex(hexes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('log')
    ap.add_argument('method', help="text of the 'Compiled method (c2)' line, e.g. 'microKernel4x2W ('")
    ap.add_argument('--nth', type=int, default=-1, help='which matching C2 block (default -1: the last)')
    args = ap.parse_args()
    with open(args.log, errors='replace') as f:
        found = list(blocks(f.read().split('\n'), args.method))
    if not found:
        sys.exit(f"jit-disasm: no C2 block whose title contains '{args.method}' in {args.log}")
    if not -len(found) <= args.nth < len(found):
        sys.exit(f"jit-disasm: --nth {args.nth}: expected -{len(found)}..{len(found) - 1} ({len(found)} matching C2 blocks)")
    b = found[args.nth]
    print(f'# {b["title"]} ({len(found)} matching C2 blocks)')
    with tempfile.NamedTemporaryFile(suffix='.bin') as tmp:
        tmp.write(b['code'])
        tmp.flush()
        out = subprocess.run(['objdump', '-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel',
                              f'--adjust-vma={b["start"]:#x}', tmp.name], capture_output=True, text=True, check=True)
    print(out.stdout)


if __name__ == '__main__':
    main()
