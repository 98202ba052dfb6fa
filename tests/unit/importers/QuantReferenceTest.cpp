//===- QuantReferenceTest.cpp - dequantizers vs the gguf Python package ---===//
//
// make_quant_reference.py (run by ctest as the fixture `quant_reference`)
// writes random blocks of every type the `gguf` package can dequantize,
// together with that package's float32 dequantization. Each test here reads
// the file with hyc's own GGUF reader, dequantizes the raw tensor with
// hyc::dequantizeRow() and requires every float to be bit-identical.
//
// The file's path comes from $HYC_QUANT_REFERENCE; a missing variable or
// file is a failure, not a skip: the comparison is the point of the test.
//
//===----------------------------------------------------------------------===//

#include "common/QuantTypes.h"
#include "gguf/GGUFFile.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

using namespace hyc;

namespace hyc {
// Readable test names in ctest (".../q4_K" instead of a byte dump).
void PrintTo(QuantType t, std::ostream *os) { *os << quantTypeName(t); }
} // namespace hyc

namespace {

class QuantReferenceTest : public ::testing::TestWithParam<QuantType> {
protected:
  static void SetUpTestSuite() {
    const char *path = std::getenv("HYC_QUANT_REFERENCE");
    if (!path || !*path) {
      OpenError = "HYC_QUANT_REFERENCE is not set (ctest sets it; run "
                  "make_quant_reference.py OUT.gguf and point it there)";
      return;
    }
    File = gguf::GGUFFile::open(path, OpenError);
  }
  static void TearDownTestSuite() { File.reset(); }

  static std::unique_ptr<gguf::GGUFFile> File;
  static std::string OpenError;
};

std::unique_ptr<gguf::GGUFFile> QuantReferenceTest::File;
std::string QuantReferenceTest::OpenError;

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

TEST_P(QuantReferenceTest, BitIdenticalToGGUFPackage) {
  ASSERT_TRUE(File) << OpenError;
  const QuantType t = GetParam();
  const std::string name = quantTypeName(t);
  std::string lower;
  for (char c : name)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  const gguf::TensorInfo *raw = File->findTensor(lower + ".raw");
  const gguf::TensorInfo *ref = File->findTensor(lower + ".ref");
  ASSERT_TRUE(raw && ref) << "missing " << lower << ".raw/.ref in "
                          << File->path();
  ASSERT_EQ(raw->type, t);
  ASSERT_EQ(ref->type, QuantType::F32);
  ASSERT_EQ(raw->dims, ref->dims);
  ASSERT_EQ(raw->dims.size(), 2u);

  const int64_t cols = static_cast<int64_t>(raw->dims[0]);
  const int64_t rows = static_cast<int64_t>(raw->dims[1]);
  const uint64_t rowBytesRaw = rowBytes(t, cols);
  ASSERT_EQ(rowBytesRaw * rows, raw->nbytes);
  // Enough random blocks that every code occurs in every position.
  ASSERT_GE(raw->numElements / blockSize(t), 48u);

  std::vector<float> got(cols), want(cols);
  std::string error;
  int64_t mismatches = 0, nonzero = 0, negative = 0;
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_TRUE(dequantizeRow(t, File->tensorData(*raw) + r * rowBytesRaw,
                              got.data(), cols, error))
        << error;
    std::memcpy(want.data(), File->tensorData(*ref) + r * cols * 4, cols * 4);
    for (int64_t i = 0; i < cols; ++i) {
      nonzero += want[i] != 0;
      negative += want[i] < 0;
      if (floatBits(got[i]) != floatBits(want[i]) && mismatches++ < 10)
        ADD_FAILURE() << name << " row " << r << " element " << i << ": hyc "
                      << got[i] << " (0x" << std::hex << floatBits(got[i])
                      << "), gguf " << want[i] << " (0x" << floatBits(want[i])
                      << std::dec << ")";
    }
  }
  EXPECT_EQ(mismatches, 0) << name;
  // Guard against a degenerate reference (all zeros would match anything
  // that outputs zeros).
  EXPECT_GT(nonzero, rows * cols / 2) << name;
  EXPECT_GT(negative, rows * cols / 8) << name;
}

INSTANTIATE_TEST_SUITE_P(AllGGUFKnownTypes, QuantReferenceTest,
                         ::testing::Values(QuantType::F32, QuantType::F16,
                                           QuantType::BF16, QuantType::Q8_0,
                                           QuantType::Q2_K, QuantType::TQ2_0,
                                           QuantType::Q4_K, QuantType::Q6_K),
                         [](const ::testing::TestParamInfo<QuantType> &info) {
                           return std::string(quantTypeName(info.param));
                         });

} // namespace
