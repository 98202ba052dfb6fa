//===- GemvQ8_0Test.cpp - Unit tests for the Q8_0 GEMV kernels -----------===//
//
// hyk_gemv_q8_0_{avx2,avx512} against a double-precision reference written
// from the Q8_0 definition (blocks of 32: fp16 d, int8 qs[32]; w = qs * d).
// Bound per row: |y - ref| <= 1e-5 * sum_k |W[n,k] x[k]| + 1e-6. y sits between
// sentinel zones that must survive, and starts as NaN so unwritten rows fail.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hyk/kernels.h"

namespace {

using GemvFn = int32_t (*)(const uint8_t *, const float *, float *, int64_t,
                           int64_t);

struct Variant {
  const char *name;
  GemvFn fn;
  bool (*supported)();
};

bool HasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}
bool HasAvx512() {
  return HasAvx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
}

const Variant kVariants[] = {{"avx2", hyk_gemv_q8_0_avx2, HasAvx2},
                             {"avx512", hyk_gemv_q8_0_avx512, HasAvx512}};

class GemvQ8_0Test
    : public ::testing::TestWithParam<std::tuple<int, int64_t, int64_t>> {};

TEST_P(GemvQ8_0Test, MatchesReference) {
  const Variant &v = kVariants[std::get<0>(GetParam())];
  if (!v.supported())
    GTEST_SKIP() << v.name << " is not supported by this CPU";
  const int64_t n = std::get<1>(GetParam()), k = std::get<2>(GetParam());
  const int64_t rowBytes = k / 32 * 34;
  std::mt19937 rng(static_cast<uint32_t>(n * 131 + k));
  std::uniform_int_distribution<int> code(-128, 127), scale(1, 2047);
  std::normal_distribution<float> act(0.f, 1.f);
  std::vector<uint8_t> w(static_cast<size_t>(n * rowBytes));
  std::vector<float> x(static_cast<size_t>(k));
  for (float &f : x)
    f = act(rng);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t b = 0; b < k / 32; ++b) {
      uint8_t *blk = &w[static_cast<size_t>(r * rowBytes + b * 34)];
      _Float16 d = static_cast<_Float16>(scale(rng) / 65536.0f); // exact in f16
      std::memcpy(blk, &d, 2);
      for (int j = 0; j < 32; ++j)
        blk[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(code(rng)));
    }
  constexpr size_t kGuard = 16;
  const float sentinel = -12345.0f;
  std::vector<float> out(static_cast<size_t>(n) + 2 * kGuard, sentinel);
  float *y = out.data() + kGuard;
  std::fill(y, y + n, std::nanf(""));
  ASSERT_EQ(v.fn(w.data(), x.data(), y, n, k), HYK_OK);
  for (size_t i = 0; i < kGuard; ++i) {
    ASSERT_EQ(out[i], sentinel) << "guard before y overwritten";
    ASSERT_EQ(out[kGuard + n + i], sentinel) << "guard after y overwritten";
  }
  for (int64_t r = 0; r < n; ++r) {
    double ref = 0, mag = 0;
    for (int64_t b = 0; b < k / 32; ++b) {
      const uint8_t *blk = &w[static_cast<size_t>(r * rowBytes + b * 34)];
      _Float16 d;
      std::memcpy(&d, blk, 2);
      for (int j = 0; j < 32; ++j) {
        double t = static_cast<double>(d) * static_cast<int8_t>(blk[2 + j]) *
                   x[static_cast<size_t>(b * 32 + j)];
        ref += t;
        mag += std::fabs(t);
      }
    }
    ASSERT_NEAR(y[r], ref, 1e-5 * mag + 1e-6) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemvQ8_0Test,
    ::testing::Combine(::testing::Values(0, 1),
                       ::testing::Values<int64_t>(1, 5, 17, 63, 1000, 4099),
                       ::testing::Values<int64_t>(32, 96, 2048)),
    [](const auto &info) {
      return std::string(kVariants[std::get<0>(info.param)].name) + "_n" +
             std::to_string(std::get<1>(info.param)) + "_k" +
             std::to_string(std::get<2>(info.param));
    });

TEST(GemvQ8_0Errors, RejectsBadArguments) {
  std::vector<uint8_t> w(34 * 4);
  std::vector<float> x(64), y(4);
  EXPECT_EQ(hyk_gemv_q8_0_avx2(w.data(), x.data(), y.data(), 2, 48),
            HYK_ERR_K_NOT_BLOCKED_Q8_0);
  EXPECT_NE(std::string(hyk_status_message(HYK_ERR_K_NOT_BLOCKED_Q8_0)).find("32"),
            std::string::npos);
  EXPECT_EQ(hyk_gemv_q8_0_avx2(nullptr, x.data(), y.data(), 2, 64),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q8_0_avx2(w.data(), x.data(), y.data(), 0, 64),
            HYK_ERR_BAD_SHAPE);
}

} // namespace
