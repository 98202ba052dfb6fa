//===- GGUFFile.cpp - Memory-mapped GGUF (v2/v3) reader ------------------===//

#include "gguf/GGUFFile.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>
#include <type_traits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hyc::gguf {

namespace {

constexpr uint64_t DefaultAlignment = 32;
constexpr uint32_t MaxDims = 4;
/// Deeper nesting has no known use and would let a small file drive deep
/// recursion.
constexpr int MaxArrayDepth = 8;
constexpr const char *AlignmentKey = "general.alignment";

bool isValidTag(uint32_t tag) {
  return tag <= static_cast<uint32_t>(ValueType::Float64);
}

bool isSignedTag(ValueType t) {
  return t == ValueType::Int8 || t == ValueType::Int16 ||
         t == ValueType::Int32 || t == ValueType::Int64;
}

bool isUnsignedTag(ValueType t) {
  return t == ValueType::UInt8 || t == ValueType::UInt16 ||
         t == ValueType::UInt32 || t == ValueType::UInt64;
}

bool isIntegerTag(ValueType t) { return isSignedTag(t) || isUnsignedTag(t); }

bool isFloatTag(ValueType t) {
  return t == ValueType::Float32 || t == ValueType::Float64;
}

uint64_t loadLE(const uint8_t *p, uint32_t size) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < size; ++i)
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

int64_t signExtend(uint64_t raw, uint32_t size) {
  if (size == 8)
    return static_cast<int64_t>(raw);
  uint32_t shift = 64 - 8 * size;
  return static_cast<int64_t>(raw << shift) >> shift;
}

double rawToDouble(ValueType t, uint64_t raw) {
  if (t == ValueType::Float32) {
    uint32_t bits = static_cast<uint32_t>(raw);
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
  }
  double d;
  std::memcpy(&d, &raw, sizeof(d));
  return d;
}

/// Decodes one fixed-size scalar of type \p t stored at \p p.
Value decodeScalar(ValueType t, const uint8_t *p) {
  uint64_t raw = loadLE(p, scalarSize(t));
  if (isUnsignedTag(t))
    return Value::makeUnsigned(t, raw);
  if (isSignedTag(t))
    return Value::makeSigned(t, signExtend(raw, scalarSize(t)));
  if (isFloatTag(t))
    return Value::makeFloat(t, rawToDouble(t, raw));
  return Value::makeBool(raw != 0);
}

/// Integer element at \p p as int64 (false if it is a uint64 above
/// INT64_MAX).
bool scalarAsI64(ValueType t, const uint8_t *p, int64_t &out) {
  uint64_t raw = loadLE(p, scalarSize(t));
  if (isSignedTag(t)) {
    out = signExtend(raw, scalarSize(t));
    return true;
  }
  if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return false;
  out = static_cast<int64_t>(raw);
  return true;
}

std::string u64(uint64_t v) { return std::to_string(v); }

/// Quotes \p s for a diagnostic, escaping control and non-ASCII bytes and
/// eliding the middle of very long strings (names come from the file).
std::string quote(std::string_view s) {
  constexpr size_t MaxShown = 96;
  std::string out = "'";
  auto put = [&](unsigned char c) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
      return;
    }
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\x%02x", c);
    out += buf;
  };
  if (s.size() <= MaxShown) {
    for (unsigned char c : s)
      put(c);
  } else {
    for (size_t i = 0; i < MaxShown / 2; ++i)
      put(static_cast<unsigned char>(s[i]));
    out += "...";
    for (size_t i = s.size() - MaxShown / 2; i < s.size(); ++i)
      put(static_cast<unsigned char>(s[i]));
  }
  return out + "'";
}

std::string formatDouble(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", d);
  return buf;
}

std::string typeDescription(const Value &v) {
  if (!v.isArray())
    return valueTypeName(v.type());
  return std::string("array of ") + valueTypeName(v.elementType());
}

} // namespace

//===----------------------------------------------------------------------===//
// ValueType / Value
//===----------------------------------------------------------------------===//

const char *valueTypeName(ValueType t) {
  switch (t) {
  case ValueType::UInt8:
    return "uint8";
  case ValueType::Int8:
    return "int8";
  case ValueType::UInt16:
    return "uint16";
  case ValueType::Int16:
    return "int16";
  case ValueType::UInt32:
    return "uint32";
  case ValueType::Int32:
    return "int32";
  case ValueType::Float32:
    return "float32";
  case ValueType::Bool:
    return "bool";
  case ValueType::String:
    return "string";
  case ValueType::Array:
    return "array";
  case ValueType::UInt64:
    return "uint64";
  case ValueType::Int64:
    return "int64";
  case ValueType::Float64:
    return "float64";
  }
  return "invalid";
}

uint32_t scalarSize(ValueType t) {
  switch (t) {
  case ValueType::UInt8:
  case ValueType::Int8:
  case ValueType::Bool:
    return 1;
  case ValueType::UInt16:
  case ValueType::Int16:
    return 2;
  case ValueType::UInt32:
  case ValueType::Int32:
  case ValueType::Float32:
    return 4;
  case ValueType::UInt64:
  case ValueType::Int64:
  case ValueType::Float64:
    return 8;
  case ValueType::String:
  case ValueType::Array:
    return 0;
  }
  return 0;
}

Value Value::makeUnsigned(ValueType t, uint64_t v) {
  assert(isUnsignedTag(t));
  Value r;
  r.Type = t;
  r.UnsignedVal = v;
  return r;
}

Value Value::makeSigned(ValueType t, int64_t v) {
  assert(isSignedTag(t));
  Value r;
  r.Type = t;
  r.SignedVal = v;
  return r;
}

Value Value::makeFloat(ValueType t, double v) {
  assert(isFloatTag(t));
  Value r;
  r.Type = t;
  r.FloatVal = v;
  return r;
}

Value Value::makeBool(bool v) {
  Value r;
  r.Type = ValueType::Bool;
  r.UnsignedVal = v ? 1 : 0;
  return r;
}

Value Value::makeString(std::string s) {
  Value r;
  r.Type = ValueType::String;
  r.Str = std::move(s);
  return r;
}

Value Value::makeScalarArray(ValueType elementType,
                             std::vector<uint8_t> bytes) {
  assert(scalarSize(elementType) != 0 &&
         bytes.size() % scalarSize(elementType) == 0);
  Value r;
  r.Type = ValueType::Array;
  r.ElementType = elementType;
  r.Bytes = std::move(bytes);
  return r;
}

Value Value::makeStringArray(std::vector<std::string> strings) {
  Value r;
  r.Type = ValueType::Array;
  r.ElementType = ValueType::String;
  r.Strings = std::move(strings);
  return r;
}

Value Value::makeNestedArray(std::vector<Value> arrays) {
  Value r;
  r.Type = ValueType::Array;
  r.ElementType = ValueType::Array;
  r.Arrays = std::move(arrays);
  return r;
}

bool Value::isInteger() const { return isIntegerTag(Type); }

std::optional<uint64_t> Value::asU64() const {
  if (isUnsignedTag(Type))
    return UnsignedVal;
  if (isSignedTag(Type) && SignedVal >= 0)
    return static_cast<uint64_t>(SignedVal);
  return std::nullopt;
}

std::optional<int64_t> Value::asI64() const {
  if (isSignedTag(Type))
    return SignedVal;
  if (isUnsignedTag(Type) &&
      UnsignedVal <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(UnsignedVal);
  return std::nullopt;
}

std::optional<double> Value::asF64() const {
  if (isFloatTag(Type))
    return FloatVal;
  return std::nullopt;
}

std::optional<bool> Value::asBool() const {
  if (Type == ValueType::Bool)
    return UnsignedVal != 0;
  return std::nullopt;
}

const std::string *Value::asString() const {
  return Type == ValueType::String ? &Str : nullptr;
}

uint64_t Value::size() const {
  if (!isArray())
    return 0;
  if (ElementType == ValueType::String)
    return Strings.size();
  if (ElementType == ValueType::Array)
    return Arrays.size();
  return Bytes.size() / scalarSize(ElementType);
}

Value Value::element(uint64_t i) const {
  if (!isArray() || i >= size())
    return Value();
  if (ElementType == ValueType::String)
    return makeString(Strings[i]);
  if (ElementType == ValueType::Array)
    return Arrays[i];
  return decodeScalar(ElementType, Bytes.data() + i * scalarSize(ElementType));
}

std::string Value::toString(size_t maxElements) const {
  if (isUnsignedTag(Type))
    return u64(UnsignedVal);
  if (isSignedTag(Type))
    return std::to_string(SignedVal);
  if (isFloatTag(Type))
    return formatDouble(FloatVal);
  if (Type == ValueType::Bool)
    return UnsignedVal ? "true" : "false";
  if (Type == ValueType::String)
    return quote(Str);
  std::string s = "[";
  uint64_t n = size();
  for (uint64_t i = 0; i < n && i < maxElements; ++i) {
    if (i)
      s += ", ";
    s += element(i).toString(maxElements);
  }
  if (n > maxElements)
    s += ", ... (" + u64(n) + " elements)";
  return s + "]";
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

/// Validating reader over the mapping. Every read goes through need(), which
/// is the single place that guarantees we never look past the end.
class GGUFParser {
public:
  GGUFParser(GGUFFile &file, std::string &error) : F(file), Error(error) {}

  bool parse() {
    return parseHeader() && parseMetadata() && parseTensorInfos() &&
           layoutTensors();
  }

private:
  GGUFFile &F;
  std::string &Error;
  uint64_t Pos = 0;
  uint64_t TensorCount = 0;
  uint64_t KVCount = 0;

  bool fail(const std::string &msg) {
    Error = F.Path + ": " + msg;
    return false;
  }

  uint64_t remaining() const { return F.Size - Pos; }

  /// Description of the item being read, built only when reporting.
  static std::string where(const std::string &ctx, const char *what,
                           int64_t index) {
    std::string s = ctx;
    if (what && *what)
      s += std::string(s.empty() ? "" : " ") + what;
    if (index >= 0)
      s += " #" + std::to_string(index);
    return s;
  }

  bool need(uint64_t n, const std::string &ctx, const char *what,
            int64_t index = -1) {
    if (n <= remaining())
      return true;
    return fail("truncated: " + where(ctx, what, index) + " needs " + u64(n) +
                " bytes at offset " + u64(Pos) + " but the file has " +
                u64(F.Size) + " bytes");
  }

  bool readRaw(uint64_t &out, uint32_t size, const std::string &ctx,
               const char *what, int64_t index = -1) {
    if (!need(size, ctx, what, index))
      return false;
    out = loadLE(F.Base + Pos, size);
    Pos += size;
    return true;
  }

  bool readU32(uint32_t &out, const std::string &ctx, const char *what) {
    uint64_t raw;
    if (!readRaw(raw, 4, ctx, what))
      return false;
    out = static_cast<uint32_t>(raw);
    return true;
  }

  bool readU64(uint64_t &out, const std::string &ctx, const char *what,
               int64_t index = -1) {
    return readRaw(out, 8, ctx, what, index);
  }

  bool readString(std::string &out, const std::string &ctx, const char *what,
                  int64_t index = -1) {
    uint64_t lenOffset = Pos;
    uint64_t len;
    if (!readU64(len, ctx, what, index))
      return false;
    // Check before allocating: the length is attacker-controlled.
    if (len > remaining())
      return fail("truncated or corrupt: " + where(ctx, what, index) +
                  ": string length " + u64(len) + " at offset " +
                  u64(lenOffset) + " exceeds the " + u64(remaining()) +
                  " bytes left in the file (" + u64(F.Size) + " bytes)");
    out.assign(reinterpret_cast<const char *>(F.Base + Pos), len);
    Pos += len;
    return true;
  }

  bool readValueTag(ValueType &out, const std::string &ctx, const char *what) {
    uint64_t tagOffset = Pos;
    uint32_t tag;
    if (!readU32(tag, ctx, what))
      return false;
    if (!isValidTag(tag))
      return fail(ctx + ": unknown " + what + " " + std::to_string(tag) +
                  " at offset " + u64(tagOffset) + " (valid types are 0-12)");
    out = static_cast<ValueType>(tag);
    return true;
  }

  bool checkBool(uint8_t b, uint64_t offset, const std::string &ctx) {
    if (b <= 1)
      return true;
    return fail(ctx + ": invalid bool value " + std::to_string(b) +
                " at offset " + u64(offset) + " (expected 0 or 1)");
  }

  bool readValue(ValueType t, Value &out, const std::string &ctx) {
    if (t == ValueType::String) {
      std::string s;
      if (!readString(s, ctx, "value"))
        return false;
      out = Value::makeString(std::move(s));
      return true;
    }
    if (t == ValueType::Array)
      return readArray(out, 1, ctx);
    uint32_t size = scalarSize(t);
    if (!need(size, ctx, "value"))
      return false;
    if (t == ValueType::Bool && !checkBool(F.Base[Pos], Pos, ctx))
      return false;
    out = decodeScalar(t, F.Base + Pos);
    Pos += size;
    return true;
  }

  /// Reads element type, count and elements of an array at nesting
  /// \p depth (1 for a top-level array value).
  bool readArray(Value &out, int depth, const std::string &ctx) {
    if (depth > MaxArrayDepth)
      return fail(ctx + ": arrays nested more than " +
                  std::to_string(MaxArrayDepth) + " levels deep at offset " +
                  u64(Pos));
    ValueType elem;
    if (!readValueTag(elem, ctx, "array element type"))
      return false;
    uint64_t countOffset = Pos;
    uint64_t count;
    if (!readU64(count, ctx, "array count"))
      return false;

    // Every element occupies at least MinBytes in the file, so a count that
    // cannot fit in what is left is rejected before any allocation.
    uint32_t minBytes = scalarSize(elem);
    if (elem == ValueType::String)
      minBytes = 8; // length field
    else if (elem == ValueType::Array)
      minBytes = 12; // element type + count
    uint64_t total;
    if (__builtin_mul_overflow(count, uint64_t(minBytes), &total) ||
        total > remaining())
      return fail("truncated or corrupt: " + ctx + ": array count " +
                  u64(count) + " at offset " + u64(countOffset) + " of " +
                  valueTypeName(elem) + " elements needs at least " +
                  (total / minBytes == count ? u64(total) : "2^64+") +
                  " bytes but only " + u64(remaining()) +
                  " bytes remain in the file (" + u64(F.Size) + " bytes)");

    if (elem == ValueType::String) {
      std::vector<std::string> strings(count);
      for (uint64_t i = 0; i < count; ++i)
        if (!readString(strings[i], ctx, "element", static_cast<int64_t>(i)))
          return false;
      out = Value::makeStringArray(std::move(strings));
      return true;
    }
    if (elem == ValueType::Array) {
      std::vector<Value> arrays(count);
      for (uint64_t i = 0; i < count; ++i)
        if (!readArray(arrays[i], depth + 1, ctx + " element #" + u64(i)))
          return false;
      out = Value::makeNestedArray(std::move(arrays));
      return true;
    }
    if (elem == ValueType::Bool)
      for (uint64_t i = 0; i < count; ++i)
        if (!checkBool(F.Base[Pos + i], Pos + i, ctx + " element #" + u64(i)))
          return false;
    std::vector<uint8_t> bytes(F.Base + Pos, F.Base + Pos + total);
    Pos += total;
    out = Value::makeScalarArray(elem, std::move(bytes));
    return true;
  }

  bool parseHeader() {
    if (F.Size == 0)
      return fail("empty file (0 bytes; expected a GGUF header)");
    if (!need(4, "", "magic"))
      return false;
    if (std::memcmp(F.Base, "GGUF", 4) != 0)
      return fail(
          "bad magic " +
          quote(std::string_view(reinterpret_cast<const char *>(F.Base), 4)) +
          " at offset 0 (expected 'GGUF'); not a GGUF file");
    Pos = 4;
    uint32_t version;
    if (!readU32(version, "header", "version"))
      return false;
    if (version != 2 && version != 3) {
      std::string msg = "unsupported GGUF version " + std::to_string(version) +
                        " at offset 4 (only versions 2 and 3 are supported";
      uint32_t swapped = __builtin_bswap32(version);
      if (version == 1)
        msg += "; version 1 used 32-bit counts and lengths";
      else if (swapped == 2 || swapped == 3)
        msg += "; this looks like a big-endian file, which is not supported";
      return fail(msg + ")");
    }
    F.Version = version;
    return readU64(TensorCount, "header", "tensor count") &&
           readU64(KVCount, "header", "metadata key count");
  }

  bool parseMetadata() {
    // Each entry needs >= 13 bytes; the cap keeps a bogus count from
    // reserving memory while still avoiding regrowth for real files.
    F.Metadata.reserve(std::min<uint64_t>(KVCount, remaining() / 13));
    for (uint64_t i = 0; i < KVCount; ++i) {
      uint64_t entryOffset = Pos;
      std::string ctx = "metadata key #" + u64(i);
      MetadataEntry entry;
      entry.offset = entryOffset;
      if (!readString(entry.key, ctx, ""))
        return false;
      ctx += " " + quote(entry.key);
      auto dup = F.KeyIndex.find(entry.key);
      if (dup != F.KeyIndex.end())
        return fail("duplicate metadata key " + quote(entry.key) +
                    " at offset " + u64(entryOffset) + " (first at offset " +
                    u64(F.Metadata[dup->second].offset) + ")");
      ValueType t;
      if (!readValueTag(t, ctx, "value type") ||
          !readValue(t, entry.value, ctx))
        return false;
      F.KeyIndex.emplace(entry.key, F.Metadata.size());
      F.Metadata.push_back(std::move(entry));
    }

    F.Alignment = DefaultAlignment;
    if (auto it = F.KeyIndex.find(AlignmentKey); it != F.KeyIndex.end()) {
      const MetadataEntry &e = F.Metadata[it->second];
      if (e.value.type() != ValueType::UInt32)
        return fail(std::string("metadata key '") + AlignmentKey +
                    "' at offset " + u64(e.offset) + " has type " +
                    typeDescription(e.value) + ", expected uint32");
      uint64_t a = *e.value.asU64();
      if (a == 0 || (a & (a - 1)) != 0)
        return fail(std::string("metadata key '") + AlignmentKey +
                    "' at offset " + u64(e.offset) + " is " + u64(a) +
                    "; the alignment must be a nonzero power of two");
      F.Alignment = a;
    }
    return true;
  }

  bool parseTensorInfos() {
    // Each tensor info needs >= 32 bytes (see parseMetadata()).
    F.Tensors.reserve(std::min<uint64_t>(TensorCount, remaining() / 32));
    for (uint64_t i = 0; i < TensorCount; ++i) {
      std::string ctx = "tensor #" + u64(i);
      TensorInfo t;
      if (!readString(t.name, ctx, "name"))
        return false;
      ctx = "tensor " + quote(t.name);

      uint64_t fieldOffset = Pos;
      uint32_t nDims;
      if (!readU32(nDims, ctx, "dimension count"))
        return false;
      if (nDims == 0 || nDims > MaxDims)
        return fail(ctx + ": " + std::to_string(nDims) +
                    " dimensions at offset " + u64(fieldOffset) +
                    " (expected 1 to " + std::to_string(MaxDims) + ")");
      t.dims.resize(nDims);
      for (uint32_t d = 0; d < nDims; ++d) {
        fieldOffset = Pos;
        if (!readU64(t.dims[d], ctx, "dimension", d))
          return false;
        if (t.dims[d] == 0)
          return fail(ctx + ": dimension #" + std::to_string(d) +
                      " is 0 at offset " + u64(fieldOffset));
        // ggml (and the compiler) index with int64_t.
        if (t.dims[d] >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return fail(ctx + ": dimension #" + std::to_string(d) + " (" +
                      u64(t.dims[d]) + ") at offset " + u64(fieldOffset) +
                      " is too large");
      }
      if (!checkedNumElements(t.dims, t.numElements) ||
          t.numElements >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(ctx + ": element count overflows (dims " +
                    dimsToString(t.dims) + ")");

      fieldOffset = Pos;
      if (!readU32(t.ggmlType, ctx, "type"))
        return false;
      if (t.ggmlType != AmbiguousGGMLId &&
          quantTypeFromGGMLId(t.ggmlType) == QuantType::Unknown) {
        std::string why;
        resolveType(t.ggmlType, t.dims, 0, F.Alignment, why);
        return fail(ctx + ": " + why + " at offset " + u64(fieldOffset));
      }

      fieldOffset = Pos;
      if (!readU64(t.offset, ctx, "data offset"))
        return false;
      if (t.offset % F.Alignment != 0)
        return fail(ctx + ": data offset " + u64(t.offset) + " at offset " +
                    u64(fieldOffset) + " is not a multiple of the alignment " +
                    u64(F.Alignment));

      auto dup = F.TensorIndex.find(t.name);
      if (dup != F.TensorIndex.end())
        return fail("duplicate tensor name " + quote(t.name) + " (tensor #" +
                    u64(i) + " and tensor #" + u64(dup->second) + ")");
      F.TensorIndex.emplace(t.name, F.Tensors.size());
      F.Tensors.push_back(std::move(t));
    }
    return true;
  }

  static std::string dimsToString(const std::vector<uint64_t> &dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i)
      s += (i ? ", " : "") + u64(dims[i]);
    return s + "]";
  }

  /// Places the data section, resolves each tensor's type and checks that
  /// its bytes lie inside the file without overlapping the next tensor.
  bool layoutTensors() {
    uint64_t a = F.Alignment;
    uint64_t padded;
    if (__builtin_add_overflow(Pos, a - 1, &padded))
      return fail("data section offset overflows");
    F.DataOffset = padded & ~(a - 1);
    if (F.Tensors.empty())
      return true;
    if (F.DataOffset > F.Size)
      return fail("truncated: the data section starts at offset " +
                  u64(F.DataOffset) + " (end of the tensor table at " +
                  u64(Pos) + " rounded up to alignment " + u64(a) +
                  ") but the file has " + u64(F.Size) + " bytes");

    // Sorting by offset gives each tensor the space up to its successor,
    // which both the overlap check and the id-40 size rule need.
    std::vector<size_t> order(F.Tensors.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return F.Tensors[x].offset < F.Tensors[y].offset;
    });

    const uint64_t dataSize = F.Size - F.DataOffset;
    for (size_t k = 0; k < order.size(); ++k) {
      TensorInfo &t = F.Tensors[order[k]];
      std::string ctx = "tensor " + quote(t.name);
      if (t.offset > dataSize) {
        uint64_t abs;
        bool overflow = __builtin_add_overflow(F.DataOffset, t.offset, &abs);
        return fail(ctx + ": data offset " + u64(t.offset) + " (file offset " +
                    (overflow ? "beyond 2^64" : u64(abs)) +
                    ") starts past end of file (" + u64(F.Size) + " bytes)");
      }
      uint64_t start = F.DataOffset + t.offset;
      const TensorInfo *next =
          k + 1 < order.size() ? &F.Tensors[order[k + 1]] : nullptr;
      // A successor past the end is reported when its turn comes; until
      // then the end of the file bounds this tensor (and no sum can wrap).
      uint64_t limit = next && next->offset <= dataSize
                           ? F.DataOffset + next->offset
                           : F.Size;

      std::string why;
      t.type = resolveType(t.ggmlType, t.dims, limit - start, a, why);
      if (t.type == QuantType::Unknown) {
        // Data running into the end of the file with too few bytes for any
        // candidate type is almost always a truncated download.
        if (limit == F.Size)
          why += "; the data runs past end of file (" + u64(F.Size) +
                 " bytes): the file looks truncated";
        return fail(ctx + ": " + why);
      }
      uint32_t bs = blockSize(t.type);
      if (t.dims[0] % bs != 0)
        return fail(ctx + ": dims[0] = " + u64(t.dims[0]) +
                    " is not a multiple of the " + quantTypeName(t.type) +
                    " block size " + std::to_string(bs));
      if (!checkedTensorBytes(t.type, t.numElements, t.nbytes))
        return fail(ctx + ": byte size of " + u64(t.numElements) + " " +
                    quantTypeName(t.type) + " elements overflows");

      uint64_t end;
      bool overflow = __builtin_add_overflow(start, t.nbytes, &end);
      std::string range = "data [" + u64(start) + ", " +
                          (overflow ? "overflow" : u64(end)) + ")";
      if (overflow || end > F.Size)
        return fail(ctx + ": " + range + " extends past end of file (" +
                    u64(F.Size) + " bytes)");
      if (end > limit)
        return fail(ctx + ": " + range + " overlaps tensor " +
                    quote(next->name) + " which starts at offset " +
                    u64(limit));
    }
    return true;
  }
};

//===----------------------------------------------------------------------===//
// GGUFFile
//===----------------------------------------------------------------------===//

std::unique_ptr<GGUFFile> GGUFFile::open(const std::string &path,
                                         std::string &error) {
  error.clear();
  auto sysError = [&](const char *what) {
    error = path + ": " + what + ": " + std::generic_category().message(errno);
    return nullptr;
  };

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sysError("cannot open");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return sysError("cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + ": not a regular file";
    return nullptr;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    // mmap rejects empty mappings; report it as a format error instead.
    ::close(fd);
    error = path + ": empty file (0 bytes; expected a GGUF header)";
    return nullptr;
  }
  if (size > std::numeric_limits<size_t>::max()) {
    ::close(fd);
    error = path + ": file too large to map (" + u64(size) + " bytes)";
    return nullptr;
  }
  void *p =
      ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  ::close(fd); // The mapping keeps the file alive.
  if (p == MAP_FAILED) {
    errno = saved;
    return sysError("cannot mmap");
  }

  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->Path = path;
  file->Base = static_cast<const uint8_t *>(p);
  file->Size = size;
  file->OwnsMapping = true;
  GGUFParser parser(*file, error);
  if (!parser.parse())
    return nullptr;
  return file;
}

std::unique_ptr<GGUFFile> GGUFFile::openMemory(const uint8_t *data,
                                               uint64_t size,
                                               const std::string &name,
                                               std::string &error) {
  error.clear();
  if (size == 0 || !data) {
    error = name + ": empty file (0 bytes; expected a GGUF header)";
    return nullptr;
  }
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->Path = name;
  file->Base = data;
  file->Size = size;
  GGUFParser parser(*file, error);
  if (!parser.parse())
    return nullptr;
  return file;
}

GGUFFile::~GGUFFile() { release(); }

void GGUFFile::release() {
  if (Base && OwnsMapping)
    ::munmap(const_cast<uint8_t *>(Base), static_cast<size_t>(Size));
  Base = nullptr;
  Size = 0;
  OwnsMapping = false;
}

GGUFFile::GGUFFile(GGUFFile &&other) noexcept { *this = std::move(other); }

GGUFFile &GGUFFile::operator=(GGUFFile &&other) noexcept {
  if (this == &other)
    return *this;
  release();
  Path = std::move(other.Path);
  Base = other.Base;
  Size = other.Size;
  OwnsMapping = other.OwnsMapping;
  Version = other.Version;
  Alignment = other.Alignment;
  DataOffset = other.DataOffset;
  Metadata = std::move(other.Metadata);
  Tensors = std::move(other.Tensors);
  KeyIndex = std::move(other.KeyIndex);
  TensorIndex = std::move(other.TensorIndex);
  other.Base = nullptr;
  other.Size = 0;
  other.OwnsMapping = false;
  return *this;
}

const Value *GGUFFile::find(std::string_view key) const {
  auto it = KeyIndex.find(key);
  return it == KeyIndex.end() ? nullptr : &Metadata[it->second].value;
}

const TensorInfo *GGUFFile::findTensor(std::string_view name) const {
  auto it = TensorIndex.find(name);
  return it == TensorIndex.end() ? nullptr : &Tensors[it->second];
}

namespace {

const Value *lookup(const GGUFFile &file, std::string_view key,
                    std::string &error) {
  const Value *v = file.find(key);
  if (!v)
    error = file.path() + ": metadata key " + quote(key) + " not found";
  return v;
}

bool typeError(const GGUFFile &file, std::string_view key, const Value &v,
               const std::string &expected, std::string &error) {
  error = file.path() + ": metadata key " + quote(key) + " has type " +
          typeDescription(v) + ", expected " + expected;
  return false;
}

template <typename T> bool fitsIn(int64_t x) {
  if constexpr (std::is_signed_v<T>)
    return x >= std::numeric_limits<T>::min() &&
           x <= std::numeric_limits<T>::max();
  else
    return x >= 0 && static_cast<uint64_t>(x) <= std::numeric_limits<T>::max();
}

/// Shared body of the integer getters: any integer type is accepted as long
/// as the value is representable in T.
template <typename T>
bool getInteger(const GGUFFile &file, std::string_view key, T &out,
                const char *target, std::string &error) {
  const Value *v = lookup(file, key, error);
  if (!v)
    return false;
  if (!v->isInteger())
    return typeError(file, key, *v,
                     std::string(target) + " (or another integer type)", error);
  bool fits;
  if constexpr (std::is_signed_v<T>) {
    auto i = v->asI64();
    fits = i && fitsIn<T>(*i);
    if (fits)
      out = static_cast<T>(*i);
  } else {
    auto u = v->asU64();
    fits = u && *u <= std::numeric_limits<T>::max();
    if (fits)
      out = static_cast<T>(*u);
  }
  if (!fits)
    error = file.path() + ": metadata key " + quote(key) + " value " +
            v->toString() + " (" + valueTypeName(v->type()) +
            ") does not fit in " + target;
  return fits;
}

/// Shared body of the integer array getters.
template <typename T>
bool getIntegerArray(const GGUFFile &file, std::string_view key,
                     std::vector<T> &out, const char *target,
                     std::string &error) {
  const Value *v = lookup(file, key, error);
  if (!v)
    return false;
  if (!v->isArray() || !isIntegerTag(v->elementType()))
    return typeError(file, key, *v,
                     std::string("array of ") + target +
                         " (or another integer type)",
                     error);
  ValueType t = v->elementType();
  uint32_t size = scalarSize(t);
  uint64_t n = v->size();
  std::vector<T> result(n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t x = 0;
    if (!scalarAsI64(t, v->scalarBytes().data() + i * size, x) ||
        !fitsIn<T>(x)) {
      error = file.path() + ": metadata key " + quote(key) + " element #" +
              u64(i) + " (" + v->element(i).toString() + ") does not fit in " +
              target;
      return false;
    }
    result[i] = static_cast<T>(x);
  }
  out = std::move(result);
  return true;
}

} // namespace

bool GGUFFile::getString(std::string_view key, std::string &out,
                         std::string &error) const {
  const Value *v = lookup(*this, key, error);
  if (!v)
    return false;
  if (!v->isString())
    return typeError(*this, key, *v, "string", error);
  out = *v->asString();
  return true;
}

bool GGUFFile::getU32(std::string_view key, uint32_t &out,
                      std::string &error) const {
  return getInteger(*this, key, out, "uint32", error);
}

bool GGUFFile::getU64(std::string_view key, uint64_t &out,
                      std::string &error) const {
  return getInteger(*this, key, out, "uint64", error);
}

bool GGUFFile::getI32(std::string_view key, int32_t &out,
                      std::string &error) const {
  return getInteger(*this, key, out, "int32", error);
}

bool GGUFFile::getI64(std::string_view key, int64_t &out,
                      std::string &error) const {
  return getInteger(*this, key, out, "int64", error);
}

bool GGUFFile::getF32(std::string_view key, float &out,
                      std::string &error) const {
  const Value *v = lookup(*this, key, error);
  if (!v)
    return false;
  if (!v->isFloat())
    return typeError(*this, key, *v, "float32 or float64", error);
  out = static_cast<float>(*v->asF64());
  return true;
}

bool GGUFFile::getBool(std::string_view key, bool &out,
                       std::string &error) const {
  const Value *v = lookup(*this, key, error);
  if (!v)
    return false;
  if (v->type() != ValueType::Bool)
    return typeError(*this, key, *v, "bool", error);
  out = *v->asBool();
  return true;
}

bool GGUFFile::getStringArray(std::string_view key,
                              std::vector<std::string> &out,
                              std::string &error) const {
  const Value *v = lookup(*this, key, error);
  if (!v)
    return false;
  if (!v->isArray() || v->elementType() != ValueType::String)
    return typeError(*this, key, *v, "array of string", error);
  out = v->strings();
  return true;
}

bool GGUFFile::getI32Array(std::string_view key, std::vector<int32_t> &out,
                           std::string &error) const {
  return getIntegerArray(*this, key, out, "int32", error);
}

bool GGUFFile::getU32Array(std::string_view key, std::vector<uint32_t> &out,
                           std::string &error) const {
  return getIntegerArray(*this, key, out, "uint32", error);
}

bool GGUFFile::getF32Array(std::string_view key, std::vector<float> &out,
                           std::string &error) const {
  const Value *v = lookup(*this, key, error);
  if (!v)
    return false;
  if (!v->isArray() || !isFloatTag(v->elementType()))
    return typeError(*this, key, *v, "array of float32 or float64", error);
  ValueType t = v->elementType();
  uint32_t size = scalarSize(t);
  uint64_t n = v->size();
  std::vector<float> result(n);
  for (uint64_t i = 0; i < n; ++i)
    result[i] = static_cast<float>(
        rawToDouble(t, loadLE(v->scalarBytes().data() + i * size, size)));
  out = std::move(result);
  return true;
}

} // namespace hyc::gguf
