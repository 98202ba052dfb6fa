//===- GemvK2Test.cpp - Unit tests for the Q2_K and TQ2_0 GEMV kernels ----===//
//
// hyk_gemv_{q2_k,tq2_0}_{avx2,avx512} against a scalar reference written from
// the block layouts in hyk/kernels.h (in double). Bound per row, with
// u = 2^-24 and K weights: |y - ref| <= (K / 8 + 64) u sum_k |w_k x_k| — the
// kernels sum each lane's K / 32 products (per block: a handful of float
// roundings per product) and then 32 lanes; K / 8 + 64 roundings of relative
// size u covers both with a margin. Weights end right before a PROT_NONE page
// and y sits between sentinel zones, starting as NaN.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hyk/kernels.h"

#include "KernelTestSupport.h"

namespace {

using hyk_test::GuardedBuffer;
using hyk_test::GuardedOutput;
using hyk_test::HalfToFloat;

using GemvFn = int32_t (*)(const uint8_t *, const float *, float *, int64_t, int64_t);

struct Variant {
  const char *name;
  GemvFn fn;
  bool q2k;
  bool avx512;
};

const Variant kVariants[] = {
    {"q2_k_avx2", hyk_gemv_q2_k_avx2, true, false},
    {"q2_k_avx512", hyk_gemv_q2_k_avx512, true, true},
    {"tq2_0_avx2", hyk_gemv_tq2_0_avx2, false, false},
    {"tq2_0_avx512", hyk_gemv_tq2_0_avx512, false, true},
};

int64_t BlockBytes(bool q2k) { return q2k ? HYK_Q2_K_BLOCK_BYTES : HYK_TQ2_0_BLOCK_BYTES; }

double Half(const uint8_t *p) { return HalfToFloat(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// Weight e of one block, from the format definition.
double Weight(const uint8_t *blk, bool q2k, int e) {
  const int h = e / 128, j = (e % 128) / 32, l = e % 32;
  const uint8_t *qs = blk + (q2k ? 16 : 0);
  const int c = (qs[32 * h + l] >> (2 * j)) & 3;
  if (!q2k)
    return (c - 1) * Half(blk + 64);
  const int s = blk[e / 16];
  return Half(blk + 80) * (s & 15) * c - Half(blk + 82) * (s >> 4);
}

// Random blocks: fp16 scales of either sign (some zero), random codes and
// sub-block scale bytes.
void Fill(uint8_t *w, int64_t blocks, bool q2k, std::mt19937 &rng) {
  const int64_t bb = BlockBytes(q2k);
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t *blk = w + b * bb;
    for (int64_t i = 0; i < bb; ++i)
      blk[i] = static_cast<uint8_t>(rng());
    for (int at : q2k ? std::vector<int>{80, 82} : std::vector<int>{64}) {
      uint16_t h = rng() % 32 == 0 ? 0 : static_cast<uint16_t>(((1 + rng() % 18) << 10) | (rng() & 0x3ff));
      if (rng() & 1)
        h |= 0x8000;
      blk[at] = static_cast<uint8_t>(h & 0xff);
      blk[at + 1] = static_cast<uint8_t>(h >> 8);
    }
  }
}

struct Case {
  Variant v;
  int64_t n, k;
};

class GemvK2Test : public testing::TestWithParam<Case> {};

TEST_P(GemvK2Test, MatchesScalarReference) {
  const Case c = GetParam();
  if (c.v.avx512 ? !hyk_test::CpuHasAvx512Zen4() : !hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks the features of " << c.v.name;
  const int64_t bb = BlockBytes(c.v.q2k), nb = c.k / HYK_K2_BLOCK_WEIGHTS;
  std::mt19937 rng(static_cast<uint32_t>(c.n * 131 + c.k + (c.v.q2k ? 7 : 0)));
  GuardedBuffer w(static_cast<size_t>(c.n * nb * bb));
  GuardedBuffer xb(static_cast<size_t>(c.k) * sizeof(float));
  ASSERT_TRUE(w.ok() && xb.ok());
  float *x = reinterpret_cast<float *>(xb.data());
  Fill(w.data(), c.n * nb, c.v.q2k, rng);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < c.k; ++i)
    x[i] = dist(rng) * (i % 61 == 0 ? 20.0f : 1.0f);
  GuardedOutput out(c.n);
  ASSERT_EQ(c.v.fn(w.data(), x, out.y(), c.n, c.k), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact()) << "bytes around y were modified";
  const double u = 1.0 / (1 << 24);
  int failures = 0;
  for (int64_t r = 0; r < c.n; ++r) {
    double ref = 0, mag = 0;
    for (int64_t b = 0; b < nb; ++b)
      for (int e = 0; e < HYK_K2_BLOCK_WEIGHTS; ++e) {
        const double t = Weight(w.data() + (r * nb + b) * bb, c.v.q2k, e) *
                         x[b * HYK_K2_BLOCK_WEIGHTS + e];
        ref += t;
        mag += std::fabs(t);
      }
    const double bound = (static_cast<double>(c.k) / 8 + 64) * u * mag + 1e-30;
    const double err = std::fabs(out.at(r) - ref);
    if (!(err <= bound) && ++failures <= 5)
      ADD_FAILURE() << c.v.name << " row " << r << ": got " << out.at(r) << ", want " << ref
                    << " (bound " << bound << ")";
  }
  EXPECT_EQ(failures, 0);
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const Variant &v : kVariants) {
    for (int64_t n : {1, 3, 17, 33})
      for (int64_t k : {256, 768, 2048})
        cases.push_back({v, n, k});
    cases.push_back({v, 2048, 2048});
    cases.push_back({v, 512, 6144});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemvK2Test, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.v.name) + "_n" +
                                  std::to_string(info.param.n) + "_k" +
                                  std::to_string(info.param.k);
                         });

TEST(GemvK2Errors, RejectsBadArguments) {
  if (!hyk_test::CpuHasAvx2())
    GTEST_SKIP() << "CPU lacks AVX2";
  const int64_t n = 4, k = 512;
  std::vector<uint8_t> w(static_cast<size_t>(n * 2 * HYK_Q2_K_BLOCK_BYTES), 0);
  std::vector<float> x(static_cast<size_t>(k), 1.0f);
  GuardedOutput out(n);
  EXPECT_EQ(hyk_gemv_q2_k_avx2(w.data(), x.data(), out.y(), n, 384), HYK_ERR_K_NOT_BLOCKED_256);
  EXPECT_EQ(hyk_gemv_tq2_0_avx2(w.data(), x.data(), out.y(), n, 100), HYK_ERR_K_NOT_BLOCKED_256);
  EXPECT_EQ(hyk_gemv_tq2_0_avx2(nullptr, x.data(), out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_k_avx2(w.data(), nullptr, out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemv_q2_k_avx2(w.data(), x.data(), out.y(), 0, k), HYK_ERR_BAD_SHAPE);
  EXPECT_STREQ(hyk_status_message(HYK_ERR_K_NOT_BLOCKED_256),
               "K is not a multiple of the Q2_K / TQ2_0 block size (256)");
  EXPECT_TRUE(out.GuardsIntact());
  for (int64_t i = 0; i < n; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y touched on an argument error";
}

} // namespace
