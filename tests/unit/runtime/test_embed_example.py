#!/usr/bin/env python3
"""examples/embed end to end: compile the tiny HY model with the built hyc, configure and
build the example against that output with CMake (static model library + the runtime from
source), run it, and check that its greedy chat reply is the one `hyc run` (the .so,
dlopened) gives for the same prompt.

With --target aarch64-neon|aarch64-sme2 (and --qemu) the model is compiled for that
target, the example and the runtime are cross-built with cmake/aarch64-linux-gnu.cmake and
run under qemu-aarch64 -cpu max (SME2: at --sme-vl bytes), and the reply must be the one
`hyc run` gives natively for the host build with float32 activations (the AArch64 targets'
precision). --static links the example statically (no loader or shared libraries needed on
the device: the Android recipe in the README) and runs it without qemu's -L sysroot.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "arm"))
import qemu_aarch64  # noqa: E402


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--generator", default="Ninja")
    ap.add_argument("--c-compiler")
    ap.add_argument("--target", default="host",
                    choices=["host", "aarch64-neon", "aarch64-sme2"])
    ap.add_argument("--qemu", help="qemu-aarch64 for the AArch64 targets")
    ap.add_argument("--sysroot", default=qemu_aarch64.DEFAULT_SYSROOT)
    ap.add_argument("--static", action="store_true",
                    help="link the example statically (AArch64 targets)")
    ap.add_argument("--sme-vl", type=int, default=None,
                    help="streaming vector length (bytes) for aarch64-sme2")
    args = ap.parse_args()
    cross = args.target != "host"
    if cross and not args.qemu:
        ap.error(f"--target {args.target} needs --qemu")
    prompt, steps = "Tell me about the license.", "24"
    with tempfile.TemporaryDirectory(prefix="hy-embed-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        out = os.path.join(tmp, "model")
        build = os.path.join(tmp, "build")
        run([sys.executable, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
             "--config", "tiny", "-o", model])
        run([args.hyc, "compile", model, "--target", args.target, "-o", out])
        configure = [args.cmake, "-S", os.path.join(ROOT, "examples/embed"), "-B", build,
                     "-G", args.generator, "-DCMAKE_BUILD_TYPE=Release", f"-DHY_MODEL_DIR={out}"]
        if cross:
            configure.append("-DCMAKE_TOOLCHAIN_FILE=" +
                             os.path.join(ROOT, "cmake", "aarch64-linux-gnu.cmake"))
            if args.static:
                configure.append("-DCMAKE_EXE_LINKER_FLAGS=-static")
        elif args.c_compiler:
            configure.append(f"-DCMAKE_C_COMPILER={args.c_compiler}")
        run(configure, stdout=subprocess.DEVNULL)
        run([args.cmake, "--build", build], stdout=subprocess.DEVNULL)
        demo_argv = [os.path.join(build, "embed_demo"), "-n", steps, prompt]
        if cross:
            reason = qemu_aarch64.check_qemu(args.qemu)
            if reason:
                print(f"FAIL: {reason}")
                return 1
            if args.static:
                with open(demo_argv[0], "rb") as f:
                    elf = f.read(1 << 16)
                # A static executable has no PT_INTERP program header (type 3).
                import struct
                phoff, = struct.unpack_from("<Q", elf, 0x20)
                phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
                types = [struct.unpack_from("<I", elf, phoff + i * phentsize)[0]
                         for i in range(phnum)]
                if 3 in types:
                    print("FAIL: --static, but embed_demo has a program interpreter")
                    return 1
                print("embed_demo is statically linked (no PT_INTERP)")
            # The static build runs without the sysroot: nothing to load.
            demo_argv = qemu_aarch64.command(
                args.qemu, "/nonexistent" if args.static else args.sysroot, demo_argv,
                args.sme_vl)
        demo = run(demo_argv, capture_output=True, text=True, errors="replace")
        ref_dir = out
        if cross:
            ref_dir = os.path.join(tmp, "host")
            run([args.hyc, "compile", model, "--target", "host", "--activations", "f32",
                 "-o", ref_dir])
        ref = run([args.hyc, "run", ref_dir, "--chat", "-p", prompt, "-n", steps],
                  capture_output=True, text=True, errors="replace")
        sys.stdout.write("embed_demo stderr: " + demo.stderr)
        sys.stdout.write("hyc run stderr:    " + ref.stderr)
        print(f"embed_demo stdout: {demo.stdout!r}")
        if not demo.stdout.strip():
            print("FAIL: the example generated no text")
            return 1
        if demo.stdout != ref.stdout:
            print(f"FAIL: hyc run stdout differs: {ref.stdout!r}")
            return 1
    print(f"PASS: the statically linked example ({args.target}) generates what hyc run "
          "generates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
