//===- GGUFFileTest.cpp - Unit tests for the GGUF reader -----------------===//

#include "gguf/GGUFFile.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace hyc;
using namespace hyc::gguf;

namespace {

//===----------------------------------------------------------------------===//
// A minimal GGUF writer, independent of the reader, so that tests can build
// both valid files and precisely broken ones.
//===----------------------------------------------------------------------===//

using Bytes = std::vector<uint8_t>;

void putLE(Bytes &b, uint64_t v, int size) {
  for (int i = 0; i < size; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void putU32(Bytes &b, uint32_t v) { putLE(b, v, 4); }
void putU64(Bytes &b, uint64_t v) { putLE(b, v, 8); }
void putStr(Bytes &b, const std::string &s) {
  putU64(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

uint32_t f32Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
uint64_t f64Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

/// An encoded metadata value: type tag plus payload (the bytes after the
/// tag). Array elements are written as bare payloads, as in the format.
struct Enc {
  uint32_t type;
  Bytes payload;
};

Enc encScalar(ValueType t, uint64_t raw, int size) {
  Enc e{static_cast<uint32_t>(t), {}};
  putLE(e.payload, raw, size);
  return e;
}
Enc encU8(uint8_t v) { return encScalar(ValueType::UInt8, v, 1); }
Enc encI8(int8_t v) { return encScalar(ValueType::Int8, uint8_t(v), 1); }
Enc encU16(uint16_t v) { return encScalar(ValueType::UInt16, v, 2); }
Enc encI16(int16_t v) { return encScalar(ValueType::Int16, uint16_t(v), 2); }
Enc encU32(uint32_t v) { return encScalar(ValueType::UInt32, v, 4); }
Enc encI32(int32_t v) { return encScalar(ValueType::Int32, uint32_t(v), 4); }
Enc encF32(float v) { return encScalar(ValueType::Float32, f32Bits(v), 4); }
Enc encBool(bool v) { return encScalar(ValueType::Bool, v ? 1 : 0, 1); }
Enc encU64(uint64_t v) { return encScalar(ValueType::UInt64, v, 8); }
Enc encI64(int64_t v) { return encScalar(ValueType::Int64, uint64_t(v), 8); }
Enc encF64(double v) { return encScalar(ValueType::Float64, f64Bits(v), 8); }
Enc encStr(const std::string &s) {
  Enc e{static_cast<uint32_t>(ValueType::String), {}};
  putStr(e.payload, s);
  return e;
}
Enc encArr(ValueType elem, const std::vector<Enc> &elems) {
  Enc e{static_cast<uint32_t>(ValueType::Array), {}};
  putU32(e.payload, static_cast<uint32_t>(elem));
  putU64(e.payload, elems.size());
  for (const Enc &x : elems)
    e.payload.insert(e.payload.end(), x.payload.begin(), x.payload.end());
  return e;
}

struct TestTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t ggmlType;
  Bytes data;
  /// Offset relative to the data section; default: next aligned spot.
  std::optional<uint64_t> offset;
};

uint64_t roundUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

struct GGUFWriter {
  uint32_t version = 3;
  /// Layout alignment; setAlignment() also records the metadata key.
  uint64_t alignment = 32;
  /// Pad the file after the last tensor's data to the alignment.
  bool padTail = true;
  std::vector<std::pair<std::string, Enc>> kvs;
  std::vector<TestTensor> tensors;

  void kv(const std::string &key, Enc e) { kvs.emplace_back(key, e); }
  void setAlignment(uint32_t a) {
    alignment = a;
    kv("general.alignment", encU32(a));
  }
  void tensor(const std::string &name, std::vector<uint64_t> dims,
              uint32_t type, Bytes data,
              std::optional<uint64_t> offset = std::nullopt) {
    tensors.push_back({name, std::move(dims), type, std::move(data), offset});
  }

  Bytes build() const {
    Bytes b = {'G', 'G', 'U', 'F'};
    putU32(b, version);
    putU64(b, tensors.size());
    putU64(b, kvs.size());
    for (const auto &[key, e] : kvs) {
      putStr(b, key);
      putU32(b, e.type);
      b.insert(b.end(), e.payload.begin(), e.payload.end());
    }
    std::vector<uint64_t> offsets;
    uint64_t cur = 0;
    for (const TestTensor &t : tensors) {
      uint64_t off = t.offset ? *t.offset : cur;
      offsets.push_back(off);
      // Empty data means "table entry only", so bogus offsets are possible.
      if (!t.data.empty())
        cur = std::max(cur, roundUp(off + t.data.size(), alignment));
      putStr(b, t.name);
      putU32(b, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims)
        putU64(b, d);
      putU32(b, t.ggmlType);
      putU64(b, off);
    }
    uint64_t dataStart = roundUp(b.size(), alignment);
    b.resize(dataStart, 0);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Bytes &d = tensors[i].data;
      if (d.empty())
        continue;
      uint64_t at = dataStart + offsets[i];
      if (b.size() < at + d.size())
        b.resize(at + d.size(), 0);
      std::copy(d.begin(), d.end(), b.begin() + at);
    }
    if (padTail)
      b.resize(roundUp(b.size(), alignment), 0);
    return b;
  }
};

/// Deterministic filler so tests can check tensor data byte for byte.
Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<uint8_t>(seed + 7 * i);
  return b;
}

constexpr uint32_t GGMLF32 = 0, GGMLF16 = 1, GGMLQ8_0 = 8, GGMLQ2_K = 10,
                   GGMLBF16 = 30, GGMLId40 = 40;

class GGUFFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hyc_gguf_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    Dir = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(Dir, ec);
  }

  std::string write(const std::string &name, const Bytes &bytes) {
    std::string path = Dir + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good());
    return path;
  }

  std::unique_ptr<GGUFFile> openBytes(const Bytes &bytes, std::string &error,
                                      const std::string &name = "t.gguf") {
    return GGUFFile::open(write(name, bytes), error);
  }

  /// Asserts that opening \p bytes fails and that the message names the
  /// file and contains every one of \p words.
  void expectError(const Bytes &bytes, const std::string &name,
                   const std::vector<std::string> &words) {
    std::string error;
    auto f = openBytes(bytes, error, name);
    EXPECT_EQ(f, nullptr) << "unexpectedly opened " << name;
    EXPECT_NE(error.find(name), std::string::npos) << error;
    for (const std::string &w : words)
      EXPECT_NE(error.find(w), std::string::npos)
          << "missing '" << w << "' in: " << error;
  }

  std::string Dir;
};

/// A small valid file exercising most of the format; the last tensor is an
/// unpadded id-40 tensor, so every proper prefix of it is invalid.
Bytes smallValidFile() {
  GGUFWriter w;
  w.padTail = false;
  w.setAlignment(32);
  w.kv("general.architecture", encStr("hunyuan"));
  w.kv("a.u32", encU32(7));
  w.kv("a.f32", encF32(0.25f));
  w.kv("a.strs", encArr(ValueType::String, {encStr("x"), encStr("yz")}));
  w.kv("a.nested",
       encArr(ValueType::Array, {encArr(ValueType::Int16, {encI16(-3)})}));
  w.tensor("w.f32", {4, 2}, GGMLF32, pattern(32, 1));
  w.tensor("w.q8", {32}, GGMLQ8_0, pattern(34, 2));
  w.tensor("w.q2c", {512}, GGMLId40, pattern(130, 3));
  return w.build();
}

//===----------------------------------------------------------------------===//
// Metadata
//===----------------------------------------------------------------------===//

TEST_F(GGUFFileTest, MetadataRoundTripsEveryType) {
  GGUFWriter w;
  w.kv("u8", encU8(200));
  w.kv("i8", encI8(-100));
  w.kv("u16", encU16(60000));
  w.kv("i16", encI16(-30000));
  w.kv("u32", encU32(4000000000u));
  w.kv("i32", encI32(-2000000000));
  w.kv("f32", encF32(1.5f));
  w.kv("bool.t", encBool(true));
  w.kv("bool.f", encBool(false));
  w.kv("str", encStr("hello"));
  w.kv("str.nul", encStr(std::string("a\0b", 3)));
  w.kv("str.empty", encStr(""));
  w.kv("u64", encU64((1ull << 63) + 5));
  w.kv("i64", encI64(-(1ll << 62)));
  w.kv("f64", encF64(3.141592653589793));
  w.kv("arr.u8", encArr(ValueType::UInt8, {encU8(1), encU8(255)}));
  w.kv("arr.i8", encArr(ValueType::Int8, {encI8(-1), encI8(127)}));
  w.kv("arr.u16", encArr(ValueType::UInt16, {encU16(65535)}));
  w.kv("arr.i16", encArr(ValueType::Int16, {encI16(-32768), encI16(5)}));
  w.kv("arr.u32", encArr(ValueType::UInt32, {encU32(1), encU32(2)}));
  w.kv("arr.i32", encArr(ValueType::Int32, {encI32(-7), encI32(8)}));
  w.kv("arr.f32", encArr(ValueType::Float32, {encF32(0.5f), encF32(-2)}));
  w.kv("arr.bool", encArr(ValueType::Bool, {encBool(true), encBool(false)}));
  w.kv("arr.u64", encArr(ValueType::UInt64, {encU64(~0ull)}));
  w.kv("arr.i64", encArr(ValueType::Int64, {encI64(INT64_MIN)}));
  w.kv("arr.f64", encArr(ValueType::Float64, {encF64(1e300)}));
  w.kv("arr.str",
       encArr(ValueType::String, {encStr("a"), encStr(""), encStr("bc")}));
  w.kv("arr.empty.u32", encArr(ValueType::UInt32, {}));
  w.kv("arr.empty.str", encArr(ValueType::String, {}));
  w.kv("arr.empty.arr", encArr(ValueType::Array, {}));
  w.kv("arr.nested", encArr(ValueType::Array,
                            {encArr(ValueType::Int32, {encI32(1), encI32(2)}),
                             encArr(ValueType::String, {encStr("s")}),
                             encArr(ValueType::Float64, {}),
                             encArr(ValueType::Array,
                                    {encArr(ValueType::UInt8, {encU8(9)})})}));

  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  ASSERT_EQ(f->metadata().size(), w.kvs.size());
  for (size_t i = 0; i < w.kvs.size(); ++i) {
    EXPECT_EQ(f->metadata()[i].key, w.kvs[i].first);
    EXPECT_EQ(static_cast<uint32_t>(f->metadata()[i].value.type()),
              w.kvs[i].second.type);
    if (i) {
      EXPECT_GT(f->metadata()[i].offset, f->metadata()[i - 1].offset);
    }
  }
  EXPECT_EQ(f->metadata()[0].offset, 24u);

  EXPECT_EQ(f->find("u8")->asU64(), 200u);
  EXPECT_EQ(f->find("i8")->asI64(), -100);
  EXPECT_EQ(f->find("i8")->asU64(), std::nullopt);
  EXPECT_EQ(f->find("u16")->asU64(), 60000u);
  EXPECT_EQ(f->find("i16")->asI64(), -30000);
  EXPECT_EQ(f->find("u32")->asU64(), 4000000000u);
  EXPECT_EQ(f->find("i32")->asI64(), -2000000000);
  EXPECT_EQ(f->find("f32")->asF64(), 1.5);
  EXPECT_EQ(f->find("f32")->asU64(), std::nullopt);
  EXPECT_EQ(f->find("bool.t")->asBool(), true);
  EXPECT_EQ(f->find("bool.f")->asBool(), false);
  EXPECT_EQ(*f->find("str")->asString(), "hello");
  EXPECT_EQ(*f->find("str.nul")->asString(), std::string("a\0b", 3));
  EXPECT_EQ(*f->find("str.empty")->asString(), "");
  EXPECT_EQ(f->find("u64")->asU64(), (1ull << 63) + 5);
  EXPECT_EQ(f->find("u64")->asI64(), std::nullopt);
  EXPECT_EQ(f->find("i64")->asI64(), -(1ll << 62));
  EXPECT_EQ(f->find("f64")->asF64(), 3.141592653589793);
  EXPECT_EQ(f->find("nope"), nullptr);

  const Value *a = f->find("arr.u8");
  ASSERT_TRUE(a->isArray());
  EXPECT_EQ(a->elementType(), ValueType::UInt8);
  EXPECT_EQ(a->size(), 2u);
  EXPECT_EQ(a->scalarBytes(), (Bytes{1, 255}));
  EXPECT_EQ(a->element(1).asU64(), 255u);
  EXPECT_EQ(f->find("arr.i8")->element(0).asI64(), -1);
  EXPECT_EQ(f->find("arr.u16")->element(0).asU64(), 65535u);
  EXPECT_EQ(f->find("arr.i16")->element(0).asI64(), -32768);
  EXPECT_EQ(f->find("arr.i16")->element(1).asI64(), 5);
  EXPECT_EQ(f->find("arr.u32")->element(1).asU64(), 2u);
  EXPECT_EQ(f->find("arr.i32")->element(0).asI64(), -7);
  EXPECT_EQ(f->find("arr.f32")->element(1).asF64(), -2.0);
  EXPECT_EQ(f->find("arr.bool")->element(0).asBool(), true);
  EXPECT_EQ(f->find("arr.bool")->element(1).asBool(), false);
  EXPECT_EQ(f->find("arr.u64")->element(0).asU64(), ~0ull);
  EXPECT_EQ(f->find("arr.i64")->element(0).asI64(), INT64_MIN);
  EXPECT_EQ(f->find("arr.f64")->element(0).asF64(), 1e300);
  EXPECT_EQ(f->find("arr.str")->strings(),
            (std::vector<std::string>{"a", "", "bc"}));
  EXPECT_EQ(f->find("arr.u8")->element(2).type(), ValueType::UInt8)
      << "out-of-range element is a default value";

  for (const char *k : {"arr.empty.u32", "arr.empty.str", "arr.empty.arr"}) {
    ASSERT_TRUE(f->find(k)->isArray()) << k;
    EXPECT_EQ(f->find(k)->size(), 0u) << k;
  }
  EXPECT_EQ(f->find("arr.empty.str")->elementType(), ValueType::String);
  EXPECT_EQ(f->find("arr.empty.arr")->elementType(), ValueType::Array);

  const Value *n = f->find("arr.nested");
  ASSERT_EQ(n->elementType(), ValueType::Array);
  ASSERT_EQ(n->size(), 4u);
  const auto &inner = n->arrays();
  EXPECT_EQ(inner[0].elementType(), ValueType::Int32);
  EXPECT_EQ(inner[0].size(), 2u);
  EXPECT_EQ(inner[0].element(1).asI64(), 2);
  EXPECT_EQ(inner[1].strings(), std::vector<std::string>{"s"});
  EXPECT_EQ(inner[2].elementType(), ValueType::Float64);
  EXPECT_EQ(inner[2].size(), 0u);
  ASSERT_EQ(inner[3].elementType(), ValueType::Array);
  EXPECT_EQ(inner[3].arrays()[0].element(0).asU64(), 9u);
  EXPECT_EQ(n->toString(), "[[1, 2], ['s'], [], [[9]]]");
}

TEST_F(GGUFFileTest, Version2IsAccepted) {
  GGUFWriter w;
  w.version = 2;
  w.kv("general.name", encStr("v2"));
  w.tensor("t", {8}, GGMLF32, pattern(32, 5));
  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->version(), 2u);
  ASSERT_EQ(f->tensors().size(), 1u);
}

TEST_F(GGUFFileTest, EmptyFileWithNoTensors) {
  // Just the 24-byte header: no padding is needed when nothing follows.
  Bytes b = GGUFWriter().build();
  b.resize(24);
  std::string error;
  auto f = openBytes(b, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->fileSize(), 24u);
  EXPECT_EQ(f->dataOffset(), 32u);
  EXPECT_TRUE(f->metadata().empty());
  EXPECT_TRUE(f->tensors().empty());
}

TEST_F(GGUFFileTest, TypedGetters) {
  GGUFWriter w;
  w.kv("s", encStr("text"));
  w.kv("u8", encU8(12));
  w.kv("i64.small", encI64(1234));
  w.kv("i64.neg", encI64(-1));
  w.kv("u64.big", encU64(1ull << 40));
  w.kv("f32", encF32(0.75f));
  w.kv("f64", encF64(2.5));
  w.kv("b", encBool(true));
  w.kv("strs", encArr(ValueType::String, {encStr("p"), encStr("q")}));
  w.kv("u8s", encArr(ValueType::UInt8, {encU8(1), encU8(200)}));
  w.kv("i64s", encArr(ValueType::Int64, {encI64(-5), encI64(1ll << 40)}));
  w.kv("f64s", encArr(ValueType::Float64, {encF64(0.5), encF64(-1)}));
  std::string error;
  auto f = openBytes(w.build(), error, "getters.gguf");
  ASSERT_NE(f, nullptr) << error;

  std::string s;
  EXPECT_TRUE(f->getString("s", s, error));
  EXPECT_EQ(s, "text");
  uint32_t u32 = 0;
  EXPECT_TRUE(f->getU32("u8", u32, error));
  EXPECT_EQ(u32, 12u);
  EXPECT_TRUE(f->getU32("i64.small", u32, error));
  EXPECT_EQ(u32, 1234u);
  uint64_t u64 = 0;
  EXPECT_TRUE(f->getU64("u64.big", u64, error));
  EXPECT_EQ(u64, 1ull << 40);
  int32_t i32 = 0;
  EXPECT_TRUE(f->getI32("i64.neg", i32, error));
  EXPECT_EQ(i32, -1);
  int64_t i64 = 0;
  EXPECT_TRUE(f->getI64("u64.big", i64, error));
  EXPECT_EQ(i64, 1ll << 40);
  float f32 = 0;
  EXPECT_TRUE(f->getF32("f32", f32, error));
  EXPECT_EQ(f32, 0.75f);
  EXPECT_TRUE(f->getF32("f64", f32, error));
  EXPECT_EQ(f32, 2.5f);
  bool b = false;
  EXPECT_TRUE(f->getBool("b", b, error));
  EXPECT_TRUE(b);
  std::vector<std::string> strs;
  EXPECT_TRUE(f->getStringArray("strs", strs, error));
  EXPECT_EQ(strs, (std::vector<std::string>{"p", "q"}));
  std::vector<int32_t> i32s;
  EXPECT_TRUE(f->getI32Array("u8s", i32s, error));
  EXPECT_EQ(i32s, (std::vector<int32_t>{1, 200}));
  std::vector<uint32_t> u32s;
  EXPECT_TRUE(f->getU32Array("u8s", u32s, error));
  EXPECT_EQ(u32s, (std::vector<uint32_t>{1, 200}));
  std::vector<float> f32s;
  EXPECT_TRUE(f->getF32Array("f64s", f32s, error));
  EXPECT_EQ(f32s, (std::vector<float>{0.5f, -1.0f}));

  auto expectFail = [&](bool ok, std::vector<std::string> words) {
    EXPECT_FALSE(ok);
    words.push_back("getters.gguf");
    for (const std::string &word : words)
      EXPECT_NE(error.find(word), std::string::npos)
          << "missing '" << word << "' in: " << error;
  };
  u32 = 99;
  expectFail(f->getU32("s", u32, error), {"'s'", "string", "uint32"});
  EXPECT_EQ(u32, 99u) << "output untouched on failure";
  expectFail(f->getU32("i64.neg", u32, error),
             {"'i64.neg'", "-1", "int64", "does not fit", "uint32"});
  expectFail(f->getU32("u64.big", u32, error),
             {"1099511627776", "does not fit"});
  expectFail(f->getI32("u64.big", i32, error), {"int32", "does not fit"});
  expectFail(f->getU32("missing.key", u32, error),
             {"'missing.key'", "not found"});
  expectFail(f->getString("u8", s, error), {"'u8'", "uint8", "string"});
  expectFail(f->getF32("u8", f32, error), {"uint8", "float32"});
  expectFail(f->getBool("s", b, error), {"string", "bool"});
  expectFail(f->getStringArray("u8s", strs, error),
             {"array of uint8", "array of string"});
  expectFail(f->getStringArray("s", strs, error), {"string", "array"});
  expectFail(f->getI32Array("i64s", i32s, error),
             {"'i64s'", "element #1", "does not fit in int32"});
  expectFail(f->getU32Array("i64s", u32s, error),
             {"element #0", "-5", "uint32"});
  expectFail(f->getF32Array("u8s", f32s, error), {"array of uint8"});
  EXPECT_EQ(f32s, (std::vector<float>{0.5f, -1.0f}));
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

TEST_F(GGUFFileTest, TensorsAlignment32) {
  GGUFWriter w;
  w.kv("general.architecture", encStr("test"));
  w.tensor("a.f32", {3, 2}, GGMLF32, pattern(24, 10));
  w.tensor("b.f16", {5}, GGMLF16, pattern(10, 20));
  w.tensor("c.q8_0", {64, 3}, GGMLQ8_0, pattern(6 * 34, 30));
  w.tensor("d.bf16", {2, 1, 1, 3}, GGMLBF16, pattern(12, 40));
  w.tensor("e.q2_K", {256}, GGMLQ2_K, pattern(84, 50));
  Bytes bytes = w.build();
  std::string error;
  auto f = openBytes(bytes, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->dataOffset() % 32, 0u);
  EXPECT_EQ(f->fileSize(), bytes.size());
  ASSERT_EQ(f->tensors().size(), 5u);

  struct Expect {
    QuantType type;
    uint64_t nbytes, numElements, offset;
  } expected[] = {{QuantType::F32, 24, 6, 0},
                  {QuantType::F16, 10, 5, 32},
                  {QuantType::Q8_0, 204, 192, 64},
                  {QuantType::BF16, 12, 6, 288},
                  {QuantType::Q2_K, 84, 256, 320}};
  for (size_t i = 0; i < 5; ++i) {
    const TensorInfo &t = f->tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, w.tensors[i].name);
    EXPECT_EQ(t.dims, w.tensors[i].dims);
    EXPECT_EQ(t.ggmlType, w.tensors[i].ggmlType);
    EXPECT_EQ(t.type, expected[i].type);
    EXPECT_EQ(t.nbytes, expected[i].nbytes);
    EXPECT_EQ(t.numElements, expected[i].numElements);
    EXPECT_EQ(t.offset, expected[i].offset);
    EXPECT_EQ(f->tensorData(t) - f->tensorData(f->tensors()[0]),
              static_cast<std::ptrdiff_t>(t.offset));
    EXPECT_EQ(
        0, std::memcmp(f->tensorData(t), w.tensors[i].data.data(), t.nbytes));
    EXPECT_EQ(f->findTensor(t.name), &t);
  }
  EXPECT_EQ(f->findTensor("missing"), nullptr);
}

TEST_F(GGUFFileTest, TensorsAlignment64) {
  GGUFWriter w;
  w.setAlignment(64);
  w.tensor("x", {10}, GGMLF32, pattern(40, 1));
  w.tensor("y", {33}, GGMLF16, pattern(66, 2));
  w.tensor("z", {1}, GGMLF32, pattern(4, 3));
  std::string error;
  Bytes bytes = w.build();
  auto f = openBytes(bytes, error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->dataOffset() % 64, 0u);
  EXPECT_EQ(f->tensors()[1].offset, 64u);
  EXPECT_EQ(f->tensors()[2].offset, 192u);
  for (const TensorInfo &t : f->tensors()) {
    uint64_t fileOffset = f->dataOffset() + t.offset;
    EXPECT_EQ(fileOffset % 64, 0u);
    EXPECT_EQ(
        0, std::memcmp(f->tensorData(t), bytes.data() + fileOffset, t.nbytes));
  }
}

TEST_F(GGUFFileTest, TensorTableOrderNeedNotMatchDataOrder) {
  GGUFWriter w;
  w.tensor("second", {8}, GGMLF32, pattern(32, 1), 32);
  w.tensor("first", {8}, GGMLF32, pattern(32, 2), 0);
  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->tensors()[0].name, "second");
  EXPECT_EQ(f->tensors()[0].offset, 32u);
  EXPECT_EQ(f->tensorData(f->tensors()[0])[0], 1u);
  EXPECT_EQ(f->tensorData(f->tensors()[1])[0], 2u);
}

TEST_F(GGUFFileTest, MoveKeepsMappingAlive) {
  std::string error;
  auto f = openBytes(smallValidFile(), error);
  ASSERT_NE(f, nullptr) << error;
  const uint8_t *data = f->tensorData(*f->findTensor("w.q8"));
  GGUFFile moved(std::move(*f));
  f.reset();
  const TensorInfo *t = moved.findTensor("w.q8");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(moved.tensorData(*t), data);
  EXPECT_EQ(data[0], 2u);

  auto other = openBytes(smallValidFile(), error, "other.gguf");
  ASSERT_NE(other, nullptr) << error;
  *other = std::move(moved);
  EXPECT_EQ(other->tensorData(*other->findTensor("w.q8")), data);
  EXPECT_EQ(other->findTensor("w.q8")->nbytes, 34u);
  std::string arch;
  EXPECT_TRUE(other->getString("general.architecture", arch, error));
  EXPECT_EQ(arch, "hunyuan");
}

TEST_F(GGUFFileTest, OpenMemoryMatchesOpen) {
  const Bytes bytes = smallValidFile();
  std::string error;
  auto fromFile = openBytes(bytes, error);
  ASSERT_NE(fromFile, nullptr) << error;
  auto fromMemory =
      GGUFFile::openMemory(bytes.data(), bytes.size(), "<buffer>", error);
  ASSERT_NE(fromMemory, nullptr) << error;
  EXPECT_EQ(fromMemory->path(), "<buffer>");
  EXPECT_EQ(fromMemory->fileSize(), fromFile->fileSize());
  EXPECT_EQ(fromMemory->dataOffset(), fromFile->dataOffset());
  ASSERT_EQ(fromMemory->metadata().size(), fromFile->metadata().size());
  for (size_t i = 0; i < fromFile->metadata().size(); ++i)
    EXPECT_EQ(fromMemory->metadata()[i].value.toString(),
              fromFile->metadata()[i].value.toString());
  ASSERT_EQ(fromMemory->tensors().size(), fromFile->tensors().size());
  for (const TensorInfo &t : fromMemory->tensors()) {
    EXPECT_EQ(fromMemory->tensorData(t),
              bytes.data() + fromMemory->dataOffset() + t.offset);
    EXPECT_EQ(t.type, fromFile->findTensor(t.name)->type);
  }
  // The buffer is borrowed: moving and destroying must not free it.
  GGUFFile moved(std::move(*fromMemory));
  fromMemory.reset();
  EXPECT_EQ(moved.tensors().size(), 3u);

  Bytes cut(bytes.begin(), bytes.begin() + 30);
  EXPECT_EQ(GGUFFile::openMemory(cut.data(), cut.size(), "<cut>", error),
            nullptr);
  EXPECT_EQ(error.rfind("<cut>: truncated", 0), 0u) << error;
  EXPECT_EQ(GGUFFile::openMemory(nullptr, 0, "<none>", error), nullptr);
  EXPECT_NE(error.find("<none>: empty file"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// ggml id 40: Q2_0C vs NVFP4
//===----------------------------------------------------------------------===//

TEST_F(GGUFFileTest, Id40ResolvesToQ2_0C) {
  GGUFWriter w;
  w.tensor("q2c.a", {512, 2}, GGMLId40, pattern(260, 1));
  w.tensor("q2c.b", {1024}, GGMLId40, pattern(260, 2));
  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  for (const TensorInfo &t : f->tensors()) {
    EXPECT_EQ(t.type, QuantType::Q2_0C) << t.name;
    EXPECT_EQ(t.nbytes, 260u) << t.name;
  }
}

TEST_F(GGUFFileTest, Id40ResolvesToNVFP4) {
  GGUFWriter w;
  // 128 elements is not a multiple of 512, so only NVFP4 can apply.
  w.tensor("nv.small", {64, 2}, GGMLId40, pattern(72, 1));
  // 512 elements: Q2_0C would need 130 bytes but 288 are in use.
  w.tensor("nv.big", {512}, GGMLId40, pattern(288, 2));
  w.tensor("after", {4}, GGMLF32, pattern(16, 3));
  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  EXPECT_EQ(f->findTensor("nv.small")->type, QuantType::NVFP4);
  EXPECT_EQ(f->findTensor("nv.small")->nbytes, 72u);
  EXPECT_EQ(f->findTensor("nv.big")->type, QuantType::NVFP4);
  EXPECT_EQ(f->findTensor("nv.big")->nbytes, 288u);
}

TEST_F(GGUFFileTest, Id40NeitherCandidateFits) {
  GGUFWriter w;
  w.tensor("odd", {512}, GGMLId40, pattern(200, 1));
  w.tensor("after", {4}, GGMLF32, pattern(16, 3));
  expectError(w.build(), "id40.gguf",
              {"tensor 'odd'", "q2_0c", "nvfp4", "224 bytes"});
}

TEST_F(GGUFFileTest, Q2_0CTensorDequantizes) {
  Bytes blk(130);
  blk[0] = 0x00; // fp16 0.5
  blk[1] = 0x38;
  for (int i = 0; i < 128; ++i)
    blk[2 + i] = static_cast<uint8_t>(i * 37 + 11);
  GGUFWriter w;
  w.tensor("w", {512}, GGMLId40, blk);
  std::string error;
  auto f = openBytes(w.build(), error);
  ASSERT_NE(f, nullptr) << error;
  const TensorInfo &t = *f->findTensor("w");
  ASSERT_EQ(t.type, QuantType::Q2_0C);
  std::vector<float> out(512);
  ASSERT_TRUE(dequantizeRow(t.type, f->tensorData(t), out.data(), 512, error))
      << error;
  for (int i = 0; i < 512; ++i) {
    int c = (blk[2 + i / 4] >> (2 * (i % 4))) & 3;
    ASSERT_EQ(out[i], (2 * c - 3) * 0.5f) << i;
  }
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_F(GGUFFileTest, ErrorEmptyFile) {
  expectError({}, "empty.gguf", {"empty file"});
}

TEST_F(GGUFFileTest, ErrorMissingFile) {
  std::string error;
  EXPECT_EQ(GGUFFile::open(Dir + "/does-not-exist.gguf", error), nullptr);
  EXPECT_NE(error.find("does-not-exist.gguf"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
  EXPECT_EQ(GGUFFile::open(Dir, error), nullptr);
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

TEST_F(GGUFFileTest, ErrorBadMagic) {
  Bytes b = smallValidFile();
  b[3] = 'X';
  expectError(b, "magic.gguf", {"bad magic 'GGUX'", "offset 0", "'GGUF'"});
  expectError({'G', 'G'}, "short.gguf", {"truncated", "magic", "2 bytes"});
}

TEST_F(GGUFFileTest, ErrorVersions) {
  for (uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
    GGUFWriter w;
    w.version = v;
    std::string name = "v" + std::to_string(v) + ".gguf";
    expectError(w.build(), name,
                {"unsupported GGUF version " + std::to_string(v), "offset 4"});
  }
  GGUFWriter w;
  w.version = 0x03000000u;
  expectError(w.build(), "be.gguf", {"big-endian"});
}

TEST_F(GGUFFileTest, ErrorTruncatedAtEveryLength) {
  Bytes full = smallValidFile();
  std::string error;
  ASSERT_NE(openBytes(full, error), nullptr) << error;
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + n);
    auto f = openBytes(prefix, error, "cut.gguf");
    EXPECT_EQ(f, nullptr) << "prefix of " << n << " bytes opened";
    EXPECT_EQ(error.rfind(Dir + "/cut.gguf: ", 0), 0u) << error;
    EXPECT_TRUE(error.find("truncated") != std::string::npos ||
                error.find("past end of file") != std::string::npos ||
                error.find("empty file") != std::string::npos ||
                error.find("neither") != std::string::npos)
        << n << ": " << error;
  }
}

TEST_F(GGUFFileTest, ErrorTruncatedMessageNamesItemAndOffset) {
  Bytes full = smallValidFile();
  // Cut two bytes into the value of key #2 ('a.u32', a uint32), located by
  // its name: key, then the 4-byte type tag, then the value.
  std::string text(full.begin(), full.end());
  size_t at = text.find("a.u32");
  ASSERT_NE(at, std::string::npos);
  size_t valueAt = at + 5 + 4;
  Bytes cut(full.begin(), full.begin() + valueAt + 2);
  expectError(cut, "trunc.gguf",
              {"truncated: metadata key #2 'a.u32' value needs 4 bytes at "
               "offset " +
               std::to_string(valueAt) + " but the file has " +
               std::to_string(valueAt + 2) + " bytes"});
}

TEST_F(GGUFFileTest, ErrorHugeStringLength) {
  Bytes b = {'G', 'G', 'U', 'F'};
  putU32(b, 3);
  putU64(b, 0);
  putU64(b, 1);
  putU64(b, ~0ull); // key length
  b.resize(b.size() + 16, 'k');
  expectError(
      b, "hugestr.gguf",
      {"string length 18446744073709551615", "offset 24", "metadata key #0"});

  GGUFWriter w;
  Enc e = encStr("abc");
  e.payload[0] = 0xff; // length 255, file far shorter
  w.kv("k", e);
  expectError(w.build(), "hugestr2.gguf", {"'k'", "string length 255"});
}

TEST_F(GGUFFileTest, ErrorHugeArrayCount) {
  struct Case {
    ValueType elem;
    const char *name;
  } cases[] = {{ValueType::UInt32, "uint32"},
               {ValueType::String, "string"},
               {ValueType::Array, "array"},
               {ValueType::UInt64, "uint64"}};
  for (const Case &c : cases) {
    GGUFWriter w;
    Enc e = encArr(c.elem, {});
    for (int i = 0; i < 8; ++i)
      e.payload[4 + i] = 0xff; // count = 2^64 - 1
    w.kv("arr", e);
    expectError(w.build(), std::string("hugearr_") + c.name + ".gguf",
                {"'arr'", "array count 18446744073709551615",
                 std::string(c.name) + " elements"});
  }
  GGUFWriter w;
  Enc e = encArr(ValueType::UInt32, {encU32(1)});
  e.payload[4] = 100; // 100 elements promised, 1 present
  w.kv("arr", e);
  expectError(w.build(), "arr100.gguf", {"array count 100", "400 bytes"});
}

TEST_F(GGUFFileTest, ErrorNestingTooDeep) {
  auto nest = [](int levels) {
    Enc e = encArr(ValueType::UInt8, {encU8(1)});
    for (int i = 1; i < levels; ++i)
      e = encArr(ValueType::Array, {e});
    return e;
  };
  GGUFWriter ok;
  ok.kv("deep", nest(8));
  std::string error;
  ASSERT_NE(openBytes(ok.build(), error), nullptr) << error;

  GGUFWriter w;
  w.kv("deep", nest(9));
  expectError(w.build(), "deep.gguf", {"'deep'", "nested more than 8"});
}

TEST_F(GGUFFileTest, ErrorBadValueTypes) {
  GGUFWriter w;
  w.kv("bad", Enc{13, {0, 0, 0, 0}});
  expectError(w.build(), "tag.gguf", {"'bad'", "unknown value type 13"});

  GGUFWriter w2;
  w2.kv("bad", Enc{static_cast<uint32_t>(ValueType::Array), {99, 0, 0, 0}});
  expectError(w2.build(), "elemtag.gguf",
              {"'bad'", "unknown array element type 99"});

  GGUFWriter w3;
  w3.kv("flag", encScalar(ValueType::Bool, 2, 1));
  expectError(w3.build(), "bool.gguf", {"'flag'", "invalid bool value 2"});
}

TEST_F(GGUFFileTest, ErrorDuplicateKey) {
  GGUFWriter w;
  w.kv("dup.key", encU32(1));
  w.kv("other", encU32(2));
  w.kv("dup.key", encStr("again"));
  expectError(w.build(), "dupkey.gguf",
              {"duplicate metadata key 'dup.key'", "offset 24"});
}

TEST_F(GGUFFileTest, ErrorBadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    GGUFWriter w;
    w.kv("general.alignment", encU32(a));
    expectError(
        w.build(), "align" + std::to_string(a) + ".gguf",
        {"general.alignment", "is " + std::to_string(a), "power of two"});
  }
  GGUFWriter w;
  w.kv("general.alignment", encU64(32));
  expectError(w.build(), "aligntype.gguf",
              {"general.alignment", "uint64", "expected uint32"});
}

TEST_F(GGUFFileTest, ErrorTensorDims) {
  GGUFWriter w;
  w.tensor("t5", {1, 1, 1, 1, 1}, GGMLF32, pattern(4, 0));
  expectError(w.build(), "ndims5.gguf",
              {"tensor 't5'", "5 dimensions", "expected 1 to 4"});

  GGUFWriter w0;
  w0.tensor("t0", {}, GGMLF32, pattern(4, 0));
  expectError(w0.build(), "ndims0.gguf", {"tensor 't0'", "0 dimensions"});

  GGUFWriter wz;
  wz.tensor("tz", {4, 0}, GGMLF32, pattern(4, 0));
  expectError(wz.build(), "zerodim.gguf", {"tensor 'tz'", "dimension #1 is 0"});

  GGUFWriter wo;
  wo.tensor("tover", {1ull << 32, 1ull << 32}, GGMLF32, pattern(4, 0));
  expectError(wo.build(), "overflow.gguf",
              {"tensor 'tover'", "element count overflows"});

  GGUFWriter wb;
  wb.tensor("tq", {16}, GGMLQ8_0, pattern(34, 0));
  expectError(wb.build(), "blocksize.gguf",
              {"tensor 'tq'", "dims[0] = 16", "q8_0 block size 32"});
}

TEST_F(GGUFFileTest, ErrorTensorTypes) {
  GGUFWriter w;
  w.tensor("t", {4}, 99, pattern(16, 0));
  expectError(w.build(), "type99.gguf", {"tensor 't'", "unknown ggml type 99"});

  GGUFWriter w2;
  w2.tensor("t", {32}, 2, pattern(18, 0));
  expectError(w2.build(), "type2.gguf",
              {"tensor 't'", "unsupported ggml type 2 (q4_0)"});
}

TEST_F(GGUFFileTest, ErrorTensorDataPastEnd) {
  GGUFWriter w;
  w.padTail = false;
  w.tensor("t", {16}, GGMLF32, pattern(40, 0)); // 64 bytes needed
  Bytes b = w.build();
  std::string size = std::to_string(b.size());
  expectError(b, "pasteof.gguf",
              {"tensor 't'", "extends past end of file (" + size + " bytes)"});

  GGUFWriter w2;
  w2.tensor("far", {4}, GGMLF32, pattern(16, 0), 1 << 20);
  w2.tensor("near", {4}, GGMLF32, pattern(16, 0), 0);
  // Build() would place 'far' at 1 MiB; cut the file short instead.
  Bytes b2 = w2.build();
  b2.resize(b2.size() - (1 << 20) + 64);
  expectError(
      b2, "faroffset.gguf",
      {"tensor 'far'", "data offset 1048576", "starts past end of file"});
}

TEST_F(GGUFFileTest, ErrorOffsetNearTwoTo64) {
  // The successor's offset must not wrap around when bounding 'a'.
  GGUFWriter w;
  w.tensor("a", {4}, GGMLF32, pattern(16, 0), 0);
  w.tensor("b", {4}, GGMLF32, {}, ~0ull - 31);
  expectError(w.build(), "wrap.gguf",
              {"tensor 'b'", "data offset 18446744073709551584", "beyond 2^64",
               "starts past end of file"});
}

TEST_F(GGUFFileTest, ErrorMisalignedOffset) {
  GGUFWriter w;
  w.tensor("a", {4}, GGMLF32, pattern(16, 0));
  w.tensor("b", {4}, GGMLF32, pattern(16, 0), 48);
  expectError(
      w.build(), "misaligned.gguf",
      {"tensor 'b'", "data offset 48", "not a multiple of the alignment 32"});
}

TEST_F(GGUFFileTest, ErrorOverlappingTensors) {
  GGUFWriter w;
  w.tensor("big", {16}, GGMLF32, pattern(64, 0), 0);
  w.tensor("inside", {4}, GGMLF32, pattern(16, 0), 32);
  expectError(w.build(), "overlap.gguf",
              {"tensor 'big'", "overlaps", "'inside'"});

  GGUFWriter w2;
  w2.tensor("x", {4}, GGMLF32, pattern(16, 0), 0);
  w2.tensor("y", {4}, GGMLF32, pattern(16, 0), 0);
  expectError(w2.build(), "sameoffset.gguf", {"overlaps"});
}

TEST_F(GGUFFileTest, ErrorDuplicateTensorName) {
  GGUFWriter w;
  w.tensor("same", {4}, GGMLF32, pattern(16, 0));
  w.tensor("same", {4}, GGMLF32, pattern(16, 0));
  expectError(w.build(), "duptensor.gguf",
              {"duplicate tensor name 'same'", "tensor #1", "tensor #0"});
}

TEST_F(GGUFFileTest, ErrorDataSectionPastEnd) {
  GGUFWriter w;
  w.tensor("t", {4}, GGMLF32, pattern(16, 0));
  Bytes b = w.build();
  std::string text(b.begin(), b.end());
  // Cut right after the tensor table, before the padding.
  size_t end = text.find("t", 24) + 1 + 4 + 8 + 4 + 8;
  b.resize(end + 1);
  expectError(b, "nodata.gguf", {"truncated", "data section"});
}

TEST_F(GGUFFileTest, EscapesNamesInMessages) {
  GGUFWriter w;
  w.kv(std::string("bad\nkey\x01", 8), encU32(1));
  w.kv(std::string("bad\nkey\x01", 8), encU32(1));
  expectError(w.build(), "escape.gguf", {"'bad\\x0akey\\x01'"});
}

/// Random corruption must never crash or read out of bounds (run under
/// ASan to make this meaningful); when a mutant still opens, every tensor's
/// bytes must be readable.
TEST_F(GGUFFileTest, RandomMutationsNeverCrash) {
  const Bytes base = smallValidFile();
  std::mt19937 rng(12345);
  std::string path = Dir + "/mutant.gguf";
  int opened = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    Bytes b = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % b.size();
      switch (rng() % 3) {
      case 0:
        b[at] = static_cast<uint8_t>(rng());
        break;
      case 1:
        b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      default:
        b[at] = (rng() & 1) ? 0xff : 0x00;
        break;
      }
    }
    if (rng() % 8 == 0)
      b.resize(rng() % b.size());
    std::string error;
    auto f = GGUFFile::open(write("mutant.gguf", b), error);
    if (!f) {
      EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
      continue;
    }
    ++opened;
    unsigned sum = 0;
    for (const TensorInfo &t : f->tensors()) {
      ASSERT_LE(f->dataOffset() + t.offset + t.nbytes, f->fileSize());
      const uint8_t *p = f->tensorData(t);
      for (uint64_t i = 0; i < t.nbytes; ++i)
        sum += p[i];
    }
    for (const MetadataEntry &m : f->metadata())
      sum += static_cast<unsigned>(m.value.toString().size());
    (void)sum;
  }
  EXPECT_GT(opened, 0) << "mutations should sometimes hit harmless bytes";
}

} // namespace
