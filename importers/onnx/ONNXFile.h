//===- ONNXFile.h - a bounds-checked ONNX model reader ----------------------===//
//
// Parses an ONNX ModelProto with the protobuf classes protoc generates from the
// official onnx-ml.proto, and gives the bytes of its tensors: raw_data, the
// typed repeated fields, or external data files (ONNX's layout for models over
// protobuf's 2 GB limit), each checked against the tensor's type and shape.
//
//===----------------------------------------------------------------------===//
#ifndef HYC_IMPORTERS_ONNX_ONNXFILE_H
#define HYC_IMPORTERS_ONNX_ONNXFILE_H

#include "onnx/onnx-ml.pb.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hyc {
namespace onnxfile {

/// A tensor's contents as little-endian bytes in ONNX's element layout (4-bit
/// types packed two per byte, low nibble first).
struct TensorView {
  int32_t dataType = 0; ///< onnx::TensorProto_DataType
  std::vector<int64_t> dims;
  int64_t numElements = 0;
  const uint8_t *data = nullptr;
  int64_t bytes = 0;
};

/// Bytes a tensor of \p numElements elements of \p dataType occupies; -1 for
/// types this reader does not handle (strings, complex, float8, ...).
int64_t tensorBytes(int32_t dataType, int64_t numElements);
/// "FLOAT", "INT8", ... for messages.
std::string dataTypeName(int32_t dataType);

/// An opened .onnx file. Not thread-safe (tensor() caches conversions).
class ONNXFile {
public:
  /// Reads and parses \p path. On failure returns null and sets \p error
  /// (prefixed with the path).
  static std::unique_ptr<ONNXFile> open(const std::string &path,
                                        std::string &error);
  ~ONNXFile();

  const std::string &path() const { return Path; }
  const onnx::ModelProto &model() const { return Model; }
  /// The opset version imported for \p domain ("" and "ai.onnx" are the
  /// default domain); -1 when the model does not import it.
  int64_t opsetVersion(const std::string &domain) const;

  /// The contents of \p t (an initializer or a Constant's value), with every
  /// size checked: dims non-negative and their product sane, the data the
  /// size the type and shape imply, external data inside its file (relative
  /// path below the model's directory). \p what names the tensor in errors.
  bool tensor(const onnx::TensorProto &t, TensorView &out, std::string &error);

private:
  ONNXFile() = default;
  struct Mapping {
    const uint8_t *data = nullptr;
    uint64_t size = 0;
  };
  bool mapExternal(const std::string &location, Mapping &out,
                   std::string &error);

  std::string Path, Dir;
  onnx::ModelProto Model;
  std::map<std::string, Mapping> External;
  std::deque<std::vector<uint8_t>> Converted; // typed-field tensors as bytes
};

} // namespace onnxfile
} // namespace hyc

#endif // HYC_IMPORTERS_ONNX_ONNXFILE_H
