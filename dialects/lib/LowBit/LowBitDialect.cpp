//===- LowBitDialect.cpp - lowbit dialect registration --------------------===//
#include "hyc/Dialect/LowBit/LowBit.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace hyc::lowbit;

#include "hyc/Dialect/LowBit/LowBitDialect.cpp.inc"
#include "hyc/Dialect/LowBit/LowBitEnums.cpp.inc"

// Type storage must be complete where addTypes<> instantiates it.
#define GET_TYPEDEF_CLASSES
#include "hyc/Dialect/LowBit/LowBitTypes.cpp.inc"

void LowBitDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "hyc/Dialect/LowBit/LowBitTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "hyc/Dialect/LowBit/LowBitOps.cpp.inc"
      >();
}
