#!/usr/bin/env python3
"""Run an AArch64 Linux program under the qemu-aarch64 that scripts/setup unpacks.

  python qemu_aarch64.py --qemu PATH [--sysroot DIR] [--sme-vl BYTES] [--expect-summary]
         -- PROGRAM [ARGS...]

Runs `PATH -cpu max -L DIR PROGRAM ARGS...` and exits with its status; --sme-vl sets the
streaming (SME) vector length in bytes (-cpu max,sme-default-vector-length=BYTES; at 64,
the Apple M4's 512 bits, also sve=off, as the M4 has no SVE: see M4_SME_VL). A missing or
non-11.x qemu is a FAILURE (exit 1 with the reason), never a skip: the AArch64 tests
exist to prove the library works there, and "could not run" proves nothing.
With --expect-summary the program's last output line must be "N passed, 0 failed"
with N > 0 (the plain-C test programs print it).

Also importable: `run(qemu, sysroot, argv, sme_vl=None, **kw)` and `check_qemu(qemu)` for
the e2e test.
"""
import argparse
import os
import re
import subprocess
import sys
import time

DEFAULT_SYSROOT = "/usr/aarch64-linux-gnu"


def check_qemu(qemu):
    """Return None if `qemu` is a usable qemu-aarch64 >= 11, else the reason."""
    if not qemu or not os.path.isfile(qemu) or not os.access(qemu, os.X_OK):
        return (f"qemu-aarch64 not found at '{qemu}' (scripts/setup unpacks it into "
                ".tools/qemu; configure with -DHYC_QEMU_AARCH64=PATH to use another)")
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run {qemu}: {e}"
    m = re.search(r"version (\d+)\.", out)
    if not m or int(m.group(1)) < 11:
        return f"{qemu} is not qemu 11.x or newer: {out.splitlines()[0] if out else '?'}"
    return None


# The streaming vector length (bytes) at which the CPU is modelled on the Apple M4:
# SME2 with a 512-bit SVL and no SVE outside streaming mode (sve=off), so code
# that uses SVE without SME's streaming mode faults as it would there. At other
# lengths the CPU keeps qemu's max features (SVE2 too, as Arm's C1 cores have).
M4_SME_VL = 64


def command(qemu, sysroot, argv, sme_vl=None):
    if sme_vl is None:
        cpu = "max"
    else:
        cpu = f"max,sme-default-vector-length={int(sme_vl)}"
        if int(sme_vl) == M4_SME_VL:
            cpu += ",sve=off"
    return [qemu, "-cpu", cpu, "-L", sysroot or DEFAULT_SYSROOT] + list(argv)


def run(qemu, sysroot, argv, sme_vl=None, **kwargs):
    """subprocess.run of argv under qemu (at streaming vector length sme_vl bytes, if
    given); raises RuntimeError if qemu is unusable."""
    reason = check_qemu(qemu)
    if reason:
        raise RuntimeError(reason)
    return subprocess.run(command(qemu, sysroot, argv, sme_vl), **kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--sysroot", default=DEFAULT_SYSROOT)
    ap.add_argument("--sme-vl", type=int, default=None,
                    help="streaming vector length in bytes (16, 32, 64, 128 or 256)")
    ap.add_argument("--expect-summary", action="store_true")
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        ap.error("no program to run")
    reason = check_qemu(args.qemu)
    if reason:
        print(f"FAIL: {reason}")
        return 1
    t0 = time.perf_counter()
    proc = subprocess.run(command(args.qemu, args.sysroot, argv, args.sme_vl),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    print(f"qemu-aarch64: exit {proc.returncode} after {time.perf_counter() - t0:.1f} s")
    if proc.returncode != 0:
        return 1
    if args.expect_summary:
        lines = proc.stdout.strip().splitlines()
        m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1] if lines else "")
        if not m or int(m.group(1)) == 0 or int(m.group(2)) != 0:
            print("FAIL: the program's last line is not 'N passed, 0 failed' with N > 0")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
