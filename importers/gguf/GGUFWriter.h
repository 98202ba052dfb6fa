//===- GGUFWriter.h - Streaming GGUF v3 writer -----------------*- C++ -*-===//
//
// Writes a GGUF v3 file from metadata Values (as GGUFFile reads them) and
// tensors whose bytes are produced on demand, so a multi-gigabyte model is
// streamed, never held in memory. The file appears atomically: it is written
// under a temporary name in the destination directory and renamed into place
// only when complete.
//
//===----------------------------------------------------------------------===//

#ifndef HYC_IMPORTERS_GGUF_GGUFWRITER_H
#define HYC_IMPORTERS_GGUF_GGUFWRITER_H

#include "gguf/GGUFFile.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hyc::gguf {

/// Where a tensor producer writes its bytes. write() returns false after an
/// I/O error or once the producer has exceeded the tensor's size.
class ByteSink {
public:
  virtual ~ByteSink() = default;
  virtual bool write(const void *data, size_t size) = 0;
};

/// Produces a tensor's data into \p out; returns false (with \p error set)
/// to abort the whole file.
using TensorProducer = std::function<bool(ByteSink &out, std::string &error)>;

/// Builds and writes one GGUF v3 file.
///
/// Layout: header, metadata in insertion order, tensor infos in insertion
/// order, zero padding to the alignment, then each tensor's data at the next
/// multiple of the alignment (zero padded, including after the last one).
/// The alignment is general.alignment if the metadata has it (it must be a
/// uint32 power of two), otherwise 32, which is also what readers assume.
class GGUFWriter {
public:
  /// Appends a metadata entry. False if \p key is already present, or if it
  /// is general.alignment with a type or value GGUF does not allow.
  bool addMetadata(const std::string &key, const Value &value,
                   std::string &error);

  /// Appends a tensor of \p type with ggml dims \p dims (dims[0] is the row
  /// length). \p ggmlId is written as the type id; 0xffffffff means
  /// quantTypeInfo(type).ggmlId. The producer must write exactly the
  /// tensor's byte size. False on a duplicate name, bad dims or a size that
  /// overflows.
  bool addTensor(const std::string &name, const std::vector<uint64_t> &dims,
                 QuantType type, TensorProducer producer, std::string &error,
                 uint32_t ggmlId = 0xffffffffu);

  /// Convenience: a producer copying \p size bytes from \p data, which must
  /// stay valid until write() returns.
  static TensorProducer copyFrom(const uint8_t *data, uint64_t size);

  /// Checks the complete temporary file (\p tmpPath) before it is renamed
  /// into place; false (with \p error set) abandons the write.
  using Validator =
      std::function<bool(const std::string &tmpPath, std::string &error)>;

  /// Writes the file to \p path atomically (temporary file in the same
  /// directory, then rename). On failure, including a \p validate that
  /// returns false, no file is left at \p path or under the temporary name
  /// (an existing file at \p path is untouched), and \p error says what
  /// went wrong.
  bool write(const std::string &path, std::string &error,
             const Validator &validate = nullptr);

  /// Bytes write() will produce; valid after all entries were added.
  uint64_t fileSize() const;

private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t ggmlId;
    uint64_t nbytes;
    TensorProducer producer;
  };
  struct Entry {
    std::string key;
    Value value;
  };

  uint64_t alignment() const { return Alignment; }
  /// Header, metadata and tensor infos, unpadded.
  std::vector<uint8_t> serializeHead(std::vector<uint64_t> &offsets,
                                     uint64_t &dataBytes) const;

  std::vector<Entry> Metadata;
  std::vector<Tensor> Tensors;
  uint64_t Alignment = 32;
};

} // namespace hyc::gguf

#endif // HYC_IMPORTERS_GGUF_GGUFWRITER_H
