#!/usr/bin/env python3
"""Test data for the runtime tests (a ctest fixture): the tiny synthetic HY model's GGUF,
its tokenizer file (the compiler's exportTokenizer through hy-tokenizer-export) and, when
a hyc binary is given, the model compiled by it.

    setup_test_data.py --out DIR --export-tool PATH [--hyc PATH]
writes DIR/tiny.gguf, DIR/tiny.tokenizer and (with --hyc) DIR/model/ (hyc compile output).
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--export-tool", required=True)
    ap.add_argument("--hyc")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    gguf_path = os.path.join(args.out, "tiny.gguf")
    hy_gguf.write_model("tiny", gguf_path)
    subprocess.run([args.export_tool, gguf_path, os.path.join(args.out, "tiny.tokenizer")],
                   check=True)
    model = os.path.join(args.out, "model")
    shutil.rmtree(model, ignore_errors=True)
    if args.hyc:
        subprocess.run([args.hyc, "compile", gguf_path, "--target", "host", "-o", model,
                        "--context", "256"], check=True)
    print(f"test data in {args.out}" + (" (with a compiled model)" if args.hyc else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
