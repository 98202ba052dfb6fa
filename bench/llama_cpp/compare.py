#!/usr/bin/env python3
"""hyc against llama.cpp on the same weights, in one run.

  1. llama.cpp's llama-bench, built from PyPI's llama-cpp-python SOURCE package (the
     llama.cpp it vendors), CPU only, into the venv: .venv/opt/llama.cpp/<version>/
     (never into the repository). Skipped when that version is already built there.
  2. The full-size synthetic HY-1.8B-2Bit (scripts/models/hy_gguf.py, Q2_0C linear layers,
     Q8_0 embedding), written once into the work directory.
  3. `hyc convert --to q2_k` (lossless Q2_0C -> Q2_K) for llama.cpp, and `hyc compile
     --target host --context 2048` for hyc, from that one file.
  4. The vendored llama.cpp must know the model's architecture (general.architecture, read
     with `hyc inspect`) and its tokenizer pre-split name; if not, the run stops and says
     exactly what is missing.
  5. llama-bench (pp512, tg128, pp256 and pp1024 for the time to first token; 1 and 2
     threads, 5 repetitions; one process per thread count so each gets its own peak RSS)
     and `hyc bench` (the same tests, plus read bandwidth and the decode roofline). With
     --depth D, pp and tg run on a context already holding D tokens on both sides
     (llama-bench -d D, hyc bench --depth D) and the TTFT prompts still start empty (a
     second llama-bench call without -d).
  6. WORKDIR/compare.json (everything, with the machine), WORKDIR/compare.md (the
     side-by-side table and the command behind every figure, for bench/RESULTS.md) and
     WORKDIR/compare.png (bench/plot_bench.py).

Usage:
  compare.py --hyc build/bin/hyc [--workdir build/bench] [--threads 1,2] [--runs 5]
             [--pp 512] [--tg 128] [--depth 0] [--ttft 256,1024|none] [--context 2048]
             [--jobs 1] [--model FILE.gguf] [--build-only]
  compare.py --report WORKDIR/compare.json     (the markdown of an earlier run again)
`make bench` runs it with the Makefile's build directory.
"""
import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(ROOT, ".venv")
PY = os.path.join(VENV, "bin", "python")
PIP = os.path.join(VENV, "bin", "pip")

# The llama-cpp-python release whose vendored llama.cpp we build (its llama.cpp is dated
# 2026-10-01 and has hunyuan-dense). Change both lines together.
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
OPT = os.path.join(VENV, "opt", "llama.cpp", LLAMA_CPP_PYTHON_VERSION)

# CPU-only, only what llama-bench needs; GGML_NATIVE tunes ggml for this CPU (as a user
# building llama.cpp here would).
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF",
    "-DGGML_CUDA=OFF", "-DGGML_VULKAN=OFF", "-DGGML_METAL=OFF", "-DGGML_OPENCL=OFF",
]


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"[compare] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd, **kw):
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    return subprocess.run([str(c) for c in cmd], **kw)


def nice(cmd):
    return ["nice", "-n", "10"] + list(cmd)


# ---------------------------------------------------------------------------------------
# llama.cpp
# ---------------------------------------------------------------------------------------

def llama_source():
    """Downloads (once) and unpacks (once) the sdist; returns the vendored llama.cpp dir."""
    src_root = os.path.join(OPT, "src")
    tree = os.path.join(src_root, f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}")
    vendored = os.path.join(tree, "vendor", "llama.cpp")
    if os.path.isfile(os.path.join(vendored, "CMakeLists.txt")):
        return vendored
    os.makedirs(src_root, exist_ok=True)
    sdist = os.path.join(src_root, f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz")
    if not os.path.isfile(sdist):
        # The source package only, never a wheel (pip builds the package's build backend,
        # scikit-build-core, from source too, in an isolated environment, for the metadata).
        r = run([PIP, "download", "--no-deps", "--no-binary", ":all:",
                 f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", src_root])
        if r.returncode != 0 or not os.path.isfile(sdist):
            die(f"pip download of llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} failed")
    log(f"unpacking {sdist}")
    with tarfile.open(sdist) as tf:
        tf.extractall(src_root, filter="data")
    if not os.path.isfile(os.path.join(vendored, "CMakeLists.txt")):
        die(f"{sdist} has no vendor/llama.cpp")
    return vendored


def llama_commit(vendored):
    """The vendored llama.cpp's identity, as far as the sdist tells it."""
    info = {"llama_cpp_python": LLAMA_CPP_PYTHON_VERSION}
    for line in open(os.path.join(vendored, "CMakeLists.txt"), errors="replace"):
        m = re.match(r'\s*set\(LLAMA_BUILD_COMMIT\s+"?([^")\s]+)', line)
        if m:
            info["commit"] = m.group(1)
    return info


def build_llama_bench(jobs):
    """Builds llama-bench into OPT/build (idempotent); returns (path, build info)."""
    vendored = llama_source()
    build = os.path.join(OPT, "build")
    exe = os.path.join(build, "bin", "llama-bench")
    stamp = os.path.join(OPT, "build.json")
    want = {"version": LLAMA_CPP_PYTHON_VERSION, "cmake_flags": CMAKE_FLAGS}
    if os.path.isfile(exe) and os.path.isfile(stamp):
        done = json.load(open(stamp))
        if {k: done.get(k) for k in want} == want:
            log(f"llama-bench {LLAMA_CPP_PYTHON_VERSION} already built "
                f"({done.get('build_seconds', 0):.0f} s at the time): {exe}")
            return exe, done
    t0 = time.time()
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    r = run(nice(["cmake", "-S", vendored, "-B", build] + generator + CMAKE_FLAGS))
    if r.returncode != 0:
        die("configuring llama.cpp failed")
    r = run(nice(["cmake", "--build", build, "--target", "llama-bench", "-j", str(jobs)]))
    if r.returncode != 0 or not os.path.isfile(exe):
        die("building llama-bench failed")
    done = dict(want, build_seconds=time.time() - t0, jobs=jobs, built_utc=utc())
    json.dump(done, open(stamp, "w"), indent=2)
    log(f"built {exe} in {done['build_seconds']:.0f} s (-j{jobs})")
    return exe, done


def llama_supports(vendored, arch, pre):
    """Why the vendored llama.cpp cannot run this model, or None if it can."""
    arch_cpp = os.path.join(vendored, "src", "llama-arch.cpp")
    vocab_cpp = os.path.join(vendored, "src", "llama-vocab.cpp")
    text = open(arch_cpp, errors="replace").read()
    if f'"{arch}"' not in text:
        return (f"the llama.cpp vendored by llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} has no "
                f"architecture named '{arch}' in src/llama-arch.cpp (LLM_ARCH_NAMES): it would "
                f"refuse the model with 'unknown model architecture'. Needed: a llama.cpp with "
                f"{arch} support (a newer llama-cpp-python pin)")
    if pre and f'"{pre}"' not in open(vocab_cpp, errors="replace").read():
        return (f"the vendored llama.cpp does not know the tokenizer pre-split '{pre}' "
                f"(tokenizer.ggml.pre) in src/llama-vocab.cpp: loading fails with 'unknown "
                f"pre-tokenizer type'")
    return None


def run_with_rusage(cmd):
    """Runs cmd (stdout captured, stderr passed through); returns (rc, stdout, maxrss bytes)."""
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        try:
            os.execv(cmd[0], [str(c) for c in cmd])
        finally:
            os._exit(127)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            chunks.append(b)
    _, status, usage = os.wait4(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return rc, b"".join(chunks).decode(errors="replace"), usage.ru_maxrss * 1024


def llama_bench_runs(exe, model, threads, runs, prompts, gen, depth=0):
    """One llama-bench process per thread count: its pp tests for `prompts`, tg`gen`
    (0: none), all on a context already holding `depth` tokens (-d)."""
    rows = []
    for t in threads:
        cmd = [exe, "-m", model, "-p", ",".join(map(str, prompts)) or "0", "-n", str(gen),
               "-t", str(t), "-r", str(runs), "-o", "json", "--progress"]
        if depth:
            cmd += ["-d", str(depth)]
        t0 = time.time()
        rc, out, rss = run_with_rusage(cmd)
        if rc != 0:
            die(f"llama-bench failed (exit {rc})")
        try:
            results = json.loads(out)
        except json.JSONDecodeError:
            sys.stderr.write(out[-2000:])
            die("llama-bench printed no JSON")
        for res in results:
            kind = f"pp{res['n_prompt']}" if res.get("n_gen", 0) == 0 else f"tg{res['n_gen']}"
            kind += at_depth(res.get("n_depth", 0))
            log(f"llama.cpp {t} thread(s) {kind}: {res['avg_ts']:.2f} ± {res['stddev_ts']:.2f} "
                f"tokens/s")
        rows.append({"threads": t, "depth": depth,
                     "command": " ".join(shlex.quote(str(c)) for c in cmd),
                     "results": results, "peak_rss_bytes": rss,
                     "wall_seconds": time.time() - t0})
    return rows


# ---------------------------------------------------------------------------------------
# hyc
# ---------------------------------------------------------------------------------------

def utc():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def source_state():
    """The repository's commit and how many tracked files differ from it (the hyc measured
    is built from the working tree)."""
    def git(*a):
        r = subprocess.run(["git", "-C", ROOT] + list(a), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown",
            "modified_tracked_files": len(changed.splitlines()) if changed else 0}


def inspect_arch(hyc, model):
    r = subprocess.run([hyc, "inspect", model, "--no-tensors"], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"hyc inspect {model}: {r.stderr.strip()}")
    arch = re.search(r"^\s*arch(?:itecture)?\s*[:=]?\s*(\S+)", r.stdout, re.M)
    pre = re.search(r"\bpre[:=]?\s+'?([\w.-]+)'?", r.stdout)
    return (arch.group(1) if arch else None), (pre.group(1) if pre else None), r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hyc", help="the hyc binary (required unless --report)")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench"),
                    help="models, libraries and results (default build/bench)")
    ap.add_argument("--model", help="a hunyuan-dense GGUF with Q2_0C linear layers "
                    "(default: the full-size synthetic model, written into WORKDIR)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--depth", type=int, default=0,
                    help="pp and tg on a context already holding DEPTH tokens (llama-bench "
                    "-d, hyc bench --depth); TTFT prompts still start empty")
    ap.add_argument("--ttft", default="256,1024")
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--jobs", type=int, default=1, help="llama.cpp build jobs (default 1)")
    ap.add_argument("--build-only", action="store_true", help="only build llama-bench")
    ap.add_argument("--report", metavar="COMPARE_JSON",
                    help="only print the markdown table of an earlier run's compare.json")
    args = ap.parse_args()
    if args.report:
        print(markdown(json.load(open(args.report))))
        return 0

    if not args.hyc:
        ap.error("--hyc is required (unless --report)")
    try:
        threads = [int(t) for t in args.threads.split(",")]
        ttft = [int(n) for n in args.ttft.split(",")] if args.ttft != "none" else []
    except ValueError:
        die(f"--threads and --ttft take comma-separated integers (got '{args.threads}', "
            f"'{args.ttft}')")
    if args.depth < 0 or args.pp < 0 or args.tg < 0:
        die("--depth, --pp and --tg must not be negative")
    for what, n in (("--pp", args.pp), ("--tg", args.tg)):
        if n and args.depth + n > args.context:
            die(f"{what} {n} with --depth {args.depth} needs {args.depth + n} positions; "
                f"the context is {args.context} (--context)")
    hyc = os.path.abspath(args.hyc)
    if not os.access(hyc, os.X_OK):
        die(f"{hyc} is not an executable (build hyc first)")
    t_start = time.time()
    source = source_state()
    exe, build_info = build_llama_bench(args.jobs)
    vendored = llama_source()
    if args.build_only:
        return 0

    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    model = args.model
    if not model:
        model = os.path.join(work, "hy-full.gguf")
        if not os.path.isfile(model):
            log("writing the full-size synthetic model (~660 MB, ~20 s)")
            r = run(nice([PY, os.path.join(ROOT, "scripts", "models", "hy_gguf.py"), "write",
                          "--config", "full", "-o", model + ".tmp"]))
            if r.returncode != 0:
                die("writing the synthetic model failed")
            os.replace(model + ".tmp", model)
    model = os.path.abspath(model)
    arch, pre, _ = inspect_arch(hyc, model)
    if not arch:
        die(f"hyc inspect {model} printed no architecture")
    why = llama_supports(vendored, arch, pre)
    if why:
        die(why)
    log(f"llama.cpp (llama-cpp-python {LLAMA_CPP_PYTHON_VERSION}) knows arch '{arch}'"
        f" and pre-tokenizer '{pre}'")

    q2k = os.path.join(work, os.path.splitext(os.path.basename(model))[0] + "-q2_k.gguf")
    if not (os.path.isfile(q2k) and os.path.getmtime(q2k) >= os.path.getmtime(model)):
        r = run([hyc, "convert", model, "--to", "q2_k", "-o", q2k])
        if r.returncode != 0:
            die("hyc convert failed")
    libdir = os.path.join(work, "hyc-lib")
    compile_cmd = [hyc, "compile", model, "--target", "host", "--context", str(args.context),
                   "-o", libdir]
    if os.path.isdir(libdir):
        shutil.rmtree(libdir)
    r = run(compile_cmd)
    if r.returncode != 0:
        die("hyc compile failed")

    if args.depth:
        # llama-bench's -d applies to every test of a call: the TTFT prompts (empty
        # context, as hyc bench runs them) get a call of their own.
        llama = llama_bench_runs(exe, q2k, threads, args.runs, [args.pp] if args.pp else [],
                                 args.tg, args.depth)
        if ttft:
            llama += llama_bench_runs(exe, q2k, threads, args.runs, ttft, 0)
    else:
        prompts = [args.pp] + [n for n in ttft if n != args.pp]
        llama = llama_bench_runs(exe, q2k, threads, args.runs, prompts, args.tg)

    hyc_json = os.path.join(work, "hyc-bench.json")
    bench_cmd = [hyc, "bench", libdir, "--threads", args.threads, "--runs", str(args.runs),
                 "--pp", str(args.pp), "--tg", str(args.tg), "--ttft", args.ttft,
                 "--context", str(args.context), "--json", hyc_json]
    if args.depth:
        bench_cmd += ["--depth", str(args.depth)]
    r = run(bench_cmd)
    if r.returncode != 0:
        die("hyc bench failed")
    hb = json.load(open(hyc_json))

    combined = {
        "schema": "hyc-compare/1",
        "date_utc": utc(),
        "total_seconds": time.time() - t_start,
        "model": model,
        "model_q2_k": q2k,
        "hyc_source": source,
        "commands": {
            "model": f"{PY} scripts/models/hy_gguf.py write --config full -o {model}",
            "convert": f"{hyc} convert {model} --to q2_k -o {q2k}",
            "compile": " ".join(shlex.quote(str(c)) for c in compile_cmd),
            "hyc_bench": " ".join(shlex.quote(str(c)) for c in bench_cmd),
            "llama_bench": [row["command"] for row in llama],
        },
        "llama_cpp": {"build": build_info, "source": llama_commit(vendored),
                      "runs": llama},
        "hyc": hb,
    }
    out_json = os.path.join(work, "compare.json")
    json.dump(combined, open(out_json, "w"), indent=2)
    md = markdown(combined)
    out_md = os.path.join(work, "compare.md")
    open(out_md, "w").write(md)
    out_png = os.path.join(work, "compare.png")
    r = run([PY, os.path.join(ROOT, "bench", "plot_bench.py"), hyc_json, "--compare", out_json,
             "-o", out_png])
    if r.returncode != 0:
        log("plot failed (the results stand)")
    print(md)
    log(f"wrote {out_json}, {out_md}, {out_png} ({time.time() - t_start:.0f} s in all)")
    return 0


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

def at_depth(depth):
    """llama-bench's label suffix: " @ d1024" for a test after 1024 tokens of context."""
    return f" @ d{depth}" if depth else ""


def llama_figure(llama, threads, n_prompt, n_gen, depth=0):
    for row in llama:
        if row["threads"] != threads:
            continue
        for res in row["results"]:
            if (res.get("n_prompt") == n_prompt and res.get("n_gen") == n_gen
                    and res.get("n_depth", 0) == depth):
                ts = res.get("samples_ts") or []
                return {"avg": res["avg_ts"], "stddev": res["stddev_ts"],
                        "median": median(ts) if ts else res["avg_ts"],
                        "min": min(ts) if ts else None, "max": max(ts) if ts else None}
    return None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def hyc_config(hb, threads):
    for c in hb["results"]:
        if c["threads"] == threads:
            return c
    return None


def fmt_range(med, lo, hi, digits=2):
    if lo is None:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} [{lo:.{digits}f}–{hi:.{digits}f}]"


def rel(text):
    """Commands with the repository's absolute path made relative (run from its root)."""
    return text.replace(ROOT + os.sep, "")


def markdown(c):
    hb = c["hyc"]
    m = hb["machine"]
    lines = []
    lines.append(f"## {c['date_utc'][:10]} — hyc vs llama.cpp (Q2_K), full-size synthetic "
                 f"HY-1.8B-2Bit")
    lines.append("")
    lines.append(f"- Machine: {m['cpu_model']}, {m.get('physical_cores', '?')} cores / "
                 f"{m['logical_cpus']} CPUs, flags {' '.join(m['flags'])}, "
                 f"{m['memory_total_bytes'] / 2**30:.0f} GiB, {m['kernel']}; load average "
                 f"{m['loadavg_start'][0]:.2f} at the start, {m['loadavg_end'][0]:.2f} at the "
                 f"end of hyc bench.")
    src = c["llama_cpp"]["source"]
    b = c["llama_cpp"]["build"]
    lines.append(f"- llama.cpp: the copy vendored by llama-cpp-python {src['llama_cpp_python']}"
                 f" (PyPI source package), CPU build ({' '.join(b['cmake_flags'])}), "
                 f"llama-bench built in {b.get('build_seconds', 0):.0f} s with -j{b.get('jobs')}.")
    hs = c.get("hyc_source")
    if hs:
        lines.append(f"- hyc: the repository was at commit {hs['commit']}"
                     + (f" with uncommitted changes in {hs['modified_tracked_files']} tracked "
                        f"files" if hs["modified_tracked_files"] else "")
                     + " during the run (`make bench` rebuilds hyc from it first; a direct "
                       "compare.py run measures whatever --hyc is).")
    lines.append(f"- Model: `{os.path.basename(c['model'])}` (Q2_0C linear layers, Q8_0 "
                 f"embedding) for hyc; `{os.path.basename(c['model_q2_k'])}` (the same weights, "
                 f"lossless Q2_K, `hyc convert --to q2_k`) for llama.cpp.")
    lines.append(f"- Synthetic prompt tokens on both sides (hyc bench: uniform pseudo-random ids, "
                 f"seed {hb['settings']['seed']}; llama-bench: random ids). Medians of "
                 f"{hb['settings']['runs']} runs [min–max] on both sides (llama-bench's own "
                 f"mean ± stddev is in compare.json). Speed-up: hyc tokens/s over llama.cpp's, "
                 f"or llama.cpp's time over hyc's; above 1 means hyc is faster.")
    lines.append("")
    lines.append("| test | threads | hyc | llama.cpp Q2_K | hyc speed-up |")
    lines.append("|---|---|---|---|---|")
    s = hb["settings"]
    depth = s.get("depth", 0)
    for t in s["threads"]:
        h = hyc_config(hb, t)
        rows = []
        if s["pp"]:
            l = llama_figure(c["llama_cpp"]["runs"], t, s["pp"], 0, depth)
            hp = h["pp"]["tokens_per_s"]
            rows.append((f"pp{s['pp']}{at_depth(depth)} (tokens/s)", hp, l))
        if s["tg"]:
            l = llama_figure(c["llama_cpp"]["runs"], t, 0, s["tg"], depth)
            ht = h["tg"]["tokens_per_s"]
            rows.append((f"tg{s['tg']}{at_depth(depth)} (tokens/s)", ht, l))
        for r_name, hv, l in rows:
            ratio = f"{hv['median'] / l['median']:.2f}x" if l else "—"
            lv = fmt_range(l["median"], l["min"], l["max"]) if l else "—"
            lines.append(f"| {r_name} | {t} | {fmt_range(hv['median'], hv['min'], hv['max'])} "
                         f"| {lv} | {ratio} |")
        for tt in h["ttft"]:
            n = tt["prompt_tokens"]
            l = llama_figure(c["llama_cpp"]["runs"], t, n, 0)
            hs = tt["seconds"]
            lsec = n / l["median"] if l else None
            ratio = f"{lsec / hs['median']:.2f}x" if l else "—"
            lv = f"{lsec:.3f}" if l else "—"
            lines.append(f"| TTFT {n} tokens (s) | {t} | "
                         f"{fmt_range(hs['median'], hs['min'], hs['max'], 3)} | {lv} | {ratio} |")
        lrss = [r["peak_rss_bytes"] for r in c["llama_cpp"]["runs"] if r["threads"] == t]
        lines.append(f"| peak RSS (MB) | {t} | {h['rss']['peak_bytes'] / 1e6:.0f} "
                     f"({h['rss']['peak_model_bytes'] / 1e6:.0f} above hyc's own) | "
                     f"{max(lrss) / 1e6:.0f} | — |" if lrss else "")
        if "roofline" in h.get("tg", {}):
            rf = h["tg"]["roofline"]
            lines.append(f"| tg roofline (tokens/s) | {t} | {rf['tokens_per_s']:.1f} "
                         f"({100 * rf['fraction']:.0f}% reached; {rf['bandwidth_gbps']:.1f} GB/s"
                         f" / {rf['bytes_per_token'] / 1e6:.0f} MB per token) | — | — |")
    lines.append("")
    bw = hb["bandwidth"]["results"]
    if bw:
        lines.append("- Read bandwidth (hyc bench, best of 10 passes over "
                     f"{bw[0]['buffer_bytes'] >> 20} MiB): " +
                     ", ".join(f"{b['threads']} thread(s) {b['best_gbps']:.1f} GB/s" for b in bw))
    bpt = hb["bytes_per_token"]
    lines.append(f"- Bytes per decode step: {bpt['total'] / 1e6:.1f} MB = linear "
                 f"{bpt['linear'] / 1e6:.1f} ({bpt['linear_format']}) + lm_head "
                 f"{bpt['lm_head'] / 1e6:.1f} ({bpt['lm_head_format']}) + norms + KV "
                 f"{bpt['kv_mean_over_tg'] / 1e6:.2f} (mean over the tg positions).")
    lines.append("- TTFT for llama.cpp is its pp<N> time (N / tokens/s); hyc's includes the "
                 "argmax of the first token's logits.")
    if depth:
        lines.append(f"- \"@ d{depth}\": pp and tg on a context already holding {depth} "
                     f"tokens on both sides (llama-bench -d {depth}, hyc bench --depth "
                     f"{depth}: an untimed prefill first); the TTFT prompts start empty (a "
                     f"llama-bench call of their own).")
    lines.append("- llama.cpp's peak RSS: wait4 of each llama-bench process (its context holds "
                 "depth+pp+tg positions per test; the larger where a thread count has two "
                 "processes); hyc's: the forked measuring child, which shares "
                 "hyc's own LLVM/MLIR pages (the figure above them is the runtime's).")
    lines.append("")
    lines.append("Commands:")
    lines.append("")
    lines.append("```")
    cm = c["commands"]
    for line in [cm["model"], cm["convert"], cm["compile"], cm["hyc_bench"]] + cm["llama_bench"]:
        lines.append(rel(line))
    lines.append("```")
    lines.append("")
    lines.append(f"All of it: `make bench` (bench/llama_cpp/compare.py; this run took "
                 f"{c['total_seconds'] / 60:.0f} min).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
