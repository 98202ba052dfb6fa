//===- Convert.cpp - `hyc convert`: lossless Q2_0C -> Q2_K ---------------===//
//
// Rewrites every Q2_0C tensor of a GGUF file as Q2_K, which stock llama.cpp
// understands, and copies everything else (metadata, other tensors) as is.
// The encoding (hyc::convertQ2_0CToQ2_K) is exact; by default the output is
// also checked before it is renamed into place: every converted tensor's Q2_K
// dequantization must equal the input's Q2_0C dequantization and every other
// tensor must be byte-identical.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "common/QuantTypes.h"
#include "gguf/GGUFFile.h"
#include "gguf/GGUFWriter.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace hyc;
using namespace hyc::gguf;

namespace {

/// llama.cpp's general.file_type for "mostly Q2_K" (LLAMA_FTYPE_MOSTLY_Q2_K).
constexpr uint32_t FileTypeMostlyQ2_K = 10;
/// Q2_0C blocks converted per step (130 KiB in, 168 KiB out).
constexpr uint64_t BlocksPerChunk = 1024;

/// Streams the Q2_K encoding of one Q2_0C tensor into the writer.
TensorProducer convertingProducer(const GGUFFile &f, const TensorInfo &t) {
  const uint8_t *src = f.tensorData(t);
  return [&f, &t, src](ByteSink &out, std::string &error) {
    const uint64_t blocks = t.numElements / 512;
    const uint64_t blocksPerRow = t.dims[0] / 512;
    std::vector<uint8_t> buf(BlocksPerChunk * 2 * 84);
    for (uint64_t b = 0; b < blocks; b += BlocksPerChunk) {
      uint64_t n = std::min(BlocksPerChunk, blocks - b);
      std::string why;
      if (!convertQ2_0CToQ2_K(src + 130 * b, buf.data(),
                              static_cast<int64_t>(512 * n), why)) {
        // Find the failing block to name its row; only runs on error.
        for (uint64_t k = b; k < b + n; ++k) {
          std::string e;
          uint8_t one[2 * 84];
          if (!convertQ2_0CToQ2_K(src + 130 * k, one, 512, e)) {
            error = "in " + f.path() + ", row " +
                    std::to_string(k / blocksPerRow) + ", block " +
                    std::to_string(k % blocksPerRow) +
                    ": Q2_0C scale is Inf or NaN, which Q2_K cannot encode";
            return false;
          }
        }
        error = why;
        return false;
      }
      if (!out.write(buf.data(), n * 2 * 84)) {
        error = "write failed";
        return false;
      }
    }
    return true;
  };
}

/// Deep equality of two metadata values (floats bit for bit).
bool sameValue(const Value &a, const Value &b) {
  if (a.type() != b.type())
    return false;
  if (a.isArray()) {
    if (a.elementType() != b.elementType() || a.size() != b.size())
      return false;
    if (a.elementType() == ValueType::String)
      return a.strings() == b.strings();
    if (a.elementType() == ValueType::Array) {
      for (size_t i = 0; i < a.arrays().size(); ++i)
        if (!sameValue(a.arrays()[i], b.arrays()[i]))
          return false;
      return true;
    }
    return a.scalarBytes() == b.scalarBytes();
  }
  if (a.isString())
    return *a.asString() == *b.asString();
  if (a.isFloat()) {
    double x = *a.asF64(), y = *b.asF64();
    return std::memcmp(&x, &y, sizeof(x)) == 0;
  }
  return a.asU64() == b.asU64() && a.asI64() == b.asI64() &&
         a.asBool() == b.asBool();
}

/// Compares the converted file at \p outPath with the input: converted
/// tensors dequantize to the same values, the rest is byte-identical, and
/// the metadata is the same apart from general.file_type.
bool verifyOutput(const GGUFFile &in, const std::string &outPath,
                  std::string &error, uint64_t &valuesChecked) {
  std::unique_ptr<GGUFFile> out = GGUFFile::open(outPath, error);
  if (!out) {
    error = "verification: the output does not read back: " + error;
    return false;
  }
  auto mismatch = [&](const std::string &what) {
    error = "verification failed: " + what;
    return false;
  };
  if (out->metadata().size() != in.metadata().size())
    return mismatch("metadata key count differs");
  for (size_t i = 0; i < in.metadata().size(); ++i) {
    const MetadataEntry &a = in.metadata()[i], &b = out->metadata()[i];
    if (a.key != b.key ||
        (a.key != "general.file_type" && !sameValue(a.value, b.value)))
      return mismatch("metadata key '" + a.key + "' differs");
  }
  if (out->tensors().size() != in.tensors().size())
    return mismatch("tensor count differs");
  std::vector<float> x, y;
  std::string e;
  valuesChecked = 0;
  for (size_t i = 0; i < in.tensors().size(); ++i) {
    const TensorInfo &a = in.tensors()[i], &b = out->tensors()[i];
    if (a.name != b.name || a.dims != b.dims)
      return mismatch("tensor #" + std::to_string(i) + " ('" + a.name +
                      "') has a different name or shape");
    if (a.type != QuantType::Q2_0C) {
      if (b.type != a.type || b.nbytes != a.nbytes ||
          std::memcmp(in.tensorData(a), out->tensorData(b), a.nbytes) != 0)
        return mismatch("tensor '" + a.name + "' was not copied unchanged");
      continue;
    }
    if (b.type != QuantType::Q2_K)
      return mismatch("tensor '" + a.name + "' is not Q2_K in the output");
    const int64_t cols = static_cast<int64_t>(a.dims[0]);
    const uint64_t rows = a.numElements / a.dims[0];
    x.resize(cols);
    y.resize(cols);
    const uint64_t inRow = rowBytes(QuantType::Q2_0C, cols);
    const uint64_t outRow = rowBytes(QuantType::Q2_K, cols);
    for (uint64_t r = 0; r < rows; ++r) {
      if (!dequantizeRow(QuantType::Q2_0C, in.tensorData(a) + r * inRow,
                         x.data(), cols, e) ||
          !dequantizeRow(QuantType::Q2_K, out->tensorData(b) + r * outRow,
                         y.data(), cols, e))
        return mismatch(e);
      for (int64_t c = 0; c < cols; ++c)
        if (!(x[c] == y[c]))
          return mismatch("tensor '" + a.name + "' row " + std::to_string(r) +
                          " column " + std::to_string(c) + ": Q2_0C gives " +
                          std::to_string(x[c]) + ", Q2_K gives " +
                          std::to_string(y[c]));
    }
    valuesChecked += a.numElements;
  }
  return true;
}

} // namespace

int hyc::driver::convertMain(const std::vector<std::string> &args) {
  const std::string cmd = "convert";
  const std::string usage =
      "usage: hyc convert FILE.gguf --to q2_k -o OUT.gguf [--no-verify]";
  std::string in, to, outPath;
  bool verify = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--to" || a == "-o") {
      if (i + 1 >= args.size())
        return fail(cmd, a + " needs a value; " + usage);
      (a == "-o" ? outPath : to) = args[++i];
    } else if (a == "--no-verify") {
      verify = false;
    } else if (!a.empty() && a[0] == '-') {
      return fail(cmd, "unknown option '" + a + "'; " + usage);
    } else if (in.empty()) {
      in = a;
    } else {
      return fail(cmd, "more than one input file ('" + in + "', '" + a +
                           "'); " + usage);
    }
  }
  if (in.empty() || outPath.empty() || to.empty())
    return fail(cmd, usage);
  if (to != "q2_k" && to != "q2_K")
    return fail(cmd, "--to " + to +
                         " is not supported; the only target is q2_k "
                         "(lossless from Q2_0C)");

  struct stat si, so;
  if (::stat(in.c_str(), &si) == 0 && ::stat(outPath.c_str(), &so) == 0) {
    if (si.st_dev == so.st_dev && si.st_ino == so.st_ino)
      return fail(cmd, "output '" + outPath + "' is the input file");
    if (S_ISDIR(so.st_mode))
      return fail(cmd, "output '" + outPath + "' is a directory");
  }

  auto start = std::chrono::steady_clock::now();
  std::string error;
  std::unique_ptr<GGUFFile> file = GGUFFile::open(in, error);
  if (!file)
    return fail(cmd, error);
  const GGUFFile &f = *file;

  GGUFWriter w;
  for (const MetadataEntry &m : f.metadata()) {
    Value v = m.value;
    // The file type describes the dominant tensor type; keep the key's own
    // integer type.
    if (m.key == "general.file_type" && v.isInteger()) {
      v = (v.type() == ValueType::Int8 || v.type() == ValueType::Int16 ||
           v.type() == ValueType::Int32 || v.type() == ValueType::Int64)
              ? Value::makeSigned(v.type(), FileTypeMostlyQ2_K)
              : Value::makeUnsigned(v.type(), FileTypeMostlyQ2_K);
    }
    if (!w.addMetadata(m.key, v, error))
      return fail(cmd, in + ": " + error);
  }
  uint64_t converted = 0, convertedElements = 0, copied = 0;
  for (const TensorInfo &t : f.tensors()) {
    const uint8_t *data = f.tensorData(t);
    bool ok;
    if (t.type == QuantType::Q2_0C) {
      ok = w.addTensor(t.name, t.dims, QuantType::Q2_K,
                       convertingProducer(f, t), error);
      ++converted;
      convertedElements += t.numElements;
    } else {
      // Keep the stored id (id 40 as NVFP4 stays 40).
      ok = w.addTensor(t.name, t.dims, t.type,
                       GGUFWriter::copyFrom(data, t.nbytes), error, t.ggmlType);
      ++copied;
    }
    if (!ok)
      return fail(cmd, in + ": " + error);
  }
  if (converted == 0)
    return fail(cmd, in + ": no Q2_0C tensors to convert (nothing written)");

  uint64_t checked = 0;
  GGUFWriter::Validator validate;
  if (verify)
    validate = [&](const std::string &tmp, std::string &why) {
      return verifyOutput(f, tmp, why, checked);
    };
  if (!w.write(outPath, error, validate))
    return fail(cmd, error + " (nothing written to " + outPath + ")");

  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("converted %llu tensors (%llu weights) q2_0c -> q2_K, copied "
              "%llu unchanged; wrote %s (%llu bytes) in %.1f s\n",
              static_cast<unsigned long long>(converted),
              static_cast<unsigned long long>(convertedElements),
              static_cast<unsigned long long>(copied), outPath.c_str(),
              static_cast<unsigned long long>(w.fileSize()), s);
  if (verify)
    std::printf("verified: all %llu converted weights dequantize to the same "
                "values, other tensors and metadata unchanged\n",
                static_cast<unsigned long long>(checked));
  return 0;
}
