//===- Passes.h - lowbit passes and conversions ---------------------------===//
#ifndef HYC_DIALECT_LOWBIT_PASSES_H
#define HYC_DIALECT_LOWBIT_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace hyc::lowbit {
#define GEN_PASS_DECL
#include "hyc/Dialect/LowBit/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

#endif // HYC_DIALECT_LOWBIT_PASSES_H
