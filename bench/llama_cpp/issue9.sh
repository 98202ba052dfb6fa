#!/usr/bin/env bash
# bench/llama_cpp/issue9.sh - the decode/prefill/RSS comparison of issue 9 in one
# run: hyc (f16 and q8_0 KV cache) and llama.cpp (its default f16 cache, and
# -fa 1 -ctk q8_0 -ctv q8_0) on the full-size synthetic model, 2 threads, a
# 2048-token context, 5 runs each. Needs what `make bench` (compare.py) leaves:
# BUILD/bin/hyc, BUILD/bench/hy-full.gguf, its Q2_K copy hy-full-q2_k.gguf and
# llama-bench under .venv/opt/llama.cpp/. Writes OUT/ (default /tmp/hyc-issue9), ending
# with OUT/verdict.txt: issue9_verdict.py's PASS/FAIL per bar and hyc configuration.
# With TUNING_DB (a `hyc tune` database), both hyc libraries are compiled with
# --tuning-db TUNING_DB (the tuned build a user would ship); without it, with
# the default schedules. OUT/tuning names which.
#
#   bash bench/llama_cpp/issue9.sh [BUILD] [OUT] [TUNING_DB]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-/tmp/hyc-issue9}
TUNING_DB=${3:-}
LLAMA_BENCH=$(ls "$ROOT"/.venv/opt/llama.cpp/*/build/bin/llama-bench | tail -1)
MODEL=$BUILD/bench/hy-full.gguf
for f in "$BUILD/bin/hyc" "$MODEL" "$BUILD/bench/hy-full-q2_k.gguf" "$LLAMA_BENCH"; do
  [ -e "$f" ] || { echo "issue9.sh: missing $f (run make bench first)" >&2; exit 1; }
done
TUNE=()
if [ -n "$TUNING_DB" ]; then
  [ -f "$TUNING_DB" ] || { echo "issue9.sh: no tuning database $TUNING_DB" >&2; exit 1; }
  TUNE=(--tuning-db "$TUNING_DB")
fi
mkdir -p "$OUT"
date -u +"start %Y-%m-%d %H:%M:%S UTC" | tee "$OUT/times"
echo "${TUNING_DB:-default schedules}" > "$OUT/tuning"
"$BUILD/bin/hyc" compile "$MODEL" --context 2048 "${TUNE[@]}" -o "$OUT/hy-f16"
"$BUILD/bin/hyc" compile "$MODEL" --context 2048 --kv-cache q8_0 "${TUNE[@]}" -o "$OUT/hy-q8"
for kv in f16 q8; do
  "$BUILD/bin/hyc" bench "$OUT/hy-$kv" --threads 2 --runs 5 --pp 512 --tg 128 --ttft none \
      --context 2048 --json "$OUT/hyc-$kv.json" 2>&1 | tee "$OUT/hyc-$kv.txt" | tail -8
done
"$LLAMA_BENCH" -m "$BUILD/bench/hy-full-q2_k.gguf" -p 512 -n 128 -t 2 -r 5 | tee "$OUT/llama.txt"
"$LLAMA_BENCH" -m "$BUILD/bench/hy-full-q2_k.gguf" -p 512 -n 128 -t 2 -r 5 \
    -fa 1 -ctk q8_0 -ctv q8_0 | tee "$OUT/llama-q8.txt"
date -u +"end %Y-%m-%d %H:%M:%S UTC" | tee -a "$OUT/times"
python3 "$ROOT/bench/llama_cpp/issue9_verdict.py" "$OUT" | tee "$OUT/verdict.txt"
