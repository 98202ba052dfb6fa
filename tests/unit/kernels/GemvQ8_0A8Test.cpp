//===- GemvQ8_0A8Test.cpp - the Q8_0 GEMV with int8 activations -----------===//
//
// hyk_gemv_q8_0_a8_avx512 against a reference written from kernels.h: x is
// rounded per Q8_0 block of 32 consecutive values (m = max|x|, s = m *
// (1.0f/127), q = round-half-even(x * (127.0f/m)), all float32), then
// y = sum W (q s) in double.
//
// Bound per row. The kernel's integer dot products are exact; per block it
// rounds d * s once and the int32 lane sum's conversion is exact (|sum| <
// 2^24), then each of the 8 float lanes accumulates K/32 products (one FMA
// rounding each) and the 8 lanes are added: every term passes through at most
// K/32 + 8 + 2 roundings of relative size 2^-24, so
//   |y - ref| <= (K/32 + 10) 2^-24 sum |W q s|   (+1e-30 for all-zero rows).
// Weights and x end right before a PROT_NONE page; y sits between sentinels.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hyk/kernels.h"

namespace {

constexpr const char *kNoCpu =
    "hyk_gemv_q8_0_a8_avx512 needs the AVX-512 of Zen 4 / Sapphire Rapids";

/// kernels.h's rounding of x, per block of 32: q * s in double.
std::vector<double> RoundActivations(const float *x, int64_t k) {
  std::vector<double> xr(static_cast<size_t>(k));
  for (int64_t b = 0; b < k / 32; ++b)
    hyk_test::RoundGroupInt8(x, [&](int i) { return b * 32 + i; }, 32, xr.data());
  return xr;
}

struct Problem {
  int64_t n, k;
  hyk_test::GuardedBuffer w, x;
  Problem(int64_t n, int64_t k, uint32_t seed)
      : n(n), k(k), w(static_cast<size_t>(n * (k / 32) * 34)),
        x(static_cast<size_t>(k) * sizeof(float)) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> code(-128, 127), scale(1, 2047);
    std::normal_distribution<float> act(0.f, 1.f);
    for (int64_t blk = 0; blk < n * (k / 32); ++blk) {
      uint8_t *p = w.data() + blk * 34;
      const uint16_t d = static_cast<uint16_t>(0x1000 + scale(rng)); // normal fp16
      std::memcpy(p, &d, 2);
      for (int j = 0; j < 32; ++j)
        p[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(code(rng)));
    }
    for (int64_t i = 0; i < k; ++i)
      xs()[i] = act(rng);
    // One all-zero block when there are several: its scale must be 0, not NaN.
    if (k >= 64)
      std::memset(xs() + 32, 0, 32 * sizeof(float));
  }
  float *xs() const { return reinterpret_cast<float *>(x.data()); }
  double weight(int64_t r, int64_t i) const {
    const uint8_t *blk = w.data() + (r * (k / 32) + i / 32) * 34;
    uint16_t d;
    std::memcpy(&d, blk, 2);
    return static_cast<double>(hyk_test::HalfToFloat(d)) *
           static_cast<int8_t>(blk[2 + i % 32]);
  }
};

using Q8_0A8Fn = decltype(&hyk_gemv_q8_0_a8_avx512);

// The kernel's rows against the double reference of the rounded x.
void CheckAgainstReference(Q8_0A8Fn fn, int64_t n, int64_t k) {
  Problem p(n, k, static_cast<uint32_t>(n * 131 + k));
  ASSERT_TRUE(p.w.ok() && p.x.ok());
  hyk_test::GuardedOutput out(n);
  ASSERT_EQ(fn(p.w.data(), p.xs(), out.y(), n, k), HYK_OK);
  ASSERT_TRUE(out.GuardsIntact());
  const std::vector<double> xr = RoundActivations(p.xs(), k);
  const double rel = (k / 32 + 10) * std::ldexp(1.0, -24);
  for (int64_t r = 0; r < n; ++r) {
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < k; ++i) {
      const double t = p.weight(r, i) * xr[static_cast<size_t>(i)];
      ref += t;
      mag += std::fabs(t);
    }
    ASSERT_NEAR(out.at(r), ref, rel * mag + 1e-30) << "row " << r;
  }
}

class GemvQ8_0A8Test : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(GemvQ8_0A8Test, MatchesInt8Reference) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  CheckAgainstReference(hyk_gemv_q8_0_a8_avx512, std::get<0>(GetParam()),
                        std::get<1>(GetParam()));
}

// The AVX2 form (vpmaddubsw of |qs| and q signed like qs).
class GemvQ8_0A8Avx2Test : public ::testing::TestWithParam<std::tuple<int64_t, int64_t>> {};

TEST_P(GemvQ8_0A8Avx2Test, MatchesInt8Reference) {
  if (!hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks AVX2";
  CheckAgainstReference(hyk_gemv_q8_0_a8_avx2, std::get<0>(GetParam()),
                        std::get<1>(GetParam()));
}

// The largest int16 pair sums vpmaddubsw can see (|qs| = 128 or 127 against
// q = +-127, same and opposite signs) come out exact: no saturation.
TEST(GemvQ8_0A8Avx2, ExtremeCodesDoNotSaturate) {
  if (!hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks AVX2";
  const int64_t n = 4, k = 64;
  hyk_test::GuardedBuffer w(static_cast<size_t>(n * 2 * 34)), xb(k * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  float *x = reinterpret_cast<float *>(xb.data());
  for (int64_t i = 0; i < k; ++i)
    x[i] = i % 3 == 2 ? -1.0f : 1.0f; // q = +-127, s = 1/127
  const int8_t codes[4] = {-128, 127, -127, -128};
  const uint16_t one = 0x3C00;
  for (int64_t r = 0; r < n; ++r)
    for (int b = 0; b < 2; ++b) {
      uint8_t *blk = w.data() + (r * 2 + b) * 34;
      std::memcpy(blk, &one, 2);
      for (int j = 0; j < 32; ++j) // row 3 alternates -128 / 127
        blk[2 + j] = static_cast<uint8_t>(r == 3 && j % 2 ? int8_t{127} : codes[r]);
    }
  hyk_test::GuardedOutput out(n);
  ASSERT_EQ(hyk_gemv_q8_0_a8_avx2(w.data(), x, out.y(), n, k), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact());
  const float s = 1.0f * (1.0f / 127);
  for (int64_t r = 0; r < n; ++r) {
    double want = 0;
    for (int64_t i = 0; i < k; ++i) {
      const int c = r == 3 && (i % 32) % 2 ? 127 : codes[r];
      want += c * (x[i] > 0 ? 127.0 : -127.0) * static_cast<double>(s);
    }
    EXPECT_NEAR(out.at(r), want, 1e-5 * std::fabs(want) + 1e-6) << "row " << r;
  }
}

// Rows off every task and unroll size; K of 1, 3 and 64 blocks.
const auto kQ8_0Shapes = ::testing::Combine(::testing::Values<int64_t>(1, 5, 17, 63, 1000, 4099),
                                            ::testing::Values<int64_t>(32, 96, 2048));
std::string Q8_0ShapeName(const ::testing::TestParamInfo<std::tuple<int64_t, int64_t>> &info) {
  return "n" + std::to_string(std::get<0>(info.param)) + "_k" +
         std::to_string(std::get<1>(info.param));
}
INSTANTIATE_TEST_SUITE_P(Shapes, GemvQ8_0A8Test, kQ8_0Shapes, Q8_0ShapeName);
INSTANTIATE_TEST_SUITE_P(Shapes, GemvQ8_0A8Avx2Test, kQ8_0Shapes, Q8_0ShapeName);

// The kernel really rounds x to int8: against float math its error has the
// size int8 rounding predicts (far above the float summation error a 24-bit
// kernel would show), and near-tie values round as the reference rounds them.
TEST(GemvQ8_0A8, DiffersFromFloatMathByTheRounding) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 64, k = 2048;
  Problem p(n, k, 99);
  hyk_test::GuardedOutput out(n);
  ASSERT_EQ(hyk_gemv_q8_0_a8_avx512(p.w.data(), p.xs(), out.y(), n, k), HYK_OK);
  double worst = 0;
  for (int64_t r = 0; r < n; ++r) {
    double exact = 0, mag = 0;
    for (int64_t i = 0; i < k; ++i) {
      exact += p.weight(r, i) * p.xs()[i];
      mag += std::fabs(p.weight(r, i) * p.xs()[i]);
    }
    worst = std::fmax(worst, std::fabs(out.at(r) - exact) / mag);
  }
  // Rounding to 1/127 of a block's max moves each product by up to ~0.4%;
  // summed with random signs over 2048 terms the row error is ~1e-4 of
  // sum|w x|. A 3-digit (24-bit) kernel would stay below ~1e-6.
  EXPECT_GT(worst, 2e-5);
  EXPECT_LT(worst, 2e-2);

  // One row, one block, weights all 1 (d = 1), x = {1, 1.5/127, 2.5/127, 0...}:
  // m = 1, so x[1] and x[2] scale to (about) 1.5 and 2.5, right at rounding
  // ties; the kernel must agree with the reference's float32 rounding of them.
  hyk_test::GuardedBuffer w1(34), x1(32 * sizeof(float));
  ASSERT_TRUE(w1.ok() && x1.ok());
  const uint16_t one = 0x3C00;
  std::memcpy(w1.data(), &one, 2);
  std::memset(w1.data() + 2, 1, 32);
  float *xv = reinterpret_cast<float *>(x1.data());
  std::memset(xv, 0, 32 * sizeof(float));
  xv[0] = 1.0f;
  xv[1] = 1.5f / 127.0f;
  xv[2] = 2.5f / 127.0f;
  float y = 0;
  ASSERT_EQ(hyk_gemv_q8_0_a8_avx512(w1.data(), xv, &y, 1, 32), HYK_OK);
  const std::vector<double> xr = RoundActivations(xv, 32);
  const double s = 1.0f * (1.0f / 127.0f);
  EXPECT_NEAR(y, xr[0] + xr[1] + xr[2], 1e-6);
  EXPECT_NE(static_cast<double>(y), 1.0 + 1.5 / 127 + 2.5 / 127);
  EXPECT_NEAR(xr[0], 127 * s, 1e-9);
}

TEST(GemvQ8_0A8, RejectsBadArguments) {
  std::vector<uint8_t> w(34 * 4);
  std::vector<float> x(64), y(4);
  EXPECT_EQ(hyk_gemv_q8_0_a8_avx512(w.data(), x.data(), y.data(), 2, 48),
            HYK_ERR_K_NOT_BLOCKED_Q8_0);
  EXPECT_EQ(hyk_gemv_q8_0_a8_avx512(nullptr, x.data(), y.data(), 2, 64),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q8_0_a8_avx512(w.data(), x.data(), y.data(), 0, 64),
            HYK_ERR_BAD_SHAPE);
}

} // namespace
