//===- QuantTypes.h - Weight storage types shared by importers -*- C++ -*-===//
//
// The block formats hyc understands, their ggml type ids, sizes, and
// reference dequantizers. Importers (GGUF today) map file-level type ids onto
// QuantType; the compiler only ever sees QuantType.
//
//===----------------------------------------------------------------------===//

#ifndef HYC_IMPORTERS_COMMON_QUANTTYPES_H
#define HYC_IMPORTERS_COMMON_QUANTTYPES_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hyc {

/// Storage formats of weight tensors.
///
/// Block layouts (all little-endian, fp16 = IEEE binary16):
///   F32    1 element,   4 bytes
///   F16    1 element,   2 bytes
///   BF16   1 element,   2 bytes
///   Q8_0   32 elements, 34 bytes  {fp16 d; int8 qs[32];}     x = qs[i] * d
///   Q2_K   256 elements, 84 bytes
///          {uint8 scales[16]; uint8 qs[64]; fp16 d; fp16 dmin;}
///          sub-block s = i / 16 has scale byte b = scales[s]:
///          x = (d * (b & 15)) * q - dmin * (b >> 4), with the 2-bit q of
///          element i = 128h + 32j + l (h < 2, j < 4, l < 32) in bits 2j..2j+1
///          of qs[32h + l]
///   TQ2_0  256 elements, 66 bytes {uint8 qs[64]; fp16 d;}
///          q packed as in Q2_K; x = (q - 1) * d, i.e. {-1, 0, +1} * d
///   Q4_K   256 elements, 144 bytes
///          {fp16 d; fp16 dmin; uint8 scales[12]; uint8 qs[128];}
///          eight sub-blocks of 32 with 6-bit scale sc[s] and min m[s]:
///          s < 4: sc = scales[s] & 63, m = scales[s + 4] & 63;
///          s >= 4: sc = (scales[s + 4] & 15) | (scales[s - 4] >> 6) << 4,
///                  m = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4;
///          element i = 64g + 32k + l: q = (qs[32g + l] >> 4k) & 15,
///          x = (d * sc[i / 32]) * q - dmin * m[i / 32]
///   Q6_K   256 elements, 210 bytes
///          {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; fp16 d;}
///          element i = 128h + r: low nibble (ql[64h + r % 64] >> 4(r / 64))
///          & 15, high bits (qh[32h + r % 32] >> 2(r / 32)) & 3;
///          q = (low | high << 4) - 32, x = (d * scales[i / 16]) * q
///   Q2_0C  512 elements, 130 bytes {fp16 d; uint8 qs[128];}
///          weight i: c = (qs[i / 4] >> (2 * (i % 4))) & 3, x = (2c - 3) * d
///   NVFP4  64 elements, 36 bytes  (ggml: 4 x ue4m3 scales, 32 bytes e2m1)
enum class QuantType {
  F32,
  F16,
  BF16,
  Q8_0,
  Q2_K,
  TQ2_0,
  Q4_K,
  Q6_K,
  Q2_0C,
  NVFP4,
  Unknown
};

/// One row of the type table.
struct QuantTypeInfo {
  QuantType type;
  /// ggml type id as stored in GGUF. Q2_0C and NVFP4 both use 40.
  uint32_t ggmlId;
  /// Lower-case ggml-style name, e.g. "q8_0", "q2_K".
  const char *name;
  /// Elements per block.
  uint32_t blockSize;
  /// Bytes per block.
  uint32_t blockBytes;
};

/// The ggml id that means Q2_0C in the released HY-1.8B-2Bit GGUF but NVFP4
/// in mainline ggml; see resolveType().
constexpr uint32_t AmbiguousGGMLId = 40;

/// Table entry for \p t. For QuantType::Unknown: name "unknown", sizes 0.
const QuantTypeInfo &quantTypeInfo(QuantType t);

/// All known types (excludes Unknown), in enum order.
const std::vector<QuantTypeInfo> &allQuantTypes();

const char *quantTypeName(QuantType t);
uint32_t blockSize(QuantType t);
uint32_t blockBytes(QuantType t);

/// Inverse of quantTypeName(); Unknown if no type has that name.
QuantType quantTypeFromName(std::string_view name);

/// Maps an unambiguous ggml id to its type. Returns Unknown for ids hyc does
/// not support and for AmbiguousGGMLId, which needs resolveType().
QuantType quantTypeFromGGMLId(uint32_t ggmlId);

/// Name of any ggml type id we know of, including ones hyc cannot load
/// (e.g. "q4_0"), so diagnostics can say what the file actually holds.
/// Returns nullptr for ids unknown to us.
const char *ggmlTypeName(uint32_t ggmlId);

/// Product of \p dims into \p out; false on overflow or an empty list.
bool checkedNumElements(const std::vector<uint64_t> &dims, uint64_t &out);

/// Bytes occupied by \p numElements elements of \p t into \p out. False if
/// \p t is Unknown, \p numElements is not a multiple of the block size, or
/// the size overflows.
bool checkedTensorBytes(QuantType t, uint64_t numElements, uint64_t &out);

/// Bytes of a row of \p n elements; 0 if \p n is negative, not a multiple of
/// the block size, overflows, or \p t is Unknown.
uint64_t rowBytes(QuantType t, int64_t n);

/// Determines the storage type of a tensor from its ggml id.
///
/// Unambiguous ids map straight through quantTypeFromGGMLId(); \p
/// availableBytes and \p alignment are then ignored (the caller checks the
/// size against the file).
///
/// Id 40 (AmbiguousGGMLId) is resolved from the space the tensor's data can
/// occupy. \p availableBytes is the distance from the tensor's offset to the
/// next tensor's offset, or to the end of the file for the last tensor. A
/// candidate type is *consistent* when dims[0] is a multiple of its block
/// size and its byte size S satisfies S <= availableBytes < S + alignment,
/// i.e. everything after the data is alignment padding. Then:
///   1. Q2_0C (512 / 130 bytes) if consistent;
///   2. otherwise NVFP4 (64 / 36 bytes) if consistent;
///   3. otherwise an error naming both candidates.
/// Q2_0C wins ties because hyc's target model uses it; the two sizes differ
/// by 158 bytes per 512 weights, so ties need alignment > 158 and tiny
/// tensors.
///
/// On failure returns Unknown and sets \p error (without a file name prefix).
QuantType resolveType(uint32_t ggmlId, const std::vector<uint64_t> &dims,
                      uint64_t availableBytes, uint64_t alignment,
                      std::string &error);

/// IEEE binary16 to float; exact for all inputs including subnormals, signed
/// zeros, infinities and NaNs (payload kept).
float fp16ToFloat(uint16_t h);

/// bfloat16 (upper half of a binary32) to float; exact.
float bf16ToFloat(uint16_t h);

/// True if dequantizeRow() supports \p t (every type except NVFP4).
bool canDequantize(QuantType t);

/// Expands \p n elements of type \p t starting at \p src into \p dst.
/// \p n must be a non-negative multiple of the block size; \p src must hold
/// rowBytes(t, n) bytes (no alignment needed). Supports F32, F16, BF16, Q8_0,
/// Q2_K, TQ2_0, Q4_K, Q6_K and Q2_0C; NVFP4 fails with a message.
///
/// The float operations are the ones ggml's reference dequantizers (and the
/// `gguf` Python package) perform, in the same order and in float32, so the
/// results are bit-identical to theirs.
bool dequantizeRow(QuantType t, const uint8_t *src, float *dst, int64_t n,
                   std::string &error);

/// Re-encodes \p n Q2_0C weights (\p n a multiple of 512; \p src holds
/// rowBytes(Q2_0C, n) bytes) as Q2_K into \p dst (rowBytes(Q2_K, n) bytes).
///
/// Lossless: a Q2_0C block with scale D becomes two Q2_K blocks with
/// d = dmin = D and every sub-block scale byte 0x32 (scale 2, min 3), so
/// x = (D * 2) * c - D * 3 = (2c - 3) * D for code c. Both products and the
/// difference are exact in float32 (D is an fp16), so the Q2_K dequantizer
/// returns the same numbers as the Q2_0C one (an all-zero scale may flip the
/// sign of a zero). Fails, naming the block, if a scale is Inf or NaN, where
/// Q2_K's subtraction would give NaN instead of +-Inf.
bool convertQ2_0CToQ2_K(const uint8_t *src, uint8_t *dst, int64_t n,
                        std::string &error);

} // namespace hyc

#endif // HYC_IMPORTERS_COMMON_QUANTTYPES_H
