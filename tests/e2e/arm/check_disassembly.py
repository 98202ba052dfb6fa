#!/usr/bin/env python3
"""Check that archive members contain the expected instructions (llvm-objdump -d).

  python check_disassembly.py --objdump llvm-objdump-22 ARCHIVE MEMBER=INSN[,INSN...] ...

For each MEMBER=INSNS the disassembly of that archive member must contain every listed
mnemonic at least once. Prints the counts and "N passed, N failed"; exit 1 on failure.
Example: libhyk_arm64.a gemv_q2_0c_neon.o=sdot (the neon kernels use int8 dot products).
"""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objdump", default="llvm-objdump-22")
    ap.add_argument("archive")
    ap.add_argument("expect", nargs="+", help="MEMBER=INSN[,INSN...]")
    args = ap.parse_args()
    proc = subprocess.run([args.objdump, "-d", "--no-show-raw-insn", args.archive],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"FAIL: {args.objdump} -d {args.archive}: {proc.stderr.strip()}")
        print("0 passed, 1 failed")
        return 1
    # Split the listing per member: "ARCHIVE(member.o):\tfile format ...".
    members = {}
    current = None
    for line in proc.stdout.splitlines():
        m = re.match(r"^\S*\(([^()]+)\):\s+file format (\S+)", line)
        if m:
            current = m.group(1)
            members[current] = {"format": m.group(2), "insns": {}}
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+([a-z][a-z0-9.]*)", line)
        if m and current:
            insns = members[current]["insns"]
            insns[m.group(1)] = insns.get(m.group(1), 0) + 1
    passed = failed = 0
    for spec in args.expect:
        member, _, wanted = spec.partition("=")
        info = members.get(member)
        for insn in wanted.split(","):
            count = info["insns"].get(insn, 0) if info else 0
            ok = count > 0
            where = f"{member} ({info['format']})" if info else f"{member} (not in the archive)"
            print(f"[{'PASS' if ok else 'FAIL'}] {where}: {count} x {insn}")
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
