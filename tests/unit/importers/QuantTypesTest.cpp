//===- QuantTypesTest.cpp - Unit tests for the quant type table ----------===//

#include "common/QuantTypes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace hyc;

namespace {

/// Reference binary16 decoding straight from the IEEE definition.
double refHalf(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

/// Reference bfloat16 decoding (8-bit exponent, 7-bit mantissa).
double refBF16(uint16_t h) {
  int sign = h >> 15, exp = (h >> 7) & 255, mant = h & 127;
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -133);
  else if (exp == 255)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(128 + mant, exp - 134);
  return sign ? -v : v;
}

void expectSameFloat(float got, double want, uint32_t input) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << std::hex << input;
    return;
  }
  EXPECT_EQ(static_cast<double>(got), want) << std::hex << input;
  EXPECT_EQ(std::signbit(got), std::signbit(want)) << std::hex << input;
}

void putHalf(std::vector<uint8_t> &b, size_t at, uint16_t h) {
  b[at] = static_cast<uint8_t>(h);
  b[at + 1] = static_cast<uint8_t>(h >> 8);
}

TEST(QuantTypesTest, Table) {
  struct Row {
    QuantType t;
    uint32_t id;
    const char *name;
    uint32_t bs, bb;
  } rows[] = {
      {QuantType::F32, 0, "f32", 1, 4},
      {QuantType::F16, 1, "f16", 1, 2},
      {QuantType::BF16, 30, "bf16", 1, 2},
      {QuantType::Q8_0, 8, "q8_0", 32, 34},
      {QuantType::Q2_K, 10, "q2_K", 256, 84},
      {QuantType::TQ2_0, 35, "tq2_0", 256, 66},
      {QuantType::Q4_K, 12, "q4_K", 256, 144},
      {QuantType::Q6_K, 14, "q6_K", 256, 210},
      {QuantType::Q2_0C, 40, "q2_0c", 512, 130},
      {QuantType::NVFP4, 40, "nvfp4", 64, 36},
  };
  ASSERT_EQ(allQuantTypes().size(), std::size(rows));
  for (const Row &r : rows) {
    SCOPED_TRACE(r.name);
    const QuantTypeInfo &info = quantTypeInfo(r.t);
    EXPECT_EQ(info.type, r.t);
    EXPECT_EQ(info.ggmlId, r.id);
    EXPECT_STREQ(info.name, r.name);
    EXPECT_EQ(blockSize(r.t), r.bs);
    EXPECT_EQ(blockBytes(r.t), r.bb);
    EXPECT_STREQ(quantTypeName(r.t), r.name);
    EXPECT_EQ(quantTypeFromName(r.name), r.t);
    if (r.id != AmbiguousGGMLId) {
      EXPECT_EQ(quantTypeFromGGMLId(r.id), r.t);
    }
    EXPECT_NE(ggmlTypeName(r.id), nullptr);
  }
  EXPECT_EQ(quantTypeFromGGMLId(AmbiguousGGMLId), QuantType::Unknown);
  EXPECT_EQ(quantTypeFromGGMLId(2), QuantType::Unknown);
  EXPECT_STREQ(ggmlTypeName(2), "q4_0");
  EXPECT_EQ(ggmlTypeName(99), nullptr);
  EXPECT_EQ(quantTypeFromName("q4_0"), QuantType::Unknown);
  EXPECT_STREQ(quantTypeName(QuantType::Unknown), "unknown");
  EXPECT_EQ(blockSize(QuantType::Unknown), 0u);
}

TEST(QuantTypesTest, Sizes) {
  EXPECT_EQ(rowBytes(QuantType::F32, 10), 40u);
  EXPECT_EQ(rowBytes(QuantType::F16, 3), 6u);
  EXPECT_EQ(rowBytes(QuantType::Q8_0, 64), 68u);
  EXPECT_EQ(rowBytes(QuantType::Q2_0C, 1024), 260u);
  EXPECT_EQ(rowBytes(QuantType::Q4_K, 512), 288u);
  EXPECT_EQ(rowBytes(QuantType::NVFP4, 128), 72u);
  EXPECT_EQ(rowBytes(QuantType::F32, 0), 0u);
  EXPECT_EQ(rowBytes(QuantType::Q8_0, 33), 0u);
  EXPECT_EQ(rowBytes(QuantType::F32, -4), 0u);
  EXPECT_EQ(rowBytes(QuantType::Unknown, 4), 0u);

  uint64_t n, bytes;
  EXPECT_TRUE(checkedNumElements({4, 3, 2}, n));
  EXPECT_EQ(n, 24u);
  EXPECT_FALSE(checkedNumElements({}, n));
  EXPECT_FALSE(checkedNumElements({1ull << 32, 1ull << 32}, n));
  EXPECT_TRUE(checkedTensorBytes(QuantType::Q6_K, 512, bytes));
  EXPECT_EQ(bytes, 420u);
  EXPECT_FALSE(checkedTensorBytes(QuantType::F32, 1ull << 62, bytes));
  EXPECT_FALSE(checkedTensorBytes(QuantType::Q2_K, 100, bytes));
}

TEST(QuantTypesTest, ResolveType) {
  std::string error;
  EXPECT_EQ(resolveType(8, {32, 2}, 0, 32, error), QuantType::Q8_0);
  EXPECT_EQ(resolveType(30, {7}, 0, 32, error), QuantType::BF16);

  EXPECT_EQ(resolveType(99, {4}, 16, 32, error), QuantType::Unknown);
  EXPECT_NE(error.find("unknown ggml type 99"), std::string::npos) << error;
  EXPECT_EQ(resolveType(39, {32}, 17, 32, error), QuantType::Unknown);
  EXPECT_NE(error.find("unsupported ggml type 39 (mxfp4)"), std::string::npos)
      << error;

  // Q2_0C exactly, and with trailing padding below the alignment.
  EXPECT_EQ(resolveType(40, {512, 4}, 520, 32, error), QuantType::Q2_0C);
  EXPECT_EQ(resolveType(40, {512, 4}, 544, 32, error), QuantType::Q2_0C);
  EXPECT_EQ(resolveType(40, {1024}, 260 + 31, 32, error), QuantType::Q2_0C);
  // Too much space for Q2_0C (1024 weights need 260) but exact for NVFP4.
  EXPECT_EQ(resolveType(40, {1024}, 576, 32, error), QuantType::NVFP4);
  EXPECT_EQ(resolveType(40, {512}, 288 + 31, 32, error), QuantType::NVFP4);
  // Row length only divisible by 64.
  EXPECT_EQ(resolveType(40, {64, 8}, 288, 32, error), QuantType::NVFP4);
  EXPECT_EQ(resolveType(40, {192}, 108, 64, error), QuantType::NVFP4);
  // A large alignment can make both fit; Q2_0C wins by rule.
  EXPECT_EQ(resolveType(40, {512}, 288, 256, error), QuantType::Q2_0C);

  EXPECT_EQ(resolveType(40, {512}, 200, 32, error), QuantType::Unknown);
  EXPECT_NE(error.find("q2_0c"), std::string::npos) << error;
  EXPECT_NE(error.find("nvfp4"), std::string::npos) << error;
  EXPECT_NE(error.find("needs 130 bytes"), std::string::npos) << error;
  EXPECT_NE(error.find("needs 288 bytes"), std::string::npos) << error;
  EXPECT_NE(error.find("200 bytes"), std::string::npos) << error;

  EXPECT_EQ(resolveType(40, {32}, 18, 32, error), QuantType::Unknown);
  EXPECT_NE(error.find("not a multiple of 512"), std::string::npos) << error;
  EXPECT_NE(error.find("not a multiple of 64"), std::string::npos) << error;
  // Too little space for either.
  EXPECT_EQ(resolveType(40, {512}, 129, 32, error), QuantType::Unknown);
}

TEST(QuantTypesTest, Fp16AllValues) {
  for (uint32_t h = 0; h < 65536; ++h)
    expectSameFloat(fp16ToFloat(static_cast<uint16_t>(h)),
                    refHalf(static_cast<uint16_t>(h)), h);
}

TEST(QuantTypesTest, Fp16SpecialValues) {
  EXPECT_EQ(fp16ToFloat(0x3c00), 1.0f);
  EXPECT_EQ(fp16ToFloat(0xc000), -2.0f);
  EXPECT_EQ(fp16ToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(fp16ToFloat(0x0400), std::ldexp(1.0f, -14)); // smallest normal
  EXPECT_EQ(fp16ToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_EQ(fp16ToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(fp16ToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(fp16ToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16ToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16ToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(fp16ToFloat(0x7c01))); // signalling payload
  EXPECT_TRUE(std::signbit(fp16ToFloat(0x8000)));
  EXPECT_EQ(fp16ToFloat(0x8000), 0.0f);
}

TEST(QuantTypesTest, Bf16AllValues) {
  for (uint32_t h = 0; h < 65536; ++h)
    expectSameFloat(bf16ToFloat(static_cast<uint16_t>(h)),
                    refBF16(static_cast<uint16_t>(h)), h);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(bf16ToFloat(0x7f80), std::numeric_limits<float>::infinity());
}

TEST(QuantTypesTest, DequantizeF32F16BF16) {
  std::string error;
  const float in[3] = {1.5f, -0.0f, 3e38f};
  std::vector<uint8_t> f32(12);
  std::memcpy(f32.data(), in, 12); // Test hosts are little-endian.
  float out[3];
  ASSERT_TRUE(dequantizeRow(QuantType::F32, f32.data(), out, 3, error));
  EXPECT_EQ(0, std::memcmp(in, out, sizeof(in)));

  const uint16_t halves[] = {0x3c00, 0x0001, 0x7c00, 0xfbff, 0x8000};
  std::vector<uint8_t> h(10);
  for (int i = 0; i < 5; ++i)
    putHalf(h, 2 * i, halves[i]);
  float hout[5];
  ASSERT_TRUE(dequantizeRow(QuantType::F16, h.data(), hout, 5, error));
  for (int i = 0; i < 5; ++i)
    expectSameFloat(hout[i], refHalf(halves[i]), halves[i]);

  ASSERT_TRUE(dequantizeRow(QuantType::BF16, h.data(), hout, 5, error));
  for (int i = 0; i < 5; ++i)
    expectSameFloat(hout[i], refBF16(halves[i]), halves[i]);
}

TEST(QuantTypesTest, DequantizeQ8_0) {
  std::mt19937 rng(7);
  const int blocks = 5, n = 32 * blocks;
  std::vector<uint8_t> src(34 * blocks);
  const uint16_t scales[blocks] = {0x3c00, 0x2e66, 0xb800, 0x0003, 0x0000};
  for (int b = 0; b < blocks; ++b) {
    putHalf(src, 34 * b, scales[b]);
    for (int i = 0; i < 32; ++i)
      src[34 * b + 2 + i] = static_cast<uint8_t>(rng());
  }
  src[2] = 0x80; // -128
  src[3] = 0x7f; // 127
  std::vector<float> out(n);
  std::string error;
  ASSERT_TRUE(dequantizeRow(QuantType::Q8_0, src.data(), out.data(), n, error))
      << error;
  for (int i = 0; i < n; ++i) {
    int b = i / 32;
    double d = refHalf(scales[b]);
    int q = static_cast<int8_t>(src[34 * b + 2 + i % 32]);
    EXPECT_EQ(out[i], static_cast<float>(q * static_cast<float>(d))) << i;
  }
  EXPECT_EQ(out[0], -128.0f);
  EXPECT_EQ(out[1], 127.0f);
}

TEST(QuantTypesTest, DequantizeQ2_0C) {
  std::mt19937 rng(11);
  const int blocks = 3, n = 512 * blocks;
  std::vector<uint8_t> src(130 * blocks);
  const uint16_t scales[blocks] = {0x3800, 0xc200, 0x0200};
  for (int b = 0; b < blocks; ++b) {
    putHalf(src, 130 * b, scales[b]);
    for (int i = 0; i < 128; ++i)
      src[130 * b + 2 + i] = static_cast<uint8_t>(rng());
  }
  // Byte 0 of block 0 holds codes 0,1,2,3 for weights 0..3 (low bits first).
  src[2] = 0b11100100;
  std::vector<float> out(n);
  std::string error;
  ASSERT_TRUE(dequantizeRow(QuantType::Q2_0C, src.data(), out.data(), n, error))
      << error;
  for (int i = 0; i < n; ++i) {
    int b = i / 512, j = i % 512;
    int c = (src[130 * b + 2 + j / 4] >> (2 * (j % 4))) & 3;
    double want = (2 * c - 3) * refHalf(scales[b]);
    EXPECT_EQ(static_cast<double>(out[i]), want) << i;
  }
  EXPECT_EQ(out[0], -1.5f);
  EXPECT_EQ(out[1], -0.5f);
  EXPECT_EQ(out[2], 0.5f);
  EXPECT_EQ(out[3], 1.5f);
}

TEST(QuantTypesTest, ConvertQ2_0CToQ2_KIsLossless) {
  std::mt19937 rng(23);
  // Ordinary, negative, tiny (subnormal), largest finite and zero scales.
  const uint16_t scales[] = {0x3c00, 0x2e66, 0xb555, 0x0001, 0x83ff,
                             0x7bff, 0xfbff, 0x0000, 0x8000, 0x1234};
  const int blocks = static_cast<int>(std::size(scales));
  const int n = 512 * blocks;
  std::vector<uint8_t> src(130 * blocks);
  for (int b = 0; b < blocks; ++b) {
    putHalf(src, 130 * b, scales[b]);
    for (int i = 0; i < 128; ++i)
      src[130 * b + 2 + i] = static_cast<uint8_t>(rng());
  }
  std::vector<uint8_t> q2k(rowBytes(QuantType::Q2_K, n), 0xee);
  ASSERT_EQ(q2k.size(), 84u * 2 * blocks);
  std::string error;
  ASSERT_TRUE(convertQ2_0CToQ2_K(src.data(), q2k.data(), n, error)) << error;

  std::vector<float> want(n), got(n);
  ASSERT_TRUE(
      dequantizeRow(QuantType::Q2_0C, src.data(), want.data(), n, error));
  ASSERT_TRUE(dequantizeRow(QuantType::Q2_K, q2k.data(), got.data(), n, error));
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(got[i], want[i]) << "element " << i;
    if (want[i] != 0) // Zero scales may flip the sign of a zero.
      ASSERT_EQ(std::signbit(got[i]), std::signbit(want[i])) << i;
  }
  // The encoding itself: scale 2 / min 3 everywhere, d = dmin = D.
  for (int k = 0; k < 2 * blocks; ++k) {
    const uint8_t *blk = q2k.data() + 84 * k;
    for (int s = 0; s < 16; ++s)
      EXPECT_EQ(blk[s], 0x32);
    uint16_t d = blk[80] | (blk[81] << 8), dmin = blk[82] | (blk[83] << 8);
    EXPECT_EQ(d, scales[k / 2]);
    EXPECT_EQ(dmin, scales[k / 2]);
  }

  // Inf and NaN scales cannot be represented (Q2_K would give NaN).
  for (uint16_t bad : {0x7c00, 0xfc00, 0x7e00}) {
    std::vector<uint8_t> s2 = src;
    putHalf(s2, 130 * 3, bad);
    error.clear();
    EXPECT_FALSE(convertQ2_0CToQ2_K(s2.data(), q2k.data(), n, error));
    EXPECT_NE(error.find("block 3 has a non-finite scale"), std::string::npos)
        << error;
  }
  EXPECT_FALSE(convertQ2_0CToQ2_K(src.data(), q2k.data(), 256, error));
  EXPECT_NE(error.find("multiple of 512"), std::string::npos) << error;
  EXPECT_TRUE(convertQ2_0CToQ2_K(nullptr, nullptr, 0, error));
}

TEST(QuantTypesTest, DequantizeErrors) {
  std::vector<uint8_t> src(512);
  std::vector<float> dst(512);
  std::string error;
  EXPECT_FALSE(
      dequantizeRow(QuantType::Q8_0, src.data(), dst.data(), 33, error));
  EXPECT_NE(error.find("multiple of the block size 32"), std::string::npos)
      << error;
  EXPECT_FALSE(
      dequantizeRow(QuantType::F32, src.data(), dst.data(), -1, error));
  EXPECT_FALSE(
      dequantizeRow(QuantType::NVFP4, src.data(), dst.data(), 64, error));
  EXPECT_NE(error.find("nvfp4 is not implemented"), std::string::npos) << error;
  EXPECT_FALSE(
      dequantizeRow(QuantType::Unknown, src.data(), dst.data(), 1, error));
  EXPECT_TRUE(dequantizeRow(QuantType::Q2_0C, nullptr, nullptr, 0, error));
  EXPECT_TRUE(canDequantize(QuantType::Q2_0C));
  EXPECT_FALSE(canDequantize(QuantType::NVFP4));
}

} // namespace
