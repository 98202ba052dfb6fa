//===- KernelBench.cpp - decode kernels against the machine's read bandwidth ===//
//
// Google Benchmark suite (not a test): the sustained read bandwidth of this
// machine (a STREAM-like sum over a buffer far larger than the caches) and
// the decode GEMV kernels on the full-size HY-1.8B shapes, streaming weights
// from DRAM the way a decode step does: each iteration walks a different copy
// of the matrix, cycling through ~512 MB so nothing stays cached. Reported as
// bytes_per_second of weights read. Thread count: HL_NUM_THREADS for the
// Halide kernels, --threads (benchmark's own) for the bandwidth probe.
//
//===----------------------------------------------------------------------===//
#include "hyk/kernels.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr size_t kStreamBytes = size_t(1) << 30; // 1 GiB, far beyond any LLC
const size_t kWorkingSet = getenv("HYK_WS") ? size_t(atol(getenv("HYK_WS"))) : (size_t(512) << 20);

uint8_t *streamBuffer() {
  static uint8_t *buf = [] {
    auto *p = static_cast<uint8_t *>(std::aligned_alloc(64, kStreamBytes));
    std::memset(p, 1, kStreamBytes);
    return p;
  }();
  return buf;
}

// Read bandwidth: `threads` threads each sum a disjoint slice of 1 GiB.
void BM_ReadBandwidth(benchmark::State &state) {
  const int threads = static_cast<int>(state.range(0));
  const uint64_t *data = reinterpret_cast<const uint64_t *>(streamBuffer());
  const size_t words = kStreamBytes / 8;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    std::vector<uint64_t> sums(threads);
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        size_t lo = words / threads * t, hi = words / threads * (t + 1);
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = lo; i < hi; i += 4) {
          a += data[i];
          b += data[i + 1];
          c += data[i + 2];
          d += data[i + 3];
        }
        sums[t] = a + b + c + d;
      });
    for (auto &th : pool)
      th.join();
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kStreamBytes));
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

using Gemv = int32_t (*)(const uint8_t *, const float *, float *, int64_t, int64_t);

// Rotating copies of a random matrix so every call streams from DRAM.
template <int64_t BlockWeights, int64_t BlockBytes>
void runGemv(benchmark::State &state, Gemv fn) {
  const int64_t n = state.range(0), k = state.range(1);
  const size_t matrix = static_cast<size_t>(n * (k / BlockWeights) * BlockBytes);
  const size_t copies = std::max<size_t>(2, kWorkingSet / matrix);
  std::vector<uint8_t> w(matrix * copies);
  std::mt19937 rng(7);
  for (size_t i = 0; i < w.size(); i += 4) {
    uint32_t r = rng();
    std::memcpy(&w[i], &r, std::min<size_t>(4, w.size() - i));
  }
  // Sane fp16 scales (0x2c00 = 0.0625) at the start of every block.
  for (size_t b = 0; b < w.size(); b += BlockBytes) {
    w[b] = 0x00;
    w[b + 1] = 0x2c;
  }
  std::vector<float> x(static_cast<size_t>(k), 0.5f), y(static_cast<size_t>(n));
  size_t c = 0;
  for (auto _ : state) {
    if (fn(w.data() + matrix * c, x.data(), y.data(), n, k) != HYK_OK)
      state.SkipWithError("kernel failed");
    c = (c + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix));
}

bool hasAvx512() {
  // The avx512 kernels are built for Halide's avx512_zen4 feature set.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") &&
         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
         __builtin_cpu_supports("avx512bitalg") && __builtin_cpu_supports("avx512vpopcntdq") &&
         __builtin_cpu_supports("avx512ifma");
}

using GemmFn = int32_t (*)(const uint8_t *, const float *, float *, int64_t, int64_t,
                          int64_t);

// Prefill GEMM over m = state.range(2) activation rows: reports multiply-adds
// per second (items) and weight bytes per second.
void runGemm(benchmark::State &state, GemmFn fn) {
  if (!hasAvx512())
    return state.SkipWithError("no AVX-512 (Zen 4 class)");
  const int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const size_t matrix = static_cast<size_t>(n * (k / 512) * 130);
  std::vector<uint8_t> w(matrix);
  std::mt19937 rng(11);
  for (auto &b : w)
    b = static_cast<uint8_t>(rng());
  for (size_t b = 0; b < w.size(); b += 130) {
    w[b] = 0x00;
    w[b + 1] = 0x2c;
  }
  std::vector<float> x(static_cast<size_t>(k * m)), y(static_cast<size_t>(n * m));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto &v : x)
    v = dist(rng);
  for (auto _ : state) {
    if (fn(w.data(), x.data(), y.data(), n, k, m) != HYK_OK)
      state.SkipWithError("kernel failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n * k * m));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix));
}

void BM_GemmQ2_0C_avx512(benchmark::State &s) { runGemm(s, hyk_gemm_q2_0c_avx512); }
// Int8 activations (one scale per 32): a third of the vpdpbusd work.
void BM_GemmQ2_0C_a8_avx512(benchmark::State &s) { runGemm(s, hyk_gemm_q2_0c_a8_avx512); }

void BM_GemvQ2_0C_avx2(benchmark::State &s) { runGemv<512, 130>(s, hyk_gemv_q2_0c_avx2); }
void BM_GemvQ2_0C_avx512(benchmark::State &s) {
  if (!hasAvx512())
    return s.SkipWithError("no AVX-512");
  runGemv<512, 130>(s, hyk_gemv_q2_0c_avx512);
}
void BM_GemvQ2_0C_a8_avx512(benchmark::State &s) {
  if (!hasAvx512())
    return s.SkipWithError("no AVX-512");
  runGemv<512, 130>(s, hyk_gemv_q2_0c_a8_avx512);
}
using GemvQFn = int32_t (*)(const uint8_t *, const int8_t *, const float *, float *, int64_t,
                           int64_t);
using GemmQFn = int32_t (*)(const uint8_t *, const int8_t *, const float *, float *, int64_t,
                           int64_t, int64_t);

// Random Q2_0C bytes with sane fp16 scales (0.0625) where `interleave`'s
// layout keeps them: each block's first two bytes (plain, interleave 1), or
// the first 2 * interleave * nb bytes of each tile of interleave rows.
void fillQ2_0C(uint8_t *w, size_t bytes, int64_t k, int interleave, uint32_t seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < bytes; ++i)
    w[i] = static_cast<uint8_t>(rng());
  const size_t nb = static_cast<size_t>(k / 512), r = static_cast<size_t>(interleave);
  const size_t tile = r * nb * 130, scales = interleave > 1 ? r * nb : 1;
  const size_t stride = interleave > 1 ? tile : 130;
  for (size_t t = 0; t + stride <= bytes; t += stride)
    for (size_t i = 0; i < scales; ++i) {
      w[t + 2 * i] = 0x00;
      w[t + 2 * i + 1] = 0x2c;
    }
}

// Decode over activations quantized beforehand (the compiled model's path):
// rotating weight copies as runGemv, in the given layout.
void runGemvQ(benchmark::State &state, GemvQFn fn, int interleave, bool avx512 = true) {
  if (avx512 && !hasAvx512())
    return state.SkipWithError("no AVX-512");
  const int64_t n = state.range(0), k = state.range(1);
  const size_t matrix = static_cast<size_t>(n * (k / 512) * 130);
  const size_t copies = std::max<size_t>(2, kWorkingSet / matrix);
  auto *w = static_cast<uint8_t *>(std::aligned_alloc(64, (matrix * copies + 63) / 64 * 64));
  fillQ2_0C(w, matrix * copies, k, interleave, 7);
  std::vector<int8_t> q(static_cast<size_t>(k), 37);
  std::vector<float> steps(static_cast<size_t>(k / 32), 0.01f), y(static_cast<size_t>(n));
  size_t c = 0;
  for (auto _ : state) {
    if (fn(w + matrix * c, q.data(), steps.data(), y.data(), n, k) != HYK_OK)
      state.SkipWithError("kernel failed");
    c = (c + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix));
  std::free(w);
}

void runGemmQ(benchmark::State &state, GemmQFn fn, int interleave, bool avx512 = true) {
  if (avx512 && !hasAvx512())
    return state.SkipWithError("no AVX-512");
  const int64_t n = state.range(0), k = state.range(1), m = state.range(2);
  const size_t matrix = static_cast<size_t>(n * (k / 512) * 130);
  auto *w = static_cast<uint8_t *>(std::aligned_alloc(64, (matrix + 63) / 64 * 64));
  fillQ2_0C(w, matrix, k, interleave, 11);
  std::vector<int8_t> q(static_cast<size_t>(k * m));
  std::mt19937 rng(5);
  for (auto &v : q)
    v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<float> steps(static_cast<size_t>(k / 32 * m), 0.01f), y(static_cast<size_t>(n * m));
  for (auto _ : state) {
    if (fn(w, q.data(), steps.data(), y.data(), n, k, m) != HYK_OK)
      state.SkipWithError("kernel failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n * k * m));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * matrix));
  std::free(w);
}

// The compiled model's default x86-64-avx512 kernels: plain Q2_0C rows, and
// the Q2_0C/r8 layout lowbit-pack-weights chooses.
void BM_GemvQ2_0C_a8q_avx512(benchmark::State &s) {
  runGemvQ(s, hyk_gemv_q2_0c_a8q_avx512, 1);
}
void BM_GemvQ2_0C_r8_a8q_avx512(benchmark::State &s) {
  runGemvQ(s, hyk_gemv_q2_0c_r8_a8q_avx512, HYK_Q2_0C_R8_ROWS);
}
void BM_GemmQ2_0C_a8q_avx512(benchmark::State &s) {
  runGemmQ(s, hyk_gemm_q2_0c_a8q_avx512, 1);
}
void BM_GemmQ2_0C_r8_a8q_avx512(benchmark::State &s) {
  runGemmQ(s, hyk_gemm_q2_0c_r8_a8q_avx512, HYK_Q2_0C_R8_ROWS);
}

// The same on AVX2 (x86-64-avx2 --activations int8: vpmaddubsw + vpmaddwd).
void BM_GemvQ2_0C_a8q_avx2(benchmark::State &s) {
  runGemvQ(s, hyk_gemv_q2_0c_a8q_avx2, 1, false);
}
void BM_GemvQ2_0C_r8_a8q_avx2(benchmark::State &s) {
  runGemvQ(s, hyk_gemv_q2_0c_r8_a8q_avx2, HYK_Q2_0C_R8_ROWS, false);
}
void BM_GemmQ2_0C_a8q_avx2(benchmark::State &s) {
  runGemmQ(s, hyk_gemm_q2_0c_a8q_avx2, 1, false);
}
void BM_GemmQ2_0C_r8_a8q_avx2(benchmark::State &s) {
  runGemmQ(s, hyk_gemm_q2_0c_r8_a8q_avx2, HYK_Q2_0C_R8_ROWS, false);
}

// The tied Q8_0 lm_head with int8 activations (the x86-64-avx512 default).
void BM_GemvQ8_0_a8_avx512(benchmark::State &s) {
  if (!hasAvx512())
    return s.SkipWithError("no AVX-512");
  runGemv<32, 34>(s, hyk_gemv_q8_0_a8_avx512);
}
void BM_GemvQ8_0_avx2(benchmark::State &s) { runGemv<32, 34>(s, hyk_gemv_q8_0_avx2); }
void BM_GemvQ8_0_a8_avx2(benchmark::State &s) { runGemv<32, 34>(s, hyk_gemv_q8_0_a8_avx2); }
void BM_GemvQ8_0_avx512(benchmark::State &s) {
  if (!hasAvx512())
    return s.SkipWithError("no AVX-512");
  runGemv<32, 34>(s, hyk_gemv_q8_0_avx512);
}

// The full-size model's decode shapes (N, K): fused q/k/v, o, fused gate/up,
// down; and the tied lm_head.
void decodeShapes(benchmark::internal::Benchmark *b) {
  b->Args({3072, 2048})->Args({2048, 2048})->Args({12288, 2048})->Args({2048, 6144});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}
BENCHMARK(BM_GemvQ2_0C_avx2)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_avx512)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_a8_avx512)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_a8q_avx512)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_r8_a8q_avx512)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_a8q_avx2)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ2_0C_r8_a8q_avx2)->Apply(decodeShapes);
BENCHMARK(BM_GemvQ8_0_avx512)->Args({120818, 2048})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemvQ8_0_a8_avx512)->Args({120818, 2048})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemvQ8_0_avx2)->Args({120818, 2048})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GemvQ8_0_a8_avx2)->Args({120818, 2048})->Unit(benchmark::kMillisecond)->UseRealTime();
// Prefill chunks of 32 tokens over the same shapes.
void prefillShapes(benchmark::internal::Benchmark *b) {
  b->Args({3072, 2048, 32})->Args({2048, 2048, 32})->Args({12288, 2048, 32})->Args({2048, 6144, 32});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}
BENCHMARK(BM_GemmQ2_0C_avx512)->Apply(prefillShapes);
BENCHMARK(BM_GemmQ2_0C_a8_avx512)->Apply(prefillShapes);
BENCHMARK(BM_GemmQ2_0C_a8q_avx512)->Apply(prefillShapes);
BENCHMARK(BM_GemmQ2_0C_r8_a8q_avx512)->Apply(prefillShapes);
BENCHMARK(BM_GemmQ2_0C_a8q_avx2)->Apply(prefillShapes);
BENCHMARK(BM_GemmQ2_0C_r8_a8q_avx2)->Apply(prefillShapes);

} // namespace

BENCHMARK_MAIN();
