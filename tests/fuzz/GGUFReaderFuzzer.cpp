//===- GGUFReaderFuzzer.cpp - libFuzzer target for the GGUF reader -------===//
//
// Feeds arbitrary bytes to GGUFFile::openMemory() (an exactly sized buffer,
// so AddressSanitizer sees any read past the end) and, when a file opens,
// exercises everything a consumer touches: every metadata value and typed
// getter, every tensor's bytes, the dequantizers and the Q2_0C -> Q2_K
// conversion. Invariants that must hold for any input are checked with
// __builtin_trap(), which libFuzzer reports like a crash:
//   - a rejected input yields a non-empty one-line message naming the file;
//   - an accepted file's tensors lie inside the buffer, aligned, disjoint;
//   - a Q2_0C block that converts to Q2_K dequantizes to the same values.
//
// Built by `make fuzz` (clang-22, -fsanitize=fuzzer,address,undefined) and,
// without libFuzzer, by tests/unit/importers as a regression test over the
// seed corpus (FuzzDriver.cpp supplies main()).
//
//===----------------------------------------------------------------------===//

#include "common/QuantTypes.h"
#include "gguf/GGUFFile.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace hyc;
using namespace hyc::gguf;

namespace {

/// Elements dequantized per tensor: enough for several blocks of every type
/// while keeping each execution fast.
constexpr uint64_t MaxElementsPerTensor = 4096;

void require(bool cond) {
  if (!cond)
    __builtin_trap();
}

void touchValue(const Value &v, unsigned &sink) {
  sink += static_cast<unsigned>(v.toString(16).size());
  if (v.isArray()) {
    sink += static_cast<unsigned>(v.size());
    // element() on and just past the end.
    sink += static_cast<unsigned>(v.element(0).toString().size());
    sink += static_cast<unsigned>(v.element(v.size()).toString().size());
    for (const Value &a : v.arrays())
      touchValue(a, sink);
  }
}

void checkTensors(const GGUFFile &f, unsigned &sink) {
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &t : f.tensors()) {
    require(t.type != QuantType::Unknown);
    require(t.offset % f.alignment() == 0);
    require(f.dataOffset() + t.offset + t.nbytes <= f.fileSize());
    require(t.dims.size() >= 1 && t.dims.size() <= 4);
    require(t.dims[0] % blockSize(t.type) == 0);
    require(f.findTensor(t.name) == &t);
    byOffset.push_back(&t);

    const uint8_t *p = f.tensorData(t);
    for (uint64_t i = 0; i < t.nbytes; i += 64)
      sink += p[i];
    if (t.nbytes)
      sink += p[t.nbytes - 1];

    if (!canDequantize(t.type))
      continue;
    const uint64_t bs = blockSize(t.type);
    uint64_t n = std::min(t.numElements, MaxElementsPerTensor) / bs * bs;
    std::vector<float> out(n);
    std::string error;
    require(
        dequantizeRow(t.type, p, out.data(), static_cast<int64_t>(n), error));
    for (float x : out)
      sink += x > 0;

    if (t.type == QuantType::Q2_0C && n >= 512) {
      std::vector<uint8_t> q2k(rowBytes(QuantType::Q2_K, 512));
      std::vector<float> back(512);
      if (convertQ2_0CToQ2_K(p, q2k.data(), 512, error)) {
        require(dequantizeRow(QuantType::Q2_K, q2k.data(), back.data(), 512,
                              error));
        for (int i = 0; i < 512; ++i)
          require(back[i] == out[i]);
      } else {
        // Only a non-finite scale is refused.
        uint16_t d = static_cast<uint16_t>(p[0] | (p[1] << 8));
        require((d & 0x7c00u) == 0x7c00u);
      }
    }
  }
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->offset < b->offset;
            });
  for (size_t i = 1; i < byOffset.size(); ++i)
    require(byOffset[i - 1]->offset + byOffset[i - 1]->nbytes <=
            byOffset[i]->offset);
}

void checkMetadata(const GGUFFile &f, unsigned &sink) {
  for (const MetadataEntry &m : f.metadata()) {
    require(f.find(m.key) == &m.value);
    touchValue(m.value, sink);
    // Every typed getter on every key: each either succeeds or explains.
    std::string s, error;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    int64_t i64;
    float f32;
    bool b;
    std::vector<std::string> strs;
    std::vector<int32_t> ints;
    std::vector<uint32_t> uints;
    std::vector<float> floats;
    bool ok[] = {f.getString(m.key, s, error),
                 f.getU32(m.key, u32, error),
                 f.getU64(m.key, u64, error),
                 f.getI32(m.key, i32, error),
                 f.getI64(m.key, i64, error),
                 f.getF32(m.key, f32, error),
                 f.getBool(m.key, b, error),
                 f.getStringArray(m.key, strs, error),
                 f.getI32Array(m.key, ints, error),
                 f.getU32Array(m.key, uints, error),
                 f.getF32Array(m.key, floats, error)};
    for (bool x : ok)
      sink += x;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string Name = "<fuzz>";
  std::string error;
  std::unique_ptr<GGUFFile> f = GGUFFile::openMemory(data, size, Name, error);
  if (!f) {
    require(error.compare(0, Name.size() + 2, Name + ": ") == 0);
    require(error.size() > Name.size() + 2);
    require(error.find('\n') == std::string::npos);
    return 0;
  }
  require(error.empty());
  require(f->version() == 2 || f->version() == 3);
  require(f->alignment() != 0 && (f->alignment() & (f->alignment() - 1)) == 0);
  unsigned sink = 0;
  checkMetadata(*f, sink);
  checkTensors(*f, sink);
  // Keep the reads from being optimized away.
  volatile unsigned keep = sink;
  (void)keep;
  return 0;
}
