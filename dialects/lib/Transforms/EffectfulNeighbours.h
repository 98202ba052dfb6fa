//===- EffectfulNeighbours.h - the nearest ops with side effects ----------===//
//
// Shared by the lowbit transforms that pair an op with its neighbour while
// skipping pure ops in between (lowbit-fuse-matmuls, the int8-activation
// passes). Internal to dialects/lib/Transforms.
//
//===----------------------------------------------------------------------===//
#ifndef HYC_DIALECTS_LIB_TRANSFORMS_EFFECTFULNEIGHBOURS_H
#define HYC_DIALECTS_LIB_TRANSFORMS_EFFECTFULNEIGHBOURS_H

#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace hyc::lowbit {
/// The next op after `op` in its block that is not side-effect free, or null.
inline mlir::Operation *nextEffectful(mlir::Operation *op) {
  for (mlir::Operation *it = op->getNextNode(); it; it = it->getNextNode())
    if (!mlir::isPure(it))
      return it;
  return nullptr;
}

/// The op before `op` in its block that is not side-effect free, or null.
inline mlir::Operation *previousEffectful(mlir::Operation *op) {
  for (mlir::Operation *it = op->getPrevNode(); it; it = it->getPrevNode())
    if (!mlir::isPure(it))
      return it;
  return nullptr;
}
} // namespace hyc::lowbit

#endif // HYC_DIALECTS_LIB_TRANSFORMS_EFFECTFULNEIGHBOURS_H
