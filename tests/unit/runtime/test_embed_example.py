#!/usr/bin/env python3
"""examples/embed end to end: compile the tiny HY model with the built hyc, configure and
build the example against that output with CMake (static model library + the runtime from
source), run it, and check that its greedy chat reply is the one `hyc run` (the .so,
dlopened) gives for the same prompt.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hyc", required=True)
    ap.add_argument("--cmake", default="cmake")
    ap.add_argument("--generator", default="Ninja")
    ap.add_argument("--c-compiler")
    args = ap.parse_args()
    prompt, steps = "Tell me about the license.", "24"
    with tempfile.TemporaryDirectory(prefix="hy-embed-") as tmp:
        model = os.path.join(tmp, "tiny.gguf")
        out = os.path.join(tmp, "model")
        build = os.path.join(tmp, "build")
        run([sys.executable, os.path.join(ROOT, "scripts/models/hy_gguf.py"), "write",
             "--config", "tiny", "-o", model])
        run([args.hyc, "compile", model, "--target", "host", "-o", out])
        configure = [args.cmake, "-S", os.path.join(ROOT, "examples/embed"), "-B", build,
                     "-G", args.generator, "-DCMAKE_BUILD_TYPE=Release", f"-DHY_MODEL_DIR={out}"]
        if args.c_compiler:
            configure.append(f"-DCMAKE_C_COMPILER={args.c_compiler}")
        run(configure, stdout=subprocess.DEVNULL)
        run([args.cmake, "--build", build], stdout=subprocess.DEVNULL)
        demo = run([os.path.join(build, "embed_demo"), "-n", steps, prompt],
                   capture_output=True, text=True, errors="replace")
        ref = run([args.hyc, "run", out, "--chat", "-p", prompt, "-n", steps],
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
    print("PASS: the statically linked example generates what hyc run generates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
