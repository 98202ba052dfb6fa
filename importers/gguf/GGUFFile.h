//===- GGUFFile.h - Memory-mapped GGUF (v2/v3) reader ----------*- C++ -*-===//
//
// Reads the metadata and tensor table of a GGUF file and exposes tensor data
// as pointers into a read-only mapping. Every count, size and offset taken
// from the file is validated before use, so a malformed or truncated file
// yields an error message rather than a crash or a huge allocation.
//
//===----------------------------------------------------------------------===//

#ifndef HYC_IMPORTERS_GGUF_GGUFFILE_H
#define HYC_IMPORTERS_GGUF_GGUFFILE_H

#include "common/QuantTypes.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hyc::gguf {

/// Metadata value type tags, numbered as in the file.
enum class ValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "uint8", "string", "array", ...; "invalid" for out-of-range tags.
const char *valueTypeName(ValueType t);

/// Size in bytes of a fixed-size scalar type; 0 for String, Array and
/// invalid tags.
uint32_t scalarSize(ValueType t);

/// A metadata value: a scalar, a string, or an array.
///
/// Arrays of fixed-size scalars keep the file's little-endian bytes (one
/// allocation however long the array); arrays of strings are a
/// vector<string>; arrays of arrays are a vector<Value>.
class Value {
public:
  /// A uint8 zero, returned by element() for out-of-range indices.
  Value() = default;

  static Value makeUnsigned(ValueType t, uint64_t v);
  static Value makeSigned(ValueType t, int64_t v);
  static Value makeFloat(ValueType t, double v);
  static Value makeBool(bool v);
  static Value makeString(std::string s);
  /// \p bytes holds the elements little-endian; its size must be a multiple
  /// of scalarSize(elementType), which must be nonzero.
  static Value makeScalarArray(ValueType elementType,
                               std::vector<uint8_t> bytes);
  static Value makeStringArray(std::vector<std::string> strings);
  /// Every element must itself be an array.
  static Value makeNestedArray(std::vector<Value> arrays);

  ValueType type() const { return Type; }
  bool isArray() const { return Type == ValueType::Array; }
  bool isString() const { return Type == ValueType::String; }
  bool isInteger() const;
  bool isFloat() const {
    return Type == ValueType::Float32 || Type == ValueType::Float64;
  }

  /// Integer scalars whose value is representable; nullopt otherwise.
  std::optional<uint64_t> asU64() const;
  std::optional<int64_t> asI64() const;
  /// Float32/Float64 scalars only.
  std::optional<double> asF64() const;
  std::optional<bool> asBool() const;
  /// nullptr unless this is a String.
  const std::string *asString() const;

  /// Array element type (meaningless for non-arrays).
  ValueType elementType() const { return ElementType; }
  /// Number of array elements; 0 for non-arrays.
  uint64_t size() const;
  /// Little-endian element bytes of a scalar array.
  const std::vector<uint8_t> &scalarBytes() const { return Bytes; }
  /// Elements of a string array.
  const std::vector<std::string> &strings() const { return Strings; }
  /// Elements of an array of arrays.
  const std::vector<Value> &arrays() const { return Arrays; }
  /// Element \p i of an array as a standalone Value (a copy); a uint8 0 if
  /// this is not an array or \p i is out of range.
  Value element(uint64_t i) const;

  /// Human-readable rendering for dumps; arrays show at most
  /// \p maxElements elements.
  std::string toString(size_t maxElements = 8) const;

private:
  ValueType Type = ValueType::UInt8;
  ValueType ElementType = ValueType::UInt8;
  // Scalars: the unsigned, signed or floating value, by Type.
  uint64_t UnsignedVal = 0;
  int64_t SignedVal = 0;
  double FloatVal = 0;
  std::string Str;
  std::vector<uint8_t> Bytes;
  std::vector<std::string> Strings;
  std::vector<Value> Arrays;
};

/// One key/value pair of the metadata section.
struct MetadataEntry {
  std::string key;
  Value value;
  /// File offset of the entry (its key length field), for diagnostics.
  uint64_t offset = 0;
};

/// One entry of the tensor table, validated and sized.
struct TensorInfo {
  std::string name;
  /// ggml "ne" order: dims[0] is the contiguous (row) length.
  std::vector<uint64_t> dims;
  /// The type id as stored in the file.
  uint32_t ggmlType = 0;
  /// The resolved storage type (never Unknown in an opened file).
  QuantType type = QuantType::Unknown;
  /// Offset of the data relative to GGUFFile::dataOffset().
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  uint64_t numElements = 0;
};

/// A GGUF file opened read-only through mmap.
///
/// open() validates the whole header, metadata and tensor table, and checks
/// that every tensor's data is aligned, inside the file, and does not overlap
/// another tensor. Tensor data itself is not read until the caller touches
/// it. Versions 2 and 3 (little-endian) are accepted.
///
/// All error messages start with the path given to open().
class GGUFFile {
public:
  /// Opens and validates \p path. Returns nullptr and sets \p error on any
  /// problem.
  static std::unique_ptr<GGUFFile> open(const std::string &path,
                                        std::string &error);

  /// Parses \p size bytes at \p data, which the caller keeps alive (and
  /// unchanged) for the lifetime of the result; \p name stands in for the
  /// path in messages. Same checks as open(); used by the fuzzer, where an
  /// exactly sized heap buffer lets AddressSanitizer see any overread.
  static std::unique_ptr<GGUFFile> openMemory(const uint8_t *data,
                                              uint64_t size,
                                              const std::string &name,
                                              std::string &error);

  ~GGUFFile();
  GGUFFile(GGUFFile &&other) noexcept;
  GGUFFile &operator=(GGUFFile &&other) noexcept;
  GGUFFile(const GGUFFile &) = delete;
  GGUFFile &operator=(const GGUFFile &) = delete;

  const std::string &path() const { return Path; }
  uint32_t version() const { return Version; }
  uint64_t fileSize() const { return Size; }
  /// general.alignment, or 32 when absent.
  uint64_t alignment() const { return Alignment; }
  /// File offset of the data section (end of the tensor table rounded up to
  /// alignment()). May exceed fileSize() only when there are no tensors.
  uint64_t dataOffset() const { return DataOffset; }

  /// Metadata in file order.
  const std::vector<MetadataEntry> &metadata() const { return Metadata; }
  /// nullptr if \p key is absent.
  const Value *find(std::string_view key) const;

  /// \name Typed metadata lookups
  /// Each fails (returns false, sets \p error naming the file, the key, the
  /// expected and the actual type) when the key is missing or has an
  /// incompatible type or value; \p out is untouched on failure.
  /// @{
  bool getString(std::string_view key, std::string &out,
                 std::string &error) const;
  /// Any integer type whose value fits.
  bool getU32(std::string_view key, uint32_t &out, std::string &error) const;
  /// Any integer type whose value fits.
  bool getU64(std::string_view key, uint64_t &out, std::string &error) const;
  /// Any integer type whose value fits.
  bool getI32(std::string_view key, int32_t &out, std::string &error) const;
  /// Any integer type whose value fits.
  bool getI64(std::string_view key, int64_t &out, std::string &error) const;
  /// Float32 or Float64 (narrowed).
  bool getF32(std::string_view key, float &out, std::string &error) const;
  bool getBool(std::string_view key, bool &out, std::string &error) const;
  bool getStringArray(std::string_view key, std::vector<std::string> &out,
                      std::string &error) const;
  /// Array of any integer type whose elements all fit.
  bool getI32Array(std::string_view key, std::vector<int32_t> &out,
                   std::string &error) const;
  /// Array of any integer type whose elements all fit.
  bool getU32Array(std::string_view key, std::vector<uint32_t> &out,
                   std::string &error) const;
  /// Array of Float32 or Float64 (narrowed).
  bool getF32Array(std::string_view key, std::vector<float> &out,
                   std::string &error) const;
  /// @}

  /// Tensors in file (table) order.
  const std::vector<TensorInfo> &tensors() const { return Tensors; }
  /// nullptr if there is no tensor called \p name.
  const TensorInfo *findTensor(std::string_view name) const;
  /// Start of \p t's data inside the mapping; \p t must come from this
  /// file's tensors(). Valid for t.nbytes bytes while this object lives.
  const uint8_t *tensorData(const TensorInfo &t) const {
    return Base + DataOffset + t.offset;
  }

private:
  GGUFFile() = default;
  friend class GGUFParser;

  void release();

  std::string Path;
  const uint8_t *Base = nullptr;
  uint64_t Size = 0;
  /// Whether Base is our mmap (open()) or borrowed memory (openMemory()).
  bool OwnsMapping = false;
  uint32_t Version = 0;
  uint64_t Alignment = 32;
  uint64_t DataOffset = 0;
  std::vector<MetadataEntry> Metadata;
  std::vector<TensorInfo> Tensors;
  // Transparent comparators let find() take string_view without copying.
  std::map<std::string, size_t, std::less<>> KeyIndex;
  std::map<std::string, size_t, std::less<>> TensorIndex;
};

} // namespace hyc::gguf

#endif // HYC_IMPORTERS_GGUF_GGUFFILE_H
