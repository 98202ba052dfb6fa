#!/usr/bin/env python3
"""The macOS targets (aarch64-neon-macos, aarch64-sme2-macos) without a Mac: compile the tiny
HY model for each, check what hyc wrote (a Darwin-format static archive of arm64 Mach-O
objects, no shared library, the manifest's triple), then link examples/embed and the
runtime's C sources against it into an arm64 Mach-O executable with zig's clang (PyPI's
ziglang carries the macOS libc headers and libSystem stubs; its linker, like Apple's,
refuses undefined symbols), and check the executable's code: the SME2 build holds the
SME2 kernels (luti2, smopa, smstart/smstop), the model's glue uses no SVE (the M4 has none
outside streaming mode), the neon build holds the i8mm GEMM (smmla).

Nothing here runs the program (that needs a Mac); the same sources run under qemu in the
aarch64-neon / aarch64-sme2 tests.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

MH_MAGIC_64 = 0xFEEDFACF
CPU_TYPE_ARM64 = 0x0100000C
MH_OBJECT, MH_EXECUTE = 1, 2


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def macho_header(data):
    """(cputype, filetype) of a 64-bit little-endian Mach-O image, or None."""
    if len(data) < 16:
        return None
    magic, cputype, _, filetype = struct.unpack_from("<IiiI", data, 0)
    return (cputype & 0xFFFFFFFF, filetype) if magic == MH_MAGIC_64 else None


def archive_members(path):
    """[(name, bytes)] of a BSD/Darwin ar archive (names inline as #1/N)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"!<arch>\n":
        raise ValueError(f"{path} is not an ar archive")
    at, members = 8, []
    while at + 60 <= len(data):
        header = data[at:at + 60]
        name = header[:16].decode().strip()
        size = int(header[48:58].decode().strip())
        body = data[at + 60:at + 60 + size]
        if name.startswith("#1/"):
            n = int(name[3:])
            name, body = body[:n].rstrip(b"\0").decode(), body[n:]
        members.append((name, body))
        at += 60 + size + (size & 1)
    return members


def disassemble(objdump, path):
    return run([objdump, "-d", "--mattr=+sme2,+sve2,+i8mm,+dotprod", path],
               capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--zig", required=True, help="zig (PyPI ziglang) that links for macOS")
    ap.add_argument("--objdump", required=True)
    args = ap.parse_args()
    failures = []

    def check(ok, what):
        print(("PASS " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="hy-macos-") as tmp:
        env.setdefault("ZIG_GLOBAL_CACHE_DIR", os.path.join(tmp, "zig-cache"))
        env.setdefault("ZIG_LOCAL_CACHE_DIR", os.path.join(tmp, "zig-cache"))
        model = os.path.join(tmp, "tiny.gguf")
        run([sys.executable, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
             "--config", "tiny", "-o", model], stdout=subprocess.DEVNULL)
        for target, embed in (("aarch64-neon-macos", False), ("aarch64-sme2-macos", False),
                              ("aarch64-sme2-macos", True)):
            label = target + (" --embed-weights" if embed else "")
            out = os.path.join(tmp, target + ("-embed" if embed else ""))
            run([args.hyc, "compile", model, "--target", target, "-o", out] +
                (["--embed-weights"] if embed else []))
            files = sorted(os.listdir(out))
            check("libhy_tiny.a" in files and not any(f.endswith(".so") for f in files),
                  f"{label}: a static library and no shared library ({files})")
            check(("tiny.weights" in files) != embed,
                  f"{label}: the weights {'inside the library' if embed else 'in tiny.weights'}")
            with open(os.path.join(out, "manifest.json")) as f:
                manifest = json.load(f)
            check(manifest["target"]["name"] == target and
                  manifest["target"]["triple"].startswith("arm64-apple-macosx"),
                  f"{label}: manifest target {manifest['target']}")

            members = archive_members(os.path.join(out, "libhy_tiny.a"))
            names = [n for n, _ in members]
            check(bool(names) and names[0].startswith("__.SYMDEF"),
                  f"{label}: Darwin-format archive (first member {names[:1]})")
            objects = [(n, b) for n, b in members if not n.startswith("__.SYMDEF")]
            bad = [n for n, b in objects if macho_header(b) != (CPU_TYPE_ARM64, MH_OBJECT)]
            check(not bad and "tiny.o" in names,
                  f"{label}: {len(objects)} members, all arm64 Mach-O objects (not: {bad})")

            # The model's glue: no SVE instruction (z or p registers).
            glue = os.path.join(tmp, "glue.o")
            with open(glue, "wb") as f:
                f.write(dict(objects)["tiny.o"])
            sve = [l for l in disassemble(args.objdump, glue).splitlines()
                   if re.search(r"\b[zp]\d+(\.[bhsdq])?\b", l.split(";")[0].split("//")[0])]
            check(not sve, f"{label}: the glue uses no SVE ({sve[:2]})")

            exe = os.path.join(tmp, target + "-demo")
            runtime = os.path.join(ROOT, "runtime")
            sources = sorted(os.path.join(runtime, "src", f)
                             for f in os.listdir(os.path.join(runtime, "src"))
                             if f.endswith(".c"))
            weights = "NULL" if embed else '"tiny.weights"'
            link = [args.zig, "cc", "-target", "aarch64-macos.15.0", "-O2", "-std=c11",
                    "-Wall", "-Werror", f"-I{runtime}/include", f"-I{runtime}/src", f"-I{out}",
                    "-DHY_MODEL_NAME=tiny", f"-DHY_MODEL_WEIGHTS={weights}",
                    "-DHY_MODEL_HAS_PREFILL=1", "-DHY_MODEL_HAS_SET_PARALLEL=1",
                    os.path.join(ROOT, "examples/embed/main.c")] + sources + [
                    os.path.join(out, "libhy_tiny.a"), "-o", exe]
            if embed:
                # main.c's -w default is the weights file; the embedded build passes
                # NULL and the blob symbol instead: check the symbol links.
                link[link.index(os.path.join(ROOT, "examples/embed/main.c"))] = \
                    os.path.join(HERE, "macos_embedded_weights.c")
            proc = subprocess.run(link, capture_output=True, text=True, env=env)
            check(proc.returncode == 0,
                  f"{label}: zig links the example + runtime + libhy_tiny.a "
                  f"(exit {proc.returncode}{': ' + proc.stderr.strip()[-400:] if proc.returncode else ''})")
            if proc.returncode != 0:
                continue
            with open(exe, "rb") as f:
                head = f.read(32)
            check(macho_header(head) == (CPU_TYPE_ARM64, MH_EXECUTE),
                  f"{label}: the program is an arm64 Mach-O executable")
            text = disassemble(args.objdump, exe)
            # Mach-O disassembly uses Apple's syntax: "sdot.4s v0, v1, v2".
            mnemonics = {m.split(".")[0] for m in re.findall(
                r"^\s*[0-9a-f]+:\s+(?:[0-9a-f]{8}\s+)?\t?([a-z0-9.]+)", text, re.M)}
            want = {"smmla", "sdot"} if "neon" in target else \
                {"sdot", "luti2", "smopa", "smstart", "smstop"}
            check(want <= mnemonics, f"{label}: the program holds {sorted(want)} "
                                     f"(missing {sorted(want - mnemonics)})")

        # Tuning runs candidates on the target: not from here for Mach-O.
        tune = subprocess.run([args.hyc, "tune", "--model", model, "--target",
                               "aarch64-neon-macos", "-o", os.path.join(tmp, "t.json")],
                              capture_output=True, text=True)
        check(tune.returncode != 0 and "aarch64-neon" in tune.stderr and
              not os.path.exists(os.path.join(tmp, "t.json")),
              f"hyc tune --target aarch64-neon-macos is refused: {tune.stderr.strip()}")

    if failures:
        print(f"FAIL: {len(failures)} check(s) failed")
        return 1
    print("PASS: the macOS libraries link into arm64 Mach-O programs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
