//===- QuantizeActivations.cpp - int8 activations as ops, fused into norms ===//
//
// lowbit-quantize-activations: a matmul whose kernel rounds its activations
// to int8 (gemv_q2_0c_a8 / gemm_q2_0c_a8, default or tuned schedule) becomes an
// explicit lowbit.quantize into int8 buffers plus a lowbit.qmatmul over them.
// lowbit-fuse-norm-quantize: an rms_norm whose result only a following
// quantize reads becomes one lowbit.rms_norm_quantize. See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "EffectfulNeighbours.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <map>

namespace hyc::lowbit {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONSPASS
#define GEN_PASS_DEF_FUSENORMQUANTIZEPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {
constexpr llvm::StringLiteral kGroups = "q2_0c_lanes";

BufferOp rootBuffer(Value v);

/// True when `op` can use the int8 q / steps that an earlier quantize of
/// its input left: right before it come one or more qmatmuls over that q,
/// none writing the memory of x, right after a quantize of the same x into
/// it (q, k, v reading one input get one quantize).
bool reusesQuantized(MatmulOp op, Value qView) {
  BufferOp in = rootBuffer(op.getX());
  if (!in)
    return false;
  Operation *prev = previousEffectful(op);
  bool any = false;
  while (auto qm = dyn_cast_or_null<QuantizedMatmulOp>(prev)) {
    BufferOp out = rootBuffer(qm.getOut());
    if (qm.getQ() != qView || !out || out == in)
      return false;
    any = true;
    prev = previousEffectful(qm);
  }
  auto quant = dyn_cast_or_null<QuantizeOp>(prev);
  return any && quant && quant.getX() == op.getX() && quant.getQ() == qView;
}

struct QuantizeActivations
    : public hyc::lowbit::impl::QuantizeActivationsPassBase<QuantizeActivations> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    SmallVector<MatmulOp> matmuls;
    fn.walk([&](MatmulOp op) {
      auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
      auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
      if (kernel && schedule &&
          (kernel.getValue() == "gemv_q2_0c_a8" || kernel.getValue() == "gemm_q2_0c_a8"))
        matmuls.push_back(op);
    });
    // One pair of buffers (int8 q, f32 steps) per activation shape.
    std::map<std::pair<int64_t, int64_t>, std::pair<Value, Value>> buffers;
    Block &entry = fn.getBody().front();
    MLIRContext *ctx = &getContext();
    for (MatmulOp op : matmuls) {
      auto xType = cast<MemRefType>(op.getX().getType());
      int64_t m = xType.getRank() == 2 ? xType.getDimSize(0) : 1;
      int64_t k = xType.getShape().back();
      auto &[qView, sView] = buffers[{xType.getRank() == 2 ? m : 0, k}];
      if (!qView) {
        OpBuilder b = OpBuilder::atBlockBegin(&entry);
        Location loc = fn.getLoc();
        std::string tag = (xType.getRank() == 2 ? std::to_string(m) + "x" : std::string()) +
                          std::to_string(k);
        auto i8 = IntegerType::get(ctx, 8);
        Value qBuf = BufferOp::create(b, loc, MemRefType::get({m * k}, i8),
                                      b.getStringAttr("a8.q." + tag));
        Value sBuf = BufferOp::create(b, loc, MemRefType::get({m * k / 32 * 4}, i8),
                                      b.getStringAttr("a8.steps." + tag));
        SmallVector<int64_t, 2> sShape(xType.getShape());
        sShape.back() = k / 32;
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        qView = memref::ViewOp::create(b, loc, MemRefType::get(xType.getShape(), i8), qBuf,
                                       zero, ValueRange{});
        sView = memref::ViewOp::create(b, loc, MemRefType::get(sShape, Float32Type::get(ctx)),
                                       sBuf, zero, ValueRange{});
      }
      OpBuilder b(op);
      if (!reusesQuantized(op, qView))
        QuantizeOp::create(b, op.getLoc(), op.getX(), qView, sView, b.getStringAttr(kGroups));
      auto qm = QuantizedMatmulOp::create(b, op.getLoc(), qView, sView, op.getWeight(),
                                          op.getOut());
      for (StringRef attr : {"hyc.kernel", "hyc.schedule"})
        qm->setAttr(attr, op->getAttr(attr));
      op.erase();
    }
  }
};

/// The lowbit.buffer `v` is a view of (through memref.view only), or null.
BufferOp rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<memref::ViewOp>())
    v = view.getSource();
  return v.getDefiningOp<BufferOp>();
}

/// True when every access to `buffer` (through views) is an rms_norm
/// writing it or a quantize reading it right after such a norm: its float
/// values are never needed once quantized, and fusing every pair leaves no
/// reader of a value no longer written.
bool onlyNormsAndQuantizes(BufferOp buffer) {
  SmallVector<Value> work{buffer.getResult()};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<memref::ViewOp>(user)) {
        if (view.getSource() != v)
          return false;
        work.push_back(view.getResult());
        continue;
      }
      if (auto norm = dyn_cast<RmsNormOp>(user))
        if (norm.getOut() == v && norm.getX() != v)
          continue;
      if (auto quant = dyn_cast<QuantizeOp>(user)) {
        auto norm = dyn_cast_or_null<RmsNormOp>(previousEffectful(quant));
        if (quant.getX() == v && norm && norm.getOut() == v)
          continue;
      }
      return false;
    }
  }
  return true;
}

/// Erases `buffer` and its views if nothing else uses them.
void eraseIfDead(BufferOp buffer) {
  SmallVector<Operation *> views;
  SmallVector<Value> work{buffer.getResult()};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      auto view = dyn_cast<memref::ViewOp>(user);
      if (!view)
        return;
      views.push_back(view);
      work.push_back(view.getResult());
    }
  }
  for (Operation *view : llvm::reverse(views))
    view->erase();
  buffer.erase();
}

struct FuseNormQuantize
    : public hyc::lowbit::impl::FuseNormQuantizePassBase<FuseNormQuantize> {
  void runOnOperation() override {
    SmallVector<QuantizeOp> quantizes;
    getOperation().walk([&](QuantizeOp op) { quantizes.push_back(op); });
    SmallVector<BufferOp> touched;
    for (QuantizeOp q : quantizes) {
      auto norm = dyn_cast_or_null<RmsNormOp>(previousEffectful(q));
      if (!norm || norm.getOut() != q.getX() || norm.getX() == norm.getOut())
        continue;
      // Whole-row norms only (not the per-head q/k norms).
      auto xType = cast<MemRefType>(norm.getX().getType());
      if (norm.getGamma().getType().getCols() != xType.getShape().back())
        continue;
      // A shared buffer may be read by other functions: keep its float values.
      BufferOp buffer = rootBuffer(norm.getOut());
      if (!buffer || buffer.getShared() || !onlyNormsAndQuantizes(buffer))
        continue;
      OpBuilder b(q);
      Location loc = b.getFusedLoc({norm.getLoc(), q.getLoc()});
      RmsNormQuantizeOp::create(b, loc, norm.getX(), norm.getGamma(), q.getQ(), q.getSteps(),
                                norm.getEpsAttr(), q.getGroupsAttr());
      q.erase();
      norm.erase();
      if (!llvm::is_contained(touched, buffer))
        touched.push_back(buffer);
    }
    for (BufferOp buffer : touched)
      eraseIfDead(buffer);
  }
};
} // namespace
