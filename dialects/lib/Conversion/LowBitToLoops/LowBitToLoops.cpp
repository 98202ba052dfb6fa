//===- LowBitToLoops.cpp - lower lowbit ops to kernel calls and loops -----===//
//
// This pass is the bridge between the lowbit dialect and MLIR's standard
// lowering to LLVM. Packed weights become typed views of the weights blob;
// Q2_0C matmuls become calls into the Halide-generated kernel library (flat C
// ABI, see schedules/include/hyk/kernels.h); the light ops become scf.for loop
// nests. Everything produced here is handled by the stock
// scf/arith/math/memref/func -> LLVM conversions.
//
// The rewrite is a walk in program order rather than a pattern set: every
// lowbit op has exactly one lowering, and weights (the only producers of
// !lowbit.packed values) are replaced first, so no type conversion of block
// arguments or function signatures is ever needed.
//
//===----------------------------------------------------------------------===//

#include "hyc/Dialect/LowBit/LowBit.h"
#include "hyc/Dialect/LowBit/Passes.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

#include <functional>

namespace hyc::lowbit {
#define GEN_PASS_DEF_CONVERTLOWBITTOLOOPSPASS
#include "hyc/Dialect/LowBit/Passes.h.inc"
} // namespace hyc::lowbit

using namespace mlir;
using namespace hyc::lowbit;

namespace {

/// Small helpers to keep the loop builders readable.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value f64(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  // reassoc + contract: lets LLVM vectorize the reductions (dot products of
  // attention and rms_norm) and form FMAs; the order of a float sum is not
  // part of any op's contract.
  static arith::FastMathFlags fm() {
    return arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
  }
  Value add(Value a, Value c) { return arith::AddFOp::create(b, loc, a, c, fm()); }
  Value sub(Value a, Value c) { return arith::SubFOp::create(b, loc, a, c, fm()); }
  Value mul(Value a, Value c) { return arith::MulFOp::create(b, loc, a, c, fm()); }
  Value div(Value a, Value c) { return arith::DivFOp::create(b, loc, a, c); }
  Value iadd(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
  Value imul(Value a, Value c) { return arith::MulIOp::create(b, loc, a, c); }
  Value load(Value mem, ValueRange ix) {
    return memref::LoadOp::create(b, loc, mem, ix);
  }
  void store(Value v, Value mem, ValueRange ix) {
    memref::StoreOp::create(b, loc, v, mem, ix);
  }
  /// Loads an element and widens it to f32 (f16 tables).
  Value loadF32(Value mem, ValueRange ix) {
    Value v = load(mem, ix);
    if (!v.getType().isF32())
      v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return v;
  }
  /// The little-endian f16 at bytes [at, at+1] of row `row`, as f32.
  Value loadHalfFromBytes(Value mem, Value row, Value at) {
    Type i16 = b.getI16Type();
    Value lo = arith::ExtUIOp::create(b, loc, i16, load(mem, {row, at}));
    Value hi = arith::ExtUIOp::create(b, loc, i16, load(mem, {row, iaddIdx(at, 1)}));
    Value bits = arith::OrIOp::create(
        b, loc, lo,
        arith::ShLIOp::create(b, loc, hi, arith::ConstantIntOp::create(b, loc, i16, 8)));
    Value half = arith::BitcastOp::create(b, loc, b.getF16Type(), bits);
    return arith::ExtFOp::create(b, loc, b.getF32Type(), half);
  }
  /// The signed byte at `at` of row `row`, as f32.
  Value loadInt8AsF32(Value mem, Value row, Value at) {
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), load(mem, {row, at}));
  }
  Value iaddIdx(Value a, int64_t c) { return iadd(a, idx(c)); }
  Value toIndex(Value i32) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), i32);
  }

  /// for (i = lb; i < ub; ++i) body(i)
  void loop(Value lb, Value ub, const std::function<void(Value)> &body) {
    scf::ForOp::create(b, loc, lb, ub, idx(1), ValueRange{},
                       [&](OpBuilder &nb, Location, Value i, ValueRange) {
                         OpBuilder::InsertionGuard g(b);
                         b.setInsertionPoint(nb.getInsertionBlock(),
                                             nb.getInsertionPoint());
                         body(i);
                         scf::YieldOp::create(b, loc);
                       });
  }
  void loop(int64_t n, const std::function<void(Value)> &body) {
    loop(idx(0), idx(n), body);
  }
  /// acc = init; for (i = lb; i < ub; ++i) acc = body(i, acc); return acc
  Value reduce(Value lb, Value ub, Value init,
               const std::function<Value(Value, Value)> &body) {
    auto forOp = scf::ForOp::create(
        b, loc, lb, ub, idx(1), ValueRange{init},
        [&](OpBuilder &nb, Location, Value i, ValueRange acc) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value next = body(i, acc[0]);
          scf::YieldOp::create(b, loc, next);
        });
    return forOp.getResult(0);
  }
  Value reduce(int64_t n, Value init,
               const std::function<Value(Value, Value)> &body) {
    return reduce(idx(0), idx(n), init, body);
  }
  /// The aligned base pointer of a memref as !llvm.ptr, for kernel calls.
  Value pointer(Value mem) {
    Value asIndex =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
    Value asInt =
        arith::IndexCastOp::create(b, loc, b.getI64Type(), asIndex);
    return LLVM::IntToPtrOp::create(b, loc,
                                    LLVM::LLVMPointerType::get(b.getContext()),
                                    asInt);
  }
  Value gep(Value ptr, Value byteOffsetI64) {
    return LLVM::GEPOp::create(b, loc, ptr.getType(), b.getI8Type(), ptr,
                               ValueRange{byteOffsetI64});
  }
};

/// The memref type a packed weight is viewed as.
MemRefType viewType(PackedType t) {
  MLIRContext *ctx = t.getContext();
  switch (t.getFormat()) {
  case WeightFormat::F32:
    return MemRefType::get({t.getRows(), t.getCols()}, Float32Type::get(ctx));
  case WeightFormat::F16:
    return MemRefType::get({t.getRows(), t.getCols()}, Float16Type::get(ctx));
  case WeightFormat::Q2_0C:
  case WeightFormat::Q8_0:
  case WeightFormat::Q2_K:
  case WeightFormat::TQ2_0:
    return MemRefType::get({t.getRows(), t.getRowBytes()},
                           IntegerType::get(ctx, 8));
  }
  llvm_unreachable("unknown weight format");
}

int64_t length(Value v) { return cast<MemRefType>(v.getType()).getNumElements(); }

class Lowering {
public:
  Lowering(ModuleOp module, StringRef isa) : module(module), isa(isa.str()) {}

  LogicalResult run() {
    // Weights first: every packed value gets its view.
    SmallVector<WeightOp> weights;
    module.walk([&](WeightOp op) { weights.push_back(op); });
    for (WeightOp op : weights) {
      OpBuilder b(op);
      Value offset = arith::ConstantIndexOp::create(b, op.getLoc(),
                                                    op.getOffset());
      views[op.getResult()] =
          memref::ViewOp::create(b, op.getLoc(), viewType(op.getType()),
                                 op.getBlob(), offset, ValueRange{});
    }
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa_lowbit(op) && !llvm::isa<WeightOp>(op))
        ops.push_back(op);
    });
    DenseMap<Operation *, WeightOp> nextWeights = prefetchHints(ops);
    for (Operation *op : ops) {
      OpBuilder b(op);
      Emitter e{b, op->getLoc()};
      if (WeightOp next = nextWeights.lookup(op))
        emitPrefetchHint(e, next);
      LogicalResult result =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case([&](MatmulOp o) { return lowerMatmul(e, o); })
              .Case([&](EmbeddingOp o) { return lowerEmbedding(e, o); })
              .Case([&](RmsNormOp o) { return lowerRmsNorm(e, o); })
              .Case([&](RopeOp o) { return lowerRope(e, o); })
              .Case([&](KvStoreOp o) { return lowerKvStore(e, o); })
              .Case([&](AttentionOp o) { return lowerAttention(e, o); })
              .Case([&](SwigluOp o) { return lowerSwiglu(e, o); })
              .Case([&](AddOp o) { return lowerAdd(e, o); })
              .Case([&](QuantizeOp o) { return lowerQuantize(e, o); })
              .Case([&](RmsNormQuantizeOp o) { return lowerRmsNormQuantize(e, o); })
              .Case([&](QuantizedMatmulOp o) { return lowerQuantizedMatmul(e, o); })
              .Default([&](Operation *o) {
                return o->emitOpError("has no lowering in convert-lowbit-to-loops");
              });
      if (failed(result))
        return failure();
      op->erase();
    }
    for (WeightOp op : weights) {
      if (!op->use_empty())
        return op.emitOpError("still has users after lowering");
      op->erase();
    }
    return success();
  }

private:
  static bool isa_lowbit(Operation *op) {
    return op->getDialect() &&
           op->getDialect()->getNamespace() == LowBitDialect::getDialectNamespace();
  }

  Value view(Value packed) { return views.lookup(packed); }

  /// The weight a matmul (plain or int8-activation) reads; null for others.
  static Value matmulWeight(Operation *op) {
    if (auto m = llvm::dyn_cast<MatmulOp>(op))
      return m.getWeight();
    if (auto m = llvm::dyn_cast<QuantizedMatmulOp>(op))
      return m.getWeight();
    return {};
  }

  /// Prefetch hints: each matrix-vector product (one activation row) that a
  /// later matmul of its block follows is preceded by
  /// hyk_prefetch_hint(that matmul's weights): the runtime's idle threads
  /// prefetch them while this product and the serial ops after it run
  /// (hy_prefetch_fn in hy_abi.h). Decode's layers are straight-line code,
  /// so this names every matrix of a step but the first.
  static DenseMap<Operation *, WeightOp> prefetchHints(ArrayRef<Operation *> ops) {
    DenseMap<Operation *, WeightOp> next;
    for (Operation *op : ops) {
      Value w = matmulWeight(op);
      if (!w)
        continue;
      Value x = llvm::isa<MatmulOp>(op) ? llvm::cast<MatmulOp>(op).getX()
                                        : llvm::cast<QuantizedMatmulOp>(op).getQ();
      auto xType = cast<MemRefType>(x.getType());
      if (xType.getRank() != 1 && xType.getDimSize(0) != 1)
        continue; // a GEMM over several rows: compute-bound, no hint
      for (Operation *n = op->getNextNode(); n; n = n->getNextNode()) {
        if (Value nw = matmulWeight(n)) {
          if (auto def = nw.getDefiningOp<WeightOp>())
            next[op] = def;
          break;
        }
      }
    }
    return next;
  }

  void emitPrefetchHint(Emitter &e, WeightOp w) {
    MLIRContext *ctx = module.getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx), i64 = IntegerType::get(ctx, 64);
    func::FuncOp hint =
        kernelDecl("hyk_prefetch_hint", FunctionType::get(ctx, {ptr, i64}, {}));
    Value at = e.gep(e.pointer(w.getBlob()),
                     arith::ConstantIntOp::create(e.b, e.loc, i64, w.getOffset()));
    Value bytes =
        arith::ConstantIntOp::create(e.b, e.loc, i64, w.getType().getTotalBytes());
    func::CallOp::create(e.b, e.loc, hint, ValueRange{at, bytes});
  }

  /// Declares (once) the flat-ABI kernel `name` in the module.
  func::FuncOp kernelDecl(StringRef name, FunctionType type) {
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto decl = func::FuncOp::create(b, module.getLoc(), name, type);
    decl.setPrivate();
    return decl;
  }

  LogicalResult lowerMatmul(Emitter &e, MatmulOp op) {
    PackedType wt = op.getWeight().getType();
    if (wt.isRepacked())
      return op.emitOpError("has weights in a repacked layout (tile_rows = ")
             << wt.getTileRows() << "), which only lowbit.qmatmul's kernels read";
    Value w = view(op.getWeight());
    auto xType = cast<MemRefType>(op.getX().getType());
    int64_t m = xType.getRank() == 2 ? xType.getDimSize(0) : 1;
    int64_t n = wt.getRows(), k = wt.getCols();
    bool rank2 = xType.getRank() == 2;
    auto xAt = [&](Value row, Value col) -> SmallVector<Value, 2> {
      if (rank2)
        return {row, col};
      return {col};
    };

    // Q2_K / TQ2_0 without a kernel (lowbit-select-kernels gives x86
    // targets gemv_q2_k / gemv_tq2_0): decoded in loops.
    if ((wt.getFormat() == WeightFormat::Q2_K || wt.getFormat() == WeightFormat::TQ2_0) &&
        !op->hasAttr("hyc.kernel")) {
      e.loop(m, [&](Value row) {
        e.loop(n, [&](Value col) {
          Value acc = decodedDot(e, wt, w, col, [&](Value kk) {
            return e.load(op.getX(), xAt(row, kk));
          });
          e.store(acc, op.getOut(), xAt(row, col));
        });
      });
      return success();
    }

    if (wt.isQuantized()) {
      // One kernel call per activation row. K being a multiple of the block
      // size is guaranteed by the packed type's verifier, which is the only
      // way the kernel can fail, so its status is not checked here.
      MLIRContext *ctx = op.getContext();
      Type ptr = LLVM::LLVMPointerType::get(ctx);
      Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
      std::string format = stringifyWeightFormat(wt.getFormat()).str();
      auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
      bool tuned = schedule && schedule.getValue() != "default";
      // Default schedules have prebuilt flat entry points; a tuned schedule
      // is a Halide pipeline the driver generates (named by
      // kernelVariantName), run through the kernel library's generic runner.
      // A prefill matmul (several activation rows) that lowbit-select-kernels
      // gave a GEMM kernel: one call for all rows.
      auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
      // Float-input int8-activation kernels (the _a8 GEMVs round their own
      // input): all of them on avx512, the Q8_0 one on avx2 too.
      if (kernel && kernel.getValue().ends_with("_a8") && isa != "avx512" &&
          !(isa == "avx2" && kernel.getValue() == "gemv_q8_0_a8"))
        return op.emitOpError("kernel ")
               << kernel << " (int8 activations, float input) exists only for kernel ISA "
               << (kernel.getValue() == "gemv_q8_0_a8" ? "avx2 and avx512" : "avx512")
               << ", not " << isa;
      if (tuned && kernel && kernel.getValue().ends_with("q2_0c_a8"))
        return op.emitOpError("a tuned ")
               << kernel.getValue()
               << " reads activations quantized beforehand: run lowbit-quantize-activations first";
      if (rank2 && kernel && kernel.getValue().starts_with("gemm_")) {
        if (tuned)
          return op.emitOpError("tuned schedules for ") << kernel << " are not supported yet";
        func::FuncOp gemm = kernelDecl(
            ("hyk_" + kernel.getValue() + "_" + isa).str(),
            FunctionType::get(ctx, {ptr, ptr, ptr, i64, i64, i64}, {i32}));
        Value args[] = {e.pointer(w), e.pointer(op.getX()), e.pointer(op.getOut()),
                        arith::ConstantIntOp::create(e.b, e.loc, i64, n),
                        arith::ConstantIntOp::create(e.b, e.loc, i64, k),
                        arith::ConstantIntOp::create(e.b, e.loc, i64, m)};
        func::CallOp::create(e.b, e.loc, gemm, args);
        return success();
      }
      // The GEMV family (e.g. gemv_q2_0c_a8) from lowbit-select-kernels;
      // without one, the format's plain family.
      std::string family = kernel ? kernel.getValue().str() : "gemv_" + format;
      if (!StringRef(family).starts_with("gemv_" + format))
        return op.emitOpError("kernel ") << family << " does not take " << format << " weights";
      std::string name = tuned ? "hyk_gemv_run_" + format : "hyk_" + family + "_" + isa;
      SmallVector<Type> params = {ptr, ptr, ptr, i64, i64};
      if (tuned)
        params.insert(params.begin(), ptr);
      func::FuncOp callee =
          kernelDecl(name, FunctionType::get(ctx, params, {i32}));
      Value wp = e.pointer(w), xp = e.pointer(op.getX()),
            yp = e.pointer(op.getOut());
      Value pipeline;
      if (tuned)
        pipeline = pipelineAddress(
            e, kernelVariantName(family, isa, schedule.getValue()));
      Value nC = arith::ConstantIntOp::create(e.b, e.loc, i64, n);
      Value kC = arith::ConstantIntOp::create(e.b, e.loc, i64, k);
      e.loop(m, [&](Value row) {
        Value r = arith::IndexCastOp::create(e.b, e.loc, i64, row);
        Value xRow = e.gep(xp, arith::MulIOp::create(
                                   e.b, e.loc, r,
                                   arith::ConstantIntOp::create(e.b, e.loc, i64, 4 * k)));
        Value yRow = e.gep(yp, arith::MulIOp::create(
                                   e.b, e.loc, r,
                                   arith::ConstantIntOp::create(e.b, e.loc, i64, 4 * n)));
        SmallVector<Value> args = {wp, xRow, yRow, nC, kC};
        if (pipeline)
          args.insert(args.begin(), pipeline);
        func::CallOp::create(e.b, e.loc, callee, args);
      });
      return success();
    }

    // f32/f16 weights (small test matrices, f16 lm_heads): a plain loop.
    e.loop(m, [&](Value row) {
      e.loop(n, [&](Value col) {
        Value acc = e.reduce(k, e.f32(0.0), [&](Value kk, Value a) {
          return e.add(a, e.mul(e.loadF32(w, {col, kk}),
                                e.load(op.getX(), xAt(row, kk))));
        });
        e.store(acc, op.getOut(), xAt(row, col));
      });
    });
    return success();
  }

  /// sum_k W[row, k] * x(k) for Q2_K or TQ2_0 weights (formats with no
  /// kernel), each weight decoded from its block as the format defines it
  /// (LowBitTypes.td): byte p < 64 of a block's codes holds the codes of
  /// elements 128 (p / 32) + 32 j + p % 32 in bits 2j, 2j + 1 (j < 4).
  Value decodedDot(Emitter &e, PackedType wt, Value w, Value row,
                   const std::function<Value(Value)> &x) {
    bool q2k = wt.getFormat() == WeightFormat::Q2_K;
    int64_t bb = blockBytes(wt.getFormat());
    Type i32 = e.b.getI32Type(), f32 = e.b.getF32Type();
    auto i32c = [&](int64_t v) { return arith::ConstantIntOp::create(e.b, e.loc, i32, v); };
    auto toF32 = [&](Value v) { return arith::UIToFPOp::create(e.b, e.loc, f32, v); };
    auto byteAt = [&](Value at) {
      return arith::ExtUIOp::create(e.b, e.loc, i32, e.load(w, {row, at}));
    };
    return e.reduce(wt.getCols() / 256, e.f32(0.0), [&](Value blk, Value acc) {
      Value base = e.imul(blk, e.idx(bb));
      Value d = e.loadHalfFromBytes(w, row, e.iaddIdx(base, q2k ? 80 : 64));
      Value dmin = q2k ? e.loadHalfFromBytes(w, row, e.iaddIdx(base, 82)) : Value();
      Value codes = q2k ? e.iaddIdx(base, 16) : base;
      Value first = e.imul(blk, e.idx(256));
      return e.reduce(64, acc, [&](Value p, Value a) {
        Value byte = byteAt(e.iadd(codes, p));
        Value half = arith::DivUIOp::create(e.b, e.loc, p, e.idx(32));
        Value l = arith::RemUIOp::create(e.b, e.loc, p, e.idx(32));
        Value inBlock0 = e.iadd(e.imul(half, e.idx(128)), l);
        for (int64_t j = 0; j < 4; ++j) {
          Value c = arith::AndIOp::create(
              e.b, e.loc, arith::ShRUIOp::create(e.b, e.loc, byte, i32c(2 * j)), i32c(3));
          Value inBlock = e.iaddIdx(inBlock0, 32 * j);
          Value weight;
          if (q2k) {
            Value sub = arith::DivUIOp::create(e.b, e.loc, inBlock, e.idx(16));
            Value sc = byteAt(e.iadd(base, sub));
            Value scale = toF32(arith::AndIOp::create(e.b, e.loc, sc, i32c(15)));
            Value min = toF32(arith::ShRUIOp::create(e.b, e.loc, sc, i32c(4)));
            weight = e.sub(e.mul(e.mul(d, scale), toF32(c)), e.mul(dmin, min));
          } else {
            weight = e.mul(d, e.sub(toF32(c), e.f32(1.0)));
          }
          a = e.add(a, e.mul(weight, x(e.iadd(first, inBlock))));
        }
        return a;
      });
    });
  }

  /// Rounds one row of K activations to int8 in the q2_0c_lanes groups
  /// (QuantizeOp's definition): value(k) gives element k as f32; q and
  /// steps are written at `at(k)` / `stepAt(g)`. Plain float ops (no
  /// fast-math flags): the rounding must be the kernels' exactly.
  void quantizeRow(Emitter &e, int64_t k, const std::function<Value(Value)> &value,
                   const std::function<SmallVector<Value, 2>(Value)> &at, Value q,
                   const std::function<SmallVector<Value, 2>(Value)> &stepAt, Value steps) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    auto element = [&](Value g, Value i) { // element i < 32 of group g = 16 blk + l
      Value blk = arith::DivUIOp::create(b, loc, g, e.idx(16));
      Value l = arith::RemUIOp::create(b, loc, g, e.idx(16));
      Value h = arith::DivUIOp::create(b, loc, i, e.idx(16));
      Value r = arith::RemUIOp::create(b, loc, i, e.idx(16));
      return e.iadd(e.iadd(e.imul(blk, e.idx(512)), e.imul(h, e.idx(256))),
                    e.iadd(e.imul(l, e.idx(16)), r));
    };
    e.loop(k / 32, [&](Value g) {
      Value m = e.reduce(32, e.f32(0.0), [&](Value i, Value acc) {
        Value v = math::AbsFOp::create(b, loc, value(element(g, i)));
        return arith::MaximumFOp::create(b, loc, acc, v);
      });
      Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, m, e.f32(0.0));
      Value inv = arith::SelectOp::create(b, loc, positive,
                                          arith::DivFOp::create(b, loc, e.f32(127.0), m),
                                          e.f32(0.0));
      Value step = arith::MulFOp::create(b, loc, m, e.f32(static_cast<double>(1.0f / 127.0f)));
      e.store(step, steps, stepAt(g));
      e.loop(32, [&](Value i) {
        Value el = element(g, i);
        Value scaled = arith::MulFOp::create(b, loc, value(el), inv);
        Value rounded = math::RoundEvenOp::create(b, loc, scaled);
        e.store(arith::FPToSIOp::create(b, loc, b.getI8Type(), rounded), q, at(el));
      });
    });
  }

  /// The int8 rounding kernels exist where the int8 kernels do (avx2,
  /// avx512); on other ISAs (reachable only through hyc-opt: int8
  /// activations are x86's) the ops become the loops of quantizeRow.
  bool hasQuantizeKernels() const { return isa == "avx512" || isa == "avx2"; }

  LogicalResult lowerQuantize(Emitter &e, QuantizeOp op) {
    auto xType = cast<MemRefType>(op.getX().getType());
    int64_t k = xType.getShape().back();
    bool rank2 = xType.getRank() == 2;
    if (hasQuantizeKernels()) {
      callPointwise(e, op, "quantize",
                    {e.pointer(op.getX()), e.pointer(op.getQ()), e.pointer(op.getSteps()),
                     i64(e, rank2 ? xType.getDimSize(0) : 1), i64(e, k)});
      return success();
    }
    e.loop(rank2 ? xType.getDimSize(0) : 1, [&](Value row) {
      auto ix = [&](Value c) -> SmallVector<Value, 2> {
        if (rank2)
          return {row, c};
        return {c};
      };
      quantizeRow(
          e, k, [&](Value c) { return e.load(op.getX(), ix(c)); }, ix, op.getQ(), ix,
          op.getSteps());
    });
    return success();
  }

  LogicalResult lowerRmsNormQuantize(Emitter &e, RmsNormQuantizeOp op) {
    Value gamma = view(op.getGamma()), x = op.getX(), zero = e.idx(0);
    auto xType = cast<MemRefType>(x.getType());
    bool rank2 = xType.getRank() == 2;
    int64_t k = xType.getShape().back();
    if (hasQuantizeKernels()) {
      callPointwise(e, op, "rms_norm_quantize",
                    {e.pointer(x), e.pointer(gamma), e.pointer(op.getQ()),
                     e.pointer(op.getSteps()), i64(e, rank2 ? xType.getDimSize(0) : 1),
                     i64(e, k), e.f32(op.getEps().convertToFloat())});
      return success();
    }
    e.loop(rank2 ? xType.getDimSize(0) : 1, [&](Value row) {
      auto ix = [&](Value c) -> SmallVector<Value, 2> {
        if (rank2)
          return {row, c};
        return {c};
      };
      Value ss = e.reduce(k, e.f32(0.0), [&](Value i, Value acc) {
        Value v = e.load(x, ix(i));
        return e.add(acc, e.mul(v, v));
      });
      Value mean = e.div(ss, e.f32(static_cast<double>(k)));
      Value inv = math::RsqrtOp::create(
          e.b, e.loc, e.add(mean, e.f32(op.getEps().convertToFloat())));
      // The normalized value, computed where it is needed (twice per
      // element: the group maximum, then the rounding) and never stored.
      auto normalized = [&](Value i) {
        Value xi = arith::MulFOp::create(e.b, e.loc, e.load(x, ix(i)), inv);
        return arith::MulFOp::create(e.b, e.loc, xi, e.load(gamma, {zero, i}));
      };
      quantizeRow(e, k, normalized, ix, op.getQ(), ix, op.getSteps());
    });
    return success();
  }

  LogicalResult lowerQuantizedMatmul(Emitter &e, QuantizedMatmulOp op) {
    auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
    if (!kernel || (kernel.getValue() != "gemv_q2_0c_a8" && kernel.getValue() != "gemm_q2_0c_a8"))
      return op.emitOpError("needs hyc.kernel gemv_q2_0c_a8 or gemm_q2_0c_a8 (from "
                            "lowbit-select-kernels), got ")
             << kernel;
    if (isa != "avx512" && isa != "avx2")
      return op.emitOpError("kernel ")
             << kernel << " (int8 activations) exists only for kernel ISAs avx2 and avx512, not "
             << isa;
    auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
    bool tuned = schedule && schedule.getValue() != "default";
    MLIRContext *ctx = op.getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
    PackedType wt = op.getWeight().getType();
    auto qType = cast<MemRefType>(op.getQ().getType());
    int64_t m = qType.getRank() == 2 ? qType.getDimSize(0) : 1;
    int64_t n = wt.getRows(), k = wt.getCols();
    auto c64 = [&](int64_t v) { return arith::ConstantIntOp::create(e.b, e.loc, i64, v); };
    // The weights' layout picks the entry point: plain rows, or the
    // row-interleaved Q2_0C/r8 that lowbit-pack-weights gives them.
    std::string layout;
    if (tuned && wt.isRepacked())
      return op.emitOpError("a tuned kernel reads plain Q2_0C rows, not tile_rows = ")
             << wt.getTileRows() << " (lowbit-pack-weights repacks default schedules only)";
    if (wt.getTileRows() == kQ2_0CKernelTileRows)
      layout = "r" + std::to_string(kQ2_0CKernelTileRows) + "_";
    else if (wt.isRepacked())
      return op.emitOpError("no kernel reads Q2_0C with tile_rows = ") << wt.getTileRows()
             << " (the int8-activation kernels read tile_rows 1 or " << kQ2_0CKernelTileRows
             << ")";
    Value wp = e.pointer(view(op.getWeight())), qp = e.pointer(op.getQ()),
          sp = e.pointer(op.getSteps()), yp = e.pointer(op.getOut());
    // A tuned schedule: the generated gemv/gemm_q2_0c_a8q_vnni pipeline (named
    // by kernelVariantName) through the kernel library's runner.
    Value pipeline;
    if (tuned)
      pipeline = pipelineAddress(
          e, kernelVariantName(kernel.getValue(), isa, schedule.getValue()), 4);
    if (kernel.getValue() == "gemm_q2_0c_a8") {
      SmallVector<Type> params = {ptr, ptr, ptr, ptr, i64, i64, i64};
      SmallVector<Value> args = {wp, qp, sp, yp, c64(n), c64(k), c64(m)};
      if (tuned) {
        params.insert(params.begin(), ptr);
        args.insert(args.begin(), pipeline);
      }
      func::FuncOp gemm = kernelDecl(tuned ? std::string("hyk_gemm_run_q2_0c_a8q")
                                           : "hyk_gemm_q2_0c_" + layout + "a8q_" + isa,
                                     FunctionType::get(ctx, params, {i32}));
      func::CallOp::create(e.b, e.loc, gemm, args);
      return success();
    }
    SmallVector<Type> params = {ptr, ptr, ptr, ptr, i64, i64};
    if (tuned)
      params.insert(params.begin(), ptr);
    func::FuncOp gemv = kernelDecl(tuned ? std::string("hyk_gemv_run_q2_0c_a8q")
                                         : "hyk_gemv_q2_0c_" + layout + "a8q_" + isa,
                                   FunctionType::get(ctx, params, {i32}));
    e.loop(m, [&](Value row) {
      Value r = arith::IndexCastOp::create(e.b, e.loc, i64, row);
      auto at = [&](Value base, int64_t rowBytes) {
        return e.gep(base, arith::MulIOp::create(e.b, e.loc, r, c64(rowBytes)));
      };
      SmallVector<Value> args = {wp, at(qp, k), at(sp, k / 32 * 4), at(yp, 4 * n), c64(n),
                                 c64(k)};
      if (pipeline)
        args.insert(args.begin(), pipeline);
      func::CallOp::create(e.b, e.loc, gemv, args);
    });
    return success();
  }

  /// The address of a generated Halide pipeline. Only its address is taken
  /// (the runners call it), so the declaration's `buffers` pointer
  /// parameters need not match the pipeline's own (attention's and the
  /// norms' also take scalars).
  Value pipelineAddress(Emitter &e, const std::string &symbol, int buffers = 3) {
    MLIRContext *ctx = module.getContext();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    if (!module.lookupSymbol(symbol)) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      LLVM::LLVMFuncOp::create(
          b, module.getLoc(), symbol,
          LLVM::LLVMFunctionType::get(IntegerType::get(ctx, 32),
                                      SmallVector<Type>(buffers, ptr)));
    }
    return LLVM::AddressOfOp::create(e.b, e.loc, ptr, symbol);
  }

  LogicalResult lowerEmbedding(Emitter &e, EmbeddingOp op) {
    if (op.getTable().getType().isRepacked())
      return op.emitOpError("has a table in a repacked layout (tile_rows = ")
             << op.getTable().getType().getTileRows() << "), which only lowbit.qmatmul's kernels read";
    Value table = view(op.getTable());
    Value tok = e.toIndex(op.getToken());
    if (op.getTable().getType().getFormat() == WeightFormat::Q8_0) {
      e.loop(length(op.getOut()) / 32, [&](Value blk) {
        Value base = e.imul(blk, e.idx(34));
        Value d = e.loadHalfFromBytes(table, tok, base);
        e.loop(32, [&](Value j) {
          Value q = e.loadInt8AsF32(table, tok, e.iadd(e.iaddIdx(base, 2), j));
          e.store(e.mul(q, d), op.getOut(), {e.iadd(e.imul(blk, e.idx(32)), j)});
        });
      });
      return success();
    }
    e.loop(length(op.getOut()), [&](Value i) {
      e.store(e.loadF32(table, {tok, i}), op.getOut(), {i});
    });
    return success();
  }

  /// Declares (once) and calls the pointwise kernel hyk_<op>_<isa>
  /// (schedules/pointwise, hyk/kernels.h), or with a tuned schedule on `op`
  /// (lowbit-select-kernels) the generated pipeline through hyk_<op>_run.
  /// Its failures are argument errors that the op verifiers and the callers'
  /// checks exclude, so the status is not checked.
  void callPointwise(Emitter &e, Operation *op, StringRef name, ArrayRef<Value> args) {
    SmallVector<Value> operands(args.begin(), args.end());
    std::string callee = ("hyk_" + name + "_" + isa).str();
    if (Value pipeline = tunedPipeline(e, op)) {
      operands.insert(operands.begin(), pipeline);
      callee = ("hyk_" + name + "_run").str();
    }
    SmallVector<Type> types;
    for (Value a : operands)
      types.push_back(a.getType());
    func::FuncOp decl =
        kernelDecl(callee, FunctionType::get(e.b.getContext(), types, {e.b.getI32Type()}));
    func::CallOp::create(e.b, e.loc, decl, operands);
  }

  /// The address of the pipeline generated for `op`'s tuned schedule (named
  /// by kernelVariantName of its hyc.kernel), or null for the default.
  Value tunedPipeline(Emitter &e, Operation *op) {
    auto kernel = op->getAttrOfType<StringAttr>("hyc.kernel");
    auto schedule = op->getAttrOfType<StringAttr>("hyc.schedule");
    if (!kernel || !schedule || schedule.getValue() == "default")
      return Value();
    return pipelineAddress(e, kernelVariantName(kernel.getValue(), isa, schedule.getValue()));
  }
  Value i64(Emitter &e, int64_t v) {
    return arith::ConstantIntOp::create(e.b, e.loc, e.b.getI64Type(), v);
  }

  LogicalResult lowerRmsNorm(Emitter &e, RmsNormOp op) {
    Value gamma = view(op.getGamma());
    int64_t g = op.getGamma().getType().getCols();
    auto xType = cast<MemRefType>(op.getX().getType());
    bool rank2 = xType.getRank() == 2;
    int64_t groups = xType.getShape().back() / g;
    // The Halide kernel: every group of every row in one call.
    int64_t rows = rank2 ? xType.getDimSize(0) : 1;
    callPointwise(e, op, "rms_norm",
                  {e.pointer(op.getX()), e.pointer(gamma), e.pointer(op.getOut()),
                   i64(e, rows * groups), i64(e, g), e.f32(op.getEps().convertToFloat())});
    return success();
  }

  LogicalResult lowerRope(Emitter &e, RopeOp op) {
    int64_t d = op.getHeadDim(), heads = length(op.getX()) / d;
    // The kernel's angle table holds at most 1024 pairs (hyk/kernels.h).
    if (d > kRopeMaxHeadDim)
      return op.emitOpError("head_dim ")
             << d << " is larger than the rope kernels support (" << kRopeMaxHeadDim << ")";
    Value pos = arith::ExtSIOp::create(e.b, e.loc, e.b.getI64Type(), op.getPos());
    callPointwise(e, op, "rope",
                  {e.pointer(op.getX()), e.pointer(op.getOut()), i64(e, heads), i64(e, d), pos,
                   e.f64(op.getFreqBase().convertToDouble())});
    return success();
  }

  LogicalResult lowerKvStore(Emitter &e, KvStoreOp op) {
    Value pos = e.toIndex(op.getPos());
    Type elem = cast<MemRefType>(op.getCache().getType()).getElementType();
    if (elem.isInteger(8))
      return lowerKvStoreQ8_0(e, op, pos);
    e.loop(length(op.getX()), [&](Value i) {
      Value x = e.load(op.getX(), {i});
      // A float16 cache: round to nearest, ties to even (arith.truncf's default).
      if (!elem.isF32())
        x = arith::TruncFOp::create(e.b, e.loc, elem, x);
      e.store(x, op.getCache(), {pos, i});
    });
    return success();
  }

  /// A Q8_0 cache row (ggml's quantize_row_q8_0 rounding): per block of 32,
  /// d = max|x| / 127 stored as float16 (2 little-endian bytes), then
  /// q = round(x / d) (halves away from zero; 0 for an all-zero block).
  /// Each block is one vector<32xf32>: its max, scale and rounding in
  /// vector ops (as scalar loops LLVM left them scalar: ~3 us a layer per
  /// decode step for K and V, the largest of the loops between kernels).
  LogicalResult lowerKvStoreQ8_0(Emitter &e, KvStoreOp op, Value pos) {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value x = op.getX(), cache = op.getCache();
    Type i8 = b.getI8Type(), i16 = b.getI16Type();
    const int64_t qk = requiredBlockSize(WeightFormat::Q8_0), qb = blockBytes(WeightFormat::Q8_0);
    auto vf32 = VectorType::get({qk}, b.getF32Type());
    auto vi32 = VectorType::get({qk}, b.getI32Type());
    auto vi8 = VectorType::get({qk}, i8);
    e.loop(length(x) / qk, [&](Value blk) {
      Value first = e.imul(blk, e.idx(qk)), at = e.imul(blk, e.idx(qb));
      Value xs = vector::LoadOp::create(b, loc, vf32, x, ValueRange{first});
      Value amax = vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXIMUMF,
                                               math::AbsFOp::create(b, loc, xs));
      Value d = e.div(amax, e.f32(127.0));
      Value zero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, d, e.f32(0.0));
      Value inv = arith::SelectOp::create(b, loc, zero, e.f32(0.0), e.div(e.f32(1.0), d));
      Value bits = arith::BitcastOp::create(
          b, loc, i16, arith::TruncFOp::create(b, loc, b.getF16Type(), d));
      Value hi = arith::ShRUIOp::create(b, loc, bits, arith::ConstantIntOp::create(b, loc, i16, 8));
      e.store(arith::TruncIOp::create(b, loc, i8, bits), cache, {pos, at});
      e.store(arith::TruncIOp::create(b, loc, i8, hi), cache, {pos, e.iaddIdx(at, 1)});
      Value v = arith::MulFOp::create(b, loc, xs, vector::BroadcastOp::create(b, loc, vf32, inv));
      Value q = arith::FPToSIOp::create(b, loc, vi32, math::RoundOp::create(b, loc, v));
      vector::StoreOp::create(b, loc, arith::TruncIOp::create(b, loc, vi8, q), cache,
                              ValueRange{pos, e.iaddIdx(at, 2)});
    });
    return success();
  }

  LogicalResult lowerAttention(Emitter &e, AttentionOp op) {
    int64_t h = op.getNumHeads(), kv = op.getNumKvHeads(), d = op.getHeadDim();
    auto qType = cast<MemRefType>(op.getQ().getType());
    const bool rank2 = qType.getRank() == 2;
    const int64_t rows = rank2 ? qType.getDimSize(0) : 1;
    Type cacheElem = cast<MemRefType>(op.getKCache().getType()).getElementType();
    if (d % kAttentionHeadDimMultiple == 0) {
      // The Halide kernel: every row and head in one call (the heads, rows
      // and KV blocks in parallel). Its only failures are argument errors
      // the verifier already excludes, so the status is not checked.
      MLIRContext *ctx = op.getContext();
      Type ptr = LLVM::LLVMPointerType::get(ctx);
      Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
      const char *suffix = cacheElem.isF16() ? "_f16" : cacheElem.isInteger(8) ? "_q8_0" : "";
      // A tuned schedule: the generated pipeline through hyk_attention_run*.
      Value pipeline = tunedPipeline(e, op);
      SmallVector<Type> params = {ptr, ptr, ptr, ptr, i64, i64, i64, i64, i64};
      if (pipeline)
        params.insert(params.begin(), ptr);
      func::FuncOp callee = kernelDecl(
          (pipeline ? "hyk_attention_run" : "hyk_attention_" + isa) + suffix,
          FunctionType::get(ctx, params, {i32}));
      auto c64 = [&](int64_t v) { return arith::ConstantIntOp::create(e.b, e.loc, i64, v); };
      Value pos = arith::ExtSIOp::create(e.b, e.loc, i64, op.getPos());
      SmallVector<Value> args = {e.pointer(op.getQ()),     e.pointer(op.getKCache()),
                                 e.pointer(op.getVCache()), e.pointer(op.getOut()),
                                 c64(rows), pos, c64(h), c64(kv), c64(d)};
      if (pipeline)
        args.insert(args.begin(), pipeline);
      func::CallOp::create(e.b, e.loc, callee, args);
      return success();
    }
    // Loops, one query row at a time (row r at position pos + r). A Q8_0
    // cache always has the kernel (its verifier asks head_dim % 32 == 0).
    if (cacheElem.isInteger(8))
      return op.emitOpError() << "a Q8_0 cache with head_dim " << d
                              << " has no loop lowering";
    // Loops, one query row at a time (row r at position pos + r).
    Value pos0 = e.toIndex(op.getPos());
    e.loop(rows, [&](Value r) {
      auto at = [&](Value i) -> SmallVector<Value, 2> {
        if (rank2)
          return {r, i};
        return {i};
      };
      attentionRow(e, op, at, e.iadd(pos0, r));
    });
    return success();
  }

  /// The loop form of one query row at position `pos` (index); `at(i)` is
  /// the index list of element i of the row in q and out.
  void attentionRow(Emitter &e, AttentionOp op,
                    const std::function<SmallVector<Value, 2>(Value)> &at, Value pos) {
    int64_t h = op.getNumHeads(), kv = op.getNumKvHeads(), d = op.getHeadDim();
    int64_t group = h / kv;
    Value q = op.getQ(), kc = op.getKCache(), vc = op.getVCache(),
          scores = op.getScratch(), out = op.getOut();
    Value n = e.iaddIdx(pos, 1);
    Value zero = e.idx(0);
    Value scale = e.f32(1.0 / std::sqrt(static_cast<double>(d)));
    e.loop(h, [&](Value head) {
      // GQA: consecutive query heads share one KV head.
      Value kvHead = arith::DivUIOp::create(e.b, e.loc, head, e.idx(group));
      Value qOff = e.imul(head, e.idx(d)), kOff = e.imul(kvHead, e.idx(d));
      Value negInf = e.f32(-std::numeric_limits<double>::infinity());
      Value maxScore = e.reduce(zero, n, negInf, [&](Value t, Value mx) {
        Value dot = e.reduce(d, e.f32(0.0), [&](Value i, Value acc) {
          return e.add(acc, e.mul(e.load(q, at(e.iadd(qOff, i))),
                                  e.loadF32(kc, {t, e.iadd(kOff, i)})));
        });
        Value s = e.mul(dot, scale);
        e.store(s, scores, {t});
        return arith::MaximumFOp::create(e.b, e.loc, mx, s);
      });
      Value sum = e.reduce(zero, n, e.f32(0.0), [&](Value t, Value acc) {
        Value p = math::ExpOp::create(e.b, e.loc,
                                      e.sub(e.load(scores, {t}), maxScore));
        e.store(p, scores, {t});
        return e.add(acc, p);
      });
      Value inv = e.div(e.f32(1.0), sum);
      // out = inv * sum_t p_t V[t]: t outside, the head's d values inside, so
      // the inner loop runs along contiguous V rows (vectorizable).
      e.loop(d, [&](Value i) { e.store(e.f32(0.0), out, at(e.iadd(qOff, i))); });
      e.loop(zero, n, [&](Value t) {
        Value p = e.mul(e.load(scores, {t}), inv);
        e.loop(d, [&](Value i) {
          auto o = at(e.iadd(qOff, i));
          Value vt = e.loadF32(vc, {t, e.iadd(kOff, i)});
          e.store(e.add(e.load(out, o), e.mul(p, vt)), out, o);
        });
      });
    });
  }

  LogicalResult lowerSwiglu(Emitter &e, SwigluOp op) {
    callPointwise(e, op, "swiglu",
                  {e.pointer(op.getGate()), e.pointer(op.getUp()), e.pointer(op.getOut()),
                   i64(e, length(op.getOut()))});
    return success();
  }

  LogicalResult lowerAdd(Emitter &e, AddOp op) {
    e.loop(length(op.getOut()), [&](Value i) {
      e.store(e.add(e.load(op.getLhs(), {i}), e.load(op.getRhs(), {i})),
              op.getOut(), {i});
    });
    return success();
  }

  ModuleOp module;
  std::string isa;
  llvm::DenseMap<Value, Value> views;
};

struct ConvertLowBitToLoops
    : public hyc::lowbit::impl::ConvertLowBitToLoopsPassBase<
          ConvertLowBitToLoops> {
  using Base::Base;
  void runOnOperation() override {
    if (kernelIsa != "avx2" && kernelIsa != "avx512" && kernelIsa != "neon" &&
        kernelIsa != "sme2") {
      getOperation().emitError() << "convert-lowbit-to-loops: unknown kernel-isa '"
                                 << kernelIsa << "' (expected avx2, avx512, neon or sme2)";
      return signalPassFailure();
    }
    if (failed(Lowering(getOperation(), kernelIsa).run()))
      signalPassFailure();
  }
};
} // namespace
