//===- AttentionTest.cpp - hyk_attention_{avx2,avx512}[_f16|_q8_0] vs f64 ===//
//
// The reference is written from kernels.h's contract: for query row r and
// head h (KV head h / (H / KVH)), softmax over t <= pos0 + r of
// q . k_t / sqrt(D), then the weighted sum of v_t, all in double.
//
// Bound per output element. The kernel works in float32: each score is a
// sum of D products, |ds| <= (D + 16) 2^-24 S / sqrt(D) with S = max over t
// of sum_i |q_i k_ti|; a score error ds changes each probability by a factor
// within exp(+-2 ds), so the output moves by at most ~4 ds max|v|; the exp,
// the row sum (T terms) and the weighted sum over T rows add (T + 32) 2^-24
// max|v| each. The test allows twice the sum of these.
// q and the caches end right before a PROT_NONE page (the caches hold exactly
// the pos0 + tokens rows the kernel may read); out sits between sentinels.
// The _f16 variants get a float16 cache (the random values rounded to nearest
// even); the _q8_0 variants a Q8_0 one (per 32 values of a head: the float16
// step d = max|x| / 127, then round(x / d) as int8), which the kernel
// dequantizes to d q exactly in float32; the reference reads the rounded
// values, so the same bound holds. A Q8_0 cache needs head_dim % 32 == 0:
// the other shapes must fail with HYK_ERR_BAD_SHAPE and write nothing.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hyk/kernels.h"

namespace {

using AttentionFn = int32_t (*)(const float *, const float *, const float *, float *,
                                int64_t, int64_t, int64_t, int64_t, int64_t);
using AttentionF16Fn = int32_t (*)(const float *, const uint16_t *, const uint16_t *, float *,
                                   int64_t, int64_t, int64_t, int64_t, int64_t);
using AttentionQ8Fn = int32_t (*)(const float *, const uint8_t *, const uint8_t *, float *,
                                  int64_t, int64_t, int64_t, int64_t, int64_t);

enum class Cache { F32, F16, Q8_0 };

struct Variant {
  const char *name;
  AttentionFn fn;      // float32 cache, or
  AttentionF16Fn f16;  // float16 cache, or
  AttentionQ8Fn q8;    // Q8_0 cache
  bool (*supported)();
  Cache cache() const { return f16 ? Cache::F16 : q8 ? Cache::Q8_0 : Cache::F32; }
  // The caches as untyped memory: the element type is the variant's.
  int32_t operator()(const float *q, const void *k, const void *v, float *out, int64_t tokens,
                     int64_t pos0, int64_t heads, int64_t kvh, int64_t d) const {
    if (f16)
      return f16(q, static_cast<const uint16_t *>(k), static_cast<const uint16_t *>(v), out,
                 tokens, pos0, heads, kvh, d);
    if (q8)
      return q8(q, static_cast<const uint8_t *>(k), static_cast<const uint8_t *>(v), out,
                tokens, pos0, heads, kvh, d);
    return fn(q, static_cast<const float *>(k), static_cast<const float *>(v), out, tokens,
              pos0, heads, kvh, d);
  }
};

const Variant kVariants[] = {
    {"avx2", hyk_attention_avx2, nullptr, nullptr, hyk_test::CpuHasAvx2},
    {"avx512", hyk_attention_avx512, nullptr, nullptr, hyk_test::CpuHasAvx512Zen4},
    {"avx2_f16", nullptr, hyk_attention_avx2_f16, nullptr, hyk_test::CpuHasAvx2},
    {"avx512_f16", nullptr, hyk_attention_avx512_f16, nullptr, hyk_test::CpuHasAvx512Zen4},
    {"avx2_q8_0", nullptr, nullptr, hyk_attention_avx2_q8_0, hyk_test::CpuHasAvx2},
    {"avx512_q8_0", nullptr, nullptr, hyk_attention_avx512_q8_0, hyk_test::CpuHasAvx512Zen4},
};

// Round-to-nearest-even float -> binary16 bits (GCC's _Float16 conversion).
uint16_t ToHalfBits(float x) {
  _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

struct Shape {
  int64_t heads, kv_heads, head_dim, tokens, pos0;
};

std::string ShapeName(const Shape &s) {
  return "h" + std::to_string(s.heads) + "_kv" + std::to_string(s.kv_heads) + "_d" +
         std::to_string(s.head_dim) + "_m" + std::to_string(s.tokens) + "_p" +
         std::to_string(s.pos0);
}

struct Problem {
  Shape s;
  int64_t qdim, kvdim, rows;
  size_t cacheBytes;
  hyk_test::GuardedBuffer q, k, v;
  // The caches' values as float (after rounding, for a float16 cache).
  std::vector<float> kvals, vvals;
  Problem(const Shape &s, uint32_t seed, Cache cache)
      : s(s), qdim(s.heads * s.head_dim), kvdim(s.kv_heads * s.head_dim),
        rows(s.pos0 + s.tokens), cacheBytes(CacheBytes(rows * kvdim, cache)),
        q(static_cast<size_t>(s.tokens * qdim) * sizeof(float)), k(cacheBytes), v(cacheBytes),
        kvals(static_cast<size_t>(rows * kvdim)), vvals(kvals.size()) {
    const bool f16 = cache == Cache::F16;
    std::mt19937 rng(seed);
    // Scale 2 spreads the softmax (scores of a few units), so no single
    // position dominates and no weight is negligible.
    std::normal_distribution<float> dist(0.f, 2.f);
    for (size_t i = 0; i < q.size() / 4; ++i)
      qf()[i] = dist(rng);
    for (auto [vals, buf] : {std::pair{&kvals, &k}, std::pair{&vvals, &v}}) {
      for (size_t i = 0; i < vals->size(); ++i) {
        float x = dist(rng);
        if (f16) {
          uint16_t bits = ToHalfBits(x);
          std::memcpy(buf->data() + 2 * i, &bits, 2);
          _Float16 h;
          std::memcpy(&h, &bits, 2);
          x = static_cast<float>(h);
        } else if (cache == Cache::F32) {
          std::memcpy(buf->data() + 4 * i, &x, 4);
        }
        (*vals)[i] = x;
      }
      if (cache == Cache::Q8_0)
        QuantizeQ8_0(*vals, buf->data());
    }
  }
  static size_t CacheBytes(int64_t elements, Cache cache) {
    if (cache == Cache::Q8_0)
      return static_cast<size_t>(elements / 32 * 34);
    return static_cast<size_t>(elements) * (cache == Cache::F16 ? 2 : 4);
  }
  // Writes vals as Q8_0 blocks of 32 (elements % 32 == 0 here, rows of whole
  // heads) and replaces each value by the one the block holds, d q.
  static void QuantizeQ8_0(std::vector<float> &vals, uint8_t *out) {
    for (size_t b = 0; b < vals.size() / 32; ++b) {
      float amax = 0.f;
      for (int i = 0; i < 32; ++i)
        amax = std::max(amax, std::fabs(vals[32 * b + i]));
      const float d = amax / 127.f;
      const uint16_t bits = ToHalfBits(d);
      _Float16 dh;
      std::memcpy(&dh, &bits, 2);
      std::memcpy(out + 34 * b, &bits, 2);
      for (int i = 0; i < 32; ++i) {
        const float qf = d == 0.f ? 0.f : std::round(vals[32 * b + i] / d);
        const int8_t q8 = static_cast<int8_t>(std::max(-127.f, std::min(127.f, qf)));
        std::memcpy(out + 34 * b + 2 + i, &q8, 1);
        vals[32 * b + i] = static_cast<float>(dh) * q8;
      }
    }
  }
  float *qf() const { return reinterpret_cast<float *>(q.data()); }
  const float *kf() const { return kvals.data(); }
  const float *vf() const { return vvals.data(); }
  bool ok() const { return q.ok() && k.ok() && v.ok(); }

  // Reference output and the per-element bound described at the top.
  void Reference(std::vector<double> &out, std::vector<double> &bound) const {
    const int64_t d = s.head_dim, group = s.heads / s.kv_heads;
    out.assign(static_cast<size_t>(s.tokens * qdim), 0.0);
    bound.assign(out.size(), 0.0);
    const double eps = std::ldexp(1.0, -24);
    for (int64_t r = 0; r < s.tokens; ++r) {
      const int64_t n = s.pos0 + r + 1;
      for (int64_t h = 0; h < s.heads; ++h) {
        const float *qh = qf() + r * qdim + h * d;
        const int64_t kvo = (h / group) * d;
        std::vector<double> sc(static_cast<size_t>(n));
        double smax = -INFINITY, sabs = 0.0, vmax = 0.0;
        for (int64_t t = 0; t < n; ++t) {
          double dot = 0.0, dabs = 0.0;
          for (int64_t i = 0; i < d; ++i) {
            dot += double(qh[i]) * kf()[t * kvdim + kvo + i];
            dabs += std::fabs(double(qh[i]) * kf()[t * kvdim + kvo + i]);
            vmax = std::max(vmax, std::fabs(double(vf()[t * kvdim + kvo + i])));
          }
          sc[t] = dot / std::sqrt(double(d));
          smax = std::max(smax, sc[t]);
          sabs = std::max(sabs, dabs / std::sqrt(double(d)));
        }
        double sum = 0.0;
        for (int64_t t = 0; t < n; ++t)
          sum += (sc[t] = std::exp(sc[t] - smax));
        const double ds = double(d + 16) * eps * sabs;
        const double b = 2.0 * (4.0 * ds + 2.0 * double(n + 32) * eps) * vmax;
        for (int64_t i = 0; i < d; ++i) {
          double acc = 0.0;
          for (int64_t t = 0; t < n; ++t)
            acc += sc[t] * vf()[t * kvdim + kvo + i];
          out[r * qdim + h * d + i] = acc / sum;
          bound[r * qdim + h * d + i] = b;
        }
      }
    }
  }
};

class AttentionTest : public ::testing::TestWithParam<std::tuple<Variant, Shape>> {};

TEST_P(AttentionTest, MatchesFloat64Reference) {
  const auto &[variant, shape] = GetParam();
  if (!variant.supported())
    GTEST_SKIP() << "this CPU lacks the " << variant.name << " kernels' features";
  if (variant.cache() == Cache::Q8_0 && shape.head_dim % 32 != 0) {
    // Q8_0 blocks would straddle heads: refused, nothing written.
    std::vector<float> q(static_cast<size_t>(shape.tokens * shape.heads * shape.head_dim), 1.f);
    std::vector<uint8_t> kv(Problem::CacheBytes(
        (shape.pos0 + shape.tokens) * shape.kv_heads * shape.head_dim + 32, Cache::Q8_0));
    hyk_test::GuardedOutput out(static_cast<int64_t>(q.size()));
    EXPECT_EQ(variant(q.data(), kv.data(), kv.data(), out.y(), shape.tokens, shape.pos0,
                      shape.heads, shape.kv_heads, shape.head_dim),
              HYK_ERR_BAD_SHAPE);
    for (int64_t i = 0; i < static_cast<int64_t>(q.size()); ++i)
      ASSERT_TRUE(std::isnan(out.at(i))) << "out[" << i << "] written on a refused shape";
    EXPECT_TRUE(out.GuardsIntact());
    return;
  }
  Problem p(shape, 1234u + static_cast<uint32_t>(shape.pos0 * 7 + shape.tokens),
            variant.cache());
  ASSERT_TRUE(p.ok());
  hyk_test::GuardedOutput out(shape.tokens * p.qdim);
  ASSERT_EQ(variant(p.qf(), p.k.data(), p.v.data(), out.y(), shape.tokens, shape.pos0,
                    shape.heads, shape.kv_heads, shape.head_dim),
            HYK_OK);
  EXPECT_TRUE(out.GuardsIntact());
  std::vector<double> ref, bound;
  p.Reference(ref, bound);
  double worst = 0.0;
  int64_t bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(out.at(static_cast<int64_t>(i))) - ref[i]);
    worst = std::max(worst, err / bound[i]);
    if (!(err <= bound[i]) && bad++ < 5)
      ADD_FAILURE() << "out[" << i << "] = " << out.at(static_cast<int64_t>(i)) << ", reference "
                    << ref[i] << ", bound " << bound[i];
  }
  EXPECT_EQ(bad, 0) << "worst error / bound " << worst;
}

// Decode (one query; the 16-head x 128 shapes are HY-1.8B's, positions past
// one and several 256-position split blocks) and prefill (several queries,
// causal within the chunk), plus MQA (one KV head) and no grouping.
const Shape kShapes[] = {
    {8, 2, 64, 1, 0},    {8, 2, 64, 1, 37},   {16, 4, 128, 1, 255}, {16, 4, 128, 1, 256},
    {16, 4, 128, 1, 700}, {16, 4, 128, 1, 2047}, {8, 2, 64, 32, 0},  {8, 2, 64, 32, 100},
    {16, 4, 128, 32, 480}, {16, 4, 128, 5, 511}, {4, 4, 16, 3, 2},   {16, 1, 32, 1, 300},
    {6, 3, 48, 7, 9},
};

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Combine(::testing::ValuesIn(kVariants),
                                            ::testing::ValuesIn(kShapes)),
                         [](const auto &info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  ShapeName(std::get<1>(info.param));
                         });

class AttentionArgsTest : public ::testing::TestWithParam<Variant> {};

TEST_P(AttentionArgsTest, RejectsBadArgumentsWithoutWriting) {
  const Variant &variant = GetParam();
  if (!variant.supported())
    GTEST_SKIP() << "this CPU lacks the " << variant.name << " kernels' features";
  // Ones in every element type (0x3c00 is 1.0 in binary16; Q8_0: zero
  // bytes, blocks of 0).
  std::vector<float> q(8 * 64, 1.f), k(4 * 2 * 64, 1.f), v(4 * 2 * 64, 1.f);
  std::vector<uint16_t> kh(k.size(), 0x3c00), vh(v.size(), 0x3c00);
  std::vector<uint8_t> kq(k.size() / 32 * 34, 0), vq(kq.size(), 0);
  const void *kd = k.data(), *vd = v.data();
  if (variant.cache() == Cache::F16) {
    kd = kh.data();
    vd = vh.data();
  } else if (variant.cache() == Cache::Q8_0) {
    kd = kq.data();
    vd = vq.data();
  }
  hyk_test::GuardedOutput out(8 * 64);
  auto call = [&](const float *qp, const void *kp, const void *vp, float *op, int64_t tokens,
                  int64_t pos0, int64_t heads, int64_t kvh, int64_t d) {
    return variant(qp, kp, vp, op, tokens, pos0, heads, kvh, d);
  };
  EXPECT_EQ(call(nullptr, kd, vd, out.y(), 1, 0, 8, 2, 64), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(call(q.data(), nullptr, vd, out.y(), 1, 0, 8, 2, 64), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(call(q.data(), kd, nullptr, out.y(), 1, 0, 8, 2, 64), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(call(q.data(), kd, vd, nullptr, 1, 0, 8, 2, 64), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 0, 0, 8, 2, 64), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, -1, 8, 2, 64), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, 0, 8, 3, 64), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, 0, 8, 2, 24), HYK_ERR_BAD_SHAPE);
  if (variant.cache() == Cache::Q8_0) // a multiple of 16, not of 32
    EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, 0, 8, 2, 48), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, 0, 0, 2, 64), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(call(q.data(), kd, vd, out.y(), 1, INT64_C(1) << 40, 8, 2, 64),
            HYK_ERR_TOO_LARGE);
  for (int64_t i = 0; i < 8 * 64; ++i)
    ASSERT_TRUE(std::isnan(out.at(i))) << "out[" << i << "] written on an argument error";
  EXPECT_TRUE(out.GuardsIntact());
}

INSTANTIATE_TEST_SUITE_P(Isas, AttentionArgsTest, ::testing::ValuesIn(kVariants),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
