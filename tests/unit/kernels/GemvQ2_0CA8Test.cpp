//===- GemvQ2_0CA8Test.cpp - Unit tests for the int8-activation Q2_0C kernels ===//
//
// hyk_gemv_q2_0c_a8_avx512 (decode) and hyk_gemm_q2_0c_a8_avx512 (prefill)
// (and their pre-quantized forms, _a8q, against them) against a scalar reference written from hyk/kernels.h: x is rounded to int8
// with one scale per group of 32 (group (b, l) = elements 512 b + 256 h +
// 16 l + i, h < 2, i < 16), in float32 exactly as documented
//   amax = max |x| over the group, s = amax * (1.0f / 127),
//   q = nearbyint(x * (127.0f / amax)) (round half to even; 0 if amax = 0),
// then ref[n] = sum_k W[n,k] * (q_k * s_k) in double.
//
// Accuracy bound, per output row (B = K / 512 blocks, u = 2^-24):
//   |y[n] - ref[n]| <= 9 (B + 24) u * sum_k |W[n,k] q_k s_k| + 1e-30
// Why: the kernels' integer part is exact (sum c q per lane fits int32 and
// converts to float exactly: |64 sum c q| <= 64 * 3 * 127 * 32 < 2^24), and
// they use the same float32 s as the reference. What is left is float32
// rounding of, per lane and block, d * s * 2 sum c q and d * s * 3 sum q
// (the two terms the kernel subtracts), each at most 6 resp. 3 times
// |d| s sum |q| <= |d| s sum |(2c - 3) q|, so together <= 9x the row's
// sum |W q s|; each is rounded in a couple of products and accumulated over
// B blocks, 16 lanes and a final subtraction: fewer than B + 24 roundings of
// relative size u. That is ~1.5e-5 of sum |W q s| at K = 2048, about 7x below
// the deviation the int8 rounding itself causes (~1e-4 there; see
// QuantizationErrorHasTheExpectedSize), so a kernel that skipped the rounding
// would fail this bound as well as that test.
//
// Memory discipline as in GemvQ2_0CTest.cpp: w and x end right before a
// PROT_NONE page, y sits between sentinel zones and starts as NaN.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "hyk/kernels.h"

#include "KernelTestSupport.h"

namespace {

using hyk_test::GuardedBuffer;
using hyk_test::GuardedOutput;
using hyk_test::HalfToFloat;

constexpr int64_t kBlockWeights = HYK_Q2_0C_BLOCK_WEIGHTS;
constexpr int64_t kBlockBytes = HYK_Q2_0C_BLOCK_BYTES;
constexpr double kUnitRoundoff = 1.0 / (1 << 24);

const char *kNoCpu = "CPU lacks the avx512_zen4 features of the avx512 kernels";

// Element i (< 32) of activation group l (< 16) of block b.
int64_t GroupElement(int64_t b, int l, int i) {
  return b * kBlockWeights + (i / 16) * 256 + l * 16 + i % 16;
}

// x (k elements) as the kernels see it: q * s per element, from the float32
// steps documented in kernels.h.
std::vector<double> QuantizedActivations(const float *x, int64_t k) {
  std::vector<double> xq(static_cast<size_t>(k), 0.0);
  for (int64_t b = 0; b < k / kBlockWeights; ++b)
    for (int l = 0; l < 16; ++l)
      hyk_test::RoundGroupInt8(x, [&](int i) { return GroupElement(b, l, i); }, 32,
                               xq.data());
  return xq;
}

// Weight i of a Q2_0C row, from the format definition.
double Weight(const uint8_t *row, int64_t i) {
  const uint8_t *block = row + (i / kBlockWeights) * kBlockBytes;
  const double d = HalfToFloat(static_cast<uint16_t>(block[0] | (block[1] << 8)));
  const int64_t j = i % kBlockWeights;
  const int c = (block[2 + j / 4] >> (2 * (j % 4))) & 3;
  return (2 * c - 3) * d;
}

// ref[n] = sum W[n,k] a[k] and mag[n] = sum |W[n,k] a[k]|, in double.
void Reference(const uint8_t *w, const std::vector<double> &a, int64_t n, int64_t k,
               std::vector<double> *ref, std::vector<double> *mag) {
  const int64_t row_bytes = k / kBlockWeights * kBlockBytes;
  ref->assign(static_cast<size_t>(n), 0.0);
  mag->assign(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    double acc = 0, abs_acc = 0;
    for (int64_t i = 0; i < k; ++i) {
      const double t = Weight(w + r * row_bytes, i) * a[static_cast<size_t>(i)];
      acc += t;
      abs_acc += std::fabs(t);
    }
    (*ref)[static_cast<size_t>(r)] = acc;
    (*mag)[static_cast<size_t>(r)] = abs_acc;
  }
}

double Bound(double mag, int64_t k) {
  return 9.0 * static_cast<double>(k / kBlockWeights + 24) * kUnitRoundoff * mag + 1e-30;
}

// Random Q2_0C weights: normal fp16 scales in [2^-14, 2^4) of either sign,
// with some zeros and subnormals; random codes.
void FillWeights(uint8_t *w, int64_t blocks, std::mt19937 &rng) {
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t *block = w + b * kBlockBytes;
    uint16_t h;
    const uint32_t kind = rng() % 64;
    if (kind == 0)
      h = 0;
    else if (kind == 1)
      h = static_cast<uint16_t>(1 + rng() % 0x3ff);
    else
      h = static_cast<uint16_t>(((1 + rng() % 19) << 10) | (rng() & 0x3ff));
    if (rng() & 1)
      h |= 0x8000;
    block[0] = static_cast<uint8_t>(h & 0xff);
    block[1] = static_cast<uint8_t>(h >> 8);
    for (int64_t i = 2; i < kBlockBytes; ++i)
      block[i] = static_cast<uint8_t>(rng());
  }
}

// Activations in [-1, 1], every 97th times 30 (groups of different scales),
// and group (0, 5) all zero (its scale is 0: no 0 * inf).
void FillActivations(float *x, int64_t k, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < k; ++i)
    x[i] = dist(rng) * (i % 97 == 0 ? 30.0f : 1.0f);
  for (int i = 0; i < 32; ++i)
    x[GroupElement(0, 5, i)] = 0.0f;
}

// Compares out[0..n) with ref within Bound; returns the number of failures
// (reporting the first few) and sets *worst to the largest |err| / bound.
int CheckRows(const GuardedOutput &out, int64_t offset, const std::vector<double> &ref,
              const std::vector<double> &mag, int64_t k, const std::string &what,
              double *worst) {
  int failures = 0;
  for (size_t r = 0; r < ref.size(); ++r) {
    const double got = out.at(offset + static_cast<int64_t>(r));
    const double bound = Bound(mag[r], k);
    const double err = std::fabs(got - ref[r]);
    *worst = std::max(*worst, err / bound);
    if (!(err <= bound) && ++failures <= 5) // also catches NaN
      ADD_FAILURE() << what << " row " << r << ": got " << got << ", want " << ref[r]
                    << " (|err| " << err << " > bound " << bound << ")";
  }
  return failures;
}

// ---- GEMV (decode) ------------------------------------------------------------

struct GemvShape {
  int64_t n, k;
};

void PrintTo(const GemvShape &s, std::ostream *os) { *os << "n=" << s.n << " k=" << s.k; }

std::vector<GemvShape> GemvShapes() {
  std::vector<GemvShape> shapes;
  // Row counts off every task and unroll size, 1..5 blocks.
  for (int64_t n : {1, 3, 7, 17, 65, 257, 1000})
    for (int64_t k : {512, 1024, 2560})
      shapes.push_back({n, k});
  // HY-1.8B decode shapes: fused qkv, o, fused gate+up, down.
  for (GemvShape s : {GemvShape{3072, 2048}, {2048, 2048}, {12288, 2048}, {2048, 6144}})
    shapes.push_back(s);
  return shapes;
}

class GemvQ2_0CA8Test : public testing::TestWithParam<GemvShape> {};

TEST_P(GemvQ2_0CA8Test, MatchesQuantizedReference) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const GemvShape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.n * 7919 + s.k * 31 + 11));
  GuardedBuffer w(static_cast<size_t>(s.n * (s.k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(s.k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok()) << "guarded allocation failed";
  float *x = reinterpret_cast<float *>(xb.data());
  FillWeights(w.data(), s.n * (s.k / kBlockWeights), rng);
  FillActivations(x, s.k, rng);
  std::vector<double> ref, mag;
  Reference(w.data(), QuantizedActivations(x, s.k), s.n, s.k, &ref, &mag);

  GuardedOutput out(s.n);
  ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x, out.y(), s.n, s.k), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact()) << "bytes around y were modified";
  double worst = 0;
  const int failures = CheckRows(out, 0, ref, mag, s.k, "gemv", &worst);
  EXPECT_EQ(failures, 0) << failures << " of " << s.n << " rows out of bounds";
  RecordProperty("worst_err_over_bound", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemvQ2_0CA8Test, testing::ValuesIn(GemvShapes()),
                         [](const testing::TestParamInfo<GemvShape> &info) {
                           return "n" + std::to_string(info.param.n) + "_k" +
                                  std::to_string(info.param.k);
                         });

// All-zero activations (every group's scale 0) and all-zero weight scales:
// exactly 0, never NaN.
TEST(GemvQ2_0CA8Zero, ZeroActivationsAndScalesGiveZero) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 37, k = 1536;
  std::mt19937 rng(5);
  GuardedBuffer w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  float *x = reinterpret_cast<float *>(xb.data());
  FillWeights(w.data(), n * (k / kBlockWeights), rng);
  std::fill(x, x + k, 0.0f);
  GuardedOutput out(n);
  ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x, out.y(), n, k), HYK_OK);
  for (int64_t r = 0; r < n; ++r)
    EXPECT_EQ(out.at(r), 0.0f) << "row " << r << " with x = 0";
  // Nonzero x, every weight scale 0.
  FillActivations(x, k, rng);
  for (int64_t b = 0; b < n * (k / kBlockWeights); ++b)
    w.data()[b * kBlockBytes] = w.data()[b * kBlockBytes + 1] = 0;
  GuardedOutput out2(n);
  ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x, out2.y(), n, k), HYK_OK);
  for (int64_t r = 0; r < n; ++r)
    EXPECT_EQ(out2.at(r), 0.0f) << "row " << r << " with d = 0";
  EXPECT_TRUE(out.GuardsIntact() && out2.GuardsIntact());
}

// The kernels really round x to int8 per group of 32: with weights all +3
// (code 3, d = 1) and each group {127, then 31 values that are halves or
// small}, the int8 result is computable by hand and far from the float one,
// while the 24-bit kernel (hyk_gemv_q2_0c_avx512) keeps the float math (~2%
// apart). Also pins round-half-to-even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 ->
// -2; round-half-away would give 1, 2, 3, -3).
TEST(GemvQ2_0CA8Rounding, RoundsActivationsToInt8PerGroup) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 3, k = 1024;
  GuardedBuffer w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  for (int64_t b = 0; b < n * (k / kBlockWeights); ++b) {
    uint8_t *block = w.data() + b * kBlockBytes;
    block[0] = 0x00; // fp16 1.0 = 0x3C00
    block[1] = 0x3C;
    std::memset(block + 2, 0xFF, kBlockBytes - 2); // every code 3: weight +3
  }
  float *x = reinterpret_cast<float *>(xb.data());
  // amax 127 makes 127 / amax = 1: q = nearbyint(x) exactly, and s =
  // 127 * (1.0f / 127) = 1 to within an ulp.
  const float tail[] = {0.5f, 1.5f, 2.5f, -2.5f, 0.5f, 0.25f, 3.0f};
  double float_sum = 0, int8_sum = 0;
  for (int64_t b = 0; b < k / kBlockWeights; ++b)
    for (int l = 0; l < 16; ++l)
      for (int i = 0; i < 32; ++i) {
        const float v = i == 0 ? 127.0f : tail[(i + l) % 7];
        x[GroupElement(b, l, i)] = v;
        float_sum += v;
        int8_sum += std::nearbyint(v);
      }
  // By hand, per group of 32: the tail's halves round to even.
  ASSERT_EQ(std::nearbyint(0.5f), 0.0f);
  ASSERT_EQ(std::nearbyint(2.5f), 2.0f);
  ASSERT_EQ(std::nearbyint(-2.5f), -2.0f);
  const double want_int8 = 3 * int8_sum, want_float = 3 * float_sum;
  ASSERT_GT(std::fabs(want_int8 - want_float), 0.01 * std::fabs(want_float));

  GuardedOutput a8(n), f32(n);
  ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x, a8.y(), n, k), HYK_OK);
  ASSERT_EQ(hyk_gemv_q2_0c_avx512(w.data(), x, f32.y(), n, k), HYK_OK);
  for (int64_t r = 0; r < n; ++r) {
    // Integer sums well below 2^24 times s = 1 +- 1 ulp.
    EXPECT_NEAR(a8.at(r), want_int8, 1e-6 * want_int8)
        << "row " << r << " (float math: " << want_float << ")";
    EXPECT_NEAR(f32.at(r), want_float, 1e-4 * want_float) << "row " << r;
  }
}

// On random data the int8 kernel's deviation from the float math has the
// size int8 rounding predicts: per element an error e uniform in
// [-s/2, s/2] (variance s^2 / 12), so per row a variance
// sum_k W[n,k]^2 s_k^2 / 12. The mean of (deviation / predicted sd)^2 over
// 2048 rows must be ~1 (31/32 of it: each group's largest element is exact;
// sampling sd ~0.03). A kernel that did not round (24-bit digits) gives ~0,
// one that rounded more coarsely gives > 1.
TEST(GemvQ2_0CA8Rounding, QuantizationErrorHasTheExpectedSize) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 2048, k = 2048;
  std::mt19937 rng(77);
  GuardedBuffer w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  float *x = reinterpret_cast<float *>(xb.data());
  FillWeights(w.data(), n * (k / kBlockWeights), rng);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < k; ++i)
    x[i] = dist(rng);
  std::vector<double> exact(static_cast<size_t>(k)), step(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i)
    exact[static_cast<size_t>(i)] = x[i];
  for (int64_t b = 0; b < k / kBlockWeights; ++b)
    for (int l = 0; l < 16; ++l) {
      float amax = 0.0f;
      for (int i = 0; i < 32; ++i)
        amax = std::max(amax, std::fabs(x[GroupElement(b, l, i)]));
      for (int i = 0; i < 32; ++i)
        step[static_cast<size_t>(GroupElement(b, l, i))] = amax / 127.0;
    }
  std::vector<double> ref, mag;
  Reference(w.data(), exact, n, k, &ref, &mag);

  GuardedOutput a8(n), f32(n);
  ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x, a8.y(), n, k), HYK_OK);
  ASSERT_EQ(hyk_gemv_q2_0c_avx512(w.data(), x, f32.y(), n, k), HYK_OK);
  const int64_t row_bytes = k / kBlockWeights * kBlockBytes;
  double z2_a8 = 0, z2_f32 = 0;
  int64_t rows = 0;
  for (int64_t r = 0; r < n; ++r) {
    double var = 0;
    for (int64_t i = 0; i < k; ++i) {
      const double t = Weight(w.data() + r * row_bytes, i) * step[static_cast<size_t>(i)];
      var += t * t / 12;
    }
    if (var == 0)
      continue; // all of the row's scales are 0
    const double dev_a8 = a8.at(r) - ref[static_cast<size_t>(r)];
    const double dev_f32 = f32.at(r) - ref[static_cast<size_t>(r)];
    z2_a8 += dev_a8 * dev_a8 / var;
    z2_f32 += dev_f32 * dev_f32 / var;
    ++rows;
  }
  ASSERT_GT(rows, n / 2);
  z2_a8 /= static_cast<double>(rows);
  z2_f32 /= static_cast<double>(rows);
  EXPECT_GT(z2_a8, 0.8) << "int8 kernel deviates less from float math than int8 rounding "
                           "would: is it still rounding x to int8?";
  EXPECT_LT(z2_a8, 1.25) << "int8 kernel deviates more from float math than int8 "
                            "rounding explains";
  EXPECT_LT(z2_f32, 0.01) << "the 24-bit kernel should be far closer to float math";
  RecordProperty("mean_z2_int8", std::to_string(z2_a8));
  RecordProperty("mean_z2_24bit", std::to_string(z2_f32));
}

TEST(GemvQ2_0CA8Errors, RejectsBadArguments) {
  // The argument checks run before any AVX-512 code: this runs on any CPU.
  const int64_t n = 4, k = 1024;
  std::vector<uint8_t> w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes), 0);
  std::vector<float> x(static_cast<size_t>(k), 1.0f);
  GuardedOutput out(n);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), out.y(), n, 768),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(nullptr, x.data(), out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), nullptr, out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), nullptr, n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), out.y(), 0, k), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), out.y(), n, -512), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), out.y(), int64_t{1} << 31, k),
            HYK_ERR_TOO_LARGE);
  EXPECT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x.data(), out.y(), 1, int64_t{1} << 40),
            HYK_ERR_TOO_LARGE);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y[" << i << "] was written";
  EXPECT_TRUE(out.GuardsIntact());
}

// ---- GEMM (prefill): m tokens, each quantized on its own ---------------------

using hyk_test::GemmShape;

// HY-1.8B prefill chunks (32 tokens) and odd token counts.
std::vector<GemmShape> GemmShapes() {
  return hyk_test::GemmShapes({1, 2, 3, 5, 16, 33}, {{3072, 2048, 32},
                                                     {2048, 2048, 32},
                                                     {2048, 6144, 7},
                                                     {12288, 2048, 3}});
}

class GemmQ2_0CA8Test : public testing::TestWithParam<GemmShape> {};

TEST_P(GemmQ2_0CA8Test, MatchesQuantizedReference) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const GemmShape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.n * 7919 + s.k * 31 + s.m * 3 + 13));
  GuardedBuffer w(static_cast<size_t>(s.n * (s.k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(s.m * s.k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok()) << "guarded allocation failed";
  float *x = reinterpret_cast<float *>(xb.data());
  FillWeights(w.data(), s.n * (s.k / kBlockWeights), rng);
  // Tokens of very different magnitudes: each token has its own group scales.
  for (int64_t t = 0; t < s.m; ++t) {
    FillActivations(x + t * s.k, s.k, rng);
    const float gain = std::ldexp(1.0f, static_cast<int>(t % 7) * 3 - 9);
    for (int64_t i = 0; i < s.k; ++i)
      x[t * s.k + i] *= gain;
  }

  GuardedOutput out(s.n * s.m);
  ASSERT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x, out.y(), s.n, s.k, s.m), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact()) << "bytes around y were modified";
  int failures = 0;
  double worst = 0;
  std::vector<double> ref, mag;
  for (int64_t t = 0; t < s.m; ++t) {
    Reference(w.data(), QuantizedActivations(x + t * s.k, s.k), s.n, s.k, &ref, &mag);
    failures += CheckRows(out, t * s.n, ref, mag, s.k, "token " + std::to_string(t), &worst);
  }
  EXPECT_EQ(failures, 0) << failures << " of " << s.n * s.m << " outputs out of bounds";
  RecordProperty("worst_err_over_bound", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmQ2_0CA8Test, testing::ValuesIn(GemmShapes()),
                         [](const testing::TestParamInfo<GemmShape> &info) {
                           return hyk_test::ShapeName(info.param);
                         });

// The prefill kernel rounds like the decode one: each token of a GEMM gives
// what the GEMV gives for that token (up to float summation order).
TEST(GemmQ2_0CA8Rounding, AgreesWithTheGemvPerToken) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 65, k = 2048, m = 5;
  std::mt19937 rng(99);
  GuardedBuffer w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(m * k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  float *x = reinterpret_cast<float *>(xb.data());
  FillWeights(w.data(), n * (k / kBlockWeights), rng);
  for (int64_t t = 0; t < m; ++t)
    FillActivations(x + t * k, k, rng);
  GuardedOutput gemm(n * m);
  ASSERT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x, gemm.y(), n, k, m), HYK_OK);
  std::vector<double> ref, mag;
  for (int64_t t = 0; t < m; ++t) {
    GuardedOutput gemv(n);
    ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x + t * k, gemv.y(), n, k), HYK_OK);
    Reference(w.data(), QuantizedActivations(x + t * k, k), n, k, &ref, &mag);
    for (int64_t r = 0; r < n; ++r)
      EXPECT_LE(std::fabs(gemm.at(t * n + r) - gemv.at(r)),
                2 * Bound(mag[static_cast<size_t>(r)], k))
          << "token " << t << " row " << r;
  }
}

TEST(GemmQ2_0CA8Errors, RejectsBadArguments) {
  const int64_t n = 4, k = 1024, m = 3;
  std::vector<uint8_t> w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes), 0);
  std::vector<float> x(static_cast<size_t>(k * m), 1.0f);
  GuardedOutput out(n * m);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x.data(), out.y(), n, 768, m),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(nullptr, x.data(), out.y(), n, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), nullptr, out.y(), n, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x.data(), nullptr, n, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x.data(), out.y(), n, k, 0), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x.data(), out.y(), 0, k, m), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x.data(), out.y(), n, k, int64_t{1} << 40),
            HYK_ERR_TOO_LARGE);
  EXPECT_TRUE(out.GuardsIntact());
  for (int64_t i = 0; i < n * m; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y touched on an argument error";
}

// ---- Pre-quantized activations (hyk_gemv/gemm_q2_0c_a8q_avx512) --------------

// kernels.h's quantization of one row of k activations: int8 q per element
// and the float32 step of each group 16 b + l (the rounding the _a8 kernels
// apply internally), into guarded buffers.
void QuantizeRow(const float *x, int64_t k, int8_t *q, float *steps) {
  for (int64_t b = 0; b < k / kBlockWeights; ++b)
    for (int l = 0; l < 16; ++l) {
      float m = 0.0f;
      for (int i = 0; i < 32; ++i)
        m = std::fmax(m, std::fabs(x[GroupElement(b, l, i)]));
      const float inv = m > 0.0f ? 127.0f / m : 0.0f;
      steps[b * 16 + l] = m * (1.0f / 127);
      for (int i = 0; i < 32; ++i) {
        const int64_t e = GroupElement(b, l, i);
        q[e] = static_cast<int8_t>(std::nearbyint(x[e] * inv));
      }
    }
}

// Given the same rounding, the a8q kernels compute exactly what the a8 ones
// compute from float x (same products, same schedule): equal bit for bit,
// GEMV on the decode shapes and odd ones, GEMM per token.
class GemvQ2_0CA8qTest : public testing::TestWithParam<GemmShape> {};

TEST_P(GemvQ2_0CA8qTest, EqualsTheFloatInputKernels) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const GemmShape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.n * 131 + s.k * 7 + s.m));
  GuardedBuffer w(static_cast<size_t>(s.n * (s.k / kBlockWeights) * kBlockBytes));
  GuardedBuffer xb(static_cast<size_t>(s.m * s.k) * sizeof(float));
  GuardedBuffer qb(static_cast<size_t>(s.m * s.k));
  GuardedBuffer sb(static_cast<size_t>(s.m * (s.k / 32)) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok() && qb.ok() && sb.ok()) << "guarded allocation failed";
  float *x = reinterpret_cast<float *>(xb.data());
  int8_t *q = reinterpret_cast<int8_t *>(qb.data());
  float *steps = reinterpret_cast<float *>(sb.data());
  FillWeights(w.data(), s.n * (s.k / kBlockWeights), rng);
  for (int64_t t = 0; t < s.m; ++t) {
    FillActivations(x + t * s.k, s.k, rng);
    QuantizeRow(x + t * s.k, s.k, q + t * s.k, steps + t * (s.k / 32));
  }
  // GEMV per token.
  for (int64_t t = 0; t < s.m; ++t) {
    GuardedOutput a8(s.n), a8q(s.n);
    ASSERT_EQ(hyk_gemv_q2_0c_a8_avx512(w.data(), x + t * s.k, a8.y(), s.n, s.k), HYK_OK);
    ASSERT_EQ(hyk_gemv_q2_0c_a8q_avx512(w.data(), q + t * s.k, steps + t * (s.k / 32),
                                        a8q.y(), s.n, s.k),
              HYK_OK);
    EXPECT_TRUE(a8q.GuardsIntact()) << "bytes around y were modified";
    for (int64_t r = 0; r < s.n; ++r)
      ASSERT_EQ(a8q.at(r), a8.at(r)) << "gemv token " << t << " row " << r;
  }
  // GEMM over all tokens.
  GuardedOutput a8(s.n * s.m), a8q(s.n * s.m);
  ASSERT_EQ(hyk_gemm_q2_0c_a8_avx512(w.data(), x, a8.y(), s.n, s.k, s.m), HYK_OK);
  ASSERT_EQ(hyk_gemm_q2_0c_a8q_avx512(w.data(), q, steps, a8q.y(), s.n, s.k, s.m), HYK_OK);
  EXPECT_TRUE(a8q.GuardsIntact()) << "bytes around y were modified";
  for (int64_t i = 0; i < s.n * s.m; ++i)
    ASSERT_EQ(a8q.at(i), a8.at(i)) << "gemm output " << i;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemvQ2_0CA8qTest,
    testing::ValuesIn(hyk_test::GemmShapes({1, 5}, {{3072, 2048, 1}, {2048, 6144, 2},
                                                    {12288, 2048, 3}, {257, 2560, 32}})),
    [](const testing::TestParamInfo<GemmShape> &info) {
      return hyk_test::ShapeName(info.param);
    });

TEST(GemvQ2_0CA8qErrors, RejectsBadArguments) {
  const int64_t n = 4, k = 1024, m = 3;
  std::vector<uint8_t> w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes), 0);
  std::vector<int8_t> q(static_cast<size_t>(k * m), 1);
  std::vector<float> st(static_cast<size_t>(k / 32 * m), 1.0f);
  GuardedOutput out(n * m);
  EXPECT_EQ(hyk_gemv_q2_0c_a8q_avx512(w.data(), q.data(), st.data(), out.y(), n, 768),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemv_q2_0c_a8q_avx512(w.data(), nullptr, st.data(), out.y(), n, k),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_0c_a8q_avx512(w.data(), q.data(), nullptr, out.y(), n, k),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8q_avx512(nullptr, q.data(), st.data(), out.y(), n, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8q_avx512(w.data(), q.data(), st.data(), nullptr, n, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8q_avx512(w.data(), q.data(), st.data(), out.y(), n, k, 0),
            HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemm_q2_0c_a8q_avx512(w.data(), q.data(), st.data(), out.y(), n, k,
                                      int64_t{1} << 40),
            HYK_ERR_TOO_LARGE);
  EXPECT_TRUE(out.GuardsIntact());
  for (int64_t i = 0; i < n * m; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y touched on an argument error";
}

// ---- The row-interleaved layout Q2_0C/r8 (hyk_*_q2_0c_r8_a8q_avx512) ---------

// Q2_0C rows -> Q2_0C/r8, from the layout's definition in hyk/kernels.h.
std::vector<uint8_t> InterleaveRows(const uint8_t *w, int64_t n, int64_t k) {
  const int64_t r = HYK_Q2_0C_R8_ROWS, nb = k / kBlockWeights;
  const int64_t row = nb * kBlockBytes, tile = r * row;
  std::vector<uint8_t> out(static_cast<size_t>(n * row));
  for (int64_t t = 0; t < n / r; ++t)
    for (int64_t i = 0; i < r; ++i)
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t *block = w + (t * r + i) * row + b * kBlockBytes;
        uint8_t *base = out.data() + t * tile;
        std::memcpy(base + 2 * (r * b + i), block, 2);
        std::memcpy(base + 2 * r * nb + 128 * (r * b + i), block + 2, 128);
      }
  return out;
}

// The interleaved kernels compute what the plain-row a8q kernels compute, bit
// for bit, on weights regrouped by InterleaveRows (the compiler's repacking is
// checked end to end by the e2e tests).
class Q2_0CR8Test : public testing::TestWithParam<GemmShape> {};

TEST_P(Q2_0CR8Test, EqualsThePlainRowKernels) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const GemmShape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.n * 17 + s.k * 3 + s.m));
  const size_t bytes = static_cast<size_t>(s.n * (s.k / kBlockWeights) * kBlockBytes);
  GuardedBuffer w(bytes), wr(bytes);
  GuardedBuffer qb(static_cast<size_t>(s.m * s.k));
  GuardedBuffer sb(static_cast<size_t>(s.m * (s.k / 32)) * sizeof(float));
  std::vector<float> x(static_cast<size_t>(s.k));
  ASSERT_TRUE(w.ok() && wr.ok() && qb.ok() && sb.ok()) << "guarded allocation failed";
  int8_t *q = reinterpret_cast<int8_t *>(qb.data());
  float *steps = reinterpret_cast<float *>(sb.data());
  FillWeights(w.data(), s.n * (s.k / kBlockWeights), rng);
  const std::vector<uint8_t> packed = InterleaveRows(w.data(), s.n, s.k);
  std::memcpy(wr.data(), packed.data(), bytes);
  for (int64_t t = 0; t < s.m; ++t) {
    FillActivations(x.data(), s.k, rng);
    QuantizeRow(x.data(), s.k, q + t * s.k, steps + t * (s.k / 32));
  }
  for (int64_t t = 0; t < s.m; ++t) {
    GuardedOutput plain(s.n), r8(s.n);
    ASSERT_EQ(hyk_gemv_q2_0c_a8q_avx512(w.data(), q + t * s.k, steps + t * (s.k / 32),
                                        plain.y(), s.n, s.k),
              HYK_OK);
    ASSERT_EQ(hyk_gemv_q2_0c_r8_a8q_avx512(wr.data(), q + t * s.k, steps + t * (s.k / 32),
                                           r8.y(), s.n, s.k),
              HYK_OK);
    EXPECT_TRUE(r8.GuardsIntact()) << "bytes around y were modified";
    for (int64_t i = 0; i < s.n; ++i)
      ASSERT_EQ(r8.at(i), plain.at(i)) << "gemv token " << t << " row " << i;
  }
  GuardedOutput plain(s.n * s.m), r8(s.n * s.m);
  ASSERT_EQ(hyk_gemm_q2_0c_a8q_avx512(w.data(), q, steps, plain.y(), s.n, s.k, s.m), HYK_OK);
  ASSERT_EQ(hyk_gemm_q2_0c_r8_a8q_avx512(wr.data(), q, steps, r8.y(), s.n, s.k, s.m), HYK_OK);
  EXPECT_TRUE(r8.GuardsIntact()) << "bytes around y were modified";
  for (int64_t i = 0; i < s.n * s.m; ++i)
    ASSERT_EQ(r8.at(i), plain.at(i)) << "gemm output " << i;
}

// n a multiple of 8 throughout: one tile, 33 and 65 tiles (a partial task
// of tiles), K of 1 to 12 blocks, the decode shapes and a prefill chunk.
INSTANTIATE_TEST_SUITE_P(
    Shapes, Q2_0CR8Test,
    testing::Values(GemmShape{8, 512, 1}, GemmShape{8, 1536, 5}, GemmShape{264, 512, 3},
                    GemmShape{264, 2560, 7}, GemmShape{520, 1024, 2}, GemmShape{3072, 2048, 1},
                    GemmShape{2048, 6144, 2}, GemmShape{12288, 2048, 3},
                    GemmShape{2048, 2048, 32}),
    [](const testing::TestParamInfo<GemmShape> &info) {
      return hyk_test::ShapeName(info.param);
    });

TEST(Q2_0CR8Errors, RejectsRowsThatDoNotFillTiles) {
  if (!hyk_test::CpuHasAvx512Zen4())
    GTEST_SKIP() << kNoCpu;
  const int64_t n = 12, k = 512, m = 2;
  std::vector<uint8_t> w(static_cast<size_t>(n * kBlockBytes), 0);
  std::vector<int8_t> q(static_cast<size_t>(k * m), 1);
  std::vector<float> st(static_cast<size_t>(k / 32 * m), 1.0f);
  GuardedOutput out(n * m);
  EXPECT_EQ(hyk_gemv_q2_0c_r8_a8q_avx512(w.data(), q.data(), st.data(), out.y(), n, k),
            HYK_ERR_N_NOT_INTERLEAVED);
  EXPECT_EQ(hyk_gemm_q2_0c_r8_a8q_avx512(w.data(), q.data(), st.data(), out.y(), n, k, m),
            HYK_ERR_N_NOT_INTERLEAVED);
  EXPECT_EQ(hyk_gemv_q2_0c_r8_a8q_avx512(w.data(), q.data(), st.data(), out.y(), 8, 768),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemm_q2_0c_r8_a8q_avx512(w.data(), nullptr, st.data(), out.y(), 8, k, m),
            HYK_ERR_NULL_POINTER);
  EXPECT_STREQ(hyk_status_message(HYK_ERR_N_NOT_INTERLEAVED),
               "N is not a multiple of the weight layout's row interleave");
  EXPECT_TRUE(out.GuardsIntact());
  for (int64_t i = 0; i < n * m; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y touched on an argument error";
}

// ---- AVX2 (hyk_*_q2_0c[_r8]_a8q_avx2: vpmaddubsw + vpmaddwd) -----------------

namespace avx2 {

// The activations as the kernels see them: q * step of its group, in double.
std::vector<double> Dequantized(const int8_t *q, const float *steps, int64_t k) {
  std::vector<double> a(static_cast<size_t>(k));
  for (int64_t b = 0; b < k / kBlockWeights; ++b)
    for (int l = 0; l < 16; ++l)
      for (int i = 0; i < 32; ++i) {
        const int64_t e = GroupElement(b, l, i);
        a[static_cast<size_t>(e)] =
            static_cast<double>(q[e]) * static_cast<double>(steps[b * 16 + l]);
      }
  return a;
}

// GEMV per token and GEMM over all tokens against the double reference of
// the quantized activations (the bound of the _a8 kernels above: the same
// integer part, exact, and the same float32 terms), outputs between guards;
// where n fills tiles of 8, the Q2_0C/r8 forms equal the plain-row ones bit
// for bit. Tokens of very different magnitudes, full-range q (+-127).
class A8qAvx2Test : public testing::TestWithParam<GemmShape> {};

TEST_P(A8qAvx2Test, MatchesQuantizedReference) {
  if (!hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks AVX2";
  const GemmShape s = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(s.n * 101 + s.k * 5 + s.m * 7 + 3));
  const size_t bytes = static_cast<size_t>(s.n * (s.k / kBlockWeights) * kBlockBytes);
  GuardedBuffer w(bytes), wr(bytes);
  GuardedBuffer qb(static_cast<size_t>(s.m * s.k));
  GuardedBuffer sb(static_cast<size_t>(s.m * (s.k / 32)) * sizeof(float));
  ASSERT_TRUE(w.ok() && wr.ok() && qb.ok() && sb.ok()) << "guarded allocation failed";
  int8_t *q = reinterpret_cast<int8_t *>(qb.data());
  float *steps = reinterpret_cast<float *>(sb.data());
  FillWeights(w.data(), s.n * (s.k / kBlockWeights), rng);
  std::vector<float> x(static_cast<size_t>(s.k));
  for (int64_t t = 0; t < s.m; ++t) {
    FillActivations(x.data(), s.k, rng);
    const float gain = std::ldexp(1.0f, static_cast<int>(t % 7) * 3 - 9);
    for (float &v : x)
      v *= gain;
    QuantizeRow(x.data(), s.k, q + t * s.k, steps + t * (s.k / 32));
  }
  const bool tiles = s.n % HYK_Q2_0C_R8_ROWS == 0;
  if (tiles) {
    const std::vector<uint8_t> packed = InterleaveRows(w.data(), s.n, s.k);
    std::memcpy(wr.data(), packed.data(), bytes);
  }
  int failures = 0;
  double worst = 0;
  GuardedOutput gemm(s.n * s.m), gemm_r8(s.n * s.m);
  ASSERT_EQ(hyk_gemm_q2_0c_a8q_avx2(w.data(), q, steps, gemm.y(), s.n, s.k, s.m), HYK_OK);
  EXPECT_TRUE(gemm.GuardsIntact()) << "bytes around the GEMM's y were modified";
  if (tiles) {
    ASSERT_EQ(hyk_gemm_q2_0c_r8_a8q_avx2(wr.data(), q, steps, gemm_r8.y(), s.n, s.k, s.m),
              HYK_OK);
    EXPECT_TRUE(gemm_r8.GuardsIntact()) << "bytes around the r8 GEMM's y were modified";
  }
  std::vector<double> ref, mag;
  for (int64_t t = 0; t < s.m; ++t) {
    const int8_t *qt = q + t * s.k;
    const float *st = steps + t * (s.k / 32);
    Reference(w.data(), Dequantized(qt, st, s.k), s.n, s.k, &ref, &mag);
    GuardedOutput gemv(s.n), gemv_r8(s.n);
    ASSERT_EQ(hyk_gemv_q2_0c_a8q_avx2(w.data(), qt, st, gemv.y(), s.n, s.k), HYK_OK);
    EXPECT_TRUE(gemv.GuardsIntact()) << "bytes around the GEMV's y were modified";
    const std::string tok = " token " + std::to_string(t);
    failures += CheckRows(gemv, 0, ref, mag, s.k, "gemv" + tok, &worst);
    failures += CheckRows(gemm, t * s.n, ref, mag, s.k, "gemm" + tok, &worst);
    if (!tiles)
      continue;
    ASSERT_EQ(hyk_gemv_q2_0c_r8_a8q_avx2(wr.data(), qt, st, gemv_r8.y(), s.n, s.k), HYK_OK);
    EXPECT_TRUE(gemv_r8.GuardsIntact()) << "bytes around the r8 GEMV's y were modified";
    for (int64_t i = 0; i < s.n; ++i) {
      ASSERT_EQ(gemv_r8.at(i), gemv.at(i)) << "r8 gemv" << tok << " row " << i;
      ASSERT_EQ(gemm_r8.at(t * s.n + i), gemm.at(t * s.n + i)) << "r8 gemm" << tok << " row " << i;
    }
  }
  EXPECT_EQ(failures, 0) << failures << " outputs out of bounds";
  RecordProperty("worst_err_over_bound", std::to_string(worst));
}

// Odd shapes (partial tasks and tiles, 1..5 blocks), tile-filling ones, the
// decode shapes (m 1) and prefill chunks.
INSTANTIATE_TEST_SUITE_P(
    Shapes, A8qAvx2Test,
    testing::Values(GemmShape{1, 512, 1}, GemmShape{3, 1024, 2}, GemmShape{17, 2560, 5},
                    GemmShape{65, 512, 33}, GemmShape{257, 1536, 3}, GemmShape{8, 512, 1},
                    GemmShape{264, 2560, 7}, GemmShape{520, 1024, 2}, GemmShape{3072, 2048, 1},
                    GemmShape{2048, 2048, 32}, GemmShape{12288, 2048, 1},
                    GemmShape{2048, 6144, 3}),
    [](const testing::TestParamInfo<GemmShape> &info) {
      return hyk_test::ShapeName(info.param);
    });

TEST(A8qAvx2Errors, RejectsBadArguments) {
  if (!hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks AVX2";
  const int64_t n = 8, k = 512, m = 2;
  std::vector<uint8_t> w(static_cast<size_t>(n * kBlockBytes));
  std::vector<int8_t> q(static_cast<size_t>(k * m));
  std::vector<float> st(static_cast<size_t>(k / 32 * m));
  GuardedOutput out(n * m);
  EXPECT_EQ(hyk_gemv_q2_0c_a8q_avx2(w.data(), q.data(), st.data(), out.y(), n, 768),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemv_q2_0c_a8q_avx2(w.data(), nullptr, st.data(), out.y(), n, k),
            HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_a8q_avx2(w.data(), q.data(), st.data(), out.y(), n, k, 0),
            HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemv_q2_0c_r8_a8q_avx2(w.data(), q.data(), st.data(), out.y(), 7, k),
            HYK_ERR_N_NOT_INTERLEAVED);
  EXPECT_EQ(hyk_gemm_q2_0c_r8_a8q_avx2(w.data(), q.data(), nullptr, out.y(), n, k, m),
            HYK_ERR_NULL_POINTER);
  for (int64_t i = 0; i < n * m; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y[" << i << "] was written";
  EXPECT_TRUE(out.GuardsIntact());
}

} // namespace avx2

} // namespace
