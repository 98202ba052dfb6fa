//===- PointwiseTest.cpp - hyk_rms_norm / hyk_rope / hyk_swiglu on x86 ----===//
//
// Every ISA variant against float64 references written from hyk/kernels.h:
// odd and real (HY-1.8B, tiny model) shapes, out of place with guard bytes
// around y and in place (y == x, as the compiled model calls them), plus the
// argument errors, which must leave y untouched.
//
//===----------------------------------------------------------------------===//
#include "KernelTestSupport.h"

#include "hyk/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using hyk_test::GuardedOutput;

struct Isa {
  const char *name;
  bool (*available)();
  decltype(&hyk_rms_norm_avx2) rms_norm;
  decltype(&hyk_rope_avx2) rope;
  decltype(&hyk_swiglu_avx2) swiglu;
};

void PrintTo(const Isa &isa, std::ostream *os) { *os << isa.name; }

const Isa kIsas[] = {
    {"avx2", hyk_test::CpuHasAvx2, hyk_rms_norm_avx2, hyk_rope_avx2, hyk_swiglu_avx2},
    {"avx512", hyk_test::CpuHasAvx512Zen4, hyk_rms_norm_avx512, hyk_rope_avx512,
     hyk_swiglu_avx512},
};

constexpr double kU = 1.0 / (1 << 24); // float32 unit roundoff

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float &f : v)
    f = dist(rng);
  return v;
}

/// Checks y (n floats) against want within |err| <= rel * mag + abs.
void ExpectClose(const float *y, const std::vector<double> &want,
                 const std::vector<double> &mag, double rel, double abs,
                 const std::string &what) {
  int failures = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::fabs(y[i] - want[i]);
    if (!(err <= rel * mag[i] + abs) && ++failures <= 3)
      ADD_FAILURE() << what << ": y[" << i << "] = " << y[i] << ", want " << want[i];
  }
}

class PointwiseTest : public ::testing::TestWithParam<Isa> {
protected:
  void SetUp() override {
    if (!GetParam().available())
      GTEST_SKIP() << "CPU lacks " << GetParam().name;
  }
};

TEST_P(PointwiseTest, RmsNormMatchesReference) {
  const Isa &isa = GetParam();
  // (groups, group size): HY's pre-norm and per-head q/k norm, the tiny
  // model's, sizes that are not multiples of any vector width.
  const int64_t shapes[][2] = {{1, 2048}, {16, 128}, {4, 64}, {1, 512}, {3, 7},
                               {5, 33}, {2, 1}, {7, 100}};
  for (const auto &s : shapes) {
    const int64_t groups = s[0], g = s[1], n = groups * g;
    std::vector<float> x = Random(n, 11 + n), gamma = Random(g, 7 + g, 2.0f);
    x[0] = 40.0f; // an outlier
    const float eps = 1e-5f;
    std::vector<double> want(n), mag(n);
    for (int64_t grp = 0; grp < groups; ++grp) {
      double ss = 0;
      for (int64_t i = 0; i < g; ++i)
        ss += double(x[grp * g + i]) * x[grp * g + i];
      const double inv = 1.0 / std::sqrt(ss / g + eps);
      for (int64_t i = 0; i < g; ++i) {
        want[grp * g + i] = x[grp * g + i] * inv * gamma[i];
        mag[grp * g + i] = std::fabs(want[grp * g + i]);
      }
    }
    const std::string what = std::string(isa.name) + " rms_norm " +
                             std::to_string(groups) + "x" + std::to_string(g);
    GuardedOutput out(n);
    ASSERT_EQ(isa.rms_norm(x.data(), gamma.data(), out.y(), groups, g, eps), HYK_OK) << what;
    EXPECT_TRUE(out.GuardsIntact()) << what << ": bytes around y were modified";
    // The sum of squares over g terms, then a few roundings per element.
    ExpectClose(out.y(), want, mag, (g / 8.0 + 16) * kU, 1e-30, what);
    std::vector<float> inplace = x;
    ASSERT_EQ(isa.rms_norm(inplace.data(), gamma.data(), inplace.data(), groups, g, eps),
              HYK_OK);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(inplace[i], out.at(i)) << what << " in place differs at " << i;
  }
}

TEST_P(PointwiseTest, RopeMatchesReference) {
  const Isa &isa = GetParam();
  // (heads, head_dim, position, base): HY's 16 q heads of 128 (its base,
  // scaled by dynamic NTK, is ~1.1e6), the tiny model's, odd sizes.
  struct Case {
    int64_t heads, d, pos;
    double base;
  } cases[] = {{16, 128, 0, 1e4},    {16, 128, 7, 1.1e6}, {4, 128, 4095, 1.1e6},
               {8, 64, 300, 1e4},    {3, 6, 2, 1e4},      {5, 34, 123456, 5e5},
               {1, 2, 1, 10.0},      {2, 2048, 17, 1e4},  {3, 256, 9, 1e4}};
  for (const Case &c : cases) {
    const int64_t n = c.heads * c.d, half = c.d / 2;
    std::vector<float> x = Random(n, 3 + n + c.pos);
    std::vector<double> want(n), mag(n);
    for (int64_t i = 0; i < half; ++i) {
      const double a = double(c.pos) * std::pow(c.base, double(i) * -2.0 / double(c.d));
      const double cs = float(std::cos(a)), sn = float(std::sin(a));
      for (int64_t h = 0; h < c.heads; ++h) {
        const double x0 = x[h * c.d + i], x1 = x[h * c.d + half + i];
        want[h * c.d + i] = x0 * cs - x1 * sn;
        want[h * c.d + half + i] = x1 * cs + x0 * sn;
        mag[h * c.d + i] = mag[h * c.d + half + i] = std::fabs(x0) + std::fabs(x1);
      }
    }
    const std::string what = std::string(isa.name) + " rope " + std::to_string(c.heads) +
                             "x" + std::to_string(c.d) + " pos " + std::to_string(c.pos);
    GuardedOutput out(n);
    ASSERT_EQ(isa.rope(x.data(), out.y(), c.heads, c.d, c.pos, c.base), HYK_OK) << what;
    EXPECT_TRUE(out.GuardsIntact()) << what << ": bytes around y were modified";
    ExpectClose(out.y(), want, mag, 4 * kU, 1e-30, what);
    std::vector<float> inplace = x;
    ASSERT_EQ(isa.rope(inplace.data(), inplace.data(), c.heads, c.d, c.pos, c.base), HYK_OK);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(inplace[i], out.at(i)) << what << " in place differs at " << i;
  }
}

TEST_P(PointwiseTest, SwigluMatchesReference) {
  const Isa &isa = GetParam();
  for (int64_t n : {1, 7, 31, 100, 6144, 12288}) {
    std::vector<float> gate = Random(n, 5 + n, 12.0f), up = Random(n, 9 + n, 3.0f);
    gate[0] = -100.0f; // exp overflows to inf: silu -> -0
    std::vector<double> want(n), mag(n);
    for (int64_t i = 0; i < n; ++i) {
      const double g = gate[i];
      want[i] = g / (1.0 + std::exp(-g)) * up[i];
      mag[i] = std::fabs(want[i]);
    }
    const std::string what = std::string(isa.name) + " swiglu " + std::to_string(n);
    GuardedOutput out(n);
    ASSERT_EQ(isa.swiglu(gate.data(), up.data(), out.y(), n), HYK_OK) << what;
    EXPECT_TRUE(out.GuardsIntact()) << what << ": bytes around y were modified";
    // Halide's exp is within a few ulp; a few roundings after it.
    ExpectClose(out.y(), want, mag, 64 * kU, 1e-30, what);
    std::vector<float> inplace = gate;
    ASSERT_EQ(isa.swiglu(inplace.data(), up.data(), inplace.data(), n), HYK_OK);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(inplace[i], out.at(i)) << what << " in place differs at " << i;
  }
}

TEST_P(PointwiseTest, ArgumentErrorsLeaveYUntouched) {
  const Isa &isa = GetParam();
  std::vector<float> x(64, 1.0f), gamma(64, 1.0f);
  GuardedOutput out(64);
  float *y = out.y();
  struct {
    const char *what;
    int32_t got, want;
  } c[] = {
      {"rms_norm null x", isa.rms_norm(nullptr, gamma.data(), y, 1, 64, 1e-5f), HYK_ERR_NULL_POINTER},
      {"rms_norm null gamma", isa.rms_norm(x.data(), nullptr, y, 1, 64, 1e-5f), HYK_ERR_NULL_POINTER},
      {"rms_norm null y", isa.rms_norm(x.data(), gamma.data(), nullptr, 1, 64, 1e-5f), HYK_ERR_NULL_POINTER},
      {"rms_norm groups 0", isa.rms_norm(x.data(), gamma.data(), y, 0, 64, 1e-5f), HYK_ERR_BAD_SHAPE},
      {"rms_norm size -1", isa.rms_norm(x.data(), gamma.data(), y, 1, -1, 1e-5f), HYK_ERR_BAD_SHAPE},
      {"rms_norm eps < 0", isa.rms_norm(x.data(), gamma.data(), y, 1, 64, -1.0f), HYK_ERR_BAD_SHAPE},
      {"rms_norm eps NaN", isa.rms_norm(x.data(), gamma.data(), y, 1, 64, NAN), HYK_ERR_BAD_SHAPE},
      {"rms_norm 2^31 bytes", isa.rms_norm(x.data(), gamma.data(), y, 1 << 20, 1 << 10, 1e-5f), HYK_ERR_TOO_LARGE},
      {"rope null x", isa.rope(nullptr, y, 1, 64, 0, 1e4), HYK_ERR_NULL_POINTER},
      {"rope odd head_dim", isa.rope(x.data(), y, 1, 63, 0, 1e4), HYK_ERR_BAD_SHAPE},
      {"rope heads 0", isa.rope(x.data(), y, 0, 64, 0, 1e4), HYK_ERR_BAD_SHAPE},
      {"rope pos < 0", isa.rope(x.data(), y, 1, 64, -1, 1e4), HYK_ERR_BAD_SHAPE},
      {"rope base 0", isa.rope(x.data(), y, 1, 64, 0, 0.0), HYK_ERR_BAD_SHAPE},
      {"rope head_dim 4096", isa.rope(x.data(), y, 1, 4096, 0, 1e4), HYK_ERR_TOO_LARGE},
      {"swiglu null up", isa.swiglu(x.data(), nullptr, y, 64), HYK_ERR_NULL_POINTER},
      {"swiglu n 0", isa.swiglu(x.data(), gamma.data(), y, 0), HYK_ERR_BAD_SHAPE},
      {"swiglu n 2^31", isa.swiglu(x.data(), gamma.data(), y, int64_t(1) << 31), HYK_ERR_TOO_LARGE},
  };
  for (const auto &e : c)
    EXPECT_EQ(e.got, e.want) << isa.name << " " << e.what;
  EXPECT_TRUE(out.GuardsIntact());
  for (int i = 0; i < 64; ++i)
    ASSERT_TRUE(std::isnan(out.at(i))) << isa.name << ": y written by an erroneous call";
}

// ---- The int8-activation rounding (AVX2, AVX-512) -----------------------------------

// hyk/kernels.h's quantization, element by element: element e of a row is in
// group 16 (e / 512) + (e % 256) / 16.
void ReferenceQuantize(const float *x, int64_t k, std::vector<int8_t> &q,
                       std::vector<float> &steps) {
  std::vector<float> m(k / 32, 0.0f);
  auto group = [](int64_t e) { return 16 * (e / 512) + (e % 256) / 16; };
  for (int64_t e = 0; e < k; ++e)
    m[group(e)] = std::fmax(m[group(e)], std::fabs(x[e]));
  q.assign(k, 0);
  steps.assign(k / 32, 0.0f);
  for (int64_t g = 0; g < k / 32; ++g)
    steps[g] = m[g] * (1.0f / 127);
  for (int64_t e = 0; e < k; ++e) {
    const float inv = m[group(e)] > 0.0f ? 127.0f / m[group(e)] : 0.0f;
    q[e] = static_cast<int8_t>(std::nearbyint(x[e] * inv));
  }
}

// The rounding kernels of each ISA that has the int8-activation kernels.
struct QuantIsa {
  const char *name;
  bool (*available)();
  decltype(&hyk_quantize_avx2) quantize;
  decltype(&hyk_rms_norm_quantize_avx2) rms_norm_quantize;
  decltype(&hyk_rms_norm_avx2) rms_norm;
};

void PrintTo(const QuantIsa &isa, std::ostream *os) { *os << isa.name; }

const QuantIsa kQuantIsas[] = {
    {"avx2", hyk_test::CpuHasAvx2, hyk_quantize_avx2, hyk_rms_norm_quantize_avx2,
     hyk_rms_norm_avx2},
    {"avx512", hyk_test::CpuHasAvx512Zen4, hyk_quantize_avx512, hyk_rms_norm_quantize_avx512,
     hyk_rms_norm_avx512},
};

class QuantizeTest : public ::testing::TestWithParam<QuantIsa> {};

TEST_P(QuantizeTest, MatchesReferenceBitForBit) {
  const QuantIsa &isa = GetParam();
  if (!isa.available())
    GTEST_SKIP() << "CPU lacks " << isa.name;
  for (int64_t k : {512, 2048, 6144})
    for (int64_t rows : {1, 3}) {
      std::vector<float> x = Random(rows * k, 17 + k + rows, 3.0f);
      for (int64_t i = 0; i < 32; ++i) // one all-zero group (b 0, l 1)
        x[(i / 16) * 256 + 16 + i % 16] = 0.0f;
      x[5] = 1e4f; // an outlier
      GuardedOutput steps(rows * k / 32);
      std::vector<int8_t> q(rows * k + 128, 0x5A);
      ASSERT_EQ(isa.quantize(x.data(), q.data() + 64, steps.y(), rows, k), HYK_OK);
      EXPECT_TRUE(steps.GuardsIntact());
      for (int i = 0; i < 64; ++i)
        ASSERT_TRUE(q[i] == 0x5A && q[64 + rows * k + i] == 0x5A) << "q's guards were hit";
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int8_t> wq;
        std::vector<float> ws;
        ReferenceQuantize(x.data() + r * k, k, wq, ws);
        for (int64_t e = 0; e < k; ++e)
          ASSERT_EQ(q[64 + r * k + e], wq[e]) << "k " << k << " row " << r << " q[" << e << "]";
        for (int64_t g = 0; g < k / 32; ++g)
          ASSERT_EQ(steps.at(r * (k / 32) + g), ws[g]) << "k " << k << " step " << g;
      }
    }
}

// rms_norm_quantize = quantize(rms_norm(x)) exactly (the same sum order),
// and rms_norm within its bound of the float64 norm.
TEST_P(QuantizeTest, RmsNormQuantizeIsQuantizeOfRmsNorm) {
  const QuantIsa &isa = GetParam();
  if (!isa.available())
    GTEST_SKIP() << "CPU lacks " << isa.name;
  for (int64_t k : {512, 2048}) {
    const int64_t rows = 2;
    std::vector<float> x = Random(rows * k, 23 + k), gamma = Random(k, 29 + k, 2.0f);
    std::vector<float> normed(rows * k), steps(rows * k / 32), steps2(rows * k / 32);
    std::vector<int8_t> q(rows * k), q2(rows * k);
    ASSERT_EQ(isa.rms_norm(x.data(), gamma.data(), normed.data(), rows, k, 1e-6f), HYK_OK);
    ASSERT_EQ(isa.quantize(normed.data(), q.data(), steps.data(), rows, k), HYK_OK);
    ASSERT_EQ(isa.rms_norm_quantize(x.data(), gamma.data(), q2.data(), steps2.data(),
                                           rows, k, 1e-6f),
              HYK_OK);
    EXPECT_EQ(q, q2) << "k " << k;
    EXPECT_EQ(steps, steps2) << "k " << k;
  }
}

TEST_P(QuantizeTest, ArgumentErrors) {
  const QuantIsa &isa = GetParam();
  if (!isa.available())
    GTEST_SKIP() << "CPU lacks " << isa.name;
  std::vector<float> x(1024, 1.0f), steps(32, -1.0f);
  std::vector<int8_t> q(1024, 7);
  EXPECT_EQ(isa.quantize(x.data(), q.data(), steps.data(), 1, 1000), HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(isa.quantize(nullptr, q.data(), steps.data(), 1, 512), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(isa.quantize(x.data(), q.data(), steps.data(), 0, 512), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(isa.rms_norm_quantize(x.data(), nullptr, q.data(), steps.data(), 1, 512, 1e-5f),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(isa.rms_norm_quantize(x.data(), x.data(), q.data(), steps.data(), 1, 512, -1.0f),
            HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(q, std::vector<int8_t>(1024, 7)) << "q written by an erroneous call";
  EXPECT_EQ(steps, std::vector<float>(32, -1.0f)) << "steps written by an erroneous call";
}

INSTANTIATE_TEST_SUITE_P(Isas, QuantizeTest, ::testing::ValuesIn(kQuantIsas),
                         [](const ::testing::TestParamInfo<QuantIsa> &info) {
                           return std::string(info.param.name);
                         });

INSTANTIATE_TEST_SUITE_P(Isas, PointwiseTest, ::testing::ValuesIn(kIsas),
                         [](const ::testing::TestParamInfo<Isa> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
