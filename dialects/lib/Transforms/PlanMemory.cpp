//===- PlanMemory.cpp - one static activation arena for the module -------===//
//
// Every lowbit.buffer gets a fixed offset in the arena argument; buffers
// whose lifetimes do not overlap share bytes. See Passes.td for the rules.
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <limits>

namespace hyc::lowbit {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {
constexpr llvm::StringLiteral kArenaAttr = "lowbit.arena";
constexpr llvm::StringLiteral kArenaBytesAttr = "lowbit.arena_bytes";

int64_t alignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

int64_t bufferBytes(BufferOp op) {
  return cast<MemRefType>(op.getType()).getNumElements();
}

/// A local buffer's lifetime: indices of the first and last op of the
/// function's entry block that access it (directly or through views).
struct Local {
  BufferOp op;
  int64_t first = 0, last = 0, bytes = 0, offset = -1;
};

bool isViewLike(Operation *op) {
  return isa<memref::ViewOp, memref::SubViewOp, memref::CastOp,
             memref::ReinterpretCastOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp>(op);
}

/// Lifetime of `buffer` in `body` (the entry block, indexed by `index`);
/// whole-function when it escapes into a call.
void computeLifetime(Local &l, Block &body, const DenseMap<Operation *, int64_t> &index,
                     int64_t end) {
  l.first = std::numeric_limits<int64_t>::max();
  l.last = -1;
  SmallVector<Value> work{l.op.getResult()};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<CallOpInterface>(user)) {
        l.first = 0;
        l.last = end;
        return;
      }
      // A view is an alias, not an access: its users are.
      if (isViewLike(user)) {
        for (Value r : user->getResults())
          work.push_back(r);
        continue;
      }
      Operation *top = body.findAncestorOpInBlock(*user);
      int64_t at = top ? index.lookup(top) : 0;
      l.first = std::min(l.first, at);
      l.last = std::max(l.last, at);
    }
  }
  if (l.last < 0) { // unused: give it an empty lifetime at its definition
    l.first = l.last = index.lookup(l.op);
  }
}

/// Lowest offset >= base where [offset, offset + bytes) is free of every
/// placed buffer whose lifetime overlaps `l`'s.
int64_t firstFit(const Local &l, ArrayRef<const Local *> placed, int64_t base,
                 int64_t align) {
  SmallVector<std::pair<int64_t, int64_t>> busy;
  for (const Local *p : placed)
    if (p->first <= l.last && l.first <= p->last)
      busy.push_back({p->offset, p->offset + p->bytes});
  llvm::sort(busy);
  int64_t at = base;
  for (auto [lo, hi] : busy) {
    if (at + l.bytes <= lo)
      break;
    at = std::max(at, alignUp(hi, align));
  }
  return at;
}

struct PlanMemory : public hyc::lowbit::impl::PlanMemoryPassBase<PlanMemory> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
      module.emitError() << "lowbit-plan-memory: alignment must be a power of two, got "
                         << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    // Shared buffers: one slot per name.
    llvm::StringMap<int64_t> sharedOffset, sharedBytes;
    int64_t sharedEnd = 0;
    WalkResult shared = module.walk([&](BufferOp op) {
      if (!op.getShared())
        return WalkResult::advance();
      int64_t bytes = bufferBytes(op);
      auto it = sharedBytes.find(op.getName());
      if (it == sharedBytes.end()) {
        sharedBytes[op.getName()] = bytes;
        sharedOffset[op.getName()] = sharedEnd;
        sharedEnd = alignUp(sharedEnd + bytes, alignment);
      } else if (it->second != bytes) {
        op.emitOpError() << "shared buffer '" << op.getName() << "' has " << bytes
                         << " bytes here but " << it->second << " elsewhere";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (shared.wasInterrupted())
      return signalPassFailure();

    // Functions callee-first, so a caller knows its callees' high water.
    SymbolTable symbols(module);
    llvm::MapVector<func::FuncOp, int64_t> highWater;
    DenseMap<func::FuncOp, int> state; // 1 = visiting, 2 = done
    SmallVector<func::FuncOp> order;
    bool failedPlan = false;
    std::function<void(func::FuncOp)> visit = [&](func::FuncOp fn) {
      if (failedPlan || state[fn] == 2)
        return;
      if (state[fn] == 1) {
        fn.emitError() << "lowbit-plan-memory: recursive call to @" << fn.getName()
                       << " (the arena plan needs an acyclic call graph)";
        failedPlan = true;
        return;
      }
      state[fn] = 1;
      fn.walk([&](CallOpInterface call) {
        auto sym = dyn_cast_or_null<SymbolRefAttr>(call.getCallableForCallee());
        if (!sym)
          return;
        if (auto callee = symbols.lookup<func::FuncOp>(sym.getRootReference()))
          visit(callee);
      });
      state[fn] = 2;
      order.push_back(fn);
    };
    for (auto fn : module.getOps<func::FuncOp>())
      visit(fn);
    if (failedPlan)
      return signalPassFailure();

    int64_t total = sharedEnd;
    DenseMap<func::FuncOp, int64_t> top;
    DenseMap<BufferOp, int64_t> offsets;
    for (func::FuncOp fn : order) {
      int64_t base = sharedEnd;
      fn.walk([&](CallOpInterface call) {
        auto sym = dyn_cast_or_null<SymbolRefAttr>(call.getCallableForCallee());
        if (!sym)
          return;
        if (auto callee = symbols.lookup<func::FuncOp>(sym.getRootReference()))
          base = std::max(base, top.lookup(callee));
      });
      base = alignUp(base, alignment);
      if (fn.isExternal()) {
        top[fn] = base;
        continue;
      }
      SmallVector<Local> locals;
      bool any = false;
      fn.walk([&](BufferOp op) {
        any = true;
        if (!op.getShared())
          locals.push_back({op});
        else
          offsets[op] = sharedOffset[op.getName()];
      });
      Block &body = fn.getBody().front();
      DenseMap<Operation *, int64_t> index;
      int64_t n = 0;
      for (Operation &op : body)
        index[&op] = n++;
      bool oneBlock = fn.getBody().hasOneBlock();
      for (Local &l : locals) {
        l.bytes = bufferBytes(l.op);
        if (!oneBlock || l.op->getBlock() != &body) {
          l.first = 0;
          l.last = n;
        } else {
          computeLifetime(l, body, index, n);
        }
      }
      // Largest first; ties in program order (a deterministic plan).
      SmallVector<Local *> bySize;
      for (Local &l : locals)
        bySize.push_back(&l);
      std::stable_sort(bySize.begin(), bySize.end(),
                       [](const Local *a, const Local *b) { return a->bytes > b->bytes; });
      SmallVector<const Local *> placed;
      int64_t fnTop = base;
      for (Local *l : bySize) {
        l->offset = firstFit(*l, placed, base, alignment);
        placed.push_back(l);
        offsets[l->op] = l->offset;
        fnTop = std::max(fnTop, alignUp(l->offset + l->bytes, alignment));
      }
      top[fn] = fnTop;
      total = std::max(total, fnTop);
      if (any && failed(arenaArgument(fn)))
        return signalPassFailure();
    }

    // Rewrite: buffers into views of the arena, arena arguments static.
    total = std::max<int64_t>(total, alignment);
    auto arenaType = MemRefType::get({total}, IntegerType::get(&getContext(), 8));
    for (func::FuncOp fn : order) {
      if (fn.isExternal())
        continue;
      std::optional<unsigned> arg;
      for (unsigned i = 0; i < fn.getNumArguments(); ++i)
        if (fn.getArgAttr(i, kArenaAttr))
          arg = i;
      if (!arg)
        continue;
      BlockArgument arena = fn.getArgument(*arg);
      if (!isa<MemRefType>(arena.getType()) ||
          cast<MemRefType>(arena.getType()).getRank() != 1 ||
          !cast<MemRefType>(arena.getType()).getElementType().isInteger(8)) {
        fn.emitError() << "lowbit-plan-memory: the lowbit.arena argument of @"
                       << fn.getName() << " must be a rank-1 i8 memref, got "
                       << arena.getType();
        return signalPassFailure();
      }
      arena.setType(arenaType);
      SmallVector<Type> inputs(fn.getFunctionType().getInputs());
      inputs[*arg] = arenaType;
      fn.setType(FunctionType::get(&getContext(), inputs, fn.getResultTypes()));
      fn.removeArgAttr(*arg, kArenaAttr);
      SmallVector<BufferOp> buffers;
      fn.walk([&](BufferOp op) { buffers.push_back(op); });
      for (BufferOp op : buffers)
        rewriteBuffer(op, arena, offsets.lookup(op));
    }
    module->setAttr(kArenaBytesAttr,
                    IntegerAttr::get(IntegerType::get(&getContext(), 64), total));
  }

  /// The one argument marked lowbit.arena, or an error on `fn`.
  LogicalResult arenaArgument(func::FuncOp fn) {
    int count = 0;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (fn.getArgAttr(i, kArenaAttr))
        ++count;
    if (count == 1)
      return success();
    return fn.emitError() << "lowbit-plan-memory: @" << fn.getName()
                          << " has activation buffers but "
                          << (count == 0 ? "no argument" : "more than one argument")
                          << " marked lowbit.arena";
  }

  /// Replaces `op` by a view of `arena` at `offset`; constant-shift views of
  /// it become views of the arena directly.
  void rewriteBuffer(BufferOp op, Value arena, int64_t offset) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    for (OpOperand &use : llvm::make_early_inc_range(op.getResult().getUses())) {
      auto view = dyn_cast<memref::ViewOp>(use.getOwner());
      APInt shift;
      if (!view || view.getSource() != op.getResult() ||
          !matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
        continue;
      OpBuilder vb(view);
      Value at = arith::ConstantIndexOp::create(vb, view.getLoc(),
                                                offset + shift.getSExtValue());
      Value direct = memref::ViewOp::create(vb, view.getLoc(), view.getType(), arena,
                                            at, view.getSizes());
      view.replaceAllUsesWith(direct);
      view.erase();
    }
    if (op->use_empty()) {
      op.erase();
      return;
    }
    Value at = arith::ConstantIndexOp::create(b, loc, offset);
    Value whole = memref::ViewOp::create(b, loc, op.getType(), arena, at, ValueRange{});
    op.replaceAllUsesWith(whole);
    op.erase();
  }
};
} // namespace
