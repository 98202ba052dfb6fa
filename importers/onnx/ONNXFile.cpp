//===- ONNXFile.cpp - a bounds-checked ONNX model reader --------------------===//
#include "onnx/ONNXFile.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hyc::onnxfile;
using onnx::TensorProto;

namespace {
/// Maps \p path read-only; an empty file maps to (nullptr, 0).
bool mapFile(const std::string &path, const uint8_t *&data, uint64_t &size,
             std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  size = static_cast<uint64_t>(st.st_size);
  data = nullptr;
  if (size > 0) {
    void *p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      error = path + ": cannot map: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    data = static_cast<const uint8_t *>(p);
  }
  ::close(fd);
  return true;
}
} // namespace

int64_t hyc::onnxfile::tensorBytes(int32_t t, int64_t n) {
  switch (t) {
  case TensorProto::FLOAT:
  case TensorProto::INT32:
  case TensorProto::UINT32:
    return n * 4;
  case TensorProto::INT64:
  case TensorProto::UINT64:
  case TensorProto::DOUBLE:
    return n * 8;
  case TensorProto::FLOAT16:
  case TensorProto::BFLOAT16:
  case TensorProto::INT16:
  case TensorProto::UINT16:
    return n * 2;
  case TensorProto::INT8:
  case TensorProto::UINT8:
  case TensorProto::BOOL:
    return n;
  case TensorProto::INT4:
  case TensorProto::UINT4:
    return (n + 1) / 2;
  default:
    return -1;
  }
}

std::string hyc::onnxfile::dataTypeName(int32_t t) {
  if (onnx::TensorProto_DataType_IsValid(t))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t));
  return "type " + std::to_string(t);
}

std::unique_ptr<ONNXFile> ONNXFile::open(const std::string &path, std::string &error) {
  std::unique_ptr<ONNXFile> f(new ONNXFile());
  f->Path = path;
  size_t slash = path.find_last_of('/');
  f->Dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const uint8_t *data;
  uint64_t size;
  if (!mapFile(path, data, size, error))
    return nullptr;
  if (size > static_cast<uint64_t>(INT_MAX)) {
    munmap(const_cast<uint8_t *>(data), size);
    error = path + ": the protobuf is " + std::to_string(size) +
            " bytes, over protobuf's 2 GB limit (store the weights as external data)";
    return nullptr;
  }
  bool ok = size > 0 && f->Model.ParseFromArray(data, static_cast<int>(size));
  if (size > 0)
    munmap(const_cast<uint8_t *>(data), size);
  if (!ok) {
    error = path + ": not a valid ONNX model (the protobuf ModelProto does not parse" +
            (size == 0 ? ": empty file)" : ")");
    return nullptr;
  }
  if (!f->Model.has_graph()) {
    error = path + ": not a valid ONNX model (no graph)";
    return nullptr;
  }
  if (f->Model.ir_version() < 3) {
    error = path + ": ONNX IR version " + std::to_string(f->Model.ir_version()) +
            " is too old (3 or newer needed: opset imports)";
    return nullptr;
  }
  return f;
}

ONNXFile::~ONNXFile() {
  for (auto &[name, m] : External)
    if (m.data)
      munmap(const_cast<uint8_t *>(m.data), m.size);
}

int64_t ONNXFile::opsetVersion(const std::string &domain) const {
  bool wantDefault = domain.empty() || domain == "ai.onnx";
  for (const onnx::OperatorSetIdProto &o : Model.opset_import()) {
    bool isDefault = o.domain().empty() || o.domain() == "ai.onnx";
    if (wantDefault ? isDefault : o.domain() == domain)
      return o.version();
  }
  return -1;
}

bool ONNXFile::mapExternal(const std::string &location, Mapping &out, std::string &error) {
  auto it = External.find(location);
  if (it != External.end()) {
    out = it->second;
    return true;
  }
  // ONNX requires locations relative to the model's directory; refuse
  // anything that could point elsewhere.
  if (location.empty() || location[0] == '/' || location.find('\\') != std::string::npos ||
      location == ".." || location.rfind("../", 0) == 0 ||
      location.find("/../") != std::string::npos ||
      (location.size() >= 3 && location.compare(location.size() - 3, 3, "/..") == 0)) {
    error = "external data location '" + location +
            "' must be a relative path below the model's directory";
    return false;
  }
  Mapping m;
  if (!mapFile(Dir + "/" + location, m.data, m.size, error))
    return false;
  External[location] = m;
  out = m;
  return true;
}

bool ONNXFile::tensor(const TensorProto &t, TensorView &out, std::string &error) {
  const std::string what = "tensor '" + t.name() + "'";
  out = TensorView();
  out.dataType = t.data_type();
  out.numElements = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > (int64_t(1) << 40) || (d && out.numElements > (int64_t(1) << 40) / d)) {
      error = what + " has a bad shape (dimension " + std::to_string(d) + ")";
      return false;
    }
    out.dims.push_back(d);
    out.numElements *= d;
  }
  int64_t want = tensorBytes(t.data_type(), out.numElements);
  if (want < 0) {
    error = what + " has element type " + dataTypeName(t.data_type()) +
            ", which hyc does not read";
    return false;
  }
  out.bytes = want;
  auto sizeError = [&](const std::string &where, uint64_t have) {
    error = what + " (" + dataTypeName(t.data_type()) + ", " + std::to_string(out.numElements) +
            " elements) needs " + std::to_string(want) + " bytes but its " + where + " holds " +
            std::to_string(have);
    return false;
  };
  if (t.data_location() == TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &kv : t.external_data()) {
      auto number = [&](int64_t &dst) {
        const std::string &v = kv.value();
        if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
          error = what + ": external data '" + kv.key() + "' = '" + v + "' is not a number";
          return false;
        }
        dst = std::stoll(v);
        return true;
      };
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset" && !number(offset))
        return false;
      else if (kv.key() == "length" && !number(length))
        return false;
    }
    if (location.empty()) {
      error = what + " is stored externally but names no location";
      return false;
    }
    Mapping m;
    if (!mapExternal(location, m, error)) {
      error = what + ": " + error;
      return false;
    }
    if (length >= 0 && length != want)
      return sizeError("external data length", static_cast<uint64_t>(length));
    if (static_cast<uint64_t>(offset) > m.size ||
        static_cast<uint64_t>(want) > m.size - static_cast<uint64_t>(offset)) {
      error = what + ": external data [" + std::to_string(offset) + ", " +
              std::to_string(offset + want) + ") lies past the end of '" + location + "' (" +
              std::to_string(m.size) + " bytes)";
      return false;
    }
    out.data = m.data + offset;
    return true;
  }
  if (t.has_raw_data()) {
    if (static_cast<int64_t>(t.raw_data().size()) != want)
      return sizeError("raw_data", t.raw_data().size());
    out.data = reinterpret_cast<const uint8_t *>(t.raw_data().data());
    return true;
  }
  // Typed repeated fields: copied into little-endian bytes once.
  std::vector<uint8_t> bytes(static_cast<size_t>(want));
  auto fieldCount = [&](int64_t have, int64_t expected) {
    if (have != expected) {
      error = what + " holds " + std::to_string(have) + " values for " +
              std::to_string(expected) + " elements";
      return false;
    }
    return true;
  };
  switch (t.data_type()) {
  case TensorProto::FLOAT:
    if (!fieldCount(t.float_data_size(), out.numElements))
      return false;
    std::memcpy(bytes.data(), t.float_data().data(), bytes.size());
    break;
  case TensorProto::DOUBLE:
    if (!fieldCount(t.double_data_size(), out.numElements))
      return false;
    std::memcpy(bytes.data(), t.double_data().data(), bytes.size());
    break;
  case TensorProto::INT64:
    if (!fieldCount(t.int64_data_size(), out.numElements))
      return false;
    std::memcpy(bytes.data(), t.int64_data().data(), bytes.size());
    break;
  case TensorProto::UINT32:
  case TensorProto::UINT64: {
    if (!fieldCount(t.uint64_data_size(), out.numElements))
      return false;
    for (int64_t i = 0; i < out.numElements; ++i) {
      uint64_t v = t.uint64_data(static_cast<int>(i));
      std::memcpy(bytes.data() + i * (want / std::max<int64_t>(out.numElements, 1)), &v,
                  static_cast<size_t>(want / std::max<int64_t>(out.numElements, 1)));
    }
    break;
  }
  case TensorProto::INT4:
  case TensorProto::UINT4:
    // One packed byte (two elements) per int32 entry.
    if (!fieldCount(t.int32_data_size(), want))
      return false;
    for (int64_t i = 0; i < want; ++i)
      bytes[i] = static_cast<uint8_t>(t.int32_data(static_cast<int>(i)));
    break;
  default: { // int32_data carries INT32, 16-bit and 8-bit types, one per entry
    if (!fieldCount(t.int32_data_size(), out.numElements))
      return false;
    int64_t es = want / std::max<int64_t>(out.numElements, 1);
    for (int64_t i = 0; i < out.numElements; ++i) {
      int32_t v = t.int32_data(static_cast<int>(i));
      std::memcpy(bytes.data() + i * es, &v, static_cast<size_t>(es));
    }
    break;
  }
  }
  Converted.push_back(std::move(bytes));
  out.data = Converted.back().data();
  return true;
}
