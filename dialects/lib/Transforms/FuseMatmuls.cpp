//===- FuseMatmuls.cpp - one matmul for projections sharing an input -----===//
//
// q/k/v and gate/up read the same normalized activations. When the importer's
// layout puts their weights back to back in the blob and their outputs back
// to back in the arena, the projections are one matrix times one vector: this
// pass rewrites them as such (see Passes.td for the exact conditions).
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "EffectfulNeighbours.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace hyc::lowbit {
#define GEN_PASS_DEF_FUSEMATMULSPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {
/// A rank-1 f32 view of an i8 buffer at a constant byte shift.
struct ByteView {
  Value source;
  int64_t shift = 0, bytes = 0;
};

std::optional<ByteView> asByteView(Value v) {
  auto view = v.getDefiningOp<memref::ViewOp>();
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!view || !type || type.getRank() != 1 || !type.getElementType().isF32() ||
      !view.getSizes().empty())
    return std::nullopt;
  APInt shift;
  if (!matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
    return std::nullopt;
  return ByteView{view.getSource(), shift.getSExtValue(), type.getNumElements() * 4};
}

/// Tries to fuse `a` with the matmul right after it; returns the fused op.
MatmulOp tryFuse(MatmulOp a) {
  auto b = dyn_cast_or_null<MatmulOp>(nextEffectful(a));
  if (!b || a.getX() != b.getX())
    return nullptr;
  auto wa = a.getWeight().getDefiningOp<WeightOp>();
  auto wb = b.getWeight().getDefiningOp<WeightOp>();
  if (!wa || !wb || wa.getBlob() != wb.getBlob())
    return nullptr;
  PackedType ta = wa.getType(), tb = wb.getType();
  if (ta.getFormat() != tb.getFormat() || ta.getCols() != tb.getCols() ||
      ta.getTileRows() != tb.getTileRows() ||
      wb.getOffset() != wa.getOffset() + ta.getTotalBytes())
    return nullptr;
  std::optional<ByteView> oa = asByteView(a.getOut()), ob = asByteView(b.getOut());
  if (!oa || !ob || oa->source != ob->source || ob->shift != oa->shift + oa->bytes)
    return nullptr;
  // The input must not overlap the fused output.
  if (std::optional<ByteView> x = asByteView(a.getX()))
    if (x->source == oa->source && x->shift < ob->shift + ob->bytes &&
        oa->shift < x->shift + x->bytes)
      return nullptr;

  OpBuilder builder(b);
  Location loc = builder.getFusedLoc({a.getLoc(), b.getLoc()});
  auto fusedType = PackedType::get(a.getContext(), ta.getFormat(),
                                   ta.getRows() + tb.getRows(), ta.getCols(),
                                   ta.getBlockSize(), ta.getScales(), ta.getTileRows());
  Value weight = WeightOp::create(
      builder, loc, fusedType, wa.getBlob(),
      builder.getStringAttr(wa.getName() + "+" + wb.getName()),
      builder.getI64IntegerAttr(wa.getOffset()));
  auto outType = MemRefType::get({(oa->bytes + ob->bytes) / 4}, builder.getF32Type());
  Value shift = arith::ConstantIndexOp::create(builder, loc, oa->shift);
  Value out = memref::ViewOp::create(builder, loc, outType, oa->source, shift,
                                     ValueRange{});
  auto fused = MatmulOp::create(builder, loc, a.getX(), weight, out);
  a.erase();
  b.erase();
  for (WeightOp w : {wa, wb})
    if (w->use_empty())
      w.erase();
  return fused;
}

struct FuseMatmuls
    : public hyc::lowbit::impl::FuseMatmulsPassBase<FuseMatmuls> {
  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp op) { matmuls.push_back(op); });
    llvm::DenseSet<Operation *> erased;
    for (MatmulOp op : matmuls) {
      if (erased.contains(op))
        continue;
      MatmulOp current = op;
      // Greedily extend: q+k, then (q+k)+v.
      while (true) {
        Operation *next = nextEffectful(current);
        MatmulOp fused = tryFuse(current);
        if (!fused)
          break;
        erased.insert(next);
        current = fused;
      }
    }
  }
};
} // namespace
