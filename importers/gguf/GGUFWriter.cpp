//===- GGUFWriter.cpp - Streaming GGUF v3 writer --------------------------===//

#include "gguf/GGUFWriter.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace hyc::gguf {

namespace {

constexpr uint32_t Version = 3;
constexpr const char *AlignmentKey = "general.alignment";

void putLE(std::vector<uint8_t> &out, uint64_t v, unsigned size) {
  for (unsigned i = 0; i < size; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void putString(std::vector<uint8_t> &out, const std::string &s) {
  putLE(out, s.size(), 8);
  out.insert(out.end(), s.begin(), s.end());
}

/// Scalar value bits, little-endian in the low scalarSize() bytes.
uint64_t scalarBits(const Value &v) {
  switch (v.type()) {
  case ValueType::Float32: {
    float f = static_cast<float>(*v.asF64());
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  }
  case ValueType::Float64: {
    double d = *v.asF64();
    uint64_t u;
    std::memcpy(&u, &d, 8);
    return u;
  }
  case ValueType::Bool:
    return *v.asBool() ? 1 : 0;
  case ValueType::Int8:
  case ValueType::Int16:
  case ValueType::Int32:
  case ValueType::Int64:
    return static_cast<uint64_t>(*v.asI64());
  default:
    return *v.asU64();
  }
}

/// The body of an array value: element type, count, elements.
void putArray(std::vector<uint8_t> &out, const Value &v) {
  putLE(out, static_cast<uint32_t>(v.elementType()), 4);
  putLE(out, v.size(), 8);
  if (v.elementType() == ValueType::String) {
    for (const std::string &s : v.strings())
      putString(out, s);
  } else if (v.elementType() == ValueType::Array) {
    for (const Value &a : v.arrays())
      putArray(out, a);
  } else {
    out.insert(out.end(), v.scalarBytes().begin(), v.scalarBytes().end());
  }
}

void putValue(std::vector<uint8_t> &out, const Value &v) {
  putLE(out, static_cast<uint32_t>(v.type()), 4);
  if (v.isString())
    putString(out, *v.asString());
  else if (v.isArray())
    putArray(out, v);
  else
    putLE(out, scalarBits(v), scalarSize(v.type()));
}

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/// Buffered writes to a file descriptor, counting bytes.
class FileSink final : public ByteSink {
public:
  explicit FileSink(int fd) : Fd(fd) { Buf.reserve(Capacity); }

  bool write(const void *data, size_t size) override {
    if (Failed)
      return false;
    const uint8_t *p = static_cast<const uint8_t *>(data);
    Written += size;
    if (Limit && Written > *Limit) {
      Overrun = true;
      return false;
    }
    while (size > 0) {
      size_t n = std::min(size, Capacity - Buf.size());
      Buf.insert(Buf.end(), p, p + n);
      p += n;
      size -= n;
      if (Buf.size() == Capacity && !flush())
        return false;
    }
    return true;
  }

  bool flush() {
    size_t off = 0;
    while (off < Buf.size()) {
      ssize_t n = ::write(Fd, Buf.data() + off, Buf.size() - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        Failed = true;
        Errno = n < 0 ? errno : EIO;
        return false;
      }
      off += static_cast<size_t>(n);
    }
    Buf.clear();
    return true;
  }

  bool pad(uint64_t count) {
    static const uint8_t Zeros[256] = {};
    while (count > 0) {
      uint64_t n = std::min<uint64_t>(count, sizeof(Zeros));
      if (!write(Zeros, n))
        return false;
      count -= n;
    }
    return true;
  }

  static constexpr size_t Capacity = 1 << 20;
  int Fd;
  std::vector<uint8_t> Buf;
  uint64_t Written = 0;
  const uint64_t *Limit = nullptr; // while a producer runs: its end
  bool Failed = false, Overrun = false;
  int Errno = 0;
};

} // namespace

bool GGUFWriter::addMetadata(const std::string &key, const Value &value,
                             std::string &error) {
  for (const Entry &e : Metadata)
    if (e.key == key) {
      error = "duplicate metadata key '" + key + "'";
      return false;
    }
  if (key == AlignmentKey) {
    auto a = value.asU64();
    if (value.type() != ValueType::UInt32 || !a || *a == 0 ||
        (*a & (*a - 1)) != 0) {
      error = std::string(AlignmentKey) +
              " must be a uint32 power of two, got " + value.toString() + " (" +
              valueTypeName(value.type()) + ")";
      return false;
    }
    Alignment = *a;
  }
  Metadata.push_back({key, value});
  return true;
}

bool GGUFWriter::addTensor(const std::string &name,
                           const std::vector<uint64_t> &dims, QuantType type,
                           TensorProducer producer, std::string &error,
                           uint32_t ggmlId) {
  for (const Tensor &t : Tensors)
    if (t.name == name) {
      error = "duplicate tensor name '" + name + "'";
      return false;
    }
  uint64_t n, bytes;
  if (dims.empty() || dims.size() > 4 || !checkedNumElements(dims, n) ||
      n == 0 || !checkedTensorBytes(type, n, bytes) ||
      dims[0] % blockSize(type) != 0) {
    error = "tensor '" + name + "': bad dims for type " + quantTypeName(type);
    return false;
  }
  if (ggmlId == 0xffffffffu)
    ggmlId = quantTypeInfo(type).ggmlId;
  Tensors.push_back({name, dims, ggmlId, bytes, std::move(producer)});
  return true;
}

TensorProducer GGUFWriter::copyFrom(const uint8_t *data, uint64_t size) {
  return [data, size](ByteSink &out, std::string &error) {
    // Chunked so a sink error stops the copy early.
    constexpr uint64_t Chunk = 8 << 20;
    for (uint64_t off = 0; off < size; off += Chunk)
      if (!out.write(data + off, std::min(Chunk, size - off))) {
        error = "write failed";
        return false;
      }
    return true;
  };
}

std::vector<uint8_t> GGUFWriter::serializeHead(std::vector<uint64_t> &offsets,
                                               uint64_t &dataBytes) const {
  std::vector<uint8_t> head;
  head.insert(head.end(), {'G', 'G', 'U', 'F'});
  putLE(head, Version, 4);
  putLE(head, Tensors.size(), 8);
  putLE(head, Metadata.size(), 8);
  for (const Entry &e : Metadata) {
    putString(head, e.key);
    putValue(head, e.value);
  }
  offsets.clear();
  uint64_t off = 0;
  for (const Tensor &t : Tensors) {
    putString(head, t.name);
    putLE(head, t.dims.size(), 4);
    for (uint64_t d : t.dims)
      putLE(head, d, 8);
    putLE(head, t.ggmlId, 4);
    putLE(head, off, 8);
    offsets.push_back(off);
    off = alignUp(off + t.nbytes, Alignment);
  }
  dataBytes = off;
  return head;
}

uint64_t GGUFWriter::fileSize() const {
  std::vector<uint64_t> offsets;
  uint64_t dataBytes;
  std::vector<uint8_t> head = serializeHead(offsets, dataBytes);
  return alignUp(head.size(), Alignment) + dataBytes;
}

bool GGUFWriter::write(const std::string &path, std::string &error,
                       const Validator &validate) {
  std::vector<uint64_t> offsets;
  uint64_t dataBytes;
  std::vector<uint8_t> head = serializeHead(offsets, dataBytes);

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error =
        "cannot create " + tmp + ": " + std::generic_category().message(errno);
    return false;
  }
  FileSink sink(fd);
  auto abandon = [&](const std::string &msg) {
    ::close(fd);
    ::unlink(tmp.c_str());
    error = msg;
    return false;
  };
  auto ioError = [&]() {
    return abandon("cannot write " + tmp + ": " +
                   std::generic_category().message(sink.Errno));
  };

  if (!sink.write(head.data(), head.size()) ||
      !sink.pad(alignUp(head.size(), Alignment) - head.size()))
    return ioError();
  const uint64_t dataStart = sink.Written;
  for (size_t i = 0; i < Tensors.size(); ++i) {
    Tensor &t = Tensors[i];
    const uint64_t end = dataStart + offsets[i] + t.nbytes;
    sink.Limit = &end;
    std::string why;
    bool ok = t.producer(sink, why);
    sink.Limit = nullptr;
    if (sink.Failed)
      return ioError();
    const std::string ctx = "tensor '" + t.name + "': ";
    if (sink.Overrun)
      return abandon(ctx + "producer wrote more than its " +
                     std::to_string(t.nbytes) + " bytes");
    if (ok && sink.Written != end)
      return abandon(ctx + "producer wrote " +
                     std::to_string(sink.Written - (end - t.nbytes)) + " of " +
                     std::to_string(t.nbytes) + " bytes");
    if (!ok)
      return abandon(ctx + why);
    uint64_t next = alignUp(sink.Written - dataStart, Alignment) + dataStart;
    if (!sink.pad(next - sink.Written))
      return ioError();
  }
  if (!sink.flush())
    return ioError();
  if (::fsync(fd) != 0) {
    sink.Errno = errno;
    return ioError();
  }
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    error = "cannot write " + tmp + ": " + std::generic_category().message(e);
    return false;
  }
  if (validate && !validate(tmp, error)) {
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    error = "cannot rename " + tmp + " to " + path + ": " +
            std::generic_category().message(e);
    return false;
  }
  return true;
}

} // namespace hyc::gguf
