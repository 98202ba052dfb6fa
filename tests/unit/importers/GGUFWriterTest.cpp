//===- GGUFWriterTest.cpp - GGUFWriter -> GGUFFile round trips ------------===//

#include "gguf/GGUFWriter.h"
#include "gguf/GGUFFile.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace hyc;
using namespace hyc::gguf;

namespace {

/// Deep equality of two metadata values, with a path for the message.
void expectSameValue(const Value &a, const Value &b, const std::string &at) {
  ASSERT_EQ(a.type(), b.type()) << at;
  if (a.isArray()) {
    ASSERT_EQ(a.elementType(), b.elementType()) << at;
    ASSERT_EQ(a.size(), b.size()) << at;
    if (a.elementType() == ValueType::String)
      EXPECT_EQ(a.strings(), b.strings()) << at;
    else if (a.elementType() == ValueType::Array)
      for (size_t i = 0; i < a.arrays().size(); ++i)
        expectSameValue(a.arrays()[i], b.arrays()[i],
                        at + "[" + std::to_string(i) + "]");
    else
      EXPECT_EQ(a.scalarBytes(), b.scalarBytes()) << at;
    return;
  }
  if (a.isString()) {
    EXPECT_EQ(*a.asString(), *b.asString()) << at;
  } else if (a.isFloat()) {
    double x = *a.asF64(), y = *b.asF64();
    EXPECT_EQ(0, std::memcmp(&x, &y, sizeof(x))) << at;
  } else if (a.type() == ValueType::Bool) {
    EXPECT_EQ(*a.asBool(), *b.asBool()) << at;
  } else {
    EXPECT_EQ(a.asU64(), b.asU64()) << at;
    EXPECT_EQ(a.asI64(), b.asI64()) << at;
  }
}

std::vector<uint8_t> leBytes(std::initializer_list<uint64_t> values,
                             unsigned size) {
  std::vector<uint8_t> out;
  for (uint64_t v : values)
    for (unsigned i = 0; i < size; ++i)
      out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

class GGUFWriterTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hyc_gguf_writer_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    Dir = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(Dir, ec);
  }
  /// Names of the files in Dir (to check that nothing stray is left).
  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::directory_iterator(Dir))
      names.push_back(e.path().filename().string());
    return names;
  }
  std::string Dir;
};

TEST_F(GGUFWriterTest, MetadataOfEveryTypeRoundTrips) {
  std::vector<std::pair<std::string, Value>> kvs = {
      {"general.architecture", Value::makeString("hunyuan-dense")},
      {"t.u8", Value::makeUnsigned(ValueType::UInt8, 255)},
      {"t.i8", Value::makeSigned(ValueType::Int8, -128)},
      {"t.u16", Value::makeUnsigned(ValueType::UInt16, 65535)},
      {"t.i16", Value::makeSigned(ValueType::Int16, -32768)},
      {"t.u32", Value::makeUnsigned(ValueType::UInt32, 4000000000u)},
      {"t.i32", Value::makeSigned(ValueType::Int32, -2000000000)},
      {"t.f32", Value::makeFloat(ValueType::Float32, -0.1f)},
      {"t.bool", Value::makeBool(true)},
      {"t.false", Value::makeBool(false)},
      {"t.str", Value::makeString("h\xc3\xa9llo \xe2\x96\x81 <\xef\xbd\x9c>")},
      {"t.empty", Value::makeString("")},
      {"t.u64", Value::makeUnsigned(ValueType::UInt64, ~0ull)},
      {"t.i64", Value::makeSigned(ValueType::Int64, INT64_MIN)},
      {"t.f64", Value::makeFloat(ValueType::Float64, 1.0 / 3.0)},
      {"t.strs", Value::makeStringArray({"a", "", "\xc4\xa0the"})},
      {"t.i32s",
       Value::makeScalarArray(ValueType::Int32, leBytes({1, 0xffffffff}, 4))},
      {"t.f32s", Value::makeScalarArray(ValueType::Float32,
                                        leBytes({0x3f800000, 0xbf000000}, 4))},
      {"t.bools", Value::makeScalarArray(ValueType::Bool, {1, 0, 1})},
      {"t.u64s", Value::makeScalarArray(ValueType::UInt64, leBytes({7}, 8))},
      {"t.noints", Value::makeScalarArray(ValueType::Int16, {})},
      {"t.nostrs", Value::makeStringArray({})},
      {"t.nested",
       Value::makeNestedArray(
           {Value::makeStringArray({"x"}),
            Value::makeScalarArray(ValueType::UInt8, {9, 8}),
            Value::makeNestedArray({Value::makeScalarArray(
                ValueType::Float64, leBytes({0x4000000000000000}, 8))})})},
  };
  GGUFWriter w;
  std::string error;
  for (const auto &[k, v] : kvs)
    ASSERT_TRUE(w.addMetadata(k, v, error)) << error;
  std::string path = Dir + "/meta.gguf";
  ASSERT_TRUE(w.write(path, error)) << error;
  EXPECT_EQ(std::filesystem::file_size(path), w.fileSize());

  auto f = GGUFFile::open(path, error);
  ASSERT_TRUE(f) << error;
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->metadata().size(), kvs.size());
  for (size_t i = 0; i < kvs.size(); ++i) {
    EXPECT_EQ(f->metadata()[i].key, kvs[i].first);
    expectSameValue(f->metadata()[i].value, kvs[i].second, kvs[i].first);
  }
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(listDir(), std::vector<std::string>{"meta.gguf"});
}

/// Every type in the table, including both readings of id 40, written by
/// GGUFWriter and read back by GGUFFile with the same type, dims and bytes.
TEST_F(GGUFWriterTest, TensorsOfEveryTypeRoundTrip) {
  for (uint32_t align : {32u, 64u, 256u}) {
    SCOPED_TRACE("alignment " + std::to_string(align));
    std::mt19937 rng(align);
    GGUFWriter w;
    std::string error;
    ASSERT_TRUE(w.addMetadata("general.alignment",
                              Value::makeUnsigned(ValueType::UInt32, align),
                              error));
    struct Expect {
      std::string name;
      QuantType type;
      std::vector<uint64_t> dims;
      std::vector<uint8_t> data;
    };
    std::vector<Expect> expected;
    for (const QuantTypeInfo &info : allQuantTypes()) {
      // A row of 1024 elements is a whole number of blocks of every type;
      // NVFP4 and Q2_0C then differ in size, so id 40 resolves uniquely.
      std::vector<uint64_t> dims = {1024, 3};
      if (info.type == QuantType::F32)
        dims = {5}; // 1-D, odd length
      uint64_t n = dims.size() == 2 ? dims[0] * dims[1] : dims[0];
      std::vector<uint8_t> data(n / info.blockSize * info.blockBytes);
      for (uint8_t &b : data)
        b = static_cast<uint8_t>(rng());
      expected.push_back(
          {std::string("t.") + info.name, info.type, dims, std::move(data)});
    }
    for (const Expect &e : expected)
      ASSERT_TRUE(w.addTensor(
          e.name, e.dims, e.type,
          GGUFWriter::copyFrom(e.data.data(), e.data.size()), error))
          << error;
    std::string path = Dir + "/all.gguf";
    ASSERT_TRUE(w.write(path, error)) << error;
    EXPECT_EQ(std::filesystem::file_size(path), w.fileSize());

    auto f = GGUFFile::open(path, error);
    ASSERT_TRUE(f) << error;
    EXPECT_EQ(f->alignment(), align);
    ASSERT_EQ(f->tensors().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const Expect &e = expected[i];
      const TensorInfo &t = f->tensors()[i];
      SCOPED_TRACE(e.name);
      EXPECT_EQ(t.name, e.name);
      EXPECT_EQ(t.type, e.type);
      EXPECT_EQ(t.ggmlType, quantTypeInfo(e.type).ggmlId);
      EXPECT_EQ(t.dims, e.dims);
      EXPECT_EQ(t.offset % align, 0u);
      ASSERT_EQ(t.nbytes, e.data.size());
      EXPECT_EQ(0, std::memcmp(f->tensorData(t), e.data.data(), t.nbytes));
    }
  }
}

TEST_F(GGUFWriterTest, StreamsInPieces) {
  GGUFWriter w;
  std::string error;
  // 3 MiB of F16 written 1000 bytes at a time crosses the sink's buffer.
  const uint64_t rows = 1536, cols = 1024, bytes = rows * cols * 2;
  ASSERT_TRUE(w.addTensor(
      "big", {cols, rows}, QuantType::F16,
      [&](ByteSink &out, std::string &) {
        std::vector<uint8_t> chunk(1000);
        for (uint64_t off = 0; off < bytes; off += chunk.size()) {
          size_t n = std::min<uint64_t>(chunk.size(), bytes - off);
          for (size_t i = 0; i < n; ++i)
            chunk[i] = static_cast<uint8_t>((off + i) * 31 >> 3);
          if (!out.write(chunk.data(), n))
            return false;
        }
        return true;
      },
      error));
  std::string path = Dir + "/big.gguf";
  ASSERT_TRUE(w.write(path, error)) << error;
  auto f = GGUFFile::open(path, error);
  ASSERT_TRUE(f) << error;
  const TensorInfo &t = f->tensors()[0];
  ASSERT_EQ(t.nbytes, bytes);
  const uint8_t *p = f->tensorData(t);
  for (uint64_t i = 0; i < bytes; ++i)
    ASSERT_EQ(p[i], static_cast<uint8_t>(i * 31 >> 3)) << i;
}

TEST_F(GGUFWriterTest, FailuresLeaveNothingBehind) {
  std::string path = Dir + "/out.gguf";
  std::string error;
  std::vector<uint8_t> data(64, 1);
  auto expectFails = [&](TensorProducer producer, const std::string &words) {
    GGUFWriter w;
    std::string e;
    ASSERT_TRUE(w.addTensor("w", {16}, QuantType::F32, std::move(producer), e));
    EXPECT_FALSE(w.write(path, e));
    EXPECT_NE(e.find(words), std::string::npos) << e;
    EXPECT_TRUE(listDir().empty()) << "left a file behind: " << e;
  };
  expectFails(GGUFWriter::copyFrom(data.data(), 32),
              "tensor 'w': producer wrote 32 of 64 bytes");
  expectFails(GGUFWriter::copyFrom(data.data(), 65),
              "tensor 'w': producer wrote more than its 64 bytes");
  expectFails(
      [](ByteSink &, std::string &why) {
        why = "source went away";
        return false;
      },
      "tensor 'w': source went away");

  // An existing file is not touched by a failed write.
  {
    GGUFWriter ok;
    ASSERT_TRUE(ok.write(path, error)) << error;
  }
  auto before = std::filesystem::file_size(path);
  GGUFWriter bad;
  ASSERT_TRUE(bad.addTensor("w", {16}, QuantType::F32,
                            GGUFWriter::copyFrom(data.data(), 8), error));
  EXPECT_FALSE(bad.write(path, error));
  EXPECT_EQ(std::filesystem::file_size(path), before);
  EXPECT_EQ(listDir(), std::vector<std::string>{"out.gguf"});

  // A validator sees the complete temporary file and can veto the rename.
  GGUFWriter checked;
  ASSERT_TRUE(checked.addTensor("w", {16}, QuantType::F32,
                                GGUFWriter::copyFrom(data.data(), 64), error));
  std::string seen;
  EXPECT_FALSE(
      checked.write(path, error, [&](const std::string &tmp, std::string &why) {
        seen = tmp;
        std::string e;
        auto f = GGUFFile::open(tmp, e);
        EXPECT_TRUE(f) << e;
        why = "vetoed";
        return false;
      }));
  EXPECT_EQ(error, "vetoed");
  EXPECT_NE(seen.find("out.gguf.tmp."), std::string::npos) << seen;
  EXPECT_EQ(std::filesystem::file_size(path), before);
  EXPECT_EQ(listDir(), std::vector<std::string>{"out.gguf"});
  ASSERT_TRUE(checked.write(
      path, error, [](const std::string &, std::string &) { return true; }))
      << error;
  EXPECT_GT(std::filesystem::file_size(path), before);

  GGUFWriter w;
  EXPECT_FALSE(w.write(Dir + "/no/such/dir/x.gguf", error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

TEST_F(GGUFWriterTest, RejectsBadEntries) {
  GGUFWriter w;
  std::string error;
  ASSERT_TRUE(w.addMetadata("k", Value::makeBool(true), error));
  EXPECT_FALSE(w.addMetadata("k", Value::makeBool(false), error));
  EXPECT_NE(error.find("duplicate metadata key 'k'"), std::string::npos);
  EXPECT_FALSE(w.addMetadata(
      "general.alignment", Value::makeUnsigned(ValueType::UInt32, 48), error));
  EXPECT_NE(error.find("power of two"), std::string::npos) << error;
  EXPECT_FALSE(w.addMetadata(
      "general.alignment", Value::makeUnsigned(ValueType::UInt64, 32), error));
  std::vector<uint8_t> d(130);
  auto p = GGUFWriter::copyFrom(d.data(), d.size());
  ASSERT_TRUE(w.addTensor("q", {512}, QuantType::Q2_0C, p, error));
  EXPECT_FALSE(w.addTensor("q", {512}, QuantType::Q2_0C, p, error));
  EXPECT_NE(error.find("duplicate tensor name 'q'"), std::string::npos);
  EXPECT_FALSE(w.addTensor("r", {500}, QuantType::Q2_0C, p, error));
  EXPECT_FALSE(w.addTensor("r", {}, QuantType::F32, p, error));
  EXPECT_FALSE(w.addTensor("r", {1, 1, 1, 1, 1}, QuantType::F32, p, error));
  EXPECT_FALSE(w.addTensor("r", {1ull << 62, 8}, QuantType::F32, p, error));
  EXPECT_FALSE(w.addTensor("r", {4}, QuantType::Unknown, p, error));
}

} // namespace
