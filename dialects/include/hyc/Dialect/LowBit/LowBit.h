//===- LowBit.h - the lowbit dialect: types, ops and registration --------===//
#ifndef HYC_DIALECT_LOWBIT_LOWBIT_H
#define HYC_DIALECT_LOWBIT_LOWBIT_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "hyc/Dialect/LowBit/LowBitEnums.h.inc"

#include "hyc/Dialect/LowBit/LowBitDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "hyc/Dialect/LowBit/LowBitTypes.h.inc"

#define GET_OP_CLASSES
#include "hyc/Dialect/LowBit/LowBitOps.h.inc"

namespace hyc::lowbit {
/// Block size (weights per block) a format requires: 1 for plain formats.
int64_t requiredBlockSize(WeightFormat format);
/// Bytes of one block of `format`.
int64_t blockBytes(WeightFormat format);
/// Symbol of the Halide pipeline generated for `kernel` (e.g. gemv_q2_0c) on
/// `isa` with a tuned `schedule` ("name=value,..."); stable across runs.
std::string kernelVariantName(llvm::StringRef kernel, llvm::StringRef isa,
                              llvm::StringRef schedule);
/// True for formats stored as blocks of codes with scales (q2_0c, q8_0,
/// q2_k, tq2_0).
bool isBlockQuantized(WeightFormat format);
/// The scale layout a format requires.
ScaleLayout requiredScaleLayout(WeightFormat format);
/// Rows per tile of the one repacked layout a kernel reads, Q2_0C/r8 (the
/// AVX-512 VNNI kernels over pre-quantized activations;
/// schedules/include/hyk/kernels.h, HYK_Q2_0C_R8_ROWS): lowbit-pack-weights
/// repacks to it and convert-lowbit-to-loops picks the _r8_ entry points.
constexpr int64_t kQ2_0CKernelTileRows = 8;
/// Head sizes the attention kernels take (hyk/kernels.h's
/// HYK_ATTENTION_HEAD_DIM_MULTIPLE); other head sizes are lowered to loops.
constexpr int64_t kAttentionHeadDimMultiple = 16;
/// The rope kernels' largest head_dim (their angle table holds 1024 pairs).
constexpr int64_t kRopeMaxHeadDim = 2048;
/// The shape under which an attention or pointwise op's kernel is tuned and
/// looked up in the tuning database (lowbit-select-kernels documents N and
/// K per kernel); kvHeads is 0 but for attention, rows the op's activation
/// rows (1 in the decode step). False for any other op.
bool kernelShape(mlir::Operation *op, int64_t &n, int64_t &k, int64_t &kvHeads,
                 int64_t &rows);
} // namespace hyc::lowbit

#endif // HYC_DIALECT_LOWBIT_LOWBIT_H
