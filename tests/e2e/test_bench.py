#!/usr/bin/env python3
"""`hyc bench` on the tiny model with tiny settings: the JSON it writes is complete and its
figures are consistent with each other and with the library; bad invocations fail cleanly.

Checks, on the tiny model compiled by hyc (2 layers, hidden 512, vocab 512, f16 embedding):
  - exit 0, a progress line per run on stderr, a summary on stdout;
  - JSON: schema, machine description (CPU, cores, flags, kernel, memory), the library's
    shape, the settings as given; per thread count exactly --runs samples of pp/tg tokens/s
    and of each TTFT, min <= median <= max, all positive; peak RSS at least the weights blob
    (the runtime reads every weight when it checks the fingerprint) and below 1 GB;
  - read bandwidth for 1 and 2 threads, probed before and after the model runs (10 passes
    each, the best of all 20 is the bandwidth); the roofline equals bandwidth / bytes per token and
    the bytes per token match the formula recomputed here from the model's shape;
  - --json - puts the JSON on stdout (summary moves to stderr);
  - --depth D: pp and tg after D tokens of context: the settings and the summary's labels say
    so ("tg4 @ d40"), the KV bytes per token are those of positions D..D+tg-1, and a depth
    that leaves no room for the tests in the context is refused like an oversized test;
  - errors: a missing directory, a damaged weights file (the measuring child's error reaches
    the user), unknown options, bad numbers, a missing value, --context mismatch, tests that do
    not fit the context, nothing to measure, an unwritable --json path, a missing
    hyc-bench-runner: each exits non-zero with one "hyc bench: error:" line naming the problem,
    and writes no JSON file; the runner itself refuses a malformed command line.

Usage: test_bench.py --hyc PATH
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import hy_gguf  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}")
    return cond


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)


def check_stats(s, runs, label):
    ok = check(len(s["samples"]) == runs, f"{label}: {len(s['samples'])} samples, want {runs}")
    ok &= check(all(x > 0 for x in s["samples"]), f"{label}: a non-positive sample")
    ok &= check(s["min"] <= s["median"] <= s["max"], f"{label}: min/median/max out of order")
    ok &= check(s["min"] == min(s["samples"]) and s["max"] == max(s["samples"]),
                f"{label}: min/max are not those of the samples")
    return ok


def expected_bytes(cfg, weights_bytes, kv_bytes, n_ctx, tg, depth=0):
    L, E, H, KV, D = (cfg["block_count"], cfg["embedding_length"], cfg["head_count"],
                      cfg["head_count_kv"], cfg["head_dim"])
    F = cfg["feed_forward_length"]
    linear = L * (E * H * D + 2 * E * KV * D + H * D * E + 3 * E * F) * 130 / 512
    norms = ((2 * L + 1) * E + 2 * L * D) * 4
    lm_head = weights_bytes - linear - norms
    kv = kv_bytes / n_ctx * (depth + (tg + 1) / 2)
    return linear, lm_head, linear + lm_head + norms + kv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyc", required=True)
    args = ap.parse_args()
    hyc = args.hyc
    tmp = tempfile.mkdtemp(prefix="hyc-bench-test-")
    try:
        model = os.path.join(tmp, "tiny.gguf")
        hy_gguf.write_model("tiny", model)
        lib = os.path.join(tmp, "lib")
        r = run([hyc, "compile", model, "-o", lib])
        if not check(r.returncode == 0, f"compile: {r.stderr}"):
            return 1
        manifest = json.load(open(os.path.join(lib, "manifest.json")))
        n_ctx = manifest["context"]

        out = os.path.join(tmp, "bench.json")
        runs, pp, tg, ttft = 3, 32, 8, [16, 64]
        cmd = [hyc, "bench", lib, "--threads", "1,2", "--runs", runs, "--pp", pp, "--tg", tg,
               "--ttft", ",".join(map(str, ttft)), "--bandwidth-mib", 64, "--json", out]
        r = run(cmd)
        if not check(r.returncode == 0, f"bench exit {r.returncode}: {r.stderr}"):
            return 1
        check(r.stderr.count("pp32 run ") == 2 * runs, "a progress line per pp run")
        # three read patterns (1, 4 and 8 runs per thread), before and after
        check(r.stderr.count("read bandwidth, 2 threads") == 2 * 3,
              "bandwidth progress lines, one per read pattern, before and after the model runs")
        check(r.stderr.count("4 runs per thread + prefetch") == 2 * 2,
              "the multi-run pattern is probed at 1 and 2 threads, before and after")
        check("read bandwidth 2 threads" in r.stdout and "before " in r.stdout
              and "after " in r.stdout, "summary names both probes")
        check("tg8" in r.stdout and "peak RSS" in r.stdout, "summary on stdout")
        d = json.load(open(out))

        check(d["schema"] == "hyc-bench/1", "schema")
        check(d["command"].startswith("hyc bench "), "command recorded")
        m = d["machine"]
        check(bool(m["cpu_model"]), "cpu model")
        check(m["logical_cpus"] >= 1, "logical cpus")
        check(m["memory_total_bytes"] > 2**28, "memory total")
        check(m["kernel"].startswith("Linux "), "kernel")
        check(isinstance(m["flags"], list), "flags list")
        check(len(m["loadavg_start"]) == 3 and len(m["loadavg_end"]) == 3, "load averages")
        lib_j = d["library"]
        cfg = hy_gguf.CONFIGS["tiny"]
        check(lib_j["n_layer"] == cfg["block_count"] and lib_j["n_vocab"] == cfg["vocab_size"],
              "library shape")
        check(lib_j["n_ctx"] == n_ctx, "library context")
        check(lib_j["weights_bytes"] == manifest["weights"]["bytes"], "weights bytes")
        s = d["settings"]
        check(s["threads"] == [1, 2] and s["runs"] == runs and s["pp"] == pp and s["tg"] == tg
              and s["ttft"] == ttft, "settings as given")
        check("synthetic" in s["tokens"], "token ids described")

        bw = {b["threads"]: b for b in d["bandwidth"]["results"]}
        check(sorted(bw) == [1, 2], f"bandwidth thread counts {sorted(bw)}")
        for t, b in bw.items():
            check_stats(b, 20, f"bandwidth {t}")
            check(b["best_gbps"] == b["max"] and 0.05 < b["best_gbps"] < 5000,
                  f"bandwidth {t}: {b['best_gbps']} GB/s")
            check(b["best_gbps"] == max(b["best_before_gbps"], b["best_after_gbps"])
                  and min(b["best_before_gbps"], b["best_after_gbps"]) > 0,
                  f"bandwidth {t}: best of the two probes ({b['best_before_gbps']}, "
                  f"{b['best_after_gbps']})")
            check(b["buffer_bytes"] == 64 << 20, "bandwidth buffer size")

        bpt = d["bytes_per_token"]
        linear, lm_head, total = expected_bytes(cfg, lib_j["weights_bytes"], lib_j["kv_bytes"],
                                                n_ctx, tg)
        check(abs(bpt["linear"] - linear) < 1, f"linear bytes {bpt['linear']} != {linear}")
        check(abs(bpt["lm_head"] - lm_head) < 1, f"lm_head bytes {bpt['lm_head']} != {lm_head}")
        # The tiny model's embedding is f16: the remainder of the blob is 2 bytes per weight
        # (plus at most 64 bytes of alignment per tensor).
        check(abs(lm_head - cfg["vocab_size"] * cfg["embedding_length"] * 2) < 64 * 64,
              "lm_head is the f16 embedding")
        check("f16" in bpt["lm_head_format"], f"lm_head format {bpt['lm_head_format']}")
        check(abs(bpt["total"] - total) < 1, f"total bytes {bpt['total']} != {total}")

        res = {c["threads"]: c for c in d["results"]}
        check(sorted(res) == [1, 2], "a result per thread count")
        for t, c in res.items():
            lab = f"{t} thread(s)"
            check(c["pp"]["tokens"] == pp and c["tg"]["tokens"] == tg, f"{lab}: test sizes")
            check_stats(c["pp"]["tokens_per_s"], runs, f"{lab} pp")
            check_stats(c["tg"]["tokens_per_s"], runs, f"{lab} tg")
            check([x["prompt_tokens"] for x in c["ttft"]] == ttft, f"{lab}: ttft lengths")
            for x in c["ttft"]:
                check_stats(x["seconds"], runs, f"{lab} ttft{x['prompt_tokens']}")
            # A 64-token TTFT cannot beat a 16-token one by much (same prefill path).
            t16, t64 = (x["seconds"]["median"] for x in c["ttft"])
            check(t64 > 0.8 * t16, f"{lab}: ttft64 {t64} vs ttft16 {t16}")
            rss = c["rss"]
            check(lib_j["weights_bytes"] <= rss["peak_bytes"] < 2**30,
                  f"{lab}: peak RSS {rss['peak_bytes']}")
            check(rss["peak_model_bytes"] == rss["peak_bytes"] - rss["at_start_bytes"] > 0,
                  f"{lab}: peak above start")
            rf = c["tg"]["roofline"]
            check(rf["bandwidth_gbps"] == bw[t]["best_gbps"], f"{lab}: roofline bandwidth")
            check(abs(rf["tokens_per_s"] - rf["bandwidth_gbps"] * 1e9 / bpt["total"]) < 1e-6 *
                  rf["tokens_per_s"], f"{lab}: roofline = bandwidth / bytes")
            check(abs(rf["fraction"] - c["tg"]["tokens_per_s"]["median"] / rf["tokens_per_s"])
                  < 1e-9, f"{lab}: fraction")

        # --json -: JSON alone on stdout.
        r = run([hyc, "bench", lib, "--threads", "1", "--runs", 1, "--pp", 8, "--tg", 0,
                 "--ttft", "none", "--no-bandwidth", "--json", "-"])
        if check(r.returncode == 0, f"--json -: {r.stderr}"):
            try:
                j = json.loads(r.stdout)
                check("tg" not in j["results"][0], "--tg 0 skips tg")
                check(j["bandwidth"]["results"] == [], "--no-bandwidth")
                check("roofline" not in json.dumps(j["results"]), "no roofline without bandwidth")
            except json.JSONDecodeError:
                check(False, "--json - stdout is not JSON")

        # --depth: pp and tg on a context already holding 40 tokens.
        r = run([hyc, "bench", lib, "--threads", "1", "--runs", 2, "--pp", 8, "--tg", 4,
                 "--depth", 40, "--ttft", "none", "--bandwidth-mib", 8, "--json", "-"])
        if check(r.returncode == 0, f"--depth 40: {r.stderr}"):
            j = json.loads(r.stdout)
            check(j["settings"]["depth"] == 40, "--depth in the settings")
            check("pp8 @ d40" in r.stderr and "tg4 @ d40" in r.stderr,
                  "--depth labels in the summary")
            check("after 40 tokens of context" in r.stderr, "--depth announced")
            c = j["results"][0]
            check_stats(c["pp"]["tokens_per_s"], 2, "--depth pp")
            check_stats(c["tg"]["tokens_per_s"], 2, "--depth tg")
            _, _, total40 = expected_bytes(cfg, lib_j["weights_bytes"], lib_j["kv_bytes"],
                                           n_ctx, 4, depth=40)
            check(abs(j["bytes_per_token"]["total"] - total40) < 1,
                  f"--depth 40 bytes per token {j['bytes_per_token']['total']} != {total40}")

        # Errors.
        broken = os.path.join(tmp, "broken")
        shutil.copytree(lib, broken)
        wfile = os.path.join(broken, manifest["weights"]["file"])
        with open(wfile, "r+b") as f:
            f.truncate(os.path.getsize(wfile) // 2)
        err_json = os.path.join(tmp, "err.json")
        cases = [
            ([os.path.join(tmp, "missing")], "missing"),
            ([broken], "weights"),
            ([lib, "--bogus"], "--bogus"),
            ([lib, "--threads", "0"], "--threads"),
            ([lib, "--threads", "1,x"], "--threads"),
            ([lib, "--threads", "1,1"], "twice"),
            ([lib, "--runs", "0"], "--runs"),
            ([lib, "--pp", "-5"], "--pp"),
            ([lib, "--ttft", "12,"], "--ttft"),
            ([lib, "--runs"], "needs a value"),
            ([lib, "--context", str(n_ctx + 1)], "--context"),
            ([lib, "--pp", str(n_ctx + 1)], "positions"),
            ([lib, "--depth", str(n_ctx - 4)], "--pp with --depth"),
            ([lib, "--pp", "0", "--depth", str(n_ctx - 1)], "--tg with --depth"),
            ([lib, "--depth", "x"], "--depth"),
            ([lib, "--pp", "0", "--tg", "0", "--ttft", "none"], "nothing to measure"),
            ([lib, "--json", os.path.join(tmp, "no", "such", "dir.json")], "cannot write"),
            ([], "no model directory"),
            ([lib, lib], "unexpected argument"),
        ]
        base = ["--runs", "1", "--pp", "8", "--tg", "2", "--ttft", "none", "--bandwidth-mib",
                "8", "--json", err_json]
        for extra, needle in cases:
            cmdline = [hyc, "bench"] + base + extra  # later flags win
            r = run(cmdline)
            lab = " ".join(extra) or "(no arguments)"
            check(r.returncode != 0, f"{lab}: exit 0")
            check(r.stderr.count("hyc bench: error:") == 1 and needle in r.stderr,
                  f"{lab}: stderr lacks one error line naming '{needle}': {r.stderr.strip()}")
            check(not os.path.exists(err_json), f"{lab}: a JSON file was written")

        # The measuring program missing: a clear error naming it, no JSON.
        gone = os.path.join(tmp, "no-such-runner")
        r = subprocess.run([str(c) for c in [hyc, "bench", lib] + base], capture_output=True,
                           text=True, timeout=300, env=dict(os.environ, HYC_BENCH_RUNNER=gone))
        check(r.returncode != 0 and r.stderr.count("hyc bench: error:") == 1 and gone in r.stderr,
              f"missing runner: exit {r.returncode}, stderr {r.stderr.strip()}")
        check(not os.path.exists(err_json), "missing runner: a JSON file was written")
        # The runner refuses a malformed command line (it is internal, but
        # says so rather than measuring garbage).
        runner = os.path.join(os.path.dirname(os.path.abspath(hyc)), "hyc-bench-runner")
        r = run([runner, "model", lib, "2", "x"])
        check(r.returncode != 0 and r.stdout.startswith("error hyc-bench-runner:"),
              f"runner with bad arguments: exit {r.returncode}, stdout {r.stdout.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("test_bench: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
