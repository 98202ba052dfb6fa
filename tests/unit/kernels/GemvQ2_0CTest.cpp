//===- GemvQ2_0CTest.cpp - Unit tests for the Q2_0C GEMV kernels ---------===//
//
// Tests of the Q2_0C GEMV kernels (hyk_gemv_q2_0c_{avx2,avx512}) and the
// prefill GEMM (hyk_gemm_q2_0c_avx512) against a scalar reference written
// from the format definition.
//
// Accuracy bound, per output row n (the kernels accumulate in float32):
//   |y[n] - ref[n]| <= 1e-4 * sum_k |W[n,k] * x[k]| + 1e-6
// where ref is accumulated in double.
//
// Memory discipline: w and x are allocated exactly sized and end right before
// an inaccessible (PROT_NONE) page, so any read past their end faults; y sits
// between two 64-byte sentinel zones that must be untouched, and is pre-filled
// with NaN so a row the kernel forgot to write fails the comparison.

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hyk/kernels.h"

#include "KernelTestSupport.h"

namespace {

using hyk_test::GuardedBuffer;
using hyk_test::GuardedOutput;
using hyk_test::HalfToFloat;

constexpr int64_t kBlockWeights = HYK_Q2_0C_BLOCK_WEIGHTS;
constexpr int64_t kBlockBytes = HYK_Q2_0C_BLOCK_BYTES;

using GemvFn = int32_t (*)(const uint8_t *, const float *, float *, int64_t,
                           int64_t);

enum class Isa { kAvx2, kAvx512 };

const char *IsaName(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "avx512"; }

GemvFn IsaKernel(Isa isa) {
  return isa == Isa::kAvx2 ? &hyk_gemv_q2_0c_avx2 : &hyk_gemv_q2_0c_avx512;
}

// What the Halide targets of each variant require of the CPU.
bool IsaSupported(Isa isa) {
  return isa == Isa::kAvx2 ? hyk_test::CpuHasAvx2() : hyk_test::CpuHasAvx512Zen4();
}

// Random Q2_0C matrix + activations (fixed seed per shape).
struct Problem {
  int64_t n, k;
  GuardedBuffer w;
  GuardedBuffer x;

  Problem(int64_t n_, int64_t k_, uint32_t seed)
      : n(n_), k(k_),
        w(static_cast<size_t>(n_ * (k_ / kBlockWeights) * kBlockBytes)),
        x(static_cast<size_t>(k_) * sizeof(float)) {
    std::mt19937 rng(seed);
    uint8_t *wp = w.data();
    const int64_t blocks = n * (k / kBlockWeights);
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t *block = wp + b * kBlockBytes;
      // Scale: random sign, exponent and mantissa over normal halves in
      // [2^-14, 2^4), with a few zeros and subnormals mixed in.
      uint16_t h;
      const uint32_t kind = rng() % 64;
      if (kind == 0) {
        h = 0;
      } else if (kind == 1) {
        h = static_cast<uint16_t>(1 + rng() % 0x3ff); // subnormal
      } else {
        const uint16_t exponent = static_cast<uint16_t>(1 + rng() % 19);
        h = static_cast<uint16_t>((exponent << 10) | (rng() & 0x3ff));
      }
      if (rng() & 1)
        h |= 0x8000;
      block[0] = static_cast<uint8_t>(h & 0xff);
      block[1] = static_cast<uint8_t>(h >> 8);
      for (int64_t i = 2; i < kBlockBytes; ++i)
        block[i] = static_cast<uint8_t>(rng());
    }
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    float *xp = xs();
    for (int64_t i = 0; i < k; ++i)
      xp[i] = dist(rng);
  }

  const uint8_t *ws() const { return w.data(); }
  float *xs() const { return reinterpret_cast<float *>(x.data()); }
};

// Scalar reference from the format definition: ref[n] = sum_k W[n,k] x[k] in
// double, and mag[n] = sum_k |W[n,k] x[k]| for the error bound.
void Reference(const Problem &p, std::vector<double> *ref,
               std::vector<double> *mag) {
  const int64_t blocks = p.k / kBlockWeights;
  const int64_t row_bytes = blocks * kBlockBytes;
  ref->assign(static_cast<size_t>(p.n), 0.0);
  mag->assign(static_cast<size_t>(p.n), 0.0);
  const float *x = p.xs();
  for (int64_t n = 0; n < p.n; ++n) {
    double acc = 0.0, abs_acc = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *block = p.ws() + n * row_bytes + b * kBlockBytes;
      const double d =
          HalfToFloat(static_cast<uint16_t>(block[0] | (block[1] << 8)));
      const uint8_t *qs = block + 2;
      for (int64_t i = 0; i < kBlockWeights; ++i) {
        const int c = (qs[i / 4] >> (2 * (i % 4))) & 3;
        const double term =
            (2 * c - 3) * d * static_cast<double>(x[b * kBlockWeights + i]);
        acc += term;
        abs_acc += std::fabs(term);
      }
    }
    (*ref)[static_cast<size_t>(n)] = acc;
    (*mag)[static_cast<size_t>(n)] = abs_acc;
  }
}

struct Shape {
  Isa isa;
  int64_t n, k;
};

// gtest value printers (used in failure messages).
void PrintTo(Isa isa, std::ostream *os) { *os << IsaName(isa); }
void PrintTo(const Shape &s, std::ostream *os) {
  *os << IsaName(s.isa) << " n=" << s.n << " k=" << s.k;
}

std::string ShapeName(const testing::TestParamInfo<Shape> &info) {
  return std::string(IsaName(info.param.isa)) + "_n" +
         std::to_string(info.param.n) + "_k" + std::to_string(info.param.k);
}

std::vector<Shape> AllShapes() {
  std::vector<Shape> shapes;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    for (int64_t n : {1, 3, 7, 8, 9, 17, 63, 65, 257, 1000}) {
      for (int64_t k : {512, 1024, 1536, 2560})
        shapes.push_back({isa, n, k});
    }
    // HY-1.8B projection shapes (n, k).
    for (auto nk : {std::pair<int64_t, int64_t>{2048, 2048},
                    {512, 2048},
                    {6144, 2048},
                    {2048, 6144}}) {
      shapes.push_back({isa, nk.first, nk.second});
    }
  }
  return shapes;
}

class GemvQ2_0CTest : public testing::TestWithParam<Shape> {};

TEST_P(GemvQ2_0CTest, MatchesScalarReference) {
  const Shape s = GetParam();
  if (!IsaSupported(s.isa)) {
    GTEST_SKIP() << "CPU lacks the features of the " << IsaName(s.isa)
                 << " kernel variant";
  }
  const uint32_t seed = static_cast<uint32_t>(s.n * 7919 + s.k * 31 +
                                              (s.isa == Isa::kAvx2 ? 1 : 2));
  Problem p(s.n, s.k, seed);
  ASSERT_TRUE(p.w.ok() && p.x.ok()) << "guarded allocation failed";
  std::vector<double> ref, mag;
  Reference(p, &ref, &mag);

  GuardedOutput out(s.n);
  ASSERT_EQ(IsaKernel(s.isa)(p.ws(), p.xs(), out.y(), s.n, s.k), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact()) << "bytes around y were modified";

  int failures = 0;
  for (int64_t n = 0; n < s.n; ++n) {
    const double got = out.at(n);
    const double bound = 1e-4 * mag[static_cast<size_t>(n)] + 1e-6;
    const double err = std::fabs(got - ref[static_cast<size_t>(n)]);
    if (!(err <= bound)) { // also catches NaN (row not written)
      if (++failures <= 5) {
        ADD_FAILURE() << "row " << n << ": got " << got << ", want "
                      << ref[static_cast<size_t>(n)] << " (|err| " << err
                      << " > bound " << bound << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << s.n << " rows out of bounds";
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemvQ2_0CTest, testing::ValuesIn(AllShapes()),
                         ShapeName);

// ---- GEMM (prefill): m rows of activations at once ---------------------------

using hyk_test::GemmShape;

// HY-1.8B prefill chunks (32 tokens) and an odd token count.
std::vector<GemmShape> GemmShapes() {
  return hyk_test::GemmShapes({1, 2, 3, 5, 33}, {{2048, 2048, 32}, {512, 2048, 32}, {2048, 6144, 7}});
}

class GemmQ2_0CTest : public testing::TestWithParam<GemmShape> {};

TEST_P(GemmQ2_0CTest, MatchesScalarReference) {
  const GemmShape s = GetParam();
  if (!IsaSupported(Isa::kAvx512))
    GTEST_SKIP() << "CPU lacks the features of the avx512 kernel variant";
  // One Problem per activation row (same W: same seed), x rows copied into a
  // guarded m x k matrix.
  const uint32_t seed = static_cast<uint32_t>(s.n * 7919 + s.k * 31 + 5);
  Problem p(s.n, s.k, seed);
  GuardedBuffer x(static_cast<size_t>(s.m * s.k) * sizeof(float));
  ASSERT_TRUE(p.w.ok() && p.x.ok() && x.ok()) << "guarded allocation failed";
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  float *xm = reinterpret_cast<float *>(x.data());
  for (int64_t i = 0; i < s.m * s.k; ++i)
    xm[i] = dist(rng) * ((i % 97) == 0 ? 30.0f : 1.0f); // a few large entries

  GuardedOutput out(s.n * s.m);
  ASSERT_EQ(hyk_gemm_q2_0c_avx512(p.ws(), xm, out.y(), s.n, s.k, s.m), HYK_OK);
  EXPECT_TRUE(out.GuardsIntact()) << "bytes around y were modified";

  int failures = 0;
  std::vector<double> ref, mag;
  for (int64_t r = 0; r < s.m; ++r) {
    std::memcpy(p.xs(), xm + r * s.k, static_cast<size_t>(s.k) * sizeof(float));
    Reference(p, &ref, &mag);
    for (int64_t n = 0; n < s.n; ++n) {
      const double got = out.at(r * s.n + n);
      const double bound = 1e-4 * mag[static_cast<size_t>(n)] + 1e-6;
      const double err = std::fabs(got - ref[static_cast<size_t>(n)]);
      if (!(err <= bound) && ++failures <= 5) {
        ADD_FAILURE() << "row " << r << " col " << n << ": got " << got << ", want "
                      << ref[static_cast<size_t>(n)] << " (|err| " << err
                      << " > bound " << bound << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << s.n * s.m << " outputs out of bounds";
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmQ2_0CTest, testing::ValuesIn(GemmShapes()),
                         [](const testing::TestParamInfo<GemmShape> &info) {
                           return hyk_test::ShapeName(info.param);
                         });

TEST(GemmQ2_0CErrors, RejectsBadArguments) {
  const int64_t n = 4, k = 1024, m = 3;
  std::vector<uint8_t> w(static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes), 0);
  std::vector<float> x(static_cast<size_t>(k * m), 1.0f);
  GuardedOutput out(n * m);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), x.data(), out.y(), n, 768, m),
            HYK_ERR_K_NOT_BLOCKED);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(nullptr, x.data(), out.y(), n, k, m), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), nullptr, out.y(), n, k, m), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), x.data(), nullptr, n, k, m), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), x.data(), out.y(), n, k, 0), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), x.data(), out.y(), 0, k, m), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(hyk_gemm_q2_0c_avx512(w.data(), x.data(), out.y(), n, k, int64_t(1) << 40),
            HYK_ERR_TOO_LARGE);
  EXPECT_TRUE(out.GuardsIntact());
  for (int64_t i = 0; i < n * m; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y touched on an argument error";
}

// Argument validation: every error returns before touching y.
class GemvQ2_0CErrorTest : public testing::TestWithParam<Isa> {};

TEST_P(GemvQ2_0CErrorTest, RejectsBadArguments) {
  // Validation happens before any ISA-specific code runs, so this test runs
  // (and must pass) even on CPUs without the variant's features.
  const GemvFn gemv = IsaKernel(GetParam());
  const int64_t n = 4, k = 1024;
  std::vector<uint8_t> w(
      static_cast<size_t>(n * (k / kBlockWeights) * kBlockBytes), 0);
  std::vector<float> x(static_cast<size_t>(k), 1.0f);
  GuardedOutput out(n);

  // K not a multiple of the block size.
  int32_t status = gemv(w.data(), x.data(), out.y(), n, 768);
  EXPECT_EQ(status, HYK_ERR_K_NOT_BLOCKED);
  EXPECT_NE(std::string(hyk_status_message(status)).find("512"),
            std::string::npos)
      << hyk_status_message(status);

  // Null pointers.
  EXPECT_EQ(gemv(nullptr, x.data(), out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(gemv(w.data(), nullptr, out.y(), n, k), HYK_ERR_NULL_POINTER);
  EXPECT_EQ(gemv(w.data(), x.data(), nullptr, n, k), HYK_ERR_NULL_POINTER);

  // Non-positive dimensions.
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), 0, k), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), -1, k), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), n, 0), HYK_ERR_BAD_SHAPE);
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), n, -512), HYK_ERR_BAD_SHAPE);

  // Sizes Halide's int32 buffer descriptors cannot express (checked before
  // anything is read, so the small buffers above are never overrun).
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), int64_t{1} << 31, k),
            HYK_ERR_TOO_LARGE);
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), 1, int64_t{1} << 40),
            HYK_ERR_TOO_LARGE);
  EXPECT_EQ(gemv(w.data(), x.data(), out.y(), 20000000, 2048),
            HYK_ERR_TOO_LARGE);

  for (int64_t i = 0; i < n; ++i)
    EXPECT_TRUE(std::isnan(out.at(i))) << "y[" << i << "] was written";
  EXPECT_TRUE(out.GuardsIntact());
}

INSTANTIATE_TEST_SUITE_P(Isas, GemvQ2_0CErrorTest,
                         testing::Values(Isa::kAvx2, Isa::kAvx512),
                         [](const testing::TestParamInfo<Isa> &info) {
                           return std::string(IsaName(info.param));
                         });

TEST(HykStatusMessage, DescribesEveryCode) {
  for (int32_t code :
       {HYK_OK, HYK_ERR_NULL_POINTER, HYK_ERR_BAD_SHAPE, HYK_ERR_K_NOT_BLOCKED,
        HYK_ERR_TOO_LARGE, HYK_ERR_KERNEL, -1000, 7}) {
    const char *msg = hyk_status_message(code);
    ASSERT_NE(msg, nullptr);
    EXPECT_GT(std::strlen(msg), 0u);
  }
  EXPECT_STREQ(hyk_status_message(-1000), "unknown hyk status code");
}

// Concurrent calls from several threads (each call itself runs on the shared
// Halide thread pool) produce the same results as sequential calls.
TEST(GemvQ2_0CConcurrency, ConcurrentCallsAgree) {
  const Isa isa = Isa::kAvx2;
  if (!IsaSupported(isa))
    GTEST_SKIP() << "CPU lacks AVX2/FMA";
  Problem p(257, 2048, 4242);
  std::vector<float> expected(257);
  ASSERT_EQ(hyk_gemv_q2_0c_avx2(p.ws(), p.xs(), expected.data(), p.n, p.k),
            HYK_OK);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> got(kThreads, std::vector<float>(257));
  std::vector<int32_t> status(kThreads, -100);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20 && status[t] != HYK_ERR_KERNEL; ++rep) {
        status[t] =
            hyk_gemv_q2_0c_avx2(p.ws(), p.xs(), got[t].data(), p.n, p.k);
      }
    });
  }
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(status[t], HYK_OK);
    EXPECT_EQ(std::memcmp(got[t].data(), expected.data(),
                          expected.size() * sizeof(float)),
              0)
        << "thread " << t;
  }
}

#ifdef HYK_PIC_CHECK_SO
// libhyk_x86.a is linked whole into a shared object (as the compiler does for
// model libraries); loading it and running a kernel from it must work.
TEST(HykArchive, LinksIntoSharedObject) {
  void *so = dlopen(HYK_PIC_CHECK_SO, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << dlerror();
  auto fn = reinterpret_cast<GemvFn>(dlsym(so, "hyk_gemv_q2_0c_avx2"));
  ASSERT_NE(fn, nullptr) << dlerror();
  if (IsaSupported(Isa::kAvx2)) {
    Problem p(9, 1024, 99);
    std::vector<float> a(9), b(9);
    ASSERT_EQ(fn(p.ws(), p.xs(), a.data(), p.n, p.k), HYK_OK);
    ASSERT_EQ(hyk_gemv_q2_0c_avx2(p.ws(), p.xs(), b.data(), p.n, p.k), HYK_OK);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * 9), 0);
  }
  EXPECT_EQ(dlclose(so), 0);
}
#endif

} // namespace
