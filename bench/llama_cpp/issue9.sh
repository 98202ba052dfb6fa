#!/usr/bin/env bash
# bench/llama_cpp/issue9.sh - the decode/prefill/RSS comparison of issue 9 in one
# run: hyc (f16 and q8_0 KV cache, and the q8_0 library again with its weights
# read into huge pages, --no-mmap) and llama.cpp (its default f16 cache, and
# -fa 1 -ctk q8_0 -ctv q8_0) on the full-size synthetic model, 2 threads, a
# 2048-token context. The five configurations run in ROUNDS interleaved rounds
# (default 5; one run of each per round, hyc and llama.cpp side by side, the
# order reversed every other round), so that this VM's slow minutes fall on
# both sides of each ratio; OUT/round-N holds round N's outputs. Needs what
# `make bench` (compare.py) leaves:
# BUILD/bin/hyc, BUILD/bench/hy-full.gguf, its Q2_K copy hy-full-q2_k.gguf and
# llama-bench under .venv/opt/llama.cpp/. Writes OUT/ (default /tmp/hyc-issue9), ending
# with OUT/verdict.txt: issue9_verdict.py's PASS/FAIL per bar and hyc configuration.
# With TUNING_DB (a `hyc tune` database), both hyc libraries are compiled with
# --tuning-db TUNING_DB (the tuned build a user would ship); without it, with
# the default schedules. OUT/tuning names which.
#
#   [ROUNDS=N] bash bench/llama_cpp/issue9.sh [BUILD] [OUT] [TUNING_DB]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-/tmp/hyc-issue9}
TUNING_DB=${3:-}
ROUNDS=${ROUNDS:-5}
case "$ROUNDS" in
  ''|*[!0-9]*|0) echo "issue9.sh: ROUNDS must be a positive integer, got '$ROUNDS'" >&2; exit 1 ;;
esac
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
hyc_run() { # f16|q8|q8-hp ROUND_DIR (q8-hp: the q8 library, weights read into huge pages)
  local lib=$1 extra=()
  if [ "$1" = q8-hp ]; then lib=q8; extra=(--no-mmap); fi
  "$BUILD/bin/hyc" bench "$OUT/hy-$lib" --threads 2 --runs 1 --pp 512 --tg 128 --ttft none \
      --context 2048 "${extra[@]}" --json "$2/hyc-$1.json" > "$2/hyc-$1.txt" 2>&1 ||
    { cat "$2/hyc-$1.txt" >&2; exit 1; }
  grep -E "^ +(pp512|tg128|peak RSS)" "$2/hyc-$1.txt" | sed "s/^ */  hyc $1  /"
}
llama_run() { # f16|q8 ROUND_DIR
  local extra=() file=llama.txt
  if [ "$1" = q8 ]; then extra=(-fa 1 -ctk q8_0 -ctv q8_0); file=llama-q8.txt; fi
  "$LLAMA_BENCH" -m "$BUILD/bench/hy-full-q2_k.gguf" -p 512 -n 128 -t 2 -r 1 "${extra[@]}" \
      > "$2/$file" 2>&1 || { cat "$2/$file" >&2; exit 1; }
  grep -E "(pp512|tg128)" "$2/$file" | awk -F'|' -v k="$1" '{print "  llama " k " " $(NF-2) $(NF-1)}'
}
rm -rf "$OUT"/round-*
for r in $(seq 1 "$ROUNDS"); do
  d=$OUT/round-$r
  mkdir -p "$d"
  steps=("hyc_run f16" "llama_run f16" "hyc_run q8" "llama_run q8" "hyc_run q8-hp")
  if [ $((r % 2)) = 0 ]; then
    steps=("hyc_run q8-hp" "llama_run q8" "hyc_run q8" "llama_run f16" "hyc_run f16")
  fi
  echo "round $r of $ROUNDS ($(date -u +%H:%M:%S) UTC)"
  for step in "${steps[@]}"; do $step "$d"; done
done
date -u +"end %Y-%m-%d %H:%M:%S UTC" | tee -a "$OUT/times"
python3 "$ROOT/bench/llama_cpp/issue9_verdict.py" "$OUT" | tee "$OUT/verdict.txt"
