//===- QuantTypes.cpp - Weight storage type table and dequantizers -------===//

#include "common/QuantTypes.h"

#include <cstdio>
#include <cstring>
#include <limits>

namespace hyc {

namespace {

const std::vector<QuantTypeInfo> &table() {
  // Indexed by the enum value; the static_assert below keeps them in step.
  static const std::vector<QuantTypeInfo> Table = {
      {QuantType::F32, 0, "f32", 1, 4},
      {QuantType::F16, 1, "f16", 1, 2},
      {QuantType::BF16, 30, "bf16", 1, 2},
      {QuantType::Q8_0, 8, "q8_0", 32, 34},
      {QuantType::Q2_K, 10, "q2_K", 256, 84},
      {QuantType::TQ2_0, 35, "tq2_0", 256, 66},
      {QuantType::Q4_K, 12, "q4_K", 256, 144},
      {QuantType::Q6_K, 14, "q6_K", 256, 210},
      {QuantType::Q2_0C, AmbiguousGGMLId, "q2_0c", 512, 130},
      {QuantType::NVFP4, AmbiguousGGMLId, "nvfp4", 64, 36},
  };
  return Table;
}

static_assert(static_cast<int>(QuantType::Unknown) == 10,
              "update the type table when adding a QuantType");

const QuantTypeInfo UnknownInfo = {
    QuantType::Unknown, std::numeric_limits<uint32_t>::max(), "unknown", 0, 0};

uint16_t loadU16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t loadU32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

std::string dimsToString(const std::vector<uint64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

/// Whether \p t could be the layout of a tensor with \p dims that has
/// \p available bytes before whatever follows it; see resolveType().
bool fitsExactly(QuantType t, const std::vector<uint64_t> &dims,
                 uint64_t available, uint64_t alignment, uint64_t &size) {
  size = 0;
  if (dims.empty() || dims[0] % blockSize(t) != 0)
    return false;
  uint64_t n;
  if (!checkedNumElements(dims, n) || !checkedTensorBytes(t, n, size))
    return false;
  if (size > available)
    return false;
  uint64_t slack = alignment == 0 ? 1 : alignment;
  return available - size < slack;
}

} // namespace

const QuantTypeInfo &quantTypeInfo(QuantType t) {
  auto idx = static_cast<size_t>(t);
  if (idx >= table().size())
    return UnknownInfo;
  return table()[idx];
}

const std::vector<QuantTypeInfo> &allQuantTypes() { return table(); }

const char *quantTypeName(QuantType t) { return quantTypeInfo(t).name; }
uint32_t blockSize(QuantType t) { return quantTypeInfo(t).blockSize; }
uint32_t blockBytes(QuantType t) { return quantTypeInfo(t).blockBytes; }

QuantType quantTypeFromName(std::string_view name) {
  for (const QuantTypeInfo &info : table())
    if (name == info.name)
      return info.type;
  return QuantType::Unknown;
}

QuantType quantTypeFromGGMLId(uint32_t ggmlId) {
  if (ggmlId == AmbiguousGGMLId)
    return QuantType::Unknown;
  for (const QuantTypeInfo &info : table())
    if (info.ggmlId == ggmlId)
      return info.type;
  return QuantType::Unknown;
}

const char *ggmlTypeName(uint32_t ggmlId) {
  // Ids hyc cannot load are listed only to make diagnostics readable.
  struct Entry {
    uint32_t id;
    const char *name;
  };
  static const Entry Names[] = {
      {0, "f32"},     {1, "f16"},      {2, "q4_0"},
      {3, "q4_1"},    {6, "q5_0"},     {7, "q5_1"},
      {8, "q8_0"},    {9, "q8_1"},     {10, "q2_K"},
      {11, "q3_K"},   {12, "q4_K"},    {13, "q5_K"},
      {14, "q6_K"},   {15, "q8_K"},    {16, "iq2_xxs"},
      {17, "iq2_xs"}, {18, "iq3_xxs"}, {19, "iq1_s"},
      {20, "iq4_nl"}, {21, "iq3_s"},   {22, "iq2_s"},
      {23, "iq4_xs"}, {24, "i8"},      {25, "i16"},
      {26, "i32"},    {27, "i64"},     {28, "f64"},
      {29, "iq1_m"},  {30, "bf16"},    {34, "tq1_0"},
      {35, "tq2_0"},  {39, "mxfp4"},   {AmbiguousGGMLId, "q2_0c/nvfp4"},
  };
  for (const Entry &e : Names)
    if (e.id == ggmlId)
      return e.name;
  return nullptr;
}

bool checkedNumElements(const std::vector<uint64_t> &dims, uint64_t &out) {
  out = 0;
  if (dims.empty())
    return false;
  uint64_t n = 1;
  for (uint64_t d : dims)
    if (__builtin_mul_overflow(n, d, &n))
      return false;
  out = n;
  return true;
}

bool checkedTensorBytes(QuantType t, uint64_t numElements, uint64_t &out) {
  out = 0;
  const QuantTypeInfo &info = quantTypeInfo(t);
  if (info.blockSize == 0 || numElements % info.blockSize != 0)
    return false;
  return !__builtin_mul_overflow(numElements / info.blockSize,
                                 uint64_t(info.blockBytes), &out);
}

uint64_t rowBytes(QuantType t, int64_t n) {
  uint64_t bytes;
  if (n < 0 || !checkedTensorBytes(t, static_cast<uint64_t>(n), bytes))
    return 0;
  return bytes;
}

QuantType resolveType(uint32_t ggmlId, const std::vector<uint64_t> &dims,
                      uint64_t availableBytes, uint64_t alignment,
                      std::string &error) {
  if (ggmlId != AmbiguousGGMLId) {
    QuantType t = quantTypeFromGGMLId(ggmlId);
    if (t == QuantType::Unknown) {
      const char *name = ggmlTypeName(ggmlId);
      error = name ? "unsupported ggml type " + std::to_string(ggmlId) + " (" +
                         name + ")"
                   : "unknown ggml type " + std::to_string(ggmlId);
    }
    return t;
  }

  uint64_t q2Size, nvSize;
  if (fitsExactly(QuantType::Q2_0C, dims, availableBytes, alignment, q2Size))
    return QuantType::Q2_0C;
  if (fitsExactly(QuantType::NVFP4, dims, availableBytes, alignment, nvSize))
    return QuantType::NVFP4;

  auto describe = [&](QuantType t, uint64_t size) {
    std::string s = std::string(quantTypeName(t)) + " (" +
                    std::to_string(blockSize(t)) + " elements / " +
                    std::to_string(blockBytes(t)) + " bytes per block: ";
    if (dims.empty() || dims[0] % blockSize(t) != 0)
      return s + "dims[0] is not a multiple of " +
             std::to_string(blockSize(t)) + ")";
    if (size == 0)
      return s + "size overflows)";
    return s + "needs " + std::to_string(size) + " bytes)";
  };
  error = "ggml type 40 with dims " + dimsToString(dims) + " is neither " +
          describe(QuantType::Q2_0C, q2Size) + " nor " +
          describe(QuantType::NVFP4, nvSize) + ": " +
          std::to_string(availableBytes) +
          " bytes are available up to the next tensor or end of file "
          "(alignment " +
          std::to_string(alignment) + ")";
  return QuantType::Unknown;
}

float fp16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) // Inf/NaN; shifting keeps NaN payloads nonzero.
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) // Rebias 15 -> 127.
    return bitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0)
    return bitsToFloat(sign);
  // Subnormal half (mant * 2^-24) is a normal float: move the leading one
  // into the implicit-bit position and lower the exponent to match.
  int shift = 0;
  while (!(mant & 0x400u)) {
    mant <<= 1;
    ++shift;
  }
  mant &= 0x3ffu;
  uint32_t fexp = static_cast<uint32_t>(127 - 14 - shift);
  return bitsToFloat(sign | (fexp << 23) | (mant << 13));
}

float bf16ToFloat(uint16_t h) {
  return bitsToFloat(static_cast<uint32_t>(h) << 16);
}

bool canDequantize(QuantType t) {
  return t != QuantType::NVFP4 && t != QuantType::Unknown;
}

namespace {

// One function per block format: each expands one block of blockSize(t)
// elements. The arithmetic mirrors ggml's reference dequantizers operation
// by operation in float32 (products of the fp16 scales first, then the
// quant), which is what makes the results bit-identical to the gguf
// package's. The library is built with -ffp-contract=off so that no FMA
// changes a rounding.

void dequantQ8_0(const uint8_t *blk, float *y) {
  float d = fp16ToFloat(loadU16(blk));
  for (int i = 0; i < 32; ++i)
    y[i] = static_cast<float>(static_cast<int8_t>(blk[2 + i])) * d;
}

void dequantQ2_K(const uint8_t *blk, float *y) {
  const uint8_t *scales = blk, *qs = blk + 16;
  float d = fp16ToFloat(loadU16(blk + 80));
  float dmin = fp16ToFloat(loadU16(blk + 82));
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, j = (i % 128) / 32, l = i % 32;
    uint8_t sc = scales[i / 16];
    float dl = d * static_cast<float>(sc & 15);
    float ml = dmin * static_cast<float>(sc >> 4);
    int q = (qs[32 * h + l] >> (2 * j)) & 3;
    y[i] = dl * static_cast<float>(q) - ml;
  }
}

void dequantTQ2_0(const uint8_t *blk, float *y) {
  float d = fp16ToFloat(loadU16(blk + 64));
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, j = (i % 128) / 32, l = i % 32;
    int q = (blk[32 * h + l] >> (2 * j)) & 3;
    y[i] = d * static_cast<float>(q - 1);
  }
}

void dequantQ4_K(const uint8_t *blk, float *y) {
  float d = fp16ToFloat(loadU16(blk));
  float dmin = fp16ToFloat(loadU16(blk + 2));
  const uint8_t *scales = blk + 4, *qs = blk + 16;
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    if (s < 4) {
      sc = scales[s] & 63;
      m = scales[s + 4] & 63;
    } else {
      sc = (scales[s + 4] & 15) | ((scales[s - 4] >> 6) << 4);
      m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
    }
    float dl = d * static_cast<float>(sc);
    float ml = dmin * static_cast<float>(m);
    int g = s / 2, shift = 4 * (s % 2);
    for (int l = 0; l < 32; ++l) {
      int q = (qs[32 * g + l] >> shift) & 15;
      y[32 * s + l] = dl * static_cast<float>(q) - ml;
    }
  }
}

void dequantQ6_K(const uint8_t *blk, float *y) {
  const uint8_t *ql = blk, *qh = blk + 128, *scales = blk + 192;
  float d = fp16ToFloat(loadU16(blk + 208));
  for (int i = 0; i < 256; ++i) {
    int h = i / 128, r = i % 128;
    int lo = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 15;
    int hi = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    float dl = d * static_cast<float>(static_cast<int8_t>(scales[i / 16]));
    y[i] = dl * static_cast<float>((lo | (hi << 4)) - 32);
  }
}

void dequantQ2_0C(const uint8_t *blk, float *y) {
  float d = fp16ToFloat(loadU16(blk));
  const uint8_t *qs = blk + 2;
  for (int i = 0; i < 512; ++i) {
    int c = (qs[i / 4] >> (2 * (i % 4))) & 3;
    y[i] = static_cast<float>(2 * c - 3) * d;
  }
}

} // namespace

bool dequantizeRow(QuantType t, const uint8_t *src, float *dst, int64_t n,
                   std::string &error) {
  if (!canDequantize(t)) {
    error = std::string("dequantization of ") + quantTypeName(t) +
            " is not implemented";
    return false;
  }
  const uint32_t bs = blockSize(t);
  if (n < 0 || static_cast<uint64_t>(n) % bs != 0) {
    error = std::string("dequantize ") + quantTypeName(t) + ": element count " +
            std::to_string(n) +
            " is not a non-negative multiple of the block "
            "size " +
            std::to_string(bs);
    return false;
  }
  if (n > 0 && (!src || !dst)) {
    error = std::string("dequantize ") + quantTypeName(t) + ": null buffer";
    return false;
  }

  void (*block)(const uint8_t *, float *) = nullptr;
  switch (t) {
  case QuantType::F32:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = bitsToFloat(loadU32(src + 4 * i));
    return true;
  case QuantType::F16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = fp16ToFloat(loadU16(src + 2 * i));
    return true;
  case QuantType::BF16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = bf16ToFloat(loadU16(src + 2 * i));
    return true;
  case QuantType::Q8_0:
    block = dequantQ8_0;
    break;
  case QuantType::Q2_K:
    block = dequantQ2_K;
    break;
  case QuantType::TQ2_0:
    block = dequantTQ2_0;
    break;
  case QuantType::Q4_K:
    block = dequantQ4_K;
    break;
  case QuantType::Q6_K:
    block = dequantQ6_K;
    break;
  case QuantType::Q2_0C:
    block = dequantQ2_0C;
    break;
  default:
    return false; // Excluded by canDequantize() above.
  }
  const uint32_t bb = blockBytes(t);
  for (int64_t b = 0; b < n / bs; ++b)
    block(src + bb * b, dst + bs * b);
  return true;
}

bool convertQ2_0CToQ2_K(const uint8_t *src, uint8_t *dst, int64_t n,
                        std::string &error) {
  if (n < 0 || n % 512 != 0) {
    error = "convert q2_0c to q2_K: element count " + std::to_string(n) +
            " is not a non-negative multiple of 512";
    return false;
  }
  if (n > 0 && (!src || !dst)) {
    error = "convert q2_0c to q2_K: null buffer";
    return false;
  }
  for (int64_t b = 0; b < n / 512; ++b) {
    const uint8_t *in = src + 130 * b;
    uint16_t d = loadU16(in);
    if ((d & 0x7c00u) == 0x7c00u) {
      char bits[8];
      std::snprintf(bits, sizeof(bits), "%04x", d);
      error = "convert q2_0c to q2_K: block " + std::to_string(b) +
              " has a non-finite scale (fp16 0x" + bits + ")";
      return false;
    }
    const uint8_t *qs = in + 2;
    for (int half = 0; half < 2; ++half) {
      uint8_t *out = dst + 84 * (2 * b + half);
      // Scale 2 in the low nibble, min 3 in the high one: 2Dc - 3D.
      std::memset(out, 0x32, 16);
      uint8_t *oq = out + 16;
      std::memset(oq, 0, 64);
      for (int i = 0; i < 256; ++i) {
        int k = 256 * half + i; // index in the Q2_0C block
        int c = (qs[k / 4] >> (2 * (k % 4))) & 3;
        int h = i / 128, j = (i % 128) / 32, l = i % 32;
        oq[32 * h + l] |= static_cast<uint8_t>(c << (2 * j));
      }
      out[80] = in[0]; // d = D
      out[81] = in[1];
      out[82] = in[0]; // dmin = D
      out[83] = in[1];
    }
  }
  return true;
}

} // namespace hyc
